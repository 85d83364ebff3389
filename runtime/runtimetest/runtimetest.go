// Package runtimetest is the conformance suite of runtime drivers: what
// the node agent relies on, checked the same way against every driver
// (runtime/oci with runc, runtime/process, runtime/fake). A driver's test
// calls Run with a Harness:
//
//	func TestConformance(t *testing.T) {
//		runtimetest.Run(t, runtimetest.Harness{
//			New:     func(t *testing.T) runtimetest.Driver { ... },
//			Restart: func(t *testing.T, d runtimetest.Driver) runtimetest.Driver { ... },
//			Image:   "127.0.0.1:5000/busybox:latest",
//			Capabilities: runtimetest.Capabilities{Isolated: true, OOM: true, Stats: true, Exec: true},
//		})
//	}
//
// The suite waits for containers by polling their status with a deadline
// (Harness.Timeout); it never sleeps for a fixed time. Its slowest case
// waits out a one-second grace period.
package runtimetest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/logs"
)

// Driver is a driver under test: its runtime and its image service
// (often the same value).
type Driver struct {
	Runtime runtime.Runtime
	Images  runtime.ImageService
}

// Capabilities say what the driver under test can do; the cases that
// need what it cannot are skipped, saying why.
type Capabilities struct {
	// Isolated: a container has its own root filesystem, so mounts
	// appear at their container paths.
	Isolated bool
	// OOM: a memory limit is enforced, and going over it is reported as
	// OOMKilled.
	OOM bool
	// Stats: the driver implements runtime.StatsProvider with non-zero
	// CPU and memory for a running container.
	Stats bool
	// Exec: the driver implements runtime.Execer.
	Exec bool
}

// Harness is how the suite makes and restarts the driver under test.
type Harness struct {
	// New returns a fresh driver, with no sandboxes or containers, and
	// registers its cleanup with t.
	New func(t *testing.T) Driver
	// Restart returns d restarted: a new instance of the driver on the
	// same node, as after the node agent's restart. The old instance is
	// not used again.
	Restart func(t *testing.T, d Driver) Driver
	// Image is a reference the driver can pull, of an image in which
	// Commands run.
	Image string
	// MissingImage is a reference the registry does not have;
	// MissingImageMessage, if not "", is text of the registry's message
	// that the pull error must carry ("manifest unknown").
	MissingImage        string
	MissingImageMessage string
	// Commands build the commands the cases run; nil means Shell{}.
	Commands Commands
	Capabilities
	// Timeout bounds each wait for a container; 0 means 30 seconds.
	Timeout time.Duration
}

// Run runs the conformance suite against h's driver.
func Run(t *testing.T, h Harness) {
	require.NotNil(t, h.New, "Harness.New")
	require.NotEmpty(t, h.Image, "Harness.Image")
	if h.Commands == nil {
		h.Commands = Shell{}
	}
	if h.Timeout == 0 {
		h.Timeout = 30 * time.Second
	}
	if h.MissingImage == "" {
		h.MissingImage = "127.0.0.1:5000/drover-runtimetest/missing:none"
	}
	for _, c := range []struct {
		name string
		f    func(*suite)
	}{
		{"Version", (*suite).version},
		{"SandboxLifecycle", (*suite).sandboxLifecycle},
		{"NotFound", (*suite).notFound},
		{"ContainerLifecycle", (*suite).containerLifecycle},
		{"ExitCodes", (*suite).exitCodes},
		{"StopGracePeriod", (*suite).stopGracePeriod},
		{"StopSandboxKillsContainers", (*suite).stopSandbox},
		{"StartFailure", (*suite).startFailure},
		{"Logs", (*suite).logs},
		{"EnvArgsWorkingDir", (*suite).envArgsWorkingDir},
		{"Mounts", (*suite).mounts},
		{"Remove", (*suite).remove},
		{"ListFilters", (*suite).listFilters},
		{"Images", (*suite).images},
		{"ImageMissing", (*suite).imageMissing},
		{"Exec", (*suite).exec},
		{"Stats", (*suite).stats},
		{"OOM", (*suite).oom},
		{"Restart", (*suite).restart},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*h.Timeout)
			defer cancel()
			c.f(&suite{t: t, h: h, cmd: h.Commands, ctx: ctx, d: h.New(t)})
		})
	}
}

