package kubelet

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
)

// withDenial has the API server refuse the requests deny picks while it
// is switched on.
func withDenial(deny func(a *admission.Attributes) bool) (envOption, *atomic.Bool) {
	on := new(atomic.Bool)
	v := admission.ValidatorFunc(func(_ context.Context, a *admission.Attributes) error {
		if on.Load() && deny(a) {
			return errors.New("refused by the test")
		}
		return nil
	})
	return func(e *env, _ *Config) {
		e.apiOpts = append(e.apiOpts, controllertest.WithAdmission(admission.NewChain(admission.DefaultMutators(), []admission.Validator{v})))
	}, on
}

// A pod's final status is written even when the API server refused the
// first write: a Job's pod must not stay Running in the API for ever.
func TestTerminalStatusWriteRetried(t *testing.T) {
	opt, on := withDenial(func(a *admission.Attributes) bool {
		p, ok := a.Object.(*api.Pod)
		return ok && a.Subresource == "status" && p.Status.Phase == api.PodSucceeded
	})
	on.Store(true)
	e := newEnv(t, opt, withScripts(map[string]*fake.Script{"job": {Exit: true, RunFor: 5 * time.Second}}))
	e.createPod(simplePod("job", api.RestartPolicyNever, "job"))
	e.waitPod("job", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	e.advance(5 * time.Second)
	// The agent saw the exit and tried to write Succeeded (refused).
	controllertest.Eventually(t, func() bool {
		e.relist()
		e.k.mu.Lock()
		defer e.k.mu.Unlock()
		for _, w := range e.k.workers {
			if !w.running && w.terminalPhase == api.PodSucceeded {
				return true
			}
		}
		return false
	})
	on.Store(false)
	controllertest.Eventually(t, func() bool {
		e.clk.Advance(time.Second)
		var p api.Pod
		return e.api.Client.Get(e.ctx, "default", "job", &p) == nil && p.Status.Phase == api.PodSucceeded
	})
}

// A deletion whose confirmation the API server refused is confirmed
// again later: the pod does not stay Terminating for ever.
func TestDeletionConfirmationRetried(t *testing.T) {
	opt, on := withDenial(func(a *admission.Attributes) bool {
		return a.Operation == admission.Delete && a.Kind.Kind == "Pod"
	})
	e := newEnv(t, opt)
	e.createPod(simplePod("p", api.RestartPolicyAlways, "web"))
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	// The user's delete goes through; the agent's confirmation does not.
	if err := e.api.Client.Delete(e.ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "p"}}); err != nil {
		t.Fatal(err)
	}
	on.Store(true)
	controllertest.Eventually(t, func() bool {
		e.clk.Advance(time.Second)
		sbs, _ := e.rt.ListPodSandboxes(e.ctx)
		return len(sbs) == 0
	})
	controllertest.Eventually(t, func() bool {
		e.k.mu.Lock()
		defer e.k.mu.Unlock()
		for _, w := range e.k.workers {
			if w.running {
				return false
			}
		}
		return true
	})
	on.Store(false)
	controllertest.Eventually(t, func() bool {
		e.clk.Advance(time.Second)
		return api.IsNotFound(e.api.Client.Get(e.ctx, "default", "p", &api.Pod{}))
	})
}

