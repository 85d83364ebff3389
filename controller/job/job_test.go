package job

import (
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
)

func TestParallelismTwoCompletionsFive(t *testing.T) {
	h := start(t)
	tr := trackActive(t, h)
	j := newJob("batch", new(int32(2)), new(int32(5)))
	h.create(j)

	for done := range 5 {
		want := min(2, 5-done)
		pods := h.waitActive(j, want)
		for _, p := range pods {
			if !p.HasFinalizer(TrackingFinalizer) {
				t.Fatalf("pod %s has no %s finalizer", p.Name, TrackingFinalizer)
			}
			if p.Labels[JobNameLabel] != "batch" || p.Labels[ControllerUIDLabel] != string(j.UID) || p.Labels["app"] != "batch" {
				t.Fatalf("pod %s labels = %v", p.Name, p.Labels)
			}
		}
		h.setPhase(pods[0], api.PodRunning)
		h.setPhase(pods[0], api.PodSucceeded)
		h.waitJob("batch", func(j *api.Job) bool { return j.Status.Succeeded == int32(done+1) })
	}
	got := h.waitJob("batch", func(j *api.Job) bool { return hasCondition(j, api.JobComplete, ReasonCompletionsReached) })
	if !hasCondition(got, JobSuccessCriteriaMet, ReasonCompletionsReached) {
		t.Errorf("no SuccessCriteriaMet condition: %+v", got.Status.Conditions)
	}
	if got.Status.CompletionTime == nil || got.Status.StartTime == nil || got.Status.Active != 0 || got.Status.Failed != 0 || got.Status.Succeeded != 5 {
		t.Errorf("status = %+v", got.Status)
	}
	if p := tr.max(); p != 2 {
		t.Errorf("at most %d pods were active at once, want 2", p)
	}
	controllertest.Eventually(t, func() bool {
		for _, p := range h.pods(j) {
			if p.HasFinalizer(TrackingFinalizer) {
				return false
			}
		}
		return len(h.pods(j)) == 5
	})
	h.waitEvent(ReasonCompleted)
	if n := h.eventReasons()[ReasonSuccessfulCreate]; n != 5 {
		t.Errorf("%d SuccessfulCreate events, want 5", n)
	}
}

func TestWorkQueueCompletesWhenOneSucceededAndNoneActive(t *testing.T) {
	h := start(t)
	j := newJob("queue", new(int32(3)), nil)
	h.create(j)
	pods := h.waitActive(j, 3)
	h.setPhase(pods[0], api.PodSucceeded)
	h.waitJob("queue", func(j *api.Job) bool { return j.Status.Succeeded == 1 && j.Status.Active == 2 })
	h.setPhase(pods[1], api.PodSucceeded)
	h.waitJob("queue", func(j *api.Job) bool { return j.Status.Succeeded == 2 && j.Status.Active == 1 })
	if got := h.pods(j); len(got) != 3 {
		t.Fatalf("a work-queue Job with a success made new pods: %d pods", len(got))
	}
	h.setPhase(pods[2], api.PodSucceeded)
	got := h.waitJob("queue", func(j *api.Job) bool { return hasCondition(j, api.JobComplete, "") })
	if got.Status.Succeeded != 3 {
		t.Fatalf("succeeded = %d, want 3", got.Status.Succeeded)
	}
}

func TestBackoffAfterFailures(t *testing.T) {
	h := start(t)
	j := newJob("flaky", nil, nil)
	j.Spec.BackoffLimit = new(int32(6))
	h.create(j)

	// Each failure delays the replacement 10 s, then 20 s, 40 s, from the
	// failure.
	for i, delay := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
		pods := h.waitActive(j, 1)
		failedAt := h.clk.Now()
		h.setPhase(pods[0], api.PodFailed)
		h.waitJob("flaky", func(j *api.Job) bool { return j.Status.Failed == int32(i+1) && j.Status.Active == 0 })
		h.waitWake(failedAt.Add(delay))
		if n := len(active(h.pods(j))); n != 0 {
			t.Fatalf("failure %d: %d active pods before the backoff passed", i+1, n)
		}
		h.clk.Advance(delay - time.Second)
		if n := len(active(h.pods(j))); n != 0 {
			t.Fatalf("failure %d: a pod was created %v after the failure, before the %v backoff", i+1, delay-time.Second, delay)
		}
		h.clk.Advance(time.Second)
	}
	h.waitActive(j, 1)
}

