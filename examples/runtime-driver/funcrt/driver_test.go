package funcrt_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/examples/runtime-driver/funcrt"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/logs"
)

// env is a driver with one image under test, a ready sandbox and a fake
// clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	d     *funcrt.Driver
	clock *fakeclock.Clock
	sb    string
	ref   string
	reg   *funcrt.Registry
}

func newEnv(t *testing.T, img funcrt.Image) *env {
	reg := funcrt.NewRegistry()
	const ref = "example.com/funcrt-test/task:v1"
	require.NoError(t, reg.Add(ref, img))
	clock := fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	d, err := funcrt.New(funcrt.Config{Registry: reg, Clock: clock})
	require.NoError(t, err)
	e := &env{t: t, ctx: context.Background(), d: d, clock: clock, ref: ref, reg: reg}
	_, err = d.PullImage(e.ctx, ref, runtime.PullOptions{})
	require.NoError(t, err)
	e.sb, err = d.RunPodSandbox(e.ctx, &runtime.SandboxConfig{
		Metadata: runtime.PodMetadata{Name: "p", Namespace: "ns", UID: "u"}, LogDirectory: t.TempDir(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.RemovePodSandbox(context.Background(), e.sb)) })
	return e
}

// start creates and starts a container of the image running cmd (the
// image's Main when cmd is nil) with args.
func (e *env) start(name string, cmd, args []string) string {
	e.t.Helper()
	id, err := e.d.CreateContainer(e.ctx, e.sb, &runtime.ContainerConfig{
		Name: name, Image: e.ref, Command: cmd, Args: args, LogPath: name + ".log",
		Env:    []runtime.KeyValue{{Key: "GREETING", Value: "hello"}},
		Mounts: []runtime.Mount{{HostPath: "/srv/data", ContainerPath: "/data"}},
	})
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

// waitExited polls the container's status until it is Exited.
func (e *env) waitExited(id string) *runtime.ContainerStatus {
	e.t.Helper()
	var st *runtime.ContainerStatus
	require.Eventually(e.t, func() bool {
		st = e.status(id)
		return st.State == runtime.ContainerExited
	}, 10*time.Second, time.Millisecond, "container %s to exit", id)
	return st
}

// log returns one stream of the container's log.
func (e *env) log(id string, stream logs.Stream) string {
	e.t.Helper()
	var out bytes.Buffer
	require.NoError(e.t, logs.Read(e.ctx, e.status(id).LogPath, logs.ReadOptions{Stream: stream}, &out))
	return out.String()
}

// waitTimer waits until something waits on the fake clock.
func (e *env) waitTimer() {
	e.t.Helper()
	require.Eventually(e.t, func() bool { return e.clock.Pending() > 0 }, 10*time.Second, time.Millisecond, "a timer on the clock")
}

// TestMainGetsTheContainersProcess: args without a command go to Main;
// the image's environment is under the container's; mounts map paths.
func TestMainGetsTheContainersProcess(t *testing.T) {
	e := newEnv(t, funcrt.Image{
		Env: []string{"GREETING=image", "MODE=fast"}, WorkingDir: "/work",
		Main: func(_ context.Context, p *funcrt.Process) int {
			host, ok := p.HostPath("/data/in/x.png")
			_, outside := p.HostPath("/etc/passwd")
			fmt.Fprintf(p.Stdout, "args=%q greeting=%s mode=%s wd=%s host=%s,%v outside=%v\n",
				p.Args, p.Getenv("GREETING"), p.Getenv("MODE"), p.WorkingDir, host, ok, outside)
			return 0
		},
	})
	id := e.start("main", nil, []string{"--width", "10"})
	st := e.waitExited(id)
	assert.Equal(t, int32(0), st.ExitCode)
	assert.Equal(t, runtime.ReasonCompleted, st.Reason)
	assert.Equal(t, `args=["main" "--width" "10"] greeting=hello mode=fast wd=/work host=/srv/data/in/x.png,true outside=false`+"\n",
		e.log(id, logs.Stdout))
}

// TestCommandsShadowBuiltinsAndExec: an image's command wins over the
// builtin of its name, in containers and in Exec; an unknown name fails
// the start (StartError, 127) or the exec (127).
func TestCommandsShadowBuiltinsAndExec(t *testing.T) {
	e := newEnv(t, funcrt.Image{
		Main: func(ctx context.Context, _ *funcrt.Process) int { <-ctx.Done(); return 0 },
		Commands: map[string]funcrt.Program{
			"echo":    func(_ context.Context, p *funcrt.Process) int { fmt.Fprintln(p.Stdout, "mine"); return 0 },
			"healthy": func(_ context.Context, p *funcrt.Process) int { return 0 },
		},
	})
	id := e.start("echo", []string{"echo", "builtin?"}, nil)
	e.waitExited(id)
	assert.Equal(t, "mine\n", e.log(id, logs.Stdout))

	main := e.start("main", nil, nil)
	code, err := e.d.Exec(e.ctx, main, []string{"healthy"}, runtime.ExecOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	var out, errs bytes.Buffer
	code, err = e.d.Exec(e.ctx, main, []string{"cat", "-"}, runtime.ExecOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, 0, code, "cat of a file that does not exist")
	code, err = e.d.Exec(e.ctx, main, []string{"nope"}, runtime.ExecOptions{Stdout: &out, Stderr: &errs})
	require.NoError(t, err)
	assert.Equal(t, 127, code)
	assert.Contains(t, errs.String(), `command "nope" is not a program of image example.com/funcrt-test/task:v1 (it has echo, healthy, main`)

	_, err = e.d.CreateContainer(e.ctx, e.sb, &runtime.ContainerConfig{Name: "bad", Image: e.ref, Command: []string{"nope"}, LogPath: "bad.log"})
	require.NoError(t, err)
	bad, err := e.d.ListContainers(e.ctx, runtime.ContainerFilter{State: ptr(runtime.ContainerCreated)})
	require.NoError(t, err)
	require.Len(t, bad, 1)
	err = e.d.StartContainer(e.ctx, bad[0].ID)
	require.ErrorIs(t, err, runtime.ErrStartFailed)
	st := e.status(bad[0].ID)
	assert.Equal(t, runtime.ReasonStartError, st.Reason)
	assert.Equal(t, int32(127), st.ExitCode)
	assert.Contains(t, st.Message, `command "nope" is not a program`)
}

func ptr[T any](v T) *T { return &v }

// TestStopEndsTheContext: by default a signal ends the program's
// context; what the program returns is the exit code, and the stop does
// not wait for the grace period.
func TestStopEndsTheContext(t *testing.T) {
	e := newEnv(t, funcrt.Image{Main: func(ctx context.Context, p *funcrt.Process) int {
		<-ctx.Done()
		fmt.Fprintln(p.Stdout, "cleaning up")
		return 143
	}})
	id := e.start("main", nil, nil)
	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{GracePeriod: time.Hour}))
	st := e.status(id)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(143), st.ExitCode)
	assert.Equal(t, runtime.ReasonError, st.Reason)
	assert.Equal(t, "cleaning up\n", e.log(id, logs.Stdout), "output written before the program returns is logged")
	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{GracePeriod: time.Hour}), "stopping twice")
}

