package scheduler

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/plugins/queuesort"
)

// pureCluster plays a scenario with Framework.Schedule on a snapshot of
// its own nodes and pods, and a small model of the scheduling queue: a
// pod no node fits waits until a cluster event that may help it (by the
// plugins' interests as the Scheduler gives them to its queue: interest) and is
// then tried again; pods are tried in queue order (priority, then the
// order they were created in). Preemption deletes its victims through a
// recording framework.Client, which takes them out of the cluster.
type pureCluster struct {
	t      *testing.T
	ctx    context.Context
	fw     *Framework
	client *pureClient
	nodes  []*api.Node
	bound  map[string]*api.Pod // by name
	// pending are the pods not bound yet, in creation order.
	pending   []*purePending
	out       map[string]podOutcome
	nominated pureNominator
	interest  map[string][]framework.ClusterEvent
}

// purePending is a pod waiting in the modelled queue.
type purePending struct {
	pod     *api.Pod
	plugins map[string]struct{} // that rejected it last
	active  bool                // to be tried
}

func newPureCluster(t *testing.T, sc *scenario) *pureCluster {
	t.Helper()
	c := &pureCluster{
		t: t, ctx: context.Background(),
		client:    &pureClient{},
		bound:     make(map[string]*api.Pod),
		out:       make(map[string]podOutcome),
		nominated: pureNominator{},
	}
	fw, err := NewFramework(*sc.Profile, FrameworkOptions{
		Client: c.client, Rand: rand.New(rand.NewPCG(1, 2)), Parallelism: 2,
		Clock: fakeclock.New(time.Unix(0, 0)),
	})
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	fw.SetNominator(c.nominated)
	c.fw = fw
	c.interest = interest(map[string]*Framework{fw.Name(): fw})
	for i := range sc.Nodes {
		n := api.DeepCopy(&sc.Nodes[i])
		api.Default(n)
		c.nodes = append(c.nodes, n)
	}
	for i := range sc.ExistingPods {
		p := c.admit(api.DeepCopy(&sc.ExistingPods[i]))
		c.bound[p.Name] = p
		c.out[p.Name] = podOutcome{Node: p.Spec.NodeName}
	}
	return c
}

// admit gives p what the API server would: defaults and a uid.
func (c *pureCluster) admit(p *api.Pod) *api.Pod {
	api.Default(p)
	p.UID = api.UID("uid-" + p.Name)
	return p
}

func (c *pureCluster) createPod(p *api.Pod) {
	// A pod created with spec.nodeName goes through the cycle too: the
	// NodeName plugin lets only its node pass (end to end, the API
	// server binds it at once).
	p = c.admit(p)
	c.pending = append(c.pending, &purePending{pod: p, active: true})
	c.out[p.Name] = podOutcome{}
	c.drain()
}

func (c *pureCluster) addNode(n *api.Node) {
	api.Default(n)
	c.nodes = append(c.nodes, n)
	c.event(framework.NodeAdd)
	c.drain()
}

func (c *pureCluster) updateNode(u *nodeUpdate) {
	i := slices.IndexFunc(c.nodes, func(n *api.Node) bool { return n.Name == u.Name })
	if i < 0 {
		c.t.Fatalf("update node %s: no such node", u.Name)
	}
	old := c.nodes[i]
	n := api.DeepCopy(old)
	u.apply(n)
	c.nodes[i] = n
	for _, ev := range nodeEvents(old, n) {
		c.event(ev)
	}
	c.drain()
}

func (c *pureCluster) deletePod(name string) {
	if _, ok := c.bound[name]; ok {
		delete(c.bound, name)
		c.out[name] = podOutcome{Deleted: true}
		c.event(framework.AssignedPodDelete)
		c.drain()
		return
	}
	i := slices.IndexFunc(c.pending, func(pp *purePending) bool { return pp.pod.Name == name })
	if i < 0 {
		c.t.Fatalf("delete pod %s: no such pod", name)
	}
	c.nominated.remove(c.pending[i].pod)
	c.pending = slices.Delete(c.pending, i, i+1)
	c.out[name] = podOutcome{Deleted: true}
}

func (c *pureCluster) outcomes() map[string]podOutcome {
	m := make(map[string]podOutcome, len(c.out))
	for k, v := range c.out {
		m[k] = v
	}
	return m
}

