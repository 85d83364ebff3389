package scheduler

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler/internal/cache"
)

// barrierAnnotation is what the end-to-end runner writes on a node and a
// bound pod to learn that the scheduler has handled every change before
// it (see e2eCluster.settle).
const barrierAnnotation = "scenario.drover.io/barrier"

// e2eCluster plays a scenario with the real Scheduler (New, Run) on a
// controllertest API server: nodes and pods are created through the API,
// and each change is followed by a wait (polling with a deadline) until
// the scheduler has settled. It plays the node agent's one part that
// matters here: a bound pod being deleted (a preemption victim) is
// confirmed gone at once.
type e2eCluster struct {
	t       *testing.T
	ctx     context.Context
	env     *controllertest.Env
	clk     *fakeclock.Clock
	s       *Scheduler
	scores  bool
	known   []string        // every pod the scenario made, in order
	deleted map[string]bool // by the scenario
	barrier int
}

func newE2ECluster(t *testing.T, sc *scenario) *e2eCluster {
	t.Helper()
	clk := fakeclock.New(time.Now())
	env := controllertest.New(t, controllertest.WithClock(clk))
	c := &e2eCluster{
		t: t, ctx: controllertest.Context(t), env: env, clk: clk,
		scores: sc.ShowScores, deleted: make(map[string]bool),
	}
	// The cluster is there before the scheduler starts: its informers
	// list it in one go.
	for i := range sc.Nodes {
		c.createNode(api.DeepCopy(&sc.Nodes[i]))
	}
	for i := range sc.ExistingPods {
		p := api.DeepCopy(&sc.ExistingPods[i])
		if err := env.Client.Create(c.ctx, p); err != nil {
			t.Fatalf("create existing pod %s: %v", p.Name, err)
		}
		c.known = append(c.known, p.Name)
	}
	s, err := New(Config{Client: env.Client, Clock: clk, Profiles: []Profile{*sc.Profile}, Parallelism: 2})
	if err != nil {
		t.Fatalf("scheduler: %v", err)
	}
	c.s = s
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
	c.settle("start")
	return c
}

// createNode creates n and then writes its status (Create leaves status
// out), as a node agent registers its node.
func (c *e2eCluster) createNode(n *api.Node) {
	status := n.Status
	if err := c.env.Client.Create(c.ctx, n); err != nil {
		c.t.Fatalf("create node %s: %v", n.Name, err)
	}
	n.Status = status
	if err := c.env.Client.UpdateStatus(c.ctx, n); err != nil {
		c.t.Fatalf("node %s status: %v", n.Name, err)
	}
}

func (c *e2eCluster) createPod(p *api.Pod) {
	if err := c.env.Client.Create(c.ctx, p); err != nil {
		c.t.Fatalf("create pod %s: %v", p.Name, err)
	}
	c.known = append(c.known, p.Name)
	c.settle("create pod " + p.Name)
}

func (c *e2eCluster) addNode(n *api.Node) {
	c.createNode(n)
	c.settle("add node " + n.Name)
}

func (c *e2eCluster) updateNode(u *nodeUpdate) {
	err := client.RetryOnConflict(c.ctx, client.DefaultRetry, func() error {
		n := &api.Node{}
		if err := c.env.Client.Get(c.ctx, "", u.Name, n); err != nil {
			return err
		}
		u.apply(n)
		return c.env.Client.Update(c.ctx, n)
	})
	if err != nil {
		c.t.Fatalf("update node %s: %v", u.Name, err)
	}
	c.settle("update node " + u.Name)
}

func (c *e2eCluster) deletePod(name string) {
	c.deleted[name] = true
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name}}
	if err := c.env.Client.Delete(c.ctx, p, client.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		c.t.Fatalf("delete pod %s: %v", name, err)
	}
	c.settle("delete pod " + name)
}

// outcomes reads the pods from the API server: the node, the
// PodScheduled=False condition's message, the nominated node; the scores
// come from the scheduler's Explain.
func (c *e2eCluster) outcomes() map[string]podOutcome {
	var pods api.PodList
	if err := c.env.Client.List(c.ctx, &pods, client.InNamespace("default")); err != nil {
		c.t.Fatal(err)
	}
	byName := make(map[string]*api.Pod, len(pods.Items))
	for i := range pods.Items {
		byName[pods.Items[i].Name] = &pods.Items[i]
	}
	out := make(map[string]podOutcome, len(c.known))
	for _, name := range c.known {
		p, ok := byName[name]
		if !ok {
			out[name] = podOutcome{Deleted: true, Preempted: !c.deleted[name]}
			continue
		}
		o := podOutcome{Node: p.Spec.NodeName, Nominated: p.Status.NominatedNodeName}
		if o.Node == "" {
			o.Message = unschedulableMessage(p)
		} else if ex, ok := c.s.Explain("default", name); ok && c.scores {
			for _, s := range ex.Scores {
				o.Scores = append(o.Scores, NodeScore{Node: s.Node, Total: s.Total, Plugins: s.Plugins})
			}
		}
		out[name] = o
	}
	return out
}

// unschedulableMessage returns the message of p's PodScheduled=False
// condition with reason Unschedulable, or "".
func unschedulableMessage(p *api.Pod) string {
	for _, cond := range p.Status.Conditions {
		if cond.Type == api.PodScheduled && cond.Status == api.ConditionFalse && cond.Reason == "Unschedulable" {
			return cond.Message
		}
	}
	return ""
}

