package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image"
)

// Driver runs pod sandboxes and containers with an OCI runtime (runc or
// crun). It implements runtime.Runtime, runtime.ImageService (through
// an image.Store), runtime.Execer and runtime.StatsProvider. All methods
// are safe for concurrent use.
type Driver struct {
	cfg         Config
	log         *slog.Logger
	images      *image.Store
	ownImages   bool // images was opened by New: Close closes it
	runtimeBin  string
	runtimeName string
	shim        string
	cgroups     cgroupMounts
	allCaps     []string // the capabilities this node can grant

	mu         sync.Mutex
	sandboxes  map[string]*sandboxRecord
	containers map[string]*container
	userDBs    map[string]*userDB // by image ID

	spareMu sync.Mutex
	spare   *shimProcess // started ahead of the next CreateContainer
	// refilling: a goroutine is starting the next spare.
	refilling bool
	closed    bool
	spareWG   sync.WaitGroup
	// fs is the spare root filesystems (sparefs.go).
	fs spareFSState
}

// container is a container the driver knows; rec is guarded by
// Driver.mu, op serialises its lifecycle calls.
type container struct {
	op  sync.Mutex
	dir string
	rec containerRecord
	// created is what the monitor said of `runc create` when this
	// driver created the container (nil for an adopted one: its
	// create.json says it); set before the container is published.
	created *createRecord
}

var (
	_ runtime.Runtime       = (*Driver)(nil)
	_ runtime.ImageService  = (*Driver)(nil)
	_ runtime.Execer        = (*Driver)(nil)
	_ runtime.StatsProvider = (*Driver)(nil)
)

// New makes a driver on cfg.Root, adopting the sandboxes and containers
// an earlier driver left there: running containers keep running (their
// monitors hold them), exited ones keep their exit status and logs.
func New(cfg Config) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, log: cfg.Logger, sandboxes: map[string]*sandboxRecord{}, containers: map[string]*container{}, userDBs: map[string]*userDB{},
		fs: spareFSState{spares: map[string]*spareFS{}, making: map[string]chan struct{}{}}}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	bin, err := findRuntime(cfg.Runtime)
	if err != nil {
		return nil, err
	}
	d.runtimeBin, d.runtimeName = bin, filepath.Base(bin)
	d.shim = cfg.ShimPath
	if d.shim == "" {
		if d.shim, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("oci: find this executable to run as the container monitor: %w", err)
		}
	}
	for _, dir := range []string{d.sandboxDir(""), d.containerDir(""), d.netnsDir(), cfg.StateDir} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("oci: create %s: %w", dir, err)
		}
	}
	d.images = cfg.Images
	if d.images == nil {
		if d.images, err = image.New(image.Config{Root: filepath.Join(cfg.Root, "images"), Logger: cfg.Logger}); err != nil {
			return nil, fmt.Errorf("oci: %w", err)
		}
		d.ownImages = true
	}
	if d.cgroups, err = readCgroupMounts(); err != nil {
		return nil, fmt.Errorf("oci: find cgroup hierarchies: %w", err)
	}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
				if mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil {
					d.allCaps = boundingCapabilities(mask)
				}
			}
		}
	}
	if err := d.load(); err != nil {
		return nil, err
	}
	return d, nil
}

// findRuntime resolves Config.Runtime.
func findRuntime(name string) (string, error) {
	if filepath.IsAbs(name) {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("oci: Config.Runtime %q: %w", name, err)
		}
		return name, nil
	}
	names := []string{name}
	if name == "" {
		names = []string{"runc", "crun"}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("oci: Config.Runtime %q: %s not found on PATH (apt install runc)", name, strings.Join(names, " or "))
}

// RuntimePath returns the OCI runtime binary the driver runs.
func (d *Driver) RuntimePath() string { return d.runtimeBin }

// Images returns the driver's image store.
func (d *Driver) Images() *image.Store { return d.images }

func (d *Driver) sandboxDir(id string) string {
	return filepath.Join(d.cfg.Root, "sandboxes", id)
}

func (d *Driver) containerDir(id string) string {
	return filepath.Join(d.cfg.Root, "containers", id)
}

func (d *Driver) netnsDir() string { return filepath.Join(d.cfg.Root, "netns") }

