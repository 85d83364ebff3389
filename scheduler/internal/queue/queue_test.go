package queue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/scheduler/framework"
)

func pod(name string, prio int32) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, UID: api.UID("uid-" + name)},
		Spec:       api.PodSpec{Priority: &prio},
	}
}

func less(a, b *framework.QueuedPodInfo) bool {
	pa, pb := *a.Pod.Spec.Priority, *b.Pod.Spec.Priority
	if pa != pb {
		return pa > pb
	}
	return a.Timestamp.Before(b.Timestamp)
}

func newQueue(t *testing.T, interest map[string][]Event) (*PriorityQueue, *fakeclock.Clock) {
	t.Helper()
	clk := fakeclock.New(time.Unix(1000, 0))
	q, err := New(Config{Less: less, Clock: clk, Interest: interest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q, clk
}

func pop(t *testing.T, q *PriorityQueue) (*framework.QueuedPodInfo, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pi, cycle, err := q.Pop(ctx)
	if err != nil {
		t.Fatalf("Pop: %v", err)
	}
	return pi, cycle
}

func TestPopOrdersByPriorityThenTime(t *testing.T) {
	q, clk := newQueue(t, nil)
	q.Add(pod("low", 1))
	clk.Advance(time.Second)
	q.Add(pod("high", 10))
	clk.Advance(time.Second)
	q.Add(pod("low2", 1))
	var got []string
	for range 3 {
		pi, _ := pop(t, q)
		got = append(got, pi.Pod.Name)
	}
	want := []string{"high", "low", "low2"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order = %v, want %v", got, want)
		}
	}
}

func TestPopBlocksUntilAddOrContextEnds(t *testing.T) {
	q, _ := newQueue(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := q.Pop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Pop on a cancelled ctx = %v, want context.Canceled", err)
	}
	done := make(chan string)
	go func() {
		pi, _, err := q.Pop(context.Background())
		if err != nil {
			done <- err.Error()
			return
		}
		done <- pi.Pod.Name
	}()
	q.Add(pod("a", 0))
	select {
	case name := <-done:
		if name != "a" {
			t.Fatalf("Pop = %q", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Pop did not return after Add")
	}
	go func() {
		_, _, err := q.Pop(context.Background())
		done <- err.Error()
	}()
	q.Close()
	q.Close()
	select {
	case msg := <-done:
		if msg != ErrClosed.Error() {
			t.Fatalf("Pop after Close: %s", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Pop did not return after Close")
	}
}

func TestBackoffIsExponentialAndCapped(t *testing.T) {
	q, _ := newQueue(t, nil)
	pi := &framework.QueuedPodInfo{PodInfo: framework.NewPodInfo(pod("a", 0))}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		pi.Attempts = i + 1
		if got := q.backoffDuration(pi); got != w*time.Second {
			t.Errorf("attempt %d: backoff %v, want %v", i+1, got, w*time.Second)
		}
	}
}

func TestErrorGoesToBackoffThenActiveOnTheClock(t *testing.T) {
	q, clk := newQueue(t, nil)
	q.Add(pod("a", 0))
	pi, cycle := pop(t, q)
	pi.UnschedulablePlugins = nil // an error
	q.AddUnschedulableIfNotPresent(pi, cycle)
	if w := q.Where(pi.Pod); w != "backoff" {
		t.Fatalf("after an error the pod is in %q, want backoff", w)
	}
	clk.Advance(999 * time.Millisecond)
	if w := q.Where(pi.Pod); w != "backoff" {
		t.Fatalf("before 1s the pod is in %q, want backoff", w)
	}
	clk.Advance(time.Millisecond)
	if w := q.Where(pi.Pod); w != "active" {
		t.Fatalf("after 1s the pod is in %q, want active", w)
	}
	// Second attempt: 2s.
	pi, cycle = pop(t, q)
	q.AddUnschedulableIfNotPresent(pi, cycle)
	clk.Advance(1999 * time.Millisecond)
	if w := q.Where(pi.Pod); w != "backoff" {
		t.Fatalf("second backoff: pod in %q before 2s", w)
	}
	clk.Advance(time.Millisecond)
	if w := q.Where(pi.Pod); w != "active" {
		t.Fatalf("second backoff: pod in %q after 2s", w)
	}
}

func TestEventMovesOnlyPodsItCouldHelp(t *testing.T) {
	interest := map[string][]Event{
		"NodeResourcesFit": {framework.NodeAdd, framework.NodeAllocatableChange, framework.AssignedPodDelete},
		"TaintToleration":  {framework.NodeAdd, framework.NodeTaintChange},
	}
	q, clk := newQueue(t, interest)
	q.Add(pod("cpu", 0))
	q.Add(pod("taint", 0))
	cpu, c1 := pop(t, q)
	taint, c2 := pop(t, q)
	// A move request after both cycles started would send them to
	// backoff; none has happened.
	cpu.UnschedulablePlugins = map[string]struct{}{"NodeResourcesFit": {}}
	taint.UnschedulablePlugins = map[string]struct{}{"TaintToleration": {}}
	q.AddUnschedulableIfNotPresent(cpu, c1)
	q.AddUnschedulableIfNotPresent(taint, c2)
	if n := q.Len(); n.Unschedulable != 2 {
		t.Fatalf("counts %+v, want 2 unschedulable", n)
	}
	clk.Advance(10 * time.Second) // past their backoff

	q.MoveAllToActiveOrBackoff(framework.AssignedPodDelete)
	if w := q.Where(cpu.Pod); w != "active" {
		t.Errorf("after a pod deletion the cpu pod is in %q, want active", w)
	}
	if w := q.Where(taint.Pod); w != "unschedulable" {
		t.Errorf("after a pod deletion the taint pod is in %q, want unschedulable", w)
	}
	q.MoveAllToActiveOrBackoff(framework.NodeTaintChange)
	if w := q.Where(taint.Pod); w != "active" {
		t.Errorf("after a taint change the taint pod is in %q, want active", w)
	}
}

// TestInterestForms: framework.NodeUpdate stands for every node change,
// framework.Any for every event, an empty list for none, and a plugin
// missing from Interest for every event.
func TestInterestForms(t *testing.T) {
	interest := map[string][]Event{
		"Nodes": {framework.NodeUpdate},
		"All":   {framework.Any},
		"None":  {},
	}
	cases := []struct {
		plugin string
		ev     Event
		moved  bool
	}{
		{"Nodes", framework.NodeLabelChange, true},
		{"Nodes", framework.NodeSchedulableChange, true},
		{"Nodes", framework.NodeAdd, false},
		{"Nodes", framework.AssignedPodDelete, false},
		{"All", framework.AssignedPodAdd, true},
		{"None", framework.NodeAdd, false},
		{"None", framework.NodeLabelChange, false},
		{"Unlisted", framework.NodeDelete, true},
	}
	for _, c := range cases {
		q, clk := newQueue(t, interest)
		q.Add(pod("p", 0))
		pi, cycle := pop(t, q)
		pi.UnschedulablePlugins = map[string]struct{}{c.plugin: {}}
		q.AddUnschedulableIfNotPresent(pi, cycle)
		clk.Advance(10 * time.Second) // past its backoff, short of the timeout
		q.MoveAllToActiveOrBackoff(c.ev)
		want := "unschedulable"
		if c.moved {
			want = "active"
		}
		if w := q.Where(pi.Pod); w != want {
			t.Errorf("rejected by %s, after %s: pod in %q, want %q", c.plugin, c.ev, w, want)
		}
		q.Close()
	}
}

func TestMoveDuringCycleSendsPodToBackoff(t *testing.T) {
	q, _ := newQueue(t, map[string][]Event{"P": {framework.NodeAdd}})
	q.Add(pod("a", 0))
	pi, cycle := pop(t, q)
	q.MoveAllToActiveOrBackoff(framework.NodeAdd) // while a was being scheduled
	pi.UnschedulablePlugins = map[string]struct{}{"P": {}}
	q.AddUnschedulableIfNotPresent(pi, cycle)
	if w := q.Where(pi.Pod); w != "backoff" {
		t.Fatalf("pod in %q, want backoff (a node was added during its cycle)", w)
	}
}

func TestMovedPodStillBackingOffGoesToBackoff(t *testing.T) {
	q, clk := newQueue(t, nil)
	q.Add(pod("a", 0))
	pi, cycle := pop(t, q)
	pi.UnschedulablePlugins = map[string]struct{}{"P": {}}
	q.AddUnschedulableIfNotPresent(pi, cycle)
	q.MoveAllToActiveOrBackoff(framework.NodeAdd)
	if w := q.Where(pi.Pod); w != "backoff" {
		t.Fatalf("pod in %q, want backoff (its 1s has not passed)", w)
	}
	clk.Advance(time.Second)
	if w := q.Where(pi.Pod); w != "active" {
		t.Fatalf("pod in %q, want active", w)
	}
}

func TestUnschedulableFlushedAfterFiveMinutes(t *testing.T) {
	q, clk := newQueue(t, map[string][]Event{"P": {framework.NodeAdd}})
	q.Add(pod("a", 0))
	pi, cycle := pop(t, q)
	pi.UnschedulablePlugins = map[string]struct{}{"P": {}}
	q.AddUnschedulableIfNotPresent(pi, cycle)
	clk.Advance(5*time.Minute - time.Second)
	if w := q.Where(pi.Pod); w != "unschedulable" {
		t.Fatalf("pod in %q before 5 min", w)
	}
	clk.Advance(time.Second)
	if w := q.Where(pi.Pod); w != "active" {
		t.Fatalf("pod in %q after 5 min, want active", w)
	}
}

func TestUpdateMovesChangedPodToActive(t *testing.T) {
	q, _ := newQueue(t, map[string][]Event{"P": {framework.NodeAdd}})
	q.Add(pod("a", 0))
	pi, cycle := pop(t, q)
	pi.UnschedulablePlugins = map[string]struct{}{"P": {}}
	q.AddUnschedulableIfNotPresent(pi, cycle)

	// A status-only change leaves it where it is.
	st := api.DeepCopy(pi.Pod)
	st.Status.Message = "x"
	q.Update(pi.Pod, st)
	if w := q.Where(pi.Pod); w != "unschedulable" {
		t.Fatalf("after a status change the pod is in %q", w)
	}
	changed := api.DeepCopy(st)
	changed.Labels = map[string]string{"app": "web"}
	q.Update(st, changed)
	if w := q.Where(pi.Pod); w == "unschedulable" || w == "" {
		t.Fatalf("after a label change the pod is in %q, want active or backoff", w)
	}
}

func TestUpdateOfPodInFlightAddsIt(t *testing.T) {
	q, _ := newQueue(t, nil)
	q.Add(pod("a", 0))
	pi, cycle := pop(t, q)
	q.Update(pi.Pod, pi.Pod)
	if w := q.Where(pi.Pod); w != "active" {
		t.Fatalf("pod in %q, want active", w)
	}
	// The cycle's failure does not queue it twice.
	q.AddUnschedulableIfNotPresent(pi, cycle)
	if n := q.Len(); n.Active+n.Backoff+n.Unschedulable != 1 {
		t.Fatalf("counts %+v, want the pod once", n)
	}
}

func TestDeleteRemovesEverywhere(t *testing.T) {
	q, _ := newQueue(t, nil)
	a, b := pod("a", 0), pod("b", 0)
	b.Status.NominatedNodeName = "n1"
	q.Add(a)
	q.Add(b)
	if got := q.NominatedPodsForNode("n1"); len(got) != 1 || got[0].Pod.Name != "b" {
		t.Fatalf("nominated on n1: %v", got)
	}
	q.Delete(a)
	q.Delete(b)
	if n := q.Len(); n != (Counts{}) {
		t.Fatalf("counts %+v after deletes", n)
	}
	if got := q.NominatedPodsForNode("n1"); len(got) != 0 {
		t.Fatalf("nominated on n1 after delete: %v", got)
	}
}

func TestNominatedPods(t *testing.T) {
	q, _ := newQueue(t, nil)
	a := pod("a", 0)
	q.AddNominatedPod(framework.NewPodInfo(a), "n1")
	q.AddNominatedPod(framework.NewPodInfo(a), "n2")
	if len(q.NominatedPodsForNode("n1")) != 0 || len(q.NominatedPodsForNode("n2")) != 1 {
		t.Fatal("a nomination moved to n2 must leave n1")
	}
	if n := q.NumNominatedPods(); n != 1 {
		t.Fatalf("NumNominatedPods = %d after a move, want 1", n)
	}
	q.DeleteNominatedPodIfExists(a)
	if len(q.NominatedPodsForNode("n2")) != 0 {
		t.Fatal("nomination not deleted")
	}
	if n := q.NumNominatedPods(); n != 0 {
		t.Fatalf("NumNominatedPods = %d after the delete, want 0", n)
	}
}

// TestUpdateInFlightKeepsAttempts: a pod updated while it is being
// scheduled is queued again with the attempts (and so the backoff) it
// had, not as a new pod.
func TestUpdateInFlightKeepsAttempts(t *testing.T) {
	q, clk := newQueue(t, nil)
	p := pod("p", 0)
	q.Add(p)
	for range 3 {
		pi, cycle := pop(t, q)
		q.AddUnschedulableIfNotPresent(pi, cycle) // an error: backoff
		clk.Advance(time.Minute)                  // past any backoff
		q.flushBackoff()
	}
	pi, _ := pop(t, q)
	if pi.Attempts != 4 {
		t.Fatalf("fourth Pop: Attempts = %d, want 4", pi.Attempts)
	}
	changed := api.DeepCopy(p)
	changed.Labels = map[string]string{"new": "label"}
	q.Update(p, changed) // mid-cycle
	next, _ := pop(t, q)
	if next.Attempts != 5 {
		t.Errorf("Pop after an update mid-cycle: Attempts = %d, want 5 (the attempts kept)", next.Attempts)
	}
	if next.Pod.Labels["new"] != "label" {
		t.Errorf("Pop after an update mid-cycle: the pod is the old version")
	}
}

// TestDroppedNominationMovesPods: a nomination dropped (the preemptor
// deleted, or bound elsewhere) frees room on its node, like a deleted
// pod; one dropped by the pod being assumed on that node does not.
func TestDroppedNominationMovesPods(t *testing.T) {
	const plugin = "fit"
	q, _ := newQueue(t, map[string][]Event{plugin: {framework.AssignedPodDelete}})
	park := func(p *api.Pod) {
		t.Helper()
		q.Add(p)
		pi, cycle := pop(t, q)
		pi.UnschedulablePlugins = map[string]struct{}{plugin: {}}
		q.AddUnschedulableIfNotPresent(pi, cycle)
		if where := q.Where(p); where != "unschedulable" {
			t.Fatalf("%s is in %q, want unschedulable", p.Name, where)
		}
	}
	nominate := func(name, node string) *api.Pod {
		p := pod(name, 10)
		q.AddNominatedPod(framework.NewPodInfo(p), node)
		return p
	}

	waiting := pod("waiting", 0)
	park(waiting)
	here := nominate("here", "n1")
	assumed := api.DeepCopy(here)
	assumed.Spec.NodeName = "n1"
	q.DeleteNominatedPodIfExists(assumed)
	if where := q.Where(waiting); where != "unschedulable" {
		t.Errorf("a preemptor assumed on its nominated node: waiting pod moved to %q, want it left unschedulable", where)
	}

	gone := nominate("gone", "n1")
	q.DeleteNominatedPodIfExists(gone)
	if where := q.Where(waiting); where == "unschedulable" {
		t.Errorf("a nomination dropped: the pod waiting for room is still unschedulable")
	}

	waiting2 := pod("waiting2", 0)
	park(waiting2)
	deleted := nominate("deleted", "n1")
	q.Delete(deleted)
	if where := q.Where(waiting2); where == "unschedulable" {
		t.Errorf("a nominated pod deleted: the pod waiting for room is still unschedulable")
	}
}
