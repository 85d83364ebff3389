package kubelet

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
)

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.NodeName, good.RootDir = "n", "/tmp/x"
	good.Client = &client.Client{}
	d, _ := fake.New(fake.Config{})
	good.Runtime, good.Images = d, d
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for field, mut := range map[string]func(*Config){
		"NodeName": func(c *Config) { c.NodeName = "" },
		"Client":   func(c *Config) { c.Client = nil },
		"Runtime":  func(c *Config) { c.Runtime = nil },
		"Images":   func(c *Config) { c.Images = nil },
		"RootDir":  func(c *Config) { c.RootDir = "rel" },
		"MaxPods":  func(c *Config) { c.MaxPods = -1 },
	} {
		c := good
		mut(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: got %v, want an error naming the field", field, err)
		}
	}
}

func TestPodRunsAndSucceeds(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{"job": {Exit: true, RunFor: 5 * time.Second}}))
	p := simplePod("job", api.RestartPolicyNever, "job")
	e.createPod(p)
	got := e.waitPod("job", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	cs := containerStatusOf(got, "job")
	if cs.State.Running == nil || !cs.Ready || cs.ContainerID == "" || !strings.HasPrefix(cs.ContainerID, "fake://") || cs.ImageID == "" {
		t.Fatalf("container status: %+v", cs)
	}
	if got.Status.HostIP != "10.0.0.1" || got.Status.PodIP != "10.0.0.1" || got.Status.StartTime == nil || got.Status.QOSClass != api.PodQOSBestEffort {
		t.Fatalf("status: %s hostIP=%s podIP=%s", describe(got), got.Status.HostIP, got.Status.PodIP)
	}
	for _, c := range []api.PodConditionType{api.PodScheduled, api.PodInitialized, api.ContainersReady, api.PodReady} {
		if condition(got, c) != api.ConditionTrue {
			t.Fatalf("condition %s: %s", c, describe(got))
		}
	}
	e.advance(5 * time.Second)
	got = e.waitPod("job", func(p *api.Pod) bool { return p.Status.Phase == api.PodSucceeded })
	cs = containerStatusOf(got, "job")
	if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 || cs.State.Terminated.Reason != "Completed" || cs.Ready {
		t.Fatalf("container status: %s", describe(got))
	}
	if condition(got, api.PodReady) != api.ConditionFalse {
		t.Fatalf("a completed pod is not ready: %s", describe(got))
	}
}

func TestPhases(t *testing.T) {
	scripts := map[string]*fake.Script{
		"ok":   {Exit: true, RunFor: time.Second},
		"fail": {Exit: true, RunFor: time.Second, ExitCode: 3},
	}
	for _, tc := range []struct {
		policy api.RestartPolicy
		script string
		want   api.PodPhase
	}{
		{api.RestartPolicyNever, "ok", api.PodSucceeded},
		{api.RestartPolicyOnFailure, "ok", api.PodSucceeded},
		{api.RestartPolicyNever, "fail", api.PodFailed},
	} {
		t.Run(fmt.Sprintf("%s-%s", tc.policy, tc.script), func(t *testing.T) {
			e := newEnv(t, withScripts(scripts))
			e.createPod(simplePod("p", tc.policy, tc.script))
			e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
			e.advance(time.Second)
			got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == tc.want })
			if tc.want == api.PodFailed {
				cs := containerStatusOf(got, tc.script)
				if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 3 || cs.State.Terminated.Reason != "Error" {
					t.Fatalf("%s", describe(got))
				}
			}
			// A terminal pod is not restarted, whatever time passes.
			e.advance(10 * time.Minute)
			e.waitPod("p", func(p *api.Pod) bool {
				return p.Status.Phase == tc.want && containerStatusOf(p, tc.script).RestartCount == 0
			})
		})
	}
}