// A static pod whose manifest comes back while the pod is being stopped
// (the usual way to restart one: move the file out and back) runs again.
func TestStaticPodBackWhileStopping(t *testing.T) {
	var mu sync.Mutex
	var phase api.PodPhase
	e := newEnv(t, withScripts(map[string]*fake.Script{"etcd": {IgnoreTERM: true}}), func(_ *env, c *Config) {
		c.MirrorStatus = func(_ context.Context, _ *api.Pod, s *api.PodStatus) error {
			mu.Lock()
			phase = s.Phase
			mu.Unlock()
			return nil
		}
	})
	running := func() []string {
		cs, _ := e.rt.ListContainers(e.ctx, runtime.ContainerFilter{})
		var ids []string
		for _, c := range cs {
			if c.State == runtime.ContainerRunning {
				ids = append(ids, c.ID)
			}
		}
		return ids
	}
	p := simplePod("etcd", api.RestartPolicyAlways, "etcd")
	grace := int64(30)
	p.Spec.TerminationGracePeriodSeconds = &grace
	p.Namespace, p.UID = "kube-system", "static-uid-1"
	e.k.SetStaticPods([]*api.Pod{p})
	controllertest.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return phase == api.PodRunning
	})
	first := running()
	if len(first) != 1 {
		t.Fatalf("running containers: %v", first)
	}
	e.k.SetStaticPods(nil)
	// The container ignores SIGTERM: the agent waits out the grace period.
	controllertest.Eventually(t, func() bool {
		return strings.Contains(strings.Join(e.rt.log(), "\n"), "stop etcd grace=30s")
	})
	e.k.SetStaticPods([]*api.Pod{p})
	controllertest.Eventually(t, func() bool {
		e.clk.Advance(time.Second)
		e.relist()
		now := running()
		return len(now) == 1 && now[0] != first[0] && len(e.k.Pods()) == 1
	})
}

// A subPath that goes through a symbolic link (one a container made in a
// shared volume) may not lead out of the volume.
func TestSubPathSymlinkEscape(t *testing.T) {
	e := newEnv(t)
	outside := t.TempDir()
	vol, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(vol, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(vol, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("in", filepath.Join(vol, "link-in")); err != nil {
		t.Fatal(err)
	}
	pod := simplePod("p", api.RestartPolicyAlways, "c")
	pod.Namespace, pod.UID = "default", "u1"
	vols := map[string]string{"data": vol}
	for _, tc := range []struct {
		sub string
		ok  bool
	}{
		{"in", true},
		{"link-in/new", true},
		{"escape", false},
		{"escape/etc/made", false},
		{"in/../escape", false},
	} {
		pod.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "data", MountPath: "/data", SubPath: tc.sub}}
		cfg, err := e.k.containerConfig(e.ctx, newPodWorker("u1"), pod, &pod.Spec.Containers[0], "regular", "app:v1", 0, vols)
		if tc.ok {
			if err != nil {
				t.Errorf("subPath %q: %v", tc.sub, err)
				continue
			}
			if host := cfg.Mounts[0].HostPath; !strings.HasPrefix(host, vol+string(filepath.Separator)) {
				t.Errorf("subPath %q: mounted %q, outside %q", tc.sub, host, vol)
			}
			continue
		}
		if err == nil {
			t.Errorf("subPath %q: mounted %q, want an error", tc.sub, cfg.Mounts[0].HostPath)
		} else if !strings.Contains(err.Error(), "subPath") {
			t.Errorf("subPath %q: error %q does not name the field", tc.sub, err)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("made %d entries outside the volume", len(ents))
	}
}

// listHookRuntime calls hook once, inside the next ListPodSandboxes
// after it is armed.
type listHookRuntime struct {
	*recordingRuntime
	armed atomic.Bool
	hook  func()
}

func (r *listHookRuntime) ListPodSandboxes(ctx context.Context) ([]*runtime.SandboxStatus, error) {
	if r.armed.CompareAndSwap(true, false) {
		r.hook()
	}
	return r.recordingRuntime.ListPodSandboxes(ctx)
}

// The orphan sweep does not take a pod that arrived while it ran for an
// orphan: it would stop the new pod's sandbox and remove its volumes.
func TestOrphanSweepSparesNewPods(t *testing.T) {
	e := newEnv(t)
	e.stop()
	hr := &listHookRuntime{recordingRuntime: e.rt}
	e.cfg.Runtime = hr
	k, err := New(func() Config { c := e.cfg; c.Images = e.rt; return c }())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	e.k = k
	controllertest.Eventually(t, k.podInf.HasSynced)
	hr.hook = func() {
		// A pod arrives and gets its sandbox while the sweep runs.
		e.createPod(simplePod("late", api.RestartPolicyAlways, "web"))
		controllertest.Eventually(t, func() bool {
			sbs, _ := e.rt.ListPodSandboxes(e.ctx)
			return len(sbs) == 1
		})
	}
	hr.armed.Store(true)
	k.removeOrphans(e.ctx)
	if hr.armed.Load() {
		t.Fatal("the hook did not run")
	}
	if got := e.rt.log(); strings.Contains(strings.Join(got, "\n"), "remove-sandbox") {
		t.Fatalf("the new pod's sandbox was removed: %q", got)
	}
}

// tearDownRecorder is a VolumeManager that lists the pods it has volumes
// of, and records TearDowns.
type tearDownRecorder struct {
	dirVolumes
	mu   sync.Mutex
	down []string
}

func (v *tearDownRecorder) TearDown(ctx context.Context, uid string) error {
	v.mu.Lock()
	v.down = append(v.down, uid)
	v.mu.Unlock()
	return v.dirVolumes.TearDown(ctx, uid)
}

func (v *tearDownRecorder) PodUIDs() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(v.root, "pods"))
	if err != nil {
		return nil, nil
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out, nil
}

