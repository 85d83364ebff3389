package defaultpreemption

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/plugins/interpodaffinity"
	"github.com/drover-io/drover/scheduler/plugins/podtopologyspread"
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

// fakeClient records what preemption writes.
type fakeClient struct {
	deleted   []string
	nominated map[string]string
	deleteErr error
}

func (c *fakeClient) Bind(context.Context, string, string, api.UID, string) error { return nil }
func (c *fakeClient) DeletePod(_ context.Context, p *api.Pod) error {
	if c.deleteErr != nil {
		return c.deleteErr
	}
	c.deleted = append(c.deleted, p.Name)
	return nil
}
func (c *fakeClient) SetNominatedNode(_ context.Context, p *api.Pod, node string) error {
	if c.nominated == nil {
		c.nominated = map[string]string{}
	}
	c.nominated[p.Name] = node
	return nil
}

// handle runs a given list of plugins, as the scheduler's framework does.
type handle struct {
	snap    snapshot
	plugins []framework.Plugin
	client  *fakeClient
}

func (h *handle) Snapshot() framework.Snapshot            { return h.snap }
func (h *handle) Client() framework.Client                { return h.client }
func (h *handle) WaitingPod(api.UID) framework.WaitingPod { return nil }
func (h *handle) RunFilterPlugins(ctx context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	for _, p := range h.plugins {
		if f, ok := p.(framework.FilterPlugin); ok {
			if s := f.Filter(ctx, state, pod, node); !s.IsSuccess() {
				return s
			}
		}
	}
	return nil
}
func (h *handle) RunPreFilterExtensionAddPod(ctx context.Context, state *framework.CycleState, pod *api.Pod, add *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	for _, p := range h.plugins {
		if e, ok := p.(framework.PreFilterWithExtensions); ok {
			if s := e.PreFilterExtensions().AddPod(ctx, state, pod, add, node); !s.IsSuccess() {
				return s
			}
		}
	}
	return nil
}
func (h *handle) RunPreFilterExtensionRemovePod(ctx context.Context, state *framework.CycleState, pod *api.Pod, remove *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	for _, p := range h.plugins {
		if e, ok := p.(framework.PreFilterWithExtensions); ok {
			if s := e.PreFilterExtensions().RemovePod(ctx, state, pod, remove, node); !s.IsSuccess() {
				return s
			}
		}
	}
	return nil
}

// cpuFit is a Filter plugin: the pod's CPU request must fit.
type cpuFit struct{}

func (cpuFit) Name() string { return "cpuFit" }
func (cpuFit) Filter(_ context.Context, _ *framework.CycleState, pod *api.Pod, n *framework.NodeInfo) *framework.Status {
	if n.Requested.MilliCPU+framework.PodRequests(pod).MilliCPU > n.Allocatable.MilliCPU {
		return framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
	}
	return nil
}

// unresolvable rejects the nodes it names as UnschedulableAndUnresolvable.
type unresolvable map[string]bool

func (unresolvable) Name() string { return "unresolvable" }
func (u unresolvable) Filter(_ context.Context, _ *framework.CycleState, _ *api.Pod, n *framework.NodeInfo) *framework.Status {
	if u[n.Name()] {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector")
	}
	return nil
}

// node returns a node with milliCPU; n1 and n3 are in zone a, the
// others in zone b.
func node(name string, milliCPU int64) *api.Node {
	n := &api.Node{}
	n.Name = name
	n.Labels = map[string]string{"kubernetes.io/hostname": name, "zone": "b"}
	if name == "n1" || name == "n3" {
		n.Labels["zone"] = "a"
	}
	n.Status.Allocatable = api.ResourceList{api.ResourceCPU: resource.NewMilliQuantity(milliCPU, resource.DecimalSI)}
	return n
}