// suite is one case's state.
type suite struct {
	t   *testing.T
	h   Harness
	cmd Commands
	ctx context.Context
	d   Driver
}

// pod runs a sandbox with a log directory, removed at the end.
func (s *suite) pod(name string, labels map[string]string) (id, logDir string) {
	s.t.Helper()
	logDir = s.t.TempDir()
	id, err := s.d.Runtime.RunPodSandbox(s.ctx, &runtime.SandboxConfig{
		Metadata:     runtime.PodMetadata{Name: name, Namespace: "runtimetest", UID: "uid-" + name},
		Hostname:     name,
		LogDirectory: logDir,
		Labels:       labels,
		Annotations:  map[string]string{"runtimetest/case": s.t.Name()},
	})
	require.NoError(s.t, err, "RunPodSandbox")
	require.NotEmpty(s.t, id)
	s.t.Cleanup(func() {
		// The current driver instance (after a restart, the new one).
		assert.NoError(s.t, s.d.Runtime.RemovePodSandbox(context.Background(), id))
	})
	return id, logDir
}

// pull pulls h.Image.
func (s *suite) pull() *runtime.Image {
	s.t.Helper()
	img, err := s.d.Images.PullImage(s.ctx, s.h.Image, runtime.PullOptions{})
	require.NoError(s.t, err, "PullImage %s", s.h.Image)
	return img
}

// config is a container config running cmd, logging to "<name>.log".
func (s *suite) config(name string, cmd []string) *runtime.ContainerConfig {
	return &runtime.ContainerConfig{Name: name, Image: s.h.Image, Command: cmd, LogPath: name + ".log"}
}

func (s *suite) create(sb string, cfg *runtime.ContainerConfig) string {
	s.t.Helper()
	id, err := s.d.Runtime.CreateContainer(s.ctx, sb, cfg)
	require.NoError(s.t, err, "CreateContainer %s", cfg.Name)
	require.NotEmpty(s.t, id)
	return id
}

// start creates and starts a container.
func (s *suite) start(sb string, cfg *runtime.ContainerConfig) string {
	s.t.Helper()
	id := s.create(sb, cfg)
	require.NoError(s.t, s.d.Runtime.StartContainer(s.ctx, id), "StartContainer %s", cfg.Name)
	return id
}

func (s *suite) status(id string) *runtime.ContainerStatus {
	s.t.Helper()
	st, err := s.d.Runtime.ContainerStatus(s.ctx, id)
	require.NoError(s.t, err, "ContainerStatus %s", id)
	return st
}

// eventually polls cond until it holds or h.Timeout passes.
func (s *suite) eventually(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(s.h.Timeout)
	for delay := time.Millisecond; !cond(); delay = min(2*delay, 100*time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %s waiting for %s", s.h.Timeout, what)
		}
		time.Sleep(delay)
	}
}

// waitExited waits for the container to exit and returns its status.
func (s *suite) waitExited(id string) *runtime.ContainerStatus {
	s.t.Helper()
	var st *runtime.ContainerStatus
	s.eventually("container "+id+" to exit", func() bool {
		st = s.status(id)
		return st.State == runtime.ContainerExited
	})
	return st
}

// readLog returns the messages of a log file (one stream, or both for "").
func (s *suite) readLog(path string, stream logs.Stream) string {
	s.t.Helper()
	var out bytes.Buffer
	err := logs.Read(s.ctx, path, logs.ReadOptions{Stream: stream}, &out)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	require.NoError(s.t, err, "read log %s", path)
	return out.String()
}

// waitLog waits for a container's log to hold want, and returns it.
func (s *suite) waitLog(id string, stream logs.Stream, want string) string {
	s.t.Helper()
	path := s.status(id).LogPath
	require.NotEmpty(s.t, path, "ContainerStatus.LogPath")
	var got string
	s.eventually("log "+path+" to hold "+want, func() bool {
		got = s.readLog(path, stream)
		return strings.Contains(got, want)
	})
	return got
}

