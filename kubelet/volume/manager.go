package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/drover-io/drover/api"
)

// The plugin directories under <Root>/<uid>/volumes, also the values of
// the plugin label of the setups metric (with "host-path", which has no
// directory: a hostPath volume is the node's path itself).
const (
	PluginEmptyDir    = "empty-dir"
	PluginHostPath    = "host-path"
	PluginConfigMap   = "configmap"
	PluginSecret      = "secret"
	PluginProjected   = "projected"
	PluginDownwardAPI = "downward-api"
)

// Manager makes and removes pods' volumes under Config.Root. Its methods
// are safe for concurrent use: calls for one pod are serialized, calls
// for different pods run in parallel.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	clock   Clock
	metrics *metrics
	// tmpfs says whether the Manager mounts tmpfs: it runs as root and
	// DisableTmpfs is false.
	tmpfs bool
	// secretTmpfsFailed is set once a tmpfs mount for a secret volume
	// failed: later ones are on disk without trying again.
	secretTmpfsFailed atomic.Bool

	mu   sync.Mutex
	pods map[string]*podState // by uid
}

// podState is what the Manager keeps of one pod between calls.
type podState struct {
	mu sync.Mutex // serializes SetUp and TearDown of the pod
	// sizeLimits are the disk-backed emptyDir volumes' sizeLimits in
	// bytes, by volume path.
	sizeLimits map[string]int64
}