func TestBackoffLimitExceeded(t *testing.T) {
	h := start(t)
	j := newJob("doomed", nil, nil)
	j.Spec.BackoffLimit = new(int32(1))
	h.create(j)

	pods := h.waitActive(j, 1)
	h.setPhase(pods[0], api.PodFailed)
	h.waitJob("doomed", func(j *api.Job) bool { return j.Status.Failed == 1 })
	h.waitWake(h.clk.Now().Add(10 * time.Second))
	h.clk.Advance(10 * time.Second)
	pods = h.waitActive(j, 1)
	h.setPhase(pods[0], api.PodFailed)
	got := h.waitJob("doomed", func(j *api.Job) bool { return hasCondition(j, api.JobFailed, ReasonBackoffLimitExceeded) })
	if !hasCondition(got, JobFailureTarget, ReasonBackoffLimitExceeded) || got.Status.Failed != 2 || got.Status.CompletionTime != nil {
		t.Fatalf("status = %+v", got.Status)
	}
	h.waitEvent(ReasonBackoffLimitExceeded)
	h.clk.Advance(time.Hour)
	if n := len(h.pods(j)); n != 2 {
		t.Fatalf("%d pods after the Job failed, want the 2 that failed", n)
	}
}

func TestOnFailureCountsRestarts(t *testing.T) {
	h := start(t)
	j := newJob("restarts", nil, nil)
	j.Spec.Template.Spec.RestartPolicy = api.RestartPolicyOnFailure
	j.Spec.BackoffLimit = new(int32(3))
	h.create(j)

	pod := h.waitActive(j, 1)[0]
	h.setPhase(pod, api.PodRunning)
	setRestarts := func(n int32) {
		h.updatePodStatus(pod.Name, func(p *api.Pod) { p.Status.ContainerStatuses[0].RestartCount = n })
	}
	setRestarts(3)
	h.waitJob("restarts", func(j *api.Job) bool { return j.Status.Ready != nil && *j.Status.Ready == 1 })
	// Three restarts are within a limit of three; a fourth is not.
	if _, c := finished(h.waitJob("restarts", func(*api.Job) bool { return true })); c != nil {
		t.Fatalf("the Job finished after 3 restarts with backoffLimit 3: %+v", c)
	}
	setRestarts(4)
	got := h.waitJob("restarts", func(j *api.Job) bool { return hasCondition(j, api.JobFailed, ReasonBackoffLimitExceeded) })
	if got.Status.Active != 0 {
		t.Fatalf("active = %d after failing", got.Status.Active)
	}
	// The running pod is deleted, and not counted as a failed pod.
	controllertest.Eventually(t, func() bool { return len(active(h.pods(j))) == 0 })
	if got.Status.Failed != 0 {
		t.Fatalf("failed = %d, want 0: the pod itself never failed", got.Status.Failed)
	}
}