func (s *suite) version() {
	v, err := s.d.Runtime.Version(s.ctx)
	require.NoError(s.t, err)
	assert.NotEmpty(s.t, v.Name)
	assert.NotEmpty(s.t, v.Version)
}

func (s *suite) sandboxLifecycle() {
	t, rt := s.t, s.d.Runtime
	id, logDir := s.pod("lifecycle", map[string]string{"app": "web"})
	st, err := rt.PodSandboxStatus(s.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, id, st.ID)
	assert.Equal(t, runtime.SandboxReady, st.State)
	assert.Equal(t, runtime.PodMetadata{Name: "lifecycle", Namespace: "runtimetest", UID: "uid-lifecycle"}, st.Metadata)
	assert.Equal(t, logDir, st.LogDirectory)
	assert.Equal(t, "web", st.Labels["app"])
	assert.Equal(t, t.Name(), st.Annotations["runtimetest/case"])
	assert.False(t, st.CreatedAt.IsZero())

	list, err := rt.ListPodSandboxes(s.ctx)
	require.NoError(t, err)
	assert.Contains(t, sandboxIDs(list), id)

	require.NoError(t, rt.StopPodSandbox(s.ctx, id))
	require.NoError(t, rt.StopPodSandbox(s.ctx, id), "stopping twice")
	st, err = rt.PodSandboxStatus(s.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, runtime.SandboxNotReady, st.State)
	_, err = rt.CreateContainer(s.ctx, id, s.config("late", s.cmd.SleepForever()))
	assert.ErrorIs(t, err, runtime.ErrSandboxNotReady, "creating a container in a stopped sandbox")
	_, err = rt.CreateContainer(s.ctx, "no-such-sandbox", s.config("lost", s.cmd.SleepForever()))
	assert.ErrorIs(t, err, runtime.ErrNotFound, "creating a container in an unknown sandbox")

	require.NoError(t, rt.RemovePodSandbox(s.ctx, id))
	require.NoError(t, rt.RemovePodSandbox(s.ctx, id), "removing twice")
	_, err = rt.PodSandboxStatus(s.ctx, id)
	assert.ErrorIs(t, err, runtime.ErrNotFound)
	list, err = rt.ListPodSandboxes(s.ctx)
	require.NoError(t, err)
	assert.NotContains(t, sandboxIDs(list), id)
	assert.NoError(t, rt.StopPodSandbox(s.ctx, "no-such-sandbox"))
	assert.NoError(t, rt.RemovePodSandbox(s.ctx, "no-such-sandbox"))
}

func sandboxIDs(l []*runtime.SandboxStatus) []string {
	var ids []string
	for _, s := range l {
		ids = append(ids, s.ID)
	}
	return ids
}

