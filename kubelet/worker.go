package kubelet

import (
	"cmp"
	"context"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/kubelet/internal/podlabels"
	"github.com/drover-io/drover/runtime"
)

// podWorker is the state of one pod. The fields up to admitted are
// guarded by Kubelet.mu; the rest belong to the goroutine syncing the
// pod (one at a time per pod).
type podWorker struct {
	uid string

	pod       *api.Pod // desired; nil once the pod is gone
	last      *api.Pod // last known, for a pod that is gone
	static    bool
	running   bool
	pending   bool
	stopTimer func() bool
	unhealthy map[string]ProbeUpdate // by container ID
	// forceWrite has the next sync write the status even if unchanged
	// (a static pod's new mirror pod).
	forceWrite bool
	// writtenRV and writtenKey are the resourceVersion and statusKey of
	// the pod as the agent's last status write stored it: a newer pod
	// with another status was written by someone else (foreignStatus).
	writtenRV  uint64
	writtenKey string
	// writingKey is the statusKey of the status being written (or last
	// tried): its echo from the watch is the agent's own.
	writingKey string
	admitted   bool
	// active is admitted and neither terminal nor terminated, as of the
	// end of the last sync: what admission counts.
	active bool

	rejected      *api.PodStatus
	terminalPhase api.PodPhase
	// terminalReason and terminalMessage say why the agent failed the
	// pod (DeadlineExceeded).
	terminalReason, terminalMessage string
	terminated                      bool
	startTime                       *api.Time
	crash                           map[string]*crashState                // by container name
	pull                            map[string]*crashState                // by image
	waiting                         map[string]*api.ContainerStateWaiting // by container name
	attempts                        map[string]uint32
	sbAttempt                       uint32
	lastWritten                     string
	probed                          map[string]bool // container IDs given to the prober
	runningSeen                     bool
}

// crashState is the back-off of a container's restarts (or of an
// image's pulls).
type crashState struct {
	id    string // the exited container the back-off was computed for
	delay time.Duration
	until time.Time
}

func newPodWorker(uid string) *podWorker {
	return &podWorker{
		uid:       uid,
		unhealthy: make(map[string]ProbeUpdate),
		crash:     make(map[string]*crashState),
		pull:      make(map[string]*crashState),
		waiting:   make(map[string]*api.ContainerStateWaiting),
		attempts:  make(map[string]uint32),
		probed:    make(map[string]bool),
	}
}

// Back-off bounds of container restarts and image pulls.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
	backoffReset   = 10 * time.Minute
)

// statusRetry is when a pod is synced again after its status or the
// confirmation of its deletion could not be written: nothing else would
// sync a pod whose containers no longer change.
const statusRetry = 10 * time.Second

// podState is what the runtime has of a pod.
type podState struct {
	sandbox   *runtime.SandboxStatus   // the newest ready sandbox, or nil
	sandboxes []*runtime.SandboxStatus // all of them, newest first
	// byName holds the containers of each name, newest first.
	byName map[string][]*runtime.ContainerStatus
}

func (s *podState) newest(name string) *runtime.ContainerStatus {
	if l := s.byName[name]; len(l) > 0 {
		return l[0]
	}
	return nil
}

func (s *podState) previous(name string) *runtime.ContainerStatus {
	if l := s.byName[name]; len(l) > 1 {
		return l[1]
	}
	return nil
}

func (s *podState) all() []*runtime.ContainerStatus {
	var out []*runtime.ContainerStatus
	for _, l := range s.byName {
		out = append(out, l...)
	}
	return out
}

// runtimeState reads the runtime's sandboxes and containers of pod uid.
func (k *Kubelet) runtimeState(ctx context.Context, uid string) (*podState, error) {
	sbs, err := k.rt.ListPodSandboxes(ctx)
	if err != nil {
		return nil, err
	}
	st := &podState{byName: make(map[string][]*runtime.ContainerStatus)}
	for _, sb := range sbs {
		if sb.Labels[podlabels.PodUID] == uid && sb.Labels[podlabels.ManagedBy] == podlabels.ManagedByValue {
			st.sandboxes = append(st.sandboxes, sb)
		}
	}
	slices.SortFunc(st.sandboxes, func(a, b *runtime.SandboxStatus) int {
		return cmp.Or(cmp.Compare(b.Metadata.Attempt, a.Metadata.Attempt), b.CreatedAt.Compare(a.CreatedAt))
	})
	for _, sb := range st.sandboxes {
		if sb.State == runtime.SandboxReady {
			st.sandbox = sb
			break
		}
	}
	cs, err := k.rt.ListContainers(ctx, runtime.ContainerFilter{Labels: map[string]string{podlabels.PodUID: uid}})
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		name := c.Labels[podlabels.ContainerName]
		st.byName[name] = append(st.byName[name], c)
	}
	for _, l := range st.byName {
		slices.SortFunc(l, func(a, b *runtime.ContainerStatus) int {
			return cmp.Or(cmp.Compare(b.Attempt, a.Attempt), b.CreatedAt.Compare(a.CreatedAt))
		})
	}
	return st, nil
}

