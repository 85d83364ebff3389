package job

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// The condition types Kubernetes 1.31 added, which mark a Job's outcome
// before its pods are all gone; Drover sets them with Complete and Failed.
const (
	JobSuccessCriteriaMet api.JobConditionType = "SuccessCriteriaMet"
	JobFailureTarget      api.JobConditionType = "FailureTarget"
)

// Condition reasons and the event reasons of the controller.
const (
	ReasonCompletionsReached   = "CompletionsReached"
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	ReasonDeadlineExceeded     = "DeadlineExceeded"
	ReasonJobSuspended         = "JobSuspended"
	ReasonJobResumed           = "JobResumed"

	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
	ReasonCompleted        = "Completed"
	ReasonSuspended        = "Suspended"
	ReasonResumed          = "Resumed"
)

// backoffRecord is what the controller remembers of a Job's failures: how
// many pods failed since the last success, and when the last one did.
type backoffRecord struct {
	failures int
	last     time.Time
}

// delay returns how long after b.last a replacement pod may be created.
func (b backoffRecord) delay(base, maxDelay time.Duration) time.Duration {
	if b.failures <= 0 {
		return 0
	}
	d := base
	for range b.failures - 1 {
		d *= 2
		if d >= maxDelay {
			return maxDelay
		}
	}
	return min(d, maxDelay)
}

// input is what one decision about a Job is made from.
type input struct {
	job  *api.Job
	pods []*api.Pod // the pods the Job controls, from the cache
	// counted holds the pods already in the status that still hold the
	// finalizer.
	counted   map[api.UID]bool
	backoff   backoffRecord
	now       time.Time
	satisfied bool // the expectations are met: creates and deletes allowed

	backoffBase, backoffMax time.Duration
}

// event is one Event to record on the Job.
type event struct {
	warning bool
	reason  string
	message string
}

// plan is what the controller decided for a Job. The driver writes status
// (when it differs from the Job's), then deletes, releases and creates.
type plan struct {
	status api.JobStatus
	// counted are the finished pods status newly counts.
	counted []*api.Pod
	// release are pods whose tracking finalizer to remove once status is
	// written: those counted now and those counted before.
	release []*api.Pod
	// remove are active pods to delete (their finalizer removed first,
	// so they are not counted).
	remove []*api.Pod
	// track are active pods without the tracking finalizer (adopted
	// ones) to add it to.
	track []*api.Pod
	// create is how many pods to create; indexes, for an Indexed Job, the
	// index of each.
	create  int
	indexes []int
	events  []event
	backoff backoffRecord
	// requeue is when to look at the Job again (0: no need).
	requeue time.Duration
	// deleteJob: the Job's TTL after it finished has passed.
	deleteJob bool
}

// wake lowers p.requeue to d, if d is positive and sooner.
func (p *plan) wake(d time.Duration) {
	if d > 0 && (p.requeue == 0 || d < p.requeue) {
		p.requeue = d
	}
}

func (p *plan) eventf(warning bool, reason, format string, args ...any) {
	p.events = append(p.events, event{warning: warning, reason: reason, message: fmt.Sprintf(format, args...)})
}

// finished returns the type of the Job's finishing condition (Complete or
// Failed) that is True, and the condition; or "", nil.
func finished(j *api.Job) (api.JobConditionType, *api.JobCondition) {
	for i := range j.Status.Conditions {
		c := &j.Status.Conditions[i]
		if (c.Type == api.JobComplete || c.Type == api.JobFailed) && c.Status == api.ConditionTrue {
			return c.Type, c
		}
	}
	return "", nil
}

func isIndexed(j *api.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == api.IndexedCompletion
}

func hasFinalizer(p *api.Pod) bool { return p.HasFinalizer(TrackingFinalizer) }

// podFailed reports whether p, which finished, counts as failed: it
// failed, or it was deleted before it succeeded.
func podFailed(p *api.Pod) bool {
	return p.Status.Phase == api.PodFailed || (p.DeletionTimestamp != nil && p.Status.Phase != api.PodSucceeded)
}

