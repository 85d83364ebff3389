package deployment

import (
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
)

// Reasons of the Deployment's conditions, as Kubernetes names them.
const (
	ReasonMinimumReplicasAvailable   = "MinimumReplicasAvailable"
	ReasonMinimumReplicasUnavailable = "MinimumReplicasUnavailable"
	ReasonNewReplicaSetCreated       = "NewReplicaSetCreated"
	ReasonFoundNewReplicaSet         = "FoundNewReplicaSet"
	ReasonReplicaSetUpdated          = "ReplicaSetUpdated"
	ReasonNewReplicaSetAvailable     = "NewReplicaSetAvailable"
	ReasonProgressDeadlineExceeded   = "ProgressDeadlineExceeded"
	ReasonDeploymentPaused           = "DeploymentPaused"
	ReasonDeploymentResumed          = "DeploymentResumed"
)

// Event reasons.
const (
	// EventScalingReplicaSet is recorded for each ReplicaSet scaled.
	EventScalingReplicaSet = "ScalingReplicaSet"
	// EventSelectingAll is a warning about a Deployment whose empty
	// selector would select every pod.
	EventSelectingAll = "SelectingAll"
)

// rolloutEvent says what a reconcile did to the new ReplicaSet, for the
// Progressing condition.
type rolloutEvent int

const (
	rolloutNone       rolloutEvent = iota
	rolloutCreatedRS               // the new ReplicaSet was created
	rolloutFoundOldRS              // an old ReplicaSet became the new one (rollback)
)

// progressDeadline returns d's progressDeadlineSeconds as a duration.
func progressDeadline(d *api.Deployment) time.Duration {
	s := int32(DefaultProgressDeadlineSeconds)
	if d.Spec.ProgressDeadlineSeconds != nil {
		s = *d.Spec.ProgressDeadlineSeconds
	}
	return time.Duration(s) * time.Second
}

