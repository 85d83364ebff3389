package garbagecollector

import (
	"slices"

	"github.com/drover-io/drover/api"
)

// The garbage collector's finalizers, which the API server adds for the
// Orphan and Foreground propagation policies.
const (
	FinalizerOrphan             = "orphan"
	FinalizerForegroundDeletion = "foregroundDeletion"
)

// ownerState is what a live read found of the owner an ownerReference
// names.
type ownerState int

const (
	// ownerPresent: the owner exists with the reference's uid.
	ownerPresent ownerState = iota
	// ownerAbsent: no object of that name, or one with another uid (the
	// owner was deleted and a new object took its name). The reference
	// dangles.
	ownerAbsent
	// ownerDeletingForeground: the owner exists and is being deleted in
	// the foreground (deletionTimestamp and the foregroundDeletion
	// finalizer): it waits for its dependents to go.
	ownerDeletingForeground
	// ownerIgnored: the reference cannot be followed (its kind is not
	// known, or a cluster-scoped dependent names a namespaced owner). It
	// is neither removed nor taken as a reason to delete: it keeps the
	// dependent as a present owner would.
	ownerIgnored
)

// verdict is what the collector does with a dependent given its owners'
// states.
type verdict struct {
	// Delete the dependent (with its uid as a precondition).
	Delete bool
	// Foreground, with Delete: delete it in the foreground, because an
	// owner waits for it.
	Foreground bool
	// Patch, when not Delete: the dependent's ownerReferences become
	// Refs (the dangling ones dropped, blockOwnerDeletion cleared on those
	// to owners that wait, since this dependent will not go).
	Patch bool
	Refs  []api.OwnerReference
}

// decide is the collector's rule for one dependent, given the state of
// the owner of each of its ownerReferences (states[i] for refs[i]). It is
// pure.
//
//   - No reference dangles and no owner waits: nothing to do.
//   - No owner remains (present or ignored): delete the dependent, in the
//     foreground if some owner waits for it, in the background otherwise.
//   - Some owner remains: keep the dependent, drop the dangling
//     references, and stop blocking the owners that wait.
func decide(refs []api.OwnerReference, states []ownerState) verdict {
	var dangling, waiting, solid int
	for _, s := range states {
		switch s {
		case ownerAbsent:
			dangling++
		case ownerDeletingForeground:
			waiting++
		default:
			solid++
		}
	}
	switch {
	case dangling == 0 && waiting == 0:
		return verdict{}
	case solid == 0:
		return verdict{Delete: true, Foreground: waiting > 0}
	}
	var out []api.OwnerReference
	changed := false
	for i, r := range refs {
		switch states[i] {
		case ownerAbsent:
			changed = true
			continue
		case ownerDeletingForeground:
			if r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
				r.BlockOwnerDeletion = new(false)
				changed = true
			}
		}
		out = append(out, r)
	}
	if !changed {
		return verdict{}
	}
	return verdict{Patch: true, Refs: out}
}

// withoutOwner returns refs without those to the owner uid, and whether
// there were any.
func withoutOwner(refs []api.OwnerReference, uid api.UID) ([]api.OwnerReference, bool) {
	out := slices.DeleteFunc(slices.Clone(refs), func(r api.OwnerReference) bool { return r.UID == uid })
	return out, len(out) != len(refs)
}

// blocks reports whether a dependent with refs holds the foreground
// deletion of the owner uid: one of its references to it has
// blockOwnerDeletion true.
func blocks(refs []api.OwnerReference, uid api.UID) bool {
	for _, r := range refs {
		if r.UID == uid && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

// without returns fs without f, and whether f was there.
func without(fs []string, f string) ([]string, bool) {
	out := slices.DeleteFunc(slices.Clone(fs), func(s string) bool { return s == f })
	return out, len(out) != len(fs)
}

// groupVersionOf parses an apiVersion: apps/v1 of "apps/v1", v1 of "v1".
func groupVersionOf(apiVersion string) api.GroupVersion {
	for i := 0; i < len(apiVersion); i++ {
		if apiVersion[i] == '/' {
			return api.GroupVersion{Group: apiVersion[:i], Version: apiVersion[i+1:]}
		}
	}
	return api.GroupVersion{Version: apiVersion}
}
