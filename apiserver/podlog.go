package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/internal/names"
)

// KubeletConfig says how the API server reaches the node agents (kubelets)
// to serve pods/log. The zero value gives the defaults.
//
// # The node agent's URL contract
//
// For GET .../namespaces/<ns>/pods/<pod>/log the API server reads the pod's
// Node (spec.nodeName), takes its first address of type InternalIP, else
// ExternalIP, else Hostname, and its
// status.daemonEndpoints.kubeletEndpoint.Port (10250 when 0; an address
// that is neither an IP address nor a DNS name is a 503), and sends
//
//	GET <Scheme>://<address>:<port>/containerLogs/<ns>/<pod>/<container>?<options>
//
// through Transport. The options are the validated log options of the
// request other than container, with the Kubernetes names and
// encodings: follow=true, previous=true, timestamps=true, tailLines=<n>,
// sinceSeconds=<n>, sinceTime=<RFC 3339>, limitBytes=<n>; options left
// at their defaults are left out. The node agent answers 200 with the log
// as text/plain, which the API server streams to the client as it comes
// (a follow lasts until either side ends it; the client going away ends
// the request to the node agent); 404 when it has no such container (the
// client gets 404 NotFound); 400 for options it cannot honour, such as
// previous=true for a container that never restarted (the client gets
// 400 BadRequest with the node agent's message). Any other answer is a
// 502 to the client; a node agent that cannot be reached is a 503, one
// that does not answer within ResponseHeaderTimeout a 504. An error body
// is read as a v1 Status when it is one (its message is used), as text
// otherwise.
type KubeletConfig struct {
	// Scheme is "https" (the default) or "http".
	Scheme string
	// Transport sends the requests to the node agents; it carries the TLS
	// configuration (the CA that signed the node agents' certificates, the
	// API server's client certificate). nil means http.DefaultTransport,
	// which verifies the node agents' certificates against the system's
	// roots.
	Transport http.RoundTripper
	// ResponseHeaderTimeout bounds the wait for a node agent's response
	// headers, connecting included; the body of a followed log has no
	// time limit. 0 means DefaultKubeletResponseHeaderTimeout.
	ResponseHeaderTimeout time.Duration
}

// DefaultKubeletPort is the node agent's port when a Node does not give
// one in status.daemonEndpoints.kubeletEndpoint.Port.
const DefaultKubeletPort = 10250

// DefaultKubeletResponseHeaderTimeout is the default
// KubeletConfig.ResponseHeaderTimeout.
const DefaultKubeletResponseHeaderTimeout = 30 * time.Second

// validate reports the first field of c that is wrong.
func (c KubeletConfig) validate() error {
	switch c.Scheme {
	case "", "http", "https":
	default:
		return fmt.Errorf("apiserver: Config.Kubelet.Scheme is %q: must be \"https\", \"http\" or empty (https)", c.Scheme)
	}
	if c.ResponseHeaderTimeout < 0 {
		return fmt.Errorf("apiserver: Config.Kubelet.ResponseHeaderTimeout is %v: must be positive, or 0 for the default (%v)",
			c.ResponseHeaderTimeout, DefaultKubeletResponseHeaderTimeout)
	}
	return nil
}

func (c KubeletConfig) scheme() string {
	if c.Scheme == "" {
		return "https"
	}
	return c.Scheme
}

func (c KubeletConfig) transport() http.RoundTripper {
	if c.Transport == nil {
		return http.DefaultTransport
	}
	return c.Transport
}

func (c KubeletConfig) headerTimeout() time.Duration {
	if c.ResponseHeaderTimeout == 0 {
		return DefaultKubeletResponseHeaderTimeout
	}
	return c.ResponseHeaderTimeout
}

// logOptions are the validated query parameters of a pods/log request.
type logOptions struct {
	container  string
	limitBytes int64      // 0 for no limit
	forward    url.Values // the options for the node agent
}

// logBoolParams and logIntParams are the log options by type, with the
// least value of the integers.
var (
	logBoolParams = []string{"follow", "previous", "timestamps", "insecureSkipTLSVerifyBackend"}
	logIntParams  = []struct {
		name string
		min  int64
	}{{"tailLines", 0}, {"sinceSeconds", 1}, {"limitBytes", 1}}
)

// logParams are every query parameter of pods/log.
var logParams = map[string]bool{
	"container": true, "follow": true, "previous": true, "timestamps": true, "tailLines": true,
	"sinceSeconds": true, "sinceTime": true, "limitBytes": true, "insecureSkipTLSVerifyBackend": true, "pretty": true,
}