// nextStatus returns the status of d given its ReplicaSets (all, newRS
// among them or nil), what this reconcile did (ev), and the time.
func nextStatus(d *api.Deployment, newRS *api.ReplicaSet, all []*api.ReplicaSet, ev rolloutEvent, unavailable int32, now time.Time) api.DeploymentStatus {
	prev := d.Status
	st := api.DeploymentStatus{
		ObservedGeneration: d.Generation,
		CollisionCount:     prev.CollisionCount,
		Conditions:         append([]api.DeploymentCondition(nil), prev.Conditions...),
	}
	for _, rs := range all {
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	if newRS != nil {
		st.UpdatedReplicas = newRS.Status.Replicas
	}
	replicas := replicasOf(d)
	st.UnavailableReplicas = max(0, replicas-st.AvailableReplicas)

	if st.AvailableReplicas >= replicas-unavailable {
		setCondition(&st, api.DeploymentAvailable, api.ConditionTrue, ReasonMinimumReplicasAvailable, "Deployment has minimum availability.", now)
	} else {
		setCondition(&st, api.DeploymentAvailable, api.ConditionFalse, ReasonMinimumReplicasUnavailable, "Deployment does not have minimum availability.", now)
	}

	rsName := ""
	if newRS != nil {
		rsName = newRS.Name
	}
	cond := condition(&prev, api.DeploymentProgressing)
	switch {
	case d.Spec.Paused:
		if cond == nil || cond.Reason != ReasonDeploymentPaused {
			setCondition(&st, api.DeploymentProgressing, api.ConditionUnknown, ReasonDeploymentPaused, "Deployment is paused", now)
		}
	case newRS != nil && complete(d, newRS, &st):
		setCondition(&st, api.DeploymentProgressing, api.ConditionTrue, ReasonNewReplicaSetAvailable,
			fmt.Sprintf("ReplicaSet %q has successfully progressed.", rsName), now)
	case ev == rolloutCreatedRS:
		setCondition(&st, api.DeploymentProgressing, api.ConditionTrue, ReasonNewReplicaSetCreated,
			fmt.Sprintf("Created new replica set %q", rsName), now)
	case ev == rolloutFoundOldRS || (newRS != nil && cond == nil):
		setCondition(&st, api.DeploymentProgressing, api.ConditionTrue, ReasonFoundNewReplicaSet,
			fmt.Sprintf("Found new replica set %q", rsName), now)
	case newRS != nil && progressed(&prev, &st):
		setCondition(&st, api.DeploymentProgressing, api.ConditionTrue, ReasonReplicaSetUpdated,
			fmt.Sprintf("ReplicaSet %q is progressing.", rsName), now)
	case cond != nil && cond.Reason == ReasonDeploymentPaused:
		setCondition(&st, api.DeploymentProgressing, api.ConditionUnknown, ReasonDeploymentResumed, "Deployment is resumed", now)
	case newRS != nil && timedOut(d, cond, now):
		setCondition(&st, api.DeploymentProgressing, api.ConditionFalse, ReasonProgressDeadlineExceeded,
			fmt.Sprintf("ReplicaSet %q has timed out progressing.", rsName), now)
	}
	return st
}

// complete reports whether d's rollout is over: every desired replica is
// updated and available, and no old pod is left.
func complete(d *api.Deployment, newRS *api.ReplicaSet, st *api.DeploymentStatus) bool {
	r := replicasOf(d)
	return specReplicas(newRS) == r && st.UpdatedReplicas == r && st.Replicas == r && st.AvailableReplicas >= r
}

// progressed reports whether the rollout moved between prev and st: more
// updated, ready or available pods, or fewer old ones.
func progressed(prev, st *api.DeploymentStatus) bool {
	return st.UpdatedReplicas > prev.UpdatedReplicas ||
		st.Replicas-st.UpdatedReplicas < prev.Replicas-prev.UpdatedReplicas ||
		st.ReadyReplicas > prev.ReadyReplicas ||
		st.AvailableReplicas > prev.AvailableReplicas
}

// timedOut reports whether the rollout has made no progress for longer
// than d's progress deadline, as of now.
func timedOut(d *api.Deployment, cond *api.DeploymentCondition, now time.Time) bool {
	if cond == nil || cond.Reason == ReasonNewReplicaSetAvailable || cond.Reason == ReasonProgressDeadlineExceeded {
		return false
	}
	return !now.Before(cond.LastUpdateTime.Add(progressDeadline(d)))
}

// deadlineIn returns how long until the rollout of d, with status st,
// times out, and false if it cannot (it is complete, paused, or timed
// out already).
func deadlineIn(d *api.Deployment, st *api.DeploymentStatus, now time.Time) (time.Duration, bool) {
	cond := condition(st, api.DeploymentProgressing)
	if d.Spec.Paused || cond == nil || cond.Status != api.ConditionTrue && cond.Reason != ReasonDeploymentResumed ||
		cond.Reason == ReasonNewReplicaSetAvailable {
		return 0, false
	}
	return max(0, cond.LastUpdateTime.Add(progressDeadline(d)).Sub(now)), true
}

// condition returns st's condition of type t, or nil.
func condition(st *api.DeploymentStatus, t api.DeploymentConditionType) *api.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// Condition returns d's condition of type t, or nil.
func Condition(d *api.Deployment, t api.DeploymentConditionType) *api.DeploymentCondition {
	return condition(&d.Status, t)
}

// setCondition sets st's condition of type t. A condition with the same
// status, reason and message is left as it is; otherwise its update time
// is now, and its transition time too if the status changes.
func setCondition(st *api.DeploymentStatus, t api.DeploymentConditionType, status api.ConditionStatus, reason, message string, now time.Time) {
	c := api.DeploymentCondition{
		Type: t, Status: status, Reason: reason, Message: message,
		LastUpdateTime: api.NewTime(now), LastTransitionTime: api.NewTime(now),
	}
	old := condition(st, t)
	if old == nil {
		st.Conditions = append(st.Conditions, c)
		return
	}
	if old.Status == status && old.Reason == reason && old.Message == message && reason != ReasonReplicaSetUpdated {
		return
	}
	if old.Status == status {
		c.LastTransitionTime = old.LastTransitionTime
	}
	*old = c
}
