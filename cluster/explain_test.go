package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler"
)

// fakeExplainer is an explainer over a map of explanations.
type fakeExplainer struct {
	byKey      map[string]*scheduler.Explanation
	scheduling bool
	leader     string
	self       bool
}

func (f *fakeExplainer) Explain(ns, name string) (*scheduler.Explanation, bool) {
	e, ok := f.byKey[ns+"/"+name]
	return e, ok
}
func (f *fakeExplainer) Scheduling() bool       { return f.scheduling }
func (f *fakeExplainer) Leader() (string, bool) { return f.leader, f.self }

// TestExplainHandler checks the answers of the scheduling endpoint, behind
// the routes of /drover/, for each state of the member.
func TestExplainHandler(t *testing.T) {
	x := &fakeExplainer{scheduling: true, byKey: map[string]*scheduler.Explanation{
		"default/web": {Namespace: "default", Name: "web", Result: "Scheduled", Node: "n1", Nodes: 2, Evaluated: 2, Feasible: 1},
	}}
	// snap stands for the snapshot handler, which answers the paths
	// under /drover/ that are not the scheduling endpoint's.
	snap := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != SnapshotPath {
			http.Error(w, "the only path is "+SnapshotPath, http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, "snapshot")
	})
	h := withDroverPaths(droverRoutes(snap, &explainHandler{x: x, log: testLogger(t)}), http.NotFoundHandler())
	srv := httptest.NewServer(h)
	defer srv.Close()

	do := func(method, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// status decodes a Status body and checks its code and message.
	status := func(body string, code int, msg string) {
		t.Helper()
		var st api.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" || int(st.Code) != code {
			t.Fatalf("body %s (%v): want a Status of code %d", body, err, code)
		}
		if !strings.Contains(st.Message, msg) {
			t.Errorf("message %q, want it to contain %q", st.Message, msg)
		}
	}

	if code, body := do(http.MethodGet, SchedulingPath("default", "web")); code != http.StatusOK {
		t.Fatalf("GET: %d %s", code, body)
	} else {
		var e scheduler.Explanation
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Result != "Scheduled" || e.Node != "n1" || e.Feasible != 1 {
			t.Errorf("GET: %+v, %v", e, err)
		}
	}
	code, body := do(http.MethodGet, SchedulingPath("default", "other"))
	if code != http.StatusNotFound {
		t.Fatalf("GET an unknown pod: %d %s", code, body)
	}
	status(body, http.StatusNotFound, "no scheduling attempt of pod default/other is known: it was scheduled before this scheduler started, or not yet tried")
	for _, m := range []string{http.MethodPost, http.MethodDelete, http.MethodPut} {
		code, body := do(m, SchedulingPath("default", "web"))
		if code != http.StatusMethodNotAllowed {
			t.Fatalf("%s: %d %s", m, code, body)
		}
		status(body, http.StatusMethodNotAllowed, "method "+m+" is not allowed")
	}
	for _, p := range []string{SchedulingPathPrefix + "namespaces/default/pods", SchedulingPathPrefix + "namespaces/default/pods/web/x", SchedulingPathPrefix + "pods/web"} {
		code, body := do(http.MethodGet, p)
		if code != http.StatusNotFound {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		status(body, http.StatusNotFound, "the scheduling endpoint's paths are")
	}
	code, body = do(http.MethodGet, "/drover/v1/other")
	if code != http.StatusNotFound {
		t.Fatalf("GET /drover/v1/other: %d %s", code, body)
	}
	if !strings.Contains(body, SnapshotPath) {
		t.Errorf("GET /drover/v1/other: %s, want the paths under /drover/", body)
	}
	if code, body := do(http.MethodGet, SnapshotPath); code != http.StatusOK || body != "snapshot" {
		t.Errorf("GET %s: %d %s, want the snapshot handler's answer", SnapshotPath, code, body)
	}

	// A member that does not run the scheduler.
	x.scheduling = false
	for _, tc := range []struct {
		leader string
		self   bool
		msg    string
	}{
		{"10.0.0.7:7000", false, "the leader does, at Raft address 10.0.0.7:7000"},
		{"", false, "ask again, leadership is moving"},
		{"10.0.0.8:7000", true, "its scheduler has not started yet"},
	} {
		x.leader, x.self = tc.leader, tc.self
		code, body := do(http.MethodGet, SchedulingPath("default", "web"))
		if code != http.StatusServiceUnavailable {
			t.Fatalf("not scheduling: %d %s", code, body)
		}
		status(body, http.StatusServiceUnavailable, tc.msg)
	}
}

