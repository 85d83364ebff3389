package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/store"
)

// The snapshot endpoint: every control-plane member serves, next to the
// API server's paths,
//
//	GET /drover/v1/snapshot
//
// whose body is a backup of the live store (raftstore.Store.Backup): every
// key and the history since the compacted revision, at one revision,
// holding every write acknowledged before the request arrived. A follower
// answers as well as the leader: Backup first waits for a read index from
// the leader (a linearizable read barrier), then writes its own applied
// state. The body is streamed as it is written, so its revision and key
// count come after it, as the HTTP trailers X-Drover-Revision and
// X-Drover-Keys. A body cut short (the member failed while writing) ends
// the connection without a final chunk, so a client sees an error and no
// X-Drover-Revision; FetchSnapshot checks both. Restore the file with
// raftstore.Config.RestoreFrom (`drover snapshot restore`).
const (
	// SnapshotPath is the path of the snapshot endpoint.
	SnapshotPath = "/drover/v1/snapshot"
	// SnapshotRevisionTrailer is the HTTP trailer that carries the
	// revision of the backup in the body.
	SnapshotRevisionTrailer = "X-Drover-Revision"
	// SnapshotKeysTrailer is the HTTP trailer that carries how many live
	// keys (objects) the backup holds. A member may leave it out.
	SnapshotKeysTrailer = "X-Drover-Keys"

	// droverPrefix is the path prefix the control plane routes to its own
	// handlers rather than to the API server.
	droverPrefix = "/drover/"
)

// snapshotStore is what the snapshot endpoint needs of the store member
// (a *raftstore.Store). Both methods are called from the goroutine of the
// HTTP request, concurrently with any other request.
type snapshotStore interface {
	// Backup writes a consistent snapshot to w and returns its revision.
	// An error wrapping store.ErrUnavailable means there is no leader or
	// no quorum now.
	Backup(ctx context.Context, w io.Writer) (int64, error)
	// List is used to count the keys at the backup's revision.
	List(ctx context.Context, prefix string, opts store.ListOptions) (*store.ListResult, error)
}

// snapshotHandler serves SnapshotPath.
type snapshotHandler struct {
	st       snapshotStore
	log      *slog.Logger
	requests *prometheus.CounterVec
	bytes    prometheus.Counter
	latency  prometheus.Histogram
}

// newSnapshotHandler returns the handler of SnapshotPath over st, with its
// metrics registered on reg.
func newSnapshotHandler(st snapshotStore, log *slog.Logger, reg prometheus.Registerer) (*snapshotHandler, error) {
	h := &snapshotHandler{
		st:  st,
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drover_snapshot_requests_total",
			Help: "Requests to " + SnapshotPath + " by HTTP code (\"aborted\": the body was cut short).",
		}, []string{"code"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "drover_snapshot_sent_bytes_total",
			Help: "Bytes of backups sent by " + SnapshotPath + ".",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "drover_snapshot_duration_seconds",
			Help:    "Time to serve a request to " + SnapshotPath + ", the whole body included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 8), // 10 ms to 164 s
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{h.requests, h.bytes, h.latency} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("cluster: register snapshot metrics: %w", err)
			}
		}
	}
	return h, nil
}

