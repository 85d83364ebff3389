package oci_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/oci"
)

// TestSpareMonitor checks the driver's spare container monitor: none
// before the first container (nothing competes with the first `runc
// create`), one started once a container is started, used by the next
// container, and stopped by Close.
func TestSpareMonitor(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("spare")
	assert.Zero(t, oci.SparePid(e.d), "a spare before any container")

	first := e.run(sb, e.config("first", "sleep", "60"))
	spare := waitSpare(t, e.d, 0)

	second := e.run(sb, e.config("second", "sleep", "60"))
	// The spare became the second container's monitor: it lives on, and
	// a new spare is started.
	next := waitSpare(t, e.d, spare)
	assert.True(t, alive(spare), "the second container's monitor %d exited", spare)
	st, err := e.d.ContainerStatus(e.ctx, second)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerRunning, st.State)

	require.NoError(t, e.d.Close())
	assert.Zero(t, oci.SparePid(e.d))
	waitGone(t, next)
	assert.True(t, alive(spare), "Close stopped a container's monitor")
	_, err = e.d.CreateContainer(e.ctx, sb, e.config("third", "true"))
	assert.Error(t, err, "a closed driver created a container")

	d := e.newDriver()
	for _, id := range []string{first, second} {
		require.NoError(t, d.RemoveContainer(e.ctx, id))
	}
	waitGone(t, spare)
}

// waitSpare waits until d has a spare monitor other than not and
// returns its process ID.
func waitSpare(t *testing.T, d *oci.Driver, not int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pid := oci.SparePid(d); pid != 0 && pid != not {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new spare monitor after 10s (had %d)", not)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGone waits until process pid is gone (or a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after 10s", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// alive says whether process pid runs and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] == ')' {
			return i+2 < len(data) && data[i+2] != 'Z'
		}
	}
	return false
}

// TestSpareRootFS checks the driver's spare root filesystem: none before
// the first start, one made from the started container's image once it
// has started, taken (ID and all) by the next container from that image,
// released by RemoveImage and by Close, and a spare a crashed driver left
// released by the next driver on the same root.
func TestSpareRootFS(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("sparefs")
	assert.Empty(t, oci.SpareRootFS(e.d), "a spare root filesystem before any container")

	first := e.run(sb, e.config("first", "sleep", "60"))
	spare := waitSpareFS(t, e.d, "")
	assert.DirExists(t, filepath.Join(e.cfg.Root, "containers", spare), "the spare's directory")

	second := e.run(sb, e.config("second", "sh", "-c", "echo made > /made; sleep 60"))
	assert.Equal(t, spare, second, "the second container did not take the spare root filesystem")
	next := waitSpareFS(t, e.d, spare)
	st, err := e.d.ContainerStatus(e.ctx, second)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerRunning, st.State)
	assert.NoFileExists(t, filepath.Join(e.cfg.Root, "containers", second, "spare-rootfs"), "the taken spare's marker")
	// The next spare is fresh: nothing the second container writes is in it.
	code, err := e.d.Exec(e.ctx, second, []string{"sh", "-c", "while [ ! -e /made ]; do sleep 0.05; done"}, runtime.ExecOptions{Timeout: 10 * time.Second})
	require.NoError(t, err)
	require.Zero(t, code)
	third := e.run(sb, e.config("third", "sh", "-c", "test ! -e /made"))
	assert.Equal(t, next, third)
	st = e.waitExited(e.d, third)
	assert.Zero(t, st.ExitCode, "the spare root filesystem held another container's files")

	// A crash: the driver forgets its spare, which stays on disk; the
	// next driver on the root releases it.
	waitSpareFS(t, e.d, next)
	lost := oci.ForgetSpareRootFS(e.d)
	require.NotEmpty(t, lost)
	d := e.newDriver()
	assert.NoDirExists(t, filepath.Join(e.cfg.Root, "containers", lost), "a spare left by a crash")
	assert.NoDirExists(t, filepath.Join(e.cfg.Root, "images", "containers", lost), "the root filesystem of a spare left by a crash")
	_, err = d.ContainerStatus(e.ctx, lost)
	assert.ErrorIs(t, err, runtime.ErrNotFound, "a spare taken for a container")

	// RemoveImage releases the spare made from the image.
	again := e.run(sb, e.config("again", "true"))
	waitSpareFS(t, d, "")
	for _, id := range []string{first, second, third, again} {
		require.NoError(t, d.RemoveContainer(e.ctx, id))
	}
	require.NoError(t, d.RemoveImage(e.ctx, e.image), "RemoveImage with a spare root filesystem made from the image")
	assert.Empty(t, oci.SpareRootFS(d))
}

// waitSpareFS waits until d has a spare root filesystem other than not
// and returns its container ID.
func waitSpareFS(t *testing.T, d *oci.Driver, not string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if id := oci.SpareRootFS(d); id != "" && id != not {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new spare root filesystem after 10s (had %q)", not)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
