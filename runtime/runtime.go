// Package runtime is what the node agent runs pods with: pod sandboxes,
// their containers, and the images containers are made from. Drivers
// implement it: runtime/oci (runc or crun through the OCI runtime-spec),
// runtime/process (plain host processes, for machines without root) and
// runtime/fake (in memory, with scripted behaviour, for tests and hollow
// nodes). Third parties add drivers (virtual machines, WebAssembly, ...)
// by implementing the same interfaces; runtime/runtimetest is the
// conformance suite every driver must pass.
//
// The shape is the Kubernetes CRI's, made small and Go native: a Runtime
// runs sandboxes and containers, an ImageService pulls and keeps images,
// and what only some drivers can do is a separate, optional interface
// (Execer, StatsProvider) found with a type assertion. Container logs are
// files in the CRI log format that the driver writes (package
// runtime/logs reads, follows and rotates them), so reading a log needs
// no driver call and survives the driver's restart.
//
// A driver keeps its state on disk: restarted on the same node, it lists
// and adopts what is running, with its exit codes and logs intact.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// Runtime runs pod sandboxes and containers. Every method is safe for
// concurrent use. IDs are the driver's own, unique on the node, and
// stable across the driver's restarts. The maps and slices in returned
// statuses may be shared with the driver: callers must not modify them.
type Runtime interface {
	SandboxRuntime
	ContainerRuntime
	// Version names the driver and its version ("runc", "1.1.5"), for the
	// Node's nodeInfo.containerRuntimeVersion ("runc://1.1.5").
	Version(ctx context.Context) (Version, error)
}

// SandboxRuntime runs pod sandboxes: the environment a pod's containers
// share (network namespace, hostname, volume and log directories).
type SandboxRuntime interface {
	// RunPodSandbox creates and starts a sandbox and returns its ID. A
	// failure leaves nothing behind.
	RunPodSandbox(ctx context.Context, cfg *SandboxConfig) (string, error)
	// StopPodSandbox stops every container of the sandbox (at once, with
	// SIGKILL: graceful stops are the caller's, container by container)
	// and releases the sandbox's network namespace. Stopping a stopped
	// or unknown sandbox is not an error.
	StopPodSandbox(ctx context.Context, id string) error
	// RemovePodSandbox stops the sandbox if it runs, removes its
	// containers and everything the driver made for it. Removing an
	// unknown sandbox is not an error.
	RemovePodSandbox(ctx context.Context, id string) error
	// PodSandboxStatus returns the sandbox's status, or an error
	// matching ErrNotFound.
	PodSandboxStatus(ctx context.Context, id string) (*SandboxStatus, error)
	// ListPodSandboxes returns the sandboxes the driver knows, ready or
	// not, in no particular order.
	ListPodSandboxes(ctx context.Context) ([]*SandboxStatus, error)
}

// ContainerRuntime runs containers inside sandboxes.
type ContainerRuntime interface {
	// CreateContainer creates a container in a ready sandbox from an
	// image the driver's ImageService holds, and returns its ID. The
	// container is Created, not running. A missing image is an error
	// matching ErrImageNotFound; an unknown sandbox one matching
	// ErrNotFound, a stopped one ErrSandboxNotReady.
	CreateContainer(ctx context.Context, sandboxID string, cfg *ContainerConfig) (string, error)
	// StartContainer starts a Created container. A command that cannot be
	// run (no such file, not executable) is an error matching
	// ErrStartFailed, and the container is Exited with reason
	// StartError; the driver survives.
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends opts.Signal (SIGTERM when 0), waits up to
	// opts.GracePeriod for the container to exit, then kills it with
	// SIGKILL and waits for it. It returns once the container is Exited.
	// Stopping a container that is not running is not an error; an
	// unknown one is an error matching ErrNotFound.
	StopContainer(ctx context.Context, id string, opts StopOptions) error
	// RemoveContainer removes a container, killing it first if it runs,
	// with its root filesystem; its log file is kept (it is the
	// sandbox's, removed with it). Removing an unknown container is not
	// an error.
	RemoveContainer(ctx context.Context, id string) error
	// ContainerStatus returns the container's status, or an error
	// matching ErrNotFound.
	ContainerStatus(ctx context.Context, id string) (*ContainerStatus, error)
	// ListContainers returns the containers that match f, in no
	// particular order.
	ListContainers(ctx context.Context, f ContainerFilter) ([]*ContainerStatus, error)
}

