package nodeunschedulable

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

func node(name string, unschedulable bool) *framework.NodeInfo {
	n := &api.Node{}
	n.Name = name
	n.Spec.Unschedulable = unschedulable
	return framework.NewNodeInfo(n)
}

func pod(tolerations ...api.Toleration) *api.Pod {
	p := &api.Pod{}
	p.Name = "p"
	p.Spec.Tolerations = tolerations
	return p
}

func TestFilter(t *testing.T) {
	const reason = "node(s) were unschedulable"
	tests := []struct {
		name          string
		pod           *api.Pod
		unschedulable bool
		wantCode      framework.Code
		reasons       []string
	}{
		{"schedulable node", pod(), false, framework.Success, nil},
		{"unschedulable node", pod(), true, framework.UnschedulableAndUnresolvable, []string{reason}},
		{"tolerates the taint exactly", pod(api.Toleration{Key: TaintKey, Operator: api.TolerationOpExists, Effect: api.TaintEffectNoSchedule}), true, framework.Success, nil},
		{"tolerates every effect of the key", pod(api.Toleration{Key: TaintKey, Operator: api.TolerationOpExists}), true, framework.Success, nil},
		{"tolerates everything", pod(api.Toleration{Operator: api.TolerationOpExists}), true, framework.Success, nil},
		{"tolerates another effect only", pod(api.Toleration{Key: TaintKey, Operator: api.TolerationOpExists, Effect: api.TaintEffectNoExecute}), true, framework.UnschedulableAndUnresolvable, []string{reason}},
		{"tolerates another key", pod(api.Toleration{Key: "other", Operator: api.TolerationOpExists}), true, framework.UnschedulableAndUnresolvable, []string{reason}},
	}
	p, _ := New(Args{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := p.Filter(context.Background(), framework.NewCycleState(), tt.pod, node("n", tt.unschedulable))
			if st.Code() != tt.wantCode || !slices.Equal(st.Reasons(), tt.reasons) {
				t.Errorf("Filter = %v %q, want %v %q", st.Code(), st.Reasons(), tt.wantCode, tt.reasons)
			}
		})
	}
	if st := p.Filter(context.Background(), framework.NewCycleState(), pod(), framework.NewNodeInfo(nil)); st.Code() != framework.UnschedulableAndUnresolvable {
		t.Errorf("Filter(no node) = %v, want UnschedulableAndUnresolvable", st.Code())
	}
}

func TestArgs(t *testing.T) {
	if err := (Args{}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if p, _ := New(Args{}, nil); p.Name() != "NodeUnschedulable" {
		t.Errorf("Name() = %q", p.Name())
	}
}

func BenchmarkFilterScore(b *testing.B) {
	nodes := make([]*framework.NodeInfo, 5000)
	for i := range nodes {
		nodes[i] = node(fmt.Sprintf("node-%d", i), i%10 == 0)
	}
	p, _ := New(Args{}, nil)
	pd := pod(api.Toleration{Key: "x", Operator: api.TolerationOpExists})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		state := framework.NewCycleState()
		for _, n := range nodes {
			p.Filter(ctx, state, pd, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(nodes)), "ns/node")
}
