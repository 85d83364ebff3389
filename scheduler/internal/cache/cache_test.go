package cache

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
)

// step is one call on a cache and the error it must return (nil: none).
type step struct {
	call string
	do   func(c *Cache) error
	err  error
}

func addNode(n *api.Node) step {
	return step{call: "AddNode " + n.Name, do: func(c *Cache) error { c.AddNode(n); return nil }}
}

func updateNode(n *api.Node) step {
	return step{call: "UpdateNode " + n.Name, do: func(c *Cache) error { c.UpdateNode(nil, n); return nil }}
}

func removeNode(n *api.Node) step {
	return step{call: "RemoveNode " + n.Name, do: func(c *Cache) error { c.RemoveNode(n); return nil }}
}

func podStep(method string, f func(*Cache, *api.Pod) error, p *api.Pod, err error) step {
	return step{call: method + " " + p.Name + "@" + p.Spec.NodeName, do: func(c *Cache) error { return f(c, p) }, err: err}
}

func addPod(p *api.Pod, err error) step    { return podStep("AddPod", (*Cache).AddPod, p, err) }
func removePod(p *api.Pod, err error) step { return podStep("RemovePod", (*Cache).RemovePod, p, err) }
func assumePod(p *api.Pod, err error) step { return podStep("AssumePod", (*Cache).AssumePod, p, err) }
func finish(p *api.Pod, err error) step {
	return podStep("FinishBinding", (*Cache).FinishBinding, p, err)
}
func forgetPod(p *api.Pod, err error) step { return podStep("ForgetPod", (*Cache).ForgetPod, p, err) }
func updatePod(p *api.Pod, err error) step {
	return podStep("UpdatePod", func(c *Cache, p *api.Pod) error { return c.UpdatePod(nil, p) }, p, err)
}

