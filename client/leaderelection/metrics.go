package leaderelection

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one Elector's metrics. A nil *metrics records nothing.
type metrics struct {
	isLeader                 prometheus.Gauge
	acquired, lost, released prometheus.Counter
}

// newMetrics registers the metrics in reg, or reuses those registered by
// another Elector, and returns the series of the lease named name.
func newMetrics(reg prometheus.Registerer, name string) (*metrics, error) {
	gauge, err := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "drover_leader_election_is_leader",
		Help: "1 while this candidate leads, by lease (namespace/name), else 0.",
	}, []string{"name"}))
	if err != nil {
		return nil, err
	}
	counter, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "drover_leader_election_transitions_total",
		Help: "Changes of this candidate's leadership, by lease (namespace/name) and event: acquired, lost (renewal failed or taken over) or released.",
	}, []string{"name", "event"}))
	if err != nil {
		return nil, err
	}
	m := &metrics{
		isLeader: gauge.WithLabelValues(name),
		acquired: counter.WithLabelValues(name, "acquired"),
		lost:     counter.WithLabelValues(name, "lost"),
		released: counter.WithLabelValues(name, "released"),
	}
	m.isLeader.Set(0)
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
	return c, fmt.Errorf("leaderelection: register metrics: %w", err)
}

func (m *metrics) leading(on bool) {
	if m == nil {
		return
	}
	if on {
		m.isLeader.Set(1)
	} else {
		m.isLeader.Set(0)
	}
}

// event counts one change of leadership: "acquired", "lost" or "released".
func (m *metrics) event(e string) {
	if m == nil {
		return
	}
	switch e {
	case "acquired":
		m.acquired.Inc()
	case "lost":
		m.lost.Inc()
	case "released":
		m.released.Inc()
	}
}
