package raftstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/store"
)

// Test data directories live on tmpfs (/dev/shm) when there is one: on a
// disk an fsync takes milliseconds, and the tests here check protocol and
// recovery, which tmpfs exercises the same way (the files persist across
// a member's restart). DROVER_STORE_TEST_DISK=1 puts them on disk.
func tempDir(t testing.TB) string {
	t.Helper()
	if os.Getenv("DROVER_STORE_TEST_DISK") == "" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			dir, err := os.MkdirTemp("/dev/shm", "raftstore-test-")
			if err == nil {
				t.Cleanup(func() { os.RemoveAll(dir) })
				return dir
			}
		}
	}
	return t.TempDir()
}

// freeAddr returns a loopback address with a port that was free a moment
// ago. Members need fixed ports, since their addresses are in the Raft
// configuration and must survive a restart.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitFor polls cond until it holds, failing t after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// testLogger logs to t at Warn and above (Debug with
// DROVER_STORE_TEST_VERBOSE=1).
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("DROVER_STORE_TEST_VERBOSE") != "" {
		level = slog.LevelDebug
	}
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// tWriter writes log lines to t until t's cleanup, and drops them after:
// hashicorp/raft's connection goroutines may log a moment after Close.
type tWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p[:len(p)-1]))
	}
	return len(p), nil
}

// testConfig is a member with fast timing for loopback.
func testConfig(t testing.TB, id, dir, addr string) Config {
	cfg := DefaultConfig(dir)
	cfg.NodeID = id
	cfg.BindAddr = addr
	// The default timing, which tolerates the stalls of a loaded
	// two-core machine running tests in parallel; bootstrap does not
	// wait for it (see campaignNow).
	cfg.HeartbeatTimeout = 500 * time.Millisecond
	cfg.ElectionTimeout = time.Second
	cfg.LeaderLeaseTimeout = 500 * time.Millisecond
	cfg.LeaderWait = 10 * time.Second
	cfg.ProgressInterval = 50 * time.Millisecond
	cfg.Logger = testLogger(t)
	return cfg
}

func openT(t testing.TB, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open %s: %v", cfg.NodeID, err)
	}
	return s
}

// cluster is a set of members started by a test.
type cluster struct {
	t       testing.TB
	members []*Store
	cfgs    []Config
	net     *faultNet
}

// newCluster starts n members: the first bootstraps, the others join
// through it. mod, if not nil, adjusts every member's config.
func newCluster(t testing.TB, n int, mod func(*Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, net: newFaultNet()}
	for i := range n {
		cfg := testConfig(t, fmt.Sprintf("m%d", i+1), tempDir(t), freeAddr(t))
		cfg.Dialer = c.net.dialer(cfg.BindAddr)
		if i == 0 {
			cfg.Bootstrap = true
		} else {
			cfg.Bootstrap = false
			cfg.Join = []string{c.cfgs[0].BindAddr}
		}
		if mod != nil {
			mod(&cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
		c.members = append(c.members, openT(t, cfg))
	}
	t.Cleanup(c.close)
	return c
}

func (c *cluster) close() {
	for _, s := range c.members {
		if s != nil {
			s.Abort()
		}
	}
}

// restart stops member i (if open, as a crash would) and opens it again
// on its data with the same Config, as an operator's restart does.
func (c *cluster) restart(i int) *Store {
	c.t.Helper()
	if c.members[i] != nil {
		c.members[i].Abort()
	}
	c.members[i] = openT(c.t, c.cfgs[i])
	return c.members[i]
}

// leader waits for a leader among the open members and returns its index.
func (c *cluster) leader() int {
	c.t.Helper()
	idx := -1
	waitFor(c.t, 15*time.Second, "a leader", func() bool {
		for i, s := range c.members {
			if s != nil && !s.closed.Load() && s.IsLeader() && s.readyTerm.Load() == s.raft.CurrentTerm() {
				idx = i
				return true
			}
		}
		return false
	})
	return idx
}

// follower returns the index of an open member that does not lead.
func (c *cluster) follower() int {
	c.t.Helper()
	l := c.leader()
	for i, s := range c.members {
		if i != l && s != nil && !s.closed.Load() {
			return i
		}
	}
	c.t.Fatal("no follower")
	return -1
}

// faultNet connects members and can cut one off: a member that is
// isolated can neither dial nor be dialed, and its connections are
// closed. It is what a nemesis does through Config.Dialer.
type faultNet struct {
	mu       sync.Mutex
	isolated map[string]bool
	conns    map[string][]net.Conn // by both ends' member addresses
}

func newFaultNet() *faultNet {
	return &faultNet{isolated: make(map[string]bool), conns: make(map[string][]net.Conn)}
}

var errPartitioned = errors.New("faultnet: partitioned")

// dialer returns the Config.Dialer of the member at from.
func (n *faultNet) dialer(from string) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		n.mu.Lock()
		blocked := n.isolated[from] || n.isolated[addr]
		n.mu.Unlock()
		if blocked {
			return nil, errPartitioned
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.isolated[from] || n.isolated[addr] {
			conn.Close()
			return nil, errPartitioned
		}
		n.conns[from] = append(n.conns[from], conn)
		n.conns[addr] = append(n.conns[addr], conn)
		return conn, nil
	}
}

// isolate cuts the member at addr off.
func (n *faultNet) isolate(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.isolated[addr] = true
	for _, c := range n.conns[addr] {
		c.Close()
	}
	n.conns[addr] = nil
}

// heal reconnects every member.
func (n *faultNet) heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.isolated)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustCreate(t testing.TB, s store.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Create(ctxT(t), key, []byte(value))
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	return rev
}

func mustGet(t testing.TB, s store.Store, key string, opts store.ReadOptions) *store.KeyValue {
	t.Helper()
	kv, err := s.Get(ctxT(t), key, opts)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return kv
}
