package daemonset

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// harness is a Manager running the DaemonSet controller on an Env with a
// fake clock; the test plays the scheduler and the node agents.
type harness struct {
	t   *testing.T
	c   *client.Client
	clk *fakeclock.Clock
	rc  *recordingClock
	ctx context.Context
}

// recordingClock is the fake clock, recording when each timer of the
// controller's queue (its requeues) fires.
type recordingClock struct {
	*fakeclock.Clock
	mu  sync.Mutex
	ats []time.Time
}

func (c *recordingClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	c.ats = append(c.ats, c.Now().Add(d))
	c.mu.Unlock()
	return c.Clock.AfterFunc(d, f)
}

// wakesBy reports whether a timer was set, after from, to fire no
// later than at: the queue keeps only the earliest wake-up of a Request,
// so a requeue for at may be served by an earlier one that was pending.
func (c *recordingClock) wakesBy(from, at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.ats {
		if t.After(from) && !t.After(at) {
			return true
		}
	}
	return false
}

func start(t *testing.T) *harness {
	t.Helper()
	clk := fakeclock.New(epoch)
	env := controllertest.New(t, controllertest.WithClock(clk))
	m, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rc := &recordingClock{Clock: clk}
	if err := Add(m, Options{Clock: rc}); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(m); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, c: env.Client, clk: clk, rc: rc, ctx: controllertest.Context(t)}
}

func newDS(name string) *api.DaemonSet {
	return &api.DaemonSet{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.DaemonSetSpec{
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "agent:1"}}},
			},
		},
	}
}

func (h *harness) create(obj api.Object) {
	h.t.Helper()
	if err := h.c.Create(h.ctx, obj); err != nil {
		h.t.Fatalf("create %s: %v", obj.GetObjectMeta().Name, err)
	}
}

func (h *harness) addNode(name string, lbls map[string]string, taints ...api.Taint) {
	h.t.Helper()
	h.create(&api.Node{ObjectMeta: api.ObjectMeta{Name: name, Labels: lbls}, Spec: api.NodeSpec{Taints: taints}})
}

