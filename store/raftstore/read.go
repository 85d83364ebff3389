package raftstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/drover-io/drover/store"
)

// Linearizable reads use Raft's ReadIndex protocol, without writing to the
// log:
//
//  1. The leader takes its commit index as the read index. That index
//     covers every write acknowledged before the read began only once the
//     leader has committed an entry of its own term; so a new leader first
//     appends a marker entry and waits until it is applied (readyTerm),
//     and reads wait for that.
//  2. The leader confirms with a quorum that it still leads
//     (raft.VerifyLeader), so no newer leader can have acknowledged a
//     write it has not seen. Concurrent reads share one confirmation:
//     the verifier runs one round at a time, and every read that arrives
//     while a round is in flight joins the next round.
//  3. The member serving the read waits until its FSM has applied the
//     read index, then reads its own engine.
//
// A follower asks the leader for a read index over RPC (steps 1-2 run on
// the leader) and does step 3 itself. Concurrent reads on a follower share
// one request, as they share one quorum round on the leader.
//
// Step 3 needs an entry the FSM sees at the read index: Raft's own no-op
// and barrier entries never reach the FSM. The store never issues
// barriers, and the leader's no-op at the start of its term precedes its
// marker, so every entry after the marker is a command or a configuration
// change, which the FSM sees (it implements raft.BatchingFSM).

// linearize waits until this member's engine reflects every write that
// was acknowledged before it was called, and returns nil; or fails with
// an error wrapping store.ErrUnavailable (no leader, no quorum, within
// Config.LeaderWait), store.ErrClosed or ctx's error.
func (s *Store) linearize(ctx context.Context) error {
	start := time.Now()
	deadline := start.Add(s.cfg.LeaderWait)
	idx, err := s.readIndex(ctx, deadline)
	if err == nil {
		err = s.waitApplied(ctx, idx)
	}
	if err == nil {
		s.m.readIndexLatency.Observe(time.Since(start).Seconds())
	}
	return err
}

// readIndex obtains a read index from the leader, this member or another,
// retrying until the deadline while there is no leader or leadership
// moves.
func (s *Store) readIndex(ctx context.Context, deadline time.Time) (uint64, error) {
	for {
		if err := s.checkOpen(); err != nil {
			return 0, err
		}
		var (
			idx    uint64
			err    error
			leader string
		)
		if s.raft.State() == raft.Leader {
			idx, err = s.leaderReadIndex(ctx, deadline)
		} else {
			leader, err = s.waitLeader(ctx, deadline)
			if err != nil {
				return 0, err
			}
			if leader == s.advertise {
				err = errNotLeader
			} else {
				idx, err = s.readIndexes.do(ctx)
			}
		}
		switch {
		case err == nil:
			return idx, nil
		case errors.Is(err, errStopped), errors.Is(err, store.ErrClosed) && s.closed.Load():
			return 0, store.ErrClosed
		case ctx.Err() != nil:
			return 0, ctx.Err()
		case !errors.Is(err, store.ErrUnavailable):
			return 0, err
		}
		// Reads are safe to retry whatever happened.
		if berr := s.backoff(ctx, deadline); berr != nil {
			return 0, fmt.Errorf("%w; last attempt: %v", berr, lastAttempt(leader, err))
		}
	}
}

// leaderReadIndex runs steps 1 and 2 on the leader. It fails with
// errNotLeader if this member does not lead.
func (s *Store) leaderReadIndex(ctx context.Context, deadline time.Time) (uint64, error) {
	for {
		ch := s.changed.wait()
		term := s.raft.CurrentTerm()
		if s.raft.State() != raft.Leader {
			return 0, s.notLeader()
		}
		if s.readyTerm.Load() != term {
			// Newly elected: wait for the marker entry.
			left := time.Until(deadline)
			if left <= 0 {
				return 0, fmt.Errorf("%w: newly elected leader could not commit an entry of its term within %v",
					store.ErrUnavailable, s.cfg.LeaderWait)
			}
			t := time.NewTimer(left)
			select {
			case <-ch:
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return 0, ctx.Err()
			case <-s.done:
				t.Stop()
				return 0, errStopped
			}
			t.Stop()
			continue
		}
		idx := s.raft.CommitIndex()
		if _, err := s.verifier.do(ctx); err != nil {
			switch {
			case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost):
				return 0, s.notLeader()
			case errors.Is(err, raft.ErrRaftShutdown):
				return 0, fmt.Errorf("%w: raft has shut down", store.ErrUnavailable)
			}
			return 0, err
		}
		if s.raft.CurrentTerm() != term {
			continue // leadership moved and came back: start over
		}
		return idx, nil
	}
}

