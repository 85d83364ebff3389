package verbs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/controller/controllertest"
)

// fakeAgent answers the API server's pods/log requests as a node agent
// would, at /containerLogs/<ns>/<pod>/<container>.
type fakeAgent struct {
	srv  *httptest.Server
	mu   sync.Mutex
	urls []*url.URL
}

func newFakeAgent(t *testing.T) *fakeAgent {
	a := &fakeAgent{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.urls = append(a.urls, r.URL)
		a.mu.Unlock()
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
		if len(parts) != 3 || parts[2] == "missing" {
			http.Error(w, "no such container", http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, "hello from %s/%s\n", parts[1], parts[2])
		if r.URL.Query().Get("follow") == "true" {
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAgent) last() *url.URL {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.urls) == 0 {
		return nil
	}
	return a.urls[len(a.urls)-1]
}

// newLogCLI has node n1 run by agent, with pod web (container app) and
// pod two (containers a and b) bound to it.
func newLogCLI(t *testing.T) (*cli, *fakeAgent) {
	agent := newFakeAgent(t)
	c := newCLI(t, controllertest.WithServerConfig(func(cfg *apiserver.Config) { cfg.Kubelet.Scheme = "http" }))
	ctx := controllertest.Context(t)
	u, _ := url.Parse(agent.srv.URL)
	port, _ := strconv.Atoi(u.Port())
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}
	if err := c.env.Client.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []api.NodeAddress{{Type: "InternalIP", Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if err := c.env.Client.UpdateStatus(ctx, node); err != nil {
		t.Fatal(err)
	}
	for name, cs := range map[string][]string{"web": {"app"}, "two": {"a", "b"}} {
		pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name}, Spec: api.PodSpec{NodeName: "n1"}}
		for _, cn := range cs {
			pod.Spec.Containers = append(pod.Spec.Containers, api.Container{Name: cn, Image: "busybox"})
		}
		if err := c.env.Client.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	return c, agent
}

func TestLogs(t *testing.T) {
	c, agent := newLogCLI(t)
	wantOut(t, c.must("logs", "web"), "hello from web/app\n")
	wantOut(t, c.must("logs", "pod/two", "-c", "b", "--tail=5", "--timestamps", "--previous"), "hello from two/b\n")
	q := agent.last().Query()
	if q.Get("tailLines") != "5" || q.Get("timestamps") != "true" || q.Get("previous") != "true" {
		t.Errorf("the node agent got %s", agent.last())
	}
	wantOut(t, c.must("logs", "two", "a"), "hello from two/a\n")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logs", "two"}, "a container name must be specified for pod two, choose one of: [a b]"},
		{[]string{"logs", "nope"}, `pods "nope" not found`},
		{[]string{"logs", "deploy/web"}, "logs reads pods"},
		{[]string{"logs", "web", "-c", "missing"}, `container "missing" is not valid for pod web`},
	} {
		r := c.run(tc.args...)
		if r.e == nil || !strings.Contains(r.e.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.e, tc.want)
		}
	}
}

func TestLogsFollow(t *testing.T) {
	c, agent := newLogCLI(t)
	ctx, cancel := context.WithCancel(controllertest.Context(t))
	defer cancel()
	out, wait := c.start(ctx, "logs", "-f", "web")
	controllertest.Eventually(t, func() bool { return out.String() == "hello from web/app\n" })
	if agent.last().Query().Get("follow") != "true" {
		t.Errorf("the node agent got %s", agent.last())
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("logs -f ended with %v", err)
		}
	case <-time.After(controllertest.Timeout):
		t.Fatal("logs -f did not end with its context")
	}
}
