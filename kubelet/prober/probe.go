package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/runtime"
)

// maxOutput caps what a probe keeps of a command's output or a response
// body (10 KiB, as Kubernetes).
const maxOutput = 10 << 10

// maxRedirects is how many redirects to the same host an httpGet probe
// follows.
const maxRedirects = 10

// errTimedOut is the cause of a network probe's context when its
// timeoutSeconds pass.
var errTimedOut = errors.New("timed out")

// userAgent is the User-Agent of httpGet probes: "drover-probe/<version>".
var userAgent = sync.OnceValue(func() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok {
		const mod = "github.com/drover-io/drover"
		if bi.Main.Path == mod && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == mod && d.Version != "" {
				v = d.Version
			}
		}
	}
	return "drover-probe/" + strings.TrimPrefix(v, "v")
})

// probe runs w's probe once and returns its result and what it said.
func (m *Manager) probe(w *worker) (Result, string) {
	c, p := w.c, w.probe
	switch {
	case p.Exec != nil:
		return m.execProbe(c.id, p.Exec.Command, w.timeout)
	case p.HTTPGet != nil:
		ctx, cancel := m.timeoutContext(w.timeout)
		defer cancel()
		return httpProbe(ctx, c, p.HTTPGet, w.timeout)
	case p.TCPSocket != nil:
		ctx, cancel := m.timeoutContext(w.timeout)
		defer cancel()
		return tcpProbe(ctx, c, p.TCPSocket, w.timeout)
	}
	return Failure, fmt.Sprintf("%s probe of container %q has no handler: set exec, httpGet or tcpSocket", w.kind, c.spec.Name)
}

// timeoutContext returns a context that ends, with cause errTimedOut,
// when d has passed on the Manager's clock (so tests move it).
func (m *Manager) timeoutContext(d time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(m.ctx)
	stop := m.clock.AfterFunc(d, func() { cancel(errTimedOut) })
	return ctx, func() { stop(); cancel(nil) }
}

// execProbe runs cmd in the container: exit status 0 is success. The
// driver kills the command when timeout passes; the context ends then
// too, for a driver that would not.
func (m *Manager) execProbe(id string, cmd []string, timeout time.Duration) (Result, string) {
	if m.cfg.Execer == nil {
		return Failure, errNoExecer.Error()
	}
	if len(cmd) == 0 {
		return Failure, "exec probe has no command"
	}
	ctx, cancel := m.timeoutContext(timeout)
	defer cancel()
	var out cappedBuffer
	code, err := m.cfg.Execer.Exec(ctx, id, cmd, runtime.ExecOptions{Stdout: &out, Stderr: &out, Timeout: timeout})
	switch {
	case errors.Is(err, runtime.ErrTimeout), err != nil && errors.Is(context.Cause(ctx), errTimedOut):
		return Failure, fmt.Sprintf("command timed out after %s: %s", timeout, out.String())
	case errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrNotFound), m.ctx.Err() != nil:
		// The container is gone or going, or the Manager stopped: the
		// node agent sees that by itself; this says nothing of health.
		return Unknown, fmt.Sprintf("exec probe: %v", err)
	case err != nil:
		return Failure, fmt.Sprintf("exec probe: %v", err)
	case code != 0:
		return Failure, fmt.Sprintf("command %q exited with %d: %s", strings.Join(cmd, " "), code, out.String())
	}
	return Success, out.String()
}

// resolvePort returns the port a probe names: a number, or the name of
// one of the container's ports.
func resolvePort(c *container, port api.IntOrString) (int, error) {
	if port.Type == api.IntOrStringString {
		if n, err := strconv.Atoi(port.StrVal); err == nil {
			return checkPort(n)
		}
		for _, p := range c.spec.Ports {
			if p.Name == port.StrVal {
				return checkPort(int(p.ContainerPort))
			}
		}
		return 0, fmt.Errorf("port %q is not the name of a port of container %q", port.StrVal, c.spec.Name)
	}
	return checkPort(int(port.IntVal))
}