// load reads the sandboxes and containers an earlier driver left.
func (d *Driver) load() error {
	ents, _ := os.ReadDir(d.sandboxDir(""))
	for _, e := range ents {
		if !validID(e.Name()) {
			continue
		}
		var r sandboxRecord
		ok, err := readJSON(filepath.Join(d.sandboxDir(e.Name()), "sandbox.json"), &r)
		if err != nil || !ok || r.ID != e.Name() {
			d.log.Warn("oci: skipping a sandbox directory with no readable record", "dir", e.Name(), "err", err)
			continue
		}
		d.sandboxes[r.ID] = &r
	}
	ents, _ = os.ReadDir(d.containerDir(""))
	for _, e := range ents {
		if !validID(e.Name()) {
			continue
		}
		c := &container{dir: d.containerDir(e.Name())}
		ok, err := readJSON(filepath.Join(c.dir, containerFile), &c.rec)
		_, serr := os.Stat(filepath.Join(c.dir, spareFSFile))
		spare := serr == nil
		switch {
		case err == nil && ok && c.rec.ID == e.Name():
			d.containers[c.rec.ID] = c
			if spare { // taken by this container just before a crash
				_ = os.Remove(filepath.Join(c.dir, spareFSFile))
			}
		case err == nil && !ok && spare:
			// A spare root filesystem an earlier driver made and no
			// container took.
			d.releaseSpareDir(e.Name())
		default:
			// Empty (a spare's, from a crash before its marker was
			// written or while it was being removed), it goes.
			if os.Remove(c.dir) != nil {
				d.log.Warn("oci: skipping a container directory with no readable record", "dir", e.Name(), "err", err)
			}
		}
	}
	return nil
}

// runtimeCmd runs the OCI runtime with args and returns its combined
// output.
func (d *Driver) runtimeCmd(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, d.runtimeBin, append([]string{"--root", d.cfg.StateDir}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", d.runtimeName, args[0], err, bytes.TrimSpace(out))
	}
	return out, nil
}

// Version runs `<runtime> --version`.
func (d *Driver) Version(ctx context.Context) (runtime.Version, error) {
	out, err := exec.CommandContext(ctx, d.runtimeBin, "--version").Output()
	if err != nil {
		return runtime.Version{}, fmt.Errorf("oci: %s --version: %w", d.runtimeBin, err)
	}
	return parseVersion(d.runtimeName, out), nil
}

// parseVersion reads "runc version 1.1.5+ds1" (the first line).
func parseVersion(name string, out []byte) runtime.Version {
	first, _, _ := strings.Cut(string(out), "\n")
	f := strings.Fields(first)
	v := runtime.Version{Name: name}
	if len(f) >= 3 && f[1] == "version" {
		v.Name, v.Version = f[0], f[2]
	} else if len(f) > 0 {
		v.Version = f[len(f)-1]
	}
	return v
}

