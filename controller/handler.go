package controller

import (
	"context"
	"strings"

	"github.com/drover-io/drover/api"
)

// MapFunc returns the Requests an object's change should reconcile: the
// object itself (EnqueueObject), its owner (EnqueueOwner) or any objects
// that depend on it (a function of your own, given to Builder.Watches).
// For an update it is called with the old and the new object, and the
// union of the results is queued, so a change that moves an object from one
// owner to another reconciles both.
//
// The controller calls it from the informer's handler goroutine for the
// source (one per source) and when it replays the cache on start; ctx ends
// when the controller stops. It may read listers, but must be fast, must
// not modify obj, and must not make API calls that block for long: it holds
// up every later event of its source.
type MapFunc func(ctx context.Context, obj api.Object) []Request

// EnqueueObject is the MapFunc of Builder.For: the object's own Request.
func EnqueueObject(_ context.Context, obj api.Object) []Request {
	m := obj.GetObjectMeta()
	return []Request{{Namespace: m.Namespace, Name: m.Name}}
}

// EnqueueOwner returns the MapFunc of Builder.Owns: the Request of the
// object's controller, the owner reference with controller: true, if that
// owner is of kind owner (matched by group and kind, whatever the version).
// Objects with no such reference map to nothing. A namespaced owner is
// looked for in the object's namespace, as owner references require.
func EnqueueOwner(owner api.Kind) MapFunc {
	return func(_ context.Context, obj api.Object) []Request {
		m := obj.GetObjectMeta()
		ref := m.ControllerRef()
		if ref == nil || ref.Kind != owner.Kind || groupOf(ref.APIVersion) != owner.Group {
			return nil
		}
		req := Request{Name: ref.Name}
		if owner.Namespaced {
			req.Namespace = m.Namespace
		}
		return []Request{req}
	}
}

// groupOf returns the group of an apiVersion: "apps" of "apps/v1", "" of
// "v1".
func groupOf(apiVersion string) string {
	if i := strings.IndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}