func TestCache(t *testing.T) {
	n1, n2 := makeNode("n1", 4000), makeNode("n2", 2000)
	a, b := makePod("a", "n1", 500), makePod("b", "n1", 250)
	aOn2 := onNode(a, "n2")
	noNode := makePod("x", "", 100)
	noUID := makePod("u", "n1", 100)
	noUID.UID = ""

	tests := []struct {
		name  string
		steps []step
		// want is describe(snapshot) + describeCache(cache).
		want             string
		nodes, pods      int
		assumed, notSeen []*api.Pod // IsAssumed true / false
	}{{
		name:  "empty",
		want:  "affinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 0, pods: 0,
	}, {
		name:  "add nodes",
		steps: []step{addNode(n2), addNode(n1)},
		want:  "n1 cpu=0/4000 pods=\nn2 cpu=0/2000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 2,
	}, {
		name:  "add known node updates it",
		steps: []step{addNode(n1), addPod(a, nil), addNode(makeNode("n1", 8000))},
		want:  "n1 cpu=500/8000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1,
	}, {
		name:  "update node keeps pods",
		steps: []step{addNode(n1), addPod(a, nil), updateNode(makeNode("n1", 1000))},
		want:  "n1 cpu=500/1000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1,
	}, {
		name:  "update unknown node adds it",
		steps: []step{updateNode(n1)},
		want:  "n1 cpu=0/4000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1,
	}, {
		name:  "remove node without pods",
		steps: []step{addNode(n1), addNode(n2), removeNode(n1)},
		want:  "n2 cpu=0/2000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1,
	}, {
		name:  "remove unknown node is ignored",
		steps: []step{addNode(n1), removeNode(n2), removeNode(n2)},
		want:  "n1 cpu=0/4000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1,
	}, {
		name:  "node removed with pods leaves a placeholder",
		steps: []step{addNode(n1), addPod(a, nil), assumePod(b, nil), removeNode(n1)},
		want:  "affinity: \nanti-affinity: \nplaceholders: n1(a,b)\nassumed: b@n1\n",
		nodes: 0, pods: 2, assumed: []*api.Pod{b},
	}, {
		name:  "placeholder goes with its last pod",
		steps: []step{addNode(n1), addPod(a, nil), assumePod(b, nil), removeNode(n1), removePod(a, nil), forgetPod(b, nil)},
		want:  "affinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
	}, {
		name:  "node removed and added again has only its pods",
		steps: []step{addNode(n1), addPod(a, nil), removeNode(n1), removeNode(n1), addNode(n1)},
		want:  "n1 cpu=500/4000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1,
	}, {
		name:  "pod before its node",
		steps: []step{addPod(a, nil)},
		want:  "affinity: \nanti-affinity: \nplaceholders: n1(a)\nassumed: \n",
		pods:  1,
	}, {
		name:  "node comes to its pods",
		steps: []step{addPod(a, nil), assumePod(b, nil), addNode(n1)},
		want:  "n1 cpu=750/4000 pods=a,b\naffinity: \nanti-affinity: \nplaceholders: \nassumed: b@n1\n",
		nodes: 1, pods: 2, assumed: []*api.Pod{b},
	}, {
		name:  "add pod",
		steps: []step{addNode(n1), addPod(a, nil), addPod(b, nil)},
		want:  "n1 cpu=750/4000 pods=a,b\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 2, notSeen: []*api.Pod{a, b},
	}, {
		name:  "add pod without a node name",
		steps: []step{addPod(noNode, ErrNoNodeName)},
		want:  "affinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
	}, {
		name:  "add pod twice",
		steps: []step{addNode(n1), addPod(a, nil), addPod(a, ErrPodExists)},
		want:  "n1 cpu=500/4000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1,
	}, {
		name:  "pods without uid are known by name",
		steps: []step{addNode(n1), addPod(noUID, nil), addPod(noUID, ErrPodExists), updatePod(withCPU(noUID, 300), nil)},
		want:  "n1 cpu=300/4000 pods=u\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1,
	}, {
		name:  "update pod",
		steps: []step{addNode(n1), addPod(a, nil), updatePod(withCPU(a, 1000), nil)},
		want:  "n1 cpu=1000/4000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1,
	}, {
		name:  "update unknown pod",
		steps: []step{addNode(n1), updatePod(a, ErrPodNotFound)},
		want:  "n1 cpu=0/4000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1,
	}, {
		name:  "update assumed pod",
		steps: []step{addNode(n1), assumePod(a, nil), updatePod(withCPU(a, 1000), ErrPodAssumed)},
		want:  "n1 cpu=500/4000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: a@n1\n",
		nodes: 1, pods: 1, assumed: []*api.Pod{a},
	}, {
		name:  "update pod onto another node",
		steps: []step{addNode(n1), addNode(n2), addPod(a, nil), updatePod(aOn2, ErrWrongNode)},
		want:  "n1 cpu=500/4000 pods=a\nn2 cpu=0/2000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 2, pods: 1,
	}, {
		name:  "remove pod",
		steps: []step{addNode(n1), addPod(a, nil), addPod(b, nil), removePod(a, nil)},
		want:  "n1 cpu=250/4000 pods=b\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1,
	}, {
		name:  "remove pod removes it from the node the cache has it on",
		steps: []step{addNode(n1), addNode(n2), addPod(a, nil), removePod(aOn2, nil)},
		want:  "n1 cpu=0/4000 pods=\nn2 cpu=0/2000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 2,
	}, {
		name:  "remove unknown pod",
		steps: []step{addNode(n1), removePod(a, ErrPodNotFound), addPod(a, nil), removePod(a, nil), removePod(a, ErrPodNotFound)},
		want:  "n1 cpu=0/4000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1,
	}, {
		name:  "remove assumed pod",
		steps: []step{addNode(n1), assumePod(a, nil), removePod(a, nil)},
		want:  "n1 cpu=0/4000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, notSeen: []*api.Pod{a},
	}, {
		name:  "assumed pod counts",
		steps: []step{addNode(n1), addPod(b, nil), assumePod(a, nil)},
		want:  "n1 cpu=750/4000 pods=a,b\naffinity: \nanti-affinity: \nplaceholders: \nassumed: a@n1\n",
		nodes: 1, pods: 2, assumed: []*api.Pod{a}, notSeen: []*api.Pod{b},
	}, {
		name:  "assume pod without a node name",
		steps: []step{addNode(n1), assumePod(noNode, ErrNoNodeName)},
		want:  "n1 cpu=0/4000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, notSeen: []*api.Pod{noNode},
	}, {
		name:  "assume a pod twice",
		steps: []step{addNode(n1), addNode(n2), assumePod(a, nil), assumePod(aOn2, ErrPodExists)},
		want:  "n1 cpu=500/4000 pods=a\nn2 cpu=0/2000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: a@n1\n",
		nodes: 2, pods: 1, assumed: []*api.Pod{a},
	}, {
		name:  "assume an added pod",
		steps: []step{addNode(n1), addPod(a, nil), assumePod(a, ErrPodExists)},
		want:  "n1 cpu=500/4000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1, notSeen: []*api.Pod{a},
	}, {
		name:  "assume on an unknown node",
		steps: []step{assumePod(a, nil)},
		want:  "affinity: \nanti-affinity: \nplaceholders: n1(a)\nassumed: a@n1\n",
		pods:  1, assumed: []*api.Pod{a},
	}, {
		name:  "add confirms an assumed pod",
		steps: []step{addNode(n1), assumePod(a, nil), finish(a, nil), addPod(withCPU(a, 600), nil)},
		want:  "n1 cpu=600/4000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1, notSeen: []*api.Pod{a},
	}, {
		name:  "add confirms an assumed pod on the node it was bound to",
		steps: []step{addNode(n1), addNode(n2), assumePod(a, nil), addPod(aOn2, nil)},
		want:  "n1 cpu=0/4000 pods=\nn2 cpu=500/2000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 2, pods: 1, notSeen: []*api.Pod{a},
	}, {
		name:  "confirmed pod can be updated",
		steps: []step{addNode(n1), assumePod(a, nil), addPod(a, nil), updatePod(withCPU(a, 100), nil)},
		want:  "n1 cpu=100/4000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1,
	}, {
		name:  "forget assumed pod",
		steps: []step{addNode(n1), addPod(b, nil), assumePod(a, nil), forgetPod(a, nil)},
		want:  "n1 cpu=250/4000 pods=b\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1, notSeen: []*api.Pod{a},
	}, {
		name:  "forget after binding was sent",
		steps: []step{addNode(n1), assumePod(a, nil), finish(a, nil), forgetPod(a, nil)},
		want:  "n1 cpu=0/4000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1,
	}, {
		name:  "forget an added pod",
		steps: []step{addNode(n1), assumePod(a, nil), addPod(a, nil), forgetPod(a, ErrPodNotAssumed)},
		want:  "n1 cpu=500/4000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1,
	}, {
		name:  "forget an unknown pod",
		steps: []step{addNode(n1), forgetPod(a, ErrPodNotFound)},
		want:  "n1 cpu=0/4000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1,
	}, {
		name:  "forget on another node",
		steps: []step{addNode(n1), addNode(n2), assumePod(a, nil), forgetPod(aOn2, ErrWrongNode)},
		want:  "n1 cpu=500/4000 pods=a\nn2 cpu=0/2000 pods=\naffinity: \nanti-affinity: \nplaceholders: \nassumed: a@n1\n",
		nodes: 2, pods: 1, assumed: []*api.Pod{a},
	}, {
		name:  "finish binding of a pod not assumed does nothing",
		steps: []step{addNode(n1), finish(a, nil), addPod(a, nil), finish(a, nil)},
		want:  "n1 cpu=500/4000 pods=a\naffinity: \nanti-affinity: \nplaceholders: \nassumed: \n",
		nodes: 1, pods: 1,
	}, {
		name: "pods with affinity",
		steps: []step{
			addNode(n1), addNode(n2), addNode(makeNode("n3", 1000)),
			addPod(withAffinity(makePod("p", "n2", 1)), nil),
			assumePod(withAntiAffinity(makePod("q", "n3", 1)), nil),
			addPod(withAntiAffinity(makePod("r", "n1", 1)), nil),
		},
		want:  "n1 cpu=1/4000 pods=r\nn2 cpu=1/2000 pods=p\nn3 cpu=1/1000 pods=q\naffinity: n1,n2,n3\nanti-affinity: n1,n3\nplaceholders: \nassumed: q@n3\n",
		nodes: 3, pods: 3,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Config{})
			// s is updated after every step, to check the incremental
			// update along the way.
			s := NewSnapshot()
			for _, st := range tt.steps {
				err := st.do(c)
				if !errors.Is(err, st.err) || (err == nil) != (st.err == nil) {
					t.Fatalf("%s: error %v, want %v", st.call, err, st.err)
				}
				if err := c.UpdateSnapshot(s); err != nil {
					t.Fatalf("after %s: UpdateSnapshot: %v", st.call, err)
				}
				checkSnapshot(t, c, s)
			}
			if got := describe(s) + describeCache(c); got != tt.want {
				t.Errorf("after %d steps:\n%s\nwant:\n%s", len(tt.steps), got, tt.want)
			}
			if got := c.NodeCount(); got != tt.nodes {
				t.Errorf("NodeCount() = %d, want %d", got, tt.nodes)
			}
			if got := c.PodCount(); got != tt.pods {
				t.Errorf("PodCount() = %d, want %d", got, tt.pods)
			}
			for _, p := range tt.assumed {
				if !c.IsAssumed(p) {
					t.Errorf("IsAssumed(%s) = false, want true", p.Name)
				}
			}
			for _, p := range tt.notSeen {
				if c.IsAssumed(p) {
					t.Errorf("IsAssumed(%s) = true, want false", p.Name)
				}
			}
		})
	}
}

