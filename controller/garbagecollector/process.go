package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// process does what the collector has to do with one object, read live:
// free or wait for its dependents if it is being deleted with one of the
// collector's finalizers, or check its owners otherwise. An object the
// cache holds with nothing to do (see needsWork) is not read live. An
// error means "retry".
func (gc *collector) process(ctx context.Context, it item) error {
	k, ok := gc.scheme.KindFor(it.GVK)
	if !ok {
		return nil // the scheme changed under us: nothing to do
	}
	if cur, cached := gc.cached(k, it.Namespace, it.Name); cached &&
		cur.GetObjectMeta().UID == it.UID && !gc.needsWork(k, cur) {
		return nil // a change that gives it work queues it again
	}
	obj, err := gc.get(ctx, k, it.Namespace, it.Name, it.UID)
	if err != nil || obj == nil {
		return err
	}
	m := obj.GetObjectMeta()
	if m.DeletionTimestamp != nil {
		switch {
		case m.HasFinalizer(FinalizerOrphan):
			return gc.orphan(ctx, k, obj)
		case m.HasFinalizer(FinalizerForegroundDeletion):
			return gc.foreground(ctx, k, obj)
		}
		return nil // going away; its dependents are checked once it is gone
	}
	if len(m.OwnerReferences) == 0 {
		return nil
	}
	return gc.collect(ctx, k, obj)
}

// get reads the object of kind k named namespace/name from the API server,
// and returns nil (and no error) if there is none with the uid.
func (gc *collector) get(ctx context.Context, k api.Kind, namespace, name string, uid api.UID) (api.Object, error) {
	obj := k.New()
	err := gc.c.Get(ctx, namespace, name, obj)
	switch {
	case api.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case obj.GetObjectMeta().UID != uid:
		return nil, nil
	}
	return obj, nil
}

// orphan frees the dependents of obj, which is being deleted with the
// orphan finalizer: each loses its ownerReference to obj. Then obj loses
// the finalizer and goes.
func (gc *collector) orphan(ctx context.Context, k api.Kind, obj api.Object) error {
	uid := obj.GetObjectMeta().UID
	for _, d := range gc.dependents(uid) {
		if err := gc.removeOwnerRef(ctx, d, uid); err != nil {
			return err
		}
	}
	gc.log.Info("dependents orphaned", "object", itemOf(k, obj).String())
	return gc.removeFinalizer(ctx, k, obj, FinalizerOrphan)
}

// foreground handles obj, being deleted with the foregroundDeletion
// finalizer: its dependents are queued (each is deleted in the foreground
// unless another owner remains, see decide), and once none of them
// blocks it (blockOwnerDeletion) obj loses the finalizer and goes. While
// some block it, the deletion of each queues obj again (onDelete).
func (gc *collector) foreground(ctx context.Context, k api.Kind, obj api.Object) error {
	uid := obj.GetObjectMeta().UID
	blocking := 0
	for _, d := range gc.dependentObjects(uid) {
		gc.add(d.item)
		if blocks(d.obj.GetObjectMeta().OwnerReferences, uid) {
			blocking++
		}
	}
	if blocking > 0 {
		gc.log.Debug("waiting for blocking dependents", "object", itemOf(k, obj).String(), "blocking", blocking)
		return nil
	}
	return gc.removeFinalizer(ctx, k, obj, FinalizerForegroundDeletion)
}

// collect checks the owners of obj, which is not being deleted, and
// deletes it or removes its dangling references (see decide).
func (gc *collector) collect(ctx context.Context, k api.Kind, obj api.Object) error {
	m := obj.GetObjectMeta()
	states := make([]ownerState, len(m.OwnerReferences))
	for i, r := range m.OwnerReferences {
		s, err := gc.ownerState(ctx, k, obj, r)
		if err != nil {
			return err
		}
		states[i] = s
	}
	v := decide(m.OwnerReferences, states)
	it := itemOf(k, obj)
	switch {
	case v.Delete:
		opts := client.DeleteOptions{Preconditions: &client.Preconditions{UID: m.UID}}
		if v.Foreground {
			opts.PropagationPolicy = client.DeletePropagationForeground
		}
		// Otherwise no policy: the object's own finalizers choose, and
		// Background without them.
		err := gc.c.Delete(ctx, obj, opts)
		if api.IsNotFound(err) || api.IsConflict(err) {
			return nil // gone, or another object has its name now
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", it, err)
		}
		gc.log.Info("deleted an object whose owners are gone", "object", it.String(), "foreground", v.Foreground)
	case v.Patch:
		err := gc.patchMeta(ctx, obj, "ownerReferences", v.Refs)
		if api.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("remove dangling owner references of %s: %w", it, err)
		}
		gc.log.Info("removed dangling owner references", "object", it.String())
	}
	return nil
}

