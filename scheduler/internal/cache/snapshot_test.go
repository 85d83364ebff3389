package cache

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

func mustUpdate(t *testing.T, c *Cache, s *Snapshot) {
	t.Helper()
	if err := c.UpdateSnapshot(s); err != nil {
		t.Fatalf("UpdateSnapshot: %v", err)
	}
}

func TestUpdateSnapshotIncremental(t *testing.T) {
	c := New(Config{})
	for _, n := range []string{"a", "b", "c", "e"} {
		c.AddNode(makeNode(n, 1000))
	}
	s := NewSnapshot()
	mustUpdate(t, c, s)
	before := map[string]*framework.NodeInfo{}
	for _, ni := range s.List() {
		before[ni.Name()] = ni
	}

	// Nothing changed: the same NodeInfos.
	mustUpdate(t, c, s)
	for _, ni := range s.List() {
		if ni != before[ni.Name()] {
			t.Fatalf("no change: node %s was cloned again", ni.Name())
		}
	}

	// b gets a pod, c goes, d comes, e has an assumed pod with affinity.
	if err := c.AddPod(makePod("p", "b", 100)); err != nil {
		t.Fatal(err)
	}
	c.RemoveNode(makeNode("c", 1000))
	c.AddNode(makeNode("d", 1000))
	if err := c.AssumePod(withAntiAffinity(makePod("q", "e", 100))); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, c, s)
	if got, want := describe(s), "a cpu=0/1000 pods=\nb cpu=100/1000 pods=p\nd cpu=0/1000 pods=\ne cpu=100/1000 pods=q\naffinity: e\nanti-affinity: e\n"; got != want {
		t.Fatalf("snapshot:\n%s\nwant:\n%s", got, want)
	}
	if s.Get("a") != before["a"] {
		t.Error("a did not change but was cloned again")
	}
	if s.Get("b") == before["b"] || s.Get("e") == before["e"] {
		t.Error("b and e changed but kept their old NodeInfo")
	}
	if s.Get("c") != nil {
		t.Error("removed node c is still there")
	}
	// The NodeInfos of the last cycle did not change.
	if ni := before["b"]; len(ni.Pods) != 0 || ni.Requested.MilliCPU != 0 {
		t.Errorf("the previous snapshot's b changed: %d pods, cpu %d", len(ni.Pods), ni.Requested.MilliCPU)
	}

	// Changing the cache does not change the snapshot until the next
	// update.
	b := s.Get("b")
	if err := c.AddPod(makePod("r", "b", 100)); err != nil {
		t.Fatal(err)
	}
	if s.Get("b") != b || len(b.Pods) != 1 {
		t.Fatalf("the snapshot changed before UpdateSnapshot")
	}

	// q is confirmed on d (it was bound there), a gets a pod with
	// affinity.
	if err := c.AddPod(onNode(s.Get("e").Pods[0].Pod, "d")); err != nil {
		t.Fatal(err)
	}
	if err := c.AddPod(withAffinity(makePod("s", "a", 1))); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, c, s)
	if got, want := describe(s), "a cpu=1/1000 pods=s\nb cpu=200/1000 pods=p,r\nd cpu=100/1000 pods=q\ne cpu=0/1000 pods=\naffinity: a,d\nanti-affinity: d\n"; got != want {
		t.Fatalf("snapshot:\n%s\nwant:\n%s", got, want)
	}
	checkSnapshot(t, c, s)

	// The affinity pods go.
	_ = c.RemovePod(makePod("s", "a", 1))
	_ = c.RemovePod(makePod("q", "d", 1))
	mustUpdate(t, c, s)
	if got := names(s.HavePodsWithAffinity()) + "/" + names(s.HavePodsWithRequiredAntiAffinity()); got != "/" {
		t.Errorf("affinity lists %q, want empty", got)
	}
	checkSnapshot(t, c, s)
}

// TestUpdateSnapshotNodeReplaced: a node removed and added again between
// two updates, or removed while another is added, is not missed even
// though the node count does not change.
func TestUpdateSnapshotNodeReplaced(t *testing.T) {
	c := New(Config{})
	c.AddNode(makeNode("a", 1000))
	c.AddNode(makeNode("b", 1000))
	s := NewSnapshot()
	mustUpdate(t, c, s)

	c.RemoveNode(makeNode("a", 1000))
	c.AddNode(makeNode("a", 2000))
	mustUpdate(t, c, s)
	if got := s.Get("a").Allocatable.MilliCPU; got != 2000 {
		t.Errorf("a re-added with 2000m: snapshot has %dm", got)
	}

	c.RemoveNode(makeNode("b", 1000))
	c.AddNode(makeNode("c", 1000))
	mustUpdate(t, c, s)
	if got := names(s.List()); got != "a,c" {
		t.Errorf("b replaced by c: List() = %s", got)
	}
	checkSnapshot(t, c, s)
}