// TestNotifyReceivesSignals: after Notify, a signal arrives on the
// channel instead of ending the context.
func TestNotifyReceivesSignals(t *testing.T) {
	e := newEnv(t, funcrt.Image{Main: func(ctx context.Context, p *funcrt.Process) int {
		sigs := p.Notify()
		fmt.Fprintln(p.Stdout, "ready")
		for sig := range sigs {
			fmt.Fprintf(p.Stdout, "got %s, ctx ended: %v\n", sig, ctx.Err() != nil)
			if sig == syscall.SIGTERM {
				return 0
			}
		}
		return 1
	}})
	id := e.start("main", nil, nil)
	require.Eventually(t, func() bool { return e.log(id, logs.Stdout) == "ready\n" }, 10*time.Second, time.Millisecond)
	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{Signal: int(syscall.SIGTERM), GracePeriod: time.Hour}))
	st := e.status(id)
	assert.Equal(t, int32(0), st.ExitCode)
	assert.Equal(t, "ready\ngot terminated, ctx ended: false\n", e.log(id, logs.Stdout))
}

// TestKillAbandonsTheGoroutine: a program that ignores its signal is
// reported Exited 137 when the grace period passes on the clock; its
// goroutine runs on, and what it writes after the kill is dropped.
func TestKillAbandonsTheGoroutine(t *testing.T) {
	killed, wrote, release, returned := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	e := newEnv(t, funcrt.Image{Main: func(ctx context.Context, p *funcrt.Process) int {
		defer close(returned)
		p.Notify()
		fmt.Fprintln(p.Stdout, "ignoring signals")
		<-ctx.Done() // the kill
		close(killed)
		fmt.Fprintln(p.Stdout, "written after the kill")
		close(wrote)
		<-release // a program that does not return at once: it leaks until it does
		return 0
	}})
	id := e.start("main", nil, nil)
	require.Eventually(t, func() bool { return e.log(id, logs.Stdout) != "" }, 10*time.Second, time.Millisecond)

	stopped := make(chan error, 1)
	go func() { stopped <- e.d.StopContainer(e.ctx, id, runtime.StopOptions{GracePeriod: 30 * time.Second}) }()
	e.waitTimer()
	select {
	case err := <-stopped:
		t.Fatalf("StopContainer returned before the grace period: %v", err)
	default:
	}
	assert.Equal(t, runtime.ContainerRunning, e.status(id).State, "within the grace period")
	e.clock.Advance(30 * time.Second)
	require.NoError(t, <-stopped)

	st := e.status(id)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(137), st.ExitCode)
	assert.Equal(t, runtime.ReasonError, st.Reason)
	assert.Contains(t, st.Message, "did not return within the grace period of 30s after signal 15")
	assert.Contains(t, st.Message, "abandoned")
	<-killed // the kill ended the context
	<-wrote
	assert.Equal(t, "ignoring signals\n", e.log(id, logs.Stdout), "output after the kill is dropped")
	select {
	case <-returned:
		t.Fatal("the program returned although it waits for release")
	default:
	}
	close(release)
	<-returned
	assert.Equal(t, int32(137), e.status(id).ExitCode, "the abandoned goroutine's result is ignored")
}

