package raftstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/store"
)

func TestFollowersForwardWrites(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nil)
	// Every member writes; every member reads every write.
	var revs []int64
	for i, s := range c.members {
		revs = append(revs, mustCreate(t, s, fmt.Sprintf("/k/%d", i), fmt.Sprint(i)))
	}
	for i := 1; i < len(revs); i++ {
		if revs[i] != revs[i-1]+1 {
			t.Fatalf("revisions %v are not consecutive", revs)
		}
	}
	for _, s := range c.members {
		for i := range c.members {
			kv := mustGet(t, s, fmt.Sprintf("/k/%d", i), store.ReadOptions{})
			if string(kv.Value) != fmt.Sprint(i) || kv.ModRevision != revs[i] {
				t.Fatalf("%s: Get /k/%d = %q at %d, want %q at %d", s.NodeID(), i, kv.Value, kv.ModRevision, fmt.Sprint(i), revs[i])
			}
		}
	}
	// Errors cross the wire as the sentinels.
	f := c.members[c.follower()]
	if _, err := f.Create(ctxT(t), "/k/0", nil); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("Create of an existing key through a follower: %v, want ErrAlreadyExists", err)
	}
	_, err := f.Update(ctxT(t), "/k/0", []byte("x"), revs[0]+100)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Actual != revs[0] || ce.Expected != revs[0]+100 || ce.Key != "/k/0" {
		t.Fatalf("conflicting Update through a follower: %v, want a *ConflictError with actual %d", err, revs[0])
	}
	prev, rev, err := f.Delete(ctxT(t), "/k/1", revs[1])
	if err != nil || prev == nil || string(prev.Value) != "1" || rev != revs[2]+1 {
		t.Fatalf("Delete through a follower = %v, %d, %v", prev, rev, err)
	}
	if _, _, err := f.Delete(ctxT(t), "/k/1", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete of a missing key through a follower: %v, want ErrNotFound", err)
	}
}

// TestLinearizableReadOnFollower: a read on a follower that starts after
// a write was acknowledged by the leader sees it.
func TestLinearizableReadOnFollower(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nil)
	l := c.members[c.leader()]
	f := c.members[c.follower()]
	for i := range 50 {
		key := fmt.Sprintf("/lin/%d", i)
		rev := mustCreate(t, l, key, "v")
		kv := mustGet(t, f, key, store.ReadOptions{})
		if kv.ModRevision != rev {
			t.Fatalf("follower read %q at %d, want %d", key, kv.ModRevision, rev)
		}
		if r, err := f.Revision(ctxT(t)); err != nil || r < rev {
			t.Fatalf("follower Revision = %d, %v; want >= %d", r, err, rev)
		}
	}
}

// TestStaleReadOnIsolatedFollower: a follower cut off from the cluster
// serves stale reads from its own state at once, and refuses
// linearizable ones rather than answer with old data.
func TestStaleReadOnIsolatedFollower(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, func(cfg *Config) { cfg.LeaderWait = 2 * time.Second })
	li, fi := c.leader(), c.follower()
	l, f := c.members[li], c.members[fi]
	rev1 := mustCreate(t, l, "/s", "one")
	waitFor(t, 10*time.Second, "the follower to apply the write", func() bool {
		kv, err := f.Get(ctxT(t), "/s", store.ReadOptions{Stale: true})
		return err == nil && kv.ModRevision == rev1
	})
	c.net.isolate(c.cfgs[fi].BindAddr)
	if _, err := l.Update(ctxT(t), "/s", []byte("two"), rev1); err != nil {
		t.Fatalf("Update with a quorum of two: %v", err)
	}
	kv := mustGet(t, f, "/s", store.ReadOptions{Stale: true})
	if string(kv.Value) != "one" {
		t.Fatalf("stale read on the isolated follower = %q, want the old value", kv.Value)
	}
	res, err := f.List(ctxT(t), "/", store.ListOptions{Stale: true})
	if err != nil || len(res.KVs) != 1 || res.Revision != rev1 {
		t.Fatalf("stale List on the isolated follower = %+v, %v", res, err)
	}
	_, err = f.Get(ctxT(t), "/s", store.ReadOptions{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("linearizable read on the isolated follower: %v, want ErrUnavailable", err)
	}
	if err := f.Ready(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready of the isolated follower: %v, want ErrUnavailable", err)
	}
	if err := f.Healthy(); err != nil {
		t.Fatalf("Healthy of the isolated follower: %v", err)
	}
	c.net.heal()
	waitFor(t, 15*time.Second, "the follower to catch up", func() bool {
		kv, err := f.Get(ctxT(t), "/s", store.ReadOptions{})
		return err == nil && string(kv.Value) == "two"
	})
}

