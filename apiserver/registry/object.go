package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/store"
)

// CreateOptions are the options of Create.
type CreateOptions struct {
	// DryRun does everything but the write.
	DryRun bool
	// Encoded, when not nil, receives the JSON of the created object
	// (what Scheme.Encode gives for it), made from the bytes written to
	// the store without encoding it again, or nil when the registry does
	// not have it at hand (a dry run). The API server answers with it.
	Encoded *[]byte
	// Handoff gives the object to the registry, which may then change
	// it and keep it instead of a copy; the object Create returns may be
	// the one the registry keeps, and must not be changed. The API
	// server hands over what it decoded from a request.
	Handoff bool
}

// GetOptions are the options of Get.
type GetOptions struct {
	// ResourceVersion is "" for the latest state (a linearizable read), "0"
	// for any state (possibly stale), or a revision the result must not be
	// older than.
	ResourceVersion string
	// ReadOnly promises that the caller never changes the object Get
	// returns, which may then be the registry's cached copy, shared with
	// other readers, instead of a copy of its own.
	ReadOnly bool
}

// UpdateOptions are the options of Update.
type UpdateOptions struct {
	// DryRun does everything but the write.
	DryRun bool
	// Subresource is "" for the object or "status" for its status.
	Subresource string
	// Encoded is CreateOptions.Encoded for an update: the JSON of the
	// updated object, or nil.
	Encoded *[]byte
	// ReadOnlyResult promises that the caller never changes the object
	// Update returns, which may then be the one the registry keeps.
	ReadOnlyResult bool
}

// maxGenerateNameTries is how many names Create tries for a generateName.
const maxGenerateNameTries = 8

// maxPrefixLen is the longest generateName prefix used: with the 5
// character suffix a generated name fits in a DNS label.
const maxPrefixLen = 63 - 5

// maxUpdateTries is how many times an unconditional write is retried when
// another write gets in between its read and its compare-and-swap.
const maxUpdateTries = 16

