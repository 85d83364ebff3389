package tainttoleration

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

func node(name string, taints ...api.Taint) *framework.NodeInfo {
	n := &api.Node{}
	n.Name = name
	n.Spec.Taints = taints
	return framework.NewNodeInfo(n)
}

func pod(tolerations ...api.Toleration) *api.Pod {
	p := &api.Pod{}
	p.Name = "p"
	p.Spec.Tolerations = tolerations
	return p
}

func taint(key, value string, effect api.TaintEffect) api.Taint {
	return api.Taint{Key: key, Value: value, Effect: effect}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name     string
		pod      *api.Pod
		taints   []api.Taint
		wantCode framework.Code
		reasons  []string
	}{
		{"no taints", pod(), nil, framework.Success, nil},
		{"untolerated NoSchedule", pod(), []api.Taint{taint("dedicated", "gpu", api.TaintEffectNoSchedule)},
			framework.UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{"untolerated NoExecute", pod(), []api.Taint{taint("node.kubernetes.io/not-ready", "", api.TaintEffectNoExecute)},
			framework.UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint {node.kubernetes.io/not-ready: }"}},
		{"PreferNoSchedule does not filter", pod(), []api.Taint{taint("a", "b", api.TaintEffectPreferNoSchedule)}, framework.Success, nil},
		{"tolerated by Equal", pod(api.Toleration{Key: "dedicated", Value: "gpu", Effect: api.TaintEffectNoSchedule}),
			[]api.Taint{taint("dedicated", "gpu", api.TaintEffectNoSchedule)}, framework.Success, nil},
		{"Equal with another value", pod(api.Toleration{Key: "dedicated", Operator: api.TolerationOpEqual, Value: "cpu"}),
			[]api.Taint{taint("dedicated", "gpu", api.TaintEffectNoSchedule)},
			framework.UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{"tolerated by Exists on the key", pod(api.Toleration{Key: "dedicated", Operator: api.TolerationOpExists}),
			[]api.Taint{taint("dedicated", "gpu", api.TaintEffectNoSchedule), taint("dedicated", "x", api.TaintEffectNoExecute)}, framework.Success, nil},
		{"toleration of another effect", pod(api.Toleration{Key: "dedicated", Operator: api.TolerationOpExists, Effect: api.TaintEffectNoExecute}),
			[]api.Taint{taint("dedicated", "gpu", api.TaintEffectNoSchedule)},
			framework.UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{"the first untolerated taint is named", pod(api.Toleration{Key: "a", Operator: api.TolerationOpExists}),
			[]api.Taint{taint("a", "1", api.TaintEffectNoSchedule), taint("b", "2", api.TaintEffectNoSchedule), taint("c", "3", api.TaintEffectNoSchedule)},
			framework.UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint {b: 2}"}},
		{"wildcard toleration", pod(api.Toleration{Operator: api.TolerationOpExists}),
			[]api.Taint{taint("a", "1", api.TaintEffectNoSchedule), taint("b", "2", api.TaintEffectNoExecute)}, framework.Success, nil},
	}
	p, _ := New(Args{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := p.Filter(context.Background(), framework.NewCycleState(), tt.pod, node("n", tt.taints...))
			if st.Code() != tt.wantCode || !slices.Equal(st.Reasons(), tt.reasons) {
				t.Errorf("Filter = %v %q, want %v %q", st.Code(), st.Reasons(), tt.wantCode, tt.reasons)
			}
		})
	}
}

func scoreAll(t testing.TB, p *Plugin, pd *api.Pod, nodes []*framework.NodeInfo) []framework.NodeScore {
	ctx := context.Background()
	state := framework.NewCycleState()
	if st := p.PreScore(ctx, state, pd, nodes); !st.IsSuccess() {
		t.Fatalf("PreScore = %v", st)
	}
	scores := make([]framework.NodeScore, len(nodes))
	for i, n := range nodes {
		s, st := p.Score(ctx, state, pd, n)
		if !st.IsSuccess() {
			t.Fatalf("Score = %v", st)
		}
		scores[i] = framework.NodeScore{Name: n.Name(), Score: s}
	}
	if st := p.ScoreExtensions().NormalizeScore(ctx, state, pd, scores); !st.IsSuccess() {
		t.Fatalf("NormalizeScore = %v", st)
	}
	return scores
}

func TestScore(t *testing.T) {
	prefer := func(k string) api.Taint { return taint(k, "v", api.TaintEffectPreferNoSchedule) }
	nodes := []*framework.NodeInfo{
		node("clean"),
		node("one", prefer("a")),
		node("two", prefer("a"), prefer("b")),
		node("tolerated", prefer("c")),
		node("hard-taints-ignored", taint("a", "v", api.TaintEffectNoSchedule)),
	}
	tests := []struct {
		name string
		pod  *api.Pod
		want []int64
	}{
		// Raw counts 0, 1, 2, 0, 0; reversed and scaled by the largest.
		{"counts untolerated PreferNoSchedule", pod(api.Toleration{Key: "c", Operator: api.TolerationOpExists, Effect: api.TaintEffectPreferNoSchedule}),
			[]int64{100, 50, 0, 100, 100}},
		// A NoSchedule toleration does not tolerate a PreferNoSchedule taint.
		{"NoSchedule toleration does not count", pod(api.Toleration{Key: "c", Operator: api.TolerationOpExists, Effect: api.TaintEffectNoSchedule}),
			[]int64{100, 50, 0, 50, 100}},
		{"everything tolerated", pod(api.Toleration{Operator: api.TolerationOpExists}), []int64{100, 100, 100, 100, 100}},
	}
	p, _ := New(Args{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scores := scoreAll(t, p, tt.pod, nodes)
			for i, s := range scores {
				if s.Score != tt.want[i] {
					t.Errorf("score of %s = %d, want %d", s.Name, s.Score, tt.want[i])
				}
			}
		})
	}
}

func TestArgs(t *testing.T) {
	if err := (Args{}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if p, _ := New(Args{}, nil); p.Name() != "TaintToleration" {
		t.Errorf("Name() = %q", p.Name())
	}
}

func BenchmarkFilterScore(b *testing.B) {
	nodes := make([]*framework.NodeInfo, 5000)
	for i := range nodes {
		var taints []api.Taint
		if i%3 == 0 {
			taints = append(taints, taint("dedicated", "infra", api.TaintEffectNoSchedule))
		}
		if i%2 == 0 {
			taints = append(taints, taint("spot", "true", api.TaintEffectPreferNoSchedule))
		}
		nodes[i] = node(fmt.Sprintf("node-%d", i), taints...)
	}
	p, _ := New(Args{}, nil)
	pd := pod(api.Toleration{Key: "dedicated", Operator: api.TolerationOpEqual, Value: "infra"})
	ctx := context.Background()
	scores := make([]framework.NodeScore, 0, len(nodes))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		state := framework.NewCycleState()
		scores = scores[:0]
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