func containerIDs(l []*runtime.ContainerStatus) []string {
	var ids []string
	for _, s := range l {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

func (s *suite) notFound() {
	t, rt := s.t, s.d.Runtime
	s.pull()
	_, err := rt.PodSandboxStatus(s.ctx, "no-such-sandbox")
	assert.ErrorIs(t, err, runtime.ErrNotFound, "PodSandboxStatus")
	_, err = rt.ContainerStatus(s.ctx, "no-such-container")
	assert.ErrorIs(t, err, runtime.ErrNotFound, "ContainerStatus")
	assert.ErrorIs(t, rt.StartContainer(s.ctx, "no-such-container"), runtime.ErrNotFound, "StartContainer")
	_, err = rt.CreateContainer(s.ctx, "no-such-sandbox", s.config("c", s.cmd.SleepForever()))
	assert.ErrorIs(t, err, runtime.ErrNotFound, "CreateContainer in a missing sandbox")
	assert.NoError(t, rt.RemoveContainer(s.ctx, "no-such-container"), "RemoveContainer")
}

func (s *suite) containerLifecycle() {
	t, rt := s.t, s.d.Runtime
	img := s.pull()
	sb, logDir := s.pod("lifecycle", nil)
	cfg := s.config("main", s.cmd.SleepForever())
	cfg.Attempt = 2
	cfg.Labels = map[string]string{"app": "web"}
	cfg.Annotations = map[string]string{"note": "x"}
	id := s.create(sb, cfg)
	st := s.status(id)
	assert.Equal(t, runtime.ContainerCreated, st.State)
	assert.Equal(t, id, st.ID)
	assert.Equal(t, sb, st.SandboxID)
	assert.Equal(t, "main", st.Name)
	assert.Equal(t, uint32(2), st.Attempt)
	assert.Equal(t, s.h.Image, st.Image)
	assert.Equal(t, img.ID, st.ImageID)
	assert.Equal(t, filepath.Join(logDir, "main.log"), st.LogPath)
	assert.Equal(t, "web", st.Labels["app"])
	assert.Equal(t, "x", st.Annotations["note"])
	assert.False(t, st.CreatedAt.IsZero(), "CreatedAt")
	assert.True(t, st.StartedAt.IsZero(), "StartedAt before start")

	require.NoError(t, rt.StartContainer(s.ctx, id))
	st = s.status(id)
	assert.Equal(t, runtime.ContainerRunning, st.State)
	assert.False(t, st.StartedAt.IsZero(), "StartedAt")
	assert.True(t, st.FinishedAt.IsZero(), "FinishedAt while running")
	assert.Error(t, rt.StartContainer(s.ctx, id), "starting a running container")

	// It exits on TERM: the stop does not wait for the grace period.
	require.NoError(t, rt.StopContainer(s.ctx, id, runtime.StopOptions{GracePeriod: time.Hour}))
	st = s.status(id)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.False(t, st.FinishedAt.IsZero(), "FinishedAt")
	assert.False(t, st.FinishedAt.Before(st.StartedAt), "FinishedAt %s before StartedAt %s", st.FinishedAt, st.StartedAt)
	require.NoError(t, rt.StopContainer(s.ctx, id, runtime.StopOptions{GracePeriod: time.Hour}), "stopping an exited container")

	require.NoError(t, rt.RemoveContainer(s.ctx, id))
	_, err := rt.ContainerStatus(s.ctx, id)
	assert.ErrorIs(t, err, runtime.ErrNotFound)
}

func (s *suite) exitCodes() {
	t := s.t
	s.pull()
	sb, _ := s.pod("exits", nil)
	ok := s.start(sb, s.config("ok", s.cmd.Exit(0)))
	bad := s.start(sb, s.config("bad", s.cmd.Exit(3)))
	st := s.waitExited(ok)
	assert.Equal(t, int32(0), st.ExitCode)
	assert.Equal(t, runtime.ReasonCompleted, st.Reason)
	assert.False(t, st.FinishedAt.IsZero())
	st = s.waitExited(bad)
	assert.Equal(t, int32(3), st.ExitCode)
	assert.Equal(t, runtime.ReasonError, st.Reason)
	assert.False(t, st.FinishedAt.IsZero())
	assert.False(t, st.FinishedAt.Before(st.StartedAt))
}

func (s *suite) stopGracePeriod() {
	t, rt := s.t, s.d.Runtime
	s.pull()
	sb, _ := s.pod("grace", nil)
	id := s.start(sb, s.config("stubborn", s.cmd.IgnoreTERM()))
	s.waitLog(id, logs.Stdout, IgnoringTERM) // a TERM sent before the trap would end it
	const grace = time.Second
	begin := time.Now()
	require.NoError(t, rt.StopContainer(s.ctx, id, runtime.StopOptions{GracePeriod: grace}))
	assert.GreaterOrEqual(t, time.Since(begin), grace, "StopContainer returned before the grace period of a container that ignores TERM")
	st := s.status(id)
	assert.Equal(t, runtime.ContainerExited, st.State, "StopContainer returns once the container has exited")
	assert.NotEqual(t, int32(0), st.ExitCode)

	// Grace 0: killed at once.
	id = s.start(sb, s.config("stubborn2", s.cmd.IgnoreTERM()))
	require.NoError(t, rt.StopContainer(s.ctx, id, runtime.StopOptions{}))
	assert.Equal(t, runtime.ContainerExited, s.status(id).State)
}

func (s *suite) stopSandbox() {
	t, rt := s.t, s.d.Runtime
	s.pull()
	sb, _ := s.pod("stop", nil)
	a := s.start(sb, s.config("a", s.cmd.SleepForever()))
	b := s.start(sb, s.config("b", s.cmd.IgnoreTERM()))
	require.NoError(t, rt.StopPodSandbox(s.ctx, sb))
	for _, id := range []string{a, b} {
		assert.Equal(t, runtime.ContainerExited, s.status(id).State, "container of a stopped sandbox")
	}
	require.NoError(t, rt.RemovePodSandbox(s.ctx, sb))
	for _, id := range []string{a, b} {
		_, err := rt.ContainerStatus(s.ctx, id)
		assert.ErrorIs(t, err, runtime.ErrNotFound, "container of a removed sandbox")
	}
}

func (s *suite) startFailure() {
	t, rt := s.t, s.d.Runtime
	s.pull()
	sb, _ := s.pod("startfail", nil)
	id := s.create(sb, s.config("missing", s.cmd.Missing()))
	err := rt.StartContainer(s.ctx, id)
	require.ErrorIs(t, err, runtime.ErrStartFailed)
	st := s.status(id)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, runtime.ReasonStartError, st.Reason)
	assert.NotEmpty(t, st.Message, "Message says why the start failed")
	assert.NotEqual(t, int32(0), st.ExitCode)

	// The driver survives.
	ok := s.start(sb, s.config("ok", s.cmd.Exit(0)))
	assert.Equal(t, int32(0), s.waitExited(ok).ExitCode)
}

func (s *suite) logs() {
	t := s.t
	s.pull()
	sb, _ := s.pod("logs", nil)
	id := s.start(sb, s.config("echo", s.cmd.Echo("to stdout", "to stderr")))
	s.waitExited(id)
	path := s.status(id).LogPath
	s.waitLog(id, logs.Stdout, "to stdout\n")
	s.waitLog(id, logs.Stderr, "to stderr\n")
	assert.Equal(t, "to stdout\n", s.readLog(path, logs.Stdout))
	assert.Equal(t, "to stderr\n", s.readLog(path, logs.Stderr))
	// The file is in the CRI format.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		_, err := logs.ParseRecord([]byte(line))
		assert.NoError(t, err, "%s:%d", path, i+1)
	}
}

