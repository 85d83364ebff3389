package client_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func write(t *testing.T, path, data string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
	return path
}

const kubeconfigGood = `
apiVersion: v1
kind: Config
preferences: {}
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example:6443
    certificate-authority: certs/ca.crt
    tls-server-name: api.dev.example
- name: prod-cluster
  cluster:
    server: https://prod.example:6443
    certificate-authority-data: ` + "Q0FEQVRB" + `
- name: lab-cluster
  cluster:
    server: https://lab.example
    insecure-skip-tls-verify: true
users:
- name: dev-user
  user:
    tokenFile: token
- name: prod-user
  user:
    token: prod-token
    client-certificate-data: ` + "Q0VSVA==" + `
    client-key-data: ` + "S0VZ" + `
- name: lab-user
  user:
    client-certificate: /abs/client.crt
    client-key: keys/client.key
- name: exec-user
  user:
    exec:
      command: get-token
- name: basic-user
  user:
    username: admin
    password: secret
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: team-a}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
- name: lab
  context: {cluster: lab-cluster, user: lab-user}
- name: anonymous
  context: {cluster: lab-cluster}
- name: exec
  context: {cluster: lab-cluster, user: exec-user}
- name: basic
  context: {cluster: lab-cluster, user: basic-user}
- name: no-cluster
  context: {cluster: gone, user: dev-user}
- name: no-user
  context: {cluster: lab-cluster, user: gone}
`

func TestLoadKubeconfig(t *testing.T) {
	dir := t.TempDir()
	path := write(t, filepath.Join(dir, "kube", "config"), kubeconfigGood)
	kdir := filepath.Join(dir, "kube")
	for _, tc := range []struct {
		context string
		want    client.Config
		err     string
	}{
		{context: "", want: client.Config{ // the current context
			Host: "https://dev.example:6443", Namespace: "team-a",
			BearerTokenFile: filepath.Join(kdir, "token"),
			TLS:             client.TLSConfig{CAFile: filepath.Join(kdir, "certs", "ca.crt"), ServerName: "api.dev.example"},
		}},
		{context: "prod", want: client.Config{
			Host: "https://prod.example:6443", BearerToken: "prod-token",
			TLS: client.TLSConfig{CAData: []byte("CADATA"), CertData: []byte("CERT"), KeyData: []byte("KEY")},
		}},
		{context: "lab", want: client.Config{
			Host: "https://lab.example",
			TLS:  client.TLSConfig{Insecure: true, CertFile: "/abs/client.crt", KeyFile: filepath.Join(kdir, "keys", "client.key")},
		}},
		{context: "anonymous", want: client.Config{Host: "https://lab.example", TLS: client.TLSConfig{Insecure: true}}},
		{context: "missing", err: `no context "missing" (contexts: "dev", "prod", "lab", "anonymous", "exec", "basic", "no-cluster", "no-user")`},
		{context: "no-cluster", err: `context "no-cluster" uses cluster "gone", which is not in the kubeconfig`},
		{context: "no-user", err: `context "no-user" uses user "gone", which is not in the kubeconfig`},
		{context: "exec", err: `user "exec-user" uses exec credentials`},
		{context: "basic", err: `user "basic-user" uses basic authentication`},
	} {
		t.Run(tc.context, func(t *testing.T) {
			cfg, err := client.LoadKubeconfig(path, tc.context)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.ErrorContains(t, err, path, "the error names the file")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg)
		})
	}
}

func TestLoadKubeconfigBadFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, data, err string
	}{
		{"not yaml", "clusters: [", "parse kubeconfig"},
		{"wrong kind", "kind: Pod\napiVersion: v1\n", `kind is "Pod"`},
		{"no current context", "contexts: [{name: a, context: {cluster: c}}]\n", `no current-context: name a context (one of "a")`},
		{"no contexts", "kind: Config\n", "no current-context: name a context (one of none)"},
		{"no server", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: [{name: c, cluster: {}}]\n",
			`cluster "c" has no server`},
		{"bad server", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: 'dev.example:6443'}}]\n",
			`Config.Host "dev.example:6443" is not a URL`},
		{"insecure with CA", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n" +
			"clusters: [{name: c, cluster: {server: 'https://x', insecure-skip-tls-verify: true, certificate-authority-data: " + b64("x") + "}}]\n",
			"Insecure is set together with a CA"},
		{"cert without key", "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n" +
			"clusters: [{name: c, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {client-certificate: c.crt}}]\n",
			"client certificate without its key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")), tc.data)
			_, err := client.LoadKubeconfig(path, "")
			require.ErrorContains(t, err, tc.err)
		})
	}
	_, err := client.LoadKubeconfig(filepath.Join(dir, "absent"), "")
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestKubeconfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	a := write(t, filepath.Join(dir, "a", "config"), `
current-context: one
clusters: [{name: c, cluster: {server: "https://a.example"}}]
contexts: [{name: one, context: {cluster: c, namespace: from-a}}]
`)
	b := write(t, filepath.Join(dir, "b", "config"), `
current-context: two
clusters:
- {name: c, cluster: {server: "https://b.example"}}
- {name: d, cluster: {server: "https://d.example", certificate-authority: ca.pem}}
contexts:
- {name: one, context: {cluster: d}}
- {name: two, context: {cluster: d}}
`)
	missing := filepath.Join(dir, "missing")

	t.Setenv("KUBECONFIG", strings.Join([]string{missing, a, b}, string(os.PathListSeparator)))
	cfg, err := client.KubeconfigFromEnv("")
	require.NoError(t, err)
	require.Equal(t, "https://a.example", cfg.Host, "the first file's current-context and names win")
	require.Equal(t, "from-a", cfg.Namespace)
	cfg, err = client.KubeconfigFromEnv("two")
	require.NoError(t, err)
	require.Equal(t, "https://d.example", cfg.Host)
	require.Equal(t, filepath.Join(dir, "b", "ca.pem"), cfg.TLS.CAFile, "relative to the file that named it")

	t.Setenv("KUBECONFIG", missing)
	_, err = client.KubeconfigFromEnv("")
	require.ErrorContains(t, err, "none of "+missing+" exists")

	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", filepath.Join(dir, "home"))
	write(t, filepath.Join(dir, "home", ".kube", "config"), `
current-context: h
clusters: [{name: c, cluster: {server: "https://home.example"}}]
contexts: [{name: h, context: {cluster: c}}]
`)
	require.Equal(t, []string{filepath.Join(dir, "home", ".kube", "config")}, client.KubeconfigPaths())
	cfg, err = client.KubeconfigFromEnv("")
	require.NoError(t, err)
	require.Equal(t, "https://home.example", cfg.Host)
}

func TestWriteKubeconfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new", "kubeconfig")
	in := client.Config{
		Host: "https://127.0.0.1:6443", BearerToken: "tok", Namespace: "dev",
		TLS: client.TLSConfig{CAData: []byte("-----BEGIN CERTIFICATE-----\n...\n"), ServerName: "drover"},
	}
	require.NoError(t, client.WriteKubeconfig(path, client.NewKubeconfig("drover", in)))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), "certificate-authority-data: "+b64(string(in.TLS.CAData)))
	require.Contains(t, string(data), "current-context: drover")
	out, err := client.LoadKubeconfig(path, "")
	require.NoError(t, err)
	require.Equal(t, in, out)

	// Overwriting replaces the file.
	in.BearerToken = "tok2"
	require.NoError(t, client.WriteKubeconfig(path, client.NewKubeconfig("drover", in)))
	out, err = client.LoadKubeconfig(path, "drover")
	require.NoError(t, err)
	require.Equal(t, "tok2", out.BearerToken)
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files are left")
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg client.Config
		err string
	}{
		{client.Config{}, "Config.Host is empty"},
		{client.Config{Host: "ftp://x"}, `Config.Host "ftp://x" is not a URL`},
		{client.Config{Host: "https://x?a=b"}, "has a query or a fragment"},
		{client.Config{Transport: http.DefaultTransport, TLS: client.TLSConfig{Insecure: true}}, "Config.TLS is set together with Config.Transport"},
		{client.Config{Host: "https://x", TLS: client.TLSConfig{Insecure: true, CAFile: "ca"}}, "Config.TLS.Insecure"},
		{client.Config{Host: "https://x", TLS: client.TLSConfig{KeyData: []byte("k")}}, "without its certificate"},
		{client.Config{Host: "https://x", Retry: client.RetryPolicy{MaxAttempts: -1}}, "Config.Retry.MaxAttempts is -1"},
		{client.Config{Host: "https://x", Retry: client.RetryPolicy{BaseDelay: time.Second, MaxDelay: time.Millisecond}}, "Config.Retry.MaxDelay (1ms) is less than"},
		{client.Config{Host: "https://x", TLS: client.TLSConfig{CAFile: "/does/not/exist"}}, "read Config.TLS.CAFile"},
		{client.Config{Host: "https://x", TLS: client.TLSConfig{CAData: []byte("nope")}}, "holds no PEM certificate"},
		{client.Config{Host: "https://x", BearerTokenFile: "/does/not/exist"}, "read the bearer token file"},
		{client.Config{Host: "https://x/prefix/"}, ""},
		{client.Config{Transport: http.DefaultTransport}, ""},
	} {
		_, err := client.New(tc.cfg)
		if tc.err == "" {
			require.NoError(t, err)
			continue
		}
		require.ErrorContains(t, err, tc.err)
	}
}

// tokenCheck answers 401 to requests without one of the wanted tokens.
func tokenCheck(want *atomic.Value) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+want.Load().(string) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// TestTLSTokenKubeconfig talks to a real server over TLS with a bearer
// token, configured through a kubeconfig file with relative paths.
func TestTLSTokenKubeconfig(t *testing.T) {
	e := newEnv(t)
	var token atomic.Value
	token.Store("s3cret")
	srv := httptest.NewTLSServer(tokenCheck(&token)(e.server.Handler()))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	write(t, filepath.Join(dir, "pki", "ca.pem"), string(certPEM(srv.Certificate())))
	write(t, filepath.Join(dir, "token"), "s3cret\n")
	path := write(t, filepath.Join(dir, "config"), `
current-context: test
clusters: [{name: c, cluster: {server: "`+srv.URL+`", certificate-authority: pki/ca.pem}}]
users: [{name: u, user: {tokenFile: token}}]
contexts: [{name: test, context: {cluster: c, user: u, namespace: default}}]
`)
	cfg, err := client.LoadKubeconfig(path, "")
	require.NoError(t, err)
	clock := &fakeClock{now: time.Now()}
	cfg.Clock = clock
	cfg.Scheme = e.scheme
	c, err := client.New(cfg)
	require.NoError(t, err)
	ctx := ctxT(t)
	require.Equal(t, "default", c.Namespace())
	require.NoError(t, c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: c.Namespace(), Name: "tls"}}))
	var cm api.ConfigMap
	require.NoError(t, c.Get(ctx, "default", "tls", &cm))

	// A rotated token is read again once a minute.
	token.Store("rotated")
	write(t, filepath.Join(dir, "token"), "rotated\n")
	err = c.Get(ctx, "default", "tls", &cm)
	require.ErrorIs(t, err, api.ErrUnauthorized)
	require.Empty(t, clock.Waits(), "401 is not retried")
	clock.mu.Lock()
	clock.now = clock.now.Add(2 * time.Minute)
	clock.mu.Unlock()
	require.NoError(t, c.Get(ctx, "default", "tls", &cm))

	// Without the CA the server's certificate is refused, and not retried.
	cfg.TLS.CAFile = ""
	c, err = client.New(cfg)
	require.NoError(t, err)
	err = c.Get(ctx, "default", "tls", &cm)
	var uerr x509.UnknownAuthorityError
	require.True(t, errors.As(err, &uerr), "%v", err)
	require.ErrorContains(t, err, "client: get /api/v1/namespaces/default/configmaps/tls")
	require.Empty(t, clock.Waits())

	// Insecure skips the verification.
	cfg.TLS.Insecure = true
	c, err = client.New(cfg)
	require.NoError(t, err)
	require.NoError(t, c.Get(ctx, "default", "tls", &cm))
}

