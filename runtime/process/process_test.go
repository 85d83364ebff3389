package process_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
	"github.com/drover-io/drover/runtime/logs"
	"github.com/drover-io/drover/runtime/process"
)

// busyboxImage is imagetest.BusyboxImage with a layer of the applets
// runtimetest.Shell's UseMemory needs and imagetest.BusyboxApplets lacks
// (a chrooted shell finds only what the image has).
func busyboxImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(imagetest.BusyboxImage(t), imagetest.Layer(t,
		imagetest.Symlink("bin/head", "busybox"), imagetest.Symlink("bin/tr", "busybox")))
	require.NoError(t, err)
	return img
}

// newDriver makes a driver whose containers are killed when the test
// ends (it does not remove them: after a restart, two drivers of one
// root must not both write it).
func newDriver(t testing.TB, cfg process.Config) *process.Driver {
	t.Helper()
	d, err := process.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		list, _ := d.ListContainers(context.Background(), runtime.ContainerFilter{})
		for _, c := range list {
			_ = d.StopContainer(context.Background(), c.ID, runtime.StopOptions{Signal: int(syscall.SIGKILL)})
		}
		require.NoError(t, d.Close())
		require.NoError(t, d.Close(), "closing twice")
	})
	return d
}

// env is a driver with the busybox image pulled and a sandbox.
type env struct {
	t      testing.TB
	ctx    context.Context
	d      *process.Driver
	image  string
	sb     string
	logDir string
}

