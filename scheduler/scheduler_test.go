package scheduler

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
	"github.com/drover-io/drover/scheduler/plugins/defaultbinder"
)

var _ controller.Runnable = (*Scheduler)(nil)
var _ controller.LeaderElectionRunnable = (*Scheduler)(nil)

// runScheduler runs s until the test ends.
func runScheduler(t *testing.T, s *Scheduler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		s.Close()
	})
}

func createNode(t *testing.T, ctx context.Context, c *client.Client, n *api.Node) {
	t.Helper()
	status := n.Status
	if err := c.Create(ctx, n); err != nil {
		t.Fatalf("create node %s: %v", n.Name, err)
	}
	n.Status = status
	if err := c.UpdateStatus(ctx, n); err != nil {
		t.Fatalf("node %s status: %v", n.Name, err)
	}
}

// waitNodes waits until the scheduler's cache has n nodes, so that pods
// created next do not meet an empty cluster.
func waitNodes(t *testing.T, s *Scheduler, n int) {
	t.Helper()
	controllertest.Eventually(t, func() bool {
		snap := cache.NewSnapshot()
		if err := s.cache.UpdateSnapshot(snap); err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, ni := range snap.List() {
			if ni.Allocatable.MilliCPU > 0 {
				ready++
			}
		}
		return ready == n
	})
}

func podWithCPU(name, cpu string) *api.Pod {
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.PodSpec{Containers: []api.Container{{
			Name: "c", Image: "busybox",
			Resources: api.ResourceRequirements{Requests: api.ResourceList{api.ResourceCPU: resource.MustParse(cpu)}},
		}}},
	}
	return p
}

func tainted(n *api.Node) *api.Node {
	n.Spec.Taints = []api.Taint{{Key: "dedicated", Value: "gpu", Effect: api.TaintEffectNoSchedule}}
	return n
}

func waitBound(t *testing.T, ctx context.Context, c *client.Client, name string) *api.Pod {
	t.Helper()
	p, err := controllertest.WaitFor(ctx, c, "default", name, func(p *api.Pod) bool { return p.Spec.NodeName != "" })
	if err != nil {
		t.Fatalf("pod %s not bound: %v", name, err)
	}
	return p
}

