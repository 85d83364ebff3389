package raftstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

	// Truncated to zero bytes.
	if err := os.Truncate(boltPath, 0); err != nil {
		t.Fatal(err)
	}
	if err := tryOpen(restart); err == nil || !strings.Contains(err.Error(), boltPath) {
		t.Fatalf("zero-length raft.db: Open = %v, want a refusal naming %s", err, boltPath)
	}

	// Replaced by a valid but empty bolt database.
	os.Remove(boltPath)
	empty, err := openBolt(boltPath)
	if err != nil {
		t.Fatal(err)
	}
	empty.Close()
	if err := tryOpen(restart); err == nil || !strings.Contains(err.Error(), boltPath) {
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
		if err := tryOpen(restart); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("damaged %s: Open = %v, want a refusal naming %s", tc.file, err, path)
		}
		os.WriteFile(path, orig, 0o600)
	}
	if err := tryOpen(restart); err != nil {
		t.Fatalf("undamaged directory: %v", err)
	}
}

// TestKilledSnapshotStatesOpen: every state a SIGKILL can leave in the
// snapshot directory opens, and what the kill left is cleared away:
//   - retain+1 sound snapshots: killed after a new snapshot was moved into
//     place, before the oldest was reaped (a chaos run once found such a
//     member refused, because raft lists only SnapshotRetain snapshots);
//   - an old snapshot without meta.json: killed in the middle of a reap,
//     which leaves one only behind at least retain newer ones, possibly
//     at the same term and index (raft orders those by ID);
//   - an unfinished snapshot (.tmp): killed while writing one.
//
// A directory without meta.json that a reap cannot have left, or an old
// meta.json that does not read, is refused, and a refused Open removes
// nothing.
func TestKilledSnapshotStatesOpen(t *testing.T) {
	t.Parallel()
	dir := tempDir(t)
	cfg := testConfig(t, "m1", dir, "127.0.0.1:0")
	retain := cfg.SnapshotRetain
	s := openT(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for round := range retain {
		for i := range 5 {
			mustCreate(t, s, fmt.Sprintf("/k%d-%d", round, i), "v")
		}
		if err := s.Snapshot(ctx); err != nil {
			t.Fatalf("snapshot: %v", err)
		}
	}
	s.Close()
	restart := cfg
	restart.Bootstrap = false

	root := filepath.Join(dir, snapDirName)
	snaps := snapshotsNewestFirst(t, root)
	if len(snaps) != retain {
		t.Fatalf("want %d snapshots, got %v", retain, snaps)
	}
	newest, oldest := snaps[0], snaps[retain-1]
	if newest.index < oldest.index+3 {
		t.Fatalf("snapshots %v are too close for the cases below", snaps)
	}
	// A sound snapshot older than both: the one a reap would have
	// removed, had the member lived.
	extra := copySnapshot(t, root, oldest, oldest.term, oldest.index-2, oldest.ms-2, true)
	if err := tryOpen(restart); err != nil {
		t.Fatalf("%d sound snapshots (SnapshotRetain %d): Open = %v", retain+1, retain, err)
	}

	// Without meta.json, between the two newest: a reap leaves no such
	// directory (only one snapshot is newer). Refused, by name, and
	// nothing is removed, not even an unfinished snapshot.
	unfinished := filepath.Join(root, fmt.Sprintf("%d-%d-%d.tmp", newest.term, newest.index+1, newest.ms+1))
	if err := os.MkdirAll(unfinished, 0o755); err != nil {
		t.Fatal(err)
	}
	between := copySnapshot(t, root, oldest, oldest.term, oldest.index+1, oldest.ms+1, false)
	if err := tryOpen(restart); err == nil || !strings.Contains(err.Error(), filepath.Join(between, "meta.json")) {
		t.Fatalf("snapshot without meta.json between the newest two: Open = %v, want a refusal naming %s", err, between)
	}
	for _, p := range []string{between, unfinished} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("a refused Open removed %s (%v)", p, err)
		}
	}
	os.RemoveAll(between)

	// An old meta.json that is there but does not read is damage, not a
	// kill: refused.
	damaged := copySnapshot(t, root, oldest, oldest.term, oldest.index-3, oldest.ms-3, true)
	os.WriteFile(filepath.Join(damaged, "meta.json"), []byte(`{"ID": `), 0o600)
	if err := tryOpen(restart); err == nil || !strings.Contains(err.Error(), filepath.Join(damaged, "meta.json")) {
		t.Fatalf("old snapshot with a damaged meta.json: Open = %v, want a refusal naming it", err)
	}
	os.RemoveAll(damaged)

	// Without meta.json and older than retain sound ones, one of them at
	// its own term and index: what a reap leaves. Opens, and is removed,
	// as is the unfinished snapshot.
	var leftovers []string
	for _, st := range []struct {
		index, ms uint64
		files     []string
	}{
		{oldest.index, oldest.ms - 1, []string{"state.bin"}}, // same term and index as the oldest, lower ID
		{oldest.index - 5, oldest.ms - 5, nil},               // empty
	} {
		p := copySnapshot(t, root, oldest, oldest.term, st.index, st.ms, false)
		if st.files == nil {
			os.Remove(filepath.Join(p, "state.bin"))
		}
		leftovers = append(leftovers, p)
	}
	if err := tryOpen(restart); err != nil {
		t.Fatalf("remains of reaped snapshots: Open = %v", err)
	}
	for _, p := range append(leftovers, unfinished) {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s is still there after Open (%v)", p, err)
		}
	}

	s = openT(t, restart)
	defer s.Close()
	res, err := s.List(ctx, "/k", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := 5 * retain; len(res.KVs) != want {
		t.Fatalf("after reopening: %d keys, want %d", len(res.KVs), want)
	}
	// The next snapshot reaps the extra one.
	mustCreate(t, s, "/after", "v")
	if err := s.Snapshot(ctx); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if got := snapshotsNewestFirst(t, root); len(got) != retain {
		t.Fatalf("after the next snapshot: want %d snapshots, got %v", retain, got)
	}
	if _, err := os.Stat(extra); !os.IsNotExist(err) {
		t.Fatalf("the extra snapshot %s was not reaped (%v)", extra, err)
	}
}