func (s *suite) envArgsWorkingDir() {
	t := s.t
	s.pull()
	sb, _ := s.pod("env", nil)
	cfg := s.config("env", s.cmd.PrintEnv("FOO"))
	cfg.Env = []runtime.KeyValue{{Key: "FOO", Value: "bar baz"}}
	env := s.start(sb, cfg)

	cfg = s.config("args", nil)
	cfg.Command, cfg.Args = s.cmd.EchoArgs("one", "two three")
	args := s.start(sb, cfg)

	cfg = s.config("pwd", s.cmd.PrintWorkingDir())
	cfg.WorkingDir = "/tmp"
	pwd := s.start(sb, cfg)

	assert.Equal(t, "bar baz\n", s.waitLog(env, logs.Stdout, "\n"))
	assert.Equal(t, "one two three\n", s.waitLog(args, logs.Stdout, "\n"))
	assert.Equal(t, "/tmp\n", s.waitLog(pwd, logs.Stdout, "\n"))
	for _, id := range []string{env, args, pwd} {
		assert.Equal(t, int32(0), s.waitExited(id).ExitCode)
	}
}

func (s *suite) mounts() {
	t := s.t
	if !s.h.Isolated {
		t.Skip("the driver does not isolate containers: mounts need their own root filesystem")
	}
	s.pull()
	sb, _ := s.pod("mounts", nil)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from the host\n"), 0o644))
	cfg := s.config("cat", s.cmd.Cat("/data/hello.txt"))
	cfg.Mounts = []runtime.Mount{{HostPath: dir, ContainerPath: "/data", ReadOnly: true}}
	id := s.start(sb, cfg)
	assert.Equal(t, int32(0), s.waitExited(id).ExitCode)
	assert.Equal(t, "hello from the host\n", s.waitLog(id, logs.Stdout, "\n"))
}