// ImageService pulls and keeps the images containers are made from.
type ImageService interface {
	// PullImage fetches ref (a reference as in a pod spec: "busybox",
	// "registry:5000/app:v1", "app@sha256:...") and returns the image as
	// stored. An image already stored is not fetched again when ref is a
	// digest; a tag is resolved anew. Registry errors keep the registry's
	// message; a missing repository, tag or digest wraps ErrImageNotFound.
	PullImage(ctx context.Context, ref string, opts PullOptions) (*Image, error)
	// ImageStatus returns the stored image ref names (a tag, a digest or
	// an image ID), or an error matching ErrImageNotFound.
	ImageStatus(ctx context.Context, ref string) (*Image, error)
	// ListImages returns every stored image.
	ListImages(ctx context.Context) ([]*Image, error)
	// RemoveImage removes the image ref names and the layers no other
	// image shares. Removing an unknown image is not an error; removing
	// one a container uses is an error matching ErrImageInUse.
	RemoveImage(ctx context.Context, ref string) error
}

// Execer is implemented by drivers that can run a command inside a
// running container (probes, kubectl exec).
type Execer interface {
	// Exec runs cmd in the running container id with opts' streams and
	// returns its exit code (127 for a command that does not exist, as a
	// shell answers). It returns an error matching ErrTimeout when
	// opts.Timeout passes first (the command is killed), and one
	// matching ErrNotRunning when the container is not running.
	Exec(ctx context.Context, id string, cmd []string, opts ExecOptions) (exitCode int, err error)
}

// StatsProvider is implemented by drivers that can measure containers.
type StatsProvider interface {
	// ContainerStats returns the container's resource usage now; a
	// container that is not running is an error matching ErrNotRunning.
	ContainerStats(ctx context.Context, id string) (*ContainerStats, error)
}

// Errors that callers test for with errors.Is. Drivers wrap them with
// what and why ("container 3f2a...: not found").
var (
	ErrNotFound        = errors.New("runtime: not found")
	ErrImageNotFound   = errors.New("runtime: image not found")
	ErrImageInUse      = errors.New("runtime: image in use")
	ErrStartFailed     = errors.New("runtime: container failed to start")
	ErrNotRunning      = errors.New("runtime: container not running")
	ErrSandboxNotReady = errors.New("runtime: sandbox not ready")
	ErrTimeout         = errors.New("runtime: timed out")
	ErrUnsupported     = errors.New("runtime: not supported by this driver")
)

// Version names a driver.
type Version struct {
	// Name is the driver's runtime ("runc", "crun", "process", "fake").
	Name string
	// Version is its version ("1.1.5").
	Version string
}

// String is "name://version", as Kubernetes shows it.
func (v Version) String() string { return v.Name + "://" + v.Version }

// PodMetadata identifies the pod a sandbox is for.
type PodMetadata struct {
	Name, Namespace, UID string
	// Attempt counts the sandboxes made for this pod (0 for the first).
	Attempt uint32
}

// NamespaceMode is how a Linux namespace of a container is shared.
type NamespaceMode uint8

// The namespace modes.
const (
	// NamespaceDefault is the namespace's default mode: NamespacePod for
	// network and IPC, NamespaceContainer for PID. The methods of
	// NamespaceOptions resolve it.
	NamespaceDefault NamespaceMode = iota
	// NamespacePod shares the namespace between the pod's containers.
	NamespacePod
	// NamespaceContainer gives each container its own.
	NamespaceContainer
	// NamespaceNode uses the node's (hostNetwork, hostPID, hostIPC).
	NamespaceNode
)

