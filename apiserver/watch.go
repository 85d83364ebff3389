package apiserver

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

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
func (s *Server) watch(w http.ResponseWriter, r *http.Request, t target) error {
	topts, asTable, err := tableRequest(r)
	if err != nil {
		return err
	}
	ctx, cancel, watcher, err := startWatch(r, t)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	if !asTable {
		if conn := hijack(w, r); conn != nil {
			id, ok := s.watches.add(cancel)
			if !ok {
				cancel() // the server is closed: end at once
			}
			go func() {
				defer s.watches.remove(id)
				streamConn(ctx, cancel, conn, watcher)
			}()
			return nil
		}
	}
	defer cancel()
	defer watcher.Close()
	id, ok := s.watches.add(cancel)
	if !ok {
		return api.NewStatusError(http.StatusServiceUnavailable, api.StatusReasonServiceUnavailable, "the server is shutting down")
	}
	defer s.watches.remove(id)
	stop := context.AfterFunc(r.Context(), cancel)
	defer stop()
	line := func(ev *registry.Event) []byte { return ev.Line() }
	if asTable {
		line = func(ev *registry.Event) []byte {
			if ev.Object == nil { // BOOKMARK, ERROR
				return ev.Line()
			}
			l, err := s.tableEventLine(t.kind, ev.Type, ev.Object, topts)
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

// watchSet is the cancel functions of the open watches, so Close can end
// them: those that took their connection over are out of net/http's
// reach.
type watchSet struct {
	mu     sync.Mutex
	closed bool
	next   uint64
	open   map[uint64]context.CancelFunc
}

// add records cancel and returns its id; ok is false if the set is closed.
func (ws *watchSet) add(cancel context.CancelFunc) (id uint64, ok bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return 0, false
	}
	if ws.open == nil {
		ws.open = make(map[uint64]context.CancelFunc)
	}
	ws.next++
	ws.open[ws.next] = cancel
	return ws.next, true
}

func (ws *watchSet) remove(id uint64) {
	ws.mu.Lock()
	delete(ws.open, id)
	ws.mu.Unlock()
}

// closeAll cancels every open watch and refuses new ones.
func (ws *watchSet) closeAll() {
	ws.mu.Lock()
	ws.closed = true
	open := ws.open
	ws.open = nil
	ws.mu.Unlock()
	for _, cancel := range open {
		cancel()
	}
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
// head of a chunked 200 response with w's header on it. It returns nil,
// having written nothing, if the request is not HTTP/1.1, w cannot be
// taken over, or the client has sent more than the request (pipelining).
func hijack(w http.ResponseWriter, r *http.Request) net.Conn {
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		return nil
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	if brw.Reader.Buffered() > 0 {
		// Requests after this one: too late to give the connection back.
		conn.Close()
		return nil
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
	if _, err := conn.Write(head.Bytes()); err != nil {
		conn.Close()
		return nil
	}
	return conn
}

// watchWriteTimeout is how long a write to a watch's client may block.
const watchWriteTimeout = time.Minute

// streamConn writes the events of watcher to conn, one chunk per batch,
// until the stream ends, ctx ends or the client goes away, and then closes
// the watcher and the connection.
func streamConn(ctx context.Context, cancel context.CancelFunc, conn net.Conn, watcher *registry.Watcher) {
	defer cancel()
	defer conn.Close()
	defer watcher.Close()
	// The client sends nothing more: a read returns when it closes the
	// connection (or when conn is closed on the way out).
	go func() {
		var b [1]byte
		_, _ = conn.Read(b[:])
		cancel()
	}()
	var buf []byte
	for {
		events, more := watcher.Next(ctx)
		if len(events) > 0 {
			buf = appendChunk(buf[:0], events)
			// A client that stops reading is let go after a while rather
			// than holding the goroutine and its buffers for ever.
			_ = conn.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
			if _, err := conn.Write(buf); err != nil {
				return
			}
			if cap(buf) > 64<<10 {
				buf = nil // a large batch: do not keep its buffer
			}
		}
		if !more {
			// The last chunk, unless the client is gone.
			_ = conn.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
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
