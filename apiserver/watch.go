package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
)

// watch streams the events of a watch, one JSON object per line, until
// timeoutSeconds pass, the client goes away or the stream ends. Each
// event is written as its shared, already encoded line
// (registry.Event.Line), one write per batch of events.
//
// An idle watch should cost little memory, and net/http's per-request
// goroutine (its stack, deep in the handler chain, and the connection's
// buffers and background reader) costs 30 KB or more. So on an HTTP/1.1
// connection the handler takes the connection over (http.Hijacker),
// writes the response head itself (chunked, Connection: close) and
// returns; a goroutine of its own then streams the events, and another,
// small one notices the client closing the connection. The request's
// metrics therefore see a watch end when its stream starts. Other
// protocols (HTTP/2, HTTP/1.0, a ResponseWriter that cannot be taken
// over) stream from the handler instead.
//
// A watch that asks for Tables (kubectl get -w) gets each object as a
// Table of one row, made for it alone, from the handler.
//
// Beyond Config.MaxWatches open watches, a watch is answered 429.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, t target) error {
	topts, asTable, err := tableRequest(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	id, err := s.watches.reserve()
	switch {
	case errors.Is(err, errTooManyWatches):
		return tooManyRequests(w, fmt.Sprintf("too many open watches (the limit is %d): try again later", s.watches.max))
	case err != nil: // closed
		if !asTable {
			if conn, taken := hijack(w, r); taken {
				if conn != nil {
					endConn(conn) // a watch that starts and ends at once
				}
				return nil
			}
		}
		return api.NewStatusError(http.StatusServiceUnavailable, api.StatusReasonServiceUnavailable, "the server is shutting down")
	}
	// The place is given back when this handler returns, panics
	// included (Close waits for it), unless a stream of its own took it.
	handedOver := false
	defer func() {
		if !handedOver {
			s.watches.remove(id)
		}
	}()
	ctx, cancel, watcher, err := startWatch(r, t)
	if err != nil {
		return err
	}
	if !asTable {
		if conn, taken := hijack(w, r); taken {
			if conn == nil {
				// Taken but unusable (hijack closed it): nothing can be
				// written, through w or otherwise.
				cancel()
				watcher.Close()
				return nil
			}
			handedOver = true
			s.streamHijacked(ctx, cancel, id, conn, watcher, r.URL.Path)
			return nil
		}
	}
	defer cancel()
	defer watcher.Close()
	if !s.watches.start(id, cancel) {
		return api.NewStatusError(http.StatusServiceUnavailable, api.StatusReasonServiceUnavailable, "the server is shutting down")
	}
	stop := context.AfterFunc(r.Context(), cancel)
	defer stop()
	line := func(ev *registry.Event) []byte { return ev.Line() }
	if asTable {
		line = func(ev *registry.Event) []byte {
			obj := ev.Object()
			if obj == nil { // BOOKMARK, ERROR
				return ev.Line()
			}
			l, err := s.tableEventLine(t.kind, ev.Type, obj, topts)
			if err != nil {
				s.log.Error("a watch event as a table", "err", err)
				return nil
			}
			return l
		}
	}
	streamWatch(ctx, w, watcher, line)
	return nil
}

// streamHijacked streams a watch that took its connection over, on a
// goroutine of its own that Close waits for. A panic there is logged and
// ends the watch, as recoverPanics does for a handler.
func (s *Server) streamHijacked(ctx context.Context, cancel context.CancelFunc, id uint64, conn net.Conn, watcher *registry.Watcher, path string) {
	hc := &hijackedConn{Conn: conn}
	stop := func() {
		cancel()
		hc.closing()
	}
	ok := s.watches.goStream(id, stop, func() {
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic streaming a watch", "path", path,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				cancel()
				conn.Close()
			}
		}()
		streamConn(ctx, cancel, hc, watcher)
	})
	if !ok {
		// The server closed since the watch was reserved: end at once.
		cancel()
		watcher.Close()
		endConn(conn)
		s.watches.remove(id)
	}
}

// errTooManyWatches is watchSet.reserve's error when MaxWatches are open.
var errTooManyWatches = errors.New("apiserver: too many open watches")

// errWatchesClosed is watchSet.reserve's error after closeAll.
var errWatchesClosed = errors.New("apiserver: the server is closed")

