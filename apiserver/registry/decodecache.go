package registry

import (
	"bytes"
	"flag"
	"fmt"
	"os"
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
	// verify, in test binaries only (checkCache), is called with each
	// object the cache hands out or takes, and ends the process if it
	// is not what its bytes decode to.
	verify func(kv *store.KeyValue, obj api.Object)
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
	if c.verify != nil {
		c.verify(kv, d.obj) // nobody changed it since it was cached
	}
	return d.obj
}

// put keeps obj, decoded from kv, which nobody may change from now on.
func (c *decodeCache) put(kv *store.KeyValue, obj api.Object) {
	if c.verify != nil {
		c.verify(kv, obj)
	}
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
// the wire's precision (api.NewTime, api.NewMicroTime; quantities decode
// with the format their canonical form parses with, resource.ParseWire).
// A test binary checks every object the cache takes or hands out
// (checkCache). Events are not seeded: they are written once and hardly
// ever read back by name, and the copy would be wasted. shared says obj
// itself may be kept: the caller returns it to a caller who promised not
// to change it (CreateOptions.Handoff, UpdateOptions.ReadOnlyResult);
// otherwise a copy is.
func (r *Registry) seed(key string, data []byte, rev int64, obj api.Object, shared bool) {
	if r.decoded == nil || r.writeOnly {
		return
	}
	kv := &store.KeyValue{Key: key, Value: data, ModRevision: rev}
	if !shared {
		obj = api.DeepCopy(obj)
	}
	r.decoded.put(kv, obj)
}

// checkCache reports whether the decode cache checks, on the way in and
// out, that each object is what its bytes decode to: in test binaries,
// but not when they run benchmarks, which the checks' decodes would skew.
// An object seeded from a write that differs from its stored JSON, or a
// shared one that a reader changed, would be served to the next reader.
var checkCache = sync.OnceValue(func() bool {
	if !testing.Testing() {
		return false
	}
	f := flag.Lookup("test.bench")
	return f == nil || f.Value.String() == ""
})

// checkCached returns an error if obj is not what decoding kv gives.
func (r *Registry) checkCached(kv *store.KeyValue, obj api.Object) error {
	want, err := r.decode(kv)
	if err != nil {
		return fmt.Errorf("registry: decode cache of %s: %q does not decode: %w", r.kind.Kind, kv.Key, err)
	}
	if !reflect.DeepEqual(want, obj) {
		return fmt.Errorf("registry: decode cache of %s: the object cached for %q at revision %d is not what its JSON decodes to:\ncached:  %#v\ndecoded: %#v",
			r.kind.Kind, kv.Key, kv.ModRevision, obj, want)
	}
	return nil
}

// failCheck is what a test binary does when checkCached fails: a panic
// would become a 500 in the API server's handler, which a client may
// retry into a success, so the process ends, saying why.
var failCheck = func(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(3)
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
