// Package tainttoleration is the TaintToleration scheduler plugin. Filter
// keeps a pod off nodes with a NoSchedule or NoExecute taint it does not
// tolerate; Score prefers nodes with fewer PreferNoSchedule taints it
// does not tolerate.
package tainttoleration

import (
	"context"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/plugins/internal/helper"
)

// Name is the plugin's name, as in Kubernetes.
const Name = "TaintToleration"

// ErrReasonNotMatch is the reason a node without a Node is rejected.
const ErrReasonNotMatch = "node(s) had taints that the pod didn't tolerate"

// Args are the plugin's arguments; it has none.
type Args struct{}

// Validate reports nothing: there is nothing to get wrong.
func (Args) Validate() error { return nil }

// Plugin is the TaintToleration plugin. It is safe for concurrent use.
type Plugin struct{}

var (
	_ framework.FilterPlugin   = (*Plugin)(nil)
	_ framework.PreScorePlugin = (*Plugin)(nil)
	_ framework.ScorePlugin    = (*Plugin)(nil)
)

// New returns the plugin.
func New(args Args, _ framework.Handle) (*Plugin, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	return &Plugin{}, nil
}

// Name returns Name.
func (*Plugin) Name() string { return Name }

func hardEffect(t *api.Taint) bool {
	return t.Effect == api.TaintEffectNoSchedule || t.Effect == api.TaintEffectNoExecute
}

// Filter rejects, as unresolvable, a node with a NoSchedule or NoExecute
// taint the pod does not tolerate, naming the first such taint.
func (*Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	if node.Node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNotMatch)
	}
	taint, found := helper.FindUntoleratedTaint(node.Taints(), pod.Spec.Tolerations, hardEffect)
	if !found {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable,
		fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value))
}

const preScoreKey framework.StateKey = Name + "/preScore"

// preScoreState holds the pod's tolerations that can tolerate a
// PreferNoSchedule taint. It is immutable.
type preScoreState struct{ tolerations []api.Toleration }

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore keeps the pod's tolerations of PreferNoSchedule (or every)
// effect.
func (*Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *api.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(preScoreKey, &preScoreState{tolerations: preferTolerations(pod)})
	return nil
}

func preferTolerations(pod *api.Pod) []api.Toleration {
	var out []api.Toleration
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == api.TaintEffectPreferNoSchedule {
			out = append(out, t)
		}
	}
	return out
}

// Score counts the node's PreferNoSchedule taints the pod does not
// tolerate; NormalizeScore turns the counts into 100 for none, down to 0
// for the most.
func (*Plugin) Score(_ context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	var tolerations []api.Toleration
	if v, ok := state.Read(preScoreKey); ok {
		tolerations = v.(*preScoreState).tolerations
	} else {
		tolerations = preferTolerations(pod)
	}
	if node.Node == nil {
		return 0, nil
	}
	var n int64
	taints := node.Taints()
	for i := range taints {
		t := &taints[i]
		if t.Effect == api.TaintEffectPreferNoSchedule && !helper.TolerationsTolerateTaint(tolerations, t) {
			n++
		}
	}
	return n, nil
}

// ScoreExtensions returns the normalizer.
func (*Plugin) ScoreExtensions() framework.ScoreExtensions {
	return helper.NormalizeFunc(func(scores []framework.NodeScore) *framework.Status {
		return helper.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
	})
}
