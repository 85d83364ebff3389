package workqueue

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const metricsNamespace = "drover_workqueue"

// metrics are a queue's Prometheus metrics, labelled name=Config.Name.
type metrics struct {
	adds          prometheus.Counter
	retries       prometheus.Counter
	queueDuration prometheus.Histogram
	workDuration  prometheus.Histogram

	reg        prometheus.Registerer
	registered []prometheus.Collector
}

// inFlighter is what the gauges read from the queue.
type inFlighter interface {
	Len() int
	inFlight() (longest, total time.Duration)
}

func newMetrics(name string, reg prometheus.Registerer, q inFlighter) (*metrics, error) {
	labels := prometheus.Labels{"name": name}
	// 1µs to 100s: a reconcile is usually milliseconds, a backlog can be minutes.
	buckets := prometheus.ExponentialBuckets(1e-6, 10, 9)
	m := &metrics{
		adds: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "adds_total", ConstLabels: labels,
			Help: "Adds that queued an item or marked a processing item dirty; adds of an item already queued are not counted.",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "retries_total", ConstLabels: labels,
			Help: "Rate-limited adds (AddRateLimited).",
		}),
		queueDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "queue_duration_seconds", ConstLabels: labels,
			Help:    "Time from an add to the Get that returned the item.",
			Buckets: buckets,
		}),
		workDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "work_duration_seconds", ConstLabels: labels,
			Help:    "Time from Get to Done: how long processing an item took.",
			Buckets: buckets,
		}),
		reg: reg,
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Name: "depth", ConstLabels: labels,
		Help: "Items queued and not yet taken by a worker.",
	}, func() float64 { return float64(q.Len()) })
	longest := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Name: "longest_running_processor_seconds", ConstLabels: labels,
		Help: "How long the item processing for the longest time has been processing; a stuck worker shows here.",
	}, func() float64 { l, _ := q.inFlight(); return l.Seconds() })
	unfinished := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Name: "unfinished_work_seconds", ConstLabels: labels,
		Help: "Sum of how long every item now processing has been processing.",
	}, func() float64 { _, t := q.inFlight(); return t.Seconds() })

	for _, c := range []prometheus.Collector{
		depth, m.adds, m.retries, m.queueDuration, m.workDuration, longest, unfinished,
	} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				err = fmt.Errorf("%w (is another queue named %q registered?)", err, name)
			}
			m.unregister()
			return nil, fmt.Errorf("workqueue: register metrics of queue %q: %w", name, err)
		}
		m.registered = append(m.registered, c)
	}
	return m, nil
}

// unregister removes what newMetrics registered.
func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}
