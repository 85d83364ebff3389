// Package noderesources holds the NodeResourcesFit and
// NodeResourcesBalancedAllocation scheduler plugins.
//
// NodeResourcesFit filters out nodes without room for the pod's requests
// (cpu, memory, ephemeral storage, pod count, extended resources) and
// scores the rest by a strategy: LeastAllocated (spread, the default),
// MostAllocated (bin packing) or RequestedToCapacityRatio (a custom
// function of utilization). NodeResourcesBalancedAllocation prefers the
// nodes whose cpu and memory would be used in the most equal shares.
//
// Both score with the pod placed on the node; Fit counts a container
// without a cpu or memory request as asking for
// framework.DefaultMilliCPURequest / DefaultMemoryRequest, as Kubernetes
// does, so that such pods still spread.
package noderesources

import (
	"context"
	"slices"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// Name is the Fit plugin's name, as in Kubernetes.
const Name = "NodeResourcesFit"

// ErrReasonTooManyPods is the reason of a node that runs as many pods as
// its allocatable "pods" allows; other resources give "Insufficient
// <resource>".
const ErrReasonTooManyPods = "Too many pods"

// Plugin is the NodeResourcesFit plugin. It is safe for concurrent use.
type Plugin struct {
	ignored      map[api.ResourceName]bool
	ignoredGroup map[string]bool
	alloc        allocation
}

var (
	_ framework.PreFilterPlugin = (*Plugin)(nil)
	_ framework.FilterPlugin    = (*Plugin)(nil)
	_ framework.PreScorePlugin  = (*Plugin)(nil)
	_ framework.ScorePlugin     = (*Plugin)(nil)
)

// New returns the Fit plugin, or the error of args.Validate.
func New(args Args, _ framework.Handle) (*Plugin, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	p := &Plugin{
		ignored:      make(map[api.ResourceName]bool),
		ignoredGroup: make(map[string]bool),
		alloc:        allocation{resources: DefaultResources, nonZero: true, kind: LeastAllocated},
	}
	for _, r := range args.IgnoredResources {
		p.ignored[api.ResourceName(r)] = true
	}
	for _, g := range args.IgnoredResourceGroups {
		p.ignoredGroup[g] = true
	}
	if s := args.ScoringStrategy; s != nil {
		if s.Type != "" {
			p.alloc.kind = s.Type
		}
		if len(s.Resources) > 0 {
			p.alloc.resources = slices.Clone(s.Resources)
		}
		if s.RequestedToCapacityRatio != nil {
			p.alloc.shape = slices.Clone(s.RequestedToCapacityRatio.Shape)
		}
	}
	return p, nil
}

// Name returns Name.
func (*Plugin) Name() string { return Name }

const (
	preFilterKey framework.StateKey = Name + "/preFilter"
	preScoreKey  framework.StateKey = Name + "/preScore"
)

// preFilterState is the pod's requests. Immutable.
type preFilterState struct{ req framework.Resource }

func (s *preFilterState) Clone() framework.StateData { return s }

// PreFilter computes the pod's requests (framework.PodRequests).
func (*Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *api.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	state.Write(preFilterKey, &preFilterState{req: framework.PodRequests(pod)})
	return nil, nil
}

// Insufficient is one resource a node lacks for a pod.
type Insufficient struct {
	Resource  api.ResourceName
	Reason    string
	Requested int64
	Used      int64
	Capacity  int64
}

// Unresolvable reports whether the pod asks for more than the node has in
// all, which no preemption can fix.
func (i Insufficient) Unresolvable() bool { return i.Requested > i.Capacity }

// Filter rejects a node without room for the pod's requests, with one
// reason per resource that is short ("Insufficient cpu", "Too many
// pods"). The status is Unschedulable (preemption may make room), or
// UnschedulableAndUnresolvable when the pod asks for more of some
// resource than the node's whole allocatable.
func (p *Plugin) Filter(_ context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	var req framework.Resource
	if v, ok := state.Read(preFilterKey); ok {
		req = v.(*preFilterState).req
	} else {
		req = framework.PodRequests(pod)
	}
	short := p.Fits(req, node)
	if len(short) == 0 {
		return nil
	}
	code := framework.Unschedulable
	reasons := make([]string, len(short))
	for i, s := range short {
		reasons[i] = s.Reason
		if s.Unresolvable() {
			code = framework.UnschedulableAndUnresolvable
		}
	}
	return framework.NewStatus(code, reasons...)
}

// Fits returns what node lacks for a pod requesting req: pods first, then
// cpu, memory, ephemeral-storage and extended resources by name.
func (p *Plugin) Fits(req framework.Resource, node *framework.NodeInfo) []Insufficient {
	var out []Insufficient
	if n := int64(len(node.Pods)); n+1 > node.Allocatable.AllowedPodNumber {
		out = append(out, Insufficient{api.ResourcePods, ErrReasonTooManyPods, 1, n, node.Allocatable.AllowedPodNumber})
	}
	check := func(name api.ResourceName, want, used, alloc int64) {
		if want > 0 && want > alloc-used {
			out = append(out, Insufficient{name, "Insufficient " + string(name), want, used, alloc})
		}
	}
	check(api.ResourceCPU, req.MilliCPU, node.Requested.MilliCPU, node.Allocatable.MilliCPU)
	check(api.ResourceMemory, req.Memory, node.Requested.Memory, node.Allocatable.Memory)
	check(api.ResourceEphemeralStorage, req.EphemeralStorage, node.Requested.EphemeralStorage, node.Allocatable.EphemeralStorage)
	if len(req.Scalar) == 0 {
		return out
	}
	names := make([]api.ResourceName, 0, len(req.Scalar))
	for name := range req.Scalar {
		if !p.ignoredScalar(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		check(name, req.Scalar[name], node.Requested.Scalar[name], node.Allocatable.Scalar[name])
	}
	return out
}

func (p *Plugin) ignoredScalar(name api.ResourceName) bool {
	if p.ignored[name] {
		return true
	}
	group, _, found := strings.Cut(string(name), "/")
	return found && p.ignoredGroup[group]
}

// PreScore computes the pod's requests of the scored resources.
func (p *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *api.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(preScoreKey, &scoreState{podReq: p.alloc.podRequests(pod)})
	return nil
}

// Score scores node by the strategy, with the pod placed on it, as the
// weighted mean over the scored resources the node has.
func (p *Plugin) Score(_ context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	var podReq []int64
	if v, ok := state.Read(preScoreKey); ok {
		podReq = v.(*scoreState).podReq
	} else {
		podReq = p.alloc.podRequests(pod)
	}
	return p.alloc.score(node, podReq), nil
}

// ScoreExtensions returns nil: scores are already in [0, 100].
func (*Plugin) ScoreExtensions() framework.ScoreExtensions { return nil }
