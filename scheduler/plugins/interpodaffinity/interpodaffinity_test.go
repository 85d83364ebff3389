package interpodaffinity

import (
	"context"
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
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
func (s snapshot) HavePodsWithAffinity() []*framework.NodeInfo {
	return slices.DeleteFunc(slices.Clone(s), func(n *framework.NodeInfo) bool { return len(n.PodsWithAffinity) == 0 })
}
func (s snapshot) HavePodsWithRequiredAntiAffinity() []*framework.NodeInfo {
	return slices.DeleteFunc(slices.Clone(s), func(n *framework.NodeInfo) bool { return len(n.PodsWithRequiredAntiAffinity) == 0 })
}

// handle is the part of a framework.Handle the plugin uses, plus
// NamespaceLabeler.
type handle struct {
	framework.Handle
	snap framework.Snapshot
	ns   map[string]labels.Set
}

func (h *handle) Snapshot() framework.Snapshot                { return h.snap }
func (h *handle) NamespaceLabels(namespace string) labels.Set { return h.ns[namespace] }

func node(name, zone string) *api.Node {
	n := &api.Node{}
	n.Name = name
	n.Labels = map[string]string{"kubernetes.io/hostname": name}
	if zone != "" {
		n.Labels["zone"] = zone
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

func ns(namespace string) podOpt { return func(p *api.Pod) { p.Namespace = namespace } }

func aff(p *api.Pod) *api.Affinity {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &api.Affinity{PodAffinity: &api.PodAffinity{}, PodAntiAffinity: &api.PodAntiAffinity{}}
	}
	return p.Spec.Affinity
}

func sel(kv ...string) *api.LabelSelector {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &api.LabelSelector{MatchLabels: m}
}

func onTerm(key string, s *api.LabelSelector, mods ...func(*api.PodAffinityTerm)) api.PodAffinityTerm {
	t := api.PodAffinityTerm{TopologyKey: key, LabelSelector: s}
	for _, m := range mods {
		m(&t)
	}
	return t
}

func requiredAffinity(t api.PodAffinityTerm) podOpt {
	return func(p *api.Pod) {
		a := aff(p).PodAffinity
		a.RequiredDuringSchedulingIgnoredDuringExecution = append(a.RequiredDuringSchedulingIgnoredDuringExecution, t)
	}
}

func requiredAnti(t api.PodAffinityTerm) podOpt {
	return func(p *api.Pod) {
		a := aff(p).PodAntiAffinity
		a.RequiredDuringSchedulingIgnoredDuringExecution = append(a.RequiredDuringSchedulingIgnoredDuringExecution, t)
	}
}

func preferredAffinity(w int32, t api.PodAffinityTerm) podOpt {
	return func(p *api.Pod) {
		a := aff(p).PodAffinity
		a.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PreferredDuringSchedulingIgnoredDuringExecution, api.WeightedPodAffinityTerm{Weight: w, PodAffinityTerm: t})
	}
}

func preferredAnti(w int32, t api.PodAffinityTerm) podOpt {
	return func(p *api.Pod) {
		a := aff(p).PodAntiAffinity
		a.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PreferredDuringSchedulingIgnoredDuringExecution, api.WeightedPodAffinityTerm{Weight: w, PodAffinityTerm: t})
	}
}

// cluster: zone a holds n1, n2; zone b holds n3; n4 has no zone label.
// placed maps node names to their pods.
func cluster(placed map[string][]*api.Pod) snapshot {
	nodes := []*api.Node{node("n1", "a"), node("n2", "a"), node("n3", "b"), node("n4", "")}
	var s snapshot
	for _, n := range nodes {
		s = append(s, framework.NewNodeInfo(n, placed[n.Name]...))
	}
	return s
}

const (
	zone = "zone"
	host = "kubernetes.io/hostname"
)

