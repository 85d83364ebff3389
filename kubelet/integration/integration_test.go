package integration

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/runtime"
)

// sleepForever runs until SIGTERM, after printing what it is given.
func sleepForever(before string) []string {
	return []string{"sh", "-c", before + "trap 'exit 0' TERM; sleep 1000000 & wait"}
}

// execProbe is a probe running cmd every second, failing at the first
// failure and succeeding at the first success.
func execProbe(cmd ...string) *api.Probe {
	return &api.Probe{
		ProbeHandler:     api.ProbeHandler{Exec: &api.ExecAction{Command: cmd}},
		PeriodSeconds:    1,
		TimeoutSeconds:   5,
		FailureThreshold: 1,
		SuccessThreshold: 1,
	}
}

// A pod bound to the node runs, reports Running and Ready with its
// container's runtime ID, image ID and start time, and its log is read
// through the API server from the node agent's HTTPS API.
func TestIntegrationPodRunsAndLogs(t *testing.T) {
	n := newNode(t)
	created := time.Now()
	pod := n.create(n.pod("web", sleepForever("echo hello from drover; echo to stderr >&2; ")...))
	p := n.waitPod("web", time.Minute, "Running and Ready", func(p *api.Pod) bool {
		return running(p) && condition(p, api.PodReady) == api.ConditionTrue
	})
	t.Logf("created to Running and Ready: %v", time.Since(created).Round(time.Millisecond))

	assert.Equal(t, api.PodRunning, p.Status.Phase)
	for _, c := range []api.PodConditionType{api.PodInitialized, api.ContainersReady, api.PodReady} {
		assert.Equal(t, api.ConditionTrue, condition(p, c), "condition %s", c)
	}
	assert.Equal(t, "127.0.0.1", p.Status.HostIP)
	assert.False(t, p.Status.StartTime.IsZero(), "status.startTime")
	cs := mainStatus(p)
	assert.True(t, cs.Ready)
	assert.Equal(t, int32(0), cs.RestartCount)
	assert.Equal(t, n.image, cs.Image)
	assert.NotEmpty(t, cs.ImageID, "imageID")
	started := cs.State.Running.StartedAt.Time
	assert.False(t, started.IsZero(), "startedAt")
	assert.WithinDuration(t, time.Now(), started, time.Minute, "startedAt")

	// The containerID names the runtime's container, which runs the pod's
	// command with the pod's labels.
	id := n.runtimeID(cs.ContainerID)
	st, err := n.rt.ContainerStatus(n.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerRunning, st.State)
	ids := []string{}
	for _, c := range n.podContainers(pod.UID) {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []string{id}, ids, "the pod's containers in the runtime")

	// The log, through pods/log → the node agent's /containerLogs.
	var out string
	n.poll(30*time.Second, "the log readable through pods/log", func() (bool, any) {
		out, err = n.logs("web", client.LogOptions{})
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(out, "hello from drover") && strings.Contains(out, "to stderr"), out
	})
	assert.Equal(t, "hello from drover\nto stderr\n", sortedLines(out))
	tail := int64(1)
	out, err = n.logs("web", client.LogOptions{TailLines: &tail, Timestamps: true})
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(out, "\n"), "tailLines=1: %q", out)
	ts, _, ok := strings.Cut(out, " ")
	require.True(t, ok, "timestamps=true: %q", out)
	_, err = time.Parse(time.RFC3339Nano, ts)
	assert.NoError(t, err, "timestamps=true: %q", out)
}

