package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
)

// metrics are the server's request and maintenance metrics.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// The in-flight limits (limit.go), by request_kind.
	inFlight *prometheus.GaugeVec
	rejected *prometheus.CounterVec
	// Run's maintenance (maintenance.go).
	eventsExpired     prometheus.Counter
	compactions       prometheus.Counter
	compactedRevision prometheus.Gauge
	gatherer          prometheus.Gatherer // nil when the Registerer is not one
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drover_apiserver_requests_total",
			Help: "API server requests by verb, resource and HTTP code.",
		}, []string{"verb", "resource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "drover_apiserver_request_duration_seconds",
			Help:    "API server request latency by verb and resource (watches until they end).",
			Buckets: prometheus.DefBuckets,
		}, []string{"verb", "resource"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "drover_apiserver_current_inflight_requests",
			Help: "Requests being served, by the in-flight limit they count against (readOnly or mutating).",
		}, []string{"request_kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drover_apiserver_dropped_requests_total",
			Help: "Requests answered 429 TooManyRequests because their limit was reached, by limit (readOnly, mutating or watch).",
		}, []string{"request_kind"}),
		eventsExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "drover_apiserver_events_expired_total",
			Help: "Events deleted by the API server because they outlived the event TTL.",
		}),
		compactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "drover_apiserver_compactions_total",
			Help: "Store compactions done by the API server.",
		}),
		compactedRevision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "drover_apiserver_compacted_revision",
			Help: "The store revision the API server last compacted to.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.inFlight, m.rejected, m.eventsExpired, m.compactions, m.compactedRevision} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("apiserver: register metrics: %w", err)
		}
	}
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	return m, nil
}

// requestInfo is what the router learnt about a request, for the metrics.
type requestInfo struct {
	verb     string // get, list, watch, create, update, delete, patch; or the HTTP method
	resource string // "pods", "deployments.apps"; "" for other paths
}

// recorder remembers the status code written through it.
type recorder struct {
	http.ResponseWriter
	code  int
	info  requestInfo
	wrote bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.code, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the Flusher underneath.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush implements http.Flusher.
func (r *recorder) Flush() {
	if !r.wrote {
		r.code, r.wrote = http.StatusOK, true
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// setInfo records what the router found about the request being served.
func setInfo(w http.ResponseWriter, info requestInfo) {
	if rec, ok := w.(*recorder); ok {
		rec.info = info
	}
}

// instrument counts requests and measures their latency.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, code: http.StatusOK, info: requestInfo{verb: r.Method}}
		defer func() {
			s.metrics.requests.WithLabelValues(rec.info.verb, rec.info.resource, strconv.Itoa(rec.code)).Inc()
			s.metrics.latency.WithLabelValues(rec.info.verb, rec.info.resource).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// recoverPanics turns a panic of a handler into a 500 Status and a log line,
// so that one bad request does not take the server down.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec, ok := w.(*recorder); ok && rec.wrote {
				return // too late for a Status: the client sees a cut response
			}
			s.writeError(w, api.NewInternalError(errors.New("the server panicked serving the request")))
		}()
		next.ServeHTTP(w, r)
	})
}

// serveMetrics serves /metrics.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.metrics.gatherer == nil {
		s.writeError(w, notFound())
		return
	}
	promhttp.HandlerFor(s.metrics.gatherer, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// The watch metrics, per resource and version, from the registries' watch
// caches (registry.WatchStats).
var (
	watchersDesc = prometheus.NewDesc("drover_apiserver_watchers",
		"Open watches.", []string{"resource", "version"}, nil)
	watchEventsDesc = prometheus.NewDesc("drover_apiserver_watch_events_sent_total",
		"Watch events sent, counted once per watcher that received them.", []string{"resource", "version"}, nil)
	watchSlowDesc = prometheus.NewDesc("drover_apiserver_watch_slow_terminated_total",
		"Watches ended because they fell further behind than the watch cache holds.", []string{"resource", "version"}, nil)
	watchStoreDesc = prometheus.NewDesc("drover_apiserver_watch_store_watches_total",
		"Watches served by a store watch of their own (started from a revision older than the watch cache).", []string{"resource", "version"}, nil)
	watchCacheEventsDesc = prometheus.NewDesc("drover_apiserver_watch_cache_events",
		"Changes held by the watch cache (0 while it is stopped).", []string{"resource", "version"}, nil)
	watchCacheBytesDesc = prometheus.NewDesc("drover_apiserver_watch_cache_bytes",
		"Stored bytes of the changes held by the watch cache, as counted against its byte bound.", []string{"resource", "version"}, nil)
)

// watchCollector collects the watch metrics of every registry.
type watchCollector struct {
	regs map[api.GroupVersionResource]*registry.Registry
}

func (watchCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{watchersDesc, watchEventsDesc, watchSlowDesc, watchStoreDesc, watchCacheEventsDesc, watchCacheBytesDesc} {
		ch <- d
	}
}

func (c watchCollector) Collect(ch chan<- prometheus.Metric) {
	for gvr, r := range c.regs {
		st := r.WatchStats()
		res, ver := gvr.GroupResource().String(), gvr.Version
		ch <- prometheus.MustNewConstMetric(watchersDesc, prometheus.GaugeValue, float64(st.Watchers), res, ver)
		ch <- prometheus.MustNewConstMetric(watchEventsDesc, prometheus.CounterValue, float64(st.Events), res, ver)
		ch <- prometheus.MustNewConstMetric(watchSlowDesc, prometheus.CounterValue, float64(st.SlowTerminated), res, ver)
		ch <- prometheus.MustNewConstMetric(watchStoreDesc, prometheus.CounterValue, float64(st.StoreWatches), res, ver)
		ch <- prometheus.MustNewConstMetric(watchCacheEventsDesc, prometheus.GaugeValue, float64(st.CacheEvents), res, ver)
		ch <- prometheus.MustNewConstMetric(watchCacheBytesDesc, prometheus.GaugeValue, float64(st.CacheBytes), res, ver)
	}
}