func checkPort(n int) (int, error) {
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d is not valid: must be 1 to 65535", n)
	}
	return n, nil
}

// address returns the "host:port" a network probe connects to.
func address(c *container, host string, port api.IntOrString) (string, error) {
	n, err := resolvePort(c, port)
	if err != nil {
		return "", err
	}
	if host == "" {
		host = c.target.Host
	}
	if host == "" {
		return "", fmt.Errorf("no host: the probe names none and the pod has no IP yet")
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

func dialer(c *container) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.target.Dial != nil {
		return c.target.Dial
	}
	return (&net.Dialer{}).DialContext
}

// timeoutMessage says why a network probe failed, naming a timeout as
// one.
func timeoutMessage(ctx context.Context, err error, timeout time.Duration) string {
	if errors.Is(context.Cause(ctx), errTimedOut) {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	return err.Error()
}

// tcpProbe connects to the probe's port: connecting is success.
func tcpProbe(ctx context.Context, c *container, a *api.TCPSocketAction, timeout time.Duration) (Result, string) {
	addr, err := address(c, a.Host, a.Port)
	if err != nil {
		return Failure, "tcp probe: " + err.Error()
	}
	conn, err := dialer(c)(ctx, "tcp", addr)
	if err != nil {
		return Failure, fmt.Sprintf("tcp probe: dial %s: %s", addr, timeoutMessage(ctx, err, timeout))
	}
	conn.Close()
	return Success, ""
}

// httpProbe makes the probe's GET: a status from 200 to 399 is success.
func httpProbe(ctx context.Context, c *container, a *api.HTTPGetAction, timeout time.Duration) (Result, string) {
	addr, err := address(c, a.Host, a.Port)
	if err != nil {
		return Failure, "http probe: " + err.Error()
	}
	scheme := "http"
	switch a.Scheme {
	case "", api.URISchemeHTTP:
	case api.URISchemeHTTPS:
		scheme = "https"
	default:
		return Failure, fmt.Sprintf("http probe: scheme %q is not valid: must be HTTP or HTTPS", a.Scheme)
	}
	path := a.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(scheme + "://" + addr + path)
	if err != nil {
		return Failure, fmt.Sprintf("http probe: path %q: %v", a.Path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Failure, "http probe: " + err.Error()
	}
	for _, h := range a.HTTPHeaders {
		if http.CanonicalHeaderKey(h.Name) == "Host" {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", userAgent())
	}
	if _, ok := req.Header["Accept"]; !ok {
		req.Header.Set("Accept", "*/*")
	}

	var offHost string // the other host a redirect pointed to
	client := &http.Client{
		Transport: &http.Transport{
			DialContext: dialer(c),
			// As Kubernetes: a probe checks that the server answers, not
			// who it is.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if r.URL.Host != via[0].URL.Host {
				offHost = r.URL.Host
				return http.ErrUseLastResponse
			}
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return Failure, fmt.Sprintf("http probe: GET %s: %s", u, timeoutMessage(ctx, err, timeout))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	if err != nil {
		return Failure, fmt.Sprintf("http probe: GET %s: read body: %s", u, timeoutMessage(ctx, err, timeout))
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return Failure, fmt.Sprintf("http probe: GET %s: status %d: %s", u, resp.StatusCode, body)
	}
	if offHost != "" {
		// As Kubernetes: a redirect to another host is not followed, and
		// counts as success, with a warning.
		return Success, fmt.Sprintf("warning: GET %s redirected to another host (%s), not followed; status %d", u, offHost, resp.StatusCode)
	}
	return Success, string(body)
}

// cappedBuffer keeps the first maxOutput bytes written to it and drops
// the rest, without failing the writer. It is safe for concurrent use
// (a command's stdout and stderr).
type cappedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxOutput - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
