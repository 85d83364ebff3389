package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/store"
)

// The values of DeleteOptions.PropagationPolicy.
const (
	// PropagationOrphan leaves the dependents of the object (the objects
	// whose ownerReferences name it) in place: the object is held by the
	// FinalizerOrphan finalizer until the garbage collector has removed
	// those ownerReferences.
	PropagationOrphan = "Orphan"
	// PropagationBackground removes the object at once; the garbage
	// collector deletes its dependents afterwards.
	PropagationBackground = "Background"
	// PropagationForeground holds the object with the
	// FinalizerForegroundDeletion finalizer until the garbage collector has
	// deleted its blocking dependents.
	PropagationForeground = "Foreground"
)

// The finalizers of the garbage collector, added by Delete for
// PropagationOrphan and PropagationForeground.
const (
	FinalizerOrphan             = "orphan"
	FinalizerForegroundDeletion = "foregroundDeletion"
)

// DeleteOptions are the options of Delete, DeleteObject and
// DeleteCollection.
type DeleteOptions struct {
	// Preconditions, if set, must hold for the delete to happen.
	Preconditions *Preconditions
	// DryRun does everything but the write.
	DryRun bool
	// GracePeriodSeconds is how long a bound, running core/v1 Pod gets to
	// stop before it is removed: nil means the pod's
	// spec.terminationGracePeriodSeconds, 0 means at once, and a negative
	// value means 1, as in Kubernetes. Other kinds accept it and are
	// deleted at once (unless finalizers hold them).
	GracePeriodSeconds *int64
	// PropagationPolicy is what the garbage collector does with the
	// object's dependents: PropagationOrphan, PropagationForeground or
	// PropagationBackground. "" keeps the choice the object made with its
	// own finalizers ("orphan" or "foregroundDeletion"), which means
	// Background when it has neither; an explicit value replaces it.
	// Anything else is refused with 422.
	PropagationPolicy string
}

// Preconditions are what the object to delete must have.
type Preconditions struct {
	// UID, if not empty, must be the object's uid.
	UID api.UID
	// ResourceVersion, if not empty, must be the object's resourceVersion.
	ResourceVersion string
}

// Validate reports the first problem of o as a 422 Invalid Status about
// the DeleteOptions.
func (o DeleteOptions) Validate() error {
	switch o.PropagationPolicy {
	case "", PropagationOrphan, PropagationBackground, PropagationForeground:
		return nil
	}
	return InvalidDeleteOptions(api.NotSupported(api.NewPath("propagationPolicy"), o.PropagationPolicy,
		[]string{PropagationForeground, PropagationBackground, PropagationOrphan}))
}

// InvalidDeleteOptions returns the 422 Invalid Status Kubernetes answers to
// a DeleteOptions (group meta.k8s.io) with the given field errors.
func InvalidDeleteOptions(errs ...*api.FieldError) *api.StatusError {
	return api.NewInvalid(api.GroupKind{Group: "meta.k8s.io", Kind: "DeleteOptions"}, "", api.ErrorList(errs))
}

var (
	podGVK       = api.CoreV1.WithKind("Pod")
	namespaceGVK = api.CoreV1.WithKind("Namespace")
	nodeGVK      = api.CoreV1.WithKind("Node")
)

