package client

import (
	"testing"

	"github.com/drover-io/drover/api"
)

// FuzzParseKubeconfig checks that no kubeconfig makes the parser or the
// Config builder panic, and that every error names what is wrong.
func FuzzParseKubeconfig(f *testing.F) {
	f.Add([]byte("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n" +
		"clusters: [{name: c, cluster: {server: 'https://x', certificate-authority: ca.pem}}]\n" +
		"users: [{name: u, user: {token: t, client-certificate-data: Q0VSVA==}}]\n"))
	f.Add([]byte("kind: Config\nusers: [{name: u, user: {exec: {command: x}}}]\n"))
	f.Add([]byte("{}"))
	f.Add([]byte("clusters: [{cluster: {certificate-authority-data: '!!'}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kc, err := ParseKubeconfig(data, "/base")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, name := range append([]string{""}, contextNamesOf(kc)...) {
			if _, err := kc.Config(name); err != nil && err.Error() == "" {
				t.Fatal("empty error")
			}
		}
	})
}

func contextNamesOf(kc *Kubeconfig) []string {
	var out []string
	for _, c := range kc.Contexts {
		out = append(out, c.Name)
	}
	return out
}

// FuzzStatusError checks that any error response becomes a StatusError
// with a code, whatever its body.
func FuzzStatusError(f *testing.F) {
	f.Add(404, []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
	f.Add(503, []byte(`{"kind":"Status","code":0}`))
	f.Add(500, []byte("<html>oops</html>"))
	f.Add(429, []byte(""))
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		if code < 400 || code > 599 {
			return
		}
		se := statusError(code, body)
		if se == nil || se.Status.Code == 0 || se.Error() == "" {
			t.Fatalf("statusError(%d, %q) = %+v", code, body, se)
		}
		_ = api.IsNotFound(se)
	})
}
