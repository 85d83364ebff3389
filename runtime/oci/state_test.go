package oci

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

func TestContainerStatus(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	started, finished := created.Add(time.Second), created.Add(time.Minute)
	rec := func(mut func(*containerRecord)) *containerRecord {
		r := &containerRecord{ID: "c1", SandboxID: "s1", ImageID: "sha256:abc", CreatedAt: created, LogPath: "/logs/app.log",
			Config: runtime.ContainerConfig{Name: "app", Attempt: 1, Image: "app:v1", Labels: map[string]string{"a": "b"}}}
		if mut != nil {
			mut(r)
		}
		return r
	}
	withStart := func(r *containerRecord) { r.StartedAt = started }

	st := containerStatus(rec(nil), &createRecord{Pid: 10}, nil, true)
	assert.Equal(t, runtime.ContainerCreated, st.State)
	assert.Equal(t, "app", st.Name)
	assert.Equal(t, uint32(1), st.Attempt)
	assert.Equal(t, "sha256:abc", st.ImageID)
	assert.Equal(t, "/logs/app.log", st.LogPath)
	assert.Equal(t, map[string]string{"a": "b"}, st.Labels)

	st = containerStatus(rec(nil), &createRecord{Error: "exec: no such file"}, nil, false)
	assert.Equal(t, runtime.ContainerCreated, st.State, "a failed create shows at StartContainer")

	st = containerStatus(rec(withStart), &createRecord{Pid: 10}, nil, true)
	assert.Equal(t, runtime.ContainerRunning, st.State)
	assert.Equal(t, started, st.StartedAt)

	st = containerStatus(rec(withStart), &createRecord{Pid: 10}, &exitRecord{ExitCode: 3, Reason: runtime.ReasonError, FinishedAt: finished}, false)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(3), st.ExitCode)
	assert.Equal(t, runtime.ReasonError, st.Reason)
	assert.Equal(t, finished, st.FinishedAt)

	st = containerStatus(rec(func(r *containerRecord) { withStart(r); r.StartError = "exec: no such file" }), &createRecord{Error: "x"}, nil, false)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, runtime.ReasonStartError, st.Reason)
	assert.Equal(t, "exec: no such file", st.Message)
	assert.Equal(t, int32(128), st.ExitCode)
	assert.Equal(t, started, st.FinishedAt)

	st = containerStatus(rec(nil), &createRecord{Pid: 10}, &exitRecord{ExitCode: 137, Signal: 9, Reason: runtime.ReasonError, FinishedAt: finished}, false)
	assert.Equal(t, runtime.ContainerExited, st.State, "killed before it started")
	assert.Equal(t, finished, st.StartedAt)

	st = containerStatus(rec(withStart), &createRecord{Pid: 10}, nil, false)
	assert.Equal(t, runtime.ContainerUnknown, st.State, "the monitor died without an exit record")
	assert.NotEmpty(t, st.Message)
}

func TestExitReason(t *testing.T) {
	assert.Equal(t, runtime.ReasonCompleted, exitReason(0, false))
	assert.Equal(t, runtime.ReasonError, exitReason(1, false))
	assert.Equal(t, runtime.ReasonOOMKilled, exitReason(137, true))
}

func TestJSONFiles(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "exit.json")
	var er exitRecord
	ok, err := readJSON(name, &er)
	require.NoError(t, err)
	assert.False(t, ok)
	want := exitRecord{ExitCode: 137, Signal: 9, OOMKilled: true, Reason: runtime.ReasonOOMKilled, FinishedAt: time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC)}
	require.NoError(t, writeJSON(name, want))
	ok, err = readJSON(name, &er)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, want, er)
	ents, _ := os.ReadDir(dir)
	assert.Len(t, ents, 1, "no temporary file left")

	require.NoError(t, os.WriteFile(name, []byte("{"), 0o600))
	_, err = readJSON(name, &er)
	assert.ErrorContains(t, err, "decode")
}

func TestLockAlive(t *testing.T) {
	name := filepath.Join(t.TempDir(), lockFile)
	assert.False(t, lockAlive(name), "no file")
	f, err := os.Create(name)
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, lockAlive(name), "not locked")
	require.NoError(t, unix.Flock(int(f.Fd()), unix.LOCK_EX))
	assert.True(t, lockAlive(name), "locked")
	require.NoError(t, unix.Flock(int(f.Fd()), unix.LOCK_UN))
	assert.False(t, lockAlive(name), "unlocked")
}

func TestIDs(t *testing.T) {
	id := newID()
	assert.True(t, validID(id))
	assert.NotEqual(t, id, newID())
	assert.False(t, validID("../../etc"))
	assert.False(t, validID(id[:31]+"g"))
}
