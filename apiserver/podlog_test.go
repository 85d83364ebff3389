package apiserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/store/memstore"
)

// nodeJSON is a Node whose node agent is at addresses and port (0 for the
// default).
func nodeJSON(name string, port int, addresses ...string) string {
	var as []string
	for i := 0; i+1 < len(addresses); i += 2 {
		as = append(as, `{"type":"`+addresses[i]+`","address":"`+addresses[i+1]+`"}`)
	}
	return `{"apiVersion":"v1","kind":"Node","metadata":{"name":"` + name + `"},"status":{"addresses":[` +
		strings.Join(as, ",") + `],"daemonEndpoints":{"kubeletEndpoint":{"Port":` + strconv.Itoa(port) + `}}}}`
}

// boundPodJSON is a pod on node with the named containers.
func boundPodJSON(name, node string, containers ...string) string {
	var cs []string
	for _, c := range containers {
		cs = append(cs, `{"name":"`+c+`","image":"nginx:1.27"}`)
	}
	spec := `"containers":[` + strings.Join(cs, ",") + `]`
	if node != "" {
		spec += `,"nodeName":"` + node + `"`
	}
	return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `"},"spec":{` + spec + `}}`
}

// nodeAgent is a fake node agent: it answers /containerLogs with handle
// and records the requests it got.
type nodeAgent struct {
	srv    *httptest.Server
	mu     sync.Mutex
	urls   []*url.URL
	handle func(w http.ResponseWriter, r *http.Request)
}

func newNodeAgent(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *nodeAgent {
	a := &nodeAgent{handle: handle}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.urls = append(a.urls, r.URL)
		a.mu.Unlock()
		a.handle(w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *nodeAgent) port(t *testing.T) int {
	u, err := url.Parse(a.srv.URL)
	require.NoError(t, err)
	p, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	return p
}

func (a *nodeAgent) last(t *testing.T) *url.URL {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	require.NotEmpty(t, a.urls, "the node agent got no request")
	return a.urls[len(a.urls)-1]
}

// logEnv is an API server whose node n1 runs agent, with pod "web" (one
// container "c") and pod "two" (containers "a" and "b", init container
// "setup") on n1, and pod "pending" on no node.
func logEnv(t *testing.T, agent *nodeAgent, mutate ...func(*apiserver.Config)) *env {
	t.Helper()
	e := newEnv(t, append([]func(*apiserver.Config){func(c *apiserver.Config) { c.Kubelet.Scheme = "http" }}, mutate...)...)
	e.ok(t, http.StatusCreated, "POST", "/api/v1/nodes", nodeJSON("n1", agent.port(t), "InternalIP", "127.0.0.1"))
	e.ok(t, http.StatusCreated, "POST", podsPath, boundPodJSON("web", "n1", "c"))
	two := strings.Replace(boundPodJSON("two", "n1", "a", "b"), `"containers"`, `"initContainers":[{"name":"setup","image":"busybox:1"}],"containers"`, 1)
	e.ok(t, http.StatusCreated, "POST", podsPath, two)
	e.ok(t, http.StatusCreated, "POST", podsPath, boundPodJSON("pending", "", "c"))
	return e
}

func TestPodLog(t *testing.T) {
	agent := newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "log of "+r.URL.Path+"\n")
	})
	e := logEnv(t, agent)
	tests := []struct {
		name, query string
		path        string // the node agent's path
		forwarded   url.Values
	}{
		{"only container", "", "/containerLogs/default/web/c", url.Values{}},
		{"named container", "?container=c", "/containerLogs/default/web/c", url.Values{}},
		{"every option", "?container=c&follow=false&previous=1&timestamps=true&tailLines=10&limitBytes=1000&sinceSeconds=60&pretty=true",
			"/containerLogs/default/web/c", url.Values{"previous": {"true"}, "timestamps": {"true"}, "tailLines": {"10"},
				"limitBytes": {"1000"}, "sinceSeconds": {"60"}}},
		{"sinceTime", "?sinceTime=2024-05-01T14:00:00%2B02:00", "/containerLogs/default/web/c", url.Values{"sinceTime": {"2024-05-01T12:00:00Z"}}},
		{"tailLines 0", "?tailLines=0", "/containerLogs/default/web/c", url.Values{"tailLines": {"0"}}},
		{"insecureSkipTLSVerifyBackend is not forwarded", "?insecureSkipTLSVerifyBackend=true", "/containerLogs/default/web/c", url.Values{}},
		{"one of several", "?container=b", "/containerLogs/default/two/b", url.Values{}},
		{"an init container", "?container=setup", "/containerLogs/default/two/setup", url.Values{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := strings.Split(tc.path, "/")[3]
			req, err := http.NewRequest("GET", e.srv.URL+podsPath+"/"+pod+"/log"+tc.query, nil)
			require.NoError(t, err)
			resp, err := e.srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
			require.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
			require.Equal(t, "log of "+tc.path+"\n", string(data))
			got := agent.last(t)
			require.Equal(t, tc.path, got.Path)
			require.Equal(t, tc.forwarded, got.Query())
		})
	}
}