// Delete deletes the named object (namespace is ignored for cluster-scoped
// kinds) and returns it: as it was last stored if it was removed, as
// updated if it stays. A missing object gives 404, a Preconditions that
// does not hold 409 Conflict, an invalid PropagationPolicy 422.
//
// The object is removed at once unless something holds it:
//
//   - Finalizers. Its deletionTimestamp is set (to now, with
//     deletionGracePeriodSeconds 0) and it goes away when an Update (or a
//     later Delete) leaves it with none. The garbage collector's
//     finalizers follow the PropagationPolicy: Orphan adds "orphan",
//     Foreground adds "foregroundDeletion", Background removes both,
//     and both then hold the object as any finalizer does.
//   - A grace period (core/v1 Pods only). A pod bound to a node
//     (spec.nodeName) and neither Succeeded nor Failed, deleted with a
//     grace period greater than 0, gets deletionTimestamp now + grace and
//     deletionGracePeriodSeconds grace, and stays for its node to stop
//     it; the node confirms with a Delete with GracePeriodSeconds 0. A
//     later Delete with a shorter grace period shortens it (the
//     deletionTimestamp moves back by the difference); one with a longer
//     or no grace period changes nothing and returns the pod. While a
//     grace period runs the finalizers are not changed, and an Update that
//     removes the last finalizer does not remove the pod.
//   - Namespaces (core/v1). The first Delete sets deletionTimestamp and
//     status.phase Terminating and keeps the namespace. It goes away when
//     spec.finalizers (changed only by Finalize) and metadata.finalizers
//     are both empty: on that Finalize or Update, or on a later Delete.
//
// Deleting an object that is already being deleted, with nothing to
// change, returns it unchanged.
func (r *Registry) Delete(ctx context.Context, namespace, name string, opts DeleteOptions) (api.Object, error) {
	obj, _, err := r.DeleteObject(ctx, namespace, name, opts)
	return obj, err
}

// DeleteObject is Delete, and also reports whether the object was removed
// from the store (in a dry run: would have been).
func (r *Registry) DeleteObject(ctx context.Context, namespace, name string, opts DeleteOptions) (api.Object, bool, error) {
	if err := opts.Validate(); err != nil {
		return nil, false, err
	}
	if !r.kind.Namespaced {
		namespace = ""
	}
	key, err := r.key(namespace, name)
	if err != nil {
		return nil, false, err
	}
	var wantRV int64
	if p := opts.Preconditions; p != nil {
		if wantRV, err = parseRV("precondition resourceVersion", p.ResourceVersion); err != nil {
			return nil, false, err
		}
	}
	for try := 1; ; try++ {
		kv, err := r.st.Get(ctx, key, store.ReadOptions{})
		if err != nil {
			return nil, false, r.storeError(err, name)
		}
		old, err := r.decode(kv)
		if err != nil {
			return nil, false, err
		}
		if err := r.checkPreconditions(old, opts.Preconditions, wantRV, kv.ModRevision); err != nil {
			return nil, false, err
		}
		p := r.planDelete(old, opts, r.opts.Now())
		if opts.DryRun || (!p.write && !p.remove) {
			return p.obj, p.remove, nil
		}
		if p.remove {
			_, _, err = r.st.Delete(ctx, key, kv.ModRevision)
			if err == nil {
				r.releaseService(ctx, old) // a Service's cluster IP and node ports
				return p.obj, true, nil
			}
		} else {
			var data []byte
			if data, err = r.encode(p.obj); err != nil {
				return nil, false, err
			}
			var rev int64
			if rev, err = r.st.Update(ctx, key, data, kv.ModRevision); err == nil {
				p.obj.GetObjectMeta().ResourceVersion = strconv.FormatInt(rev, 10)
				return p.obj, false, nil
			}
		}
		if errors.Is(err, store.ErrConflict) && try < maxUpdateTries {
			continue
		}
		return nil, false, r.storeError(err, name)
	}
}

// checkPreconditions checks p (whose resourceVersion parsed as wantRV)
// against the stored object obj, last written at revision rev.
func (r *Registry) checkPreconditions(obj api.Object, p *Preconditions, wantRV, rev int64) error {
	if p == nil {
		return nil
	}
	m := obj.GetObjectMeta()
	if p.UID != "" && p.UID != m.UID {
		return api.NewConflict(r.gr, m.Name, fmt.Errorf(
			"Precondition failed: UID in precondition: %s, UID in object meta: %s", p.UID, m.UID))
	}
	if wantRV != 0 && wantRV != rev {
		return api.NewConflict(r.gr, m.Name, fmt.Errorf(
			"Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s",
			p.ResourceVersion, m.ResourceVersion))
	}
	return nil
}

// deletePlan is what a Delete does to one stored object: remove it, write
// obj in its place, or neither (obj is then the stored object, unchanged).
// obj is what the Delete returns.
type deletePlan struct {
	obj    api.Object
	write  bool
	remove bool
}

