package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/runtime"
)

// podIP is the pod's IP: the node's for a host-network pod or a ready
// sandbox without a network namespace of its own (runtime/process,
// runtime/fake). A sandbox with its own network namespace has no IP until
// pod networking (CNI) lands: podIP stays empty. Once the sandbox is
// stopped or gone (a finished pod), the IP reported before stays, as
// Kubernetes keeps it.
func (k *Kubelet) podIP(pod *api.Pod, sb *runtime.SandboxStatus) string {
	switch {
	case pod.Spec.HostNetwork:
		return k.nodeIP()
	case sb == nil || sb.State != runtime.SandboxReady:
		return pod.Status.PodIP
	case sb.NetNSPath == "":
		return k.nodeIP()
	}
	return ""
}

// computeStatus is the pod's status from what the runtime has of it.
func (k *Kubelet) computeStatus(pod *api.Pod, w *podWorker, st *podState) *api.PodStatus {
	now := api.NewTime(k.now())
	s := &api.PodStatus{
		StartTime: w.startTime,
		QOSClass:  api.PodQOS(&pod.Spec),
		HostIP:    k.nodeIP(),
	}
	if s.HostIP != "" {
		s.HostIPs = []api.HostIP{{IP: s.HostIP}}
		if ip := k.podIP(pod, st.sandbox); ip != "" {
			s.PodIP, s.PodIPs = ip, []api.PodIP{{IP: ip}}
		}
	}
	policy := pod.Spec.RestartPolicy
	if policy == "" {
		policy = api.RestartPolicyAlways
	}
	sbID := ""
	if st.sandbox != nil {
		sbID = st.sandbox.ID
	}

	// Init containers.
	initDone, initFailed := true, false
	var incomplete []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := k.containerStatus(w, c, st, true)
		cur := st.newest(c.Name)
		done := cur != nil && cur.State == runtime.ContainerExited && cur.ExitCode == 0 && (cur.SandboxID == sbID || sbID == "")
		if !done {
			initDone = false
			incomplete = append(incomplete, c.Name)
			if cur != nil && cur.State == runtime.ContainerExited && cur.ExitCode != 0 && policy == api.RestartPolicyNever {
				initFailed = true
			}
		}
		if cur == nil && w.waiting[c.Name] == nil {
			cs.State.Waiting = &api.ContainerStateWaiting{Reason: ReasonPodInitializing}
		}
		s.InitContainerStatuses = append(s.InitContainerStatuses, cs)
	}
	if !initDone && sbID != "" && regularStarted(pod, st, sbID) {
		initDone, incomplete = true, nil
	}

	// Regular containers.
	var running, waiting, stopped, succeeded int
	var unready []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := k.containerStatus(w, c, st, false)
		if !initDone && cs.State.Running == nil && cs.State.Terminated == nil {
			cs.State.Waiting = &api.ContainerStateWaiting{Reason: ReasonPodInitializing}
		}
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
		if !cs.Ready {
			unready = append(unready, c.Name)
		}
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
	}

	switch {
	case initFailed:
		s.Phase = api.PodFailed
	case !initDone:
		s.Phase = api.PodPending
	case waiting > 0:
		s.Phase = api.PodPending
	case running > 0:
		s.Phase = api.PodRunning
	case stopped > 0:
		switch {
		case policy == api.RestartPolicyAlways:
			s.Phase = api.PodRunning
		case stopped == succeeded:
			s.Phase = api.PodSucceeded
		case policy == api.RestartPolicyNever:
			s.Phase = api.PodFailed
		default:
			s.Phase = api.PodRunning
		}
	default:
		s.Phase = api.PodPending
	}
	if w.terminalPhase != "" {
		s.Phase = w.terminalPhase
		if isTerminal(pod.Status.Phase) {
			s.Reason, s.Message = pod.Status.Reason, pod.Status.Message
		}
		if w.terminalReason != "" {
			s.Reason, s.Message = w.terminalReason, w.terminalMessage
		}
	}

	// Conditions.
	prev := pod.Status.Conditions
	cond := func(t api.PodConditionType, ok bool, reason, msg string) api.PodCondition {
		c := api.PodCondition{Type: t, Status: api.ConditionFalse, Reason: reason, Message: msg}
		if ok {
			c = api.PodCondition{Type: t, Status: api.ConditionTrue}
		}
		c.LastTransitionTime = now
		for _, p := range prev {
			if p.Type == t && p.Status == c.Status {
				c.LastTransitionTime = p.LastTransitionTime
			}
		}
		return c
	}
	ready := initDone && len(unready) == 0
	notReady := fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	readyReason := "ContainersNotReady"
	if isTerminal(s.Phase) {
		ready, readyReason, notReady = false, "PodCompleted", ""
	}
	podReady := ready
	podReadyMsg := notReady
	for _, g := range pod.Spec.ReadinessGates {
		i := slices.IndexFunc(prev, func(c api.PodCondition) bool { return c.Type == g.ConditionType })
		if i < 0 || prev[i].Status != api.ConditionTrue {
			podReady = false
			if ready {
				readyReason, podReadyMsg = "ReadinessGatesNotReady", fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist or is not True", g.ConditionType)
			}
		}
	}
	s.Conditions = []api.PodCondition{
		cond(api.PodInitialized, initDone, "ContainersNotInitialized", fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " "))),
		cond(api.PodReady, podReady, readyReason, podReadyMsg),
		cond(api.ContainersReady, ready, readyReason, notReady),
		cond(api.PodScheduled, true, "", ""),
	}
	// Keep the conditions others own (readiness gates, DisruptionTarget).
	for _, p := range prev {
		switch p.Type {
		case api.PodInitialized, api.PodReady, api.ContainersReady, api.PodScheduled:
		default:
			s.Conditions = append(s.Conditions, p)
		}
	}
	return s
}

