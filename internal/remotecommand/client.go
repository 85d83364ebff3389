package remotecommand

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/drover-io/drover/api"
)

// handshakeTimeout bounds the WebSocket handshake, connecting included.
const handshakeTimeout = 30 * time.Second

// Stream runs the remote command at rawURL (http or https; the WebSocket
// is dialled as ws or wss), whose query must ask for the streams given in
// s (Options.Query builds it): s.Stdin is sent, and half-closed at its end
// when the server speaks v5; what comes on stdout and stderr is written
// to s.Stdout and s.Stderr (dropped when nil). header is sent with the
// handshake (Authorization, User-Agent); tlsConfig is used for https (nil
// means the defaults).
//
// It returns the command's exit code once the server has sent it and
// closed the connection; err is not nil when the command could not be run
// or its exit status was not received: a *api.StatusError for an answer
// of the server (the handshake refused, or a Failure on the error
// channel), ctx's error when ctx ended first.
//
// Stream does not wait for a Read of s.Stdin in progress when it returns
// (a terminal's Read cannot be interrupted): the goroutine that reads
// stdin ends after that Read returns.
func Stream(ctx context.Context, rawURL string, header http.Header, tlsConfig *tls.Config, s Streams) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, fmt.Errorf("remotecommand: URL %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return 0, fmt.Errorf("remotecommand: URL %q: the scheme must be http or https", rawURL)
	}
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for _, k := range []string{"Sec-Websocket-Protocol", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Upgrade", "Connection"} {
		h.Del(k)
	}
	d := websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		TLSClientConfig:  tlsConfig,
		HandshakeTimeout: handshakeTimeout,
		Subprotocols:     protocols,
		ReadBufferSize:   chunk,
		WriteBufferSize:  chunk,
	}
	conn, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			return 0, handshakeError(resp)
		}
		return 0, fmt.Errorf("remotecommand: connect to %s: %w", redacted(u), err)
	}
	defer conn.Close()
	proto := conn.Subprotocol()
	if proto != ProtocolV5 && proto != ProtocolV4 {
		return 0, fmt.Errorf("remotecommand: the server at %s chose the subprotocol %q: only %s and %s are spoken", redacted(u), proto, ProtocolV5, ProtocolV4)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	if s.Stdin != nil {
		go sendStdin(conn, proto, s.Stdin)
	}
	conn.SetReadLimit(maxMessage + 1)
	var status bytes.Buffer
	gotStatus := false
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if !gotStatus {
				return 0, fmt.Errorf("remotecommand: the connection to %s ended before the command's exit status: %w", redacted(u), err)
			}
			return decodeExitStatus(status.Bytes())
		}
		if typ != websocket.BinaryMessage || len(msg) == 0 {
			continue
		}
		var out io.Writer
		switch msg[0] {
		case ChannelStdout:
			out = s.Stdout
		case ChannelStderr:
			out = s.Stderr
		case ChannelError:
			if status.Len()+len(msg) > maxMessage {
				return 0, errors.New("remotecommand: the error channel holds more than 1 MiB")
			}
			status.Write(msg[1:])
			gotStatus = gotStatus || len(msg) > 1
			continue
		}
		if out != nil && len(msg) > 1 {
			if _, err := out.Write(msg[1:]); err != nil {
				return 0, fmt.Errorf("remotecommand: write the command's output: %w", err)
			}
		}
	}
}

// sendStdin copies stdin to the connection, then half-closes it (v5).
// It is the only writer of data messages.
func sendStdin(conn *websocket.Conn, proto string, stdin io.Reader) {
	buf := make([]byte, chunk+1)
	buf[0] = ChannelStdin
	for {
		n, err := stdin.Read(buf[1:])
		if n > 0 {
			_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if conn.WriteMessage(websocket.BinaryMessage, buf[:1+n]) != nil {
				return
			}
		}
		if err != nil {
			if proto == ProtocolV5 {
				_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
				_ = conn.WriteMessage(websocket.BinaryMessage, []byte{ChannelClose, ChannelStdin})
			}
			return
		}
	}
}

// handshakeError is the error of a refused handshake: the server's
// Status when it sent one, else its status line and body.
func handshakeError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var st api.Status
	if json.Unmarshal(data, &st) == nil && st.Message != "" {
		if st.Code == 0 {
			st.Code = int32(resp.StatusCode)
		}
		return &api.StatusError{Status: st}
	}
	msg := strings.TrimSpace(string(data))
	if msg == "" {
		msg = resp.Status
	}
	return api.NewStatusError(resp.StatusCode, reasonFor(resp.StatusCode), fmt.Sprintf("the server refused the exec (%s): %s", resp.Status, msg))
}

// reasonFor gives the Status reason of an HTTP code, as far as it matters
// here.
func reasonFor(code int) api.StatusReason {
	switch code {
	case http.StatusBadRequest:
		return api.StatusReasonBadRequest
	case http.StatusUnauthorized:
		return api.StatusReasonUnauthorized
	case http.StatusForbidden:
		return api.StatusReasonForbidden
	case http.StatusNotFound:
		return api.StatusReasonNotFound
	case http.StatusServiceUnavailable:
		return api.StatusReasonServiceUnavailable
	}
	return api.StatusReasonInternalError
}

// redacted is u without its query, for error messages.
func redacted(u *url.URL) string {
	v := *u
	v.RawQuery = ""
	return v.Redacted()
}