// explainNodes are the simulated nodes of startExplainCluster: two plain
// ones, and two with a GPU, labelled and tainted so that only pods asking
// for them go there.
func explainNodes(ctx context.Context, c *client.Client) (func(), error) {
	plain, err := controllertest.StartNodes(ctx, c, controllertest.NodesConfig{Count: 2, Prefix: "plain-"})
	if err != nil {
		return nil, err
	}
	gpu, err := controllertest.StartNodes(ctx, c, controllertest.NodesConfig{Count: 2, Prefix: "gpu-",
		Labels: map[string]string{"gpu": "true"},
		Taints: []api.Taint{{Key: "gpu", Value: "true", Effect: api.TaintEffectNoSchedule}}})
	if err != nil {
		_ = plain.Close()
		return nil, err
	}
	return func() { _ = gpu.Close(); _ = plain.Close() }, nil
}

// startExplainCluster starts an AllInOne whose node agent is explainNodes.
func startExplainCluster(t *testing.T) *AllInOne {
	t.Helper()
	cfg := DefaultAllInOneConfig(t.TempDir())
	cfg.APIAddr = "127.0.0.1:0"
	cfg.Node.Runtime, cfg.Node.KubeletAddr = RuntimeFake, "127.0.0.1:0"
	cfg.Logger = testLogger(t)
	// controllertest.StartNodes writes a new Node's status right after
	// creating it, with no retry: nodeipam's podCIDR would race it.
	cfg.Controllers.Controllers = []string{"*", "-nodeipam"}
	registered := make(chan struct{})
	cfg.NodeAgent = NodeAgentFunc(func(ctx context.Context, c *client.Client, ready func()) error {
		stop, err := explainNodes(ctx, c)
		if err != nil {
			return err
		}
		defer stop()
		ready()
		close(registered)
		<-ctx.Done()
		return nil
	})
	a, err := NewAllInOne(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	select {
	case <-registered:
	case <-ctx.Done():
		t.Fatal("the simulated nodes did not register")
	}
	return a
}

// gpuPod asks for a GPU node; tolerate says whether it tolerates their
// taint.
func gpuPod(name string, tolerate bool) *api.Pod {
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.PodSpec{
			NodeSelector: map[string]string{"gpu": "true"},
			Containers:   []api.Container{{Name: "main", Image: "cuda:12"}},
		},
	}
	if tolerate {
		p.Spec.Tolerations = []api.Toleration{{Key: "gpu", Operator: api.TolerationOpEqual, Value: "true", Effect: api.TaintEffectNoSchedule}}
	}
	return p
}

