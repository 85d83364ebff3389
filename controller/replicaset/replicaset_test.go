package replicaset

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

func create(t *testing.T, c *client.Client, obj api.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %s: %v", obj.GetObjectMeta().Name, err)
	}
}

// waitStatus waits until the ReplicaSet's status describes its current
// generation and passes cond.
func waitStatus(t *testing.T, c *client.Client, name string, cond func(st *api.ReplicaSetStatus) bool) *api.ReplicaSet {
	t.Helper()
	rs, err := controllertest.WaitFor(controllertest.Context(t), c, "default", name, func(rs *api.ReplicaSet) bool {
		return rs.Status.ObservedGeneration == rs.Generation && cond(&rs.Status)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func replicasAre(n int32) func(*api.ReplicaSetStatus) bool {
	return func(st *api.ReplicaSetStatus) bool { return st.Replicas == n }
}

// scale sets the ReplicaSet's spec.replicas.
func scale(t *testing.T, c *client.Client, name string, n int32) {
	t.Helper()
	ctx := context.Background()
	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		rs := &api.ReplicaSet{}
		if err := c.Get(ctx, "default", name, rs); err != nil {
			return err
		}
		rs.Spec.Replicas = new(n)
		return c.Update(ctx, rs)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// setStatus sets a pod's phase and Ready condition, as a node agent
// would (readySince zero: not ready).
func setStatus(t *testing.T, c *client.Client, name string, phase api.PodPhase, readySince time.Time) {
	t.Helper()
	ctx := context.Background()
	p := &api.Pod{}
	if err := c.Get(ctx, "default", name, p); err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = phase
	st := api.ConditionFalse
	if !readySince.IsZero() {
		st = api.ConditionTrue
	}
	p.Status.Conditions = append(slices.DeleteFunc(p.Status.Conditions, func(c api.PodCondition) bool { return c.Type == api.PodReady }),
		api.PodCondition{Type: api.PodReady, Status: st, LastTransitionTime: api.NewTime(readySince)})
	if err := c.UpdateStatus(ctx, p); err != nil {
		t.Fatal(err)
	}
}

func podNames(pods []*api.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

// waitPods waits until the active pods rs controls on the server are
// exactly want (by name, in any order).
func waitPods(t *testing.T, c *client.Client, rs *api.ReplicaSet, want ...string) {
	t.Helper()
	slices.Sort(want)
	var got []string
	ok := pollUntil(func() bool {
		got = podNames(serverPods(t, c, rs))
		return slices.Equal(got, want)
	})
	if !ok {
		t.Fatalf("pods of %s = %v, want %v", rs.Name, got, want)
	}
}

// pollUntil polls cond until it holds or 10 s pass.
func pollUntil(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func eventReasons(t *testing.T, c *client.Client) map[string]bool {
	t.Helper()
	var evs api.EventList
	if err := c.List(context.Background(), &evs, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range evs.Items {
		if e.InvolvedObject.Kind == "ReplicaSet" {
			out[e.Reason] = true
		}
	}
	return out
}

func TestScaleUpAndDownByRanking(t *testing.T) {
	env, clk := manager(t, Options{})
	c := env.Client
	ctx := controllertest.Context(t)
	rs := newRS("web", 5)
	create(t, c, rs)
	rs = waitStatus(t, c, "web", replicasAre(5))
	pods := serverPods(t, c, rs)
	if len(pods) != 5 {
		t.Fatalf("%d pods, want 5", len(pods))
	}
	for _, p := range pods {
		if p.GenerateName != "web-" || p.Labels["app"] != "web" || !p.IsControlledBy(rs.UID) {
			t.Fatalf("pod %s: generateName %q labels %v refs %+v", p.Name, p.GenerateName, p.Labels, p.OwnerReferences)
		}
	}

	// Give the pods different states: the ranking picks the victims.
	names := podNames(pods)
	unscheduled, pending, notReady, readyLong, readyShort := names[0], names[1], names[2], names[3], names[4]
	for _, n := range names[1:] {
		if err := c.Bind(ctx, "default", n, "node-1"); err != nil {
			t.Fatal(err)
		}
	}
	now := clk.Now()
	setStatus(t, c, pending, api.PodPending, time.Time{})
	setStatus(t, c, notReady, api.PodRunning, time.Time{})
	setStatus(t, c, readyLong, api.PodRunning, now.Add(-100*time.Second))
	setStatus(t, c, readyShort, api.PodRunning, now.Add(-10*time.Second))
	waitStatus(t, c, "web", func(st *api.ReplicaSetStatus) bool { return st.ReadyReplicas == 2 && st.AvailableReplicas == 2 })

	scale(t, c, "web", 2)
	waitPods(t, c, rs, readyLong, readyShort)
	waitStatus(t, c, "web", replicasAre(2))
	// The unscheduled pod is gone at once; the bound ones are being
	// deleted gracefully (no node agent here finishes the job).
	if err := c.Get(ctx, "default", unscheduled, &api.Pod{}); !api.IsNotFound(err) {
		t.Fatalf("unscheduled pod: %v, want NotFound", err)
	}
	for _, n := range []string{pending, notReady} {
		p := &api.Pod{}
		if err := c.Get(ctx, "default", n, p); err != nil || p.DeletionTimestamp == nil {
			t.Fatalf("pod %s: err %v, deletionTimestamp %v; want it being deleted", n, err, p.DeletionTimestamp)
		}
	}

	scale(t, c, "web", 1)
	waitPods(t, c, rs, readyLong) // the newer readiness goes first
	waitStatus(t, c, "web", replicasAre(1))

	scale(t, c, "web", 3)
	waitStatus(t, c, "web", replicasAre(3))
	if n := len(serverPods(t, c, rs)); n != 3 {
		t.Fatalf("%d pods after scaling up to 3", n)
	}
	if !pollUntil(func() bool {
		r := eventReasons(t, c)
		return r[ReasonSuccessfulCreate] && r[ReasonSuccessfulDelete]
	}) {
		t.Fatalf("events %v: want SuccessfulCreate and SuccessfulDelete", eventReasons(t, c))
	}
}

func TestReplacesPodDeletedOutOfBand(t *testing.T) {
	env, _ := manager(t, Options{})
	c := env.Client
	ctx := controllertest.Context(t)
	create(t, c, newRS("web", 3))
	rs := waitStatus(t, c, "web", replicasAre(3))
	pods := serverPods(t, c, rs)
	if len(pods) != 3 {
		t.Fatalf("%d pods, want 3", len(pods))
	}
	gone := pods[0]
	if err := c.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	var now []*api.Pod
	if !pollUntil(func() bool {
		now = serverPods(t, c, rs)
		return len(now) == 3 && !slices.Contains(podNames(now), gone.Name)
	}) {
		t.Fatalf("pods %v: want 3, without the deleted %s", podNames(now), gone.Name)
	}
	// A pod that terminates no longer counts either: it is replaced.
	setStatus(t, c, now[0].Name, api.PodFailed, time.Time{})
	if !pollUntil(func() bool {
		return len(serverPods(t, c, rs)) == 3 && !slices.Contains(podNames(serverPods(t, c, rs)), now[0].Name)
	}) {
		t.Fatalf("the failed pod %s was not replaced: %v", now[0].Name, podNames(serverPods(t, c, rs)))
	}
	waitStatus(t, c, "web", replicasAre(3))
}

func TestAdoptsOrphansAndReleasesRelabelled(t *testing.T) {
	env, _, m := managerOf(t, Options{})
	c := env.Client
	ctx := controllertest.Context(t)
	orphan := func(name string, refs ...api.OwnerReference) *api.Pod {
		return &api.Pod{
			ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": "web"}, OwnerReferences: refs},
			Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}},
		}
	}
	create(t, c, orphan("orphan-1"))
	create(t, c, orphan("orphan-2"))
	foreignRef := api.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "sts-uid", Controller: new(true)}
	create(t, c, orphan("foreign", foreignRef))
	// The controller adopts what its cache holds: a pod its cache has not
	// seen yet cannot be adopted, and another is created in its place.
	pods, err := controller.Lister[*api.Pod](m)
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool {
		cached, err := pods.ListNamespace("default", labels.Everything())
		return err == nil && len(cached) == 3
	})

	create(t, c, newRS("web", 3))
	rs := waitStatus(t, c, "web", replicasAre(3))
	got := podNames(serverPods(t, c, rs))
	if len(got) != 3 || !slices.Contains(got, "orphan-1") || !slices.Contains(got, "orphan-2") {
		t.Fatalf("pods %v: want the 2 orphans adopted and 1 pod created", got)
	}
	f := &api.Pod{}
	if err := c.Get(ctx, "default", "foreign", f); err != nil || !f.IsControlledBy("sts-uid") || len(f.OwnerReferences) != 1 {
		t.Fatalf("the pod of another controller was touched: %v %+v", err, f.OwnerReferences)
	}

	// Relabel an adopted pod: it is released and replaced.
	err = client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		p := &api.Pod{}
		if err := c.Get(ctx, "default", "orphan-1", p); err != nil {
			return err
		}
		p.Labels = map[string]string{"app": "debugging"}
		return c.Update(ctx, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := controllertest.WaitFor(ctx, c, "default", "orphan-1", func(p *api.Pod) bool { return p.ControllerRef() == nil }); err != nil {
		t.Fatal(err)
	}
	var now []string
	if !pollUntil(func() bool {
		now = podNames(serverPods(t, c, rs))
		return len(now) == 3 && !slices.Contains(now, "orphan-1")
	}) {
		t.Fatalf("pods %v: want 3 without the released orphan-1", now)
	}
	waitStatus(t, c, "web", replicasAre(3))
}

// timerClock is a fakeclock.Clock that remembers the deadlines of the
// timers set on it, so a test can wait for a requeue to be scheduled
// before it moves the clock.
type timerClock struct {
	*fakeclock.Clock
	mu        sync.Mutex
	deadlines []time.Time
}

func (c *timerClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	c.deadlines = append(c.deadlines, c.Now().Add(d))
	c.mu.Unlock()
	return c.Clock.AfterFunc(d, f)
}

func (c *timerClock) has(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.deadlines, t.Equal)
}

func TestAvailabilityAfterMinReadySeconds(t *testing.T) {
	clk := fakeclock.New(epoch)
	tc := &timerClock{Clock: clk}
	env := controllertest.New(t, controllertest.WithClock(clk))
	m, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Add(m, Options{Clock: tc}); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(m); err != nil {
		t.Fatal(err)
	}
	c := env.Client
	rs := newRS("web", 2)
	rs.Spec.MinReadySeconds = 10
	create(t, c, rs)
	rs = waitStatus(t, c, "web", replicasAre(2))
	pods := podNames(serverPods(t, c, rs))

	readyAt := clk.Now()
	setStatus(t, c, pods[0], api.PodRunning, readyAt)
	setStatus(t, c, pods[1], api.PodRunning, readyAt)
	waitStatus(t, c, "web", func(st *api.ReplicaSetStatus) bool { return st.ReadyReplicas == 2 && st.AvailableReplicas == 0 })

	// The controller asks to look again exactly when they become
	// available; nothing else will happen to wake it.
	due := readyAt.Add(10 * time.Second)
	if !pollUntil(func() bool {
		if tc.has(due) {
			return true
		}
		// A status write from a cache that had not seen the previous
		// one yet conflicts, and is retried after a backoff of a few
		// milliseconds: let that run (the queue keeps the earlier of
		// two waits for a key).
		if next, ok := clk.Next(); ok && next.Before(readyAt.Add(time.Second)) {
			clk.Advance(next.Sub(clk.Now()))
		}
		return false
	}) {
		t.Fatalf("no requeue scheduled for %v", due)
	}
	clk.Advance(due.Add(-time.Second).Sub(clk.Now()))
	st := waitStatus(t, c, "web", replicasAre(2)).Status
	if st.AvailableReplicas != 0 {
		t.Fatalf("available after 9 of 10 seconds: %+v", st)
	}
	clk.Advance(time.Second)
	waitStatus(t, c, "web", func(st *api.ReplicaSetStatus) bool { return st.ReadyReplicas == 2 && st.AvailableReplicas == 2 })

	// A pod that stops being ready is neither ready nor available.
	setStatus(t, c, pods[0], api.PodRunning, time.Time{})
	waitStatus(t, c, "web", func(st *api.ReplicaSetStatus) bool { return st.ReadyReplicas == 1 && st.AvailableReplicas == 1 })
}
