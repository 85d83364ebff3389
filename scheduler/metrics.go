package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/scheduler/internal/queue"
)

// The results of a scheduling attempt, as the attempts metric counts them.
const (
	resultScheduled     = "scheduled"
	resultUnschedulable = "unschedulable"
	resultError         = "error"
)

type metrics struct {
	attempts  *prometheus.CounterVec   // result, profile
	e2e       *prometheus.HistogramVec // result, profile
	algorithm prometheus.Histogram
	binding   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, q *queue.PriorityQueue, profiles map[string]*Framework) (*metrics, error) {
	buckets := prometheus.ExponentialBuckets(0.0001, 2, 18) // 100µs .. 13s
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "drover", Subsystem: "scheduler", Name: "schedule_attempts_total",
			Help: "Scheduling attempts by result (scheduled, unschedulable, error) and profile.",
		}, []string{"result", "profile"}),
		e2e: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "drover", Subsystem: "scheduler", Name: "scheduling_attempt_duration_seconds",
			Help: "Duration of a scheduling attempt, from pop to assumed (or failed), by result and profile.", Buckets: buckets,
		}, []string{"result", "profile"}),
		algorithm: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "drover", Subsystem: "scheduler", Name: "scheduling_algorithm_duration_seconds",
			Help: "Duration of the filter and score part of a cycle.", Buckets: buckets,
		}),
		binding: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "drover", Subsystem: "scheduler", Name: "binding_duration_seconds",
			Help: "Duration of the binding cycle (permit wait, prebind, bind).", Buckets: buckets,
		}),
	}
	if reg == nil {
		return m, nil
	}
	pending := func(which string, f func(queue.Counts) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "drover", Subsystem: "scheduler", Name: "pending_pods",
			Help:        "Pods in the scheduling queue, by sub-queue (active, backoff, unschedulable).",
			ConstLabels: prometheus.Labels{"queue": which},
		}, func() float64 { return float64(f(q.Len())) })
	}
	for _, c := range []prometheus.Collector{
		m.attempts, m.e2e, m.algorithm, m.binding,
		pending("active", func(c queue.Counts) int { return c.Active }),
		pending("backoff", func(c queue.Counts) int { return c.Backoff }),
		pending("unschedulable", func(c queue.Counts) int { return c.Unschedulable }),
		fanOutCollector{profiles},
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// fanOutCollector exports each profile's fanOut decisions (see fanout.go):
// which mode Filter and Score run in, and what each mode has measured.
type fanOutCollector struct {
	profiles map[string]*Framework
}

var (
	phaseSpreadDesc = prometheus.NewDesc("drover_scheduler_phase_spread",
		"1 while a phase of the cycle (filter, score) runs spread over the parallelism's goroutines, 0 while it runs on the cycle's goroutine, whichever measured faster; by profile.",
		[]string{"profile", "phase"}, nil)
	phaseNodeSecondsDesc = prometheus.NewDesc("drover_scheduler_phase_node_seconds",
		"Average time per node of a phase of the cycle (filter, score) in each mode (serial, spread), as last measured; by profile.",
		[]string{"profile", "phase", "mode"}, nil)
)

func (c fanOutCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- phaseSpreadDesc
	ch <- phaseNodeSecondsDesc
}

func (c fanOutCollector) Collect(ch chan<- prometheus.Metric) {
	for name, fw := range c.profiles {
		for _, ph := range []struct {
			name string
			fo   *fanOut
		}{{"filter", &fw.filterFan}, {"score", &fw.scoreFan}} {
			use, cost := ph.fo.state()
			v := 0.0
			if use == spread {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(phaseSpreadDesc, prometheus.GaugeValue, v, name, ph.name)
			for m, d := range cost {
				if d > 0 {
					ch <- prometheus.MustNewConstMetric(phaseNodeSecondsDesc, prometheus.GaugeValue, d.Seconds(), name, ph.name, mode(m).String())
				}
			}
		}
	}
}
