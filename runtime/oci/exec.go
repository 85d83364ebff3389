package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

// Exec runs cmd in the running container with `runc exec`, killing it
// when opts.Timeout passes (ErrTimeout).
func (d *Driver) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	c, err := d.lookup(id)
	if err != nil {
		return -1, err
	}
	if len(cmd) == 0 {
		return -1, fmt.Errorf("oci: exec in container %s: empty command", id)
	}
	if st := d.status(c); st.State != runtime.ContainerRunning {
		return -1, fmt.Errorf("oci: exec in container %s (%s): %w", id, st.State, runtime.ErrNotRunning)
	}
	base := filepath.Join(c.dir, "exec-"+newID()[:12])
	pidf, logf := base+".pid", base+".log"
	defer os.Remove(pidf)
	defer os.Remove(logf)
	ec := exec.Command(d.runtimeBin, append([]string{"--root", d.cfg.StateDir, "--log", logf, "--log-format", "json", "exec", "--pid-file", pidf, id}, cmd...)...)
	ec.Stdin, ec.Stdout, ec.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	// A process the command left behind may hold its output open.
	ec.WaitDelay = time.Second
	if err := ec.Start(); err != nil {
		return -1, fmt.Errorf("oci: exec in container %s: %w", id, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- ec.Wait() }()
	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	// kill kills the command and what it started (a process it left
	// in the background keeps runc exec waiting), then runc exec if it
	// still waits.
	kill := func() {
		if pid, err := readPid(pidf); err == nil {
			for _, p := range append(descendants(pid), pid) {
				_ = unix.Kill(p, unix.SIGKILL)
			}
		}
		t := time.NewTimer(2 * time.Second)
		defer t.Stop()
		select {
		case <-waited:
		case <-t.C:
			_ = ec.Process.Kill()
			<-waited
		}
	}
	select {
	case err = <-waited:
	case <-timeout:
		kill()
		return -1, fmt.Errorf("oci: exec %q in container %s: killed after %s: %w", cmd[0], id, opts.Timeout, runtime.ErrTimeout)
	case <-ctx.Done():
		kill()
		return -1, fmt.Errorf("oci: exec %q in container %s: %w", cmd[0], id, ctx.Err())
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code := exitErr.ExitCode()
		if _, perr := os.Stat(pidf); perr != nil {
			// runc exec failed before the command ran.
			msg := runtimeError(logf)
			if strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory") {
				return 127, nil // as a shell answers
			}
			if st := d.status(c); st.State != runtime.ContainerRunning {
				return -1, fmt.Errorf("oci: exec in container %s (%s): %w", id, st.State, runtime.ErrNotRunning)
			}
			return -1, fmt.Errorf("oci: exec %q in container %s: %s", cmd[0], id, msg)
		}
		return code, nil
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return -1, fmt.Errorf("oci: exec in container %s: %w", id, err)
	}
	return ec.ProcessState.ExitCode(), nil
}

// descendants lists the processes below pid, children first.
func descendants(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for _, f := range strings.Fields(string(data)) {
			if child, err := strconv.Atoi(f); err == nil {
				out = append(out, child)
				out = append(out, descendants(child)...)
			}
		}
	}
	return out
}

// ContainerStats reads the container's cgroup.
func (d *Driver) ContainerStats(ctx context.Context, id string) (*runtime.ContainerStats, error) {
	c, err := d.lookup(id)
	if err != nil {
		return nil, err
	}
	if st := d.status(c); st.State != runtime.ContainerRunning {
		return nil, fmt.Errorf("oci: stats of container %s (%s): %w", id, st.State, runtime.ErrNotRunning)
	}
	st, err := d.cgroups.readStats(c.rec.CgroupsPath)
	if err != nil {
		return nil, fmt.Errorf("oci: stats of container %s: %w", id, err)
	}
	return st, nil
}
