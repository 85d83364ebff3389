package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/internal/jsonx"
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
	fr := &frameReader{r: body}
	for {
		frame, err := fr.next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return // stopped, or the server ended the stream
			}
			send(Event{Type: api.WatchError, Err: &transportError{verb: r.verb, path: r.path, err: fmt.Errorf("read the watch stream: %w", err)}})
			return
		}
		ev, err := decodeFrame(k, frame)
		if err != nil {
			if _, ok := errors.AsType[*streamError](err); ok {
				send(Event{Type: api.WatchError, Err: &transportError{verb: r.verb, path: r.path, err: fmt.Errorf("read the watch stream: %w", err)}})
			} else {
				send(Event{Type: api.WatchError, Err: fmt.Errorf("client: %s %s: %w", r.verb, r.path, err)})
			}
			return
		}
		if !send(ev) || ev.Type == api.WatchError {
			return
		}
	}
}

// streamError is an event that cannot be read as one (not JSON, or not
// an event): the stream is broken.
type streamError struct{ err error }

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

// decodeFrame decodes one event of the stream. The usual event (ADDED,
// MODIFIED, DELETED or BOOKMARK, well formed) is decoded in one pass,
// straight into a new object of k; anything else (an ERROR, a malformed
// event) takes the path that decodes the envelope first and says what is
// wrong.
func decodeFrame(k api.Kind, frame []byte) (Event, error) {
	obj := k.New()
	wire := struct {
		Type   api.WatchEventType `json:"type"`
		Object api.Object         `json:"object"`
	}{Object: obj}
	unmarshal := json.Unmarshal
	if jsonx.Known(reflect.TypeOf(obj)) {
		// A server's event, framed but not checked: jsonx refuses
		// malformed JSON as encoding/json does (FuzzUnmarshal holds it
		// to that), and anything refused takes the encoding/json path
		// below, which says what is wrong.
		unmarshal = jsonx.Unmarshal
	}
	if err := unmarshal(frame, &wire); err == nil {
		switch wire.Type {
		case api.WatchAdded, api.WatchModified, api.WatchDeleted, api.WatchBookmark:
			// "object": null leaves obj empty, as decodeEvent does.
			if got := obj.GetTypeMeta().Kind; got != "" && got != k.Kind {
				return Event{}, fmt.Errorf("a %s event carries a %s, not a %s", wire.Type, got, k.Kind)
			}
			return Event{Type: wire.Type, Object: obj}, nil
		}
	}
	var we api.WatchEvent
	if err := json.Unmarshal(frame, &we); err != nil {
		// Not an event at all: the stream is broken, as a json.Decoder
		// reading events would have said.
		return Event{}, &streamError{err}
	}
	return decodeEvent(k, &we)
}

// frameReader splits a watch stream into its events: top-level JSON
// objects, separated by nothing or by white space (the server writes one
// per line). It finds where each ends by counting braces outside strings,
// and leaves checking the syntax to the decoder, so that an event is
// scanned once by the framing and once by encoding/json, instead of the
// three passes of a json.Decoder into a RawMessage and a second decode.
type frameReader struct {
	r   io.Reader
	buf []byte
	beg int // start of the unread data (and of the event being framed)
	end int // end of the data read
	// The scan of the event being framed, kept across reads.
	pos   int // next byte to look at
	depth int
	inStr bool
	esc   bool
	err   error // the reader's error, returned once the data is used up
}

// maxFrame is the largest event the reader accepts.
const maxFrame = 64 << 20

// next returns the next event, valid until the next call; io.EOF at the
// end of a stream that ends between events.
func (f *frameReader) next() ([]byte, error) {
	for {
		if frame, ok := f.scan(); ok {
			return frame, nil
		}
		if f.pos < 0 {
			return nil, fmt.Errorf("invalid character %q looking for the beginning of a watch event", f.buf[f.beg])
		}
		if f.err != nil {
			if f.beg == f.end {
				return nil, f.err
			}
			if errors.Is(f.err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, f.err
		}
		f.fill()
	}
}

// scan moves the scan of the event at f.beg as far as the data goes and
// returns the event once it is complete. It sets f.pos to -1 when the data
// cannot be an event.
func (f *frameReader) scan() ([]byte, bool) {
	if f.pos == f.beg { // a new event: skip the white space before it
		for f.beg < f.end && isSpace(f.buf[f.beg]) {
			f.beg++
		}
		f.pos = f.beg
		if f.beg == f.end {
			return nil, false
		}
		if f.buf[f.beg] != '{' {
			f.pos = -1
			return nil, false
		}
	}
	buf := f.buf[:f.end]
	for i := f.pos; i < len(buf); i++ {
		b := buf[i]
		if f.inStr {
			switch {
			case f.esc:
				f.esc = false
			case b == '\\':
				f.esc = true
			case b == '"':
				f.inStr = false
			}
			continue
		}
		switch b {
		case '"':
			f.inStr = true
		case '{', '[':
			f.depth++
		case '}', ']':
			if f.depth--; f.depth == 0 {
				frame := buf[f.beg : i+1]
				f.beg, f.pos = i+1, i+1
				return frame, true
			}
		}
	}
	f.pos = len(buf)
	return nil, false
}

// fill reads more data, first moving the event being framed to the start
// of the buffer, or growing it when the event fills it.
func (f *frameReader) fill() {
	if f.beg > 0 {
		n := copy(f.buf, f.buf[f.beg:f.end])
		f.pos -= f.beg
		f.beg, f.end = 0, n
	}
	if f.end == len(f.buf) {
		if len(f.buf) >= maxFrame {
			f.err = fmt.Errorf("a watch event is larger than %d bytes", maxFrame)
			return
		}
		size := max(2*len(f.buf), 32<<10)
		nb := make([]byte, size)
		copy(nb, f.buf[:f.end])
		f.buf = nb
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if err != nil {
		f.err = err
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

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
