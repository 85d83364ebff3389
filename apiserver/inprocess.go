package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/internal/growstack"
)

// Transport returns an http.RoundTripper that serves requests by calling
// the server's handler in the calling process: no socket, no encoding of
// the request or the response. Components that run in the same process
// as the server (the all-in-one mode) use it as the Transport of their
// http.Client and get the same answers as over HTTP: the same validation,
// admission, Status errors, resourceVersions and watch streams. See
// InProcessTransport for what it does exactly.
func (s *Server) Transport() http.RoundTripper {
	return &InProcessTransport{Handler: s.handler, Logger: s.log}
}

// InProcessTransport is an http.RoundTripper that serves each request by
// calling Handler on a goroutine of its own, as net/http's server would,
// and streams the response back. Server.Transport returns one for the
// server's handler; build one directly to put middleware (authentication,
// for example) in front of it.
//
// What the handler sees is what net/http's server gives it: a request
// with RequestURI, Host, a server-style URL (path and query only), a
// never-nil Body that streams the caller's request body (read up to
// ContentLength; a body of unknown length is "chunked"), and a context
// that ends when the caller's ends, when the caller closes the response
// body, or when the handler returns. RemoteAddr is "in-process:0".
//
// What the caller sees is what http.Transport would return for the same
// handler behind net/http's server:
//
//   - The response is returned as soon as its header is sent, which
//     happens, as in net/http, when the handler flushes
//     (http.NewResponseController(w).Flush), writes more than 2 KiB, or
//     returns; WriteHeader alone sends nothing. A watch is therefore
//     returned at its first flush and delivers each event as it is
//     flushed.
//   - WriteHeader takes effect once (a second call is logged and
//     ignored); Write without it means 200; the header map is copied when
//     the status is written. A response the handler ends within 2 KiB
//     without a Content-Length gets one; otherwise the body is chunked
//     (ContentLength -1). Date is set, and Content-Type is sniffed when
//     the handler set none. Writing more than a declared Content-Length
//     fails with http.ErrContentLength, and less cuts the body with
//     io.ErrUnexpectedEOF. 1xx, 204 and 304 responses have no body, nor
//     does a response to HEAD.
//   - The response body is not buffered beyond 2 KiB: the handler's writes
//     wait for the caller's reads, as they would wait for a full socket.
//   - Closing the response body ends the request's context and waits for
//     the handler to return; reading the body to io.EOF also returns only
//     once the handler has returned. So a caller that closes or drains
//     every body, as http.Client requires, leaves no goroutine behind.
//     Handlers must return once their request's context ends, as they
//     must anyway behind a real server.
//   - If the caller's context ends before the response, RoundTrip ends the
//     handler's context, waits for the handler and returns the context's
//     error; after it, reads of the body fail with that error.
//   - A panic of the handler is recovered and logged (except
//     http.ErrAbortHandler, which is silent): the caller gets an error
//     from RoundTrip, or a body cut with io.ErrUnexpectedEOF if the header
//     was already sent.
//
// The response writer supports Flush and FlushError (http.Flusher and
// http.ResponseController) and EnableFullDuplex (the handler may always
// read the request body while writing the response); it has no
// connection, so Hijack and the read and write deadlines of
// http.ResponseController answer http.ErrNotSupported. Trailers are not
// sent.
type InProcessTransport struct {
	// Handler serves the requests.
	Handler http.Handler
	// Logger receives the transport's log lines (handler panics, a second
	// WriteHeader). nil discards them.
	Logger *slog.Logger
}

var _ http.RoundTripper = (*InProcessTransport)(nil)

// bufferBeforeChunking is how much of a response is held back before its
// header is sent: net/http's server holds as much, so that a short
// response gets a Content-Length.
const bufferBeforeChunking = 2048

// inProcessRemoteAddr is the RemoteAddr of the requests the handler sees.
const inProcessRemoteAddr = "in-process:0"

var (
	errReadOnClosedResBody = errors.New("http: read on closed response body")
	errHandlerPanicked     = errors.New("apiserver: the in-process handler panicked")
)