// parseLogOptions validates the query of a pods/log request: each
// parameter once, booleans true or false, integers in range, sinceTime in
// RFC 3339, and at most one of sinceSeconds and sinceTime.
// insecureSkipTLSVerifyBackend is accepted and not forwarded: whether the
// node agent's certificate is verified is KubeletConfig.Transport's
// decision.
func parseLogOptions(q url.Values) (logOptions, error) {
	opts := logOptions{forward: url.Values{}}
	for p, vs := range q {
		if len(vs) > 1 {
			return opts, api.NewBadRequest("the log option %q is given %d times: give it at most once", p, len(vs))
		}
	}
	opts.container = first(q, "container")
	for _, p := range logBoolParams {
		v := first(q, p)
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opts, api.NewBadRequest("invalid log option %s=%q: must be true or false", p, v)
		}
		if b && p != "insecureSkipTLSVerifyBackend" {
			opts.forward.Set(p, "true")
		}
	}
	for _, p := range logIntParams {
		v := first(q, p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < p.min {
			return opts, api.NewBadRequest("invalid log option %s=%q: must be an integer greater than or equal to %d", p.name, v, p.min)
		}
		opts.forward.Set(p.name, strconv.FormatInt(n, 10))
		if p.name == "limitBytes" {
			opts.limitBytes = n
		}
	}
	if v := first(q, "sinceTime"); v != "" {
		ts, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return opts, api.NewBadRequest("invalid log option sinceTime=%q: must be an RFC 3339 time such as 2024-05-01T12:00:00Z", v)
		}
		if opts.forward.Has("sinceSeconds") {
			return opts, api.NewBadRequest("the log options sinceSeconds and sinceTime were both given: give at most one")
		}
		opts.forward.Set("sinceTime", ts.UTC().Format(time.RFC3339))
	}
	return opts, nil
}

// pickContainer returns the container of pod whose logs are asked for:
// the one named, or the pod's only container.
func pickContainer(pod *api.Pod, name string) (string, error) {
	var all, inits []string
	for _, c := range pod.Spec.Containers {
		all = append(all, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	choices := fmt.Sprintf("choose one of: [%s]", strings.Join(all, " "))
	if len(inits) > 0 {
		choices += fmt.Sprintf(" or one of the init containers: [%s]", strings.Join(inits, " "))
	}
	if name == "" {
		if len(all) == 1 {
			return all[0], nil
		}
		return "", api.NewBadRequest("a container name must be specified for pod %s (the container query parameter), %s", pod.Name, choices)
	}
	for _, n := range append(all, inits...) {
		if n == name {
			return name, nil
		}
	}
	return "", api.NewBadRequest("container %q is not valid for pod %s: %s", name, pod.Name, choices)
}

// podNodeAgent returns the host and port of the agent of the node pod is
// bound to.
func (s *Server) podNodeAgent(ctx context.Context, pod *api.Pod) (string, error) {
	nodes, ok := s.regs[api.CoreV1.WithResource("nodes")]
	if !ok {
		return "", api.NewServiceUnavailable("the server does not serve nodes: the node agent of a pod cannot be found")
	}
	nobj, err := nodes.Get(ctx, "", pod.Spec.NodeName, registry.GetOptions{})
	if err != nil {
		return "", err
	}
	node, ok := nobj.(*api.Node)
	if !ok {
		return "", api.NewInternalError(fmt.Errorf("node %q decoded as %T", pod.Spec.NodeName, nobj))
	}
	return nodeAgentAddress(node)
}

// nodeAgentAddress returns the host and port of node's agent.
func nodeAgentAddress(node *api.Node) (string, error) {
	host := ""
	for _, typ := range []api.NodeAddressType{api.NodeInternalIP, api.NodeExternalIP, api.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == typ && a.Address != "" {
				host = a.Address
				break
			}
		}
		if host != "" {
			break
		}
	}
	if host == "" {
		return "", api.NewServiceUnavailable(fmt.Sprintf(
			"node %q has no address of type InternalIP, ExternalIP or Hostname in status.addresses: its node agent cannot be reached", node.Name))
	}
	// Node addresses are written by clients and not validated on write:
	// only an IP address or a DNS name may become the host of a URL.
	if ip, err := netip.ParseAddr(host); (err != nil || ip.Zone() != "") && len(names.IsDNS1123Subdomain(strings.ToLower(host))) > 0 {
		return "", api.NewServiceUnavailable(fmt.Sprintf(
			"node %q has the address %q in status.addresses, which is neither an IP address nor a DNS name: its node agent cannot be reached", node.Name, host))
	}
	port := int64(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	switch {
	case port == 0:
		port = DefaultKubeletPort
	case port < 0 || port > 65535:
		return "", api.NewServiceUnavailable(fmt.Sprintf(
			"node %q has the invalid node agent port %d in status.daemonEndpoints.kubeletEndpoint.Port: must be 1 to 65535", node.Name, port))
	}
	return net.JoinHostPort(host, strconv.FormatInt(port, 10)), nil
}

// errNodeAgentTimeout ends a request to a node agent that did not answer
// in time.
var errNodeAgentTimeout = errors.New("apiserver: the node agent did not answer in time")

// servePodLog serves GET .../pods/<name>/log: it validates the options,
// picks the container, and streams the log from the node agent of the
// pod's node (see KubeletConfig for the node agent's URL contract).
func (s *Server) servePodLog(w http.ResponseWriter, r *http.Request, t target) error {
	if !isPod(t) {
		return notServed(t)
	}
	if r.Method != http.MethodGet {
		return methodNotAllowed(r, t, "GET")
	}
	if err := checkParams(r, t, logParams); err != nil {
		return err
	}
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		return err
	}
	obj, err := t.reg.Get(r.Context(), t.namespace, t.name, registry.GetOptions{})
	if err != nil {
		return err
	}
	pod, ok := obj.(*api.Pod)
	if !ok {
		return api.NewInternalError(fmt.Errorf("pod %q decoded as %T", t.name, obj))
	}
	container, err := pickContainer(pod, opts.container)
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		return api.NewBadRequest("pod %s does not have a host assigned", pod.Name)
	}
	hostPort, err := s.podNodeAgent(r.Context(), pod)
	if err != nil {
		return err
	}
	u := url.URL{
		Scheme:   s.cfg.Kubelet.scheme(),
		Host:     hostPort,
		Path:     "/containerLogs/" + t.namespace + "/" + t.name + "/" + container,
		RawQuery: opts.forward.Encode(),
	}
	return s.streamLog(w, r, u, pod.Spec.NodeName, pod, container, opts.limitBytes)
}