// sortedLines returns the lines of s sorted, so that stdout and stderr
// lines compare whatever their order in the log.
func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := 1; i < len(lines); i++ {
		for j := i; j > 0 && lines[j] < lines[j-1]; j-- {
			lines[j], lines[j-1] = lines[j-1], lines[j]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// A failing liveness probe restarts the container: restartCount goes to
// 1, lastState holds the killed container, and a new container runs.
func TestIntegrationLivenessRestarts(t *testing.T) {
	n := newNode(t)
	pod := n.pod("live", sleepForever("echo started; echo ok > /tmp/healthy; ")...)
	pod.Spec.Containers[0].LivenessProbe = execProbe("cat", "/tmp/healthy")
	// Time for a new container's shell to make the file before it is probed.
	pod.Spec.Containers[0].LivenessProbe.InitialDelaySeconds = 1
	n.create(pod)
	p := n.waitPod("live", time.Minute, "Running", running)
	first := mainStatus(p)
	require.Equal(t, int32(0), first.RestartCount)

	// A line in the first container's log, to tell it from the next one's.
	n.exec(first.ContainerID, "sh", "-c", "echo first container > /proc/1/fd/1")
	// The probe fails once the file is gone.
	broken := time.Now()
	n.exec(first.ContainerID, "rm", "/tmp/healthy")
	p = n.waitPod("live", time.Minute, "restarted and Running", func(p *api.Pod) bool {
		cs := mainStatus(p)
		return cs != nil && cs.RestartCount >= 1 && cs.State.Running != nil
	})
	t.Logf("probe broken to restarted and Running: %v", time.Since(broken).Round(time.Millisecond))
	cs := mainStatus(p)
	assert.Equal(t, int32(1), cs.RestartCount)
	assert.NotEqual(t, first.ContainerID, cs.ContainerID, "a new container runs")
	last := cs.LastTerminationState.Terminated
	if assert.NotNil(t, last, "lastState.terminated") {
		assert.Equal(t, first.ContainerID, last.ContainerID)
		assert.False(t, last.FinishedAt.IsZero(), "lastState.terminated.finishedAt")
		assert.False(t, last.StartedAt.IsZero(), "lastState.terminated.startedAt")
		assert.False(t, last.FinishedAt.Before(last.StartedAt.Time), "finishedAt before startedAt")
	}
	assert.Equal(t, api.PodRunning, p.Status.Phase)
	// The restarted container makes the file again: it stays up.
	assert.Equal(t, "ok\n", n.exec(cs.ContainerID, "cat", "/tmp/healthy"))
	// Both logs are there: the previous container's and the current one's.
	out, err := n.logs("live", client.LogOptions{Previous: true})
	assert.NoError(t, err)
	assert.Equal(t, "started\nfirst container\n", out, "previous=true")
	n.poll(10*time.Second, "the new container's log", func() (bool, any) {
		out, err := n.logs("live", client.LogOptions{})
		if err != nil {
			return false, err.Error()
		}
		return out == "started\n", out
	})
	// The agent said why it restarted the container.
	n.waitEvents("live", "Unhealthy", "Killing", "Started")
	// The killed container is kept (for logs --previous), and only it.
	assert.Len(t, n.podContainers(p.UID), 2, "the running container and the previous one")
}

// A readiness probe toggles the container's ready and the pod's Ready
// condition, without restarting the container.
func TestIntegrationReadinessTogglesReady(t *testing.T) {
	n := newNode(t)
	pod := n.pod("ready", sleepForever("")...)
	pod.Spec.Containers[0].ReadinessProbe = execProbe("cat", "/tmp/ready")
	n.create(pod)
	notReady := func(p *api.Pod) bool {
		cs := mainStatus(p)
		return running(p) && !cs.Ready && condition(p, api.PodReady) == api.ConditionFalse &&
			condition(p, api.ContainersReady) == api.ConditionFalse
	}
	ready := func(p *api.Pod) bool {
		cs := mainStatus(p)
		return running(p) && cs.Ready && condition(p, api.PodReady) == api.ConditionTrue &&
			condition(p, api.ContainersReady) == api.ConditionTrue
	}
	p := n.waitPod("ready", time.Minute, "Running and not Ready", notReady)
	id := mainStatus(p).ContainerID

	toggled := time.Now()
	n.exec(id, "sh", "-c", "echo > /tmp/ready")
	n.waitPod("ready", 30*time.Second, "Ready", ready)
	t.Logf("file made to Ready: %v", time.Since(toggled).Round(time.Millisecond))

	toggled = time.Now()
	n.exec(id, "rm", "/tmp/ready")
	n.waitPod("ready", 30*time.Second, "not Ready again", notReady)
	t.Logf("file removed to not Ready: %v", time.Since(toggled).Round(time.Millisecond))

	n.exec(id, "sh", "-c", "echo > /tmp/ready")
	p = n.waitPod("ready", 30*time.Second, "Ready again", ready)
	cs := mainStatus(p)
	assert.Equal(t, id, cs.ContainerID, "readiness does not restart")
	assert.Equal(t, int32(0), cs.RestartCount)
}

// An httpGet readiness probe reaches the container's server inside the
// pod's network, and follows its answers; a tcpSocket liveness probe on
// the same port keeps it running.
func TestIntegrationHTTPProbes(t *testing.T) {
	n := newNode(t)
	pod := n.pod("web", sleepForever("mkdir -p /www && echo ok > /www/healthz && busybox httpd -p 8080 -h /www && ")...)
	pod.Spec.Containers[0].ReadinessProbe = &api.Probe{
		ProbeHandler:     api.ProbeHandler{HTTPGet: &api.HTTPGetAction{Path: "/healthz", Port: api.FromInt32(8080)}},
		PeriodSeconds:    1,
		FailureThreshold: 1,
	}
	pod.Spec.Containers[0].LivenessProbe = &api.Probe{
		ProbeHandler:     api.ProbeHandler{TCPSocket: &api.TCPSocketAction{Port: api.FromInt32(8080)}},
		PeriodSeconds:    1,
		FailureThreshold: 3,
	}
	n.create(pod)
	p := n.waitPod("web", time.Minute, "Running and Ready", func(p *api.Pod) bool {
		return running(p) && condition(p, api.PodReady) == api.ConditionTrue
	})
	id := mainStatus(p).ContainerID

	// 404 fails the probe.
	n.exec(id, "rm", "/www/healthz")
	n.waitPod("web", 30*time.Second, "not Ready", func(p *api.Pod) bool {
		return running(p) && condition(p, api.PodReady) == api.ConditionFalse
	})
	n.exec(id, "sh", "-c", "echo ok > /www/healthz")
	p = n.waitPod("web", 30*time.Second, "Ready again", func(p *api.Pod) bool {
		return running(p) && condition(p, api.PodReady) == api.ConditionTrue
	})
	cs := mainStatus(p)
	assert.Equal(t, id, cs.ContainerID, "the tcpSocket liveness probe succeeds: no restart")
	assert.Equal(t, int32(0), cs.RestartCount)
}

// Exit codes decide the phase of a pod that does not restart: 0 is
// Succeeded (Completed), anything else Failed (Error, the exit code).
func TestIntegrationExitCodes(t *testing.T) {
	n := newNode(t)
	cases := []struct {
		name   string
		code   int32
		phase  api.PodPhase
		reason string
	}{
		{"succeeds", 0, api.PodSucceeded, "Completed"},
		{"fails", 3, api.PodFailed, "Error"},
	}
	for _, tc := range cases {
		pod := n.pod(tc.name, "sh", "-c", fmt.Sprintf("echo exiting %d; exit %d", tc.code, tc.code))
		pod.Spec.RestartPolicy = api.RestartPolicyNever
		n.create(pod)
	}
	for _, tc := range cases {
		p := n.waitPod(tc.name, time.Minute, string(tc.phase), func(p *api.Pod) bool {
			cs := mainStatus(p)
			return p.Status.Phase == tc.phase && cs != nil && cs.State.Terminated != nil
		})
		cs := mainStatus(p)
		term := cs.State.Terminated
		assert.Equal(t, tc.code, term.ExitCode, tc.name)
		assert.Equal(t, tc.reason, term.Reason, tc.name)
		assert.Equal(t, cs.ContainerID, term.ContainerID, tc.name)
		assert.False(t, term.StartedAt.IsZero(), "%s: startedAt", tc.name)
		assert.False(t, term.FinishedAt.Before(term.StartedAt.Time), "%s: finishedAt before startedAt", tc.name)
		assert.Equal(t, int32(0), cs.RestartCount, tc.name)
		assert.False(t, cs.Ready, tc.name)
		assert.Equal(t, api.ConditionFalse, condition(p, api.PodReady), tc.name)
		out, err := n.logs(tc.name, client.LogOptions{})
		assert.NoError(t, err, tc.name)
		assert.Equal(t, fmt.Sprintf("exiting %d\n", tc.code), out, tc.name)
	}
}

// A container that goes over its memory limit is OOMKilled.
func TestIntegrationOOMKilled(t *testing.T) {
	n := newNode(t)
	// The shell itself (the container's first process, which the memory
	// cgroup's OOM kill must hit) holds 64 MiB in a variable.
	pod := n.pod("hog", "sh", "-c", `x=$(head -c 67108864 /dev/zero | tr '\000' a); echo survived; sleep 1000000 & wait`)
	pod.Spec.RestartPolicy = api.RestartPolicyNever
	pod.Spec.Containers[0].Resources.Limits = api.ResourceList{api.ResourceMemory: resource.MustParse("16Mi")}
	n.create(pod)
	p := n.waitPod("hog", time.Minute, "Failed", func(p *api.Pod) bool {
		cs := mainStatus(p)
		return p.Status.Phase == api.PodFailed && cs != nil && cs.State.Terminated != nil
	})
	term := mainStatus(p).State.Terminated
	assert.Equal(t, "OOMKilled", term.Reason)
	assert.Equal(t, int32(137), term.ExitCode)
	out, err := n.logs("hog", client.LogOptions{})
	assert.NoError(t, err)
	assert.NotContains(t, out, "survived", "the shell went on after its allocation")
}

// A configMap volume shows the ConfigMap's data in the container, and
// follows an update of the ConfigMap within the resync period.
func TestIntegrationConfigMapVolumeFollowsUpdates(t *testing.T) {
	n := newNode(t)
	cm := &api.ConfigMap{
		ObjectMeta: api.ObjectMeta{Name: "app-config", Namespace: "default"},
		Data:       map[string]string{"greeting": "hello"},
	}
	require.NoError(t, n.env.Client.Create(n.ctx, cm))
	pod := n.pod("cm", sleepForever("")...)
	pod.Spec.Volumes = []api.Volume{{Name: "config", VolumeSource: api.VolumeSource{
		ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "app-config"}},
	}}}
	pod.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "config", MountPath: "/etc/config"}}
	n.create(pod)
	p := n.waitPod("cm", time.Minute, "Running", running)
	id := mainStatus(p).ContainerID
	assert.Equal(t, "hello", n.exec(id, "cat", "/etc/config/greeting"))

	cm.Data = map[string]string{"greeting": "bonjour", "farewell": "adieu"}
	require.NoError(t, n.env.Client.Update(n.ctx, cm))
	updated := time.Now()
	n.poll(10*resyncPeriod+10*time.Second, "the update in the container", func() (bool, any) {
		out, _ := n.execCode(id, "sh", "-c", "cat /etc/config/greeting; echo; cat /etc/config/farewell 2>&1")
		return out == "bonjour\nadieu", out
	})
	t.Logf("ConfigMap updated to seen in the container: %v (resync period %v)", time.Since(updated).Round(time.Millisecond), resyncPeriod)
	p = n.waitPod("cm", 10*time.Second, "Running", running)
	assert.Equal(t, id, mainStatus(p).ContainerID, "an update of a volume does not restart")
}

