// Package helper holds what several default scheduler plugins share:
// score normalization, taint toleration and compiled node selectors.
// It is internal to the default plugins; plugin authors should not need it.
package helper

import (
	"context"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// DefaultNormalizeScore scales scores so that the highest becomes
// maxPriority (all stay in [0, maxPriority]); with reverse, a score s
// becomes maxPriority - scaled(s), so that the node with the fewest
// counted things scores highest. If every score is 0, scores stay 0, or
// become maxPriority with reverse.
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores []framework.NodeScore) *framework.Status {
	var highest int64
	for i := range scores {
		highest = max(highest, scores[i].Score)
	}
	if highest == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxPriority
			}
		}
		return nil
	}
	for i := range scores {
		s := maxPriority * scores[i].Score / highest
		if reverse {
			s = maxPriority - s
		}
		scores[i].Score = s
	}
	return nil
}

// NormalizeFunc adapts a function to framework.ScoreExtensions.
type NormalizeFunc func(scores []framework.NodeScore) *framework.Status

// NormalizeScore calls f.
func (f NormalizeFunc) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *api.Pod, scores []framework.NodeScore) *framework.Status {
	return f(scores)
}

// ToleratesTaint reports whether toleration t tolerates taint: the effect
// is the taint's or empty (every effect), the key is the taint's or empty
// (every key; the API allows that only with Exists), and the operator is
// Exists or the values are equal (Equal, the default).
func ToleratesTaint(t *api.Toleration, taint *api.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case api.TolerationOpExists:
		return true
	case api.TolerationOpEqual, "":
		return t.Value == taint.Value
	}
	return false
}

// TolerationsTolerateTaint reports whether any of tolerations tolerates
// taint.
func TolerationsTolerateTaint(tolerations []api.Toleration, taint *api.Taint) bool {
	for i := range tolerations {
		if ToleratesTaint(&tolerations[i], taint) {
			return true
		}
	}
	return false
}

// FindUntoleratedTaint returns the first of taints for which include is
// true that no toleration tolerates.
func FindUntoleratedTaint(taints []api.Taint, tolerations []api.Toleration, include func(*api.Taint) bool) (api.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if include != nil && !include(t) {
			continue
		}
		if !TolerationsTolerateTaint(tolerations, t) {
			return *t, true
		}
	}
	return api.Taint{}, false
}
