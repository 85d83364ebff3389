package informer

import (
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
)

// Lister reads the objects of one kind from a Cache with their Go type
// (T is a pointer type such as *api.Pod). The objects are the cache's:
// never modify them.
type Lister[T api.Object] struct {
	cache *Cache
	gr    api.GroupResource
}

// NewLister returns a Lister over c, whose objects must all be Ts; gr
// names the resource in NotFound errors.
func NewLister[T api.Object](c *Cache, gr api.GroupResource) Lister[T] {
	return Lister[T]{cache: c, gr: gr}
}

// Get returns the object named name in namespace ("" for cluster-scoped
// kinds), or a NotFound *api.StatusError.
func (l Lister[T]) Get(namespace, name string) (T, error) {
	obj, ok := l.cache.Get(KeyFor(namespace, name))
	if !ok {
		var zero T
		return zero, api.NewNotFound(l.gr, name)
	}
	return cast[T](obj)
}

// List returns the objects whose labels match sel, in every namespace.
func (l Lister[T]) List(sel labels.Selector) ([]T, error) {
	return castAll[T](l.cache.List(sel))
}

// ListNamespace returns the objects of namespace whose labels match sel.
func (l Lister[T]) ListNamespace(namespace string, sel labels.Selector) ([]T, error) {
	objs, err := l.cache.ByIndex(IndexNamespace, namespace, sel)
	if err != nil {
		return nil, err
	}
	return castAll[T](objs)
}

// ByIndex returns the objects found under value in the named index whose
// labels match sel.
func (l Lister[T]) ByIndex(index, value string, sel labels.Selector) ([]T, error) {
	objs, err := l.cache.ByIndex(index, value, sel)
	if err != nil {
		return nil, err
	}
	return castAll[T](objs)
}

// OwnedBy returns the objects with an owner reference to uid.
func (l Lister[T]) OwnedBy(uid api.UID) ([]T, error) {
	return l.ByIndex(IndexOwner, string(uid), labels.Everything())
}

func cast[T api.Object](obj api.Object) (T, error) {
	t, ok := obj.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("informer: the cache holds a %T, not a %T", obj, zero)
	}
	return t, nil
}

func castAll[T api.Object](objs []api.Object) ([]T, error) {
	out := make([]T, len(objs))
	for i, obj := range objs {
		t, err := cast[T](obj)
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}
