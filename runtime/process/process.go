package process

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image"
	"github.com/drover-io/drover/runtime/logs"
)

// DriverName and DriverVersion are what Version reports.
const (
	DriverName    = "process"
	DriverVersion = "0.1.0"
)

// Isolation is how much a Driver separates a container from the node.
type Isolation uint8

// The isolation levels.
const (
	// IsolationAuto is IsolationChroot when the driver runs as root and
	// IsolationNone otherwise.
	IsolationAuto Isolation = iota
	// IsolationNone runs the process on the node's filesystem, with its
	// working directory in the container's root filesystem copy.
	IsolationNone
	// IsolationChroot also chroots the process into its root filesystem
	// (root only), so absolute paths are the image's.
	IsolationChroot
)

// String names the isolation.
func (i Isolation) String() string {
	switch i {
	case IsolationNone:
		return "none"
	case IsolationChroot:
		return "chroot"
	}
	return "auto"
}

// Config configures a Driver.
type Config struct {
	// Root is the directory the driver keeps its state in (created if
	// missing); absolute. A new Driver on the same Root adopts the
	// sandboxes and containers of the one before.
	Root string
	// Images is the image store; nil opens one in Root/images that makes
	// root filesystems by copying (image.RootFSCopy), which needs no root
	// and leaves no mount behind.
	Images *image.Store
	// Isolation chooses whether processes are chrooted.
	Isolation Isolation
	// Logs is how container log files are written and rotated; the zero
	// value means logs.DefaultWriterConfig().
	Logs logs.WriterConfig
	// MonitorPath is the executable run as a container's monitor: a
	// program whose main calls RunMonitorIfRequested. "" means this
	// program (/proc/self/exe).
	MonitorPath string
	// Logger receives what the driver cannot return (a container record
	// it could not read at start); nil discards it.
	Logger *slog.Logger
}

// Validate says which field of c is wrong.
func (c Config) Validate() error {
	if c.Root == "" {
		return errors.New("process: Config.Root: empty, want a directory")
	}
	if !filepath.IsAbs(c.Root) {
		return fmt.Errorf("process: Config.Root %q: want an absolute path", c.Root)
	}
	if c.Isolation > IsolationChroot {
		return fmt.Errorf("process: Config.Isolation %d: want IsolationAuto, IsolationNone or IsolationChroot", c.Isolation)
	}
	if c.Isolation == IsolationChroot && os.Geteuid() != 0 {
		return fmt.Errorf("process: Config.Isolation is chroot: needs root (euid is %d); use IsolationNone or IsolationAuto", os.Geteuid())
	}
	if err := c.Logs.Validate(); err != nil {
		return fmt.Errorf("process: Config.Logs: %w", err)
	}
	return nil
}

// Driver runs containers as host processes. Its methods are safe for
// concurrent use.
type Driver struct {
	cfg         Config
	log         *slog.Logger
	images      *image.Store
	ownImages   bool // images was opened by New: Close closes it
	monitorPath string
	chroot      bool
	root        bool
	// memory: memory limits are enforced with cgroup v1.
	memory bool

	mu         sync.Mutex
	sandboxes  map[string]*sandboxRecord
	containers map[string]*container

	// pending counts the starts whose caller gave up (its context
	// ended) before the monitor answered; Close waits for them.
	pending sync.WaitGroup
}

// container is a container in memory.
type container struct {
	rec *containerRecord
	// state is nil until the container is started; once Exited it no
	// longer changes.
	state    *stateRecord
	starting bool
	// unknown is set when the monitor vanished without recording an
	// exit.
	unknown bool
}

var (
	_ runtime.Runtime       = (*Driver)(nil)
	_ runtime.ImageService  = (*Driver)(nil)
	_ runtime.Execer        = (*Driver)(nil)
	_ runtime.StatsProvider = (*Driver)(nil)
)