// TestUpdateSnapshotManyNodes goes past rebuildThreshold both ways.
func TestUpdateSnapshotManyNodes(t *testing.T) {
	c := New(Config{})
	s := NewSnapshot()
	for i := range 3 * rebuildThreshold {
		c.AddNode(makeNode(fmt.Sprintf("n%03d", i), 1000))
	}
	mustUpdate(t, c, s)
	checkSnapshot(t, c, s)
	for i := range 2 * rebuildThreshold {
		c.RemoveNode(makeNode(fmt.Sprintf("n%03d", 3*i/2), 1000))
	}
	mustUpdate(t, c, s)
	checkSnapshot(t, c, s)
	if got := len(s.List()); got != c.NodeCount() {
		t.Errorf("%d nodes listed, NodeCount() = %d", got, c.NodeCount())
	}
}

func TestUpdateSnapshotFromAnotherCache(t *testing.T) {
	c1, c2 := New(Config{}), New(Config{})
	c1.AddNode(makeNode("a", 1000))
	c1.AddNode(makeNode("b", 1000))
	c2.AddNode(makeNode("b", 2000))
	c2.AddNode(makeNode("c", 1000))
	s := NewSnapshot()
	mustUpdate(t, c1, s)
	mustUpdate(t, c2, s)
	if got, want := describe(s), "b cpu=0/2000 pods=\nc cpu=0/1000 pods=\naffinity: \nanti-affinity: \n"; got != want {
		t.Errorf("snapshot of c2 after c1:\n%s\nwant:\n%s", got, want)
	}

	s = NewSnapshotFrom([]*api.Node{makeNode("z", 1)}, nil)
	mustUpdate(t, c1, s)
	if got := names(s.List()); got != "a,b" {
		t.Errorf("NewSnapshotFrom updated from a cache: List() = %s, want a,b", got)
	}
	checkSnapshot(t, c1, s)
}

// TestUpdateSnapshotRepairs: a snapshot that does not match the cache is
// reported and rebuilt.
func TestUpdateSnapshotRepairs(t *testing.T) {
	c := New(Config{})
	c.AddNode(makeNode("a", 1000))
	c.AddNode(makeNode("b", 1000))
	s := NewSnapshot()
	mustUpdate(t, c, s)
	s.list = s.list[:1] // a bug somewhere
	if err := c.UpdateSnapshot(s); err == nil {
		t.Fatal("UpdateSnapshot of a broken snapshot: no error")
	}
	checkSnapshot(t, c, s)
	mustUpdate(t, c, s)
}

func TestNewSnapshotFrom(t *testing.T) {
	nodes := []*api.Node{makeNode("b", 2000), makeNode("a", 1000), makeNode("a", 3000)}
	pods := []*api.Pod{
		makePod("p", "a", 100),
		withAntiAffinity(makePod("q", "b", 200)),
		makePod("r", "b", 300),
		makePod("lost", "x", 400),   // on no node given
		makePod("pending", "", 500), // on no node
	}
	s := NewSnapshotFrom(nodes, pods)
	if got, want := describe(s), "a cpu=100/3000 pods=p\nb cpu=500/2000 pods=q,r\naffinity: b\nanti-affinity: b\n"; got != want {
		t.Errorf("snapshot:\n%s\nwant:\n%s", got, want)
	}
	if s.Get("x") != nil {
		t.Error("Get(x) of a node not given: not nil")
	}
	var _ framework.Snapshot = s
}