type podOpt func(*api.Pod)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func pod(name string, prio int32, milliCPU int64, opts ...podOpt) *api.Pod {
	p := &api.Pod{}
	p.Name, p.Namespace, p.UID = name, "default", api.UID(name)
	p.Spec.Priority = &prio
	p.Spec.Containers = []api.Container{{Name: "c", Resources: api.ResourceRequirements{
		Requests: api.ResourceList{api.ResourceCPU: resource.NewMilliQuantity(milliCPU, resource.DecimalSI)}}}}
	p.Status.StartTime = &api.Time{Time: t0}
	for _, o := range opts {
		o(p)
	}
	return p
}

func started(d time.Duration) podOpt {
	return func(p *api.Pod) { p.Status.StartTime = &api.Time{Time: t0.Add(d)} }
}

func labeled(kv ...string) podOpt {
	return func(p *api.Pod) {
		p.Labels = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func antiAffinity(app string) podOpt {
	return func(p *api.Pod) {
		p.Spec.Affinity = &api.Affinity{PodAntiAffinity: &api.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{{
			TopologyKey:   "kubernetes.io/hostname",
			LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{"app": app}},
		}}}}
	}
}

type nodeSpec struct {
	name     string
	milliCPU int64
	pods     []*api.Pod
}

// attempt runs a scheduling attempt for pod as the scheduler would:
// PreFilter, Filter on every node, then PostFilter.
func attempt(t *testing.T, nodes []nodeSpec, plugins []framework.Plugin, args Args, in *api.Pod, client *fakeClient) (*framework.PostFilterResult, *framework.Status, *Plugin) {
	t.Helper()
	var snap snapshot
	for _, n := range nodes {
		snap = append(snap, framework.NewNodeInfo(node(n.name, n.milliCPU), n.pods...))
	}
	h := &handle{snap: snap, plugins: plugins, client: client}
	ctx := context.Background()
	state := framework.NewCycleState()
	for _, p := range plugins {
		if pf, ok := p.(framework.PreFilterPlugin); ok {
			if _, s := pf.PreFilter(ctx, state, in, snap); !s.IsSuccess() && !s.IsSkip() {
				t.Fatalf("PreFilter %s: %v", p.Name(), s.Err())
			}
		}
	}
	filtered := map[string]*framework.Status{}
	for _, n := range snap {
		s := h.RunFilterPlugins(ctx, state, in, n)
		if s.IsSuccess() {
			t.Fatalf("pod fits on %s without preemption", n.Name())
		}
		filtered[n.Name()] = s
	}
	p, err := New(args, h)
	if err != nil {
		t.Fatal(err)
	}
	r, s := p.PostFilter(ctx, state, in, filtered)
	return r, s, p
}

