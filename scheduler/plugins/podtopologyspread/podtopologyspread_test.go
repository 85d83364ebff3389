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

// snapshot is a framework.Snapshot over a slice of NodeInfos.
type snapshot []*framework.NodeInfo

func (s snapshot) List() []*framework.NodeInfo { return s }
func (s snapshot) Get(name string) *framework.NodeInfo {
	for _, n := range s {
		if n.Name() == name {
			return n
		}
	}
	return nil
}
func (s snapshot) HavePodsWithAffinity() []*framework.NodeInfo             { return nil }
func (s snapshot) HavePodsWithRequiredAntiAffinity() []*framework.NodeInfo { return nil }

type handle struct {
	framework.Handle
	snap snapshot
}

func (h *handle) Snapshot() framework.Snapshot { return h.snap }

const (
	zone = "zone"
	host = "kubernetes.io/hostname"
)

func node(name, z string, extra ...string) *api.Node {
	n := &api.Node{}
	n.Name = name
	n.Labels = map[string]string{host: name}
	if z != "" {
		n.Labels[zone] = z
	}
	for i := 0; i < len(extra); i += 2 {
		n.Labels[extra[i]] = extra[i+1]
	}
	return n
}

type podOpt func(*api.Pod)

func pod(name string, lbls map[string]string, opts ...podOpt) *api.Pod {
	p := &api.Pod{}
	p.Name, p.Namespace, p.UID = name, "default", api.UID(name)
	p.Labels = lbls
	for _, o := range opts {
		o(p)
	}
	return p
}

var web = map[string]string{"app": "web"}

func spread(key string, maxSkew int32, action api.UnsatisfiableConstraintAction, opts ...func(*api.TopologySpreadConstraint)) podOpt {
	return func(p *api.Pod) {
		c := api.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: action,
			LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}
		for _, o := range opts {
			o(&c)
		}
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
	}
}

func minDomains(n int32) func(*api.TopologySpreadConstraint) {
	return func(c *api.TopologySpreadConstraint) { c.MinDomains = &n }
}

// webs returns n pods labeled app=web.
func webs(prefix string, n int, opts ...podOpt) []*api.Pod {
	var out []*api.Pod
	for i := range n {
		out = append(out, pod(fmt.Sprintf("%s-%d", prefix, i), web, opts...))
	}
	return out
}

// cluster: zone a holds n1 and n2, zone b n3, zone c n4; n5 has no zone.
func cluster(placed map[string][]*api.Pod, extraNodes ...*api.Node) snapshot {
	nodes := append([]*api.Node{node("n1", "a"), node("n2", "a"), node("n3", "b"), node("n4", "c"), node("n5", "")}, extraNodes...)
	var s snapshot
	for _, n := range nodes {
		s = append(s, framework.NewNodeInfo(n, placed[n.Name]...))
	}
	return s
}

func filterNodes(p *Plugin, state *framework.CycleState, snap snapshot, in *api.Pod) map[string]string {
	out := map[string]string{}
	for _, n := range snap {
		st := p.Filter(context.Background(), state, in, n)
		switch {
		case st.IsSuccess():
			out[n.Name()] = ""
		case st.Code() == framework.UnschedulableAndUnresolvable:
			out[n.Name()] = "U&U " + st.Message()
		default:
			out[n.Name()] = st.Message()
		}
	}
	return out
}

