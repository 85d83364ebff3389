package informer

import (
	"fmt"
	"slices"
	"sync"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
)

// The built-in indexes every Cache has.
const (
	// IndexNamespace indexes objects by metadata.namespace ("" for
	// cluster-scoped kinds).
	IndexNamespace = "namespace"
	// IndexOwner indexes objects by the uid of each of their owner
	// references.
	IndexOwner = "owner"
	// IndexController indexes objects by the uid of their controller (the
	// owner reference with controller: true), if any.
	IndexController = "controller"
)

// IndexFunc returns the values of one index for an object: a key may be
// found under any number of values. It must be a pure function of the
// object, and must not modify it.
type IndexFunc func(obj api.Object) []string

// Indexers are named index functions.
type Indexers map[string]IndexFunc

// Key returns the cache key of an object: "<namespace>/<name>", or
// "<name>" for an object with no namespace.
func Key(obj api.Object) string {
	m := obj.GetObjectMeta()
	return KeyFor(m.Namespace, m.Name)
}

// KeyFor returns the cache key of the object named name in namespace.
func KeyFor(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func namespaceIndex(obj api.Object) []string {
	return []string{obj.GetObjectMeta().Namespace}
}

func ownerIndex(obj api.Object) []string {
	refs := obj.GetObjectMeta().OwnerReferences
	if len(refs) == 0 {
		return nil
	}
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, string(r.UID))
	}
	return out
}

func controllerIndex(obj api.Object) []string {
	for _, r := range obj.GetObjectMeta().OwnerReferences {
		if r.Controller != nil && *r.Controller {
			return []string{string(r.UID)}
		}
	}
	return nil
}

// Cache is the indexed, thread-safe store of the objects an informer has
// seen. It holds the one copy of each object: what Get, List and ByIndex
// return, and what event handlers receive, is shared with every other
// reader and must not be modified (copy it with api.DeepCopy first).
//
// Its methods are safe for concurrent use; the informer is the only
// writer.
type Cache struct {
	mu       sync.RWMutex
	items    map[string]api.Object
	indexers Indexers
	// indices[index][value] is the set of keys with that value.
	indices map[string]map[string]map[string]struct{}
}

// NewCache returns an empty cache with the built-in indexes and indexers.
// A name of indexers may not repeat a built-in index name.
func NewCache(indexers Indexers) (*Cache, error) {
	c := &Cache{
		items: make(map[string]api.Object),
		indexers: Indexers{
			IndexNamespace:  namespaceIndex,
			IndexOwner:      ownerIndex,
			IndexController: controllerIndex,
		},
		indices: make(map[string]map[string]map[string]struct{}),
	}
	for name, f := range indexers {
		if err := c.addIndexer(name, f); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// AddIndexers adds indexes, computed at once for the objects already held.
func (c *Cache) AddIndexers(indexers Indexers) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, f := range indexers {
		if err := c.addIndexer(name, f); err != nil {
			return err
		}
		for key, obj := range c.items {
			c.index(name, f, key, obj)
		}
	}
	return nil
}

func (c *Cache) addIndexer(name string, f IndexFunc) error {
	if name == "" || f == nil {
		return fmt.Errorf("informer: indexer %q: a name and a function are required", name)
	}
	if _, ok := c.indexers[name]; ok {
		return fmt.Errorf("informer: indexer %q already exists", name)
	}
	c.indexers[name] = f
	return nil
}

// index adds key under the values of one index for obj.
func (c *Cache) index(name string, f IndexFunc, key string, obj api.Object) {
	values := f(obj)
	if len(values) == 0 {
		return
	}
	idx := c.indices[name]
	if idx == nil {
		idx = make(map[string]map[string]struct{})
		c.indices[name] = idx
	}
	for _, v := range values {
		set := idx[v]
		if set == nil {
			set = make(map[string]struct{}, 1)
			idx[v] = set
		}
		set[key] = struct{}{}
	}
}

// unindex removes key from the values of every index for obj.
func (c *Cache) unindex(key string, obj api.Object) {
	for name, f := range c.indexers {
		idx := c.indices[name]
		for _, v := range f(obj) {
			if set := idx[v]; set != nil {
				delete(set, key)
				if len(set) == 0 {
					delete(idx, v)
				}
			}
		}
	}
}

// set stores obj under key, replacing what was there, and returns the
// previous object (nil if none).
func (c *Cache) set(key string, obj api.Object) api.Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.items[key]
	if old != nil {
		c.unindex(key, old)
	}
	c.items[key] = obj
	for name, f := range c.indexers {
		c.index(name, f, key, obj)
	}
	return old
}

// remove deletes key and returns the object it held (nil if none).
func (c *Cache) remove(key string) api.Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.items[key]
	if old != nil {
		c.unindex(key, old)
		delete(c.items, key)
	}
	return old
}

// Get returns the object with key, or nil and false.
func (c *Cache) Get(key string) (api.Object, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	obj, ok := c.items[key]
	return obj, ok
}

// Len returns the number of objects held.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}

// Keys returns the keys of every object held, sorted.
func (c *Cache) Keys() []string {
	c.mu.RLock()
	keys := make([]string, 0, len(c.items))
	for k := range c.items {
		keys = append(keys, k)
	}
	c.mu.RUnlock()
	slices.Sort(keys)
	return keys
}

// List returns the objects whose labels match sel, in no particular order.
func (c *Cache) List(sel labels.Selector) []api.Object {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]api.Object, 0, len(c.items))
	for _, obj := range c.items {
		if sel.Matches(labels.Set(obj.GetObjectMeta().Labels)) {
			out = append(out, obj)
		}
	}
	return out
}

// ByIndex returns the objects found under value in the named index whose
// labels match sel, in no particular order. An unknown index is an error.
func (c *Cache) ByIndex(index, value string, sel labels.Selector) ([]api.Object, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if _, ok := c.indexers[index]; !ok {
		return nil, fmt.Errorf("informer: no index %q", index)
	}
	set := c.indices[index][value]
	out := make([]api.Object, 0, len(set))
	for key := range set {
		obj := c.items[key]
		if sel.Matches(labels.Set(obj.GetObjectMeta().Labels)) {
			out = append(out, obj)
		}
	}
	return out, nil
}

// IndexValues returns the values present in the named index, sorted.
func (c *Cache) IndexValues(index string) []string {
	c.mu.RLock()
	idx := c.indices[index]
	out := make([]string, 0, len(idx))
	for v := range idx {
		out = append(out, v)
	}
	c.mu.RUnlock()
	slices.Sort(out)
	return out
}
