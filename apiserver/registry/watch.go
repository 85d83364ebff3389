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
// namespace) that match the selectors of opts, as wire-form events. It is
// NewWatcher behind a channel, for callers that want one; a caller that
// can read a Watcher itself (the HTTP handler) saves a goroutine per watch.
//
// The channel is closed when ctx ends or the stream ends; the goroutine
// that feeds it has returned by then, so a caller that cancels ctx and
// reads until the close leaves nothing behind.
func (r *Registry) Watch(ctx context.Context, namespace string, opts ListOptions) (<-chan api.WatchEvent, error) {
	w, err := r.NewWatcher(ctx, namespace, opts)
	if err != nil {
		return nil, err
	}
	out := make(chan api.WatchEvent)
	go func() {
		defer close(out)
		defer w.Close()
		for {
			evs, more := w.Next(ctx)
			for _, ev := range evs {
				select {
				case out <- ev.WatchEvent():
				case <-ctx.Done():
					return
				}
			}
			if !more {
				return
			}
		}
	}()
	return out, nil
}

// A Watcher is one watch of a registry's objects: NewWatcher starts it,
// Next returns its events, Close ends it. Its methods must be called from
// one goroutine at a time.
type Watcher struct {
	r         *Registry
	prefix    string
	opts      ListOptions
	selective bool  // opts has selectors
	after     int64 // the watch is of the changes after this revision
	initial   []api.Object
	batch     []*Event
	done      bool
	closed    bool

	// Served by the watch cache:
	cache *watchCache
	next  uint64 // seq of the next event to read from the ring
	seen  int64  // every change up to here has been read
	// bookmarked is the last progress sent as a BOOKMARK.
	bookmarked *bookmark

	// Served by a store watch of its own:
	events <-chan store.Event
	cancel context.CancelFunc
}

// NewWatcher starts a watch of the objects in namespace ("" for every
// namespace) that match the selectors of opts.
//
// With ResourceVersion "" or "0" it first sends the current state, one
// ADDED event per object, then every change after the revision that state
// was read at; with a revision it sends the changes after that revision. An
// object that starts matching the selectors is sent as ADDED and one that
// stops matching as DELETED (its previous state, at the revision of the
// change). With AllowBookmarks it sends BOOKMARK events (only kind,
// apiVersion and metadata.resourceVersion) when the watch is idle and up to
// date. If the revision has been compacted, or the watch falls behind
// compaction later, the stream ends with an ERROR event carrying a 410 Gone
// Status, as Kubernetes does. A watch that falls further behind than the
// watch cache holds (Options.WatchCacheSize events of the kind) ends
// without an ERROR event: its client watches again from the last
// resourceVersion it received. NewWatcher itself fails only for a bad
// request, or if the store fails.
//
// The Watcher must be closed.
func (r *Registry) NewWatcher(ctx context.Context, namespace string, opts ListOptions) (*Watcher, error) {
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
	listFirst := rv == 0
	for {
		w := &Watcher{
			r:         r,
			prefix:    prefix,
			opts:      opts,
			selective: !opts.LabelSelector.Empty() || !opts.FieldSelector.Empty(),
		}
		if listFirst {
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
			w.initial = listItems(list)
		}
		w.after, w.seen = rv, rv
		if c := r.sharedCache(ctx, rv); c != nil && c.startAt(w, rv) {
			r.watch.watchers.Add(1)
			return w, nil
		}

		// Older than the cache: a store watch of its own.
		events, cancel, overtaken, err := r.watchStore(ctx, prefix, rv, store.WatchOptions{ProgressNotify: opts.AllowBookmarks})
		if overtaken {
			// Only a list of an empty store gives revision 0: it is out
			// of date, list again.
			continue
		}
		if err != nil {
			if !errors.Is(err, store.ErrCompacted) {
				return nil, r.storeError(err, "")
			}
			w.initial = nil
			w.batch = append(w.batch, r.errorEvent(api.NewGone("too old resource version: %d (%v)", rv, err)))
			w.done = true
		} else {
			w.events, w.cancel = events, cancel
		}
		r.watch.watchers.Add(1)
		r.watch.storeWatches.Add(1)
		return w, nil
	}
}

// Next waits for the next events of the watch and returns them (at most
// 64), and whether more may follow. When ctx ends or the stream ends it
// returns false, with the last events if there are any (an ERROR event is
// always the last). The slice is reused by the next call, and the Events
// may be shared with other watchers: treat them as read-only.
func (w *Watcher) Next(ctx context.Context) ([]*Event, bool) {
	if w.done {
		// Only a failed start leaves events for a done watcher.
		evs := w.batch
		w.batch = nil
		return evs, false
	}
	clear(w.batch)
	w.batch = w.batch[:0]
	if len(w.initial) > 0 {
		n := min(len(w.initial), maxBatch)
		for _, obj := range w.initial[:n] {
			w.batch = append(w.batch, &Event{Type: api.WatchAdded, object: obj, r: w.r})
		}
		w.initial = w.initial[n:]
		w.r.watch.events.Add(uint64(n))
		return w.batch, true
	}
	var evs []*Event
	var more bool
	if w.cache != nil {
		evs, more = w.nextFromCache(ctx)
	} else {
		evs, more = w.nextFromStore(ctx)
	}
	w.r.watch.events.Add(uint64(len(evs)))
	return evs, more
}