func TestPostFilter(t *testing.T) {
	never := api.PreemptNever
	ipa, _ := interpodaffinity.New(interpodaffinity.Args{}, nil)
	pts, _ := podtopologyspread.New(podtopologyspread.Args{}, nil)
	spreadWeb := func(p *api.Pod) {
		p.Spec.TopologySpreadConstraints = []api.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: api.DoNotSchedule,
			LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		}}
	}
	tests := []struct {
		name      string
		nodes     []nodeSpec
		plugins   []framework.Plugin // default: cpuFit
		pod       *api.Pod
		wantNode  string // "" means none
		wantDel   []string
		wantInMsg string
	}{
		{
			name:     "lowest priority victim wins",
			nodes:    []nodeSpec{{"n1", 1000, []*api.Pod{pod("mid", 5, 600)}}, {"n2", 1000, []*api.Pod{pod("low", 1, 600)}}},
			pod:      pod("p", 10, 600),
			wantNode: "n2", wantDel: []string{"low"},
		},
		{
			name: "reprieve from the highest priority down; keep as many as fit",
			nodes: []nodeSpec{{"n1", 1000, []*api.Pod{
				pod("a", 1, 300), pod("b", 2, 300), pod("c", 3, 300),
			}}},
			pod:      pod("p", 10, 400),
			wantNode: "n1", wantDel: []string{"a"},
		},
		{
			name: "several victims, most important first",
			nodes: []nodeSpec{{"n1", 1000, []*api.Pod{
				pod("a", 1, 300), pod("b", 2, 300), pod("c", 3, 300), pod("keep", 20, 100),
			}}},
			pod:      pod("p", 10, 800),
			wantNode: "n1", wantDel: []string{"c", "b", "a"},
		},
		{
			name:      "equal or higher priority pods are not victims",
			nodes:     []nodeSpec{{"n1", 1000, []*api.Pod{pod("same", 10, 600)}}, {"n2", 1000, []*api.Pod{pod("high", 20, 600)}}},
			pod:       pod("p", 10, 600),
			wantInMsg: "0/2 nodes are available: 2 " + ReasonNoVictims,
		},
		{
			name:      "removing every lower pod is not enough",
			nodes:     []nodeSpec{{"n1", 1000, []*api.Pod{pod("low", 1, 300), pod("high", 20, 600)}}},
			pod:       pod("p", 10, 600),
			wantInMsg: "1 " + ReasonNotHelpful,
		},
		{
			name:      "preemptionPolicy Never",
			nodes:     []nodeSpec{{"n1", 1000, []*api.Pod{pod("low", 1, 600)}}},
			pod:       pod("p", 10, 600, func(p *api.Pod) { p.Spec.PreemptionPolicy = &never }),
			wantInMsg: ReasonNotEligible,
		},
		{
			name:     "UnschedulableAndUnresolvable nodes are not candidates",
			nodes:    []nodeSpec{{"n1", 1000, []*api.Pod{pod("low", 1, 600)}}, {"n2", 1000, []*api.Pod{pod("low2", 2, 600)}}},
			plugins:  []framework.Plugin{unresolvable{"n1": true}, cpuFit{}},
			pod:      pod("p", 10, 600),
			wantNode: "n2", wantDel: []string{"low2"},
		},
		{
			name: "same highest priority: smallest sum of priorities",
			nodes: []nodeSpec{
				{"n1", 1000, []*api.Pod{pod("a1", 3, 500), pod("a2", 3, 500)}},
				{"n2", 1000, []*api.Pod{pod("b1", 3, 600), pod("b2", 20, 100)}},
			},
			pod:      pod("p", 10, 900),
			wantNode: "n2", wantDel: []string{"b1"},
		},
		{
			name: "same priorities: latest start time",
			nodes: []nodeSpec{
				{"n1", 1000, []*api.Pod{pod("old", 3, 600)}},
				{"n2", 1000, []*api.Pod{pod("new", 3, 600, started(time.Hour))}},
				{"n3", 1000, []*api.Pod{pod("older", 3, 600, started(-time.Hour))}},
			},
			pod:      pod("p", 10, 600),
			wantNode: "n2", wantDel: []string{"new"},
		},
		{
			name: "negative priorities",
			nodes: []nodeSpec{
				{"n1", 1000, []*api.Pod{pod("a1", -5, 500), pod("a2", -5, 500)}},
				{"n2", 1000, []*api.Pod{pod("b1", -5, 900)}},
			},
			pod:      pod("p", 0, 900),
			wantNode: "n2", wantDel: []string{"b1"},
		},
		{
			name: "anti-affinity: the victim is the pod that repels",
			nodes: []nodeSpec{
				{"n1", 1000, []*api.Pod{pod("web-low", 1, 100, labeled("app", "web")), pod("other", 1, 100)}},
				{"n2", 1000, []*api.Pod{pod("web-high", 20, 100, labeled("app", "web"))}},
			},
			plugins:  []framework.Plugin{ipa, cpuFit{}},
			pod:      pod("p", 10, 100, antiAffinity("web")),
			wantNode: "n1", wantDel: []string{"web-low"},
		},
		{
			name: "existing pod's anti-affinity: the victim is the repelling pod",
			nodes: []nodeSpec{
				{"n1", 1000, []*api.Pod{pod("guard", 1, 100, antiAffinity("db")), pod("other", 1, 100)}},
			},
			plugins:  []framework.Plugin{ipa, cpuFit{}},
			pod:      pod("p", 10, 100, labeled("app", "db")),
			wantNode: "n1", wantDel: []string{"guard"},
		},
		{
			name: "topology spread: evict just enough to even the zones",
			nodes: []nodeSpec{
				{"n1", 1000, []*api.Pod{pod("web-low1", 1, 100, labeled("app", "web")), pod("web-low2", 1, 100, labeled("app", "web"))}},
				{"n2", 1000, []*api.Pod{pod("web-high", 20, 100, labeled("app", "web")), pod("big-high", 20, 900)}},
			},
			plugins:  []framework.Plugin{pts, cpuFit{}},
			pod:      pod("p", 10, 100, labeled("app", "web"), spreadWeb),
			wantNode: "n1", wantDel: []string{"web-low2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugins := tt.plugins
			if plugins == nil {
				plugins = []framework.Plugin{cpuFit{}}
			}
			client := &fakeClient{}
			r, s, _ := attempt(t, tt.nodes, plugins, Args{}, tt.pod, client)
			if tt.wantNode == "" {
				if s.Code() != framework.Unschedulable || r != nil {
					t.Fatalf("PostFilter = %v, %v; want Unschedulable", r, s.Code())
				}
				if !strings.Contains(s.Message(), tt.wantInMsg) {
					t.Errorf("message %q does not contain %q", s.Message(), tt.wantInMsg)
				}
				if len(client.deleted)+len(client.nominated) != 0 {
					t.Errorf("wrote: deleted %v, nominated %v", client.deleted, client.nominated)
				}
				return
			}
			if !s.IsSuccess() {
				t.Fatalf("PostFilter: %v %s", s.Code(), s.Message())
			}
			if r.NominatedNodeName != tt.wantNode {
				t.Errorf("nominated %q, want %q", r.NominatedNodeName, tt.wantNode)
			}
			if !slices.Equal(client.deleted, tt.wantDel) {
				t.Errorf("deleted %v, want %v", client.deleted, tt.wantDel)
			}
			if client.nominated[tt.pod.Name] != tt.wantNode {
				t.Errorf("SetNominatedNode %v, want %s", client.nominated, tt.wantNode)
			}
		})
	}
}

