package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/kubelet/internal/podlabels"
	"github.com/drover-io/drover/runtime"
)

// Waiting reasons of containers, as Kubernetes shows them.
const (
	ReasonContainerCreating          = "ContainerCreating"
	ReasonPodInitializing            = "PodInitializing"
	ReasonCrashLoopBackOff           = "CrashLoopBackOff"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonErrImageNeverPull          = "ErrImageNeverPull"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonRunContainerError          = "RunContainerError"
)

// logDir is the sandbox's LogDirectory of pod.
func (k *Kubelet) logDir(pod *api.Pod) string {
	return filepath.Join(k.cfg.RootDir, "logs", pod.Namespace+"_"+pod.Name+"_"+string(pod.UID))
}

// shouldRestart says whether an exited container is restarted under
// policy.
func shouldRestart(policy api.RestartPolicy, exitCode int32) bool {
	switch policy {
	case api.RestartPolicyNever:
		return false
	case api.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// podName is how Kubernetes names a pod in messages: name_namespace(uid).
func podName(pod *api.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// syncContainers makes the sandbox and starts, restarts or kills the
// pod's containers. It returns when to look again (0: on a change).
func (k *Kubelet) syncContainers(ctx context.Context, w *podWorker, pod *api.Pod, st *podState, unhealthy map[string]ProbeUpdate, log *slog.Logger) time.Duration {
	policy := pod.Spec.RestartPolicy
	if policy == "" {
		policy = api.RestartPolicyAlways
	}
	sb := st.sandbox
	if sb == nil {
		if policy == api.RestartPolicyNever && len(st.byName) > 0 {
			// The sandbox died after the containers ran: with Never,
			// nothing is made again; the status follows the exits.
			return 0
		}
		var err error
		if sb, err = k.makeSandbox(ctx, w, pod, st); err != nil {
			log.Warn("make the pod's sandbox", "err", err)
			k.rec.Eventf(pod, api.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
			return backoffInitial
		}
		st.sandbox = sb
	}
	vols, volErr := k.volumes.SetUp(ctx, pod)
	if volErr != nil {
		k.rec.Eventf(pod, api.EventTypeWarning, "FailedMount", "Unable to set up volumes: %v", volErr)
	}

	k.unprobeExited(w, st)

	var wake time.Duration
	soonest := func(d time.Duration) {
		if d > 0 && (wake == 0 || d < wake) {
			wake = d
		}
	}
	// Init containers, in order: each must exit 0 before the next.
	initialized := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cur := st.newest(c.Name)
		if cur != nil && cur.SandboxID != sb.ID {
			cur = nil // a new sandbox runs its init containers again
		}
		if cur != nil && cur.State == runtime.ContainerExited && cur.ExitCode == 0 {
			continue
		}
		if regularStarted(pod, st, sb.ID) {
			break // initialized before; its init containers were removed
		}
		initialized = false
		switch {
		case cur == nil:
			soonest(k.startContainer(ctx, w, pod, sb, st, c, podlabels.TypeInit, vols, volErr))
		case cur.State == runtime.ContainerCreated:
			soonest(k.startCreated(ctx, w, pod, sb, c, cur))
		case cur.State == runtime.ContainerRunning:
			if u, bad := unhealthy[cur.ID]; bad {
				k.killUnhealthy(ctx, w, pod, c, cur, sb, u)
			}
		default: // exited non-zero or unknown
			if policy == api.RestartPolicyNever {
				break // the pod fails
			}
			if d, ok := k.backoff(w, pod, c, cur); !ok {
				soonest(d)
				break
			}
			soonest(k.startContainer(ctx, w, pod, sb, st, c, podlabels.TypeInit, vols, volErr))
		}
		break
	}
	if initialized {
		for i := range pod.Spec.Containers {
			soonest(k.syncContainer(ctx, w, pod, sb, st, &pod.Spec.Containers[i], policy, unhealthy, vols, volErr))
		}
	}
	k.removeOldContainers(ctx, st, sb)
	return wake
}

// regularStarted says whether a regular container ever ran in sandbox sb.
func regularStarted(pod *api.Pod, st *podState, sb string) bool {
	for i := range pod.Spec.Containers {
		for _, c := range st.byName[pod.Spec.Containers[i].Name] {
			if c.SandboxID == sb {
				return true
			}
		}
	}
	return false
}

// syncContainer starts, restarts or kills one regular container.
func (k *Kubelet) syncContainer(ctx context.Context, w *podWorker, pod *api.Pod, sb *runtime.SandboxStatus, st *podState, c *api.Container, policy api.RestartPolicy, unhealthy map[string]ProbeUpdate, vols map[string]string, volErr error) time.Duration {
	cur := st.newest(c.Name)
	if cur == nil {
		return k.startContainer(ctx, w, pod, sb, st, c, podlabels.TypeRegular, vols, volErr)
	}
	if cur.SandboxID != sb.ID {
		if cur.State == runtime.ContainerExited && !shouldRestart(policy, cur.ExitCode) {
			return 0
		}
		return k.startContainer(ctx, w, pod, sb, st, c, podlabels.TypeRegular, vols, volErr)
	}
	switch cur.State {
	case runtime.ContainerCreated:
		return k.startCreated(ctx, w, pod, sb, c, cur)
	case runtime.ContainerRunning:
		if u, bad := unhealthy[cur.ID]; bad {
			cur = k.killUnhealthy(ctx, w, pod, c, cur, sb, u)
			break
		}
		if cur.Annotations[podlabels.ContainerHash] != containerHash(c) {
			// Restarted whatever the restart policy: the spec changed.
			k.killContainer(ctx, pod, c, cur, sb, gracePeriod(pod, nil), fmt.Sprintf("Container %s definition changed, will be restarted", c.Name))
			return k.startContainer(ctx, w, pod, sb, st, c, podlabels.TypeRegular, vols, volErr)
		}
		k.probeContainer(w, pod, c, cur, sb)
		return 0
	}
	if cur.State == runtime.ContainerRunning {
		return 0
	}
	if !shouldRestart(policy, cur.ExitCode) {
		return 0
	}
	if d, ok := k.backoff(w, pod, c, cur); !ok {
		return d
	}
	return k.startContainer(ctx, w, pod, sb, st, c, podlabels.TypeRegular, vols, volErr)
}

// killUnhealthy kills a container whose liveness or startup probe failed
// and returns its status after.
func (k *Kubelet) killUnhealthy(ctx context.Context, w *podWorker, pod *api.Pod, c *api.Container, cur *runtime.ContainerStatus, sb *runtime.SandboxStatus, u ProbeUpdate) *runtime.ContainerStatus {
	probe := c.LivenessProbe
	what := "liveness"
	if u.Kind == Startup {
		probe, what = c.StartupProbe, "startup"
	}
	k.killContainer(ctx, pod, c, cur, sb, gracePeriod(pod, probe), fmt.Sprintf("Container %s failed %s probe, will be restarted", c.Name, what))
	k.mu.Lock()
	delete(w.unhealthy, cur.ID)
	k.mu.Unlock()
	if s, err := k.rt.ContainerStatus(ctx, cur.ID); err == nil {
		return s
	}
	return cur
}

// backoff decides whether the exited container cur may be restarted now;
// if not, it returns how long until it may, and sets its waiting reason
// CrashLoopBackOff. As Kubernetes: the first exit restarts at once; then
// the delay goes 10 s, 20 s, ... doubling to 5 min with each exit, and
// starts again (at once) after a run of 10 min.
func (k *Kubelet) backoff(w *podWorker, pod *api.Pod, c *api.Container, cur *runtime.ContainerStatus) (time.Duration, bool) {
	cs := w.crash[c.Name]
	if cs == nil || cs.id != cur.ID {
		var delay time.Duration
		ran := cur.FinishedAt.Sub(cur.StartedAt)
		if cs != nil && (cur.StartedAt.IsZero() || ran < backoffReset) {
			delay = min(max(cs.delay*2, backoffInitial), backoffMax)
		}
		finished := cur.FinishedAt
		if finished.IsZero() {
			finished = k.now()
		}
		cs = &crashState{id: cur.ID, delay: delay, until: finished.Add(delay)}
		w.crash[c.Name] = cs
	}
	if left := cs.until.Sub(k.now()); left > 0 {
		msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", cs.delay, c.Name, podName(pod))
		if old := w.waiting[c.Name]; old == nil || old.Reason != ReasonCrashLoopBackOff || old.Message != msg {
			k.rec.Eventf(pod, api.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s", c.Name, podName(pod))
		}
		w.waiting[c.Name] = &api.ContainerStateWaiting{Reason: ReasonCrashLoopBackOff, Message: msg}
		return left, false
	}
	return 0, true
}

// nextAttempt is the Attempt of the next container named name.
func nextAttempt(w *podWorker, st *podState, name string) uint32 {
	n := w.attempts[name]
	if cur := st.newest(name); cur != nil && cur.Attempt+1 > n {
		n = cur.Attempt + 1
	}
	return n
}

// startContainer pulls c's image, makes the container and starts it.
// Failures are kept as c's waiting reason; it returns when to try again.
func (k *Kubelet) startContainer(ctx context.Context, w *podWorker, pod *api.Pod, sb *runtime.SandboxStatus, st *podState, c *api.Container, typ string, vols map[string]string, volErr error) time.Duration {
	image, wait, retry := k.ensureImage(ctx, w, pod, c)
	if wait != nil {
		w.waiting[c.Name] = wait
		return retry
	}
	if volErr != nil {
		w.waiting[c.Name] = &api.ContainerStateWaiting{Reason: ReasonCreateContainerConfigError, Message: volErr.Error()}
		return backoffInitial
	}
	attempt := nextAttempt(w, st, c.Name)
	cfg, err := k.containerConfig(ctx, w, pod, c, typ, image, attempt, vols)
	if err != nil {
		w.waiting[c.Name] = &api.ContainerStateWaiting{Reason: ReasonCreateContainerConfigError, Message: err.Error()}
		k.rec.Eventf(pod, api.EventTypeWarning, "Failed", "Error: %v", err)
		return backoffInitial
	}
	if err := os.MkdirAll(filepath.Join(sb.LogDirectory, c.Name), 0o755); err != nil {
		k.log.Warn("make the container's log directory", "err", err)
	}
	id, err := k.rt.CreateContainer(ctx, sb.ID, cfg)
	if err != nil {
		w.waiting[c.Name] = &api.ContainerStateWaiting{Reason: ReasonCreateContainerError, Message: err.Error()}
		k.rec.Eventf(pod, api.EventTypeWarning, "Failed", "Error: %v", err)
		return backoffInitial
	}
	w.attempts[c.Name] = attempt + 1
	k.rec.Eventf(pod, api.EventTypeNormal, "Created", "Created container %s", c.Name)
	cur := &runtime.ContainerStatus{ID: id, SandboxID: sb.ID, Name: c.Name, Attempt: attempt, State: runtime.ContainerCreated}
	return k.startCreated(ctx, w, pod, sb, c, cur)
}

// startCreated starts a Created container and runs its postStart hook.
func (k *Kubelet) startCreated(ctx context.Context, w *podWorker, pod *api.Pod, sb *runtime.SandboxStatus, c *api.Container, cur *runtime.ContainerStatus) time.Duration {
	if err := k.rt.StartContainer(ctx, cur.ID); err != nil {
		k.rec.Eventf(pod, api.EventTypeWarning, "Failed", "Error: %v", err)
		if !errors.Is(err, runtime.ErrStartFailed) {
			w.waiting[c.Name] = &api.ContainerStateWaiting{Reason: ReasonRunContainerError, Message: err.Error()}
			return backoffInitial
		}
		delete(w.waiting, c.Name)
		return 0
	}
	delete(w.waiting, c.Name)
	k.rec.Eventf(pod, api.EventTypeNormal, "Started", "Started container %s", c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if err := k.runHook(ctx, pod, c, cur.ID, sb, c.Lifecycle.PostStart, gracePeriod(pod, nil)); err != nil {
			k.rec.Eventf(pod, api.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed: %v", err)
			k.killContainer(ctx, pod, c, cur, sb, gracePeriod(pod, nil), fmt.Sprintf("FailedPostStartHook: container %s", c.Name))
			return 0
		}
	}
	if s, err := k.rt.ContainerStatus(ctx, cur.ID); err == nil && s.State == runtime.ContainerRunning {
		k.probeContainer(w, pod, c, s, sb)
	}
	return 0
}

// probeContainer hands a running container to the prober, once.
func (k *Kubelet) probeContainer(w *podWorker, pod *api.Pod, c *api.Container, cur *runtime.ContainerStatus, sb *runtime.SandboxStatus) {
	if k.probes == nil || w.probed[cur.ID] {
		return
	}
	if c.LivenessProbe == nil && c.ReadinessProbe == nil && c.StartupProbe == nil {
		return
	}
	w.probed[cur.ID] = true
	k.probes.Add(pod, c, cur.ID, cur.StartedAt, k.probeTarget(sb))
}

// unprobeExited stops the probes of the containers that ended by
// themselves (those the agent stops are removed as it stops them).
func (k *Kubelet) unprobeExited(w *podWorker, st *podState) {
	for _, c := range st.all() {
		if !w.probed[c.ID] || c.State == runtime.ContainerRunning || c.State == runtime.ContainerCreated {
			continue
		}
		k.probes.Remove(c.ID)
		delete(w.probed, c.ID)
		k.mu.Lock()
		delete(w.unhealthy, c.ID)
		k.mu.Unlock()
	}
}

// removeOldContainers keeps, per container name, the newest container
// and the newest exited one before it, and removes the older ones; and
// removes sandboxes older than the current and the one before.
func (k *Kubelet) removeOldContainers(ctx context.Context, st *podState, sb *runtime.SandboxStatus) {
	for _, l := range st.byName {
		for _, c := range l[min(len(l), 2):] {
			if c.State == runtime.ContainerRunning {
				continue
			}
			if err := k.rt.RemoveContainer(ctx, c.ID); err != nil {
				k.log.Warn("remove old container", "container", c.ID, "err", err)
			}
		}
	}
	n := 0
	for _, s := range st.sandboxes {
		if s.ID == sb.ID {
			continue
		}
		n++
		if n > 1 {
			_ = k.rt.RemovePodSandbox(ctx, s.ID)
		}
	}
}

// makeSandbox runs a new sandbox for pod (stopping any old one) and
// returns its status.
func (k *Kubelet) makeSandbox(ctx context.Context, w *podWorker, pod *api.Pod, st *podState) (*runtime.SandboxStatus, error) {
	attempt := w.sbAttempt
	for _, s := range st.sandboxes {
		if s.Metadata.Attempt+1 > attempt {
			attempt = s.Metadata.Attempt + 1
		}
		_ = k.rt.StopPodSandbox(ctx, s.ID)
	}
	if len(st.sandboxes) > 0 {
		k.rec.Eventf(pod, api.EventTypeNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
	}
	for name, l := range st.byName {
		if len(l) > 0 && l[0].Attempt+1 > w.attempts[name] {
			w.attempts[name] = l[0].Attempt + 1
		}
	}
	dir := k.logDir(pod)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make log directory: %w", err)
	}
	cfg := &runtime.SandboxConfig{
		Metadata:     runtime.PodMetadata{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID), Attempt: attempt},
		Hostname:     pod.Name,
		LogDirectory: dir,
		DNS:          k.dnsConfig(pod),
		Labels:       podlabels.Sandbox(pod.Namespace, pod.Name, string(pod.UID)),
		Annotations:  map[string]string{podlabels.TerminationGracePeriod: strconv.FormatInt(int64(gracePeriod(pod, nil)/time.Second), 10)},
	}
	if pod.Spec.Hostname != "" {
		cfg.Hostname = pod.Spec.Hostname
	}
	if pod.Spec.HostNetwork {
		cfg.Namespaces.Network = runtime.NamespaceNode
	}
	if pod.Spec.HostPID {
		cfg.Namespaces.PID = runtime.NamespaceNode
	}
	if pod.Spec.HostIPC {
		cfg.Namespaces.IPC = runtime.NamespaceNode
	}
	for _, a := range pod.Spec.HostAliases {
		cfg.HostAliases = append(cfg.HostAliases, runtime.HostAlias{IP: a.IP, Hostnames: a.Hostnames})
	}
	id, err := k.rt.RunPodSandbox(ctx, cfg)
	if err != nil {
		return nil, err
	}
	w.sbAttempt = attempt + 1
	return k.rt.PodSandboxStatus(ctx, id)
}

// dnsConfig is the resolv.conf of pod's sandbox; nil means the node's.
func (k *Kubelet) dnsConfig(pod *api.Pod) *runtime.DNSConfig {
	var d *runtime.DNSConfig
	policy := pod.Spec.DNSPolicy
	clusterFirst := policy == api.DNSClusterFirstWithHostNet || ((policy == api.DNSClusterFirst || policy == "") && !pod.Spec.HostNetwork)
	switch {
	case policy == api.DNSNone:
		d = &runtime.DNSConfig{}
	case clusterFirst && len(k.cfg.ClusterDNS) > 0:
		dom := k.cfg.ClusterDomain
		d = &runtime.DNSConfig{
			Servers:  append([]string(nil), k.cfg.ClusterDNS...),
			Searches: []string{pod.Namespace + ".svc." + dom, "svc." + dom, dom},
			Options:  []string{"ndots:5"},
		}
	}
	if pc := pod.Spec.DNSConfig; pc != nil {
		if d == nil {
			d = &runtime.DNSConfig{}
		}
		d.Servers = append(d.Servers, pc.Nameservers...)
		d.Searches = append(d.Searches, pc.Searches...)
		for _, o := range pc.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			d.Options = append(d.Options, opt)
		}
	}
	return d
}