// CreateContainer makes the container's root filesystem and bundle and
// starts its monitor, which runs `runc create`. A command that cannot be
// run is reported by StartContainer (ErrStartFailed).
func (d *Driver) CreateContainer(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig) (id string, err error) {
	if cfg == nil {
		return "", errors.New("oci: CreateContainer: nil config")
	}
	sb, ok := d.sandbox(sandboxID)
	if !ok {
		return "", fmt.Errorf("oci: sandbox %q: %w", sandboxID, runtime.ErrNotFound)
	}
	d.mu.Lock()
	stopped := sb.Stopped
	d.mu.Unlock()
	if stopped {
		return "", fmt.Errorf("oci: create container %q: sandbox %s is stopped: %w", cfg.Name, sandboxID, runtime.ErrSandboxNotReady)
	}
	if cfg.LogPath == "" || filepath.IsAbs(cfg.LogPath) || !filepath.IsLocal(cfg.LogPath) {
		return "", fmt.Errorf("oci: container %q: LogPath %q: want a path relative to the sandbox's log directory, without \"..\"", cfg.Name, cfg.LogPath)
	}
	img, err := d.images.ImageStatus(ctx, cfg.Image)
	if err != nil {
		return "", fmt.Errorf("oci: container %q: %w", cfg.Name, err)
	}
	stopSignal, err := parseSignal(img.Config.StopSignal)
	if err != nil {
		return "", fmt.Errorf("oci: container %q: image %s: StopSignal %q: %w", cfg.Name, img.ID, img.Config.StopSignal, err)
	}

	id, rootfs := d.takeSpareFS(img.ID)
	if id == "" {
		id = newID()
	}
	c := &container{dir: d.containerDir(id)}
	// cid, not the result id, which a failed return sets to "".
	cid := id
	defer func() {
		if err != nil {
			_, _ = d.runtimeCmd(context.Background(), "delete", "--force", cid)
			_ = d.images.ReleaseRootFS(context.Background(), cid)
			_ = os.RemoveAll(c.dir)
		}
	}()
	if err := os.MkdirAll(filepath.Join(c.dir, bundleDir), 0o700); err != nil {
		return "", fmt.Errorf("oci: container %s: %w", id, err)
	}
	shim, err := d.takeShim()
	if err != nil {
		return "", fmt.Errorf("oci: container %s: %w", id, err)
	}
	cgroupsPath := "/" + path.Join(d.cfg.CgroupParent, sb.Config.CgroupParent, id)
	logPath := filepath.Join(sb.Config.LogDirectory, cfg.LogPath)
	sc := shimConfig{
		Runtime: d.runtimeBin, RuntimeRoot: d.cfg.StateDir, ID: id,
		LogPath: logPath, LogMaxSize: d.cfg.Logs.MaxSize, LogMaxFiles: d.cfg.Logs.MaxFiles,
		MemoryCgroup: d.cgroups.memoryDir(cgroupsPath),
	}
	if d.runtimeName == "runc" {
		sc.RuncState = filepath.Join(d.cfg.StateDir, id, "state.json")
	}
	shimRun, sent := false, false
	defer func() {
		if !shimRun {
			shim.abort()
			if sent {
				shim.wait() // before the directory it writes in is removed
			}
		}
		// The next spare is started once this container is started
		// (StartContainer): starting it now would compete for the CPU
		// with the start. A failed create starts it now.
		if err != nil {
			d.refillSpare()
		}
	}()
	// The monitor gets ready while the bundle is made.
	sent = true
	if err := shim.send(c.dir, sc); err != nil {
		return "", fmt.Errorf("oci: container %s: %w", id, err)
	}
	c.rec = containerRecord{
		ID: id, SandboxID: sandboxID, Config: *cfg, ImageID: img.ID, CreatedAt: time.Now(),
		LogPath:     logPath,
		CgroupsPath: cgroupsPath, StopSignal: stopSignal,
	}
	c.rec.Config.Labels, c.rec.Config.Annotations = cloneMap(cfg.Labels), cloneMap(cfg.Annotations)
	if err := writeJSON(filepath.Join(c.dir, containerFile), &c.rec); err != nil {
		return "", fmt.Errorf("oci: container %s: %w", id, err)
	}
	if rootfs == "" {
		if rootfs, _, err = d.images.RootFS(ctx, img.ID, id); err != nil {
			return "", fmt.Errorf("oci: container %q: %w", cfg.Name, err)
		}
	} else {
		// A spare's: the container's record stands for it now.
		_ = os.Remove(filepath.Join(c.dir, spareFSFile))
	}
	users, err := d.userDB(img.ID, rootfs)
	if err != nil {
		return "", fmt.Errorf("oci: container %q: %w", cfg.Name, err)
	}
	user, err := users.resolve(img.Config.User, cfg.Security)
	if err != nil {
		return "", fmt.Errorf("oci: container %q: %w", cfg.Name, err)
	}
	spec, err := buildSpec(specInput{Container: cfg, Image: img.Config, Rootfs: rootfs, User: user, Sandbox: sb, CgroupsPath: cgroupsPath, AllCaps: d.allCaps})
	if err != nil {
		return "", err
	}
	if err := writeJSON(filepath.Join(c.dir, bundleDir, "config.json"), spec); err != nil {
		return "", fmt.Errorf("oci: container %s: write bundle: %w", id, err)
	}
	shimRun = true
	cr, err := shim.run(ctx, c.dir)
	if err != nil {
		return "", fmt.Errorf("oci: container %s: %w", id, err)
	}
	c.created = &cr
	d.mu.Lock()
	d.containers[id] = c
	d.mu.Unlock()
	return id, nil
}

// maxUserDBs bounds the user databases the driver keeps, one per image.
const maxUserDBs = 32

// userDB returns the user database (/etc/passwd and /etc/group) of image
// imageID, read from rootfs, a root filesystem just made from it, the
// first time: an image's files do not change, and a new container's root
// filesystem holds them as they are.
func (d *Driver) userDB(imageID, rootfs string) (*userDB, error) {
	d.mu.Lock()
	db := d.userDBs[imageID]
	d.mu.Unlock()
	if db != nil {
		return db, nil
	}
	db, err := loadUserDB(rootfs)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if len(d.userDBs) >= maxUserDBs {
		clear(d.userDBs)
	}
	d.userDBs[imageID] = db
	d.mu.Unlock()
	return db, nil
}