func setup(t testing.TB, iso process.Isolation) *env {
	t.Helper()
	if iso == process.IsolationChroot && os.Geteuid() != 0 {
		t.Skip("IsolationChroot needs root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	host := imagetest.StartRegistry(t, nil)
	ref := host + "/busybox:latest"
	imagetest.Push(t, ref, busyboxImage(t))
	e := &env{t: t, ctx: ctx, image: ref, logDir: t.TempDir()}
	e.d = newDriver(t, process.Config{Root: t.TempDir(), Isolation: iso})
	_, err := e.d.PullImage(ctx, ref, runtime.PullOptions{})
	require.NoError(t, err)
	e.sb, err = e.d.RunPodSandbox(ctx, &runtime.SandboxConfig{
		Metadata:     runtime.PodMetadata{Name: "p", Namespace: "ns", UID: "u"},
		LogDirectory: e.logDir,
	})
	require.NoError(t, err)
	return e
}

func (e *env) config(name string, cmd ...string) *runtime.ContainerConfig {
	return &runtime.ContainerConfig{Name: name, Image: e.image, Command: cmd, LogPath: name + ".log"}
}

func (e *env) run(cfg *runtime.ContainerConfig) string {
	e.t.Helper()
	id, err := e.d.CreateContainer(e.ctx, e.sb, cfg)
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

// waitExited polls the container's status until it has exited.
func (e *env) waitExited(id string) *runtime.ContainerStatus {
	e.t.Helper()
	return waitExited(e.t, e.ctx, e.d, id)
}

func waitExited(t testing.TB, ctx context.Context, d *process.Driver, id string) *runtime.ContainerStatus {
	t.Helper()
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		st, err := d.ContainerStatus(ctx, id)
		require.NoError(t, err)
		if st.State == runtime.ContainerExited {
			return st
		}
		require.NoError(t, ctx.Err(), "waiting for container %s to exit", id)
		time.Sleep(delay)
	}
}

// stdout returns what the container wrote to standard output, as
// runtime/logs reads it.
func (e *env) stdout(id string) string {
	e.t.Helper()
	var b bytes.Buffer
	require.NoError(e.t, logs.Read(e.ctx, e.status(id).LogPath, logs.ReadOptions{Stream: logs.Stdout}, &b))
	return b.String()
}

var criLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (stdout|stderr) [FP] `)

func TestExitCodesAndLogs(t *testing.T) {
	e := setup(t, process.IsolationNone)
	ok := e.run(e.config("ok", "sh", "-c", "echo hello; echo oops >&2"))
	bad := e.run(e.config("bad", "sh", "-c", "exit 3"))

	st := e.waitExited(ok)
	assert.Equal(t, int32(0), st.ExitCode)
	assert.Equal(t, runtime.ReasonCompleted, st.Reason)
	assert.False(t, st.FinishedAt.Before(st.StartedAt))
	assert.Equal(t, filepath.Join(e.logDir, "ok.log"), st.LogPath)
	// The monitor has flushed the log before recording the exit.
	raw, err := os.ReadFile(st.LogPath)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	require.Len(t, lines, 2, "%q", raw)
	for _, l := range lines {
		assert.Regexp(t, criLine, l)
	}
	assert.ElementsMatch(t, []string{"stdout F hello", "stderr F oops"}, []string{lines[0][strings.IndexByte(lines[0], ' ')+1:], lines[1][strings.IndexByte(lines[1], ' ')+1:]})

	st = e.waitExited(bad)
	assert.Equal(t, int32(3), st.ExitCode)
	assert.Equal(t, runtime.ReasonError, st.Reason)
}

func TestLogRotation(t *testing.T) {
	e := setup(t, process.IsolationNone)
	d := newDriver(t, process.Config{Root: t.TempDir(), Isolation: process.IsolationNone, Logs: logs.WriterConfig{MaxSize: 2000, MaxFiles: 3}})
	_, err := d.PullImage(e.ctx, e.image, runtime.PullOptions{})
	require.NoError(t, err)
	sb, err := d.RunPodSandbox(e.ctx, &runtime.SandboxConfig{LogDirectory: e.logDir})
	require.NoError(t, err)
	e.d, e.sb = d, sb
	// 200 lines of about 60 bytes each in the log: 12 KB, rotated at 2 KB.
	id := e.run(e.config("chatty", "sh", "-c", `i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done`))
	assert.Equal(t, int32(0), e.waitExited(id).ExitCode)
	files, err := filepath.Glob(filepath.Join(e.logDir, "chatty.log*"))
	require.NoError(t, err)
	// The writer rotates after a write that takes the file past MaxSize;
	// how the output is cut into writes depends on scheduling.
	assert.GreaterOrEqual(t, len(files), 2, "rotated: %v", files)
	assert.LessOrEqual(t, len(files), 3, "at most MaxFiles: %v", files)
	out := e.stdout(id)
	assert.True(t, strings.HasSuffix(out, "line 198\nline 199\n"), "the newest lines are kept: %q", out)
}

func TestEnvArgsWorkingDir(t *testing.T) {
	for _, iso := range []process.Isolation{process.IsolationNone, process.IsolationChroot} {
		t.Run(iso.String(), func(t *testing.T) {
			e := setup(t, iso)
			require.Equal(t, iso, e.d.Isolation())
			cfg := e.config("env", "sh", "-c", `echo "$FOO|$PATH|$0|$1"`)
			cfg.Args = []string{"x", "two words"}
			cfg.Env = []runtime.KeyValue{{Key: "FOO", Value: "bar baz"}, {Key: "PATH", Value: "/bin"}}
			env := e.run(cfg)
			cfg = e.config("pwd", "sh", "-c", "pwd; ls")
			cfg.WorkingDir = "/tmp/made"
			pwd := e.run(cfg)

			assert.Equal(t, int32(0), e.waitExited(env).ExitCode)
			assert.Equal(t, "bar baz|/bin|x|two words\n", e.stdout(env), "env of the image with the container's on top; Command and Args")
			assert.Equal(t, int32(0), e.waitExited(pwd).ExitCode)
			out := e.stdout(pwd)
			if iso == process.IsolationChroot {
				assert.Equal(t, "/tmp/made\n", out, "chrooted: the image's paths")
			} else {
				// The working directory is in the container's copy of
				// the image, seen with its path on the node.
				assert.True(t, strings.HasSuffix(out, "/rootfs/tmp/made\n"), "pwd printed %q", out)
				assert.NotEqual(t, "/tmp/made\n", out)
			}
		})
	}
}

func TestCommandLookup(t *testing.T) {
	// uname is on the node, not in the image (which has only
	// imagetest.BusyboxApplets).
	if _, err := os.Stat("/usr/bin/uname"); err != nil {
		t.Skip("no /usr/bin/uname on this node")
	}
	e := setup(t, process.IsolationNone)
	id := e.run(e.config("host", "uname", "-s"))
	assert.Equal(t, int32(0), e.waitExited(id).ExitCode)
	assert.Equal(t, "Linux\n", e.stdout(id), "found on the node's PATH")

	// The image's sh is preferred to the node's: busybox says so.
	id = e.run(e.config("image", "sh", "-c", "echo $0; readlink /proc/$$/exe"))
	assert.Equal(t, int32(0), e.waitExited(id).ExitCode)
	out := e.stdout(id)
	assert.True(t, strings.HasSuffix(out, "/rootfs/bin/busybox\n"), "sh ran %q", out)

	if os.Geteuid() == 0 {
		c := setup(t, process.IsolationChroot)
		id, err := c.d.CreateContainer(c.ctx, c.sb, c.config("chrooted", "uname"))
		require.NoError(t, err)
		err = c.d.StartContainer(c.ctx, id)
		assert.ErrorIs(t, err, runtime.ErrStartFailed, "chrooted: the node's PATH is not searched")
	}
}

func TestStartFailure(t *testing.T) {
	e := setup(t, process.IsolationNone)
	for _, tc := range []struct {
		name string
		cmd  []string
		msg  string
	}{
		{"missing", []string{"/no/such/command"}, "/no/such/command: no such file"},
		{"notonpath", []string{"no-such-command-anywhere"}, "not found on PATH"},
		{"notexecutable", []string{"/etc/passwd"}, "not an executable file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := e.d.CreateContainer(e.ctx, e.sb, e.config(tc.name, tc.cmd...))
			require.NoError(t, err)
			err = e.d.StartContainer(e.ctx, id)
			require.ErrorIs(t, err, runtime.ErrStartFailed)
			assert.ErrorContains(t, err, tc.msg)
			st := e.status(id)
			assert.Equal(t, runtime.ContainerExited, st.State)
			assert.Equal(t, runtime.ReasonStartError, st.Reason)
			assert.Contains(t, st.Message, tc.msg)
			assert.Equal(t, int32(128), st.ExitCode)
			assert.Error(t, e.d.StartContainer(e.ctx, id), "starting twice")
		})
	}
	// execve itself fails: a file with the execute bit that is no
	// executable (no #! line, not ELF) is found, then refused by the
	// kernel; the monitor reports it.
	script := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(script, []byte{0, 1, 2, 3}, 0o755))
	id, err := e.d.CreateContainer(e.ctx, e.sb, e.config("execfail", script))
	require.NoError(t, err)
	err = e.d.StartContainer(e.ctx, id)
	require.ErrorIs(t, err, runtime.ErrStartFailed)
	assert.ErrorContains(t, err, "exec format error")
	st := e.status(id)
	assert.Equal(t, runtime.ReasonStartError, st.Reason)
	assert.Contains(t, st.Message, "exec format error")

	// The driver survives.
	ok := e.run(e.config("ok", "true"))
	assert.Equal(t, int32(0), e.waitExited(ok).ExitCode)
}

func TestStopGracePeriod(t *testing.T) {
	e := setup(t, process.IsolationNone)
	// The shell and its child both ignore TERM.
	id := e.run(e.config("stubborn", "sh", "-c", "trap '' TERM; sleep 1000000 & echo $!; wait"))
	const grace = 300 * time.Millisecond
	var child int
	waitFor(t, e.ctx, "the child's PID in the log", func() bool {
		var b bytes.Buffer
		_ = logs.Read(e.ctx, e.status(id).LogPath, logs.ReadOptions{Stream: logs.Stdout}, &b)
		child, _ = strconv.Atoi(strings.TrimSpace(b.String()))
		return child > 0
	})
	begin := time.Now()
	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{GracePeriod: grace}))
	assert.GreaterOrEqual(t, time.Since(begin), grace)
	st := e.status(id)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(137), st.ExitCode, "killed by SIGKILL")
	assert.ErrorIs(t, syscall.Kill(child, 0), syscall.ESRCH, "the child went with it")

	// A container that exits on TERM is not waited for.
	id = e.run(e.config("polite", "sh", "-c", "trap 'exit 0' TERM; echo ready; sleep 1000000 & wait"))
	waitFor(t, e.ctx, "the trap to be set", func() bool { return e.stdout(id) == "ready\n" })
	begin = time.Now()
	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{GracePeriod: time.Hour}))
	assert.Less(t, time.Since(begin), time.Minute)
	assert.Equal(t, int32(0), e.status(id).ExitCode)
	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{}), "stopping an exited container")
}

func TestOrphansKilledWithFirstProcess(t *testing.T) {
	e := setup(t, process.IsolationNone)
	// The background sleep outlives the shell; a setsid'd one leaves
	// the process group too. Both are killed when the shell exits.
	id := e.run(e.config("orphans", "sh", "-c", "sleep 1000000 & echo $!; setsid sleep 1000000 & echo $!; exit 5"))
	st := e.waitExited(id)
	assert.Equal(t, int32(5), st.ExitCode)
	pids := strings.Fields(e.stdout(id))
	require.Len(t, pids, 2)
	for _, p := range pids {
		pid, err := strconv.Atoi(p)
		require.NoError(t, err)
		assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "process %d outlived the container", pid)
	}
}

func TestRestartAdoption(t *testing.T) {
	e := setup(t, process.IsolationNone)
	fifo := filepath.Join(t.TempDir(), "go")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	running := e.run(e.config("waiter", "sh", "-c", "echo waiting; read x < "+fifo+"; echo got $x; exit 7"))
	exited := e.run(e.config("done", "sh", "-c", "echo bye; exit 3"))
	e.waitExited(exited)
	created, err := e.d.CreateContainer(e.ctx, e.sb, e.config("later", "true"))
	require.NoError(t, err)
	before := e.status(running)
	require.Equal(t, runtime.ContainerRunning, before.State)

	// A new driver on the same root, as after the node agent's restart.
	require.NoError(t, e.d.Close()) // as the process ending does: its image store is locked while open
	d2 := newDriver(t, process.Config{Root: e.d.Root(), Isolation: process.IsolationNone})
	e.d = d2
	sbs, err := d2.ListPodSandboxes(e.ctx)
	require.NoError(t, err)
	require.Len(t, sbs, 1)
	assert.Equal(t, e.sb, sbs[0].ID)
	assert.Equal(t, runtime.SandboxReady, sbs[0].State)

	st := e.status(running)
	assert.Equal(t, runtime.ContainerRunning, st.State)
	assert.True(t, before.StartedAt.Equal(st.StartedAt))
	st = e.status(exited)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(3), st.ExitCode)
	assert.Equal(t, "bye\n", e.stdout(exited))
	assert.Equal(t, runtime.ContainerCreated, e.status(created).State)

	// The adopted container goes on, and its exit is seen.
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("it\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	st = e.waitExited(running)
	assert.Equal(t, int32(7), st.ExitCode)
	assert.Equal(t, "waiting\ngot it\n", e.stdout(running))
	// The container created before the restart starts under the new one.
	require.NoError(t, d2.StartContainer(e.ctx, created))
	assert.Equal(t, int32(0), e.waitExited(created).ExitCode)
	require.NoError(t, d2.RemovePodSandbox(e.ctx, e.sb))
	_, err = d2.ContainerStatus(e.ctx, running)
	assert.ErrorIs(t, err, runtime.ErrNotFound)
}

func TestRestartSeesMonitorLoss(t *testing.T) {
	e := setup(t, process.IsolationNone)
	id := e.run(e.config("lost", "sleep", "1000000"))
	state := readState(t, e.d.Root(), id)
	// The monitor dies without recording anything (as with a reboot).
	require.NoError(t, syscall.Kill(state.MonitorPID, syscall.SIGKILL))
	require.NoError(t, syscall.Kill(-state.PID, syscall.SIGKILL))
	require.NoError(t, e.d.Close()) // as the process ending does: its image store is locked while open
	d2 := newDriver(t, process.Config{Root: e.d.Root(), Isolation: process.IsolationNone})
	var st *runtime.ContainerStatus
	waitFor(t, e.ctx, "the container to be Unknown", func() bool {
		var err error
		st, err = d2.ContainerStatus(e.ctx, id)
		require.NoError(t, err)
		return st.State == runtime.ContainerUnknown
	})
	assert.Contains(t, st.Message, "vanished")
	require.NoError(t, d2.StopContainer(e.ctx, id, runtime.StopOptions{}))
	require.NoError(t, d2.RemoveContainer(e.ctx, id))
}

type monitorState struct {
	PID        int `json:"pid"`
	MonitorPID int `json:"monitorPID"`
}

func readState(t *testing.T, root, id string) monitorState {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "containers", id, "state.json"))
	require.NoError(t, err)
	var s monitorState
	require.NoError(t, json.Unmarshal(data, &s))
	require.Positive(t, s.MonitorPID)
	return s
}

func TestExec(t *testing.T) {
	for _, iso := range []process.Isolation{process.IsolationNone, process.IsolationChroot} {
		t.Run(iso.String(), func(t *testing.T) {
			e := setup(t, iso)
			cfg := e.config("target", "sh", "-c", "trap 'exit 0' TERM; echo ready; sleep 1000000 & wait")
			cfg.Env = []runtime.KeyValue{{Key: "GREETING", Value: "hi"}}
			cfg.WorkingDir = "/etc"
			id := e.run(cfg)
			waitFor(t, e.ctx, "the trap to be set", func() bool { return e.stdout(id) == "ready\n" })

			var out, errs bytes.Buffer
			code, err := e.d.Exec(e.ctx, id, []string{"sh", "-c", "echo $GREETING; ls passwd; echo err >&2; exit 4"}, runtime.ExecOptions{Stdout: &out, Stderr: &errs})
			require.NoError(t, err)
			assert.Equal(t, 4, code)
			assert.Equal(t, "hi\npasswd\n", out.String(), "the container's env and working directory")
			assert.Equal(t, "err\n", errs.String())

			out.Reset()
			code, err = e.d.Exec(e.ctx, id, []string{"cat"}, runtime.ExecOptions{Stdin: strings.NewReader("in\n"), Stdout: &out})
			require.NoError(t, err)
			assert.Equal(t, 0, code)
			assert.Equal(t, "in\n", out.String())

			begin := time.Now()
			_, err = e.d.Exec(e.ctx, id, []string{"sh", "-c", "trap '' TERM; sleep 1000000 & wait"}, runtime.ExecOptions{Timeout: 100 * time.Millisecond})
			assert.ErrorIs(t, err, runtime.ErrTimeout)
			assert.Less(t, time.Since(begin), 10*time.Second)
			assert.Equal(t, runtime.ContainerRunning, e.status(id).State)

			errs.Reset()
			code, err = e.d.Exec(e.ctx, id, []string{"no-such-command-anywhere"}, runtime.ExecOptions{Stderr: &errs})
			require.NoError(t, err)
			assert.Equal(t, 127, code, "as a shell answers")
			assert.Contains(t, errs.String(), "not found")
			code, err = e.d.Exec(e.ctx, id, []string{"/etc/passwd"}, runtime.ExecOptions{})
			require.NoError(t, err)
			assert.Equal(t, 126, code, "not executable")

			require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{GracePeriod: time.Minute}))
			_, err = e.d.Exec(e.ctx, id, []string{"true"}, runtime.ExecOptions{})
			assert.ErrorIs(t, err, runtime.ErrNotRunning)
			_, err = e.d.Exec(e.ctx, "nope", []string{"true"}, runtime.ExecOptions{})
			assert.ErrorIs(t, err, runtime.ErrNotFound)
		})
	}
}

func TestStats(t *testing.T) {
	e := setup(t, process.IsolationNone)
	// A shell that uses some CPU, then sleeps in a child.
	id := e.run(e.config("busy", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo ready; sleep 1000000 & wait"))
	waitFor(t, e.ctx, "the loop to finish", func() bool {
		var b bytes.Buffer
		_ = logs.Read(e.ctx, e.status(id).LogPath, logs.ReadOptions{}, &b)
		return b.String() == "ready\n"
	})
	st, err := e.d.ContainerStats(e.ctx, id)
	require.NoError(t, err)
	assert.False(t, st.Timestamp.IsZero())
	assert.Greater(t, st.CPUUsageNanoseconds, uint64(time.Millisecond), "the loop's CPU time")
	// Two processes of a static busybox: a few hundred KiB each at
	// least.
	assert.Greater(t, st.MemoryUsageBytes, uint64(200<<10))
	assert.Equal(t, st.MemoryUsageBytes, st.MemoryWorkingSetBytes)
	t.Logf("stats: cpu %v, rss %d KiB", time.Duration(st.CPUUsageNanoseconds), st.MemoryUsageBytes>>10)

	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{}))
	_, err = e.d.ContainerStats(e.ctx, id)
	assert.ErrorIs(t, err, runtime.ErrNotRunning)
	_, err = e.d.ContainerStats(e.ctx, "nope")
	assert.ErrorIs(t, err, runtime.ErrNotFound)
}

func TestMemoryLimit(t *testing.T) {
	e := setup(t, process.IsolationAuto)
	if !e.d.EnforcesMemoryLimits() {
		t.Skip("memory limits need root and the cgroup v1 memory controller")
	}
	// The shell itself holds 64 MiB in a variable, over its 16 MiB.
	cfg := e.config("hog", "sh", "-c", `x=$(head -c 67108864 /dev/zero | tr '\000' a); echo survived`)
	cfg.Resources.MemoryLimit = 16 << 20
	hog := e.run(cfg)
	cfg = e.config("modest", "sh", "-c", `x=$(head -c 1048576 /dev/zero | tr '\000' a); echo ok`)
	cfg.Resources.MemoryLimit = 16 << 20
	modest := e.run(cfg)

	st := e.waitExited(hog)
	assert.Equal(t, runtime.ReasonOOMKilled, st.Reason)
	assert.Equal(t, int32(137), st.ExitCode)
	st = e.waitExited(modest)
	assert.Equal(t, runtime.ReasonCompleted, st.Reason)
	assert.Equal(t, "ok\n", e.stdout(modest))
	for _, id := range []string{hog, modest} {
		_, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory/drover-process", id))
		assert.ErrorIs(t, err, os.ErrNotExist, "the monitor removes the container's cgroup")
	}
}

func TestUnsupported(t *testing.T) {
	e := setup(t, process.IsolationNone)
	cfg := e.config("mount", "true")
	cfg.Mounts = []runtime.Mount{{HostPath: "/srv", ContainerPath: "/data"}}
	_, err := e.d.CreateContainer(e.ctx, e.sb, cfg)
	assert.ErrorIs(t, err, runtime.ErrUnsupported)
	assert.ErrorContains(t, err, "Mounts[0]")

	cfg = e.config("ro", "true")
	cfg.Security.ReadOnlyRootFilesystem = true
	_, err = e.d.CreateContainer(e.ctx, e.sb, cfg)
	assert.ErrorIs(t, err, runtime.ErrUnsupported)
	assert.ErrorContains(t, err, "ReadOnlyRootFilesystem")

	// Resources are accepted and not enforced.
	cfg = e.config("limited", "true")
	cfg.Resources = runtime.Resources{MemoryLimit: 1 << 20, CPUQuota: 1000}
	id := e.run(cfg)
	assert.Equal(t, int32(0), e.waitExited(id).ExitCode)

	_, err = e.d.CreateContainer(e.ctx, e.sb, &runtime.ContainerConfig{Name: "noimage", Image: "nope:v1"})
	assert.ErrorIs(t, err, runtime.ErrImageNotFound)
	_, err = e.d.CreateContainer(e.ctx, "no-such-sandbox", e.config("x", "true"))
	assert.ErrorIs(t, err, runtime.ErrNotFound)
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  process.Config
		want string
	}{
		{process.Config{}, "Config.Root: empty"},
		{process.Config{Root: "rel"}, "want an absolute path"},
		{process.Config{Root: "/x", Isolation: 9}, "Config.Isolation 9"},
		{process.Config{Root: "/x", Logs: logs.WriterConfig{MaxSize: -1}}, "Config.Logs"},
	} {
		err := tc.cfg.Validate()
		assert.ErrorContains(t, err, tc.want, fmt.Sprintf("%+v", tc.cfg))
	}
	if os.Geteuid() != 0 {
		assert.ErrorContains(t, process.Config{Root: "/x", Isolation: process.IsolationChroot}.Validate(), "needs root")
	}
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for delay := time.Millisecond; !cond(); delay = min(2*delay, 50*time.Millisecond) {
		if ctx.Err() != nil {
			t.Fatalf("gave up waiting for %s: %v", what, errors.Unwrap(ctx.Err()))
		}
		time.Sleep(delay)
	}
}

// A create that fails after the container's root filesystem was made
// releases it: nothing holds the image afterwards.
func TestFailedCreateReleasesRootFS(t *testing.T) {
	e := setup(t, process.IsolationNone)
	cfg := e.config("badwd", "true")
	cfg.WorkingDir = "/etc/passwd/sub" // passwd is a file
	_, err := e.d.CreateContainer(e.ctx, e.sb, cfg)
	require.ErrorContains(t, err, "working directory /etc/passwd/sub")
	require.NoError(t, e.d.RemoveImage(e.ctx, e.image), "no container holds the image")
}
