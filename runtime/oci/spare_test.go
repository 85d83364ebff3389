package oci_test

import (
	"os"
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
