package raftstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/drover-io/drover/store"
)

// joinRequest asks the leader to add a member as a voter.
type joinRequest struct {
	ClusterID string `json:"clusterID"`
	NodeID    string `json:"nodeID"`
	Addr      string `json:"addr"`
}

// removeRequest asks the leader to remove a member.
type removeRequest struct {
	NodeID string `json:"nodeID"`
}

// clusterInfo answers rpcInfo and rpcJoin.
type clusterInfo struct {
	ClusterID  string `json:"clusterID"`
	NodeID     string `json:"nodeID"` // the member that answered
	LeaderID   string `json:"leaderID,omitempty"`
	LeaderAddr string `json:"leaderAddr,omitempty"`
}

// Member is a member of the cluster, as the Raft configuration lists it.
type Member struct {
	// ID is the member's Config.NodeID.
	ID string
	// Addr is the address other members dial.
	Addr string
	// Voter is false for a member that receives the log but does not vote.
	Voter bool
	// Leader reports whether this member leads, as far as the member
	// asked knows.
	Leader bool
}

// handleRPC serves a request from another member. It runs in a goroutine
// per request.
func (s *Store) handleRPC(ctx context.Context, kind byte, payload []byte) ([]byte, error) {
	if s.checkOpen() != nil {
		// Nothing was done: the caller may try the next leader.
		return nil, fmt.Errorf("%w: member %s is shutting down", errNotLeader, s.cfg.NodeID)
	}
	var (
		resp []byte
		err  error
	)
	switch kind {
	case rpcWrite:
		resp, err = s.leaderWrite(ctx, payload)
	case rpcReadIndex:
		var idx uint64
		idx, err = s.leaderReadIndex(ctx, time.Now().Add(s.cfg.LeaderWait))
		resp = binary.AppendUvarint(nil, idx)
	case rpcJoin:
		var req joinRequest
		if err = json.Unmarshal(payload, &req); err == nil {
			var info clusterInfo
			info, err = s.handleJoin(ctx, req)
			resp, _ = json.Marshal(info)
		}
	case rpcRemove:
		var req removeRequest
		if err = json.Unmarshal(payload, &req); err == nil {
			err = s.RemoveMember(ctx, req.NodeID)
		}
	case rpcInfo:
		resp, err = json.Marshal(s.info())
	case rpcConfirm:
		resp, err = s.answerConfirm(payload)
	default:
		err = fmt.Errorf("raftstore: unknown request kind %d (is the other member a newer version?)", kind)
	}
	if errors.Is(err, errStopped) {
		err = fmt.Errorf("raftstore: member %s: %w", s.cfg.NodeID, store.ErrClosed)
	}
	return resp, err
}

func (s *Store) info() clusterInfo {
	addr, id := s.raft.LeaderWithID()
	return clusterInfo{ClusterID: s.meta.ClusterID, NodeID: s.cfg.NodeID, LeaderID: string(id), LeaderAddr: string(addr)}
}

// handleJoin adds a member, or forwards the request to the leader.
func (s *Store) handleJoin(ctx context.Context, req joinRequest) (clusterInfo, error) {
	if req.ClusterID != s.meta.ClusterID {
		return clusterInfo{}, fmt.Errorf("%w: member %q asks to join cluster %q, but member %q belongs to cluster %q",
			ErrClusterMismatch, req.NodeID, req.ClusterID, s.cfg.NodeID, s.meta.ClusterID)
	}
	if !nodeIDPattern.MatchString(req.NodeID) || checkHostPort(req.Addr, false) != nil {
		return clusterInfo{}, fmt.Errorf("raftstore: join: invalid member ID %q or address %q", req.NodeID, req.Addr)
	}
	if s.raft.State() != raft.Leader {
		leader, err := s.waitLeader(ctx, time.Now().Add(s.cfg.LeaderWait))
		if err != nil {
			return clusterInfo{}, err
		}
		if leader == s.advertise {
			return clusterInfo{}, s.notLeader()
		}
		s.m.forwarded.WithLabelValues("join").Inc()
		body, _ := json.Marshal(req)
		resp, err := s.rpc.call(ctx, leader, rpcJoin, body)
		if err != nil {
			return clusterInfo{}, err
		}
		var info clusterInfo
		if err := json.Unmarshal(resp, &info); err != nil {
			return clusterInfo{}, fmt.Errorf("%w: bad join answer from leader %s: %v", store.ErrUnavailable, leader, err)
		}
		return info, nil
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return clusterInfo{}, raftError(err)
	}
	for _, srv := range f.Configuration().Servers {
		switch {
		case srv.ID == raft.ServerID(req.NodeID) && srv.Address == raft.ServerAddress(req.Addr) && srv.Suffrage == raft.Voter:
			s.log.Info("member asked to join again; it is already a voter", "id", req.NodeID, "addr", req.Addr)
			return s.info(), nil
		case srv.ID != raft.ServerID(req.NodeID) && srv.Address == raft.ServerAddress(req.Addr):
			return clusterInfo{}, fmt.Errorf("raftstore: join: member %q at %s: that address belongs to member %q; remove it first",
				req.NodeID, req.Addr, srv.ID)
		}
	}
	s.log.Info("adding member", "id", req.NodeID, "addr", req.Addr)
	if err := s.waitFuture(ctx, s.raft.AddVoter(raft.ServerID(req.NodeID), raft.ServerAddress(req.Addr), 0, s.cfg.ElectionTimeout)); err != nil {
		return clusterInfo{}, fmt.Errorf("raftstore: add member %q: %w", req.NodeID, err)
	}
	return s.info(), nil
}

