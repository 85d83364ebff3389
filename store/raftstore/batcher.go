package raftstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/internal/mvcc"
)

// batcher is the leader's group commit. Writes from local callers and
// from followers queue on one channel; a single goroutine takes whatever
// is queued (up to maxBatch commands or maxBytes bytes), proposes it as
// one Raft entry, and loops. It keeps at most maxInflight entries
// proposed and not yet applied: while they commit, new writes queue and
// go out together in the next entry, so under load many writes share one
// entry, one log append and one fsync on each member, and throughput
// grows with concurrency. An idle store adds no latency: a lone write is
// proposed at once.
//
// Each command still gets its own revision and result: the FSM applies an
// entry's commands in order with mvcc.Engine.Apply, which returns one
// Result per command.
type batcher struct {
	r            *raft.Raft
	fsm          *fsm
	idBase       uint64
	nextID       atomic.Uint64
	resolveWait  time.Duration
	log          *slog.Logger
	m            *metrics
	maxBatch     int
	maxBytes     int
	queue        chan *proposal
	inflight     chan struct{} // a slot per entry in flight
	stop         chan struct{}
	wg           sync.WaitGroup
	applyTimeout time.Duration
}

// proposal is one write waiting for its result.
type proposal struct {
	ctx   context.Context
	cmd   mvcc.Command
	start time.Time
	done  chan proposalResult // buffered: the batcher never blocks on it
}

type proposalResult struct {
	res mvcc.Result
	err error
}

func newBatcher(r *raft.Raft, f *fsm, cfg Config, log *slog.Logger, m *metrics, stop chan struct{}) *batcher {
	var seed [8]byte
	rand.Read(seed[:])
	return &batcher{
		r:            r,
		fsm:          f,
		idBase:       binary.BigEndian.Uint64(seed[:]),
		resolveWait:  cfg.LeaderWait,
		log:          log,
		m:            m,
		maxBatch:     cfg.MaxBatch,
		maxBytes:     cfg.MaxBatchBytes,
		queue:        make(chan *proposal, 4*cfg.MaxBatch),
		inflight:     make(chan struct{}, cfg.MaxInflight),
		stop:         stop,
		applyTimeout: cfg.ElectionTimeout,
	}
}

func (b *batcher) start() {
	b.wg.Add(1)
	go b.run()
}

// wait waits for the batcher's goroutines, after stop is closed and Raft
// is shut down (which resolves the entries in flight).
func (b *batcher) wait() { b.wg.Wait() }

// submit queues cmd and waits for its result. An error wrapping
// errNotLeader means the command was not proposed; any other error from
// Raft means it may or may not have been applied.
func (b *batcher) submit(ctx context.Context, cmd mvcc.Command) (mvcc.Result, error) {
	p := &proposal{ctx: ctx, cmd: cmd, start: time.Now(), done: make(chan proposalResult, 1)}
	select {
	case b.queue <- p:
	case <-ctx.Done():
		return mvcc.Result{}, ctx.Err()
	case <-b.stop:
		return mvcc.Result{}, errStopped
	}
	select {
	case r := <-p.done:
		return r.res, r.err
	case <-ctx.Done():
		return mvcc.Result{}, ctx.Err()
	case <-b.stop:
		return mvcc.Result{}, errStopped
	}
}

func (b *batcher) run() {
	defer b.wg.Done()
	var batch []*proposal
	for {
		var first *proposal
		select {
		case first = <-b.queue:
		case <-b.stop:
			b.drain()
			return
		}
		// Wait for a free slot; writes that arrive meanwhile join this entry.
		select {
		case b.inflight <- struct{}{}:
		case <-b.stop:
			first.done <- proposalResult{err: errStopped}
			b.drain()
			return
		}
		batch = append(batch[:0], first)
		size := cmdSize(&first.cmd)
	collect:
		for len(batch) < b.maxBatch && size < b.maxBytes {
			select {
			case p := <-b.queue:
				batch = append(batch, p)
				size += cmdSize(&p.cmd)
			default:
				break collect
			}
		}
		b.propose(batch, size)
	}
}

