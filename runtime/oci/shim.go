package oci

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime/logs"
)

// ShimEnv is the environment variable that makes RunShimIfRequested run
// the container monitor: its value is the container's state directory.
const ShimEnv = "DROVER_OCI_SHIM"

// shimConfig is what a shim reads from its container directory.
type shimConfig struct {
	// Runtime and RuntimeRoot run the OCI runtime (binary, --root).
	Runtime, RuntimeRoot string
	ID                   string
	// LogPath is the container's CRI log file, written with LogMaxSize
	// and LogMaxFiles.
	LogPath     string
	LogMaxSize  int64
	LogMaxFiles int
	// MemoryCgroup is the container's memory cgroup directory, read for
	// OOM kills ("" when none).
	MemoryCgroup string
	// RuncState, when set, is runc's state file of the container
	// (<RuntimeRoot>/<ID>/state.json), read for its first process's
	// PID instead of asking for a --pid-file: runc writes that file
	// with O_SYNC, a synchronous disk write on every create (1 ms on a
	// quiet disk, 5-10 ms under I/O load) for a number the shim needs
	// only while the node runs. Other runtimes get --pid-file.
	RuncState string
}

// RunShimIfRequested runs the container monitor and exits when this
// process was started as one (ShimEnv is set to 1), and returns at once
// otherwise. Call it first thing in main, and in TestMain of tests that
// run containers: the driver starts each container's monitor by
// re-executing its own binary (Config.ShimPath).
//
// The monitor is a child subreaper: it runs `runc create` with the
// container's stdout and stderr as pipes it copies into the container's
// CRI log file, waits for the container's first process (started by the
// driver's `runc start`), records its exit status and OOM kill in
// exit.json, runs `runc delete` and exits. It outlives the driver, so
// the node agent can restart without stopping containers or their logs.
func RunShimIfRequested() {
	if os.Getenv(ShimEnv) != "1" {
		return
	}
	if err := runShim(); err != nil {
		fmt.Fprintf(os.Stderr, "drover oci shim: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// shimGo is the line the driver sends a monitor after its order, once
// the bundle is written.
const shimGo = "go"

// shimOrder is what the driver sends a monitor on its go pipe: the
// container's directory (with its bundle) and the monitor's config,
// sent rather than written to a file the monitor would read back.
type shimOrder struct {
	Dir    string     `json:"dir"`
	Config shimConfig `json:"config"`
}

// runShim is a container's monitor. Fd 4 is the driver's go pipe: it
// brings a shimOrder, as a JSON line, when the driver starts to make the
// container, and the line "go" once the driver has written the bundle
// (EOF before either: the driver does not need this monitor, which exits;
// the monitor gets ready in between). Fd 3 is the driver's ready pipe: it
// gets the create record as one JSON line, then is closed. The monitor's
// own output goes to shim.log in the container's directory.
func runShim() error {
	signal.Ignore(unix.SIGINT, unix.SIGHUP, unix.SIGPIPE, unix.SIGTERM)
	ready := os.NewFile(3, "ready")
	goPipe := os.NewFile(4, "go")
	orders := bufio.NewReader(goPipe)
	line, err := orders.ReadBytes('\n')
	if err != nil {
		return nil
	}
	var order shimOrder
	if err := json.Unmarshal(line, &order); err != nil {
		return fmt.Errorf("read the driver's order: %w", err)
	}
	dir, cfg := order.Dir, order.Config
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("container directory %q: want an absolute path", dir)
	}
	logf, err := os.OpenFile(filepath.Join(dir, shimLogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	for _, fd := range []int{1, 2} {
		if err := unix.Dup3(int(logf.Fd()), fd, 0); err != nil {
			return fmt.Errorf("redirect output to %s: %w", logf.Name(), err)
		}
	}
	logf.Close()
	if err := os.Chdir(dir); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become a child subreaper: %w", err)
	}
	// report tells the driver first (it waits for this), then records
	// it for a driver that adopts the container later.
	report := func(cr createRecord) error {
		if ready != nil {
			_ = json.NewEncoder(ready).Encode(cr)
			ready.Close()
		}
		return writeJSON(filepath.Join(dir, createFile), cr)
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return err
	}
	if line, err := orders.ReadBytes('\n'); err != nil || string(bytes.TrimSpace(line)) != shimGo {
		return nil // the driver gave up on the container
	}
	goPipe.Close()

	runcLog := filepath.Join(dir, runcLogFile)
	args := []string{"--root", cfg.RuntimeRoot, "--log", runcLog, "--log-format", "json", "create", "--bundle", filepath.Join(dir, bundleDir)}
	if cfg.RuncState == "" {
		args = append(args, "--pid-file", filepath.Join(dir, pidFile))
	}
	cmd := exec.Command(cfg.Runtime, append(args, cfg.ID)...)
	cmd.Stdout, cmd.Stderr = outW, errW
	// The container's log is opened while the runtime creates it (its
	// output waits in the pipes meanwhile).
	type opened struct {
		w   *logs.Writer
		err error
	}
	logc := make(chan opened, 1)
	go func() {
		w, err := logs.NewWriter(cfg.LogPath, logs.WriterConfig{MaxSize: cfg.LogMaxSize, MaxFiles: cfg.LogMaxFiles})
		logc <- opened{w, err}
	}()
	runErr := cmd.Run()
	outW.Close()
	errW.Close()
	lg := <-logc
	if lg.err == nil && runErr != nil {
		_ = lg.w.Close()
	}
	if runErr != nil {
		msg := runtimeError(runcLog)
		if msg == "" {
			msg = runErr.Error()
		}
		// The runtime's stdout and stderr were the container's: what it
		// printed is its error, not the container's output.
		outR.Close()
		errR.Close()
		_ = exec.Command(cfg.Runtime, "--root", cfg.RuntimeRoot, "delete", "--force", cfg.ID).Run()
		return report(createRecord{Error: msg})
	}
	var pid int
	if cfg.RuncState != "" {
		pid, err = readStatePid(cfg.RuncState)
	} else {
		pid, err = readPid(filepath.Join(dir, pidFile))
	}
	if err != nil {
		if lg.err == nil {
			_ = lg.w.Close()
		}
		_ = exec.Command(cfg.Runtime, "--root", cfg.RuntimeRoot, "delete", "--force", cfg.ID).Run()
		return report(createRecord{Error: err.Error()})
	}

	// Copy the container's output into its log until every holder of
	// the pipes is gone.
	if lg.err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		_ = exec.Command(cfg.Runtime, "--root", cfg.RuntimeRoot, "delete", "--force", cfg.ID).Run()
		return report(createRecord{Error: lg.err.Error()})
	}
	w := lg.w
	var copies sync.WaitGroup
	for _, c := range []struct {
		r *os.File
		w io.Writer
	}{{outR, w.Stdout()}, {errR, w.Stderr()}} {
		copies.Add(1)
		go func() {
			defer copies.Done()
			_, _ = io.Copy(c.w, c.r)
		}()
	}
	if err := report(createRecord{Pid: pid}); err != nil {
		return err
	}

	status, finished := reap(pid)
	er := exitRecord{FinishedAt: finished}
	switch {
	case status.Exited():
		er.ExitCode = int32(status.ExitStatus())
	case status.Signaled():
		er.Signal = int(status.Signal())
		er.ExitCode = 128 + int32(er.Signal)
	}
	er.OOMKilled = oomKilled(cfg.MemoryCgroup)
	er.Reason = exitReason(er.ExitCode, er.OOMKilled)

	// Every process of the container is gone with its PID namespace; a
	// process that shares the node's may keep the pipes open: give it
	// a moment, then stop copying.
	done := make(chan struct{})
	go func() { copies.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		outR.Close()
		errR.Close()
		<-done
	}
	_ = w.Close()
	if out, err := exec.Command(cfg.Runtime, "--root", cfg.RuntimeRoot, "delete", "--force", cfg.ID).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "runc delete: %v: %s\n", err, out)
	}
	return writeJSON(filepath.Join(dir, exitFile), er)
}

