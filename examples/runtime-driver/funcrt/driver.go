// Package funcrt is a runtime driver whose containers are Go functions:
// a program that embeds Drover registers Programs under image names, and
// the node agent schedules, starts, stops, logs and probes them as pods,
// with no container runtime, no root and no processes. It suits products
// that want Kubernetes-style scheduling and supervision of their own work
// units.
//
//	funcrt.Register("example.com/tasks/resize:v1", resize)
//	d, err := funcrt.New(funcrt.Config{})
//	// d is a runtime.Runtime, a runtime.ImageService and a runtime.Execer.
//
// It is written as a third party would write a driver, with only the
// public interfaces of package runtime and the log writer of
// runtime/logs, and it passes the conformance suite (runtime/runtimetest)
// for what it claims.
//
// What it cannot do, and says so:
//   - No isolation: a container is a goroutine of the agent's process.
//     Its mounts are only handed to it (Process.Mounts, Process.HostPath);
//     its working directory is advice; it shares the agent's memory,
//     files and network.
//   - No kill: Go cannot stop a goroutine. A stop ends the program's
//     context (or signals it, after Process.Notify), waits out the grace
//     period, then reports the container Exited with code 137 and
//     abandons the goroutine, which leaks until it returns.
//   - No stats and no memory limits: Go cannot measure one goroutine's
//     CPU or memory, so the driver does not implement
//     runtime.StatsProvider and ignores ContainerConfig.Resources.
//   - No persistence: State lives in memory. A driver restarted in the
//     same process (New with the old State) adopts everything; a restart
//     of the process loses every container, as the goroutines die with it.
package funcrt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/logs"
)

// Version is the driver's version, in runtime.Version.
const Version = "0.1.0"

// Clock is the driver's source of time: timestamps, grace periods and
// exec timeouts. fakeclock.Clock satisfies it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the Clock of package time.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config is what a Driver is made of.
type Config struct {
	// Registry holds the images; nil means the default registry (the
	// one Register fills).
	Registry *Registry
	// State is the node's containers; nil makes a new one. A Driver given
	// the State of another is that driver restarted.
	State *State
	// Clock is the source of time; nil means SystemClock.
	Clock Clock
	// Logs is how container log files are written and rotated; the zero
	// value means logs.DefaultWriterConfig().
	Logs logs.WriterConfig
	// Logger receives a line for each abandoned goroutine and recovered
	// panic; nil means discard.
	Logger *slog.Logger
}

// Driver is the funcrt runtime driver. Its methods are safe for
// concurrent use.
type Driver struct {
	s        *State
	registry *Registry
	clock    Clock
	logCfg   logs.WriterConfig
	log      *slog.Logger
}

var (
	_ runtime.Runtime      = (*Driver)(nil)
	_ runtime.ImageService = (*Driver)(nil)
	_ runtime.Execer       = (*Driver)(nil)
)