// event marks the waiting pods that ev may help as to be tried, as the
// queue's MoveAllToActiveOrBackoff does.
func (c *pureCluster) event(ev framework.ClusterEvent) {
	for _, pp := range c.pending {
		if !pp.active && c.helps(ev, pp.plugins) {
			pp.active = true
		}
	}
}

// helps reports whether ev may help a pod that plugins rejected, by the
// plugins' interests as the Scheduler gives them to its queue (a plugin
// with none recorded cares about every event; so does a pod no plugin
// rejected).
func (c *pureCluster) helps(ev framework.ClusterEvent, plugins map[string]struct{}) bool {
	if len(plugins) == 0 {
		return true
	}
	for p := range plugins {
		evs, ok := c.interest[p]
		if !ok || slices.Contains(evs, ev) || slices.Contains(evs, framework.Any) ||
			slices.Contains(evs, framework.NodeUpdate) && ev.IsNodeUpdate() {
			return true
		}
	}
	return false
}

// drain tries the pods to be tried, best first, until none is left.
func (c *pureCluster) drain() {
	for {
		var next *purePending
		for _, pp := range c.pending {
			if pp.active && (next == nil || queuesort.Priority(pp.pod) > queuesort.Priority(next.pod)) {
				next = pp
			}
		}
		if next == nil {
			return
		}
		c.scheduleOne(next)
	}
}

// scheduleOne runs a cycle for pp and applies what it decided.
func (c *pureCluster) scheduleOne(pp *purePending) {
	pp.active = false
	pod := pp.pod
	var bound []*api.Pod
	for _, name := range sortedNames(c.bound) {
		bound = append(bound, c.bound[name])
	}
	c.client.reset()
	res := c.fw.Schedule(c.ctx, framework.NewCycleState(), pod, NewSnapshot(c.nodes, bound))
	if res.Status == nil {
		if len(res.Scores) > 1 && res.Scores[0].Total == res.Scores[1].Total {
			c.t.Fatalf("pod %s: nodes %s and %s tie at %d: the scheduler picks one at random; change the scenario so that the best node is unique",
				pod.Name, res.Scores[0].Node, res.Scores[1].Node, res.Scores[0].Total)
		}
		pod.Spec.NodeName = res.Node
		c.pending = slices.DeleteFunc(c.pending, func(x *purePending) bool { return x == pp })
		c.nominated.remove(pod)
		c.bound[pod.Name] = pod
		o := c.out[pod.Name]
		o.Node, o.Scores = res.Node, res.Scores
		c.out[pod.Name] = o
		c.event(framework.AssignedPodAdd)
		return
	}
	if !res.Status.IsRejected() {
		c.t.Fatalf("pod %s: %v", pod.Name, res.Status.Err())
	}
	pp.plugins = res.UnschedulablePlugins
	o := c.out[pod.Name]
	o.Message = res.Status.Message()
	if res.NominatedNode != "" {
		pod.Status.NominatedNodeName = res.NominatedNode
		c.nominated.set(pod, res.NominatedNode)
		o.Nominated = res.NominatedNode
	}
	c.out[pod.Name] = o
	for _, v := range c.client.victims() {
		delete(c.bound, v)
		c.out[v] = podOutcome{Deleted: true, Preempted: true}
		c.event(framework.AssignedPodDelete)
	}
}

// pureNominator holds the pods preemption nominated, by node.
type pureNominator map[string][]*framework.PodInfo

func (n pureNominator) NominatedPodsForNode(node string) []*framework.PodInfo { return n[node] }

func (n pureNominator) set(p *api.Pod, node string) {
	n.remove(p)
	n[node] = append(n[node], framework.NewPodInfo(p))
}

func (n pureNominator) remove(p *api.Pod) {
	for node, pis := range n {
		n[node] = slices.DeleteFunc(pis, func(pi *framework.PodInfo) bool { return pi.Pod.UID == p.UID })
	}
}

// pureClient is the framework.Client of the pure runner: it records the
// pods preemption deletes (the runner then takes them out of the
// cluster). Binding is the runner's own.
type pureClient struct {
	mu      sync.Mutex
	deleted []string
}

func (c *pureClient) Bind(context.Context, string, string, api.UID, string) error { return nil }

func (c *pureClient) DeletePod(_ context.Context, p *api.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted = append(c.deleted, p.Name)
	return nil
}

func (c *pureClient) SetNominatedNode(context.Context, *api.Pod, string) error { return nil }

func (c *pureClient) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted = nil
}

func (c *pureClient) victims() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.deleted)
}
