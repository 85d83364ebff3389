package process

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/logs"
)

// MonitorEnv is the environment variable that makes
// RunMonitorIfRequested run a monitor: the driver sets it to the
// container's state directory when it starts the monitor.
const MonitorEnv = "DROVER_PROCESS_MONITOR"

// startErrorExitCode is the exit code of a container whose command could
// not be run (as containerd reports it).
const startErrorExitCode = 128

// RunMonitorIfRequested runs a container monitor and exits, when this
// process was started as one by a Driver; otherwise it returns at once.
// Every program that makes a Driver calls it first thing in main (and
// its tests in TestMain), since the driver starts monitors by running
// its own executable again (Config.MonitorPath):
//
//	func main() {
//		process.RunMonitorIfRequested()
//		...
//	}
//
// A monitor starts the container's process in its own process group,
// stays its parent (and, as a child subreaper, the parent of every
// process it leaves behind), writes its standard output and error to
// the container's CRI log file, and records its exit code in the
// container's state file. When the first process exits, the monitor
// kills what remains of the container, as a PID namespace would.
func RunMonitorIfRequested() {
	dir := os.Getenv(MonitorEnv)
	if dir == "" {
		return
	}
	os.Exit(runMonitor(dir))
}

// report is how a monitor tells the driver, on its descriptor 3, that
// the container started ("ok") or why not ("error <message>").
func runMonitor(dir string) int {
	// Nothing the monitor inherited beyond its standard descriptors
	// (the report pipe, whatever the driver's own parent left open)
	// reaches the container's process.
	closeOnExecFrom(3)
	report := os.NewFile(3, "report")
	fail := func(format string, args ...any) int {
		msg := fmt.Sprintf(format, args...)
		fmt.Fprintf(os.Stderr, "%s monitor %s: %s\n", time.Now().UTC().Format(time.RFC3339Nano), dir, msg)
		if report != nil {
			fmt.Fprintf(report, "error %s\n", strings.ReplaceAll(msg, "\n", " "))
		}
		return 1
	}
	var spec monitorSpec
	if err := readJSON(filepath.Join(dir, "spec.json"), &spec); err != nil {
		return fail("read spec: %v", err)
	}
	statePath := filepath.Join(dir, "state.json")
	// Orphans of the container are re-parented to the monitor, which
	// reaps (and kills) them.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail("become a child subreaper: %v", err)
	}
	// Handled, not ignored: an ignored signal would stay ignored in the
	// container's process after execve.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)

	var stdout, stderr io.Writer = io.Discard, io.Discard
	var lw *logs.Writer
	if spec.LogPath != "" {
		var err error
		lw, err = logs.NewWriter(spec.LogPath, logs.WriterConfig{MaxSize: spec.LogMaxSize, MaxFiles: spec.LogMaxFiles})
		if err != nil {
			return fail("open log: %v", err)
		}
		stdout, stderr = lw.Stdout(), lw.Stderr()
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fail("%v", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail("%v", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail("%v", err)
	}
	sys := &syscall.SysProcAttr{Setpgid: true, Chroot: spec.Exec.Chroot, Credential: credential(spec.Exec)}
	startedAt := time.Now()
	pid, err := forkInCgroup(spec.MemoryCgroup, func() (int, error) {
		return syscall.ForkExec(spec.Path, spec.Args, &syscall.ProcAttr{
			Dir:   spec.Exec.Dir,
			Env:   spec.Exec.Env,
			Files: []uintptr{devnull.Fd(), outW.Fd(), errW.Fd()},
			Sys:   sys,
		})
	})
	outW.Close()
	errW.Close()
	devnull.Close()
	if err != nil {
		msg := fmt.Sprintf("exec %s: %v", spec.Args[0], err)
		now := time.Now()
		st := stateRecord{StartedAt: now, Exited: true, FinishedAt: now, ExitCode: startErrorExitCode, Reason: runtime.ReasonStartError, Message: msg}
		_ = removeMemoryCgroup(spec.MemoryCgroup)
		if werr := writeJSON(statePath, &st); werr != nil {
			return fail("%s; record it: %v", msg, werr)
		}
		return fail("%s", msg)
	}
	self := os.Getpid()
	selfStart, _ := procStartTime(self)
	// The child is not reaped before the monitor waits for it, so pid
	// is still it here.
	start, _ := procStartTime(pid)
	st := stateRecord{PID: pid, Start: start, MonitorPID: self, MonitorStart: selfStart, StartedAt: startedAt}
	if err := writeJSON(statePath, &st); err != nil {
		_ = unix.Kill(-pid, unix.SIGKILL)
		return fail("record start: %v", err)
	}
	fmt.Fprintln(report, "ok")
	report.Close()

	var copies sync.WaitGroup
	copies.Add(2)
	go func() { defer copies.Done(); _, _ = io.Copy(stdout, outR) }()
	go func() { defer copies.Done(); _, _ = io.Copy(stderr, errR) }()

	st.ExitCode = waitContainer(pid, self)
	st.FinishedAt = time.Now()

	// Every writer of the pipes is dead unless a process handed them to
	// one outside the container: do not wait for that forever.
	done := make(chan struct{})
	go func() { copies.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		outR.Close()
		errR.Close()
		<-done
	}
	if lw != nil {
		if err := lw.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "close log: %v\n", err)
		}
	}
	st.Exited = true
	st.Reason = runtime.ReasonCompleted
	if st.ExitCode != 0 {
		st.Reason = runtime.ReasonError
		if spec.MemoryCgroup != "" && oomKilled(spec.MemoryCgroup) {
			st.Reason = runtime.ReasonOOMKilled
			st.Message = "a process of the container was killed for going over its memory limit"
		}
	}
	if err := removeMemoryCgroup(spec.MemoryCgroup); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
	}
	if err := writeJSON(statePath, &st); err != nil {
		fmt.Fprintf(os.Stderr, "record exit: %v\n", err)
		return 1
	}
	return 0
}