// Create stores a new object and returns it as stored, with its uid,
// creationTimestamp, generation 1 and resourceVersion set. obj is not
// modified, unless opts.Handoff gives it to the registry.
//
// A name is generated from metadata.generateName when metadata.name is
// empty. metadata.resourceVersion must be empty (400). The object is
// defaulted (api.Default) and validated (422 with every problem); an
// existing name gives 409 AlreadyExists. A Namespace starts with status
// phase Active and "kubernetes" in its spec.finalizers, as in Kubernetes.
// A core/v1 Service gets its cluster IP and node ports (Options.Services;
// allocateService), allocated before it is written and freed if the write
// fails.
func (r *Registry) Create(ctx context.Context, obj api.Object, opts CreateOptions) (_ api.Object, err error) {
	setEncoded(opts.Encoded, nil, 0)
	obj, err = r.checkObject(obj, opts.Handoff)
	if err != nil {
		return nil, err
	}
	m := obj.GetObjectMeta()
	if m.ResourceVersion != "" {
		return nil, api.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	m.UID = r.opts.NewUID()
	m.CreationTimestamp = api.NewTime(r.opts.Now())
	m.Generation = 1
	m.DeletionTimestamp = nil
	m.DeletionGracePeriodSeconds = nil
	generate := m.Name == "" && m.GenerateName != ""
	api.Default(obj)
	r.prepareCreate(obj)
	var hold *serviceHold // what allocateService took, freed if the create fails
	defer func() {
		if err != nil {
			r.abortService(ctx, hold, err)
		}
	}()
	for try := 1; ; try++ {
		if generate {
			prefix := m.GenerateName
			if len(prefix) > maxPrefixLen {
				prefix = prefix[:maxPrefixLen]
			}
			m.Name = prefix + r.opts.NameSuffix()
		}
		if errs := r.scheme.Validate(obj); len(errs) > 0 {
			return nil, api.NewInvalid(r.kind.GroupKind(), m.Name, errs)
		}
		if s, ok := obj.(*api.Secret); ok {
			s.MergeStringData() // validated as given; stored merged
		}
		if try == 1 {
			if hold, err = r.allocateService(ctx, obj, nil, opts.DryRun); err != nil {
				return nil, err
			}
		}
		key, err := r.key(m.Namespace, m.Name)
		if err != nil {
			return nil, err
		}
		data, err := r.encode(obj)
		if err != nil {
			return nil, err
		}
		if opts.DryRun {
			_, err := r.st.Get(ctx, key, store.ReadOptions{})
			if err == nil {
				err = store.ErrAlreadyExists
			} else if errors.Is(err, store.ErrNotFound) {
				return obj, nil
			}
			if generate && errors.Is(err, store.ErrAlreadyExists) && try < maxGenerateNameTries {
				continue
			}
			return nil, r.storeError(err, m.Name)
		}
		rev, err := r.st.Create(ctx, key, data)
		if err == nil {
			m.ResourceVersion = strconv.FormatInt(rev, 10)
			setEncoded(opts.Encoded, data, rev)
			r.seed(key, data, rev, obj, opts.Handoff)
			return obj, nil
		}
		if generate && errors.Is(err, store.ErrAlreadyExists) && try < maxGenerateNameTries {
			r.log.Debug("generated name taken, trying another", "name", m.Name)
			continue
		}
		return nil, r.storeError(err, m.Name)
	}
}

// Get returns the named object (namespace is ignored for cluster-scoped
// kinds): 404 if it does not exist.
func (r *Registry) Get(ctx context.Context, namespace, name string, opts GetOptions) (api.Object, error) {
	atLeast, err := parseRV("resourceVersion", opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	if !r.kind.Namespaced {
		namespace = ""
	}
	key, err := r.key(namespace, name)
	if err != nil {
		return nil, err
	}
	// "0" allows a stale read; "" and a revision read the latest state,
	// which is never older than any revision a client has seen.
	stale := opts.ResourceVersion == "0"
	if atLeast > 0 {
		if err := r.checkNotTooLarge(ctx, atLeast); err != nil {
			return nil, err
		}
	}
	kv, err := r.st.Get(ctx, key, store.ReadOptions{Stale: stale})
	if err != nil {
		return nil, r.storeError(err, name)
	}
	if opts.ReadOnly {
		return r.decodeShared(kv)
	}
	return r.decodeCached(kv)
}

// checkNotTooLarge fails with 504 if rev is newer than the store.
func (r *Registry) checkNotTooLarge(ctx context.Context, rev int64) error {
	cur, err := r.st.Revision(ctx)
	if err != nil {
		return r.storeError(err, "")
	}
	if rev > cur {
		return tooLarge(fmt.Sprintf("%d, current: %d", rev, cur))
	}
	return nil
}

// Update replaces the stored object named by obj's metadata and returns the
// new state. obj is not modified.
//
// If obj has a resourceVersion it must be the stored one (409 Conflict);
// without one the update is unconditional and is retried when another write
// gets in between. uid, creationTimestamp, deletion fields and generation
// are kept from the stored object; generation is incremented when anything
// but metadata and status changed. With Subresource "", the status of a kind
// with a status subresource is kept; with "status", only the status is taken
// from obj. An update that leaves nothing changed writes nothing and returns
// the stored object. An update that leaves an object being deleted with no
// finalizers and no grace period running deletes it (deletionDone); the
// spec.finalizers of a Namespace are kept (Finalize changes them). A
// Service keeps the cluster IPs and node ports the client leaves out, gets
// those it newly needs (allocateService) and frees those it no longer
// refers to once written. A missing object gives 404.
func (r *Registry) Update(ctx context.Context, obj api.Object, opts UpdateOptions) (api.Object, error) {
	setEncoded(opts.Encoded, nil, 0)
	switch opts.Subresource {
	case "":
	case "status":
		if !r.hasStatus {
			return nil, api.NewNotFound(r.gr, "status")
		}
	default:
		return nil, api.NewBadRequest("%s has no updatable subresource %q", r.gr, opts.Subresource)
	}
	obj, err := r.checkObject(obj, false)
	if err != nil {
		return nil, err
	}
	m := obj.GetObjectMeta()
	if m.Name == "" {
		return nil, api.NewBadRequest("metadata.name is required to update %s", r.gr)
	}
	if !r.kind.Namespaced && m.Namespace != "" {
		return nil, api.NewBadRequest("%s is cluster-scoped: metadata.namespace must be empty", r.gr)
	}
	want, err := parseRV("metadata.resourceVersion", m.ResourceVersion)
	if err != nil {
		return nil, err
	}
	key, err := r.key(m.Namespace, m.Name)
	if err != nil {
		return nil, err
	}
	for try := 1; ; try++ {
		kv, err := r.st.Get(ctx, key, store.ReadOptions{})
		if err != nil {
			return nil, r.storeError(err, m.Name)
		}
		if want != 0 && want != kv.ModRevision {
			return nil, api.NewConflict(r.gr, m.Name, errModified)
		}
		old, err := r.decodeCached(kv)
		if err != nil {
			return nil, err
		}
		next, err := r.prepareUpdate(obj, old, opts.Subresource)
		if err != nil {
			return nil, err
		}
		data, err := r.encode(next)
		if err != nil {
			return nil, err
		}
		nm := next.GetObjectMeta()
		finish := deletionDone(next)
		var hold *serviceHold
		if opts.Subresource == "" && !finish {
			if hold, err = r.allocateService(ctx, next, old, opts.DryRun); err != nil {
				return nil, err
			}
			if hold != nil {
				if data, err = r.encode(next); err != nil {
					r.abortService(ctx, hold, err)
					return nil, err
				}
			}
		}
		if !finish && bytes.Equal(data, kv.Value) {
			return old, nil // nothing changed: no write (and nothing allocated)
		}
		if opts.DryRun {
			return next, nil
		}
		var rev int64
		if finish {
			_, rev, err = r.st.Delete(ctx, key, kv.ModRevision)
		} else {
			rev, err = r.st.Update(ctx, key, data, kv.ModRevision)
		}
		if err == nil {
			if finish {
				r.releaseService(ctx, old)
			}
			r.commitService(ctx, hold)
			nm.ResourceVersion = strconv.FormatInt(rev, 10)
			if !finish {
				setEncoded(opts.Encoded, data, rev)
				r.seed(key, data, rev, next, opts.ReadOnlyResult)
			}
			return next, nil
		}
		r.abortService(ctx, hold, r.storeError(err, m.Name))
		if errors.Is(err, store.ErrConflict) && want == 0 && try < maxUpdateTries {
			continue
		}
		return nil, r.storeError(err, m.Name)
	}
}

// Replace stores obj in place of the stored object, if that is still at
// the revision rv, and sets obj's resourceVersion to the new one. It
// applies none of Update's rules (nothing is carried over from the stored
// object, nothing defaulted or validated): it is for a subresource whose
// handler made obj from the stored object and checked it, such as a pod's
// binding. obj is handed over (CreateOptions.Handoff): the registry keeps
// it. Errors: 409 Conflict if the object changed since rv, 404 if it is
// gone, the store's others as Update's, and a timeout says the write may
// have succeeded.
func (r *Registry) Replace(ctx context.Context, obj api.Object, rv string) error {
	obj, err := r.checkObject(obj, true)
	if err != nil {
		return err
	}
	m := obj.GetObjectMeta()
	rev, err := parseRV("metadata.resourceVersion", rv)
	if err != nil || rev == 0 {
		return api.NewInternalError(fmt.Errorf("%s %q has the resourceVersion %q", r.gr, m.Name, rv))
	}
	key, err := r.key(m.Namespace, m.Name)
	if err != nil {
		return err
	}
	data, err := r.encode(obj)
	if err != nil {
		return err
	}
	rev, err = r.st.Update(ctx, key, data, rev)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return api.NewStatusError(http.StatusGatewayTimeout, api.StatusReasonTimeout,
				fmt.Sprintf("%s %q: %v (the write may have succeeded)", r.gr, m.Name, err))
		}
		return r.storeError(err, m.Name)
	}
	m.ResourceVersion = strconv.FormatInt(rev, 10)
	r.seed(key, data, rev, obj, true)
	return nil
}

