package apiserver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzCreateBody posts arbitrary bodies to the pods endpoint: the answer is
// never a 5xx.
func FuzzCreateBody(f *testing.F) {
	for _, seed := range []string{
		podJSON("", "web", ""),
		podJSON("default", "web", `{"a":"b"}`),
		`{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"w-"},"spec":{"containers":[{"name":"c","image":"i"}]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","resourceVersion":"5"}}`,
		`{"kind":"Deployment"}`,
		`{"spec":{"containers":[{"name":1}]}}`,
		`apiVersion: v1\nkind: Pod\nmetadata:\n  name: y\n`,
		`null`, `[]`, `{`, ``, "\x00\xff",
	} {
		f.Add(seed)
	}
	e := newEnv(f)
	h := e.srv.Config.Handler
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/namespaces/default/pods", strings.NewReader(body)))
		if rec.Code >= 500 {
			t.Fatalf("body %q: %d %s", body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"kind":"Status"`) {
			t.Fatalf("body %q: %d without a Status: %s", body, rec.Code, rec.Body)
		}
	})
}
