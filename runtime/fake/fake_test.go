package fake_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
	"github.com/drover-io/drover/runtime/logs"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type env struct {
	t   *testing.T
	clk *fakeclock.Clock
	d   *fake.Driver
	ctx context.Context
	sb  string
	dir string
}

func newEnv(t *testing.T, cfg fake.Config) *env {
	t.Helper()
	clk := fakeclock.New(epoch)
	cfg.Clock = clk
	d, err := fake.New(cfg)
	require.NoError(t, err)
	e := &env{t: t, clk: clk, d: d, ctx: context.Background(), dir: t.TempDir()}
	_, err = d.PullImage(e.ctx, "busybox", runtime.PullOptions{})
	require.NoError(t, err)
	e.sb, err = d.RunPodSandbox(e.ctx, &runtime.SandboxConfig{
		Metadata:     runtime.PodMetadata{Name: "p", Namespace: "ns", UID: "u"},
		LogDirectory: e.dir,
	})
	require.NoError(t, err)
	return e
}

func (e *env) run(name string, cmd ...string) string {
	e.t.Helper()
	id, err := e.d.CreateContainer(e.ctx, e.sb, &runtime.ContainerConfig{Name: name, Image: "busybox", Command: cmd, LogPath: name + ".log"})
	require.NoError(e.t, err)
	require.NoError(e.t, e.d.StartContainer(e.ctx, id))
	return id
}

func (e *env) status(id string) *runtime.ContainerStatus {
	e.t.Helper()
	st, err := e.d.ContainerStatus(e.ctx, id)
	require.NoError(e.t, err)
	return st
}

func (e *env) log(id string) string {
	e.t.Helper()
	var out bytes.Buffer
	require.NoError(e.t, logs.Read(e.ctx, e.status(id).LogPath, logs.ReadOptions{Timestamps: true}, &out))
	return out.String()
}

// waitPending waits until n timers are set on the clock by a goroutine
// the test started.
func (e *env) waitPending(n int) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.clk.Pending() < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %d timers, have %d", n, e.clk.Pending())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestScriptedExitAfterDuration(t *testing.T) {
	e := newEnv(t, fake.Config{ByName: map[string]*fake.Script{
		"job": {Stdout: []string{"working"}, Stderr: []string{"warning"}, Exit: true, RunFor: time.Minute, ExitCode: 4},
	}})
	id := e.run("job")
	assert.Equal(t, runtime.ContainerRunning, e.status(id).State)
	assert.Equal(t, "2026-01-02T03:04:05Z working\n2026-01-02T03:04:05Z warning\n", e.log(id))
	e.clk.Advance(time.Minute - time.Nanosecond)
	assert.Equal(t, runtime.ContainerRunning, e.status(id).State)
	e.clk.Advance(time.Nanosecond)
	st := e.status(id)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(4), st.ExitCode)
	assert.Equal(t, runtime.ReasonError, st.Reason)
	assert.Equal(t, epoch.Add(time.Minute), st.FinishedAt)
	assert.Equal(t, 0, e.clk.Pending(), "no timer left")
}

func TestScriptedByImage(t *testing.T) {
	reg := fake.NewRegistry(fake.Busybox, fake.Image{Ref: "app:v1", Config: runtime.ImageConfig{Entrypoint: []string{"/app"}}})
	e := newEnv(t, fake.Config{Registry: reg, ByImage: map[string]*fake.Script{"app:v1": {OOM: true, RunFor: time.Second}}})
	_, err := e.d.PullImage(e.ctx, "app:v1", runtime.PullOptions{})
	require.NoError(t, err)
	id, err := e.d.CreateContainer(e.ctx, e.sb, &runtime.ContainerConfig{Name: "app", Image: "app:v1"})
	require.NoError(t, err)
	require.NoError(t, e.d.StartContainer(e.ctx, id))
	e.clk.Advance(time.Second)
	st := e.status(id)
	assert.Equal(t, runtime.ReasonOOMKilled, st.Reason)
	assert.Equal(t, int32(137), st.ExitCode)
	assert.Empty(t, st.LogPath, "no LogPath asked for")
}