// verifyLeader is the leader's coalesced operation: one quorum round.
func (s *Store) verifyLeader() (uint64, error) {
	return 0, futureErr(s.raft.VerifyLeader(), s.done)
}

// remoteReadIndex is a follower's coalesced operation: one read-index
// request to the leader it knows.
func (s *Store) remoteReadIndex() (uint64, error) {
	addr, _ := s.raft.LeaderWithID()
	if addr == "" || string(addr) == s.advertise {
		return 0, s.notLeader()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LeaderWait)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return s.forwardReadIndex(ctx, string(addr))
}

// forwardReadIndex asks the leader for a read index.
func (s *Store) forwardReadIndex(ctx context.Context, leader string) (uint64, error) {
	s.m.forwarded.WithLabelValues("read_index").Inc()
	resp, err := s.rpc.call(ctx, leader, rpcReadIndex, nil)
	if err != nil {
		return 0, err
	}
	idx, n := binary.Uvarint(resp)
	if n <= 0 {
		return 0, fmt.Errorf("%w: bad read index from leader %s", store.ErrUnavailable, leader)
	}
	return idx, nil
}

// waitApplied waits until the FSM has applied idx.
func (s *Store) waitApplied(ctx context.Context, idx uint64) error {
	err := s.fsm.waitApplied(ctx, idx, s.done)
	if errors.Is(err, errStopped) {
		return store.ErrClosed
	}
	return err
}

// coalescer runs one operation at a time on behalf of any number of
// callers: every caller that arrives while a round is in flight waits for
// the next round, which starts when the current one ends. So a round
// always starts after its callers arrived, which is what the read path
// needs (a confirmation of leadership, or a read index, taken after the
// read began), and any number of concurrent reads cost one round.
//
// The leader uses one to batch raft.VerifyLeader (step 2); a follower uses
// one to batch its read-index requests to the leader.
type coalescer struct {
	op   func() (uint64, error)
	stop <-chan struct{}
	kick chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	next *round // the round that callers join; nil if none

	rounds atomic.Int64 // rounds run, for tests and benchmarks
}

type round struct {
	done chan struct{}
	idx  uint64
	err  error
}

func newCoalescer(op func() (uint64, error), stop <-chan struct{}) *coalescer {
	return &coalescer{op: op, stop: stop, kick: make(chan struct{}, 1)}
}

func (c *coalescer) start() {
	c.wg.Add(1)
	go c.run()
}

// wait waits for the coalescer's goroutine after stop is closed.
func (c *coalescer) wait() { c.wg.Wait() }

// do joins the next round and returns its result.
func (c *coalescer) do(ctx context.Context) (uint64, error) {
	c.mu.Lock()
	r := c.next
	if r == nil {
		r = &round{done: make(chan struct{})}
		c.next = r
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	select {
	case <-r.done:
		return r.idx, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.stop:
		return 0, errStopped
	}
}

func (c *coalescer) run() {
	defer c.wg.Done()
	for {
		select {
		case <-c.kick:
		case <-c.stop:
			return
		}
		c.mu.Lock()
		r := c.next
		c.next = nil
		c.mu.Unlock()
		if r == nil {
			continue
		}
		c.rounds.Add(1)
		r.idx, r.err = c.op()
		close(r.done)
	}
}
