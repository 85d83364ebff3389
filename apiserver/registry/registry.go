// Package registry stores API objects of one kind in a store.Store: it is
// what the API server's handlers call for create, get, list, update, delete
// and watch, and it owns the server-side rules of those verbs (names from
// generateName, uid and creationTimestamp, generation, the status
// subresource, finalizers, optimistic concurrency, paging and selectors).
//
// # Keys
//
// An object is stored as its JSON (Scheme.Encode, with an empty
// resourceVersion) under
//
//	/registry/<resource>[.<group>]/<namespace>/<name>   namespaced kinds
//	/registry/<resource>[.<group>]/<name>               cluster-scoped kinds
//
// The core group has no suffix: /registry/pods/default/web,
// /registry/deployments.apps/default/web, /registry/namespaces/kube-system.
// An object's resourceVersion is the store revision of its last write, in
// decimal; a list's is the revision it was read at.
//
// # Errors
//
// Every error a Registry returns is an *api.StatusError with the reason and
// HTTP code Kubernetes uses: NotFound 404, AlreadyExists and Conflict 409,
// Invalid 422 with one cause per field error, BadRequest 400 for malformed
// resourceVersions and continue tokens, Gone or Expired 410 for compacted
// revisions, Timeout 504 for a resourceVersion newer than the store,
// ServiceUnavailable 503 when the store is unavailable.
//
// # Deletion
//
// Delete follows Kubernetes (delete.go): finalizers hold an object, with
// its deletionTimestamp set, until an Update removes the last one; bound,
// running core/v1 Pods get a grace period (DeleteOptions.GracePeriodSeconds)
// that their node ends by deleting them again with grace 0;
// PropagationPolicy Orphan and Foreground add the garbage collector's
// "orphan" and "foregroundDeletion" finalizers; a Namespace is created
// with the "kubernetes" finalizer in spec.finalizers, turns Terminating on
// Delete and is removed once Finalize (the finalize subresource) has
// emptied spec.finalizers and no metadata.finalizers remain.
// DeleteCollection deletes what a List selects, one object at a time.
//
// # Not here yet
//
// Update never creates a missing object (404 instead). The garbage
// collector, which deletes the dependents named by ownerReferences and
// removes the "orphan" and "foregroundDeletion" finalizers, and the
// namespace controller, which empties a terminating namespace and removes
// its "kubernetes" finalizer, come in later issues: until then those
// finalizers hold their objects until a client removes them.
package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/store"
)

// Options configure a Registry. The zero value gives the defaults.
type Options struct {
	// Now is the clock for creationTimestamp and deletionTimestamp. nil
	// means time.Now.
	Now func() time.Time
	// NewUID returns the uid of a new object. nil means a random (version
	// 4) UUID.
	NewUID func() api.UID
	// NameSuffix returns the random suffix appended to a generateName. nil
	// means 5 random characters of [bcdfghjklmnpqrstvwxz2456789].
	NameSuffix func() string
	// Fields adds selectable fields to kinds, by kind: a field selector
	// may use metadata.name, metadata.namespace (namespaced kinds), the
	// fields Kubernetes has for the built-in kinds (DefaultFields), those
	// of a Go type that implements FieldSelectable, and those of the
	// kind's entry here, merged in that order (a later value of the same
	// field wins). Entries of kinds other than the registry's are ignored,
	// so one map serves every registry of a server.
	Fields map[api.GroupVersionKind]FieldsFunc
	// Logger receives the registry's log lines. nil means discard.
	Logger *slog.Logger
	// WatchCacheSize is how many recent changes of the kind the watch
	// cache keeps (watchcache.go): a watch from a revision they cover
	// starts from memory, and a watcher that falls further behind is
	// ended. 0 means DefaultWatchCacheSize; a negative value turns the
	// cache off, so that every watch opens a store watch of its own.
	WatchCacheSize int
	// WatchCacheBytes bounds the watch cache by the size of the stored
	// values of its changes too (watchcache.go): the oldest leave while
	// the cache is over either bound. 0 means DefaultWatchCacheBytes; a
	// negative value bounds it by WatchCacheSize only.
	WatchCacheBytes int64
	// WatchCacheIdle is how long the watch cache runs with no watch open
	// before it stops, releasing its store watch, its goroutine and its
	// changes; the next watch starts it again. 0 means
	// DefaultWatchCacheIdle; a negative value keeps it until Close.
	WatchCacheIdle time.Duration
	// NewTicker makes the ticker of the watch cache's idle check, which
	// ticks four times per WatchCacheIdle. nil means time.NewTicker.
	NewTicker func(d time.Duration) Ticker
	// Services says where the registry of core/v1 Services allocates
	// cluster IPs and node ports (ipalloc.go). The zero value allocates
	// nothing. Registries of other kinds ignore it.
	Services ServiceAllocation
}