// TestNewestSnapshotRaftSkipsRefused: a newest snapshot that raft would
// skip for a reason other than unreadable JSON (a version it does not
// read, a CRC that does not decode, an ID not its own) is refused, rather
// than raft falling back to the older one.
func TestNewestSnapshotRaftSkipsRefused(t *testing.T) {
	t.Parallel()
	dir := tempDir(t)
	cfg := testConfig(t, "m1", dir, "127.0.0.1:0")
	s := openT(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for round := range 2 {
		mustCreate(t, s, fmt.Sprintf("/k%d", round), "v")
		if err := s.Snapshot(ctx); err != nil {
			t.Fatalf("snapshot: %v", err)
		}
	}
	s.Close()
	restart := cfg
	restart.Bootstrap = false
	root := filepath.Join(dir, snapDirName)
	newest := snapshotsNewestFirst(t, root)[0]
	path := filepath.Join(root, newest.name, "meta.json")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, field, value string }{
		{"version", "Version", "7"},
		{"CRC", "CRC", `"!!"`},
		{"ID", "ID", `"1-1-1"`},
	} {
		var meta map[string]json.RawMessage
		if err := json.Unmarshal(orig, &meta); err != nil {
			t.Fatal(err)
		}
		meta[tc.field] = json.RawMessage(tc.value)
		b, _ := json.Marshal(meta)
		os.WriteFile(path, b, 0o600)
		if err := tryOpen(restart); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("newest snapshot's meta.json with a bad %s: Open = %v, want a refusal naming %s", tc.name, err, path)
		}
	}
	os.WriteFile(path, orig, 0o600)
	s = openT(t, restart)
	s.Close()
}

// snapDir is a snapshot directory, by its name's parts.
type snapDir struct {
	name            string
	term, index, ms uint64
}

// snapshotsNewestFirst lists the finished snapshot directories under root
// in raft's order, newest first.
func snapshotsNewestFirst(t *testing.T, root string) []snapDir {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []snapDir
	for _, e := range entries {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		d := snapDir{name: e.Name()}
		if _, err := fmt.Sscanf(e.Name(), "%d-%d-%d", &d.term, &d.index, &d.ms); err != nil {
			t.Fatalf("snapshot directory %s: %v", e.Name(), err)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b snapDir) int {
		return -cmp.Or(cmp.Compare(a.term, b.term), cmp.Compare(a.index, b.index), cmp.Compare(a.name, b.name))
	})
	return out
}

// copySnapshot makes snapshot directory term-index-ms under root from
// src's state.bin, and, with meta, a meta.json naming it.
func copySnapshot(t *testing.T, root string, src snapDir, term, index, ms uint64, meta bool) string {
	t.Helper()
	name := fmt.Sprintf("%d-%d-%d", term, index, ms)
	dst := filepath.Join(root, name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(filepath.Join(root, src.name, "state.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "state.bin"), state, 0o600); err != nil {
		t.Fatal(err)
	}
	if !meta {
		return dst
	}
	b, err := os.ReadFile(filepath.Join(root, src.name, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["ID"], m["Term"], m["Index"] = name, term, index
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "meta.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// tryOpen opens a member with cfg and closes it again, returning Open's
// error.
func tryOpen(cfg Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err == nil {
		s.Close()
	}
	return err
}