// planDelete decides what deleting old with opts does at time now. It is
// pure: old is not modified.
func (r *Registry) planDelete(old api.Object, opts DeleteOptions, now time.Time) deletePlan {
	if r.kind.GroupVersionKind == namespaceGVK {
		if ns, ok := old.(*api.Namespace); ok {
			return planNamespaceDelete(ns, opts, now)
		}
	}
	next := api.DeepCopy(old)
	m := next.GetObjectMeta()
	grace := opts.GracePeriodSeconds
	if grace != nil && *grace < 0 {
		grace = new(int64(1))
	}
	graceful := false
	var period int64
	switch {
	case m.DeletionTimestamp != nil:
		g := m.DeletionGracePeriodSeconds
		if g == nil || *g <= 0 {
			break // no grace period runs: only finalizers hold it
		}
		if grace == nil || *grace >= *g {
			return deletePlan{obj: old} // only a shorter grace period changes it
		}
		ts := api.NewTime(m.DeletionTimestamp.Add(time.Duration(*grace-*g) * time.Second))
		m.DeletionTimestamp = &ts
		m.DeletionGracePeriodSeconds = new(*grace)
		graceful, period = true, *grace
	case r.kind.GroupVersionKind == podGVK:
		pod, ok := next.(*api.Pod)
		if !ok {
			break
		}
		period = podGracePeriod(pod, grace)
		ts := api.NewTime(now.Add(time.Duration(period) * time.Second))
		m.DeletionTimestamp = &ts
		m.DeletionGracePeriodSeconds = new(period)
		if m.Generation > 0 {
			m.Generation++
		}
		graceful = true
	}
	setGCFinalizers(m, opts.PropagationPolicy)
	pending := len(m.Finalizers) > 0
	switch {
	case !graceful && !pending:
		return deletePlan{obj: old, remove: true}
	case !graceful:
		markDeleting(m, now)
		if reflect.DeepEqual(next, old) {
			return deletePlan{obj: old} // already marked: nothing to change
		}
		return deletePlan{obj: next, write: true}
	case pending || period > 0:
		return deletePlan{obj: next, write: true}
	}
	return deletePlan{obj: old, remove: true}
}

// planNamespaceDelete is planDelete for a Namespace: the first Delete
// marks it Terminating; it is removed once its spec.finalizers are empty,
// like any object once its metadata.finalizers are.
func planNamespaceDelete(old *api.Namespace, opts DeleteOptions, now time.Time) deletePlan {
	next := api.DeepCopy(old)
	if next.DeletionTimestamp == nil {
		ts := api.NewTime(now)
		next.DeletionTimestamp = &ts
		next.DeletionGracePeriodSeconds = new(int64(0))
		next.Status.Phase = api.NamespaceTerminating
		setGCFinalizers(&next.ObjectMeta, opts.PropagationPolicy)
		return deletePlan{obj: next, write: true}
	}
	if len(next.Spec.Finalizers) > 0 {
		return deletePlan{obj: old}
	}
	setGCFinalizers(&next.ObjectMeta, opts.PropagationPolicy)
	if len(next.Finalizers) == 0 {
		return deletePlan{obj: old, remove: true}
	}
	markDeleting(&next.ObjectMeta, now)
	if reflect.DeepEqual(next, old) {
		return deletePlan{obj: old}
	}
	return deletePlan{obj: next, write: true}
}

// podGracePeriod returns the grace period of a pod's deletion: grace if
// set, else the pod's terminationGracePeriodSeconds (30 if unset), and 1
// if that is negative; 0 for a pod on no node or whose containers have all
// ended.
func podGracePeriod(p *api.Pod, grace *int64) int64 {
	period := int64(api.DefaultTerminationGracePeriodSeconds)
	switch {
	case grace != nil:
		period = *grace
	case p.Spec.TerminationGracePeriodSeconds != nil:
		period = *p.Spec.TerminationGracePeriodSeconds
	}
	if p.Spec.NodeName == "" || p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed {
		return 0
	}
	if period < 0 {
		return 1 // as Kubernetes
	}
	return period
}