// filterAll runs PreFilter and Filter and returns each node's reason
// ("" when it passes, "skip" when PreFilter skipped).
func filterAll(t *testing.T, p *Plugin, snap snapshot, incoming *api.Pod) map[string]string {
	t.Helper()
	state := framework.NewCycleState()
	_, st := p.PreFilter(context.Background(), state, incoming, snap)
	if st.IsSkip() {
		return map[string]string{"": "skip"}
	}
	if !st.IsSuccess() {
		t.Fatalf("PreFilter: %v", st.Err())
	}
	return filterNodes(p, state, snap, incoming)
}

func filterNodes(p *Plugin, state *framework.CycleState, snap snapshot, incoming *api.Pod) map[string]string {
	out := map[string]string{}
	for _, n := range snap {
		st := p.Filter(context.Background(), state, incoming, n)
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
	web := map[string]string{"app": "web"}
	db := map[string]string{"app": "db"}
	const (
		aff  = "U&U " + ReasonAffinityRulesNotMatch
		anti = ReasonAntiAffinityRulesNotMatch
		ex   = ReasonExistingAntiAffinityRulesNotMatch
	)
	tests := []struct {
		name   string
		placed map[string][]*api.Pod
		pod    *api.Pod
		want   map[string]string
	}{
		{
			name:   "no terms anywhere: skip",
			placed: map[string][]*api.Pod{"n1": {pod("w", web)}},
			pod:    pod("p", db),
			want:   map[string]string{"": "skip"},
		},
		{
			name:   "affinity to web by zone",
			placed: map[string][]*api.Pod{"n1": {pod("w", web)}, "n3": {pod("d", db)}},
			pod:    pod("p", db, requiredAffinity(onTerm(zone, sel("app", "web")))),
			want:   map[string]string{"n1": "", "n2": "", "n3": aff, "n4": aff},
		},
		{
			name:   "affinity by hostname",
			placed: map[string][]*api.Pod{"n2": {pod("w", web)}},
			pod:    pod("p", db, requiredAffinity(onTerm(host, sel("app", "web")))),
			want:   map[string]string{"n1": aff, "n2": "", "n3": aff, "n4": aff},
		},
		{
			name:   "affinity to a pod in another namespace does not count",
			placed: map[string][]*api.Pod{"n1": {pod("w", web, ns("other"))}},
			pod:    pod("p", db, requiredAffinity(onTerm(zone, sel("app", "web")))),
			want:   map[string]string{"n1": aff, "n2": aff, "n3": aff, "n4": aff},
		},
		{
			name:   "affinity with namespaces lists the other namespace",
			placed: map[string][]*api.Pod{"n1": {pod("w", web, ns("other"))}},
			pod: pod("p", db, requiredAffinity(onTerm(zone, sel("app", "web"), func(t *api.PodAffinityTerm) {
				t.Namespaces = []string{"other"}
			}))),
			want: map[string]string{"n1": "", "n2": "", "n3": aff, "n4": aff},
		},
		{
			name:   "affinity with empty namespaceSelector selects every namespace",
			placed: map[string][]*api.Pod{"n3": {pod("w", web, ns("other"))}},
			pod: pod("p", db, requiredAffinity(onTerm(zone, sel("app", "web"), func(t *api.PodAffinityTerm) {
				t.NamespaceSelector = &api.LabelSelector{}
			}))),
			want: map[string]string{"n1": aff, "n2": aff, "n3": "", "n4": aff},
		},
		{
			name:   "affinity with namespaceSelector by namespace labels",
			placed: map[string][]*api.Pod{"n3": {pod("w", web, ns("team-a"))}, "n1": {pod("w2", web, ns("team-b"))}},
			pod: pod("p", db, requiredAffinity(onTerm(zone, sel("app", "web"), func(t *api.PodAffinityTerm) {
				t.NamespaceSelector = sel("team", "a")
			}))),
			want: map[string]string{"n1": aff, "n2": aff, "n3": "", "n4": aff},
		},
		{
			name:   "first pod of a self-affine group goes anywhere with the key",
			placed: nil,
			pod:    pod("p", web, requiredAffinity(onTerm(zone, sel("app", "web")))),
			want:   map[string]string{"n1": "", "n2": "", "n3": "", "n4": aff},
		},
		{
			name:   "self-affine group with a member: only its zone",
			placed: map[string][]*api.Pod{"n3": {pod("w", web)}},
			pod:    pod("p", web, requiredAffinity(onTerm(zone, sel("app", "web")))),
			want:   map[string]string{"n1": aff, "n2": aff, "n3": "", "n4": aff},
		},
		{
			name:   "nil label selector matches nothing",
			placed: map[string][]*api.Pod{"n1": {pod("w", web)}},
			pod:    pod("p", db, requiredAffinity(onTerm(zone, nil))),
			want:   map[string]string{"n1": aff, "n2": aff, "n3": aff, "n4": aff},
		},
		{
			name: "two affinity terms: a pod must match both",
			placed: map[string][]*api.Pod{
				"n1": {pod("w", map[string]string{"app": "web", "tier": "x"})},
				"n3": {pod("w2", web)},
			},
			pod: pod("p", db,
				requiredAffinity(onTerm(zone, sel("app", "web"))),
				requiredAffinity(onTerm(host, sel("tier", "x")))),
			want: map[string]string{"n1": "", "n2": aff, "n3": aff, "n4": aff},
		},
		{
			name:   "anti-affinity by zone",
			placed: map[string][]*api.Pod{"n2": {pod("w", web)}},
			pod:    pod("p", db, requiredAnti(onTerm(zone, sel("app", "web")))),
			want:   map[string]string{"n1": anti, "n2": anti, "n3": "", "n4": ""},
		},
		{
			name:   "anti-affinity by hostname",
			placed: map[string][]*api.Pod{"n2": {pod("w", web)}},
			pod:    pod("p", db, requiredAnti(onTerm(host, sel("app", "web")))),
			want:   map[string]string{"n1": "", "n2": anti, "n3": "", "n4": ""},
		},
		{
			name:   "existing pod's anti-affinity against the pod",
			placed: map[string][]*api.Pod{"n1": {pod("w", web, requiredAnti(onTerm(zone, sel("app", "db"))))}},
			pod:    pod("p", db),
			want:   map[string]string{"n1": ex, "n2": ex, "n3": "", "n4": ""},
		},
		{
			name:   "existing pod's anti-affinity in another namespace does not select the pod",
			placed: map[string][]*api.Pod{"n1": {pod("w", web, ns("other"), requiredAnti(onTerm(zone, sel("app", "db"))))}},
			pod:    pod("p", db),
			want:   map[string]string{"n1": "", "n2": "", "n3": "", "n4": ""},
		},
		{
			name:   "existing pod's anti-affinity not matching the pod",
			placed: map[string][]*api.Pod{"n1": {pod("w", web, requiredAnti(onTerm(zone, sel("app", "cache"))))}},
			pod:    pod("p", db),
			want:   map[string]string{"n1": "", "n2": "", "n3": "", "n4": ""},
		},
		{
			name: "both directions at once",
			placed: map[string][]*api.Pod{
				"n1": {pod("w", web)},
				"n3": {pod("d", db, requiredAnti(onTerm(host, sel("app", "db"))))},
			},
			pod: pod("p", db,
				requiredAffinity(onTerm(host, sel("app", "web", "x", "y"))), // nobody: first of its group? no, p doesn't match
				requiredAnti(onTerm(host, sel("app", "web")))),
			want: map[string]string{"n1": aff, "n2": aff, "n3": aff, "n4": aff},
		},
		{
			name: "anti-affinity and existing anti-affinity",
			placed: map[string][]*api.Pod{
				"n1": {pod("w", web)},
				"n3": {pod("d", db, requiredAnti(onTerm(host, sel("app", "db"))))},
			},
			pod:  pod("p", db, requiredAnti(onTerm(host, sel("app", "web")))),
			want: map[string]string{"n1": anti, "n2": "", "n3": ex, "n4": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := cluster(tt.placed)
			h := &handle{snap: snap, ns: map[string]labels.Set{"team-a": {"team": "a"}, "team-b": {"team": "b"}}}
			p, err := New(Args{}, h)
			if err != nil {
				t.Fatal(err)
			}
			got := filterAll(t, p, snap, tt.pod)
			if !equalMaps(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestNamespaceSelectorWithoutLabeler(t *testing.T) {
	snap := cluster(map[string][]*api.Pod{"n1": {pod("w", map[string]string{"app": "web"}, ns("team-a"))}})
	p, _ := New(Args{}, nil)
	in := pod("p", nil, requiredAffinity(onTerm(zone, sel("app", "web"), func(t *api.PodAffinityTerm) {
		t.NamespaceSelector = sel("team", "a")
	})))
	got := filterAll(t, p, snap, in)
	if got["n1"] == "" {
		t.Errorf("a non-empty namespaceSelector without a NamespaceLabeler selected a namespace: %v", got)
	}
}

// TestPreFilterExtensions: removing and adding pods in a cloned state
// changes Filter's verdicts as if the snapshot had changed, and leaves
// the original state alone.
func TestPreFilterExtensions(t *testing.T) {
	web := map[string]string{"app": "web"}
	w := pod("w", web, requiredAnti(onTerm(zone, sel("app", "db"))))
	w2 := pod("w2", web)
	snap := cluster(map[string][]*api.Pod{"n1": {w}, "n3": {w2}})
	p, _ := New(Args{}, nil)
	in := pod("p", map[string]string{"app": "db"}, requiredAffinity(onTerm(host, sel("app", "web"))))
	state := framework.NewCycleState()
	if _, st := p.PreFilter(context.Background(), state, in, snap); !st.IsSuccess() {
		t.Fatal(st.Err())
	}
	aff := "U&U " + ReasonAffinityRulesNotMatch
	want := map[string]string{"n1": ReasonExistingAntiAffinityRulesNotMatch, "n2": aff, "n3": "", "n4": aff}
	if got := filterNodes(p, state, snap, in); !equalMaps(got, want) {
		t.Fatalf("before: got %v, want %v", got, want)
	}

	clone := state.Clone()
	n1 := snap[0].Clone()
	n1.RemovePod(w)
	if st := p.RemovePod(context.Background(), clone, in, framework.NewPodInfo(w), n1); !st.IsSuccess() {
		t.Fatal(st.Err())
	}
	// w is gone: n1 no longer repels p, but it also no longer has a web pod.
	got := filterNodes(p, clone, snapshot{n1, snap[1], snap[2], snap[3]}, in)
	want2 := map[string]string{"n1": aff, "n2": aff, "n3": "", "n4": aff}
	if !equalMaps(got, want2) {
		t.Errorf("after RemovePod: got %v, want %v", got, want2)
	}
	plain := pod("w3", web)
	n1.AddPod(framework.NewPodInfo(plain))
	p.AddPod(context.Background(), clone, in, framework.NewPodInfo(plain), n1)
	want3 := map[string]string{"n1": "", "n2": aff, "n3": "", "n4": aff}
	if got := filterNodes(p, clone, snapshot{n1, snap[1], snap[2], snap[3]}, in); !equalMaps(got, want3) {
		t.Errorf("after AddPod: got %v, want %v", got, want3)
	}
	if got := filterNodes(p, state, snap, in); !equalMaps(got, want) {
		t.Errorf("original state changed: got %v, want %v", got, want)
	}
}

func TestScore(t *testing.T) {
	web := map[string]string{"app": "web"}
	db := map[string]string{"app": "db"}
	tests := []struct {
		name   string
		args   Args
		placed map[string][]*api.Pod
		pod    *api.Pod
		want   map[string]int64 // normalized; nil means PreScore skips
	}{
		{
			name:   "nothing to score",
			placed: map[string][]*api.Pod{"n1": {pod("w", web)}},
			pod:    pod("p", db),
		},
		{
			name:   "preferred affinity to web by zone",
			placed: map[string][]*api.Pod{"n1": {pod("w", web)}},
			pod:    pod("p", db, preferredAffinity(10, onTerm(zone, sel("app", "web")))),
			want:   map[string]int64{"n1": 100, "n2": 100, "n3": 0, "n4": 0},
		},
		{
			name:   "preferred anti-affinity to web by zone",
			placed: map[string][]*api.Pod{"n1": {pod("w", web)}},
			pod:    pod("p", db, preferredAnti(10, onTerm(zone, sel("app", "web")))),
			want:   map[string]int64{"n1": 0, "n2": 0, "n3": 100, "n4": 100},
		},
		{
			name: "weights add up and subtract",
			placed: map[string][]*api.Pod{
				"n1": {pod("w", web)},
				"n3": {pod("w2", web), pod("w3", web)},
				"n4": {pod("c", map[string]string{"app": "cache"})},
			},
			pod: pod("p", db,
				preferredAffinity(10, onTerm(host, sel("app", "web"))),
				preferredAnti(5, onTerm(host, sel("app", "cache")))),
			// raw: n1 10, n2 0, n3 20, n4 -5 -> (s+5)*100/25
			want: map[string]int64{"n1": 60, "n2": 20, "n3": 100, "n4": 0},
		},
		{
			name:   "existing pod's required affinity counts with HardPodAffinityWeight",
			args:   Args{HardPodAffinityWeight: 7},
			placed: map[string][]*api.Pod{"n3": {pod("w", web, requiredAffinity(onTerm(zone, sel("app", "db"))))}},
			pod:    pod("p", db),
			want:   map[string]int64{"n1": 0, "n2": 0, "n3": 100, "n4": 0},
		},
		{
			name:   "hard affinity ignored",
			args:   Args{IgnoreHardPodAffinity: true},
			placed: map[string][]*api.Pod{"n3": {pod("w", web, requiredAffinity(onTerm(zone, sel("app", "db"))))}},
			pod:    pod("p", db),
		},
		{
			name: "existing pods' preferred terms",
			placed: map[string][]*api.Pod{
				"n1": {pod("w", web, preferredAffinity(10, onTerm(zone, sel("app", "db"))))},
				"n3": {pod("w2", web, preferredAnti(10, onTerm(zone, sel("app", "db"))))},
			},
			pod:  pod("p", db),
			want: map[string]int64{"n1": 100, "n2": 100, "n3": 0, "n4": 50},
		},
		{
			name: "existing pods' preferred terms ignored",
			args: Args{IgnorePreferredTermsOfExistingPods: true, IgnoreHardPodAffinity: true},
			placed: map[string][]*api.Pod{
				"n1": {pod("w", web, preferredAffinity(10, onTerm(zone, sel("app", "db"))))},
			},
			pod: pod("p", db),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := cluster(tt.placed)
			p, err := New(tt.args, &handle{snap: snap})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			state := framework.NewCycleState()
			st := p.PreScore(ctx, state, tt.pod, snap)
			if tt.want == nil {
				if !st.IsSkip() {
					t.Fatalf("PreScore = %v, want Skip", st.Code())
				}
				return
			}
			if !st.IsSuccess() {
				t.Fatalf("PreScore: %v", st.Code())
			}
			var scores []framework.NodeScore
			for _, n := range snap {
				s, st := p.Score(ctx, state, tt.pod, n)
				if !st.IsSuccess() {
					t.Fatal(st.Err())
				}
				scores = append(scores, framework.NodeScore{Name: n.Name(), Score: s})
			}
			p.ScoreExtensions().NormalizeScore(ctx, state, tt.pod, scores)
			got := map[string]int64{}
			for _, s := range scores {
				got[s.Name] = s.Score
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("scores %v, want %v", got, tt.want)
					break
				}
			}
		})
	}
}

func TestArgs(t *testing.T) {
	if _, err := New(Args{HardPodAffinityWeight: 101}, nil); err == nil {
		t.Error("HardPodAffinityWeight 101 accepted")
	}
	if _, err := New(Args{HardPodAffinityWeight: 100}, nil); err != nil {
		t.Error(err)
	}
}
