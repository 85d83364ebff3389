package remotecommand

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/drover-io/drover/api"
)

// Streams are the streams of a remote command, as Serve gives them to the
// command: nil for those the client did not ask for.
type Streams struct {
	// Stdin is the client's standard input; it ends (io.EOF) when the
	// client half-closes it (v5) or goes away.
	Stdin io.Reader
	// Stdout and Stderr send to the client. They are safe for concurrent
	// use; a write fails once the client is gone.
	Stdout, Stderr io.Writer
}

// writeTimeout bounds one write to the peer: a client that stops reading
// is let go rather than held for ever.
const writeTimeout = time.Minute

// closeTimeout bounds the wait for the peer's answer to the close
// message, after the last message was sent.
const closeTimeout = 5 * time.Second

// maxMessage is the largest message read: a stdin chunk, a resize.
const maxMessage = 1 << 20

// chunk is the largest piece of stdin or output sent in one message.
const chunk = 32 << 10

// Serve runs a remote command for the request r, which must be a WebSocket
// upgrade offering v5.channel.k8s.io or v4.channel.k8s.io; any other
// request gets a 400 with a v1 Status saying so. It upgrades the
// connection and calls run with the streams opts asks for, and a ctx that
// ends when the client goes away. Once run returns, whatever it wrote has
// been sent; Serve then sends the exit status (Success for 0,
// NonZeroExitCode for another code, a Failure with err's message if err is
// not nil), closes the connection and returns. run must return once ctx
// ends; Serve waits for it.
//
// opts should come from ParseOptions; Serve only looks at its streams.
func Serve(w http.ResponseWriter, r *http.Request, opts Options, run func(ctx context.Context, s Streams) (exitCode int, err error)) {
	if se := CheckUpgrade(r); se != nil {
		writeStatus(w, se)
		return
	}
	up := websocket.Upgrader{
		Subprotocols:    protocols,
		ReadBufferSize:  chunk,
		WriteBufferSize: chunk,
		// Clients authenticate with certificates or bearer tokens, never
		// with cookies: a page of another origin gains nothing.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, code int, reason error) {
			writeStatus(w, api.NewStatusError(code, api.StatusReasonBadRequest, "WebSocket upgrade: "+reason.Error()))
		},
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the client
	}
	s := &session{conn: conn, proto: conn.Subprotocol(), opts: opts}
	s.serve(r.Context(), run)
}

// CheckUpgrade returns a BadRequest, for the user, if r is not a
// WebSocket upgrade offering v5.channel.k8s.io or v4.channel.k8s.io: what
// Serve refuses. A proxy calls it to refuse such a request itself.
func CheckUpgrade(r *http.Request) *api.StatusError {
	if !websocket.IsWebSocketUpgrade(r) {
		return api.NewBadRequest("exec needs a WebSocket client (the %s or %s subprotocol), such as kubectl 1.30 or later: SPDY is not supported", ProtocolV5, ProtocolV4)
	}
	offered := websocket.Subprotocols(r)
	if !slices.Contains(offered, ProtocolV5) && !slices.Contains(offered, ProtocolV4) {
		return api.NewBadRequest("the WebSocket subprotocols offered [%s] are not supported: offer %s or %s",
			strings.Join(offered, ", "), ProtocolV5, ProtocolV4)
	}
	return nil
}

// writeStatus answers with a v1 Status.
func writeStatus(w http.ResponseWriter, se *api.StatusError) {
	data, _ := json.Marshal(se.Status)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(se.Status.Code))
	_, _ = w.Write(data)
}

// session is one upgraded connection on the server side.
type session struct {
	conn  *websocket.Conn
	proto string
	opts  Options

	wmu  sync.Mutex // one writer at a time
	werr error      // the first write error: no more writes
}

func (s *session) serve(parent context.Context, run func(context.Context, Streams) (int, error)) {
	// The request's context does not end when a hijacked connection
	// does: the read loop ends ctx when the client goes away.
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	defer cancel()
	stop := context.AfterFunc(parent, cancel)
	defer stop()

	stdinR, stdinW := io.Pipe()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		s.readLoop(stdinW)
		// The client went away, or answered the close message.
		cancel()
	}()

	var streams Streams
	if s.opts.Stdin {
		streams.Stdin = stdinR
	}
	if s.opts.Stdout {
		streams.Stdout = &channelWriter{s: s, ch: ChannelStdout, cancel: cancel}
	}
	if s.opts.Stderr {
		streams.Stderr = &channelWriter{s: s, ch: ChannelStderr, cancel: cancel}
	}
	// An empty message on the first output channel tells older clients
	// that the streams are ready.
	first := ChannelError
	switch {
	case s.opts.Stdout:
		first = ChannelStdout
	case s.opts.Stderr:
		first = ChannelStderr
	}
	_ = s.write(first, nil)

	code, err := run(ctx, streams)
	// Stdin no longer has a reader: the read loop drops what comes.
	_ = stdinR.CloseWithError(io.EOF)

	if ctx.Err() == nil {
		st, _ := json.Marshal(exitStatus(s.opts.Command, code, err))
		if s.write(ChannelError, st) == nil {
			_ = s.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(writeTimeout))
			// Wait for the client's close, so that it has read everything
			// before the connection goes.
			_ = s.conn.SetReadDeadline(time.Now().Add(closeTimeout))
			select {
			case <-readDone:
			case <-ctx.Done():
			}
		}
	}
	_ = s.conn.Close()
	<-readDone
}

// readLoop reads the client's messages until the connection ends: stdin
// into stdin, whose end it closes.
func (s *session) readLoop(stdin *io.PipeWriter) {
	defer stdin.Close()
	s.conn.SetReadLimit(maxMessage)
	for {
		typ, msg, err := s.conn.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.BinaryMessage || len(msg) == 0 {
			continue
		}
		f, err := parseFrame(msg, s.proto)
		if err != nil {
			_ = s.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseProtocolError, err.Error()), time.Now().Add(writeTimeout))
			return
		}
		switch f.channel {
		case ChannelStdin:
			if s.opts.Stdin && len(f.data) > 0 {
				// Blocks until the command reads it; fails (and the data is
				// dropped) once the command ended or stdin was closed.
				_, _ = stdin.Write(f.data)
			}
		case ChannelClose:
			if f.data[0] == ChannelStdin {
				_ = stdin.Close()
			}
		}
		// Resize and unknown channels are ignored.
	}
}

// write sends data on channel ch as one message, or several of at most
// chunk bytes. The first failure stops every later write.
func (s *session) write(ch byte, data []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.werr != nil {
		return s.werr
	}
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), chunk)
		msg := make([]byte, 1+n)
		msg[0] = ch
		copy(msg[1:], data[:n])
		data = data[n:]
		_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := s.conn.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			s.werr = fmt.Errorf("remotecommand: send to the client: %w", err)
			return s.werr
		}
	}
	return nil
}

// channelWriter is the io.Writer of an output stream.
type channelWriter struct {
	s      *session
	ch     byte
	cancel context.CancelFunc
}

func (w *channelWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.s.write(w.ch, p); err != nil {
		w.cancel() // the client is gone
		return 0, err
	}
	return len(p), nil
}