// ownerState returns the state of the owner that r (a reference of dep,
// of kind dk) names: from the caches if they hold it with r's uid (an
// owner they show is there; one going away queues its dependents again),
// read live otherwise (only a live read proves an owner absent).
func (gc *collector) ownerState(ctx context.Context, dk api.Kind, dep api.Object, r api.OwnerReference) (ownerState, error) {
	ok, found := gc.ownerKind(r)
	if !found {
		gc.rec.Eventf(dep, api.EventTypeWarning, "OwnerRefInvalidKind",
			"ownerRef [%s/%s, name: %s, uid: %s] names a kind that is not known: the reference is ignored", r.APIVersion, r.Kind, r.Name, r.UID)
		return ownerIgnored, nil
	}
	if ok.Namespaced && !dk.Namespaced {
		gc.rec.Eventf(dep, api.EventTypeWarning, "OwnerRefInvalidNamespace",
			"ownerRef [%s/%s, name: %s, uid: %s] names a namespaced owner, but %s is cluster-scoped: the reference is ignored",
			r.APIVersion, r.Kind, r.Name, r.UID, dk.Kind)
		return ownerIgnored, nil
	}
	ns := ""
	if ok.Namespaced {
		ns = dep.GetObjectMeta().Namespace
	}
	owner, cached := gc.cachedOwner(dk, ns, r)
	var err error
	if !cached {
		owner, err = gc.get(ctx, ok, ns, r.Name, r.UID)
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("read owner %s %q of %s: %w", r.Kind, r.Name, itemOf(dk, dep), err)
	case owner == nil:
		return ownerAbsent, nil
	}
	om := owner.GetObjectMeta()
	if om.DeletionTimestamp != nil && om.HasFinalizer(FinalizerForegroundDeletion) {
		return ownerDeletingForeground, nil
	}
	return ownerPresent, nil
}

// ownerKind returns the kind an ownerReference names: its apiVersion and
// kind, or failing that the same group and kind in another version.
func (gc *collector) ownerKind(r api.OwnerReference) (api.Kind, bool) {
	gv := groupVersionOf(r.APIVersion)
	if k, ok := gc.scheme.KindFor(gv.WithKind(r.Kind)); ok {
		return k, true
	}
	for _, k := range gc.scheme.Kinds() {
		if k.Group == gv.Group && k.Kind == r.Kind {
			return k, true
		}
	}
	return api.Kind{}, false
}

// removeOwnerRef removes the ownerReferences to owner from the dependent
// d, read afresh.
func (gc *collector) removeOwnerRef(ctx context.Context, d item, owner api.UID) error {
	k, ok := gc.scheme.KindFor(d.GVK)
	if !ok {
		return nil
	}
	return client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		obj, err := gc.get(ctx, k, d.Namespace, d.Name, d.UID)
		if err != nil || obj == nil {
			return err
		}
		refs, had := withoutOwner(obj.GetObjectMeta().OwnerReferences, owner)
		if !had {
			return nil
		}
		err = gc.patchMeta(ctx, obj, "ownerReferences", refs)
		if api.IsNotFound(err) {
			return nil
		}
		return err
	})
}

// removeFinalizer removes finalizer f from obj (of kind k), reading it
// again after a conflict.
func (gc *collector) removeFinalizer(ctx context.Context, k api.Kind, obj api.Object, f string) error {
	first := true
	m := obj.GetObjectMeta()
	ns, name, uid := m.Namespace, m.Name, m.UID
	return client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		if !first {
			var err error
			if obj, err = gc.get(ctx, k, ns, name, uid); err != nil || obj == nil {
				return err
			}
		}
		first = false
		fs, had := without(obj.GetObjectMeta().Finalizers, f)
		if !had {
			return nil
		}
		err := gc.patchMeta(ctx, obj, "finalizers", fs)
		if api.IsNotFound(err) {
			return nil
		}
		return err
	})
}

// patchMeta sets metadata.<field> of obj to value (null when empty) with a
// merge patch that carries obj's resourceVersion, so that it fails with a
// Conflict if obj changed since it was read. obj is updated with the
// result.
func (gc *collector) patchMeta(ctx context.Context, obj api.Object, field string, value any) error {
	m := obj.GetObjectMeta()
	meta := map[string]any{"resourceVersion": m.ResourceVersion, field: value}
	if isEmpty(value) {
		meta[field] = nil
	}
	data, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		return err
	}
	return gc.c.Patch(ctx, obj, client.MergePatch, data)
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case []api.OwnerReference:
		return len(v) == 0
	case []string:
		return len(v) == 0
	}
	return v == nil
}
