package raftstore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/store"
)

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig("/tmp/x")
	if err := good.Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	cases := []struct {
		field string
		mod   func(*Config)
	}{
		{"NodeID", func(c *Config) { c.NodeID = "" }},
		{"NodeID", func(c *Config) { c.NodeID = "has space" }},
		{"DataDir", func(c *Config) { c.DataDir = "" }},
		{"BindAddr", func(c *Config) { c.BindAddr = "nope" }},
		{"AdvertiseAddr", func(c *Config) { c.AdvertiseAddr = "0.0.0.0:7000" }},
		{"AdvertiseAddr", func(c *Config) { c.AdvertiseAddr = "10.0.0.1:0" }},
		{"Join", func(c *Config) { c.Join = []string{"10.0.0.1:7000"} }},
		{"Join[0]", func(c *Config) { c.Bootstrap = false; c.Join = []string{"10.0.0.1"} }},
		{"ClusterID", func(c *Config) { c.ClusterID = "a/b" }},
		{"RestoreFrom", func(c *Config) { c.Bootstrap = false; c.RestoreFrom = "/backup" }},
		{"HeartbeatTimeout", func(c *Config) { c.HeartbeatTimeout = -time.Second }},
		{"HeartbeatTimeout", func(c *Config) { c.HeartbeatTimeout = time.Millisecond }},
		{"ElectionTimeout", func(c *Config) { c.ElectionTimeout = 100 * time.Millisecond }},
		{"LeaderLeaseTimeout", func(c *Config) { c.LeaderLeaseTimeout = 2 * time.Second }},
		{"MaxBatch", func(c *Config) { c.MaxBatch = -1 }},
		{"MaxInflight", func(c *Config) { c.MaxInflight = 1000 }},
		{"WatchHistory", func(c *Config) { c.WatchHistory = -5 }},
		{"LeaderWait", func(c *Config) { c.LeaderWait = -1 }},
	}
	for _, tc := range cases {
		cfg := good
		tc.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "Config."+tc.field+" ") {
			t.Errorf("bad %s: Validate() = %v, want an error naming Config.%s", tc.field, err, tc.field)
		}
		if _, err := Open(context.Background(), cfg); err == nil {
			t.Errorf("bad %s: Open succeeded", tc.field)
		}
	}
	// Zero tunables mean the defaults.
	if err := (Config{NodeID: "a", DataDir: "/d", Bootstrap: true}).Validate(); err != nil {
		t.Errorf("minimal config: %v", err)
	}
}

// TestDataDirChecks: Open refuses damaged or foreign data, naming the
// file, and leaves it as it was.
func TestDataDirChecks(t *testing.T) {
	t.Parallel()
	// A data directory of a one-member cluster, closed.
	dir := tempDir(t)
	cfg := testConfig(t, "m1", dir, "127.0.0.1:0")
	s := openT(t, cfg)
	mustCreate(t, s, "/a", "1")
	clusterID := s.ClusterID()
	s.Close()
	restart := cfg
	restart.Bootstrap = false
	metaPath := filepath.Join(dir, metaFileName)
	boltPath := filepath.Join(dir, boltFileName)
	metaData, _ := os.ReadFile(metaPath)
	boltData, _ := os.ReadFile(boltPath)

	open := tryOpen
	wantRefused := func(what string, err error, file string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: Open succeeded", what)
		}
		if !strings.Contains(err.Error(), file) {
			t.Fatalf("%s: error %q does not name %s", what, err, file)
		}
	}
	restore := func() {
		os.WriteFile(metaPath, metaData, 0o600)
		os.WriteFile(boltPath, boltData, 0o600)
	}

	// Garbage metadata.
	os.WriteFile(metaPath, []byte("{not json"), 0o600)
	wantRefused("garbage metadata", open(restart), metaPath)
	if b, _ := os.ReadFile(metaPath); string(b) != "{not json" {
		t.Fatal("Open rewrote the damaged metadata file")
	}
	restore()
	// Metadata of a newer format.
	os.WriteFile(metaPath, bytes.Replace(metaData, []byte(`"format": 1`), []byte(`"format": 99`), 1), 0o600)
	wantRefused("future metadata format", open(restart), metaPath)
	restore()
	// Another member's directory.
	other := restart
	other.NodeID = "m2"
	wantRefused("another member's directory", open(other), metaPath)
	// Another cluster's directory.
	foreign := restart
	foreign.ClusterID = "another-cluster"
	err := open(foreign)
	wantRefused("another cluster's directory", err, metaPath)
	if !errors.Is(err, ErrClusterMismatch) {
		t.Fatalf("another cluster's directory: %v, want ErrClusterMismatch", err)
	}
	// A corrupt Raft log.
	garbage := bytes.Repeat([]byte("garbage!"), 4096)
	os.WriteFile(boltPath, garbage, 0o600)
	wantRefused("corrupt bolt file", open(restart), boltPath)
	if b, _ := os.ReadFile(boltPath); !bytes.Equal(b, garbage) {
		t.Fatal("Open changed the corrupt bolt file")
	}
	// A bolt file whose first pages were zeroed.
	zeroed := append(make([]byte, 16384), boltData[16384:]...)
	os.WriteFile(boltPath, zeroed, 0o600)
	wantRefused("zeroed bolt header", open(restart), boltPath)
	// A Raft log that vanished.
	os.Remove(boltPath)
	wantRefused("missing bolt file", open(restart), boltPath)
	restore()
	// Metadata that vanished, leaving the log.
	os.Remove(metaPath)
	wantRefused("missing metadata", open(restart), metaPath)
	restore()

	// After all that, the directory still opens, with its data.
	s = openT(t, restart)
	defer s.Close()
	if s.ClusterID() != clusterID {
		t.Fatalf("cluster ID %q, want %q", s.ClusterID(), clusterID)
	}
	if kv := mustGet(t, s, "/a", store.ReadOptions{}); string(kv.Value) != "1" {
		t.Fatalf("/a = %q after reopening", kv.Value)
	}
}