func TestPodLogErrors(t *testing.T) {
	agent := newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	e := logEnv(t, agent)
	e.ok(t, http.StatusCreated, "POST", "/api/v1/nodes", nodeJSON("no-address", 0))
	e.ok(t, http.StatusCreated, "POST", podsPath, boundPodJSON("homeless", "no-address", "c"))
	e.ok(t, http.StatusCreated, "POST", podsPath, boundPodJSON("orphan", "gone", "c"))
	tests := []struct {
		name, method, path string
		code               int
		reason             api.StatusReason
		message            string // a part of the message
	}{
		{"bad follow", "GET", "web/log?follow=maybe", 400, api.StatusReasonBadRequest, "follow"},
		{"bad previous", "GET", "web/log?previous=2", 400, api.StatusReasonBadRequest, "previous"},
		{"bad timestamps", "GET", "web/log?timestamps=", 200, "", ""},
		{"negative tailLines", "GET", "web/log?tailLines=-1", 400, api.StatusReasonBadRequest, "tailLines"},
		{"tailLines not a number", "GET", "web/log?tailLines=ten", 400, api.StatusReasonBadRequest, "tailLines"},
		{"zero sinceSeconds", "GET", "web/log?sinceSeconds=0", 400, api.StatusReasonBadRequest, "sinceSeconds"},
		{"zero limitBytes", "GET", "web/log?limitBytes=0", 400, api.StatusReasonBadRequest, "limitBytes"},
		{"bad sinceTime", "GET", "web/log?sinceTime=yesterday", 400, api.StatusReasonBadRequest, "sinceTime"},
		{"both since", "GET", "web/log?sinceTime=2024-05-01T12:00:00Z&sinceSeconds=5", 400, api.StatusReasonBadRequest, "at most one"},
		{"repeated option", "GET", "web/log?tailLines=1&tailLines=2", 400, api.StatusReasonBadRequest, "tailLines"},
		{"unknown option", "GET", "web/log?lines=5", 400, api.StatusReasonBadRequest, `"lines"`},
		{"several containers, none named", "GET", "two/log", 400, api.StatusReasonBadRequest, "choose one of: [a b] or one of the init containers: [setup]"},
		{"unknown container", "GET", "web/log?container=side", 400, api.StatusReasonBadRequest, `container "side" is not valid for pod web`},
		{"no node", "GET", "pending/log", 400, api.StatusReasonBadRequest, "pod pending does not have a host assigned"},
		{"missing pod", "GET", "nope/log", 404, api.StatusReasonNotFound, `"nope"`},
		{"missing node", "GET", "orphan/log", 404, api.StatusReasonNotFound, `nodes "gone" not found`},
		{"node without address", "GET", "homeless/log", 503, api.StatusReasonServiceUnavailable, "InternalIP, ExternalIP or Hostname"},
		{"POST", "POST", "web/log", 405, api.StatusReasonMethodNotAllowed, "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.code == http.StatusOK {
				code, data := e.do(t, tc.method, podsPath+"/"+tc.path, "")
				require.Equal(t, tc.code, code, "%s", data)
				return
			}
			st := e.status(t, tc.code, tc.reason, tc.method, podsPath+"/"+tc.path, "")
			require.Contains(t, st.Message, tc.message)
		})
	}
}