// setGCFinalizers sets the garbage collector's finalizers of m for
// policy: "" leaves them as they are.
func setGCFinalizers(m *api.ObjectMeta, policy string) {
	var want string
	switch policy {
	case PropagationOrphan:
		want = FinalizerOrphan
	case PropagationForeground:
		want = FinalizerForegroundDeletion
	case PropagationBackground:
	default:
		return
	}
	fs := slices.DeleteFunc(slices.Clone(m.Finalizers), func(f string) bool {
		return f == FinalizerOrphan || f == FinalizerForegroundDeletion
	})
	if want != "" {
		fs = append(fs, want)
	}
	if len(fs) == 0 {
		fs = nil
	}
	m.Finalizers = fs
}

// markDeleting marks an object that finalizers hold: deletionTimestamp
// now (unless it was set earlier) and deletionGracePeriodSeconds 0. The
// generation counts the first mark.
func markDeleting(m *api.ObjectMeta, now time.Time) {
	if m.DeletionTimestamp == nil && m.Generation > 0 {
		m.Generation++
	}
	if m.DeletionTimestamp == nil || m.DeletionTimestamp.After(now) {
		ts := api.NewTime(now)
		m.DeletionTimestamp = &ts
	}
	m.DeletionGracePeriodSeconds = new(int64(0))
}

// deletionDone reports whether obj, about to be stored, is an object
// being deleted that nothing holds any more, which an Update therefore
// removes: it has a deletionTimestamp, no finalizers, no grace period
// running (deletionGracePeriodSeconds unset or 0) and, for a Namespace,
// no spec.finalizers.
func deletionDone(obj api.Object) bool {
	m := obj.GetObjectMeta()
	if m.DeletionTimestamp == nil || len(m.Finalizers) > 0 {
		return false
	}
	if g := m.DeletionGracePeriodSeconds; g != nil && *g > 0 {
		return false
	}
	if ns, ok := obj.(*api.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		return false
	}
	return true
}