// TestKillAtOnce: grace 0 or SIGKILL kill without waiting.
func TestKillAtOnce(t *testing.T) {
	e := newEnv(t, funcrt.Image{Main: func(ctx context.Context, p *funcrt.Process) int {
		p.Notify()
		<-ctx.Done()
		return 0
	}})
	for _, opts := range []runtime.StopOptions{{}, {Signal: int(syscall.SIGKILL), GracePeriod: time.Hour}} {
		id := e.start(fmt.Sprintf("c%d", opts.Signal), nil, nil)
		require.NoError(t, e.d.StopContainer(e.ctx, id, opts))
		assert.Equal(t, int32(137), e.status(id).ExitCode, "%+v", opts)
	}
}

// TestPanicIsRecovered: a panicking program exits 2 with the panic on
// its standard error; the driver goes on.
func TestPanicIsRecovered(t *testing.T) {
	e := newEnv(t, funcrt.Image{Main: func(context.Context, *funcrt.Process) int { panic("boom") }})
	st := e.waitExited(e.start("main", nil, nil))
	assert.Equal(t, int32(2), st.ExitCode)
	assert.Equal(t, runtime.ReasonError, st.Reason)
	assert.True(t, strings.HasPrefix(e.log(st.ID, logs.Stderr), "panic: boom\n"), e.log(st.ID, logs.Stderr))
	st = e.waitExited(e.start("ok", []string{"exit", "0"}, nil))
	assert.Equal(t, int32(0), st.ExitCode)
}

// TestExecTimeout: the exec's context ends when its timeout passes on
// the clock; Exec returns ErrTimeout and drops later output.
func TestExecTimeout(t *testing.T) {
	e := newEnv(t, funcrt.Image{Main: func(ctx context.Context, _ *funcrt.Process) int { <-ctx.Done(); return 0 }})
	id := e.start("main", nil, nil)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := e.d.Exec(e.ctx, id, []string{"ignore-term"}, runtime.ExecOptions{Stdout: &out, Timeout: 5 * time.Second})
		done <- err
	}()
	e.waitTimer()
	e.clock.Advance(5 * time.Second)
	require.ErrorIs(t, <-done, runtime.ErrTimeout)
	assert.Equal(t, runtime.ContainerRunning, e.status(id).State)

	// A stop of the container ends its execs.
	go func() {
		_, err := e.d.Exec(e.ctx, id, []string{"sleep-forever"}, runtime.ExecOptions{})
		done <- err
	}()
	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{}))
	err := <-done
	if err != nil {
		assert.ErrorIs(t, err, runtime.ErrNotRunning)
	}
}