func TestEndToEnd(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	clk := fakeclock.New(time.Now())
	s, err := New(Config{Client: env.Client, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s)

	for _, n := range []*api.Node{node("n1", "1"), node("n2", "1"), node("n3", "1"), tainted(node("n4", "8")), tainted(node("n5", "8"))} {
		createNode(t, ctx, env.Client, n)
	}
	waitNodes(t, s, 5)
	small := podWithCPU("small", "500m")
	tolerant := podWithCPU("tolerant", "4")
	tolerant.Spec.Tolerations = []api.Toleration{{Key: "dedicated", Operator: "Equal", Value: "gpu", Effect: api.TaintEffectNoSchedule}}
	big := podWithCPU("big", "2")
	for _, p := range []*api.Pod{small, tolerant, big} {
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	if p := waitBound(t, ctx, env.Client, "small"); !strings.Contains("n1 n2 n3", p.Spec.NodeName) {
		t.Errorf("small bound to %s, want n1, n2 or n3", p.Spec.NodeName)
	}
	if p := waitBound(t, ctx, env.Client, "tolerant"); p.Spec.NodeName != "n4" && p.Spec.NodeName != "n5" {
		t.Errorf("tolerant bound to %s, want n4 or n5", p.Spec.NodeName)
	}

	// big fits nowhere: the condition and the event say why.
	want := "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: gpu}." +
		" preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
	_, err = controllertest.WaitFor(ctx, env.Client, "default", "big", func(p *api.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == api.PodScheduled && c.Status == api.ConditionFalse && c.Reason == "Unschedulable" && c.Message == want {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("PodScheduled condition: %v", err)
	}
	controllertest.Eventually(t, func() bool {
		var evs api.EventList
		if err := env.Client.List(ctx, &evs, client.InNamespace("default")); err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == "big" && e.Reason == "FailedScheduling" && e.Message == want && e.Type == api.EventTypeWarning {
				return true
			}
		}
		return false
	})
	ex, ok := s.Explain("default", "big")
	if !ok {
		t.Fatal("no explanation for big")
	}
	if ex.Result != "Unschedulable" || ex.Message != want || len(ex.Filter) != 5 || ex.Nodes != 5 {
		t.Errorf("explanation %+v", ex)
	}
	if data, err := json.Marshal(ex); err != nil || !strings.Contains(string(data), `"result":"Unschedulable"`) {
		t.Errorf("explanation as JSON: %s, %v", data, err)
	}
	for _, v := range ex.Filter {
		if v.Code == "Success" || v.Plugin == "" || len(v.Reasons) == 0 {
			t.Errorf("verdict %+v: want a rejection naming the plugin and the reason", v)
		}
	}
	if ex, ok := s.Explain("default", "small"); !ok || ex.Result != "Scheduled" || len(ex.Scores) != 3 {
		t.Errorf("explanation of small: %+v", ex)
	}

	// A node that fits is added: the event, not the 5-minute timer, moves
	// big out of the unschedulable pods.
	// (big may be in backoff instead, if small's or tolerant's binding was
	// seen during its cycle: let its backoff pass.)
	controllertest.Eventually(t, func() bool {
		if s.queue.Where(big) == "backoff" {
			clk.Advance(time.Second)
		}
		return s.queue.Where(big) == "unschedulable"
	})
	createNode(t, ctx, env.Client, node("n6", "4"))
	controllertest.Eventually(t, func() bool { w := s.queue.Where(big); return w == "backoff" || w == "active" || w == "" })
	// Let its backoff pass (a second at a time, well short of the 5
	// minutes; n6's status may come after its first retry).
	controllertest.Eventually(t, func() bool {
		if s.queue.Where(big) == "backoff" {
			clk.Advance(time.Second)
		}
		var p api.Pod
		return env.Client.Get(ctx, "default", "big", &p) == nil && p.Spec.NodeName != ""
	})
	if p := waitBound(t, ctx, env.Client, "big"); p.Spec.NodeName != "n6" {
		t.Errorf("big bound to %s, want n6", p.Spec.NodeName)
	}
}

func TestBindFailureForgetsUnreservesAndRequeues(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	clk := fakeclock.New(time.Now())
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	binder := &flakyBinder{name: "Flaky"}
	binder.failures.Store(1)
	reserve := &fakeReserve{name: "Counter"}
	s, err := New(Config{
		Client: env.Client, Informers: mgr.Informers(), Clock: clk, Registerer: mgr.Registry(),
		Registry: Registry{
			"Flaky": func(_ any, h framework.Handle) (framework.Plugin, error) {
				var err error
				binder.next, err = defaultbinder.New(defaultbinder.Args{}, h)
				return binder, err
			},
			"Counter": func(any, framework.Handle) (framework.Plugin, error) { return reserve, nil },
		},
		Profiles: []Profile{{SchedulerName: DefaultSchedulerName, Plugins: Plugins{
			Bind:    PluginSet{Disabled: []PluginRef{{Name: "*"}}, Enabled: []PluginRef{{Name: "Flaky"}}},
			Reserve: PluginSet{Enabled: []PluginRef{{Name: "Counter"}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Add(s); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}
	createNode(t, ctx, env.Client, node("n1", "4"))
	waitNodes(t, s, 1)
	if err := env.Client.Create(ctx, podWithCPU("p", "1")); err != nil {
		t.Fatal(err)
	}
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "p"}}
	controllertest.Eventually(t, func() bool { return s.queue.Where(p) == "backoff" })
	if n := s.cache.PodCount(); n != 0 {
		t.Errorf("cache holds %d pods after the failed binding, want 0 (forgotten)", n)
	}
	if r, u := reserve.reserved.Load(), reserve.unreserved.Load(); r != 1 || u != 1 {
		t.Errorf("reserved %d unreserved %d, want 1 and 1", r, u)
	}
	clk.Advance(time.Second)
	if got := waitBound(t, ctx, env.Client, "p"); got.Spec.NodeName != "n1" {
		t.Errorf("bound to %s", got.Spec.NodeName)
	}
	if n := binder.calls.Load(); n != 2 {
		t.Errorf("Bind called %d times, want 2", n)
	}
	if ex, ok := s.Explain("default", "p"); !ok || ex.Result != "Scheduled" || ex.Attempts != 2 {
		t.Errorf("explanation %+v", ex)
	}
	controllertest.Eventually(t, func() bool {
		return metricValue(t, mgr.Registry(), "drover_scheduler_schedule_attempts_total", "result", "scheduled") == 1
	})
	if v := metricValue(t, mgr.Registry(), "drover_scheduler_schedule_attempts_total", "result", "error"); v != 1 {
		t.Errorf("error attempts %v, want 1", v)
	}
	if v := metricValue(t, mgr.Registry(), "drover_scheduler_pending_pods", "queue", "backoff"); v != 0 {
		t.Errorf("pending backoff %v, want 0", v)
	}
}

// metricValue returns the value of the counter, gauge or histogram count
// named name with label=value.
func metricValue(t *testing.T, g prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					switch {
					case m.Counter != nil:
						return m.GetCounter().GetValue()
					case m.Gauge != nil:
						return m.GetGauge().GetValue()
					case m.Histogram != nil:
						return float64(m.GetHistogram().GetSampleCount())
					}
				}
			}
		}
	}
	return -1
}

func TestPermitRejectionRequeuesAsUnschedulable(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	clk := fakeclock.New(time.Now())
	gate := &fakePermit{name: "Gate", code: framework.Wait, timeout: time.Minute}
	s, err := New(Config{
		Client: env.Client, Clock: clk,
		Registry: Registry{"Gate": func(any, framework.Handle) (framework.Plugin, error) { return gate, nil }},
		Profiles: []Profile{{SchedulerName: DefaultSchedulerName, Plugins: Plugins{
			Permit: PluginSet{Enabled: []PluginRef{{Name: "Gate"}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s)
	createNode(t, ctx, env.Client, node("n1", "4"))
	waitNodes(t, s, 1)
	a := podWithCPU("a", "1")
	b := podWithCPU("b", "1")
	for _, p := range []*api.Pod{a, b} {
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	fw := s.profiles[DefaultSchedulerName]
	var wa, wb framework.WaitingPod
	controllertest.Eventually(t, func() bool {
		for _, w := range s.waiting.list() {
			switch w.Pod().Name {
			case "a":
				wa = w
			case "b":
				wb = w
			}
		}
		return wa != nil && wb != nil
	})
	// While waiting, both count in the cache.
	if n := s.cache.PodCount(); n != 2 {
		t.Errorf("cache holds %d pods while they wait, want 2", n)
	}
	wa.Allow("Gate")
	waitBound(t, ctx, env.Client, "a")
	if fw.WaitingPod(wb.Pod().UID) == nil {
		t.Fatal("b is no longer waiting")
	}
	wb.Reject("Gate", "the gang is incomplete")
	// b is back in the queue (in backoff rather than unschedulable if a's
	// binding was seen during its cycle) and out of the cache.
	controllertest.Eventually(t, func() bool {
		w := s.queue.Where(b)
		return (w == "unschedulable" || w == "backoff") && s.cache.PodCount() == 1
	})
	if ex, ok := s.Explain("default", "b"); !ok || ex.Result != "Unschedulable" || ex.Message != "the gang is incomplete" {
		t.Errorf("explanation of b: %+v", ex)
	}
}
