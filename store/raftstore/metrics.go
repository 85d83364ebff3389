package raftstore

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the store's Prometheus metrics, labelled with the member's
// ID. They are always collected; they are exported only if
// Config.Registerer is set.
type metrics struct {
	commitLatency    prometheus.Histogram
	leaderChanges    prometheus.Counter
	snapshotDuration prometheus.Histogram
	forwarded        *prometheus.CounterVec
	readIndexLatency prometheus.Histogram
	batchSize        prometheus.Histogram

	// Set by Open once the FSM and Raft exist.
	appliedIndex prometheus.GaugeFunc
	isLeader     prometheus.GaugeFunc

	reg        prometheus.Registerer
	registered []prometheus.Collector
}

const metricsNamespace = "drover_raftstore"

func newMetrics(nodeID string) *metrics {
	labels := prometheus.Labels{"member": nodeID}
	latency := []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5}
	return &metrics{
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "commit_latency_seconds", ConstLabels: labels,
			Help:    "Time from a write reaching the leader's batcher to its result: Raft commit and apply.",
			Buckets: latency,
		}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "leader_changes_total", ConstLabels: labels,
			Help: "Leader changes this member has seen, including losing the leader.",
		}),
		snapshotDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "snapshot_duration_seconds", ConstLabels: labels,
			Help:    "Time to write a Raft snapshot of the store.",
			Buckets: []float64{.001, .01, .1, .5, 1, 2, 5, 10, 30, 60},
		}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "forwarded_requests_total", ConstLabels: labels,
			Help: "Requests this member forwarded to the leader, by kind (write, read_index, join, remove, info).",
		}, []string{"kind"}),
		readIndexLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "read_index_latency_seconds", ConstLabels: labels,
			Help:    "Time a linearizable read spends confirming leadership and waiting for the local state to catch up.",
			Buckets: latency,
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "batch_size", ConstLabels: labels,
			Help:    "Writes per Raft entry proposed by the leader (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
	}
}

// setGauges adds the gauges that read live state.
func (m *metrics) setGauges(nodeID string, applied func() float64, isLeader func() float64) {
	labels := prometheus.Labels{"member": nodeID}
	m.appliedIndex = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Name: "applied_index", ConstLabels: labels,
		Help: "Index of the last Raft log entry applied to this member's state.",
	}, applied)
	m.isLeader = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Name: "is_leader", ConstLabels: labels,
		Help: "1 if this member is the Raft leader, else 0.",
	}, isLeader)
}

// register registers every metric on reg; nil does nothing.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	m.reg = reg
	for _, c := range []prometheus.Collector{
		m.commitLatency, m.leaderChanges, m.snapshotDuration, m.forwarded,
		m.readIndexLatency, m.batchSize, m.appliedIndex, m.isLeader,
	} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				err = fmt.Errorf("%w (is another Store with this NodeID registered?)", err)
			}
			m.unregister()
			return fmt.Errorf("raftstore: register metrics: %w", err)
		}
		m.registered = append(m.registered, c)
	}
	return nil
}

// unregister removes what register added.
func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}