func (h *harness) updateNode(name string, mutate func(*api.Node)) {
	h.t.Helper()
	err := client.RetryOnConflict(h.ctx, client.DefaultRetry, func() error {
		n := &api.Node{}
		if err := h.c.Get(h.ctx, "", name, n); err != nil {
			return err
		}
		mutate(n)
		return h.c.Update(h.ctx, n)
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) updateDS(name string, mutate func(*api.DaemonSet)) {
	h.t.Helper()
	err := client.RetryOnConflict(h.ctx, client.DefaultRetry, func() error {
		ds := &api.DaemonSet{}
		if err := h.c.Get(h.ctx, "default", name, ds); err != nil {
			return err
		}
		mutate(ds)
		return h.c.Update(h.ctx, ds)
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// advanceUntil moves the clock on by d and waits until cond holds. A
// timer that falls due on the way (a conflict's retry) starts a reconcile
// that may read the clock before Advance has reached its end, and so sets
// its requeue up to d too late; the clock therefore keeps moving, a
// twentieth of d per poll, up to d further. Time still moves only by the
// test's hand: what must not happen before d was checked before the call.
func (h *harness) advanceUntil(d time.Duration, cond func() bool) {
	h.t.Helper()
	limit := h.clk.Now().Add(2 * d)
	h.clk.Advance(d)
	controllertest.Eventually(h.t, func() bool {
		if cond() {
			return true
		}
		if h.clk.Now().Before(limit) {
			h.clk.Advance(d / 20)
		}
		return false
	})
}

// statusIs reports whether the DaemonSet's status, for its current
// generation, satisfies cond.
func (h *harness) statusIs(name string, cond func(*api.DaemonSetStatus) bool) bool {
	h.t.Helper()
	ds := &api.DaemonSet{}
	if err := h.c.Get(h.ctx, "default", name, ds); err != nil {
		h.t.Fatal(err)
	}
	return ds.Status.ObservedGeneration == ds.Generation && cond(&ds.Status)
}

// pods returns the pods of the namespace, by name.
func (h *harness) pods() []*api.Pod {
	h.t.Helper()
	var list api.PodList
	if err := h.c.List(h.ctx, &list, client.InNamespace("default")); err != nil {
		h.t.Fatal(err)
	}
	out := make([]*api.Pod, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out
}

// podNodes returns the nodes of the active pods, sorted.
func (h *harness) podNodes() []string {
	var out []string
	for _, p := range h.pods() {
		if ctrlutil.IsPodActive(p) {
			out = append(out, podNode(p))
		}
	}
	slices.Sort(out)
	return out
}

// waitNodes waits until the active daemon pods are on exactly nodes.
func (h *harness) waitNodes(nodes ...string) {
	h.t.Helper()
	slices.Sort(nodes)
	var got []string
	ok := false
	defer func() {
		if !ok {
			h.t.Logf("pods on %v, want %v", got, nodes)
		}
	}()
	controllertest.Eventually(h.t, func() bool {
		got = h.podNodes()
		return slices.Equal(got, nodes)
	})
	ok = true
}

func (h *harness) waitStatus(name string, cond func(*api.DaemonSetStatus) bool) *api.DaemonSet {
	h.t.Helper()
	ds, err := controllertest.WaitFor(h.ctx, h.c, "default", name, func(ds *api.DaemonSet) bool {
		return ds.Status.ObservedGeneration == ds.Generation && cond(&ds.Status)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return ds
}

// agent plays the scheduler and the node agents once: binds each pending
// daemon pod to the node it is pinned to and makes it ready, finishes the
// graceful deletion of bound pods, and reports how many pods it touched.
func (h *harness) agent() int {
	h.t.Helper()
	n := 0
	for _, p := range h.pods() {
		switch {
		case p.DeletionTimestamp != nil:
			if err := h.c.Delete(h.ctx, p, client.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil && !api.IsNotFound(err) {
				h.t.Fatal(err)
			}
			n++
		case p.Spec.NodeName == "":
			if err := h.c.Bind(h.ctx, p.Namespace, p.Name, podNode(p)); err != nil && !api.IsNotFound(err) {
				h.t.Fatal(err)
			}
			n++
		case p.Status.Phase == "" || p.Status.Phase == api.PodPending:
			h.setRunning(p.Name)
			n++
		}
	}
	return n
}

func (h *harness) setRunning(name string) {
	h.t.Helper()
	h.setStatus(name, func(p *api.Pod) {
		now := api.NewTime(h.clk.Now())
		p.Status.Phase = api.PodRunning
		p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: now}}
	})
}

func (h *harness) setStatus(name string, mutate func(*api.Pod)) {
	h.t.Helper()
	err := client.RetryOnConflict(h.ctx, client.DefaultRetry, func() error {
		p := &api.Pod{}
		if err := h.c.Get(h.ctx, "default", name, p); err != nil {
			return err
		}
		mutate(p)
		return h.c.UpdateStatus(h.ctx, p)
	})
	if err != nil && !api.IsNotFound(err) {
		h.t.Fatal(err)
	}
}

// unavailableTracker watches the pods and records, after every change,
// how many of nodes have no available (ready, not deleting) daemon pod,
// once armed.
type unavailableTracker struct {
	mu    sync.Mutex
	nodes []string
	pods  map[string]*api.Pod
	armed bool
	peak  int
	// peakPods is the most daemon pods (active, not deleting) at once.
	peakPods int
}

func trackUnavailable(t *testing.T, h *harness, nodes ...string) *unavailableTracker {
	t.Helper()
	w, err := h.c.Watch(h.ctx, &api.PodList{}, client.InNamespace("default"))
	if err != nil {
		t.Fatal(err)
	}
	tr := &unavailableTracker{nodes: nodes, pods: map[string]*api.Pod{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.Events() {
			p, ok := ev.Object.(*api.Pod)
			if !ok {
				continue
			}
			tr.mu.Lock()
			if ev.Type == api.WatchDeleted {
				delete(tr.pods, p.Name)
			} else {
				tr.pods[p.Name] = p
			}
			if tr.armed {
				tr.peak = max(tr.peak, tr.unavailableLocked())
				n := 0
				for _, p := range tr.pods {
					if p.DeletionTimestamp == nil && ctrlutil.IsPodActive(p) {
						n++
					}
				}
				tr.peakPods = max(tr.peakPods, n)
			}
			tr.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.Stop(); <-done })
	return tr
}

func (tr *unavailableTracker) unavailableLocked() int {
	avail := map[string]bool{}
	for _, p := range tr.pods {
		if p.DeletionTimestamp == nil && ctrlutil.IsPodActive(p) && ctrlutil.IsPodReady(p) {
			avail[p.Spec.NodeName] = true
		}
	}
	n := 0
	for _, node := range tr.nodes {
		if !avail[node] {
			n++
		}
	}
	return n
}

// arm starts recording the peak, once every node has an available pod.
func (tr *unavailableTracker) arm(t *testing.T) {
	t.Helper()
	controllertest.Eventually(t, func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if tr.unavailableLocked() == 0 {
			tr.armed = true
		}
		return tr.armed
	})
}

func (tr *unavailableTracker) max() (unavailable, pods int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.peak, tr.peakPods
}

func (h *harness) eventReasons() map[string]int {
	h.t.Helper()
	var evs api.EventList
	if err := h.c.List(h.ctx, &evs, client.InNamespace("default")); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range evs.Items {
		out[e.Reason] += max(int(e.Count), 1)
	}
	return out
}
