package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

// CreateContainer makes the container's root filesystem (a copy of the
// image, from the image store) and records the container. Fields that
// would change what the process sees and that the driver cannot honour
// are refused with an error matching runtime.ErrUnsupported: Mounts,
// Security.ReadOnlyRootFilesystem, and, unless the driver runs as root,
// a Security.UID, GID or SupplementalGroups other than the driver's own.
// Resources, capabilities, Privileged and AllowPrivilegeEscalation are
// ignored (see the package doc).
func (d *Driver) CreateContainer(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig) (id string, err error) {
	if cfg == nil {
		return "", errors.New("process: CreateContainer: nil config")
	}
	d.mu.Lock()
	sb := d.sandboxes[sandboxID]
	d.mu.Unlock()
	if sb == nil {
		return "", fmt.Errorf("process: create container %q: sandbox %q: %w", cfg.Name, sandboxID, runtime.ErrNotFound)
	}
	if sb.Stopped {
		return "", fmt.Errorf("process: create container %q: sandbox %s is stopped: %w", cfg.Name, sandboxID, runtime.ErrSandboxNotReady)
	}
	if cfg.LogPath != "" && sb.Config.LogDirectory == "" {
		return "", fmt.Errorf("process: create container %q: LogPath %q: sandbox %s has no LogDirectory", cfg.Name, cfg.LogPath, sandboxID)
	}
	if filepath.IsAbs(cfg.LogPath) || !filepath.IsLocal(cfg.LogPath) && cfg.LogPath != "" {
		return "", fmt.Errorf("process: create container %q: LogPath %q: want a path inside the sandbox's LogDirectory", cfg.Name, cfg.LogPath)
	}
	if err := d.checkSupported(cfg); err != nil {
		return "", err
	}
	img, err := d.images.ImageStatus(ctx, cfg.Image)
	if err != nil {
		return "", fmt.Errorf("process: create container %q: %w", cfg.Name, err)
	}
	args := runtime.ResolveArgs(img.Config, cfg.Command, cfg.Args)
	if len(args) == 0 {
		return "", fmt.Errorf("process: create container %q: no command: the container has no Command and image %s has no entrypoint or cmd", cfg.Name, cfg.Image)
	}
	stopSignal := 0
	if s := img.Config.StopSignal; s != "" {
		if stopSignal, err = parseSignal(s); err != nil {
			return "", fmt.Errorf("process: create container %q: image %s: StopSignal %q: %w", cfg.Name, cfg.Image, s, err)
		}
	}
	wd := cfg.WorkingDir
	if wd == "" {
		wd = img.Config.WorkingDir
	}
	if wd == "" {
		wd = "/"
	}
	if !path.IsAbs(wd) {
		return "", fmt.Errorf("process: create container %q: WorkingDir %q: want an absolute path", cfg.Name, wd)
	}

	id = newID()
	dir := d.containerDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("process: create container %q: %w", cfg.Name, err)
	}
	cid := id // the result id is "" once a failed return has set it
	defer func() {
		if err != nil {
			_ = d.images.ReleaseRootFS(context.Background(), cid)
			_ = os.RemoveAll(dir)
		}
	}()
	rootfs, _, err := d.images.RootFS(ctx, img.ID, id)
	if err != nil {
		return "", fmt.Errorf("process: create container %q: %w", cfg.Name, err)
	}
	hostWD, err := resolveIn(rootfs, wd)
	if err == nil {
		err = os.MkdirAll(hostWD, 0o755)
	}
	if err != nil {
		return "", fmt.Errorf("process: create container %q: working directory %s: %w", cfg.Name, wd, err)
	}
	spec := execSpec{Env: mergeEnv(img.Config.Env, cfg.Env), Dir: hostWD, RootFS: rootfs}
	if d.chroot {
		if err := prepareChroot(rootfs, sb.Config); err != nil {
			return "", fmt.Errorf("process: create container %q: prepare its root filesystem for chroot: %w", cfg.Name, err)
		}
		spec.Chroot, spec.Dir = rootfs, strings.TrimPrefix(hostWD, rootfs)
		if spec.Dir == "" {
			spec.Dir = "/"
		}
	} else {
		spec.HostPath = os.Getenv("PATH")
	}
	if sec := cfg.Security; sec.UID != nil || sec.GID != nil || len(sec.SupplementalGroups) > 0 {
		if sec.UID != nil {
			u := uint32(*sec.UID)
			spec.UID = &u
		}
		if sec.GID != nil {
			g := uint32(*sec.GID)
			spec.GID = &g
		}
		for _, g := range sec.SupplementalGroups {
			spec.Groups = append(spec.Groups, uint32(g))
		}
	}
	c := *cfg
	c.Command, c.Args = args, nil // what runs, resolved once
	c.Labels, c.Annotations = maps.Clone(cfg.Labels), maps.Clone(cfg.Annotations)
	rec := &containerRecord{
		ID: id, SandboxID: sandboxID, Config: &c, ImageID: img.ID, StopSignal: stopSignal,
		CreatedAt: time.Now(), RootFS: rootfs, Exec: spec,
	}
	if cfg.LogPath != "" {
		rec.LogPath = filepath.Join(sb.Config.LogDirectory, cfg.LogPath)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sandboxes[sandboxID] != sb || sb.Stopped {
		return "", fmt.Errorf("process: create container %q: sandbox %s was stopped meanwhile: %w", cfg.Name, sandboxID, runtime.ErrSandboxNotReady)
	}
	if err := writeJSON(filepath.Join(dir, "container.json"), rec); err != nil {
		return "", fmt.Errorf("process: create container %q: %w", cfg.Name, err)
	}
	d.containers[id] = &container{rec: rec}
	return id, nil
}

