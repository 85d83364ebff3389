package noderesources

import (
	"math"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// isScalar reports whether name is counted in Resource.Scalar (extended
// resources and anything else not built in).
func isScalar(name api.ResourceName) bool {
	switch name {
	case api.ResourceCPU, api.ResourceMemory, api.ResourceEphemeralStorage, api.ResourcePods:
		return false
	}
	return true
}

// allocation scores a node from its per-resource requested and
// allocatable amounts (after placing the pod). It is immutable.
type allocation struct {
	resources []ResourceSpec
	// nonZero: count cpu and memory of pods that request none as
	// DefaultMilliCPURequest / DefaultMemoryRequest (Fit does, as
	// Kubernetes; BalancedAllocation uses the actual requests).
	nonZero bool
	kind    ScoringStrategyType // or "balanced"
	shape   []UtilizationShapePoint
}

const balanced ScoringStrategyType = "balanced"

// podRequests returns the pod's request of each of a.resources.
func (a *allocation) podRequests(pod *api.Pod) []int64 {
	req := framework.PodRequests(pod)
	cpu, mem := req.MilliCPU, req.Memory
	if a.nonZero {
		cpu, mem = framework.NonZeroRequests(pod)
	}
	out := make([]int64, len(a.resources))
	for i, r := range a.resources {
		switch name := api.ResourceName(r.Name); name {
		case api.ResourceCPU:
			out[i] = cpu
		case api.ResourceMemory:
			out[i] = mem
		case api.ResourceEphemeralStorage:
			out[i] = req.EphemeralStorage
		case api.ResourcePods:
		default:
			out[i] = req.Scalar[name]
		}
	}
	return out
}

// amounts returns the node's allocatable amount of resource i and what is
// requested once the pod (asking podReq) is placed; 0, 0 means the
// resource is not scored on this node.
func (a *allocation) amounts(node *framework.NodeInfo, i int, podReq int64) (alloc, requested int64) {
	name := api.ResourceName(a.resources[i].Name)
	used := &node.Requested
	if a.nonZero {
		used = &node.NonZeroRequested
	}
	switch name {
	case api.ResourceCPU:
		return node.Allocatable.MilliCPU, used.MilliCPU + podReq
	case api.ResourceMemory:
		return node.Allocatable.Memory, used.Memory + podReq
	case api.ResourceEphemeralStorage:
		return node.Allocatable.EphemeralStorage, node.Requested.EphemeralStorage + podReq
	case api.ResourcePods:
		return 0, 0
	}
	if podReq == 0 {
		// An extended resource the pod does not ask for does not
		// count, so that nodes with it are not avoided or preferred.
		return 0, 0
	}
	return node.Allocatable.Scalar[name], node.Requested.Scalar[name] + podReq
}

// score returns the node's score in [0, 100].
func (a *allocation) score(node *framework.NodeInfo, podReq []int64) int64 {
	if a.kind == balanced {
		return a.balancedScore(node, podReq)
	}
	var sum, weights float64
	var isum int64
	for i := range a.resources {
		alloc, req := a.amounts(node, i, podReq[i])
		if alloc == 0 {
			continue
		}
		w := a.resources[i].Weight
		var s int64
		switch a.kind {
		case MostAllocated:
			s = mostRequested(req, alloc)
		case RequestedToCapacityRatio:
			s = a.ratio(req, alloc)
		default:
			s = leastRequested(req, alloc)
		}
		isum += s * w
		sum += float64(s * w)
		weights += float64(w)
	}
	if weights == 0 {
		return 0
	}
	if a.kind == RequestedToCapacityRatio {
		return int64(math.Round(sum / weights))
	}
	return isum / int64(weights)
}

// leastRequested is the share of alloc left free, 0-100.
func leastRequested(req, alloc int64) int64 {
	if req > alloc {
		return 0
	}
	return (alloc - req) * framework.MaxNodeScore / alloc
}

// mostRequested is the share of alloc requested, 0-100 (a node asked
// for more than it has, which default requests can cause, counts as
// full).
func mostRequested(req, alloc int64) int64 {
	req = min(req, alloc)
	return req * framework.MaxNodeScore / alloc
}

// ratio is the shape function at the utilization req/alloc, in percent,
// scaled to 0-100.
func (a *allocation) ratio(req, alloc int64) int64 {
	util := int64(100)
	if req <= alloc {
		util = req * 100 / alloc
	}
	shape := a.shape
	scale := framework.MaxNodeScore / MaxCustomPriorityScore
	for i := range shape {
		u := int64(shape[i].Utilization)
		if util > u {
			continue
		}
		if i == 0 {
			return int64(shape[0].Score) * scale
		}
		u0, s0, s1 := int64(shape[i-1].Utilization), int64(shape[i-1].Score)*scale, int64(shape[i].Score)*scale
		return s0 + (s1-s0)*(util-u0)/(u-u0)
	}
	return int64(shape[len(shape)-1].Score) * scale
}

// balancedScore is 100 × (1 - the standard deviation of the requested
// fractions of the resources), each fraction capped at 1.
func (a *allocation) balancedScore(node *framework.NodeInfo, podReq []int64) int64 {
	var buf [8]float64
	fractions := buf[:0]
	var total float64
	for i := range a.resources {
		alloc, req := a.amounts(node, i, podReq[i])
		if alloc == 0 {
			continue
		}
		f := min(float64(req)/float64(alloc), 1)
		fractions = append(fractions, f)
		total += f
	}
	var std float64
	switch n := len(fractions); {
	case n == 2:
		std = math.Abs(fractions[0]-fractions[1]) / 2
	case n > 2:
		mean := total / float64(n)
		var sq float64
		for _, f := range fractions {
			sq += (f - mean) * (f - mean)
		}
		std = math.Sqrt(sq / float64(n))
	}
	return int64((1 - std) * float64(framework.MaxNodeScore))
}

// scoreState is the pod's requests of the scored resources, computed in
// PreScore. Immutable.
type scoreState struct{ podReq []int64 }

func (s *scoreState) Clone() framework.StateData { return s }
