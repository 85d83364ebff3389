package cluster

import (
	"context"
	"sync/atomic"
	"time"
)

// DefaultLeaderPollInterval is how often a RaftLeaderElector asks whether
// its member leads.
const DefaultLeaderPollInterval = 100 * time.Millisecond

// RaftLeaderElector is a controller.LeaderElector that follows the
// leadership of a store member: this replica leads while IsLeader (a
// raftstore (*Store).IsLeader) says so. It asks every Interval, since Raft
// leadership changes within an election timeout (about a second).
type RaftLeaderElector struct {
	// IsLeaderFunc reports whether the store member leads. Required.
	IsLeaderFunc func() bool
	// Interval is how often IsLeaderFunc is asked. 0 means
	// DefaultLeaderPollInterval.
	Interval time.Duration

	leading atomic.Bool
}

// Run implements controller.LeaderElector: each time the member starts
// leading it calls lead with a context that ends when the member stops
// leading or ctx ends, and waits for lead to return.
func (e *RaftLeaderElector) Run(ctx context.Context, lead func(ctx context.Context)) error {
	interval := e.Interval
	if interval <= 0 {
		interval = DefaultLeaderPollInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if e.IsLeaderFunc() {
			e.term(ctx, t.C, lead)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// term runs lead for one term of leadership.
func (e *RaftLeaderElector) term(ctx context.Context, tick <-chan time.Time, lead func(ctx context.Context)) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.leading.Store(true)
	defer e.leading.Store(false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lead(lctx)
	}()
	for {
		select {
		case <-done:
			return
		case <-lctx.Done():
			<-done
			return
		case <-tick:
			if !e.IsLeaderFunc() {
				cancel()
				<-done
				return
			}
		}
	}
}

// IsLeader implements controller.LeaderElector: whether lead is running.
func (e *RaftLeaderElector) IsLeader() bool { return e.leading.Load() }