// watchSet is the open watches: at most max of them (0: no limit), each
// with the function that stops it, so Close can end them (those that took
// their connection over are out of net/http's reach) and wait for the
// goroutines that stream them.
type watchSet struct {
	max      int
	rejected prometheus.Counter // watches refused for max; nil in tests

	mu     sync.Mutex
	closed bool
	next   uint64
	open   map[uint64]func() // nil until the watch has started
	wg     sync.WaitGroup    // a count for each watch reserved and not removed
}

// reserve takes a place for a watch and returns its id. It fails with
// errTooManyWatches if max watches are open, and errWatchesClosed after
// closeAll. The place is given back by remove.
func (ws *watchSet) reserve() (uint64, error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	switch {
	case ws.closed:
		return 0, errWatchesClosed
	case ws.max > 0 && len(ws.open) >= ws.max:
		if ws.rejected != nil {
			ws.rejected.Inc()
		}
		return 0, errTooManyWatches
	}
	if ws.open == nil {
		ws.open = make(map[uint64]func())
	}
	ws.next++
	ws.open[ws.next] = nil
	ws.wg.Add(1) // until remove: closeAll waits for a watch still starting
	return ws.next, nil
}

// start records the function that stops the watch id. It reports false,
// recording nothing, if the set has been closed since reserve.
func (ws *watchSet) start(id uint64, stop func()) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return false
	}
	ws.open[id] = stop
	return true
}

// goStream is start, and then runs f on a goroutine that closeAll waits
// for; the watch is removed when f returns. It reports false, running
// nothing, if the set has been closed since reserve.
func (ws *watchSet) goStream(id uint64, stop func(), f func()) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return false
	}
	ws.open[id] = stop
	go func() {
		defer ws.remove(id)
		f()
	}()
	return true
}

// remove gives back the place of watch id. Every reserve is matched by
// one remove, once the watch has ended or failed to start.
func (ws *watchSet) remove(id uint64) {
	ws.mu.Lock()
	delete(ws.open, id)
	ws.mu.Unlock()
	ws.wg.Done()
}

// closeAll stops every open watch, refuses new ones, and waits until every
// watch reserved has been removed: those streamed by goStream, those
// streamed by their handler, and those that were still starting.
func (ws *watchSet) closeAll() {
	ws.mu.Lock()
	ws.closed = true
	open := ws.open
	ws.open = nil
	ws.mu.Unlock()
	for _, stop := range open {
		if stop != nil {
			stop()
		}
	}
	ws.wg.Wait()
}

// startWatch parses the request and starts its Watcher, with the context
// it runs in: not the request's, which ends when the handler returns, but
// one that cancel (or timeoutSeconds) ends.
func startWatch(r *http.Request, t target) (context.Context, context.CancelFunc, *registry.Watcher, error) {
	q := r.URL.Query()
	opts, err := listOptions(q)
	if err != nil {
		return nil, nil, nil, err
	}
	base := context.WithoutCancel(r.Context())
	ctx, cancel := context.WithCancel(base)
	if v := first(q, "timeoutSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			cancel()
			return nil, nil, nil, api.NewBadRequest("invalid timeoutSeconds %q: must be a non-negative integer", v)
		}
		if n > 0 {
			cancel()
			ctx, cancel = context.WithTimeout(base, time.Duration(n)*time.Second)
		}
	}
	watcher, err := t.reg.NewWatcher(ctx, t.namespace, opts)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, cancel, watcher, nil
}

// hijack takes over the connection of an HTTP/1.1 request and writes the
// head of a chunked 200 response with w's header on it. It returns the
// connection and true if it did. It returns false, having written
// nothing, if the request is not HTTP/1.1 or w cannot be taken over: the
// handler then answers through w. It returns nil and true if it took the
// connection but cannot stream on it (the client has sent more than the
// request, pipelining, too late to give the connection back; or the
// connection failed): the connection is closed, and the handler must
// return without writing.
func hijack(w http.ResponseWriter, r *http.Request) (net.Conn, bool) {
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		return nil, false
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if errors.Is(err, http.ErrNotSupported) {
		return nil, false
	}
	if err != nil {
		// net/http marks the connection taken before it can fail.
		if conn != nil {
			conn.Close()
		}
		return nil, true
	}
	if brw.Reader.Buffered() > 0 {
		conn.Close()
		return nil, true
	}
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\nDate: ")
	head.WriteString(time.Now().UTC().Format(http.TimeFormat))
	head.WriteString("\r\n")
	h := w.Header().Clone()
	h.Set("Connection", "close")
	h.Set("Transfer-Encoding", "chunked")
	_ = h.Write(&head)
	head.WriteString("\r\n")
	_ = conn.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
	if _, err := conn.Write(head.Bytes()); err != nil {
		conn.Close()
		return nil, true
	}
	return conn, true
}