// The volumes of a pod that went while the agent was down, and whose
// sandbox went too (a reboot), are removed: they may hold secrets.
func TestOrphanVolumesRemoved(t *testing.T) {
	vols := &tearDownRecorder{}
	e := newEnv(t, func(e *env, c *Config) {
		vols.root = c.RootDir
		c.Volumes = vols
	})
	controllertest.Eventually(t, e.k.podInf.HasSynced)
	stale := filepath.Join(e.cfg.RootDir, "pods", "gone-uid", "volumes", "secret", "token")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	p := simplePod("p", api.RestartPolicyAlways, "web")
	p.Spec.Volumes = []api.Volume{{Name: "scratch", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}}}
	e.createPod(p)
	got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	e.k.removeOrphans(e.ctx)
	if _, err := os.Stat(filepath.Join(e.cfg.RootDir, "pods", "gone-uid")); !os.IsNotExist(err) {
		t.Fatalf("the volumes of a pod that is gone are left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.cfg.RootDir, "pods", string(got.UID))); err != nil {
		t.Fatalf("the running pod's volumes: %v", err)
	}
}

// A container that exited by itself (a crash) stops being probed: its
// probes would otherwise run for the pod's life, one more set per
// restart, and report the dead container Unhealthy.
func TestExitedContainerNotProbed(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{"crash": {Exit: true, RunFor: 5 * time.Second, ExitCode: 1}}))
	p := simplePod("p", api.RestartPolicyAlways, "crash")
	p.Spec.Containers[0].ReadinessProbe = &api.Probe{ProbeHandler: api.ProbeHandler{Exec: &api.ExecAction{Command: []string{"true"}}}}
	e.createPod(p)
	got := e.waitPod("p", func(p *api.Pod) bool { return containerStatusOf(p, "crash").State.Running != nil })
	first := runtimeID(containerStatusOf(got, "crash"))
	controllertest.Eventually(t, func() bool { return len(e.probes.addedIDs()) == 1 })
	e.advance(5 * time.Second)
	e.waitPod("p", func(p *api.Pod) bool { return containerStatusOf(p, "crash").LastTerminationState.Terminated != nil })
	controllertest.Eventually(t, func() bool {
		e.relist()
		for _, id := range e.probes.removedIDs() {
			if id == first {
				return true
			}
		}
		return false
	})
}

// An httpGet lifecycle hook follows redirects on the same host only (a
// pod must not make the node agent fetch other hosts' URLs from the
// node's network), and checks that an HTTPS server answers, not who it
// is, as probes do.
func TestHTTPHookRedirectsAndTLS(t *testing.T) {
	e := newEnv(t)
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/secret", http.StatusFound)
	}))
	defer redirector.Close()
	selfSigned := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer selfSigned.Close()

	pod := simplePod("p", api.RestartPolicyAlways, "c")
	hook := func(url string, scheme api.URIScheme) *api.HTTPGetAction {
		u := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
		host, port, _ := net.SplitHostPort(u)
		n, _ := strconv.Atoi(port)
		return &api.HTTPGetAction{Host: host, Port: api.FromInt32(int32(n)), Path: "/", Scheme: scheme}
	}
	if err := e.k.httpHook(e.ctx, pod, &pod.Spec.Containers[0], nil, hook(redirector.URL, api.URISchemeHTTP), 5*time.Second); err != nil {
		t.Fatalf("redirect to another host: %v", err)
	}
	if n := otherHits.Load(); n != 0 {
		t.Fatalf("the hook followed a redirect to another host (%d requests)", n)
	}
	if err := e.k.httpHook(e.ctx, pod, &pod.Spec.Containers[0], nil, hook(selfSigned.URL, api.URISchemeHTTPS), 5*time.Second); err != nil {
		t.Fatalf("HTTPS hook to a self-signed server: %v", err)
	}
}