// TestUpdateSnapshotRandom applies random calls to a cache and checks
// after each few that a snapshot kept up to date incrementally shows what a
// new one shows, and that it re-cloned exactly the NodeInfos that changed.
func TestUpdateSnapshotRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := New(Config{})
	s := NewSnapshot()
	const nodes, pods = 12, 60
	node := func() string { return fmt.Sprintf("n%02d", rng.IntN(nodes)) }
	pod := func() *api.Pod {
		i := rng.IntN(pods)
		p := makePod(fmt.Sprintf("p%02d", i), node(), int64(1+rng.IntN(500)))
		switch i % 5 {
		case 0:
			withAffinity(p)
		case 1:
			withAntiAffinity(p)
		}
		return p
	}
	prev := map[string]*framework.NodeInfo{}
	for round := range 400 {
		for range 1 + rng.IntN(6) {
			switch rng.IntN(9) {
			case 0:
				c.AddNode(makeNode(node(), int64(1000+rng.IntN(3)*1000)))
			case 1:
				c.RemoveNode(makeNode(node(), 0))
			case 2, 3:
				_ = c.AddPod(pod())
			case 4:
				// Remove wherever the cache has it.
				_ = c.RemovePod(pod())
			case 5:
				p := pod()
				c.mu.Lock()
				if st := c.pods[keyOf(p)]; st != nil {
					p.Spec.NodeName = st.pod.Spec.NodeName
				}
				c.mu.Unlock()
				_ = c.UpdatePod(nil, p)
			case 6, 7:
				_ = c.AssumePod(pod())
			case 8:
				p := pod()
				c.mu.Lock()
				if st := c.pods[keyOf(p)]; st != nil {
					p.Spec.NodeName = st.pod.Spec.NodeName
				}
				c.mu.Unlock()
				_ = c.ForgetPod(p)
			}
		}
		if rng.IntN(40) == 0 { // sometimes a batch past rebuildThreshold
			for i := range rebuildThreshold + 1 {
				c.AddNode(makeNode(fmt.Sprintf("batch%d-%03d", round, i), 1000))
			}
		}
		if rng.IntN(40) == 0 {
			c.mu.Lock()
			var batch []string
			for name := range c.nodes {
				if len(name) > 5 && name[:5] == "batch" {
					batch = append(batch, name)
				}
			}
			c.mu.Unlock()
			for _, name := range batch {
				c.RemoveNode(makeNode(name, 0))
			}
		}
		mustUpdate(t, c, s)
		checkSnapshot(t, c, s)
		for _, ni := range s.List() {
			if old := prev[ni.Name()]; old != nil && old.Generation == ni.Generation && old != ni {
				t.Fatalf("round %d: node %s unchanged (generation %d) but cloned again", round, ni.Name(), ni.Generation)
			}
		}
		clear(prev)
		for _, ni := range s.List() {
			prev[ni.Name()] = ni
		}
	}
}

// TestConcurrentUse runs informer, scheduler, binder and cleanup calls at
// once; run with -race.
func TestConcurrentUse(t *testing.T) {
	c := New(Config{})
	const nodes, pods = 20, 200
	var wg sync.WaitGroup
	// Informer: nodes come and go, pods are added, updated, removed.
	wg.Go(func() {
		for i := range 2000 {
			n := makeNode(fmt.Sprintf("n%d", i%nodes), 4000)
			if i%7 == 0 {
				c.RemoveNode(n)
			} else {
				c.UpdateNode(nil, n)
			}
			p := makePod(fmt.Sprintf("bound%d", i%pods), fmt.Sprintf("n%d", i%nodes), 10)
			if c.AddPod(p) != nil {
				_ = c.RemovePod(p)
			}
		}
	})
	// Scheduler: assume a pod, snapshot, read it in parallel like Filter.
	var results = make(chan *api.Pod, pods)
	wg.Go(func() {
		defer close(results)
		s := NewSnapshot()
		for i := range pods {
			p := makePod(fmt.Sprintf("new%d", i), fmt.Sprintf("n%d", i%nodes), 10)
			if err := c.AssumePod(p); err != nil {
				t.Errorf("AssumePod: %v", err)
				return
			}
			results <- p
			if err := c.UpdateSnapshot(s); err != nil {
				t.Errorf("UpdateSnapshot: %v", err)
				return
			}
			var read sync.WaitGroup
			for range 2 {
				read.Go(func() {
					var sum int64
					for _, ni := range s.List() {
						sum += ni.Requested.MilliCPU + int64(len(ni.Pods))
					}
					_ = s.Get("n1")
					_ = s.HavePodsWithAffinity()
					_ = sum
				})
			}
			read.Wait()
			_ = c.NodeCount()
		}
	})
	// Binder: half the bindings fail, half are observed.
	wg.Go(func() {
		i := 0
		for p := range results {
			if i%2 == 0 {
				if err := c.ForgetPod(p); err != nil {
					t.Errorf("ForgetPod: %v", err)
				}
			} else {
				_ = c.FinishBinding(p)
				if err := c.AddPod(p); err != nil {
					t.Errorf("AddPod: %v", err)
				}
			}
			i++
			_ = c.IsAssumed(p)
		}
	})
	wg.Go(func() {
		for range 500 {
			c.Cleanup()
			_ = c.PodCount()
		}
	})
	wg.Wait()
	s := NewSnapshot()
	mustUpdate(t, c, s)
	checkSnapshot(t, c, s)
	if got := len(c.assumed); got != 0 {
		t.Errorf("%d pods still assumed", got)
	}
}
