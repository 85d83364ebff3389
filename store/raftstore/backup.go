package raftstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/raft"

	"github.com/drover-io/drover/store/internal/mvcc"
)

// Backup writes a consistent snapshot of the store to w while it goes on
// serving, and returns the revision it was taken at. The snapshot is
// linearizable: it holds every write acknowledged before Backup was
// called. Any member can take it; the leader is asked only for a read
// index.
//
// The file is the MVCC engine's snapshot format (it starts with
// "DROVSNAP" and ends with a CRC-32C): every live key and the history
// since the compacted revision, with their revisions. Restore it by
// starting a new cluster with Config.RestoreFrom.
func (s *Store) Backup(ctx context.Context, w io.Writer) (rev int64, err error) {
	if err := s.read(ctx, false); err != nil {
		return 0, fmt.Errorf("raftstore: backup: %w", err)
	}
	snap, err := s.engine.Snapshot()
	if err != nil {
		return 0, fmt.Errorf("raftstore: backup: %w", err)
	}
	if _, err := snap.WriteTo(w); err != nil {
		return 0, fmt.Errorf("raftstore: backup at revision %d: %w", snap.Revision(), err)
	}
	return snap.Revision(), nil
}

// restoreBackup loads the backup file at path into the new cluster this
// member leads alone, through raft.Restore: the leader's state becomes the
// backup's, and members that join later receive it by InstallSnapshot.
// It returns the backup's revision.
func (s *Store) restoreBackup(ctx context.Context, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("raftstore: Config.RestoreFrom: %w", err)
	}
	defer f.Close()
	// Check the whole file first: raft.Restore panics if the FSM refuses
	// the data.
	scratch, err := mvcc.New(mvcc.Options{})
	if err != nil {
		return 0, fmt.Errorf("raftstore: restore: %w", err)
	}
	err = scratch.Restore(bufio.NewReaderSize(f, 1<<20))
	rev, _ := scratch.Revision()
	scratch.Close()
	if err != nil {
		return 0, fmt.Errorf("raftstore: Config.RestoreFrom %s is not a usable backup: %w", path, err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return 0, fmt.Errorf("raftstore: Config.RestoreFrom %s: %w", path, err)
	}
	// The FSM snapshot format: our header (applied index 0: the marker
	// that follows sets it), then the engine snapshot.
	data := io.MultiReader(bytes.NewReader(appendSnapHeader(nil, 0)), f)
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: int64(fsmSnapHeader) + size}
	if err := s.raft.Restore(meta, data, 0); err != nil {
		return 0, fmt.Errorf("raftstore: restore %s: %w", path, err)
	}
	// raft.Restore ends with a no-op entry, which the FSM never sees: a
	// marker after it lets reads wait for an index the FSM reaches.
	s.appendMarker(s.raft.CurrentTerm())
	if err := s.waitLeading(ctx); err != nil {
		return 0, fmt.Errorf("raftstore: restore %s: %w", path, err)
	}
	s.log.Info("restored backup", "path", path, "revision", rev)
	return rev, nil
}
