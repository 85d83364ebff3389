package registry

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/store"
)

// Watch streams the changes to the objects in namespace ("" for every
// namespace) that match the selectors of opts, as wire-form events.
//
// With ResourceVersion "" or "0" it first sends the current state, one ADDED
// event per object, then every change after the revision that state was
// read at; with a revision it sends the changes after that revision. An
// object that starts matching the selectors is sent as ADDED and one that
// stops matching as DELETED (its previous state, at the revision of the
// change). With AllowBookmarks it sends BOOKMARK events (only kind,
// apiVersion and metadata.resourceVersion) when the watch is idle and up to
// date. If the revision has been compacted, or the watch falls behind
// compaction later, the stream ends with an ERROR event carrying a 410 Gone
// Status, as Kubernetes does; Watch itself fails only for a bad request.
//
// The channel is closed when ctx ends or the stream ends; the goroutine
// that feeds it has returned by then, so a caller that cancels ctx and
// reads until the close leaves nothing behind.
func (r *Registry) Watch(ctx context.Context, namespace string, opts ListOptions) (<-chan api.WatchEvent, error) {
	prefix, err := r.listPrefix(namespace)
	if err != nil {
		return nil, err
	}
	if err := r.checkSelectors(opts); err != nil {
		return nil, err
	}
	rv, err := parseRV("resourceVersion", opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	if opts.Continue != "" || opts.ResourceVersionMatch != "" || opts.Limit != 0 {
		return nil, api.NewBadRequest("continue, limit and resourceVersionMatch are not allowed on a watch")
	}
	var initial []api.Object
	if rv == 0 {
		list, err := r.List(ctx, namespace, ListOptions{
			LabelSelector:   opts.LabelSelector,
			FieldSelector:   opts.FieldSelector,
			ResourceVersion: opts.ResourceVersion,
		})
		if err != nil {
			return nil, err
		}
		if rv, err = strconv.ParseInt(list.GetListMeta().ResourceVersion, 10, 64); err != nil {
			return nil, api.NewInternalError(err)
		}
		initial = listItems(list)
	}
	out := make(chan api.WatchEvent)
	wctx, cancel := context.WithCancel(ctx)
	events, err := r.st.Watch(wctx, prefix, rv, store.WatchOptions{ProgressNotify: opts.AllowBookmarks})
	if err != nil {
		cancel()
		if !errors.Is(err, store.ErrCompacted) {
			return nil, r.storeError(err, "")
		}
		go func() {
			defer close(out)
			r.send(ctx, out, r.errorEvent(api.NewGone("too old resource version: %d (%v)", rv, err)))
		}()
		return out, nil
	}
	go func() {
		defer close(out)
		// End the store's watch and wait for its channel to close.
		defer func() {
			cancel()
			for range events {
			}
		}()
		for _, obj := range initial {
			ev, err := r.objectEvent(api.WatchAdded, obj)
			if err != nil {
				r.send(ctx, out, r.errorEvent(err))
				return
			}
			if !r.send(ctx, out, ev) {
				return
			}
		}
		for e := range events {
			ev, ok, err := r.translate(e, &opts)
			if err != nil {
				r.send(ctx, out, r.errorEvent(err))
				return
			}
			if ok && !r.send(ctx, out, ev) {
				return
			}
			if e.Type == store.EventError {
				return
			}
		}
	}()
	return out, nil
}

// send delivers ev unless ctx ends first, and reports whether it did.
func (r *Registry) send(ctx context.Context, out chan<- api.WatchEvent, ev api.WatchEvent) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// translate turns a store event into the watch event to send, if any.
func (r *Registry) translate(e store.Event, opts *ListOptions) (api.WatchEvent, bool, error) {
	switch e.Type {
	case store.EventProgress:
		if !opts.AllowBookmarks {
			return api.WatchEvent{}, false, nil
		}
		ev, err := r.bookmark(e.Revision)
		return ev, err == nil, err
	case store.EventError:
		var err error
		if errors.Is(e.Err, store.ErrCompacted) {
			err = api.NewGone("too old resource version: %d (%v)", e.Revision, e.Err)
		} else {
			err = r.storeError(e.Err, "")
		}
		return r.errorEvent(err), true, nil
	case store.EventAdded:
		obj, err := r.decode(e.KV)
		if err != nil || !r.matches(obj, opts) {
			return api.WatchEvent{}, false, err
		}
		ev, err := r.objectEvent(api.WatchAdded, obj)
		return ev, err == nil, err
	case store.EventModified:
		cur, err := r.decode(e.KV)
		if err != nil {
			return api.WatchEvent{}, false, err
		}
		prev, err := r.decode(e.Prev)
		if err != nil {
			return api.WatchEvent{}, false, err
		}
		now, was := r.matches(cur, opts), r.matches(prev, opts)
		var ev api.WatchEvent
		switch {
		case now && was:
			ev, err = r.objectEvent(api.WatchModified, cur)
		case now:
			ev, err = r.objectEvent(api.WatchAdded, cur)
		case was:
			prev.GetObjectMeta().ResourceVersion = strconv.FormatInt(e.Revision, 10)
			ev, err = r.objectEvent(api.WatchDeleted, prev)
		default:
			return api.WatchEvent{}, false, nil
		}
		return ev, err == nil, err
	case store.EventDeleted:
		prev, err := r.decode(e.Prev)
		if err != nil || !r.matches(prev, opts) {
			return api.WatchEvent{}, false, err
		}
		prev.GetObjectMeta().ResourceVersion = strconv.FormatInt(e.Revision, 10)
		ev, err := r.objectEvent(api.WatchDeleted, prev)
		return ev, err == nil, err
	}
	return api.WatchEvent{}, false, nil
}

func (r *Registry) objectEvent(t api.WatchEventType, obj api.Object) (api.WatchEvent, error) {
	data, err := r.scheme.Encode(obj)
	if err != nil {
		return api.WatchEvent{}, api.NewInternalError(err)
	}
	return api.WatchEvent{Type: t, Object: data}, nil
}

// bookmark returns a BOOKMARK event at rev.
func (r *Registry) bookmark(rev int64) (api.WatchEvent, error) {
	type meta struct {
		ResourceVersion string `json:"resourceVersion"`
	}
	data, err := json.Marshal(struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Metadata   meta   `json:"metadata"`
	}{r.kind.Kind, r.kind.GroupVersion().String(), meta{strconv.FormatInt(rev, 10)}})
	if err != nil {
		return api.WatchEvent{}, api.NewInternalError(err)
	}
	return api.WatchEvent{Type: api.WatchBookmark, Object: data}, nil
}

// errorEvent returns an ERROR event carrying err's Status.
func (r *Registry) errorEvent(err error) api.WatchEvent {
	st := api.StatusFromError(err)
	data, merr := json.Marshal(st)
	if merr != nil {
		data = []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","code":500}`)
	}
	return api.WatchEvent{Type: api.WatchError, Object: data}
}

// listItems returns pointers to the items of a list of the registry's kind.
func listItems(list api.ListObject) []api.Object {
	v := reflectItems(list)
	out := make([]api.Object, v.Len())
	for i := range out {
		out[i] = v.Index(i).Addr().Interface().(api.Object)
	}
	return out
}