// TestExplainEndpoint runs an AllInOne with four simulated nodes and reads
// back, over HTTP, the scheduler's last attempt at a pod that fits two of
// them and at one that fits none.
func TestExplainEndpoint(t *testing.T) {
	a := startExplainCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.New(client.Config{Host: a.URL(), Retry: client.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() error {
		nodes, err := client.Resource[api.Node](c).List(ctx)
		if err != nil || len(nodes.Items) != 4 {
			return fmt.Errorf("nodes: %v, %v: want 4", nodes, err)
		}
		return nil
	})

	// Start returns before the scheduler starts; until it does, the
	// member answers 503.
	eventually(t, 15*time.Second, func() error {
		if !a.Leading() {
			return errors.New("the scheduler has not started")
		}
		return nil
	})
	// Before any attempt: 404.
	_, err = c.GetRaw(ctx, SchedulingPath("default", "fits"))
	if !api.IsNotFound(err) || !strings.Contains(err.Error(), "no scheduling attempt of pod default/fits is known") {
		t.Fatalf("before any attempt: %v, want NotFound", err)
	}
	for _, p := range []*api.Pod{gpuPod("fits", true), gpuPod("fits-none", false)} {
		if err := c.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	get := func(name string, check func(*scheduler.Explanation) error) *scheduler.Explanation {
		t.Helper()
		var e scheduler.Explanation
		eventually(t, 15*time.Second, func() error {
			body, err := c.GetRaw(ctx, SchedulingPath("default", name))
			if err != nil {
				return err
			}
			e = scheduler.Explanation{}
			if err := json.Unmarshal(body, &e); err != nil {
				return fmt.Errorf("decode %s: %w", body, err)
			}
			return check(&e)
		})
		return &e
	}
	result := func(want string) func(*scheduler.Explanation) error {
		return func(e *scheduler.Explanation) error {
			if e.Result != want {
				return fmt.Errorf("result %s (%s), want %s", e.Result, e.Message, want)
			}
			return nil
		}
	}

	e := get("fits", result("Scheduled"))
	if !strings.HasPrefix(e.Node, "gpu-") || e.Nodes != 4 || e.Evaluated != 4 || e.Feasible != 2 || e.Attempts < 1 {
		t.Errorf("fits: %+v, want on a gpu node, of 4 nodes 4 evaluated and 2 feasible", e)
	}
	verdicts := map[string]scheduler.FilterVerdict{}
	for _, v := range e.Filter {
		verdicts[v.Node] = v
	}
	for _, n := range []string{"plain-0", "plain-1"} {
		if v := verdicts[n]; v.Code != "UnschedulableAndUnresolvable" || v.Plugin != "NodeAffinity" || len(v.Reasons) == 0 {
			t.Errorf("fits: verdict on %s %+v, want NodeAffinity's rejection with reasons", n, v)
		}
	}
	for _, n := range []string{"gpu-0", "gpu-1"} {
		if v := verdicts[n]; v.Code != "Success" || v.Plugin != "" {
			t.Errorf("fits: verdict on %s %+v, want Success", n, v)
		}
	}
	if len(e.Scores) != 2 || e.Scores[0].Total < e.Scores[1].Total || len(e.Scores[0].Plugins) == 0 ||
		(e.Scores[0].Node != e.Node && e.Scores[1].Node != e.Node) {
		t.Errorf("fits: scores %+v, want the two gpu nodes, best first, the chosen one among them, with per-plugin scores", e.Scores)
	}

	e = get("fits-none", result("Unschedulable"))
	if e.Node != "" || e.Feasible != 0 || len(e.Scores) != 0 || !strings.Contains(e.Message, "0/4 nodes are available") {
		t.Errorf("fits-none: %+v, want no node, no scores and a counted message", e)
	}
	for _, v := range e.Filter {
		want := "NodeAffinity"
		if strings.HasPrefix(v.Node, "gpu-") {
			want = "TaintToleration"
		}
		if v.Plugin != want || len(v.Reasons) == 0 {
			t.Errorf("fits-none: verdict %+v, want %s's rejection with reasons", v, want)
		}
	}
	if len(e.Filter) != 4 {
		t.Errorf("fits-none: %d verdicts, want 4", len(e.Filter))
	}

	// Other methods: 405.
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, a.URL()+SchedulingPath("default", "fits"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodGet {
		t.Errorf("DELETE: %d, Allow %q; want 405, Allow GET", resp.StatusCode, resp.Header.Get("Allow"))
	}
	var se *api.StatusError
	if _, err := c.GetRaw(ctx, SchedulingPathPrefix+"bogus"); !errors.As(err, &se) || se.Status.Code != http.StatusNotFound {
		t.Errorf("GET a bogus path: %v, want 404", err)
	}
}
