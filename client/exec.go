package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/internal/remotecommand"
)

// ExecOptions are the options of Exec.
type ExecOptions struct {
	// Container is the container to run the command in. "" means the
	// pod's default container (its kubectl.kubernetes.io/default-container
	// annotation) or its only one.
	Container string
	// Command is the command and its arguments; it is run as is, not by
	// a shell.
	Command []string
	// Stdin, if set, is sent to the command; its end (io.EOF) is the end
	// of the command's standard input.
	Stdin io.Reader
	// Stdout and Stderr, if set, receive the command's output. At least
	// one of Stdin, Stdout and Stderr must be set.
	Stdout, Stderr io.Writer
}

// execKind is the kind of the pods/exec path.
var execKind = api.Kind{
	GroupVersionKind: api.CoreV1.WithKind("Pod"), Resource: "pods", Namespaced: true,
	Subresources: []string{"exec"},
}

// Exec runs a command in a container of the pod namespace/name, as
// kubectl exec does, and returns its exit code once it has ended and all
// its output has been written to opts.Stdout and opts.Stderr. A command
// that ran and exited non-zero is not an error: err is for a command that
// could not be run (a *api.StatusError from the server: no such pod or
// container, the pod not running, the node agent not reachable), a
// connection that broke, or ctx ending. Config.Timeout does not apply:
// the command runs until it ends or ctx does.
//
// Exec speaks the Kubernetes channel protocol over a WebSocket, so it
// needs a network connection to the API server: a client over Config.Host
// (with the TLS configuration and bearer token of the Config). A client
// whose Config.Transport is not an *http.Transport, such as the
// in-process transport of an embedded API server, cannot carry the
// WebSocket and gets an error saying so. Exec does not wait for a Read of
// opts.Stdin in progress when it returns (see remotecommand.Stream).
func (c *Client) Exec(ctx context.Context, namespace, pod string, opts ExecOptions) (int, error) {
	path, err := c.objectPath("create", execKind, namespace, pod, "exec")
	if err != nil {
		return 0, err
	}
	ro := remotecommand.Options{
		Command: opts.Command,
		Stdin:   opts.Stdin != nil,
		Stdout:  opts.Stdout != nil,
		Stderr:  opts.Stderr != nil,
	}
	switch {
	case len(ro.Command) == 0 || ro.Command[0] == "":
		return 0, fmt.Errorf("client: exec in pod %s/%s: ExecOptions.Command is empty: give the command and its arguments", namespace, pod)
	case !ro.Stdin && !ro.Stdout && !ro.Stderr:
		return 0, fmt.Errorf("client: exec in pod %s/%s: set at least one of ExecOptions.Stdin, Stdout and Stderr", namespace, pod)
	}
	tlsConfig, header, err := c.execTransport()
	if err != nil {
		return 0, fmt.Errorf("client: exec in pod %s/%s: %w", namespace, pod, err)
	}
	q := ro.Query()
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	code, err := remotecommand.Stream(ctx, u.String(), header, tlsConfig, remotecommand.Streams{
		Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr,
	})
	if se, ok := errors.AsType[*api.StatusError](err); ok {
		return code, se
	}
	if err != nil && ctx.Err() == nil {
		return code, fmt.Errorf("client: exec in pod %s/%s: %w", namespace, pod, err)
	}
	return code, err
}

// ErrExecNeedsNetwork is the error of Exec on a client whose transport
// cannot carry a WebSocket (the in-process transport).
var ErrExecNeedsNetwork = errors.New("client: exec needs a network connection to the API server (Config.Host with the client's own transport, or an *http.Transport): this client's Config.Transport cannot carry the WebSocket")

// execTransport returns the TLS configuration and the headers (bearer
// token, User-Agent) of the WebSocket of an exec.
func (c *Client) execTransport() (*tls.Config, http.Header, error) {
	ht, ok := c.hc.Transport.(*headerTransport)
	if !ok {
		return nil, nil, ErrExecNeedsNetwork
	}
	t, ok := ht.next.(*http.Transport)
	if !ok {
		return nil, nil, ErrExecNeedsNetwork
	}
	h := http.Header{}
	h.Set("User-Agent", ht.userAgent)
	if ht.token != nil {
		tok, err := ht.token.get()
		if err != nil {
			return nil, nil, err
		}
		h.Set("Authorization", "Bearer "+tok)
	}
	var tc *tls.Config
	if t.TLSClientConfig != nil {
		tc = t.TLSClientConfig.Clone()
		tc.NextProtos = nil // the WebSocket handshake is HTTP/1.1
	}
	return tc, h, nil
}