// streamLog sends the request to the node agent and copies the answer to
// w, flushing as it comes, until the node agent ends it or the client goes
// away.
func (s *Server) streamLog(w http.ResponseWriter, r *http.Request, u url.URL, node string, pod *api.Pod, container string, limit int64) error {
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return api.NewInternalError(fmt.Errorf("node agent request for node %q: %w", node, err))
	}
	timeout := s.cfg.Kubelet.headerTimeout()
	timer := time.AfterFunc(timeout, func() { cancel(errNodeAgentTimeout) })
	resp, err := s.cfg.Kubelet.transport().RoundTrip(req)
	if !timer.Stop() && err == nil {
		// The timeout fired as the answer came: the body is cut already.
		resp.Body.Close()
		err = errNodeAgentTimeout
	}
	if err != nil {
		switch {
		case errors.Is(context.Cause(ctx), errNodeAgentTimeout) || errors.Is(err, errNodeAgentTimeout):
			return api.NewStatusError(http.StatusGatewayTimeout, api.StatusReasonTimeout, fmt.Sprintf(
				"the node agent of node %q did not answer within %v (GET %s)", node, timeout, u.Redacted()))
		case r.Context().Err() != nil:
			return nil // the client went away: there is no one to answer
		}
		return api.NewServiceUnavailable(fmt.Sprintf("cannot reach the node agent of node %q: %v", node, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nodeAgentError(resp, node, pod, container, "the logs of", "for the logs of")
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// Each write may block for watchWriteTimeout at most: a client that
	// stops reading (a followed log) is let go, and with it the request
	// to the node agent, rather than held for ever.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
	// And the end of the response, which net/http writes after the
	// handler returns, perhaps after the upstream was long idle.
	defer func() { _ = rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout)) }()
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	var body io.Reader = resp.Body
	if limit > 0 {
		body = io.LimitReader(body, limit)
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil // the client went away; cancel ends the request to the node agent
			}
			if ferr := rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
				return nil // as above
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && r.Context().Err() == nil {
				// Too late for a Status: the client sees the stream end.
				s.log.Warn("pod log stream from the node agent failed", "node", node,
					"pod", pod.Namespace+"/"+pod.Name, "container", container, "err", err)
			}
			return nil
		}
	}
}

// maxNodeAgentErrorBytes caps what is read of a node agent's error body.
const maxNodeAgentErrorBytes = 4 << 10

// nodeAgentError turns a node agent's failed answer to a request about a
// container (logs, exec) into the error of the request: 404 and 400 keep
// their meaning, anything else is a 502. what names the request in a
// refusal ("the logs of"), answered after the node agent's status ("for
// the logs of").
func nodeAgentError(resp *http.Response, node string, pod *api.Pod, container, what, answered string) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxNodeAgentErrorBytes))
	msg := strings.TrimSpace(string(data))
	var st api.Status
	if json.Unmarshal(data, &st) == nil && st.Message != "" {
		msg = st.Message
	}
	if msg == "" {
		msg = resp.Status
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		se := api.NewStatusError(http.StatusNotFound, api.StatusReasonNotFound, fmt.Sprintf(
			"container %q of pod %s/%s was not found by the node agent of node %q: %s", container, pod.Namespace, pod.Name, node, msg))
		se.Status.Details = &api.StatusDetails{Name: pod.Name, Kind: "pods"}
		return se
	case http.StatusBadRequest:
		return api.NewBadRequest("the node agent of node %q refused %s container %q of pod %s/%s: %s",
			node, what, container, pod.Namespace, pod.Name, msg)
	}
	return api.NewStatusError(http.StatusBadGateway, api.StatusReasonUnknown, fmt.Sprintf(
		"the node agent of node %q answered %s %s container %q of pod %s/%s: %s",
		node, resp.Status, answered, container, pod.Namespace, pod.Name, msg))
}
