package job

import (
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

func pod(uid string, phase api.PodPhase, finished time.Time) *api.Pod {
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: uid, UID: api.UID(uid), Finalizers: []string{TrackingFinalizer}}}
	p.Status.Phase = phase
	if !finished.IsZero() {
		p.Status.ContainerStatuses = []api.ContainerStatus{{Name: "c",
			State: api.ContainerState{Terminated: &api.ContainerStateTerminated{FinishedAt: api.NewTime(finished)}}}}
	}
	return p
}

func coreJob() *api.Job {
	j := newJob("j", new(int32(1)), new(int32(1)))
	j.UID = "job-uid"
	j.Spec.BackoffLimit = new(int32(6))
	start := api.NewTime(epoch)
	j.Status.StartTime = &start
	return j
}

func TestBackoffDelay(t *testing.T) {
	for n, want := range map[int]time.Duration{
		0: 0, 1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second,
		6: 320 * time.Second, 7: 6 * time.Minute, 40: 6 * time.Minute,
	} {
		if got := (backoffRecord{failures: n}).delay(DefaultBackoffBase, DefaultBackoffMax); got != want {
			t.Errorf("delay after %d failures = %v, want %v", n, got, want)
		}
	}
}

// TestDecideBackoffExact: the replacement of a failed pod is created at
// exactly the failure plus the delay, and the Job is requeued for then.
func TestDecideBackoffExact(t *testing.T) {
	j := coreJob()
	failedAt := epoch.Add(time.Minute)
	in := input{
		job: j, pods: []*api.Pod{pod("a", api.PodFailed, failedAt)}, counted: map[api.UID]bool{},
		now: failedAt.Add(3 * time.Second), satisfied: true,
		backoffBase: DefaultBackoffBase, backoffMax: DefaultBackoffMax,
	}
	p := decide(in)
	if p.status.Failed != 1 || len(p.counted) != 1 || len(p.release) != 1 {
		t.Fatalf("failed %d, counted %d, release %d; want 1, 1, 1", p.status.Failed, len(p.counted), len(p.release))
	}
	if p.create != 0 || p.requeue != 7*time.Second {
		t.Fatalf("create %d, requeue %v; want 0 and 7s", p.create, p.requeue)
	}

	// The next look: the pod is counted (it still holds the finalizer).
	j.Status = p.status
	in.counted = map[api.UID]bool{"a": true}
	in.backoff = p.backoff
	in.now = failedAt.Add(10*time.Second - time.Millisecond)
	p = decide(in)
	if p.status.Failed != 1 || len(p.counted) != 0 {
		t.Fatalf("the counted pod was counted again: failed %d", p.status.Failed)
	}
	if p.create != 0 || p.requeue != time.Millisecond {
		t.Fatalf("1ms early: create %d, requeue %v", p.create, p.requeue)
	}
	in.now = failedAt.Add(10 * time.Second)
	if p = decide(in); p.create != 1 {
		t.Fatalf("at the backoff's end: create %d, want 1", p.create)
	}

	// A success resets the record.
	in.pods = append(in.pods, pod("b", api.PodSucceeded, in.now))
	j.Spec.Completions = new(int32(2))
	if p = decide(in); p.backoff.failures != 0 || p.create != 1 || p.status.Succeeded != 1 {
		t.Fatalf("after a success: backoff %+v, create %d, succeeded %d", p.backoff, p.create, p.status.Succeeded)
	}
}

func TestDecideNoFinalizerNotCounted(t *testing.T) {
	j := coreJob()
	a := pod("a", api.PodSucceeded, epoch)
	a.Finalizers = nil
	p := decide(input{job: j, pods: []*api.Pod{a}, counted: map[api.UID]bool{}, now: epoch, satisfied: true})
	if p.status.Succeeded != 0 || p.create != 1 {
		t.Fatalf("a pod without the tracking finalizer counted: succeeded %d, create %d", p.status.Succeeded, p.create)
	}
}

func TestIndexesRoundTrip(t *testing.T) {
	for _, s := range []string{"", "0", "1,3-5,7", "0-9"} {
		if got := formatIndexes(parseIndexes(s)); got != s {
			t.Errorf("format(parse(%q)) = %q", s, got)
		}
	}
}
