package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/runtime"
)

// Clock is the node agent's source of time. SystemClock and
// fakeclock.Clock satisfy it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// EventRecorder records Events about pods. *record.Recorder satisfies it.
// It is called from the pod workers, concurrently, and must not block.
type EventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

// VolumeManager makes a pod's volumes on the node (package kubelet/volume
// implements it). The pod workers call it, one call at a time per pod,
// from many goroutines for different pods.
type VolumeManager interface {
	// SetUp makes pod's volumes and returns the host path of each, by
	// volume name. It is idempotent; called again it refreshes the
	// contents of configMap, secret, projected and downwardAPI volumes in
	// place. An error is shown as the waiting reason
	// CreateContainerConfigError of the containers that could not start.
	SetUp(ctx context.Context, pod *api.Pod) (map[string]string, error)
	// TearDown removes what SetUp made for the pod podUID. It is
	// idempotent.
	TearDown(ctx context.Context, podUID string) error
}

// PodVolumeLister is a VolumeManager that lists the pods it has volumes
// of on the node (package kubelet/volume's Manager is one). The node
// agent's orphan sweep, on one goroutine, calls it and tears down the
// volumes of pods it does not know: those of pods deleted while it was
// down, whose sandboxes are gone too (after a reboot).
type PodVolumeLister interface {
	PodUIDs() ([]string, error)
}

// EnvSources is where EnvResolver reads the ConfigMaps and Secrets a
// container's environment refers to. The node agent gives one that reads
// through Config.Client.
type EnvSources interface {
	ConfigMap(ctx context.Context, namespace, name string) (*api.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*api.Secret, error)
}

// EnvResolver returns the environment of container c of pod: env, envFrom
// and valueFrom resolved, $(VAR) expanded (package kubelet/envvars's
// Resolve). pod's status holds the pod's hostIP and podIP as the node
// agent knows them. An error is shown as the waiting reason
// CreateContainerConfigError.
type EnvResolver func(ctx context.Context, pod *api.Pod, c *api.Container, src EnvSources) ([]runtime.KeyValue, error)

// ProbeKind is the kind of a probe.
type ProbeKind uint8

// The probe kinds.
const (
	Liveness ProbeKind = iota
	Readiness
	Startup
)

// String names the kind.
func (k ProbeKind) String() string {
	switch k {
	case Liveness:
		return "Liveness"
	case Readiness:
		return "Readiness"
	case Startup:
		return "Startup"
	}
	return fmt.Sprintf("ProbeKind(%d)", uint8(k))
}

// ProbeResult is the outcome of a probe.
type ProbeResult uint8

// The probe results.
const (
	ProbeUnknown ProbeResult = iota
	ProbeSuccess
	ProbeFailure
)

// ProbeUpdate is a change of a probe's result, which the ProbeManager
// reports to the node agent.
type ProbeUpdate struct {
	PodUID, ContainerName, ContainerID string
	Kind                               ProbeKind
	Result                             ProbeResult
	// Message says why a probe failed ("HTTP probe failed with
	// statuscode: 500").
	Message string
}

