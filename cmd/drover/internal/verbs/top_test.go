package verbs

import (
	"encoding/json"
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
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
)

// fakeSummaryAgent is a node agent answering GET /stats/summary over TLS
// for node n1: the node uses 250m and 512Mi, pod default/web has
// containers app (100m, 64Mi) and sidecar (5m, 16Mi), pod
// kube-system/dns has dns (20m, 32Mi). Each answer's samples are 10s
// after the previous one.
type fakeSummaryAgent struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   int
}

func newFakeSummaryAgent(t *testing.T) *fakeSummaryAgent {
	a := &fakeSummaryAgent{}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		n := a.n
		a.n++
		a.mu.Unlock()
		at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * 10 * time.Second).Format(time.RFC3339)
		ctr := func(name string, nanoCores, ws uint64) string {
			return fmt.Sprintf(`{"name":%q,"cpu":{"time":%q,"usageNanoCores":%d},"memory":{"time":%q,"workingSetBytes":%d}}`, name, at, nanoCores, at, ws)
		}
		fmt.Fprintf(w, `{"node":{"nodeName":"n1","cpu":{"time":%q,"usageNanoCores":250000000},"memory":{"time":%q,"workingSetBytes":%d}},"pods":[`+
			`{"podRef":{"namespace":"default","name":"web"},"containers":[%s,%s]},`+
			`{"podRef":{"namespace":"kube-system","name":"dns"},"containers":[%s]}]}`,
			at, at, 512<<20, ctr("app", 100e6, 64<<20), ctr("sidecar", 5e6, 16<<20), ctr("dns", 20e6, 32<<20))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// newTopCLI has node n1 run by a summary agent (allocatable 2 CPUs and
// 4Gi), node n2 with no agent address, pods default/web and
// kube-system/dns on n1, and pod idle/sleeper on n2.
func newTopCLI(t *testing.T) *cli {
	agent := newFakeSummaryAgent(t)
	c := newCLI(t, controllertest.WithNamespaces("default", "kube-system", "idle", "empty"),
		controllertest.WithServerConfig(func(cfg *apiserver.Config) {
			cfg.Kubelet.Transport = agent.srv.Client().Transport
			cfg.Kubelet.ResponseHeaderTimeout = 500 * time.Millisecond
		}))
	ctx := controllertest.Context(t)
	u, _ := url.Parse(agent.srv.URL)
	port, _ := strconv.Atoi(u.Port())
	for _, name := range []string{"n1", "n2"} {
		node := &api.Node{ObjectMeta: api.ObjectMeta{Name: name, Labels: map[string]string{"name": name}}}
		if err := c.env.Client.Create(ctx, node); err != nil {
			t.Fatal(err)
		}
		node.Status.Allocatable = api.ResourceList{api.ResourceCPU: resource.MustParse("2"), api.ResourceMemory: resource.MustParse("4Gi")}
		if name == "n1" {
			node.Status.Addresses = []api.NodeAddress{{Type: "InternalIP", Address: "127.0.0.1"}}
			node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
		}
		if err := c.env.Client.UpdateStatus(ctx, node); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct{ ns, name, node string }{{"default", "web", "n1"}, {"kube-system", "dns", "n1"}, {"idle", "sleeper", "n2"}} {
		pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: p.ns, Name: p.name, Labels: map[string]string{"app": p.name}},
			Spec: api.PodSpec{NodeName: p.node, Containers: []api.Container{{Name: "app", Image: "busybox"}}}}
		if err := c.env.Client.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestTopNodes(t *testing.T) {
	c := newTopCLI(t)
	wantOut(t, c.must("top", "nodes"), ""+
		"NAME      CPU(cores)   CPU%        MEMORY(bytes)   MEMORY%\n"+
		"n1        250m         12%         512Mi           12%\n"+
		"n2        <unknown>    <unknown>   <unknown>       <unknown>\n")
	wantOut(t, c.must("top", "node", "n1", "--no-headers"), ""+
		"n1        250m      12%       512Mi     12%\n")
	wantOut(t, c.must("top", "no", "-l", "name=n1"), ""+
		"NAME      CPU(cores)   CPU%      MEMORY(bytes)   MEMORY%\n"+
		"n1        250m         12%       512Mi           12%\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"top", "node", "n2"}, "metrics not available yet"},
		{[]string{"top", "nodes", "-l", "name=n2"}, "metrics not available yet"},
		{[]string{"top", "node", "nope"}, `nodes "nope" not found`},
		{[]string{"top", "nodes", "--sort-by", "disk"}, `--sort-by "disk": use cpu or memory`},
		{[]string{"top", "node", "n1", "-l", "a=b"}, "not both"},
	} {
		r := c.run(tc.args...)
		if r.e == nil || !strings.Contains(r.e.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.e, tc.want)
		}
	}
}

func TestTopPods(t *testing.T) {
	c := newTopCLI(t)
	wantOut(t, c.must("top", "pods"), ""+
		"NAME      CPU(cores)   MEMORY(bytes)\n"+
		"web       105m         80Mi\n")
	wantOut(t, c.must("top", "pods", "-A", "--sort-by=memory"), ""+
		"NAMESPACE     NAME      CPU(cores)   MEMORY(bytes)\n"+
		"default       web       105m         80Mi\n"+
		"kube-system   dns       20m          32Mi\n")
	wantOut(t, c.must("top", "pods", "-A", "--sort-by", "cpu", "--no-headers"), ""+
		"default       web       105m      80Mi\n"+
		"kube-system   dns       20m       32Mi\n")
	wantOut(t, c.must("top", "pod", "web", "--containers"), ""+
		"POD       NAME      CPU(cores)   MEMORY(bytes)\n"+
		"web       app       100m         64Mi\n"+
		"web       sidecar   5m           16Mi\n")
	wantOut(t, c.must("top", "po", "-n", "kube-system", "-l", "app=dns"), ""+
		"NAME      CPU(cores)   MEMORY(bytes)\n"+
		"dns       20m          32Mi\n")

	r := c.run("top", "pods", "-n", "empty")
	if r.e != nil || r.err != "No resources found in empty namespace.\n" {
		t.Errorf("top pods -n empty: %v, stderr %q", r.e, r.err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"top", "pods", "-n", "idle"}, "metrics not available yet"},
		{[]string{"top", "pod", "sleeper", "-n", "idle"}, "metrics not available yet"},
		{[]string{"top", "pod", "nope"}, `pods "nope" not found`},
		{[]string{"top", "pod", "web", "-A"}, "rather than -A"},
	} {
		r := c.run(tc.args...)
		if r.e == nil || !strings.Contains(r.e.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.e, tc.want)
		}
	}
}

// A node listed in the metrics but not among the nodes has no
// allocatable to divide by.
func TestPrintNodeMetricsUnknownAllocatable(t *testing.T) {
	var b strings.Builder
	var m client.NodeMetrics
	if err := json.Unmarshal([]byte(`{"metadata":{"name":"x"},"window":"10s","usage":{"cpu":"1500m","memory":"3Gi"}}`), &m); err != nil {
		t.Fatal(err)
	}
	printNodeMetrics(&b, []client.NodeMetrics{m}, nil, "", true)
	wantOut(t, b.String(), "x         1500m     <unknown>   3072Mi    <unknown>\n")
}