// A mirror pod made after the static pod's status was last reported (the
// API server was not there yet, or a user deleted the mirror pod) gets
// the status: the agent writes it again when it sees the mirror pod.
func TestStaticPodStatusToNewMirror(t *testing.T) {
	var mu sync.Mutex
	var writes []api.PodPhase
	e := newEnv(t, func(_ *env, c *Config) {
		c.MirrorStatus = func(_ context.Context, _ *api.Pod, s *api.PodStatus) error {
			mu.Lock()
			writes = append(writes, s.Phase)
			mu.Unlock()
			return nil // as cluster.Node's: no mirror pod yet is not an error
		}
	})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(writes)
	}
	p := simplePod("etcd-"+nodeName, api.RestartPolicyAlways, "etcd")
	p.Namespace, p.UID = "kube-system", "static-uid-1"
	e.k.SetStaticPods([]*api.Pod{p})
	controllertest.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(writes) > 0 && writes[len(writes)-1] == api.PodRunning
	})
	before := count()
	mirror := simplePod("etcd-"+nodeName, api.RestartPolicyAlways, "etcd")
	mirror.Namespace = "kube-system"
	mirror.Annotations = map[string]string{MirrorAnnotation: "x"}
	mirror.Spec.NodeName = nodeName
	if err := e.api.Client.Create(e.ctx, mirror); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool { return count() > before })
}

// The volumes whose files the node agent writes (configMap, secret,
// downwardAPI, projected) are mounted read-only whatever the pod says: a
// container that could write there could swap the agent's symbolic
// links and directories for its own and have it write on the host.
func TestAgentWrittenVolumesReadOnly(t *testing.T) {
	e := newEnv(t)
	pod := simplePod("p", api.RestartPolicyAlways, "c")
	pod.Namespace, pod.UID = "default", "u1"
	pod.Spec.Volumes = []api.Volume{
		{Name: "cm", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "x"}}}},
		{Name: "sec", VolumeSource: api.VolumeSource{Secret: &api.SecretVolumeSource{SecretName: "x"}}},
		{Name: "dapi", VolumeSource: api.VolumeSource{DownwardAPI: &api.DownwardAPIVolumeSource{}}},
		{Name: "proj", VolumeSource: api.VolumeSource{Projected: &api.ProjectedVolumeSource{}}},
		{Name: "scratch", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}},
	}
	vols := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = t.TempDir()
		pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts, api.VolumeMount{Name: v.Name, MountPath: "/" + v.Name})
	}
	cfg, err := e.k.containerConfig(e.ctx, newPodWorker("u1"), pod, &pod.Spec.Containers[0], "regular", "app:v1", 0, vols)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cfg.Mounts {
		if want := m.ContainerPath != "/scratch"; m.ReadOnly != want {
			t.Errorf("mount %s: readOnly %v, want %v", m.ContainerPath, m.ReadOnly, want)
		}
	}
}

