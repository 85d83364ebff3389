package builtin_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/builtin"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler"
)

// BenchmarkDeploymentRollout creates a Deployment of 100 replicas on 10
// simulated nodes and rolls it to a new image, on the system clock, with
// the scheduler and every built-in controller: the time of both, and the
// API requests they took (requests/op). bench/cmd/rolloutbench runs the
// 1,000-replica version of the issue.
func BenchmarkDeploymentRollout(b *testing.B) {
	reg := prometheus.NewRegistry()
	env := controllertest.New(b, controllertest.WithLogger(slog.New(slog.DiscardHandler)),
		controllertest.WithServerConfig(func(c *apiserver.Config) { c.Registerer = reg }))
	ctx := context.Background()
	if _, err := env.StartNodes(ctx, controllertest.NodesConfig{Count: 10}); err != nil {
		b.Fatal(err)
	}
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	if err := builtin.Add(mgr, builtin.Config{}); err != nil {
		b.Fatal(err)
	}
	sched, err := scheduler.New(scheduler.Config{Client: env.Client, Informers: mgr.Informers()})
	if err != nil {
		b.Fatal(err)
	}
	if err := mgr.Add(sched); err != nil {
		b.Fatal(err)
	}
	if err := env.StartManager(mgr); err != nil {
		b.Fatal(err)
	}
	done := func(name string) {
		_, err := controllertest.WaitFor(ctx, env.Client, "default", name, func(d *api.Deployment) bool {
			s, want := d.Status, *d.Spec.Replicas
			return s.ObservedGeneration == d.Generation && s.Replicas == want && s.UpdatedReplicas == want &&
				s.AvailableReplicas == want && s.UnavailableReplicas == 0
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	requests := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		var n float64
		for _, mf := range mfs {
			if mf.GetName() == "drover_apiserver_requests_total" {
				for _, m := range mf.GetMetric() {
					n += m.GetCounter().GetValue()
				}
			}
		}
		return n
	}
	var total float64
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("web-%d", i)
		i++
		before := requests()
		if err := env.Client.Create(ctx, newDeployment("default", name, 100, "nginx:1")); err != nil {
			b.Fatal(err)
		}
		done(name)
		err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
			var d api.Deployment
			if err := env.Client.Get(ctx, "default", name, &d); err != nil {
				return err
			}
			d.Spec.Template.Spec.Containers[0].Image = "nginx:2"
			return env.Client.Update(ctx, &d)
		})
		if err != nil {
			b.Fatal(err)
		}
		done(name)
		total += requests() - before

		b.StopTimer()
		if err := env.Client.Delete(ctx, &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name}}); err != nil {
			b.Fatal(err)
		}
		controllertest.Eventually(b, func() bool {
			var pods api.PodList
			return env.Client.List(ctx, &pods, client.ListOptions{Namespace: "default"}) == nil && len(pods.Items) == 0
		})
		b.StartTimer()
	}
	b.ReportMetric(total/float64(i), "requests/op")
}