// RoundTrip implements http.RoundTripper. It closes req.Body, once the
// handler has returned or the request has been cancelled.
func (t *InProcessTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("apiserver: in-process transport: nil Request.URL")
	}
	if t.Handler == nil {
		closeBody(req)
		return nil, errors.New("apiserver: in-process transport: nil Handler")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if !validMethod(method) {
		closeBody(req)
		return nil, fmt.Errorf("apiserver: in-process transport: invalid method %q", method)
	}
	uri := req.URL.RequestURI()
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("apiserver: in-process transport: request URI %q: %w", uri, err)
	}
	if err := req.Context().Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	ctx, cancel := context.WithCancel(req.Context())
	pr, pw := io.Pipe()
	x := &exchange{
		log:    log,
		creq:   req,
		ctx:    req.Context(),
		cancel: cancel,
		pr:     pr,
		pw:     pw,
		done:   make(chan struct{}),
		result: make(chan result, 1),
	}
	sreq := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     req.Header.Clone(),
		Host:       req.Host,
		RemoteAddr: inProcessRemoteAddr,
		RequestURI: uri,
	}
	if sreq.Header == nil {
		sreq.Header = make(http.Header)
	}
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	sreq.Header.Del("Host")
	x.body = newRequestBody(req)
	sreq.Body = x.body
	sreq.ContentLength = x.body.length
	if x.body.length > 0 {
		sreq.Header.Set("Content-Length", strconv.FormatInt(x.body.length, 10))
	} else if x.body.length < 0 {
		sreq.TransferEncoding = []string{"chunked"}
	}
	sreq = sreq.WithContext(ctx)
	x.sreq = sreq
	w := &inProcessWriter{x: x, header: make(http.Header), contentLength: -1}
	x.w = w

	// The caller's context ending cuts both directions, as a closed
	// connection would.
	stop := context.AfterFunc(req.Context(), func() {
		pw.CloseWithError(req.Context().Err())
		x.body.abort()
	})
	go x.serve(t.Handler, stop)

	select {
	case r := <-x.result:
		if r.err != nil {
			<-x.done
			return nil, r.err
		}
		return r.resp, nil
	case <-req.Context().Done():
		cancel()
		<-x.done
		return nil, req.Context().Err()
	}
}

// exchange is one request served in process.
type exchange struct {
	log    *slog.Logger
	creq   *http.Request // the caller's
	sreq   *http.Request // the handler's
	ctx    context.Context
	cancel context.CancelFunc // ends the handler's context
	body   *requestBody
	w      *inProcessWriter
	pr     *io.PipeReader // response body, read by the caller
	pw     *io.PipeWriter // written by the handler once the header is sent
	done   chan struct{}  // closed when the handler's goroutine ends
	result chan result    // the response, or why there is none
}

type result struct {
	resp *http.Response
	err  error
}