func TestRestartBackOff(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{"crash": {Exit: true, RunFor: 0, ExitCode: 1}}))
	e.createPod(simplePod("p", api.RestartPolicyAlways, "crash"))
	t0 := e.clk.Now()
	e.waitPod("p", func(p *api.Pod) bool { return containerStatusOf(p, "crash").ContainerID != "" })
	wantBackOff := func(restarts int32, delay string) {
		t.Helper()
		e.waitPod("p", func(p *api.Pod) bool {
			cs := containerStatusOf(p, "crash")
			return cs != nil && cs.RestartCount == restarts && cs.State.Waiting != nil &&
				cs.State.Waiting.Reason == ReasonCrashLoopBackOff &&
				strings.HasPrefix(cs.State.Waiting.Message, "back-off "+delay+" restarting failed container=crash pod=p_default(") &&
				cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.ExitCode == 1 &&
				p.Status.Phase == api.PodRunning
		})
	}
	wantRestarts := func(n int32) {
		t.Helper()
		e.waitPod("p", func(p *api.Pod) bool {
			cs := containerStatusOf(p, "crash")
			return cs != nil && cs.RestartCount == n
		})
	}
	at := func(d time.Duration) {
		e.clk.Set(t0.Add(d))
		e.relist()
	}
	// As Kubernetes: the first exit restarts at once; the next ones wait
	// 10 s, 20 s, 40 s, ... up to 5 min. The clock stays at t0 until the
	// immediate restart has run and exited (at t0): moved before, it
	// would set when that happened, and so every time after it.
	wantBackOff(1, "10s")
	at(9 * time.Second)
	wantBackOff(1, "10s")
	at(10 * time.Second)
	wantRestarts(2)
	at(11 * time.Second)
	wantBackOff(2, "20s")
	at(29 * time.Second)
	wantBackOff(2, "20s")
	at(30 * time.Second)
	wantRestarts(3)
	at(31 * time.Second)
	wantBackOff(3, "40s")
	// 70 s, then 80 s later 150 s, then 160 s later 310 s, then the cap.
	at(70 * time.Second)
	wantRestarts(4)
	at(71 * time.Second)
	wantBackOff(4, "1m20s")
	at(150 * time.Second)
	wantRestarts(5)
	at(151 * time.Second)
	wantBackOff(5, "2m40s")
	at(310 * time.Second)
	wantRestarts(6)
	at(311 * time.Second)
	wantBackOff(6, "5m0s")
	at(610 * time.Second)
	wantRestarts(7)
	at(611 * time.Second)
	wantBackOff(7, "5m0s")
	// The newest container and the one before are kept, no more.
	cs, _ := e.rt.ListContainers(e.ctx, runtimeFilterName("crash"))
	if len(cs) != 2 {
		t.Fatalf("%d containers kept, want 2", len(cs))
	}
}

func TestBackOffResetsAfterLongRun(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{"long": {Exit: true, RunFor: 11 * time.Minute, ExitCode: 1}}))
	e.createPod(simplePod("p", api.RestartPolicyAlways, "long"))
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	for i := range 3 {
		// Each run lasts 11 minutes, so the back-off starts again each
		// time: the container restarts at once.
		e.clk.Advance(11*time.Minute + time.Second)
		e.relist()
		e.waitPod("p", func(p *api.Pod) bool {
			cs := containerStatusOf(p, "long")
			return cs.RestartCount == int32(i+1) && cs.State.Running != nil
		})
	}
}

func TestOnFailureRestartsOnlyFailures(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{
		"ok":   {Exit: true, RunFor: time.Second},
		"fail": {Exit: true, RunFor: time.Second, ExitCode: 2},
	}))
	e.createPod(simplePod("p", api.RestartPolicyOnFailure, "ok", "fail"))
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	e.advance(time.Second) // both exit; "fail" restarts at once
	e.waitPod("p", func(p *api.Pod) bool { return containerStatusOf(p, "fail").RestartCount == 1 })
	e.advance(time.Second) // "fail" exits again: now it backs off
	got := e.waitPod("p", func(p *api.Pod) bool {
		w := containerStatusOf(p, "fail").State.Waiting
		return w != nil && w.Reason == ReasonCrashLoopBackOff
	})
	if cs := containerStatusOf(got, "ok"); cs.RestartCount != 0 {
		t.Fatalf("ok restarted: %s", describe(got))
	}
	if s := containerStatusOf(got, "ok").State.Terminated; s == nil || s.ExitCode != 0 {
		t.Fatalf("ok: %s", describe(got))
	}
	if got.Status.Phase != api.PodRunning {
		t.Fatalf("phase %s, want Running (a failed container restarts)", got.Status.Phase)
	}
}