// setEncoded sets *dst, if dst is not nil, to stored with rev as its
// resourceVersion: the JSON of the object just written at rev; a nil
// stored sets it to nil.
func setEncoded(dst *[]byte, stored []byte, rev int64) {
	switch {
	case dst == nil:
	case stored == nil:
		*dst = nil
	default:
		*dst, _ = withResourceVersion(stored, rev)
	}
}

// prepareUpdate returns the object to store for an update of old to obj,
// defaulted and validated.
func (r *Registry) prepareUpdate(obj, old api.Object, subresource string) (api.Object, error) {
	var next api.Object
	if subresource == "status" {
		// Only the status comes from the request.
		next = api.DeepCopy(old)
		setField(next, obj, "Status")
	} else {
		next = api.DeepCopy(obj)
		nm, om := next.GetObjectMeta(), old.GetObjectMeta()
		nm.UID = om.UID
		nm.CreationTimestamp = om.CreationTimestamp
		nm.DeletionTimestamp = om.DeletionTimestamp
		nm.DeletionGracePeriodSeconds = om.DeletionGracePeriodSeconds
		nm.Generation = om.Generation
		nm.GenerateName = om.GenerateName
		if r.hasStatus {
			setField(next, old, "Status")
		}
		r.prepareNamespaceUpdate(next, old)
		r.carryOverService(next, old)
	}
	next.GetObjectMeta().ResourceVersion = old.GetObjectMeta().ResourceVersion
	api.Default(next)
	var errs api.ErrorList
	if subresource == "status" {
		errs = r.scheme.ValidateStatusUpdate(next, old)
	} else {
		errs = r.scheme.ValidateUpdate(next, old)
	}
	if len(errs) > 0 {
		return nil, api.NewInvalid(r.kind.GroupKind(), old.GetObjectMeta().Name, errs)
	}
	if s, ok := next.(*api.Secret); ok {
		s.MergeStringData() // validated as given; stored merged
	}
	if subresource == "" {
		changed, err := specChanged(next, old)
		if err != nil {
			return nil, api.NewInternalError(err)
		}
		if changed {
			next.GetObjectMeta().Generation = old.GetObjectMeta().Generation + 1
		}
	}
	return next, nil
}

// setField sets the named field of dst's struct to that of src, if the
// kind has it.
func setField(dst, src api.Object, name string) {
	d := reflect.ValueOf(dst).Elem().FieldByName(name)
	if !d.IsValid() || !d.CanSet() {
		return
	}
	d.Set(reflect.ValueOf(src).Elem().FieldByName(name))
}

// specChanged reports whether a and b differ in anything but their type,
// metadata and status: the desired state that generation counts.
func specChanged(a, b api.Object) (bool, error) {
	ja, err := specJSON(a)
	if err != nil {
		return false, err
	}
	jb, err := specJSON(b)
	if err != nil {
		return false, err
	}
	return !bytes.Equal(ja, jb), nil
}

func specJSON(obj api.Object) ([]byte, error) {
	v := reflect.ValueOf(obj).Elem()
	cp := reflect.New(v.Type()).Elem()
	cp.Set(v) // shallow: only marshalled
	for _, name := range []string{"TypeMeta", "ObjectMeta", "Status"} {
		if f := cp.FieldByName(name); f.IsValid() && f.CanSet() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return json.Marshal(cp.Addr().Interface())
}
