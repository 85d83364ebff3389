package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
)

// Defaults of Config.
const (
	// DefaultTimeout is the default Config.Timeout.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxAttempts is the default RetryPolicy.MaxAttempts.
	DefaultMaxAttempts = 5
	// DefaultBaseDelay is the default RetryPolicy.BaseDelay.
	DefaultBaseDelay = 200 * time.Millisecond
	// DefaultMaxDelay is the default RetryPolicy.MaxDelay.
	DefaultMaxDelay = 10 * time.Second
	// DefaultMaxRetryAfter is the default RetryPolicy.MaxRetryAfter.
	DefaultMaxRetryAfter = time.Minute
	// inProcessHost is the Host used with a Transport and no Host.
	inProcessHost = "http://drover.in-process"
)

// Config says how to reach an API server and how to talk to it. Build one
// by hand, from a kubeconfig file (LoadKubeconfig, KubeconfigFromEnv) or
// for the in-process transport:
//
//	c, err := client.New(client.Config{Transport: server.Transport()})
type Config struct {
	// Host is the API server's URL, such as "https://10.0.0.1:6443". A path
	// in it ("https://proxy/drover") prefixes every request. It may be
	// empty when Transport is set.
	Host string
	// BearerToken is sent as "Authorization: Bearer <token>".
	BearerToken string
	// BearerTokenFile names a file holding the token; it is read again
	// when it changes (at most once a minute), so rotated tokens are
	// picked up. BearerToken wins when both are set.
	BearerTokenFile string
	// TLS configures HTTPS connections. It must be zero when Transport is
	// set.
	TLS TLSConfig
	// Transport, when set, carries every request instead of a
	// net/http.Transport built from Host and TLS: the in-process
	// transport of an embedded API server, or a test's. The client still
	// adds the bearer token and User-Agent.
	Transport http.RoundTripper
	// UserAgent is the User-Agent header. "" means "drover-client".
	UserAgent string
	// Timeout bounds each attempt of a request other than a watch. 0 means
	// DefaultTimeout; a negative value means none (the ctx still applies).
	Timeout time.Duration
	// Retry says which failed requests are retried and how long to wait.
	Retry RetryPolicy
	// Scheme maps Go types to kinds and resource paths. nil means
	// api.NewDefaultScheme().
	Scheme *api.Scheme
	// Namespace is the namespace of the kubeconfig context the Config was
	// loaded from, for programs (such as the CLI) that act in a default
	// namespace. The client's methods never apply it on their own.
	Namespace string
	// Logger receives the client's log lines (retries). nil means discard.
	Logger *slog.Logger
	// Registerer, if set, receives the client's Prometheus metrics:
	// requests by verb and code, their latency, and retries.
	Registerer prometheus.Registerer
	// Clock paces retries. nil means the system clock.
	Clock Clock
}

// TLSConfig configures the TLS of HTTPS connections. For each of the CA,
// the client certificate and the key, the PEM data wins over the file.
type TLSConfig struct {
	// CAData is the PEM of the certificate authorities trusted for the
	// server's certificate; CAFile names a file holding it. Neither means
	// the system roots.
	CAData []byte
	CAFile string
	// CertData and KeyData (or CertFile and KeyFile) are the PEM of a
	// client certificate and its key, for servers that authenticate
	// clients by certificate. Both halves are required.
	CertData []byte
	CertFile string
	KeyData  []byte
	KeyFile  string
	// Insecure skips the verification of the server's certificate. It
	// cannot be combined with a CA.
	Insecure bool
	// ServerName is the name the server's certificate must have, when it
	// is not the host of Config.Host.
	ServerName string
}

func (t TLSConfig) isZero() bool {
	return len(t.CAData) == 0 && t.CAFile == "" && len(t.CertData) == 0 && t.CertFile == "" &&
		len(t.KeyData) == 0 && t.KeyFile == "" && !t.Insecure && t.ServerName == ""
}