func TestInitContainersInOrder(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{
		"init1": {Exit: true, RunFor: time.Second},
		"init2": {Exit: true, RunFor: time.Second},
	}))
	p := simplePod("p", api.RestartPolicyAlways, "main")
	p.Spec.InitContainers = []api.Container{
		{Name: "init1", Image: "app:v1"},
		{Name: "init2", Image: "app:v1"},
	}
	e.createPod(p)
	got := e.waitPod("p", func(p *api.Pod) bool {
		return containerStatusOf(p, "init1").State.Running != nil
	})
	if w := containerStatusOf(got, "init2").State.Waiting; w == nil || w.Reason != ReasonPodInitializing {
		t.Fatalf("init2 must wait for init1: %s", describe(got))
	}
	if w := containerStatusOf(got, "main").State.Waiting; w == nil || w.Reason != ReasonPodInitializing || got.Status.Phase != api.PodPending || condition(got, api.PodInitialized) != api.ConditionFalse {
		t.Fatalf("main must wait: %s", describe(got))
	}
	e.advance(time.Second)
	e.waitPod("p", func(p *api.Pod) bool {
		return containerStatusOf(p, "init1").State.Terminated != nil && containerStatusOf(p, "init2").State.Running != nil
	})
	e.advance(time.Second)
	got = e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	if condition(got, api.PodInitialized) != api.ConditionTrue || containerStatusOf(got, "main").State.Running == nil {
		t.Fatalf("%s", describe(got))
	}
}

func TestInitContainerFailure(t *testing.T) {
	scripts := map[string]*fake.Script{"init": {Exit: true, RunFor: time.Second, ExitCode: 1}}
	t.Run("Never", func(t *testing.T) {
		e := newEnv(t, withScripts(scripts))
		p := simplePod("p", api.RestartPolicyNever, "main")
		p.Spec.InitContainers = []api.Container{{Name: "init", Image: "app:v1"}}
		e.createPod(p)
		e.waitPod("p", func(p *api.Pod) bool { return containerStatusOf(p, "init").State.Running != nil })
		e.advance(time.Second)
		got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodFailed })
		if containerStatusOf(got, "main").State.Running != nil {
			t.Fatalf("main ran: %s", describe(got))
		}
	})
	t.Run("Always", func(t *testing.T) {
		e := newEnv(t, withScripts(scripts))
		p := simplePod("p", api.RestartPolicyAlways, "main")
		p.Spec.InitContainers = []api.Container{{Name: "init", Image: "app:v1"}}
		e.createPod(p)
		e.waitPod("p", func(p *api.Pod) bool { return containerStatusOf(p, "init").State.Running != nil })
		e.advance(time.Second) // fails; restarted at once
		e.waitPod("p", func(p *api.Pod) bool {
			cs := containerStatusOf(p, "init")
			return p.Status.Phase == api.PodPending && cs.RestartCount == 1 && cs.State.Running != nil
		})
		e.advance(time.Second) // fails again: backs off 10 s
		e.waitPod("p", func(p *api.Pod) bool {
			w := containerStatusOf(p, "init").State.Waiting
			return p.Status.Phase == api.PodPending && w != nil && w.Reason == ReasonCrashLoopBackOff
		})
		e.advance(10 * time.Second)
		e.waitPod("p", func(p *api.Pod) bool { return containerStatusOf(p, "init").RestartCount == 2 })
	})
}

func TestImagePullBackOff(t *testing.T) {
	e := newEnv(t)
	e.reg.Add(fake.Image{Ref: "broken:v1", PullError: "toomanyrequests: rate limit exceeded"})
	p := simplePod("p", api.RestartPolicyAlways)
	p.Spec.Containers = []api.Container{{Name: "c", Image: "broken:v1"}}
	e.createPod(p)
	waitReason := func(reason string) *api.Pod {
		t.Helper()
		return e.waitPod("p", func(p *api.Pod) bool {
			w := containerStatusOf(p, "c")
			return w != nil && w.State.Waiting != nil && w.State.Waiting.Reason == reason
		})
	}
	got := waitReason(ReasonErrImagePull)
	if !strings.Contains(containerStatusOf(got, "c").State.Waiting.Message, "toomanyrequests") || got.Status.Phase != api.PodPending {
		t.Fatalf("%s", describe(got))
	}
	e.advance(time.Second)
	waitReason(ReasonImagePullBackOff)
	pulls := e.rt.pullCount()
	e.advance(8 * time.Second) // 9 s after the failure: still backing off
	waitReason(ReasonImagePullBackOff)
	if n := e.rt.pullCount(); n != pulls {
		t.Fatalf("pulled during the back-off: %d pulls, want %d", n, pulls)
	}
	e.advance(time.Second) // 10 s: pulled again, failed again
	waitReason(ReasonErrImagePull)
	controllertest.Eventually(t, func() bool { return e.rt.pullCount() == pulls+1 })
	// Fixed at the registry: the next pull, 20 s later, works.
	e.reg.Add(fake.Image{Ref: "broken:v1", Config: fake.Busybox.Config})
	e.advance(19 * time.Second)
	waitReason(ReasonImagePullBackOff)
	e.advance(time.Second)
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
}

