package podtopologyspread

import (
	"context"
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
)

// BenchmarkTopologySpread: 5,000 nodes in 10 zones, 10,000 pods in 1,000
// groups of 10 (one group per label value). Each op is one pod of a
// group with a zone and a hostname constraint (maxSkew 1,
// DoNotSchedule): PreFilter, then Filter on every node.
func BenchmarkTopologySpread(b *testing.B) {
	const nodes, pods, groups = 5000, 10000, 1000
	c := cache.New(cache.Config{})
	for i := range nodes {
		c.AddNode(node(fmt.Sprintf("node-%04d", i), fmt.Sprintf("zone-%d", i%10)))
	}
	for i := range pods {
		p := pod(fmt.Sprintf("pod-%d", i), map[string]string{"app": fmt.Sprintf("g%d", i/(pods/groups))})
		p.Spec.NodeName = fmt.Sprintf("node-%04d", i%nodes)
		if err := c.AddPod(p); err != nil {
			b.Fatal(err)
		}
	}
	s := cache.NewSnapshot()
	if err := c.UpdateSnapshot(s); err != nil {
		b.Fatal(err)
	}
	incoming := make([]*api.Pod, 100)
	for i := range incoming {
		g := map[string]string{"app": fmt.Sprintf("g%d", i*7%groups)}
		sel := func(c *api.TopologySpreadConstraint) { c.LabelSelector = &api.LabelSelector{MatchLabels: g} }
		incoming[i] = pod(fmt.Sprintf("new-%d", i), g,
			spread(zone, 1, api.DoNotSchedule, sel), spread(host, 1, api.DoNotSchedule, sel))
	}
	p, _ := New(Args{}, nil)
	ctx := context.Background()
	list := s.List()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in := incoming[i%len(incoming)]
		state := framework.NewCycleState()
		if _, st := p.PreFilter(ctx, state, in, list); !st.IsSuccess() {
			b.Fatal(st.Err())
		}
		fit := 0
		for _, n := range list {
			if p.Filter(ctx, state, in, n).IsSuccess() {
				fit++
			}
		}
		if fit == 0 {
			b.Fatal("no node fits")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}
