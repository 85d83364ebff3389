package raftstore

import (
	"context"
	"encoding/json"
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

// TestUnreapedSnapshotsOpen: a member killed after a new snapshot was moved
// into place but before the oldest was reaped holds one snapshot more than
// SnapshotRetain. Every one of them is sound, and the member must open (a
// chaos run once found it refused, because raft lists only SnapshotRetain
// snapshots). The next snapshot reaps the extra one. A member killed in the
// middle of a reap holds an old snapshot without meta.json, and one killed
// while writing a snapshot an unfinished one; Open removes both.
func TestUnreapedSnapshotsOpen(t *testing.T) {
	t.Parallel()
	dir := tempDir(t)
	cfg := testConfig(t, "m1", dir, "127.0.0.1:0")
	s := openT(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for round := range cfg.SnapshotRetain {
		for i := range 5 {
			mustCreate(t, s, fmt.Sprintf("/k%d-%d", round, i), "v")
		}
		if err := s.Snapshot(ctx); err != nil {
			t.Fatalf("snapshot: %v", err)
		}
	}
	s.Close()

	snapRoot := filepath.Join(dir, snapDirName)
	snapDirs, err := os.ReadDir(snapRoot)
	if err != nil || len(snapDirs) != cfg.SnapshotRetain {
		t.Fatalf("want %d snapshots, got %v (%v)", cfg.SnapshotRetain, snapDirs, err)
	}
	// An older snapshot beside them, as raft leaves it when killed
	// between moving the newest into place and reaping: a copy of the
	// oldest, one index earlier.
	oldest := snapDirs[0].Name()
	var term, index, ms uint64
	if _, err := fmt.Sscanf(oldest, "%d-%d-%d", &term, &index, &ms); err != nil {
		t.Fatalf("snapshot directory %s: %v", oldest, err)
	}
	older := fmt.Sprintf("%d-%d-%d", term, index-1, ms-1)
	if err := os.MkdirAll(filepath.Join(snapRoot, older), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"state.bin", "meta.json"} {
		b, err := os.ReadFile(filepath.Join(snapRoot, oldest, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "meta.json" {
			var meta map[string]any
			if err := json.Unmarshal(b, &meta); err != nil {
				t.Fatal(err)
			}
			meta["ID"], meta["Index"] = older, index-1
			if b, err = json.Marshal(meta); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(snapRoot, older, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	restart := cfg
	restart.Bootstrap = false

	// Killed while raft removed an old snapshot: its meta.json gone, its
	// data left. Between the two newest, that is no leftover of a reap
	// (fewer than SnapshotRetain snapshots are newer), and is refused.
	// Older than all, it is the rest of a reap, and is removed.
	newest := snapDirs[len(snapDirs)-1].Name()
	for _, tc := range []struct {
		name   string
		refuse bool
	}{
		{fmt.Sprintf("%d-%d-%d", term, index+1, ms+1), true},
		{fmt.Sprintf("%d-%d-%d", term, index-2, ms-2), false},
	} {
		leftover := filepath.Join(snapRoot, tc.name)
		if err := os.MkdirAll(leftover, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(snapRoot, newest, "state.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(leftover, "state.bin"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := Open(ctx, restart)
		cancel()
		if tc.refuse {
			if want := filepath.Join(leftover, "meta.json"); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("snapshot %s without meta.json: Open = %v, want a refusal naming %s", tc.name, err, want)
			}
			os.RemoveAll(leftover)
			continue
		}
		if err != nil {
			t.Fatalf("snapshot %s without meta.json, older than %d sound ones: Open = %v", tc.name, cfg.SnapshotRetain+1, err)
		}
		s.Close()
		if _, err := os.Stat(leftover); !os.IsNotExist(err) {
			t.Fatalf("the remains of old snapshot %s are still there after Open (%v)", tc.name, err)
		}
	}

	// Killed while writing a snapshot: raft skips the unfinished one
	// but would keep it forever; Open removes it.
	unfinished := filepath.Join(snapRoot, fmt.Sprintf("%d-%d-%d.tmp", term, index+100, ms+100))
	if err := os.MkdirAll(unfinished, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(unfinished, "state.bin"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	s = openT(t, restart)
	defer s.Close()
	if _, err := os.Stat(unfinished); !os.IsNotExist(err) {
		t.Fatalf("unfinished snapshot %s is still there after Open (%v)", unfinished, err)
	}
	res, err := s.List(ctx, "/k", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := 5 * cfg.SnapshotRetain; len(res.KVs) != want {
		t.Fatalf("after reopening: %d keys, want %d", len(res.KVs), want)
	}
	mustCreate(t, s, "/after", "v")
	if err := s.Snapshot(ctx); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if snapDirs, err = os.ReadDir(snapRoot); err != nil || len(snapDirs) != cfg.SnapshotRetain {
		t.Fatalf("after the next snapshot: want %d snapshots, got %v (%v)", cfg.SnapshotRetain, snapDirs, err)
	}
}
