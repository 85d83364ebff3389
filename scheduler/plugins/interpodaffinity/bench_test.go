package interpodaffinity

import (
	"context"
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
)

// BenchmarkAntiAffinity: 5,000 nodes in 10 zones and 10,000 existing pods
// in 1,000 groups of 10 on 10 different nodes, each pod with required
// anti-affinity to its group by hostname, in the scheduler's cache. Each
// op is one pod of a group (with the same anti-affinity): PreFilter, then
// Filter on every node (10 reject it).
//
//   - static: the snapshot does not change between pods;
//   - placing: as the scheduler runs, PreScore (and Score, if PreScore
//     does not skip) on the feasible nodes too, then each pod is assumed
//     on a feasible node and the snapshot updated, and the pod placed
//     1,000 ops earlier forgotten, so that every cycle sees two changed
//     nodes.
func BenchmarkAntiAffinity(b *testing.B) {
	const nodes, pods, groups = 5000, 10000, 1000
	mk := func(name string, g int, nodeName string) *api.Pod {
		lbl := map[string]string{"app": fmt.Sprintf("g%d", g)}
		p := pod(name, lbl, requiredAnti(onTerm(host, sel("app", lbl["app"]))))
		p.Spec.NodeName = nodeName
		return p
	}
	setup := func(b *testing.B) (*cache.Cache, *cache.Snapshot) {
		c := cache.New(cache.Config{})
		for i := range nodes {
			c.AddNode(node(fmt.Sprintf("node-%04d", i), fmt.Sprintf("zone-%d", i%10)))
		}
		for i := range pods {
			if err := c.AddPod(mk(fmt.Sprintf("pod-%d", i), i/(pods/groups), fmt.Sprintf("node-%04d", i%nodes))); err != nil {
				b.Fatal(err)
			}
		}
		s := cache.NewSnapshot()
		if err := c.UpdateSnapshot(s); err != nil {
			b.Fatal(err)
		}
		return c, s
	}
	ctx := context.Background()
	cycle := func(b *testing.B, p *Plugin, s *cache.Snapshot, in *api.Pod, start int) (fit int, first string) {
		state := framework.NewCycleState()
		list := s.List()
		if _, st := p.PreFilter(ctx, state, in, list); !st.IsSuccess() {
			b.Fatal(st.Err())
		}
		for i := range list {
			n := list[(start+i)%len(list)]
			if p.Filter(ctx, state, in, n).IsSuccess() {
				if fit == 0 {
					first = n.Name()
				}
				fit++
			}
		}
		return fit, first
	}

	b.Run("static", func(b *testing.B) {
		_, s := setup(b)
		p, _ := New(Args{}, &handle{snap: s})
		incoming := make([]*api.Pod, 100)
		for i := range incoming {
			incoming[i] = mk(fmt.Sprintf("new-%d", i), i*7%groups, "")
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if fit, _ := cycle(b, p, s, incoming[i%len(incoming)], 0); fit != nodes-10 {
				b.Fatalf("%d nodes fit, want %d", fit, nodes-10)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
	})

	b.Run("placing", func(b *testing.B) {
		c, s := setup(b)
		p, _ := New(Args{}, &handle{snap: s})
		var placed []*api.Pod
		var feasible []*framework.NodeInfo
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := c.UpdateSnapshot(s); err != nil {
				b.Fatal(err)
			}
			in := mk(fmt.Sprintf("new-%d", i), i*7%groups, "")
			state := framework.NewCycleState()
			list := s.List()
			if _, st := p.PreFilter(ctx, state, in, list); !st.IsSuccess() {
				b.Fatal(st.Err())
			}
			feasible = feasible[:0]
			for j := range list {
				n := list[(i*37+j)%len(list)]
				if p.Filter(ctx, state, in, n).IsSuccess() {
					feasible = append(feasible, n)
				}
			}
			if len(feasible) == 0 {
				b.Fatal("no node fits")
			}
			if st := p.PreScore(ctx, state, in, feasible); st.IsSuccess() {
				for _, n := range feasible {
					p.Score(ctx, state, in, n)
				}
			}
			first := feasible[0].Name()
			assumed := in.DeepCopy()
			assumed.Spec.NodeName = first
			if err := c.AssumePod(assumed); err != nil {
				b.Fatal(err)
			}
			placed = append(placed, assumed)
			if len(placed) > 1000 {
				if err := c.ForgetPod(placed[0]); err != nil {
					b.Fatal(err)
				}
				placed = placed[1:]
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
	})
}