func TestActiveDeadlineSeconds(t *testing.T) {
	h := start(t)
	j := newJob("slow", new(int32(2)), new(int32(4)))
	j.Spec.ActiveDeadlineSeconds = new(int64(30))
	h.create(j)
	for _, p := range h.waitActive(j, 2) {
		h.setPhase(p, api.PodRunning)
	}
	started := h.waitJob("slow", func(j *api.Job) bool {
		return j.Status.StartTime != nil && j.Status.Ready != nil && *j.Status.Ready == 2
	})
	if !started.Status.StartTime.Time.Equal(epoch) {
		t.Fatalf("startTime = %v, want %v", started.Status.StartTime, epoch)
	}
	h.waitWake(epoch.Add(30 * time.Second))
	h.clk.Advance(29 * time.Second)
	if _, c := finished(h.waitJob("slow", func(*api.Job) bool { return true })); c != nil {
		t.Fatal("the Job failed before its deadline")
	}
	h.clk.Advance(time.Second)
	got := h.waitJob("slow", func(j *api.Job) bool { return hasCondition(j, api.JobFailed, ReasonDeadlineExceeded) })
	if got.Status.Active != 0 || got.Status.Failed != 0 {
		t.Fatalf("status = %+v", got.Status)
	}
	controllertest.Eventually(t, func() bool { return len(active(h.pods(j))) == 0 })
	h.waitEvent(ReasonDeadlineExceeded)
}

func TestTTLSecondsAfterFinished(t *testing.T) {
	h := start(t)
	j := newJob("ephemeral", nil, nil)
	j.Spec.TTLSecondsAfterFinished = new(int32(60))
	h.create(j)
	h.clk.Advance(5 * time.Second)
	pod := h.waitActive(j, 1)[0]
	h.setPhase(pod, api.PodSucceeded)
	done := h.waitJob("ephemeral", func(j *api.Job) bool { return hasCondition(j, api.JobComplete, "") })
	at := done.Status.CompletionTime.Add(60 * time.Second)
	h.waitWake(at)
	h.clk.Advance(at.Sub(h.clk.Now()) - time.Second)
	if err := h.c.Get(h.ctx, "default", "ephemeral", &api.Job{}); err != nil {
		t.Fatalf("the Job is gone before its TTL: %v", err)
	}
	h.clk.Advance(time.Second)
	if err := controllertest.WaitForDeletion[api.Job](h.ctx, h.c, "default", "ephemeral"); err != nil {
		t.Fatal(err)
	}
}

func TestSuspendAndResume(t *testing.T) {
	h := start(t)
	j := newJob("pausable", new(int32(2)), new(int32(3)))
	h.create(j)
	first := h.waitActive(j, 2)
	h.setPhase(first[0], api.PodRunning)

	h.updateJob("pausable", func(j *api.Job) { j.Spec.Suspend = new(true) })
	got := h.waitJob("pausable", func(j *api.Job) bool { return hasCondition(j, api.JobSuspended, ReasonJobSuspended) })
	if got.Status.StartTime != nil || got.Status.Active != 0 {
		t.Fatalf("suspended status = %+v", got.Status)
	}
	controllertest.Eventually(t, func() bool { return len(h.pods(j)) == 0 })
	h.waitEvent(ReasonSuspended)

	h.clk.Advance(time.Minute)
	h.updateJob("pausable", func(j *api.Job) { j.Spec.Suspend = new(false) })
	got = h.waitJob("pausable", func(j *api.Job) bool {
		c := condition(j.Status.Conditions, api.JobSuspended)
		return c != nil && c.Status == api.ConditionFalse && j.Status.StartTime != nil
	})
	if !got.Status.StartTime.Time.Equal(epoch.Add(time.Minute)) || got.Status.Failed != 0 {
		t.Fatalf("resumed status = %+v", got.Status)
	}
	for _, p := range h.waitActive(j, 2) {
		h.setPhase(p, api.PodSucceeded)
	}
	h.setPhase(h.waitActive(j, 1)[0], api.PodSucceeded)
	h.waitJob("pausable", func(j *api.Job) bool { return hasCondition(j, api.JobComplete, "") && j.Status.Succeeded == 3 })
}

