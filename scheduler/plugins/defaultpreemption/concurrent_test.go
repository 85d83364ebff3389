package defaultpreemption_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
	"github.com/drover-io/drover/scheduler/internal/queue"
)

// miniCluster plays scheduling cycles with the scheduler's framework as
// the Scheduler does, without its goroutines: a cycle per pending pod in
// turn; a pod placed is bound, a pod preemption made room for is
// nominated (in the scheduling queue, the Nominator the framework reads,
// and in its status), and the victims preemption deleted are gone before
// the next cycle.
type miniCluster struct {
	t       *testing.T
	fw      *scheduler.Framework
	client  *victimClient
	q       *queue.PriorityQueue
	nodes   []*api.Node
	bound   map[string]*api.Pod // by name
	pending []*api.Pod          // in creation order
	deleted []string            // victims, in order
}

// victimClient is a framework.Client that records the pods preemption
// deletes; binding is the miniCluster's.
type victimClient struct {
	mu      sync.Mutex
	deleted []string
}

func (c *victimClient) Bind(context.Context, string, string, api.UID, string) error { return nil }
func (c *victimClient) DeletePod(_ context.Context, p *api.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted = append(c.deleted, p.Name)
	return nil
}
func (c *victimClient) SetNominatedNode(context.Context, *api.Pod, string) error { return nil }

func (c *victimClient) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.deleted
	c.deleted = nil
	return d
}