// waitFuture waits for a Raft future, ctx or Close.
func (s *Store) waitFuture(ctx context.Context, f raft.Future) error {
	err := futureErrCtx(ctx, f, s.done)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, errStopped):
		return store.ErrClosed
	}
	return raftError(err)
}

// discover asks the members in Config.Join for the cluster's ID, before
// this member has any state, and checks it against Config.ClusterID.
func (s *Store) discover(ctx context.Context) (clusterInfo, error) {
	var info clusterInfo
	err := s.eachJoinAddr(ctx, "ask for the cluster ID", func(ctx context.Context, addr string) error {
		resp, err := s.rpc.call(ctx, addr, rpcInfo, nil)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(resp, &info); err != nil {
			return fmt.Errorf("bad answer from %s: %w", addr, err)
		}
		if s.cfg.ClusterID != "" && info.ClusterID != s.cfg.ClusterID {
			return fmt.Errorf("%w: member %q at %s belongs to cluster %q, but Config.ClusterID is %q",
				ErrClusterMismatch, info.NodeID, addr, info.ClusterID, s.cfg.ClusterID)
		}
		return nil
	})
	return info, err
}

// joinCluster asks the members in Config.Join to add this member.
func (s *Store) joinCluster(ctx context.Context) error {
	body, _ := json.Marshal(joinRequest{ClusterID: s.meta.ClusterID, NodeID: s.cfg.NodeID, Addr: s.advertise})
	return s.eachJoinAddr(ctx, "join", func(ctx context.Context, addr string) error {
		resp, err := s.rpc.call(ctx, addr, rpcJoin, body)
		if err != nil {
			return err
		}
		var info clusterInfo
		if err := json.Unmarshal(resp, &info); err != nil {
			return fmt.Errorf("bad answer from %s: %w", addr, err)
		}
		if info.ClusterID != s.meta.ClusterID {
			return fmt.Errorf("%w: joined through %s, which answered for cluster %q, but this member belongs to cluster %q",
				ErrClusterMismatch, addr, info.ClusterID, s.meta.ClusterID)
		}
		s.log.Info("joined cluster", "cluster", info.ClusterID, "through", addr, "leader", info.LeaderID)
		return nil
	})
}

// eachJoinAddr calls fn with each address in Config.Join in turn, until
// one succeeds, ctx ends or an error is final (a cluster mismatch).
func (s *Store) eachJoinAddr(ctx context.Context, what string, fn func(context.Context, string) error) error {
	var errs []error
	for round := 0; ; round++ {
		for _, addr := range s.cfg.Join {
			actx, cancel := context.WithTimeout(ctx, max(2*s.cfg.ElectionTimeout, 5*time.Second))
			err := fn(actx, addr)
			cancel()
			if err == nil {
				return nil
			}
			if errors.Is(err, ErrClusterMismatch) {
				return fmt.Errorf("raftstore: %s: %w", what, err)
			}
			s.log.Info("join attempt failed", "what", what, "addr", addr, "err", err)
			if round == 0 {
				errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			}
		}
		t := time.NewTimer(min(time.Duration(round+1)*100*time.Millisecond, time.Second))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("raftstore: %s through %v: %w (first errors: %w)", what, s.cfg.Join, ctx.Err(), errors.Join(errs...))
		case <-s.done:
			t.Stop()
			return store.ErrClosed
		}
	}
}

// configuration returns the latest Raft configuration this member knows.
func (s *Store) configuration() ([]raft.Server, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, raftError(err)
	}
	return f.Configuration().Servers, nil
}

func (s *Store) inConfiguration() bool {
	servers, err := s.configuration()
	if err != nil {
		return false
	}
	for _, srv := range servers {
		if srv.ID == raft.ServerID(s.cfg.NodeID) {
			return true
		}
	}
	return false
}

func (s *Store) soleVoter() bool {
	servers, err := s.configuration()
	return err == nil && len(servers) == 1 && servers[0].ID == raft.ServerID(s.cfg.NodeID) && servers[0].Suffrage == raft.Voter
}

func (s *Store) otherVoters() int {
	servers, _ := s.configuration()
	n := 0
	for _, srv := range servers {
		if srv.Suffrage == raft.Voter && srv.ID != raft.ServerID(s.cfg.NodeID) {
			n++
		}
	}
	return n
}

