package kubelet

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	workers           prometheus.Gauge
	runningContainers prometheus.Gauge
	runningPods       prometheus.Gauge
	syncDuration      prometheus.Histogram
	startLatency      prometheus.Histogram
	statusWrites      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		workers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "drover", Subsystem: "kubelet", Name: "pod_workers",
			Help: "Pods with a worker: the pods the node agent runs or cleans up.",
		}),
		runningContainers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "drover", Subsystem: "kubelet", Name: "running_containers",
			Help: "Running containers, as of the last relist.",
		}),
		runningPods: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "drover", Subsystem: "kubelet", Name: "running_pods",
			Help: "Pods with a running container, as of the last relist.",
		}),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "drover", Subsystem: "kubelet", Name: "pod_sync_duration_seconds",
			Help:    "Time to sync a pod.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}),
		startLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "drover", Subsystem: "kubelet", Name: "pod_start_duration_seconds",
			Help:    "Time from a pod's creation to the node agent seeing it Running.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		statusWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "drover", Subsystem: "kubelet", Name: "pod_status_writes_total",
			Help: "Pod status updates written to the API server.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.workers, m.runningContainers, m.runningPods, m.syncDuration, m.startLatency, m.statusWrites} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue
			}
			return nil, fmt.Errorf("kubelet: register metrics: %w", err)
		}
	}
	return m, nil
}