func TestFilter(t *testing.T) {
	const (
		skew    = ReasonConstraintsNotMatch
		missing = "U&U " + ReasonNodeLabelNotMatch
	)
	deleting := func(p *api.Pod) { p.DeletionTimestamp = &api.Time{} }
	otherNS := func(p *api.Pod) { p.Namespace = "other" }
	tests := []struct {
		name   string
		args   Args
		placed map[string][]*api.Pod
		extra  []*api.Node
		pod    *api.Pod
		want   map[string]string // nil: PreFilter skips
	}{
		{
			name: "no constraints: skip",
			pod:  pod("p", web),
		},
		{
			name: "ScheduleAnyway only: skip",
			pod:  pod("p", web, spread(zone, 1, api.ScheduleAnyway)),
		},
		{
			name:   "zone maxSkew 1: a has 2, b 1, c 0",
			placed: map[string][]*api.Pod{"n1": webs("a", 1), "n2": webs("a2", 1), "n3": webs("b", 1)},
			pod:    pod("p", web, spread(zone, 1, api.DoNotSchedule)),
			want:   map[string]string{"n1": skew, "n2": skew, "n3": skew, "n4": "", "n5": missing},
		},
		{
			name:   "zone maxSkew 2",
			placed: map[string][]*api.Pod{"n1": webs("a", 1), "n2": webs("a2", 1), "n3": webs("b", 1)},
			pod:    pod("p", web, spread(zone, 2, api.DoNotSchedule)),
			want:   map[string]string{"n1": skew, "n2": skew, "n3": "", "n4": "", "n5": missing},
		},
		{
			name:   "pod not matching its own selector does not add itself",
			placed: map[string][]*api.Pod{"n1": webs("a", 1), "n3": webs("b", 1)},
			pod:    pod("p", map[string]string{"app": "db"}, spread(zone, 1, api.DoNotSchedule)),
			want:   map[string]string{"n1": "", "n2": "", "n3": "", "n4": "", "n5": missing},
		},
		{
			name: "pods in other namespaces, being deleted or not matching are not counted",
			placed: map[string][]*api.Pod{
				"n1": append(webs("o", 3, otherNS), webs("d", 3, deleting)...),
				"n3": {pod("db", map[string]string{"app": "db"})},
			},
			pod:  pod("p", web, spread(zone, 1, api.DoNotSchedule)),
			want: map[string]string{"n1": "", "n2": "", "n3": "", "n4": "", "n5": missing},
		},
		{
			name: "selector without a required label (every pod looked at)",
			placed: map[string][]*api.Pod{
				"n1": {pod("a", map[string]string{"app": "api"})}, "n2": webs("a2", 1),
				"n3": {pod("b", map[string]string{"app": "api"})},
			},
			pod: pod("p", web, spread(zone, 1, api.DoNotSchedule, func(c *api.TopologySpreadConstraint) {
				c.LabelSelector = &api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{
					{Key: "app", Operator: api.LabelSelectorOpIn, Values: []string{"web", "api"}},
				}}
			})),
			want: map[string]string{"n1": skew, "n2": skew, "n3": skew, "n4": "", "n5": missing},
		},
		{
			name:   "hostname",
			placed: map[string][]*api.Pod{"n1": webs("a", 1), "n2": webs("b", 1), "n3": webs("c", 1), "n4": webs("d", 1)},
			pod:    pod("p", web, spread(host, 1, api.DoNotSchedule)),
			// n5 has no pods: min 0, so the others are at skew 2.
			want: map[string]string{"n1": skew, "n2": skew, "n3": skew, "n4": skew, "n5": ""},
		},
		{
			name:   "minDomains above the domains: lowest count taken as 0",
			placed: map[string][]*api.Pod{"n1": webs("a", 1), "n3": webs("b", 1), "n4": webs("c", 1)},
			pod:    pod("p", web, spread(zone, 1, api.DoNotSchedule, minDomains(4))),
			want:   map[string]string{"n1": skew, "n2": skew, "n3": skew, "n4": skew, "n5": missing},
		},
		{
			name:   "minDomains met",
			placed: map[string][]*api.Pod{"n1": webs("a", 1), "n3": webs("b", 1), "n4": webs("c", 1)},
			pod:    pod("p", web, spread(zone, 1, api.DoNotSchedule, minDomains(3))),
			want:   map[string]string{"n1": "", "n2": "", "n3": "", "n4": "", "n5": missing},
		},
		{
			name:   "nodeSelector: ineligible nodes' domains do not exist (zone c)",
			placed: map[string][]*api.Pod{"n1": webs("a", 1), "n3": webs("b", 1)},
			pod: pod("p", web, spread(zone, 1, api.DoNotSchedule), func(p *api.Pod) {
				p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
			}),
			extra: []*api.Node{node("n6", "a", "disk", "ssd"), node("n7", "b", "disk", "ssd")},
			// Zone c's n4 is not eligible: the lowest count is 1 (a and b), not 0.
			want: map[string]string{"n1": "", "n2": "", "n3": "", "n4": "", "n5": missing, "n6": "", "n7": ""},
		},
		{
			name:   "required node affinity is honored too",
			placed: map[string][]*api.Pod{"n1": webs("a", 2), "n3": webs("b", 1)},
			pod: pod("p", web, spread(zone, 1, api.DoNotSchedule), func(p *api.Pod) {
				p.Spec.Affinity = &api.Affinity{NodeAffinity: &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{
					NodeSelectorTerms: []api.NodeSelectorTerm{{MatchExpressions: []api.NodeSelectorRequirement{{Key: zone, Operator: api.NodeSelectorOpIn, Values: []string{"a", "b"}}}}},
				}}}
			}),
			want: map[string]string{"n1": skew, "n2": skew, "n3": "", "n4": "", "n5": missing},
		},
		{
			name:   "two constraints",
			placed: map[string][]*api.Pod{"n1": webs("a", 1), "n3": webs("b", 1), "n4": webs("c", 1)},
			pod:    pod("p", web, spread(zone, 1, api.DoNotSchedule), spread(host, 1, api.DoNotSchedule)),
			// Zones are even (1, 1, 1); n5 lacks zone so it is not eligible,
			// and the hostname minimum is n2's 0.
			want: map[string]string{"n1": skew, "n2": "", "n3": skew, "n4": skew, "n5": missing},
		},
		{
			name:   "default constraints apply to a pod without constraints",
			args:   Args{DefaultConstraints: []api.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: zone, WhenUnsatisfiable: api.DoNotSchedule}}},
			placed: map[string][]*api.Pod{"n1": webs("a", 1), "n3": webs("b", 1)},
			pod:    pod("p", web),
			want:   map[string]string{"n1": skew, "n2": skew, "n3": skew, "n4": "", "n5": missing},
		},
		{
			name:   "default constraints do not apply to a pod with its own",
			args:   Args{DefaultConstraints: []api.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: zone, WhenUnsatisfiable: api.DoNotSchedule}}},
			placed: map[string][]*api.Pod{"n1": webs("a", 1), "n3": webs("b", 1)},
			pod:    pod("p", web, spread(zone, 1, api.ScheduleAnyway)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := cluster(tt.placed, tt.extra...)
			p, err := New(tt.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			state := framework.NewCycleState()
			_, st := p.PreFilter(context.Background(), state, tt.pod, snap)
			if tt.want == nil {
				if !st.IsSkip() {
					t.Fatalf("PreFilter = %v, want Skip", st.Code())
				}
				return
			}
			if !st.IsSuccess() {
				t.Fatalf("PreFilter: %v", st.Err())
			}
			if got := filterNodes(p, state, snap, tt.pod); !maps.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestPreFilterExtensions: removing pods in a cloned state moves the
// lowest count; the original state is unchanged.
func TestPreFilterExtensions(t *testing.T) {
	a, b := webs("a", 2), webs("b", 1)
	snap := cluster(map[string][]*api.Pod{"n1": a, "n3": b, "n4": webs("c", 1)})
	p, _ := New(Args{}, nil)
	in := pod("p", web, spread(zone, 1, api.DoNotSchedule))
	ctx := context.Background()
	state := framework.NewCycleState()
	p.PreFilter(ctx, state, in, snap)
	const skew, missing = ReasonConstraintsNotMatch, "U&U " + ReasonNodeLabelNotMatch
	before := map[string]string{"n1": skew, "n2": skew, "n3": "", "n4": "", "n5": missing}
	if got := filterNodes(p, state, snap, in); !maps.Equal(got, before) {
		t.Fatalf("before: got %v, want %v", got, before)
	}

	clone := state.Clone()
	// Remove b's pod: zone b at 0 is the lowest; a (2) and c (1) now fail.
	p.RemovePod(ctx, clone, in, framework.NewPodInfo(b[0]), snap[2])
	want := map[string]string{"n1": skew, "n2": skew, "n3": "", "n4": skew, "n5": missing}
	if got := filterNodes(p, clone, snap, in); !maps.Equal(got, want) {
		t.Errorf("after RemovePod: got %v, want %v", got, want)
	}
	// Put it back, remove one of a's: a 1, b 1, c 1: all pass.
	p.AddPod(ctx, clone, in, framework.NewPodInfo(b[0]), snap[2])
	p.RemovePod(ctx, clone, in, framework.NewPodInfo(a[0]), snap[0])
	want = map[string]string{"n1": "", "n2": "", "n3": "", "n4": "", "n5": missing}
	if got := filterNodes(p, clone, snap, in); !maps.Equal(got, want) {
		t.Errorf("after AddPod+RemovePod: got %v, want %v", got, want)
	}
	// A pod on a node without the key changes nothing.
	p.RemovePod(ctx, clone, in, framework.NewPodInfo(a[1]), snap[4])
	if got := filterNodes(p, clone, snap, in); !maps.Equal(got, want) {
		t.Errorf("after RemovePod on n5: got %v, want %v", got, want)
	}
	if got := filterNodes(p, state, snap, in); !maps.Equal(got, before) {
		t.Errorf("original state changed: got %v, want %v", got, before)
	}
}

func TestDomainCountsLowest(t *testing.T) {
	d := newDomainCounts()
	d.count["a"], d.count["b"], d.count["c"] = 1, 1, 3
	d.finish()
	steps := []struct {
		domain string
		delta  int64
		min    int64
	}{
		{"a", 1, 1}, {"b", 1, 2}, {"b", -1, 1}, {"c", -1, 1}, {"b", 1, 2}, {"a", -1, 1}, {"zzz", -1, 1}, {"a", -1, 0},
	}
	for i, s := range steps {
		d.add(s.domain, s.delta)
		if d.min != s.min {
			t.Fatalf("step %d: min %d, want %d (counts %v)", i, d.min, s.min, d.count)
		}
	}
	if d.lowest(4) != 0 {
		t.Error("lowest with minDomains 4 of 3 domains is not 0")
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name   string
		placed map[string][]*api.Pod
		pod    *api.Pod
		want   map[string]int64 // nil: PreScore skips
	}{
		{
			name: "no ScheduleAnyway constraint: skip",
			pod:  pod("p", web, spread(zone, 1, api.DoNotSchedule)),
		},
		{
			name:   "fewer matching pods in the zone score higher; no key scores 0",
			placed: map[string][]*api.Pod{"n1": webs("a", 2), "n3": webs("b", 1)},
			pod:    pod("p", web, spread(zone, 1, api.ScheduleAnyway)),
			// weight log(3+2)=1.609: a 3.22->3, b 1.61->2, c 0. 100*(3+0-s)/3.
			want: map[string]int64{"n1": 0, "n2": 0, "n3": 33, "n4": 100, "n5": 0},
		},
		{
			name: "no matching pods: every node with the keys scores 100",
			pod:  pod("p", web, spread(zone, 1, api.ScheduleAnyway)),
			want: map[string]int64{"n1": 100, "n2": 100, "n3": 100, "n4": 100, "n5": 0},
		},
		{
			name:   "hostname",
			placed: map[string][]*api.Pod{"n1": webs("a", 2), "n2": webs("b", 1)},
			pod:    pod("p", web, spread(host, 1, api.ScheduleAnyway)),
			// weight log(5+2)=1.95: n1 3.9->4, n2 1.95->2, others 0.
			want: map[string]int64{"n1": 0, "n2": 50, "n3": 100, "n4": 100, "n5": 100},
		},
	}
	for _, tt := range tests {
		for _, withHandle := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/handle=%t", tt.name, withHandle), func(t *testing.T) {
				snap := cluster(tt.placed)
				var h framework.Handle
				if withHandle {
					h = &handle{snap: snap}
				}
				p, _ := New(Args{}, h)
				ctx := context.Background()
				state := framework.NewCycleState()
				st := p.PreScore(ctx, state, tt.pod, snap)
				if tt.want == nil {
					if !st.IsSkip() {
						t.Fatalf("PreScore = %v, want Skip", st.Code())
					}
					return
				}
				var scores []framework.NodeScore
				for _, n := range snap {
					s, _ := p.Score(ctx, state, tt.pod, n)
					scores = append(scores, framework.NodeScore{Name: n.Name(), Score: s})
				}
				p.ScoreExtensions().NormalizeScore(ctx, state, tt.pod, scores)
				got := map[string]int64{}
				for _, s := range scores {
					got[s.Name] = s.Score
				}
				if !maps.Equal(got, tt.want) {
					t.Errorf("got  %v\nwant %v", got, tt.want)
				}
			})
		}
	}
}

