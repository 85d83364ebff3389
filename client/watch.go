package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/drover-io/drover/api"
)

// Event is one event of a watch.
type Event struct {
	// Type is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.
	Type api.WatchEventType
	// Object is the object, a new value of the watched kind's Go type
	// (such as *api.Pod), for every type but ERROR. For DELETED it is the
	// last state, with the resourceVersion of the deletion; for BOOKMARK
	// only its kind, apiVersion and resourceVersion are set.
	Object api.Object
	// Err is set for ERROR only: the *api.StatusError the server sent
	// (api.IsGone(Err) when the watch's revision was compacted: list
	// again), or the error that broke the stream.
	Err error
}

// Watcher is a running watch. Read Events until it is closed; Stop ends the
// watch early.
type Watcher struct {
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Events returns the channel the events arrive on, in the server's order.
// It is closed when the watch ends: after Stop, when the ctx given to Watch
// ends, when the server ends the stream (TimeoutSeconds, or a restart), or
// after an ERROR event. A watcher that wants to go on watches again from the
// resourceVersion of the last event it got, or lists again if that event
// was an ERROR for which api.IsGone is true.
func (w *Watcher) Events() <-chan Event { return w.events }

// Stop ends the watch, closes the connection and waits until the goroutine
// reading it has returned; Events is closed by then. It is safe to call
// more than once, and from any goroutine.
func (w *Watcher) Stop() {
	w.once.Do(w.cancel)
	<-w.done
}

// Watch watches the objects of list's kind (list is used for its type
// only) that opts select. With no ResourceVersion it starts with the
// current objects as ADDED events; informers pass the resourceVersion of
// a List instead, so as to miss nothing after it.
//
//	w, err := c.Watch(ctx, &api.PodList{}, client.InNamespace("default"))
//	if err != nil { ... }
//	defer w.Stop()
//	for ev := range w.Events() { ... }
//
// Errors starting the watch (a bad selector, a namespace that does not
// exist, a server that cannot be reached after the retries) are returned
// here; errors after it started arrive as ERROR events.
func (c *Client) Watch(ctx context.Context, list api.ListObject, opts ...ListOption) (*Watcher, error) {
	k, err := c.listKindOf("watch", list)
	if err != nil {
		return nil, err
	}
	o := listOptions(opts)
	path, err := collectionPath("watch", k, o.Namespace)
	if err != nil {
		return nil, err
	}
	r := &request{verb: "watch", method: http.MethodGet, path: path, query: o.query(true)}
	wctx, cancel := context.WithCancel(ctx)
	resp, err := c.send(wctx, r, true)
	if err != nil {
		cancel()
		return nil, err
	}
	w := &Watcher{
		events: make(chan Event),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go func() {
		defer close(w.done)
		defer close(w.events)
		defer cancel()
		defer resp.cancel()
		defer resp.stream.Close()
		c.readWatch(wctx, k, r, resp.stream, w.events)
	}()
	return w, nil
}

// readWatch decodes the stream of a watch and sends its events until the
// stream ends, an ERROR event is sent, or ctx ends.
func (c *Client) readWatch(ctx context.Context, k api.Kind, r *request, body io.Reader, out chan<- Event) {
	send := func(ev Event) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	dec := json.NewDecoder(body)
	for {
		var we api.WatchEvent
		if err := dec.Decode(&we); err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return // stopped, or the server ended the stream
			}
			send(Event{Type: api.WatchError, Err: &transportError{verb: r.verb, path: r.path, err: fmt.Errorf("read the watch stream: %w", err)}})
			return
		}
		ev, err := decodeEvent(k, &we)
		if err != nil {
			send(Event{Type: api.WatchError, Err: fmt.Errorf("client: %s %s: %w", r.verb, r.path, err)})
			return
		}
		if !send(ev) || ev.Type == api.WatchError {
			return
		}
	}
}

// decodeEvent turns a wire event into an Event.
func decodeEvent(k api.Kind, we *api.WatchEvent) (Event, error) {
	switch we.Type {
	case api.WatchAdded, api.WatchModified, api.WatchDeleted, api.WatchBookmark:
		obj := k.New()
		if err := json.Unmarshal(we.Object, obj); err != nil {
			return Event{}, fmt.Errorf("decode the object of a %s event: %w", we.Type, err)
		}
		if got := obj.GetTypeMeta().Kind; got != "" && got != k.Kind {
			return Event{}, fmt.Errorf("a %s event carries a %s, not a %s", we.Type, got, k.Kind)
		}
		return Event{Type: we.Type, Object: obj}, nil
	case api.WatchError:
		se := statusError(http.StatusInternalServerError, we.Object)
		return Event{Type: api.WatchError, Err: se}, nil
	}
	return Event{}, fmt.Errorf("unknown watch event type %q", we.Type)
}