// New opens the driver's state under cfg.Root, adopting the sandboxes
// and containers (running or exited) a driver before it left there.
func New(cfg Config) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logs == (logs.WriterConfig{}) {
		cfg.Logs = logs.DefaultWriterConfig()
	}
	d := &Driver{
		cfg:         cfg,
		log:         cfg.Logger,
		images:      cfg.Images,
		monitorPath: cfg.MonitorPath,
		root:        os.Geteuid() == 0,
		memory:      memoryCgroups(),
		sandboxes:   map[string]*sandboxRecord{},
		containers:  map[string]*container{},
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.monitorPath == "" {
		d.monitorPath = "/proc/self/exe"
	}
	d.chroot = cfg.Isolation == IsolationChroot || (cfg.Isolation == IsolationAuto && d.root)
	for _, dir := range []string{"sandboxes", "containers"} {
		if err := os.MkdirAll(filepath.Join(cfg.Root, dir), 0o700); err != nil {
			return nil, fmt.Errorf("process: create state directory: %w", err)
		}
	}
	if d.images == nil {
		s, err := image.New(image.Config{Root: filepath.Join(cfg.Root, "images"), RootFS: image.RootFSCopy, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("process: %w", err)
		}
		d.images, d.ownImages = s, true
	}
	if err := d.load(); err != nil {
		return nil, err
	}
	return d, nil
}

// load reads the records of an earlier driver on the same root.
func (d *Driver) load() error {
	ents, err := os.ReadDir(filepath.Join(d.cfg.Root, "sandboxes"))
	if err != nil {
		return fmt.Errorf("process: %w", err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		var sb sandboxRecord
		if err := readJSON(filepath.Join(d.cfg.Root, "sandboxes", e.Name()), &sb); err != nil {
			d.log.Warn("process: skipping an unreadable sandbox record", "file", e.Name(), "err", err)
			continue
		}
		d.sandboxes[sb.ID] = &sb
	}
	ents, err = os.ReadDir(filepath.Join(d.cfg.Root, "containers"))
	if err != nil {
		return fmt.Errorf("process: %w", err)
	}
	for _, e := range ents {
		var rec containerRecord
		if err := readJSON(filepath.Join(d.containerDir(e.Name()), "container.json"), &rec); err != nil {
			// Half made by a CreateContainer that did not finish.
			d.log.Warn("process: removing a container without a record", "id", e.Name(), "err", err)
			_ = d.images.ReleaseRootFS(context.Background(), e.Name())
			_ = os.RemoveAll(d.containerDir(e.Name()))
			continue
		}
		c := &container{rec: &rec}
		var st stateRecord
		if err := readJSON(filepath.Join(d.containerDir(rec.ID), "state.json"), &st); err == nil {
			c.state = &st
		}
		d.containers[rec.ID] = c
	}
	return nil
}

// Close releases the driver. Its containers keep running under their
// monitors; a new Driver on the same Root adopts them. It waits for the
// answer of any monitor still starting a container for a StartContainer
// whose context ended. Closing twice is not an error.
func (d *Driver) Close() error {
	d.pending.Wait()
	reapMonitors()
	if d.ownImages {
		return d.images.Close()
	}
	return nil
}

// Root returns Config.Root.
func (d *Driver) Root() string { return d.cfg.Root }

// Images returns the driver's image store.
func (d *Driver) Images() *image.Store { return d.images }

// Isolation returns the isolation the driver's containers get
// (IsolationNone or IsolationChroot).
func (d *Driver) Isolation() Isolation {
	if d.chroot {
		return IsolationChroot
	}
	return IsolationNone
}

// EnforcesMemoryLimits says whether the driver enforces
// Resources.MemoryLimit (root and the cgroup v1 memory controller),
// reporting an OOM kill as runtime.ReasonOOMKilled.
func (d *Driver) EnforcesMemoryLimits() bool { return d.memory }

// Version returns "process" and DriverVersion.
func (d *Driver) Version(ctx context.Context) (runtime.Version, error) {
	return runtime.Version{Name: DriverName, Version: DriverVersion}, nil
}

func (d *Driver) containerDir(id string) string {
	return filepath.Join(d.cfg.Root, "containers", id)
}

func (d *Driver) sandboxPath(id string) string {
	return filepath.Join(d.cfg.Root, "sandboxes", id+".json")
}

// newID returns a random ID of 32 hex digits.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RunPodSandbox records a sandbox. It makes nothing else: a sandbox of
// this driver always has the node's network, IPC and PID namespaces and
// hostname (its Namespaces, Hostname, DNS, HostAliases, CgroupParent and
// Sysctls are ignored), and NetNSPath is "".
func (d *Driver) RunPodSandbox(ctx context.Context, cfg *runtime.SandboxConfig) (string, error) {
	if cfg == nil {
		return "", errors.New("process: RunPodSandbox: nil config")
	}
	if cfg.LogDirectory != "" && !filepath.IsAbs(cfg.LogDirectory) {
		return "", fmt.Errorf("process: sandbox of pod %s/%s: LogDirectory %q: want an absolute path", cfg.Metadata.Namespace, cfg.Metadata.Name, cfg.LogDirectory)
	}
	c := *cfg
	c.Labels, c.Annotations = maps.Clone(cfg.Labels), maps.Clone(cfg.Annotations)
	sb := &sandboxRecord{ID: newID(), Metadata: cfg.Metadata, Config: &c, CreatedAt: time.Now()}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := writeJSON(d.sandboxPath(sb.ID), sb); err != nil {
		return "", fmt.Errorf("process: record sandbox of pod %s/%s: %w", cfg.Metadata.Namespace, cfg.Metadata.Name, err)
	}
	d.sandboxes[sb.ID] = sb
	return sb.ID, nil
}

// StopPodSandbox kills the sandbox's containers with SIGKILL and marks it
// not ready.
func (d *Driver) StopPodSandbox(ctx context.Context, id string) error {
	d.mu.Lock()
	sb := d.sandboxes[id]
	if sb == nil {
		d.mu.Unlock()
		return nil
	}
	ids := d.containersOfLocked(id)
	d.mu.Unlock()
	for _, cid := range ids {
		if err := d.StopContainer(ctx, cid, runtime.StopOptions{Signal: 9}); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return fmt.Errorf("process: stop sandbox %s: %w", id, err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if sb.Stopped || d.sandboxes[id] != sb {
		return nil
	}
	next := *sb
	next.Stopped = true
	if err := writeJSON(d.sandboxPath(id), &next); err != nil {
		return fmt.Errorf("process: stop sandbox %s: %w", id, err)
	}
	*sb = next
	return nil
}

// RemovePodSandbox stops the sandbox and removes it with its containers.
func (d *Driver) RemovePodSandbox(ctx context.Context, id string) error {
	if err := d.StopPodSandbox(ctx, id); err != nil {
		return err
	}
	d.mu.Lock()
	ids := d.containersOfLocked(id)
	d.mu.Unlock()
	for _, cid := range ids {
		if err := d.RemoveContainer(ctx, cid); err != nil {
			return fmt.Errorf("process: remove sandbox %s: %w", id, err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.Remove(d.sandboxPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("process: remove sandbox %s: %w", id, err)
	}
	delete(d.sandboxes, id)
	return nil
}

func (d *Driver) containersOfLocked(sandboxID string) []string {
	var ids []string
	for id, c := range d.containers {
		if c.rec.SandboxID == sandboxID {
			ids = append(ids, id)
		}
	}
	return ids
}

// PodSandboxStatus returns the sandbox's status.
func (d *Driver) PodSandboxStatus(ctx context.Context, id string) (*runtime.SandboxStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	sb := d.sandboxes[id]
	if sb == nil {
		return nil, fmt.Errorf("process: sandbox %q: %w", id, runtime.ErrNotFound)
	}
	return sb.status(), nil
}

// ListPodSandboxes returns every sandbox.
func (d *Driver) ListPodSandboxes(ctx context.Context) ([]*runtime.SandboxStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*runtime.SandboxStatus, 0, len(d.sandboxes))
	for _, sb := range d.sandboxes {
		out = append(out, sb.status())
	}
	return out, nil
}

func (sb *sandboxRecord) status() *runtime.SandboxStatus {
	st := &runtime.SandboxStatus{
		ID:           sb.ID,
		Metadata:     sb.Metadata,
		State:        runtime.SandboxReady,
		CreatedAt:    sb.CreatedAt,
		LogDirectory: sb.Config.LogDirectory,
		Labels:       maps.Clone(sb.Config.Labels),
		Annotations:  maps.Clone(sb.Config.Annotations),
	}
	if sb.Stopped {
		st.State = runtime.SandboxNotReady
	}
	return st
}

// PullImage pulls through the image store.
func (d *Driver) PullImage(ctx context.Context, ref string, opts runtime.PullOptions) (*runtime.Image, error) {
	return d.images.PullImage(ctx, ref, opts)
}

// ImageStatus asks the image store.
func (d *Driver) ImageStatus(ctx context.Context, ref string) (*runtime.Image, error) {
	return d.images.ImageStatus(ctx, ref)
}

// ListImages asks the image store.
func (d *Driver) ListImages(ctx context.Context) ([]*runtime.Image, error) {
	return d.images.ListImages(ctx)
}

// RemoveImage removes through the image store, which refuses an image
// a container's root filesystem is made from.
func (d *Driver) RemoveImage(ctx context.Context, ref string) error {
	return d.images.RemoveImage(ctx, ref)
}