func (s *suite) remove() {
	t, rt := s.t, s.d.Runtime
	s.pull()
	sb, _ := s.pod("remove", nil)
	running := s.start(sb, s.config("running", s.cmd.SleepForever()))
	done := s.start(sb, s.config("done", s.cmd.Echo("bye", "")))
	s.waitExited(done)
	logPath := s.status(done).LogPath
	s.waitLog(done, logs.Stdout, "bye")
	for _, id := range []string{running, done} {
		require.NoError(t, rt.RemoveContainer(s.ctx, id))
		_, err := rt.ContainerStatus(s.ctx, id)
		assert.ErrorIs(t, err, runtime.ErrNotFound)
		require.NoError(t, rt.RemoveContainer(s.ctx, id), "removing twice")
	}
	list, err := rt.ListContainers(s.ctx, runtime.ContainerFilter{SandboxID: sb})
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = os.Stat(logPath)
	assert.NoError(t, err, "the log file stays with the sandbox")
}

func (s *suite) listFilters() {
	t, rt := s.t, s.d.Runtime
	s.pull()
	sbA, _ := s.pod("a", nil)
	sbB, _ := s.pod("b", nil)
	labeled := func(name, app string, cmd []string) *runtime.ContainerConfig {
		c := s.config(name, cmd)
		c.Labels = map[string]string{"app": app, "tier": "test"}
		return c
	}
	a1 := s.start(sbA, labeled("a1", "x", s.cmd.SleepForever()))
	a2 := s.start(sbA, labeled("a2", "y", s.cmd.Exit(0)))
	a3 := s.create(sbA, labeled("a3", "x", s.cmd.SleepForever()))
	b1 := s.start(sbB, labeled("b1", "x", s.cmd.SleepForever()))
	s.waitExited(a2)

	list := func(f runtime.ContainerFilter) []string {
		l, err := rt.ListContainers(s.ctx, f)
		require.NoError(t, err)
		return containerIDs(l)
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	state := func(st runtime.ContainerState) *runtime.ContainerState { return &st }
	assert.Equal(t, sorted(a1, a2, a3, b1), list(runtime.ContainerFilter{}))
	assert.Equal(t, sorted(a1, a2, a3), list(runtime.ContainerFilter{SandboxID: sbA}))
	assert.Equal(t, sorted(b1), list(runtime.ContainerFilter{SandboxID: sbB}))
	assert.Equal(t, sorted(a1, b1), list(runtime.ContainerFilter{State: state(runtime.ContainerRunning)}))
	assert.Equal(t, sorted(a2), list(runtime.ContainerFilter{State: state(runtime.ContainerExited)}))
	assert.Equal(t, sorted(a3), list(runtime.ContainerFilter{State: state(runtime.ContainerCreated)}))
	assert.Equal(t, sorted(a1, a3, b1), list(runtime.ContainerFilter{Labels: map[string]string{"app": "x"}}))
	assert.Equal(t, sorted(a1, a3), list(runtime.ContainerFilter{SandboxID: sbA, Labels: map[string]string{"app": "x", "tier": "test"}}))
	assert.Equal(t, sorted(a1), list(runtime.ContainerFilter{SandboxID: sbA, State: state(runtime.ContainerRunning), Labels: map[string]string{"app": "x"}}))
	assert.Empty(t, list(runtime.ContainerFilter{Labels: map[string]string{"app": "z"}}))
	assert.Empty(t, list(runtime.ContainerFilter{SandboxID: "no-such-sandbox"}))
}

func (s *suite) images() {
	t, rt, is := s.t, s.d.Runtime, s.d.Images
	// Not pulled yet: a container cannot be made from it.
	sb, _ := s.pod("images", nil)
	_, err := rt.CreateContainer(s.ctx, sb, s.config("early", s.cmd.Exit(0)))
	assert.ErrorIs(t, err, runtime.ErrImageNotFound, "CreateContainer before the pull")
	_, err = is.ImageStatus(s.ctx, s.h.Image)
	assert.ErrorIs(t, err, runtime.ErrImageNotFound, "ImageStatus before the pull")

	var progress []runtime.PullProgress
	img, err := is.PullImage(s.ctx, s.h.Image, runtime.PullOptions{Progress: func(p runtime.PullProgress) { progress = append(progress, p) }})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(img.ID, "sha256:"), "ID %q", img.ID)
	assert.NotEmpty(t, img.RepoTags)
	assert.NotEmpty(t, img.RepoDigests)
	assert.Positive(t, img.Size)
	for _, ref := range append([]string{s.h.Image, img.ID}, img.RepoDigests...) {
		got, err := is.ImageStatus(s.ctx, ref)
		if assert.NoError(t, err, "ImageStatus %s", ref) {
			assert.Equal(t, img.ID, got.ID, "ImageStatus %s", ref)
		}
	}
	all, err := is.ListImages(s.ctx)
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(all, func(i *runtime.Image) bool { return i.ID == img.ID }), "ListImages holds the pulled image")
	again, err := is.PullImage(s.ctx, s.h.Image, runtime.PullOptions{})
	require.NoError(t, err, "pulling twice")
	assert.Equal(t, img.ID, again.ID)

	id := s.create(sb, s.config("user", s.cmd.Exit(0)))
	assert.ErrorIs(t, is.RemoveImage(s.ctx, s.h.Image), runtime.ErrImageInUse)
	require.NoError(t, rt.RemoveContainer(s.ctx, id))
	require.NoError(t, is.RemoveImage(s.ctx, s.h.Image))
	_, err = is.ImageStatus(s.ctx, s.h.Image)
	assert.ErrorIs(t, err, runtime.ErrImageNotFound, "ImageStatus after RemoveImage")
	assert.NoError(t, is.RemoveImage(s.ctx, s.h.Image), "removing twice")
}

