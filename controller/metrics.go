package controller

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// The values of the result label of drover_controller_reconcile_total.
const (
	ResultSuccess       = "success"        // returned a zero Result and no error
	ResultError         = "error"          // returned an error: retried with backoff
	ResultConflict      = "conflict"       // returned only optimistic-concurrency conflicts (409 Conflict): retried with backoff
	ResultRequeue       = "requeue"        // returned Result.Requeue
	ResultRequeueAfter  = "requeue_after"  // returned Result.RequeueAfter
	ResultTerminalError = "terminal_error" // returned a TerminalError: not retried
	ResultPanic         = "panic"          // panicked: recovered, retried with backoff
)

var results = []string{ResultSuccess, ResultError, ResultConflict, ResultRequeue, ResultRequeueAfter, ResultTerminalError, ResultPanic}

// metrics are one controller's Prometheus metrics, labelled
// controller=<name>. They live as long as the Controller: its queue's
// metrics (drover_workqueue_*, name=<name>) come and go with each Start.
type metrics struct {
	total    *prometheus.CounterVec
	duration prometheus.Histogram
	active   prometheus.Gauge
	workers  prometheus.Gauge
}

func newMetrics(name string, reg prometheus.Registerer) (*metrics, error) {
	labels := prometheus.Labels{"controller": name}
	m := &metrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "drover", Subsystem: "controller", Name: "reconcile_total", ConstLabels: labels,
			Help: "Reconciles by result: success, error, conflict, requeue, requeue_after, terminal_error, panic.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "drover", Subsystem: "controller", Name: "reconcile_duration_seconds", ConstLabels: labels,
			Help: "How long each Reconcile call took.",
			// 100µs to about 100s.
			Buckets: prometheus.ExponentialBuckets(1e-4, 2, 21),
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "drover", Subsystem: "controller", Name: "active_workers", ConstLabels: labels,
			Help: "Workers in a Reconcile call now.",
		}),
		workers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "drover", Subsystem: "controller", Name: "max_concurrent_reconciles", ConstLabels: labels,
			Help: "The controller's MaxConcurrentReconciles.",
		}),
	}
	for _, r := range results {
		m.total.WithLabelValues(r) // export every result from the start, at 0
	}
	if reg == nil {
		return m, nil
	}
	var done []prometheus.Collector
	for _, c := range []prometheus.Collector{m.total, m.duration, m.active, m.workers} {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("controller: register metrics of %q: %w (is another controller of that name registered?)", name, err)
			}
			return nil, fmt.Errorf("controller: register metrics of %q: %w", name, err)
		}
		done = append(done, c)
	}
	return m, nil
}
