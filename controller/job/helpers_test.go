package job

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

// harness is a Manager running the Job controller on an Env with a fake
// clock; the test plays the node agent.
type harness struct {
	t   *testing.T
	env *controllertest.Env
	c   *client.Client
	clk *fakeclock.Clock
	rc  *recordingClock
	ctx context.Context
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
	return &harness{t: t, env: env, c: env.Client, clk: clk, rc: rc, ctx: controllertest.Context(t)}
}

// newJob returns a Job of one container with restartPolicy Never.
func newJob(name string, parallelism, completions *int32) *api.Job {
	return &api.Job{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.JobSpec{
			Parallelism: parallelism,
			Completions: completions,
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: api.PodSpec{
					RestartPolicy: api.RestartPolicyNever,
					Containers:    []api.Container{{Name: "c", Image: "busybox:1"}},
				},
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

// pods returns the pods of the Job on the server, sorted by name.
func (h *harness) pods(j *api.Job) []*api.Pod {
	h.t.Helper()
	var list api.PodList
	if err := h.c.List(h.ctx, &list, client.InNamespace("default")); err != nil {
		h.t.Fatal(err)
	}
	var out []*api.Pod
	for i := range list.Items {
		if p := &list.Items[i]; p.IsControlledBy(j.UID) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *api.Pod) int { return compareStrings(a.Name, b.Name) })
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func active(pods []*api.Pod) []*api.Pod {
	var out []*api.Pod
	for _, p := range pods {
		if ctrlutil.IsPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// waitActive waits until the Job has exactly n active pods and returns
// them.
func (h *harness) waitActive(j *api.Job, n int) []*api.Pod {
	h.t.Helper()
	var got []*api.Pod
	controllertest.Eventually(h.t, func() bool {
		got = active(h.pods(j))
		return len(got) == n
	})
	return got
}

// waitJob waits until the Job passes cond.
func (h *harness) waitJob(name string, cond func(*api.Job) bool) *api.Job {
	h.t.Helper()
	j, err := controllertest.WaitFor(h.ctx, h.c, "default", name, cond)
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

// setPhase sets a pod's phase as a node agent would: Running (ready),
// Succeeded or Failed (its container terminated now).
func (h *harness) setPhase(p *api.Pod, phase api.PodPhase) {
	h.t.Helper()
	h.updatePodStatus(p.Name, func(p *api.Pod) {
		p.Status.Phase = phase
		now := api.NewTime(h.clk.Now())
		cs := api.ContainerStatus{Name: "c", Image: "busybox:1", ImageID: "sha256:1"}
		switch phase {
		case api.PodRunning:
			cs.Ready = true
			cs.State.Running = &api.ContainerStateRunning{StartedAt: now}
			p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: now}}
		case api.PodSucceeded, api.PodFailed:
			code := int32(0)
			if phase == api.PodFailed {
				code = 1
			}
			cs.State.Terminated = &api.ContainerStateTerminated{ExitCode: code, StartedAt: now, FinishedAt: now}
			p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionFalse, LastTransitionTime: now}}
		}
		p.Status.ContainerStatuses = []api.ContainerStatus{cs}
	})
}

func (h *harness) updatePodStatus(name string, mutate func(*api.Pod)) {
	h.t.Helper()
	err := client.RetryOnConflict(h.ctx, client.DefaultRetry, func() error {
		p := &api.Pod{}
		if err := h.c.Get(h.ctx, "default", name, p); err != nil {
			return err
		}
		mutate(p)
		return h.c.UpdateStatus(h.ctx, p)
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// updateJob changes the Job's spec.
func (h *harness) updateJob(name string, mutate func(*api.Job)) {
	h.t.Helper()
	err := client.RetryOnConflict(h.ctx, client.DefaultRetry, func() error {
		j := &api.Job{}
		if err := h.c.Get(h.ctx, "default", name, j); err != nil {
			return err
		}
		mutate(j)
		return h.c.Update(h.ctx, j)
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// recordingClock is the fake clock, recording when each timer the
// controller's queue sets (its requeues) fires.
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

// waitWake waits until the controller's queue will wake up no later than
// at (and after now): the controller requeued a Job for at, or an earlier
// wake-up is pending. Exact requeue times are tested on the core
// (core_test.go).
func (h *harness) waitWake(at time.Time) {
	h.t.Helper()
	now := h.clk.Now()
	controllertest.Eventually(h.t, func() bool { return h.rc.wakesBy(now, at) })
}

// eventReasons returns the reasons of the events in default, once each
// has been written.
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

func (h *harness) waitEvent(reason string) {
	h.t.Helper()
	controllertest.Eventually(h.t, func() bool { return h.eventReasons()[reason] > 0 })
}

func hasCondition(j *api.Job, t api.JobConditionType, reason string) bool {
	c := condition(j.Status.Conditions, t)
	return c != nil && c.Status == api.ConditionTrue && (reason == "" || c.Reason == reason)
}

// activeTracker watches the pods of the namespace and records the most
// pods ever active at once.
type activeTracker struct {
	mu    sync.Mutex
	state map[string]bool // pod name → active
	peak  int
}

func trackActive(t *testing.T, h *harness) *activeTracker {
	t.Helper()
	w, err := h.c.Watch(h.ctx, &api.PodList{}, client.InNamespace("default"))
	if err != nil {
		t.Fatal(err)
	}
	tr := &activeTracker{state: map[string]bool{}}
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
				delete(tr.state, p.Name)
			} else {
				tr.state[p.Name] = ctrlutil.IsPodActive(p)
			}
			n := 0
			for _, a := range tr.state {
				if a {
					n++
				}
			}
			tr.peak = max(tr.peak, n)
			tr.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.Stop(); <-done })
	return tr
}

func (tr *activeTracker) max() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.peak
}