// Members returns the cluster's members as this member knows them.
func (s *Store) Members(ctx context.Context) ([]Member, error) {
	if err := s.checkOpen(); err != nil {
		return nil, fmt.Errorf("raftstore: members: %w", err)
	}
	servers, err := s.configuration()
	if err != nil {
		return nil, fmt.Errorf("raftstore: members: %w", err)
	}
	_, leader := s.raft.LeaderWithID()
	out := make([]Member, 0, len(servers))
	for _, srv := range servers {
		out = append(out, Member{ID: string(srv.ID), Addr: string(srv.Address), Voter: srv.Suffrage == raft.Voter, Leader: srv.ID == leader})
	}
	return out, nil
}

// RemoveMember removes the member with the given ID from the cluster. Any
// member may be asked: a follower forwards the request to the leader. The
// removed member stops taking part (its requests then fail with
// store.ErrUnavailable); close it and delete its data directory. Removing
// the leader makes it step down once the removal is committed.
func (s *Store) RemoveMember(ctx context.Context, id string) error {
	if err := s.checkOpen(); err != nil {
		return fmt.Errorf("raftstore: remove member %q: %w", id, err)
	}
	deadline := time.Now().Add(s.cfg.LeaderWait)
	for {
		var err error
		leader := ""
		if s.raft.State() == raft.Leader {
			s.log.Info("removing member", "id", id)
			err = s.waitFuture(ctx, s.raft.RemoveServer(raft.ServerID(id), 0, s.cfg.ElectionTimeout))
		} else {
			leader, err = s.waitLeader(ctx, deadline)
			if err != nil {
				return fmt.Errorf("raftstore: remove member %q: %w", id, err)
			}
			if leader == s.advertise {
				err = errNotLeader
			} else {
				s.m.forwarded.WithLabelValues("remove").Inc()
				body, _ := json.Marshal(removeRequest{NodeID: id})
				_, err = s.rpc.call(ctx, leader, rpcRemove, body)
			}
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, errNotLeader) && !errors.Is(err, errNotSent) || ctx.Err() != nil {
			return fmt.Errorf("raftstore: remove member %q: %w", id, err)
		}
		if berr := s.backoff(ctx, deadline); berr != nil {
			return fmt.Errorf("raftstore: remove member %q: %w; last attempt: %v", id, berr, lastAttempt(leader, err))
		}
	}
}

// TransferLeadership hands leadership to another voter, chosen by Raft. It
// fails if this member does not lead.
func (s *Store) TransferLeadership(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return fmt.Errorf("raftstore: transfer leadership: %w", err)
	}
	if s.raft.State() != raft.Leader {
		return fmt.Errorf("raftstore: transfer leadership: %w", s.notLeader())
	}
	if err := s.waitFuture(ctx, s.raft.LeadershipTransfer()); err != nil {
		return fmt.Errorf("raftstore: transfer leadership: %w", err)
	}
	return nil
}

// Leader returns the ID and address of the leader this member knows of,
// empty if none.
func (s *Store) Leader() (id, addr string) {
	a, i := s.raft.LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether this member leads.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// NodeID returns the member's ID.
func (s *Store) NodeID() string { return s.cfg.NodeID }

// ClusterID returns the ID of the member's cluster.
func (s *Store) ClusterID() string { return s.meta.ClusterID }

// Addr returns the address other members dial to reach this one.
func (s *Store) Addr() string { return s.advertise }

// Ready reports whether the member can serve linearizable requests now:
// there is a leader, it still has a quorum, and this member has applied
// everything the leader had committed. It is meant for /readyz: it costs
// one quorum round trip (shared with concurrent reads) and waits at most
// twice the election timeout. The error wraps store.ErrUnavailable or
// store.ErrClosed and says what is missing.
func (s *Store) Ready() error {
	if err := s.checkOpen(); err != nil {
		return fmt.Errorf("raftstore: not ready: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.ElectionTimeout)
	defer cancel()
	start := time.Now()
	idx, err := s.readIndex(ctx, start.Add(2*s.cfg.ElectionTimeout))
	if err == nil {
		err = s.waitApplied(ctx, idx)
		if err != nil {
			err = fmt.Errorf("%w: applied index %d, the leader's commit index is %d: %w",
				store.ErrUnavailable, s.fsm.applied.Load(), idx, err)
		}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, store.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return fmt.Errorf("raftstore: not ready: %w", err)
	}
	return nil
}

// Healthy reports whether the member is running: it has not been closed
// and its Raft has not stopped (as it does when the member is removed).
// It does not need a leader or a quorum. It is meant for /healthz.
func (s *Store) Healthy() error {
	if err := s.checkOpen(); err != nil {
		return fmt.Errorf("raftstore: unhealthy: %w", err)
	}
	if s.raft.State() == raft.Shutdown {
		return fmt.Errorf("raftstore: unhealthy: %w: raft has shut down (was the member removed?)", store.ErrUnavailable)
	}
	return nil
}

// Snapshot makes Raft take a snapshot now and truncate its log, as it does
// by itself after Config.SnapshotThreshold entries. A store with nothing
// new to snapshot does nothing.
func (s *Store) Snapshot(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return fmt.Errorf("raftstore: snapshot: %w", err)
	}
	err := s.waitFuture(ctx, s.raft.Snapshot())
	if err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return fmt.Errorf("raftstore: snapshot: %w", err)
	}
	return nil
}
