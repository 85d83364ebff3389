package controllertest_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
)

// startFleet starts an Env on a fake clock with count simulated nodes.
func startFleet(t *testing.T, cfg controllertest.NodesConfig) (*controllertest.Env, *fakeclock.Clock, *controllertest.Nodes, context.Context) {
	t.Helper()
	clk := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	env := controllertest.New(t, controllertest.WithClock(clk))
	ctx := controllertest.Context(t)
	nodes, err := env.StartNodes(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return env, clk, nodes, ctx
}

// bindPod creates a pod of one container and binds it to node.
func bindPod(t *testing.T, env *controllertest.Env, ctx context.Context, name, node string) *api.Pod {
	t.Helper()
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "nginx:1"}}},
	}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Bind(ctx, "default", name, node); err != nil {
		t.Fatal(err)
	}
	return p
}

func condition(p *api.Pod, ct api.PodConditionType) api.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == ct {
			return c.Status
		}
	}
	return ""
}

func TestNodesRegister(t *testing.T) {
	env, clk, nodes, ctx := startFleet(t, controllertest.NodesConfig{
		Count: 3, Prefix: "sim-", Zones: []string{"a", "b"}, Labels: map[string]string{"pool": "x"},
	})
	if got := nodes.Names(); strings.Join(got, ",") != "sim-0,sim-1,sim-2" {
		t.Fatalf("Names() = %v", got)
	}
	var list api.NodeList
	if err := env.Client.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 3 {
		t.Fatalf("%d nodes, want 3", len(list.Items))
	}
	for i, n := range list.Items {
		if !ready(&n) {
			t.Errorf("node %s is not Ready: %+v", n.Name, n.Status.Conditions)
		}
		if n.Labels["pool"] != "x" || n.Labels["kubernetes.io/hostname"] != n.Name || n.Labels[controllertest.LabelZone] != []string{"a", "b"}[i%2] {
			t.Errorf("node %s has labels %v", n.Name, n.Labels)
		}
		want := controllertest.DefaultNodeCapacity()
		for _, r := range []api.ResourceName{"cpu", "memory", "pods"} {
			got := n.Status.Allocatable[r]
			w := want[r]
			if got.Cmp(w) != 0 {
				t.Errorf("node %s allocatable %s = %v, want %v", n.Name, r, got.String(), w.String())
			}
		}
		var lease api.Lease
		if err := env.Client.Get(ctx, controllertest.NodeLeaseNamespace, n.Name, &lease); err != nil {
			t.Fatalf("lease of %s: %v", n.Name, err)
		}
		if !lease.Spec.RenewTime.Time.Equal(clk.Now()) || *lease.Spec.HolderIdentity != n.Name || *lease.Spec.LeaseDurationSeconds != 40 {
			t.Errorf("lease of %s: %+v", n.Name, lease.Spec)
		}
		if len(lease.OwnerReferences) != 1 || lease.OwnerReferences[0].UID != n.UID {
			t.Errorf("lease of %s is not owned by its node: %+v", n.Name, lease.OwnerReferences)
		}
	}
}

