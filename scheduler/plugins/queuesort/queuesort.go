// Package queuesort holds PrioritySort, the default QueueSort plugin: pods
// with a higher spec.priority first, then those that entered the queue
// earlier.
package queuesort

import (
	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// Name is the plugin's name in a profile.
const Name = "PrioritySort"

// Args configures PrioritySort; it has no settings.
type Args struct{}

// Validate reports nothing: there is nothing to get wrong.
func (Args) Validate() error { return nil }

// Plugin is PrioritySort.
type Plugin struct{}

var _ framework.QueueSortPlugin = (*Plugin)(nil)

// New returns the plugin.
func New(Args, framework.Handle) (*Plugin, error) { return &Plugin{}, nil }

// Name returns Name.
func (*Plugin) Name() string { return Name }

// Less reports whether a goes before b: a higher priority, or the same
// priority and an earlier queue timestamp.
func (*Plugin) Less(a, b *framework.QueuedPodInfo) bool {
	pa, pb := Priority(a.Pod), Priority(b.Pod)
	if pa != pb {
		return pa > pb
	}
	return a.Timestamp.Before(b.Timestamp)
}

// Priority returns the pod's spec.priority (0 if unset).
func Priority(p *api.Pod) int32 {
	if p != nil && p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}
