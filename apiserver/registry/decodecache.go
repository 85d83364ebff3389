package registry

import (
	"bytes"
	"sync"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/store"
)

// decodeCacheSize is how many decoded objects a registry keeps.
const decodeCacheSize = 1024

// decodeCache keeps the last objects the registry decoded, by key, with
// the revision and the bytes they were decoded from, so that reading an
// object again costs a deep copy instead of a JSON decode. The usual hit:
// every create of a namespaced object looks its Namespace up; an object
// read twice in a row (an update's read, then the next). (Watches with
// selectors no longer fill it: they decode only what their selectors
// read, see sparseDecoder.) Entries leave in the order they came in.
//
// Only kinds with a generated DeepCopyObject use it (for the others a
// reflective copy could cost as much as the decode it saves).
type decodeCache struct {
	mu      sync.Mutex
	entries map[string]*decoded
	order   []string // keys in insertion order, a ring of decodeCacheSize
	next    int      // the slot of order that the next insertion takes
}

type decoded struct {
	rev   int64
	value []byte     // what obj was decoded from, a private copy
	obj   api.Object // read-only: handed out as deep copies
}

func newDecodeCache() *decodeCache {
	return &decodeCache{entries: make(map[string]*decoded), order: make([]string, 0, decodeCacheSize)}
}

// get returns a deep copy of the object decoded from kv, or nil.
func (c *decodeCache) get(kv *store.KeyValue) api.Object {
	if obj := c.shared(kv); obj != nil {
		return api.DeepCopy(obj)
	}
	return nil
}

// shared returns the cached object decoded from kv itself, or nil: the
// caller must not change it.
func (c *decodeCache) shared(kv *store.KeyValue) api.Object {
	c.mu.Lock()
	d := c.entries[kv.Key]
	c.mu.Unlock()
	if d == nil || d.rev != kv.ModRevision || !bytes.Equal(d.value, kv.Value) {
		return nil
	}
	return d.obj
}

// put keeps obj, decoded from kv, which nobody may change from now on.
func (c *decodeCache) put(kv *store.KeyValue, obj api.Object) {
	d := &decoded{rev: kv.ModRevision, value: bytes.Clone(kv.Value), obj: obj}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[kv.Key]; ok {
		if old.rev < d.rev {
			c.entries[kv.Key] = d // its slot in order stays where it was
		}
		return
	}
	if len(c.order) < decodeCacheSize {
		c.order = append(c.order, kv.Key)
	} else {
		delete(c.entries, c.order[c.next])
		c.order[c.next] = kv.Key
		c.next = (c.next + 1) % decodeCacheSize
	}
	c.entries[kv.Key] = d
}

// decodeCached is decode through the registry's decode cache. The object
// it returns is the caller's to change, as decode's is.
func (r *Registry) decodeCached(kv *store.KeyValue) (api.Object, error) {
	if r.decoded == nil {
		return r.decode(kv)
	}
	if obj := r.decoded.get(kv); obj != nil {
		return obj, nil
	}
	obj, err := r.decode(kv)
	if err != nil {
		return nil, err
	}
	r.decoded.put(kv, api.DeepCopy(obj))
	return obj, nil
}

// decodeShared is decode through the registry's decode cache for a
// caller that never changes the object: the watch cache, whose events'
// objects are read-only. A hit costs nothing, and a miss no copy: the
// object is shared with the cache, which only hands out copies of it.
func (r *Registry) decodeShared(kv *store.KeyValue) (api.Object, error) {
	if r.decoded == nil {
		return r.decode(kv)
	}
	if obj := r.decoded.shared(kv); obj != nil {
		return obj, nil
	}
	obj, err := r.decode(kv)
	if err != nil {
		return nil, err
	}
	r.decoded.put(kv, obj)
	return obj, nil
}
