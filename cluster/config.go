package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/controller/builtin"
	"github.com/drover-io/drover/scheduler"
)

// DefaultAPIAddr is the address the API server listens on unless told
// otherwise: loopback only, on the port Kubernetes API servers use, so that
// kubectl users find it where they expect it.
const DefaultAPIAddr = "127.0.0.1:6443"

// DefaultMemberName is the store member name of an all-in-one cluster.
const DefaultMemberName = "default"

// DefaultShutdownGrace bounds how long Close waits for HTTP requests in
// flight before it cuts them.
const DefaultShutdownGrace = 5 * time.Second

// The runtimes a node agent can drive (AllInOneConfig.Runtime).
const (
	RuntimeOCI     = "oci"
	RuntimeProcess = "process"
	RuntimeFake    = "fake"
)

// Runtimes lists the valid values of AllInOneConfig.Runtime.
func Runtimes() []string { return []string{RuntimeOCI, RuntimeProcess, RuntimeFake} }

// ErrAddrInUse is what an AddrInUseError is (errors.Is): an address Start
// must listen on is taken by another process.
var ErrAddrInUse = errors.New("cluster: address in use")

// AddrInUseError is the error of Start when the address of Field is taken
// by another process. It is ErrAddrInUse.
type AddrInUseError struct {
	// Field is the configuration field that names the address: "APIAddr"
	// or "RaftAddr".
	Field string
	// Addr is the address.
	Addr string
	// Err is the error of listen.
	Err error
}

// Error implements error.
func (e *AddrInUseError) Error() string {
	return fmt.Sprintf("cluster: %s %s is in use by another process", e.Field, e.Addr)
}

// Is makes an AddrInUseError match ErrAddrInUse.
func (e *AddrInUseError) Is(target error) bool { return target == ErrAddrInUse }

// Unwrap returns the error of listen.
func (e *AddrInUseError) Unwrap() error { return e.Err }

// Progress is a step of a start: a part that has become ready.
type Progress struct {
	// Step says what is ready, as "store ready", "API server listening on
	// http://127.0.0.1:6443", "scheduler started", "controllers started"
	// or "node registered".
	Step string
	// Elapsed is the time since Start was called.
	Elapsed time.Duration
}

// ControlPlaneConfig configures a ControlPlane. Start from
// DefaultControlPlaneConfig; New calls Validate.
type ControlPlaneConfig struct {
	// DataDir holds the member's state (store/) and the kubeconfig. It is
	// created if missing. Required.
	DataDir string

	// Name is the member's name in the store's cluster, unique in it and
	// fixed for the life of DataDir. Required.
	Name string

	// APIAddr is the host:port the API server listens on, over HTTP (TLS
	// arrives with the security work, as a TLS field next to this one).
	// Port 0 picks a free port; ControlPlane.URL says which.
	APIAddr string

	// APIListener, if not nil, is used instead of listening on APIAddr.
	// The ControlPlane closes it.
	APIListener net.Listener

	// RaftAddr is the host:port the store member listens on, for Raft and
	// for requests forwarded between members. "" means a free loopback
	// port, which suits a single member only: members of a larger cluster
	// need a fixed address, which the cluster records.
	RaftAddr string

	// RaftAdvertiseAddr is the address other members dial to reach this
	// one; "" means the address the listener got.
	RaftAdvertiseAddr string

	// Bootstrap starts a new cluster with this member as its only voter
	// when DataDir is new. On a restart it does nothing.
	Bootstrap bool

	// Join lists the Raft addresses of existing members: a new member
	// asks them, in turn, to add it (any member will do: a follower
	// forwards the request to the leader). On a restart it does nothing.
	// Exactly one of Bootstrap and Join is set.
	Join []string

	// Controllers selects and configures the built-in controllers.
	Controllers builtin.Config

	// Kubelet says how the API server reaches the node agents (pods/log,
	// pods/exec, the metrics API): the zero value is HTTPS verified
	// against the system's roots. An AllInOne sets it to trust its own
	// node agent.
	Kubelet apiserver.KubeletConfig

	// Scheduler configures the scheduler; its Go dependencies (Client,
	// Informers, Recorder, Logger, Registerer) are filled by the
	// ControlPlane.
	Scheduler scheduler.Config

	// Logger receives every component's log lines, each with a
	// "component" attribute. nil discards them.
	Logger *slog.Logger

	// Registry receives every component's metrics; /metrics serves it.
	// nil means a new registry with the Go and process collectors.
	Registry *prometheus.Registry

	// OnProgress, if not nil, is called with each step of the start, and
	// with "scheduler started" and "controllers started" each time this
	// member starts leading. It is called from one goroutine at a time
	// and must not block.
	OnProgress func(Progress)

	// ShutdownGrace bounds how long Close waits for HTTP requests in
	// flight. 0 means DefaultShutdownGrace.
	ShutdownGrace time.Duration
}

// DefaultControlPlaneConfig returns the configuration of a member that
// bootstraps a new one-member cluster in dataDir, with its API server on
// DefaultAPIAddr, every built-in controller and the default scheduler.
func DefaultControlPlaneConfig(dataDir string) ControlPlaneConfig {
	return ControlPlaneConfig{
		DataDir:   dataDir,
		Name:      DefaultMemberName,
		APIAddr:   DefaultAPIAddr,
		Bootstrap: true,
		Scheduler: scheduler.DefaultConfig(),
	}
}

