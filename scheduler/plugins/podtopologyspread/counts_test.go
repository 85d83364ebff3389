package podtopologyspread

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// TestKeptCountsFollowSnapshot changes a random node (pods added and
// removed, labels changed), adds and removes nodes, cycle after cycle, and
// checks that a plugin that kept its counts across the cycles filters and
// scores as one made afresh for each.
func TestKeptCountsFollowSnapshot(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	snap := cluster(nil)
	h := &versionedHandle{snap: &versionedSnapshot{snapshot: snap}}
	kept, _ := New(Args{}, h)
	apps := []string{"web", "api", "db"}
	ctx := context.Background()
	for cycle := range 400 {
		for range 1 + r.IntN(3) {
			i := r.IntN(len(snap))
			n := snap[i].Clone()
			switch op := r.IntN(10); {
			case op < 6:
				var opts []podOpt
				if r.IntN(5) == 0 {
					opts = append(opts, func(p *api.Pod) { p.Namespace = "other" })
				}
				n.AddPod(framework.NewPodInfo(pod(fmt.Sprintf("p%d-%d", cycle, r.IntN(1000)), map[string]string{"app": apps[r.IntN(3)]}, opts...)))
			case op < 9 && len(n.Pods) > 0:
				n.RemovePod(n.Pods[r.IntN(len(n.Pods))].Pod)
			default:
				n.SetNode(node(n.Name(), []string{"a", "b", "c", ""}[r.IntN(4)]))
			}
			snap[i] = n
		}
		if r.IntN(20) == 0 {
			snap = append(snap, framework.NewNodeInfo(node(fmt.Sprintf("x%d", cycle), "c")))
		}
		if r.IntN(20) == 0 && len(snap) > 3 {
			snap = snap[1:]
		}
		h.snap.snapshot = snap
		h.snap.version++
		app := apps[r.IntN(3)]
		sel := func(c *api.TopologySpreadConstraint) {
			c.LabelSelector = &api.LabelSelector{MatchLabels: map[string]string{"app": app}}
		}
		in := pod("in", map[string]string{"app": app},
			spread(zone, 1, api.DoNotSchedule, sel), spread(host, 2, api.DoNotSchedule, sel),
			spread(zone, 1, api.ScheduleAnyway, sel), spread(host, 1, api.ScheduleAnyway, sel))
		// ref has required node affinity that every node matches: it is
		// counted from scratch, without kept counts.
		ref := in.DeepCopy()
		ref.Spec.Affinity = &api.Affinity{NodeAffinity: &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{
			NodeSelectorTerms: []api.NodeSelectorTerm{{MatchExpressions: []api.NodeSelectorRequirement{{Key: host, Operator: api.NodeSelectorOpExists}}}},
		}}}
		fresh, _ := New(Args{}, &handle{snap: snap})
		type out struct {
			filter map[string]string
			scores map[string]int64
		}
		var got, want, scratch out
		for _, c := range []struct {
			p   *Plugin
			in  *api.Pod
			out *out
		}{{kept, in, &got}, {fresh, in, &want}, {fresh, ref, &scratch}} {
			in := c.in
			state := framework.NewCycleState()
			if _, st := c.p.PreFilter(ctx, state, in, snap); !st.IsSuccess() {
				t.Fatal(st.Err())
			}
			c.out.filter = filterNodes(c.p, state, snap, in)
			if st := c.p.PreScore(ctx, state, in, snap); !st.IsSuccess() {
				t.Fatal(st.Err())
			}
			c.out.scores = map[string]int64{}
			for _, n := range snap {
				v, _ := c.p.Score(ctx, state, in, n)
				c.out.scores[n.Name()] = v
			}
		}
		if !maps.Equal(got.filter, want.filter) {
			t.Fatalf("cycle %d: Filter with kept counts %v, fresh %v", cycle, got.filter, want.filter)
		}
		if !maps.Equal(want.filter, scratch.filter) || !maps.Equal(want.scores, scratch.scores) {
			t.Fatalf("cycle %d: with kept counts %v %v, from scratch %v %v", cycle, want.filter, want.scores, scratch.filter, scratch.scores)
		}
		if !maps.Equal(got.scores, want.scores) {
			t.Fatalf("cycle %d: Score with kept counts %v, fresh %v", cycle, got.scores, want.scores)
		}
	}
}

// versionedSnapshot is a snapshot that tells its version, as the
// scheduler's do: the index then skips following it again in PreScore.
type versionedSnapshot struct {
	snapshot
	version uint64
}

func (s *versionedSnapshot) Version() uint64 { return s.version }

type versionedHandle struct {
	framework.Handle
	snap *versionedSnapshot
}

func (h *versionedHandle) Snapshot() framework.Snapshot { return h.snap }