// settle waits, polling with a deadline, until the scheduler has done
// everything the last change leads to: quiet holds twice in a row with a
// barrier written in between. The barrier is an annotation written on a
// node and on a bound pod: quiet also requires the scheduler's cache to
// hold the objects at their latest resourceVersion, so once it holds
// again, each informer's handler has finished with every event before
// the barrier (a handler gets the events of its informer in order, on
// one goroutine), including the moves of waiting pods those events
// trigger, which quiet alone cannot tell from no move at all.
func (c *e2eCluster) settle(what string) {
	c.t.Helper()
	deadline := time.Now().Add(controllertest.Timeout)
	needBarrier := true
	why := ""
	for wait := time.Millisecond; ; wait = min(2*wait, 5*time.Millisecond) {
		var ok bool
		ok, why = c.quiet()
		switch {
		case ok && !needBarrier:
			return
		case ok:
			c.writeBarrier()
			needBarrier = false
		default:
			needBarrier = true
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("after %s: the scheduler did not settle within %v: %s", what, controllertest.Timeout, why)
		}
		timer := time.NewTimer(wait)
		<-timer.C
	}
}

// quiet reports whether the scheduler is idle with a view of the
// cluster that matches the API server's: its cache holds every node and
// bound pod at their latest resourceVersion and nothing else (no pod
// assumed and not yet bound); every unbound pod waits in the
// unschedulable queue, its last attempt's message written in its
// PodScheduled condition; nothing is active or in backoff. It moves
// the fake clock by a second when a pod waits out a backoff, and confirms
// the deletion of pods being deleted (preemption's victims); if not
// quiet, it says why.
func (c *e2eCluster) quiet() (bool, string) {
	var nodes api.NodeList
	var pods api.PodList
	if err := c.env.Client.List(c.ctx, &nodes); err != nil {
		c.t.Fatal(err)
	}
	if err := c.env.Client.List(c.ctx, &pods); err != nil {
		c.t.Fatal(err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil {
			err := c.env.Client.Delete(c.ctx, p, client.DeleteOptions{GracePeriodSeconds: new(int64(0))})
			if err != nil && !api.IsNotFound(err) {
				c.t.Fatalf("confirm the deletion of pod %s: %v", p.Name, err)
			}
			return false, fmt.Sprintf("pod %s is being deleted", p.Name)
		}
	}
	snap := cache.NewSnapshot()
	if err := c.s.cache.UpdateSnapshot(snap); err != nil {
		c.t.Fatal(err)
	}
	if got, want := len(snap.List()), len(nodes.Items); got != want {
		return false, fmt.Sprintf("the cache has %d nodes, the API server %d", got, want)
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		ni := snap.Get(n.Name)
		if ni == nil || ni.Node.ResourceVersion != n.ResourceVersion {
			return false, fmt.Sprintf("the cache does not have node %s at resourceVersion %s", n.Name, n.ResourceVersion)
		}
	}
	cached := make(map[string]string) // pod name → resourceVersion
	for _, ni := range snap.List() {
		for _, pi := range ni.Pods {
			cached[pi.Pod.Name] = pi.Pod.ResourceVersion
		}
	}
	bound, pending := 0, 0
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Spec.NodeName != "" {
			bound++
			if rv, ok := cached[p.Name]; !ok || rv != p.ResourceVersion {
				return false, fmt.Sprintf("the cache does not have pod %s at resourceVersion %s", p.Name, p.ResourceVersion)
			}
			continue
		}
		pending++
		switch where := c.s.queue.Where(p); where {
		case "unschedulable":
		case "backoff":
			c.clk.Advance(time.Second)
			return false, fmt.Sprintf("pod %s is in backoff", p.Name)
		default:
			return false, fmt.Sprintf("pod %s is not waiting in the unschedulable queue (%q)", p.Name, where)
		}
		ex, ok := c.s.Explain(p.Namespace, p.Name)
		if !ok || ex.Result != "Unschedulable" {
			return false, fmt.Sprintf("pod %s has no unschedulable attempt: %+v", p.Name, ex)
		}
		if msg := unschedulableMessage(p); msg != ex.Message {
			return false, fmt.Sprintf("pod %s: PodScheduled says %q, its last attempt %q", p.Name, msg, ex.Message)
		}
	}
	if len(cached) != bound {
		return false, fmt.Sprintf("the cache has %d pods, the API server %d bound ones", len(cached), bound)
	}
	if n := c.s.queue.Len(); n.Active != 0 || n.Backoff != 0 || n.Unschedulable != pending {
		return false, fmt.Sprintf("queue %+v, %d pods unbound", n, pending)
	}
	return true, ""
}

// writeBarrier writes the next barrier annotation on the first node and
// the first bound pod (when there are any).
func (c *e2eCluster) writeBarrier() {
	c.barrier++
	patch := []byte(`{"metadata":{"annotations":{"` + barrierAnnotation + `":"` + strconv.Itoa(c.barrier) + `"}}}`)
	var nodes api.NodeList
	if err := c.env.Client.List(c.ctx, &nodes); err != nil {
		c.t.Fatal(err)
	}
	if len(nodes.Items) > 0 {
		if err := c.env.Client.Patch(c.ctx, &nodes.Items[0], client.MergePatch, patch); err != nil {
			c.t.Fatalf("barrier on node %s: %v", nodes.Items[0].Name, err)
		}
	}
	var pods api.PodList
	if err := c.env.Client.List(c.ctx, &pods); err != nil {
		c.t.Fatal(err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
			if err := c.env.Client.Patch(c.ctx, p, client.MergePatch, patch); err != nil && !api.IsNotFound(err) {
				c.t.Fatalf("barrier on pod %s: %v", p.Name, err)
			}
			return
		}
	}
}