// RetryPolicy says which failed requests are retried and how long the
// client waits before each retry. The zero value gives the defaults.
//
// What is retried:
//
//   - any request that got 429 Too Many Requests or a 5xx with a
//     Retry-After (the header, or retryAfterSeconds in the Status): the
//     server says it did not act on it and asks for a retry;
//   - any request that could not connect (connection refused, DNS,
//     dial timeout): it never reached the server;
//   - reads (get, list, the start of a watch) that got 429 or another
//     5xx, or whose connection broke (reset, EOF, timeout): reading twice
//     is harmless.
//
// Writes that got a 5xx or 429 without Retry-After, or whose connection
// broke after they were sent, are not retried: the server may have acted
// on them, and a create or a JSON patch applied twice is not the same as
// once; use RetryOnConflict and level-triggered reconciliation for those.
// This is client-go's rule for writes (retry only when the server sent
// Retry-After), with reads retried more eagerly. An eviction is never
// retried, because its 429 means a disruption budget refused it.
//
// The wait before retry n (1-based) is a random duration in
// [d/2, d], d = min(BaseDelay·2^(n-1), MaxDelay) ("equal jitter"), or the
// server's Retry-After (seconds) when it sent one, capped at MaxRetryAfter.
// A cancelled ctx stops the wait at once.
type RetryPolicy struct {
	// MaxAttempts is the most attempts per request, the first included: 1
	// turns retries off. 0 means DefaultMaxAttempts.
	MaxAttempts int
	// BaseDelay is the wait before the first retry, doubled for each
	// further one. 0 means DefaultBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. 0 means DefaultMaxDelay.
	MaxDelay time.Duration
	// MaxRetryAfter caps the wait a server's Retry-After asks for. 0 means
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxRetryAfter == 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// Validate reports the first field of c that is wrong, and why.
func (c Config) Validate() error {
	if c.Host == "" && c.Transport == nil {
		return errors.New("client: Config.Host is empty: the API server's URL (such as https://127.0.0.1:6443) is required unless Config.Transport is set")
	}
	if c.Host != "" {
		if _, err := parseHost(c.Host); err != nil {
			return err
		}
	}
	if c.Transport != nil && !c.TLS.isZero() {
		return errors.New("client: Config.TLS is set together with Config.Transport: the Transport carries the requests, so TLS would be ignored; configure TLS in the Transport instead")
	}
	if c.TLS.Insecure && (len(c.TLS.CAData) > 0 || c.TLS.CAFile != "") {
		return errors.New("client: Config.TLS.Insecure is set together with a CA (CAData or CAFile): verify with the CA, or skip verification, not both")
	}
	hasCert := len(c.TLS.CertData) > 0 || c.TLS.CertFile != ""
	hasKey := len(c.TLS.KeyData) > 0 || c.TLS.KeyFile != ""
	if hasCert != hasKey {
		return errors.New("client: Config.TLS has a client certificate without its key, or a key without its certificate: set both (CertData/CertFile and KeyData/KeyFile)")
	}
	r := c.Retry
	switch {
	case r.MaxAttempts < 0:
		return fmt.Errorf("client: Config.Retry.MaxAttempts is %d: must be at least 1, or 0 for the default (%d)", r.MaxAttempts, DefaultMaxAttempts)
	case r.BaseDelay < 0:
		return fmt.Errorf("client: Config.Retry.BaseDelay is %v: must be positive, or 0 for the default (%v)", r.BaseDelay, DefaultBaseDelay)
	case r.MaxDelay < 0:
		return fmt.Errorf("client: Config.Retry.MaxDelay is %v: must be positive, or 0 for the default (%v)", r.MaxDelay, DefaultMaxDelay)
	case r.MaxRetryAfter < 0:
		return fmt.Errorf("client: Config.Retry.MaxRetryAfter is %v: must be positive, or 0 for the default (%v)", r.MaxRetryAfter, DefaultMaxRetryAfter)
	case r.BaseDelay > 0 && r.MaxDelay > 0 && r.MaxDelay < r.BaseDelay:
		return fmt.Errorf("client: Config.Retry.MaxDelay (%v) is less than Config.Retry.BaseDelay (%v)", r.MaxDelay, r.BaseDelay)
	}
	return nil
}

// parseHost parses Config.Host.
func parseHost(host string) (*url.URL, error) {
	u, err := url.Parse(host)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: Config.Host %q is not a URL such as https://127.0.0.1:6443 (http or https, with a host)", host)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: Config.Host %q has a query or a fragment: only scheme, host and an optional path are allowed", host)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// tlsConfig builds the crypto/tls configuration of t.
func (t TLSConfig) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.Insecure, //nolint:gosec // the user asked for it
	}
	ca := t.CAData
	if len(ca) == 0 && t.CAFile != "" {
		data, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("client: read Config.TLS.CAFile: %w", err)
		}
		ca = data
	}
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("client: Config.TLS: the CA (CAData or CAFile) holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	cert, key := t.CertData, t.KeyData
	if len(cert) == 0 && t.CertFile != "" {
		data, err := os.ReadFile(t.CertFile)
		if err != nil {
			return nil, fmt.Errorf("client: read Config.TLS.CertFile: %w", err)
		}
		cert = data
	}
	if len(key) == 0 && t.KeyFile != "" {
		data, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client: read Config.TLS.KeyFile: %w", err)
		}
		key = data
	}
	if len(cert) > 0 {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("client: Config.TLS: client certificate and key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