func (d *Driver) lookup(id string) (*container, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.containers[id]
	if !ok {
		return nil, fmt.Errorf("oci: container %q: %w", id, runtime.ErrNotFound)
	}
	return c, nil
}

// createRecord returns what c's monitor said of `runc create`: kept
// in memory when this driver created c, else read from its create.json.
func (d *Driver) createRecord(c *container) (createRecord, bool) {
	if c.created != nil {
		return *c.created, true
	}
	var cr createRecord
	ok, _ := readJSON(filepath.Join(c.dir, createFile), &cr)
	return cr, ok
}

// status derives c's status from its files.
func (d *Driver) status(c *container) *runtime.ContainerStatus {
	cr, haveCR := d.createRecord(c)
	var er exitRecord
	haveER, _ := readJSON(filepath.Join(c.dir, exitFile), &er)
	alive := !haveER && lockAlive(filepath.Join(c.dir, lockFile))
	d.mu.Lock()
	rec := c.rec
	d.mu.Unlock()
	crp, erp := &cr, &er
	if !haveCR {
		crp = nil
	}
	if !haveER {
		erp = nil
	}
	return containerStatus(&rec, crp, erp, alive)
}

// StartContainer starts a Created container (see start). When its
// `runc create` failed (no such command, say) it returns an error
// matching ErrStartFailed and the container is Exited with reason
// StartError.
func (d *Driver) StartContainer(ctx context.Context, id string) error {
	c, err := d.lookup(id)
	if err != nil {
		return err
	}
	// The spare monitor taken by CreateContainer is replaced once the
	// start is done (deferred calls run last first), and a spare root
	// filesystem is made from this container's image.
	defer d.refillSpare()
	d.mu.Lock()
	image := c.rec.ImageID
	d.mu.Unlock()
	defer d.refillSpareFS(image)
	c.op.Lock()
	defer c.op.Unlock()
	if st := d.status(c); st.State != runtime.ContainerCreated {
		return fmt.Errorf("oci: start container %s: it is %s, not Created", id, st.State)
	}
	cr, _ := d.createRecord(c)
	if cr.Error != "" {
		return d.startFailed(c, cr.Error)
	}
	d.mu.Lock()
	c.rec.StartedAt = time.Now()
	rec := c.rec
	d.mu.Unlock()
	// The record is written while the process starts.
	recorded := make(chan error, 1)
	go func() { recorded <- writeJSON(filepath.Join(c.dir, containerFile), &rec) }()
	err = d.start(ctx, id, cr.Pid)
	if rerr := <-recorded; rerr != nil && err == nil {
		// Started: a driver that adopts it must not take it for Created.
		if rerr = writeJSON(filepath.Join(c.dir, containerFile), &rec); rerr != nil {
			d.log.Warn("oci: record a container's start", "container", id, "err", rerr)
		}
	}
	if err != nil {
		// A container that exits at once may be deleted by its monitor
		// before runc start is done with it: it started, and its monitor
		// is about to record its exit.
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_ = d.waitExit(wctx, c)
		cancel()
		if _, serr := os.Stat(filepath.Join(c.dir, exitFile)); serr == nil {
			return nil
		}
		_, _ = d.runtimeCmd(context.Background(), "kill", id, "KILL")
		return d.startFailed(c, err.Error())
	}
	return nil
}

// start starts a created container the way `runc start` does, without
// the cost of running the runtime again: runc and crun keep a created
// container's first process blocked on opening the exec.fifo of its
// state directory for writing; opening it for reading, reading the byte
// the process writes and removing it lets the process exec the
// container's command. When there is no such fifo (another runtime) it
// runs `<runtime> start`.
func (d *Driver) start(ctx context.Context, id string, pid int) error {
	fifo := filepath.Join(d.cfg.StateDir, id, "exec.fifo")
	if st, err := os.Stat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 || pid <= 0 {
		_, err := d.runtimeCmd(ctx, "start", id)
		return err
	}
	type opened struct {
		f   *os.File
		err error
	}
	openc := make(chan opened, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_RDONLY, 0)
		openc <- opened{f, err}
	}()
	// unblock ends the open when the process will never write.
	unblock := func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		if r := <-openc; r.f != nil {
			r.f.Close()
		}
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r := <-openc:
			if r.err != nil {
				return fmt.Errorf("open %s: %w", fifo, r.err)
			}
			data, err := io.ReadAll(r.f)
			r.f.Close()
			if err != nil || len(data) == 0 {
				return fmt.Errorf("the container's process exited before it was started")
			}
			if err := os.Remove(fifo); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		case <-tick.C:
			if !processAlive(pid) {
				unblock()
				return fmt.Errorf("the container's process exited before it was started")
			}
		case <-ctx.Done():
			unblock()
			return ctx.Err()
		}
	}
}

