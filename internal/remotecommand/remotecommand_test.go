package remotecommand

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/drover-io/drover/api"
)

// commands is a fake node agent's repertoire: what each command does with
// its streams.
var commands = map[string]func(ctx context.Context, args []string, s Streams) (int, error){
	// cat copies stdin to stdout.
	"cat": func(ctx context.Context, _ []string, s Streams) (int, error) {
		_, err := io.Copy(s.Stdout, s.Stdin)
		return 0, err
	},
	// echo writes its arguments to stdout, and "err" to stderr.
	"echo": func(ctx context.Context, args []string, s Streams) (int, error) {
		if s.Stdout != nil {
			fmt.Fprintln(s.Stdout, strings.Join(args, " "))
		}
		if s.Stderr != nil {
			fmt.Fprintln(s.Stderr, "err")
		}
		return 0, nil
	},
	// exit exits with its argument.
	"exit": func(ctx context.Context, args []string, s Streams) (int, error) {
		return strconv.Atoi(args[0])
	},
	// fail cannot be run.
	"fail": func(ctx context.Context, args []string, s Streams) (int, error) {
		return 0, errors.New("container \"app\" is not running")
	},
	// big writes args[0] bytes to stdout.
	"big": func(ctx context.Context, args []string, s Streams) (int, error) {
		n, _ := strconv.Atoi(args[0])
		_, err := s.Stdout.Write(pattern(n))
		return 0, err
	},
	// wait blocks until ctx ends.
	"wait": func(ctx context.Context, args []string, s Streams) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	},
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// server is a fake node agent serving the commands.
type server struct {
	*httptest.Server
	started atomic.Int32 // runs started
	mu      sync.Mutex
	ended   []error // what each run returned, in order
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opts, err := ParseOptions(r.URL.Query())
		if err != nil {
			writeStatus(w, err.(*api.StatusError))
			return
		}
		Serve(w, r, opts, func(ctx context.Context, st Streams) (int, error) {
			s.started.Add(1)
			code, err := commands[opts.Command[0]](ctx, opts.Command[1:], st)
			s.mu.Lock()
			s.ended = append(s.ended, err)
			s.mu.Unlock()
			return code, err
		})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) url(o Options) string { return s.URL + "/exec?" + o.Query().Encode() }

