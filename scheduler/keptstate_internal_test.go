package scheduler

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
)

// TestKeptStateMatchesFresh changes a cache at random, cycle after cycle
// (pods added, relabelled, terminating, removed, assumed and forgotten;
// nodes relabelled, removed with and without pods, added back), and checks
// that the default profile, whose PodTopologySpread and InterPodAffinity
// keep counts across cycles, filters and scores every node as a profile
// made afresh for that cycle does.
func TestKeptStateMatchesFresh(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { testKeptStateMatchesFresh(t, seed, 3, 3, 300) })
	}
	// Many workloads: kept counts are evicted, and fall behind the log of
	// node changes.
	t.Run("many apps", func(t *testing.T) { testKeptStateMatchesFresh(t, 99, 400, 12, 1800) })
}

// testKeptStateMatchesFresh runs cycles cycles, each after 1 to ops
// random changes, with pods of napps apps.
func testKeptStateMatchesFresh(t *testing.T, seed uint64, napps, ops, cycles int) {
	r := rand.New(rand.NewPCG(seed, 7))
	ctx := context.Background()
	c := cache.New(cache.Config{})
	snap := cache.NewSnapshot()
	kept := mustFramework(t)
	zones := []string{"za", "zb", "zc"}
	apps := []string{"web", "api", "db"}
	for i := 3; i < napps; i++ {
		apps = append(apps, fmt.Sprintf("app%d", i))
	}
	namespaces := []string{"default", "other"}

	mkNode := func(name string) *api.Node {
		n := node(name, "100")
		n.Labels = map[string]string{hostLabel: name}
		if z := r.IntN(len(zones) + 1); z < len(zones) {
			n.Labels[zoneLabel] = zones[z]
		}
		return n
	}
	nodeNames := map[string]*api.Node{}
	for i := range 6 {
		n := mkNode(fmt.Sprintf("n%d", i))
		nodeNames[n.Name] = n
		c.AddNode(n)
	}
	placed := map[api.UID]*api.Pod{} // added (confirmed) pods
	var assumed []*api.Pod
	seq := 0
	mkPod := func() *api.Pod {
		seq++
		p := testPod(fmt.Sprintf("p%d", seq))
		p.Namespace = namespaces[r.IntN(2)]
		p.Labels = map[string]string{"app": apps[r.IntN(len(apps))]}
		if r.IntN(3) == 0 {
			p.Spec.Affinity = &api.Affinity{PodAntiAffinity: &api.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{randomTerm(r, apps)},
			}}
		}
		return p
	}
	pickNode := func() string {
		names := slices.Sorted(maps.Keys(nodeNames))
		return names[r.IntN(len(names))]
	}
	pickPlaced := func() *api.Pod {
		if len(placed) == 0 {
			return nil
		}
		uids := slices.Sorted(maps.Keys(placed))
		return placed[uids[r.IntN(len(uids))]]
	}

	for cycle := range cycles {
		for range 1 + r.IntN(ops) {
			op := r.IntN(20)
			if op < 6 && len(placed) > 60 {
				op = 6 // keep the cluster small: remove one instead
			}
			switch {
			case op < 6: // a pod bound
				p := mkPod()
				p.Spec.NodeName = pickNode()
				if err := c.AddPod(p); err != nil {
					t.Fatal(err)
				}
				placed[p.UID] = p
			case op < 8: // a pod removed
				if p := pickPlaced(); p != nil {
					if err := c.RemovePod(p); err != nil {
						t.Fatal(err)
					}
					delete(placed, p.UID)
				}
			case op < 10: // a pod relabelled or terminating
				if p := pickPlaced(); p != nil {
					np := api.DeepCopy(p)
					if r.IntN(2) == 0 {
						np.Labels = map[string]string{"app": apps[r.IntN(len(apps))]}
					} else {
						ts := api.NewTime(time.Unix(1, 0))
						np.DeletionTimestamp = &ts
					}
					if err := c.UpdatePod(p, np); err != nil {
						t.Fatal(err)
					}
					placed[p.UID] = np
				}
			case op < 12: // a pod assumed, its binding to fail later
				p := mkPod()
				p.Spec.NodeName = pickNode()
				if err := c.AssumePod(p); err != nil {
					t.Fatal(err)
				}
				assumed = append(assumed, p)
			case op < 14: // a failed binding forgotten
				if len(assumed) > 0 {
					i := r.IntN(len(assumed))
					if err := c.ForgetPod(assumed[i]); err != nil {
						t.Fatal(err)
					}
					assumed = slices.Delete(assumed, i, i+1)
				}
			case op < 16: // a node relabelled
				name := pickNode()
				old := nodeNames[name]
				n := mkNode(name)
				c.UpdateNode(old, n)
				nodeNames[name] = n
			case op < 18: // a node removed (its pods stay), or one added
				if len(nodeNames) > 3 && r.IntN(2) == 0 {
					name := pickNode()
					c.RemoveNode(nodeNames[name])
					delete(nodeNames, name)
				} else if len(nodeNames) < 10 {
					name := fmt.Sprintf("n%d", r.IntN(12))
					if _, ok := nodeNames[name]; !ok {
						n := mkNode(name)
						c.AddNode(n)
						nodeNames[name] = n
					}
				}
			default: // a pod of a removed node goes
				for _, uid := range slices.Sorted(maps.Keys(placed)) {
					if p := placed[uid]; nodeNames[p.Spec.NodeName] == nil {
						if err := c.RemovePod(p); err != nil {
							t.Fatal(err)
						}
						delete(placed, uid)
						break
					}
				}
			}
		}
		if err := c.UpdateSnapshot(snap); err != nil {
			t.Fatal(err)
		}
		in := incomingPod(r, apps, namespaces[r.IntN(2)])
		got := kept.Schedule(ctx, framework.NewCycleState(), in, snap)
		want := mustFramework(t).Schedule(ctx, framework.NewCycleState(), in, snap)
		if g, w := verdictsOf(got), verdictsOf(want); !maps.Equal(g, w) {
			t.Fatalf("cycle %d: pod %s: verdicts with kept state\n%v\nfresh\n%v", cycle, describePod(in), g, w)
		}
		if g, w := scoresOf(got), scoresOf(want); !maps.Equal(g, w) {
			t.Fatalf("cycle %d: pod %s: scores with kept state\n%v\nfresh\n%v", cycle, describePod(in), g, w)
		}
	}
}

