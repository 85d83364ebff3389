package replicaset

import (
	"cmp"
	"slices"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// This file is the pure core of the controller: functions of a ReplicaSet
// and its pods that say what to create, what to delete and what to report.
// They do no I/O; reconciler.go feeds them.

// replicas returns the pods rs asks for: spec.replicas, 1 if unset.
func replicas(rs *api.ReplicaSet) int {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return int(*rs.Spec.Replicas)
}

// activePods returns the pods of pods that count towards the replicas
// (ctrlutil.IsPodActive: not terminated, not being deleted).
func activePods(pods []*api.Pod) []*api.Pod {
	out := make([]*api.Pod, 0, len(pods))
	for _, p := range pods {
		if ctrlutil.IsPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// slowStartBatches returns the sizes of the batches in which n creates are
// issued: 1, 2, 4, ... doubling while every create of a batch succeeds,
// the last one cut to what is left. A create that fails (a quota, an
// admission webhook) fails for the batch's siblings too, so a ReplicaSet
// of a thousand replicas that cannot create pods sends a handful of
// requests, not a thousand.
func slowStartBatches(n int) []int {
	var out []int
	for size := 1; n > 0; size *= 2 {
		b := min(size, n)
		out = append(out, b)
		n -= b
	}
	return out
}

// phaseRank orders pod phases by how far the pod got: the least started
// is deleted first.
func phaseRank(p api.PodPhase) int {
	switch p {
	case api.PodPending, "":
		return 0
	case api.PodUnknown:
		return 1
	case api.PodRunning:
		return 2
	}
	return 3
}

func restarts(p *api.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n = max(n, s.RestartCount)
	}
	return n
}

// compareForDeletion orders two pods of a ReplicaSet that scales down:
// negative when a is to be deleted before b. The ranking, first
// difference wins:
//
//  1. a pod not yet scheduled to a node before a scheduled one;
//  2. by phase: Pending, then Unknown, then Running;
//  3. a pod that is not ready before a ready one;
//  4. of two ready pods, the one ready for less time (the newer
//     readiness; a ready pod with no transition time counts as newest);
//  5. the pod whose containers restarted more;
//  6. the newer pod (later creationTimestamp);
//  7. by name, so the order is deterministic.
//
// The pods that are cheapest to lose, and least likely to be serving, go
// first; among serving pods the youngest go, keeping the proven ones.
func compareForDeletion(a, b *api.Pod) int {
	if c := cmp.Compare(boolRank(a.Spec.NodeName != ""), boolRank(b.Spec.NodeName != "")); c != 0 {
		return c
	}
	if c := cmp.Compare(phaseRank(a.Status.Phase), phaseRank(b.Status.Phase)); c != 0 {
		return c
	}
	ra, aReady := ctrlutil.PodReadySince(a)
	rb, bReady := ctrlutil.PodReadySince(b)
	if c := cmp.Compare(boolRank(aReady), boolRank(bReady)); c != 0 {
		return c
	}
	if aReady && bReady && !ra.Equal(rb) {
		// Later readiness first; the zero time is the latest of all.
		switch {
		case ra.IsZero():
			return -1
		case rb.IsZero():
			return 1
		}
		return rb.Compare(ra)
	}
	if c := cmp.Compare(restarts(b), restarts(a)); c != 0 {
		return c
	}
	if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// podsToDelete returns the n pods of pods to delete first, by
// compareForDeletion. pods is not reordered.
func podsToDelete(pods []*api.Pod, n int) []*api.Pod {
	if n <= 0 {
		return nil
	}
	sorted := slices.Clone(pods)
	slices.SortFunc(sorted, compareForDeletion)
	return sorted[:min(n, len(sorted))]
}

// calculateStatus returns the status rs should report for its pods (those
// it owns after the claim, active or not) at now, and how long after now
// a ready pod becomes available (0 if none is waiting), so the controller
// can reconcile again then and report it on time. manageErr, if not nil,
// is why creating or deleting pods failed; failReason is its reason
// (FailedCreate or FailedDelete).
func calculateStatus(rs *api.ReplicaSet, pods []*api.Pod, now time.Time, manageErr error, failReason string) (api.ReplicaSetStatus, time.Duration) {
	st := api.ReplicaSetStatus{ObservedGeneration: rs.Generation}
	var next time.Duration
	tmpl := rs.Spec.Template.Labels
	for _, p := range pods {
		if !ctrlutil.IsPodActive(p) {
			continue
		}
		st.Replicas++
		if hasLabels(p.Labels, tmpl) {
			st.FullyLabeledReplicas++
		}
		if !ctrlutil.IsPodReady(p) {
			continue
		}
		st.ReadyReplicas++
		switch d := ctrlutil.AvailableAfter(p, rs.Spec.MinReadySeconds, now); {
		case d == 0:
			st.AvailableReplicas++
		case d > 0 && (next == 0 || d < next):
			next = d
		}
	}
	st.Conditions = slices.Clone(rs.Status.Conditions)
	i := slices.IndexFunc(st.Conditions, func(c api.ReplicaSetCondition) bool { return c.Type == api.ReplicaSetReplicaFailure })
	switch {
	case manageErr != nil && i < 0:
		st.Conditions = append(st.Conditions, api.ReplicaSetCondition{
			Type:               api.ReplicaSetReplicaFailure,
			Status:             api.ConditionTrue,
			LastTransitionTime: api.NewTime(now),
			Reason:             failReason,
			Message:            manageErr.Error(),
		})
	case manageErr != nil:
		c := &st.Conditions[i]
		if c.Status != api.ConditionTrue {
			c.Status, c.LastTransitionTime = api.ConditionTrue, api.NewTime(now)
		}
		c.Reason, c.Message = failReason, manageErr.Error()
	case i >= 0:
		st.Conditions = slices.Delete(st.Conditions, i, i+1)
	}
	if len(st.Conditions) == 0 {
		st.Conditions = nil
	}
	return st, next
}

// hasLabels reports whether labels holds every key and value of want.
func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// statusEqual reports whether a and b say the same thing.
func statusEqual(a, b *api.ReplicaSetStatus) bool {
	if a.Replicas != b.Replicas || a.FullyLabeledReplicas != b.FullyLabeledReplicas ||
		a.ReadyReplicas != b.ReadyReplicas || a.AvailableReplicas != b.AvailableReplicas ||
		a.ObservedGeneration != b.ObservedGeneration || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message ||
			!x.LastTransitionTime.Equal(y.LastTransitionTime) {
			return false
		}
	}
	return true
}