func TestStreamRoundTrip(t *testing.T) {
	srv := newServer(t)
	ctx := t.Context()
	tests := []struct {
		name       string
		opts       Options
		stdin      string
		wantOut    string
		wantErrOut string
		wantCode   int
		wantErr    string
	}{
		{name: "stdin echoed with v5 half-close", opts: Options{Command: []string{"cat"}, Stdin: true, Stdout: true}, stdin: "hello\nworld\n", wantOut: "hello\nworld\n"},
		{name: "empty stdin", opts: Options{Command: []string{"cat"}, Stdin: true, Stdout: true}, stdin: "", wantOut: ""},
		{name: "stdout and stderr", opts: Options{Command: []string{"echo", "a", "b"}, Stdout: true, Stderr: true}, wantOut: "a b\n", wantErrOut: "err\n"},
		{name: "stderr only", opts: Options{Command: []string{"echo", "a"}, Stderr: true}, wantErrOut: "err\n"},
		{name: "exit code", opts: Options{Command: []string{"exit", "3"}, Stdout: true}, wantCode: 3},
		{name: "exit code 255", opts: Options{Command: []string{"exit", "255"}, Stdout: true, Stderr: true}, wantCode: 255},
		{name: "cannot run", opts: Options{Command: []string{"fail"}, Stdout: true}, wantErr: `container "app" is not running`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			st := Streams{Stdout: &out, Stderr: &errOut}
			if tc.opts.Stdin {
				st.Stdin = strings.NewReader(tc.stdin)
			}
			code, err := Stream(ctx, srv.url(tc.opts), nil, nil, st)
			if tc.wantErr != "" {
				var se *api.StatusError
				if !errors.As(err, &se) || se.Status.Message != tc.wantErr || se.Status.Reason != api.StatusReasonInternalError {
					t.Fatalf("Stream: err = %v, want a StatusError %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if code != tc.wantCode || out.String() != tc.wantOut || errOut.String() != tc.wantErrOut {
				t.Errorf("Stream = %d, stdout %q, stderr %q; want %d, %q, %q", code, out.String(), errOut.String(), tc.wantCode, tc.wantOut, tc.wantErrOut)
			}
		})
	}
}

func TestStreamLargeOutputAndInput(t *testing.T) {
	srv := newServer(t)
	const n = 1<<20 + 17
	var out bytes.Buffer
	code, err := Stream(t.Context(), srv.url(Options{Command: []string{"big", strconv.Itoa(n)}, Stdout: true}), nil, nil, Streams{Stdout: &out})
	if err != nil || code != 0 {
		t.Fatalf("Stream = %d, %v", code, err)
	}
	if !bytes.Equal(out.Bytes(), pattern(n)) {
		t.Fatalf("stdout has %d bytes, not the %d written", out.Len(), n)
	}
	out.Reset()
	code, err = Stream(t.Context(), srv.url(Options{Command: []string{"cat"}, Stdin: true, Stdout: true}), nil, nil,
		Streams{Stdin: bytes.NewReader(pattern(n)), Stdout: &out})
	if err != nil || code != 0 {
		t.Fatalf("Stream = %d, %v", code, err)
	}
	if !bytes.Equal(out.Bytes(), pattern(n)) {
		t.Fatalf("cat returned %d bytes of the %d sent", out.Len(), n)
	}
}

// TestStreamInteractive sends stdin piece by piece and sees each echoed
// before the next is sent.
func TestStreamInteractive(t *testing.T) {
	srv := newServer(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := Stream(t.Context(), srv.url(Options{Command: []string{"cat"}, Stdin: true, Stdout: true}), nil, nil, Streams{Stdin: inR, Stdout: outW})
		outW.Close()
		done <- err
	}()
	buf := make([]byte, 64)
	for _, line := range []string{"one\n", "two\n", "three\n"} {
		if _, err := inW.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		n, err := io.ReadFull(outR, buf[:len(line)])
		if err != nil || string(buf[:n]) != line {
			t.Fatalf("echo of %q: %q, %v", line, buf[:n], err)
		}
	}
	inW.Close() // half-close: cat ends
	if rest, _ := io.ReadAll(outR); len(rest) != 0 {
		t.Errorf("more output after the end of stdin: %q", rest)
	}
	if err := <-done; err != nil {
		t.Fatalf("Stream: %v", err)
	}
}

func TestStreamContextEndsTheCommand(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var out lockedBuffer
	go func() {
		_, err := Stream(ctx, srv.url(Options{Command: []string{"wait"}, Stdout: true}), nil, nil, Streams{Stdout: &out})
		done <- err
	}()
	waitFor(t, func() bool { return srv.started.Load() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Stream after cancel: %v, want context.Canceled", err)
	}
	// The command's ctx ended because the client went away.
	waitFor(t, func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.ended) == 1 && errors.Is(srv.ended[0], context.Canceled)
	})
}

