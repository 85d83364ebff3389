package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the client's request metrics. A nil *metrics records
// nothing.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	retries  *prometheus.CounterVec
}

// newMetrics registers the metrics in reg. Clients that share a Registerer
// share the metrics.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drover_client_requests_total",
			Help: "API requests made by the client, by verb and HTTP code (\"error\" when no response came), one per attempt.",
		}, []string{"verb", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "drover_client_request_duration_seconds",
			Help:    "Latency of API request attempts until the response headers, by verb.",
			Buckets: prometheus.DefBuckets,
		}, []string{"verb"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drover_client_retries_total",
			Help: "API requests retried, by verb and the code that caused the retry (\"error\" for a transport error).",
		}, []string{"verb", "code"}),
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	if m.retries, err = register(reg, m.retries); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the identical collector registered
// before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if old, ok := are.ExistingCollector.(C); ok {
			return old, nil
		}
	}
	return c, fmt.Errorf("client: register metrics: %w", err)
}

func (m *metrics) observe(verb, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(verb, code).Inc()
	m.latency.WithLabelValues(verb).Observe(d.Seconds())
}

func (m *metrics) retry(verb, code string) {
	if m == nil {
		return
	}
	m.retries.WithLabelValues(verb, code).Inc()
}