// Registry stores the objects of one kind. Its methods are safe for
// concurrent use by any number of goroutines.
type Registry struct {
	st     store.Store
	scheme *api.Scheme
	kind   api.Kind
	gr     api.GroupResource
	prefix string // "/registry/<resource>[.<group>]/"
	opts   Options
	log    *slog.Logger
	// fields give the selectable fields beyond metadata (fieldFuncs);
	// fieldNames are all the field selector fields the kind supports.
	fields     []FieldsFunc
	fieldNames map[string]bool
	sparse     *sparseDecoder // what fields and labels read; nil: decode whole
	hasStatus  bool
	watch      watchState
	alloc      *serviceAllocator // Services only, nil if allocation is off
	decoded    *decodeCache      // nil for kinds without a generated deep copy
	writeOnly  bool              // objects seldom read back by name: not seeded
}

// New returns a Registry for kind, which must be registered in scheme, that
// keeps its objects in st.
func New(st store.Store, scheme *api.Scheme, kind api.Kind, opts Options) (*Registry, error) {
	if st == nil {
		return nil, errors.New("registry: the store is nil")
	}
	if scheme == nil {
		return nil, errors.New("registry: the scheme is nil")
	}
	k, ok := scheme.KindFor(kind.GroupVersionKind)
	if !ok {
		return nil, fmt.Errorf("registry: kind %s is not registered in the scheme", kind.GroupVersionKind)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewUID == nil {
		opts.NewUID = randomUID
	}
	if opts.NameSuffix == nil {
		opts.NameSuffix = randomSuffix
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{
		st:        st,
		scheme:    scheme,
		kind:      k,
		gr:        k.GroupVersionResource().GroupResource(),
		prefix:    KeyPrefix(k),
		opts:      opts,
		log:       log.With("resource", k.GroupVersionResource().GroupResource().String()),
		hasStatus: k.HasSubresource("status") && hasField(k.GoType(), "Status"),
	}
	alloc, err := newServiceAllocator(k, opts.Services)
	if err != nil {
		return nil, fmt.Errorf("registry: Options.Services: %w", err)
	}
	r.alloc = alloc
	if _, ok := k.New().(interface{ DeepCopyObject() api.Object }); ok {
		r.decoded = newDecodeCache()
		if checkCache() {
			r.decoded.verify = func(kv *store.KeyValue, obj api.Object) {
				if err := r.checkCached(kv, obj); err != nil {
					failCheck(err)
				}
			}
		}
	}
	r.writeOnly = k.Kind == "Event" && (k.Group == "" || k.Group == "events.k8s.io")
	r.fields, r.sparse = fieldFuncs(k, opts)
	r.fieldNames = make(map[string]bool)
	for f := range r.fieldSet(k.New()) {
		r.fieldNames[f] = true
	}
	return r, nil
}

// Kind returns the kind the registry stores.
func (r *Registry) Kind() api.Kind { return r.kind }

// KeyPrefix returns the store key prefix of kind's objects:
// "/registry/<resource>/" for the core group and
// "/registry/<resource>.<group>/" for the others.
func KeyPrefix(kind api.Kind) string {
	p := "/registry/" + kind.Resource
	if kind.Group != "" {
		p += "." + kind.Group
	}
	return p + "/"
}

// key returns the store key of the named object.
func (r *Registry) key(namespace, name string) (string, error) {
	k := r.prefix + name
	if r.kind.Namespaced {
		k = r.prefix + namespace + "/" + name
	}
	if err := store.ValidateKey(k); err != nil {
		return "", api.NewBadRequest("%s %q: %v", r.gr, name, err)
	}
	return k, nil
}

// listPrefix returns the key prefix of the objects in namespace ("" for all).
func (r *Registry) listPrefix(namespace string) (string, error) {
	if !r.kind.Namespaced {
		if namespace != "" {
			return "", api.NewBadRequest("%s is cluster-scoped: a namespace (%q) may not be given", r.gr, namespace)
		}
		return r.prefix, nil
	}
	if namespace == "" {
		return r.prefix, nil
	}
	return r.prefix + namespace + "/", nil
}

// checkObject makes sure obj is of the registry's kind and returns a deep
// copy of it that the registry may modify, or obj itself if the caller
// handed it over.
func (r *Registry) checkObject(obj api.Object, handoff bool) (api.Object, error) {
	if obj == nil || (reflect.ValueOf(obj).Kind() == reflect.Pointer && reflect.ValueOf(obj).IsNil()) {
		return nil, api.NewBadRequest("an object of kind %s is required", r.kind.Kind)
	}
	if reflect.TypeOf(obj) != reflect.PointerTo(r.kind.GoType()) {
		return nil, api.NewBadRequest("the object (Go type %T) is not of kind %s served at %s", obj, r.kind.GroupVersionKind, r.gr)
	}
	if tm := obj.GetTypeMeta(); (tm.Kind != "" && tm.Kind != r.kind.Kind) ||
		(tm.APIVersion != "" && tm.APIVersion != r.kind.GroupVersion().String()) {
		return nil, api.NewBadRequest("the object's kind %q and apiVersion %q do not match %s, served at %s",
			tm.Kind, tm.APIVersion, r.kind.GroupVersionKind, r.gr)
	}
	if !handoff {
		obj = api.DeepCopy(obj)
	}
	obj.GetTypeMeta().SetGroupVersionKind(r.kind.GroupVersionKind)
	return obj, nil
}

// decode turns a stored value into an object with its resourceVersion set.
func (r *Registry) decode(kv *store.KeyValue) (api.Object, error) {
	obj := r.kind.New()
	if err := api.UnmarshalTrusted(kv.Value, obj); err != nil {
		return nil, api.NewInternalError(fmt.Errorf("decode %s at key %q: %w", r.kind.Kind, kv.Key, err))
	}
	obj.GetTypeMeta().SetGroupVersionKind(r.kind.GroupVersionKind)
	obj.GetObjectMeta().ResourceVersion = strconv.FormatInt(kv.ModRevision, 10)
	return obj, nil
}

// encode returns the stored form of obj: its JSON with no resourceVersion.
func (r *Registry) encode(obj api.Object) ([]byte, error) {
	m := obj.GetObjectMeta()
	rv := m.ResourceVersion
	m.ResourceVersion = ""
	data, err := r.scheme.Encode(obj)
	m.ResourceVersion = rv
	if err != nil {
		return nil, api.NewInternalError(fmt.Errorf("encode %s %q: %w", r.kind.Kind, m.Name, err))
	}
	return data, nil
}

// parseRV parses a resourceVersion given by a client: "" is 0.
func parseRV(what, rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, api.NewBadRequest("invalid %s %q: must be a non-negative decimal integer", what, rv)
	}
	return n, nil
}

// storeError turns an error of the store into a StatusError about the named
// object.
func (r *Registry) storeError(err error, name string) error {
	var se *api.StatusError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, store.ErrNotFound):
		return api.NewNotFound(r.gr, name)
	case errors.Is(err, store.ErrAlreadyExists):
		return api.NewAlreadyExists(r.gr, name)
	case errors.Is(err, store.ErrConflict):
		return api.NewConflict(r.gr, name, errModified)
	case errors.Is(err, store.ErrCompacted):
		return api.NewResourceExpired("too old resource version: %v", err)
	case errors.Is(err, store.ErrFutureRevision):
		return tooLarge(err.Error())
	case errors.Is(err, store.ErrUnavailable):
		return api.NewServiceUnavailable(err.Error())
	case errors.Is(err, store.ErrInvalidKey):
		return api.NewBadRequest("%s %q: %v", r.gr, name, err)
	case errors.Is(err, store.ErrValueTooLarge):
		return api.NewStatusError(http.StatusRequestEntityTooLarge, api.StatusReasonRequestEntityTooLarge, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return api.NewStatusError(http.StatusGatewayTimeout, api.StatusReasonTimeout, fmt.Sprintf("%s %q: %v", r.gr, name, err))
	}
	return api.NewInternalError(err)
}

// errModified is the message of a Conflict on a stale resourceVersion.
var errModified = errors.New("the object has been modified; please apply your changes to the latest version and try again")

// tooLarge reports a resourceVersion newer than the store's revision.
func tooLarge(msg string) *api.StatusError {
	return api.NewStatusError(http.StatusGatewayTimeout, api.StatusReasonTimeout, "Too large resource version: "+msg)
}

func hasField(t reflect.Type, name string) bool {
	_, ok := t.FieldByName(name)
	return ok
}

// randomUID returns a random version 4 UUID.
func randomUID() api.UID {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	// 8-4-4-4-12 hex digits, as fmt's "%x-%x-%x-%x-%x" of the five groups
	// would give, without fmt.
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return api.UID(out[:])
}

// suffixAlphabet has no vowels (no words) and no confusable characters.
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// randomSuffix returns 5 random characters of suffixAlphabet.
func randomSuffix() string {
	b := make([]byte, 5)
	for i := range b {
		b[i] = suffixAlphabet[randIntn(len(suffixAlphabet))]
	}
	return string(b)
}

func randIntn(n int) int {
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		// Reject the top values so that every index is equally likely.
		if int(b[0]) < 256-256%n {
			return int(b[0]) % n
		}
	}
}