func TestDeleteErrorIsError(t *testing.T) {
	client := &fakeClient{deleteErr: errors.New("boom")}
	r, s, _ := attempt(t, []nodeSpec{{"n1", 1000, []*api.Pod{pod("low", 1, 600)}}}, []framework.Plugin{cpuFit{}}, Args{}, pod("p", 10, 600), client)
	if r != nil || s.Code() != framework.Error || !errors.Is(s.Err(), client.deleteErr) {
		t.Fatalf("PostFilter = %v, %v", r, s.Err())
	}
}

func TestWaitsForVictimsOnNominatedNode(t *testing.T) {
	terminating := pod("going", 1, 600, func(p *api.Pod) { p.DeletionTimestamp = &api.Time{Time: t0} })
	in := pod("p", 10, 600, func(p *api.Pod) { p.Status.NominatedNodeName = "n1" })
	client := &fakeClient{}
	r, s, _ := attempt(t, []nodeSpec{{"n1", 1000, []*api.Pod{terminating}}, {"n2", 1000, []*api.Pod{pod("low", 1, 600)}}},
		[]framework.Plugin{cpuFit{}}, Args{}, in, client)
	if r != nil || s.Code() != framework.Unschedulable || s.Message() != ReasonWaiting {
		t.Fatalf("PostFilter = %v, %v %q", r, s.Code(), s.Message())
	}
}