// closeOnExecFrom marks every open descriptor from lowfd up close-on-exec.
func closeOnExecFrom(lowfd int) {
	if unix.CloseRange(uint(lowfd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	ents, err := os.ReadDir("/proc/self/fd") // kernels before 5.11
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= lowfd {
			unix.CloseOnExec(fd)
		}
	}
}

// credential is the identity a process of spec runs as; nil keeps the
// driver's.
func credential(spec execSpec) *syscall.Credential {
	if spec.UID == nil && spec.GID == nil {
		return nil
	}
	c := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Groups: spec.Groups}
	if spec.UID != nil {
		c.Uid, c.Gid = *spec.UID, 0
	}
	if spec.GID != nil {
		c.Gid = *spec.GID
	}
	if spec.Groups == nil {
		c.Groups = []uint32{}
	}
	return c
}

// waitContainer reaps the monitor's children until the first process,
// pid, has exited and no other is left, and returns pid's exit code
// (128+n when killed by signal n). Once pid has exited, the rest of the
// container is killed: its process group, and whatever was re-parented
// to the monitor.
func waitContainer(pid, self int) int32 {
	var code int32
	mainDone := false
	delay := time.Millisecond
	for {
		var ws unix.WaitStatus
		flags := 0
		if mainDone {
			killRest(pid, self)
			flags = unix.WNOHANG
		}
		wpid, err := unix.Wait4(-1, &ws, flags, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil: // ECHILD: nothing left
			return code
		case wpid == 0: // WNOHANG, still running: being killed
			time.Sleep(delay)
			delay = min(2*delay, 20*time.Millisecond)
			continue
		}
		if wpid == pid {
			mainDone = true
			switch {
			case ws.Exited():
				code = int32(ws.ExitStatus())
			case ws.Signaled():
				code = 128 + int32(ws.Signal())
			}
		}
	}
}

// killRest sends SIGKILL to the process group of pid and to every
// child of the monitor.
func killRest(pid, self int) {
	_ = unix.Kill(-pid, unix.SIGKILL)
	for _, p := range listPIDs() {
		if st, err := readStat(p); err == nil && st.ppid == self {
			_ = unix.Kill(p, unix.SIGKILL)
		}
	}
}