// containerStatus is the status of container c.
func (k *Kubelet) containerStatus(w *podWorker, c *api.Container, st *podState, init bool) api.ContainerStatus {
	cs := api.ContainerStatus{Name: c.Name, Image: c.Image}
	cur, prev := st.newest(c.Name), st.previous(c.Name)
	wait := w.waiting[c.Name]
	f := false
	cs.Started = &f
	if cur == nil {
		if wait != nil {
			cs.State.Waiting = &api.ContainerStateWaiting{Reason: wait.Reason, Message: wait.Message}
		} else {
			cs.State.Waiting = &api.ContainerStateWaiting{Reason: ReasonContainerCreating}
		}
		return cs
	}
	cs.RestartCount = int32(cur.Attempt)
	cs.ImageID = cur.ImageID
	cs.ContainerID = k.containerID(cur.ID)
	switch cur.State {
	case runtime.ContainerRunning:
		cs.State.Running = &api.ContainerStateRunning{StartedAt: api.NewTime(cur.StartedAt)}
		started := k.started(c, cur.ID)
		cs.Started = &started
		cs.Ready = started && k.ready(c, cur.ID)
		if prev != nil {
			cs.LastTerminationState.Terminated = k.terminated(prev)
		}
	case runtime.ContainerCreated:
		cs.State.Waiting = &api.ContainerStateWaiting{Reason: ReasonContainerCreating}
		if prev != nil {
			cs.LastTerminationState.Terminated = k.terminated(prev)
		}
	default:
		if wait != nil {
			// Exited and waiting to run again (back-off, image, config).
			cs.State.Waiting = &api.ContainerStateWaiting{Reason: wait.Reason, Message: wait.Message}
			cs.LastTerminationState.Terminated = k.terminated(cur)
		} else {
			cs.State.Terminated = k.terminated(cur)
			if prev != nil {
				cs.LastTerminationState.Terminated = k.terminated(prev)
			}
		}
	}
	return cs
}

func (k *Kubelet) containerID(id string) string { return k.runtimeName + "://" + id }

func (k *Kubelet) terminated(c *runtime.ContainerStatus) *api.ContainerStateTerminated {
	reason := c.Reason
	if reason == "" {
		reason = runtime.ReasonError
		if c.ExitCode == 0 {
			reason = runtime.ReasonCompleted
		}
	}
	t := &api.ContainerStateTerminated{
		ExitCode: c.ExitCode, Reason: reason, Message: c.Message,
		StartedAt: api.NewTime(c.StartedAt), FinishedAt: api.NewTime(c.FinishedAt),
		ContainerID: k.containerID(c.ID),
	}
	if c.ExitCode > 128 && c.ExitCode < 128+65 {
		t.Signal = c.ExitCode - 128
	}
	return t
}

