package nodestatus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/runtime"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config, as in Kubernetes.
const (
	DefaultMaxPods               = 110
	DefaultKubeletPort           = 10250
	DefaultLeaseDuration         = 40 * time.Second
	DefaultRenewInterval         = 10 * time.Second
	DefaultStatusUpdateFrequency = 10 * time.Second
	DefaultStatusReportFrequency = 5 * time.Minute
	// DefaultMemoryPressureBytes is the available memory under which the
	// node reports MemoryPressure: 100 MiB.
	DefaultMemoryPressureBytes = 100 << 20
	// DefaultDiskPressureRatio is the share of RootDir's filesystem that
	// must stay available: under 10 %, the node reports DiskPressure.
	DefaultDiskPressureRatio = 0.10
	// DefaultPIDPressureRatio is the share of the PID limit the running
	// processes may use before the node reports PIDPressure: 90 %.
	DefaultPIDPressureRatio = 0.90
	// MaxImages is how many images status.images lists, the largest
	// first, as in Kubernetes.
	MaxImages = 50
)

// LeaseNamespace holds the node agents' heartbeat Leases, one per node,
// named like the node. The node lifecycle controller reads them.
const LeaseNamespace = "kube-node-lease"

// Clock is the Reporter's source of time: the system clock in production,
// a fakeclock.Clock in tests.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
	// AfterFunc calls f once d has passed, and returns a function that
	// cancels the call. The Reporter does not use it today; it is here so
	// that the node agent's one clock serves all its parts.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// systemClock is the Clock of package time.
type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// FilesystemStats is the size of a filesystem and what is left of it, in
// bytes.
type FilesystemStats struct {
	Capacity, Available int64
}

// ProcessStats is how many processes run and how many the kernel allows
// (kernel.pid_max, or a lower threads-max).
type ProcessStats struct {
	Running, Max int64
}

// Config configures a Reporter. Start from DefaultConfig and set Client,
// NodeName and Runtime.
type Config struct {
	// Client talks to the API server. Required.
	Client *client.Client
	// NodeName is the Node's name, a DNS-1123 subdomain. Required.
	NodeName string
	// Clock times heartbeats and stamps conditions and Leases. nil means
	// the system clock.
	Clock Clock
	// Logger receives the Reporter's log lines. nil means discard.
	Logger *slog.Logger
	// Registerer, if set, registers the Reporter's metrics.
	Registerer prometheus.Registerer

	// Runtime is the container runtime: its Version gives
	// nodeInfo.containerRuntimeVersion, and a Version that fails makes
	// the node not Ready. Required.
	Runtime runtime.Runtime
	// Images lists the images for status.images (the MaxImages largest).
	// nil means Runtime if it is an ImageService, else no images.
	Images runtime.ImageService
	// ReadyFunc, if set, is a further readiness check (the network, say):
	// an error makes the node not Ready with the error as the message.
	ReadyFunc func(ctx context.Context) error

	// Labels are set on the Node besides the standard ones
	// (kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch).
	Labels map[string]string
	// Taints are put on the Node when it is registered. Taints already
	// there (a user's) are kept.
	Taints []api.Taint
	// Reserved is subtracted from the capacity to give the allocatable
	// (system and kubelet reserves).
	Reserved api.ResourceList
	// MaxPods is the node's pod capacity. Default DefaultMaxPods (110).
	MaxPods int
	// Addresses are status.addresses. nil means detect: the hostname as
	// Hostname, and as InternalIP the first IPv4 address of the default
	// route's interface, or of the first interface that is up, not
	// loopback.
	Addresses []api.NodeAddress
	// KubeletPort is status.daemonEndpoints.kubeletEndpoint.Port. Default
	// DefaultKubeletPort (10250).
	KubeletPort int
	// RootDir is the node agent's data directory: its filesystem gives
	// the ephemeral-storage capacity and DiskPressure. "" means "/".
	RootDir string
	// Version is nodeInfo.kubeletVersion. "" means the version of this
	// build (DefaultVersion).
	Version string
	// Machine describes the machine. nil means DetectMachine; hollow
	// nodes give fixed values.
	Machine *MachineInfo

	// LeaseDuration is the Lease's leaseDurationSeconds. Default 40 s.
	LeaseDuration time.Duration
	// RenewInterval is how often the Lease is renewed. Default 10 s.
	RenewInterval time.Duration
	// StatusUpdateFrequency is how often the status is computed; it is
	// written only if it changed. Default 10 s.
	StatusUpdateFrequency time.Duration
	// StatusReportFrequency is how often the status is written even if
	// it did not change, which refreshes the conditions'
	// lastHeartbeatTime. Default 5 min.
	StatusReportFrequency time.Duration

	// MemoryAvailable returns the memory available, in bytes. nil means
	// the host's (/proc/meminfo MemAvailable).
	MemoryAvailable func(ctx context.Context) (int64, error)
	// Filesystem returns the stats of the filesystem holding path. nil
	// means the host's (statfs).
	Filesystem func(ctx context.Context, path string) (FilesystemStats, error)
	// Processes returns the process counts. nil means the host's
	// (/proc/loadavg and /proc/sys/kernel/pid_max).
	Processes func(ctx context.Context) (ProcessStats, error)
	// MemoryPressureBytes: less memory available than this is
	// MemoryPressure. Default DefaultMemoryPressureBytes (100 MiB).
	MemoryPressureBytes int64
	// DiskPressureRatio: less of RootDir's filesystem available than this
	// share is DiskPressure. Default DefaultDiskPressureRatio (0.10).
	DiskPressureRatio float64
	// PIDPressureRatio: more running processes than this share of the
	// limit is PIDPressure. Default DefaultPIDPressureRatio (0.90).
	PIDPressureRatio float64
}

