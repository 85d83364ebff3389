package namespace

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/drover-io/drover/api"
)

// content is what one pass over a terminating namespace found and did.
type content struct {
	// Remaining counts, per resource ("pods"), the objects still in the
	// namespace after their deletion was asked for.
	Remaining map[string]int
	// Finalizers counts, per finalizer, the remaining objects it holds.
	Finalizers map[string]int
	// Failures are the deletions or lists that failed, one line each.
	Failures []string
}

// empty reports whether the namespace holds nothing any more and nothing
// failed: its "kubernetes" finalizer can go.
func (c content) empty() bool { return len(c.Remaining) == 0 && len(c.Failures) == 0 }

// conditions returns the status conditions of a terminating namespace for
// c, keeping the transition time of those in old whose status did not
// change. It is pure.
func conditions(c content, old []api.NamespaceCondition, now time.Time) []api.NamespaceCondition {
	cond := func(t api.NamespaceConditionType, on bool, reason, message string) api.NamespaceCondition {
		status := api.ConditionFalse
		if on {
			status = api.ConditionTrue
		}
		nc := api.NamespaceCondition{Type: t, Status: status, Reason: reason, Message: message, LastTransitionTime: api.NewTime(now)}
		for _, o := range old {
			if o.Type == t && o.Status == status {
				nc.LastTransitionTime = o.LastTransitionTime
			}
		}
		return nc
	}
	out := []api.NamespaceCondition{
		cond(api.NamespaceDeletionDiscoveryFailure, false, "ResourcesDiscovered", "All resources successfully discovered"),
	}
	if len(c.Failures) > 0 {
		out = append(out, cond(api.NamespaceDeletionContentFailure, true, "ContentDeletionFailed",
			"Failed to delete all resource types, "+fmt.Sprint(len(c.Failures))+" remaining: "+strings.Join(c.Failures, ", ")))
	} else {
		out = append(out, cond(api.NamespaceDeletionContentFailure, false, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"))
	}
	if len(c.Remaining) > 0 {
		out = append(out, cond(api.NamespaceContentRemaining, true, "SomeResourcesRemain",
			"Some resources are remaining: "+counts(c.Remaining, "resource instances")))
	} else {
		out = append(out, cond(api.NamespaceContentRemaining, false, "ContentRemoved", "All content successfully removed"))
	}
	if len(c.Finalizers) > 0 {
		out = append(out, cond(api.NamespaceFinalizersRemaining, true, "SomeFinalizersRemain",
			"Some content in the namespace has finalizers remaining: "+counts(c.Finalizers, "resource instances")))
	} else {
		out = append(out, cond(api.NamespaceFinalizersRemaining, false, "ContentHasNoFinalizers", "All content-preserving finalizers finished"))
	}
	return out
}

// counts says "pods has 2 resource instances, secrets has 1 resource
// instances", sorted by name, as Kubernetes words it.
func counts(m map[string]int, what string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s has %d %s", k, m[k], what))
	}
	return strings.Join(parts, ", ")
}

// sameConditions reports whether a and b say the same, transition times
// aside.
func sameConditions(a, b []api.NamespaceCondition) bool {
	return slices.EqualFunc(a, b, func(x, y api.NamespaceCondition) bool {
		return x.Type == y.Type && x.Status == y.Status && x.Reason == y.Reason && x.Message == y.Message
	})
}