// podFinished reports whether p has terminated or is being deleted.
func podFinished(p *api.Pod) bool { return !ctrlutil.IsPodActive(p) }

// finishTime returns when p finished: the latest finishedAt of its
// containers, or its deletionTimestamp, or now.
func finishTime(p *api.Pod, now time.Time) time.Time {
	var t time.Time
	for _, cs := range p.Status.ContainerStatuses {
		if tm := cs.State.Terminated; tm != nil && tm.FinishedAt.After(t) {
			t = tm.FinishedAt.Time
		}
	}
	if t.IsZero() && p.DeletionTimestamp != nil {
		t = p.DeletionTimestamp.Time
	}
	if t.IsZero() || t.After(now) {
		t = now
	}
	return t
}

// restarts sums the restart counts of p's containers.
func restarts(p *api.Pod) int {
	n := 0
	for _, cs := range p.Status.InitContainerStatuses {
		n += int(cs.RestartCount)
	}
	for _, cs := range p.Status.ContainerStatuses {
		n += int(cs.RestartCount)
	}
	return n
}

// podIndex returns p's completion index, and false if it has none that
// parses.
func podIndex(p *api.Pod) (int, bool) {
	v, ok := p.Annotations[CompletionIndexAnnotation]
	if !ok {
		v, ok = p.Labels[CompletionIndexAnnotation]
	}
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(v)
	return i, err == nil && i >= 0
}

