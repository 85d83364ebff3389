package controllertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// WaitFor watches the object named name in namespace ("" for a
// cluster-scoped kind), whose Go type is T, until it exists and cond
// returns true for it, and returns that state. It does not poll: cond is
// called with the current state first and then with every change the
// watch delivers, from the calling goroutine. A watch that the server
// ends, or that falls too far behind, is started again.
//
// It fails when ctx ends, with ctx's error wrapped in a message that
// holds the last state seen (or says that the object never existed), or
// when the watch cannot be started (the kind is not registered, the
// namespace does not exist).
//
//	cm, err := controllertest.WaitFor(ctx, env.Client, "default", "app",
//		func(cm *api.ConfigMap) bool { return cm.Annotations["seen"] == "true" })
func WaitFor[T any, PT interface {
	*T
	api.Object
}](ctx context.Context, c *client.Client, namespace, name string, cond func(PT) bool) (PT, error) {
	var last PT
	var deleted bool
	err := watchObject(ctx, c, new(api.List[T]), namespace, name, fromNow, func(ev client.Event) bool {
		obj, ok := ev.Object.(PT)
		if !ok {
			return false
		}
		if ev.Type == api.WatchDeleted {
			last, deleted = obj, true
			return false
		}
		last, deleted = obj, false
		return cond(obj)
	})
	if err != nil {
		return nil, fmt.Errorf("controllertest: wait for %s: %w (%s)", describe(c, PT(new(T)), namespace, name), err, lastSeen(last, deleted))
	}
	return last, nil
}

// WaitForDeletion waits until the object named name in namespace, whose
// Go type is T, does not exist; it may not exist to begin with. It gets the
// object, then watches it for its deletion, without polling. It fails as
// WaitFor does.
func WaitForDeletion[T any, PT interface {
	*T
	api.Object
}](ctx context.Context, c *client.Client, namespace, name string) error {
	var last PT
	get := func(ctx context.Context) (string, bool, error) {
		obj := PT(new(T))
		err := c.Get(ctx, namespace, name, obj)
		switch {
		case api.IsNotFound(err):
			return "", true, nil
		case err != nil:
			return "", false, err
		}
		last = obj
		return obj.GetObjectMeta().ResourceVersion, false, nil
	}
	err := watchObject(ctx, c, new(api.List[T]), namespace, name, get, func(ev client.Event) bool {
		if obj, ok := ev.Object.(PT); ok {
			last = obj
		}
		return ev.Type == api.WatchDeleted
	})
	if err != nil {
		return fmt.Errorf("controllertest: wait for the deletion of %s: %w (%s)", describe(c, PT(new(T)), namespace, name), err, lastSeen(last, false))
	}
	return nil
}

// fromNow, as the start of watchObject, starts watches with the current
// state of the object: an ADDED event if it exists.
func fromNow(context.Context) (string, bool, error) { return "", false, nil }

// watchObject watches one object until done returns true for one of its
// events, or ctx ends. start is called before the first watch, and again
// whenever the watch must start over (its revision was compacted): it
// returns the resourceVersion to watch from, or finished to end the wait
// at once.
func watchObject(ctx context.Context, c *client.Client, list api.ListObject, namespace, name string,
	start func(context.Context) (rv string, finished bool, err error), done func(client.Event) bool) error {
	opts := client.ListOptions{Namespace: namespace, AllowBookmarks: true}
	client.MatchingFields{"metadata.name": name}.ApplyToList(&opts)
	restart := true
	var rv string
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if restart {
			var finished bool
			var err error
			if rv, finished, err = start(ctx); finished || err != nil {
				return err
			}
		}
		o := opts
		o.ResourceVersion = rv
		w, err := c.Watch(ctx, list, o)
		if err != nil {
			return err
		}
		ok, next, err := drain(ctx, w, rv, done)
		w.Stop()
		if ok || err != nil {
			return err
		}
		rv, restart = next, next == ""
	}
}

// drain reads w, a watch from rv, until done returns true (ok), the watch
// ends (next is the resourceVersion to watch again from, "" to start over)
// or ctx ends (err).
func drain(ctx context.Context, w *client.Watcher, rv string, done func(client.Event) bool) (ok bool, next string, err error) {
	next = rv
	for {
		select {
		case <-ctx.Done():
			return false, "", ctx.Err()
		case ev, open := <-w.Events():
			switch {
			case !open:
				return false, next, nil
			case ev.Type == api.WatchError && api.IsGone(ev.Err):
				return false, "", nil
			case ev.Type == api.WatchError:
				var se *api.StatusError
				if errors.As(ev.Err, &se) {
					return false, "", ev.Err
				}
				return false, next, nil // a broken stream: watch again
			}
			next = ev.Object.GetObjectMeta().ResourceVersion
			if ev.Type != api.WatchBookmark && done(ev) {
				return true, "", nil
			}
		}
	}
}

// describe names an object for an error: "Widget default/w1".
func describe(c *client.Client, obj api.Object, namespace, name string) string {
	kind := fmt.Sprintf("%T", obj)
	if k, err := c.Scheme().ObjectKind(obj); err == nil {
		kind = k.Kind
	}
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

// lastSeen says what a wait saw last, for its error.
func lastSeen[PT api.Object](last PT, deleted bool) string {
	var zero PT
	if any(last) == any(zero) {
		return "it never existed"
	}
	data, err := json.Marshal(last)
	if err != nil {
		return fmt.Sprintf("last seen at resourceVersion %s", last.GetObjectMeta().ResourceVersion)
	}
	const max = 2048
	if len(data) > max {
		data = append(data[:max], "..."...)
	}
	if deleted {
		return "deleted; last seen: " + string(data)
	}
	return "last seen: " + string(data)
}
