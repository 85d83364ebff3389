package ctrlutil

import (
	"maps"
	"time"

	"github.com/drover-io/drover/api"
)

// PodFromTemplate returns the pod a controller creates for owner, an object
// of kind ownerGVK (given apart, since an object read from a cache may have
// no kind set), from its pod template t: in owner's namespace, named by the
// API server from the prefix "<owner name>-", with copies of t's labels,
// annotations and spec, and a controller owner reference to owner
// (blockOwnerDeletion true) so the garbage collector deletes it with owner.
// t is not modified.
func PodFromTemplate(t *api.PodTemplateSpec, owner api.Object, ownerGVK api.GroupVersionKind) *api.Pod {
	om := owner.GetObjectMeta()
	p := &api.Pod{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: api.ObjectMeta{
			Namespace:       om.Namespace,
			GenerateName:    generateNamePrefix(om.Name),
			Labels:          maps.Clone(t.Labels),
			Annotations:     maps.Clone(t.Annotations),
			OwnerReferences: []api.OwnerReference{api.NewControllerRef(owner, ownerGVK)},
		},
	}
	t.Spec.DeepCopyInto(&p.Spec)
	return p
}

// maxGenerateNamePrefix is how long a generateName prefix may be: the API
// server appends 5 random characters and a name is at most 63 long (the
// label limit, which pod names keep to by convention).
const maxGenerateNamePrefix = 58

// generateNamePrefix returns "<name>-", cut so the generated name stays
// within the limit.
func generateNamePrefix(name string) string {
	p := name + "-"
	if len(p) > maxGenerateNamePrefix {
		p = p[:maxGenerateNamePrefix]
	}
	return p
}

// IsPodActive reports whether p counts towards a controller's replicas: it
// has not terminated (phase Succeeded or Failed) and is not being deleted
// (no deletionTimestamp).
func IsPodActive(p *api.Pod) bool {
	return p.Status.Phase != api.PodSucceeded && p.Status.Phase != api.PodFailed && p.DeletionTimestamp == nil
}

// podReadyCondition returns p's Ready condition, or nil.
func podReadyCondition(p *api.Pod) *api.PodCondition {
	for i := range p.Status.Conditions {
		if c := &p.Status.Conditions[i]; c.Type == api.PodReady {
			return c
		}
	}
	return nil
}

// IsPodReady reports whether p's Ready condition is True.
func IsPodReady(p *api.Pod) bool {
	c := podReadyCondition(p)
	return c != nil && c.Status == api.ConditionTrue
}

// PodReadySince returns when p became ready (its Ready condition's
// lastTransitionTime), and false if p is not ready. A ready pod whose
// condition has no transition time reports the zero time and true.
func PodReadySince(p *api.Pod) (time.Time, bool) {
	c := podReadyCondition(p)
	if c == nil || c.Status != api.ConditionTrue {
		return time.Time{}, false
	}
	return c.LastTransitionTime.Time, true
}

// IsPodAvailable reports whether p has been ready for at least
// minReadySeconds at now. With minReadySeconds 0 a ready pod is available;
// otherwise a ready pod with no transition time is not (its readiness
// cannot be dated).
func IsPodAvailable(p *api.Pod, minReadySeconds int32, now time.Time) bool {
	return AvailableAfter(p, minReadySeconds, now) == 0
}

// AvailableAfter returns how long after now the ready pod p becomes
// available: 0 if it is available already, the rest of minReadySeconds if
// it is ready but not yet for long enough, and -1 if it is not ready (or
// cannot be dated) and so has no time at which it will become available.
// A controller requeues after the smallest positive value so it reports
// availability on time.
func AvailableAfter(p *api.Pod, minReadySeconds int32, now time.Time) time.Duration {
	since, ok := PodReadySince(p)
	if !ok {
		return -1
	}
	if minReadySeconds <= 0 {
		return 0
	}
	if since.IsZero() {
		return -1
	}
	at := since.Add(time.Duration(minReadySeconds) * time.Second)
	if !now.Before(at) {
		return 0
	}
	return at.Sub(now)
}
