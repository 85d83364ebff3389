package scheduler

import (
	"context"
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
)

// BenchmarkScheduleBasic is the cycle alone (Framework.Schedule, then the
// pod assumed in the cache) with the default profile on 5,000 nodes:
// what the scheduler-only pods/s of SchedulingBasic is made of.
func BenchmarkScheduleBasic(b *testing.B) {
	fw, err := NewFramework(Profile{SchedulerName: DefaultSchedulerName}, FrameworkOptions{})
	if err != nil {
		b.Fatal(err)
	}
	c := cache.New(cache.Config{})
	for i := range 5000 {
		c.AddNode(node(fmt.Sprintf("node-%04d", i), "32"))
	}
	snap := cache.NewSnapshot()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := podWithCPU(fmt.Sprintf("p%d", i), "100m")
		p.UID = api.UID(p.Name)
		p.Spec.Containers[0].Resources.Requests[api.ResourceMemory] = resource.MustParse("100Mi")
		if err := c.UpdateSnapshot(snap); err != nil {
			b.Fatal(err)
		}
		res := fw.Schedule(ctx, framework.NewCycleState(), p, snap)
		if res.Status != nil {
			b.Fatal(res.Status)
		}
		p.Spec.NodeName = res.Node
		if err := c.AssumePod(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}
