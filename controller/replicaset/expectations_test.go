package replicaset

import (
	"context"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller"
)

// These tests drive the reconciler directly over a fakeCache that the test
// brings up to date when it chooses: an informer that lags as far behind
// the API server as a test wants.

func TestLaggingCacheNeverDoubleCreates(t *testing.T) {
	d := newDirect(t, Options{})
	c := d.env.Client
	create(t, c, newRS("web", 5))
	rs := d.cache.setRS(t, c, "web")

	check := func(when string) {
		t.Helper()
		if n := len(serverPods(t, c, rs)); n != 5 {
			t.Fatalf("%s: %d pods on the server, want exactly 5", when, n)
		}
		if n := d.rec.count(ReasonSuccessfulCreate); n != 5 {
			t.Fatalf("%s: %d creates, want exactly 5", when, n)
		}
	}
	if _, err := d.reconcileSyncRS(t, "web"); err != nil {
		t.Fatal(err)
	}
	check("first reconcile")

	// The cache has seen none of the 5 pods: reconciling again and again
	// must not create more.
	for range 50 {
		res, err := d.reconcileSyncRS(t, "web")
		if err != nil {
			t.Fatal(err)
		}
		if res.RequeueAfter <= 0 {
			t.Fatalf("waiting for the cache, the reconciler did not ask to look again (result %+v)", res)
		}
	}
	check("50 reconciles on an empty cache")

	// The cache catches up one pod at a time, reconciling in between.
	for d.cache.deliver(t, c, d.r.observe, 1) > 0 {
		for range 5 {
			if _, err := d.reconcileSyncRS(t, "web"); err != nil {
				t.Fatal(err)
			}
		}
		check("while the cache catches up")
	}
	if a, del := d.r.exp.Pending("default/web"); a != 0 || del != 0 {
		t.Fatalf("expectations pending after the cache caught up: %d creations, %d deletions", a, del)
	}

	// The same for deletes: scale down to 2 and hold the cache back.
	scale(t, c, "web", 2)
	d.cache.setRS(t, c, "web")
	for range 50 {
		if _, err := d.reconcileSyncRS(t, "web"); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.rec.count(ReasonSuccessfulDelete); n != 3 {
		t.Fatalf("%d deletes with a lagging cache, want exactly 3", n)
	}
	if n := len(serverPods(t, c, rs)); n != 2 {
		t.Fatalf("%d pods after scaling to 2", n)
	}
	d.cache.deliver(t, c, d.r.observe, -1)
	d.cache.setRS(t, c, "web")
	if _, err := d.reconcileSyncRS(t, "web"); err != nil {
		t.Fatal(err)
	}
	st := d.cache.setRS(t, c, "web").Status
	if st.Replicas != 2 || st.ObservedGeneration != rs.Generation+1 || d.rec.count(ReasonSuccessfulDelete) != 3 || d.rec.count(ReasonSuccessfulCreate) != 5 {
		t.Fatalf("after catching up: status %+v, %d creates, %d deletes", st, d.rec.count(ReasonSuccessfulCreate), d.rec.count(ReasonSuccessfulDelete))
	}
}

func TestExpectationsExpireWhenEventsAreLost(t *testing.T) {
	d := newDirect(t, Options{ExpectationsTTL: time.Minute})
	c := d.env.Client
	create(t, c, newRS("web", 2))
	rs := d.cache.setRS(t, c, "web")
	if _, err := d.reconcileSyncRS(t, "web"); err != nil {
		t.Fatal(err)
	}
	res, err := d.reconcileSyncRS(t, "web")
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != time.Minute+time.Second {
		t.Fatalf("RequeueAfter = %v, want the TTL and a second", res.RequeueAfter)
	}
	// The events never come; after the TTL the controller trusts the
	// cache again (which here still has nothing), rather than wedge.
	d.clk.Advance(time.Minute + time.Second)
	if _, err := d.reconcileSyncRS(t, "web"); err != nil {
		t.Fatal(err)
	}
	if n := len(serverPods(t, c, rs)); n != 4 {
		t.Fatalf("%d pods: after the TTL the controller should act on the cache it has", n)
	}
}

func TestSlowStartStopsAtQuota(t *testing.T) {
	d := newDirect(t, Options{})
	c := d.env.Client
	d.ct.quota.Store(3)
	create(t, c, newRS("web", 100))
	rs := d.cache.setRS(t, c, "web")

	before := d.ct.creates.Load()
	_, err := d.reconcile(t, "web")
	if err == nil {
		t.Fatal("no error although creates failed")
	}
	// Batches 1 and 2 succeed, the batch of 4 fails: 7 requests, not 100.
	if n := d.ct.creates.Load() - before; n != 7 {
		t.Fatalf("%d create requests, want 7 (1+2+4)", n)
	}
	if n := len(serverPods(t, c, rs)); n != 3 {
		t.Fatalf("%d pods, want 3", n)
	}
	if d.rec.count(ReasonFailedCreate) != 4 || d.rec.count(ReasonSuccessfulCreate) != 3 {
		t.Fatalf("events %v", d.rec.reasons)
	}
	rs = d.cache.setRS(t, c, "web")
	cond := rs.Status.Conditions
	if len(cond) != 1 || cond[0].Type != api.ReplicaSetReplicaFailure || cond[0].Status != api.ConditionTrue || cond[0].Reason != ReasonFailedCreate {
		t.Fatalf("conditions %+v, want ReplicaFailure True FailedCreate", cond)
	}
	if rs.Status.Replicas != 0 {
		t.Fatalf("status.replicas = %d with the cache still empty", rs.Status.Replicas)
	}
	// Failed and unsent creates were observed at once: only the 3 that
	// succeeded are waited for.
	if a, _ := d.r.exp.Pending("default/web"); a != 3 {
		t.Fatalf("%d creations expected, want 3: failed and unsent creates must not be waited for", a)
	}

	// Next time, the cache has the 3 pods; the quota still says no: one
	// request.
	d.cache.deliver(t, c, d.r.observe, -1)
	before = d.ct.creates.Load()
	if _, err := d.reconcile(t, "web"); err == nil {
		t.Fatal("no error")
	}
	if n := d.ct.creates.Load() - before; n != 1 {
		t.Fatalf("%d create requests at the quota, want 1", n)
	}

	// The quota is lifted: the rest is created and the condition goes.
	d.ct.quota.Store(-1)
	d.cache.setRS(t, c, "web")
	for range 3 {
		if _, err := d.reconcile(t, "web"); err != nil {
			t.Fatal(err)
		}
		d.cache.deliver(t, c, d.r.observe, -1)
		d.cache.setRS(t, c, "web")
	}
	rs = d.cache.setRS(t, c, "web")
	if rs.Status.Replicas != 100 || len(rs.Status.Conditions) != 0 {
		t.Fatalf("status %+v, want 100 replicas and no condition", rs.Status)
	}
}

func TestDeletingReplicaSetIsLeftToTheGarbageCollector(t *testing.T) {
	d := newDirect(t, Options{})
	c := d.env.Client
	ctx := context.Background()
	create(t, c, newRS("web", 2))
	d.cache.setRS(t, c, "web")
	if _, err := d.reconcile(t, "web"); err != nil {
		t.Fatal(err)
	}
	d.cache.deliver(t, c, d.r.observe, -1)

	rs := d.cache.setRS(t, c, "web")
	rs.Finalizers = []string{"example.com/hold"}
	if err := c.Update(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	rs = d.cache.setRS(t, c, "web")
	if rs.DeletionTimestamp == nil {
		t.Fatal("setup: no deletionTimestamp")
	}
	// One pod goes out of band; the deleting ReplicaSet does not replace
	// it, nor delete the other.
	pods := serverPods(t, c, rs)
	if err := c.Delete(ctx, pods[0]); err != nil {
		t.Fatal(err)
	}
	d.cache.deliver(t, c, d.r.observe, -1)
	before := d.ct.creates.Load() + d.ct.deletes.Load()
	if _, err := d.reconcile(t, "web"); err != nil {
		t.Fatal(err)
	}
	if n := d.ct.creates.Load() + d.ct.deletes.Load() - before; n != 0 {
		t.Fatalf("%d creates/deletes for a ReplicaSet being deleted", n)
	}
	if st := d.cache.setRS(t, c, "web").Status; st.Replicas != 1 {
		t.Fatalf("status.replicas = %d, want 1: status is still reported", st.Replicas)
	}

	// Gone: its expectations are dropped.
	d.r.exp.ExpectCreations("default/web", 1)
	d.cache.mu.Lock()
	delete(d.cache.rss, "default/web")
	d.cache.mu.Unlock()
	if _, err := d.reconcile(t, "web"); err != nil {
		t.Fatal(err)
	}
	if d.r.exp.Len() != 0 {
		t.Fatal("expectations of a deleted ReplicaSet were kept")
	}
}

// A status write from a stale cache conflicts: the reconciler returns the
// conflict (the requeue, with the cache caught up, writes it) rather than
// reading the ReplicaSet from the API server.
func TestStatusConflictIsReturnedNotReadLive(t *testing.T) {
	d := newDirect(t, Options{})
	c := d.env.Client
	ctx := context.Background()
	create(t, c, newRS("web", 2))
	d.cache.setRS(t, c, "web")
	if _, err := d.reconcile(t, "web"); err != nil {
		t.Fatal(err)
	}
	d.cache.deliver(t, c, d.r.observe, -1)
	rs := d.cache.setRS(t, c, "web")
	// Someone else writes the ReplicaSet; the cache does not know yet.
	rs = api.DeepCopy(rs)
	rs.Labels = map[string]string{"touched": "yes"}
	if err := c.Update(ctx, rs); err != nil {
		t.Fatal(err)
	}
	gets, puts := d.ct.gets.Load(), d.ct.puts.Load()
	_, err := d.reconcile(t, "web")
	if !api.IsConflict(err) {
		t.Fatalf("reconcile from a stale cache: err %v, want the conflict", err)
	}
	if n := d.ct.gets.Load() - gets; n != 0 {
		t.Fatalf("%d GETs after the conflict, want none: the requeue reads the cache", n)
	}
	if n := d.ct.puts.Load() - puts; n != 1 {
		t.Fatalf("%d status writes, want 1", n)
	}
	d.cache.setRS(t, c, "web")
	if _, err := d.reconcile(t, "web"); err != nil {
		t.Fatal(err)
	}
	if st := d.cache.setRS(t, c, "web").Status; st.Replicas != 2 {
		t.Fatalf("status %+v after the requeue, want 2 replicas", st)
	}
}

// Deletions whose events never reached the controller (it was not
// running: between two terms of leadership) do not hold the ReplicaSet
// for the expectations' TTL: the cache no longer shows the pods, which is
// what the events would have said.
func TestDeletionsSeenInTheCacheNeedNoEvent(t *testing.T) {
	d := newDirect(t, Options{})
	c := d.env.Client
	create(t, c, newRS("web", 3))
	rs := d.cache.setRS(t, c, "web")
	if _, err := d.reconcileSyncRS(t, "web"); err != nil {
		t.Fatal(err)
	}
	d.cache.deliver(t, c, d.r.observe, -1)
	d.cache.setRS(t, c, "web")

	scale(t, c, "web", 1)
	d.cache.setRS(t, c, "web")
	if _, err := d.reconcileSyncRS(t, "web"); err != nil {
		t.Fatal(err)
	}
	if n := d.rec.count(ReasonSuccessfulDelete); n != 2 {
		t.Fatalf("%d deletes, want 2", n)
	}
	// The cache catches up, but the events are dropped.
	d.cache.deliver(t, c, func(controller.Event) bool { return true }, -1)
	if _, dels := d.r.exp.Pending("default/web"); dels != 2 {
		t.Fatalf("%d deletions pending, want the 2 whose events were dropped", dels)
	}

	scale(t, c, "web", 3)
	d.cache.setRS(t, c, "web")
	if _, err := d.reconcileSyncRS(t, "web"); err != nil {
		t.Fatal(err)
	}
	if n := len(serverPods(t, c, rs)); n != 3 {
		t.Fatalf("%d pods after scaling back to 3: the ReplicaSet waited for deletions its cache had seen", n)
	}
}

func TestObservePodEvents(t *testing.T) {
	d := newDirect(t, Options{})
	e := d.r.exp
	rsRef := api.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "u", Controller: new(true)}
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "p", UID: "p1", OwnerReferences: []api.OwnerReference{rsRef}}}
	other := api.DeepCopy(pod)
	other.OwnerReferences[0].Kind = "Job"
	other.OwnerReferences[0].APIVersion = "batch/v1"

	e.ExpectCreations("default/web", 1)
	if !d.r.observe(controller.Event{Type: controller.Create, Object: other}) || e.Satisfied("default/web") {
		t.Fatal("a Job's pod met a ReplicaSet's expectation")
	}
	d.r.observe(controller.Event{Type: controller.Create, Object: pod})
	if !e.Satisfied("default/web") {
		t.Fatal("the creation was not observed")
	}

	e.ExpectDeletions("default/web", "p1")
	d.r.observe(controller.Event{Type: controller.Update, Object: pod, Old: pod})
	if e.Satisfied("default/web") {
		t.Fatal("an update without a deletionTimestamp observed the deletion")
	}
	deleting := api.DeepCopy(pod)
	ts := api.NewTime(epoch)
	deleting.DeletionTimestamp = &ts
	d.r.observe(controller.Event{Type: controller.Update, Object: deleting, Old: pod})
	if !e.Satisfied("default/web") {
		t.Fatal("the deletionTimestamp did not observe the deletion")
	}
	e.ExpectDeletions("default/web", "p1")
	d.r.observe(controller.Event{Type: controller.Delete, Object: pod})
	if !e.Satisfied("default/web") {
		t.Fatal("the delete did not observe the deletion")
	}
	e.ExpectDeletions("default/web", "p1")
	d.r.observe(controller.Event{Type: controller.Create, Object: deleting})
	if !e.Satisfied("default/web") {
		t.Fatal("a pod first seen being deleted did not observe the deletion")
	}
}