// NamespaceOptions choose the sharing of a sandbox's namespaces. The zero
// value is the default: network and IPC per pod, PID per container. A
// driver that cannot give a mode (a PID namespace shared by a pod's
// containers needs a process holding it) fails RunPodSandbox with an
// error matching ErrUnsupported.
type NamespaceOptions struct {
	Network, IPC, PID NamespaceMode
}

// NetworkMode is the network namespace's mode, NamespaceDefault resolved.
func (o NamespaceOptions) NetworkMode() NamespaceMode { return orMode(o.Network, NamespacePod) }

// IPCMode is the IPC namespace's mode, NamespaceDefault resolved.
func (o NamespaceOptions) IPCMode() NamespaceMode { return orMode(o.IPC, NamespacePod) }

// PIDMode is the PID namespace's mode, NamespaceDefault resolved.
func (o NamespaceOptions) PIDMode() NamespaceMode { return orMode(o.PID, NamespaceContainer) }

func orMode(m, def NamespaceMode) NamespaceMode {
	if m == NamespaceDefault {
		return def
	}
	return m
}

// DNSConfig is the resolv.conf of a sandbox.
type DNSConfig struct {
	Servers, Searches, Options []string
}

// HostAlias is an /etc/hosts entry.
type HostAlias struct {
	IP        string
	Hostnames []string
}

// SandboxConfig is what RunPodSandbox makes.
type SandboxConfig struct {
	Metadata PodMetadata
	// Hostname is the sandbox's hostname (the pod's name, or
	// spec.hostname); ignored with the node's network namespace.
	Hostname string
	// LogDirectory is the absolute path of the directory the containers'
	// log files go in (ContainerConfig.LogPath is relative to it). The
	// caller makes it.
	LogDirectory string
	// Namespaces choose what is shared with the node.
	Namespaces NamespaceOptions
	// DNS and HostAliases make the sandbox's resolv.conf and hosts files,
	// which every container mounts. A nil DNS means the node's.
	DNS         *DNSConfig
	HostAliases []HostAlias
	// CgroupParent is the cgroup the pod's containers are placed under
	// (relative to the driver's cgroup root); "" means the driver's.
	CgroupParent string
	// Sysctls are namespaced sysctls set in the sandbox.
	Sysctls map[string]string
	// Labels and Annotations are kept with the sandbox and returned in
	// its status; the node agent finds its pods by them after a restart.
	Labels, Annotations map[string]string
}

// SandboxState is whether a sandbox is ready.
type SandboxState uint8

// The sandbox states.
const (
	SandboxNotReady SandboxState = iota
	SandboxReady
)

// String names the state.
func (s SandboxState) String() string {
	if s == SandboxReady {
		return "Ready"
	}
	return "NotReady"
}

// SandboxStatus is a sandbox as the driver knows it.
type SandboxStatus struct {
	ID       string
	Metadata PodMetadata
	State    SandboxState
	// CreatedAt is when RunPodSandbox made it.
	CreatedAt time.Time
	// NetNSPath is the sandbox's network namespace ("/var/run/netns/..."
	// or "/proc/<pid>/ns/net") for the network plugin to configure; ""
	// with the node's network or a driver without network namespaces.
	NetNSPath string
	// LogDirectory is SandboxConfig.LogDirectory.
	LogDirectory        string
	Labels, Annotations map[string]string
}

// Mount is a host path mounted into a container.
type Mount struct {
	// HostPath is the file or directory on the node.
	HostPath string
	// ContainerPath is where it appears; absolute.
	ContainerPath string
	ReadOnly      bool
	// SubPath-style and propagation options are not supported.
}