func ready(n *api.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == api.NodeReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

func TestNodesRunPods(t *testing.T) {
	env, _, _, ctx := startFleet(t, controllertest.NodesConfig{Count: 2})
	var ips []string
	for _, name := range []string{"a", "b", "c"} {
		bindPod(t, env, ctx, name, "node-1")
		p, err := controllertest.WaitFor(ctx, env.Client, "default", name, func(p *api.Pod) bool {
			return p.Status.Phase == api.PodRunning && condition(p, api.PodReady) == api.ConditionTrue
		})
		if err != nil {
			t.Fatal(err)
		}
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || !netip.MustParsePrefix("10.64.1.0/24").Contains(ip) {
			t.Errorf("pod %s has podIP %q, want one in node-1's range 10.64.1.0/24", name, p.Status.PodIP)
		}
		if p.Status.HostIP == "" || p.Status.StartTime == nil || len(p.Status.ContainerStatuses) != 1 ||
			!p.Status.ContainerStatuses[0].Ready || p.Status.ContainerStatuses[0].State.Running == nil ||
			condition(p, api.ContainersReady) != api.ConditionTrue || condition(p, api.PodInitialized) != api.ConditionTrue {
			t.Errorf("pod %s status: %+v", name, p.Status)
		}
		ips = append(ips, p.Status.PodIP)
	}
	if ips[0] == ips[1] || ips[1] == ips[2] || ips[0] == ips[2] {
		t.Errorf("pod IPs are not distinct: %v", ips)
	}

	// A graceful deletion is confirmed.
	var p api.Pod
	if err := env.Client.Get(ctx, "default", "a", &p); err != nil {
		t.Fatal(err)
	}
	grace := int64(30)
	if err := env.Client.Delete(ctx, &p, client.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	if err := controllertest.WaitForDeletion[api.Pod](ctx, env.Client, "default", "a"); err != nil {
		t.Fatal(err)
	}
}

func TestNodesFailSucceedAndSetReady(t *testing.T) {
	env, _, nodes, ctx := startFleet(t, controllertest.NodesConfig{Count: 1})
	bindPod(t, env, ctx, "web", "node-0")
	bindPod(t, env, ctx, "job", "node-0")
	for _, name := range []string{"web", "job"} {
		if _, err := controllertest.WaitFor(ctx, env.Client, "default", name, func(p *api.Pod) bool {
			return condition(p, api.PodReady) == api.ConditionTrue
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nodes.SetReady(ctx, "default", "web", false); err != nil {
		t.Fatal(err)
	}
	var p api.Pod
	if err := env.Client.Get(ctx, "default", "web", &p); err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != api.PodRunning || condition(&p, api.PodReady) != api.ConditionFalse || p.Status.ContainerStatuses[0].Ready {
		t.Fatalf("after SetReady(false): %+v", p.Status)
	}
	// The agent keeps the pod not ready when something else touches it.
	p.Labels = map[string]string{"touched": "yes"}
	if err := env.Client.Update(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if err := nodes.SetReady(ctx, "default", "web", true); err != nil {
		t.Fatal(err)
	}
	if _, err := controllertest.WaitFor(ctx, env.Client, "default", "web", func(p *api.Pod) bool {
		return condition(p, api.PodReady) == api.ConditionTrue
	}); err != nil {
		t.Fatal(err)
	}

	if err := nodes.Fail(ctx, "default", "job"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, "default", "job", &p); err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != api.PodFailed || p.Status.ContainerStatuses[0].State.Terminated == nil || condition(&p, api.PodReady) != api.ConditionFalse {
		t.Fatalf("after Fail: %+v", p.Status)
	}
	bindPod(t, env, ctx, "done", "node-0")
	if _, err := controllertest.WaitFor(ctx, env.Client, "default", "done", func(p *api.Pod) bool {
		return p.Status.Phase == api.PodRunning
	}); err != nil {
		t.Fatal(err)
	}
	if err := nodes.Succeed(ctx, "default", "done"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, "default", "done", &p); err != nil {
		t.Fatal(err)
	}
	if cs := p.Status.ContainerStatuses; p.Status.Phase != api.PodSucceeded || cs[0].State.Terminated == nil || cs[0].State.Terminated.ExitCode != 0 {
		t.Fatalf("after Succeed: %+v", p.Status)
	}
	if err := nodes.Fail(ctx, "default", "nope"); !api.IsNotFound(err) {
		t.Errorf("Fail of a missing pod: %v, want NotFound", err)
	}
	if err := nodes.Stop("node-9"); err == nil || !strings.Contains(err.Error(), "node-0") {
		t.Errorf("Stop of an unknown node: %v, want an error naming the nodes", err)
	}
}

func TestNodesHeartbeat(t *testing.T) {
	env, clk, nodes, ctx := startFleet(t, controllertest.NodesConfig{Count: 2, RenewInterval: 10 * time.Second})
	renewed := func(name string) time.Time {
		t.Helper()
		var l api.Lease
		if err := env.Client.Get(ctx, controllertest.NodeLeaseNamespace, name, &l); err != nil {
			t.Fatal(err)
		}
		return l.Spec.RenewTime.Time
	}
	start := clk.Now()
	clk.Advance(10 * time.Second) // the renewals run within Advance
	for _, n := range []string{"node-0", "node-1"} {
		if got := renewed(n); !got.Equal(start.Add(10 * time.Second)) {
			t.Errorf("lease of %s renewed at %v, want %v", n, got, start.Add(10*time.Second))
		}
	}

	if err := nodes.Stop("node-1"); err != nil {
		t.Fatal(err)
	}
	if !nodes.Stopped("node-1") || nodes.Stopped("node-0") {
		t.Fatal("Stopped disagrees with Stop")
	}
	clk.Advance(10 * time.Second)
	if got := renewed("node-1"); !got.Equal(start.Add(10 * time.Second)) {
		t.Errorf("the stopped node renewed its lease at %v", got)
	}
	if got := renewed("node-0"); !got.Equal(start.Add(20 * time.Second)) {
		t.Errorf("lease of node-0 renewed at %v, want %v", got, start.Add(20*time.Second))
	}

	// A stopped node leaves its pods alone.
	bindPod(t, env, ctx, "p", "node-1")
	// Someone marks the node Unknown while it is down.
	var n api.Node
	if err := env.Client.Get(ctx, "", "node-1", &n); err != nil {
		t.Fatal(err)
	}
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == api.NodeReady {
			n.Status.Conditions[i].Status = api.ConditionUnknown
		}
	}
	if err := env.Client.UpdateStatus(ctx, &n); err != nil {
		t.Fatal(err)
	}
	var p api.Pod
	if err := env.Client.Get(ctx, "default", "p", &p); err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase == api.PodRunning {
		t.Fatalf("a stopped node started pod p")
	}

	if err := nodes.Resume(ctx, "node-1"); err != nil {
		t.Fatal(err)
	}
	if got := renewed("node-1"); !got.Equal(start.Add(20 * time.Second)) {
		t.Errorf("Resume renewed the lease at %v, want now (%v)", got, start.Add(20*time.Second))
	}
	if err := env.Client.Get(ctx, "", "node-1", &n); err != nil {
		t.Fatal(err)
	}
	if !ready(&n) {
		t.Errorf("the resumed node is not Ready: %+v", n.Status.Conditions)
	}
	if _, err := controllertest.WaitFor(ctx, env.Client, "default", "p", func(p *api.Pod) bool {
		return p.Status.Phase == api.PodRunning
	}); err != nil {
		t.Fatal(err)
	}
}

func TestNodesConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  controllertest.NodesConfig
		want string
	}{
		{controllertest.NodesConfig{}, "Count is 0"},
		{controllertest.NodesConfig{Count: 1, RenewInterval: -1}, "RenewInterval"},
		{controllertest.NodesConfig{Count: 1, Zones: []string{""}}, "Zones[0]"},
		{controllertest.NodesConfig{Count: 1, Workers: -2}, "Workers is -2"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
}

// BenchmarkStartNodes measures the start of a fleet of 1,000 nodes.
func BenchmarkStartNodes(b *testing.B) {
	for b.Loop() {
		env := controllertest.New(b)
		nodes, err := env.StartNodes(context.Background(), controllertest.NodesConfig{Count: 1000})
		if err != nil {
			b.Fatal(err)
		}
		_ = nodes.Close()
		_ = env.Close()
	}
}