// ProbeTarget is how a probe reaches a container's network: Host is the
// address to probe ("127.0.0.1" inside the pod's network namespace, or
// the node's IP) and Dial connects from inside the pod's network
// namespace.
type ProbeTarget struct {
	Host string
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ProbeManager runs the liveness, readiness and startup probes of
// containers (package kubelet/prober implements it). The pod workers call
// it concurrently; it reports changes through the function given to
// Config.NewProbeManager, from its own goroutines.
type ProbeManager interface {
	// Add starts probing container c of pod, which runs as containerID
	// since startedAt. Adding a container again is a no-op.
	Add(pod *api.Pod, c *api.Container, containerID string, startedAt time.Time, target ProbeTarget)
	// Remove stops probing a container; RemovePod every container of a
	// pod.
	Remove(containerID string)
	RemovePod(podUID string)
	// Ready is the readiness probe's result (false until it succeeds);
	// Started the startup probe's (false until it succeeds).
	Ready(containerID string) bool
	Started(containerID string) bool
}

// NodeStatusReporter registers the Node and keeps its status and Lease
// current (*nodestatus.Reporter). Run runs until ctx ends and calls
// registered once the Node exists.
type NodeStatusReporter interface {
	Run(ctx context.Context, registered func()) error
}

// Server is the node agent's HTTPS API (package kubelet/server).
type Server interface {
	Run(ctx context.Context) error
}

// MirrorStatusFunc writes the status of a static pod to its mirror pod.
type MirrorStatusFunc func(ctx context.Context, static *api.Pod, status *api.PodStatus) error

// Config is what a Kubelet is made of. DefaultConfig gives the defaults;
// Validate says which field is wrong.
type Config struct {
	// NodeName is the Node this agent runs the pods of. Required.
	NodeName string
	// NodeIP is the node's address, the hostIP of its pods and the podIP
	// of host-network pods. "" means the Node's first InternalIP.
	NodeIP string
	// Client talks to the API server. Required.
	Client *client.Client
	// Runtime runs sandboxes and containers; Images pulls images.
	// Required. A Runtime that implements runtime.Execer runs exec hooks.
	Runtime runtime.Runtime
	Images  runtime.ImageService
	// RootDir holds the pods' log directories (RootDir/logs) and volumes
	// (RootDir/pods). Required, absolute.
	RootDir string
	// Clock is the source of time. nil means the system clock.
	Clock Clock
	// Logger receives log lines. nil means discard.
	Logger *slog.Logger
	// Registerer registers the metrics. nil means none are registered.
	Registerer prometheus.Registerer
	// MaxPods is the number of pods admitted when the Node has no
	// allocatable "pods". Default 110.
	MaxPods int
	// Reserved is subtracted from the Node's capacity when it has no
	// allocatable for a resource.
	Reserved api.ResourceList
	// ClusterDNS and ClusterDomain make the resolv.conf of ClusterFirst
	// pods; no ClusterDNS means the node's resolv.conf.
	ClusterDNS    []string
	ClusterDomain string

	// Recorder records Events. nil means a record.Recorder of the
	// agent's own, run by Run (hollow fleets share one instead).
	Recorder EventRecorder
	// Volumes makes pod volumes. nil means a built-in minimum: hostPath
	// volumes are mounted as they are, every other volume is an empty
	// directory under RootDir/pods/<uid>/volumes/empty-dir.
	Volumes VolumeManager
	// ResolveEnv resolves a container's environment. nil means literal
	// values only (env[].value, with $(VAR) expansion).
	ResolveEnv EnvResolver
	// NewProbeManager, if set, is called once by New with the function
	// that receives probe updates, and returns the ProbeManager (see
	// Probes). nil means no probes: a running container is ready. A
	// ProbeManager with a method Run(ctx) error is run by Run.
	NewProbeManager func(report func(ProbeUpdate)) (ProbeManager, error)
	// NodeStatus, if set, runs alongside the pod engine (registration and
	// heartbeats); nil means the Node is registered by someone else.
	NodeStatus NodeStatusReporter
	// OnRegistered, if set, is called once NodeStatus has registered the
	// Node.
	OnRegistered func()
	// Server, if set, runs alongside the pod engine (nil in hollow mode).
	Server Server
	// MirrorStatus writes the status of static pods (SetStaticPods); nil
	// means their status is kept locally only.
	MirrorStatus MirrorStatusFunc
	// WaitForStaticPods makes the agent leave the sandboxes of pods it
	// does not know alone until the first SetStaticPods call, so that a
	// restarted agent does not remove static pods it is about to adopt.
	WaitForStaticPods bool

	// RelistPeriod is how often the runtime's containers are listed to
	// find changes (the PLEG). Default 1 s.
	RelistPeriod time.Duration
	// ResyncPeriod is how often a pod is synced without a change
	// (refreshing its volumes). Default 60 s.
	ResyncPeriod time.Duration
}

// SystemClock is the Clock of package time.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After calls time.After.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// AfterFunc calls time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// Defaults of Config.
const (
	DefaultMaxPods      = 110
	DefaultRelistPeriod = time.Second
	DefaultResyncPeriod = time.Minute
)

// DefaultConfig returns a Config with the defaults set; NodeName, Client,
// Runtime, Images and RootDir are left to the caller.
func DefaultConfig() Config {
	return Config{
		Clock:         SystemClock{},
		MaxPods:       DefaultMaxPods,
		ClusterDomain: "cluster.local",
		RelistPeriod:  DefaultRelistPeriod,
		ResyncPeriod:  DefaultResyncPeriod,
	}
}

// Validate reports the first field of c that is missing or out of range.
func (c Config) Validate() error {
	switch {
	case c.NodeName == "":
		return errors.New("kubelet: config: NodeName is required")
	case c.Client == nil:
		return errors.New("kubelet: config: Client is required")
	case c.Runtime == nil:
		return errors.New("kubelet: config: Runtime is required")
	case c.Images == nil:
		return errors.New("kubelet: config: Images is required")
	case c.RootDir == "" || !filepath.IsAbs(c.RootDir):
		return fmt.Errorf("kubelet: config: RootDir %q must be an absolute path", c.RootDir)
	case c.MaxPods < 0:
		return fmt.Errorf("kubelet: config: MaxPods %d must be 0 (default %d) or more", c.MaxPods, DefaultMaxPods)
	case c.RelistPeriod < 0:
		return fmt.Errorf("kubelet: config: RelistPeriod %s must not be negative", c.RelistPeriod)
	case c.ResyncPeriod < 0:
		return fmt.Errorf("kubelet: config: ResyncPeriod %s must not be negative", c.ResyncPeriod)
	}
	for name, q := range c.Reserved {
		if q.Sign() < 0 {
			return fmt.Errorf("kubelet: config: Reserved[%s] %s must not be negative", name, q.String())
		}
	}
	return nil
}

func (c *Config) setDefaults() {
	d := DefaultConfig()
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.MaxPods == 0 {
		c.MaxPods = d.MaxPods
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = d.ClusterDomain
	}
	if c.RelistPeriod == 0 {
		c.RelistPeriod = d.RelistPeriod
	}
	if c.ResyncPeriod == 0 {
		c.ResyncPeriod = d.ResyncPeriod
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}