// New returns a driver of cfg.State, or of a new State.
func New(cfg Config) (*Driver, error) {
	if cfg.Logs == (logs.WriterConfig{}) {
		cfg.Logs = logs.DefaultWriterConfig()
	}
	if err := cfg.Logs.Validate(); err != nil {
		return nil, fmt.Errorf("funcrt: Config.Logs: %w", err)
	}
	if cfg.Registry == nil {
		cfg.Registry = defaultRegistry
	}
	if cfg.State == nil {
		cfg.State = NewState()
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logs.Clock == nil {
		cfg.Logs.Clock = cfg.Clock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Driver{s: cfg.State, registry: cfg.Registry, clock: cfg.Clock, logCfg: cfg.Logs, log: cfg.Logger}
	cfg.State.mu.Lock()
	cfg.State.current = d // the restarted driver records the exits of the old one's goroutines
	cfg.State.mu.Unlock()
	return d, nil
}

// State returns the driver's state, for a Driver that restarts it.
func (d *Driver) State() *State { return d.s }

// State is what a node's driver knows: sandboxes, containers (with their
// running goroutines) and pulled images. It outlives the Driver, as a
// node's containers outlive a restart of their runtime, but not the
// process.
type State struct {
	mu         sync.Mutex
	current    *Driver // the latest New of this State
	prefix     string
	seq        uint64
	sandboxes  map[string]*sandbox
	containers map[string]*container
	images     map[string]*registered // pulled, by ID
	refs       map[string]string      // pulled tag or digest reference → ID
}

// NewState returns an empty State.
func NewState() *State {
	var b [4]byte
	rand.Read(b[:])
	return &State{
		prefix:     hex.EncodeToString(b[:]),
		sandboxes:  map[string]*sandbox{},
		containers: map[string]*container{},
		images:     map[string]*registered{},
		refs:       map[string]string{},
	}
}

// newID returns an ID unique on the node: 32 hex digits.
func (s *State) newID() string {
	s.seq++
	return fmt.Sprintf("%s%024x", s.prefix, s.seq)
}

type sandbox struct {
	status runtime.SandboxStatus
}

type container struct {
	status runtime.ContainerStatus
	cfg    runtime.ContainerConfig
	image  *registered
	env    []string
	wd     string
	run    *run // while Running
}

// run is a running container's goroutine.
type run struct {
	sig            *signals
	ctx            context.Context
	stdout, stderr *gate
	log            *logs.Writer
	done           chan struct{} // closed once the container is Exited
}

// Version names the driver.
func (d *Driver) Version(context.Context) (runtime.Version, error) {
	return runtime.Version{Name: "funcrt", Version: Version}, nil
}

// RunPodSandbox records a sandbox. A funcrt sandbox has no namespaces:
// its network is the agent's (NetNSPath ""), and a PID namespace shared
// by the pod's containers is refused (runtime.ErrUnsupported).
func (d *Driver) RunPodSandbox(_ context.Context, cfg *runtime.SandboxConfig) (string, error) {
	if cfg.Namespaces.PIDMode() == runtime.NamespacePod {
		return "", fmt.Errorf("funcrt: sandbox of pod %s/%s: Namespaces.PID is pod: goroutines have no PID namespace to share: %w",
			cfg.Metadata.Namespace, cfg.Metadata.Name, runtime.ErrUnsupported)
	}
	if !filepath.IsAbs(cfg.LogDirectory) {
		return "", fmt.Errorf("funcrt: sandbox of pod %s/%s: LogDirectory %q: must be an absolute path", cfg.Metadata.Namespace, cfg.Metadata.Name, cfg.LogDirectory)
	}
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newID()
	s.sandboxes[id] = &sandbox{status: runtime.SandboxStatus{
		ID: id, Metadata: cfg.Metadata, State: runtime.SandboxReady, CreatedAt: d.clock.Now(),
		LogDirectory: cfg.LogDirectory, Labels: maps.Clone(cfg.Labels), Annotations: maps.Clone(cfg.Annotations),
	}}
	return id, nil
}

// StopPodSandbox kills the sandbox's running containers (Exited 137, at
// once) and marks it not ready.
func (d *Driver) StopPodSandbox(_ context.Context, id string) error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sb, ok := s.sandboxes[id]
	if !ok {
		return nil
	}
	for _, c := range s.containers {
		if c.status.SandboxID == id {
			d.killLocked(c, "the sandbox was stopped")
		}
	}
	sb.status.State = runtime.SandboxNotReady
	return nil
}

// RemovePodSandbox kills and forgets the sandbox's containers and the
// sandbox. Log files stay: the log directory is the caller's.
func (d *Driver) RemovePodSandbox(_ context.Context, id string) error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for cid, c := range s.containers {
		if c.status.SandboxID == id {
			d.killLocked(c, "its sandbox was removed")
			delete(s.containers, cid)
		}
	}
	delete(s.sandboxes, id)
	return nil
}

// PodSandboxStatus returns the sandbox's status.
func (d *Driver) PodSandboxStatus(_ context.Context, id string) (*runtime.SandboxStatus, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sb, ok := s.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("funcrt: sandbox %s: %w", id, runtime.ErrNotFound)
	}
	st := sb.status
	return &st, nil
}

