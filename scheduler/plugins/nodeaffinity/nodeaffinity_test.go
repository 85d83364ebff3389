package nodeaffinity

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
	"sigs.k8s.io/yaml"
)

func node(name string, labels map[string]string) *framework.NodeInfo {
	n := &api.Node{}
	n.Name = name
	n.Labels = labels
	return framework.NewNodeInfo(n)
}

func req(key string, op api.NodeSelectorOperator, values ...string) api.NodeSelectorRequirement {
	return api.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func exprs(rs ...api.NodeSelectorRequirement) api.NodeSelectorTerm {
	return api.NodeSelectorTerm{MatchExpressions: rs}
}

func names(ns ...string) api.NodeSelectorTerm {
	return api.NodeSelectorTerm{MatchFields: []api.NodeSelectorRequirement{req("metadata.name", api.NodeSelectorOpIn, ns...)}}
}

// pod returns a pod with nodeSelector sel and required terms (none: no
// required node affinity).
func pod(sel map[string]string, required ...api.NodeSelectorTerm) *api.Pod {
	p := &api.Pod{}
	p.Name = "p"
	p.Spec.NodeSelector = sel
	if len(required) > 0 {
		p.Spec.Affinity = &api.Affinity{NodeAffinity: &api.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{NodeSelectorTerms: required},
		}}
	}
	return p
}

func preferring(p *api.Pod, terms ...api.PreferredSchedulingTerm) *api.Pod {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &api.Affinity{}
	}
	if p.Spec.Affinity.NodeAffinity == nil {
		p.Spec.Affinity.NodeAffinity = &api.NodeAffinity{}
	}
	p.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = terms
	return p
}

func filter(t *testing.T, p *Plugin, pd *api.Pod, n *framework.NodeInfo) *framework.Status {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	_, st := p.PreFilter(ctx, state, pd, nil)
	if st.IsSkip() {
		return nil
	}
	if !st.IsSuccess() {
		return st
	}
	return p.Filter(ctx, state, pd, n)
}

func TestFilter(t *testing.T) {
	zoneA := node("n1", map[string]string{"zone": "a", "disk": "ssd", "cores": "8"})
	tests := []struct {
		name   string
		pod    *api.Pod
		added  *api.NodeAffinity
		reason string // "" for fits
	}{
		{"no constraints", pod(nil), nil, ""},
		{"nodeSelector matches", pod(map[string]string{"zone": "a", "disk": "ssd"}), nil, ""},
		{"nodeSelector value differs", pod(map[string]string{"zone": "b"}), nil, ErrReasonPod},
		{"nodeSelector label missing", pod(map[string]string{"gpu": "true"}), nil, ErrReasonPod},
		{"required term matches", pod(nil, exprs(req("zone", api.NodeSelectorOpIn, "a", "b"))), nil, ""},
		{"any required term may match", pod(nil, exprs(req("zone", api.NodeSelectorOpIn, "b")), exprs(req("cores", api.NodeSelectorOpGt, "4"))), nil, ""},
		{"no required term matches", pod(nil, exprs(req("zone", api.NodeSelectorOpIn, "b")), exprs(req("cores", api.NodeSelectorOpLt, "4"))), nil, ErrReasonPod},
		{"nodeSelector and affinity must both hold", pod(map[string]string{"zone": "b"}, exprs(req("disk", api.NodeSelectorOpExists))), nil, ErrReasonPod},
		{"matchFields name", pod(nil, names("n1")), nil, ""},
		{"matchFields other name", pod(nil, names("n2"), names("n3")), nil, ErrReasonPod},
		{"empty term matches nothing", pod(nil, api.NodeSelectorTerm{}), nil, ErrReasonPod},
		{"added affinity holds", pod(nil), &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{
			NodeSelectorTerms: []api.NodeSelectorTerm{exprs(req("disk", api.NodeSelectorOpIn, "ssd"))}}}, ""},
		{"added affinity fails", pod(nil), &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{
			NodeSelectorTerms: []api.NodeSelectorTerm{exprs(req("disk", api.NodeSelectorOpIn, "hdd"))}}}, ErrReasonEnforced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Args{AddedAffinity: tt.added}, nil)
			if err != nil {
				t.Fatal(err)
			}
			st := filter(t, p, tt.pod, zoneA)
			if tt.reason == "" {
				if !st.IsSuccess() {
					t.Errorf("Filter = %v, want Success", st)
				}
				return
			}
			if st.Code() != framework.UnschedulableAndUnresolvable || !slices.Equal(st.Reasons(), []string{tt.reason}) {
				t.Errorf("Filter = %v %q, want UnschedulableAndUnresolvable %q", st.Code(), st.Reasons(), tt.reason)
			}
		})
	}
}

