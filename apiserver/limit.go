package apiserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
)

// The server sheds load rather than queue it: each class of request has
// a limit on how many are served at once, and a request over its class's
// limit is answered at once with 429 TooManyRequests, a Status whose
// details.retryAfterSeconds is 1 and a Retry-After: 1 header, which
// client-go honours by retrying after that second.
//
//   - read-only requests (GET and HEAD, not watches): Config.MaxRequestsInFlight
//   - mutating requests (every other method): Config.MaxMutatingRequestsInFlight
//   - watches, while they are open: Config.MaxWatches (watch.go)
//
// As in Kubernetes, long-running requests (watches, and pods/log, which
// may follow a log for hours) do not hold a place among the read-only
// ones, and the paths a client needs to find its way while the server is
// busy are never limited: /healthz, /livez, /readyz (and below them),
// /metrics, /version, discovery (/api, /apis, /api/<v>, /apis/<g>,
// /apis/<g>/<v>) and the OpenAPI documents.

// DefaultMaxRequestsInFlight is the default Config.MaxRequestsInFlight, as
// Kubernetes' --max-requests-inflight.
const DefaultMaxRequestsInFlight = 400

// DefaultMaxMutatingRequestsInFlight is the default
// Config.MaxMutatingRequestsInFlight, as Kubernetes'
// --max-mutating-requests-inflight.
const DefaultMaxMutatingRequestsInFlight = 200

// DefaultMaxWatches is the default Config.MaxWatches.
const DefaultMaxWatches = 100_000

// requestClass is the limit a request counts against.
type requestClass int

const (
	classExempt   requestClass = iota // never limited
	classWatch                        // Config.MaxWatches, counted by the watchSet
	classReadOnly                     // Config.MaxRequestsInFlight
	classMutating                     // Config.MaxMutatingRequestsInFlight
)

// The request_kind label values of the in-flight metrics, as Kubernetes'.
const (
	kindReadOnly = "readOnly"
	kindMutating = "mutating"
	kindWatch    = "watch"
)

// classify says which limit a request counts against, from its method,
// its path and its raw query.
func classify(method, path, rawQuery string) requestClass {
	p := strings.Trim(path, "/")
	switch p {
	case "healthz", "livez", "readyz", "metrics", "version", "api", "apis":
		return classExempt
	}
	for _, prefix := range []string{"healthz/", "livez/", "readyz/", "openapi/"} {
		if strings.HasPrefix(p, prefix) {
			return classExempt
		}
	}
	seg := strings.Split(p, "/")
	switch {
	case seg[0] == "api" && len(seg) == 2, // /api/v1
		seg[0] == "apis" && (len(seg) == 2 || len(seg) == 3): // /apis/<g>[/<v>]
		return classExempt
	}
	// pods/log and pods/exec (GET or POST): .../pods/<name>/log,
	// .../pods/<name>/exec. They last as long as the stream.
	if n := len(seg); seg[0] == "api" && n >= 5 && (seg[n-1] == "log" || seg[n-1] == "exec") && seg[n-3] == "pods" {
		return classExempt
	}
	if method != http.MethodGet && method != http.MethodHead {
		return classMutating
	}
	if method == http.MethodGet && strings.Contains(rawQuery, "watch") {
		q, _ := url.ParseQuery(rawQuery) // as URL.Query: what parses
		if isWatch(q) {
			return classWatch
		}
	}
	return classReadOnly
}

// inFlight counts the requests of one class being served, up to a limit.
type inFlight struct {
	max      int64 // 0: no limit
	n        atomic.Int64
	gauge    prometheus.Gauge
	rejected prometheus.Counter
}

// acquire takes a place, and reports false if there is none.
func (l *inFlight) acquire() bool {
	if n := l.n.Add(1); l.max > 0 && n > l.max {
		l.n.Add(-1)
		l.rejected.Inc()
		return false
	}
	l.gauge.Inc()
	return true
}

// release gives back a place that acquire took.
func (l *inFlight) release() {
	l.n.Add(-1)
	l.gauge.Dec()
}

// limitOf returns the resolved limit of a Config field: 0 means def, a
// negative value no limit (0).
func limitOf(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// limits are the server's in-flight limits.
type limits struct {
	readOnly, mutating *inFlight
}

func newLimits(cfg Config, m *metrics) limits {
	mk := func(max int, kind string) *inFlight {
		return &inFlight{
			max:      int64(max),
			gauge:    m.inFlight.WithLabelValues(kind),
			rejected: m.rejected.WithLabelValues(kind),
		}
	}
	return limits{
		readOnly: mk(limitOf(cfg.MaxRequestsInFlight, DefaultMaxRequestsInFlight), kindReadOnly),
		mutating: mk(limitOf(cfg.MaxMutatingRequestsInFlight, DefaultMaxMutatingRequestsInFlight), kindMutating),
	}
}

// limit is the middleware that holds requests to the in-flight limits.
func (s *Server) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var l *inFlight
		var what string
		switch classify(r.Method, r.URL.Path, r.URL.RawQuery) {
		case classReadOnly:
			l, what = s.limits.readOnly, "read-only"
		case classMutating:
			l, what = s.limits.mutating, "mutating"
		default: // exempt, or a watch: the watchSet counts those
			next.ServeHTTP(w, r)
			return
		}
		if !l.acquire() {
			s.writeError(w, tooManyRequests(w, fmt.Sprintf(
				"too many %s requests in flight (the limit is %d): try again later", what, l.max)))
			return
		}
		defer l.release()
		next.ServeHTTP(w, r)
	})
}

// tooManyRequests sets the Retry-After header of a 429 on w and returns
// its Status.
func tooManyRequests(w http.ResponseWriter, msg string) error {
	w.Header().Set("Retry-After", "1")
	return api.NewTooManyRequests(msg, 1)
}