func TestPodLogNodeAgentErrors(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(w http.ResponseWriter, r *http.Request)
		code    int
		reason  api.StatusReason
		message string
	}{
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no such container", http.StatusNotFound) },
			404, api.StatusReasonNotFound, `container "c" of pod default/web was not found by the node agent of node "n1": no such container`},
		{"a Status", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"previous terminated container \"c\" not found","code":400}`)
		}, 400, api.StatusReasonBadRequest, `previous terminated container "c" not found`},
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "disk on fire", http.StatusInternalServerError)
		},
			502, "", "disk on fire"},
		{"forbidden", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) },
			502, "", "403 Forbidden"},
		{"redirect is not followed", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) },
			502, "", "302 Found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := logEnv(t, newNodeAgent(t, tc.handle))
			st := e.status(t, tc.code, tc.reason, "GET", podsPath+"/web/log", "")
			require.Contains(t, st.Message, tc.message)
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		agent := newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) {})
		e := logEnv(t, agent)
		agent.srv.Close()
		st := e.status(t, http.StatusServiceUnavailable, api.StatusReasonServiceUnavailable, "GET", podsPath+"/web/log", "")
		require.Contains(t, st.Message, `cannot reach the node agent of node "n1"`)
	})

	t.Run("no answer in time", func(t *testing.T) {
		agent := newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		e := logEnv(t, agent, func(c *apiserver.Config) { c.Kubelet.ResponseHeaderTimeout = 50 * time.Millisecond })
		st := e.status(t, http.StatusGatewayTimeout, api.StatusReasonTimeout, "GET", podsPath+"/web/log", "")
		require.Contains(t, st.Message, "did not answer within 50ms")
	})
}

func TestPodLogLimitBytes(t *testing.T) {
	// A node agent that ignores limitBytes is cut short.
	agent := newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 1000))
	})
	e := logEnv(t, agent)
	code, data := e.do(t, "GET", podsPath+"/web/log?limitBytes=10", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, strings.Repeat("x", 10), string(data))
}

// TestPodLogFollow streams a followed log line by line as the node agent
// writes it, and checks that the client going away ends the node agent's
// request.
func TestPodLogFollow(t *testing.T) {
	next := make(chan struct{})
	ended := make(chan struct{})
	agent := newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(ended)
		rc := http.NewResponseController(w)
		for i := 1; ; i++ {
			if _, err := fmt.Fprintf(w, "line %d\n", i); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	})
	e := logEnv(t, agent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+podsPath+"/web/log?follow=true", nil)
	require.NoError(t, err)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, url.Values{"follow": {"true"}}, agent.last(t).Query())

	lines := bufio.NewReader(resp.Body)
	for i := 1; i <= 3; i++ {
		// Each line arrives before the node agent writes the next one.
		line, err := lines.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("line %d\n", i), line)
		next <- struct{}{}
	}

	cancel()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the node agent's request did not end after the client went away")
	}
}

// roundTripFunc is a fake transport to the node agents.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPodLogNodeAddress checks which address and port of the Node the
// node agent is reached at, through Config.Kubelet.Transport.
func TestPodLogNodeAddress(t *testing.T) {
	tests := []struct {
		name      string
		port      int
		addresses []string
		want      string // the URL up to the path
	}{
		{"InternalIP first", 10255, []string{"Hostname", "node-1", "ExternalIP", "203.0.113.9", "InternalIP", "10.0.0.1"}, "https://10.0.0.1:10255"},
		{"then ExternalIP", 0, []string{"Hostname", "node-1", "InternalDNS", "node-1.internal", "ExternalIP", "203.0.113.9"}, "https://203.0.113.9:10250"},
		{"then Hostname", 0, []string{"InternalDNS", "node-1.internal", "Hostname", "node-1"}, "https://node-1:10250"},
		{"IPv6", 0, []string{"InternalIP", "fd00::1"}, "https://[fd00::1]:10250"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *url.URL
			var mu sync.Mutex
			e := newEnv(t, func(c *apiserver.Config) {
				c.Kubelet.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
					mu.Lock()
					got = r.URL
					mu.Unlock()
					return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{},
						Body: io.NopCloser(strings.NewReader("hello\n")), Request: r}, nil
				})
			})
			e.ok(t, http.StatusCreated, "POST", "/api/v1/nodes", nodeJSON("n1", tc.port, tc.addresses...))
			e.ok(t, http.StatusCreated, "POST", podsPath, boundPodJSON("web", "n1", "c"))
			code, data := e.do(t, "GET", podsPath+"/web/log?container=c", "")
			require.Equal(t, http.StatusOK, code, "%s", data)
			require.Equal(t, "hello\n", string(data))
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, tc.want+"/containerLogs/default/web/c", got.String())
		})
	}
	t.Run("transport error", func(t *testing.T) {
		e := newEnv(t, func(c *apiserver.Config) {
			c.Kubelet.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
			})
		})
		e.ok(t, http.StatusCreated, "POST", "/api/v1/nodes", nodeJSON("n1", 0, "InternalIP", "10.0.0.1"))
		e.ok(t, http.StatusCreated, "POST", podsPath, boundPodJSON("web", "n1", "c"))
		st := e.status(t, http.StatusServiceUnavailable, api.StatusReasonServiceUnavailable, "GET", podsPath+"/web/log", "")
		require.Contains(t, st.Message, "connection refused")
	})
}

func TestKubeletConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		k    apiserver.KubeletConfig
		err  string
	}{
		{"zero", apiserver.KubeletConfig{}, ""},
		{"http", apiserver.KubeletConfig{Scheme: "http"}, ""},
		{"ftp", apiserver.KubeletConfig{Scheme: "ftp"}, "Config.Kubelet.Scheme"},
		{"negative timeout", apiserver.KubeletConfig{ResponseHeaderTimeout: -time.Second}, "Config.Kubelet.ResponseHeaderTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := memstore.New(memstore.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			cfg := apiserver.Config{Store: st, Scheme: api.NewDefaultScheme(), Kubelet: tc.k}
			err = cfg.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