// checkSupported refuses what the driver cannot do.
func (d *Driver) checkSupported(cfg *runtime.ContainerConfig) error {
	if len(cfg.Mounts) > 0 {
		return fmt.Errorf("process: container %q: Mounts[0] (%s at %s): host paths cannot be mounted into a process container: %w", cfg.Name, cfg.Mounts[0].HostPath, cfg.Mounts[0].ContainerPath, runtime.ErrUnsupported)
	}
	sec := cfg.Security
	if sec.ReadOnlyRootFilesystem {
		return fmt.Errorf("process: container %q: Security.ReadOnlyRootFilesystem: a process container's root filesystem is a writable copy: %w", cfg.Name, runtime.ErrUnsupported)
	}
	if d.root {
		return nil
	}
	if sec.UID != nil && *sec.UID != int64(os.Getuid()) {
		return fmt.Errorf("process: container %q: Security.UID %d: the driver is not root and runs every process as uid %d: %w", cfg.Name, *sec.UID, os.Getuid(), runtime.ErrUnsupported)
	}
	if sec.GID != nil && *sec.GID != int64(os.Getgid()) {
		return fmt.Errorf("process: container %q: Security.GID %d: the driver is not root and runs every process as gid %d: %w", cfg.Name, *sec.GID, os.Getgid(), runtime.ErrUnsupported)
	}
	if len(sec.SupplementalGroups) > 0 {
		return fmt.Errorf("process: container %q: Security.SupplementalGroups: the driver is not root and cannot set groups: %w", cfg.Name, runtime.ErrUnsupported)
	}
	return nil
}

// mergeEnv returns base ("KEY=value") with add on top: a key of add
// replaces base's in place, new keys follow in order.
func mergeEnv(base []string, add []runtime.KeyValue) []string {
	out := append([]string(nil), base...)
	at := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		at[k] = i
	}
	for _, kv := range add {
		e := kv.Key + "=" + kv.Value
		if i, ok := at[kv.Key]; ok {
			out[i] = e
			continue
		}
		at[kv.Key] = len(out)
		out = append(out, e)
	}
	return out
}

// parseSignal parses "SIGQUIT", "QUIT" or "3".
func parseSignal(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal %d out of range 1-64", n)
		}
		return n, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if n := unix.SignalNum(name); n != 0 {
		return int(n), nil
	}
	return 0, fmt.Errorf("unknown signal")
}