// TestClientCertificate authenticates with a client certificate, as data
// and as files.
func TestClientCertificate(t *testing.T) {
	e := newEnv(t)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "alice"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyData := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	var seen atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.TLS.PeerCertificates[0].Subject.CommonName)
		e.server.Handler().ServeHTTP(w, r)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	serverCA := certPEM(srv.Certificate())

	dir := t.TempDir()
	for name, tlsCfg := range map[string]client.TLSConfig{
		"data":  {CAData: serverCA, CertData: certData, KeyData: keyData},
		"files": {CAData: serverCA, CertFile: write(t, filepath.Join(dir, "c.crt"), string(certData)), KeyFile: write(t, filepath.Join(dir, "c.key"), string(keyData))},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := client.New(client.Config{Host: srv.URL, TLS: tlsCfg})
			require.NoError(t, err)
			var ns api.Namespace
			require.NoError(t, c.Get(ctxT(t), "", "default", &ns))
			require.Equal(t, "alice", seen.Load())
		})
	}
	_, err = client.New(client.Config{Host: srv.URL, TLS: client.TLSConfig{CertData: certData, KeyData: certData}})
	require.ErrorContains(t, err, "client certificate and key")
}

func TestUserAgentAndHostPrefix(t *testing.T) {
	var ua, path atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.Header.Get("User-Agent"))
		path.Store(r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x"}}`))
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(client.Config{Host: srv.URL + "/proxy/", UserAgent: "drover-test/1"})
	require.NoError(t, err)
	require.NoError(t, c.Get(ctxT(t), "", "x", &api.Namespace{}))
	require.Equal(t, "drover-test/1", ua.Load())
	require.Equal(t, "/proxy/api/v1/namespaces/x", path.Load())
}

// TestKubeconfigRejectsIgnoredFields: fields kubectl honours and Drover's
// client does not are errors, never silently dropped. Ignoring "as" (and
// the other impersonation fields) would act with the user's own, wider,
// rights instead of the identity the kubeconfig asks for; ignoring
// proxy-url would connect directly instead of through the proxy.
func TestKubeconfigRejectsIgnoredFields(t *testing.T) {
	for _, tc := range []struct {
		name, user, cluster, err string
	}{
		{name: "as", user: "as: readonly-user", err: `user "u" impersonates (as, as-uid, as-groups, as-user-extra)`},
		{name: "as-uid", user: "as-uid: \"1234\"", err: `user "u" impersonates`},
		{name: "as-groups", user: "as-groups: [viewers]", err: `user "u" impersonates`},
		{name: "as-user-extra", user: "as-user-extra: {scopes: [view]}", err: `user "u" impersonates`},
		{name: "proxy-url", cluster: "proxy-url: http://proxy.example:3128", err: `cluster "c" sets proxy-url`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc := "current-context: x\n" +
				"clusters:\n- name: c\n  cluster:\n    server: https://api.example\n"
			if tc.cluster != "" {
				kc += "    " + tc.cluster + "\n"
			}
			kc += "users:\n- name: u\n  user:\n    token: t\n"
			if tc.user != "" {
				kc += "    " + tc.user + "\n"
			}
			kc += "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
			parsed, err := client.ParseKubeconfig([]byte(kc), "")
			require.NoError(t, err)
			_, err = parsed.Config("")
			require.ErrorContains(t, err, tc.err)
		})
	}
}