// decide is the pure core: what to do about in.job given its pods.
func decide(in input) plan {
	j := in.job
	p := plan{backoff: in.backoff}
	p.status = *j.Status.DeepCopy()
	st := &p.status
	var active []*api.Pod
	for _, pod := range in.pods {
		if ctrlutil.IsPodActive(pod) {
			active = append(active, pod)
		}
	}

	if typ, cond := finished(j); typ != "" {
		// Done: release every pod still held, stop any still running,
		// and delete the Job once its TTL has passed.
		for _, pod := range in.pods {
			if hasFinalizer(pod) && podFinished(pod) {
				p.release = append(p.release, pod)
			}
		}
		p.remove = active
		st.Active, st.Ready = 0, new(int32(0))
		if ttl := j.Spec.TTLSecondsAfterFinished; ttl != nil {
			at := cond.LastTransitionTime.Time
			if typ == api.JobComplete && j.Status.CompletionTime != nil {
				at = j.Status.CompletionTime.Time
			}
			at = at.Add(time.Duration(*ttl) * time.Second)
			if !in.now.Before(at) {
				p.deleteJob = true
			} else {
				p.wake(at.Sub(in.now))
			}
		}
		return p
	}

	// Count the pods that finished since the last look, oldest first, so
	// the backoff record sees them in order.
	var done []*api.Pod
	for _, pod := range in.pods {
		if !hasFinalizer(pod) || !podFinished(pod) {
			continue
		}
		p.release = append(p.release, pod)
		if !in.counted[pod.UID] {
			done = append(done, pod)
		}
	}
	slices.SortFunc(done, func(a, b *api.Pod) int { return finishTime(a, in.now).Compare(finishTime(b, in.now)) })
	indexed := isIndexed(j)
	succeededIdx := parseIndexes(st.CompletedIndexes)
	for _, pod := range done {
		p.counted = append(p.counted, pod)
		if podFailed(pod) {
			st.Failed++
			p.backoff.failures++
			p.backoff.last = finishTime(pod, in.now)
			continue
		}
		p.backoff = backoffRecord{}
		if indexed {
			if i, ok := podIndex(pod); ok && j.Spec.Completions != nil && i < int(*j.Spec.Completions) {
				succeededIdx[i] = true
			}
			continue
		}
		st.Succeeded++
	}
	if indexed {
		st.CompletedIndexes = formatIndexes(succeededIdx)
		st.Succeeded = int32(len(succeededIdx))
	}

	// Failures: pods that failed, and with OnFailure the restarts of the
	// running ones.
	failures := int(st.Failed)
	if j.Spec.Template.Spec.RestartPolicy == api.RestartPolicyOnFailure {
		for _, pod := range active {
			failures += restarts(pod)
		}
	}
	limit := 6
	if j.Spec.BackoffLimit != nil {
		limit = int(*j.Spec.BackoffLimit)
	}
	suspended := j.Spec.Suspend != nil && *j.Spec.Suspend

	var finishReason, finishMsg string
	complete := false
	switch {
	case failures > limit:
		finishReason, finishMsg = ReasonBackoffLimitExceeded, "Job has reached the specified backoff limit"
	case !suspended && st.StartTime != nil && j.Spec.ActiveDeadlineSeconds != nil &&
		!in.now.Before(st.StartTime.Add(time.Duration(*j.Spec.ActiveDeadlineSeconds)*time.Second)):
		finishReason, finishMsg = ReasonDeadlineExceeded, "Job was active longer than specified deadline"
	case j.Spec.Completions != nil && st.Succeeded >= *j.Spec.Completions,
		j.Spec.Completions == nil && st.Succeeded > 0 && len(active) == 0:
		complete = true
		finishReason, finishMsg = ReasonCompletionsReached, "Reached expected number of succeeded pods"
	}
	if finishReason != "" {
		now := api.NewTime(in.now)
		p.remove = active
		st.Active, st.Ready = 0, new(int32(0))
		if complete {
			st.Conditions = setCondition(st.Conditions, JobSuccessCriteriaMet, api.ConditionTrue, finishReason, finishMsg, now)
			st.Conditions = setCondition(st.Conditions, api.JobComplete, api.ConditionTrue, finishReason, finishMsg, now)
			st.CompletionTime = &now
			p.eventf(false, ReasonCompleted, "Job completed")
		} else {
			st.Conditions = setCondition(st.Conditions, JobFailureTarget, api.ConditionTrue, finishReason, finishMsg, now)
			st.Conditions = setCondition(st.Conditions, api.JobFailed, api.ConditionTrue, finishReason, finishMsg, now)
			p.eventf(true, finishReason, "%s", finishMsg)
		}
		if ttl := j.Spec.TTLSecondsAfterFinished; ttl != nil {
			// The status write queues the Job again; be sure anyway.
			p.wake(max(time.Duration(*ttl)*time.Second, time.Second))
		}
		return p
	}

	now := api.NewTime(in.now)
	if suspended {
		p.remove = active
		st.Active, st.Ready = 0, new(int32(0))
		st.StartTime = nil
		if c := condition(st.Conditions, api.JobSuspended); c == nil || c.Status != api.ConditionTrue {
			st.Conditions = setCondition(st.Conditions, api.JobSuspended, api.ConditionTrue, ReasonJobSuspended, "Job suspended", now)
			p.eventf(false, ReasonSuspended, "Job suspended")
		}
		return p
	}
	if c := condition(st.Conditions, api.JobSuspended); c != nil && c.Status == api.ConditionTrue {
		st.Conditions = setCondition(st.Conditions, api.JobSuspended, api.ConditionFalse, ReasonJobResumed, "Job resumed", now)
		p.eventf(false, ReasonResumed, "Job resumed")
		st.StartTime = nil
	}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	if d := j.Spec.ActiveDeadlineSeconds; d != nil {
		p.wake(st.StartTime.Add(time.Duration(*d) * time.Second).Sub(in.now))
	}

	ready := int32(0)
	for _, pod := range active {
		if ctrlutil.IsPodReady(pod) {
			ready++
		}
	}
	st.Active, st.Ready = int32(len(active)), &ready

	if !in.satisfied {
		return p
	}
	for _, pod := range active {
		if !hasFinalizer(pod) {
			p.track = append(p.track, pod)
		}
	}
	parallelism := 1
	if j.Spec.Parallelism != nil {
		parallelism = int(*j.Spec.Parallelism)
	}
	if indexed {
		p.manageIndexed(in, active, succeededIdx, parallelism)
	} else {
		want := parallelism
		switch {
		case j.Spec.Completions == nil && st.Succeeded > 0:
			want = len(active) // a work queue: let the running pods finish
		case j.Spec.Completions != nil:
			want = min(want, int(*j.Spec.Completions-st.Succeeded))
		}
		if diff := len(active) - want; diff > 0 {
			p.remove = pickExcess(active, diff)
		} else {
			p.create = -diff
		}
	}
	if p.create > 0 && p.backoff.failures > 0 {
		at := p.backoff.last.Add(p.backoff.delay(in.backoffBase, in.backoffMax))
		if in.now.Before(at) {
			p.create, p.indexes = 0, nil
			p.wake(at.Sub(in.now))
		}
	}
	return p
}

