package deployment

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/drover-io/drover/api"
)

// This file is the pure core of the controller: the arithmetic of
// rollouts, scaling and history, as functions of a Deployment and its
// ReplicaSets. They do no I/O; the tests call them directly and
// reconcile.go feeds them.

// Annotations the controller writes.
const (
	// RevisionAnnotation numbers the rollouts: on a ReplicaSet, the
	// revision it was last the new ReplicaSet of; on the Deployment, the
	// revision of its current new ReplicaSet.
	RevisionAnnotation = "deployment.kubernetes.io/revision"
	// DesiredReplicasAnnotation, on a ReplicaSet, is the Deployment's
	// replicas when the controller last sized it: a different value on an
	// active ReplicaSet means the Deployment was scaled since.
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	// MaxReplicasAnnotation, on a ReplicaSet, is the Deployment's replicas
	// plus its maxSurge when the controller last sized it.
	MaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
	// RestartedAtAnnotation is the template annotation `kubectl rollout
	// restart` sets: a changed template, and so a new rollout.
	RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"
)

// Defaults of the Deployment spec, for objects that were not defaulted by
// the API server.
const (
	DefaultRevisionHistoryLimit    = 10
	DefaultProgressDeadlineSeconds = 600
)

// replicasOf returns a Deployment's desired replicas (nil means 1).
func replicasOf(d *api.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// specReplicas returns a ReplicaSet's desired replicas; nil has none.
func specReplicas(rs *api.ReplicaSet) int32 {
	switch {
	case rs == nil:
		return 0
	case rs.Spec.Replicas == nil:
		return 1
	}
	return *rs.Spec.Replicas
}

// availableOf returns how many of rs's pods count as available: its
// status, but never more than its spec, since a ReplicaSet just scaled
// down still reports the pods it is deleting.
func availableOf(rs *api.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return min(rs.Status.AvailableReplicas, specReplicas(rs))
}

// sumSpec returns the desired replicas of rss together.
func sumSpec(rss []*api.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += specReplicas(rs)
	}
	return n
}

// sumAvailable returns the available replicas of rss together (availableOf).
func sumAvailable(rss []*api.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += availableOf(rs)
	}
	return n
}

