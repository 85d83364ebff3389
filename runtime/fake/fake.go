// Package fake is an in-memory runtime driver for tests and hollow nodes:
// it implements runtime.Runtime, runtime.ImageService, runtime.Execer and
// runtime.StatsProvider with no processes, no root and no disk but the
// containers' log files.
//
// A container's behaviour comes from a Script, chosen by the container's
// name or its image (Config.ByName, Config.ByImage): start delay, start
// failure, output, exit after a while with a code, OOM kill, ignoring
// SIGTERM, exec results. A container with no script runs its command
// through a tiny shell interpreter (see the commands of
// runtimetest.Shell), so the conformance suite runs against the fake as
// against a real driver. Images come from a Registry that many drivers
// share, with scripted pull delays and failures.
//
// Every timing runs on the Clock (use
// [github.com/drover-io/drover/client/workqueue/fakeclock] in tests): no
// goroutine sleeps for a container, a running container costs a few
// hundred bytes and at most one timer, so a process holds thousands of
// simulated nodes.
//
// Everything a driver knows is in its State. A new Driver given the same
// State is the driver restarted on the same node: it lists and adopts
// the sandboxes and containers, still running or exited with their
// codes.
package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/logs"
)

// Clock is the driver's source of time. fakeclock.Clock and
// workqueue.RealClock satisfy it. The driver calls AfterFunc with its
// lock held, and its callbacks take the lock: the clock must not hold a
// lock of its own while it runs f.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// SystemClock is the Clock of package time.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc calls time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Script is how a container behaves, instead of running its command.
// The zero Script starts at once and runs until stopped.
type Script struct {
	// StartDelay is how long StartContainer takes.
	StartDelay time.Duration
	// StartError, if not "", fails StartContainer with this message: the
	// container is Exited with reason StartError.
	StartError string
	// Stdout and Stderr are lines the container prints when it starts.
	Stdout, Stderr []string
	// Exit makes the container exit RunFor after it starts, with
	// ExitCode; without Exit it runs until stopped.
	Exit     bool
	RunFor   time.Duration
	ExitCode int32
	// OOM makes the container be killed RunFor after it starts for going
	// over its memory limit: exit code 137, reason OOMKilled.
	OOM bool
	// IgnoreTERM makes the container ignore SIGTERM: a graceful stop
	// waits for the whole grace period, then kills it.
	IgnoreTERM bool
	// MemoryBytes is the memory the container uses (1 MiB when 0) and
	// CPUMillicores the CPU (10 when 0), as ContainerStats reports them.
	MemoryBytes   uint64
	CPUMillicores uint64
	// Exec gives the result of Exec by command, its words joined by
	// spaces ("cat /tmp/healthy"); a command not in it is interpreted.
	Exec map[string]ExecResult
}

// ExecResult is the scripted result of an Exec.
type ExecResult struct {
	Stdout, Stderr string
	ExitCode       int
	// Duration is how long the command runs: over the exec's timeout,
	// Exec fails with runtime.ErrTimeout.
	Duration time.Duration
}

// Config is what a Driver is made of.
type Config struct {
	// State is the node's state; nil makes a new one on Clock. Give a
	// new Driver the State of another to simulate the driver's restart.
	State *State
	// Clock drives the timings of a new State; nil means SystemClock.
	// Ignored when State is given (the State keeps its clock).
	Clock Clock
	// Registry is where images are pulled from; nil means a registry
	// with Busybox only. Many drivers may share one.
	Registry *Registry
	// ByName and ByImage choose a container's Script by its name, then
	// by its image reference as CreateContainer was given it. They are
	// read, never written, and may be shared by many drivers.
	ByName, ByImage map[string]*Script
	// Logs is how container log files are written and rotated; the zero
	// value means logs.DefaultWriterConfig().
	Logs logs.WriterConfig
}

// Driver is the fake runtime driver. Its methods are safe for concurrent
// use.
type Driver struct {
	s        *State
	registry *Registry
	byName   map[string]*Script
	byImage  map[string]*Script
}

var (
	_ runtime.Runtime       = (*Driver)(nil)
	_ runtime.ImageService  = (*Driver)(nil)
	_ runtime.Execer        = (*Driver)(nil)
	_ runtime.StatsProvider = (*Driver)(nil)
)