// Validate checks c and says which field is wrong and what would be valid.
func (c ControlPlaneConfig) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("cluster: ControlPlaneConfig.%s %s", field, fmt.Sprintf(format, args...))
	}
	if c.DataDir == "" {
		return bad("DataDir", "is empty: must name the directory for the member's state")
	}
	if c.Name == "" {
		return bad("Name", "is empty: must name the member, uniquely in its cluster")
	}
	if c.APIListener == nil {
		if err := checkHostPort(c.APIAddr); err != nil {
			return bad("APIAddr", "is %q: %v", c.APIAddr, err)
		}
	}
	if c.RaftAddr != "" {
		if err := checkHostPort(c.RaftAddr); err != nil {
			return bad("RaftAddr", "is %q: %v", c.RaftAddr, err)
		}
	}
	if c.RaftAdvertiseAddr != "" {
		if err := checkHostPort(c.RaftAdvertiseAddr); err != nil {
			return bad("RaftAdvertiseAddr", "is %q: %v", c.RaftAdvertiseAddr, err)
		}
	}
	switch {
	case c.Bootstrap && len(c.Join) > 0:
		return bad("Join", "is set with Bootstrap: a member either starts a new cluster or joins one, not both")
	case !c.Bootstrap && len(c.Join) == 0:
		return bad("Join", "is empty and Bootstrap is false: set Bootstrap to start a new cluster, or Join to the Raft address of a member of one")
	}
	for i, a := range c.Join {
		if err := checkHostPort(a); err != nil {
			return bad(fmt.Sprintf("Join[%d]", i), "is %q: %v", a, err)
		}
	}
	if c.ShutdownGrace < 0 {
		return bad("ShutdownGrace", "is %v: must be 0 (the default) or positive", c.ShutdownGrace)
	}
	if err := c.Controllers.Validate(); err != nil {
		return fmt.Errorf("cluster: ControlPlaneConfig.Controllers: %w", err)
	}
	if err := c.Scheduler.Validate(); err != nil {
		return fmt.Errorf("cluster: ControlPlaneConfig.Scheduler: %w", err)
	}
	return nil
}

// checkHostPort says what is wrong with a "host:port" address, if anything.
func checkHostPort(addr string) error {
	if addr == "" {
		return errors.New("must be host:port, as 127.0.0.1:6443")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be host:port, as 127.0.0.1:6443")
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("port %q must be a number from 0 to 65535", port)
	}
	return nil
}

// storeDir is the member's store directory under dataDir.
func storeDir(dataDir string) string { return filepath.Join(dataDir, "store") }

// KubeconfigPath returns where a ControlPlane on dataDir writes its
// kubeconfig.
func KubeconfigPath(dataDir string) string { return filepath.Join(dataDir, "kubeconfig") }

// AllInOneConfig configures an AllInOne: a one-member control plane and a
// node agent for this machine. Start from DefaultAllInOneConfig; New calls
// Validate.
type AllInOneConfig struct {
	// ControlPlaneConfig configures the control plane. It must bootstrap
	// (Bootstrap true, no Join).
	ControlPlaneConfig

	// Node configures this machine's node agent (see NewNode): the
	// container runtime, the node's name, where its HTTPS API listens.
	// nil means no node of the cluster's own: pods stay Pending unless
	// NodeAgent brings nodes.
	Node *NodeConfig

	// NodeAgent, if not nil, replaces the node agent of Node: it runs
	// once the control plane answers (simulated nodes, a node agent of
	// your own).
	NodeAgent NodeAgent
}

// DefaultAllInOneConfig returns the configuration of `drover up` on
// dataDir: DefaultControlPlaneConfig, and DefaultNodeConfig with the node
// agent's state in dataDir too.
func DefaultAllInOneConfig(dataDir string) AllInOneConfig {
	node := DefaultNodeConfig(dataDir)
	return AllInOneConfig{
		ControlPlaneConfig: DefaultControlPlaneConfig(dataDir),
		Node:               &node,
	}
}

// Validate checks c and says which field is wrong and what would be valid.
func (c AllInOneConfig) Validate() error {
	if !c.Bootstrap || len(c.Join) > 0 {
		return errors.New("cluster: AllInOneConfig.Bootstrap must be true and Join empty: an all-in-one cluster has one member, which starts it")
	}
	if err := c.ControlPlaneConfig.Validate(); err != nil {
		return err
	}
	if c.Node != nil && c.NodeAgent == nil {
		n := *c.Node
		if n.KubeletToken == "" {
			n.KubeletToken = "made-by-Start" // Start makes one when none is given
		}
		if err := n.Validate(); err != nil {
			return fmt.Errorf("cluster: AllInOneConfig.Node: %w", err)
		}
	}
	return nil
}

// DefaultRuntime returns the runtime a node agent on this machine uses by
// default: oci when running as root with runc or crun on PATH, process
// otherwise.
func DefaultRuntime() string {
	if os.Geteuid() == 0 {
		for _, bin := range []string{"runc", "crun"} {
			if _, err := exec.LookPath(bin); err == nil {
				return RuntimeOCI
			}
		}
	}
	return RuntimeProcess
}
