package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
)

const nodeName = "node-a"

// env is an API server, a fake runtime and a Kubelet on a fake clock.
type env struct {
	t      *testing.T
	ctx    context.Context
	api    *controllertest.Env
	clk    *fakeclock.Clock
	state  *fake.State
	reg    *fake.Registry
	rt     *recordingRuntime
	k      *Kubelet
	cfg    Config
	cancel context.CancelFunc
	done   chan error
	probes *scriptedProbes
	noNode bool
	// apiOpts are the API server's options besides the clock.
	apiOpts []controllertest.Option
}

// withoutNode starts the agent before its Node exists.
func withoutNode() envOption { return func(e *env, c *Config) { e.noNode = true } }

type envOption func(*env, *Config)

func withScripts(byName map[string]*fake.Script) envOption {
	return func(e *env, c *Config) { e.rt.scripts = byName }
}

func withNodeCPU(cpu string) envOption {
	return func(e *env, c *Config) { e.rt.nodeCPU = cpu }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	clk := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e := &env{
		t:     t,
		clk:   clk,
		state: fake.NewState(clk),
		reg: fake.NewRegistry(fake.Busybox,
			fake.Image{Ref: "app:v1", Config: fake.Busybox.Config},
			fake.Image{Ref: "registry.example:5000/private:v1", Config: fake.Busybox.Config, Auth: &runtime.Credential{Username: "u", Password: "p"}},
		),
		rt: &recordingRuntime{nodeCPU: "4"},
	}
	e.ctx = controllertest.Context(t)
	cfg := Config{
		NodeName:     nodeName,
		NodeIP:       "10.0.0.1",
		RootDir:      t.TempDir(),
		Clock:        clk,
		RelistPeriod: time.Hour, // the tests relist by hand
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e.probes = &scriptedProbes{ready: map[string]bool{}, started: map[string]bool{}}
	cfg.NewProbeManager = func(report func(ProbeUpdate)) (ProbeManager, error) {
		e.probes.report = report
		return e.probes, nil
	}
	for _, o := range opts {
		o(e, &cfg)
	}
	e.api = controllertest.New(t, append([]controllertest.Option{controllertest.WithClock(clk)}, e.apiOpts...)...)
	cfg.Client = e.api.Client
	if !e.noNode {
		e.createNode()
	}
	e.cfg = cfg
	e.start()
	return e
}

func (e *env) createNode() {
	n := &api.Node{ObjectMeta: api.ObjectMeta{Name: nodeName}}
	n.Status.Capacity = api.ResourceList{
		api.ResourceCPU:    resource.MustParse(e.rt.nodeCPU),
		api.ResourceMemory: resource.MustParse("8Gi"),
		api.ResourcePods:   resource.MustParse("110"),
	}
	n.Status.Allocatable = n.Status.Capacity
	n.Status.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: "10.0.0.1"}}
	if err := e.api.Client.Create(e.ctx, n); err != nil {
		e.t.Fatal(err)
	}
}

// start runs a new Kubelet (and driver) on the env's State: the second
// call is the agent restarted.
func (e *env) start() {
	e.t.Helper()
	d, err := fake.New(fake.Config{State: e.state, Registry: e.reg, ByName: e.rt.scripts})
	if err != nil {
		e.t.Fatal(err)
	}
	e.rt.setDriver(d)
	cfg := e.cfg
	cfg.Runtime, cfg.Images = e.rt, e.rt
	k, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.k, e.cancel, e.done = k, cancel, make(chan error, 1)
	go func() { e.done <- k.Run(ctx) }()
	e.t.Cleanup(e.stop)
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	if err := <-e.done; err != nil {
		e.t.Errorf("Run: %v", err)
	}
	e.cancel = nil
}

// waitTimer waits until the earliest timer of the clock is d from now
// (one that a goroutine of the agent or the driver is about to set). d
// must be shorter than 5 s: the API server's watch progress ticker runs
// on the same clock every 5 s (memstore.DefaultProgressInterval), and a
// waitTimer(5 s) can return on the ticker before the awaited timer is
// set.
func (e *env) waitTimer(d time.Duration) {
	e.t.Helper()
	controllertest.Eventually(e.t, func() bool {
		next, ok := e.clk.Next()
		return ok && next.Equal(e.clk.Now().Add(d))
	})
}

// relist runs the PLEG once, as its timer does every second.
func (e *env) relist() { e.k.relist(e.ctx) }

// advance moves the clock by d and relists.
func (e *env) advance(d time.Duration) {
	e.clk.Advance(d)
	e.relist()
}

