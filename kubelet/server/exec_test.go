package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/internal/remotecommand"
	"github.com/drover-io/drover/kubelet/server"
	"github.com/drover-io/drover/runtime"
)

// exec runs command in ns/pod/container over the WebSocket protocol.
func (e *env) exec(path string, opts remotecommand.Options, stdin io.Reader) (code int, stdout, stderr string, err error) {
	pool := x509.NewCertPool()
	pool.AddCert(e.srv.Certificate().Leaf)
	var out, errb bytes.Buffer
	s := remotecommand.Streams{Stdin: stdin}
	if opts.Stdout {
		s.Stdout = &out
	}
	if opts.Stderr {
		s.Stderr = &errb
	}
	code, err = remotecommand.Stream(controllertest.Context(e.t), e.ts.URL+path+"?"+opts.Query().Encode(), nil,
		&tls.Config{RootCAs: pool}, s)
	return code, out.String(), errb.String(), err
}

func TestExec(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox("default", "web", "u1", 0)
	e.container(sb, "default", "web", "u1", "app", 0, "exit 1")
	e.container(sb, "default", "web", "u1", "app", 1, "sleep infinity")

	code, out, errOut, err := e.exec("/exec/default/web/app", remotecommand.Options{
		Command: []string{"sh", "-c", "echo to stdout; echo to stderr >&2; exit 3"}, Stdout: true, Stderr: true,
	}, nil)
	require.NoError(t, err)
	require.Equal(t, 3, code)
	require.Equal(t, "to stdout\n", out)
	require.Equal(t, "to stderr\n", errOut)

	code, out, _, err = e.exec("/exec/default/web/app", remotecommand.Options{Command: []string{"pwd"}, Stdout: true}, nil)
	require.NoError(t, err)
	require.Equal(t, 0, code)
	require.Equal(t, "/\n", out)
}

func TestExecErrors(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox("default", "web", "u1", 0)
	e.container(sb, "default", "web", "u1", "app", 0, "sleep infinity")
	e.container(sb, "default", "web", "u1", "job", 0, "exit 0")
	stdout := remotecommand.Options{Command: []string{"true"}, Stdout: true}
	for _, tc := range []struct {
		path   string
		opts   remotecommand.Options
		reason error
		msg    string
	}{
		{"/exec/default/nope/app", stdout, api.ErrNotFound, "pod default/nope is not found on this node"},
		{"/exec/default/web/sidecar", stdout, api.ErrNotFound, `container "sidecar" in pod default/web is not found`},
		{"/exec/default/web/job", stdout, api.ErrBadRequest, `container "job" in pod "web" is not running`},
		{"/exec/default/web/app", remotecommand.Options{Command: []string{"true"}}, api.ErrBadRequest, "at least 1 of stdin, stdout, stderr"},
	} {
		_, _, _, err := e.exec(tc.path, tc.opts, nil)
		require.ErrorIs(t, err, tc.reason, tc.path)
		require.ErrorContains(t, err, tc.msg, tc.path)
	}

	// Not a WebSocket: a Status saying what is needed.
	resp, err := e.client().Post(e.ts.URL+"/exec/default/web/app?command=true&stdout=true", "", nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(body), "WebSocket")
}

// echoExecer copies stdin to stdout, as cat would.
type echoExecer struct{}

func (echoExecer) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	_, err := io.Copy(opts.Stdout, opts.Stdin)
	return 0, err
}

func TestExecStdin(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Execer = echoExecer{} })
	sb := e.sandbox("default", "web", "u1", 0)
	e.container(sb, "default", "web", "u1", "app", 0, "sleep infinity")
	code, out, _, err := e.exec("/exec/default/web/app", remotecommand.Options{Command: []string{"cat"}, Stdin: true, Stdout: true},
		strings.NewReader("hello\nworld\n"))
	require.NoError(t, err)
	require.Equal(t, 0, code)
	require.Equal(t, "hello\nworld\n", out)
}
