package scheduler

import (
	"context"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/plugins/defaultpreemption"
)

// The framework gives DefaultPreemption's what-if check the nominated
// pods, so that a node promised to one preemptor is not promised again.
var _ defaultpreemption.NominatedFilter = (*Framework)(nil)

// RunFilterPluginsWithNominatedPods runs the Filter plugins for pod on
// node as a scheduling cycle does: the plugins skipped in state's
// PreFilter are left out, and the pods nominated to node with at least
// pod's priority (pod itself left out) are counted on it (see
// filterWithNominated). It changes neither state nor node. It is called
// by DefaultPreemption, from several goroutines, on copies it owns.
func (f *Framework) RunFilterPluginsWithNominatedPods(ctx context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	return f.filterWithNominated(ctx, state, pod, node, f.activeFilters(skippedFilters(state)))
}
