package process

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drover-io/drover/runtime"
)

// What the driver keeps under Config.Root:
//
//	sandboxes/<id>.json            sandboxRecord
//	containers/<id>/container.json containerRecord (written by the driver)
//	containers/<id>/spec.json      monitorSpec (read by the monitor)
//	containers/<id>/state.json     stateRecord (written by the monitor)
//	containers/<id>/monitor.log    the monitor's own errors
//
// Every file is replaced atomically (written aside, synced, then
// renamed, and the directory synced), so a reader never sees half of
// one, even after a power loss.

// sandboxRecord is a sandbox on disk.
type sandboxRecord struct {
	ID        string                 `json:"id"`
	Metadata  runtime.PodMetadata    `json:"metadata"`
	Config    *runtime.SandboxConfig `json:"config"`
	CreatedAt time.Time              `json:"createdAt"`
	Stopped   bool                   `json:"stopped,omitempty"`
}

// containerRecord is a container on disk, as CreateContainer made it.
type containerRecord struct {
	ID        string                   `json:"id"`
	SandboxID string                   `json:"sandboxID"`
	Config    *runtime.ContainerConfig `json:"config"`
	ImageID   string                   `json:"imageID"`
	// StopSignal is the image's, already parsed (0: SIGTERM).
	StopSignal int       `json:"stopSignal,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	// LogPath is absolute; "" when the container has no log file.
	LogPath string `json:"logPath,omitempty"`
	// RootFS is the container's root filesystem on the host.
	RootFS string `json:"rootfs"`
	// Exec is how the container's process (and its execs) run.
	Exec execSpec `json:"exec"`
}

// execSpec is how a process runs in a container: the part of a
// container's configuration that its command and its execs share.
type execSpec struct {
	// Env is the image's environment with the container's on top.
	Env []string `json:"env"`
	// Dir is the working directory: on the host (RootFS joined with the
	// container's working directory), or inside the root when Chroot.
	Dir string `json:"dir"`
	// Chroot, if not "", is the directory the process is chrooted to.
	Chroot string `json:"chroot,omitempty"`
	// RootFS is the container's root filesystem, where argv[0] is
	// looked up first.
	RootFS string `json:"rootfs"`
	// HostPath is the host's PATH, where argv[0] is looked up when the
	// root filesystem does not have it (not with Chroot).
	HostPath string `json:"hostPath,omitempty"`
	// UID and GID, when not nil, run the process (root only).
	UID *uint32 `json:"uid,omitempty"`
	GID *uint32 `json:"gid,omitempty"`
	// Groups are supplementary groups (root only).
	Groups []uint32 `json:"groups,omitempty"`
}

// monitorSpec is what a monitor runs, in spec.json of the container's
// directory.
type monitorSpec struct {
	// Path is the executable as the monitor's execve sees it (inside the
	// chroot when Exec.Chroot), and Args its argv.
	Path string   `json:"path"`
	Args []string `json:"args"`
	Exec execSpec `json:"exec"`
	// LogPath is the CRI log file; "" discards the output.
	LogPath     string `json:"logPath,omitempty"`
	LogMaxSize  int64  `json:"logMaxSize,omitempty"`
	LogMaxFiles int    `json:"logMaxFiles,omitempty"`
	// MemoryCgroup, if not "", is the memory cgroup (v1) the process
	// starts in, which enforces the container's memory limit.
	MemoryCgroup string `json:"memoryCgroup,omitempty"`
}

// stateRecord is what happened to a started container, in state.json:
// written by the monitor when the process has started and again when
// it has exited (or by the driver when it could not start it).
type stateRecord struct {
	// PID is the container's first process, leader of its process group.
	PID int `json:"pid,omitempty"`
	// Start is PID's start time in clock ticks after boot (/proc/<pid>/stat
	// field 22), telling it from a later process with the same PID; 0 in
	// records of monitors before it was kept.
	Start uint64 `json:"start,omitempty"`
	// MonitorPID is the monitor's, and MonitorStart its start time in
	// clock ticks after boot (/proc/<pid>/stat field 22), telling it
	// from a later process with the same PID.
	MonitorPID   int       `json:"monitorPID,omitempty"`
	MonitorStart uint64    `json:"monitorStart,omitempty"`
	StartedAt    time.Time `json:"startedAt"`
	Exited       bool      `json:"exited,omitempty"`
	FinishedAt   time.Time `json:"finishedAt,omitzero"`
	ExitCode     int32     `json:"exitCode,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Message      string    `json:"message,omitempty"`
}

// syncFile flushes f to disk; a variable so tests can see the calls.
var syncFile = (*os.File).Sync

// writeJSON replaces name with v, atomically and durably: the new file
// is synced before it is renamed in place and the directory after, so
// that after a power loss name is the old file or the whole new one,
// never an empty or partial one (which load would take for a half-made
// container and delete).
func writeJSON(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := syncFile(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(filepath.Dir(name))
}

// syncDir flushes directory dir (the names in it) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := syncFile(d); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// readJSON reads name into v.
func readJSON(name string, v any) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", name, err)
	}
	return nil
}