// withDroverPaths routes the paths under /drover/ to drover and every
// other path to api.
func withDroverPaths(drover, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, droverPrefix) {
			drover.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// ServeHTTP implements http.Handler.
func (h *snapshotHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := "200"
	defer func() {
		h.requests.WithLabelValues(code).Inc()
		h.latency.Observe(time.Since(start).Seconds())
	}()
	if r.URL.Path != SnapshotPath {
		code = "404"
		http.Error(w, fmt.Sprintf("%s not found: the paths under %s are %s and %s", r.URL.Path, droverPrefix, SnapshotPath, schedulingPathTemplate), http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet {
		code = "405"
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, fmt.Sprintf("method %s is not allowed on %s: use GET", r.Method, SnapshotPath), http.StatusMethodNotAllowed)
		return
	}
	body := &snapshotBody{w: w}
	rev, err := h.st.Backup(r.Context(), body)
	h.bytes.Add(float64(body.n))
	if err != nil {
		gone := r.Context().Err() != nil
		switch {
		case body.started:
			code = "aborted"
			if gone {
				h.log.Info("snapshot request ended by the client", "remote", r.RemoteAddr, "bytes", body.n)
			} else {
				h.log.Warn("snapshot failed while sending", "remote", r.RemoteAddr, "bytes", body.n, "err", err)
			}
			// Cut the response short: no final chunk, no trailers, so
			// the client cannot take it for a whole backup.
			panic(http.ErrAbortHandler)
		case errors.Is(err, store.ErrUnavailable):
			code = "503"
			h.log.Warn("snapshot refused", "remote", r.RemoteAddr, "err", err)
			w.Header().Set("Retry-After", "1")
			http.Error(w, fmt.Sprintf("no snapshot now: the store has no leader or no quorum (%v); retry when it has", err), http.StatusServiceUnavailable)
		case errors.Is(err, store.ErrClosed) || gone:
			code = "503"
			http.Error(w, "no snapshot: this member is shutting down; ask another", http.StatusServiceUnavailable)
		default:
			code = "500"
			h.log.Error("snapshot failed", "remote", r.RemoteAddr, "err", err)
			http.Error(w, fmt.Sprintf("snapshot failed: %v", err), http.StatusInternalServerError)
		}
		return
	}
	body.start() // a backup is never empty, but an empty body is still a reply
	w.Header().Set(SnapshotRevisionTrailer, strconv.FormatInt(rev, 10))
	keys := int64(-1)
	res, err := h.st.List(r.Context(), "", store.ListOptions{Revision: rev, Limit: 1, CountRemaining: true})
	if err == nil {
		keys = int64(len(res.KVs)) + res.Remaining
		w.Header().Set(SnapshotKeysTrailer, strconv.FormatInt(keys, 10))
	} else {
		h.log.Warn("snapshot sent without its key count", "revision", rev, "err", err)
	}
	h.log.Info("snapshot sent", "remote", r.RemoteAddr, "revision", rev, "keys", keys,
		"bytes", body.n, "duration", time.Since(start))
}

// snapshotBody writes the body of a snapshot response; the first write
// sends the status and headers, so a Backup that fails before writing can
// still answer with an error status.
type snapshotBody struct {
	w       http.ResponseWriter
	started bool
	n       int64
}

// start sends the status line and the headers, once.
func (b *snapshotBody) start() {
	if b.started {
		return
	}
	b.started = true
	h := b.w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("Trailer", SnapshotRevisionTrailer+", "+SnapshotKeysTrailer)
	b.w.WriteHeader(http.StatusOK)
}

func (b *snapshotBody) Write(p []byte) (int, error) {
	b.start()
	n, err := b.w.Write(p)
	b.n += int64(n)
	return n, err
}

// SnapshotInfo describes a backup that FetchSnapshot received.
type SnapshotInfo struct {
	// Revision is the store revision the backup was taken at.
	Revision int64
	// Keys is how many live keys (objects) it holds; -1 if the member did
	// not say.
	Keys int64
	// Size is the length of the backup in bytes.
	Size int64
}

// SnapshotStatusError is returned by FetchSnapshot when the member
// answered with an error status instead of a backup.
type SnapshotStatusError struct {
	// URL is the URL asked.
	URL string
	// Code is the HTTP status code; 404 means the member serves no
	// snapshot endpoint (an older version), 503 that it cannot take one
	// now (no leader, or shutting down).
	Code int
	// Message is the member's explanation.
	Message string
}

// Error implements error.
func (e *SnapshotStatusError) Error() string {
	return fmt.Sprintf("cluster: snapshot from %s: %d %s: %s", e.URL, e.Code, http.StatusText(e.Code), e.Message)
}

// FetchSnapshot asks the control-plane member at cfg.Host (with cfg's TLS
// and bearer token) for a backup of its live store, over SnapshotPath, and
// writes it to w. It returns an error if the member refused
// (*SnapshotStatusError), if the body was cut short, or if the member did
// not send its revision; w then holds no usable backup. cfg.Transport, if
// set, carries the request instead of a connection to cfg.Host (the API
// server's in-process transport does not serve SnapshotPath: the
// endpoint belongs to the control plane's listener). It makes one
// attempt: a caller that gets a 503 may retry.
func FetchSnapshot(ctx context.Context, cfg client.Config, w io.Writer) (SnapshotInfo, error) {
	info := SnapshotInfo{Keys: -1}
	if err := cfg.Validate(); err != nil {
		return info, err
	}
	if cfg.Host == "" {
		return info, errors.New("cluster: FetchSnapshot: client.Config.Host is empty: the URL of a control-plane member is required")
	}
	hc, err := snapshotHTTPClient(cfg)
	if err != nil {
		return info, err
	}
	url := strings.TrimRight(cfg.Host, "/") + SnapshotPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return info, fmt.Errorf("cluster: snapshot from %s: %w", url, err)
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "drover-client"
	}
	req.Header.Set("User-Agent", ua)
	tok := cfg.BearerToken
	if tok == "" && cfg.BearerTokenFile != "" {
		data, err := os.ReadFile(cfg.BearerTokenFile)
		if err != nil {
			return info, fmt.Errorf("cluster: read the bearer token: %w", err)
		}
		tok = strings.TrimSpace(string(data))
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return info, fmt.Errorf("cluster: snapshot from %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return info, &SnapshotStatusError{URL: url, Code: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	}
	info.Size, err = io.Copy(w, resp.Body)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("the member ended the backup early (it failed or stopped): %w", err)
		}
		return info, fmt.Errorf("cluster: snapshot from %s, after %d bytes: %w", url, info.Size, err)
	}
	rev, err := strconv.ParseInt(resp.Trailer.Get(SnapshotRevisionTrailer), 10, 64)
	if err != nil || rev < 0 {
		return info, fmt.Errorf("cluster: snapshot from %s: the member sent no %s trailer after the backup: it is incomplete or the answer of something else", url, SnapshotRevisionTrailer)
	}
	info.Revision = rev
	if keys, err := strconv.ParseInt(resp.Trailer.Get(SnapshotKeysTrailer), 10, 64); err == nil && keys >= 0 {
		info.Keys = keys
	}
	return info, nil
}

// snapshotHTTPClient returns an HTTP client for cfg: its Transport, or a
// connection with its TLS. (package client keeps its HTTP client to
// itself, so the TLS settings are applied here too.)
func snapshotHTTPClient(cfg client.Config) (*http.Client, error) {
	hc := &http.Client{
		// A backup is one request; a redirect is not part of the endpoint.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if cfg.Transport != nil {
		hc.Transport = cfg.Transport
		return hc, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	tc, err := snapshotTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	t.TLSClientConfig = tc
	hc.Transport = t
	return hc, nil
}

// snapshotTLS builds the crypto/tls configuration of t.
func snapshotTLS(t client.TLSConfig) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.Insecure, //nolint:gosec // the kubeconfig asks for it
	}
	ca, err := dataOrFile(t.CAData, t.CAFile, "CAFile")
	if err != nil {
		return nil, err
	}
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("cluster: the kubeconfig's certificate authority holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	cert, err := dataOrFile(t.CertData, t.CertFile, "CertFile")
	if err != nil {
		return nil, err
	}
	key, err := dataOrFile(t.KeyData, t.KeyFile, "KeyFile")
	if err != nil {
		return nil, err
	}
	if len(cert) > 0 {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("cluster: the kubeconfig's client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// dataOrFile returns data, or the content of file when data is empty.
func dataOrFile(data []byte, file, field string) ([]byte, error) {
	if len(data) > 0 || file == "" {
		return data, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cluster: read client.Config.TLS.%s: %w", field, err)
	}
	return b, nil
}