// propose proposes batch as one entry; a goroutine waits for it and hands
// out the results.
func (b *batcher) propose(batch []*proposal, size int) {
	live := make([]*proposal, 0, len(batch))
	cmds := make([]mvcc.Command, 0, len(batch))
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.done <- proposalResult{err: err} // never proposed
			continue
		}
		live = append(live, p)
		cmds = append(cmds, p.cmd)
	}
	if len(live) == 0 {
		<-b.inflight
		return
	}
	b.m.batchSize.Observe(float64(len(live)))
	id := b.idBase + b.nextID.Add(1)
	pb := b.fsm.expect(id)
	f := b.r.Apply(encodeBatch(id, cmds, size), b.applyTimeout)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() { <-b.inflight }()
		defer b.fsm.forget(id)
		results, err := b.outcome(f, pb)
		if err == nil && len(results) != len(live) {
			err = fmt.Errorf("raftstore: the FSM returned %d results for %d commands", len(results), len(live))
		}
		now := time.Now()
		for i, p := range live {
			if err != nil {
				p.done <- proposalResult{err: err}
				continue
			}
			b.m.commitLatency.Observe(now.Sub(p.start).Seconds())
			p.done <- proposalResult{res: results[i]}
		}
	}()
}

// outcome waits for a proposed entry and returns its results. If this
// member lost leadership with the entry in flight, Raft cannot say whether
// it was committed; outcome then waits (up to Config.LeaderWait) until
// this member, now a follower, has applied the entry's index: either the
// entry was applied, and its results were delivered to pb, or another
// leader's entry took its place and it never will be, which is
// errNotLeader (safe to retry).
func (b *batcher) outcome(f raft.ApplyFuture, pb *pendingBatch) ([]mvcc.Result, error) {
	err := futureErr(f, b.stop)
	if errors.Is(err, errStopped) {
		return nil, err
	}
	if err == nil {
		switch r := f.Response().(type) {
		case []mvcc.Result:
			return r, nil
		case error:
			return nil, r
		}
		return nil, fmt.Errorf("raftstore: unexpected FSM response %T", f.Response())
	}
	idx := f.Index()
	if !errors.Is(err, raft.ErrLeadershipLost) || idx == 0 {
		return nil, raftError(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.resolveWait)
	defer cancel()
	waitErr := b.fsm.waitApplied(ctx, idx, b.stop)
	select {
	case r := <-pb.results:
		b.log.Debug("entry in flight at leadership loss was applied", "index", idx)
		return r, nil
	default:
	}
	if waitErr != nil || pb.unknown.Load() {
		return nil, raftError(err)
	}
	b.log.Debug("entry in flight at leadership loss was replaced; retrying", "index", idx)
	return nil, fmt.Errorf("%w: leadership lost and the entry at index %d was replaced", errNotLeader, idx)
}

// futureErr waits for f to resolve, or for stop. hashicorp/raft does not
// resolve every future when it shuts down (an Apply whose entry was
// committed but not yet handed to the FSM, say), so whatever must not
// hang past Close waits here: the goroutine that waits on f itself ends
// when Raft resolves f, if it ever does.
func futureErr(f raft.Future, stop <-chan struct{}) error {
	return futureErrCtx(context.Background(), f, stop)
}

// futureErrCtx is futureErr that also gives up when ctx ends.
func futureErrCtx(ctx context.Context, f raft.Future, stop <-chan struct{}) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		select {
		case err := <-done:
			return err
		default:
			return errStopped
		}
	}
}

// drain fails the proposals still queued, which were never proposed.
func (b *batcher) drain() {
	for {
		select {
		case p := <-b.queue:
			p.done <- proposalResult{err: errStopped}
		default:
			return
		}
	}
}

// raftError turns an error of hashicorp/raft into one of ours: errNotLeader
// if the command was surely not appended (so it may be sent to the leader),
// else an error wrapping store.ErrUnavailable that says the outcome is
// unknown.
func raftError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrEnqueueTimeout),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		// Refused before the entry was appended.
		return fmt.Errorf("%w (%w)", errNotLeader, err)
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %w; a write may or may not have been applied", store.ErrUnavailable, err)
	}
	return fmt.Errorf("%w: raft: %w", store.ErrUnavailable, err)
}