// StartContainer finds the container's command (see the package doc)
// and starts it under a monitor. A command that is not found or cannot
// be executed fails with an error matching runtime.ErrStartFailed; the
// container is then Exited with reason StartError and exit code 128.
// If ctx ends before the monitor has answered, the error matches
// ctx.Err() but the monitor is left to finish: the container may still
// start (its state shows it once the monitor has answered; until then
// it stays Created and another start is refused).
func (d *Driver) StartContainer(ctx context.Context, id string) error {
	d.mu.Lock()
	c := d.containers[id]
	if c == nil {
		d.mu.Unlock()
		return fmt.Errorf("process: start container %q: %w", id, runtime.ErrNotFound)
	}
	if c.state != nil || c.starting {
		d.mu.Unlock()
		return fmt.Errorf("process: start container %s (%s): already started", id, c.rec.Config.Name)
	}
	c.starting = true
	rec := c.rec
	d.mu.Unlock()

	st, err := d.start(ctx, rec)
	if p := (*pendingStart)(nil); errors.As(err, &p) {
		// The context ended while the monitor was starting it. The
		// container stays "starting" (a second start is refused) until
		// the monitor has answered; then its state is what happened.
		d.pending.Add(1)
		go func() {
			defer d.pending.Done()
			merr := <-p.report
			var st stateRecord
			serr := readJSON(filepath.Join(d.containerDir(rec.ID), "state.json"), &st)
			d.mu.Lock()
			defer d.mu.Unlock()
			c.starting = false
			if serr == nil {
				c.state = &st
			}
			if merr != nil {
				d.log.Warn("process: container start abandoned by its caller failed", "container", rec.ID, "err", merr)
			}
		}()
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	c.starting = false
	if st != nil {
		c.state = st
	}
	return err
}

func (d *Driver) start(ctx context.Context, rec *containerRecord) (*stateRecord, error) {
	dir := d.containerDir(rec.ID)
	name := rec.Config.Name
	wd := rec.Exec.Dir
	if rec.Exec.Chroot == "" {
		wd = "/" + strings.TrimPrefix(strings.TrimPrefix(wd, rec.RootFS), "/")
	}
	argv := rec.Config.Command
	exe, err := lookPath(argv[0], wd, rec.Exec)
	if err != nil {
		now := time.Now()
		st := &stateRecord{StartedAt: now, Exited: true, FinishedAt: now, ExitCode: startErrorExitCode, Reason: runtime.ReasonStartError, Message: err.Error()}
		if werr := writeJSON(filepath.Join(dir, "state.json"), st); werr != nil {
			return nil, fmt.Errorf("process: start container %s (%s): %v; record it: %w", rec.ID, name, err, werr)
		}
		return st, fmt.Errorf("process: start container %s (%s): %v: %w", rec.ID, name, err, runtime.ErrStartFailed)
	}
	spec := monitorSpec{Path: exe, Args: argv, Exec: rec.Exec, LogPath: rec.LogPath, LogMaxSize: d.cfg.Logs.MaxSize, LogMaxFiles: d.cfg.Logs.MaxFiles}
	if limit := rec.Config.Resources.MemoryLimit; limit > 0 && d.memory {
		if spec.MemoryCgroup, err = makeMemoryCgroup(rec.ID, limit); err != nil {
			return nil, fmt.Errorf("process: start container %s (%s): memory limit: %w", rec.ID, name, err)
		}
	}
	if err := writeJSON(filepath.Join(dir, "spec.json"), &spec); err != nil {
		return nil, fmt.Errorf("process: start container %s (%s): %w", rec.ID, name, err)
	}
	merr := d.startMonitor(ctx, dir)
	if p := (*pendingStart)(nil); errors.As(merr, &p) {
		return nil, fmt.Errorf("process: start container %s (%s): %w", rec.ID, name, merr)
	}
	var st stateRecord
	if err := readJSON(filepath.Join(dir, "state.json"), &st); err != nil {
		if merr == nil {
			merr = err
		}
		return nil, fmt.Errorf("process: start container %s (%s): %w", rec.ID, name, merr)
	}
	if merr != nil {
		return &st, fmt.Errorf("process: start container %s (%s): %w", rec.ID, name, merr)
	}
	return &st, nil
}

// refreshLocked brings c's state up to date from its state file and its
// monitor's liveness.
func (d *Driver) refreshLocked(c *container) {
	if c.state == nil || c.state.Exited || c.starting {
		return
	}
	mpid := c.state.MonitorPID
	reapMonitor(mpid)
	live := alive(mpid, c.state.MonitorStart)
	var st stateRecord
	if err := readJSON(filepath.Join(d.containerDir(c.rec.ID), "state.json"), &st); err == nil {
		c.state = &st
	}
	c.unknown = !c.state.Exited && !live
}

// stateLocked returns c's state, refreshed.
func (d *Driver) stateLocked(c *container) runtime.ContainerState {
	d.refreshLocked(c)
	switch {
	case c.state == nil:
		return runtime.ContainerCreated
	case c.state.Exited:
		return runtime.ContainerExited
	case c.unknown:
		return runtime.ContainerUnknown
	}
	return runtime.ContainerRunning
}

func (d *Driver) statusLocked(c *container) *runtime.ContainerStatus {
	rec := c.rec
	st := &runtime.ContainerStatus{
		ID: rec.ID, SandboxID: rec.SandboxID, Name: rec.Config.Name, Attempt: rec.Config.Attempt,
		State: d.stateLocked(c), Image: rec.Config.Image, ImageID: rec.ImageID, CreatedAt: rec.CreatedAt,
		LogPath: rec.LogPath, Labels: maps.Clone(rec.Config.Labels), Annotations: maps.Clone(rec.Config.Annotations),
	}
	if s := c.state; s != nil {
		st.StartedAt = s.StartedAt
		if s.Exited {
			st.FinishedAt, st.ExitCode, st.Reason, st.Message = s.FinishedAt, s.ExitCode, s.Reason, s.Message
		} else if c.unknown {
			st.Message = fmt.Sprintf("monitor %d vanished without recording an exit", s.MonitorPID)
		}
	}
	return st
}

// ContainerStatus returns the container's status.
func (d *Driver) ContainerStatus(ctx context.Context, id string) (*runtime.ContainerStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.containers[id]
	if c == nil {
		return nil, fmt.Errorf("process: container %q: %w", id, runtime.ErrNotFound)
	}
	return d.statusLocked(c), nil
}

// ListContainers returns the containers that match f.
func (d *Driver) ListContainers(ctx context.Context, f runtime.ContainerFilter) ([]*runtime.ContainerStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*runtime.ContainerStatus
	for _, c := range d.containers {
		if f.SandboxID != "" && c.rec.SandboxID != f.SandboxID {
			continue
		}
		if !labelsMatch(c.rec.Config.Labels, f.Labels) {
			continue
		}
		st := d.statusLocked(c)
		if f.State != nil && st.State != *f.State {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

// StopContainer signals the container's process group, waits up to the
// grace period for its first process to exit, then kills the group with
// SIGKILL, and returns once the monitor has recorded the exit.
func (d *Driver) StopContainer(ctx context.Context, id string, opts runtime.StopOptions) error {
	d.mu.Lock()
	c := d.containers[id]
	if c == nil {
		d.mu.Unlock()
		return fmt.Errorf("process: stop container %q: %w", id, runtime.ErrNotFound)
	}
	state := d.stateLocked(c)
	var pid int
	var start uint64
	if c.state != nil {
		pid, start = c.state.PID, c.state.Start
	}
	sig := opts.Signal
	if sig == 0 {
		sig = c.rec.StopSignal
	}
	if sig == 0 {
		sig = int(unix.SIGTERM)
	}
	d.mu.Unlock()
	if state != runtime.ContainerRunning {
		// What is left of it, if anything: only while its first process
		// is still the one that started (the PID may have been reused by
		// an unrelated process since the monitor vanished; without a
		// recorded start time there is no telling, so nothing is sent).
		if state == runtime.ContainerUnknown && start != 0 && alive(pid, start) {
			_ = unix.Kill(-pid, unix.SIGKILL)
		}
		return nil
	}
	if opts.GracePeriod > 0 && sig != int(unix.SIGKILL) {
		if err := unix.Kill(-pid, unix.Signal(sig)); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("process: stop container %s: signal %d: %w", id, sig, err)
		}
		gctx, cancel := context.WithTimeout(ctx, opts.GracePeriod)
		err := d.waitStopped(gctx, c)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("process: stop container %s: %w", id, ctx.Err())
		}
	}
	if err := unix.Kill(-pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("process: stop container %s: kill: %w", id, err)
	}
	if err := d.waitStopped(ctx, c); err != nil {
		return fmt.Errorf("process: stop container %s: waiting for its exit after SIGKILL: %w", id, err)
	}
	return nil
}

// waitStopped polls c until it is no longer running or ctx ends.
func (d *Driver) waitStopped(ctx context.Context, c *container) error {
	delay := 500 * time.Microsecond
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		d.mu.Lock()
		st := d.stateLocked(c)
		d.mu.Unlock()
		if st != runtime.ContainerRunning {
			return nil
		}
		t.Reset(delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// RemoveContainer kills the container if it runs and removes it with its
// root filesystem; the log file stays.
func (d *Driver) RemoveContainer(ctx context.Context, id string) error {
	d.mu.Lock()
	c := d.containers[id]
	d.mu.Unlock()
	if c == nil {
		return nil
	}
	if err := d.StopContainer(ctx, id, runtime.StopOptions{Signal: int(unix.SIGKILL)}); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("process: remove container %s: %w", id, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.containers[id] != c {
		return nil
	}
	if c.starting {
		return fmt.Errorf("process: remove container %s: it is being started", id)
	}
	if d.memory {
		// Left by a monitor that was killed.
		_ = removeMemoryCgroup(filepath.Join(memoryRoot, cgroupParent, id))
	}
	if err := d.images.ReleaseRootFS(ctx, id); err != nil {
		return fmt.Errorf("process: remove container %s: %w", id, err)
	}
	if err := os.RemoveAll(d.containerDir(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("process: remove container %s: %w", id, err)
	}
	delete(d.containers, id)
	return nil
}