func TestImagePullNever(t *testing.T) {
	e := newEnv(t)
	p := simplePod("p", api.RestartPolicyAlways)
	p.Spec.Containers = []api.Container{{Name: "c", Image: "app:v1", ImagePullPolicy: api.PullNever}}
	e.createPod(p)
	got := e.waitPod("p", func(p *api.Pod) bool {
		w := containerStatusOf(p, "c").State.Waiting
		return w != nil && w.Reason == ReasonErrImageNeverPull
	})
	if e.rt.pullCount() != 0 {
		t.Fatalf("pulled with policy Never")
	}
	_ = got
}

func TestImagePullSecrets(t *testing.T) {
	e := newEnv(t)
	sec := &api.Secret{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "regcred"}, Type: api.SecretTypeDockerConfigJSON,
		Data: map[string][]byte{".dockerconfigjson": []byte(`{"auths":{"registry.example:5000":{"auth":"dTpw"},"other.example":{"username":"x","password":"y"}}}`)}}
	if err := e.api.Client.Create(e.ctx, sec); err != nil {
		t.Fatal(err)
	}
	p := simplePod("p", api.RestartPolicyAlways)
	p.Spec.Containers = []api.Container{{Name: "c", Image: "registry.example:5000/private:v1"}}
	p.Spec.ImagePullSecrets = []api.LocalObjectReference{{Name: "regcred"}}
	e.createPod(p)
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
}

func TestAdmissionOutOfCPU(t *testing.T) {
	e := newEnv(t, withNodeCPU("1"))
	big := simplePod("big", api.RestartPolicyAlways, "c")
	big.Spec.Containers[0].Resources.Requests = api.ResourceList{api.ResourceCPU: resource.MustParse("2")}
	e.createPod(big)
	got := e.waitPod("big", func(p *api.Pod) bool { return p.Status.Phase == api.PodFailed })
	want := "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 0, capacity: 1000"
	if got.Status.Reason != "OutOfcpu" || got.Status.Message != want {
		t.Fatalf("reason %q message %q", got.Status.Reason, got.Status.Message)
	}
	// A pod that fits runs; the next one that does not fit with it is
	// rejected.
	a := simplePod("a", api.RestartPolicyAlways, "c")
	a.Spec.Containers[0].Resources.Requests = api.ResourceList{api.ResourceCPU: resource.MustParse("600m")}
	e.createPod(a)
	e.waitPod("a", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	b := simplePod("b", api.RestartPolicyAlways, "c")
	b.Spec.Containers[0].Resources.Requests = api.ResourceList{api.ResourceCPU: resource.MustParse("600m")}
	e.createPod(b)
	got = e.waitPod("b", func(p *api.Pod) bool { return p.Status.Phase == api.PodFailed })
	if got.Status.Message != "Pod was rejected: Node didn't have enough resource: cpu, requested: 600, used: 600, capacity: 1000" {
		t.Fatalf("message %q", got.Status.Message)
	}
}

func TestAdmissionDecision(t *testing.T) {
	pod := func(cpu, mem string) *api.Pod {
		p := simplePod("p", "", "c")
		p.Spec.Containers[0].Resources.Requests = api.ResourceList{}
		if cpu != "" {
			p.Spec.Containers[0].Resources.Requests[api.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			p.Spec.Containers[0].Resources.Requests[api.ResourceMemory] = resource.MustParse(mem)
		}
		return p
	}
	alloc := allocatable{cpu: 1000, mem: 1 << 30, pods: 2}
	for _, tc := range []struct {
		name     string
		admitted []*api.Pod
		pod      *api.Pod
		reason   string
	}{
		{"fits", nil, pod("500m", "100Mi"), ""},
		{"cpu", []*api.Pod{pod("600m", "")}, pod("500m", ""), "OutOfcpu"},
		{"memory", nil, pod("", "2Gi"), "OutOfmemory"},
		{"pods", []*api.Pod{pod("", ""), pod("", "")}, pod("", ""), "OutOfpods"},
		{"best effort fits a full node", []*api.Pod{pod("1", "")}, pod("", ""), ""},
	} {
		if reason, _ := admitDecision(alloc, tc.admitted, tc.pod); reason != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.name, reason, tc.reason)
		}
	}
}

