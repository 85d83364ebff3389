package prober

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the prober's Prometheus metrics. Their labels are few on
// purpose (kind and result, no pod names): a hollow node runs thousands
// of containers.
type metrics struct {
	total    [numKinds][3]prometheus.Counter // by Kind, Result
	duration [numKinds]prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	total := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "prober_probe_total",
		Help: "Probes run, by probe_type (liveness, readiness, startup) and result (success, failure, unknown).",
	}, []string{"probe_type", "result"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "prober_probe_duration_seconds",
		Help:    "Duration of a probe, by probe_type (liveness, readiness, startup).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100µs .. 3.3s
	}, []string{"probe_type"})
	if reg != nil {
		// A second Manager on the same registry (hollow nodes) shares the
		// metrics of the first.
		if err := reg.Register(total); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			if total, _ = are.ExistingCollector.(*prometheus.CounterVec); total == nil {
				return nil, err
			}
		}
		if err := reg.Register(duration); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			if duration, _ = are.ExistingCollector.(*prometheus.HistogramVec); duration == nil {
				return nil, err
			}
		}
	}
	m := &metrics{}
	for k := Kind(0); k < numKinds; k++ {
		for _, r := range []Result{Unknown, Success, Failure} {
			m.total[k][r] = total.WithLabelValues(k.label(), r.label())
		}
		m.duration[k] = duration.WithLabelValues(k.label())
	}
	return m, nil
}

func (m *metrics) observe(k Kind, r Result, d time.Duration) {
	m.total[k][r].Inc()
	m.duration[k].Observe(d.Seconds())
}