// Revision returns the revision annotation of an object, 0 if it has none
// or it is not a number.
func Revision(m *api.ObjectMeta) int64 {
	v, err := strconv.ParseInt(m.Annotations[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// maxRevision returns the highest revision of rss.
func maxRevision(rss []*api.ReplicaSet) int64 {
	var n int64
	for _, rs := range rss {
		n = max(n, Revision(&rs.ObjectMeta))
	}
	return n
}

// Bounds returns the maxSurge and maxUnavailable of d resolved against its
// replicas: a percentage of surge rounds up and one of unavailability
// down; unset values are 25%; a Recreate Deployment has neither. If both
// resolve to 0 (a small Deployment with percentages), maxUnavailable is 1,
// so the rollout can progress. maxUnavailable is at most the replicas.
func Bounds(d *api.Deployment) (surge, unavailable int32, err error) {
	if d.Spec.Strategy.Type == api.RecreateDeploymentStrategyType {
		return 0, 0, nil
	}
	quarter := api.FromString("25%")
	s, u := &quarter, &quarter
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			s = ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			u = ru.MaxUnavailable
		}
	}
	replicas := int(replicasOf(d))
	sv, err := s.ScaledValue(replicas, true)
	if err != nil {
		return 0, 0, fmt.Errorf("Deployment %s: spec.strategy.rollingUpdate.maxSurge: %w", d.Key(), err)
	}
	uv, err := u.ScaledValue(replicas, false)
	if err != nil {
		return 0, 0, fmt.Errorf("Deployment %s: spec.strategy.rollingUpdate.maxUnavailable: %w", d.Key(), err)
	}
	if sv < 0 || uv < 0 {
		return 0, 0, fmt.Errorf("Deployment %s: spec.strategy.rollingUpdate: maxSurge %s and maxUnavailable %s must not be negative", d.Key(), s, u)
	}
	if sv == 0 && uv == 0 {
		uv = 1
	}
	return int32(sv), int32(min(uv, replicas)), nil
}

// rollingNewReplicas returns the size the new ReplicaSet should have in
// this step of a rolling update: as close to the Deployment's replicas as
// the surge allows (all ReplicaSets together at most replicas+maxSurge),
// never above them.
func rollingNewReplicas(d *api.Deployment, newRS *api.ReplicaSet, olds []*api.ReplicaSet, surge int32) int32 {
	want, cur := replicasOf(d), specReplicas(newRS)
	if cur >= want {
		return want
	}
	room := want + surge - cur - sumSpec(olds)
	if room <= 0 {
		return cur
	}
	return cur + min(room, want-cur)
}

// scaleTarget is a new size for a ReplicaSet.
type scaleTarget struct {
	rs       *api.ReplicaSet
	replicas int32
}

// rollingOldScaleDown returns the old ReplicaSets to scale down in this
// step of a rolling update, and to what, so that the available pods stay
// at least replicas-maxUnavailable (assuming, as the ReplicaSet
// controller does, that a ReplicaSet scaled down deletes its unavailable
// pods first). Unavailable old pods go first, then available ones, from
// the oldest ReplicaSets.
func rollingOldScaleDown(d *api.Deployment, newRS *api.ReplicaSet, olds []*api.ReplicaSet, unavailable int32) []scaleTarget {
	oldTotal := sumSpec(olds)
	if oldTotal == 0 {
		return nil
	}
	minAvailable := replicasOf(d) - unavailable
	newUnavailable := max(0, specReplicas(newRS)-availableOf(newRS))
	budget := oldTotal + specReplicas(newRS) - minAvailable - newUnavailable
	if budget <= 0 {
		return nil
	}
	byAge := slices.Clone(olds)
	slices.SortStableFunc(byAge, oldestFirst)
	target := make(map[*api.ReplicaSet]int32, len(byAge))
	for _, rs := range byAge {
		target[rs] = specReplicas(rs)
	}
	// Unavailable pods first: deleting them costs no availability.
	for _, rs := range byAge {
		n := min(target[rs]-availableOf(rs), budget)
		if n > 0 {
			target[rs] -= n
			budget -= n
		}
	}
	// Then available ones, down to the minimum.
	spare := min(sumAvailable(olds)+availableOf(newRS)-minAvailable, budget)
	for _, rs := range byAge {
		if spare <= 0 {
			break
		}
		n := min(target[rs], spare)
		target[rs] -= n
		spare -= n
	}
	var out []scaleTarget
	for _, rs := range byAge {
		if target[rs] != specReplicas(rs) {
			out = append(out, scaleTarget{rs, target[rs]})
		}
	}
	return out
}

// oldestFirst orders ReplicaSets by creation, then revision, then name.
func oldestFirst(a, b *api.ReplicaSet) int {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(Revision(&a.ObjectMeta), Revision(&b.ObjectMeta)); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

// proportionalScale spreads the difference between allowed and the
// replicas of the active ReplicaSets over them in proportion to their
// sizes: each gets diff*size/total rounded toward zero, the largest first
// (the newest among equals), and what rounding leaves goes to the
// largest. No ReplicaSet goes below 0.
func proportionalScale(active []*api.ReplicaSet, allowed int32) []scaleTarget {
	total := sumSpec(active)
	diff := allowed - total
	if total == 0 {
		return nil
	}
	bySize := slices.Clone(active)
	slices.SortStableFunc(bySize, func(a, b *api.ReplicaSet) int {
		if c := cmp.Compare(specReplicas(b), specReplicas(a)); c != 0 {
			return c
		}
		return oldestFirst(b, a)
	})
	targets := make([]scaleTarget, len(bySize))
	var given int32
	for i, rs := range bySize {
		share := int32(int64(diff) * int64(specReplicas(rs)) / int64(total))
		if diff > 0 {
			share = min(share, diff-given)
		} else {
			share = max(share, diff-given, -specReplicas(rs))
		}
		targets[i] = scaleTarget{rs, specReplicas(rs) + share}
		given += share
	}
	// The remainder, to the biggest first (a scale down may not fit in one).
	for i := 0; given != diff && i < len(targets); i++ {
		n := diff - given
		if n < 0 {
			n = max(n, -targets[i].replicas)
		}
		targets[i].replicas += n
		given += n
	}
	return targets
}

// historyToDelete returns the old ReplicaSets beyond d's
// revisionHistoryLimit to delete, oldest revision first: only those scaled
// to 0 with no pods left and not being deleted count as history.
func historyToDelete(d *api.Deployment, olds []*api.ReplicaSet) []*api.ReplicaSet {
	limit := int32(DefaultRevisionHistoryLimit)
	if d.Spec.RevisionHistoryLimit != nil {
		limit = *d.Spec.RevisionHistoryLimit
	}
	var dead []*api.ReplicaSet
	for _, rs := range olds {
		if specReplicas(rs) == 0 && rs.Status.Replicas == 0 && rs.DeletionTimestamp == nil &&
			rs.Status.ObservedGeneration >= rs.Generation {
			dead = append(dead, rs)
		}
	}
	excess := len(dead) - int(limit)
	if excess <= 0 {
		return nil
	}
	slices.SortStableFunc(dead, oldestFirstByRevision)
	return dead[:excess]
}