func (s *suite) imageMissing() {
	t := s.t
	_, err := s.d.Images.PullImage(s.ctx, s.h.MissingImage, runtime.PullOptions{})
	require.Error(t, err)
	assert.ErrorIs(t, err, runtime.ErrImageNotFound)
	assert.Contains(t, err.Error(), s.h.MissingImageMessage, "the registry's message")
	_, err = s.d.Images.ImageStatus(s.ctx, s.h.MissingImage)
	assert.ErrorIs(t, err, runtime.ErrImageNotFound)
}

func (s *suite) exec() {
	t := s.t
	if !s.h.Exec {
		t.Skip("the harness says the driver cannot exec")
	}
	ex, ok := s.d.Runtime.(runtime.Execer)
	require.True(t, ok, "Harness.Exec is set but %T is not a runtime.Execer", s.d.Runtime)
	s.pull()
	sb, _ := s.pod("exec", nil)
	cfg := s.config("target", s.cmd.SleepForever())
	cfg.Env = []runtime.KeyValue{{Key: "GREETING", Value: "hi"}}
	id := s.start(sb, cfg)

	var out, errs bytes.Buffer
	code, err := ex.Exec(s.ctx, id, s.cmd.Echo("exec out", "exec err"), runtime.ExecOptions{Stdout: &out, Stderr: &errs})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "exec out\n", out.String())
	assert.Equal(t, "exec err\n", errs.String())

	out.Reset()
	code, err = ex.Exec(s.ctx, id, s.cmd.PrintEnv("GREETING"), runtime.ExecOptions{Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "hi\n", out.String(), "exec sees the container's environment")

	code, err = ex.Exec(s.ctx, id, s.cmd.Exit(3), runtime.ExecOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, code)

	_, err = ex.Exec(s.ctx, id, s.cmd.IgnoreTERM(), runtime.ExecOptions{Timeout: 200 * time.Millisecond})
	assert.ErrorIs(t, err, runtime.ErrTimeout)
	assert.Equal(t, runtime.ContainerRunning, s.status(id).State, "a timed-out exec leaves the container running")

	done := s.start(sb, s.config("done", s.cmd.Exit(0)))
	s.waitExited(done)
	_, err = ex.Exec(s.ctx, done, s.cmd.Exit(0), runtime.ExecOptions{})
	assert.ErrorIs(t, err, runtime.ErrNotRunning)
}