func TestTerminationOrder(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{
		"web": {IgnoreTERM: true, Exec: map[string]fake.ExecResult{"drain": {Duration: 3 * time.Second}}},
	}))
	p := simplePod("p", api.RestartPolicyAlways, "web")
	p.Spec.Containers[0].Lifecycle = &api.Lifecycle{PreStop: &api.LifecycleHandler{Exec: &api.ExecAction{Command: []string{"drain"}}}}
	grace := int64(20)
	p.Spec.TerminationGracePeriodSeconds = &grace
	e.createPod(p)
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	if err := e.api.Client.Delete(e.ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "p"}}); err != nil {
		t.Fatal(err)
	}
	// preStop runs first and takes 3 s; the stop then gets the 17 s left;
	// the container ignores SIGTERM and is killed when they pass. (3 s,
	// not 5: the API server's watch progress ticker runs on the same
	// clock every 5 s, and waitTimer(5 s) could take it for preStop's.)
	controllertest.Eventually(t, func() bool { return slices.Contains(e.rt.log(), "exec web drain") })
	e.waitTimer(3 * time.Second)
	e.clk.Advance(3 * time.Second)
	controllertest.Eventually(t, func() bool { return slices.Contains(e.rt.log(), "stop web grace=17s") })
	if err := e.api.Client.Get(e.ctx, "default", "p", &api.Pod{}); err != nil {
		t.Fatalf("the pod went before its container stopped: %v", err)
	}
	// The driver kills the container when the grace period passes.
	controllertest.Eventually(t, func() bool {
		e.clk.Advance(time.Second)
		return api.IsNotFound(e.api.Client.Get(e.ctx, "default", "p", &api.Pod{}))
	})
	log := e.rt.log()
	i, j, k := slices.Index(log, "exec web drain"), slices.Index(log, "stop web grace=17s"), slices.Index(log, "remove-sandbox")
	if i < 0 || j < i || k < j {
		t.Fatalf("order: %q", log)
	}
	sbs, _ := e.rt.ListPodSandboxes(e.ctx)
	if len(sbs) != 0 {
		t.Fatalf("sandboxes left: %d", len(sbs))
	}
}

func TestAdoptionAfterRestart(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{"crash": {Exit: true, RunFor: 0, ExitCode: 1}}))
	e.createPod(simplePod("p", api.RestartPolicyAlways, "web", "crash"))
	// crash exits at once and is restarted at once (a first restart
	// does not back off): its restart count may be 0 or 1 here.
	e.waitPod("p", func(p *api.Pod) bool {
		return p.Status.Phase == api.PodRunning && containerStatusOf(p, "web").State.Running != nil
	})
	e.advance(time.Second)
	e.advance(10 * time.Second)
	before := e.waitPod("p", func(p *api.Pod) bool { return containerStatusOf(p, "crash").RestartCount >= 1 })
	webID := containerStatusOf(before, "web").ContainerID
	n := containerStatusOf(before, "crash").RestartCount

	e.stop()
	e.start()
	e.relist()
	after := e.waitPod("p", func(p *api.Pod) bool {
		return containerStatusOf(p, "web").State.Running != nil && containerStatusOf(p, "crash").RestartCount >= n
	})
	if got := containerStatusOf(after, "web"); got.ContainerID != webID || got.RestartCount != 0 {
		t.Fatalf("web was restarted: %s → %s (restarts %d)", webID, got.ContainerID, got.RestartCount)
	}
	cs, _ := e.rt.ListContainers(e.ctx, runtimeFilterName("web"))
	if len(cs) != 1 {
		t.Fatalf("web containers: %d, want 1", len(cs))
	}
	// The restart count goes on from the containers' attempts (it does
	// not start again at 0).
	e.advance(time.Second)
	e.advance(10 * time.Second)
	e.waitPod("p", func(p *api.Pod) bool { return containerStatusOf(p, "crash").RestartCount > n })
}

