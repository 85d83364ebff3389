package prober

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
)

// countingExecer counts the Execs it passes to the fake driver.
type countingExecer struct {
	runtime.Execer
	n atomic.Int64
}

func (c *countingExecer) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	c.n.Add(1)
	return c.Execer.Exec(ctx, id, cmd, opts)
}

// env is a Manager on runtime/fake and a fake clock.
type env struct {
	t       *testing.T
	clk     *fakeclock.Clock
	drv     *fake.Driver
	execer  *countingExecer
	m       *Manager
	sandbox string
	dir     string // mounted at /probe in every container
	reg     *prometheus.Registry

	mu      sync.Mutex
	updates []Update
}

var pod = &api.Pod{ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default", UID: "pod-1"}}

// newEnv makes an env whose containers behave as scripts says (by
// container name).
func newEnv(t *testing.T, scripts map[string]*fake.Script) *env {
	t.Helper()
	e := &env{t: t, clk: fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), dir: t.TempDir(), reg: prometheus.NewRegistry()}
	var err error
	e.drv, err = fake.New(fake.Config{Clock: e.clk, ByName: scripts})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.drv.PullImage(ctx, "busybox", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	e.sandbox, err = e.drv.RunPodSandbox(ctx, &runtime.SandboxConfig{Metadata: runtime.PodMetadata{Name: "web", Namespace: "default", UID: "pod-1"}})
	if err != nil {
		t.Fatal(err)
	}
	e.execer = &countingExecer{Execer: e.drv}
	cfg := DefaultConfig()
	cfg.Execer = e.execer
	cfg.Clock = e.clk
	cfg.Registerer = e.reg
	cfg.OnUpdate = func(u Update) {
		e.mu.Lock()
		e.updates = append(e.updates, u)
		e.mu.Unlock()
	}
	e.m, err = NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return e
}

// start runs a container of spec in the fake runtime and adds it to the
// Manager; it returns the container's ID.
func (e *env) start(spec *api.Container, target Target) string {
	e.t.Helper()
	ctx := context.Background()
	id, err := e.drv.CreateContainer(ctx, e.sandbox, &runtime.ContainerConfig{
		Name: spec.Name, Image: "busybox", Command: []string{"sleep", "infinity"},
		Mounts: []runtime.Mount{{HostPath: e.dir, ContainerPath: "/probe"}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.drv.StartContainer(ctx, id); err != nil {
		e.t.Fatal(err)
	}
	e.m.Add(pod, spec, id, e.clk.Now(), target)
	e.m.waitIdle()
	return id
}

// step moves the clock by d and waits for the probes that fell due.
func (e *env) step(d time.Duration) {
	e.clk.Advance(d)
	e.m.waitIdle()
}

// steps moves the clock n periods of d, one at a time.
func (e *env) steps(n int, d time.Duration) {
	for range n {
		e.step(d)
	}
}

func (e *env) take() []Update {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.updates
	e.updates = nil
	return u
}

// setHealthy creates or removes the file "cat /probe/healthy" reads.
func (e *env) setHealthy(ok bool) {
	e.t.Helper()
	p := filepath.Join(e.dir, "healthy")
	if ok {
		if err := os.WriteFile(p, []byte("ok\n"), 0o644); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
}

func execProbe(cmd ...string) *api.Probe {
	return &api.Probe{ProbeHandler: api.ProbeHandler{Exec: &api.ExecAction{Command: cmd}}}
}

var catHealthy = []string{"cat", "/probe/healthy"}

func wantUpdates(t *testing.T, got []Update, want ...Update) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("updates: got %d %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range want {
		g := got[i]
		g.Message = ""
		if g != want[i] {
			t.Errorf("update %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Liveness.String(), "Liveness"}, {Readiness.String(), "Readiness"}, {Startup.String(), "Startup"},
		{Unknown.String(), "Unknown"}, {Success.String(), "Success"}, {Failure.String(), "Failure"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	cfg := DefaultConfig()
	cfg.MaxConcurrentProbes = -1
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "MaxConcurrentProbes") {
		t.Fatalf("Validate: got %v, want an error naming MaxConcurrentProbes", err)
	}
	if _, err := NewManager(cfg); err == nil {
		t.Fatal("NewManager accepted an invalid config")
	}
}

func TestLivenessFailureThresholdThenPause(t *testing.T) {
	e := newEnv(t, nil)
	e.setHealthy(true)
	p := execProbe(catHealthy...)
	p.PeriodSeconds, p.FailureThreshold = 10, 3
	id := e.start(&api.Container{Name: "app", LivenessProbe: p}, Target{})
	if n := e.execer.n.Load(); n != 1 {
		t.Fatalf("execs after Add: %d, want 1 (the first probe runs at once)", n)
	}
	e.steps(2, 10*time.Second)
	e.setHealthy(false)
	e.steps(2, 10*time.Second)
	if u := e.take(); len(u) != 0 {
		t.Fatalf("updates after 2 failures: %+v, want none", u)
	}
	// A success in between resets the run.
	e.setHealthy(true)
	e.step(10 * time.Second)
	e.setHealthy(false)
	e.steps(2, 10*time.Second)
	if u := e.take(); len(u) != 0 {
		t.Fatalf("updates after success then 2 failures: %+v, want none", u)
	}
	e.step(10 * time.Second)
	got := e.take()
	wantUpdates(t, got, Update{PodUID: "pod-1", ContainerName: "app", ContainerID: id, Kind: Liveness, Result: Failure})
	if !strings.Contains(got[0].Message, "No such file") {
		t.Errorf("message %q: want the command's output", got[0].Message)
	}
	// Paused: the node agent restarts the container under a new ID.
	n := e.execer.n.Load()
	e.steps(5, 10*time.Second)
	if d := e.execer.n.Load() - n; d != 0 {
		t.Errorf("%d execs after the liveness failure, want none", d)
	}
	if !e.m.Ready(id) || !e.m.Started(id) {
		t.Error("a container without readiness or startup probes is ready and started")
	}

	// The restarted container is probed afresh.
	e.setHealthy(true)
	e.start(&api.Container{Name: "app", LivenessProbe: p}, Target{})
	e.m.Remove(id)
	e.steps(3, 10*time.Second)
	if u := e.take(); len(u) != 0 {
		t.Fatalf("updates of a healthy container: %+v", u)
	}
	if d := e.execer.n.Load() - n; d != 4 {
		t.Errorf("execs of the new container: %d, want 4", d)
	}
}

func TestReadinessThresholds(t *testing.T) {
	e := newEnv(t, nil)
	p := execProbe(catHealthy...)
	p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold = 5, 2, 2
	id := e.start(&api.Container{Name: "app", ReadinessProbe: p}, Target{})
	if e.m.Ready(id) {
		t.Fatal("ready before the readiness probe succeeded")
	}
	if !e.m.Started(id) {
		t.Fatal("not started without a startup probe")
	}
	e.step(5 * time.Second)
	if e.m.Ready(id) || len(e.take()) != 0 {
		t.Fatal("failures changed readiness")
	}
	e.setHealthy(true)
	e.step(5 * time.Second)
	if e.m.Ready(id) {
		t.Fatal("ready after 1 success, successThreshold 2")
	}
	e.step(5 * time.Second)
	if !e.m.Ready(id) {
		t.Fatal("not ready after 2 successes")
	}
	wantUpdates(t, e.take(), Update{PodUID: "pod-1", ContainerName: "app", ContainerID: id, Kind: Readiness, Result: Success})
	e.steps(3, 5*time.Second)
	e.setHealthy(false)
	e.step(5 * time.Second)
	if !e.m.Ready(id) {
		t.Fatal("not ready after 1 failure, failureThreshold 2")
	}
	e.step(5 * time.Second)
	if e.m.Ready(id) {
		t.Fatal("ready after 2 failures")
	}
	wantUpdates(t, e.take(), Update{PodUID: "pod-1", ContainerName: "app", ContainerID: id, Kind: Readiness, Result: Failure})
	// Readiness keeps probing after a failure, and reports no repeat.
	n := e.execer.n.Load()
	e.steps(4, 5*time.Second)
	if d := e.execer.n.Load() - n; d != 4 {
		t.Errorf("execs after a readiness failure: %d, want 4", d)
	}
	if u := e.take(); len(u) != 0 {
		t.Errorf("updates while readiness stays failed: %+v", u)
	}
	e.setHealthy(true)
	e.steps(2, 5*time.Second)
	if !e.m.Ready(id) {
		t.Fatal("not ready again")
	}
}

func TestInitialDelayAndPeriod(t *testing.T) {
	e := newEnv(t, nil)
	e.setHealthy(true)
	p := execProbe(catHealthy...)
	p.InitialDelaySeconds, p.PeriodSeconds = 5, 10
	e.start(&api.Container{Name: "app", LivenessProbe: p}, Target{})
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{
		{0, 0}, {4 * time.Second, 0}, {time.Second, 1}, {9 * time.Second, 1}, {time.Second, 2}, {10 * time.Second, 3},
	} {
		e.step(c.d)
		if n := e.execer.n.Load(); n != c.want {
			t.Fatalf("at +%s: %d execs, want %d", e.clk.Now().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), n, c.want)
		}
	}
}

func TestDefaultsOfAnUndefaultedProbe(t *testing.T) {
	// A probe the API did not default (a static pod's): period 10s,
	// failureThreshold 3.
	e := newEnv(t, nil)
	e.start(&api.Container{Name: "app", LivenessProbe: execProbe(catHealthy...)}, Target{})
	e.step(9 * time.Second)
	if n := e.execer.n.Load(); n != 1 {
		t.Fatalf("execs before 10s: %d, want 1", n)
	}
	e.step(time.Second)
	if u := e.take(); len(u) != 0 {
		t.Fatalf("updates after 2 failures: %+v", u)
	}
	e.step(10 * time.Second)
	if u := e.take(); len(u) != 1 || u[0].Result != Failure {
		t.Fatalf("updates after 3 failures: %+v, want a Failure", u)
	}
}

func TestStartupGatesLivenessAndReadiness(t *testing.T) {
	e := newEnv(t, map[string]*fake.Script{"app": {Exec: map[string]fake.ExecResult{
		"live":  {ExitCode: 0},
		"ready": {ExitCode: 0, Stdout: "ready"},
	}}})
	startup := execProbe(catHealthy...)
	startup.PeriodSeconds, startup.FailureThreshold = 1, 30
	live, ready := execProbe("live"), execProbe("ready")
	live.PeriodSeconds, ready.PeriodSeconds = 10, 10
	id := e.start(&api.Container{Name: "app", StartupProbe: startup, LivenessProbe: live, ReadinessProbe: ready}, Target{})
	e.steps(15, time.Second)
	if n := e.execer.n.Load(); n != 16 {
		t.Fatalf("execs before startup passed: %d, want 16 (startup probes only)", n)
	}
	if e.m.Started(id) || e.m.Ready(id) {
		t.Fatal("started or ready before the startup probe passed")
	}
	e.setHealthy(true)
	e.step(time.Second)
	wantUpdates(t, e.take(), Update{PodUID: "pod-1", ContainerName: "app", ContainerID: id, Kind: Startup, Result: Success})
	if !e.m.Started(id) || e.m.Ready(id) {
		t.Fatal("after startup: want started, not yet ready")
	}
	// The startup probe stops; liveness and readiness start at their next
	// tick (t=20s).
	n := e.execer.n.Load()
	e.steps(3, time.Second)
	if d := e.execer.n.Load() - n; d != 0 {
		t.Fatalf("%d execs between startup and the next tick, want 0", d)
	}
	e.step(time.Second)
	if d := e.execer.n.Load() - n; d != 2 {
		t.Fatalf("%d execs at the next tick, want 2 (liveness and readiness)", d)
	}
	if !e.m.Ready(id) {
		t.Fatal("not ready after the readiness probe passed")
	}
	got := e.take()
	wantUpdates(t, got, Update{PodUID: "pod-1", ContainerName: "app", ContainerID: id, Kind: Readiness, Result: Success})
	if got[0].Message != "ready" {
		t.Errorf("message %q, want the command's output", got[0].Message)
	}
}

func TestStartupFailure(t *testing.T) {
	e := newEnv(t, map[string]*fake.Script{"app": {Exec: map[string]fake.ExecResult{"live": {}}}})
	startup := execProbe(catHealthy...)
	startup.PeriodSeconds, startup.FailureThreshold = 2, 3
	live := execProbe("live")
	id := e.start(&api.Container{Name: "app", StartupProbe: startup, LivenessProbe: live}, Target{})
	e.steps(2, 2*time.Second)
	wantUpdates(t, e.take(), Update{PodUID: "pod-1", ContainerName: "app", ContainerID: id, Kind: Startup, Result: Failure})
	n := e.execer.n.Load()
	e.steps(20, 2*time.Second)
	if d := e.execer.n.Load() - n; d != 0 {
		t.Fatalf("%d execs after the startup failure, want 0", d)
	}
	if e.m.Started(id) || e.m.Ready(id) {
		t.Fatal("started or ready after the startup probe failed")
	}
}

func TestExecExitCodesAndOutput(t *testing.T) {
	e := newEnv(t, map[string]*fake.Script{"app": {Exec: map[string]fake.ExecResult{
		"ok":     {ExitCode: 0, Stdout: "all good"},
		"bad":    {ExitCode: 2, Stdout: "out ", Stderr: "disk full"},
		"banner": {ExitCode: 1, Stdout: strings.Repeat("x", 3*maxOutput)},
	}}})
	for _, c := range []struct {
		cmd      string
		want     Result
		contains string
	}{
		{"ok", Success, "all good"},
		{"bad", Failure, "exited with 2: out disk full"},
		{"nosuchcommand", Failure, "exited with 127"},
	} {
		id := e.start(&api.Container{Name: "app"}, Target{})
		res, msg := e.m.execProbe(id, []string{c.cmd}, time.Second)
		if res != c.want || !strings.Contains(msg, c.contains) {
			t.Errorf("%s: got %s %q, want %s containing %q", c.cmd, res, msg, c.want, c.contains)
		}
	}
	id := e.start(&api.Container{Name: "app"}, Target{})
	if res, msg := e.m.execProbe(id, []string{"banner"}, time.Second); res != Failure || len(msg) > maxOutput+100 {
		t.Errorf("banner: %s, message of %d bytes: want Failure, output capped at %d", res, len(msg), maxOutput)
	}
	// A container that is not running says nothing of its health.
	if err := e.drv.StopContainer(context.Background(), id, runtime.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, msg := e.m.execProbe(id, []string{"ok"}, time.Second); res != Unknown {
		t.Errorf("stopped container: %s %q, want Unknown", res, msg)
	}
}

func TestExecTimeout(t *testing.T) {
	e := newEnv(t, map[string]*fake.Script{"app": {Exec: map[string]fake.ExecResult{"slow": {Duration: 5 * time.Second}}}})
	p := execProbe("slow")
	p.TimeoutSeconds, p.FailureThreshold = 1, 1
	spec := &api.Container{Name: "app", LivenessProbe: p}
	ctx := context.Background()
	id, err := e.drv.CreateContainer(ctx, e.sandbox, &runtime.ContainerConfig{Name: "app", Image: "busybox"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.drv.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.m.Add(pod, spec, id, e.clk.Now(), Target{})
	// The exec is running when the clock holds its two timers (timeout,
	// duration) besides the Manager's two (next tick, probe timeout).
	waitFor(t, "the exec to start", func() bool { return e.clk.Pending() == 4 })
	e.step(time.Second)
	got := e.take()
	wantUpdates(t, got, Update{PodUID: "pod-1", ContainerName: "app", ContainerID: id, Kind: Liveness, Result: Failure})
	if !strings.Contains(got[0].Message, "command timed out") {
		t.Errorf("message %q: want \"command timed out\"", got[0].Message)
	}
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, not waiting for an event
	}
}

func TestNoExecer(t *testing.T) {
	clk := fakeclock.New(time.Unix(0, 0))
	var mu sync.Mutex
	var got []Update
	m, err := NewManager(Config{Clock: clk, OnUpdate: func(u Update) { mu.Lock(); got = append(got, u); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	p := execProbe("true")
	p.FailureThreshold = 1
	m.Add(pod, &api.Container{Name: "app", LivenessProbe: p}, "c1", clk.Now(), Target{})
	m.waitIdle()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Result != Failure || !strings.Contains(got[0].Message, "runtime.Execer") {
		t.Fatalf("updates %+v: want one Failure saying the runtime cannot exec", got)
	}
}

func TestNoHandler(t *testing.T) {
	e := newEnv(t, nil)
	p := &api.Probe{FailureThreshold: 1}
	e.start(&api.Container{Name: "app", LivenessProbe: p}, Target{})
	got := e.take()
	if len(got) != 1 || got[0].Result != Failure || !strings.Contains(got[0].Message, "no handler") {
		t.Fatalf("updates %+v: want one Failure saying the probe has no handler", got)
	}
}

func TestRemoveStopsProbing(t *testing.T) {
	e := newEnv(t, nil)
	e.setHealthy(true)
	p := execProbe(catHealthy...)
	p.PeriodSeconds = 1
	a := e.start(&api.Container{Name: "a", LivenessProbe: p, ReadinessProbe: p}, Target{})
	e.start(&api.Container{Name: "b", LivenessProbe: p}, Target{})
	e.steps(2, time.Second)
	if n := e.execer.n.Load(); n != 9 {
		t.Fatalf("execs: %d, want 9", n)
	}
	e.m.Remove(a)
	e.m.Remove(a) // twice is fine
	e.steps(2, time.Second)
	if n := e.execer.n.Load(); n != 11 {
		t.Fatalf("execs after removing a: %d, want 11 (b only)", n)
	}
	if !e.m.Ready(a) || !e.m.Started(a) {
		t.Error("a removed container is unknown: ready and started")
	}
	e.m.RemovePod("pod-1")
	e.steps(3, time.Second)
	if n := e.execer.n.Load(); n != 11 {
		t.Fatalf("execs after RemovePod: %d, want 11", n)
	}
	if p := e.clk.Pending(); p != 0 {
		t.Errorf("%d timers pending with nothing to probe, want 0", p)
	}
}

func TestReadyStartedDefaults(t *testing.T) {
	e := newEnv(t, map[string]*fake.Script{"app": {Exec: map[string]fake.ExecResult{"x": {ExitCode: 1}}}})
	x := execProbe("x")
	x.InitialDelaySeconds = 60
	for _, c := range []struct {
		name                 string
		spec                 *api.Container
		wantReady, wantStart bool
	}{
		{"no probes", &api.Container{Name: "app"}, true, true},
		{"liveness only", &api.Container{Name: "app", LivenessProbe: x}, true, true},
		{"readiness", &api.Container{Name: "app", ReadinessProbe: x}, false, true},
		{"startup", &api.Container{Name: "app", StartupProbe: x}, false, false},
	} {
		id := e.start(c.spec, Target{})
		if got := e.m.Ready(id); got != c.wantReady {
			t.Errorf("%s: Ready %v, want %v", c.name, got, c.wantReady)
		}
		if got := e.m.Started(id); got != c.wantStart {
			t.Errorf("%s: Started %v, want %v", c.name, got, c.wantStart)
		}
	}
	if !e.m.Ready("unknown") || !e.m.Started("unknown") {
		t.Error("an unknown container: want ready and started")
	}
}

func TestAddIsIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	p := execProbe(catHealthy...)
	id := e.start(&api.Container{Name: "app", LivenessProbe: p}, Target{})
	e.m.Add(pod, &api.Container{Name: "app", LivenessProbe: p}, id, e.clk.Now(), Target{})
	e.step(10 * time.Second)
	if n := e.execer.n.Load(); n != 2 {
		t.Fatalf("execs: %d, want 2 (one worker)", n)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, nil)
	e.setHealthy(true)
	p := execProbe(catHealthy...)
	e.start(&api.Container{Name: "app", LivenessProbe: p, ReadinessProbe: p}, Target{})
	e.setHealthy(false)
	e.step(10 * time.Second)
	for _, c := range []struct {
		kind, result string
		want         float64
	}{
		{"liveness", "success", 1}, {"liveness", "failure", 1}, {"readiness", "success", 1}, {"readiness", "failure", 1}, {"startup", "success", 0},
	} {
		if got := counterValue(t, e.reg, c.kind, c.result); got != c.want {
			t.Errorf("prober_probe_total{probe_type=%q,result=%q} = %v, want %v", c.kind, c.result, got, c.want)
		}
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "prober_probe_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h.GetSampleCount() != 2 && m.GetLabel()[0].GetValue() != "startup" {
				t.Errorf("prober_probe_duration_seconds%v: %d samples, want 2", m.GetLabel(), h.GetSampleCount())
			}
		}
	}
	// A second Manager on the same registry shares the metrics.
	cfg := DefaultConfig()
	cfg.Registerer = e.reg
	if _, err := NewManager(cfg); err != nil {
		t.Fatalf("second Manager on one registry: %v", err)
	}
}

// counterValue reads one series of prober_probe_total from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, kind, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "prober_probe_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["probe_type"] == kind && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series prober_probe_total{probe_type=%q,result=%q}", kind, result)
	return 0
}

func TestRunStops(t *testing.T) {
	clk := fakeclock.New(time.Unix(0, 0))
	ex := &countingExecer{Execer: nil}
	d, err := fake.New(fake.Config{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ex.Execer = d
	m, err := NewManager(Config{Clock: clk, Execer: ex})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	m.Add(pod, &api.Container{Name: "app", LivenessProbe: execProbe("true")}, "c1", clk.Now(), Target{})
	m.waitIdle()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := m.Run(context.Background()); err == nil {
		t.Error("a second Run: want an error")
	}
	n := ex.n.Load()
	m.Add(pod, &api.Container{Name: "app", LivenessProbe: execProbe("true")}, "c2", clk.Now(), Target{})
	clk.Advance(time.Minute)
	m.waitIdle()
	if d := ex.n.Load() - n; d != 0 {
		t.Errorf("%d execs after Run returned, want 0", d)
	}
	if p := clk.Pending(); p != 0 {
		t.Errorf("%d timers pending after Run returned, want 0", p)
	}
}

func TestJitter(t *testing.T) {
	m, err := NewManager(DefaultConfig()) // the system clock: random jitter
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if j := m.jitter(10 * time.Second); j < 0 || j >= 10*time.Second {
			t.Fatalf("jitter %s, want within [0, 10s)", j)
		}
	}
	if j := m.jitter(0); j != 0 {
		t.Fatalf("jitter of a zero period: %s", j)
	}

	// An injected Jitter delays the first probe only.
	clk := fakeclock.New(time.Unix(0, 0))
	d, err := fake.New(fake.Config{Clock: clk, ByName: map[string]*fake.Script{"app": {Exec: map[string]fake.ExecResult{"ok": {}}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d.PullImage(ctx, "busybox", runtime.PullOptions{})
	sb, _ := d.RunPodSandbox(ctx, &runtime.SandboxConfig{Metadata: runtime.PodMetadata{Name: "p", Namespace: "default", UID: "1"}})
	id, _ := d.CreateContainer(ctx, sb, &runtime.ContainerConfig{Name: "app", Image: "busybox"})
	if err := d.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	ex := &countingExecer{Execer: d}
	m, err = NewManager(Config{Clock: clk, Execer: ex, Jitter: func(p time.Duration) time.Duration { return p / 2 }})
	if err != nil {
		t.Fatal(err)
	}
	m.Add(pod, &api.Container{Name: "app", LivenessProbe: execProbe("ok")}, id, clk.Now(), Target{})
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{{0, 0}, {4 * time.Second, 0}, {time.Second, 1}, {9 * time.Second, 1}, {time.Second, 2}} {
		clk.Advance(c.d)
		m.waitIdle()
		if n := ex.n.Load(); n != c.want {
			t.Fatalf("at %s: %d execs, want %d", clk.Now().Sub(time.Unix(0, 0)), n, c.want)
		}
	}
}

// boundedExecer records how many Execs run at once.
type boundedExecer struct {
	mu              sync.Mutex
	now, max, total int
}

func (b *boundedExecer) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	b.mu.Lock()
	b.now++
	b.total++
	b.max = max(b.max, b.now)
	b.mu.Unlock()
	for range 100 {
		goruntime.Gosched()
	}
	b.mu.Lock()
	b.now--
	b.mu.Unlock()
	return 0, nil
}

func TestMaxConcurrentProbes(t *testing.T) {
	clk := fakeclock.New(time.Unix(0, 0))
	ex := &boundedExecer{}
	m, err := NewManager(Config{Clock: clk, Execer: ex, MaxConcurrentProbes: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		m.Add(pod, &api.Container{Name: "app", LivenessProbe: execProbe("ok")}, fmt.Sprint("c", i), clk.Now(), Target{})
	}
	m.waitIdle()
	clk.Advance(10 * time.Second)
	m.waitIdle()
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.total != 100 {
		t.Errorf("execs: %d, want 100", ex.total)
	}
	if ex.max > 2 {
		t.Errorf("%d execs at once, want at most 2", ex.max)
	}
}

// stubbornExecer ignores ExecOptions.Timeout: it returns when ctx ends.
type stubbornExecer struct{}

func (stubbornExecer) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	<-ctx.Done()
	return -1, ctx.Err()
}

func TestExecTimeoutOfADriverThatIgnoresIt(t *testing.T) {
	clk := fakeclock.New(time.Unix(0, 0))
	m, err := NewManager(Config{Clock: clk, Execer: stubbornExecer{}})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		r   Result
		msg string
	}
	done := make(chan result, 1)
	go func() {
		r, msg := m.execProbe("c1", []string{"hang"}, 3*time.Second)
		done <- result{r, msg}
	}()
	waitFor(t, "the exec to start", func() bool { return clk.Pending() == 1 })
	clk.Advance(3 * time.Second)
	got := <-done
	if got.r != Failure || !strings.Contains(got.msg, "command timed out after 3s") {
		t.Fatalf("got %s %q, want a Failure saying the command timed out", got.r, got.msg)
	}
	if r, msg := m.execProbe("c1", nil, time.Second); r != Failure || !strings.Contains(msg, "no command") {
		t.Fatalf("empty command: %s %q", r, msg)
	}
}

// TestSystemClock runs a probe on the wall clock: the second probe comes
// a period (1s) after the first.
func TestSystemClock(t *testing.T) {
	d, err := fake.New(fake.Config{ByName: map[string]*fake.Script{"app": {Exec: map[string]fake.ExecResult{"ok": {}}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d.PullImage(ctx, "busybox", runtime.PullOptions{})
	sb, _ := d.RunPodSandbox(ctx, &runtime.SandboxConfig{Metadata: runtime.PodMetadata{Name: "p", Namespace: "default", UID: "1"}})
	id, _ := d.CreateContainer(ctx, sb, &runtime.ContainerConfig{Name: "app", Image: "busybox"})
	if err := d.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	ex := &countingExecer{Execer: d}
	m, err := NewManager(Config{Execer: ex, Jitter: func(time.Duration) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	p := execProbe("ok")
	p.PeriodSeconds = 1
	start := time.Now()
	m.Add(pod, &api.Container{Name: "app", LivenessProbe: p}, id, time.Time{}, Target{})
	waitFor(t, "two probes", func() bool { return ex.n.Load() >= 2 })
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("second probe after %s, want about 1s", el)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