func TestPodDeletedByOthersCountsAsFailedOnce(t *testing.T) {
	h := start(t)
	j := newJob("evicted", nil, nil)
	h.create(j)
	pod := h.waitActive(j, 1)[0]
	if err := h.c.Delete(h.ctx, pod); err != nil {
		t.Fatal(err)
	}
	h.waitJob("evicted", func(j *api.Job) bool { return j.Status.Failed == 1 })
	if err := controllertest.WaitForDeletion[api.Pod](h.ctx, h.c, "default", pod.Name); err != nil {
		t.Fatal(err)
	}
	h.waitWake(h.clk.Now().Add(10 * time.Second))
	h.clk.Advance(10 * time.Second)
	next := h.waitActive(j, 1)[0]
	h.setPhase(next, api.PodSucceeded)
	got := h.waitJob("evicted", func(j *api.Job) bool { return hasCondition(j, api.JobComplete, "") })
	if got.Status.Failed != 1 || got.Status.Succeeded != 1 {
		t.Fatalf("status = %+v, want failed 1, succeeded 1", got.Status)
	}
}

func TestIndexed(t *testing.T) {
	h := start(t)
	j := newJob("indexed", new(int32(2)), new(int32(3)))
	j.Spec.CompletionMode = new(api.IndexedCompletion)
	h.create(j)
	pods := h.waitActive(j, 2)
	idx := map[string]*api.Pod{}
	for _, p := range pods {
		i := p.Annotations[CompletionIndexAnnotation]
		idx[i] = p
		if env := p.Spec.Containers[0].Env; len(env) != 1 || env[0].Name != CompletionIndexEnv || env[0].Value != i {
			t.Fatalf("pod %s env = %+v", p.Name, env)
		}
	}
	if idx["0"] == nil || idx["1"] == nil {
		t.Fatalf("indexes = %v, want 0 and 1", idx)
	}
	h.setPhase(idx["1"], api.PodSucceeded)
	h.waitJob("indexed", func(j *api.Job) bool { return j.Status.CompletedIndexes == "1" })
	var third *api.Pod
	controllertest.Eventually(t, func() bool {
		for _, p := range active(h.pods(j)) {
			if p.Annotations[CompletionIndexAnnotation] == "2" {
				third = p
			}
		}
		return third != nil
	})
	h.setPhase(third, api.PodSucceeded)
	h.setPhase(idx["0"], api.PodSucceeded)
	got := h.waitJob("indexed", func(j *api.Job) bool { return hasCondition(j, api.JobComplete, "") })
	if got.Status.CompletedIndexes != "0-2" || got.Status.Succeeded != 3 {
		t.Fatalf("status = %+v", got.Status)
	}
}

func TestAdoptsOrphanAndCountsIt(t *testing.T) {
	h := start(t)
	orphan := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "orphan", Labels: map[string]string{"app": "adopter"}},
		Spec:       api.PodSpec{RestartPolicy: api.RestartPolicyNever, Containers: []api.Container{{Name: "c", Image: "busybox:1"}}},
	}
	h.create(orphan)
	j := newJob("adopter", new(int32(2)), new(int32(2)))
	j.Spec.ManualSelector = new(true)
	j.Spec.Selector = &api.LabelSelector{MatchLabels: map[string]string{"app": "adopter"}}
	h.create(j)
	pods := h.waitActive(j, 2)
	controllertest.Eventually(t, func() bool {
		p := &api.Pod{}
		if err := h.c.Get(h.ctx, "default", "orphan", p); err != nil {
			t.Fatal(err)
		}
		return p.IsControlledBy(j.UID) && p.HasFinalizer(TrackingFinalizer)
	})
	for _, p := range pods {
		h.setPhase(p, api.PodSucceeded)
	}
	got := h.waitJob("adopter", func(j *api.Job) bool { return hasCondition(j, api.JobComplete, "") })
	if got.Status.Succeeded != 2 || len(h.pods(j)) != 2 {
		t.Fatalf("succeeded %d with %d pods; want 2 and 2 (the orphan and one new)", got.Status.Succeeded, len(h.pods(j)))
	}
}