// DefaultConfig returns a Config with every default set; Client, NodeName
// and Runtime are left for the caller.
func DefaultConfig() Config {
	return Config{
		MaxPods:               DefaultMaxPods,
		KubeletPort:           DefaultKubeletPort,
		LeaseDuration:         DefaultLeaseDuration,
		RenewInterval:         DefaultRenewInterval,
		StatusUpdateFrequency: DefaultStatusUpdateFrequency,
		StatusReportFrequency: DefaultStatusReportFrequency,
		MemoryPressureBytes:   DefaultMemoryPressureBytes,
		DiskPressureRatio:     DefaultDiskPressureRatio,
		PIDPressureRatio:      DefaultPIDPressureRatio,
	}
}

// Validate reports the first field of c that is wrong. Zero durations,
// counts and ratios are allowed: they mean the defaults.
func (c Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("nodestatus: Config.Client is nil: a client of the API server is required")
	case c.NodeName == "":
		return errors.New("nodestatus: Config.NodeName is empty: the Node needs a name")
	case c.Runtime == nil:
		return errors.New("nodestatus: Config.Runtime is nil: a container runtime is required (runtime/fake for hollow nodes)")
	case c.MaxPods < 0:
		return fmt.Errorf("nodestatus: Config.MaxPods is %d: must be positive, or 0 for the default (%d)", c.MaxPods, DefaultMaxPods)
	case c.KubeletPort < 0 || c.KubeletPort > 65535:
		return fmt.Errorf("nodestatus: Config.KubeletPort is %d: must be a port from 1 to 65535, or 0 for the default (%d)", c.KubeletPort, DefaultKubeletPort)
	case c.LeaseDuration < 0 || (c.LeaseDuration > 0 && c.LeaseDuration < time.Second):
		return fmt.Errorf("nodestatus: Config.LeaseDuration is %v: must be at least 1s, or 0 for the default (%v)", c.LeaseDuration, DefaultLeaseDuration)
	case c.RenewInterval < 0:
		return fmt.Errorf("nodestatus: Config.RenewInterval is %v: must be positive, or 0 for the default (%v)", c.RenewInterval, DefaultRenewInterval)
	case c.StatusUpdateFrequency < 0:
		return fmt.Errorf("nodestatus: Config.StatusUpdateFrequency is %v: must be positive, or 0 for the default (%v)", c.StatusUpdateFrequency, DefaultStatusUpdateFrequency)
	case c.StatusReportFrequency < 0:
		return fmt.Errorf("nodestatus: Config.StatusReportFrequency is %v: must be positive, or 0 for the default (%v)", c.StatusReportFrequency, DefaultStatusReportFrequency)
	case c.MemoryPressureBytes < 0:
		return fmt.Errorf("nodestatus: Config.MemoryPressureBytes is %d: must be positive, or 0 for the default (%d)", c.MemoryPressureBytes, DefaultMemoryPressureBytes)
	case c.DiskPressureRatio < 0 || c.DiskPressureRatio >= 1:
		return fmt.Errorf("nodestatus: Config.DiskPressureRatio is %v: must be in [0, 1), 0 for the default (%v)", c.DiskPressureRatio, DefaultDiskPressureRatio)
	case c.PIDPressureRatio < 0 || c.PIDPressureRatio > 1:
		return fmt.Errorf("nodestatus: Config.PIDPressureRatio is %v: must be in (0, 1], or 0 for the default (%v)", c.PIDPressureRatio, DefaultPIDPressureRatio)
	}
	if d, r := c.withDefaults().LeaseDuration, c.withDefaults().RenewInterval; r >= d {
		return fmt.Errorf("nodestatus: Config.RenewInterval is %v: must be shorter than LeaseDuration (%v), or the Lease expires between renewals", r, d)
	}
	for i, t := range c.Taints {
		if t.Key == "" {
			return fmt.Errorf("nodestatus: Config.Taints[%d].Key is empty: a taint needs a key", i)
		}
		switch t.Effect {
		case api.TaintEffectNoSchedule, api.TaintEffectPreferNoSchedule, api.TaintEffectNoExecute:
		default:
			return fmt.Errorf("nodestatus: Config.Taints[%d].Effect is %q: must be NoSchedule, PreferNoSchedule or NoExecute", i, t.Effect)
		}
	}
	for i, a := range c.Addresses {
		if a.Type == "" || a.Address == "" {
			return fmt.Errorf("nodestatus: Config.Addresses[%d] is %+v: needs a type and an address", i, a)
		}
	}
	return nil
}