// TestIsolatedLeader: a leader cut off from the others loses its lease;
// it never serves a linearizable read from its old state, the others
// elect a new leader and go on, and nothing acknowledged is lost.
func TestIsolatedLeader(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, func(cfg *Config) { cfg.LeaderWait = 3 * time.Second })
	li := c.leader()
	old := c.members[li]
	rev := mustCreate(t, old, "/x", "before")
	c.net.isolate(c.cfgs[li].BindAddr)
	// A new leader among the other two takes a write.
	var nl *Store
	waitFor(t, 15*time.Second, "a new leader", func() bool {
		for i, s := range c.members {
			if i != li && s.IsLeader() {
				nl = s
				return true
			}
		}
		return false
	})
	if _, err := nl.Update(ctxT(t), "/x", []byte("after"), rev); err != nil {
		t.Fatalf("Update on the new leader: %v", err)
	}
	kv, err := old.Get(ctxT(t), "/x", store.ReadOptions{})
	if err == nil {
		t.Fatalf("isolated old leader served a linearizable read: %q", kv.Value)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("linearizable read on the isolated leader: %v, want ErrUnavailable", err)
	}
	if _, err := old.Create(ctxT(t), "/y", nil); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write on the isolated leader: %v, want ErrUnavailable", err)
	}
	c.net.heal()
	waitFor(t, 15*time.Second, "the old leader to catch up", func() bool {
		kv, err := old.Get(ctxT(t), "/x", store.ReadOptions{})
		return err == nil && string(kv.Value) == "after"
	})
}