// ListPodSandboxes returns every sandbox.
func (d *Driver) ListPodSandboxes(context.Context) ([]*runtime.SandboxStatus, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*runtime.SandboxStatus, 0, len(s.sandboxes))
	for _, sb := range s.sandboxes {
		st := sb.status
		out = append(out, &st)
	}
	return out, nil
}

// CreateContainer records a container of a pulled image. Resources and
// Security are accepted and not enforced (see the package doc).
func (d *Driver) CreateContainer(_ context.Context, sandboxID string, cfg *runtime.ContainerConfig) (string, error) {
	if cfg.Name == "" {
		return "", fmt.Errorf("funcrt: container in sandbox %s: Name is empty", sandboxID)
	}
	if cfg.LogPath == "" || filepath.IsAbs(cfg.LogPath) || !filepath.IsLocal(cfg.LogPath) {
		return "", fmt.Errorf("funcrt: container %q: LogPath %q: must be a relative path inside the sandbox's log directory", cfg.Name, cfg.LogPath)
	}
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sb, ok := s.sandboxes[sandboxID]
	if !ok {
		return "", fmt.Errorf("funcrt: container %q: sandbox %s: %w", cfg.Name, sandboxID, runtime.ErrNotFound)
	}
	if sb.status.State != runtime.SandboxReady {
		return "", fmt.Errorf("funcrt: container %q: sandbox %s is stopped: %w", cfg.Name, sandboxID, runtime.ErrSandboxNotReady)
	}
	img, ok := s.imageLocked(cfg.Image)
	if !ok {
		return "", fmt.Errorf("funcrt: container %q: image %q is not pulled: %w", cfg.Name, cfg.Image, runtime.ErrImageNotFound)
	}
	env := slices.Clone(img.img.Env)
	for _, kv := range cfg.Env {
		env = append(env, kv.Key+"="+kv.Value)
	}
	wd := cmpOr(cfg.WorkingDir, img.img.WorkingDir, "/")
	c := &container{
		cfg: *cfg, image: img, env: env, wd: wd,
		status: runtime.ContainerStatus{
			ID: s.newID(), SandboxID: sandboxID, Name: cfg.Name, Attempt: cfg.Attempt,
			State: runtime.ContainerCreated, Image: cfg.Image, ImageID: img.id, CreatedAt: d.clock.Now(),
			LogPath: filepath.Join(sb.status.LogDirectory, cfg.LogPath),
			Labels:  maps.Clone(cfg.Labels), Annotations: maps.Clone(cfg.Annotations),
		},
	}
	c.cfg.Mounts = slices.Clone(cfg.Mounts)
	s.containers[c.status.ID] = c
	return c.status.ID, nil
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// resolve finds the program that argv[0] names in img: Main, one of its
// Commands, or a builtin.
func resolve(img *registered, argv []string) (Program, error) {
	if len(argv) == 0 {
		return nil, errors.New("the command is empty")
	}
	switch name := argv[0]; {
	case name == MainName:
		return img.img.Main, nil
	case img.img.Commands[name] != nil:
		return img.img.Commands[name], nil
	case builtins[name] != nil:
		return builtins[name], nil
	default:
		cmds := append(slices.Sorted(maps.Keys(img.img.Commands)), MainName)
		return nil, fmt.Errorf("command %q is not a program of image %s (it has %s, and the builtins %s)",
			name, img.ref, strings.Join(cmds, ", "), strings.Join(slices.Sorted(maps.Keys(builtins)), ", "))
	}
}

// StartContainer starts the container's program in a goroutine of its
// own. A command that names no program of the image fails the start
// (runtime.ErrStartFailed): the container is Exited with code 127 and
// reason StartError.
func (d *Driver) StartContainer(_ context.Context, id string) error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.containers[id]
	if !ok {
		return fmt.Errorf("funcrt: container %s: %w", id, runtime.ErrNotFound)
	}
	if c.status.State != runtime.ContainerCreated {
		return fmt.Errorf("funcrt: container %s (%s) is %s: only a Created container can be started", id, c.status.Name, c.status.State)
	}
	now := d.clock.Now()
	c.status.StartedAt = now
	argv := runtime.ResolveArgs(runtime.ImageConfig{Entrypoint: []string{MainName}}, c.cfg.Command, c.cfg.Args)
	prog, err := resolve(c.image, argv)
	if err == nil {
		err = d.launchLocked(c, prog, argv)
	}
	if err != nil {
		c.status.State, c.status.FinishedAt = runtime.ContainerExited, now
		c.status.ExitCode, c.status.Reason, c.status.Message = 127, runtime.ReasonStartError, err.Error()
		return fmt.Errorf("funcrt: start container %s (%s): %s: %w", id, c.status.Name, err, runtime.ErrStartFailed)
	}
	return nil
}

