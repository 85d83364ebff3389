package oci

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

// A driver made on a root adopts the sandboxes and containers recorded
// there, deriving each container's state from its monitor's records and
// lock. No root, no runc: /bin/true stands for the runtime.
func TestAdoptFromDisk(t *testing.T) {
	root := t.TempDir()
	cfg := DefaultConfig()
	cfg.Root, cfg.StateDir, cfg.Runtime = root, filepath.Join(root, "run"), "/bin/true"
	for _, dir := range []string{"sandboxes", "containers"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, dir), 0o700))
	}
	created := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sb := &sandboxRecord{ID: newID(), CreatedAt: created, Config: runtime.SandboxConfig{
		Metadata: runtime.PodMetadata{Name: "web", Namespace: "default", UID: "u1"}, LogDirectory: "/logs",
		Labels: map[string]string{"app": "web"},
	}}
	stopped := &sandboxRecord{ID: newID(), CreatedAt: created, Stopped: true}
	for _, r := range []*sandboxRecord{sb, stopped} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "sandboxes", r.ID), 0o700))
		require.NoError(t, writeJSON(filepath.Join(root, "sandboxes", r.ID, "sandbox.json"), r))
	}
	// Junk that is not a record is skipped.
	require.NoError(t, os.MkdirAll(filepath.Join(root, "sandboxes", "not-an-id"), 0o700))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "containers", newID()), 0o700))

	container := func(name string, started bool, er *exitRecord, cr *createRecord) (string, string) {
		id := newID()
		dir := filepath.Join(root, "containers", id)
		require.NoError(t, os.MkdirAll(dir, 0o700))
		rec := containerRecord{ID: id, SandboxID: sb.ID, CreatedAt: created, LogPath: "/logs/" + name + ".log",
			Config: runtime.ContainerConfig{Name: name, Image: "busybox", Labels: map[string]string{"name": name}}}
		if started {
			rec.StartedAt = created.Add(time.Second)
		}
		require.NoError(t, writeJSON(filepath.Join(dir, containerFile), rec))
		if cr != nil {
			require.NoError(t, writeJSON(filepath.Join(dir, createFile), cr))
		}
		if er != nil {
			require.NoError(t, writeJSON(filepath.Join(dir, exitFile), er))
		}
		return id, dir
	}
	exited, _ := container("exited", true, &exitRecord{ExitCode: 3, Reason: runtime.ReasonError, FinishedAt: created.Add(time.Minute)}, &createRecord{Pid: 1})
	oom, _ := container("oom", true, &exitRecord{ExitCode: 137, Signal: 9, OOMKilled: true, Reason: runtime.ReasonOOMKilled, FinishedAt: created.Add(time.Minute)}, &createRecord{Pid: 1})
	running, runningDir := container("running", true, nil, &createRecord{Pid: 1})
	lost, _ := container("lost", true, nil, &createRecord{Pid: 1})
	// The running container's monitor: the test holds its lock.
	lock, err := os.Create(filepath.Join(runningDir, lockFile))
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, unix.Flock(int(lock.Fd()), unix.LOCK_EX))

	d, err := New(cfg)
	require.NoError(t, err)
	defer d.Close()
	ctx := context.Background()

	sbs, err := d.ListPodSandboxes(ctx)
	require.NoError(t, err)
	assert.Len(t, sbs, 2)
	st, err := d.PodSandboxStatus(ctx, sb.ID)
	require.NoError(t, err)
	assert.Equal(t, runtime.SandboxReady, st.State)
	assert.Equal(t, "web", st.Labels["app"])
	assert.Equal(t, created, st.CreatedAt)
	st, err = d.PodSandboxStatus(ctx, stopped.ID)
	require.NoError(t, err)
	assert.Equal(t, runtime.SandboxNotReady, st.State)
	_, err = d.CreateContainer(ctx, stopped.ID, &runtime.ContainerConfig{Name: "late", Image: "busybox", LogPath: "late.log"})
	assert.ErrorIs(t, err, runtime.ErrSandboxNotReady)
	_, err = d.CreateContainer(ctx, sb.ID, &runtime.ContainerConfig{Name: "x", Image: "busybox", LogPath: "x.log"})
	assert.ErrorIs(t, err, runtime.ErrImageNotFound)
	_, err = d.CreateContainer(ctx, sb.ID, &runtime.ContainerConfig{Name: "x", Image: "busybox", LogPath: "../x.log"})
	assert.ErrorContains(t, err, "LogPath")

	want := map[string]struct {
		state  runtime.ContainerState
		code   int32
		reason string
	}{
		exited:  {runtime.ContainerExited, 3, runtime.ReasonError},
		oom:     {runtime.ContainerExited, 137, runtime.ReasonOOMKilled},
		running: {runtime.ContainerRunning, 0, ""},
		lost:    {runtime.ContainerUnknown, 0, ""},
	}
	for id, w := range want {
		cs, err := d.ContainerStatus(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, w.state, cs.State, cs.Name)
		assert.Equal(t, w.code, cs.ExitCode, cs.Name)
		assert.Equal(t, w.reason, cs.Reason, cs.Name)
		assert.Equal(t, sb.ID, cs.SandboxID)
	}
	list, err := d.ListContainers(ctx, runtime.ContainerFilter{})
	require.NoError(t, err)
	assert.Len(t, list, 4)
	state := runtime.ContainerExited
	list, err = d.ListContainers(ctx, runtime.ContainerFilter{SandboxID: sb.ID, State: &state})
	require.NoError(t, err)
	assert.Len(t, list, 2)
	list, err = d.ListContainers(ctx, runtime.ContainerFilter{Labels: map[string]string{"name": "running"}})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, running, list[0].ID)

	// Stopping an exited or lost container is not an error; an unknown
	// one is not found.
	assert.NoError(t, d.StopContainer(ctx, exited, runtime.StopOptions{}))
	assert.NoError(t, d.StopContainer(ctx, lost, runtime.StopOptions{}))
	assert.ErrorIs(t, d.StopContainer(ctx, "nope", runtime.StopOptions{}), runtime.ErrNotFound)
	assert.ErrorIs(t, d.StartContainer(ctx, "nope"), runtime.ErrNotFound)
	_, err = d.ContainerStats(ctx, exited)
	assert.ErrorIs(t, err, runtime.ErrNotRunning)
	assert.NoError(t, d.RemoveContainer(ctx, "nope"))

	// Removing an exited container removes its directory and forgets it.
	require.NoError(t, d.RemoveContainer(ctx, exited))
	_, err = d.ContainerStatus(ctx, exited)
	assert.ErrorIs(t, err, runtime.ErrNotFound)
	_, err = os.Stat(filepath.Join(root, "containers", exited))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