func TestServeRefusesNonWebSocket(t *testing.T) {
	srv := newServer(t)
	resp, err := http.Get(srv.url(Options{Command: []string{"echo"}, Stdout: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st api.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(st.Message, "WebSocket client") || !strings.Contains(st.Message, "SPDY is not supported") {
		t.Fatalf("plain GET: %d %q", resp.StatusCode, st.Message)
	}

	// A WebSocket offering no channel protocol.
	_, resp, err = websocket.DefaultDialer.Dial(wsURL(srv.url(Options{Command: []string{"echo"}, Stdout: true})), http.Header{"Sec-Websocket-Protocol": {"v3.channel.k8s.io"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("v3 only: err %v, resp %v", err, resp)
	}
	// Stream reports the refusal as a StatusError.
	_, err = Stream(t.Context(), srv.URL+"/exec?tty=true&command=sh&stdin=1", nil, nil, Streams{})
	var se *api.StatusError
	if !errors.As(err, &se) || se.Status.Code != http.StatusBadRequest || se.Status.Message != "tty is not supported yet" {
		t.Fatalf("tty: %v", err)
	}
}

// TestServeV4 speaks v4 by hand: no half-close; channel 255 is a protocol
// error.
func TestServeV4(t *testing.T) {
	srv := newServer(t)
	d := websocket.Dialer{Subprotocols: []string{ProtocolV4}}
	conn, _, err := d.Dial(wsURL(srv.url(Options{Command: []string{"echo", "hi"}, Stdout: true, Stderr: true})), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.Subprotocol() != ProtocolV4 {
		t.Fatalf("subprotocol %q", conn.Subprotocol())
	}
	got := map[byte]string{}
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Fatalf("read: %v", err)
			}
			break
		}
		got[msg[0]] += string(msg[1:])
	}
	if got[ChannelStdout] != "hi\n" || got[ChannelStderr] != "err\n" || !strings.Contains(got[ChannelError], `"status":"Success"`) {
		t.Fatalf("v4 session: %q", got)
	}
}

// TestServeChannels checks what the server does with the client's other
// channels: resize and unknown channels are ignored; a close message is
// a protocol error on v4, and must name one channel on v5.
func TestServeChannels(t *testing.T) {
	srv := newServer(t)
	dial := func(proto string) *websocket.Conn {
		d := websocket.Dialer{Subprotocols: []string{proto}}
		conn, _, err := d.Dial(wsURL(srv.url(Options{Command: []string{"cat"}, Stdin: true, Stdout: true})), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	send := func(conn *websocket.Conn, msg ...byte) {
		if err := conn.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			t.Fatal(err)
		}
	}
	// readAll reads until the connection ends: the data by channel, and
	// the error that ended it.
	readAll := func(conn *websocket.Conn) (map[byte]string, error) {
		got := map[byte]string{}
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return got, err
			}
			got[msg[0]] += string(msg[1:])
		}
	}

	conn := dial(ProtocolV5)
	send(conn, ChannelResize, '{', '}')
	send(conn, 9, 'x')
	send(conn, ChannelStdin, 'h', 'i')
	send(conn, ChannelClose, ChannelStdin)
	got, err := readAll(conn)
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) || got[ChannelStdout] != "hi" || !strings.Contains(got[ChannelError], "Success") {
		t.Errorf("v5 with resize and channel 9: %q, %v", got, err)
	}

	conn = dial(ProtocolV4)
	send(conn, ChannelStdin, 'h', 'i')
	send(conn, ChannelClose, ChannelStdin)
	if _, err := readAll(conn); !websocket.IsCloseError(err, websocket.CloseProtocolError) {
		t.Errorf("close message on v4: %v, want a protocol error", err)
	}

	conn = dial(ProtocolV5)
	send(conn, ChannelClose, ChannelStdin, ChannelStdout)
	if _, err := readAll(conn); !websocket.IsCloseError(err, websocket.CloseProtocolError) {
		t.Errorf("close message of two channels: %v, want a protocol error", err)
	}
}

// TestStreamV4Server runs the client against a server that speaks only
// v4: output and the exit code come through.
func TestStreamV4Server(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{Subprotocols: []string{ProtocolV4}}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.WriteMessage(websocket.BinaryMessage, append([]byte{ChannelStdout}, "out"...))
		st, _ := json.Marshal(exitStatus([]string{"x"}, 7, nil))
		_ = conn.WriteMessage(websocket.BinaryMessage, append([]byte{ChannelError}, st...))
		_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		_, _, _ = conn.ReadMessage()
	}))
	defer srv.Close()
	var out bytes.Buffer
	code, err := Stream(t.Context(), srv.URL, nil, nil, Streams{Stdout: &out})
	if err != nil || code != 7 || out.String() != "out" {
		t.Fatalf("Stream = %d, %v, %q; want 7, nil, \"out\"", code, err, out.String())
	}
}

func TestStreamConnectionLostBeforeStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{Subprotocols: protocols}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		_ = conn.WriteMessage(websocket.BinaryMessage, append([]byte{ChannelStdout}, "partial"...))
		conn.Close()
	}))
	defer srv.Close()
	_, err := Stream(t.Context(), srv.URL, nil, nil, Streams{Stdout: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "ended before the command's exit status") {
		t.Fatalf("Stream: %v", err)
	}
}

func TestStreamSendsHeader(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		Serve(w, r, Options{Command: []string{"x"}, Stdout: true}, func(context.Context, Streams) (int, error) { return 0, nil })
	}))
	defer srv.Close()
	if _, err := Stream(t.Context(), srv.URL, http.Header{"Authorization": {"Bearer t"}}, nil, Streams{}); err != nil {
		t.Fatal(err)
	}
	if got != "Bearer t" {
		t.Fatalf("Authorization %q", got)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		query   string
		want    Options
		wantErr string
	}{
		{query: "command=ls&command=-l&stdout=true&stderr=1", want: Options{Command: []string{"ls", "-l"}, Stdout: true, Stderr: true}},
		{query: "command=sh&stdin=true&stdout=false&container=app", want: Options{Command: []string{"sh"}, Stdin: true}},
		{query: "stdout=true", wantErr: "you must specify at least one command"},
		{query: "command=sh&stdout=true&tty=true", wantErr: "tty is not supported yet"},
		{query: "command=sh", wantErr: "at least 1 of stdin, stdout, stderr"},
		{query: "command=sh&stdout=yes", wantErr: `invalid exec option stdout="yes"`},
		{query: "command=sh&stdout=true&stdout=false", wantErr: `"stdout" is given 2 times`},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		got, err := ParseOptions(q)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, api.ErrBadRequest) {
				t.Errorf("ParseOptions(%s): err %v, want a BadRequest with %q", tc.query, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseOptions(%s) = %+v, %v; want %+v", tc.query, got, err, tc.want)
		}
		if back, err := ParseOptions(got.Query()); err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("ParseOptions(Query()) = %+v, %v; want %+v", back, err, got)
		}
	}
}

func TestExitStatusRoundTrip(t *testing.T) {
	for _, code := range []int{0, 1, 2, 126, 137, 255} {
		data, _ := json.Marshal(exitStatus([]string{"sh", "-c", "x"}, code, nil))
		got, err := decodeExitStatus(data)
		if err != nil || got != code {
			t.Errorf("exit %d: decoded %d, %v (%s)", code, got, err, data)
		}
	}
	for _, bad := range []string{
		`{`, `{"status":"Maybe"}`,
		`{"status":"Failure","reason":"NonZeroExitCode"}`,
		`{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"x"}]}}`,
		`{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"Other","message":"2"}]}}`,
	} {
		if _, err := decodeExitStatus([]byte(bad)); err == nil {
			t.Errorf("decodeExitStatus(%s) succeeded", bad)
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add([]byte{0, 'a'}, true)
	f.Add([]byte{255, 0}, true)
	f.Add([]byte{255, 0}, false)
	f.Add([]byte{255}, true)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, msg []byte, v5 bool) {
		proto := ProtocolV4
		if v5 {
			proto = ProtocolV5
		}
		fr, err := parseFrame(msg, proto)
		if err != nil {
			return
		}
		if fr.channel != msg[0] || !bytes.Equal(fr.data, msg[1:]) {
			t.Fatalf("parseFrame(%v) = %+v", msg, fr)
		}
		if fr.channel == ChannelClose && (!v5 || len(fr.data) != 1) {
			t.Fatalf("close frame %v accepted on %s", msg, proto)
		}
	})
}

func FuzzDecodeExitStatus(f *testing.F) {
	for _, code := range []int{0, 3} {
		data, _ := json.Marshal(exitStatus([]string{"x"}, code, nil))
		f.Add(data)
	}
	data, _ := json.Marshal(exitStatus([]string{"x"}, 0, errors.New("boom")))
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		code, err := decodeExitStatus(data)
		if err != nil && code != 0 {
			t.Fatalf("decodeExitStatus(%q) = %d with error %v", data, code, err)
		}
	})
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wsURL(u string) string { return "ws" + strings.TrimPrefix(u, "http") }

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
