// Package tier is a scheduler plugin, TierAffinity: it places a pod that
// asks for a tier (the annotation example.drover.io/tier: gold) on the
// nodes of that tier (the label example.drover.io/tier=gold), as a
// preference (Score) or, with Args.Required, as a rule (Filter).
//
// It implements framework.EnqueueExtensions: a pod it rejected is tried
// again when a node is added or its labels change, not on every change in
// the cluster.
package tier

import (
	"context"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/scheduler/framework"
)

// Name is the plugin's name, in profiles.
const Name = "TierAffinity"

// DefaultKey is the default of Args.NodeLabel and Args.PodAnnotation.
const DefaultKey = "example.drover.io/tier"

// Args configures the plugin: in Go, or under pluginConfig in a YAML file.
type Args struct {
	// NodeLabel is the node label that holds a node's tier. "" means
	// DefaultKey.
	NodeLabel string `json:"nodeLabel,omitempty"`
	// PodAnnotation is the pod annotation that asks for a tier. "" means
	// DefaultKey.
	PodAnnotation string `json:"podAnnotation,omitempty"`
	// Required rejects the nodes of another tier (or of none) for a pod
	// that asks for one; otherwise they only score lower.
	Required bool `json:"required,omitempty"`
}

// Validate reports a key that is not a qualified name (such as "tier" or
// "example.drover.io/tier"), naming its field.
func (a Args) Validate() error {
	for _, f := range []struct{ field, key string }{{"nodeLabel", a.NodeLabel}, {"podAnnotation", a.PodAnnotation}} {
		if f.key == "" {
			continue
		}
		if _, err := labels.NewRequirement(f.key, labels.Exists, nil); err != nil {
			return fmt.Errorf("%s: %w", f.field, err)
		}
	}
	return nil
}

// Plugin is the TierAffinity plugin. Filter and Score only read the
// pod and the node; they are safe for concurrent use.
type Plugin struct {
	label, annotation string
	required          bool
}

var (
	_ framework.FilterPlugin      = (*Plugin)(nil)
	_ framework.ScorePlugin       = (*Plugin)(nil)
	_ framework.EnqueueExtensions = (*Plugin)(nil)
)

// New returns the plugin for args (already validated by the scheduler's
// registry, which calls Validate).
func New(args Args, _ framework.Handle) (*Plugin, error) {
	p := &Plugin{label: args.NodeLabel, annotation: args.PodAnnotation, required: args.Required}
	if p.label == "" {
		p.label = DefaultKey
	}
	if p.annotation == "" {
		p.annotation = DefaultKey
	}
	return p, nil
}

// Name returns Name.
func (*Plugin) Name() string { return Name }

// Filter rejects the nodes of another tier, if the plugin is Required and
// the pod asks for a tier.
func (p *Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	want, ok := pod.Annotations[p.annotation]
	if !p.required || !ok || node.Node.Labels[p.label] == want {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("node(s) not of tier %s", want))
}

// Score is MaxNodeScore for a node of the tier the pod asks for, and
// MinNodeScore for the others (and for every node if it asks for none).
func (p *Plugin) Score(_ context.Context, _ *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	want, ok := pod.Annotations[p.annotation]
	if ok && node.Node.Labels[p.label] == want {
		return framework.MaxNodeScore, nil
	}
	return framework.MinNodeScore, nil
}

// ScoreExtensions returns nil: the scores are already in range.
func (*Plugin) ScoreExtensions() framework.ScoreExtensions { return nil }

// EventsToRegister says what can change Filter's verdict: a new node, or
// a node's labels.
func (*Plugin) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{framework.NodeAdd, framework.NodeLabelChange}
}
