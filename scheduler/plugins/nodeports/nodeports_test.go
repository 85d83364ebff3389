package nodeports

import (
	"context"
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// port is a host port a container asks for.
type port struct {
	ip    string
	proto api.Protocol
	port  int32
}

func pod(ports ...port) *api.Pod {
	p := &api.Pod{}
	p.Name = "p"
	c := api.Container{Name: "c"}
	for _, hp := range ports {
		c.Ports = append(c.Ports, api.ContainerPort{ContainerPort: 80, HostIP: hp.ip, Protocol: hp.proto, HostPort: hp.port})
	}
	p.Spec.Containers = []api.Container{c}
	return p
}

func node(pods ...*api.Pod) *framework.NodeInfo {
	n := &api.Node{}
	n.Name = "n"
	return framework.NewNodeInfo(n, pods...)
}

func TestPreFilterSkipsPodsWithoutHostPorts(t *testing.T) {
	p, _ := New(Args{}, nil)
	_, st := p.PreFilter(context.Background(), framework.NewCycleState(), pod(port{"", "", 0}), nil)
	if !st.IsSkip() {
		t.Errorf("PreFilter = %v, want Skip", st)
	}
}

func TestFilter(t *testing.T) {
	const reason = "node(s) didn't have free ports for the requested pod ports"
	tests := []struct {
		name string
		pod  *api.Pod
		used []*api.Pod
		fits bool
	}{
		{"free node", pod(port{"", "", 8080}), nil, true},
		{"other port", pod(port{"", "", 8080}), []*api.Pod{pod(port{"", "", 8081})}, true},
		{"same port, default protocol", pod(port{"", "", 8080}), []*api.Pod{pod(port{"", api.ProtocolTCP, 8080})}, false},
		{"same port, other protocol", pod(port{"", api.ProtocolUDP, 8080}), []*api.Pod{pod(port{"", api.ProtocolTCP, 8080})}, true},
		{"same port, different IPs", pod(port{"10.0.0.1", "", 8080}), []*api.Pod{pod(port{"10.0.0.2", "", 8080})}, true},
		{"same port, same IP", pod(port{"10.0.0.1", "", 8080}), []*api.Pod{pod(port{"10.0.0.1", "", 8080})}, false},
		{"wildcard wanted, specific used", pod(port{"0.0.0.0", "", 8080}), []*api.Pod{pod(port{"10.0.0.2", "", 8080})}, false},
		{"empty IP wanted, specific used", pod(port{"", "", 8080}), []*api.Pod{pod(port{"10.0.0.2", "", 8080})}, false},
		{"specific wanted, wildcard used", pod(port{"10.0.0.1", "", 8080}), []*api.Pod{pod(port{"0.0.0.0", "", 8080})}, false},
		{"specific wanted, empty IP used", pod(port{"10.0.0.1", "", 8080}), []*api.Pod{pod(port{"", "", 8080})}, false},
		{"wildcard wanted, specific used, other protocol", pod(port{"", api.ProtocolSCTP, 8080}), []*api.Pod{pod(port{"10.0.0.2", "", 8080})}, true},
		{"one of several conflicts", pod(port{"", "", 1}, port{"", api.ProtocolUDP, 53}), []*api.Pod{pod(port{"", api.ProtocolUDP, 53})}, false},
	}
	p, _ := New(Args{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			state := framework.NewCycleState()
			if _, st := p.PreFilter(ctx, state, tt.pod, nil); !st.IsSuccess() {
				t.Fatalf("PreFilter = %v", st)
			}
			st := p.Filter(ctx, state, tt.pod, node(tt.used...))
			if tt.fits {
				if !st.IsSuccess() {
					t.Errorf("Filter = %v, want Success", st)
				}
				return
			}
			if st.Code() != framework.Unschedulable || !slices.Equal(st.Reasons(), []string{reason}) {
				t.Errorf("Filter = %v %q, want Unschedulable %q", st.Code(), st.Reasons(), reason)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	if err := (Args{}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if p, _ := New(Args{}, nil); p.Name() != "NodePorts" {
		t.Errorf("Name() = %q", p.Name())
	}
}

func BenchmarkFilterScore(b *testing.B) {
	nodes := make([]*framework.NodeInfo, 5000)
	for i := range nodes {
		var pods []*api.Pod
		for j := range 3 {
			pods = append(pods, pod(port{"", "", int32(8000 + (i+j)%50)}))
		}
		nodes[i] = node(pods...)
	}
	p, _ := New(Args{}, nil)
	pd := pod(port{"", "", 8010}, port{"10.0.0.1", api.ProtocolUDP, 53})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		state := framework.NewCycleState()
		p.PreFilter(ctx, state, pd, nodes)
		for _, n := range nodes {
			p.Filter(ctx, state, pd, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(nodes)), "ns/node")
}
