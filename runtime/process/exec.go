package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

// errExecTimeout is the cause of an exec's context when its timeout
// passes.
var errExecTimeout = errors.New("exec timeout")

// execWaitDelay is how long Exec waits for the output pipes of a command
// that has exited (or was killed) while processes it left behind still
// hold them.
const execWaitDelay = time.Second

// Exec runs cmd as the container's process runs: same environment,
// working directory, identity and chroot, its argv[0] looked up the same
// way; a command that is not found exits 127, one that is not
// executable 126, with the reason on opts.Stderr. It runs as a child of the driver, in its own process group, which
// is killed with SIGKILL when opts.Timeout or ctx ends.
func (d *Driver) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	if len(cmd) == 0 {
		return -1, fmt.Errorf("process: exec in container %s: empty command", id)
	}
	d.mu.Lock()
	c := d.containers[id]
	if c == nil {
		d.mu.Unlock()
		return -1, fmt.Errorf("process: exec in container %q: %w", id, runtime.ErrNotFound)
	}
	state := d.stateLocked(c)
	rec := c.rec
	d.mu.Unlock()
	if state != runtime.ContainerRunning {
		return -1, fmt.Errorf("process: exec in container %s (%s): it is %s: %w", id, rec.Config.Name, state, runtime.ErrNotRunning)
	}
	wd := rec.Exec.Dir
	if rec.Exec.Chroot == "" {
		wd = "/" + strings.TrimPrefix(strings.TrimPrefix(wd, rec.RootFS), "/")
	}
	exe, err := lookPath(cmd[0], wd, rec.Exec)
	if err != nil {
		// As a shell answers: 127 not found, 126 found but not
		// executable.
		code := 127
		if errors.Is(err, errNotExecutable) || errors.Is(err, fs.ErrPermission) {
			code = 126
		}
		if opts.Stderr != nil {
			fmt.Fprintf(opts.Stderr, "%v\n", err)
		}
		return code, nil
	}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, opts.Timeout, errExecTimeout)
		defer cancel()
	}
	c2 := &exec.Cmd{
		Path: exe, Args: cmd, Env: rec.Exec.Env, Dir: rec.Exec.Dir,
		Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Chroot: rec.Exec.Chroot, Credential: credential(rec.Exec)},
		WaitDelay:   execWaitDelay,
	}
	cgroup := ""
	if rec.Config.Resources.MemoryLimit > 0 && d.memory {
		cgroup = filepath.Join(memoryRoot, cgroupParent, id)
	}
	// Descriptors the driver's process inherited without close-on-exec
	// (from whatever started it) must not reach the container, as the
	// monitor does for the container's first process. Go opens its own
	// with close-on-exec, so marking them all is harmless to the driver.
	closeOnExecFrom(3)
	// An exec is charged to the container's memory, as in a container.
	if _, err := forkInCgroup(cgroup, func() (int, error) { return 0, c2.Start() }); err != nil {
		return -1, fmt.Errorf("process: exec in container %s (%s): %w", id, rec.Config.Name, err)
	}
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		select {
		case <-done:
		default:
			_ = unix.Kill(-c2.Process.Pid, unix.SIGKILL)
		}
	})
	err = c2.Wait()
	close(done)
	stop()
	if errors.Is(context.Cause(ctx), errExecTimeout) {
		return -1, fmt.Errorf("process: exec %q in container %s (%s): after %s: %w", cmd[0], id, rec.Config.Name, opts.Timeout, runtime.ErrTimeout)
	}
	if ctx.Err() != nil {
		return -1, fmt.Errorf("process: exec %q in container %s (%s): %w", cmd[0], id, rec.Config.Name, ctx.Err())
	}
	ps := c2.ProcessState
	if ps == nil {
		return -1, fmt.Errorf("process: exec %q in container %s (%s): %w", cmd[0], id, rec.Config.Name, err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ps.ExitCode(), nil
}