// TestLeaderCrash: the leader stops without handing over (as a crash);
// the others elect a new leader, writes go on, and every acknowledged
// write is there.
func TestLeaderCrash(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nil)
	li := c.leader()
	var (
		mu    sync.Mutex
		acked = map[string]int64{}
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	// Writers through every member, during the crash.
	for w, s := range c.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("/w%d/%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				rev, err := s.Create(ctx, key, []byte("v"))
				cancel()
				if err != nil {
					if errors.Is(err, store.ErrClosed) {
						return
					}
					continue // unavailable during the election: not acknowledged
				}
				mu.Lock()
				acked[key] = rev
				mu.Unlock()
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor(t, 10*time.Second, "some writes", func() bool { return count() >= 30 })
	c.members[li].Abort()
	before := count()
	var nl int
	waitFor(t, 15*time.Second, "a new leader", func() bool {
		for i, s := range c.members {
			if i != li && s.IsLeader() {
				nl = i
				return true
			}
		}
		return false
	})
	waitFor(t, 15*time.Second, "writes after the crash", func() bool { return count() >= before+30 })
	close(stop)
	wg.Wait()
	s := c.members[nl]
	res, err := s.List(ctxT(t), "/", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, kv := range res.KVs {
		got[kv.Key] = kv.ModRevision
	}
	mu.Lock()
	defer mu.Unlock()
	for k, rev := range acked {
		if got[k] != rev {
			t.Fatalf("acknowledged write %s at %d: found at %d after the leader crashed", k, rev, got[k])
		}
	}
	// The crashed member comes back and catches up.
	r := c.restart(li)
	waitFor(t, 15*time.Second, "the restarted member to catch up", func() bool {
		res2, err := r.List(ctxT(t), "/", store.ListOptions{})
		return err == nil && len(res2.KVs) == len(res.KVs)
	})
}

// TestCloseTransfersLeadership: Close on a leader hands leadership to
// another member before it stops, so the cluster has a leader at once,
// without an election timeout.
func TestCloseTransfersLeadership(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, func(cfg *Config) {
		// An election would take at least this long; a handover does not.
		cfg.HeartbeatTimeout = 3 * time.Second
		cfg.ElectionTimeout = 3 * time.Second
		cfg.LeaderLeaseTimeout = 500 * time.Millisecond
	})
	li := c.leader()
	mustCreate(t, c.members[li], "/a", "1")
	start := time.Now()
	if err := c.members[li].Close(); err != nil {
		t.Fatal(err)
	}
	var nl int
	waitFor(t, 2*time.Second, "a leader after Close (handover, not election)", func() bool {
		for i, s := range c.members {
			if i != li && s.IsLeader() {
				nl = i
				return true
			}
		}
		return false
	})
	t.Logf("new leader %s %v after Close began", c.members[nl].NodeID(), time.Since(start))
	mustCreate(t, c.members[nl], "/b", "2")
	if err := c.members[li].Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestJoinThroughFollowerAndRemove(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, nil)
	mustCreate(t, c.members[0], "/before", "x")
	// The third member joins through the follower.
	fi := c.follower()
	cfg := testConfig(t, "m3", tempDir(t), freeAddr(t))
	cfg.Bootstrap, cfg.Join = false, []string{c.cfgs[fi].BindAddr}
	cfg.Dialer = c.net.dialer(cfg.BindAddr)
	m3 := openT(t, cfg)
	c.members, c.cfgs = append(c.members, m3), append(c.cfgs, cfg)
	if m3.ClusterID() != c.members[0].ClusterID() {
		t.Fatalf("joined cluster %q, want %q", m3.ClusterID(), c.members[0].ClusterID())
	}
	// Open returned after catching up: a stale read sees the old write.
	if _, err := m3.Get(ctxT(t), "/before", store.ReadOptions{Stale: true}); err != nil {
		t.Fatalf("stale read on the new member: %v", err)
	}
	members, err := c.members[0].Members(ctxT(t))
	if err != nil || len(members) != 3 {
		t.Fatalf("Members = %+v, %v; want 3", members, err)
	}
	// Remove the first follower through the new member (forwarded).
	victim, l := -1, c.leader()
	for i := range 2 {
		if i != l {
			victim = i // an original member that does not lead
		}
	}
	if err := m3.RemoveMember(ctxT(t), c.members[victim].NodeID()); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	members, err = m3.Members(ctxT(t))
	if err != nil || len(members) != 2 {
		t.Fatalf("Members after removal = %+v, %v; want 2", members, err)
	}
	for _, m := range members {
		if m.ID == c.members[victim].NodeID() {
			t.Fatalf("removed member still listed: %+v", members)
		}
	}
	// The removed member may never hear of its removal (the leader stops
	// replicating to it); its operator closes it.
	c.members[victim].Close()
	// The two left go on.
	mustCreate(t, m3, "/after", "y")
}

func TestJoinWrongCluster(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1, nil)
	// The joiner is told which cluster it may join: refused on its side.
	cfg := testConfig(t, "m2", tempDir(t), freeAddr(t))
	cfg.Bootstrap, cfg.Join, cfg.ClusterID = false, []string{c.cfgs[0].BindAddr}, "some-other-cluster"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s, err := Open(ctx, cfg); !errors.Is(err, ErrClusterMismatch) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open joining the wrong cluster: %v, want ErrClusterMismatch", err)
	}
	// A join request for another cluster: refused by the member asked.
	_, err := c.members[0].handleJoin(ctxT(t), joinRequest{ClusterID: "some-other-cluster", NodeID: "m9", Addr: "127.0.0.1:1"})
	if !errors.Is(err, ErrClusterMismatch) {
		t.Fatalf("join request for another cluster: %v, want ErrClusterMismatch", err)
	}
	// And over the wire, from a member of another cluster.
	other := openT(t, testConfig(t, "o1", tempDir(t), "127.0.0.1:0"))
	defer other.Close()
	body := []byte(fmt.Sprintf(`{"clusterID":%q,"nodeID":"o1","addr":%q}`, other.ClusterID(), other.Addr()))
	_, err = other.rpc.call(ctxT(t), c.cfgs[0].BindAddr, rpcJoin, body)
	if !errors.Is(err, ErrClusterMismatch) {
		t.Fatalf("join RPC for another cluster: %v, want ErrClusterMismatch", err)
	}
	members, _ := c.members[0].Members(ctxT(t))
	if len(members) != 1 {
		t.Fatalf("refused joins changed the membership: %+v", members)
	}
}
