package nodename

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

func node(name string) *framework.NodeInfo {
	n := &api.Node{}
	n.Name = name
	return framework.NewNodeInfo(n)
}

func pod(nodeName string) *api.Pod {
	p := &api.Pod{}
	p.Name = "p"
	p.Spec.NodeName = nodeName
	return p
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name     string
		pod      *api.Pod
		node     string
		wantCode framework.Code
		reasons  []string
	}{
		{"no node name fits any node", pod(""), "a", framework.Success, nil},
		{"same node name fits", pod("a"), "a", framework.Success, nil},
		{"other node name is rejected", pod("b"), "a", framework.UnschedulableAndUnresolvable, []string{"node(s) didn't match the requested node name"}},
	}
	p, err := New(Args{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := p.Filter(context.Background(), framework.NewCycleState(), tt.pod, node(tt.node))
			if st.Code() != tt.wantCode || !slices.Equal(st.Reasons(), tt.reasons) {
				t.Errorf("Filter = %v %q, want %v %q", st.Code(), st.Reasons(), tt.wantCode, tt.reasons)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	if err := (Args{}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if p, _ := New(Args{}, nil); p.Name() != "NodeName" {
		t.Errorf("Name() = %q", p.Name())
	}
}

func BenchmarkFilterScore(b *testing.B) {
	nodes := make([]*framework.NodeInfo, 5000)
	for i := range nodes {
		nodes[i] = node(fmt.Sprintf("node-%d", i))
	}
	p, _ := New(Args{}, nil)
	pd := pod("node-42")
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
