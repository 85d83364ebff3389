package raftstore

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for Config. Zero values in a Config mean these.
const (
	// DefaultBindAddr listens on a free loopback port: right for the
	// embedded single member, which nobody else dials.
	DefaultBindAddr = "127.0.0.1:0"

	// Raft timing for a LAN. A follower that hears nothing from the
	// leader for HeartbeatTimeout starts an election; a leader that cannot
	// reach a quorum for LeaderLeaseTimeout steps down.
	DefaultHeartbeatTimeout   = 500 * time.Millisecond
	DefaultElectionTimeout    = 1 * time.Second
	DefaultLeaderLeaseTimeout = 500 * time.Millisecond
	DefaultCommitTimeout      = 20 * time.Millisecond

	// Snapshots: one after DefaultSnapshotThreshold log entries (checked
	// every DefaultSnapshotInterval), keeping DefaultTrailingLogs entries
	// behind it so that a briefly lagging follower catches up from the
	// log rather than from a whole snapshot.
	DefaultSnapshotThreshold = 8192
	DefaultSnapshotInterval  = 30 * time.Second
	DefaultTrailingLogs      = 10240
	DefaultSnapshotRetain    = 2

	// Group commit: at most DefaultMaxBatch commands or
	// DefaultMaxBatchBytes bytes per Raft entry, and at most
	// DefaultMaxInflight entries proposed and not yet applied.
	DefaultMaxBatch      = 512
	DefaultMaxBatchBytes = 1 << 20
	DefaultMaxInflight   = 2

	// DefaultLeaderWait is how long a request waits for a leader to be
	// elected before it fails with store.ErrUnavailable.
	DefaultLeaderWait = 5 * time.Second

	// DefaultProgressInterval paces watch progress notifications.
	DefaultProgressInterval = 5 * time.Second
)

// Config configures one member of a replicated store. Start from
// DefaultConfig, change what you need, and pass it to Open, which calls
// Validate. Zero numeric fields mean the defaults above.
//
// Every field but Logger, Registerer, Listener and Dialer is plain data
// (those four are skipped by encoding/json), so a test can hand a Config
// to a member running in a subprocess as JSON.
type Config struct {
	// NodeID names this member, uniquely in its cluster and for its whole
	// life: letters, digits, '.', '_' and '-', at most 64 bytes. It is
	// recorded in the data directory, which then refuses to start under
	// another ID.
	NodeID string

	// DataDir holds the Raft log (raft.db), snapshots (snapshots/) and the
	// metadata file (drover-store.json). It is created if missing. A
	// directory that holds something else, or another member's or
	// cluster's data, is refused.
	DataDir string

	// BindAddr is the host:port the member listens on for Raft and for
	// requests forwarded by other members (one port for both); empty
	// means DefaultBindAddr. Port 0
	// picks a free port, which suits a single member; members of a
	// cluster need a fixed port, because their address is recorded in
	// the cluster configuration.
	BindAddr string

	// AdvertiseAddr is the host:port other members dial to reach this
	// one. Empty means the address the listener got.
	AdvertiseAddr string

	// Bootstrap starts a new cluster with this member as its only voter
	// when the data directory is new. Other members then Join it. On a
	// restart it does nothing.
	Bootstrap bool

	// Join lists addresses of existing members; a new member asks them,
	// one after the other, to add it to their cluster. Any member will do:
	// a follower forwards the request to the leader. On a restart it does
	// nothing, unless this member was removed from the cluster.
	Join []string

	// ClusterID, if set, is the ID of the cluster this member belongs to:
	// Bootstrap gives the new cluster this ID, Join refuses a cluster
	// with another ID, and a data directory of another cluster is
	// refused. Empty means: generate one at Bootstrap, learn it at Join.
	ClusterID string

	// RestoreFrom, with Bootstrap on a new data directory, is the path of
	// a file written by Store.Backup: the new cluster starts with its
	// contents and revisions, and members that join later receive them.
	RestoreFrom string

	// Raft timing. See the Default constants.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration

	// SnapshotThreshold is how many log entries since the last snapshot
	// trigger the next one; SnapshotInterval is how often that is
	// checked; TrailingLogs is how many entries a snapshot leaves in the
	// log; SnapshotRetain is how many snapshot files are kept.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	SnapshotRetain    int

	// MaxBatch and MaxBatchBytes bound the writes the leader groups into
	// one Raft entry; MaxInflight bounds the entries proposed and not yet
	// applied, so that writes arriving meanwhile queue up for the next
	// entry instead of each taking an entry (and an fsync) of its own.
	MaxBatch      int
	MaxBatchBytes int
	MaxInflight   int

	// LeaderWait bounds how long a request waits for a leader before it
	// fails with store.ErrUnavailable (the request's ctx may end first).
	LeaderWait time.Duration

	// ProgressInterval is how often idle watches that asked for
	// ProgressNotify get an EventProgress.
	ProgressInterval time.Duration

	// WatchHistory is how many recent events are kept in memory for
	// watches (see mvcc.Options). 0 means the engine's default.
	WatchHistory int

	// Logger receives the store's log lines, and Raft's at Debug level
	// (its warnings and errors at their own level). nil discards them.
	Logger *slog.Logger `json:"-"`

	// Registerer, if not nil, receives the store's Prometheus metrics,
	// labelled member=NodeID. Close unregisters them.
	Registerer prometheus.Registerer `json:"-"`

	// Listener, if not nil, is used instead of listening on BindAddr. The
	// store closes it. Tests use it, with Dialer, to cut a member off the
	// network.
	Listener net.Listener `json:"-"`

	// Dialer, if not nil, opens every connection to another member, for
	// Raft and for forwarded requests, instead of a net.Dialer. It must
	// honour ctx's deadline.
	Dialer func(ctx context.Context, addr string) (net.Conn, error) `json:"-"`
}