// finish ends the stream, with an ERROR event for err if it is not nil.
func (w *Watcher) finish(err error) ([]*Event, bool) {
	w.done = true
	if err != nil {
		w.batch = append(w.batch, w.r.errorEvent(err))
	}
	evs := w.batch
	w.batch = nil
	return evs, false
}

// Close ends the watch and releases what it holds. It is safe to call more
// than once.
func (w *Watcher) Close() {
	if w.closed {
		return
	}
	w.closed, w.done = true, true
	w.initial, w.batch = nil, nil
	if w.cancel != nil {
		// End the store's watch and wait for its channel to close.
		w.cancel()
		for range w.events {
		}
	}
	w.r.watch.watchers.Add(-1)
}

// nextFromStore is Next for a watcher its own store watch serves.
func (w *Watcher) nextFromStore(ctx context.Context) ([]*Event, bool) {
	for {
		var e store.Event
		var ok bool
		if len(w.batch) == 0 {
			select {
			case e, ok = <-w.events:
			case <-ctx.Done():
				return w.finish(nil)
			}
		} else {
			select {
			case e, ok = <-w.events:
			default:
				return w.batch, true
			}
		}
		if !ok {
			return w.finish(nil)
		}
		ev, err := w.r.translate(e, &w.opts)
		if err != nil {
			return w.finish(err)
		}
		if e.Type == store.EventError {
			w.batch = append(w.batch, ev)
			return w.finish(nil)
		}
		if ev != nil {
			w.batch = append(w.batch, ev)
			if len(w.batch) == maxBatch {
				return w.batch, true
			}
		}
	}
}

// translate turns a store event into the watch event to send, if any.
func (r *Registry) translate(e store.Event, opts *ListOptions) (*Event, error) {
	switch e.Type {
	case store.EventProgress:
		if !opts.AllowBookmarks {
			return nil, nil
		}
		return r.bookmark(e.Revision)
	case store.EventError:
		var err error
		if errors.Is(e.Err, store.ErrCompacted) {
			err = api.NewGone("too old resource version: %d (%v)", e.Revision, e.Err)
		} else {
			err = r.storeError(e.Err, "")
		}
		return r.errorEvent(err), nil
	case store.EventAdded:
		obj, err := r.decode(e.KV)
		if err != nil || !r.matches(obj, opts) {
			return nil, err
		}
		return &Event{Type: api.WatchAdded, object: obj, r: r}, nil
	case store.EventModified:
		cur, err := r.decode(e.KV)
		if err != nil {
			return nil, err
		}
		prev, err := r.decode(e.Prev)
		if err != nil {
			return nil, err
		}
		now, was := r.matches(cur, opts), r.matches(prev, opts)
		switch {
		case now && was:
			return &Event{Type: api.WatchModified, object: cur, r: r}, nil
		case now:
			return &Event{Type: api.WatchAdded, object: cur, r: r}, nil
		case was:
			prev.GetObjectMeta().ResourceVersion = strconv.FormatInt(e.Revision, 10)
			return &Event{Type: api.WatchDeleted, object: prev, r: r}, nil
		}
		return nil, nil
	case store.EventDeleted:
		prev, err := r.decode(e.Prev)
		if err != nil || !r.matches(prev, opts) {
			return nil, err
		}
		prev.GetObjectMeta().ResourceVersion = strconv.FormatInt(e.Revision, 10)
		return &Event{Type: api.WatchDeleted, object: prev, r: r}, nil
	}
	return nil, nil
}

// bookmark returns a BOOKMARK event at rev.
func (r *Registry) bookmark(rev int64) (*Event, error) {
	type meta struct {
		ResourceVersion string `json:"resourceVersion"`
	}
	data, err := json.Marshal(struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Metadata   meta   `json:"metadata"`
	}{r.kind.Kind, r.kind.GroupVersion().String(), meta{strconv.FormatInt(rev, 10)}})
	if err != nil {
		return nil, api.NewInternalError(err)
	}
	return &Event{Type: api.WatchBookmark, raw: data, r: r}, nil
}

// errorEvent returns an ERROR event carrying err's Status.
func (r *Registry) errorEvent(err error) *Event {
	st := api.StatusFromError(err)
	data, merr := json.Marshal(st)
	if merr != nil {
		data = []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","code":500}`)
	}
	return &Event{Type: api.WatchError, raw: data, r: r}
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