// Resources are a container's limits and weights, from its requests and
// limits.
type Resources struct {
	// CPUShares is the relative CPU weight (cpu request in millicores *
	// 1024 / 1000, at least 2); 0 means the driver's default.
	CPUShares uint64
	// CPUQuota and CPUPeriod cap CPU time (cpu limit: quota = limit in
	// millicores * period / 1000); 0 quota means no cap; 0 period means
	// 100ms.
	CPUQuota  int64
	CPUPeriod uint64
	// MemoryLimit in bytes (the memory limit); 0 means none. A container
	// that goes over it is killed and reported with reason OOMKilled.
	MemoryLimit int64
}

// SecurityConfig is a container's identity and privileges.
type SecurityConfig struct {
	// UID and GID run the process; nil means the image's user (and root
	// when it has none).
	UID, GID *int64
	// SupplementalGroups are extra group IDs.
	SupplementalGroups []int64
	// Privileged gives every capability and device and no masked paths.
	Privileged bool
	// AddCapabilities and DropCapabilities adjust the default set (like
	// Docker's), by name without "CAP_" ("NET_ADMIN"); "ALL" drops all.
	AddCapabilities, DropCapabilities []string
	// ReadOnlyRootFilesystem mounts the root filesystem read-only.
	ReadOnlyRootFilesystem bool
	// AllowPrivilegeEscalation false sets no_new_privs; nil means false
	// for non-privileged containers (Drover's default: no escalation).
	AllowPrivilegeEscalation *bool
}

// KeyValue is an environment variable.
type KeyValue struct{ Key, Value string }

// ContainerConfig is what CreateContainer makes.
type ContainerConfig struct {
	// Name is the container's name in its pod; Attempt counts the
	// containers made under this name in this sandbox (restarts).
	Name    string
	Attempt uint32
	// Image is the image reference as PullImage was given it, or its ID.
	Image string
	// Command and Args are as in a pod spec: Command replaces the image's
	// entrypoint and Args its cmd; Command alone drops the image's cmd
	// (see ResolveArgs). Variables are already expanded by the caller.
	Command, Args []string
	// Env is added to the image's environment (same keys replace).
	Env []KeyValue
	// WorkingDir replaces the image's; "" keeps it ("/" when it has none).
	WorkingDir string
	Mounts     []Mount
	// LogPath is the container's log file, relative to the sandbox's
	// LogDirectory ("web/0.log"): stdout and stderr in the CRI log format.
	LogPath   string
	Resources Resources
	Security  SecurityConfig
	// Labels and Annotations are kept and returned in the status.
	Labels, Annotations map[string]string
}

// ContainerState is where a container is in its life.
type ContainerState uint8

// The container states.
const (
	ContainerCreated ContainerState = iota
	ContainerRunning
	ContainerExited
	// ContainerUnknown is a container the driver lost track of (its
	// process vanished without an exit status).
	ContainerUnknown
)

// String names the state.
func (s ContainerState) String() string {
	switch s {
	case ContainerCreated:
		return "Created"
	case ContainerRunning:
		return "Running"
	case ContainerExited:
		return "Exited"
	}
	return "Unknown"
}

// Reasons a container exited, in ContainerStatus.Reason.
const (
	ReasonCompleted  = "Completed"  // exit code 0
	ReasonError      = "Error"      // non-zero exit code
	ReasonOOMKilled  = "OOMKilled"  // killed for going over its memory limit
	ReasonStartError = "StartError" // its command could not be run
)

// ContainerStatus is a container as the driver knows it.
type ContainerStatus struct {
	ID, SandboxID string
	Name          string
	Attempt       uint32
	State         ContainerState
	// Image is ContainerConfig.Image; ImageID the ID of the image used
	// ("sha256:...").
	Image, ImageID string
	CreatedAt      time.Time
	// StartedAt is zero until started; FinishedAt until exited.
	StartedAt, FinishedAt time.Time
	// ExitCode, Reason and Message are set once Exited (Reason one of
	// the Reason constants; Message says more, e.g. why a start failed).
	ExitCode int32
	Reason   string
	Message  string
	// LogPath is the log file's absolute path.
	LogPath             string
	Labels, Annotations map[string]string
}

