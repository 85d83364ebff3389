package client_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/internal/remotecommand"
)

// execServer is a fake API server that runs exec requests itself:
// "cat" copies stdin to stdout, "echo" writes its args to stdout and
// "oops" to stderr then exits with 2. It records each request.
type execServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newExecServer(t *testing.T) *execServer {
	s := &execServer{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(context.Background()))
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer secret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","message":"Unauthorized","code":401}`)
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/exec") {
			http.NotFound(w, r)
			return
		}
		opts, err := remotecommand.ParseOptions(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		remotecommand.Serve(w, r, opts, func(ctx context.Context, s remotecommand.Streams) (int, error) {
			switch opts.Command[0] {
			case "cat":
				_, err := io.Copy(s.Stdout, s.Stdin)
				return 0, err
			case "echo":
				fmt.Fprintln(s.Stdout, strings.Join(opts.Command[1:], " "))
				fmt.Fprintln(s.Stderr, "oops")
				return 2, nil
			}
			return 0, fmt.Errorf("%s: command not found", opts.Command[0])
		})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *execServer) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[len(s.reqs)-1]
}

func (s *execServer) client(t *testing.T, token string) *client.Client {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	c, err := client.New(client.Config{Host: s.URL, BearerToken: token, TLS: client.TLSConfig{CAData: ca}, UserAgent: "exec-test"})
	require.NoError(t, err)
	return c
}

func TestExec(t *testing.T) {
	srv := newExecServer(t)
	c := srv.client(t, "secret")
	ctx := t.Context()

	var out, errOut bytes.Buffer
	code, err := c.Exec(ctx, "prod", "web-1", client.ExecOptions{
		Container: "app", Command: []string{"echo", "hello", "world"}, Stdout: &out, Stderr: &errOut,
	})
	require.NoError(t, err)
	require.Equal(t, 2, code)
	require.Equal(t, "hello world\n", out.String())
	require.Equal(t, "oops\n", errOut.String())
	r := srv.last()
	require.Equal(t, "/api/v1/namespaces/prod/pods/web-1/exec", r.URL.Path)
	require.Equal(t, "app", r.URL.Query().Get("container"))
	require.Equal(t, []string{"echo", "hello", "world"}, r.URL.Query()["command"])
	require.Equal(t, "true", r.URL.Query().Get("stderr"))
	require.Empty(t, r.URL.Query().Get("stdin"))
	require.Equal(t, "exec-test", r.Header.Get("User-Agent"))

	out.Reset()
	in := strings.Repeat("0123456789", 10000) + "\n"
	code, err = c.Exec(ctx, "prod", "web-1", client.ExecOptions{Command: []string{"cat"}, Stdin: strings.NewReader(in), Stdout: &out})
	require.NoError(t, err)
	require.Equal(t, 0, code)
	require.Equal(t, in, out.String())
	require.Empty(t, srv.last().URL.Query().Get("container"))
}

func TestExecErrors(t *testing.T) {
	srv := newExecServer(t)
	ctx := t.Context()

	_, err := srv.client(t, "secret").Exec(ctx, "prod", "web-1", client.ExecOptions{Command: []string{"nope"}, Stdout: io.Discard})
	require.ErrorIs(t, err, api.ErrInternal)
	require.Contains(t, err.Error(), "nope: command not found")

	_, err = srv.client(t, "wrong").Exec(ctx, "prod", "web-1", client.ExecOptions{Command: []string{"cat"}, Stdout: io.Discard})
	require.ErrorIs(t, err, api.ErrUnauthorized)

	c := srv.client(t, "secret")
	_, err = c.Exec(ctx, "prod", "web-1", client.ExecOptions{Stdout: io.Discard})
	require.ErrorContains(t, err, "ExecOptions.Command is empty")
	_, err = c.Exec(ctx, "prod", "web-1", client.ExecOptions{Command: []string{"ls"}})
	require.ErrorContains(t, err, "at least one of ExecOptions.Stdin, Stdout and Stderr")
	_, err = c.Exec(ctx, "", "web-1", client.ExecOptions{Command: []string{"ls"}, Stdout: io.Discard})
	require.ErrorContains(t, err, "the namespace is empty")

	// A transport that is not an *http.Transport cannot carry the WebSocket.
	inproc, err := client.New(client.Config{Transport: roundTripperFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("not used")
	})})
	require.NoError(t, err)
	_, err = inproc.Exec(ctx, "prod", "web-1", client.ExecOptions{Command: []string{"ls"}, Stdout: io.Discard})
	require.ErrorIs(t, err, client.ErrExecNeedsNetwork)

	// The end of ctx ends the exec.
	cctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(cctx, "prod", "web-1", client.ExecOptions{Command: []string{"cat"}, Stdin: pr, Stdout: io.Discard})
		done <- err
	}()
	_, _ = pw.Write([]byte("started\n")) // returns once the exec reads stdin: it is connected
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