// Restarting the node agent (and its runtime driver) does not restart
// the pods: the new agent adopts their containers, and keeps running
// new pods.
func TestIntegrationAgentRestartAdoptsPods(t *testing.T) {
	n := newNode(t)
	pod := n.pod("steady", sleepForever("echo before the restart; ")...)
	pod.Spec.Containers[0].ReadinessProbe = execProbe("true")
	n.create(pod)
	before := n.waitPod("steady", time.Minute, "Running and Ready", func(p *api.Pod) bool {
		return running(p) && condition(p, api.PodReady) == api.ConditionTrue
	})
	bcs := mainStatus(before)

	restarted := time.Now()
	n.restart()
	// A pod created after the restart runs: the new agent is at work.
	n.create(n.pod("after", sleepForever("")...))
	n.waitPod("after", time.Minute, "Running", running)
	t.Logf("agent restarted to a new pod Running: %v", time.Since(restarted).Round(time.Millisecond))

	// The new agent knows the old pod, has seen both pods running, and
	// has synced its pods a few times (every pod is synced at least every
	// resyncPeriod): had it restarted steady, it would have by now.
	n.poll(30*time.Second, "the new agent running and syncing steady", func() (bool, any) {
		var names []string
		for _, p := range n.kubelet.Pods() {
			names = append(names, p.Name)
		}
		state := map[string]any{
			"pods":         names,
			"running_pods": n.metric("drover_kubelet_running_pods"),
			"syncs":        n.metric("drover_kubelet_pod_sync_duration_seconds"),
		}
		return slices.Contains(names, "steady") && state["running_pods"] == 2.0 && state["syncs"].(float64) >= 6, state
	})
	after := n.waitPod("steady", 30*time.Second, "Running and Ready", func(p *api.Pod) bool {
		return running(p) && condition(p, api.PodReady) == api.ConditionTrue
	})
	acs := mainStatus(after)
	assert.Equal(t, bcs.ContainerID, acs.ContainerID, "the same container runs")
	assert.Equal(t, int32(0), acs.RestartCount)
	assert.True(t, acs.State.Running.StartedAt.Time.Equal(bcs.State.Running.StartedAt.Time), "startedAt %v, was %v", acs.State.Running.StartedAt, bcs.State.Running.StartedAt)
	cs := n.podContainers(after.UID)
	if assert.Len(t, cs, 1, "the pod's containers in the runtime") {
		assert.Equal(t, n.runtimeID(bcs.ContainerID), cs[0].ID)
		assert.Equal(t, runtime.ContainerRunning, cs[0].State)
	}
	// The new agent's HTTPS API serves the adopted container's log.
	out, err := n.logs("steady", client.LogOptions{})
	assert.NoError(t, err)
	assert.Equal(t, "before the restart\n", out)
}