// ContainerFilter selects containers in ListContainers; zero fields
// match everything.
type ContainerFilter struct {
	SandboxID string
	// State, if not nil, matches only containers in that state.
	State *ContainerState
	// Labels must all be present with these values.
	Labels map[string]string
}

// StopOptions are how StopContainer stops a container.
type StopOptions struct {
	// Signal is sent first; 0 means the image's StopSignal, or SIGTERM
	// (15) when it has none.
	Signal int
	// GracePeriod is how long the container has to exit before SIGKILL;
	// 0 means SIGKILL at once.
	GracePeriod time.Duration
}

// ExecOptions are the streams and limits of an Exec.
type ExecOptions struct {
	// Stdin, if not nil, is the command's standard input.
	Stdin io.Reader
	// Stdout and Stderr receive its output; nil discards it.
	Stdout, Stderr io.Writer
	// Timeout kills the command when it passes; 0 means none (ctx
	// still applies).
	Timeout time.Duration
}

// ContainerStats is a container's resource usage at Timestamp.
type ContainerStats struct {
	Timestamp time.Time
	// CPUUsageNanoseconds is the CPU time used since the container
	// started, in all cores.
	CPUUsageNanoseconds uint64
	// MemoryWorkingSetBytes is the memory that cannot be reclaimed under
	// pressure (usage minus inactive file cache): what the OOM killer
	// and evictions look at. MemoryUsageBytes is the total usage.
	MemoryWorkingSetBytes, MemoryUsageBytes uint64
}

// Credential authenticates a pull: a username and password, or an
// identity or registry token.
type Credential struct {
	Username, Password string
	IdentityToken      string
	RegistryToken      string
}

// PullProgress is how far a pull is.
type PullProgress struct {
	// Done and Total count bytes of the layers being fetched; Total is 0
	// until known.
	Done, Total int64
}

// PullOptions are the credentials and the progress callback of a pull.
type PullOptions struct {
	// Credentials are tried in order (the pod's imagePullSecrets matching
	// the registry); none means anonymous.
	Credentials []Credential
	// Progress, if not nil, is called as bytes arrive (from the pulling
	// goroutine; it must not block).
	Progress func(PullProgress)
}

// Image is a stored image.
type Image struct {
	// ID is the digest of the image's config ("sha256:...").
	ID string
	// RepoTags ("registry:5000/app:v1") and RepoDigests
	// ("registry:5000/app@sha256:...") are the references it is known by.
	RepoTags, RepoDigests []string
	// Size is the sum of its layers' sizes, compressed, in bytes.
	Size int64
	// Config is what a container made from it defaults to.
	Config ImageConfig
}

// ImageConfig is the part of an OCI image config a container uses.
type ImageConfig struct {
	Entrypoint, Cmd []string
	Env             []string // "KEY=value"
	WorkingDir      string
	// User is "uid", "uid:gid", "name" or "name:group".
	User string
	// StopSignal is the signal that stops a container made from it
	// ("SIGQUIT", "3"); "" means SIGTERM.
	StopSignal string
}

// ResolveArgs returns the process arguments of a container, as Kubernetes
// combines a pod spec's command and args with an image's entrypoint and
// cmd: command replaces the entrypoint and drops the image's cmd; args
// replaces the cmd.
func ResolveArgs(img ImageConfig, command, args []string) []string {
	entry, cmd := img.Entrypoint, img.Cmd
	if len(command) > 0 {
		entry, cmd = command, nil
	}
	if len(args) > 0 {
		cmd = args
	}
	out := make([]string, 0, len(entry)+len(cmd))
	return append(append(out, entry...), cmd...)
}