// TestIndexFollowsSnapshot: one plugin, its index kept between cycles,
// over a snapshot that changes between cycles, gives the verdicts of a
// new plugin (a fresh index) every cycle.
func TestIndexFollowsSnapshot(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	snap := cluster(nil)
	kept, _ := New(Args{}, nil)
	apps := []string{"web", "api", "db"}
	for cycle := range 300 {
		i := r.IntN(len(snap))
		n := snap[i].Clone()
		switch op := r.IntN(10); {
		case op < 6:
			var opts []podOpt
			if r.IntN(5) == 0 {
				opts = append(opts, func(p *api.Pod) { p.Namespace = "other" })
			}
			n.AddPod(framework.NewPodInfo(pod(fmt.Sprintf("p%d", cycle), map[string]string{"app": apps[r.IntN(3)]}, opts...)))
		case op < 9 && len(n.Pods) > 0:
			n.RemovePod(n.Pods[r.IntN(len(n.Pods))].Pod)
		default:
			n.SetNode(node(n.Name(), []string{"a", "b", "c", ""}[r.IntN(4)]))
		}
		snap[i] = n
		if r.IntN(30) == 0 {
			snap = append(snap, framework.NewNodeInfo(node(fmt.Sprintf("x%d", cycle), "c")))
		}
		if r.IntN(30) == 0 && len(snap) > 3 {
			snap = snap[1:]
		}
		app := apps[r.IntN(3)]
		sel := func(c *api.TopologySpreadConstraint) {
			c.LabelSelector = &api.LabelSelector{MatchLabels: map[string]string{"app": app}}
		}
		in := pod("in", map[string]string{"app": app}, spread(zone, 1, api.DoNotSchedule, sel), spread(host, 2, api.DoNotSchedule, sel))
		fresh, _ := New(Args{}, nil)
		var got, want map[string]string
		for _, c := range []struct {
			p   *Plugin
			out *map[string]string
		}{{kept, &got}, {fresh, &want}} {
			state := framework.NewCycleState()
			if _, st := c.p.PreFilter(context.Background(), state, in, snap); !st.IsSuccess() {
				t.Fatal(st.Err())
			}
			*c.out = filterNodes(c.p, state, snap, in)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("cycle %d: kept index %v, fresh %v", cycle, got, want)
		}
	}
}

