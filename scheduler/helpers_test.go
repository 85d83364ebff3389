package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
	"github.com/drover-io/drover/scheduler/plugins/defaultbinder"
	"github.com/drover-io/drover/scheduler/plugins/queuesort"
)

// fakeFilter rejects the nodes listed in reject with their status.
type fakeFilter struct {
	name   string
	reject map[string]*framework.Status
	calls  atomic.Int64
}

func (f *fakeFilter) Name() string { return f.name }
func (f *fakeFilter) Filter(_ context.Context, _ *framework.CycleState, _ *api.Pod, n *framework.NodeInfo) *framework.Status {
	f.calls.Add(1)
	return f.reject[n.Name()]
}

// fakePreFilter answers status and narrows to nodes (nil: all).
type fakePreFilter struct {
	name   string
	status *framework.Status
	nodes  []string
}

func (f *fakePreFilter) Name() string { return f.name }
func (f *fakePreFilter) PreFilter(context.Context, *framework.CycleState, *api.Pod, []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	if f.nodes == nil {
		return nil, f.status
	}
	m := make(map[string]struct{})
	for _, n := range f.nodes {
		m[n] = struct{}{}
	}
	return &framework.PreFilterResult{NodeNames: m}, f.status
}

// fakeScore scores nodes from a map; with normalize, scores are
// multiplied by 10 in NormalizeScore.
type fakeScore struct {
	name      string
	scores    map[string]int64
	normalize bool
}

func (f *fakeScore) Name() string { return f.name }
func (f *fakeScore) Score(_ context.Context, _ *framework.CycleState, _ *api.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	return f.scores[n.Name()], nil
}
func (f *fakeScore) ScoreExtensions() framework.ScoreExtensions {
	if f.normalize {
		return f
	}
	return nil
}
func (f *fakeScore) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *api.Pod, scores []framework.NodeScore) *framework.Status {
	for i := range scores {
		scores[i].Score *= 10
	}
	return nil
}

// fakePostFilter records its calls and nominates a node.
type fakePostFilter struct {
	name     string
	nominate string
	mu       sync.Mutex
	filtered map[string]*framework.Status
}

func (f *fakePostFilter) Name() string { return f.name }
func (f *fakePostFilter) PostFilter(_ context.Context, _ *framework.CycleState, _ *api.Pod, filtered map[string]*framework.Status) (*framework.PostFilterResult, *framework.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filtered = filtered
	if f.nominate == "" {
		return nil, framework.NewStatus(framework.Unschedulable, "not eligible.")
	}
	return &framework.PostFilterResult{NominatedNodeName: f.nominate}, nil
}

// fakePermit answers code (with timeout for Wait).
type fakePermit struct {
	name    string
	code    framework.Code
	timeout time.Duration
}

func (f *fakePermit) Name() string { return f.name }
func (f *fakePermit) Permit(context.Context, *framework.CycleState, *api.Pod, string) (*framework.Status, framework.Duration) {
	if f.code == framework.Success {
		return nil, 0
	}
	return framework.NewStatus(f.code, "permit says no"), f.timeout
}

// fakeReserve counts Reserve and Unreserve.
type fakeReserve struct {
	name                 string
	reserved, unreserved atomic.Int64
}

func (f *fakeReserve) Name() string { return f.name }
func (f *fakeReserve) Reserve(context.Context, *framework.CycleState, *api.Pod, string) *framework.Status {
	f.reserved.Add(1)
	return nil
}
func (f *fakeReserve) Unreserve(context.Context, *framework.CycleState, *api.Pod, string) {
	f.unreserved.Add(1)
}

// flakyBinder fails its first failures binds, then binds with the default
// binder.
type flakyBinder struct {
	name     string
	failures atomic.Int64
	calls    atomic.Int64
	next     framework.BindPlugin
}

func (f *flakyBinder) Name() string { return f.name }
func (f *flakyBinder) Bind(ctx context.Context, s *framework.CycleState, p *api.Pod, node string) *framework.Status {
	f.calls.Add(1)
	if f.failures.Add(-1) >= 0 {
		return framework.AsStatus(fmt.Errorf("injected bind failure"))
	}
	return f.next.Bind(ctx, s, p, node)
}

// plugins builds a Registry and a Profile enabling exactly the given
// plugins (plus PrioritySort and DefaultBinder), with weights.
func testProfile(name string, weights map[string]int32, plugins ...framework.Plugin) (Profile, Registry) {
	reg := Registry{}
	refs := []PluginRef{{Name: queuesort.Name}}
	for _, p := range plugins {
		pl := p
		reg[pl.Name()] = func(any, framework.Handle) (framework.Plugin, error) { return pl, nil }
		refs = append(refs, PluginRef{Name: pl.Name(), Weight: weights[pl.Name()]})
	}
	refs = append(refs, PluginRef{Name: defaultbinder.Name})
	return Profile{
		SchedulerName: name,
		Plugins:       Plugins{MultiPoint: PluginSet{Disabled: []PluginRef{{Name: "*"}}, Enabled: refs}},
	}, reg
}

func newTestFramework(t *testing.T, weights map[string]int32, plugins ...framework.Plugin) *Framework {
	t.Helper()
	p, reg := testProfile(DefaultSchedulerName, weights, plugins...)
	fw, err := NewFramework(p, FrameworkOptions{Registry: reg, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	return fw
}

func node(name string, cpu string) *api.Node {
	return &api.Node{
		ObjectMeta: api.ObjectMeta{Name: name},
		Status: api.NodeStatus{Allocatable: api.ResourceList{
			api.ResourceCPU:    resource.MustParse(cpu),
			api.ResourceMemory: resource.MustParse("8Gi"),
			"pods":             resource.MustParse("110"),
		}},
	}
}

func nodes(n int) []*api.Node {
	out := make([]*api.Node, n)
	for i := range out {
		out[i] = node(fmt.Sprintf("n%d", i+1), "4")
	}
	return out
}

func testPod(name string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, UID: api.UID("uid-" + name)},
		Spec:       api.PodSpec{SchedulerName: DefaultSchedulerName, Containers: []api.Container{{Name: "c", Image: "busybox"}}},
	}
}

func snap(ns []*api.Node, pods ...*api.Pod) framework.Snapshot {
	return cache.NewSnapshotFrom(ns, pods)
}
