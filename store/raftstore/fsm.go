package raftstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/drover-io/drover/store/internal/mvcc"
)

// fsm is the Raft state machine: the mvcc.Engine, fed by committed log
// entries. Raft calls ApplyBatch, Snapshot and Restore from its FSM
// goroutine, one at a time; reads and watches go to the engine directly
// from any goroutine.
//
// Revisions are deterministic: the engine gives each successful write
// last+1 in log order, so every member that applies the same log reaches
// the same revisions.
//
// applied is the index of the last log entry the FSM has applied of the
// kinds it sees (commands and configuration changes). Raft's own no-op and
// barrier entries never reach the FSM, so applied skips them; the read
// path never waits for such an entry (see read.go).
type fsm struct {
	engine *mvcc.Engine
	log    *slog.Logger
	m      *metrics

	applied atomic.Uint64

	mu      sync.Mutex
	advance chan struct{} // closed (and replaced) when applied grows
	waiting bool          // someone holds advance

	pmu     sync.Mutex
	pending map[uint64]*pendingBatch // batches this member proposed, by ID
}

// pendingBatch is a batch this member proposed as leader, waiting to be
// applied. If leadership is lost before Raft confirms the entry, the
// batcher learns its fate here: the FSM delivers the results if the entry
// is applied; if it sees its index pass without them, the entry was
// replaced by another leader's and never will be.
type pendingBatch struct {
	results chan []mvcc.Result // buffered: ApplyBatch never blocks
	// unknown is set when a snapshot was installed while the batch was
	// pending: the entry may have been applied inside it.
	unknown atomic.Bool
}

// expect registers a batch about to be proposed.
func (f *fsm) expect(id uint64) *pendingBatch {
	pb := &pendingBatch{results: make(chan []mvcc.Result, 1)}
	f.pmu.Lock()
	f.pending[id] = pb
	f.pmu.Unlock()
	return pb
}

// forget unregisters a batch.
func (f *fsm) forget(id uint64) {
	f.pmu.Lock()
	delete(f.pending, id)
	f.pmu.Unlock()
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM(e *mvcc.Engine, log *slog.Logger, m *metrics) *fsm {
	return &fsm{engine: e, log: log, m: m, advance: make(chan struct{}), pending: make(map[uint64]*pendingBatch)}
}

// setApplied records that everything up to idx is applied and wakes the
// waiters. It never moves applied backwards.
func (f *fsm) setApplied(idx uint64) {
	if idx <= f.applied.Load() {
		return
	}
	f.mu.Lock()
	f.applied.Store(idx)
	if f.waiting {
		close(f.advance)
		f.advance = make(chan struct{})
		f.waiting = false
	}
	f.mu.Unlock()
}

// waitApplied waits until the FSM has applied the entry at idx, ctx ends
// or stop is closed.
func (f *fsm) waitApplied(ctx context.Context, idx uint64, stop <-chan struct{}) error {
	for {
		if f.applied.Load() >= idx {
			return nil
		}
		f.mu.Lock()
		if f.applied.Load() >= idx {
			f.mu.Unlock()
			return nil
		}
		ch := f.advance
		f.waiting = true
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return errStopped
		}
	}
}

// errStopped is returned by waits cut short by Close.
var errStopped = errors.New("raftstore: stopped")

// Apply implements raft.FSM; Raft calls ApplyBatch instead.
func (f *fsm) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch implements raft.BatchingFSM: it applies the commands of all
// the entries in one engine.Apply. The response for an entryBatch entry is
// its []mvcc.Result, or an error if the entry cannot be decoded; for other
// entries it is nil.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	resp := make([]any, len(logs))
	type span struct {
		log, from, to int
		id            uint64
	}
	var (
		cmds  []mvcc.Command
		spans []span
		last  uint64
	)
	for i, l := range logs {
		last = l.Index
		if l.Type != raft.LogCommand {
			continue // a configuration change: nothing to apply
		}
		kind, id, cs, err := decodeEntry(l.Data)
		if err != nil {
			// Every member decodes the same bytes the same way, so they
			// all answer this entry with the same error and stay in step.
			f.log.Error("cannot decode a committed log entry; skipping it", "index", l.Index, "err", err)
			resp[i] = fmt.Errorf("raftstore: log entry %d: %w", l.Index, err)
			continue
		}
		if kind == entryBatch {
			spans = append(spans, span{i, len(cmds), len(cmds) + len(cs), id})
			cmds = append(cmds, cs...)
		}
	}
	if len(cmds) > 0 {
		results := f.engine.Apply(cmds)
		f.pmu.Lock()
		for _, s := range spans {
			r := results[s.from:s.to:s.to]
			resp[s.log] = r
			if pb := f.pending[s.id]; pb != nil {
				select {
				case pb.results <- r:
				default:
				}
			}
		}
		f.pmu.Unlock()
	}
	if last != 0 {
		f.setApplied(last)
	}
	return resp
}

// The FSM snapshot format: fsmSnapMagic, the applied index (8 bytes,
// big-endian), then the engine's snapshot (mvcc.Snapshot.WriteTo, which
// has its own version and checksum).
const fsmSnapMagic = "DRVRAFT1"

const fsmSnapHeader = len(fsmSnapMagic) + 8

func appendSnapHeader(b []byte, applied uint64) []byte {
	b = append(b, fsmSnapMagic...)
	return binary.BigEndian.AppendUint64(b, applied)
}

// Snapshot implements raft.FSM: it captures the engine in O(1).
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	snap, err := f.engine.Snapshot()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{snap: snap, applied: f.applied.Load(), m: f.m, log: f.log}, nil
}

// Restore implements raft.FSM: it replaces the engine's state. The engine
// checks the whole snapshot before it changes anything.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var head [fsmSnapHeader]byte
	if _, err := io.ReadFull(rc, head[:]); err != nil {
		return fmt.Errorf("raftstore: restore snapshot: read header: %w", err)
	}
	if string(head[:len(fsmSnapMagic)]) != fsmSnapMagic {
		return fmt.Errorf("raftstore: restore snapshot: %w: header %q, want %q",
			mvcc.ErrCorruptSnapshot, head[:len(fsmSnapMagic)], fsmSnapMagic)
	}
	applied := binary.BigEndian.Uint64(head[len(fsmSnapMagic):])
	if err := f.engine.Restore(rc); err != nil {
		return fmt.Errorf("raftstore: restore snapshot: %w", err)
	}
	f.pmu.Lock()
	for _, pb := range f.pending {
		pb.unknown.Store(true)
	}
	f.pmu.Unlock()
	f.setApplied(applied)
	return nil
}

// fsmSnapshot is a captured engine state, written out by Raft's snapshot
// goroutine while Apply goes on.
type fsmSnapshot struct {
	snap    *mvcc.Snapshot
	applied uint64
	m       *metrics
	log     *slog.Logger
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	start := time.Now()
	if _, err := sink.Write(appendSnapHeader(nil, s.applied)); err != nil {
		sink.Cancel()
		return fmt.Errorf("raftstore: write snapshot: %w", err)
	}
	n, err := s.snap.WriteTo(sink)
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("raftstore: write snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("raftstore: close snapshot: %w", err)
	}
	d := time.Since(start)
	s.m.snapshotDuration.Observe(d.Seconds())
	s.log.Info("snapshot written", "revision", s.snap.Revision(), "bytes", n, "duration", d)
	return nil
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}
