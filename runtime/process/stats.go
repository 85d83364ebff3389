package process

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/drover-io/drover/runtime"
)

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on
// every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// ContainerStats measures the processes of a running container: every
// descendant of its monitor, found by walking /proc. CPU is each
// process's run time, all its threads': the larger of its threads'
// /proc/<pid>/task/<tid>/schedstat (nanoseconds, live threads) and
// utime + stime of /proc/<pid>/stat (clock ticks, every thread), plus
// the CPU time of the children it has reaped (cutime + cstime); it can
// go down when a process exits unreaped. Memory is the sum of their VmRSS,
// both as usage and as working set: pages shared between the processes
// (the image's binaries) count once per process, and the page cache of
// files they read does not count. The processes of an Exec are the
// driver's children, not the monitor's, and are not counted. A
// container that is not running is an error matching
// runtime.ErrNotRunning.
func (d *Driver) ContainerStats(ctx context.Context, id string) (*runtime.ContainerStats, error) {
	d.mu.Lock()
	c := d.containers[id]
	if c == nil {
		d.mu.Unlock()
		return nil, fmt.Errorf("process: stats of container %q: %w", id, runtime.ErrNotFound)
	}
	state := d.stateLocked(c)
	var mpid int
	if c.state != nil {
		mpid = c.state.MonitorPID
	}
	d.mu.Unlock()
	if state != runtime.ContainerRunning {
		return nil, fmt.Errorf("process: stats of container %s: it is %s: %w", id, state, runtime.ErrNotRunning)
	}
	now := time.Now()
	var cpu, rss uint64
	for _, p := range descendants(mpid) {
		st, err := readStat(p)
		if err != nil {
			continue // exited meanwhile
		}
		// utime+stime cover every thread, those gone included, in ticks;
		// the threads' schedstat is finer for those alive.
		cpu += max(schedRuntime(p), (st.utime+st.stime)*uint64(clockTick))
		cpu += (st.cutime + st.cstime) * uint64(clockTick)
		rss += vmRSS(p)
	}
	return &runtime.ContainerStats{Timestamp: now, CPUUsageNanoseconds: cpu, MemoryUsageBytes: rss, MemoryWorkingSetBytes: rss}, nil
}

// descendants returns the PIDs of every descendant of pid, not pid.
func descendants(pid int) []int {
	children := map[int][]int{}
	for _, p := range listPIDs() {
		if st, err := readStat(p); err == nil {
			children[st.ppid] = append(children[st.ppid], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// schedRuntime returns the time the live threads of pid have run on a
// CPU, from /proc/<pid>/task/*/schedstat (/proc/<pid>/schedstat is its
// main thread's alone); 0 when the kernel has no schedstat.
func schedRuntime(pid int) uint64 {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var total uint64
	for _, t := range tasks {
		data, err := os.ReadFile(dir + t.Name() + "/schedstat")
		if err != nil {
			continue // exited meanwhile
		}
		if f := bytes.Fields(data); len(f) > 0 {
			n, _ := strconv.ParseUint(string(f[0]), 10, 64)
			total += n
		}
	}
	return total
}

// vmRSS returns the resident memory of pid in bytes, from
// /proc/<pid>/status.
func vmRSS(pid int) uint64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			fs := bytes.Fields(v)
			if len(fs) > 0 {
				kb, _ := strconv.ParseUint(string(fs[0]), 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
