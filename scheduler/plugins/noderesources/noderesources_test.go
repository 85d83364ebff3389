package noderesources

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler/framework"
	"sigs.k8s.io/yaml"
)

// rl builds a ResourceList from "name=quantity" pairs.
func rl(pairs ...string) api.ResourceList {
	out := api.ResourceList{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		out[api.ResourceName(k)] = resource.MustParse(v)
	}
	return out
}

// pod returns a pod with one container per request list (an empty list:
// a container without requests).
func pod(requests ...api.ResourceList) *api.Pod {
	p := &api.Pod{}
	p.Name = "p"
	for i, r := range requests {
		p.Spec.Containers = append(p.Spec.Containers, api.Container{
			Name: fmt.Sprint("c", i), Resources: api.ResourceRequirements{Requests: r},
		})
	}
	return p
}

func node(name string, allocatable api.ResourceList, pods ...*api.Pod) *framework.NodeInfo {
	n := &api.Node{}
	n.Name = name
	n.Status.Allocatable = allocatable
	return framework.NewNodeInfo(n, pods...)
}

func filter(t *testing.T, p *Plugin, pd *api.Pod, n *framework.NodeInfo) *framework.Status {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	if _, st := p.PreFilter(ctx, state, pd, nil); !st.IsSuccess() {
		t.Fatalf("PreFilter = %v", st)
	}
	return p.Filter(ctx, state, pd, n)
}

func TestFilter(t *testing.T) {
	alloc := rl("cpu=4", "memory=8Gi", "pods=10", "ephemeral-storage=10Gi", "example.com/gpu=4")
	busy := pod(rl("cpu=3500m", "memory=6Gi", "example.com/gpu=3", "ephemeral-storage=9Gi"))
	tests := []struct {
		name     string
		args     Args
		pod      *api.Pod
		node     *framework.NodeInfo
		wantCode framework.Code
		reasons  []string
	}{
		{"fits", Args{}, pod(rl("cpu=500m", "memory=2Gi")), node("n", alloc, busy), framework.Success, nil},
		{"no requests fit a full node", Args{}, pod(api.ResourceList{}), node("n", alloc, busy, busy), framework.Success, nil},
		{"insufficient cpu", Args{}, pod(rl("cpu=1")), node("n", alloc, busy),
			framework.Unschedulable, []string{"Insufficient cpu"}},
		{"insufficient cpu and memory", Args{}, pod(rl("cpu=600m"), rl("memory=3Gi")), node("n", alloc, busy),
			framework.Unschedulable, []string{"Insufficient cpu", "Insufficient memory"}},
		{"insufficient ephemeral storage", Args{}, pod(rl("ephemeral-storage=2Gi")), node("n", alloc, busy),
			framework.Unschedulable, []string{"Insufficient ephemeral-storage"}},
		{"insufficient extended resource", Args{}, pod(rl("example.com/gpu=2")), node("n", alloc, busy),
			framework.Unschedulable, []string{"Insufficient example.com/gpu"}},
		{"extended resource the node lacks", Args{}, pod(rl("example.com/fpga=1")), node("n", alloc),
			framework.UnschedulableAndUnresolvable, []string{"Insufficient example.com/fpga"}},
		{"more than the node has in all", Args{}, pod(rl("cpu=5")), node("n", alloc),
			framework.UnschedulableAndUnresolvable, []string{"Insufficient cpu"}},
		{"too many pods", Args{}, pod(rl("cpu=100m")), node("n", rl("cpu=4", "memory=8Gi", "pods=1"), pod(api.ResourceList{})),
			framework.Unschedulable, []string{"Too many pods"}},
		{"every reason, pods first", Args{}, pod(rl("cpu=1", "memory=3Gi", "example.com/gpu=2", "example.com/a=1")),
			node("n", rl("cpu=4", "memory=8Gi", "pods=1", "example.com/gpu=4", "example.com/a=1"), busy),
			framework.Unschedulable, []string{"Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient example.com/gpu"}},
		{"init container counts when larger", Args{}, func() *api.Pod {
			p := pod(rl("cpu=100m"))
			p.Spec.InitContainers = []api.Container{{Name: "init", Resources: api.ResourceRequirements{Requests: rl("cpu=1")}}}
			return p
		}(), node("n", alloc, busy), framework.Unschedulable, []string{"Insufficient cpu"}},
		{"ignored resource", Args{IgnoredResources: []string{"example.com/gpu"}}, pod(rl("example.com/gpu=2")), node("n", alloc, busy), framework.Success, nil},
		{"ignored resource group", Args{IgnoredResourceGroups: []string{"example.com"}}, pod(rl("example.com/gpu=9")), node("n", alloc), framework.Success, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			st := filter(t, p, tt.pod, tt.node)
			if st.Code() != tt.wantCode || !slices.Equal(st.Reasons(), tt.reasons) {
				t.Errorf("Filter = %v %q, want %v %q", st.Code(), st.Reasons(), tt.wantCode, tt.reasons)
			}
		})
	}
}

