package workqueue_test

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
)

// gather returns the value of each of reg's metrics labelled name=queue:
// the value of a counter or gauge, the sample count and sum of a histogram
// (as "<metric>_count" and "<metric>_sum").
func gather(t *testing.T, reg *prometheus.Registry, queue string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if !hasLabel(m, "name", queue) {
				continue
			}
			switch {
			case m.Counter != nil:
				out[f.GetName()] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[f.GetName()] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[f.GetName()+"_count"] = float64(m.Histogram.GetSampleCount())
				out[f.GetName()+"_sum"] = m.Histogram.GetSampleSum()
			}
		}
	}
	return out
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	clk := fakeclock.New(epoch)
	q, err := workqueue.New(workqueue.Config[string]{Name: "pods", Registerer: reg, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	q.Add("a")
	q.Add("a") // de-duplicated: not counted
	q.Add("b")
	clk.Advance(2 * time.Second)
	a := mustGet(t, q) // waited 2s
	clk.Advance(3 * time.Second)
	b := mustGet(t, q) // waited 5s
	clk.Advance(4 * time.Second)

	m := gather(t, reg, "pods")
	want := map[string]float64{
		"drover_workqueue_depth":                             0,
		"drover_workqueue_adds_total":                        2,
		"drover_workqueue_queue_duration_seconds_count":      2,
		"drover_workqueue_queue_duration_seconds_sum":        7,
		"drover_workqueue_work_duration_seconds_count":       0,
		"drover_workqueue_longest_running_processor_seconds": 7, // a, got 7s ago
		"drover_workqueue_unfinished_work_seconds":           11,
		"drover_workqueue_retries_total":                     0,
	}
	for name, v := range want {
		if m[name] != v {
			t.Errorf("%s = %v, want %v", name, m[name], v)
		}
	}

	q.AddRateLimited(a)
	q.Done(a)
	q.Done(b)
	q.Add("c")
	m = gather(t, reg, "pods")
	want = map[string]float64{
		"drover_workqueue_depth":                             1,
		"drover_workqueue_adds_total":                        3,
		"drover_workqueue_retries_total":                     1,
		"drover_workqueue_work_duration_seconds_count":       2,
		"drover_workqueue_work_duration_seconds_sum":         11,
		"drover_workqueue_longest_running_processor_seconds": 0,
		"drover_workqueue_unfinished_work_seconds":           0,
	}
	for name, v := range want {
		if m[name] != v {
			t.Errorf("%s = %v, want %v", name, m[name], v)
		}
	}

	// ShutDown unregisters, so the name can be used again.
	q.ShutDown()
	if m := gather(t, reg, "pods"); len(m) != 0 {
		t.Errorf("metrics left after ShutDown: %v", m)
	}
	q2, err := workqueue.New(workqueue.Config[string]{Name: "pods", Registerer: reg, Clock: clk})
	if err != nil {
		t.Fatalf("New with the name of a shut down queue: %v", err)
	}
	q2.ShutDown()
}

func TestMetricsOfTwoQueues(t *testing.T) {
	reg := prometheus.NewRegistry()
	pods, err := workqueue.New(workqueue.Config[string]{Name: "pods", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := workqueue.New(workqueue.Config[string]{Name: "nodes", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	pods.Add("a")
	nodes.Add("n1")
	nodes.Add("n2")
	if d := gather(t, reg, "pods")["drover_workqueue_depth"]; d != 1 {
		t.Errorf("pods depth = %v, want 1", d)
	}
	if d := gather(t, reg, "nodes")["drover_workqueue_depth"]; d != 2 {
		t.Errorf("nodes depth = %v, want 2", d)
	}

	_, err = workqueue.New(workqueue.Config[string]{Name: "pods", Registerer: reg})
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Fatalf("second queue named pods: %v, want an AlreadyRegisteredError", err)
	}
	// The failed New left the first queue's metrics in place.
	if d := gather(t, reg, "pods")["drover_workqueue_depth"]; d != 1 {
		t.Errorf("pods depth after the failed New = %v, want 1", d)
	}
}

func TestConfigValidate(t *testing.T) {
	_, err := workqueue.New(workqueue.Config[string]{Registerer: prometheus.NewRegistry()})
	if err == nil {
		t.Fatal("New with a Registerer and no Name succeeded")
	}
}