// startMonitor runs a monitor for the container whose state directory is
// dir and waits for it to say that the container's process has started.
// An error matching runtime.ErrStartFailed means the command could not
// be run (the monitor recorded it).
func (d *Driver) startMonitor(ctx context.Context, dir string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	handedOff := false // to readReport, which closes r
	defer func() {
		if !handedOff {
			r.Close()
		}
	}()
	logf, err := os.OpenFile(filepath.Join(dir, "monitor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		w.Close()
		return err
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		logf.Close()
		return err
	}
	env := []string{MonitorEnv + "=" + dir}
	if v, ok := os.LookupEnv("GOTRACEBACK"); ok {
		env = append(env, "GOTRACEBACK="+v)
	}
	monitors.mu.Lock() // no reaping of a stale PID while this one is made
	pid, err := syscall.ForkExec(d.monitorPath, []string{"drover-process-monitor", filepath.Base(dir)}, &syscall.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []uintptr{devnull.Fd(), logf.Fd(), logf.Fd(), w.Fd()},
		// Its own session: the driver's process group and terminal
		// signals do not reach it, and it outlives the driver.
		Sys: &syscall.SysProcAttr{Setsid: true},
	})
	if err == nil {
		monitors.pids[pid] = true
	}
	monitors.mu.Unlock()
	w.Close()
	logf.Close()
	devnull.Close()
	if err != nil {
		return fmt.Errorf("run monitor %s: %w", d.monitorPath, err)
	}
	// The monitor is never killed here when ctx ends: it may have
	// started the container already, which would then run unmonitored
	// (and a retry would start a second copy). Its answer is waited for
	// in the background instead.
	report := make(chan error, 1)
	handedOff = true
	go func() { report <- d.readReport(r, pid, dir) }()
	select {
	case err := <-report:
		return err
	case <-ctx.Done():
		return &pendingStart{ctxErr: ctx.Err(), report: report}
	}
}

// pendingStart is startMonitor's error when its context ended before
// the monitor said whether the container started: report delivers what
// it said (nil: started) once it has.
type pendingStart struct {
	ctxErr error
	report <-chan error
}

func (p *pendingStart) Error() string {
	return fmt.Sprintf("%v before the monitor reported; it goes on, and the container's state will show whether it started", p.ctxErr)
}

func (p *pendingStart) Unwrap() error { return p.ctxErr }

// readReport reads the line monitor pid writes on r and returns what it
// means; it closes r.
func (d *Driver) readReport(r *os.File, pid int, dir string) error {
	defer r.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "ok":
		return nil
	case strings.HasPrefix(line, "error "):
		msg := strings.TrimPrefix(line, "error ")
		if hasState(dir) {
			return fmt.Errorf("%s: %w", msg, runtime.ErrStartFailed)
		}
		return fmt.Errorf("monitor: %s", msg)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "monitor.log"))
	if err == nil || errors.Is(err, io.EOF) {
		err = errors.New("exited without a word")
	}
	return fmt.Errorf("monitor %d (%s): %v; its output: %q (does main call process.RunMonitorIfRequested?)", pid, d.monitorPath, err, bytes.TrimSpace(out))
}

func hasState(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "state.json"))
	return err == nil
}

// monitors are the monitors this process started, its children until
// reaped. Every Driver in the process shares the table: a driver made
// again in the same process (a restart in a test) reaps the monitors
// of the one before. Only these PIDs are ever waited for, so children
// the program runs itself are left alone.
var monitors = struct {
	mu   sync.Mutex
	pids map[int]bool
}{pids: map[int]bool{}}

// reapMonitor collects the exit status of monitor pid if this process
// started it and it has exited, so it does not stay a zombie.
func reapMonitor(pid int) {
	monitors.mu.Lock()
	defer monitors.mu.Unlock()
	if !monitors.pids[pid] {
		return
	}
	var ws unix.WaitStatus
	wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	if wpid == pid || errors.Is(err, unix.ECHILD) {
		delete(monitors.pids, pid)
	}
}

// reapMonitors reaps every exited monitor this process started.
func reapMonitors() {
	monitors.mu.Lock()
	pids := make([]int, 0, len(monitors.pids))
	for p := range monitors.pids {
		pids = append(pids, p)
	}
	monitors.mu.Unlock()
	for _, p := range pids {
		reapMonitor(p)
	}
}

// procStat is what the driver reads of /proc/<pid>/stat.
type procStat struct {
	state                        byte
	ppid                         int
	utime, stime, cutime, cstime uint64
	start                        uint64
}

// readStat parses /proc/<pid>/stat.
func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// The command name, in parentheses, may hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(data[i+2:]))
	// f[0] is field 3 (state).
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	num := func(k int) uint64 { n, _ := strconv.ParseUint(f[k-3], 10, 64); return n }
	return procStat{
		state: f[0][0], ppid: int(num(4)),
		utime: num(14), stime: num(15), cutime: num(16), cstime: num(17),
		start: num(22),
	}, nil
}

// procStartTime returns when pid started, in clock ticks after boot.
func procStartTime(pid int) (uint64, error) {
	st, err := readStat(pid)
	return st.start, err
}

// listPIDs returns the PIDs in /proc.
func listPIDs() []int {
	ents, _ := os.ReadDir("/proc")
	pids := make([]int, 0, len(ents))
	for _, e := range ents {
		if p, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// alive says whether pid is the process that started at start and has
// not exited.
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readStat(pid)
	return err == nil && st.start == start && st.state != 'Z' && st.state != 'X'
}