// New returns a driver of cfg.State, or of a new State.
func New(cfg Config) (*Driver, error) {
	if cfg.Logs == (logs.WriterConfig{}) {
		cfg.Logs = logs.DefaultWriterConfig()
	}
	if err := cfg.Logs.Validate(); err != nil {
		return nil, fmt.Errorf("fake: Config.Logs: %w", err)
	}
	if cfg.State == nil {
		cfg.State = NewState(cfg.Clock)
	}
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry(Busybox)
	}
	if cfg.Logs.Clock == nil {
		cfg.Logs.Clock = cfg.State.clock
	}
	cfg.State.mu.Lock()
	cfg.State.logCfg = cfg.Logs
	cfg.State.mu.Unlock()
	return &Driver{s: cfg.State, registry: cfg.Registry, byName: cfg.ByName, byImage: cfg.ByImage}, nil
}

// State is what a node's driver knows: its sandboxes, containers and
// images, and the timers of its running containers. It outlives the
// Driver, as a node's containers outlive a restart of their runtime.
type State struct {
	clock Clock

	// logCfg is set by each New: the driver's config for log files.
	logCfg logs.WriterConfig

	mu         sync.Mutex
	prefix     string
	seq        uint64
	sandboxes  map[string]*sandbox
	containers map[string]*container
	images     map[string]*storedImage // by ID
	refs       map[string]string       // tag or digest reference → ID
}

// NewState returns an empty State whose timings run on clock (nil means
// SystemClock).
func NewState(clock Clock) *State {
	if clock == nil {
		clock = SystemClock{}
	}
	var b [4]byte
	rand.Read(b[:])
	return &State{
		clock:      clock,
		prefix:     hex.EncodeToString(b[:]),
		sandboxes:  map[string]*sandbox{},
		containers: map[string]*container{},
		images:     map[string]*storedImage{},
		refs:       map[string]string{},
	}
}

// newID returns an ID unique on the node, 32 hex digits.
func (s *State) newID() string {
	s.seq++
	return fmt.Sprintf("%s%024x", s.prefix, s.seq)
}

type sandbox struct {
	status     runtime.SandboxStatus
	hostname   string
	containers []*container
}

type container struct {
	status runtime.ContainerStatus
	sb     *sandbox
	script *Script
	argv   []string
	env    []string // "KEY=value", the image's then the container's
	wd     string
	mounts []runtime.Mount
	limit  int64

	starting bool     // StartContainer waits for the start delay
	proc     *process // while Running
	cpu      uint64   // CPU nanoseconds used until the last exit
}

// State returns the driver's state, for a new Driver that simulates this
// one's restart.
func (d *Driver) State() *State { return d.s }

// Version returns "fake", "0.1.0".
func (d *Driver) Version(ctx context.Context) (runtime.Version, error) {
	return runtime.Version{Name: "fake", Version: "0.1.0"}, nil
}

// RunPodSandbox records a Ready sandbox. The fake makes no namespaces:
// NetNSPath is "".
func (d *Driver) RunPodSandbox(ctx context.Context, cfg *runtime.SandboxConfig) (string, error) {
	if cfg == nil {
		return "", errors.New("fake: run sandbox: config is nil")
	}
	m := cfg.Metadata
	for _, f := range []struct{ name, value string }{{"name", m.Name}, {"namespace", m.Namespace}, {"uid", m.UID}} {
		if f.value == "" {
			return "", fmt.Errorf("fake: run sandbox: metadata.%s is empty: a pod sandbox needs its pod's name, namespace and uid", f.name)
		}
	}
	if cfg.LogDirectory != "" && !filepath.IsAbs(cfg.LogDirectory) {
		return "", fmt.Errorf("fake: run sandbox %s/%s: logDirectory %q is not an absolute path", m.Namespace, m.Name, cfg.LogDirectory)
	}
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newID()
	s.sandboxes[id] = &sandbox{
		hostname: cfg.Hostname,
		status: runtime.SandboxStatus{
			ID: id, Metadata: m, State: runtime.SandboxReady, CreatedAt: s.clock.Now(),
			LogDirectory: cfg.LogDirectory, Labels: maps.Clone(cfg.Labels), Annotations: maps.Clone(cfg.Annotations),
		},
	}
	return id, nil
}

// StopPodSandbox kills the sandbox's running containers and makes it
// NotReady.
func (d *Driver) StopPodSandbox(ctx context.Context, id string) error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.sandboxes[id]
	if sb == nil {
		return nil
	}
	for _, c := range sb.containers {
		if c.status.State == runtime.ContainerRunning {
			s.exit(c, 137, runtime.ReasonError, "killed: its sandbox was stopped")
		}
	}
	sb.status.State = runtime.SandboxNotReady
	return nil
}