// syncPod brings the runtime in line with w's pod and reports its status.
// It returns when to sync again (0: on the next change only) and whether
// the pod is gone for good.
func (k *Kubelet) syncPod(ctx context.Context, w *podWorker) (time.Duration, bool) {
	k.mu.Lock()
	pod, last, static := w.pod, w.last, w.static
	unhealthy := maps.Clone(w.unhealthy)
	if w.forceWrite || (!static && pod != nil && foreignStatus(w, pod)) {
		// The next write compares with the API server's status.
		w.forceWrite, w.lastWritten = false, ""
	}
	k.mu.Unlock()
	log := k.log.With("pod", last.Namespace+"/"+last.Name, "uid", w.uid)

	if pod == nil {
		k.removePod(ctx, w, last, log)
		return 0, true
	}
	if pod.DeletionTimestamp != nil {
		if !w.terminated {
			k.terminatePod(ctx, w, pod, static, log)
		}
		if !w.terminated {
			return statusRetry, false // the confirmation failed
		}
		return 0, false
	}
	if w.rejected != nil {
		if !k.writeStatus(ctx, w, pod, static, w.rejected) {
			return statusRetry, false
		}
		return 0, false
	}
	if !w.admitted {
		ok, wake := k.admit(ctx, w, pod, static)
		if !ok {
			return wake, false
		}
	}
	if w.startTime == nil {
		if pod.Status.StartTime != nil {
			w.startTime = pod.Status.StartTime
		} else {
			t := api.NewTime(k.now())
			w.startTime = &t
		}
	}
	st, err := k.runtimeState(ctx, w.uid)
	if err != nil {
		log.Warn("read the pod's containers", "err", err)
		return time.Second, false
	}
	if w.terminalPhase == "" && isTerminal(pod.Status.Phase) && !static {
		w.terminalPhase = pod.Status.Phase
	}
	if w.terminalPhase != "" {
		clear(w.waiting) // nothing runs again
		if len(st.sandboxes) == 0 && len(st.byName) == 0 {
			// Ended before this agent ran it (or rejected by an earlier
			// run): its status is not this agent's to rewrite.
			return 0, false
		}
		k.stopPod(ctx, w, pod, st, gracePeriod(pod, nil), false)
		if st, err = k.runtimeState(ctx, w.uid); err != nil || !k.writeStatus(ctx, w, pod, static, k.computeStatus(pod, w, st)) {
			return statusRetry, false
		}
		return 0, false
	}

	var deadlineIn time.Duration
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		deadlineIn = w.startTime.Add(time.Duration(*d) * time.Second).Sub(k.now())
		if deadlineIn <= 0 {
			msg := "Pod was active on the node longer than the specified deadline"
			k.rec.Eventf(pod, api.EventTypeWarning, "DeadlineExceeded", "%s", msg)
			w.terminalPhase, w.terminalReason, w.terminalMessage = api.PodFailed, "DeadlineExceeded", msg
			clear(w.waiting) // nothing runs again
			k.stopPod(ctx, w, pod, st, gracePeriod(pod, nil), false)
			if st, err = k.runtimeState(ctx, w.uid); err != nil || !k.writeStatus(ctx, w, pod, static, k.computeStatus(pod, w, st)) {
				return statusRetry, false
			}
			return 0, false
		}
	}
	wake := k.syncContainers(ctx, w, pod, st, unhealthy, log)
	if deadlineIn > 0 && (wake == 0 || deadlineIn < wake) {
		wake = deadlineIn
	}
	if st, err = k.runtimeState(ctx, w.uid); err != nil {
		return time.Second, false
	}
	status := k.computeStatus(pod, w, st)
	if isTerminal(status.Phase) {
		w.terminalPhase = status.Phase
		for _, sb := range st.sandboxes {
			_ = k.rt.StopPodSandbox(ctx, sb.ID)
		}
		if k.probes != nil {
			k.probes.RemovePod(w.uid)
		}
		wake = 0
	}
	if status.Phase == api.PodRunning && !w.runningSeen {
		w.runningSeen = true
		from := pod.CreationTimestamp.Time
		if !from.IsZero() {
			k.metrics.startLatency.Observe(k.now().Sub(from).Seconds())
		}
	}
	if !k.writeStatus(ctx, w, pod, static, status) && (wake == 0 || wake > statusRetry) {
		wake = statusRetry
	}
	if wake == 0 || wake > k.cfg.ResyncPeriod {
		if !isTerminal(status.Phase) {
			wake = k.cfg.ResyncPeriod
		}
	}
	return wake, false
}

