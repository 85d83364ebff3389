// Package nodeaffinity is the NodeAffinity scheduler plugin. Filter keeps
// a pod on nodes that have every label of its nodeSelector and match one
// of its required node affinity terms; Score adds the weights of the
// preferred terms a node matches. Args.AddedAffinity is applied to every
// pod on top of its own.
package nodeaffinity

import (
	"context"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/plugins/internal/helper"
)

// Name is the plugin's name, as in Kubernetes.
const Name = "NodeAffinity"

// The reasons a node or pod is rejected.
const (
	ErrReasonPod      = "node(s) didn't match Pod's node affinity/selector"
	ErrReasonEnforced = "node(s) didn't match scheduler-enforced node affinity"
	ErrReasonConflict = "pod affinity terms conflict"
)

// Args are the plugin's arguments.
type Args struct {
	// AddedAffinity is node affinity every pod must (required) and
	// prefers to (preferred) meet, besides its own.
	AddedAffinity *api.NodeAffinity `json:"addedAffinity,omitempty"`
}

// Validate checks AddedAffinity's terms; the error names the field.
func (a Args) Validate() error {
	if a.AddedAffinity == nil {
		return nil
	}
	if r := a.AddedAffinity.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
		const p = "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution"
		if len(r.NodeSelectorTerms) == 0 {
			return fmt.Errorf("nodeaffinity: %s.nodeSelectorTerms: must have at least one term", p)
		}
		if _, err := helper.CompileNodeSelector(r); err != nil {
			return fmt.Errorf("nodeaffinity: %s.%w", p, err)
		}
	}
	for i, t := range a.AddedAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if t.Weight < 1 || t.Weight > 100 {
			return fmt.Errorf("nodeaffinity: addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[%d].weight: %d is not in the range 1-100", i, t.Weight)
		}
	}
	if _, err := helper.CompilePreferred(a.AddedAffinity.PreferredDuringSchedulingIgnoredDuringExecution); err != nil {
		return fmt.Errorf("nodeaffinity: addedAffinity.preferredDuringSchedulingIgnoredDuringExecution%w", err)
	}
	return nil
}

// Plugin is the NodeAffinity plugin. It is safe for concurrent use.
type Plugin struct {
	addedRequired  *helper.NodeSelector // nil: none
	addedPreferred []helper.PreferredTerm
}

var (
	_ framework.PreFilterPlugin = (*Plugin)(nil)
	_ framework.FilterPlugin    = (*Plugin)(nil)
	_ framework.PreScorePlugin  = (*Plugin)(nil)
	_ framework.ScorePlugin     = (*Plugin)(nil)
)

// New returns the plugin, or the error of args.Validate.
func New(args Args, _ framework.Handle) (*Plugin, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	p := &Plugin{}
	if a := args.AddedAffinity; a != nil {
		if r := a.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			p.addedRequired, _ = helper.CompileNodeSelector(r)
		}
		p.addedPreferred, _ = helper.CompilePreferred(a.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	return p, nil
}

// Name returns Name.
func (*Plugin) Name() string { return Name }

// Required is what a pod requires of a node: every label of its
// nodeSelector and, if it has required node affinity, one of its terms.
type Required struct {
	selector []label              // the nodeSelector, as a slice: faster to walk
	terms    *helper.NodeSelector // nil: no required node affinity
}

type label struct{ key, value string }

// RequiredOf compiles pod's nodeSelector and required node affinity.
// Invalid terms match no node (as the API server would have refused them).
func RequiredOf(pod *api.Pod) *Required {
	r := &Required{selector: make([]label, 0, len(pod.Spec.NodeSelector))}
	for k, v := range pod.Spec.NodeSelector {
		r.selector = append(r.selector, label{k, v})
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		r.terms, _ = helper.CompileNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
	}
	return r
}

// Match reports whether node meets r.
func (r *Required) Match(node *api.Node) bool {
	if node == nil {
		return false
	}
	for _, l := range r.selector {
		if got, ok := node.Labels[l.key]; !ok || got != l.value {
			return false
		}
	}
	return r.terms == nil || r.terms.Match(node)
}

func (r *Required) empty() bool { return len(r.selector) == 0 && r.terms == nil }

const (
	preFilterKey framework.StateKey = Name + "/preFilter"
	preScoreKey  framework.StateKey = Name + "/preScore"
)

type preFilterState struct{ required *Required }

func (s *preFilterState) Clone() framework.StateData { return s }

type preScoreState struct{ preferred []helper.PreferredTerm }

func (s *preScoreState) Clone() framework.StateData { return s }

// PreFilter compiles the pod's requirements. When every required term
// pins node names (matchFields metadata.name In), the result narrows
// Filter to those nodes; when the terms pin none at all, the pod is
// rejected as unresolvable. A pod with no requirements, and no added
// required affinity, skips Filter.
func (p *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *api.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	req := RequiredOf(pod)
	if req.empty() && p.addedRequired == nil {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(preFilterKey, &preFilterState{required: req})
	if req.terms == nil {
		return nil, nil
	}
	var names map[string]struct{}
	for i := range req.terms.Terms {
		pinned, ok := req.terms.Terms[i].NodeNames()
		if !ok {
			return nil, nil // a term that may match any node
		}
		if names == nil {
			names = make(map[string]struct{}, len(pinned))
		}
		for n := range pinned {
			names[n] = struct{}{}
		}
	}
	if len(names) == 0 {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonConflict)
	}
	return &framework.PreFilterResult{NodeNames: names}, nil
}

// Filter rejects, as unresolvable, a node that does not meet the added
// required affinity or the pod's own requirements.
func (p *Plugin) Filter(_ context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	if p.addedRequired != nil && !p.addedRequired.Match(node.Node) {
		return errEnforced
	}
	var req *Required
	if v, ok := state.Read(preFilterKey); ok {
		req = v.(*preFilterState).required
	} else {
		req = RequiredOf(pod)
	}
	if !req.Match(node.Node) {
		return errPod
	}
	return nil
}

// Filter's statuses, shared by every node it rejects (saving an
// allocation per node) and never modified; they name the plugin, so the
// scheduler need not copy them to do so.
var (
	errPod      = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod).WithPlugin(Name)
	errEnforced = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonEnforced).WithPlugin(Name)
)

func (p *Plugin) preferredOf(pod *api.Pod) []helper.PreferredTerm {
	var own []helper.PreferredTerm
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		own, _ = helper.CompilePreferred(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if len(p.addedPreferred) == 0 {
		return own
	}
	return append(own, p.addedPreferred...)
}

// PreScore compiles the pod's preferred terms (and the added ones); a pod
// with none skips Score.
func (p *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *api.Pod, _ []*framework.NodeInfo) *framework.Status {
	terms := p.preferredOf(pod)
	if len(terms) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, &preScoreState{preferred: terms})
	return nil
}

// Score is the sum of the weights of the preferred terms node matches;
// NormalizeScore scales the highest to 100.
func (p *Plugin) Score(_ context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	var terms []helper.PreferredTerm
	if v, ok := state.Read(preScoreKey); ok {
		terms = v.(*preScoreState).preferred
	} else {
		terms = p.preferredOf(pod)
	}
	return helper.PreferredScore(terms, node.Node), nil
}

// ScoreExtensions returns the normalizer.
func (*Plugin) ScoreExtensions() framework.ScoreExtensions {
	return helper.NormalizeFunc(func(scores []framework.NodeScore) *framework.Status {
		return helper.DefaultNormalizeScore(framework.MaxNodeScore, false, scores)
	})
}
