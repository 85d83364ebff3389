package raftstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/drover-io/drover/store"
)

func TestConfirms(t *testing.T) {
	req := confirmRequest{Term: 7, Leader: "m1"}
	for _, tc := range []struct {
		name   string
		state  raft.RaftState
		term   uint64
		leader raft.ServerID
		want   bool
	}{
		{"follower of the leader in its term", raft.Follower, 7, "m1", true},
		{"older term", raft.Follower, 6, "m1", false},
		{"newer term", raft.Follower, 8, "m1", false},
		{"other leader", raft.Follower, 7, "m2", false},
		{"no leader known", raft.Follower, 7, "", false},
		{"candidate", raft.Candidate, 7, "", false},
		{"candidate that still names the leader", raft.Candidate, 7, "m1", false},
		{"leader", raft.Leader, 7, "m1", false},
		{"shut down", raft.Shutdown, 7, "m1", false},
	} {
		if got := confirms(req, tc.state, tc.term, tc.leader); got != tc.want {
			t.Errorf("%s: confirms = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestConfirmRequestRoundTrip(t *testing.T) {
	in := confirmRequest{Term: 1 << 40, Leader: "cp-1"}
	out, err := decodeConfirmRequest(in.encode())
	if err != nil || out != in {
		t.Fatalf("round trip: %+v, %v; want %+v", out, err, in)
	}
	for _, b := range [][]byte{nil, {0x80}, {7, 5, 'a'}} {
		if _, err := decodeConfirmRequest(b); err == nil {
			t.Errorf("decodeConfirmRequest(%q) succeeded", b)
		}
	}
}

func TestConfirmDecision(t *testing.T) {
	const (
		P = confirmPending
		Y = confirmYes
		N = confirmNo
		D = confirmDeposed
		U = confirmUnreachable
	)
	three := []raft.ServerID{"a", "b", "c"}
	five := []raft.ServerID{"a", "b", "c", "d", "e"}
	type answers = map[raft.ServerID]confirmAnswer
	for _, tc := range []struct {
		name    string
		voters  []raft.ServerID
		self    raft.ServerID
		answers answers
		want    confirmAnswer
	}{
		{"single member", []raft.ServerID{"a"}, "a", nil, Y},
		{"no voters", nil, "a", nil, N},
		{"self not a voter, alone", []raft.ServerID{"b"}, "a", nil, P},
		{"self not a voter, yes", []raft.ServerID{"b"}, "a", answers{"b": Y}, Y},
		{"three: nothing yet", three, "a", nil, P},
		{"three: one yes", three, "a", answers{"b": Y}, Y},
		{"three: self's own answer is ignored", three, "a", answers{"a": N}, P},
		{"three: one unreachable", three, "a", answers{"b": U}, P},
		{"three: both unreachable", three, "a", answers{"b": U, "c": U}, N},
		{"three: no and unreachable", three, "a", answers{"b": N, "c": U}, N},
		{"three: one no, other pending", three, "a", answers{"b": N}, P},
		{"three: one no, other yes", three, "a", answers{"b": N, "c": Y}, Y},
		{"three: deposed", three, "a", answers{"b": D}, N},
		{"three: deposed beats yes", three, "a", answers{"b": D, "c": Y}, N},
		{"five: one yes", five, "a", answers{"b": Y}, P},
		{"five: two yes", five, "a", answers{"b": Y, "c": Y}, Y},
		{"five: two unreachable", five, "a", answers{"b": U, "c": U}, P},
		{"five: three unreachable", five, "a", answers{"b": U, "c": U, "d": U}, N},
		{"five: two no, one yes", five, "a", answers{"b": N, "c": N, "d": Y}, P},
		{"five: non-voters do not count", five, "a", answers{"x": Y, "y": Y, "b": Y}, P},
		{"four: needs three", []raft.ServerID{"a", "b", "c", "d"}, "a", answers{"b": Y}, P},
		{"four: three", []raft.ServerID{"a", "b", "c", "d"}, "a", answers{"b": Y, "d": Y}, Y},
	} {
		if got := confirmDecision(tc.voters, tc.self, tc.answers); got != tc.want {
			t.Errorf("%s: confirmDecision = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestConfirmRPC: a follower confirms only its leader in its term.
func TestConfirmRPC(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nil)
	li := c.leader()
	l := c.members[li]
	f := c.cfgs[c.follower()].BindAddr
	term := l.raft.CurrentTerm()
	ask := func(req confirmRequest) bool {
		t.Helper()
		resp, err := l.rpc.call(ctxT(t), f, rpcConfirm, req.encode())
		if err != nil {
			t.Fatalf("confirm %+v: %v", req, err)
		}
		return resp[0] == 1
	}
	// The follower may not have heard from the leader yet.
	waitFor(t, 10*time.Second, "the follower to confirm", func() bool {
		return ask(confirmRequest{Term: term, Leader: raft.ServerID(c.cfgs[li].NodeID)})
	})
	if ask(confirmRequest{Term: term + 1, Leader: raft.ServerID(c.cfgs[li].NodeID)}) {
		t.Error("follower confirmed a newer term")
	}
	if ask(confirmRequest{Term: term - 1, Leader: raft.ServerID(c.cfgs[li].NodeID)}) {
		t.Error("follower confirmed an older term")
	}
	if ask(confirmRequest{Term: term, Leader: "someone-else"}) {
		t.Error("follower confirmed another leader")
	}
}

// TestReadOnIsolatedLeaderFails: a leader cut off from the others cannot
// confirm its leadership, so it serves no linearizable read; reads go on
// elsewhere.
func TestReadOnIsolatedLeaderFails(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, func(cfg *Config) { cfg.LeaderWait = 2 * time.Second })
	li := c.leader()
	l := c.members[li]
	mustCreate(t, l, "/k", "v")
	for _, s := range c.members {
		if kv := mustGet(t, s, "/k", store.ReadOptions{}); string(kv.Value) != "v" {
			t.Fatalf("%s read %q", s.NodeID(), kv.Value)
		}
	}

	c.net.isolate(c.cfgs[li].BindAddr)
	// Straight away, while it may still think it leads: a round fails.
	if _, err := l.verifyLeader(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("quorum round on the isolated leader: %v, want ErrUnavailable", err)
	}
	kv, err := l.Get(ctxT(t), "/k", store.ReadOptions{})
	if err == nil {
		t.Fatalf("isolated leader served a linearizable read: %q", kv.Value)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("linearizable read on the isolated leader: %v, want ErrUnavailable", err)
	}
	if kv != nil {
		t.Fatalf("failed read returned data: %+v", kv)
	}

	// The other two elect a leader and serve reads.
	waitFor(t, 15*time.Second, "a new leader", func() bool {
		for i, s := range c.members {
			if i != li && s.IsLeader() && s.readyTerm.Load() == s.raft.CurrentTerm() {
				return true
			}
		}
		return false
	})
	for i, s := range c.members {
		if i == li {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		kv, err := s.Get(ctx, "/k", store.ReadOptions{})
		cancel()
		if err != nil || string(kv.Value) != "v" {
			t.Fatalf("read on %s after the partition: %v", s.NodeID(), err)
		}
	}
}
