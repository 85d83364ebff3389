package builtin_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/builtin"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/nodelifecycle"
)

// TestDeploymentScaleAndRollout: a Deployment comes up, scales up and
// down, and rolls to a new image with maxSurge 2 and maxUnavailable 1,
// the bounds holding at every step the API shows.
func TestDeploymentScaleAndRollout(t *testing.T) {
	c := newCluster(t, 4, builtin.Config{})
	d := newDeployment("default", "web", 3, "nginx:1")
	d.Spec.Strategy = api.DeploymentStrategy{
		Type: api.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &api.RollingUpdateDeployment{
			MaxSurge: ptr(api.FromInt32(2)), MaxUnavailable: ptr(api.FromInt32(1)),
		},
	}
	if err := c.env.Client.Create(c.ctx, d); err != nil {
		t.Fatal(err)
	}
	sel := map[string]string{"app": "web"}
	c.eventually("3 replicas available", nudge, func() (bool, string) { return c.deploymentDone("default", "web") })

	update(c, &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"}},
		func(d *api.Deployment) { d.Spec.Replicas = ptr(int32(10)) })
	c.eventually("scaled up to 10", nudge, func() (bool, string) { return c.deploymentDone("default", "web") })
	if got := len(c.pods("default", sel)); got != 10 {
		t.Fatalf("%d pods after the scale up, want 10", got)
	}

	update(c, &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"}},
		func(d *api.Deployment) { d.Spec.Replicas = ptr(int32(6)) })
	c.eventually("scaled down to 6", nudge, func() (bool, string) {
		if ok, state := c.deploymentDone("default", "web"); !ok {
			return false, state
		}
		n := len(c.pods("default", sel))
		return n == 6, fmt.Sprintf("%d pods", n)
	})

	// The rollout, watched from the API: at most replicas+maxSurge pods
	// asked for (the ReplicaSets' spec.replicas), and at least
	// replicas-maxUnavailable pods ready.
	obs := observeRollout(t, c, "default", sel, 6+2, 6-1)
	update(c, &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"}},
		func(d *api.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:2" })
	c.eventually("rolled to nginx:2", nudge, func() (bool, string) {
		if ok, state := c.deploymentDone("default", "web"); !ok {
			return false, state
		}
		pods := c.pods("default", sel)
		for _, p := range pods {
			if p.Spec.Containers[0].Image != "nginx:2" {
				return false, fmt.Sprintf("pod %s still runs %s", p.Name, p.Spec.Containers[0].Image)
			}
		}
		return len(pods) == 6, fmt.Sprintf("%d pods", len(pods))
	})
	obs.check()

	var rss api.ReplicaSetList
	if err := c.env.Client.List(c.ctx, &rss, client.ListOptions{Namespace: "default"}); err != nil {
		t.Fatal(err)
	}
	if len(rss.Items) != 2 {
		t.Fatalf("%d ReplicaSets, want 2 (old and new)", len(rss.Items))
	}
	for _, rs := range rss.Items {
		want := int32(0)
		if rs.Spec.Template.Spec.Containers[0].Image == "nginx:2" {
			want = 6
		}
		if *rs.Spec.Replicas != want || rs.Status.Replicas != want {
			t.Errorf("ReplicaSet %s (%s): spec %d status %d, want %d", rs.Name, rs.Spec.Template.Spec.Containers[0].Image, *rs.Spec.Replicas, rs.Status.Replicas, want)
		}
	}
}

// rolloutObserver follows the pods and ReplicaSets of a namespace through
// watches, checking the rolling update's bounds after every event.
type rolloutObserver struct {
	t    *testing.T
	stop func()
	wg   sync.WaitGroup

	mu         sync.Mutex
	violations []string
	maxAsked   int32 // the most pods the ReplicaSets asked for at once
	minReady   int   // the fewest ready pods at once
}

func observeRollout(t *testing.T, c *cluster, ns string, sel map[string]string, maxPods int32, minReady int) *rolloutObserver {
	t.Helper()
	ctx, cancel := contextWithCancel(c)
	o := &rolloutObserver{t: t, stop: cancel, minReady: 1 << 30}
	selector := labels.SelectorFromSet(sel)

	var pods api.PodList
	if err := c.env.Client.List(c.ctx, &pods, client.ListOptions{Namespace: ns, LabelSelector: selector}); err != nil {
		t.Fatal(err)
	}
	var rss api.ReplicaSetList
	if err := c.env.Client.List(c.ctx, &rss, client.ListOptions{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	pw, err := c.env.Client.Watch(ctx, &api.PodList{}, client.ListOptions{Namespace: ns, LabelSelector: selector, ResourceVersion: pods.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	rw, err := c.env.Client.Watch(ctx, &api.ReplicaSetList{}, client.ListOptions{Namespace: ns, ResourceVersion: rss.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	podState := map[string]bool{} // name -> ready
	for i := range pods.Items {
		podState[pods.Items[i].Name] = podReady(&pods.Items[i])
	}
	rsState := map[string]int32{}
	for _, rs := range rss.Items {
		rsState[rs.Name] = *rs.Spec.Replicas
	}
	o.wg.Add(2)
	go func() {
		defer o.wg.Done()
		defer pw.Stop()
		for ev := range pw.Events() {
			p, ok := ev.Object.(*api.Pod)
			if !ok || ev.Type == api.WatchBookmark {
				continue
			}
			if ev.Type == api.WatchDeleted {
				delete(podState, p.Name)
			} else {
				podState[p.Name] = podReady(p)
			}
			ready := 0
			for _, r := range podState {
				if r {
					ready++
				}
			}
			o.mu.Lock()
			o.minReady = min(o.minReady, ready)
			if ready < minReady {
				o.violations = append(o.violations, fmt.Sprintf("%d pods ready after %s %s (at rv %s), want at least %d", ready, ev.Type, p.Name, p.ResourceVersion, minReady))
			}
			o.mu.Unlock()
		}
	}()
	go func() {
		defer o.wg.Done()
		defer rw.Stop()
		for ev := range rw.Events() {
			rs, ok := ev.Object.(*api.ReplicaSet)
			if !ok || ev.Type == api.WatchBookmark {
				continue
			}
			if ev.Type == api.WatchDeleted {
				delete(rsState, rs.Name)
			} else {
				rsState[rs.Name] = *rs.Spec.Replicas
			}
			var asked int32
			for _, n := range rsState {
				asked += n
			}
			o.mu.Lock()
			o.maxAsked = max(o.maxAsked, asked)
			if asked > maxPods {
				o.violations = append(o.violations, fmt.Sprintf("the ReplicaSets ask for %d pods after %s %s, want at most %d", asked, ev.Type, rs.Name, maxPods))
			}
			o.mu.Unlock()
		}
	}()
	return o
}

// check stops the observer and fails the test if a bound was broken.
func (o *rolloutObserver) check() {
	o.t.Helper()
	o.stop()
	o.wg.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, v := range o.violations {
		o.t.Error(v)
	}
	o.t.Logf("rollout: at most %d pods asked for, at least %d ready", o.maxAsked, o.minReady)
}

// TestNodeFailureEvictsAndReplaces: a node that stops heartbeating turns
// Ready=Unknown and is tainted unreachable; its pods, which tolerate the
// taint for 300 s (admission adds the toleration), are evicted after that
// and replaced on the healthy nodes, never on the failed one.
func TestNodeFailureEvictsAndReplaces(t *testing.T) {
	c := newCluster(t, 3, builtin.Config{})
	if err := c.env.Client.Create(c.ctx, newDeployment("default", "web", 6, "nginx:1")); err != nil {
		t.Fatal(err)
	}
	sel := map[string]string{"app": "web"}
	c.eventually("6 replicas available", nudge, func() (bool, string) { return c.deploymentDone("default", "web") })

	// The node with the most pods fails.
	perNode := map[string][]string{}
	for _, p := range c.pods("default", sel) {
		perNode[p.Spec.NodeName] = append(perNode[p.Spec.NodeName], p.Name)
	}
	failed := ""
	for _, n := range c.nodes.Names() {
		if failed == "" || len(perNode[n]) > len(perNode[failed]) {
			failed = n
		}
	}
	victims := perNode[failed]
	for _, name := range victims {
		var p api.Pod
		if err := c.env.Client.Get(c.ctx, "default", name, &p); err != nil {
			t.Fatal(err)
		}
		if !tolerates(&p, nodelifecycle.TaintNodeUnreachable, 300) {
			t.Fatalf("pod %s has no 300 s toleration of %s: %+v", name, nodelifecycle.TaintNodeUnreachable, p.Spec.Tolerations)
		}
	}
	// From now on no pod but the victims may be bound to the failed node,
	// at any moment the API shows.
	bound := watchBoundTo(t, c, "default", sel, failed, victims)
	if err := c.nodes.Stop(failed); err != nil {
		t.Fatal(err)
	}
	var lease api.Lease
	if err := c.env.Client.Get(c.ctx, controllertest.NodeLeaseNamespace, failed, &lease); err != nil {
		t.Fatal(err)
	}
	lastHeartbeat := lease.Spec.RenewTime.Time

	// 40 s without a heartbeat: Unknown, tainted, and its pods not ready.
	c.eventually("node "+failed+" Unknown and tainted", time.Second, func() (bool, string) {
		var n api.Node
		if err := c.env.Client.Get(c.ctx, "", failed, &n); err != nil {
			return false, err.Error()
		}
		unknown, tainted := false, false
		for _, cond := range n.Status.Conditions {
			if cond.Type == api.NodeReady {
				unknown = cond.Status == api.ConditionUnknown
			}
		}
		for _, taint := range n.Spec.Taints {
			if taint.Key == nodelifecycle.TaintNodeUnreachable && taint.Effect == api.TaintEffectNoExecute {
				tainted = true
			}
		}
		return unknown && tainted, fmt.Sprintf("conditions %+v, taints %+v", n.Status.Conditions, n.Spec.Taints)
	})
	if silent := c.clk.Now().Sub(lastHeartbeat); silent < 40*time.Second {
		t.Errorf("node %s Unknown after %v of silence, want at least 40 s", failed, silent)
	}
	for _, n := range c.nodes.Names() {
		if n == failed {
			continue
		}
		var node api.Node
		if err := c.env.Client.Get(c.ctx, "", n, &node); err != nil {
			t.Fatal(err)
		}
		if len(node.Spec.Taints) != 0 {
			t.Errorf("healthy node %s is tainted: %+v", n, node.Spec.Taints)
		}
	}
	for _, name := range victims {
		var p api.Pod
		if err := c.env.Client.Get(c.ctx, "default", name, &p); err != nil {
			t.Fatal(err)
		}
		if p.DeletionTimestamp != nil {
			t.Errorf("pod %s evicted at once, before its toleration of 300 s ran out", name)
		}
	}

	// 300 s later the pods are evicted, and replaced on healthy nodes.
	taintedAt := c.clk.Now()
	c.eventually("pods of "+failed+" evicted and replaced", 5*time.Second, func() (bool, string) {
		for _, name := range victims {
			var p api.Pod
			err := c.env.Client.Get(c.ctx, "default", name, &p)
			if err == nil && p.DeletionTimestamp == nil {
				return false, "pod " + name + " not evicted yet"
			}
		}
		healthy := 0
		for _, p := range c.pods("default", sel) {
			if p.Spec.NodeName != failed && podReady(&p) {
				healthy++
			}
		}
		return healthy == 6, fmt.Sprintf("%d pods ready on healthy nodes, want 6", healthy)
	})
	if waited := c.clk.Now().Sub(taintedAt); waited < 290*time.Second {
		t.Errorf("pods evicted %v after the taint, want about 300 s", waited)
	}
	c.eventually("Deployment available again", nudge, func() (bool, string) { return c.deploymentDone("default", "web") })
	// No replacement was ever bound to the unreachable node: its
	// NoSchedule taint keeps the scheduler away (the replacements tolerate
	// the NoExecute taint for 300 s).
	for _, v := range bound() {
		t.Errorf("replacement bound to the unreachable node %s: %s", failed, v)
	}

	// The node comes back: Ready, untainted.
	if err := c.nodes.Resume(c.ctx, failed); err != nil {
		t.Fatal(err)
	}
	c.eventually("node "+failed+" Ready again and untainted", nudge, func() (bool, string) {
		var n api.Node
		if err := c.env.Client.Get(c.ctx, "", failed, &n); err != nil {
			return false, err.Error()
		}
		return len(n.Spec.Taints) == 0, fmt.Sprintf("taints %+v", n.Spec.Taints)
	})
}

// watchBoundTo watches the pods of ns matching sel and records every pod
// but except that the API shows bound to node. The returned function stops
// the watch and returns what it recorded.
func watchBoundTo(t *testing.T, c *cluster, ns string, sel map[string]string, node string, except []string) func() []string {
	t.Helper()
	ctx, cancel := contextWithCancel(c)
	selector := labels.SelectorFromSet(sel)
	var pods api.PodList
	if err := c.env.Client.List(c.ctx, &pods, client.ListOptions{Namespace: ns, LabelSelector: selector}); err != nil {
		t.Fatal(err)
	}
	w, err := c.env.Client.Watch(ctx, &api.PodList{}, client.ListOptions{Namespace: ns, LabelSelector: selector, ResourceVersion: pods.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []string
		wg   sync.WaitGroup
	)
	record := func(p *api.Pod, how string) {
		if p.Spec.NodeName != node || slices.Contains(except, p.Name) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("pod %s (%s at rv %s)", p.Name, how, p.ResourceVersion))
	}
	for i := range pods.Items {
		record(&pods.Items[i], "listed")
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer w.Stop()
		for ev := range w.Events() {
			if p, ok := ev.Object.(*api.Pod); ok && ev.Type != api.WatchBookmark {
				record(p, string(ev.Type))
			}
		}
	}()
	return func() []string {
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// tolerates reports whether p tolerates the NoExecute taint key for
// seconds.
func tolerates(p *api.Pod, key string, seconds int64) bool {
	for _, tol := range p.Spec.Tolerations {
		if tol.Key == key && tol.Effect == api.TaintEffectNoExecute && tol.TolerationSeconds != nil && *tol.TolerationSeconds == seconds {
			return true
		}
	}
	return false
}

// TestCascadingDeletion: deleting a Deployment removes its ReplicaSets
// and their pods (the garbage collector, in the background).
func TestCascadingDeletion(t *testing.T) {
	c := newCluster(t, 2, builtin.Config{})
	if err := c.env.Client.Create(c.ctx, newDeployment("default", "web", 4, "nginx:1")); err != nil {
		t.Fatal(err)
	}
	c.eventually("4 replicas available", nudge, func() (bool, string) { return c.deploymentDone("default", "web") })
	d := &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"}}
	if err := c.env.Client.Delete(c.ctx, d); err != nil {
		t.Fatal(err)
	}
	c.eventually("ReplicaSets and pods gone", nudge, func() (bool, string) {
		var rss api.ReplicaSetList
		if err := c.env.Client.List(c.ctx, &rss, client.ListOptions{Namespace: "default"}); err != nil {
			return false, err.Error()
		}
		pods := c.pods("default", map[string]string{"app": "web"})
		return len(rss.Items) == 0 && len(pods) == 0, fmt.Sprintf("%d ReplicaSets, %d pods left", len(rss.Items), len(pods))
	})
}

// TestNamespaceDeletion: a new namespace gets its default ServiceAccount;
// deleting it removes what it holds, running pods included, and then the
// namespace itself.
func TestNamespaceDeletion(t *testing.T) {
	c := newCluster(t, 2, builtin.Config{})
	if err := c.env.CreateNamespace(c.ctx, "team"); err != nil {
		t.Fatal(err)
	}
	if _, err := controllertest.WaitFor(c.ctx, c.env.Client, "team", "default", func(*api.ServiceAccount) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if err := c.env.Client.Create(c.ctx, newDeployment("team", "web", 3, "nginx:1")); err != nil {
		t.Fatal(err)
	}
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "team", Name: "settings"}, Data: map[string]string{"a": "b"}}
	if err := c.env.Client.Create(c.ctx, cm); err != nil {
		t.Fatal(err)
	}
	c.eventually("3 replicas available", nudge, func() (bool, string) { return c.deploymentDone("team", "web") })

	if err := c.env.Client.Delete(c.ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team"}}); err != nil {
		t.Fatal(err)
	}
	c.eventually("namespace team gone", time.Second, func() (bool, string) {
		var ns api.Namespace
		err := c.env.Client.Get(c.ctx, "", "team", &ns)
		if api.IsNotFound(err) {
			return true, ""
		} else if err != nil {
			return false, err.Error()
		}
		pods := c.pods("team", nil)
		return false, fmt.Sprintf("phase %s, conditions %+v, %d pods left", ns.Status.Phase, ns.Status.Conditions, len(pods))
	})
}

// TestEndpointsFollowReadiness: a Service's Endpoints list the ready pods
// as addresses and the others as not ready, its EndpointSlices likewise
// (condition ready), and both follow a pod that changes.
func TestEndpointsFollowReadiness(t *testing.T) {
	c := newCluster(t, 2, builtin.Config{})
	svc := &api.Service{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []api.ServicePort{{Name: "http", Port: 80, TargetPort: api.FromString("http")}},
		},
	}
	if err := c.env.Client.Create(c.ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := c.env.Client.Create(c.ctx, newDeployment("default", "web", 3, "nginx:1")); err != nil {
		t.Fatal(err)
	}
	c.eventually("3 replicas available", nudge, func() (bool, string) { return c.deploymentDone("default", "web") })
	pods := c.pods("default", map[string]string{"app": "web"})
	ipOf := map[string]string{}
	for _, p := range pods {
		ipOf[p.Name] = p.Status.PodIP
	}
	endpoints := func(wantReady, wantNotReady []string) func() (bool, string) {
		return func() (bool, string) {
			var ep api.Endpoints
			if err := c.env.Client.Get(c.ctx, "default", "web", &ep); err != nil {
				return false, err.Error()
			}
			var ready, notReady []string
			for _, s := range ep.Subsets {
				for _, a := range s.Addresses {
					ready = append(ready, a.IP)
				}
				for _, a := range s.NotReadyAddresses {
					notReady = append(notReady, a.IP)
				}
				if len(s.Ports) != 1 || s.Ports[0].Port != 8080 {
					return false, fmt.Sprintf("ports %+v, want 8080 (the pods' port http)", s.Ports)
				}
			}
			return sameSet(ready, wantReady) && sameSet(notReady, wantNotReady),
				fmt.Sprintf("ready %v not ready %v, want %v and %v", ready, notReady, wantReady, wantNotReady)
		}
	}
	slices := func(wantReady, wantNotReady []string) func() (bool, string) {
		return func() (bool, string) {
			var list api.EndpointSliceList
			sel := labels.SelectorFromSet(map[string]string{api.LabelServiceName: "web"})
			if err := c.env.Client.List(c.ctx, &list, client.ListOptions{Namespace: "default", LabelSelector: sel}); err != nil {
				return false, err.Error()
			}
			var ready, notReady []string
			for _, s := range list.Items {
				for _, e := range s.Endpoints {
					if e.Conditions.Ready != nil && *e.Conditions.Ready {
						ready = append(ready, e.Addresses...)
					} else {
						notReady = append(notReady, e.Addresses...)
					}
				}
			}
			return sameSet(ready, wantReady) && sameSet(notReady, wantNotReady),
				fmt.Sprintf("%d slices: ready %v not ready %v, want %v and %v", len(list.Items), ready, notReady, wantReady, wantNotReady)
		}
	}
	all := []string{ipOf[pods[0].Name], ipOf[pods[1].Name], ipOf[pods[2].Name]}
	c.eventually("every pod an address", nudge, endpoints(all, nil))
	c.eventually("every pod a ready endpoint of the slices", nudge, slices(all, nil))

	if err := c.nodes.SetReady(c.ctx, "default", pods[0].Name, false); err != nil {
		t.Fatal(err)
	}
	c.eventually("the unready pod a not-ready address", nudge, endpoints(all[1:], all[:1]))
	c.eventually("the unready pod a not-ready endpoint of the slices", nudge, slices(all[1:], all[:1]))
	if err := c.nodes.SetReady(c.ctx, "default", pods[0].Name, true); err != nil {
		t.Fatal(err)
	}
	c.eventually("the pod ready again", nudge, endpoints(all, nil))
	c.eventually("the pod ready again in the slices", nudge, slices(all, nil))
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s] == 0 {
			return false
		}
		seen[s]--
	}
	return true
}
