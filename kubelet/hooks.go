package kubelet

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/runtime"
)

// runHook runs a postStart or preStop handler of container c (running as
// id) within timeout.
func (k *Kubelet) runHook(ctx context.Context, pod *api.Pod, c *api.Container, id string, sb *runtime.SandboxStatus, h *api.LifecycleHandler, timeout time.Duration) error {
	switch {
	case h.Exec != nil:
		if k.execer == nil {
			return fmt.Errorf("exec hook: the runtime cannot exec: %w", runtime.ErrUnsupported)
		}
		var out bytes.Buffer
		code, err := k.execer.Exec(ctx, id, h.Exec.Command, runtime.ExecOptions{Stdout: &out, Stderr: &out, Timeout: timeout})
		if err != nil {
			return fmt.Errorf("exec %q: %w", h.Exec.Command, err)
		}
		if code != 0 {
			return fmt.Errorf("exec %q: exit code %d: %s", h.Exec.Command, code, bytes.TrimSpace(out.Bytes()))
		}
		return nil
	case h.HTTPGet != nil:
		return k.httpHook(ctx, pod, c, sb, h.HTTPGet, timeout)
	case h.TCPSocket != nil:
		port, err := resolvePort(h.TCPSocket.Port, c)
		if err != nil {
			return err
		}
		t := k.probeTarget(sb)
		host := h.TCPSocket.Host
		if host == "" {
			host = t.Host
		}
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		conn, err := t.Dial(dctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	case h.Sleep != nil:
		d := min(time.Duration(h.Sleep.Seconds)*time.Second, timeout)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-k.clock.After(d):
			return nil
		}
	}
	return errors.New("lifecycle handler: none of exec, httpGet, tcpSocket or sleep is set")
}

func (k *Kubelet) httpHook(ctx context.Context, pod *api.Pod, c *api.Container, sb *runtime.SandboxStatus, g *api.HTTPGetAction, timeout time.Duration) error {
	port, err := resolvePort(g.Port, c)
	if err != nil {
		return err
	}
	t := k.probeTarget(sb)
	host := g.Host
	if host == "" {
		host = t.Host
	}
	scheme := "http"
	if g.Scheme == api.URISchemeHTTPS {
		scheme = "https"
	}
	path := g.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+path, nil)
	if err != nil {
		return err
	}
	for _, h := range g.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	// As probes: the hook checks that the server answers, not who it is,
	// and follows redirects on the same host only (one elsewhere would
	// have the node agent fetch a URL the pod chose, from the node).
	tr := &http.Transport{DialContext: t.Dial, DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // see above
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Host != via[0].URL.Host {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		return nil
	}}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: status %d", path, c.Name, pod.Key(), resp.StatusCode)
	}
	return nil
}

// resolvePort is a hook's or probe's port: a number, or the name of one
// of c's ports.
func resolvePort(p api.IntOrString, c *api.Container) (int, error) {
	if p.Type == api.IntOrStringInt {
		if p.IntVal <= 0 || p.IntVal > 65535 {
			return 0, fmt.Errorf("port %d is not between 1 and 65535", p.IntVal)
		}
		return int(p.IntVal), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil && n > 0 && n <= 65535 {
		return n, nil
	}
	return 0, fmt.Errorf("port %q: container %q has no port of that name", p.StrVal, c.Name)
}

// probeTarget is how probes and hooks reach the pod: inside its network
// namespace at 127.0.0.1, or the node's address for a host-network pod
// or a sandbox without a namespace of its own.
func (k *Kubelet) probeTarget(sb *runtime.SandboxStatus) ProbeTarget {
	var d net.Dialer
	if sb == nil || sb.NetNSPath == "" {
		host := k.nodeIP()
		if host == "" {
			host = "127.0.0.1"
		}
		return ProbeTarget{Host: host, Dial: d.DialContext}
	}
	path := sb.NetNSPath
	return ProbeTarget{Host: "127.0.0.1", Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialInNetNS(ctx, path, network, addr)
	}}
}