// NewManager returns a Manager for cfg, after cfg.Validate.
func NewManager(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Root = filepath.Clean(cfg.Root)
	m := &Manager{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, pods: map[string]*podState{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.clock == nil {
		m.clock = systemClock{}
	}
	m.tmpfs = os.Geteuid() == 0 && !cfg.DisableTmpfs
	var err error
	if m.metrics, err = newMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	return m, nil
}

// pod returns uid's state, made on first use.
func (m *Manager) pod(uid string) *podState {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[uid]
	if ps == nil {
		ps = &podState{}
		m.pods[uid] = ps
	}
	return ps
}

// checkElement checks that s can be one path element: a pod uid or a
// volume name.
func checkElement(what, s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
		return fmt.Errorf("%s %q cannot name a directory: want a non-empty name without \"/\", not \".\" or \"..\"", what, s)
	}
	return nil
}

// SetUp makes pod's volumes and returns the host path of each, by
// volume name: <Root>/<uid>/volumes/<plugin>/<name>, or for a hostPath
// volume its path on the node. It is idempotent, and calling it again
// refreshes the contents of configMap, secret, projected and downwardAPI
// volumes in place, atomically: a reader never sees a mix of old and
// new files (see the package documentation). The caller calls it before
// it starts the pod's containers and then periodically, to follow
// updates of the sources.
//
// Every volume is set up even when one fails; the error then names the
// pod and each failed volume, and the map is nil.
func (m *Manager) SetUp(ctx context.Context, pod *api.Pod) (map[string]string, error) {
	uid := string(pod.UID)
	if err := checkElement("pod uid", uid); err != nil {
		return nil, fmt.Errorf("volume: pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	ps := m.pod(uid)
	ps.mu.Lock()
	defer ps.mu.Unlock()

	paths := make(map[string]string, len(pod.Spec.Volumes))
	limits := map[string]int64{}
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("volume: pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		plugin, path, err := m.setUpVolume(ctx, pod, v, limits)
		m.metrics.setUp(plugin, err)
		if err != nil {
			m.log.Warn("volume set-up failed", "pod", pod.Namespace+"/"+pod.Name, "uid", uid, "volume", v.Name, "plugin", plugin, "err", err)
			errs = append(errs, fmt.Errorf("volume %q: %w", v.Name, err))
			continue
		}
		paths[v.Name] = path
	}
	ps.sizeLimits = limits
	if len(errs) > 0 {
		return nil, fmt.Errorf("volume: pod %s/%s: %w", pod.Namespace, pod.Name, errors.Join(errs...))
	}
	return paths, nil
}

// volumeDir returns <Root>/<uid>/volumes/<plugin>/<name>.
func (m *Manager) volumeDir(uid, plugin, name string) string {
	return filepath.Join(m.cfg.Root, uid, "volumes", plugin, name)
}

// setUpVolume sets up one volume and returns its plugin and host path.
// limits receives a disk-backed emptyDir's sizeLimit.
func (m *Manager) setUpVolume(ctx context.Context, pod *api.Pod, v *api.Volume, limits map[string]int64) (plugin, path string, err error) {
	src := &v.VolumeSource
	switch {
	case src.HostPath != nil:
		return PluginHostPath, src.HostPath.Path, setUpHostPath(src.HostPath)
	case src.EmptyDir != nil:
		plugin = PluginEmptyDir
	case src.ConfigMap != nil:
		plugin = PluginConfigMap
	case src.Secret != nil:
		plugin = PluginSecret
	case src.Projected != nil:
		plugin = PluginProjected
	case src.DownwardAPI != nil:
		plugin = PluginDownwardAPI
	default:
		return "unknown", "", errors.New("no supported volume source set: want one of hostPath, emptyDir, configMap, secret, projected, downwardAPI")
	}
	if err := checkElement("volume name", v.Name); err != nil {
		return plugin, "", err
	}
	dir := m.volumeDir(string(pod.UID), plugin, v.Name)

	if src.EmptyDir != nil {
		return plugin, dir, m.setUpEmptyDir(dir, src.EmptyDir, limits)
	}
	payload, err := m.payload(ctx, pod, src)
	if err != nil {
		return plugin, "", err
	}
	if err := m.prepareDir(dir, plugin); err != nil {
		return plugin, "", err
	}
	changed, err := writeAtomic(dir, payload, m.clock.Now())
	if err != nil {
		return plugin, "", err
	}
	if changed {
		m.log.Info("volume contents written", "pod", pod.Namespace+"/"+pod.Name, "uid", string(pod.UID), "volume", v.Name, "plugin", plugin, "files", len(payload))
	}
	return plugin, dir, nil
}

// prepareDir makes the directory of a projected-contents volume. Secret
// and projected volumes (which may hold secrets) are on a tmpfs when the
// Manager runs as root, as in Kubernetes, so that secrets never reach the
// node's disk; without root (or with DisableTmpfs, or where the mount is
// refused) they are on disk in a 0700 directory, readable by the node
// agent's user only, which is also the user of the containers such a
// node runs (runtime/process).
func (m *Manager) prepareDir(dir, plugin string) error {
	secret := plugin == PluginSecret || plugin == PluginProjected
	mode := os.FileMode(0o755)
	if secret && !m.tmpfs {
		mode = 0o700
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("make volume directory: %w", err)
	}
	if !secret || !m.tmpfs {
		return os.Chmod(dir, mode)
	}
	mounted, err := isMountPoint(dir)
	if err != nil || mounted {
		return err
	}
	// Mount only over an empty directory: a volume that was set up on
	// disk stays there (a mount would hide the files containers see).
	if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 || m.secretTmpfsFailed.Load() {
		if err != nil {
			return err
		}
		return os.Chmod(dir, 0o700)
	}
	if err := mountTmpfs(dir, 0o755, 0); err != nil {
		if !m.secretTmpfsFailed.Swap(true) {
			m.log.Warn("cannot mount tmpfs for secret volumes, keeping them on disk in 0700 directories", "dir", dir, "err", err)
		}
		return os.Chmod(dir, 0o700)
	}
	return nil
}

// setUpEmptyDir makes an emptyDir volume: a directory anyone in the pod
// may write (0777, as Kubernetes makes it), or for medium Memory a tmpfs
// mounted there, of size sizeLimit when set. A disk-backed sizeLimit is
// recorded (EmptyDirSizeLimits) and not enforced here: enforcing it is
// eviction's, which the node agent does not do yet.
func (m *Manager) setUpEmptyDir(dir string, ed *api.EmptyDirVolumeSource, limits map[string]int64) error {
	var size int64
	if ed.SizeLimit != nil {
		if size = ed.SizeLimit.Value(); size < 0 {
			return fmt.Errorf("emptyDir.sizeLimit %s must not be negative", ed.SizeLimit.String())
		}
	}
	switch ed.Medium {
	case api.StorageMediumDefault:
	case api.StorageMediumMemory:
	default:
		return fmt.Errorf("emptyDir.medium %q is not supported: want \"\" (node disk) or \"Memory\" (tmpfs)", ed.Medium)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("make volume directory: %w", err)
	}
	if ed.Medium != api.StorageMediumMemory {
		if ed.SizeLimit != nil {
			limits[dir] = size
		}
		return os.Chmod(dir, 0o777)
	}
	mounted, err := isMountPoint(dir)
	if err != nil || mounted {
		return err
	}
	switch {
	case m.cfg.DisableTmpfs:
		return errors.New("emptyDir.medium Memory needs a tmpfs mount, and Config.DisableTmpfs is set")
	case !m.tmpfs:
		return fmt.Errorf("emptyDir.medium Memory needs a tmpfs mount, which needs root: the node agent runs as uid %d", os.Geteuid())
	}
	if err := mountTmpfs(dir, 0o777, size); err != nil {
		return fmt.Errorf("emptyDir.medium Memory: %w", err)
	}
	return nil
}

// setUpHostPath checks (or for the ...OrCreate types, makes) what is at
// a hostPath volume's path.
func setUpHostPath(hp *api.HostPathVolumeSource) error {
	if !filepath.IsAbs(hp.Path) {
		return fmt.Errorf("hostPath.path %q must be an absolute path", hp.Path)
	}
	typ := api.HostPathUnset
	if hp.Type != nil {
		typ = *hp.Type
	}
	want := func(what string, ok func(fs.FileMode) bool) error {
		info, err := os.Stat(hp.Path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("hostPath.path %q does not exist (hostPath.type %s wants %s there)", hp.Path, typ, what)
			}
			return fmt.Errorf("hostPath.path: %w", err)
		}
		if !ok(info.Mode()) {
			return fmt.Errorf("hostPath.path %q is not %s (hostPath.type %s): it is a %s", hp.Path, what, typ, describeMode(info.Mode()))
		}
		return nil
	}
	switch typ {
	case api.HostPathUnset:
		return nil
	case api.HostPathDirectoryOrCreate:
		if err := os.MkdirAll(hp.Path, 0o755); err != nil {
			return fmt.Errorf("hostPath.type DirectoryOrCreate: %w", err)
		}
		return want("a directory", fs.FileMode.IsDir)
	case api.HostPathDirectory:
		return want("a directory", fs.FileMode.IsDir)
	case api.HostPathFileOrCreate:
		f, err := os.OpenFile(hp.Path, os.O_RDONLY|os.O_CREATE, 0o644)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("hostPath.type FileOrCreate: the directory of %q does not exist (only the file is created)", hp.Path)
			}
			return fmt.Errorf("hostPath.type FileOrCreate: %w", err)
		}
		if f != nil {
			f.Close()
		}
		return want("a file", fs.FileMode.IsRegular)
	case api.HostPathFile:
		return want("a file", fs.FileMode.IsRegular)
	case api.HostPathSocket:
		return want("a socket", func(m fs.FileMode) bool { return m&fs.ModeSocket != 0 })
	case api.HostPathCharDev:
		return want("a character device", func(m fs.FileMode) bool { return m&fs.ModeCharDevice != 0 })
	case api.HostPathBlockDev:
		return want("a block device", func(m fs.FileMode) bool { return m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0 })
	}
	return fmt.Errorf("hostPath.type %q is not supported: want \"\", DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice or BlockDevice", typ)
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "file"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	}
	return m.Type().String()
}

