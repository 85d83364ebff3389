package ctrlutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
)

// ErrOwnerGone is what Claim returns (errors.Is) when the owner it was
// given, read from a cache, is no longer the object of that name on the API
// server: it was deleted, or deleted and recreated with a new uid. The
// controller should drop this reconcile; the cache will catch up.
var ErrOwnerGone = errors.New("ctrlutil: the owner is gone from the API server")

// Claim sorts candidates, objects read from a cache in owner's namespace,
// into those owner controls, and makes the API server agree:
//
//   - an object controlled by owner (by uid) that sel matches is kept;
//   - one controlled by owner that sel no longer matches is released: its
//     owner reference to owner is removed;
//   - an orphan (no controller reference) that sel matches is adopted: a
//     controller reference to owner is added;
//   - an object controlled by another controller is left alone;
//   - an object being deleted is neither adopted nor released.
//
// When owner is being deleted, nothing is adopted or released: what it
// owns is left for the garbage collector. Before its first adoption, Claim
// reads owner from the API server (not the cache) and adopts nothing if the
// uid differs (ErrOwnerGone: a new object took the name) or owner is being
// deleted, so a stale cache never makes an object the child of an owner
// that no longer exists.
//
// The patches are strategic merge patches carrying the object's
// resourceVersion from the cache, so an object that changed since it was
// read is not touched (a Conflict: the next reconcile retries with the new
// version). Objects that are gone (NotFound) are dropped silently.
//
// It returns the objects owner controls after the claim: the candidates it
// kept as they are (the cache's objects: never modify them) and the
// adopted ones as the API server returned them. err joins the failures,
// each naming the object; the returned slice is still valid then.
func Claim[T api.Object](ctx context.Context, c *client.Client, owner api.Object, ownerGVK api.GroupVersionKind, sel labels.Selector, candidates []T) ([]T, error) {
	om := owner.GetObjectMeta()
	ownerDeleting := om.DeletionTimestamp != nil
	var (
		owned   []T
		errs    []error
		checked bool  // owner re-read from the API server
		recheck error // the outcome: nil means adoption may go on
	)
	for _, obj := range candidates {
		m := obj.GetObjectMeta()
		match := sel.Matches(labels.Set(m.Labels))
		ref := m.ControllerRef()
		switch {
		case ref != nil && ref.UID != om.UID:
			// Another controller's.
		case ref != nil && match:
			owned = append(owned, obj)
		case ref != nil:
			if ownerDeleting || m.DeletionTimestamp != nil {
				continue
			}
			if err := release(ctx, c, obj, om.UID); err != nil && !api.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("release %s from %s %s: %w", describe(c, obj), ownerGVK.Kind, om.Key(), err))
			}
		case !match || ownerDeleting || m.DeletionTimestamp != nil:
			// An orphan that is not ours to take.
		default:
			if !checked {
				checked = true
				recheck = recheckOwner(ctx, c, owner, ownerGVK)
				if recheck != nil && !errors.Is(recheck, errOwnerDeleting) {
					errs = append(errs, recheck)
				}
			}
			if recheck != nil {
				continue
			}
			adopted, err := adopt(ctx, c, obj, owner, ownerGVK)
			switch {
			case err == nil:
				owned = append(owned, adopted)
			case api.IsNotFound(err):
			default:
				errs = append(errs, fmt.Errorf("adopt %s into %s %s: %w", describe(c, obj), ownerGVK.Kind, om.Key(), err))
			}
		}
	}
	return owned, errors.Join(errs...)
}

// ClaimPods is Claim for pods, the common case.
func ClaimPods(ctx context.Context, c *client.Client, owner api.Object, ownerGVK api.GroupVersionKind, sel labels.Selector, pods []*api.Pod) ([]*api.Pod, error) {
	return Claim(ctx, c, owner, ownerGVK, sel, pods)
}

// errOwnerDeleting stops adoption when the live owner is being deleted.
var errOwnerDeleting = errors.New("ctrlutil: the owner is being deleted")

// recheckOwner reads owner from the API server and returns nil if it is
// still the object with owner's uid and not being deleted.
func recheckOwner(ctx context.Context, c *client.Client, owner api.Object, gvk api.GroupVersionKind) error {
	om := owner.GetObjectMeta()
	fresh := reflect.New(reflect.TypeOf(owner).Elem()).Interface().(api.Object)
	if err := c.Get(ctx, om.Namespace, om.Name, fresh); err != nil {
		if api.IsNotFound(err) {
			return fmt.Errorf("%w: %s %s (uid %s) was deleted; nothing adopted", ErrOwnerGone, gvk.Kind, om.Key(), om.UID)
		}
		return fmt.Errorf("read %s %s before adopting: %w", gvk.Kind, om.Key(), err)
	}
	fm := fresh.GetObjectMeta()
	if fm.UID != om.UID {
		return fmt.Errorf("%w: %s %s now has uid %s, not %s; nothing adopted", ErrOwnerGone, gvk.Kind, om.Key(), fm.UID, om.UID)
	}
	if fm.DeletionTimestamp != nil {
		return fmt.Errorf("%w: %s %s; nothing adopted", errOwnerDeleting, gvk.Kind, om.Key())
	}
	return nil
}

// metaPatch is the metadata part of the strategic merge patches Claim
// sends.
type metaPatch struct {
	Metadata struct {
		UID             api.UID `json:"uid,omitempty"`
		ResourceVersion string  `json:"resourceVersion,omitempty"`
		OwnerReferences []any   `json:"ownerReferences"`
	} `json:"metadata"`
}

// adopt adds owner's controller reference to a copy of obj on the server
// and returns the result.
func adopt[T api.Object](ctx context.Context, c *client.Client, obj T, owner api.Object, gvk api.GroupVersionKind) (T, error) {
	m := obj.GetObjectMeta()
	var p metaPatch
	p.Metadata.UID = m.UID
	p.Metadata.ResourceVersion = m.ResourceVersion
	p.Metadata.OwnerReferences = []any{api.NewControllerRef(owner, gvk)}
	out := api.DeepCopy(obj)
	if err := patch(ctx, c, out, p); err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// release removes the owner reference to uid from obj on the server. obj
// is not modified.
func release[T api.Object](ctx context.Context, c *client.Client, obj T, uid api.UID) error {
	m := obj.GetObjectMeta()
	var p metaPatch
	p.Metadata.UID = m.UID
	p.Metadata.ResourceVersion = m.ResourceVersion
	p.Metadata.OwnerReferences = []any{map[string]any{"$patch": "delete", "uid": uid}}
	return patch(ctx, c, api.DeepCopy(obj), p)
}

func patch(ctx context.Context, c *client.Client, into api.Object, p metaPatch) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return c.Patch(ctx, into, client.StrategicMergePatch, data)
}

// describe names obj for errors: "Pod default/web-abcde".
func describe(c *client.Client, obj api.Object) string {
	kind := fmt.Sprintf("%T", obj)
	if k, err := c.Scheme().ObjectKind(obj); err == nil {
		kind = k.Kind
	}
	return kind + " " + obj.GetObjectMeta().Key()
}