// DefaultConfig returns the configuration of the embedded single member:
// it bootstraps a one-member cluster in dataDir, listening on a free
// loopback port, with the default timing, snapshotting and batching.
func DefaultConfig(dataDir string) Config {
	return Config{
		NodeID:             "default",
		DataDir:            dataDir,
		BindAddr:           DefaultBindAddr,
		Bootstrap:          true,
		HeartbeatTimeout:   DefaultHeartbeatTimeout,
		ElectionTimeout:    DefaultElectionTimeout,
		LeaderLeaseTimeout: DefaultLeaderLeaseTimeout,
		CommitTimeout:      DefaultCommitTimeout,
		SnapshotThreshold:  DefaultSnapshotThreshold,
		SnapshotInterval:   DefaultSnapshotInterval,
		TrailingLogs:       DefaultTrailingLogs,
		SnapshotRetain:     DefaultSnapshotRetain,
		MaxBatch:           DefaultMaxBatch,
		MaxBatchBytes:      DefaultMaxBatchBytes,
		MaxInflight:        DefaultMaxInflight,
		LeaderWait:         DefaultLeaderWait,
		ProgressInterval:   DefaultProgressInterval,
	}
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Validate checks the configuration and says which field is wrong and what
// would be valid.
func (c Config) Validate() error {
	bad := func(field string, format string, args ...any) error {
		return fmt.Errorf("raftstore: Config.%s %s", field, fmt.Sprintf(format, args...))
	}
	if !nodeIDPattern.MatchString(c.NodeID) {
		return bad("NodeID", "is %q: must be 1 to 64 letters, digits, '.', '_' or '-'", c.NodeID)
	}
	if c.DataDir == "" {
		return bad("DataDir", "is empty: must name the directory for the member's data")
	}
	if c.Listener == nil && c.BindAddr != "" {
		if err := checkHostPort(c.BindAddr, true); err != nil {
			return bad("BindAddr", "is %q: %v", c.BindAddr, err)
		}
	}
	if c.AdvertiseAddr != "" {
		if err := checkHostPort(c.AdvertiseAddr, false); err != nil {
			return bad("AdvertiseAddr", "is %q: %v", c.AdvertiseAddr, err)
		}
		if host, _, _ := net.SplitHostPort(c.AdvertiseAddr); host != "" {
			if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
				return bad("AdvertiseAddr", "is %q: other members cannot dial an unspecified address", c.AdvertiseAddr)
			}
		}
	}
	if c.Bootstrap && len(c.Join) > 0 {
		return bad("Join", "is set together with Bootstrap: a member either starts a new cluster or joins one")
	}
	for i, a := range c.Join {
		if err := checkHostPort(a, false); err != nil {
			return bad(fmt.Sprintf("Join[%d]", i), "is %q: %v", a, err)
		}
	}
	if c.ClusterID != "" && !nodeIDPattern.MatchString(c.ClusterID) {
		return bad("ClusterID", "is %q: must be 1 to 64 letters, digits, '.', '_' or '-'", c.ClusterID)
	}
	if c.RestoreFrom != "" && !c.Bootstrap {
		return bad("RestoreFrom", "is set without Bootstrap: a backup is restored into a new cluster by its first member")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"HeartbeatTimeout", c.HeartbeatTimeout},
		{"ElectionTimeout", c.ElectionTimeout},
		{"LeaderLeaseTimeout", c.LeaderLeaseTimeout},
		{"CommitTimeout", c.CommitTimeout},
		{"SnapshotInterval", c.SnapshotInterval},
		{"LeaderWait", c.LeaderWait},
		{"ProgressInterval", c.ProgressInterval},
	} {
		if d.v < 0 {
			return bad(d.name, "is %v: must be positive, or 0 for the default", d.v)
		}
	}
	c = c.withDefaults()
	if c.HeartbeatTimeout < 5*time.Millisecond {
		return bad("HeartbeatTimeout", "is %v: must be at least 5ms", c.HeartbeatTimeout)
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		return bad("ElectionTimeout", "is %v: must be at least HeartbeatTimeout (%v)", c.ElectionTimeout, c.HeartbeatTimeout)
	}
	if c.LeaderLeaseTimeout < 5*time.Millisecond || c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		return bad("LeaderLeaseTimeout", "is %v: must be between 5ms and HeartbeatTimeout (%v)", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	}
	if c.CommitTimeout < time.Millisecond {
		return bad("CommitTimeout", "is %v: must be at least 1ms", c.CommitTimeout)
	}
	if c.SnapshotInterval < 5*time.Millisecond {
		return bad("SnapshotInterval", "is %v: must be at least 5ms", c.SnapshotInterval)
	}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"SnapshotRetain", c.SnapshotRetain},
		{"MaxBatch", c.MaxBatch},
		{"MaxBatchBytes", c.MaxBatchBytes},
		{"MaxInflight", c.MaxInflight},
		{"WatchHistory", c.WatchHistory + 1}, // 0 is valid
	} {
		if n.v < 1 {
			return bad(n.name, "is %d: must be positive, or 0 for the default", n.v)
		}
	}
	if c.MaxInflight > 64 {
		return bad("MaxInflight", "is %d: must be at most 64", c.MaxInflight)
	}
	return nil
}