// TestRestartAdoptsRunningPrograms: a driver made with the old State
// drives the old goroutines; logs keep flowing to the same file.
func TestRestartAdoptsRunningPrograms(t *testing.T) {
	tick := make(chan string)
	e := newEnv(t, funcrt.Image{Main: func(ctx context.Context, p *funcrt.Process) int {
		for {
			select {
			case s := <-tick:
				fmt.Fprintln(p.Stdout, s)
			case <-ctx.Done():
				return 0
			}
		}
	}})
	id := e.start("main", nil, nil)
	tick <- "before"
	d2, err := funcrt.New(funcrt.Config{State: e.d.State(), Registry: e.reg, Clock: e.clock})
	require.NoError(t, err)
	e.d = d2
	tick <- "after"
	require.Eventually(t, func() bool { return e.log(id, logs.Stdout) == "before\nafter\n" }, 10*time.Second, time.Millisecond)
	require.NoError(t, d2.StopContainer(e.ctx, id, runtime.StopOptions{GracePeriod: time.Hour}))
	assert.Equal(t, int32(0), e.status(id).ExitCode)
}

// TestSandboxRefusals: a PID namespace shared by the pod cannot be
// given; a relative log directory is refused.
func TestSandboxRefusals(t *testing.T) {
	d, err := funcrt.New(funcrt.Config{Registry: funcrt.NewRegistry()})
	require.NoError(t, err)
	_, err = d.RunPodSandbox(context.Background(), &runtime.SandboxConfig{
		Metadata: runtime.PodMetadata{Name: "p", Namespace: "ns"}, LogDirectory: t.TempDir(),
		Namespaces: runtime.NamespaceOptions{PID: runtime.NamespacePod},
	})
	assert.ErrorIs(t, err, runtime.ErrUnsupported)
	_, err = d.RunPodSandbox(context.Background(), &runtime.SandboxConfig{LogDirectory: "logs"})
	assert.ErrorContains(t, err, `LogDirectory "logs": must be an absolute path`)
}

// TestLogsRotate: the log writer's config applies (rotation by size).
func TestLogsRotate(t *testing.T) {
	reg := funcrt.NewRegistry()
	require.NoError(t, reg.Add("chatty", funcrt.Image{Main: func(_ context.Context, p *funcrt.Process) int {
		for i := range 100 {
			fmt.Fprintf(p.Stdout, "line %03d\n", i)
		}
		return 0
	}}))
	d, err := funcrt.New(funcrt.Config{Registry: reg, Logs: logs.WriterConfig{MaxSize: 1000, MaxFiles: 2}})
	require.NoError(t, err)
	ctx, dir := context.Background(), t.TempDir()
	_, err = d.PullImage(ctx, "chatty", runtime.PullOptions{})
	require.NoError(t, err)
	sb, err := d.RunPodSandbox(ctx, &runtime.SandboxConfig{LogDirectory: dir})
	require.NoError(t, err)
	id, err := d.CreateContainer(ctx, sb, &runtime.ContainerConfig{Name: "c", Image: "chatty", LogPath: "c/0.log"})
	require.NoError(t, err)
	require.NoError(t, d.StartContainer(ctx, id))
	require.Eventually(t, func() bool {
		st, err := d.ContainerStatus(ctx, id)
		return err == nil && st.State == runtime.ContainerExited
	}, 10*time.Second, time.Millisecond)
	files, err := filepath.Glob(filepath.Join(dir, "c", "0.log*"))
	require.NoError(t, err)
	assert.Len(t, files, 2, "the live file and one rotated file")
	fi, err := os.Stat(filepath.Join(dir, "c", "0.log"))
	require.NoError(t, err)
	assert.LessOrEqual(t, fi.Size(), int64(1000))
	require.NoError(t, d.RemovePodSandbox(ctx, sb))
}
