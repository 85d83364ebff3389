package volume

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a Manager's Prometheus metrics.
type metrics struct {
	setups *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		setups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "drover_kubelet", Subsystem: "volume", Name: "setups_total",
			Help: "Volume set-ups (first ones and refreshes) by plugin (empty-dir, host-path, configmap, secret, projected, downward-api) and result (success, error).",
		}, []string{"plugin", "result"}),
	}
	if reg != nil {
		if err := reg.Register(m.setups); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				err = fmt.Errorf("%w (does another volume Manager use this Registerer?)", err)
			}
			return nil, fmt.Errorf("volume: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) setUp(plugin string, err error) {
	result := "success"
	if err != nil {
		result = "error"
	}
	m.setups.WithLabelValues(plugin, result).Inc()
}