// withDefaults returns c with its zero tunables set to the defaults.
func (c Config) withDefaults() Config {
	setD := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	setI := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	if c.BindAddr == "" && c.Listener == nil {
		c.BindAddr = DefaultBindAddr
	}
	setD(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	setD(&c.ElectionTimeout, max(DefaultElectionTimeout, c.HeartbeatTimeout))
	setD(&c.LeaderLeaseTimeout, min(DefaultLeaderLeaseTimeout, c.HeartbeatTimeout))
	setD(&c.CommitTimeout, DefaultCommitTimeout)
	setD(&c.SnapshotInterval, DefaultSnapshotInterval)
	setD(&c.LeaderWait, DefaultLeaderWait)
	setD(&c.ProgressInterval, DefaultProgressInterval)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = DefaultTrailingLogs
	}
	setI(&c.SnapshotRetain, DefaultSnapshotRetain)
	setI(&c.MaxBatch, DefaultMaxBatch)
	setI(&c.MaxBatchBytes, DefaultMaxBatchBytes)
	setI(&c.MaxInflight, DefaultMaxInflight)
	return c
}

// checkHostPort checks a host:port; port 0 is allowed only if zeroPort.
func checkHostPort(addr string, zeroPort bool) error {
	if addr == "" {
		return fmt.Errorf("must be host:port")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be host:port: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q must be a number from 0 to 65535", port)
	}
	if p == 0 && !zeroPort {
		return fmt.Errorf("port must not be 0")
	}
	return nil
}