// processAlive says whether pid runs (and is not a zombie).
func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i >= 0 && i+2 < len(data) && data[i+2] != 'Z'
}

// startFailed records that c could not start.
func (d *Driver) startFailed(c *container, msg string) error {
	d.mu.Lock()
	c.rec.StartError = msg
	if c.rec.StartedAt.IsZero() {
		c.rec.StartedAt = time.Now()
	}
	rec := c.rec
	d.mu.Unlock()
	if err := writeJSON(filepath.Join(c.dir, containerFile), &rec); err != nil {
		return fmt.Errorf("oci: start container %s: %s; and recording it: %v: %w", c.rec.ID, msg, err, runtime.ErrStartFailed)
	}
	return fmt.Errorf("oci: start container %s: %s: %w", rec.ID, msg, runtime.ErrStartFailed)
}

// StopContainer signals the container (opts.Signal, the image's stop
// signal or SIGTERM), waits up to the grace period, kills it with
// SIGKILL and waits for its monitor to record the exit.
func (d *Driver) StopContainer(ctx context.Context, id string, opts runtime.StopOptions) error {
	c, err := d.lookup(id)
	if err != nil {
		return err
	}
	return d.stop(ctx, c, opts)
}

func (d *Driver) stop(ctx context.Context, c *container, opts runtime.StopOptions) error {
	c.op.Lock()
	defer c.op.Unlock()
	st := d.status(c)
	if st.State == runtime.ContainerExited || st.State == runtime.ContainerUnknown {
		return nil
	}
	if st.State == runtime.ContainerCreated {
		if cr, _ := d.createRecord(c); cr.Error != "" {
			return nil // nothing runs
		}
	}
	id := c.rec.ID
	sig := opts.Signal
	if sig == 0 {
		d.mu.Lock()
		sig = c.rec.StopSignal
		d.mu.Unlock()
	}
	if sig == 0 {
		sig = int(unix.SIGTERM)
	}
	if opts.GracePeriod <= 0 {
		sig = int(unix.SIGKILL)
	}
	if sig != int(unix.SIGKILL) {
		cr, _ := d.createRecord(c)
		wctx, cancel := context.WithTimeout(ctx, opts.GracePeriod)
		err := d.signalUntilExit(wctx, c, cr.Pid, sig)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("oci: stop container %s: %w", id, ctx.Err())
		}
	}
	if _, err := d.runtimeCmd(ctx, "kill", id, "KILL"); err != nil {
		d.log.Debug("oci: kill container", "id", id, "err", err)
	}
	if err := d.waitExit(ctx, c); err != nil {
		return fmt.Errorf("oci: stop container %s: %w", id, err)
	}
	return nil
}

// signalUntilExit sends sig to the container and waits for it to exit.
// The kernel discards a signal sent to a PID namespace's first process
// that has no handler for it: a process that installs its handler just
// after the send (a shell running `trap ... TERM` as it starts) would
// never see it. So while the first process has no handler for sig, the
// signal is sent again, until one send finds the handler in place (a
// process that installs its handler between a check and a send may get
// it twice).
func (d *Driver) signalUntilExit(ctx context.Context, c *container, pid, sig int) error {
	id := c.rec.ID
	delivered := false
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		if !delivered {
			caught := pid > 0 && d.signalCaught(pid, sig)
			if _, err := d.runtimeCmd(ctx, "kill", id, strconv.Itoa(sig)); err != nil {
				d.log.Debug("oci: signal container", "id", id, "err", err)
			}
			delivered = caught || pid <= 0
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		err := d.waitExit(wctx, c)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

// signalCaught says whether process pid has a handler for sig. A
// process that is still the runtime's init ("runc:[2:INIT]", about to
// exec the container's command) has not: the exec drops its handlers
// and, for a namespace's first process, the pending signal.
func (d *Driver) signalCaught(pid, sig int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return false
	}
	if c := strings.TrimSpace(string(comm)); c == d.runtimeName || strings.HasPrefix(c, d.runtimeName+":") {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && sig >= 1 && sig <= 64 && mask&(1<<(sig-1)) != 0
		}
	}
	return false
}