// RemovePodSandbox kills and removes the sandbox's containers and the
// sandbox.
func (d *Driver) RemovePodSandbox(ctx context.Context, id string) error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.sandboxes[id]
	if sb == nil {
		return nil
	}
	for _, c := range sb.containers {
		s.removeLocked(c)
	}
	delete(s.sandboxes, id)
	return nil
}

// PodSandboxStatus returns the sandbox's status. Its maps are the
// driver's: read them, do not modify them.
func (d *Driver) PodSandboxStatus(ctx context.Context, id string) (*runtime.SandboxStatus, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.sandboxes[id]
	if sb == nil {
		return nil, fmt.Errorf("fake: pod sandbox %q: %w", id, runtime.ErrNotFound)
	}
	st := sb.status
	return &st, nil
}

// ListPodSandboxes returns every sandbox. Their maps are the driver's:
// read them, do not modify them.
func (d *Driver) ListPodSandboxes(ctx context.Context) ([]*runtime.SandboxStatus, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*runtime.SandboxStatus, 0, len(s.sandboxes))
	all := make([]runtime.SandboxStatus, len(s.sandboxes))
	i := 0
	for _, sb := range s.sandboxes {
		all[i] = sb.status
		out = append(out, &all[i])
		i++
	}
	return out, nil
}

// CreateContainer records a Created container.
func (d *Driver) CreateContainer(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig) (string, error) {
	if cfg == nil {
		return "", errors.New("fake: create container: config is nil")
	}
	if cfg.Name == "" {
		return "", fmt.Errorf("fake: create container in sandbox %s: name is empty", sandboxID)
	}
	if cfg.LogPath != "" && (filepath.IsAbs(cfg.LogPath) || slices.Contains(strings.Split(filepath.ToSlash(cfg.LogPath), "/"), "..")) {
		return "", fmt.Errorf("fake: create container %q: logPath %q must be relative to the sandbox's log directory, without \"..\"", cfg.Name, cfg.LogPath)
	}
	for i, m := range cfg.Mounts {
		if !strings.HasPrefix(m.ContainerPath, "/") {
			return "", fmt.Errorf("fake: create container %q: mounts[%d].containerPath %q is not absolute", cfg.Name, i, m.ContainerPath)
		}
	}
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.sandboxes[sandboxID]
	if sb == nil {
		return "", fmt.Errorf("fake: create container %q: pod sandbox %q: %w", cfg.Name, sandboxID, runtime.ErrNotFound)
	}
	if sb.status.State != runtime.SandboxReady {
		return "", fmt.Errorf("fake: create container %q: pod sandbox %s is not ready: %w", cfg.Name, sandboxID, runtime.ErrSandboxNotReady)
	}
	img := s.lookupImage(cfg.Image)
	if img == nil {
		return "", fmt.Errorf("fake: create container %q: image %q: %w", cfg.Name, cfg.Image, runtime.ErrImageNotFound)
	}
	script := d.byName[cfg.Name]
	if script == nil {
		script = d.byImage[cfg.Image]
	}
	id := s.newID()
	c := &container{
		sb:     sb,
		script: script,
		mounts: slices.Clone(cfg.Mounts),
		limit:  cfg.Resources.MemoryLimit,
		wd:     cmpOr(cfg.WorkingDir, img.image.Config.WorkingDir, "/"),
		status: runtime.ContainerStatus{
			ID: id, SandboxID: sandboxID, Name: cfg.Name, Attempt: cfg.Attempt, State: runtime.ContainerCreated,
			Image: cfg.Image, ImageID: img.image.ID, CreatedAt: s.clock.Now(),
			Labels: maps.Clone(cfg.Labels), Annotations: maps.Clone(cfg.Annotations),
		},
	}
	if script == nil {
		c.argv = runtime.ResolveArgs(img.image.Config, cfg.Command, cfg.Args)
	}
	if n := len(img.image.Config.Env) + len(cfg.Env); n > 0 {
		c.env = make([]string, 0, n)
		c.env = append(c.env, img.image.Config.Env...)
		for _, kv := range cfg.Env {
			c.env = append(c.env, kv.Key+"="+kv.Value)
		}
	}
	if sb.status.LogDirectory != "" && cfg.LogPath != "" {
		c.status.LogPath = filepath.Join(sb.status.LogDirectory, cfg.LogPath)
	}
	s.containers[id] = c
	sb.containers = append(sb.containers, c)
	return id, nil
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// StartContainer starts a Created container: after its script's start
// delay, it runs its script or its command.
func (d *Driver) StartContainer(ctx context.Context, id string) error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.containers[id]
	if c == nil {
		return fmt.Errorf("fake: start container %q: %w", id, runtime.ErrNotFound)
	}
	if c.status.State != runtime.ContainerCreated || c.starting {
		return fmt.Errorf("fake: start container %s: it is %s: only a Created container can start", id, c.status.State)
	}
	if c.sb.status.State != runtime.SandboxReady {
		return fmt.Errorf("fake: start container %s: its pod sandbox %s is not ready: %w", id, c.sb.status.ID, runtime.ErrSandboxNotReady)
	}
	if c.script != nil && c.script.StartDelay > 0 {
		c.starting = true
		ready := make(chan struct{})
		stop := s.clock.AfterFunc(c.script.StartDelay, func() { close(ready) })
		s.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			stop()
		}
		s.mu.Lock()
		c.starting = false
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("fake: start container %s: %w", id, err)
		}
		if s.containers[id] != c || c.status.State != runtime.ContainerCreated {
			return fmt.Errorf("fake: start container %s: removed or stopped while it started", id)
		}
	}
	return s.start(c)
}

