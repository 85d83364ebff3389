package noderesources

import (
	"context"
	"slices"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// BalancedAllocationName is the BalancedAllocation plugin's name, as in
// Kubernetes.
const BalancedAllocationName = "NodeResourcesBalancedAllocation"

// BalancedAllocation is the NodeResourcesBalancedAllocation plugin. It
// is safe for concurrent use.
type BalancedAllocation struct {
	alloc allocation
}

var (
	_ framework.PreScorePlugin = (*BalancedAllocation)(nil)
	_ framework.ScorePlugin    = (*BalancedAllocation)(nil)
)

// NewBalancedAllocation returns the plugin, or the error of
// args.Validate.
func NewBalancedAllocation(args BalancedAllocationArgs, _ framework.Handle) (*BalancedAllocation, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	rs := DefaultResources
	if len(args.Resources) > 0 {
		rs = slices.Clone(args.Resources)
	}
	return &BalancedAllocation{alloc: allocation{resources: rs, kind: balanced}}, nil
}

// Name returns BalancedAllocationName.
func (*BalancedAllocation) Name() string { return BalancedAllocationName }

const balancedKey framework.StateKey = BalancedAllocationName + "/preScore"

// PreScore computes the pod's requests; a pod that requests none of the
// balanced resources skips Score (it changes no node's balance).
func (b *BalancedAllocation) PreScore(_ context.Context, state *framework.CycleState, pod *api.Pod, _ []*framework.NodeInfo) *framework.Status {
	req := b.alloc.podRequests(pod)
	if !slices.ContainsFunc(req, func(v int64) bool { return v != 0 }) {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(balancedKey, &scoreState{podReq: req})
	return nil
}

// Score is 100 × (1 - the standard deviation of the node's requested
// fractions of the resources with the pod placed): 100 when cpu and memory
// would be used in the same share.
func (b *BalancedAllocation) Score(_ context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	var podReq []int64
	if v, ok := state.Read(balancedKey); ok {
		podReq = v.(*scoreState).podReq
	} else {
		podReq = b.alloc.podRequests(pod)
	}
	return b.alloc.score(node, podReq), nil
}

// ScoreExtensions returns nil: scores are already in [0, 100].
func (*BalancedAllocation) ScoreExtensions() framework.ScoreExtensions { return nil }
