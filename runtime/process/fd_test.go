package process_test

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/process"
)

// TestContainerInheritsOnlyStdio: the container's process gets its
// standard input, output and error and no other descriptor of the
// monitor or the driver (the monitor's report pipe to the driver).
func TestContainerInheritsOnlyStdio(t *testing.T) {
	e := setup(t, process.IsolationNone)
	id := e.run(e.config("fds", "sleep", "1000")) // busybox sleep opens nothing
	st := readState(t, e.d.Root(), id)
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(st.PID) + "/fd")
	require.NoError(t, err)
	var fds []string
	for _, e := range ents {
		target, _ := os.Readlink("/proc/" + strconv.Itoa(st.PID) + "/fd/" + e.Name())
		fds = append(fds, e.Name()+" → "+target)
	}
	assert.Len(t, fds, 3, "descriptors of the container's first process: %q", fds)
}

// TestStatsCountsEveryThread: the CPU time of a container's process is
// that of all its threads, not of its main thread alone.
func TestStatsCountsEveryThread(t *testing.T) {
	e := setup(t, process.IsolationNone)
	cfg := e.config("threads", os.Args[0])
	cfg.Env = []runtime.KeyValue{{Key: spinEnv, Value: "1"}}
	id := e.run(cfg)
	st := readState(t, e.d.Root(), id)
	// Wait until the process as a whole has used 300ms of CPU.
	waitFor(t, e.ctx, "the threads to use CPU", func() bool {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(st.PID) + "/stat")
		require.NoError(t, err)
		f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
		utime, _ := strconv.ParseUint(f[11], 10, 64)
		stime, _ := strconv.ParseUint(f[12], 10, 64)
		return time.Duration(utime+stime)*10*time.Millisecond >= 300*time.Millisecond
	})
	stats, err := e.d.ContainerStats(e.ctx, id)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Duration(stats.CPUUsageNanoseconds), 300*time.Millisecond, "CPU of a process whose main thread is idle")
	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{}))
}

// TestExecInheritsOnlyStdio: a process run by Exec does not get the
// descriptors the driver's process was started with that are not
// close-on-exec (inherited from whatever started the program).
func TestExecInheritsOnlyStdio(t *testing.T) {
	e := setup(t, process.IsolationNone)
	id := e.run(e.config("execfds", "sleep", "1000"))
	// A descriptor without close-on-exec, as one inherited at start.
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer f.Close()
	const leaked = 213
	require.NoError(t, unix.Dup2(int(f.Fd()), leaked))
	defer unix.Close(leaked)

	var out bytes.Buffer
	code, err := e.d.Exec(e.ctx, id, []string{"ls", "/proc/self/fd"}, runtime.ExecOptions{Stdout: &out})
	require.NoError(t, err)
	require.Equal(t, 0, code)
	assert.NotContains(t, strings.Fields(out.String()), strconv.Itoa(leaked), "descriptors of an exec'd process: %q", out.String())
	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{}))
}
