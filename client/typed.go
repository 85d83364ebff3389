package client

import (
	"context"

	"github.com/drover-io/drover/api"
)

// ResourceClient is a typed view of a Client for one kind, whose Go type
// is T (api.Pod, or a kind of your own registered in the client's
// scheme). Its methods take and return *T and never change the object they
// are given. Get one with Resource:
//
//	pods := client.Resource[api.Pod](c)
//	pod, err := pods.Get(ctx, "default", "web")
//
// It is a small value that can be made on the fly or kept.
type ResourceClient[T any, PT interface {
	*T
	api.Object
}] struct {
	c *Client
}

// Resource returns the typed client of the kind whose Go type is T. A T
// that is not registered in the client's scheme makes every call fail
// with an error that says so.
func Resource[T any, PT interface {
	*T
	api.Object
}](c *Client) ResourceClient[T, PT] {
	return ResourceClient[T, PT]{c: c}
}

// Client returns the untyped client r is a view of.
func (r ResourceClient[T, PT]) Client() *Client { return r.c }

// Get returns the object named name in namespace ("" for cluster-scoped
// kinds).
func (r ResourceClient[T, PT]) Get(ctx context.Context, namespace, name string) (PT, error) {
	out := PT(new(T))
	if err := r.c.Get(ctx, namespace, name, out); err != nil {
		return nil, err
	}
	return out, nil
}

// List returns the objects that opts select.
func (r ResourceClient[T, PT]) List(ctx context.Context, opts ...ListOption) (*api.List[T], error) {
	out := new(api.List[T])
	if err := r.c.List(ctx, out, opts...); err != nil {
		return nil, err
	}
	return out, nil
}

// Watch watches the objects that opts select; see Client.Watch. Each
// event's Object is a PT.
func (r ResourceClient[T, PT]) Watch(ctx context.Context, opts ...ListOption) (*Watcher, error) {
	return r.c.Watch(ctx, new(api.List[T]), opts...)
}

// Create creates obj and returns what the server stored.
func (r ResourceClient[T, PT]) Create(ctx context.Context, obj PT, opts ...WriteOption) (PT, error) {
	out := PT(new(T))
	if err := r.c.create(ctx, obj, out, writeOptions(opts)); err != nil {
		return nil, err
	}
	return out, nil
}

// Update replaces the object with obj (not its status) and returns the
// result; a stale obj fails with api.ErrConflict.
func (r ResourceClient[T, PT]) Update(ctx context.Context, obj PT, opts ...WriteOption) (PT, error) {
	out := PT(new(T))
	if err := r.c.update(ctx, "update", "", obj, out, writeOptions(opts)); err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateStatus replaces the object's status with obj's and returns the
// result; a stale obj fails with api.ErrConflict.
func (r ResourceClient[T, PT]) UpdateStatus(ctx context.Context, obj PT, opts ...WriteOption) (PT, error) {
	out := PT(new(T))
	if err := r.c.update(ctx, "update", "status", obj, out, writeOptions(opts)); err != nil {
		return nil, err
	}
	return out, nil
}

// Patch applies a patch of type pt to the named object and returns the
// result.
func (r ResourceClient[T, PT]) Patch(ctx context.Context, namespace, name string, pt PatchType, data []byte, opts ...WriteOption) (PT, error) {
	out := PT(new(T))
	if err := r.c.patch(ctx, "", namespace, name, pt, data, out, writeOptions(opts)); err != nil {
		return nil, err
	}
	return out, nil
}

// PatchStatus applies a patch of type pt to the named object's status and
// returns the result.
func (r ResourceClient[T, PT]) PatchStatus(ctx context.Context, namespace, name string, pt PatchType, data []byte, opts ...WriteOption) (PT, error) {
	out := PT(new(T))
	if err := r.c.patch(ctx, "status", namespace, name, pt, data, out, writeOptions(opts)); err != nil {
		return nil, err
	}
	return out, nil
}

// Delete deletes the named object.
func (r ResourceClient[T, PT]) Delete(ctx context.Context, namespace, name string, opts ...DeleteOption) error {
	k, err := r.c.kindOf("delete", PT(new(T)))
	if err != nil {
		return err
	}
	return r.c.delete(ctx, k, namespace, name, deleteOptions(opts))
}

// DeleteAllOf deletes the objects that opts select; see
// Client.DeleteAllOf.
func (r ResourceClient[T, PT]) DeleteAllOf(ctx context.Context, opts ListOptions, del DeleteOptions) error {
	return r.c.DeleteAllOf(ctx, new(api.List[T]), opts, del)
}