// prepareCreate applies the rules Kubernetes has for a new object of some
// kinds beyond defaulting: a Namespace starts Active and with the
// "kubernetes" finalizer in spec.finalizers (added if missing), which the
// namespace controller removes once the namespace is empty.
func (r *Registry) prepareCreate(obj api.Object) {
	// The status of a kind with a status subresource is written through
	// it, by the component that owns it: a create starts from an empty
	// one, as in Kubernetes. Nodes are the exception: the node agent
	// registers its node with its status.
	if r.hasStatus && r.kind.GroupVersionKind != nodeGVK {
		if f := reflect.ValueOf(obj).Elem().FieldByName("Status"); f.IsValid() && f.CanSet() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	switch o := obj.(type) {
	case *api.Pod:
		if r.kind.GroupVersionKind == podGVK {
			o.Status = api.PodStatus{Phase: api.PodPending, QOSClass: api.PodQOS(&o.Spec)}
		}
	case *api.Namespace:
		if r.kind.GroupVersionKind != namespaceGVK {
			return
		}
		o.Status = api.NamespaceStatus{Phase: api.NamespaceActive}
		if !slices.Contains(o.Spec.Finalizers, api.FinalizerKubernetes) {
			o.Spec.Finalizers = append(o.Spec.Finalizers, api.FinalizerKubernetes)
		}
	}
}

// prepareNamespaceUpdate keeps the spec.finalizers of a Namespace on an
// update of the object: only Finalize changes them, as in Kubernetes.
func (r *Registry) prepareNamespaceUpdate(next, old api.Object) {
	n, ok := next.(*api.Namespace)
	o, ok2 := old.(*api.Namespace)
	if !ok || !ok2 || r.kind.GroupVersionKind != namespaceGVK {
		return
	}
	n.Spec.Finalizers = slices.Clone(o.Spec.Finalizers)
}

// DeleteCheck is called by DeleteCollection with each object it is about
// to delete, from the calling goroutine; an error stops the
// DeleteCollection with that error. The apiserver runs admission here.
type DeleteCheck func(ctx context.Context, obj api.Object) error

// DeleteCollection deletes, one by one as Delete does, the objects in
// namespace ("" for every namespace, or a cluster-scoped kind) that match
// the selectors of listOpts, and returns them as a list of the kind (for
// example *api.PodList): each as Delete returned it, in list order,
// without those that were gone already. The list's resourceVersion is the
// revision the objects were listed at. check, if not nil, is called with
// each object before its delete. The first error stops it (objects deleted
// before stay deleted). Namespaces cannot be deleted as a collection
// (405), as in Kubernetes.
func (r *Registry) DeleteCollection(ctx context.Context, namespace string, listOpts ListOptions, opts DeleteOptions, check DeleteCheck) (api.ListObject, error) {
	if r.kind.GroupVersionKind == namespaceGVK {
		return nil, api.NewMethodNotAllowed(r.gr, "deletecollection")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	list, err := r.List(ctx, namespace, listOpts)
	if err != nil {
		return nil, err
	}
	items := reflectItems(list)
	kept := 0
	for _, obj := range listItems(list) {
		if err := ctx.Err(); err != nil {
			return nil, r.storeError(err, "")
		}
		m := obj.GetObjectMeta()
		if check != nil {
			if err := check(ctx, obj); err != nil {
				return nil, err
			}
		}
		out, _, err := r.DeleteObject(ctx, m.Namespace, m.Name, opts)
		if errors.Is(err, api.ErrNotFound) {
			continue // deleted by someone else since the list
		}
		if err != nil {
			return nil, err
		}
		items.Index(kept).Set(reflect.ValueOf(out).Elem())
		kept++
	}
	items.SetLen(kept)
	return list, nil
}

// Finalize replaces the spec.finalizers of the Namespace named by obj
// (core/v1 Namespaces only; 405 for other kinds) with obj's, and keeps the
// rest of the stored namespace, as the finalize subresource does in
// Kubernetes. If obj has a resourceVersion it must be the stored one (409).
// A namespace being deleted whose spec.finalizers and metadata.finalizers
// are then both empty is removed, and returned as last stored. The
// finalizer names are validated (422).
func (r *Registry) Finalize(ctx context.Context, obj api.Object, opts UpdateOptions) (api.Object, error) {
	if r.kind.GroupVersionKind != namespaceGVK {
		return nil, api.NewMethodNotAllowed(r.gr, "finalize")
	}
	obj, err := r.checkObject(obj, false)
	if err != nil {
		return nil, err
	}
	in := obj.(*api.Namespace) // checkObject made sure of the Go type
	if in.Name == "" {
		return nil, api.NewBadRequest("metadata.name is required to finalize %s", r.gr)
	}
	want, err := parseRV("metadata.resourceVersion", in.ResourceVersion)
	if err != nil {
		return nil, err
	}
	key, err := r.key("", in.Name)
	if err != nil {
		return nil, err
	}
	for try := 1; ; try++ {
		kv, err := r.st.Get(ctx, key, store.ReadOptions{})
		if err != nil {
			return nil, r.storeError(err, in.Name)
		}
		if want != 0 && want != kv.ModRevision {
			return nil, api.NewConflict(r.gr, in.Name, errModified)
		}
		old, err := r.decode(kv)
		if err != nil {
			return nil, err
		}
		next := api.DeepCopy(old).(*api.Namespace)
		next.Spec.Finalizers = slices.Clone(in.Spec.Finalizers)
		if errs := r.scheme.ValidateUpdate(next, old); len(errs) > 0 {
			return nil, api.NewInvalid(r.kind.GroupKind(), in.Name, errs)
		}
		done := deletionDone(next)
		data, err := r.encode(next)
		if err != nil {
			return nil, err
		}
		if !done && bytes.Equal(data, kv.Value) {
			return old, nil
		}
		if opts.DryRun {
			return next, nil
		}
		var rev int64
		if done {
			_, _, err = r.st.Delete(ctx, key, kv.ModRevision)
		} else {
			rev, err = r.st.Update(ctx, key, data, kv.ModRevision)
		}
		if err == nil {
			if !done {
				next.ResourceVersion = strconv.FormatInt(rev, 10)
			}
			return next, nil
		}
		if errors.Is(err, store.ErrConflict) && want == 0 && try < maxUpdateTries {
			continue
		}
		return nil, r.storeError(err, in.Name)
	}
}