// TearDown removes pod podUID's volumes: it unmounts the tmpfs mounts
// under the pod's directory, then removes <Root>/<uid>. It is idempotent:
// an unknown pod is not an error. A mount it cannot unmount (still in use)
// is an error, and nothing is removed then (removing through a mount
// would delete what it holds, a hostPath bind mount included).
func (m *Manager) TearDown(ctx context.Context, podUID string) error {
	if err := checkElement("pod uid", podUID); err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	ps := m.pod(podUID)
	ps.mu.Lock()
	defer ps.mu.Unlock()

	dir := filepath.Join(m.cfg.Root, podUID)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		m.forget(podUID, ps)
		return nil
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("volume: tear down pod %s: %w", podUID, err)
	}
	mounts, err := mountsUnder(real)
	if err != nil {
		return fmt.Errorf("volume: tear down pod %s: %w", podUID, err)
	}
	for _, mp := range mounts {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("volume: tear down pod %s: %w", podUID, err)
		}
		if err := unmount(mp); err != nil {
			return fmt.Errorf("volume: tear down pod %s: %w", podUID, err)
		}
		m.log.Debug("unmounted", "uid", podUID, "path", mp)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("volume: tear down pod %s: %w", podUID, err)
	}
	m.forget(podUID, ps)
	m.log.Debug("pod volumes removed", "uid", podUID)
	return nil
}

// forget drops ps, uid's state, unless another call made a new one.
func (m *Manager) forget(uid string, ps *podState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pods[uid] == ps {
		delete(m.pods, uid)
	}
}

// PodUIDs returns the uids of the pods with a directory under Root,
// sorted: after a restart the node agent tears down those of pods it no
// longer has.
func (m *Manager) PodUIDs() ([]string, error) {
	entries, err := os.ReadDir(m.cfg.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("volume: list pods: %w", err)
	}
	var uids []string
	for _, e := range entries {
		if e.IsDir() {
			uids = append(uids, e.Name())
		}
	}
	return uids, nil
}

// EmptyDirSizeLimits returns the sizeLimits, in bytes by host path, of
// pod podUID's disk-backed emptyDir volumes as of its last SetUp. The
// Manager does not enforce them: eviction, when the node agent has it,
// compares them with the directories' usage.
func (m *Manager) EmptyDirSizeLimits(podUID string) map[string]int64 {
	m.mu.Lock()
	ps := m.pods[podUID]
	m.mu.Unlock()
	if ps == nil {
		return map[string]int64{}
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make(map[string]int64, len(ps.sizeLimits))
	for k, v := range ps.sizeLimits {
		out[k] = v
	}
	return out
}

// sortDeepestFirst sorts paths so that each comes before its parents.
func sortDeepestFirst(paths []string) {
	slices.SortFunc(paths, func(a, b string) int {
		if d := strings.Count(b, "/") - strings.Count(a, "/"); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
}