// reap waits for the container's first process, reaping any other
// process that is re-parented to the shim on the way.
func reap(pid int) (unix.WaitStatus, time.Time) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			// ECHILD: it is gone and was not ours to reap.
			return ws, time.Now()
		}
		if got == pid {
			return ws, time.Now()
		}
	}
}

func readPid(name string) (int, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("read the container's pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("read the container's pid: %q is not a pid", data)
	}
	return pid, nil
}

// readStatePid reads the PID of a created container's first process
// from runc's state file. The process is blocked on its exec.fifo until
// the driver starts it, and is the shim's child (re-parented to it, a
// subreaper, when runc create exits), so the PID cannot be reused
// before the shim reaps it.
func readStatePid(name string) (int, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("read the container's pid: %w", err)
	}
	var st struct {
		Pid int `json:"init_process_pid"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return 0, fmt.Errorf("read the container's pid: %s: %w", name, err)
	}
	if st.Pid <= 0 {
		return 0, fmt.Errorf("read the container's pid: %s has no init_process_pid", name)
	}
	return st.Pid, nil
}

// runtimeError returns the last error message of the runtime's JSON
// log ("" when none).
func runtimeError(name string) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	last := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && (rec.Level == "error" || rec.Level == "fatal") && rec.Msg != "" {
			last = rec.Msg
		}
	}
	return last
}