func TestErrorsNameThePod(t *testing.T) {
	c := New(Config{})
	a := makePod("a", "n1", 1)
	err := c.ForgetPod(a)
	if !errors.Is(err, ErrPodNotFound) {
		t.Fatalf("ForgetPod: %v, want ErrPodNotFound", err)
	}
	if want := "forget pod default/a (uid uid-a): cache: pod not in the cache"; err.Error() != want {
		t.Errorf("ForgetPod: %q, want %q", err, want)
	}
	_ = c.AssumePod(a)
	err = c.ForgetPod(onNode(a, "n2"))
	if !errors.Is(err, ErrWrongNode) || !strings.Contains(err.Error(), `assumed on node "n1", not "n2"`) {
		t.Errorf("ForgetPod on n2: %v", err)
	}
}

func TestAssumeTTL(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	var logs bytes.Buffer
	c := New(Config{AssumeTTL: 10 * time.Second, Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c.AddNode(makeNode("n1", 4000))
	a, b, conf := makePod("a", "n1", 100), makePod("b", "n1", 200), makePod("c", "n1", 400)
	for _, p := range []*api.Pod{a, b, conf} {
		if err := c.AssumePod(p); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSnapshot()
	requested := func() int64 {
		t.Helper()
		if err := c.UpdateSnapshot(s); err != nil {
			t.Fatal(err)
		}
		return s.Get("n1").Requested.MilliCPU
	}

	// Without FinishBinding the binding is still being sent: an assumed
	// pod stays however long that takes.
	clk.Advance(time.Hour)
	c.Cleanup()
	if got := requested(); got != 700 {
		t.Fatalf("before FinishBinding: requested %d, want 700", got)
	}

	_ = c.FinishBinding(a)
	_ = c.FinishBinding(conf)
	if err := c.AddPod(conf); err != nil { // conf's binding is seen
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	_ = c.FinishBinding(b)

	clk.Advance(5 * time.Second) // a's TTL is up, not past
	c.Cleanup()
	if !c.IsAssumed(a) || requested() != 700 {
		t.Fatalf("at a's deadline: a assumed %v, requested %d; want true, 700", c.IsAssumed(a), requested())
	}
	clk.Advance(time.Nanosecond)
	c.Cleanup()
	if c.IsAssumed(a) || !c.IsAssumed(b) || c.PodCount() != 2 || requested() != 600 {
		t.Fatalf("past a's deadline: a assumed %v, b %v, %d pods, requested %d; want false, true, 2, 600",
			c.IsAssumed(a), c.IsAssumed(b), c.PodCount(), requested())
	}
	if want := `msg="assumed pod expired: its binding was never observed" pod="default/a (uid uid-a)" node=n1`; !strings.Contains(logs.String(), want) {
		t.Errorf("log:\n%s\nwant a line with: %s", logs.String(), want)
	}
	// a's binding may still be seen: it is added like any pod.
	if err := c.AddPod(a); err != nil {
		t.Fatalf("AddPod of an expired pod: %v", err)
	}

	clk.Advance(5 * time.Second)
	c.Cleanup()
	if c.IsAssumed(b) || c.PodCount() != 2 || requested() != 500 {
		t.Fatalf("past b's deadline: b assumed %v, %d pods, requested %d; want false, 2, 500", c.IsAssumed(b), c.PodCount(), requested())
	}
	// Confirmed pods never expire.
	clk.Advance(24 * time.Hour)
	c.Cleanup()
	if c.PodCount() != 2 {
		t.Fatalf("confirmed pods expired: %d pods, want 2", c.PodCount())
	}
	checkSnapshot(t, c, s)
}

// TestBindingFinish checks the binding goroutine's handle: Finish starts
// the TTL as FinishBinding does; on a pod whose binding was observed, or
// that was forgotten and assumed again, it changes nothing.
func TestBindingFinish(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	c := New(Config{AssumeTTL: 10 * time.Second, Now: clk.Now})
	c.AddNode(makeNode("n1", 4000))
	a, conf, again := makePod("a", "n1", 100), makePod("c", "n1", 200), makePod("g", "n1", 400)
	ba, err := c.AssumeForBinding(a)
	if err != nil {
		t.Fatal(err)
	}
	bc, _ := c.AssumeForBinding(conf)
	bg, _ := c.AssumeForBinding(again)
	if _, err := c.AssumeForBinding(a); !errors.Is(err, ErrPodExists) {
		t.Fatalf("assume twice: %v, want ErrPodExists", err)
	}
	if err := c.AddPod(conf); err != nil { // conf's binding is seen before its goroutine finishes
		t.Fatal(err)
	}
	if err := c.ForgetPod(again); err != nil { // again's binding failed
		t.Fatal(err)
	}
	bg2, _ := c.AssumeForBinding(again) // and it is assumed again, not yet sent
	clk.Advance(time.Hour)
	c.Cleanup()
	if !c.IsAssumed(a) || !c.IsAssumed(again) {
		t.Fatal("assumed pods expired before their bindings finished")
	}

	ba.Finish()
	bc.Finish()
	bg.Finish() // the first attempt's handle: must not start the second's TTL
	clk.Advance(10*time.Second + time.Nanosecond)
	if n := c.Cleanup(); n != 1 || c.IsAssumed(a) || !c.IsAssumed(again) || c.PodCount() != 2 {
		t.Fatalf("past a's deadline: dropped %d, a assumed %v, again assumed %v, %d pods; want 1, false, true, 2",
			n, c.IsAssumed(a), c.IsAssumed(again), c.PodCount())
	}
	bg2.Finish()
	clk.Advance(10*time.Second + time.Nanosecond)
	if n := c.Cleanup(); n != 1 || c.IsAssumed(again) || c.PodCount() != 1 {
		t.Fatalf("past again's deadline: dropped %d, assumed %v, %d pods; want 1, false, 1", n, c.IsAssumed(again), c.PodCount())
	}
	Binding{}.Finish() // the zero handle does nothing
}

func TestDefaultAssumeTTL(t *testing.T) {
	clk := fakeclock.New(time.Unix(0, 0))
	c := New(Config{Now: clk.Now})
	a := makePod("a", "n1", 1)
	_ = c.AssumePod(a)
	_ = c.FinishBinding(a)
	clk.Advance(DefaultAssumeTTL)
	c.Cleanup()
	if !c.IsAssumed(a) {
		t.Fatal("expired at DefaultAssumeTTL, want after")
	}
	clk.Advance(time.Millisecond)
	c.Cleanup()
	if c.IsAssumed(a) || c.PodCount() != 0 {
		t.Fatal("not expired after DefaultAssumeTTL")
	}
	// Its placeholder went with it.
	if got := describeCache(c); got != "placeholders: \nassumed: \n" {
		t.Errorf("cache after expiry:\n%s", got)
	}
}

// TestFinishBindingRestartsTTL: a second FinishBinding (a retried
// binding) starts the TTL again.
func TestFinishBindingRestartsTTL(t *testing.T) {
	clk := fakeclock.New(time.Unix(0, 0))
	c := New(Config{AssumeTTL: time.Second, Now: clk.Now})
	a := makePod("a", "n1", 1)
	_ = c.AssumePod(a)
	_ = c.FinishBinding(a)
	clk.Advance(900 * time.Millisecond)
	_ = c.FinishBinding(a)
	clk.Advance(900 * time.Millisecond)
	c.Cleanup()
	if !c.IsAssumed(a) {
		t.Fatal("expired 900ms after the second FinishBinding, TTL 1s")
	}
}

// TestCleanupCountsDropped: Cleanup reports how many assumed pods it
// dropped, so the scheduler can tell the pods waiting for their room.
func TestCleanupCountsDropped(t *testing.T) {
	clk := fakeclock.New(time.Unix(0, 0))
	c := New(Config{Now: clk.Now, AssumeTTL: time.Second})
	c.AddNode(makeNode("n1", 1000))
	a, b := makePod("a", "n1", 100), makePod("b", "n1", 100)
	_ = c.AssumePod(a)
	_ = c.AssumePod(b)
	_ = c.FinishBinding(a)
	if n := c.Cleanup(); n != 0 {
		t.Fatalf("Cleanup before any TTL passed dropped %d, want 0", n)
	}
	clk.Advance(2 * time.Second)
	if n := c.Cleanup(); n != 1 {
		t.Fatalf("Cleanup past a's TTL (b's binding not finished) dropped %d, want 1", n)
	}
}

// TestForgetDeleted: a pod deleted while assumed is dropped at once,
// whatever node the deleted object names; a confirmed pod is not.
func TestForgetDeleted(t *testing.T) {
	c := New(Config{})
	c.AddNode(makeNode("n1", 1000))
	a := makePod("a", "n1", 100)
	if err := c.AssumePod(a); err != nil {
		t.Fatal(err)
	}
	deleted := makePod("a", "", 100) // the informer's last state: unbound
	if !c.ForgetDeleted(deleted) {
		t.Fatal("ForgetDeleted of an assumed pod: false, want true")
	}
	if c.IsAssumed(a) || c.PodCount() != 0 {
		t.Fatalf("after ForgetDeleted: assumed %v, %d pods; want false, 0", c.IsAssumed(a), c.PodCount())
	}
	if c.ForgetDeleted(deleted) {
		t.Error("ForgetDeleted of a pod no longer assumed: true, want false")
	}
	bound := makePod("b", "n1", 100)
	if err := c.AddPod(bound); err != nil {
		t.Fatal(err)
	}
	if c.ForgetDeleted(bound) || c.PodCount() != 1 {
		t.Errorf("ForgetDeleted of a confirmed pod dropped it (%d pods), want it kept", c.PodCount())
	}
}