func newMiniCluster(t *testing.T, nodes []*api.Node, pods []*api.Pod) *miniCluster {
	// Only the queue's nominations are used: no pod is popped, so the
	// order does not matter.
	q, err := queue.New(queue.Config{Less: func(a, b *framework.QueuedPodInfo) bool { return false },
		Clock: fakeclock.New(time.Unix(0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	c := &miniCluster{t: t, client: &victimClient{}, q: q, nodes: nodes, bound: map[string]*api.Pod{}}
	c.fw = newFramework(t, c.client)
	c.fw.SetNominator(q)
	for _, p := range pods {
		c.bound[p.Name] = p
	}
	return c
}

// cycle runs one scheduling cycle for the pending pod p.
func (c *miniCluster) cycle(p *api.Pod) {
	c.t.Helper()
	names := make([]string, 0, len(c.bound))
	for n := range c.bound {
		names = append(names, n)
	}
	sort.Strings(names)
	var pods []*api.Pod
	for _, n := range names {
		pods = append(pods, c.bound[n])
	}
	res := c.fw.Schedule(context.Background(), framework.NewCycleState(), p, cache.NewSnapshotFrom(c.nodes, pods))
	for _, v := range c.client.take() {
		if _, ok := c.bound[v]; !ok {
			c.t.Fatalf("pod %s: preemption deleted %s, which is not running", p.Name, v)
		}
		delete(c.bound, v)
		c.deleted = append(c.deleted, v)
	}
	switch {
	case res.Node != "":
		// The Scheduler drops the nomination when it binds the pod, and
		// the queue forgets the pod once the informer sees it bound.
		c.q.DeleteNominatedPodIfExists(p)
		p.Spec.NodeName = res.Node
		c.q.Delete(p)
		c.bound[p.Name] = p
		c.pending = slices.DeleteFunc(c.pending, func(x *api.Pod) bool { return x == p })
	case res.NominatedNode != "":
		p.Status.NominatedNodeName = res.NominatedNode
		c.q.AddNominatedPod(framework.NewPodInfo(p), res.NominatedNode)
	case res.Status.Code() == framework.Error:
		c.t.Fatalf("pod %s: %v", p.Name, res.Status.Err())
	}
}

func cpuNode(name, cpu string) *api.Node {
	n := &api.Node{}
	n.Name = name
	n.Labels = map[string]string{"kubernetes.io/hostname": name}
	n.Status.Allocatable = api.ResourceList{api.ResourceCPU: resource.MustParse(cpu),
		api.ResourceMemory: resource.MustParse("1Gi"), "pods": resource.MustParse("10")}
	return n
}

func cpuPod(name, node string, prio int32, cpu string) *api.Pod {
	p := &api.Pod{}
	p.Name, p.Namespace, p.UID = name, "default", api.UID(name)
	p.Spec.NodeName = node
	p.Spec.Priority = &prio
	p.Spec.Containers = []api.Container{{Name: "c", Resources: api.ResourceRequirements{
		Requests: api.ResourceList{api.ResourceCPU: resource.MustParse(cpu)}}}}
	return p
}

// TestConcurrentPreemptors: two preemptors of the same priority, the
// second tried while the first is nominated and not bound yet. n1 (2
// cpu) holds low (priority 1) and mid (50); n2 holds two pods of
// priority 10. The first preempts low on n1. The second must not be
// promised the room on n1 that the first holds (which, ignoring the
// nomination, looks free: a node with no victims), but preempt on n2,
// where its victims have a lower priority than mid; then both are bound,
// each on its own node, and mid stays.
func TestConcurrentPreemptors(t *testing.T) {
	c := newMiniCluster(t, []*api.Node{cpuNode("n1", "2"), cpuNode("n2", "2")}, []*api.Pod{
		cpuPod("low", "n1", 1, "1"), cpuPod("mid", "n1", 50, "1"),
		cpuPod("c1", "n2", 10, "1"), cpuPod("c2", "n2", 10, "1"),
	})
	first, second := cpuPod("first", "", 100, "1"), cpuPod("second", "", 100, "1")
	c.pending = []*api.Pod{first, second}

	c.cycle(first)
	if first.Status.NominatedNodeName != "n1" || !slices.Equal(c.deleted, []string{"low"}) {
		t.Fatalf("first: nominated %q, deleted %v; want n1, [low]", first.Status.NominatedNodeName, c.deleted)
	}
	c.cycle(second)
	if second.Status.NominatedNodeName != "n2" || len(c.deleted) != 2 || c.deleted[1] == "mid" {
		t.Fatalf("second: nominated %q, deleted %v; want n2 and one of n2's pods deleted", second.Status.NominatedNodeName, c.deleted)
	}
	// Retry the pending pods until both are bound.
	for round := 0; len(c.pending) > 0; round++ {
		if round == 5 {
			t.Fatalf("not bound after %d rounds: %v pending (first nominated %q, second %q)",
				round, names(c.pending), first.Status.NominatedNodeName, second.Status.NominatedNodeName)
		}
		for _, p := range slices.Clone(c.pending) {
			c.cycle(p)
		}
	}
	for _, n := range []string{"n1", "n2"} {
		if pis := c.q.NominatedPodsForNode(n); len(pis) != 0 {
			t.Errorf("%d pods still nominated to %s once bound", len(pis), n)
		}
	}
	if first.Spec.NodeName != "n1" || second.Spec.NodeName != "n2" {
		t.Errorf("first on %q, second on %q; want n1, n2", first.Spec.NodeName, second.Spec.NodeName)
	}
	if _, ok := c.bound["mid"]; !ok || len(c.deleted) != 2 {
		t.Errorf("deleted %v; want low and one of c1, c2 only", c.deleted)
	}
}

// TestPreemptorTakesRoomOfLowerNominated: a pod nominated to a node does
// not keep its room from a preemptor of higher priority, in the what-if
// as in Filter: the preemptor that needs the whole of n1 deletes only
// the running pod, not counting the nominated one.
func TestPreemptorTakesRoomOfLowerNominated(t *testing.T) {
	c := newMiniCluster(t, []*api.Node{cpuNode("n1", "2")}, []*api.Pod{cpuPod("low", "n1", 1, "1")})
	waiting := cpuPod("waiting", "", 20, "1")
	waiting.Status.NominatedNodeName = "n1"
	c.q.Add(waiting)
	urgent := cpuPod("urgent", "", 100, "2")
	c.pending = []*api.Pod{urgent, waiting}
	c.cycle(urgent)
	if urgent.Status.NominatedNodeName != "n1" || !slices.Equal(c.deleted, []string{"low"}) {
		t.Fatalf("urgent: nominated %q, deleted %v; want n1, [low]", urgent.Status.NominatedNodeName, c.deleted)
	}
	c.cycle(urgent)
	if urgent.Spec.NodeName != "n1" {
		t.Fatalf("urgent not bound to n1 once low is gone (node %q)", urgent.Spec.NodeName)
	}
}

// TestEqualPriorityNominatedBlocksWhatIf: with a pod of the same
// priority nominated to the only node, where it fits only once the one
// running pod is gone, a second preemptor finds that deleting it is not
// enough: it deletes nothing.
func TestEqualPriorityNominatedBlocksWhatIf(t *testing.T) {
	c := newMiniCluster(t, []*api.Node{cpuNode("n1", "2")}, []*api.Pod{cpuPod("low", "n1", 1, "1")})
	held := cpuPod("held", "", 100, "1")
	held.Status.NominatedNodeName = "n1"
	c.q.Add(held)
	big := cpuPod("big", "", 100, "2")
	c.pending = []*api.Pod{big}
	c.cycle(big)
	if big.Status.NominatedNodeName != "" || len(c.deleted) != 0 {
		t.Fatalf("big: nominated %q, deleted %v; want neither", big.Status.NominatedNodeName, c.deleted)
	}
}

// TestDeletedPreemptorFreesItsRoom: once a nominated pod is deleted (the
// queue forgets it, and its nomination), the room it held is free: the
// next preemptor takes it and deletes nothing.
func TestDeletedPreemptorFreesItsRoom(t *testing.T) {
	c := newMiniCluster(t, []*api.Node{cpuNode("n1", "2")}, []*api.Pod{cpuPod("low", "n1", 1, "1")})
	held := cpuPod("held", "", 100, "1")
	held.Status.NominatedNodeName = "n1"
	c.q.Add(held)
	next := cpuPod("next", "", 100, "1")
	c.cycle(next)
	if next.Status.NominatedNodeName != "n1" || !slices.Equal(c.deleted, []string{"low"}) {
		t.Fatalf("next, while held holds n1: nominated %q, deleted %v; want n1, [low]", next.Status.NominatedNodeName, c.deleted)
	}

	c = newMiniCluster(t, []*api.Node{cpuNode("n1", "2")}, []*api.Pod{cpuPod("low", "n1", 1, "1")})
	c.q.Add(held)
	c.q.Delete(held)
	next = cpuPod("next", "", 100, "1")
	c.cycle(next)
	if next.Spec.NodeName != "n1" || len(c.deleted) != 0 {
		t.Fatalf("next, held deleted: node %q, deleted %v; want bound to n1, nothing deleted", next.Spec.NodeName, c.deleted)
	}
}

func names(pods []*api.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = fmt.Sprintf("%s (nominated %q)", p.Name, p.Status.NominatedNodeName)
	}
	return out
}
