package process_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/process"
)

// running says whether pid is a live process (not a zombie).
func running(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	return f[0] != "Z" && f[0] != "X"
}

// TestStopUnknownChecksStartTime: stopping a container whose monitor
// vanished kills what is left of its process group, but only if its
// first process is still the one that started (same start time): a
// later, unrelated process that got the same PID is left alone.
func TestStopUnknownChecksStartTime(t *testing.T) {
	e := setup(t, process.IsolationNone)

	// The container outlives its monitor: Stop kills it.
	kept := e.run(e.config("kept", "sleep", "1000000"))
	st := readState(t, e.d.Root(), kept)
	require.NoError(t, syscall.Kill(st.MonitorPID, syscall.SIGKILL))

	// The container's process is gone and its PID now belongs to
	// another process group (here: a decoy of the test's own).
	reused := e.run(e.config("reused", "sleep", "1000000"))
	st2 := readState(t, e.d.Root(), reused)
	require.NoError(t, syscall.Kill(st2.MonitorPID, syscall.SIGKILL))
	require.NoError(t, syscall.Kill(-st2.PID, syscall.SIGKILL))
	decoy := exec.Command("sleep", "1000000")
	decoy.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, decoy.Start())
	t.Cleanup(func() {
		if decoy.ProcessState == nil {
			_ = decoy.Process.Kill()
			_ = decoy.Wait()
		}
	})
	statePath := filepath.Join(e.d.Root(), "containers", reused, "state.json")
	data, err := os.ReadFile(statePath)
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(data, &raw))
	raw["pid"] = decoy.Process.Pid
	// Start times are in clock ticks (10 ms): on a fast machine the decoy
	// can start in the tick the container did, which real PID reuse (a
	// wrap of the PID space) never does. Record a start of its own for
	// the container, as the PID's earlier owner had.
	start, ok := raw["start"].(float64)
	require.True(t, ok, "state.json has the container's start time: %s", data)
	raw["start"] = start - 100
	data, err = json.Marshal(raw)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(statePath, data, 0o600))

	require.NoError(t, e.d.Close()) // as the process ending does: its image store is locked while open
	d2 := newDriver(t, process.Config{Root: e.d.Root(), Isolation: process.IsolationNone})
	for _, id := range []string{kept, reused} {
		waitFor(t, e.ctx, "the container to be Unknown", func() bool {
			s, err := d2.ContainerStatus(e.ctx, id)
			require.NoError(t, err)
			return s.State == runtime.ContainerUnknown
		})
		require.NoError(t, d2.StopContainer(e.ctx, id, runtime.StopOptions{}))
	}
	// Had the driver killed it, the SIGKILL would be what it died of.
	require.NoError(t, decoy.Process.Signal(syscall.SIGTERM))
	err = decoy.Wait()
	ws, ok := decoy.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok, "wait: %v", err)
	assert.Equal(t, syscall.SIGTERM, ws.Signal(), "the process that reused a stopped container's PID was killed by the driver")
	waitFor(t, e.ctx, "the container that outlived its monitor to be killed", func() bool { return !running(st.PID) })
}

// TestStartWithEndedContext: a StartContainer whose context ends while
// the monitor is starting the container does not kill the monitor
// (which may have started it already): the container ends up running
// under its monitor, a second start is refused rather than running a
// second copy, and it stops and records its exit as any other.
func TestStartWithEndedContext(t *testing.T) {
	e := setup(t, process.IsolationNone)
	id, err := e.d.CreateContainer(e.ctx, e.sb, e.config("hurried", "sleep", "1000000"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	err = e.d.StartContainer(ctx, id)
	if err != nil {
		require.ErrorIs(t, err, context.Canceled)
	}
	waitFor(t, e.ctx, "the container to run", func() bool {
		return e.status(id).State == runtime.ContainerRunning
	})
	assert.Error(t, e.d.StartContainer(e.ctx, id), "a second start of a started container")
	st := readState(t, e.d.Root(), id)
	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{GracePeriod: time.Minute}))
	got := e.waitExited(id)
	assert.Equal(t, int32(128+int(syscall.SIGTERM)), got.ExitCode, "exit recorded by its monitor")
	assert.False(t, running(st.PID))
}