func TestArgsValidate(t *testing.T) {
	one := int32(1)
	bad := []api.TopologySpreadConstraint{
		{MaxSkew: 0, TopologyKey: zone, WhenUnsatisfiable: api.ScheduleAnyway},
		{MaxSkew: 1, TopologyKey: "", WhenUnsatisfiable: api.ScheduleAnyway},
		{MaxSkew: 1, TopologyKey: zone, WhenUnsatisfiable: "Sometimes"},
		{MaxSkew: 1, TopologyKey: zone, WhenUnsatisfiable: api.ScheduleAnyway, LabelSelector: &api.LabelSelector{}},
		{MaxSkew: 1, TopologyKey: zone, WhenUnsatisfiable: api.ScheduleAnyway, MinDomains: &one},
	}
	for i, c := range bad {
		if _, err := New(Args{DefaultConstraints: []api.TopologySpreadConstraint{c}}, nil); err == nil {
			t.Errorf("bad[%d] accepted", i)
		}
	}
	good := Args{DefaultConstraints: []api.TopologySpreadConstraint{
		{MaxSkew: 3, TopologyKey: host, WhenUnsatisfiable: api.ScheduleAnyway},
		{MaxSkew: 5, TopologyKey: zone, WhenUnsatisfiable: api.ScheduleAnyway},
	}}
	if err := good.Validate(); err != nil {
		t.Error(err)
	}
	dup := Args{DefaultConstraints: []api.TopologySpreadConstraint{good.DefaultConstraints[0], good.DefaultConstraints[0]}}
	if err := dup.Validate(); err == nil {
		t.Error("duplicate accepted")
	}
}