// ready is the readiness of a running container: its readiness probe's
// result, or true without one.
func (k *Kubelet) ready(c *api.Container, id string) bool {
	if c.ReadinessProbe == nil || k.probes == nil {
		return true
	}
	return k.probes.Ready(id)
}

// started says whether a running container passed its startup probe.
func (k *Kubelet) started(c *api.Container, id string) bool {
	if c.StartupProbe == nil || k.probes == nil {
		return true
	}
	return k.probes.Started(id)
}

// statusKey is status as compared for changes: condition timestamps
// left out, times at the API's precision.
func statusKey(s *api.PodStatus) string {
	cp := *s
	cp.Conditions = slices.Clone(s.Conditions)
	for i := range cp.Conditions {
		cp.Conditions[i].LastTransitionTime = api.Time{}
		cp.Conditions[i].LastProbeTime = api.Time{}
	}
	b, _ := json.Marshal(&cp)
	return string(b)
}

// foreignStatus says whether pod, as the API server has it, holds a
// status someone else wrote after the agent's last write (the node
// lifecycle controller marking it not Ready while the node was not
// heard from, a readiness gate's condition). The agent then writes its
// own again, if it differs. k.mu is held.
func foreignStatus(w *podWorker, pod *api.Pod) bool {
	rv, err := strconv.ParseUint(pod.ResourceVersion, 10, 64)
	if err != nil || rv <= w.writtenRV {
		return false
	}
	// The watch may deliver the agent's own write before UpdateStatus
	// has returned and set writtenRV: a status the agent is writing is
	// its own.
	key := statusKey(&pod.Status)
	return key != w.writtenKey && key != w.writingKey
}

// writeStatus writes status to the API server (or, for a static pod, to
// Config.MirrorStatus) if it differs from what was written last, never
// turning a Succeeded or Failed pod back. It returns false if the write
// failed and should be tried again (see statusRetry).
func (k *Kubelet) writeStatus(ctx context.Context, w *podWorker, pod *api.Pod, static bool, status *api.PodStatus) bool {
	key := statusKey(status)
	if key == w.lastWritten {
		return true
	}
	if static {
		if k.cfg.MirrorStatus != nil {
			if err := k.cfg.MirrorStatus(ctx, pod, status); err != nil {
				k.log.Warn("write a static pod's status", "pod", pod.Key(), "err", err)
				return false
			}
		}
		w.lastWritten = key
		return true
	}
	if w.lastWritten == "" && key == statusKey(&pod.Status) {
		// Written by an earlier run of the agent (adopted pods), or
		// the same as someone else's (foreignStatus). Later, pod may
		// be older than what this agent wrote: not compared.
		w.lastWritten = key
		rv, _ := strconv.ParseUint(pod.ResourceVersion, 10, 64)
		k.mu.Lock()
		w.writtenRV, w.writtenKey = max(w.writtenRV, rv), key
		k.mu.Unlock()
		return true
	}
	k.mu.Lock()
	w.writingKey = key
	k.mu.Unlock()
	cur := pod
	for range 5 {
		if isTerminal(cur.Status.Phase) && !isTerminal(status.Phase) {
			w.lastWritten = key
			return true
		}
		cp := api.DeepCopy(cur)
		cp.Status = *status
		err := k.cfg.Client.UpdateStatus(ctx, cp)
		if err == nil {
			k.statusWrites.Add(1)
			k.metrics.statusWrites.Inc()
			w.lastWritten = key
			rv, _ := strconv.ParseUint(cp.ResourceVersion, 10, 64)
			stored := statusKey(&cp.Status)
			k.mu.Lock()
			w.writtenRV, w.writtenKey = rv, stored
			k.mu.Unlock()
			return true
		}
		if api.IsNotFound(err) || ctx.Err() != nil {
			return true // nothing left to write to, or stopping
		}
		if !api.IsConflict(err) {
			k.log.Warn("write pod status", "pod", pod.Key(), "err", err)
			return false
		}
		var fresh api.Pod
		if err := k.cfg.Client.Get(ctx, pod.Namespace, pod.Name, &fresh); err != nil {
			return api.IsNotFound(err)
		}
		if fresh.UID != pod.UID {
			return true
		}
		cur = &fresh
	}
	return false
}