// TestCandidateSearchIsBounded: with MinCandidateNodesAbsolute 2 and a
// small percentage, only the first two candidates are compared, and the
// next search starts after them.
func TestCandidateSearchIsBounded(t *testing.T) {
	var nodes []nodeSpec
	for i := range 10 {
		prio := int32(5)
		if i == 9 {
			prio = 1 // the best, but beyond the first two candidates
		}
		nodes = append(nodes, nodeSpec{fmt.Sprintf("n%d", i), 1000, []*api.Pod{pod(fmt.Sprintf("v%d", i), prio, 600)}})
	}
	args := Args{MinCandidateNodesPercentage: 1, MinCandidateNodesAbsolute: 2}
	client := &fakeClient{}
	r, s, p := attempt(t, nodes, []framework.Plugin{cpuFit{}}, args, pod("p", 10, 600), client)
	if !s.IsSuccess() || r.NominatedNodeName != "n0" {
		t.Fatalf("PostFilter = %v, %v; want n0", r, s.Message())
	}
	if got := p.offset.Load(); got != 2 {
		t.Errorf("next search starts at %d, want 2", got)
	}
	// With every node searched, the best is found.
	client = &fakeClient{}
	r, s, _ = attempt(t, nodes, []framework.Plugin{cpuFit{}}, Args{MinCandidateNodesAbsolute: 10}, pod("p", 10, 600), client)
	if !s.IsSuccess() || r.NominatedNodeName != "n9" {
		t.Fatalf("PostFilter = %v, %v; want n9", r, s.Message())
	}
}

func TestArgs(t *testing.T) {
	for _, a := range []Args{{MinCandidateNodesPercentage: -1}, {MinCandidateNodesPercentage: 101}, {MinCandidateNodesAbsolute: -1}} {
		if _, err := New(a, nil); err == nil {
			t.Errorf("%+v accepted", a)
		}
	}
	p, err := New(Args{}, nil)
	if err != nil || p.args.MinCandidateNodesPercentage != 10 || p.args.MinCandidateNodesAbsolute != 100 {
		t.Errorf("defaults: %+v, %v", p.args, err)
	}
	if _, s := p.PostFilter(context.Background(), framework.NewCycleState(), pod("p", 1, 1), nil); s.Code() != framework.Error {
		t.Errorf("PostFilter without a handle = %v", s.Code())
	}
}

// TestTerminatingVictimIsNotDeletedAgain: a victim already being deleted
// counts as one (the room it frees is needed) but is not deleted again.
func TestTerminatingVictimIsNotDeletedAgain(t *testing.T) {
	going := pod("going", 1, 600, func(p *api.Pod) { p.DeletionTimestamp = &api.Time{Time: t0} })
	client := &fakeClient{}
	r, s, _ := attempt(t, []nodeSpec{{"n1", 1000, []*api.Pod{going, pod("low", 2, 400)}}},
		[]framework.Plugin{cpuFit{}}, Args{}, pod("p", 10, 700), client)
	if !s.IsSuccess() || r.NominatedNodeName != "n1" {
		t.Fatalf("PostFilter = %v, %v %q; want n1", r, s.Code(), s.Message())
	}
	if !slices.Equal(client.deleted, []string{"low"}) {
		t.Errorf("deleted %v, want [low] (going is already going)", client.deleted)
	}
}

// TestNotFoundVictimIsGone: a victim deleted meanwhile (NotFound) is not
// an error.
func TestNotFoundVictimIsGone(t *testing.T) {
	client := &fakeClient{deleteErr: fmt.Errorf("delete: %w", api.ErrNotFound)}
	r, s, _ := attempt(t, []nodeSpec{{"n1", 1000, []*api.Pod{pod("low", 1, 600)}}}, []framework.Plugin{cpuFit{}}, Args{}, pod("p", 10, 600), client)
	if !s.IsSuccess() || r.NominatedNodeName != "n1" || client.nominated["p"] != "n1" {
		t.Fatalf("PostFilter = %v, %v %q; want n1 nominated", r, s.Code(), s.Message())
	}
}