func TestForeignAndNewDirectories(t *testing.T) {
	t.Parallel()
	// A directory with someone else's files.
	dir := tempDir(t)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o600)
	_, err := Open(context.Background(), testConfig(t, "m1", dir, "127.0.0.1:0"))
	if err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("foreign directory: %v, want an error naming notes.txt", err)
	}
	// A new directory with neither Bootstrap nor Join.
	cfg := testConfig(t, "m1", tempDir(t), "127.0.0.1:0")
	cfg.Bootstrap = false
	if _, err := Open(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "Bootstrap") {
		t.Fatalf("new directory without Bootstrap or Join: %v", err)
	}
}

// TestBadInput: invalid keys and oversized values fail before they reach
// the leader, with the store's sentinels.
func TestBadInput(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, nil)
	f := c.members[c.follower()]
	big := make([]byte, store.MaxValueSize+1)
	if _, err := f.Create(ctxT(t), "/big", big); !errors.Is(err, store.ErrValueTooLarge) {
		t.Fatalf("oversized value: %v", err)
	}
	for _, key := range []string{"", "a\x00b", "\xff"} {
		if _, err := f.Create(ctxT(t), key, nil); !errors.Is(err, store.ErrInvalidKey) {
			t.Fatalf("Create(%q): %v", key, err)
		}
		if _, err := f.Get(ctxT(t), key, store.ReadOptions{}); !errors.Is(err, store.ErrInvalidKey) {
			t.Fatalf("Get(%q): %v", key, err)
		}
	}
	if _, err := f.Update(ctxT(t), "/k", nil, -1); err == nil {
		t.Fatal("Update with a negative revision succeeded")
	}
	if rev, _ := f.Revision(ctxT(t)); rev != 0 {
		t.Fatalf("bad writes used revisions: %d", rev)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := newCluster(t, 2, func(cfg *Config) { cfg.Registerer = reg })
	f := c.members[c.follower()]
	for i := range 5 {
		mustCreate(t, f, "/m/"+string(rune('a'+i)), "v")
	}
	mustGet(t, f, "/m/a", store.ReadOptions{})
	for _, s := range c.members {
		if err := s.Ready(); err != nil {
			t.Fatalf("%s Ready: %v", s.NodeID(), err)
		}
		if err := s.Healthy(); err != nil {
			t.Fatalf("%s Healthy: %v", s.NodeID(), err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range families {
		got[mf.GetName()] = true
	}
	for _, name := range []string{
		"commit_latency_seconds", "applied_index", "leader_changes_total", "is_leader",
		"snapshot_duration_seconds", "forwarded_requests_total", "read_index_latency_seconds", "batch_size",
	} {
		if !got[metricsNamespace+"_"+name] {
			t.Errorf("metric %s_%s not exported (have %v)", metricsNamespace, name, got)
		}
	}
	// Closed members unregister, so a member can be reopened on the same
	// registry.
	c.close()
	for _, s := range c.members {
		if err := s.Ready(); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("Ready after Close: %v", err)
		}
	}
	if families, _ := reg.Gather(); len(families) != 0 {
		t.Fatalf("%d metric families left after Close", len(families))
	}
}