type scorePlugin interface {
	framework.PreScorePlugin
	framework.ScorePlugin
}

func score(t *testing.T, p scorePlugin, pd *api.Pod, n *framework.NodeInfo) int64 {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	if st := p.PreScore(ctx, state, pd, nil); !st.IsSuccess() {
		t.Fatalf("PreScore = %v", st)
	}
	s, st := p.Score(ctx, state, pd, n)
	if !st.IsSuccess() {
		t.Fatalf("Score = %v", st)
	}
	return s
}

func TestFitScore(t *testing.T) {
	alloc := rl("cpu=4", "memory=8Gi", "pods=110")
	half := node("half", alloc, pod(rl("cpu=1", "memory=2Gi")))
	empty := node("empty", alloc)
	strategy := func(typ ScoringStrategyType, rs ...ResourceSpec) Args {
		return Args{ScoringStrategy: &ScoringStrategy{Type: typ, Resources: rs}}
	}
	ratio := func(shape []UtilizationShapePoint, rs ...ResourceSpec) Args {
		return Args{ScoringStrategy: &ScoringStrategy{Type: RequestedToCapacityRatio, Resources: rs,
			RequestedToCapacityRatio: &RequestedToCapacityRatioParam{Shape: shape}}}
	}
	spreadShape := []UtilizationShapePoint{{0, 10}, {100, 0}}
	curve := []UtilizationShapePoint{{20, 2}, {60, 10}}
	tests := []struct {
		name string
		args Args
		pod  *api.Pod
		node *framework.NodeInfo
		want int64
	}{
		// cpu 2/4 used → 50, memory 4/8 → 50.
		{"least allocated, half full", Args{}, pod(rl("cpu=1", "memory=2Gi")), half, 50},
		// cpu 1/4 → 75, memory 2/8 → 75.
		{"least allocated, empty", Args{}, pod(rl("cpu=1", "memory=2Gi")), empty, 75},
		// No requests count as 100m and 200Mi: (4000-100)×100/4000 = 97,
		// (8192-200)×100/8192 = 97.
		{"least allocated, best effort", Args{}, pod(api.ResourceList{}), empty, 97},
		// cpu 2/4 → 50 weight 3, memory 1/8 → 87 weight 1: 237/4 = 59.
		{"least allocated, weights", strategy(LeastAllocated, ResourceSpec{"cpu", 3}, ResourceSpec{"memory", 1}),
			pod(rl("cpu=2", "memory=1Gi")), empty, 59},
		{"most allocated, half full", strategy(MostAllocated), pod(rl("cpu=1", "memory=2Gi")), half, 50},
		{"most allocated, empty", strategy(MostAllocated), pod(rl("cpu=1", "memory=2Gi")), empty, 25},
		{"most allocated, over capacity counts as full", strategy(MostAllocated, ResourceSpec{"cpu", 1}),
			pod(rl("cpu=5")), empty, 100},
		// Extended resources count only when the pod asks for them.
		{"extended resource not requested", strategy(LeastAllocated, ResourceSpec{"cpu", 1}, ResourceSpec{"example.com/gpu", 5}),
			pod(rl("cpu=1")), node("gpu", rl("cpu=4", "example.com/gpu=4", "pods=10")), 75},
		// cpu 75 ×1, gpu 1/4 requested → 75 ×5.
		{"extended resource requested", strategy(MostAllocated, ResourceSpec{"cpu", 1}, ResourceSpec{"example.com/gpu", 5}),
			pod(rl("cpu=3", "example.com/gpu=1")), node("gpu", rl("cpu=4", "example.com/gpu=4", "pods=10")), (75 + 25*5) / 6},
		// cpu 25% and memory 25% on the line from 100 down to 0.
		{"ratio, spreading shape", ratio(spreadShape), pod(rl("cpu=1", "memory=2Gi")), empty, 75},
		// cpu 25% → 20 + 80×5/40 = 30; memory 12% → below the first point, 20;
		// (30×1 + 20×2)/3 = 23.3, rounded.
		{"ratio, interpolated and weighted", ratio(curve, ResourceSpec{"cpu", 1}, ResourceSpec{"memory", 2}),
			pod(rl("cpu=1", "memory=1Gi")), empty, 23},
		{"ratio, above the last point", ratio(curve, ResourceSpec{"cpu", 1}), pod(rl("cpu=3500m")), empty, 100},
		{"no scored resource on the node", Args{}, pod(rl("cpu=1")), node("bare", rl("pods=10")), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := score(t, p, tt.pod, tt.node); got != tt.want {
				t.Errorf("Score = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestBalancedAllocationScore(t *testing.T) {
	alloc := rl("cpu=4", "memory=8Gi", "pods=110", "example.com/gpu=4")
	tests := []struct {
		name string
		args BalancedAllocationArgs
		pod  *api.Pod
		node *framework.NodeInfo
		want int64
	}{
		// Fractions 0.25 and 0.5: 100 × (1 - 0.125).
		{"unbalanced", BalancedAllocationArgs{}, pod(rl("cpu=1", "memory=4Gi")), node("n", alloc), 87},
		{"balanced", BalancedAllocationArgs{}, pod(rl("cpu=2", "memory=4Gi")), node("n", alloc), 100},
		// Existing pod 1 cpu, 6Gi: fractions 0.5 and 1 → 75.
		{"counts the node's pods", BalancedAllocationArgs{}, pod(rl("cpu=1", "memory=2Gi")),
			node("n", alloc, pod(rl("cpu=1", "memory=6Gi"))), 75},
		// Fractions 0.25, 0.5, 0.25: std = sqrt(1/72) = 0.1179 → 88.
		{"three resources", BalancedAllocationArgs{Resources: []ResourceSpec{{"cpu", 1}, {"memory", 1}, {"example.com/gpu", 1}}},
			pod(rl("cpu=1", "memory=4Gi", "example.com/gpu=1")), node("n", alloc), 88},
		// Over-requested memory is capped at 1: fractions 0.25 and 1.
		{"capped fraction", BalancedAllocationArgs{}, pod(rl("cpu=1", "memory=16Gi")), node("n", alloc), 62},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewBalancedAllocation(tt.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := score(t, p, tt.pod, tt.node); got != tt.want {
				t.Errorf("Score = %d, want %d", got, tt.want)
			}
		})
	}
	p, _ := NewBalancedAllocation(BalancedAllocationArgs{}, nil)
	if st := p.PreScore(context.Background(), framework.NewCycleState(), pod(api.ResourceList{}), nil); !st.IsSkip() {
		t.Errorf("PreScore of a pod without requests = %v, want Skip", st)
	}
	if p.Name() != "NodeResourcesBalancedAllocation" {
		t.Errorf("Name() = %q", p.Name())
	}
}

func TestArgsValidate(t *testing.T) {
	ratio := func(shape ...UtilizationShapePoint) *ScoringStrategy {
		return &ScoringStrategy{Type: RequestedToCapacityRatio, RequestedToCapacityRatio: &RequestedToCapacityRatioParam{Shape: shape}}
	}
	tests := []struct {
		name string
		args Args
		want string // substring of the error; "" for valid
	}{
		{"zero value", Args{}, ""},
		{"most allocated with weights", Args{ScoringStrategy: &ScoringStrategy{Type: MostAllocated, Resources: []ResourceSpec{{"cpu", 2}, {"example.com/gpu", 100}}}}, ""},
		{"ratio", Args{ScoringStrategy: ratio(UtilizationShapePoint{0, 0}, UtilizationShapePoint{100, 10})}, ""},
		{"unknown type", Args{ScoringStrategy: &ScoringStrategy{Type: "Random"}}, "scoringStrategy.type"},
		{"ratio without shape", Args{ScoringStrategy: &ScoringStrategy{Type: RequestedToCapacityRatio}}, "scoringStrategy.requestedToCapacityRatio.shape"},
		{"shape on another type", Args{ScoringStrategy: &ScoringStrategy{Type: LeastAllocated, RequestedToCapacityRatio: &RequestedToCapacityRatioParam{}}}, "scoringStrategy.requestedToCapacityRatio"},
		{"utilization out of range", Args{ScoringStrategy: ratio(UtilizationShapePoint{101, 0})}, "shape[0].utilization"},
		{"utilization not increasing", Args{ScoringStrategy: ratio(UtilizationShapePoint{50, 0}, UtilizationShapePoint{50, 1})}, "shape[1].utilization"},
		{"score out of range", Args{ScoringStrategy: ratio(UtilizationShapePoint{0, 11})}, "shape[0].score"},
		{"zero weight", Args{ScoringStrategy: &ScoringStrategy{Resources: []ResourceSpec{{"cpu", 0}}}}, "scoringStrategy.resources[0].weight"},
		{"duplicate resource", Args{ScoringStrategy: &ScoringStrategy{Resources: []ResourceSpec{{"cpu", 1}, {"cpu", 1}}}}, "scoringStrategy.resources[1].name"},
		{"empty ignored resource", Args{IgnoredResources: []string{""}}, "ignoredResources[0]"},
		{"group with a slash", Args{IgnoredResourceGroups: []string{"example.com/gpu"}}, "ignoredResourceGroups[0]"},
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
				t.Errorf("Validate() = %v, want an error about %q", err, tt.want)
			}
			if _, nerr := New(tt.args, nil); nerr == nil {
				t.Error("New accepted invalid args")
			}
		})
	}
	if err := (BalancedAllocationArgs{Resources: []ResourceSpec{{"", 1}}}).Validate(); err == nil || !strings.Contains(err.Error(), "resources[0].name") {
		t.Errorf("BalancedAllocationArgs.Validate() = %v, want an error about resources[0].name", err)
	}
}