func TestPreFilter(t *testing.T) {
	tests := []struct {
		name      string
		pod       *api.Pod
		wantCode  framework.Code
		wantNames []string // nil: every node
	}{
		{"nothing to check", pod(nil), framework.Skip, nil},
		{"nodeSelector only", pod(map[string]string{"a": "b"}), framework.Success, nil},
		{"names in every term", pod(nil, names("n1"), names("n2"), names("n3")), framework.Success, []string{"n1", "n2", "n3"}},
		{"a term without names", pod(nil, names("n1"), exprs(req("zone", api.NodeSelectorOpExists))), framework.Success, nil},
		{"names and expressions in one term", pod(nil, api.NodeSelectorTerm{
			MatchExpressions: []api.NodeSelectorRequirement{req("zone", api.NodeSelectorOpExists)},
			MatchFields:      []api.NodeSelectorRequirement{req("metadata.name", api.NodeSelectorOpIn, "n4")},
		}), framework.Success, []string{"n4"}},
		{"NotIn does not pin", pod(nil, api.NodeSelectorTerm{MatchFields: []api.NodeSelectorRequirement{req("metadata.name", api.NodeSelectorOpNotIn, "n1")}}), framework.Success, nil},
		{"conflicting names", pod(nil, api.NodeSelectorTerm{MatchFields: []api.NodeSelectorRequirement{
			req("metadata.name", api.NodeSelectorOpIn, "n1"), req("metadata.name", api.NodeSelectorOpIn, "n2")}}),
			framework.UnschedulableAndUnresolvable, nil},
	}
	p, _ := New(Args{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, st := p.PreFilter(context.Background(), framework.NewCycleState(), tt.pod, nil)
			if st.Code() != tt.wantCode {
				t.Fatalf("PreFilter = %v, want %v", st, tt.wantCode)
			}
			if tt.wantCode == framework.UnschedulableAndUnresolvable && !slices.Equal(st.Reasons(), []string{ErrReasonConflict}) {
				t.Errorf("reasons = %q", st.Reasons())
			}
			var got []string
			if res != nil {
				got = slices.Sorted(maps.Keys(res.NodeNames))
			}
			if !slices.Equal(got, tt.wantNames) {
				t.Errorf("NodeNames = %v, want %v", got, tt.wantNames)
			}
		})
	}
}

func TestScore(t *testing.T) {
	nodes := []*framework.NodeInfo{
		node("zone-a", map[string]string{"zone": "a"}),
		node("ssd", map[string]string{"disk": "ssd"}),
		node("both", map[string]string{"zone": "a", "disk": "ssd"}),
		node("none", nil),
		node("team", map[string]string{"team": "x"}),
	}
	prefs := []api.PreferredSchedulingTerm{
		{Weight: 10, Preference: exprs(req("zone", api.NodeSelectorOpIn, "a"))},
		{Weight: 30, Preference: exprs(req("disk", api.NodeSelectorOpIn, "ssd"))},
		{Weight: 50, Preference: api.NodeSelectorTerm{}}, // matches nothing
	}
	tests := []struct {
		name  string
		added *api.NodeAffinity
		want  []int64
	}{
		// Raw 10, 30, 40, 0, 0, scaled so that 40 is 100.
		{"preferred weights", nil, []int64{25, 75, 100, 0, 0}},
		// Raw 10, 30, 40, 0, 60 with the added term.
		{"added preference", &api.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []api.PreferredSchedulingTerm{
			{Weight: 60, Preference: exprs(req("team", api.NodeSelectorOpExists))}}}, []int64{16, 50, 66, 0, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Args{AddedAffinity: tt.added}, nil)
			if err != nil {
				t.Fatal(err)
			}
			pd := preferring(pod(nil), prefs...)
			ctx := context.Background()
			state := framework.NewCycleState()
			if st := p.PreScore(ctx, state, pd, nodes); !st.IsSuccess() {
				t.Fatalf("PreScore = %v", st)
			}
			scores := make([]framework.NodeScore, len(nodes))
			for i, n := range nodes {
				s, _ := p.Score(ctx, state, pd, n)
				scores[i] = framework.NodeScore{Name: n.Name(), Score: s}
			}
			p.ScoreExtensions().NormalizeScore(ctx, state, pd, scores)
			for i, s := range scores {
				if s.Score != tt.want[i] {
					t.Errorf("score of %s = %d, want %d", s.Name, s.Score, tt.want[i])
				}
			}
		})
	}
	p, _ := New(Args{}, nil)
	if st := p.PreScore(context.Background(), framework.NewCycleState(), pod(nil), nodes); !st.IsSkip() {
		t.Errorf("PreScore without preferences = %v, want Skip", st)
	}
}

