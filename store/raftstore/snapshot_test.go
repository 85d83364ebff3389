package raftstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/store"
)

// dump returns every key's value and revisions, and the revision, read
// stale from s (its own state).
func dump(t testing.TB, s *Store) (map[string]store.KeyValue, int64) {
	t.Helper()
	res, err := s.List(ctxT(t), "", store.ListOptions{Stale: true})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]store.KeyValue, len(res.KVs))
	for _, kv := range res.KVs {
		out[kv.Key] = *kv
	}
	return out, res.Revision
}

func writeN(t testing.TB, s *Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		key := fmt.Sprintf("%s%04d", prefix, i)
		if _, err := s.Create(ctxT(t), key, []byte(key)); err != nil {
			t.Fatalf("Create(%q): %v", key, err)
		}
	}
}

// TestSnapshotTruncatesLogAndRestart: snapshots bound the log, and a
// member restarted after one recovers from the snapshot plus the log
// behind it; a member that was down while the log moved on catches up
// from the leader's snapshot (InstallSnapshot).
func TestSnapshotTruncatesLogAndRestart(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, func(cfg *Config) {
		cfg.SnapshotThreshold = 64
		cfg.TrailingLogs = 16
		cfg.SnapshotInterval = 50 * time.Millisecond
		cfg.MaxBatch = 1 // one entry per write, so the log grows
	})
	li := c.leader()
	l := c.members[li]
	// A follower goes down; the cluster moves on past a snapshot.
	down := (li + 1) % 3
	c.members[down].Abort()
	writeN(t, l, "/a/", 300)
	if _, err := l.Update(ctxT(t), "/a/0000", []byte("changed"), 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Compact(ctxT(t), 100); err != nil {
		t.Fatal(err)
	}
	for i, s := range c.members {
		if i == down {
			continue
		}
		waitFor(t, 20*time.Second, s.NodeID()+" to truncate its log", func() bool {
			first, err := s.bolt.FirstIndex()
			return err == nil && first > 200
		})
		snaps, err := os.ReadDir(filepath.Join(c.cfgs[i].DataDir, snapDirName))
		if err != nil || len(snaps) == 0 {
			t.Fatalf("%s: no snapshot files: %v", s.NodeID(), err)
		}
	}
	want, wantRev := dump(t, l)

	// The member that was down catches up by InstallSnapshot: the log it
	// needs is gone.
	r := c.restart(down)
	waitFor(t, 20*time.Second, "the lagging member to catch up", func() bool {
		_, rev := dump(t, r)
		return rev == wantRev
	})
	if got, _ := dump(t, r); !reflect.DeepEqual(got, want) {
		t.Fatal("the lagging member's state differs from the leader's")
	}
	if _, err := r.Get(ctxT(t), "/a/0001", store.ReadOptions{Revision: 50}); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("read below the compaction on the restored member: %v, want ErrCompacted", err)
	}

	// Every member restarts from its snapshot and log, and the cluster
	// goes on from the same revision.
	for i := range c.members {
		c.members[i].Abort()
	}
	for i := range c.members {
		// Members start one by one with their original Config: Bootstrap
		// and Join do nothing on a restart. Open returns at once, before
		// there is a quorum.
		cfg := c.cfgs[i]
		c.members[i] = nil
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s, err := Open(ctx, cfg)
		cancel()
		if err != nil {
			t.Fatalf("restart %s: %v", cfg.NodeID, err)
		}
		c.members[i] = s
	}
	nl := c.members[c.leader()]
	rev := mustCreate(t, nl, "/after-restart", "x")
	if rev != wantRev+1 {
		t.Fatalf("first write after the restart got revision %d, want %d", rev, wantRev+1)
	}
	for _, s := range c.members {
		waitFor(t, 20*time.Second, s.NodeID()+" to apply the new write", func() bool {
			_, r := dump(t, s)
			return r == rev
		})
		got, _ := dump(t, s)
		delete(got, "/after-restart")
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: state after restart differs", s.NodeID())
		}
	}
}

// TestBackupRestore: a backup taken while writes go on holds exactly the
// state at its revision, and restores into a new one- or three-member
// cluster with the same revisions; writes continue from rev+1.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	src := newCluster(t, 3, nil)
	f := src.members[src.follower()]
	writeN(t, f, "/b/", 50)
	if _, err := f.Update(ctxT(t), "/b/0001", []byte("updated"), 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Delete(ctxT(t), "/b/0002", 0); err != nil {
		t.Fatal(err)
	}
	// Writes go on during the backup.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			src.members[0].Create(context.Background(), fmt.Sprintf("/during/%d", i), nil)
		}
	}()
	var buf bytes.Buffer
	rev, err := f.Backup(ctxT(t), &buf) // from a follower: linearizable all the same
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if rev < 52 {
		t.Fatalf("backup at revision %d, want at least 52 (every acknowledged write)", rev)
	}
	// The state at rev, read from the source.
	res, err := f.List(ctxT(t), "", store.ListOptions{Revision: rev})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]store.KeyValue{}
	for _, kv := range res.KVs {
		want[kv.Key] = *kv
	}
	path := filepath.Join(tempDir(t), "backup.snap")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	check := func(t *testing.T, s *Store) {
		t.Helper()
		got, gotRev := dump(t, s)
		if gotRev != rev {
			t.Fatalf("%s: restored revision %d, want %d", s.NodeID(), gotRev, rev)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: restored state differs from the source at revision %d", s.NodeID(), rev)
		}
		// History before the backup's revision is there too.
		if kv, err := s.Get(ctxT(t), "/b/0001", store.ReadOptions{Revision: rev - 1}); err != nil || kv.ModRevision != want["/b/0001"].ModRevision {
			t.Fatalf("%s: read at a past revision: %v %v", s.NodeID(), kv, err)
		}
	}
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprint(n, "members"), func(t *testing.T) {
			dst := newCluster(t, n, func(cfg *Config) {
				if cfg.Bootstrap {
					cfg.RestoreFrom = path
				}
			})
			for _, s := range dst.members {
				waitFor(t, 20*time.Second, s.NodeID()+" to receive the restored state", func() bool {
					_, r := dump(t, s)
					return r == rev
				})
				check(t, s)
			}
			if dst.members[0].ClusterID() == src.members[0].ClusterID() {
				t.Fatal("the restored cluster has the source's cluster ID")
			}
			w := dst.members[len(dst.members)-1]
			if got := mustCreate(t, w, "/new", "x"); got != rev+1 {
				t.Fatalf("first write after restore got revision %d, want %d", got, rev+1)
			}
			// Restarting the first member does not restore again.
			r := dst.restart(0)
			waitFor(t, 20*time.Second, "the restarted member to see the new write", func() bool {
				_, rv := dump(t, r)
				return rv == rev+1
			})
		})
	}

	// A damaged backup is refused at Open, naming the file.
	bad := filepath.Join(tempDir(t), "bad.snap")
	damaged := append([]byte{}, buf.Bytes()...)
	damaged[len(damaged)/2] ^= 0xff
	os.WriteFile(bad, damaged, 0o600)
	cfg := testConfig(t, "r1", tempDir(t), "127.0.0.1:0")
	cfg.RestoreFrom = bad
	if s, err := Open(ctxT(t), cfg); err == nil || !strings.Contains(err.Error(), bad) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open restoring a damaged backup: %v, want an error naming %s", err, bad)
	}
}
