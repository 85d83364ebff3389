package replicaset

import (
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// BenchmarkScaleFromZero measures a 1,000-replica ReplicaSet going from no
// pods to status.replicas 1000 under a running Manager on an in-process
// API server: the time, and the API requests the controller's client made
// for it (the creates, the status writes and the informers' lists and
// watches).
func BenchmarkScaleFromZero(b *testing.B) {
	const n = 1000
	var requests, creates, puts int64
	for b.Loop() {
		b.StopTimer()
		clk := fakeclock.New(epoch)
		env := controllertest.New(b, controllertest.WithClock(clk))
		c, ct := countingClient(b, env)
		m, err := env.NewManager(controller.ManagerConfig{Client: c})
		if err != nil {
			b.Fatal(err)
		}
		if err := Add(m, Options{Clock: clk}); err != nil {
			b.Fatal(err)
		}
		if err := env.StartManager(m); err != nil {
			b.Fatal(err)
		}
		ctx := controllertest.Context(b)
		b.StartTimer()

		if err := env.Client.Create(ctx, newRS("big", n)); err != nil {
			b.Fatal(err)
		}
		_, err = controllertest.WaitFor(ctx, env.Client, "default", "big", func(rs *api.ReplicaSet) bool {
			return rs.Status.Replicas == n
		})
		if err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		requests += ct.total.Load()
		creates += ct.podCreates.Load()
		puts += ct.puts.Load()
		if err := env.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(creates)/float64(b.N), "pod-creates/op")
	b.ReportMetric(float64(puts)/float64(b.N), "status-writes/op")
}