// When another party rewrites the pod's status (the node lifecycle
// controller marks the pods of a node it could not hear from not Ready),
// the agent, which can, writes the truth again; and its own writes do not
// make it write again.
func TestForeignStatusChangeRewritten(t *testing.T) {
	e := newEnv(t)
	e.createPod(simplePod("p", api.RestartPolicyAlways, "web"))
	got := e.waitPod("p", func(p *api.Pod) bool { return condition(p, api.PodReady) == api.ConditionTrue })
	idle := func() {
		controllertest.Eventually(t, func() bool {
			e.k.mu.Lock()
			defer e.k.mu.Unlock()
			w := e.k.workers[string(got.UID)]
			return w != nil && !w.running && !w.pending
		})
	}
	idle() // its writes counted
	writes := e.k.statusWrites.Load()
	for i := range got.Status.Conditions {
		if c := &got.Status.Conditions[i]; c.Type == api.PodReady {
			c.Status, c.Reason, c.Message = api.ConditionFalse, "NodeNotReady", "The pod's node is not ready."
		}
	}
	if err := e.api.Client.UpdateStatus(e.ctx, got); err != nil {
		t.Fatal(err)
	}
	e.waitPod("p", func(p *api.Pod) bool {
		e.clk.Advance(time.Second)
		return condition(p, api.PodReady) == api.ConditionTrue
	})
	idle()
	if n := e.k.statusWrites.Load() - writes; n != 1 {
		t.Fatalf("status writes after the foreign change: %d, want 1", n)
	}
	// Its own write does not bring another one.
	e.advance(2 * time.Minute)
	idle()
	if n := e.k.statusWrites.Load() - writes; n != 1 {
		t.Fatalf("status writes after a resync: %d, want 1", n)
	}
}

// A pod that ends (here past its deadline) while a container waits in
// CrashLoopBackOff shows that container terminated, not waiting to run
// again: it never will.
func TestEndedPodShowsNoWaiting(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{"crash": {Exit: true, RunFor: 0, ExitCode: 1}}))
	p := simplePod("p", api.RestartPolicyAlways, "crash")
	d := int64(30)
	p.Spec.ActiveDeadlineSeconds = &d
	e.createPod(p)
	e.waitPod("p", func(p *api.Pod) bool {
		w := containerStatusOf(p, "crash").State.Waiting
		return w != nil && w.Reason == ReasonCrashLoopBackOff
	})
	e.clk.Advance(30 * time.Second)
	got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodFailed })
	if cs := containerStatusOf(got, "crash"); cs.State.Terminated == nil || cs.State.Waiting != nil {
		t.Fatalf("%s", describe(got))
	}
}

// A container whose spec changed (a new image) is restarted whatever the
// restart policy, as Kubernetes does: the pod does not fail for it.
func TestSpecChangeRestartsUnderNever(t *testing.T) {
	e := newEnv(t)
	e.createPod(simplePod("p", api.RestartPolicyNever, "web"))
	got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	old := containerStatusOf(got, "web").ContainerID
	got.Spec.Containers[0].Image = "busybox:latest"
	if err := e.api.Client.Update(e.ctx, got); err != nil {
		t.Fatal(err)
	}
	got = e.waitPod("p", func(p *api.Pod) bool {
		cs := containerStatusOf(p, "web")
		return (cs.State.Running != nil && cs.ContainerID != old) || isTerminal(p.Status.Phase)
	})
	if got.Status.Phase != api.PodRunning || containerStatusOf(got, "web").Image != "busybox:latest" {
		t.Fatalf("%s", describe(got))
	}
}

// A pod deleted and made again under the same name (a StatefulSet's)
// while the informer's watch was down comes as one update whose UID
// changed (a relist): the old pod is stopped, not left running next to
// the new one.
func TestReplacedPodStopped(t *testing.T) {
	e := newEnv(t)
	old := e.createPod(simplePod("web-0", api.RestartPolicyAlways, "web"))
	got := e.waitPod("web-0", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	repl := api.DeepCopy(got)
	repl.UID, repl.ResourceVersion, repl.Status = "replacement-uid", "", api.PodStatus{}
	// The old pod is gone from the API server, as when the informer
	// relists over a delete and a create under the same name (else a
	// later event of it, such as the echo of a status write, would
	// rightly bring it back).
	zero := int64(0)
	if err := e.api.Client.Delete(e.ctx, got, client.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &client.Preconditions{UID: got.UID}}); err != nil {
		t.Fatal(err)
	}
	e.k.podUpdated(got, repl)
	controllertest.Eventually(t, func() bool {
		e.relist()
		cs, _ := e.rt.ListContainers(e.ctx, runtime.ContainerFilter{Labels: map[string]string{"drover.io/pod-uid": string(old.UID)}})
		for _, c := range cs {
			if c.State == runtime.ContainerRunning {
				return false
			}
		}
		return true
	})
}