// errShimGone is waitExit's error for a monitor that ended without an
// exit record: one whose runc create failed, or one that was killed.
var errShimGone = errors.New("its monitor exited without recording an exit status")

// waitExit waits until c's monitor has recorded its exit (or is gone).
func (d *Driver) waitExit(ctx context.Context, c *container) error {
	exitPath, lockPath := filepath.Join(c.dir, exitFile), filepath.Join(c.dir, lockFile)
	for delay := 500 * time.Microsecond; ; delay = min(2*delay, 20*time.Millisecond) {
		if _, err := os.Stat(exitPath); err == nil {
			return nil
		}
		if !lockAlive(lockPath) {
			if _, err := os.Stat(exitPath); err == nil {
				return nil
			}
			return fmt.Errorf("container %s: %w", c.rec.ID, errShimGone)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RemoveContainer kills the container if it runs, deletes it from the
// OCI runtime, releases its root filesystem and removes its directory.
// Its log file is kept.
func (d *Driver) RemoveContainer(ctx context.Context, id string) error {
	d.mu.Lock()
	c, ok := d.containers[id]
	d.mu.Unlock()
	if !ok {
		return nil
	}
	return d.remove(ctx, c)
}

func (d *Driver) remove(ctx context.Context, c *container) error {
	if err := d.stop(ctx, c, runtime.StopOptions{Signal: int(unix.SIGKILL)}); err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	id := c.rec.ID
	// A monitor whose runc create failed, or one finishing up, goes
	// first.
	if err := d.waitExit(ctx, c); err != nil && !errors.Is(err, errShimGone) {
		return fmt.Errorf("oci: remove container %s: %w", id, err)
	}
	_, _ = d.runtimeCmd(ctx, "delete", "--force", id)
	if err := d.images.ReleaseRootFS(ctx, id); err != nil {
		return fmt.Errorf("oci: remove container %s: %w", id, err)
	}
	d.cgroups.removeDirs(c.rec.CgroupsPath, path.Dir(c.rec.CgroupsPath))
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("oci: remove container %s: %w", id, err)
	}
	d.mu.Lock()
	delete(d.containers, id)
	d.mu.Unlock()
	return nil
}

// ContainerStatus returns the container's status.
func (d *Driver) ContainerStatus(ctx context.Context, id string) (*runtime.ContainerStatus, error) {
	c, err := d.lookup(id)
	if err != nil {
		return nil, err
	}
	return d.status(c), nil
}

// ListContainers returns the containers matching f.
func (d *Driver) ListContainers(ctx context.Context, f runtime.ContainerFilter) ([]*runtime.ContainerStatus, error) {
	d.mu.Lock()
	cs := make([]*container, 0, len(d.containers))
	for _, c := range d.containers {
		if f.SandboxID != "" && c.rec.SandboxID != f.SandboxID {
			continue
		}
		if !labelsMatch(c.rec.Config.Labels, f.Labels) {
			continue
		}
		cs = append(cs, c)
	}
	d.mu.Unlock()
	out := make([]*runtime.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		st := d.status(c)
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

// PullImage pulls ref into the image store.
func (d *Driver) PullImage(ctx context.Context, ref string, opts runtime.PullOptions) (*runtime.Image, error) {
	return d.images.PullImage(ctx, ref, opts)
}

// ImageStatus returns the stored image ref names.
func (d *Driver) ImageStatus(ctx context.Context, ref string) (*runtime.Image, error) {
	return d.images.ImageStatus(ctx, ref)
}

// ListImages returns every stored image.
func (d *Driver) ListImages(ctx context.Context) ([]*runtime.Image, error) {
	return d.images.ListImages(ctx)
}

// RemoveImage removes the image ref names, unless a container uses it.
// The spare root filesystem made from it, if any, is released first.
func (d *Driver) RemoveImage(ctx context.Context, ref string) error {
	if img, err := d.images.ImageStatus(ctx, ref); err == nil {
		d.dropSpareFS(img.ID)
	}
	return d.images.RemoveImage(ctx, ref)
}

// parseSignal reads an image's StopSignal: "SIGQUIT", "QUIT" or "3"; ""
// is 0 (SIGTERM).
func parseSignal(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("want a signal number from 1 to 64")
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
	return 0, fmt.Errorf("not a signal name (want e.g. SIGTERM, SIGQUIT or a number)")
}

// Config returns the driver's configuration (with its image store), for
// making the driver anew on the same root.
func (d *Driver) Config() Config {
	cfg := d.cfg
	cfg.Images = d.images
	return cfg
}