func isTerminal(p api.PodPhase) bool { return p == api.PodSucceeded || p == api.PodFailed }

// gracePeriod is the time pod's containers get to stop: the deletion's,
// else probe's, else the pod's (30 s by default).
func gracePeriod(pod *api.Pod, probe *api.Probe) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case probe != nil && probe.TerminationGracePeriodSeconds != nil:
		return time.Duration(*probe.TerminationGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// specOf returns the spec of container name and whether it is an init
// container.
func specOf(pod *api.Pod, name string) (*api.Container, bool) {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i], true
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i], false
		}
	}
	return nil, false
}

// stopPod stops the pod's running containers, each after its preStop
// hook, in parallel, within grace; then its sandboxes, and with remove
// removes them.
func (k *Kubelet) stopPod(ctx context.Context, w *podWorker, pod *api.Pod, st *podState, grace time.Duration, remove bool) {
	var wg sync.WaitGroup
	for _, c := range st.all() {
		if c.State != runtime.ContainerRunning && c.State != runtime.ContainerCreated {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec, _ := specOf(pod, c.Labels[podlabels.ContainerName])
			k.killContainer(ctx, pod, spec, c, st.sandbox, grace, "Stopping container "+c.Name)
		}()
	}
	wg.Wait()
	if k.probes != nil {
		k.probes.RemovePod(w.uid)
	}
	for _, sb := range st.sandboxes {
		if err := k.rt.StopPodSandbox(ctx, sb.ID); err != nil {
			k.log.Warn("stop sandbox", "sandbox", sb.ID, "err", err)
		}
		if remove {
			if err := k.rt.RemovePodSandbox(ctx, sb.ID); err != nil {
				k.log.Warn("remove sandbox", "sandbox", sb.ID, "err", err)
			}
		}
	}
}

// killContainer runs c's preStop hook (if spec has one and c runs), then
// stops c with what remains of grace.
func (k *Kubelet) killContainer(ctx context.Context, pod *api.Pod, spec *api.Container, c *runtime.ContainerStatus, sb *runtime.SandboxStatus, grace time.Duration, msg string) {
	start := k.now()
	if spec != nil && c.State == runtime.ContainerRunning && spec.Lifecycle != nil && spec.Lifecycle.PreStop != nil && grace > 0 {
		if err := k.runHook(ctx, pod, spec, c.ID, sb, spec.Lifecycle.PreStop, grace); err != nil {
			k.rec.Eventf(pod, api.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed: %v", err)
		}
	}
	remaining := max(grace-k.now().Sub(start), 0)
	if spec != nil {
		k.rec.Eventf(pod, api.EventTypeNormal, "Killing", "%s", msg)
	}
	if err := k.rt.StopContainer(ctx, c.ID, runtime.StopOptions{GracePeriod: remaining}); err != nil {
		k.log.Warn("stop container", "container", c.ID, "err", err)
	}
	if k.probes != nil {
		k.probes.Remove(c.ID)
	}
}

// terminatePod stops a pod that is being deleted, removes what the node
// made for it, and confirms the deletion to the API server.
func (k *Kubelet) terminatePod(ctx context.Context, w *podWorker, pod *api.Pod, static bool, log *slog.Logger) {
	st, err := k.runtimeState(ctx, w.uid)
	if err != nil {
		k.log.Warn("read the pod's containers", "err", err)
		return
	}
	k.stopPod(ctx, w, pod, st, gracePeriod(pod, nil), true)
	if err := k.volumes.TearDown(ctx, w.uid); err != nil {
		k.log.Warn("tear down volumes", "pod", pod.Key(), "err", err)
	}
	w.terminated = true
	w.terminalPhase = cmp.Or(w.terminalPhase, api.PodSucceeded)
	if static {
		return
	}
	zero := int64(0)
	cp := api.DeepCopy(pod)
	err = k.cfg.Client.Delete(ctx, cp, client.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &client.Preconditions{UID: pod.UID}})
	if err != nil && !api.IsNotFound(err) && !api.IsConflict(err) {
		k.log.Warn("confirm the pod's deletion", "pod", pod.Key(), "err", err)
		w.terminated = false // try again on the next sync
		return
	}
	log.Info("pod stopped and deleted")
}

// removePod cleans up after a pod that is no longer bound here (deleted
// from the API server, or a static pod removed).
func (k *Kubelet) removePod(ctx context.Context, w *podWorker, last *api.Pod, log *slog.Logger) {
	if !w.terminated {
		st, err := k.runtimeState(ctx, w.uid)
		if err == nil {
			k.stopPod(ctx, w, last, st, gracePeriod(last, nil), true)
		}
		if err := k.volumes.TearDown(ctx, w.uid); err != nil {
			k.log.Warn("tear down volumes", "pod", last.Key(), "err", err)
		}
	}
	_ = os.RemoveAll(k.logDir(last))
	log.Info("pod removed")
}
