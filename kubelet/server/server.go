package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drover-io/drover/runtime"
)

// ErrForbidden is what Config.Authenticate returns (wrapped) for a
// caller it knows but does not allow: the answer is 403, not 401.
var ErrForbidden = errors.New("server: forbidden")

// Server is the node agent's HTTPS API. Make it with New; serve it with
// Run, or mount Handler on a listener of your own.
type Server struct {
	cfg     Config
	log     *slog.Logger
	clock   Clock
	cert    *tls.Certificate
	stats   runtime.StatsProvider // nil: no container usage
	execer  runtime.Execer        // nil: no exec
	metrics *metrics
	gather  prometheus.Gatherer // nil: no /metrics
	handler http.Handler
	samples sampler
}

// New returns a Server of cfg, with its serving certificate loaded or
// generated (see Config.Certificate).
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, stats: cfg.StatsProvider, execer: cfg.Execer, gather: cfg.Gatherer}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	if s.stats == nil {
		s.stats, _ = cfg.Runtime.(runtime.StatsProvider)
	}
	if s.execer == nil {
		s.execer, _ = cfg.Runtime.(runtime.Execer)
	}
	if s.gather == nil {
		s.gather, _ = cfg.Registerer.(prometheus.Gatherer)
	}
	var err error
	if s.cert, err = servingCertificate(cfg, s.clock.Now()); err != nil {
		return nil, err
	}
	if s.metrics, err = newMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Certificate returns the serving certificate, its Leaf set: what a
// client of a self-signed server trusts.
func (s *Server) Certificate() *tls.Certificate { return s.cert }

// Handler returns the server's HTTP handler, every endpoint with
// authentication, logging, metrics and panic recovery, for tests and to
// serve on a listener of one's own.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on Config.Addr and serves HTTPS until ctx ends, then shuts
// down (see Serve).
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTPS on ln until ctx ends, then stops accepting, waits
// up to Config.ShutdownTimeout for requests in flight and cuts the rest
// (followed logs and exec sessions). It closes ln, and returns nil after
// a shutdown ctx asked for.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{*s.cert}, MinVersion: tls.VersionTLS12},
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	s.log.Info("node agent API serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("server: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-errc // http.ErrServerClosed
	return nil
}

// routes builds the handler.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, endpoint string, auth bool, h http.HandlerFunc) {
		mux.Handle(pattern, s.endpoint(endpoint, auth, h))
	}
	route("GET /containerLogs/{namespace}/{pod}/{container}", "containerLogs", true, s.serveLogs)
	route("GET /stats/summary", "stats/summary", true, s.serveStatsSummary)
	route("GET /pods", "pods", true, s.servePods)
	route("GET /healthz", "healthz", false, s.serveHealthz)
	route("GET /readyz", "readyz", false, s.serveReadyz)
	route("GET /metrics", "metrics", true, s.serveMetrics)
	s.execRoutes(route)
	return s.outer(mux)
}

// reqInfo is what the handlers tell the outer middleware of a request.
type reqInfo struct{ endpoint string }

type reqInfoKey struct{}

// outer logs every request, counts it by endpoint and code, and turns a
// panic into a 500.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{endpoint: "other"}
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, info))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("node agent API handler panicked", "method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !rec.wroteHeader {
					http.Error(rec, "internal error: the handler failed", http.StatusInternalServerError)
				}
			}
			code := rec.code
			if !rec.wroteHeader {
				code = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.observe(info.endpoint, code, d)
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "endpoint", info.endpoint,
				"code", code, "duration", d, "remote", r.RemoteAddr)
		}()
		next.ServeHTTP(rec, r)
	})
}

// endpoint names the request's endpoint for the metrics and checks
// authentication if auth.
func (s *Server) endpoint(name string, auth bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
			info.endpoint = name
		}
		if auth && s.cfg.Authenticate != nil {
			if err := s.cfg.Authenticate(r); err != nil {
				code := http.StatusUnauthorized
				if errors.Is(err, ErrForbidden) {
					code = http.StatusForbidden
				}
				http.Error(w, err.Error(), code)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status code written. It passes Flush,
// Hijack and the rest through Unwrap (http.ResponseController).
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = http.StatusOK, true
	}
	return r.ResponseWriter.Write(p)
}

// Flush is there for code that type-asserts http.Flusher.
func (r *statusRecorder) Flush() {
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack takes the connection over (WebSocket upgrades): the request
// counts as 101 Switching Protocols.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil && !r.wroteHeader {
		r.code, r.wroteHeader = http.StatusSwitchingProtocols, true
	}
	return conn, rw, err
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// internalError answers 500 and logs err.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("node agent API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

// serveHealthz serves GET /healthz: "ok", or 500 with the failed checks.
func (s *Server) serveHealthz(w http.ResponseWriter, r *http.Request) {
	s.answerChecks(w, s.runChecks())
}

// serveReadyz serves GET /readyz: the checks of /healthz, and the
// runtime answers.
func (s *Server) serveReadyz(w http.ResponseWriter, r *http.Request) {
	errs := s.runChecks()
	if _, err := s.cfg.Runtime.Version(r.Context()); err != nil {
		errs = append(errs, fmt.Errorf("the runtime does not answer: %w", err))
	}
	s.answerChecks(w, errs)
}

func (s *Server) runChecks() []error {
	var errs []error
	for i, check := range s.cfg.Healthz {
		if err := check(); err != nil {
			errs = append(errs, fmt.Errorf("check %d: %w", i, err))
		}
	}
	return errs
}

func (s *Server) answerChecks(w http.ResponseWriter, errs []error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if len(errs) == 0 {
		w.Write([]byte("ok"))
		return
	}
	var b strings.Builder
	for _, err := range errs {
		b.WriteString("[-] " + err.Error() + "\n")
	}
	b.WriteString("failed: " + strconv.Itoa(len(errs)) + " check(s)\n")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write([]byte(b.String()))
}

// serveMetrics serves GET /metrics from Config.Gatherer.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.gather == nil {
		http.Error(w, "this node agent has no metrics registry (Config.Gatherer)", http.StatusNotFound)
		return
	}
	promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// metrics are the server's request metrics.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "drover", Subsystem: "kubelet_server", Name: "requests_total",
			Help: "Requests to the node agent's API by endpoint and HTTP code.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "drover", Subsystem: "kubelet_server", Name: "request_duration_seconds",
			Help:    "Duration of requests to the node agent's API by endpoint (followed logs and exec until they end).",
			Buckets: prometheus.DefBuckets,
		}, []string{"endpoint"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("server: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(endpoint string, code int, d time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(endpoint).Observe(d.Seconds())
}