func TestScriptedStartDelayAndFailure(t *testing.T) {
	e := newEnv(t, fake.Config{ByName: map[string]*fake.Script{
		"slow":   {StartDelay: 5 * time.Second},
		"broken": {StartError: `exec: "/app": permission denied`},
	}})
	id, err := e.d.CreateContainer(e.ctx, e.sb, &runtime.ContainerConfig{Name: "slow", Image: "busybox"})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- e.d.StartContainer(e.ctx, id) }()
	e.waitPending(1)
	assert.Equal(t, runtime.ContainerCreated, e.status(id).State, "still starting")
	assert.Error(t, e.d.StartContainer(e.ctx, id), "a second start while the first waits")
	e.clk.Advance(5 * time.Second)
	require.NoError(t, <-done)
	st := e.status(id)
	assert.Equal(t, runtime.ContainerRunning, st.State)
	assert.Equal(t, epoch.Add(5*time.Second), st.StartedAt)

	// A start cancelled by its context leaves the container Created.
	id2, err := e.d.CreateContainer(e.ctx, e.sb, &runtime.ContainerConfig{Name: "slow", Attempt: 1, Image: "busybox"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(e.ctx)
	go func() { done <- e.d.StartContainer(ctx, id2) }()
	e.waitPending(1)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, runtime.ContainerCreated, e.status(id2).State)
	assert.Equal(t, 0, e.clk.Pending())

	id3, err := e.d.CreateContainer(e.ctx, e.sb, &runtime.ContainerConfig{Name: "broken", Image: "busybox"})
	require.NoError(t, err)
	err = e.d.StartContainer(e.ctx, id3)
	assert.ErrorIs(t, err, runtime.ErrStartFailed)
	assert.ErrorContains(t, err, "permission denied")
	st = e.status(id3)
	assert.Equal(t, runtime.ReasonStartError, st.Reason)
	assert.Equal(t, `exec: "/app": permission denied`, st.Message)
}

func TestShellCommands(t *testing.T) {
	e := newEnv(t, fake.Config{})
	for _, c := range []struct {
		name, script string
		log          string
		code         int32
	}{
		{"sequence", `echo a; echo "b  c" >&2; false; true && echo 'd'\''e'`, "a\nb  c\nd'e\n", 0},
		{"status of the last command", "echo x; false", "x\n", 1},
		{"exit stops", "exit 7; echo never", "", 7},
		{"variables", `echo $HOME ${PATH%%x} "$0" $1 $@`, "  sh  \n", 0},
		{"pwd", "pwd", "/\n", 0},
		{"cat of an unmounted file", "cat /etc/none", "cat: /etc/none: No such file or directory\n", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := e.run(c.name, "sh", "-c", c.script)
			st := e.status(id)
			require.Equal(t, runtime.ContainerExited, st.State)
			assert.Equal(t, c.code, st.ExitCode)
			var out bytes.Buffer
			require.NoError(t, logs.Read(e.ctx, st.LogPath, logs.ReadOptions{}, &out))
			assert.Equal(t, c.log, out.String())
		})
	}
}

func TestSleepAndSignals(t *testing.T) {
	e := newEnv(t, fake.Config{})
	sleeper := e.run("sleeper", "sh", "-c", "echo start; sleep 10; echo end; exit 2")
	e.clk.Advance(10 * time.Second)
	st := e.status(sleeper)
	assert.Equal(t, int32(2), st.ExitCode)
	assert.Contains(t, e.log(sleeper), "03:04:15Z end\n")

	// No trap: TERM kills with 143.
	plain := e.run("plain", "sleep", "100")
	require.NoError(t, e.d.StopContainer(e.ctx, plain, runtime.StopOptions{GracePeriod: time.Minute}))
	assert.Equal(t, int32(143), e.status(plain).ExitCode)

	// TERM ignored: killed when the grace period passes, on the clock.
	stubborn := e.run("stubborn", "sh", "-c", "trap '' TERM; sleep 1000000 & wait")
	done := make(chan error, 1)
	go func() { done <- e.d.StopContainer(e.ctx, stubborn, runtime.StopOptions{GracePeriod: 30 * time.Second}) }()
	e.waitPending(2) // its sleep and the grace timer
	e.clk.Advance(29 * time.Second)
	assert.Equal(t, runtime.ContainerRunning, e.status(stubborn).State)
	e.clk.Advance(time.Second)
	require.NoError(t, <-done)
	st = e.status(stubborn)
	assert.Equal(t, int32(137), st.ExitCode)
	assert.Equal(t, epoch.Add(40*time.Second), st.FinishedAt)
	assert.Equal(t, 0, e.clk.Pending())

	// A custom signal with a trap that exits.
	trapped := e.run("trapped", "sh", "-c", "trap 'exit 5' TERM; sleep infinity")
	require.NoError(t, e.d.StopContainer(e.ctx, trapped, runtime.StopOptions{Signal: 15, GracePeriod: time.Second}))
	assert.Equal(t, int32(5), e.status(trapped).ExitCode)
}