func (e *env) createPod(p *api.Pod) *api.Pod {
	e.t.Helper()
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	p.Spec.NodeName = nodeName
	if err := e.api.Client.Create(e.ctx, p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// waitPod waits until the pod's status satisfies cond, relisting as it
// goes (without moving the clock).
func (e *env) waitPod(name string, cond func(*api.Pod) bool) *api.Pod {
	e.t.Helper()
	var last *api.Pod
	deadline := time.Now().Add(controllertest.Timeout)
	for time.Now().Before(deadline) {
		var p api.Pod
		if err := e.api.Client.Get(e.ctx, "default", name, &p); err == nil {
			last = &p
			if cond(&p) {
				return &p
			}
		}
		e.relist()
		time.Sleep(2 * time.Millisecond) // polling interval, not a wait for an effect
	}
	e.t.Fatalf("pod %s: condition not met; last status: %s", name, describe(last))
	return nil
}

func describe(p *api.Pod) string {
	if p == nil {
		return "<none>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s reason=%s msg=%q", p.Status.Phase, p.Status.Reason, p.Status.Message)
	for _, l := range [][]api.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, c := range l {
			fmt.Fprintf(&b, " [%s restarts=%d ready=%v %s last=%s]", c.Name, c.RestartCount, c.Ready, stateString(c.State), stateString(c.LastTerminationState))
		}
	}
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
	}
	return b.String()
}

func stateString(s api.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated(%d,%s,%s-%s)", s.Terminated.ExitCode, s.Terminated.Reason, s.Terminated.StartedAt.Format(time.TimeOnly), s.Terminated.FinishedAt.Format(time.TimeOnly))
	case s.Waiting != nil:
		return fmt.Sprintf("waiting(%s: %s)", s.Waiting.Reason, s.Waiting.Message)
	}
	return "none"
}

func containerStatusOf(p *api.Pod, name string) *api.ContainerStatus {
	for _, l := range [][]api.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range l {
			if l[i].Name == name {
				return &l[i]
			}
		}
	}
	return &api.ContainerStatus{}
}

func condition(p *api.Pod, t api.PodConditionType) api.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func simplePod(name string, policy api.RestartPolicy, containers ...string) *api.Pod {
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Name: name}}
	p.Spec.RestartPolicy = policy
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, api.Container{Name: c, Image: "app:v1", Command: []string{"sleep", "3600"}})
	}
	return p
}

// recordingRuntime is the fake driver, with a log of the calls that
// matter for ordering.
type recordingRuntime struct {
	*fake.Driver
	scripts map[string]*fake.Script
	nodeCPU string

	mu    sync.Mutex
	calls []string
	pulls int
}

func (r *recordingRuntime) setDriver(d *fake.Driver) {
	r.mu.Lock()
	r.Driver = d
	r.mu.Unlock()
}

func (r *recordingRuntime) record(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recordingRuntime) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recordingRuntime) name(id string) string {
	if s, err := r.Driver.ContainerStatus(context.Background(), id); err == nil {
		return s.Name
	}
	return id
}

func (r *recordingRuntime) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	r.record("exec " + r.name(id) + " " + strings.Join(cmd, " "))
	return r.Driver.Exec(ctx, id, cmd, opts)
}

func (r *recordingRuntime) StopContainer(ctx context.Context, id string, opts runtime.StopOptions) error {
	r.record(fmt.Sprintf("stop %s grace=%s", r.name(id), opts.GracePeriod))
	return r.Driver.StopContainer(ctx, id, opts)
}

func (r *recordingRuntime) RemovePodSandbox(ctx context.Context, id string) error {
	r.record("remove-sandbox")
	return r.Driver.RemovePodSandbox(ctx, id)
}

func (r *recordingRuntime) PullImage(ctx context.Context, ref string, opts runtime.PullOptions) (*runtime.Image, error) {
	r.mu.Lock()
	r.pulls++
	r.mu.Unlock()
	return r.Driver.PullImage(ctx, ref, opts)
}

func (r *recordingRuntime) pullCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pulls
}

// scriptedProbes is a ProbeManager whose results the test sets.
type scriptedProbes struct {
	mu      sync.Mutex
	report  func(ProbeUpdate)
	added   []string // container IDs
	removed []string // container IDs
	ready   map[string]bool
	started map[string]bool
}

func (p *scriptedProbes) Add(pod *api.Pod, c *api.Container, id string, startedAt time.Time, target ProbeTarget) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if target.Host == "" || target.Dial == nil {
		panic("probe target without a host or a dialer")
	}
	p.added = append(p.added, c.Name+"="+id)
}

func (p *scriptedProbes) Remove(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removed = append(p.removed, id)
}

func (p *scriptedProbes) RemovePod(uid string) {}

func (p *scriptedProbes) removedIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.removed)
}

func (p *scriptedProbes) Ready(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready[id]
}

func (p *scriptedProbes) Started(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started[id]
}

// set changes a result and reports it, as the prober does.
func (p *scriptedProbes) set(u ProbeUpdate) {
	p.mu.Lock()
	switch u.Kind {
	case Readiness:
		p.ready[u.ContainerID] = u.Result == ProbeSuccess
	case Startup:
		p.started[u.ContainerID] = u.Result == ProbeSuccess
	}
	report := p.report
	p.mu.Unlock()
	report(u)
}

func (p *scriptedProbes) addedIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.added)
}

// containerID strips "fake://" from a status's containerID.
func runtimeID(cs *api.ContainerStatus) string {
	_, id, _ := strings.Cut(cs.ContainerID, "://")
	return id
}

func runtimeFilterName(name string) runtime.ContainerFilter {
	return runtime.ContainerFilter{Labels: map[string]string{"drover.io/container-name": name}}
}