func mustFramework(t *testing.T) *Framework {
	t.Helper()
	fw, err := NewFramework(Profile{SchedulerName: DefaultSchedulerName}, FrameworkOptions{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	return fw
}

// randomTerm returns a pod affinity term selecting an app, by zone or by
// hostname, sometimes in every namespace.
func randomTerm(r *rand.Rand, apps []string) api.PodAffinityTerm {
	t := api.PodAffinityTerm{
		TopologyKey:   []string{zoneLabel, hostLabel}[r.IntN(2)],
		LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{"app": apps[r.IntN(len(apps))]}},
	}
	if r.IntN(3) == 0 {
		// No exact label: every pod is looked at.
		t.LabelSelector = &api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{
			{Key: "app", Operator: api.LabelSelectorOpNotIn, Values: []string{apps[r.IntN(len(apps))]}},
		}}
	}
	if r.IntN(4) == 0 {
		t.NamespaceSelector = &api.LabelSelector{}
	}
	return t
}

// incomingPod returns a pod with random topology spread constraints and
// pod (anti-)affinity terms.
func incomingPod(r *rand.Rand, apps []string, namespace string) *api.Pod {
	p := testPod("incoming")
	p.Namespace = namespace
	app := apps[r.IntN(len(apps))]
	p.Labels = map[string]string{"app": app}
	sel := &api.LabelSelector{MatchLabels: map[string]string{"app": app}}
	for _, key := range []string{zoneLabel, hostLabel} {
		for _, action := range []api.UnsatisfiableConstraintAction{api.DoNotSchedule, api.ScheduleAnyway} {
			if r.IntN(3) == 0 {
				p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, api.TopologySpreadConstraint{
					MaxSkew: int32(1 + r.IntN(2)), TopologyKey: key, WhenUnsatisfiable: action, LabelSelector: sel,
				})
			}
		}
	}
	a := &api.Affinity{}
	if r.IntN(2) == 0 {
		a.PodAntiAffinity = &api.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{randomTerm(r, apps)}}
	}
	if r.IntN(4) == 0 {
		a.PodAffinity = &api.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []api.WeightedPodAffinityTerm{
			{Weight: 10, PodAffinityTerm: randomTerm(r, apps)},
		}}
	}
	if a.PodAntiAffinity != nil || a.PodAffinity != nil {
		p.Spec.Affinity = a
	}
	return p
}

func describePod(p *api.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s labels %v", p.Namespace, p.Name, p.Labels)
	for _, c := range p.Spec.TopologySpreadConstraints {
		fmt.Fprintf(&b, "; spread %s maxSkew %d %s %+v", c.TopologyKey, c.MaxSkew, c.WhenUnsatisfiable, *c.LabelSelector)
	}
	if a := p.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		for _, t := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			fmt.Fprintf(&b, "; anti %s %+v namespaces %+v", t.TopologyKey, *t.LabelSelector, t.NamespaceSelector)
		}
	}
	if a := p.Spec.Affinity; a != nil && a.PodAffinity != nil {
		for _, t := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			fmt.Fprintf(&b, "; preferred %s %+v namespaces %+v", t.PodAffinityTerm.TopologyKey, *t.PodAffinityTerm.LabelSelector, t.PodAffinityTerm.NamespaceSelector)
		}
	}
	return b.String()
}

// verdictsOf returns each node's Filter verdict ("" passed), or the
// cycle's error.
func verdictsOf(res *Result) map[string]string {
	out := map[string]string{}
	if res.Status != nil && res.Status.Code() == framework.Error {
		out["error"] = res.Status.Message()
	}
	for _, v := range res.Verdicts {
		out[v.Node] = ""
		if v.Status != nil {
			out[v.Node] = fmt.Sprintf("%s %s %v", v.Status.Code(), v.Status.Plugin(), v.Status.Reasons())
		}
	}
	return out
}

// scoresOf returns each scored node's parts.
func scoresOf(res *Result) map[string]string {
	out := map[string]string{}
	for _, s := range res.Scores {
		out[s.Node] = fmt.Sprintf("%d %v", s.Total, s.Plugins)
	}
	return out
}