func TestExecScriptedAndTimeout(t *testing.T) {
	e := newEnv(t, fake.Config{ByName: map[string]*fake.Script{"web": {Exec: map[string]fake.ExecResult{
		"cat /tmp/healthy": {Stdout: "ok\n"},
		"slow-check":       {ExitCode: 1, Duration: 3 * time.Second},
	}}}})
	id := e.run("web")
	var out bytes.Buffer
	code, err := e.d.Exec(e.ctx, id, []string{"cat", "/tmp/healthy"}, runtime.ExecOptions{Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "ok\n", out.String())

	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	exec := func(timeout time.Duration) {
		go func() {
			code, err := e.d.Exec(e.ctx, id, []string{"slow-check"}, runtime.ExecOptions{Timeout: timeout})
			done <- result{code, err}
		}()
	}
	exec(5 * time.Second)
	e.waitPending(2)
	e.clk.Advance(3 * time.Second)
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, 1, r.code)

	exec(time.Second)
	e.waitPending(2)
	e.clk.Advance(time.Second)
	r = <-done
	assert.ErrorIs(t, r.err, runtime.ErrTimeout)

	code, err = e.d.Exec(e.ctx, id, []string{"no-such-binary"}, runtime.ExecOptions{Stderr: &out})
	require.NoError(t, err)
	assert.Equal(t, 127, code)
}

func TestStats(t *testing.T) {
	e := newEnv(t, fake.Config{ByName: map[string]*fake.Script{"busy": {CPUMillicores: 500, MemoryBytes: 64 << 20}}})
	id := e.run("busy")
	e.clk.Advance(10 * time.Second)
	st, err := e.d.ContainerStats(e.ctx, id)
	require.NoError(t, err)
	// Half a core for ten seconds, and a millisecond to start.
	assert.Equal(t, uint64(5*time.Second+time.Millisecond), st.CPUUsageNanoseconds)
	assert.Equal(t, uint64(64<<20), st.MemoryWorkingSetBytes)
	assert.Equal(t, epoch.Add(10*time.Second), st.Timestamp)

	hog := e.run("hog", "sh", "-c", "head -c 10m /dev/zero | tail; sleep infinity")
	st, err = e.d.ContainerStats(e.ctx, hog)
	require.NoError(t, err)
	assert.Equal(t, uint64(11<<20), st.MemoryUsageBytes, "1 MiB and what it allocated")

	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{}))
	e.clk.Advance(time.Hour)
	st, err = e.d.ContainerStats(e.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, uint64(5*time.Second+time.Millisecond), st.CPUUsageNanoseconds, "no CPU once exited")
	assert.Zero(t, st.MemoryUsageBytes)
}