func TestArgsValidate(t *testing.T) {
	required := func(terms ...api.NodeSelectorTerm) *api.NodeAffinity {
		return &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{NodeSelectorTerms: terms}}
	}
	tests := []struct {
		name string
		args Args
		want string // substring of the error; "" for valid
	}{
		{"zero value", Args{}, ""},
		{"valid", Args{AddedAffinity: required(exprs(req("zone", api.NodeSelectorOpIn, "a")))}, ""},
		{"no terms", Args{AddedAffinity: required()}, "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: must have"},
		{"bad operator", Args{AddedAffinity: required(exprs(req("a", api.NodeSelectorOpExists)), exprs(req("zone", "Near", "a")))},
			"addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[1].matchExpressions[0].operator"},
		{"Gt not an integer", Args{AddedAffinity: required(exprs(req("cores", api.NodeSelectorOpGt, "many")))}, "matchExpressions[0].values[0]"},
		{"bad field", Args{AddedAffinity: required(api.NodeSelectorTerm{MatchFields: []api.NodeSelectorRequirement{req("spec.x", api.NodeSelectorOpIn, "a")}})},
			"nodeSelectorTerms[0].matchFields[0].key"},
		{"weight out of range", Args{AddedAffinity: &api.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []api.PreferredSchedulingTerm{
			{Weight: 101, Preference: exprs(req("a", api.NodeSelectorOpExists))}}}}, "preferredDuringSchedulingIgnoredDuringExecution[0].weight"},
		{"bad preference", Args{AddedAffinity: &api.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []api.PreferredSchedulingTerm{
			{Weight: 1, Preference: exprs(req("a", api.NodeSelectorOpIn))}}}}, "preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.args.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if _, nerr := New(tt.args, nil); nerr == nil {
				t.Error("New accepted invalid args")
			}
		})
	}
}

func BenchmarkFilterScore(b *testing.B) {
	nodes := make([]*framework.NodeInfo, 5000)
	zones := []string{"a", "b", "c"}
	for i := range nodes {
		nodes[i] = node(fmt.Sprintf("node-%d", i), map[string]string{
			"zone": zones[i%3], "disk": []string{"ssd", "hdd"}[i%2], "pool": "general", "cores": fmt.Sprint(4 << (i % 3)),
		})
	}
	p, _ := New(Args{}, nil)
	pd := preferring(pod(map[string]string{"pool": "general"},
		exprs(req("zone", api.NodeSelectorOpIn, "a", "b"), req("cores", api.NodeSelectorOpGt, "4"))),
		api.PreferredSchedulingTerm{Weight: 10, Preference: exprs(req("disk", api.NodeSelectorOpIn, "ssd"))},
		api.PreferredSchedulingTerm{Weight: 5, Preference: exprs(req("zone", api.NodeSelectorOpNotIn, "a"))})
	ctx := context.Background()
	scores := make([]framework.NodeScore, 0, len(nodes))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		state := framework.NewCycleState()
		scores = scores[:0]
		p.PreFilter(ctx, state, pd, nodes)
		p.PreScore(ctx, state, pd, nodes)
		for _, n := range nodes {
			if p.Filter(ctx, state, pd, n).IsSuccess() {
				s, _ := p.Score(ctx, state, pd, n)
				scores = append(scores, framework.NodeScore{Name: n.Name(), Score: s})
			}
		}
		p.ScoreExtensions().NormalizeScore(ctx, state, pd, scores)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(nodes)), "ns/node")
}

func TestArgsFromYAML(t *testing.T) {
	const doc = `
addedAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    nodeSelectorTerms:
    - matchExpressions:
      - key: pool
        operator: In
        values: [batch]
  preferredDuringSchedulingIgnoredDuringExecution:
  - weight: 20
    preference:
      matchExpressions:
      - key: disk
        operator: Exists
`
	var args Args
	if err := yaml.UnmarshalStrict([]byte(doc), &args); err != nil {
		t.Fatal(err)
	}
	p, err := New(args, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := filter(t, p, pod(nil), node("n", map[string]string{"pool": "web"})); !slices.Equal(st.Reasons(), []string{ErrReasonEnforced}) {
		t.Errorf("Filter = %v, want %q", st, ErrReasonEnforced)
	}
	if st := filter(t, p, pod(nil), node("n", map[string]string{"pool": "batch"})); !st.IsSuccess() {
		t.Errorf("Filter = %v, want Success", st)
	}
}