// withDefaults returns c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Images == nil {
		if is, ok := c.Runtime.(runtime.ImageService); ok {
			c.Images = is
		}
	}
	if c.MaxPods == 0 {
		c.MaxPods = d.MaxPods
	}
	if c.KubeletPort == 0 {
		c.KubeletPort = d.KubeletPort
	}
	if c.RootDir == "" {
		c.RootDir = "/"
	}
	if c.Version == "" {
		c.Version = DefaultVersion()
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = d.LeaseDuration
	}
	if c.RenewInterval == 0 {
		c.RenewInterval = d.RenewInterval
	}
	if c.StatusUpdateFrequency == 0 {
		c.StatusUpdateFrequency = d.StatusUpdateFrequency
	}
	if c.StatusReportFrequency == 0 {
		c.StatusReportFrequency = d.StatusReportFrequency
	}
	if c.MemoryAvailable == nil {
		c.MemoryAvailable = HostMemoryAvailable
	}
	if c.Filesystem == nil {
		c.Filesystem = HostFilesystem
	}
	if c.Processes == nil {
		c.Processes = HostProcesses
	}
	if c.MemoryPressureBytes == 0 {
		c.MemoryPressureBytes = d.MemoryPressureBytes
	}
	if c.DiskPressureRatio == 0 {
		c.DiskPressureRatio = d.DiskPressureRatio
	}
	if c.PIDPressureRatio == 0 {
		c.PIDPressureRatio = d.PIDPressureRatio
	}
	return c
}
