package scheduler

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
	"github.com/drover-io/drover/scheduler/internal/queue"
	"github.com/drover-io/drover/scheduler/plugins/nodeaffinity"
	"github.com/drover-io/drover/scheduler/plugins/noderesources"
)

// labelGate passes the nodes labelled gate=open, and says that only a
// node label change can change its verdict.
type labelGate struct{}

func (labelGate) Name() string { return "LabelGate" }
func (labelGate) Filter(_ context.Context, _ *framework.CycleState, _ *api.Pod, n *framework.NodeInfo) *framework.Status {
	if n.Node.Labels["gate"] == "open" {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had a closed gate")
}
func (labelGate) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{framework.NodeLabelChange}
}

var _ framework.EnqueueExtensions = labelGate{}

// TestInterestOfPlugins: a plugin's EventsToRegister overrides the
// defaults, a default plugin keeps its known events, and a custom plugin
// that declares none is left out (interested in every event).
func TestInterestOfPlugins(t *testing.T) {
	quiet := &fakeFilter{name: "Quiet"}
	p, reg := testProfile("custom", nil, labelGate{}, quiet)
	p.Plugins.MultiPoint.Enabled = append(p.Plugins.MultiPoint.Enabled, PluginRef{Name: nodeaffinity.Name})
	fw, err := NewFramework(p, FrameworkOptions{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	got := interest(map[string]*Framework{"custom": fw})
	if evs := got["LabelGate"]; !slices.Equal(evs, []framework.ClusterEvent{framework.NodeLabelChange}) {
		t.Errorf("LabelGate's interest %v, want [NodeLabelChange]", evs)
	}
	if evs, ok := got["Quiet"]; ok {
		t.Errorf("Quiet declares no events but has interest %v: want none (every event)", evs)
	}
	want := slices.Clone(defaultInterest[nodeaffinity.Name])
	slices.Sort(want)
	if evs := got[nodeaffinity.Name]; !slices.Equal(evs, want) {
		t.Errorf("NodeAffinity's interest %v, want the defaults %v", evs, want)
	}
	if _, ok := got[noderesources.Name]; ok {
		t.Errorf("NodeResourcesFit is not in the profile but has an interest")
	}
}

// TestPluginEventsMoveRejectedPods: a pod rejected by a plugin that
// registered NodeLabelChange only stays unschedulable when a bound pod
// is deleted, and is retried, and bound, when the node's labels change.
// The clock is fake and moves a second at a time, so the five-minute
// unschedulable timeout cannot be what moved it.
func TestPluginEventsMoveRejectedPods(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	clk := fakeclock.New(time.Now())
	s, err := New(Config{
		Client: env.Client, Clock: clk,
		Registry: Registry{"LabelGate": func(any, framework.Handle) (framework.Plugin, error) { return labelGate{}, nil }},
		Profiles: []Profile{{SchedulerName: DefaultSchedulerName, Plugins: Plugins{
			Filter: PluginSet{Enabled: []PluginRef{{Name: "LabelGate"}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s)
	createNode(t, ctx, env.Client, node("n1", "4"))
	waitNodes(t, s, 1)
	start := clk.Now()

	gated := podWithCPU("gated", "1")
	if err := env.Client.Create(ctx, gated); err != nil {
		t.Fatal(err)
	}
	// (gated may be in backoff first, if its cycle saw an event.)
	controllertest.Eventually(t, func() bool {
		if s.queue.Where(gated) == "backoff" {
			clk.Advance(time.Second)
		}
		return s.queue.Where(gated) == "unschedulable"
	})

	// A pod bound to n1 comes and goes: AssignedPodAdd, AssignedPodDelete.
	other := podWithCPU("other", "1")
	other.Spec.NodeName = "n1"
	if err := env.Client.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool { return s.cache.PodCount() == 1 })
	zero := int64(0)
	if err := env.Client.Delete(ctx, other, client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	// The pod informer's handlers run in order: once a pod created after
	// the deletion is in the cache, the deletion has been handled.
	marker := podWithCPU("marker", "1")
	marker.Spec.NodeName = "n1"
	if err := env.Client.Create(ctx, marker); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool {
		snap := cache.NewSnapshot()
		if err := s.cache.UpdateSnapshot(snap); err != nil {
			t.Fatal(err)
		}
		n := snap.Get("n1")
		return n != nil && len(n.Pods) == 1 && n.Pods[0].Pod.Name == "marker"
	})
	if w := s.queue.Where(gated); w != "unschedulable" {
		t.Fatalf("after a bound pod was deleted gated is in %q, want unschedulable (LabelGate registered NodeLabelChange only)", w)
	}

	// The gate opens: a node label change.
	var n1 api.Node
	if err := env.Client.Get(ctx, "", "n1", &n1); err != nil {
		t.Fatal(err)
	}
	n1.Labels = map[string]string{"gate": "open"}
	if err := env.Client.Update(ctx, &n1); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool {
		if s.queue.Where(gated) == "backoff" {
			clk.Advance(time.Second)
		}
		var p api.Pod
		return env.Client.Get(ctx, "default", "gated", &p) == nil && p.Spec.NodeName == "n1"
	})
	if waited := clk.Now().Sub(start); waited >= queue.DefaultMaxUnschedulableDuration {
		t.Errorf("the fake clock moved %v, past the unschedulable timeout", waited)
	}
}

// TestBindSendsTheUID: the scheduler's client binds with the pod's uid
// as a precondition, so a pod deleted and re-created under the same name
// after its cycle is not bound by the old pod's decision.
func TestBindSendsTheUID(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	old := podWithCPU("p", "1")
	if err := env.Client.Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	if err := env.Client.Delete(ctx, old, client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	fresh := podWithCPU("p", "1")
	if err := env.Client.Create(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	c := apiClient{env.Client}
	if err := c.Bind(ctx, "default", "p", old.UID, "n1"); !api.IsConflict(err) {
		t.Fatalf("Bind with the old pod's uid: %v, want a conflict", err)
	}
	var p api.Pod
	if err := env.Client.Get(ctx, "default", "p", &p); err != nil || p.Spec.NodeName != "" {
		t.Fatalf("the new pod was bound to %q (%v)", p.Spec.NodeName, err)
	}
	if err := c.Bind(ctx, "default", "p", fresh.UID, "n1"); err != nil {
		t.Fatalf("Bind with the pod's uid: %v", err)
	}
	if err := env.Client.Get(ctx, "default", "p", &p); err != nil || p.Spec.NodeName != "n1" {
		t.Fatalf("pod bound to %q (%v), want n1", p.Spec.NodeName, err)
	}
}