func (s *suite) stats() {
	t := s.t
	if !s.h.Stats {
		t.Skip("the harness says the driver has no stats")
	}
	sp, ok := s.d.Runtime.(runtime.StatsProvider)
	require.True(t, ok, "Harness.Stats is set but %T is not a runtime.StatsProvider", s.d.Runtime)
	s.pull()
	sb, _ := s.pod("stats", nil)
	id := s.start(sb, s.config("busy", s.cmd.SleepForever()))
	var st *runtime.ContainerStats
	s.eventually("non-zero stats", func() bool {
		var err error
		st, err = sp.ContainerStats(s.ctx, id)
		require.NoError(t, err)
		return st.CPUUsageNanoseconds > 0 && st.MemoryUsageBytes > 0
	})
	assert.False(t, st.Timestamp.IsZero())
	assert.Positive(t, st.MemoryWorkingSetBytes)
	assert.LessOrEqual(t, st.MemoryWorkingSetBytes, st.MemoryUsageBytes)
	_, err := sp.ContainerStats(s.ctx, "no-such-container")
	assert.ErrorIs(t, err, runtime.ErrNotFound)
}

func (s *suite) oom() {
	t := s.t
	if !s.h.OOM {
		t.Skip("the harness says the driver does not enforce memory limits")
	}
	s.pull()
	sb, _ := s.pod("oom", nil)
	cfg := s.config("hog", s.cmd.UseMemory(256<<20))
	cfg.Resources.MemoryLimit = 32 << 20
	id := s.start(sb, cfg)
	st := s.waitExited(id)
	assert.Equal(t, runtime.ReasonOOMKilled, st.Reason)
	assert.Equal(t, int32(137), st.ExitCode)
}

func (s *suite) restart() {
	t := s.t
	if s.h.Restart == nil {
		t.Skip("the harness cannot restart the driver")
	}
	s.pull()
	sb, _ := s.pod("restart", map[string]string{"pod": "restart"})
	running := s.start(sb, s.config("running", s.cmd.SleepForever()))
	exited := s.start(sb, s.config("exited", s.cmd.Echo("before restart", "")))
	failed := s.start(sb, s.config("failed", s.cmd.Exit(3)))
	s.waitExited(exited)
	s.waitExited(failed)
	before := s.status(running)

	s.d = s.h.Restart(t, s.d)
	rt := s.d.Runtime
	sbs, err := rt.ListPodSandboxes(s.ctx)
	require.NoError(t, err)
	require.Contains(t, sandboxIDs(sbs), sb)
	sst, err := rt.PodSandboxStatus(s.ctx, sb)
	require.NoError(t, err)
	assert.Equal(t, runtime.SandboxReady, sst.State)
	assert.Equal(t, "restart", sst.Labels["pod"])

	list, err := rt.ListContainers(s.ctx, runtime.ContainerFilter{SandboxID: sb})
	require.NoError(t, err)
	assert.Equal(t, containerIDs([]*runtime.ContainerStatus{{ID: running}, {ID: exited}, {ID: failed}}), containerIDs(list))
	st := s.status(running)
	assert.Equal(t, runtime.ContainerRunning, st.State, "a running container keeps running")
	assert.True(t, before.StartedAt.Equal(st.StartedAt), "StartedAt %s, before the restart %s", st.StartedAt, before.StartedAt)
	assert.Equal(t, int32(0), s.status(exited).ExitCode)
	st = s.status(failed)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(3), st.ExitCode, "an exited container keeps its exit code")
	assert.Equal(t, "before restart\n", s.readLog(s.status(exited).LogPath, logs.Stdout))

	// The restarted driver still drives the old containers.
	require.NoError(t, rt.StopContainer(s.ctx, running, runtime.StopOptions{GracePeriod: time.Hour}))
	assert.Equal(t, runtime.ContainerExited, s.status(running).State)
	require.NoError(t, rt.RemovePodSandbox(s.ctx, sb))
}
