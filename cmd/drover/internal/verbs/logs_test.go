package verbs

import (
	"context"
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
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler"
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

// TestExplainAttemptGroups checks how explain shows an attempt over 5,000
// nodes: one line per group of Filter verdicts with at most
// explainMaxNodes names unless --nodes, and the scores table.
func TestExplainAttemptGroups(t *testing.T) {
	now := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	x := &scheduler.Explanation{Namespace: "default", Name: "big", Time: now.Add(-5 * time.Second), Attempts: 3,
		Result: "Unschedulable", Message: "0/5000 nodes are available: 3000 Insufficient cpu, 2000 node(s) had untolerated taint {dedicated: db}.",
		Nodes: 5000, Evaluated: 5000}
	for i := range 5000 {
		v := scheduler.FilterVerdict{Node: fmt.Sprintf("node-%04d", i), Code: "Unschedulable", Plugin: "NodeResourcesFit", Reasons: []string{"Insufficient cpu"}}
		if i >= 3000 {
			v.Code, v.Plugin, v.Reasons = "UnschedulableAndUnresolvable", "TaintToleration", []string{"node(s) had untolerated taint {dedicated: db}"}
		}
		x.Filter = append(x.Filter, v)
	}
	var b strings.Builder
	explainAttempt(&b, x, false, now)
	out := b.String()
	for _, want := range []string{
		"Last scheduling attempt:\n",
		"  Time:     2026-11-21T14:59:55Z (5s ago), attempt 3\n",
		"  Result:   Unschedulable\n",
		"  Message:  0/5000 nodes are available: 3000 Insufficient cpu",
		"  Nodes:    5000 in the cluster, 5000 evaluated, 0 feasible\n",
		"Filter verdicts, by plugin and reason:\n" +
			"  3000 nodes: NodeResourcesFit: Insufficient cpu\n" +
			"    node-0000, node-0001, node-0002, ",
		"node-0019, and 2980 more (--nodes lists them)\n" +
			"  2000 nodes: TaintToleration: node(s) had untolerated taint {dedicated: db} (preemption cannot help)\n" +
			"    node-3000, ",
		"node-3019, and 1980 more (--nodes lists them)\n",
		"Scores of the best nodes:\n  <none>: no node passed Filter\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain has no %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n > 20 {
		t.Errorf("explain of 5000 nodes writes %d lines, want a few:\n%s", n, out)
	}
	if strings.Contains(out, "node-0020") {
		t.Errorf("explain lists more than %d nodes of a group without --nodes", explainMaxNodes)
	}

	b.Reset()
	explainAttempt(&b, x, true, now)
	out = b.String()
	for _, n := range []string{"node-0000", "node-2999", "node-3000", "node-4999"} {
		if !strings.Contains(out, n) {
			t.Errorf("explain --nodes does not list %s", n)
		}
	}
	if strings.Contains(out, "more (--nodes") {
		t.Errorf("explain --nodes still cuts a group short")
	}

	// A scheduled pod: the passed nodes last, and the scores.
	x = &scheduler.Explanation{Namespace: "default", Name: "web", Time: now, Attempts: 1, Result: "Scheduled", Node: "n2",
		Nodes: 4, Evaluated: 4, Feasible: 3,
		Filter: []scheduler.FilterVerdict{
			{Node: "n3", Code: "Success"}, {Node: "n1", Code: "Success"}, {Node: "n2", Code: "Success"},
			{Node: "n4", Code: "UnschedulableAndUnresolvable", Plugin: "NodeAffinity", Reasons: []string{"node(s) didn't match Pod's node affinity/selector"}},
		},
		Scores: []scheduler.ExplainedScore{
			{Node: "n2", Total: 180, Plugins: []scheduler.PluginScore{{Plugin: "NodeResourcesFit", Score: 80, Weight: 1}, {Plugin: "TaintToleration", Score: 50, Weight: 2}}},
			{Node: "n1", Total: 170, Plugins: []scheduler.PluginScore{{Plugin: "NodeResourcesFit", Score: 70, Weight: 1}, {Plugin: "TaintToleration", Score: 50, Weight: 2}}},
		}}
	b.Reset()
	explainAttempt(&b, x, false, now)
	wantOut(t, b.String(), `Last scheduling attempt:
  Time:    2026-11-21T15:00:00Z (0s ago), attempt 1
  Result:  Scheduled on n2
  Nodes:   4 in the cluster, 4 evaluated, 3 feasible
Filter verdicts, by plugin and reason:
  1 node: NodeAffinity: node(s) didn't match Pod's node affinity/selector (preemption cannot help)
    n4
  3 nodes: passed
    n1, n2, n3
Scores of the best nodes:
  NODE         TOTAL  NodeResourcesFit  TaintToleration(x2)
  n2 (chosen)  180    80                50
  n1           170    70                50
  (1 other feasible nodes were scored lower; their scores are not kept.)
`)
}

// TestExplainMissing checks the line explain writes when the server has
// no scheduling endpoint, or the member asked does not run the scheduler.
func TestExplainMissing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/pods/old") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(api.NewStatusError(http.StatusServiceUnavailable, api.StatusReasonServiceUnavailable,
			"this member does not run the scheduler: the leader does, at Raft address 10.0.0.7:7000; ask its API server").Status)
	}))
	defer srv.Close()
	c, err := client.New(client.Config{Host: srv.URL, Retry: client.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := controllertest.Context(t)
	if x, why := lastAttempt(ctx, c, "default", "old"); x != nil || !strings.Contains(why, "not served over the API by this server") {
		t.Errorf("an older server: %v, %q", x, why)
	}
	x, why := lastAttempt(ctx, c, "default", "web")
	if x != nil || !strings.Contains(why, "the leader does, at Raft address 10.0.0.7:7000") || !strings.Contains(why, "Ask again: leadership is moving") {
		t.Errorf("a member that does not schedule: %v, %q", x, why)
	}
	var b strings.Builder
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"}}
	explainPod(&b, pod, nil, attemptDetails{missing: why}, time.Now())
	if !strings.HasSuffix(b.String(), "Scheduling events:\n  <none>\n"+why+"\n") {
		t.Errorf("explain without the attempt:\n%s", b.String())
	}
}

// TestExplainCluster runs `drover explain` against an AllInOne with four
// simulated nodes, two of them labelled gpu=true and tainted: a pod that
// asks for a GPU and tolerates the taint fits two nodes, one that does not
// tolerate it fits none.
func TestExplainCluster(t *testing.T) {
	dir := t.TempDir()
	cfg := cluster.DefaultAllInOneConfig(dir)
	cfg.APIAddr = "127.0.0.1:0"
	cfg.Node.Runtime, cfg.Node.KubeletAddr = cluster.RuntimeFake, "127.0.0.1:0"
	// controllertest.StartNodes writes a new Node's status right after
	// creating it, with no retry: nodeipam's podCIDR would race it.
	cfg.Controllers.Controllers = []string{"*", "-nodeipam"}
	registered := make(chan struct{})
	cfg.NodeAgent = cluster.NodeAgentFunc(func(ctx context.Context, c *client.Client, ready func()) error {
		plain, err := controllertest.StartNodes(ctx, c, controllertest.NodesConfig{Count: 2, Prefix: "plain-"})
		if err != nil {
			return err
		}
		defer plain.Close()
		gpu, err := controllertest.StartNodes(ctx, c, controllertest.NodesConfig{Count: 2, Prefix: "gpu-",
			Labels: map[string]string{"gpu": "true"},
			Taints: []api.Taint{{Key: "gpu", Value: "true", Effect: api.TaintEffectNoSchedule}}})
		if err != nil {
			return err
		}
		defer gpu.Close()
		ready()
		close(registered)
		<-ctx.Done()
		return nil
	})
	a, err := cluster.NewAllInOne(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := controllertest.Context(t)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	select {
	case <-registered:
	case <-ctx.Done():
		t.Fatal("the simulated nodes did not register")
	}
	c := &cli{t: t, kubeconfig: cluster.KubeconfigPath(dir)}
	hc := a.Client()
	for _, tolerate := range []bool{true, false} {
		p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "gpu-none"},
			Spec: api.PodSpec{NodeSelector: map[string]string{"gpu": "true"}, Containers: []api.Container{{Name: "main", Image: "cuda:12"}}}}
		if tolerate {
			p.Name = "gpu-fits"
			p.Spec.Tolerations = []api.Toleration{{Key: "gpu", Operator: api.TolerationOpEqual, Value: "true", Effect: api.TaintEffectNoSchedule}}
		}
		if err := hc.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	explain := func(name, want string) string {
		t.Helper()
		var out string
		deadline := time.Now().Add(20 * time.Second)
		for {
			r := c.run("explain", "pod", name)
			if out = r.out; r.e == nil && strings.Contains(out, want) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("explain pod %s: %v; no %q in:\n%s", name, r.e, want, out)
			}
			time.Sleep(50 * time.Millisecond) // polling interval, not a wait for an event
		}
	}

	out := explain("gpu-fits", "Scheduled on gpu-")
	for _, want := range []string{
		"4 in the cluster, 4 evaluated, 2 feasible\n",
		"Filter verdicts, by plugin and reason:\n  2 nodes: NodeAffinity: ",
		" (preemption cannot help)\n    plain-0, plain-1\n  2 nodes: passed\n    gpu-0, gpu-1\n",
		"Scores of the best nodes:\n  NODE ",
		" (chosen) ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain pod gpu-fits has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "No per-node verdicts") {
		t.Errorf("explain pod gpu-fits says the verdicts are missing:\n%s", out)
	}

	out = explain("gpu-none", "Last scheduling attempt:\n")
	for _, want := range []string{
		"  Result:   Unschedulable\n  Message:  0/4 nodes are available: ",
		"  Nodes:    4 in the cluster, 4 evaluated, 0 feasible\n",
		"  2 nodes: NodeAffinity: ",
		"\n    plain-0, plain-1\n",
		"  2 nodes: TaintToleration: node(s) had untolerated taint",
		"\n    gpu-0, gpu-1\n",
		"Scores of the best nodes:\n  <none>: no node passed Filter\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain pod gpu-none has no %q:\n%s", want, out)
		}
	}
}