// StopContainer signals the container, and kills it when the grace
// period passes. A container that is not running is left as it is.
func (d *Driver) StopContainer(ctx context.Context, id string, opts runtime.StopOptions) error {
	s := d.s
	s.mu.Lock()
	c := s.containers[id]
	if c == nil {
		s.mu.Unlock()
		return fmt.Errorf("fake: stop container %q: %w", id, runtime.ErrNotFound)
	}
	p := c.proc
	if p == nil {
		s.mu.Unlock()
		return nil
	}
	sig := opts.Signal
	if sig == 0 {
		sig = 15
	}
	if opts.GracePeriod <= 0 {
		sig = 9
	}
	s.signal(c, sig)
	if c.proc != p {
		s.mu.Unlock()
		return nil
	}
	p.timers = append(p.timers, s.clock.AfterFunc(opts.GracePeriod, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c.proc == p {
			s.exit(c, 137, runtime.ReasonError, "killed after its grace period")
		}
	}))
	done := p.exited()
	s.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fake: stop container %s: %w", id, ctx.Err())
	}
}

// RemoveContainer kills the container if it runs and forgets it. Its log
// file stays.
func (d *Driver) RemoveContainer(ctx context.Context, id string) error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.containers[id]; c != nil {
		s.removeLocked(c)
		c.sb.containers = slices.DeleteFunc(c.sb.containers, func(o *container) bool { return o == c })
	}
	return nil
}

// removeLocked kills c and forgets it; the caller drops it from its
// sandbox's list.
func (s *State) removeLocked(c *container) {
	if c.proc != nil {
		s.exit(c, 137, runtime.ReasonError, "killed: removed")
	}
	delete(s.containers, c.status.ID)
}

// ContainerStatus returns the container's status. Its maps are the
// driver's: read them, do not modify them.
func (d *Driver) ContainerStatus(ctx context.Context, id string) (*runtime.ContainerStatus, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.containers[id]
	if c == nil {
		return nil, fmt.Errorf("fake: container %q: %w", id, runtime.ErrNotFound)
	}
	st := c.status
	return &st, nil
}

// ListContainers returns the containers that match f. Their maps are the
// driver's: read them, do not modify them.
func (d *Driver) ListContainers(ctx context.Context, f runtime.ContainerFilter) ([]*runtime.ContainerStatus, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var from []*container
	if f.SandboxID != "" {
		if sb := s.sandboxes[f.SandboxID]; sb != nil {
			from = sb.containers
		}
	} else {
		from = make([]*container, 0, len(s.containers))
		for _, c := range s.containers {
			from = append(from, c)
		}
	}
	var matched []runtime.ContainerStatus
	for _, c := range from {
		if f.State != nil && c.status.State != *f.State {
			continue
		}
		if !matchLabels(c.status.Labels, f.Labels) {
			continue
		}
		if matched == nil {
			matched = make([]runtime.ContainerStatus, 0, len(from))
		}
		matched = append(matched, c.status)
	}
	out := make([]*runtime.ContainerStatus, len(matched))
	for i := range matched {
		out[i] = &matched[i]
	}
	return out, nil
}

func matchLabels(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}