func benchNodes() []*framework.NodeInfo {
	nodes := make([]*framework.NodeInfo, 5000)
	for i := range nodes {
		var pods []*api.Pod
		for j := range i % 8 {
			pods = append(pods, pod(rl(fmt.Sprintf("cpu=%dm", 100+50*j), fmt.Sprintf("memory=%dMi", 256*(j+1)))))
		}
		nodes[i] = node(fmt.Sprintf("node-%d", i), rl("cpu=8", "memory=32Gi", "pods=110", "ephemeral-storage=100Gi"), pods...)
	}
	return nodes
}

func BenchmarkFilterScore(b *testing.B) {
	nodes := benchNodes()
	pd := pod(rl("cpu=500m", "memory=1Gi"), api.ResourceList{})
	ctx := context.Background()
	for _, typ := range []ScoringStrategyType{LeastAllocated, MostAllocated, RequestedToCapacityRatio} {
		b.Run(string(typ), func(b *testing.B) {
			args := Args{ScoringStrategy: &ScoringStrategy{Type: typ}}
			if typ == RequestedToCapacityRatio {
				args.ScoringStrategy.RequestedToCapacityRatio = &RequestedToCapacityRatioParam{Shape: []UtilizationShapePoint{{0, 0}, {100, 10}}}
			}
			p, err := New(args, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				state := framework.NewCycleState()
				p.PreFilter(ctx, state, pd, nodes)
				p.PreScore(ctx, state, pd, nodes)
				for _, n := range nodes {
					if p.Filter(ctx, state, pd, n).IsSuccess() {
						p.Score(ctx, state, pd, n)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(nodes)), "ns/node")
		})
	}
	b.Run("BalancedAllocation", func(b *testing.B) {
		p, _ := NewBalancedAllocation(BalancedAllocationArgs{}, nil)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			state := framework.NewCycleState()
			p.PreScore(ctx, state, pd, nodes)
			for _, n := range nodes {
				p.Score(ctx, state, pd, n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(nodes)), "ns/node")
	})
}

func TestArgsFromYAML(t *testing.T) {
	const doc = `
ignoredResourceGroups: [example.com]
scoringStrategy:
  type: RequestedToCapacityRatio
  resources:
  - name: cpu
    weight: 2
  - name: memory
    weight: 1
  requestedToCapacityRatio:
    shape:
    - utilization: 0
      score: 0
    - utilization: 100
      score: 10
`
	var args Args
	if err := yaml.UnmarshalStrict([]byte(doc), &args); err != nil {
		t.Fatal(err)
	}
	if err := args.Validate(); err != nil {
		t.Fatal(err)
	}
	s := args.ScoringStrategy
	if s.Type != RequestedToCapacityRatio || len(s.Resources) != 2 || s.Resources[0].Weight != 2 ||
		len(s.RequestedToCapacityRatio.Shape) != 2 || s.RequestedToCapacityRatio.Shape[1].Score != 10 ||
		args.IgnoredResourceGroups[0] != "example.com" {
		t.Errorf("decoded %+v", args)
	}
}

// TestConcurrentFilterScore runs a cycle's Filter and Score from several
// goroutines at once, as the scheduler does (run with -race).
func TestConcurrentFilterScore(t *testing.T) {
	nodes := benchNodes()[:200]
	pd := pod(rl("cpu=500m", "memory=1Gi"))
	fit, _ := New(Args{}, nil)
	bal, _ := NewBalancedAllocation(BalancedAllocationArgs{}, nil)
	ctx := context.Background()
	state := framework.NewCycleState()
	fit.PreFilter(ctx, state, pd, nodes)
	fit.PreScore(ctx, state, pd, nodes)
	bal.PreScore(ctx, state, pd, nodes)
	want := make([]int64, len(nodes))
	for i, n := range nodes {
		want[i], _ = fit.Score(ctx, state, pd, n)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(nodes); i += 4 {
				if st := fit.Filter(ctx, state, pd, nodes[i]); !st.IsSuccess() {
					t.Errorf("Filter(%s) = %v", nodes[i].Name(), st)
				}
				if s, _ := fit.Score(ctx, state, pd, nodes[i]); s != want[i] {
					t.Errorf("Score(%s) = %d, want %d", nodes[i].Name(), s, want[i])
				}
				bal.Score(ctx, state, pd, nodes[i])
			}
		}()
	}
	wg.Wait()
}
