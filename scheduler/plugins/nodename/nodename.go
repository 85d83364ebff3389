// Package nodename is the NodeName scheduler plugin: a pod whose
// spec.nodeName is set fits only the node of that name.
package nodename

import (
	"context"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// Name is the plugin's name, as in Kubernetes.
const Name = "NodeName"

// ErrReason is the reason a node is rejected.
const ErrReason = "node(s) didn't match the requested node name"

// Args are the plugin's arguments; it has none.
type Args struct{}

// Validate reports nothing: there is nothing to get wrong.
func (Args) Validate() error { return nil }

// Plugin is the NodeName plugin. It is stateless and safe for concurrent
// use.
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

// Filter rejects node, as unresolvable, if the pod names another node.
func (*Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	if Fits(pod, node.Node) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, errReasons...)
}

// errReasons is shared by the statuses Filter returns (saving an
// allocation per rejected node); it is never modified.
var errReasons = []string{ErrReason}

// Fits reports whether pod names no node or names node.
func Fits(pod *api.Pod, node *api.Node) bool {
	return pod.Spec.NodeName == "" || (node != nil && pod.Spec.NodeName == node.Name)
}
