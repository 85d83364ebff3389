package controllertest_test

import (
	"context"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
)

// BenchmarkStart measures the time to a usable Env: the store, the API
// server with every built-in kind, the namespaces "default" and
// "kube-system", the client, and a first ConfigMap created through it.
// The target is under 100 ms (controller-runtime's envtest, which starts
// etcd and kube-apiserver processes, takes 5–10 s). Close is not timed.
func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		env, err := controllertest.Start(ctx, controllertest.Config{})
		if err != nil {
			b.Fatal(err)
		}
		cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "first"}}
		if err := env.Client.Create(ctx, cm); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := env.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/op")
}

// BenchmarkStartWithHTTP is BenchmarkStart with the loopback HTTP server
// and a kubeconfig written.
func BenchmarkStartWithHTTP(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		env, err := controllertest.Start(ctx, controllertest.Config{HTTP: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := env.Kubeconfig(); err != nil {
			b.Fatal(err)
		}
		cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "first"}}
		if err := env.Client.Create(ctx, cm); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := env.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/op")
}