// manageIndexed decides the creates and deletes of an Indexed Job: one
// active pod per index that has not succeeded, lowest first, at most
// parallelism; duplicates and pods of indexes out of range or done are
// deleted.
func (p *plan) manageIndexed(in input, active []*api.Pod, succeeded map[int]bool, parallelism int) {
	completions := int(*in.job.Spec.Completions)
	byIndex := map[int]bool{}
	var keep []*api.Pod
	for _, pod := range active {
		i, ok := podIndex(pod)
		if !ok || i >= completions || succeeded[i] || byIndex[i] {
			p.remove = append(p.remove, pod)
			continue
		}
		byIndex[i] = true
		keep = append(keep, pod)
	}
	if extra := len(keep) - parallelism; extra > 0 {
		// Keep the lowest indexes.
		slices.SortFunc(keep, func(a, b *api.Pod) int {
			ia, _ := podIndex(a)
			ib, _ := podIndex(b)
			return cmp.Compare(ia, ib)
		})
		p.remove = append(p.remove, keep[len(keep)-extra:]...)
		return
	}
	room := parallelism - len(keep)
	for i := 0; i < completions && room > 0; i++ {
		if !succeeded[i] && !byIndex[i] {
			p.indexes = append(p.indexes, i)
			room--
		}
	}
	p.create = len(p.indexes)
}

// pickExcess returns n of active to delete: pods not yet scheduled first,
// then not ready, then the newest.
func pickExcess(active []*api.Pod, n int) []*api.Pod {
	rank := func(p *api.Pod) int {
		switch {
		case p.Spec.NodeName == "":
			return 0
		case p.Status.Phase == api.PodPending:
			return 1
		case !ctrlutil.IsPodReady(p):
			return 2
		}
		return 3
	}
	s := slices.Clone(active)
	slices.SortStableFunc(s, func(a, b *api.Pod) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
	})
	return s[:n]
}

// condition returns the condition of type t, or nil.
func condition(cs []api.JobCondition, t api.JobConditionType) *api.JobCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// setCondition sets the condition of type t, keeping its transition time
// when its status does not change, and returns the new list.
func setCondition(cs []api.JobCondition, t api.JobConditionType, s api.ConditionStatus, reason, msg string, now api.Time) []api.JobCondition {
	out := slices.Clone(cs)
	c := condition(out, t)
	if c == nil {
		return append(out, api.JobCondition{Type: t, Status: s, Reason: reason, Message: msg, LastProbeTime: now, LastTransitionTime: now})
	}
	if c.Status != s {
		c.LastTransitionTime = now
	}
	c.Status, c.Reason, c.Message, c.LastProbeTime = s, reason, msg, now
	return out
}

// parseIndexes parses a completedIndexes list such as "1,3-5,7"; what
// does not parse is skipped.
func parseIndexes(s string) map[int]bool {
	out := map[int]bool{}
	if s == "" {
		return out
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := a; i <= b; i++ {
			out[i] = true
		}
	}
	return out
}

// formatIndexes renders set as a completedIndexes list.
func formatIndexes(set map[int]bool) string {
	idx := make([]int, 0, len(set))
	for i := range set {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	var b strings.Builder
	for k := 0; k < len(idx); {
		e := k
		for e+1 < len(idx) && idx[e+1] == idx[e]+1 {
			e++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(idx[k]))
		if e > k {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(idx[e]))
		}
		k = e + 1
	}
	return b.String()
}