func TestOrphanSandboxesRemoved(t *testing.T) {
	e := newEnv(t)
	e.createPod(simplePod("p", api.RestartPolicyAlways, "web"))
	got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	e.stop()
	// While the agent is down the pod is deleted at once.
	zero := int64(0)
	if err := e.api.Client.Delete(e.ctx, got, client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	e.start()
	controllertest.Eventually(t, func() bool {
		e.relist()
		sbs, _ := e.rt.ListPodSandboxes(e.ctx)
		return len(sbs) == 0
	})
}

func TestStatusWrittenOnlyOnChange(t *testing.T) {
	e := newEnv(t)
	e.createPod(simplePod("p", api.RestartPolicyAlways, "web"))
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	controllertest.Eventually(t, func() bool { return e.k.statusWrites.Load() >= 1 })
	n := e.k.statusWrites.Load()
	// Resyncs and relists with nothing changed write nothing.
	for range 5 {
		e.advance(time.Minute)
	}
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	if got := e.k.statusWrites.Load(); got != n {
		t.Fatalf("status writes: %d, want %d", got, n)
	}
}

func TestLivenessRestart(t *testing.T) {
	e := newEnv(t)
	p := simplePod("p", api.RestartPolicyAlways, "web")
	p.Spec.Containers[0].LivenessProbe = &api.Probe{ProbeHandler: api.ProbeHandler{Exec: &api.ExecAction{Command: []string{"true"}}}}
	e.createPod(p)
	got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	cs := containerStatusOf(got, "web")
	controllertest.Eventually(t, func() bool { return len(e.probes.addedIDs()) == 1 })
	uid := string(got.UID)
	e.probes.set(ProbeUpdate{PodUID: uid, ContainerName: "web", ContainerID: runtimeID(cs), Kind: Liveness, Result: ProbeFailure})
	controllertest.Eventually(t, func() bool { return slices.Contains(e.rt.log(), "stop web grace=30s") })
	e.relist() // killed: restarted at once (a first restart does not back off)
	got = e.waitPod("p", func(p *api.Pod) bool {
		c := containerStatusOf(p, "web")
		return c.RestartCount == 1 && c.State.Running != nil
	})
	if containerStatusOf(got, "web").LastTerminationState.Terminated == nil {
		t.Fatalf("no last state: %s", describe(got))
	}
}

func TestReadiness(t *testing.T) {
	e := newEnv(t)
	p := simplePod("p", api.RestartPolicyAlways, "web")
	p.Spec.Containers[0].ReadinessProbe = &api.Probe{ProbeHandler: api.ProbeHandler{Exec: &api.ExecAction{Command: []string{"true"}}}}
	e.createPod(p)
	got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	if condition(got, api.PodReady) != api.ConditionFalse || containerStatusOf(got, "web").Ready {
		t.Fatalf("ready before the probe: %s", describe(got))
	}
	id := runtimeID(containerStatusOf(got, "web"))
	e.probes.set(ProbeUpdate{PodUID: string(got.UID), ContainerName: "web", ContainerID: id, Kind: Readiness, Result: ProbeSuccess})
	e.waitPod("p", func(p *api.Pod) bool {
		return condition(p, api.PodReady) == api.ConditionTrue && condition(p, api.ContainersReady) == api.ConditionTrue && containerStatusOf(p, "web").Ready
	})
	e.probes.set(ProbeUpdate{PodUID: string(got.UID), ContainerName: "web", ContainerID: id, Kind: Readiness, Result: ProbeFailure})
	e.waitPod("p", func(p *api.Pod) bool { return condition(p, api.PodReady) == api.ConditionFalse })
}

func TestContainerConfig(t *testing.T) {
	e := newEnv(t)
	p := simplePod("p", api.RestartPolicyAlways)
	uid, gid := int64(1000), int64(2000)
	p.Spec.SecurityContext = &api.PodSecurityContext{RunAsUser: &uid}
	p.Spec.Volumes = []api.Volume{{Name: "data", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}}}
	p.Spec.Containers = []api.Container{{
		Name: "c", Image: "app:v1",
		Command: []string{"echo", "$(GREETING)", "$$(GREETING)"},
		Env:     []api.EnvVar{{Name: "WHO", Value: "world"}, {Name: "GREETING", Value: "hello $(WHO)"}},
		Resources: api.ResourceRequirements{
			Requests: api.ResourceList{api.ResourceCPU: resource.MustParse("250m")},
			Limits:   api.ResourceList{api.ResourceCPU: resource.MustParse("500m"), api.ResourceMemory: resource.MustParse("64Mi")},
		},
		SecurityContext: &api.SecurityContext{RunAsGroup: &gid},
		VolumeMounts:    []api.VolumeMount{{Name: "data", MountPath: "/data", SubPath: "sub", ReadOnly: true}},
	}}
	e.createPod(p)
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	cs, err := e.rt.ListContainers(e.ctx, runtimeFilterName("c"))
	if err != nil || len(cs) == 0 {
		t.Fatalf("containers: %v %d", err, len(cs))
	}
	// echo exits, and the first restart is at once: the first container
	// is the one with attempt 0.
	slices.SortFunc(cs, func(a, b *runtime.ContainerStatus) int { return int(a.Attempt) - int(b.Attempt) })
	c := cs[0]
	if !strings.HasSuffix(c.LogPath, "/c/0.log") || !strings.Contains(c.LogPath, "/logs/default_p_") {
		t.Fatalf("log path %q", c.LogPath)
	}
	if c.Annotations["drover.io/container-hash"] == "" {
		t.Fatalf("no hash annotation: %v", c.Annotations)
	}
	cfg, err := e.k.containerConfig(e.ctx, newPodWorker("x"), p, &p.Spec.Containers[0], "regular", "app:v1", 0, map[string]string{"data": "/vol/data"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Command, "|"); got != "echo|hello world|$(GREETING)" {
		t.Errorf("command %q", got)
	}
	if cfg.Resources.CPUShares != 256 || cfg.Resources.CPUQuota != 50000 || cfg.Resources.CPUPeriod != 100000 || cfg.Resources.MemoryLimit != 64<<20 {
		t.Errorf("resources %+v", cfg.Resources)
	}
	if cfg.Security.UID == nil || *cfg.Security.UID != 1000 || cfg.Security.GID == nil || *cfg.Security.GID != 2000 {
		t.Errorf("security %+v", cfg.Security)
	}
	if len(cfg.Mounts) != 1 || cfg.Mounts[0].HostPath != "/vol/data/sub" || cfg.Mounts[0].ContainerPath != "/data" || !cfg.Mounts[0].ReadOnly {
		t.Errorf("mounts %+v", cfg.Mounts)
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "x", "B": "y"}
	for in, want := range map[string]string{
		"$(A)-$(B)": "x-y",
		"$$(A)":     "$(A)",
		"$(C)":      "$(C)",
		"$(A":       "$(A",
		"a$b":       "a$b",
		"$":         "$",
	} {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDockerCredentials(t *testing.T) {
	sec := &api.Secret{Type: api.SecretTypeDockercfg, Data: map[string][]byte{".dockercfg": []byte(`{"https://index.docker.io/v1/":{"auth":"YTpi"}}`)}}
	creds, err := dockerCredentials(sec, registryHost("library/busybox"))
	if err != nil || len(creds) != 1 || creds[0].Username != "a" || creds[0].Password != "b" {
		t.Fatalf("%v %+v", err, creds)
	}
	if h := registryHost("localhost:5000/app"); h != "localhost:5000" {
		t.Fatalf("host %q", h)
	}
}

func TestSandboxRecreated(t *testing.T) {
	e := newEnv(t)
	e.createPod(simplePod("p", api.RestartPolicyAlways, "web"))
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	sbs, _ := e.rt.ListPodSandboxes(e.ctx)
	if len(sbs) != 1 {
		t.Fatalf("sandboxes: %d", len(sbs))
	}
	if err := e.rt.StopPodSandbox(e.ctx, sbs[0].ID); err != nil {
		t.Fatal(err)
	}
	e.relist()
	e.waitPod("p", func(p *api.Pod) bool {
		cs := containerStatusOf(p, "web")
		return cs.State.Running != nil && cs.RestartCount == 1 && cs.LastTerminationState.Terminated != nil
	})
	sbs, _ = e.rt.ListPodSandboxes(e.ctx)
	var ready []uint32
	for _, sb := range sbs {
		if sb.State == 1 {
			ready = append(ready, sb.Metadata.Attempt)
		}
	}
	if !slices.Equal(ready, []uint32{1}) {
		t.Fatalf("ready sandboxes' attempts: %v, want [1]", ready)
	}
}

func TestCreateContainerConfigError(t *testing.T) {
	e := newEnv(t)
	// Without an EnvResolver, valueFrom cannot be resolved.
	p := simplePod("q", api.RestartPolicyAlways, "web")
	p.Spec.Containers[0].Env = []api.EnvVar{{Name: "X", ValueFrom: &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "cm"}, Key: "k"}}}}
	e.createPod(p)
	got := e.waitPod("q", func(p *api.Pod) bool {
		w := containerStatusOf(p, "web").State.Waiting
		return w != nil && w.Reason == ReasonCreateContainerConfigError
	})
	if got.Status.Phase != api.PodPending {
		t.Fatalf("%s", describe(got))
	}
}

