package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/internal/remotecommand"
)

// DefaultContainerAnnotation names the container that exec (and kubectl's
// logs and attach) use when a pod has several and the request names none.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// execParams are every query parameter of pods/exec.
var execParams = map[string]bool{
	"container": true, "command": true, "stdin": true, "stdout": true, "stderr": true, "tty": true, "pretty": true,
}

// servePodExec serves GET and POST .../pods/<name>/exec: a WebSocket
// (the Kubernetes channel protocol, v5.channel.k8s.io or
// v4.channel.k8s.io; internal/remotecommand) proxied to the node agent of
// the pod's node at
//
//	<Scheme>://<address>:<port>/exec/<ns>/<pod>/<container>?command=...&stdin=true&stdout=true&stderr=true
//
// found as for pods/log (KubeletConfig). The container is the one named,
// else the pod's default-container annotation, else its only container.
// The request is checked before the node agent is asked: valid options,
// a pod that is Running on a node, a container of it. A request that is
// not a WebSocket upgrade is still sent on, so that the node agent's own
// refusal (no such container there; a WebSocket is needed) is the one the
// client sees: kubectl retries a refused WebSocket with SPDY and shows
// the answer to that. The node agent's answers other than 101 are turned
// into Status errors; once upgraded, the bytes flow both ways until
// either side closes.
func (s *Server) servePodExec(w http.ResponseWriter, r *http.Request, t target) error {
	if !isPod(t) {
		return notServed(t)
	}
	// Kubernetes authorizes exec as a create on pods/exec, whatever the
	// method.
	setInfo(w, requestInfo{verb: "create", resource: "pods/exec"})
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return methodNotAllowed(r, t, "GET", "POST")
	}
	if err := checkParams(r, t, execParams); err != nil {
		return err
	}
	q := r.URL.Query()
	opts, err := remotecommand.ParseOptions(q)
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
	name := first(q, "container")
	if name == "" {
		name = defaultContainer(pod)
	}
	container, err := pickContainer(pod, name)
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		return api.NewBadRequest("pod %s does not have a host assigned: it is not scheduled yet, and exec needs a running container", pod.Name)
	}
	switch pod.Status.Phase {
	case api.PodRunning:
	case api.PodSucceeded, api.PodFailed:
		return api.NewBadRequest("cannot exec into a container in a completed pod; current phase is %s", pod.Status.Phase)
	default:
		phase := string(pod.Status.Phase)
		if phase == "" {
			phase = "not reported yet"
		}
		return api.NewBadRequest("pod %s is not running (phase %s): exec needs a running container; wait for the pod to be Running", pod.Name, phase)
	}
	hostPort, err := s.podNodeAgent(r.Context(), pod)
	if err != nil {
		return err
	}
	u := &url.URL{
		Scheme:   s.cfg.Kubelet.scheme(),
		Host:     hostPort,
		Path:     "/exec/" + t.namespace + "/" + t.name + "/" + container,
		RawQuery: opts.Query().Encode(),
	}
	s.proxyExec(w, r, u, pod.Spec.NodeName, pod, container)
	return nil
}

// defaultContainer is the container the pod's default-container
// annotation names, if it is one of its containers; "" otherwise.
func defaultContainer(pod *api.Pod) string {
	name := pod.Annotations[DefaultContainerAnnotation]
	for _, c := range pod.Spec.Containers {
		if name != "" && c.Name == name {
			return name
		}
	}
	return ""
}

// proxyExec hands the upgrade to the node agent at u and, once it has
// switched protocols, copies the connection both ways.
func (s *Server) proxyExec(w http.ResponseWriter, r *http.Request, u *url.URL, node string, pod *api.Pod, container string) {
	timeout := s.cfg.Kubelet.headerTimeout()
	next := s.cfg.Kubelet.transport()
	switched := false // the node agent answered 101
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = u
			pr.Out.Host = ""
			pr.Out.Method = http.MethodGet // a WebSocket handshake is a GET
			// The client's credentials are for the API server, not for the
			// node agent: the API server's own are in the Transport.
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Cookie")
		},
		Transport: transportFunc(func(req *http.Request) (*http.Response, error) {
			// Bound the handshake only: the stream that follows has no
			// time limit.
			ctx, cancel := context.WithCancelCause(req.Context())
			timer := time.AfterFunc(timeout, func() { cancel(errNodeAgentTimeout) })
			resp, err := next.RoundTrip(req.WithContext(ctx))
			if !timer.Stop() {
				if err == nil {
					resp.Body.Close()
				}
				return nil, errNodeAgentTimeout
			}
			return resp, err
		}),
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusSwitchingProtocols {
				switched = true
				return nil
			}
			return nodeAgentError(resp, node, pod, container, "the exec in", "to the exec in")
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			if se, ok := errors.AsType[*api.StatusError](err); ok {
				s.writeError(w, se)
				return
			}
			switch {
			case errors.Is(err, errNodeAgentTimeout):
				s.writeError(w, api.NewStatusError(http.StatusGatewayTimeout, api.StatusReasonTimeout, fmt.Sprintf(
					"the node agent of node %q did not answer within %v (GET %s)", node, timeout, redactQuery(u))))
			case r.Context().Err() != nil:
				// The client went away: there is no one to answer.
			case switched:
				// The node agent switched, but the client's connection
				// cannot be taken over (HTTP/2, the in-process transport).
				s.writeError(w, api.NewBadRequest("exec needs an HTTP/1.1 connection that can be taken over for the WebSocket: %v", err))
			default:
				s.writeError(w, api.NewServiceUnavailable(fmt.Sprintf("cannot reach the node agent of node %q: %v", node, err)))
			}
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	p.ServeHTTP(w, r)
}

// transportFunc adapts a function to http.RoundTripper.
type transportFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f transportFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// redactQuery is u without its query (the command may hold secrets).
func redactQuery(u *url.URL) string {
	v := *u
	v.RawQuery = ""
	return v.Redacted()
}