// launchLocked opens the log and runs prog.
func (d *Driver) launchLocked(c *container, prog Program, argv []string) error {
	lw, err := logs.NewWriter(c.status.LogPath, d.logCfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{
		sig: newSignals(cancel), ctx: ctx, log: lw, done: make(chan struct{}),
		stdout: &gate{w: lw.Stdout()}, stderr: &gate{w: lw.Stderr()},
	}
	p := &Process{
		Args: argv, Env: slices.Clone(c.env), WorkingDir: c.wd, Stdin: strings.NewReader(""),
		Stdout: r.stdout, Stderr: r.stderr, Mounts: slices.Clone(c.cfg.Mounts), sig: r.sig,
	}
	c.run = r
	c.status.State = runtime.ContainerRunning
	id := c.status.ID
	go func() {
		code := d.call(ctx, prog, p, id)
		d.s.mu.Lock()
		defer d.s.mu.Unlock()
		d.s.current.finishLocked(c, r, code, "")
	}()
	return nil
}

// call runs prog, recovering a panic as exit code 2 with the panic on
// standard error.
func (d *Driver) call(ctx context.Context, prog Program, p *Process, id string) (code int) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(p.Stderr, "panic: %v\n\n%s", v, debug.Stack())
			d.log.Warn("funcrt: program panicked", "container", id, "panic", v)
			code = 2
		}
	}()
	return prog(ctx, p)
}

// finishLocked records the exit of r, unless the container was killed
// (and r abandoned) first.
func (d *Driver) finishLocked(c *container, r *run, code int, message string) {
	if c.run != r {
		return
	}
	c.run = nil
	r.stdout.shut()
	r.stderr.shut()
	if err := r.log.Close(); err != nil {
		d.log.Warn("funcrt: close log", "container", c.status.ID, "err", err)
	}
	r.sig.cancel()
	c.status.State, c.status.FinishedAt = runtime.ContainerExited, d.clock.Now()
	c.status.ExitCode, c.status.Message = int32(code), message
	c.status.Reason = runtime.ReasonCompleted
	if code != 0 {
		c.status.Reason = runtime.ReasonError
	}
	close(r.done)
}

// killLocked kills a running container: it ends the program's context,
// records exit code 137 and abandons the goroutine.
func (d *Driver) killLocked(c *container, why string) {
	r := c.run
	if r == nil {
		return
	}
	d.log.Info("funcrt: container killed; its goroutine is abandoned until it returns", "container", c.status.ID, "why", why)
	d.finishLocked(c, r, 137, "killed ("+why+"): its goroutine was abandoned and runs on until the program returns")
}