func TestActiveDeadline(t *testing.T) {
	e := newEnv(t)
	p := simplePod("p", api.RestartPolicyAlways, "web")
	d := int64(30)
	p.Spec.ActiveDeadlineSeconds = &d
	e.createPod(p)
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	e.clk.Advance(29 * time.Second)
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	e.clk.Advance(time.Second)
	got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodFailed })
	if got.Status.Reason != "DeadlineExceeded" || containerStatusOf(got, "web").State.Terminated == nil {
		t.Fatalf("%s", describe(got))
	}
}

func TestPodsWaitForTheNode(t *testing.T) {
	e := newEnv(t, withoutNode())
	e.createPod(simplePod("p", api.RestartPolicyAlways, "web"))
	e.advance(time.Second)
	var got api.Pod
	if err := e.api.Client.Get(e.ctx, "default", "p", &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != api.PodPending {
		t.Fatalf("before the Node exists: %s", describe(&got))
	}
	if cs, _ := e.rt.ListContainers(e.ctx, runtimeFilterName("web")); len(cs) != 0 {
		t.Fatalf("started before the Node exists")
	}
	e.createNode()
	controllertest.Eventually(t, func() bool {
		e.clk.Advance(time.Second)
		var p api.Pod
		return e.api.Client.Get(e.ctx, "default", "p", &p) == nil && p.Status.Phase == api.PodRunning
	})
}

func TestSpecChangeRestarts(t *testing.T) {
	e := newEnv(t)
	e.createPod(simplePod("p", api.RestartPolicyAlways, "web"))
	got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	old := containerStatusOf(got, "web").ContainerID
	got.Spec.Containers[0].Image = "busybox:latest"
	if err := e.api.Client.Update(e.ctx, got); err != nil {
		t.Fatal(err)
	}
	got = e.waitPod("p", func(p *api.Pod) bool {
		cs := containerStatusOf(p, "web")
		return cs.State.Running != nil && cs.ContainerID != old && cs.Image == "busybox:latest"
	})
	if !slices.ContainsFunc(e.rt.log(), func(s string) bool { return strings.HasPrefix(s, "stop web ") }) {
		t.Fatalf("the old container was not stopped: %q", e.rt.log())
	}
}

func TestPostStartHookFailure(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{"web": {Exec: map[string]fake.ExecResult{"setup": {ExitCode: 1, Stderr: "no"}}}}))
	p := simplePod("p", api.RestartPolicyAlways, "web")
	p.Spec.Containers[0].Lifecycle = &api.Lifecycle{PostStart: &api.LifecycleHandler{Exec: &api.ExecAction{Command: []string{"setup"}}}}
	e.createPod(p)
	e.waitPod("p", func(p *api.Pod) bool {
		w := containerStatusOf(p, "web").State.Waiting
		return w != nil && w.Reason == ReasonCrashLoopBackOff
	})
	log := e.rt.log()
	if i, j := slices.Index(log, "exec web setup"), slices.IndexFunc(log, func(s string) bool { return strings.HasPrefix(s, "stop web ") }); i < 0 || j < i {
		t.Fatalf("calls: %q", log)
	}
	controllertest.Eventually(t, func() bool {
		var evs api.EventList
		if err := e.api.Client.List(e.ctx, &evs, client.InNamespace("default")); err != nil {
			return false
		}
		return slices.ContainsFunc(evs.Items, func(ev api.Event) bool { return ev.Reason == "FailedPostStartHook" })
	})
}

func TestAtWithSystemClock(t *testing.T) {
	k := &Kubelet{clock: SystemClock{}}
	done := make(chan struct{})
	stop := k.at(time.Now().Add(time.Millisecond), func() { close(done) })
	<-done // at must return at once (it did: we are here) and fire
	_ = stop
	stop = k.at(time.Now().Add(time.Hour), func() {})
	if !stop() {
		t.Fatal("a timer an hour away was not pending")
	}
}