func TestPullScripted(t *testing.T) {
	cred := runtime.Credential{Username: "u", Password: "p"}
	reg := fake.NewRegistry(
		fake.Image{Ref: "slow:v1", Size: 100, PullDelay: time.Minute},
		fake.Image{Ref: "limited:v1", PullError: "toomanyrequests: You have reached your pull rate limit"},
		fake.Image{Ref: "private.example/app", Auth: &cred},
	)
	clk := fakeclock.New(epoch)
	d, err := fake.New(fake.Config{Clock: clk, Registry: reg})
	require.NoError(t, err)
	ctx := context.Background()

	var progress []runtime.PullProgress
	done := make(chan error, 1)
	go func() {
		_, err := d.PullImage(ctx, "slow:v1", runtime.PullOptions{Progress: func(p runtime.PullProgress) { progress = append(progress, p) }})
		done <- err
	}()
	for clk.Pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	clk.Advance(time.Minute)
	require.NoError(t, <-done)
	assert.Equal(t, []runtime.PullProgress{{Total: 100}, {Done: 100, Total: 100}}, progress)

	_, err = d.PullImage(ctx, "limited:v1", runtime.PullOptions{})
	assert.ErrorContains(t, err, "toomanyrequests")
	assert.NotErrorIs(t, err, runtime.ErrImageNotFound)

	_, err = d.PullImage(ctx, "private.example/app", runtime.PullOptions{})
	assert.ErrorContains(t, err, "UNAUTHORIZED")
	img, err := d.PullImage(ctx, "private.example/app:latest", runtime.PullOptions{Credentials: []runtime.Credential{{Username: "x"}, cred}})
	require.NoError(t, err)
	assert.Equal(t, []string{"private.example/app:latest"}, img.RepoTags)

	_, err = d.PullImage(ctx, "private.example/app:v2", runtime.PullOptions{})
	assert.ErrorIs(t, err, runtime.ErrImageNotFound)
	assert.ErrorContains(t, err, "GET https://private.example/v2/app/manifests/v2: MANIFEST_UNKNOWN")

	// A tag that moves to another image.
	reg.Add(fake.Image{Ref: "slow:v1", Size: 200, Config: runtime.ImageConfig{Cmd: []string{"new"}}})
	img2, err := d.PullImage(ctx, "slow:v1", runtime.PullOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, img.ID, img2.ID)
	imgs, err := d.ListImages(ctx)
	require.NoError(t, err)
	assert.Len(t, imgs, 3, "the old image stays, by its digest")
}

func TestRestartAdoptsRunningContainers(t *testing.T) {
	e := newEnv(t, fake.Config{})
	id := e.run("sleeper", "sh", "-c", "sleep 60; echo done")
	// The driver restarts: its timers belong to the node's state.
	d2, err := fake.New(fake.Config{State: e.d.State()})
	require.NoError(t, err)
	e.d = d2
	e.clk.Advance(time.Minute)
	st := e.status(id)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Contains(t, e.log(id), "done\n")
	list, err := d2.ListContainers(e.ctx, runtime.ContainerFilter{})
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func TestValidation(t *testing.T) {
	e := newEnv(t, fake.Config{})
	_, err := e.d.RunPodSandbox(e.ctx, &runtime.SandboxConfig{Metadata: runtime.PodMetadata{Name: "p", Namespace: "ns"}})
	assert.ErrorContains(t, err, "metadata.uid")
	_, err = e.d.RunPodSandbox(e.ctx, &runtime.SandboxConfig{Metadata: runtime.PodMetadata{Name: "p", Namespace: "ns", UID: "u"}, LogDirectory: "rel"})
	assert.ErrorContains(t, err, "logDirectory")
	for _, cfg := range []*runtime.ContainerConfig{
		{Image: "busybox"},
		{Name: "c", Image: "busybox", LogPath: "../escape.log"},
		{Name: "c", Image: "busybox", LogPath: filepath.Join(e.dir, "abs.log")},
		{Name: "c", Image: "busybox", Mounts: []runtime.Mount{{HostPath: "/tmp", ContainerPath: "rel"}}},
	} {
		_, err := e.d.CreateContainer(e.ctx, e.sb, cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	_, err = e.d.CreateContainer(e.ctx, e.sb, &runtime.ContainerConfig{Name: "c", Image: "nginx"})
	assert.ErrorIs(t, err, runtime.ErrImageNotFound)
	_, err = fake.New(fake.Config{Logs: logs.WriterConfig{MaxSize: -1}})
	assert.ErrorContains(t, err, "MaxSize")
}

func TestRegistryServeAny(t *testing.T) {
	reg := fake.NewRegistry(fake.Busybox)
	d, err := fake.New(fake.Config{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.PullImage(ctx, "nginx:1.27", runtime.PullOptions{}); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Fatalf("pull of an image the registry lacks: %v, want ErrImageNotFound", err)
	}
	reg.ServeAny(fake.Busybox)
	a, err := d.PullImage(ctx, "nginx:1.27", runtime.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.PullImage(ctx, "registry.local/app:v2", runtime.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID || !slices.Contains(a.RepoTags, "nginx:1.27") {
		t.Fatalf("images %+v and %+v: want distinct IDs and their own tags", a, b)
	}
	if _, err := d.PullImage(ctx, "nginx@sha256:"+strings.Repeat("0", 64), runtime.PullOptions{}); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Fatalf("pull of an unknown digest: %v, want ErrImageNotFound", err)
	}
}
