package controller

import (
	"maps"

	"github.com/drover-io/drover/api"
)

// EventType is the kind of change an informer reported.
type EventType uint8

// The event types.
const (
	// Create: the object appeared, or was there when the controller
	// started (the cache is replayed as creates on every start).
	Create EventType = iota + 1
	// Update: the object changed; Event.Old holds the previous state.
	Update
	// Delete: the object went away; Event.Object is its last known state.
	Delete
)

// String returns "create", "update" or "delete".
func (t EventType) String() string {
	switch t {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	}
	return "unknown"
}

// Event is one change to an object, as predicates and map functions see
// it. The objects are the informer cache's: read them, never modify them.
type Event struct {
	Type EventType
	// Object is the new state (for Delete, the last known state).
	Object api.Object
	// Old is the previous state, for Update only.
	Old api.Object
}

// Predicate filters the events of one source before they become Requests.
// The controller calls Allow from the informer's handler goroutine for that
// source (one goroutine per source), and when it replays the cache on
// start; it must be fast and must not modify the objects.
type Predicate interface {
	Allow(ev Event) bool
}

// PredicateFunc adapts a function to a Predicate.
type PredicateFunc func(ev Event) bool

// Allow calls f(ev).
func (f PredicateFunc) Allow(ev Event) bool { return f(ev) }

// onUpdate is a predicate that lets creates and deletes through and asks
// changed about updates.
func onUpdate(changed func(old, obj *api.ObjectMeta) bool) Predicate {
	return PredicateFunc(func(ev Event) bool {
		if ev.Type != Update || ev.Old == nil {
			return true
		}
		return changed(ev.Old.GetObjectMeta(), ev.Object.GetObjectMeta())
	})
}

// GenerationChanged lets an update through only when metadata.generation
// changed: a change of the spec, not of the status or metadata. Creates and
// deletes pass. Use it on the For kind of a controller that writes its own
// status, so its status writes do not reconcile it again.
func GenerationChanged() Predicate {
	return onUpdate(func(old, obj *api.ObjectMeta) bool { return old.Generation != obj.Generation })
}

// LabelsChanged lets an update through only when the labels changed.
// Creates and deletes pass.
func LabelsChanged() Predicate {
	return onUpdate(func(old, obj *api.ObjectMeta) bool { return !maps.Equal(old.Labels, obj.Labels) })
}

// AnnotationsChanged lets an update through only when the annotations
// changed. Creates and deletes pass.
func AnnotationsChanged() Predicate {
	return onUpdate(func(old, obj *api.ObjectMeta) bool { return !maps.Equal(old.Annotations, obj.Annotations) })
}

// ResourceVersionChanged lets an update through only when the
// resourceVersion changed, dropping the no-op updates a relist may report.
// Creates and deletes pass.
func ResourceVersionChanged() Predicate {
	return onUpdate(func(old, obj *api.ObjectMeta) bool { return old.ResourceVersion != obj.ResourceVersion })
}

// And lets an event through when every p does (and when there is none).
func And(ps ...Predicate) Predicate {
	return PredicateFunc(func(ev Event) bool {
		for _, p := range ps {
			if !p.Allow(ev) {
				return false
			}
		}
		return true
	})
}

// Or lets an event through when at least one p does.
func Or(ps ...Predicate) Predicate {
	return PredicateFunc(func(ev Event) bool {
		for _, p := range ps {
			if p.Allow(ev) {
				return true
			}
		}
		return false
	})
}

// Not lets an event through when p does not.
func Not(p Predicate) Predicate {
	return PredicateFunc(func(ev Event) bool { return !p.Allow(ev) })
}

// OnTypes lets through the events of the given types only, such as
// OnTypes(Create, Delete) for a controller that ignores updates.
func OnTypes(types ...EventType) Predicate {
	return PredicateFunc(func(ev Event) bool {
		for _, t := range types {
			if ev.Type == t {
				return true
			}
		}
		return false
	})
}
