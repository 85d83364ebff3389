package registry

import (
	"bytes"
	"flag"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/store"
)

// decodeCacheSize is how many decoded objects a registry keeps.
const decodeCacheSize = 1024

// decodeCache keeps the last objects the registry decoded, by key, with
// the revision and the bytes they were decoded from, so that reading an
// object again costs a deep copy instead of a JSON decode. The usual hit:
// every create of a namespaced object looks its Namespace up; an object
// read twice in a row (an update's read, then the next); an object read
// soon after the registry wrote it (a pod's binding, read just after the
// pod's create), which seed put in the cache. (Watches with
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

// seed puts obj, which the registry has just written as data at rev under
// key, in the decode cache as if it had been decoded from data, so that
// the next read of the object costs a deep copy instead of a decode: a
// pod's binding reads the pod its create wrote a moment before, a
// status update the object its last update wrote. (Kubernetes' watch
// cache serves a write's first read of the current object the same way.)
//
// obj must be what decoding data gives. The registry's objects are: they
// come decoded from JSON, and what it and admission set on them keeps to
// the wire's precision (api.NewTime, api.NewMicroTime). A test binary
// checks it on every seed (checkSeeds). Events are not seeded: they are
// written once and hardly ever read back by name, and the copy would be
// wasted. shared says obj itself may be kept: the caller returns it to
// a caller who promised not to change it (CreateOptions.Handoff,
// UpdateOptions.ReadOnlyResult); otherwise a copy is.
func (r *Registry) seed(key string, data []byte, rev int64, obj api.Object, shared bool) {
	if r.decoded == nil || r.writeOnly {
		return
	}
	kv := &store.KeyValue{Key: key, Value: data, ModRevision: rev}
	if !shared {
		obj = api.DeepCopy(obj)
	}
	if checkSeeds() {
		r.checkSeed(kv, obj)
	}
	r.decoded.put(kv, obj)
}

// checkSeeds reports whether seed checks what it seeds: in test binaries,
// but not when they run benchmarks, which the check's decode would skew.
var checkSeeds = sync.OnceValue(func() bool {
	if !testing.Testing() {
		return false
	}
	f := flag.Lookup("test.bench")
	return f == nil || f.Value.String() == ""
})

// checkSeed panics if obj is not what decoding kv gives: a seeded object
// that differed from the stored one would be served to the next reader.
func (r *Registry) checkSeed(kv *store.KeyValue, obj api.Object) {
	want, err := r.decode(kv)
	if err != nil {
		panic(fmt.Sprintf("registry: seeding %s %q: %v", r.kind.Kind, kv.Key, err))
	}
	if !reflect.DeepEqual(want, obj) {
		panic(fmt.Sprintf("registry: the object seeded for %s %q is not what its stored JSON decodes to:\nseeded:  %#v\ndecoded: %#v",
			r.kind.Kind, kv.Key, obj, want))
	}
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
