// Package nodeunschedulable is the NodeUnschedulable scheduler plugin: a
// cordoned node (spec.unschedulable) takes only pods that tolerate the
// node.kubernetes.io/unschedulable:NoSchedule taint.
package nodeunschedulable

import (
	"context"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/plugins/internal/helper"
)

// Name is the plugin's name, as in Kubernetes.
const Name = "NodeUnschedulable"

// The reasons a node is rejected.
const (
	ErrReasonUnschedulable = "node(s) were unschedulable"
	ErrReasonUnknownNode   = "node(s) had unknown conditions"
)

// TaintKey is the key of the taint a pod must tolerate to go to an
// unschedulable node.
const TaintKey = "node.kubernetes.io/unschedulable"

// Args are the plugin's arguments; it has none.
type Args struct{}

// Validate reports nothing: there is nothing to get wrong.
func (Args) Validate() error { return nil }

// Plugin is the NodeUnschedulable plugin. It is stateless and safe for
// concurrent use.
type Plugin struct{}

var _ framework.FilterPlugin = (*Plugin)(nil)

// New returns the plugin.
func New(args Args, _ framework.Handle) (*Plugin, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	return &Plugin{}, nil
}

// Name returns Name.
func (*Plugin) Name() string { return Name }

var unschedulableTaint = api.Taint{Key: TaintKey, Effect: api.TaintEffectNoSchedule}

// Filter rejects an unschedulable node, as unresolvable, unless the pod
// tolerates node.kubernetes.io/unschedulable:NoSchedule.
func (*Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	if node.Node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnknownNode)
	}
	if !node.Unschedulable() {
		return nil
	}
	if helper.TolerationsTolerateTaint(pod.Spec.Tolerations, &unschedulableTaint) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, errReasons...)
}

// errReasons is shared by the statuses Filter returns (saving an
// allocation per rejected node); it is never modified.
var errReasons = []string{ErrReasonUnschedulable}
