package oci

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

// The files of a container's directory, Root/containers/<id>.
const (
	containerFile = "container.json" // containerRecord, written by the driver
	createFile    = "create.json"    // createRecord, written by the shim
	exitFile      = "exit.json"      // exitRecord, written by the shim
	lockFile      = "shim.lock"      // flock-ed by the shim while it lives
	bundleDir     = "bundle"         // the OCI bundle (config.json)
	pidFile       = "init.pid"       // the container's init PID, from runc
	runcLogFile   = "runc.log"       // the OCI runtime's own log (JSON)
	shimLogFile   = "shim.log"       // the shim's own stderr
)

// sandboxRecord is a sandbox as kept in Root/sandboxes/<id>/sandbox.json.
type sandboxRecord struct {
	ID        string                `json:"id"`
	Config    runtime.SandboxConfig `json:"config"`
	CreatedAt time.Time             `json:"createdAt"`
	// Stopped is set by StopPodSandbox.
	Stopped bool `json:"stopped,omitempty"`
	// NetNSPath and IPCNSPath are the bind-mounted namespaces ("" when
	// the node's are used, or once released).
	NetNSPath string `json:"netnsPath,omitempty"`
	IPCNSPath string `json:"ipcnsPath,omitempty"`
	// The files every container mounts.
	HostsPath      string `json:"hostsPath"`
	ResolvConfPath string `json:"resolvConfPath"`
	HostnamePath   string `json:"hostnamePath"`
}

func (r *sandboxRecord) status() *runtime.SandboxStatus {
	st := &runtime.SandboxStatus{
		ID:           r.ID,
		Metadata:     r.Config.Metadata,
		State:        runtime.SandboxReady,
		CreatedAt:    r.CreatedAt,
		NetNSPath:    r.NetNSPath,
		LogDirectory: r.Config.LogDirectory,
		Labels:       cloneMap(r.Config.Labels),
		Annotations:  cloneMap(r.Config.Annotations),
	}
	if r.Stopped {
		st.State = runtime.SandboxNotReady
	}
	return st
}

// containerRecord is a container as kept in its container.json.
type containerRecord struct {
	ID        string                  `json:"id"`
	SandboxID string                  `json:"sandboxID"`
	Config    runtime.ContainerConfig `json:"config"`
	ImageID   string                  `json:"imageID"`
	CreatedAt time.Time               `json:"createdAt"`
	StartedAt time.Time               `json:"startedAt,omitzero"`
	// LogPath is the absolute log file.
	LogPath     string `json:"logPath"`
	CgroupsPath string `json:"cgroupsPath"`
	// StopSignal is the image's stop signal (0: SIGTERM).
	StopSignal int `json:"stopSignal,omitempty"`
	// StartError says why StartContainer failed ("" if it did not).
	StartError string `json:"startError,omitempty"`
}

// createRecord is what the shim says of `runc create`.
type createRecord struct {
	Pid   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
}

// exitRecord is how a container ended, written once by its shim (or by
// the driver for a container that never started).
type exitRecord struct {
	ExitCode   int32     `json:"exitCode"`
	Signal     int       `json:"signal,omitempty"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	Reason     string    `json:"reason"`
	Message    string    `json:"message,omitempty"`
	FinishedAt time.Time `json:"finishedAt"`
}

// exitReason is the runtime reason of an exit.
func exitReason(code int32, oom bool) string {
	switch {
	case oom:
		return runtime.ReasonOOMKilled
	case code == 0:
		return runtime.ReasonCompleted
	}
	return runtime.ReasonError
}

// containerStatus derives a container's status from its record, the
// shim's create and exit records, and whether its shim lives.
func containerStatus(r *containerRecord, cr *createRecord, er *exitRecord, shimAlive bool) *runtime.ContainerStatus {
	st := &runtime.ContainerStatus{
		ID:          r.ID,
		SandboxID:   r.SandboxID,
		Name:        r.Config.Name,
		Attempt:     r.Config.Attempt,
		Image:       r.Config.Image,
		ImageID:     r.ImageID,
		CreatedAt:   r.CreatedAt,
		StartedAt:   r.StartedAt,
		LogPath:     r.LogPath,
		Labels:      cloneMap(r.Config.Labels),
		Annotations: cloneMap(r.Config.Annotations),
	}
	switch {
	case r.StartError != "":
		st.State, st.Reason, st.Message, st.ExitCode = runtime.ContainerExited, runtime.ReasonStartError, r.StartError, 128
		if er != nil {
			st.FinishedAt = er.FinishedAt
		}
		if st.FinishedAt.IsZero() {
			st.FinishedAt = r.StartedAt
		}
	case er != nil && !r.StartedAt.IsZero():
		st.State, st.ExitCode, st.Reason, st.Message, st.FinishedAt = runtime.ContainerExited, er.ExitCode, er.Reason, er.Message, er.FinishedAt
	case er != nil:
		// Killed before it was started.
		st.State, st.ExitCode, st.Reason, st.Message, st.FinishedAt = runtime.ContainerExited, er.ExitCode, er.Reason, er.Message, er.FinishedAt
		st.StartedAt = er.FinishedAt
	case r.StartedAt.IsZero() && (shimAlive || (cr != nil && cr.Error != "")):
		st.State = runtime.ContainerCreated
	case shimAlive:
		st.State = runtime.ContainerRunning
	default:
		st.State = runtime.ContainerUnknown
		st.Message = "the container's monitor exited without recording an exit status"
	}
	return st
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// newID returns a random 32-hex-digit ID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validID accepts the IDs newID makes (and rejects path tricks in IDs a
// caller passes).
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// writeJSON replaces name with v's JSON atomically (write, rename). It
// does not fsync: what it records (containers, their exits) does not
// outlive a reboot of the node anyway, and a create waits for it.
func writeJSON(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// readJSON reads name into v; a missing file is (false, nil).
func readJSON(name string, v any) (bool, error) {
	data, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", name, err)
	}
	return true, nil
}

// lockAlive says whether a live process holds the flock on name.
func lockAlive(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
