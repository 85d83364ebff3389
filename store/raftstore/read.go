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
//  2. The leader confirms with a quorum that it still leads, so no newer
//     leader can have acknowledged a write it has not seen. It sends
//     rpcConfirm (its term T and ID) to every other voter; a voter says
//     yes only if, when the request arrives, it is a follower in term T
//     of this leader. Each answer is to a request sent after the round
//     began, so a majority of yes answers proves that no other leader
//     was elected before the round began: electing one needs a majority
//     to move past term T, and voters never go back.
//     (raft.VerifyLeader is not used: hashicorp/raft counts any
//     replication reply that arrives after the verification started,
//     even one to a heartbeat sent before it, and such a stale reply can
//     come from a member that has since elected a new leader.)
//     Concurrent reads share one confirmation: the verifier runs one
//     round at a time, and every read that arrives while a round is in
//     flight joins the next round.
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
		var confirmed uint64
		var err error
		if s.soleVoter() {
			// Nobody to ask (etcd's ReadIndex answers a singleton
			// likewise: no other member can be elected without a
			// configuration change this leader appends first), so the
			// answer is what verifyLeader would decide at once, decided
			// here rather than a goroutine hop away, in the verifier's
			// next round, which under load waits for the one in
			// progress.
			confirmed = term
			if s.raft.State() != raft.Leader || s.raft.CurrentTerm() != term {
				err = s.notLeader()
			}
		} else {
			confirmed, err = s.verifier.do(ctx)
		}
		if err != nil {
			return 0, err
		}
		if confirmed != term {
			continue // leadership moved and came back: start over
		}
		return idx, nil
	}
}

// verifyLeader is the leader's coalesced operation: one quorum round. It
// returns the term in which a majority of voters confirmed this member's
// leadership, or an error wrapping store.ErrUnavailable (errNotLeader if
// this member does not lead), or errStopped.
func (s *Store) verifyLeader() (uint64, error) {
	term := s.raft.CurrentTerm()
	if s.raft.State() != raft.Leader {
		return 0, s.notLeader()
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return 0, raftError(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LeaderWait)
	defer cancel() // ends the requests still in flight
	self := raft.ServerID(s.cfg.NodeID)
	req := confirmRequest{Term: term, Leader: self}.encode()
	type reply struct {
		id  raft.ServerID
		ans confirmAnswer
	}
	var voters []raft.ServerID
	servers := f.Configuration().Servers
	replies := make(chan reply, len(servers)) // never blocks a sender
	for _, srv := range servers {
		if srv.Suffrage != raft.Voter {
			continue
		}
		voters = append(voters, srv.ID)
		if srv.ID == self {
			continue
		}
		go func() {
			replies <- reply{srv.ID, s.askConfirm(ctx, srv, req, term)}
		}()
	}
	answers := make(map[raft.ServerID]confirmAnswer, len(voters))
	for {
		switch confirmDecision(voters, self, answers) {
		case confirmYes:
			if s.raft.State() != raft.Leader || s.raft.CurrentTerm() != term {
				return 0, s.notLeader()
			}
			return term, nil
		case confirmNo:
			return 0, fmt.Errorf("%w: a quorum of voters did not confirm this member's leadership in term %d",
				store.ErrUnavailable, term)
		}
		select {
		case r := <-replies:
			answers[r.id] = r.ans
		case <-ctx.Done():
			return 0, fmt.Errorf("%w: a quorum of voters did not confirm this member's leadership in term %d within %v",
				store.ErrUnavailable, term, s.cfg.LeaderWait)
		case <-s.done:
			return 0, errStopped
		}
	}
}

// askConfirm sends rpcConfirm to a voter. A failed request is
// confirmUnreachable: it neither confirms nor denies.
func (s *Store) askConfirm(ctx context.Context, srv raft.Server, req []byte, term uint64) confirmAnswer {
	resp, err := s.rpc.call(ctx, string(srv.Address), rpcConfirm, req)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Debug("leadership confirmation request failed", "member", srv.ID, "err", err)
		}
		return confirmUnreachable
	}
	d := decoder{b: resp}
	yes, theirs := d.byte(), d.uvarint()
	switch {
	case d.err != nil:
		s.log.Warn("bad leadership confirmation answer", "member", srv.ID, "err", d.err)
		return confirmUnreachable
	case yes == 1:
		return confirmYes
	case theirs > term:
		return confirmDeposed
	}
	s.log.Debug("member does not confirm leadership", "member", srv.ID, "term", term, "their_term", theirs)
	return confirmNo
}

// answerConfirm serves rpcConfirm on any member.
func (s *Store) answerConfirm(payload []byte) ([]byte, error) {
	req, err := decodeConfirmRequest(payload)
	if err != nil {
		return nil, err
	}
	// Terms only grow: if the term is the same before and after, it was
	// that term when the state and leader were read.
	before := s.raft.CurrentTerm()
	state := s.raft.State()
	_, leader := s.raft.LeaderWithID()
	after := s.raft.CurrentTerm()
	yes := before == after && confirms(req, state, after, leader)
	b := []byte{0}
	if yes {
		b[0] = 1
	}
	return binary.AppendUvarint(b, after), nil
}

// confirmRequest is the payload of rpcConfirm.
type confirmRequest struct {
	Term   uint64
	Leader raft.ServerID
}

func (r confirmRequest) encode() []byte {
	return appendString(binary.AppendUvarint(nil, r.Term), string(r.Leader))
}

func decodeConfirmRequest(b []byte) (confirmRequest, error) {
	d := decoder{b: b}
	r := confirmRequest{Term: d.uvarint(), Leader: raft.ServerID(d.string())}
	if d.err != nil {
		return confirmRequest{}, fmt.Errorf("raftstore: malformed confirm request: %w", d.err)
	}
	return r, nil
}

// confirms is a member's answer to req, given its Raft state, current
// term and the leader it knows: yes only if it follows req.Leader in
// req.Term.
func confirms(req confirmRequest, state raft.RaftState, term uint64, leader raft.ServerID) bool {
	return state == raft.Follower && term == req.Term && leader != "" && leader == req.Leader
}

// confirmAnswer is one voter's answer in a confirmation round.
type confirmAnswer int8

const (
	confirmPending     confirmAnswer = iota // no answer yet
	confirmYes                              // follows the leader in its term
	confirmNo                               // does not (not a follower, no or another leader)
	confirmDeposed                          // is in a higher term: the leader is deposed
	confirmUnreachable                      // the request failed
)

// confirmDecision decides a confirmation round, and is the only place
// that counts: confirmYes once self (if a voter) and the voters that
// answered yes are a majority of voters; confirmNo as soon as a voter is
// in a higher term, or when too few voters are left to make a majority;
// confirmPending otherwise. A plain no counts as no yes but does not end
// the round, so that one voter that lost touch with the leader (say, a
// one-way partition) cannot stop reads that the others can confirm.
// Voters missing from answers have not answered yet; answers from
// non-voters are ignored.
func confirmDecision(voters []raft.ServerID, self raft.ServerID, answers map[raft.ServerID]confirmAnswer) confirmAnswer {
	yes, pending := 0, 0
	for _, v := range voters {
		a := answers[v]
		if v == self {
			a = confirmYes
		}
		switch a {
		case confirmYes:
			yes++
		case confirmDeposed:
			return confirmNo
		case confirmPending:
			pending++
		}
	}
	quorum := len(voters)/2 + 1
	switch {
	case yes >= quorum:
		return confirmYes
	case yes+pending < quorum:
		return confirmNo
	}
	return confirmPending
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
// The leader uses one to batch its quorum rounds (step 2, verifyLeader); a follower uses
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