// StopContainer sends opts.Signal (SIGTERM when 0) to the program, which
// ends its context unless it called Process.Notify, waits up to
// opts.GracePeriod for the program to return, and then kills it: the
// container is Exited with code 137 and the goroutine is abandoned.
func (d *Driver) StopContainer(ctx context.Context, id string, opts runtime.StopOptions) error {
	s := d.s
	s.mu.Lock()
	c, ok := s.containers[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("funcrt: container %s: %w", id, runtime.ErrNotFound)
	}
	r := c.run
	if r == nil {
		s.mu.Unlock()
		return nil
	}
	sig := syscall.Signal(opts.Signal)
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if sig == syscall.SIGKILL || opts.GracePeriod <= 0 {
		d.killLocked(c, "stopped with no grace period")
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()

	r.sig.send(sig)
	select {
	case <-r.done:
		return nil
	case <-d.clock.After(opts.GracePeriod):
	case <-ctx.Done():
		return fmt.Errorf("funcrt: stop container %s: %w", id, ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.run == r {
		d.killLocked(c, fmt.Sprintf("it did not return within the grace period of %s after signal %d", opts.GracePeriod, int(sig)))
	}
	return nil
}

// RemoveContainer kills the container if it runs and forgets it.
func (d *Driver) RemoveContainer(_ context.Context, id string) error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.containers[id]; ok {
		d.killLocked(c, "it was removed")
		delete(s.containers, id)
	}
	return nil
}

// ContainerStatus returns the container's status.
func (d *Driver) ContainerStatus(_ context.Context, id string) (*runtime.ContainerStatus, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.containers[id]
	if !ok {
		return nil, fmt.Errorf("funcrt: container %s: %w", id, runtime.ErrNotFound)
	}
	st := c.status
	return &st, nil
}

// ListContainers returns the containers that match f.
func (d *Driver) ListContainers(_ context.Context, f runtime.ContainerFilter) ([]*runtime.ContainerStatus, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*runtime.ContainerStatus
	for _, c := range s.containers {
		if f.SandboxID != "" && c.status.SandboxID != f.SandboxID ||
			f.State != nil && c.status.State != *f.State {
			continue
		}
		match := true
		for k, v := range f.Labels {
			if got, ok := c.status.Labels[k]; !ok || got != v {
				match = false
				break
			}
		}
		if match {
			st := c.status
			out = append(out, &st)
		}
	}
	return out, nil
}

// Exec runs the program cmd[0] names (one of the image's, or a builtin)
// with the container's environment and working directory, and returns its
// exit code (127 for a name the image does not have). On opts.Timeout the
// program's context ends and Exec returns runtime.ErrTimeout at once,
// abandoning the goroutine; its later output is dropped. A stop of the
// container ends the context of its execs too.
func (d *Driver) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	s := d.s
	s.mu.Lock()
	c, ok := s.containers[id]
	if !ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("funcrt: exec in container %s: %w", id, runtime.ErrNotFound)
	}
	r := c.run
	if r == nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("funcrt: exec in container %s (%s), which is %s: %w", id, c.status.Name, c.status.State, runtime.ErrNotRunning)
	}
	prog, err := resolve(c.image, cmd)
	stdout, stderr := &gate{w: opts.Stdout}, &gate{w: opts.Stderr}
	if err != nil {
		s.mu.Unlock()
		fmt.Fprintf(stderr, "funcrt: exec: %v\n", err)
		return 127, nil
	}
	stdin := opts.Stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWithContainer := context.AfterFunc(r.ctx, cancel)
	defer stopWithContainer()
	p := &Process{
		Args: slices.Clone(cmd), Env: slices.Clone(c.env), WorkingDir: c.wd, Stdin: stdin,
		Stdout: stdout, Stderr: stderr, Mounts: slices.Clone(c.cfg.Mounts), sig: newSignals(cancel),
	}
	s.mu.Unlock()

	done := make(chan int, 1)
	go func() { done <- d.call(ectx, prog, p, id) }()
	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		timeout = d.clock.After(opts.Timeout)
	}
	abandon := func() { cancel(); stdout.shut(); stderr.shut() }
	select {
	case code := <-done:
		return code, nil
	case <-r.done:
		abandon()
		return 0, fmt.Errorf("funcrt: exec %q in container %s: the container exited first: %w", strings.Join(cmd, " "), id, runtime.ErrNotRunning)
	case <-timeout:
		abandon()
		return 0, fmt.Errorf("funcrt: exec %q in container %s: no exit within %s: %w", strings.Join(cmd, " "), id, opts.Timeout, runtime.ErrTimeout)
	case <-ctx.Done():
		abandon()
		return 0, fmt.Errorf("funcrt: exec %q in container %s: %w", strings.Join(cmd, " "), id, ctx.Err())
	}
}
