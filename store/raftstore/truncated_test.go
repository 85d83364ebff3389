package raftstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/store"
)

// TestTruncatedLogRefused: with a snapshot beside it, a raft.db that was
// truncated to nothing, or replaced by an empty database, must be refused.
// bbolt would happily initialise either, and the member would start from
// the snapshot alone: the writes after it, and its term and vote, gone.
func TestTruncatedLogRefused(t *testing.T) {
	t.Parallel()
	dir := tempDir(t)
	cfg := testConfig(t, "m1", dir, "127.0.0.1:0")
	s := openT(t, cfg)
	for i := range 10 {
		mustCreate(t, s, fmt.Sprintf("/k%02d", i), "v")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Snapshot(ctx); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	for i := 10; i < 20; i++ {
		mustCreate(t, s, fmt.Sprintf("/k%02d", i), "v")
	}
	s.Close()

	restart := cfg
	restart.Bootstrap = false
	boltPath := filepath.Join(dir, boltFileName)
	boltData, err := os.ReadFile(boltPath)
	if err != nil {
		t.Fatal(err)
	}
	open := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := Open(ctx, restart)
		if err == nil {
			s.Close()
		}
		return err
	}

	// Truncated to zero bytes.
	if err := os.Truncate(boltPath, 0); err != nil {
		t.Fatal(err)
	}
	if err := open(); err == nil || !strings.Contains(err.Error(), boltPath) {
		t.Fatalf("zero-length raft.db: Open = %v, want a refusal naming %s", err, boltPath)
	}

	// Replaced by a valid but empty bolt database.
	os.Remove(boltPath)
	empty, err := openBolt(boltPath)
	if err != nil {
		t.Fatal(err)
	}
	empty.Close()
	if err := open(); err == nil || !strings.Contains(err.Error(), boltPath) {
		t.Fatalf("empty raft.db: Open = %v, want a refusal naming %s", err, boltPath)
	}

	// The real log opens with every write.
	if err := os.WriteFile(boltPath, boltData, 0o600); err != nil {
		t.Fatal(err)
	}
	s = openT(t, restart)
	defer s.Close()
	res, err := s.List(ctx, "/k", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.KVs) != 20 {
		t.Fatalf("after reopening: %d keys, want 20", len(res.KVs))
	}
}

// TestDamagedSnapshotRefused: a snapshot whose data fails its checksum, or
// whose meta.json does not read, is refused by name rather than skipped.
func TestDamagedSnapshotRefused(t *testing.T) {
	t.Parallel()
	dir := tempDir(t)
	cfg := testConfig(t, "m1", dir, "127.0.0.1:0")
	s := openT(t, cfg)
	for i := range 10 {
		mustCreate(t, s, fmt.Sprintf("/k%02d", i), "v")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Snapshot(ctx); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	s.Close()
	restart := cfg
	restart.Bootstrap = false

	snapDirs, err := os.ReadDir(filepath.Join(dir, snapDirName))
	if err != nil || len(snapDirs) != 1 {
		t.Fatalf("want one snapshot, got %v (%v)", snapDirs, err)
	}
	snapDir := filepath.Join(dir, snapDirName, snapDirs[0].Name())
	open := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := Open(ctx, restart)
		if err == nil {
			s.Close()
		}
		return err
	}
	for _, tc := range []struct {
		file   string
		damage func([]byte) []byte
	}{
		{"state.bin", func(b []byte) []byte { c := append([]byte(nil), b...); c[len(c)/2] ^= 0xff; return c }},
		{"meta.json", func([]byte) []byte { return []byte("{not json") }},
	} {
		path := filepath.Join(snapDir, tc.file)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(path, tc.damage(orig), 0o600)
		if err := open(); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("damaged %s: Open = %v, want a refusal naming %s", tc.file, err, path)
		}
		os.WriteFile(path, orig, 0o600)
	}
	if err := open(); err != nil {
		t.Fatalf("undamaged directory: %v", err)
	}
}