// serve runs the handler and finishes the response.
func (x *exchange) serve(h http.Handler, stop func() bool) {
	growstack.Grow() // a goroutine per request: grow once, not while decoding
	defer close(x.done)
	defer stop()
	defer x.cancel()
	defer x.body.close()
	defer func() {
		v := recover()
		if v == nil {
			x.w.finish()
			return
		}
		if v != http.ErrAbortHandler {
			x.log.Error("panic serving in-process request", "method", x.sreq.Method, "path", x.sreq.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
		x.w.finished = true
		if x.w.sent {
			x.pw.CloseWithError(io.ErrUnexpectedEOF)
			return
		}
		x.result <- result{err: fmt.Errorf("%w: %v", errHandlerPanicked, v)}
	}()
	h.ServeHTTP(x.w, x.sreq)
}

// inProcessWriter is the http.ResponseWriter of an in-process request. It
// is used by the handler's goroutine only.
type inProcessWriter struct {
	x             *exchange
	header        http.Header // the handler's
	sentHeader    http.Header // copied at WriteHeader
	status        int         // 0 until WriteHeader
	contentLength int64       // declared, or -1
	written       int64
	buf           []byte // the body before the header is sent
	sent          bool   // the response went to the caller
	finished      bool   // the handler returned
}

var (
	_ http.ResponseWriter = (*inProcessWriter)(nil)
	_ http.Flusher        = (*inProcessWriter)(nil)
)

// Header implements http.ResponseWriter.
func (w *inProcessWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter.
func (w *inProcessWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.finished {
		w.x.log.Warn("in-process response: WriteHeader after the handler returned", "code", code)
		return
	}
	if w.status != 0 {
		w.x.log.Warn("in-process response: superfluous WriteHeader call", "code", code, "status", w.status,
			"path", w.x.sreq.URL.Path)
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		return // informational: not passed on
	}
	w.status = code
	w.sentHeader = w.header.Clone()
	if cl := w.sentHeader.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		}
	}
}

// Write implements http.ResponseWriter.
func (w *inProcessWriter) Write(p []byte) (int, error) {
	if w.finished {
		return 0, errors.New("apiserver: in-process response: Write after the handler returned")
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.sent {
		if len(w.buf)+len(p) <= bufferBeforeChunking {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		// As net/http, the header goes with the first chunk of the body,
		// which Content-Type is sniffed from.
		w.buf = append(w.buf, p...)
		if err := w.send(false); err != nil {
			return 0, err
		}
		if err := w.flushBuf(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if w.noBody() {
		return len(p), nil
	}
	return w.x.pw.Write(p)
}

// Flush implements http.Flusher.
func (w *inProcessWriter) Flush() { _ = w.FlushError() }

// FlushError sends the header if it was not, and what the handler wrote.
// http.ResponseController.Flush calls it.
func (w *inProcessWriter) FlushError() error {
	if w.finished {
		return errors.New("apiserver: in-process response: Flush after the handler returned")
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent {
		if err := w.send(false); err != nil {
			return err
		}
	}
	return w.flushBuf()
}

// EnableFullDuplex lets the handler read the request body while it
// writes the response, which it always may in process.
func (w *inProcessWriter) EnableFullDuplex() error { return nil }

// flushBuf writes what is held back into the body pipe.
func (w *inProcessWriter) flushBuf() error {
	if len(w.buf) == 0 || w.noBody() {
		w.buf = nil
		return nil
	}
	b := w.buf
	w.buf = nil
	_, err := w.x.pw.Write(b)
	return err
}

// noBody reports whether the response has no body for the caller.
func (w *inProcessWriter) noBody() bool {
	return !bodyAllowed(w.status) || w.x.sreq.Method == http.MethodHead
}

// send hands the response to RoundTrip. final means the handler has
// returned and w.buf is the whole body.
func (w *inProcessWriter) send(final bool) error {
	h := w.sentHeader
	isHead := w.x.sreq.Method == http.MethodHead
	allowed := bodyAllowed(w.status)
	if _, ok := h["Date"]; !ok {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	_, hasCL := h["Content-Length"]
	if final && !hasCL && allowed && (!isHead || len(w.buf) > 0) {
		h.Set("Content-Length", strconv.Itoa(len(w.buf)))
		hasCL = true
	}
	if _, ok := h["Content-Type"]; !ok && allowed && len(w.buf) > 0 {
		h.Set("Content-Type", http.DetectContentType(w.buf))
	}
	switch w.status {
	case http.StatusNotModified:
		h.Del("Content-Type")
		h.Del("Content-Length")
		hasCL = false
	case http.StatusNoContent:
		h.Del("Transfer-Encoding")
	}
	resp := &http.Response{
		Status:     statusLine(w.status),
		StatusCode: w.status,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Request:    w.x.creq,
	}
	var length int64
	switch {
	case !allowed:
		length = 0
	case hasCL:
		n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
		if err != nil || n < 0 {
			err := fmt.Errorf("apiserver: in-process response: bad Content-Length %q", h.Get("Content-Length"))
			w.x.result <- result{err: err}
			w.sent, w.finished = true, true
			w.x.pw.CloseWithError(err)
			return err
		}
		length = n
	case isHead:
		length = -1
	default:
		length = -1
		resp.TransferEncoding = []string{"chunked"}
	}
	if isHead && hasCL {
		length, _ = strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	}
	resp.ContentLength = length
	rb := &responseBody{x: w.x}
	switch {
	case w.noBody():
		rb.r = bytes.NewReader(nil)
	case final && length > int64(len(w.buf)):
		// Shorter than its declared length: cut, as net/http's server
		// cuts the connection.
		rb.r = io.MultiReader(bytes.NewReader(w.buf), errReader{io.ErrUnexpectedEOF})
		w.buf = nil
	case final:
		rb.r = bytes.NewReader(w.buf)
		w.buf = nil
	default:
		rb.r = w.x.pr
	}
	resp.Body = rb
	w.sent = true
	w.x.result <- result{resp: resp}
	return nil
}

// finish completes the response once the handler has returned.
func (w *inProcessWriter) finish() {
	if w.finished {
		return
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.finished = true
	if !w.sent {
		if err := w.send(true); err != nil {
			return
		}
		w.x.pw.Close()
		return
	}
	if err := w.flushBuf(); err != nil {
		return
	}
	if !w.noBody() && w.contentLength >= 0 && w.written < w.contentLength {
		w.x.pw.CloseWithError(io.ErrUnexpectedEOF)
		return
	}
	// A handler that returned because the caller's context ended (a
	// watch) must not end the body cleanly before the context's
	// AfterFunc cuts it with the context's error: the first close of the
	// pipe is the one the caller reads.
	if err := w.x.ctx.Err(); err != nil {
		w.x.pw.CloseWithError(err)
		return
	}
	w.x.pw.Close()
}

// errReader fails every read with its error.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// responseBody is the Body of a response served in process.
type responseBody struct {
	x      *exchange
	r      io.Reader
	mu     sync.Mutex // serializes Read
	closed atomic.Bool
}

// Read implements io.Reader. It returns io.EOF only once the handler has
// returned.
func (b *responseBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errReadOnClosedResBody
	}
	if err := b.x.ctx.Err(); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.r.Read(p)
	if err == io.EOF {
		<-b.x.done
	}
	if err != nil && b.closed.Load() {
		err = errReadOnClosedResBody
	}
	return n, err
}

// Close implements io.Closer: it ends the handler's context and waits for
// the handler to return.
func (b *responseBody) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	b.x.cancel()
	b.x.pr.CloseWithError(errReadOnClosedResBody)
	<-b.x.done
	return nil
}

// requestBody is the Body of the request the handler sees: the caller's
// body, read up to its length.
type requestBody struct {
	src       io.ReadCloser // nil for no body
	length    int64         // -1 for unknown
	remaining int64

	mu        sync.Mutex // guards closed, aborted
	closed    bool
	aborted   bool
	closeOnce sync.Once
}

func newRequestBody(req *http.Request) *requestBody {
	b := &requestBody{}
	if req.Body == nil || req.Body == http.NoBody {
		if req.Body != nil {
			b.src = req.Body
		}
		return b
	}
	b.src = req.Body
	b.length = req.ContentLength
	if b.length <= 0 {
		b.length = -1 // unknown: as a chunked request
	}
	b.remaining = b.length
	return b
}

// Read implements io.Reader.
func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	closed, aborted := b.closed, b.aborted
	b.mu.Unlock()
	switch {
	case closed:
		return 0, http.ErrBodyReadAfterClose
	case aborted:
		return 0, io.ErrUnexpectedEOF
	case b.length == 0:
		return 0, io.EOF
	}
	if b.length > 0 {
		if b.remaining == 0 {
			return 0, io.EOF
		}
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
	}
	n, err := b.src.Read(p)
	if b.length > 0 {
		b.remaining -= int64(n)
		if err == io.EOF && b.remaining > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err == nil && b.remaining == 0 {
			err = io.EOF
		}
	}
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.aborted {
			err = io.ErrUnexpectedEOF
		}
		b.mu.Unlock()
	}
	return n, err
}

// Close implements io.Closer, for the handler: later reads fail.
func (b *requestBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// abort cuts the body off, as a closed connection would: a read in
// progress returns.
func (b *requestBody) abort() {
	b.mu.Lock()
	b.aborted = true
	b.mu.Unlock()
	b.closeSrc()
}

// close closes the caller's body once the handler has returned.
func (b *requestBody) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.closeSrc()
}

func (b *requestBody) closeSrc() {
	b.closeOnce.Do(func() {
		if b.src != nil {
			_ = b.src.Close()
		}
	})
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	switch {
	case status >= 100 && status <= 199:
		return false
	case status == http.StatusNoContent, status == http.StatusNotModified:
		return false
	}
	return true
}

// statusLine returns the Status of an http.Response: "200 OK".
func statusLine(code int) string {
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	return strconv.Itoa(code) + " " + text // code is 100-999: three digits
}

// validMethod reports whether m is an HTTP token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range []byte(m) {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`()<>@,;:\"/[]?={}`), c) >= 0 {
			return false
		}
	}
	return true
}
