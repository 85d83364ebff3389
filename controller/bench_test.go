package controller_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/controller"
)

// BenchmarkNoopReconcile measures the runtime's own cost: b.N distinct
// keys through a Controller's queue and workers (with metrics on) to a
// Reconciler that does nothing. The target is 10,000 keys/s.
func BenchmarkNoopReconcile(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprint("workers=", workers), func(b *testing.B) {
			reqs := make([]controller.Request, b.N)
			for i := range reqs {
				reqs[i] = controller.Request{Namespace: "default", Name: fmt.Sprint("obj-", i)}
			}
			var n atomic.Int64
			done := make(chan struct{})
			r := controller.Func(func(context.Context, controller.Request) (controller.Result, error) {
				if n.Add(1) == int64(b.N) {
					close(done)
				}
				return controller.Result{}, nil
			})
			c, err := controller.New("bench", r, controller.Options{
				MaxConcurrentReconciles: workers, Registerer: prometheus.NewRegistry(),
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan error)
			go func() { stopped <- c.Start(ctx) }()
			for !c.Enqueue(reqs[0]) { // wait for Start
				runtime.Gosched()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for _, req := range reqs[1:] {
				c.Enqueue(req)
			}
			<-done
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
			cancel()
			if err := <-stopped; err != nil {
				b.Fatal(err)
			}
		})
	}
}