// endConn ends the chunked response on conn, unless the client is gone,
// and closes conn.
func endConn(conn net.Conn) {
	_ = conn.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
	_, _ = conn.Write([]byte("0\r\n\r\n"))
	conn.Close()
}

// watchWriteTimeout is how long a write to a watch's client may block.
const watchWriteTimeout = time.Minute

// closeGrace is how long, once Close has ended a watch that took its
// connection over, the watch's last writes may block.
const closeGrace = time.Second

// hijackedConn is the connection of a watch that took it over.
type hijackedConn struct {
	net.Conn
	mu   sync.Mutex
	last time.Time // no write deadline is set later than this; zero: none
}

// setWriteDeadline lets the next write block for watchWriteTimeout, or
// until the deadline closing set.
func (c *hijackedConn) setWriteDeadline() {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := time.Now().Add(watchWriteTimeout)
	if !c.last.IsZero() && c.last.Before(d) {
		d = c.last
	}
	_ = c.Conn.SetWriteDeadline(d)
}

// closing lets the writes, the one in progress included, block for
// closeGrace at most: the stream may still end cleanly, but a client that
// does not read does not hold Close.
func (c *hijackedConn) closing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = time.Now().Add(closeGrace)
	_ = c.Conn.SetWriteDeadline(c.last)
}

// streamConn writes the events of watcher to conn, one chunk per batch,
// until the stream ends, ctx ends or the client goes away, and then closes
// the watcher and the connection. It returns once its reader goroutine
// has.
func streamConn(ctx context.Context, cancel context.CancelFunc, conn *hijackedConn, watcher *registry.Watcher) {
	var reader sync.WaitGroup
	defer reader.Wait()
	defer cancel()
	defer conn.Close()
	defer watcher.Close()
	// The client sends nothing more: a read returns when it closes the
	// connection (or when conn is closed on the way out).
	reader.Go(func() {
		var b [1]byte
		_, _ = conn.Read(b[:])
		cancel()
	})
	var buf []byte
	for {
		events, more := watcher.Next(ctx)
		if len(events) > 0 {
			buf = appendChunk(buf[:0], events)
			// A client that stops reading is let go after a while rather
			// than holding the goroutine and its buffers for ever.
			conn.setWriteDeadline()
			if _, err := conn.Write(buf); err != nil {
				return
			}
			if cap(buf) > 64<<10 {
				buf = nil // a large batch: do not keep its buffer
			}
		}
		if !more {
			// The last chunk, unless the client is gone.
			conn.setWriteDeadline()
			_, _ = conn.Write([]byte("0\r\n\r\n"))
			return
		}
	}
}

// appendChunk appends the lines of events to b as one HTTP/1.1 chunk.
func appendChunk(b []byte, events []*registry.Event) []byte {
	n := 0
	for _, ev := range events {
		n += len(ev.Line())
	}
	b = strconv.AppendInt(b, int64(n), 16)
	b = append(b, "\r\n"...)
	for _, ev := range events {
		b = append(b, ev.Line()...)
	}
	return append(b, "\r\n"...)
}

// streamWatch writes the events of watcher to w until it ends or the
// client goes away.
func streamWatch(ctx context.Context, w http.ResponseWriter, watcher *registry.Watcher, line func(*registry.Event) []byte) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
	// And the end of the response, which net/http writes after the
	// handler returns, perhaps after the watch was long idle.
	defer func() { _ = rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout)) }()
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	for {
		events, more := watcher.Next(ctx)
		for _, ev := range events {
			l := line(ev)
			if l == nil {
				continue
			}
			_ = rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
			if _, err := w.Write(l); err != nil {
				return // the client is gone
			}
		}
		if len(events) > 0 && rc.Flush() != nil {
			return
		}
		if !more {
			return
		}
	}
}
