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

// TestFiveMembers: a five-member cluster loses its leader and a follower
// at once (a crash of two of five: a quorum of three remains). The three
// elect a new leader and go on serving writes and linearizable reads
// without losing an acknowledged write; the two come back from their data
// directories and catch up.
func TestFiveMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("a five-member cluster with two crashes is slow")
	}
	t.Parallel()
	start := time.Now()

	// m1 bootstraps; each later member joins through the one before it,
	// so that joins go through followers as well as the leader.
	c := &cluster{t: t, net: newFaultNet()}
	t.Cleanup(c.close)
	for i := range 5 {
		cfg := testConfig(t, fmt.Sprintf("m%d", i+1), tempDir(t), freeAddr(t))
		cfg.Dialer = c.net.dialer(cfg.BindAddr)
		if i == 0 {
			cfg.Bootstrap = true
		} else {
			cfg.Bootstrap, cfg.Join = false, []string{c.cfgs[i-1].BindAddr}
		}
		c.cfgs = append(c.cfgs, cfg)
		c.members = append(c.members, openT(t, cfg))
	}
	members, err := c.members[4].Members(ctxT(t))
	if err != nil || len(members) != 5 {
		t.Fatalf("Members = %+v, %v; want 5", members, err)
	}

	var (
		mu    sync.Mutex
		acked = map[string]int64{} // key -> revision of every acknowledged Create
	)
	ack := func(key string, rev int64) {
		mu.Lock()
		acked[key] = rev
		mu.Unlock()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }

	// A write through every member, read back through every member.
	for i, s := range c.members {
		key := fmt.Sprintf("/init/%d", i)
		ack(key, mustCreate(t, s, key, "v"))
	}
	for _, s := range c.members {
		for i := range c.members {
			key := fmt.Sprintf("/init/%d", i)
			if kv := mustGet(t, s, key, store.ReadOptions{}); kv.ModRevision != acked[key] {
				t.Fatalf("%s: Get %s at %d, want %d", s.NodeID(), key, kv.ModRevision, acked[key])
			}
		}
	}
	t.Logf("cluster of 5 up and written through every member after %v", time.Since(start))

	// Writers through every member, during the crash.
	stop := make(chan struct{})
	var wg sync.WaitGroup
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
				ack(key, rev)
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	waitFor(t, 10*time.Second, "some writes", func() bool { return count() >= len(c.members)+30 })

	// Crash the leader and a follower.
	li := c.leader()
	fi := (li + 1) % len(c.members)
	crashed := []int{li, fi}
	c.members[li].Abort()
	c.members[fi].Abort()
	crashAt := time.Now()
	before := count()
	nl := c.leader() // only open members count
	t.Logf("crashed %s (leader) and %s; %s leads after %v",
		c.cfgs[li].NodeID, c.cfgs[fi].NodeID, c.cfgs[nl].NodeID, time.Since(crashAt))
	if nl == li || nl == fi {
		t.Fatalf("crashed member %s leads", c.cfgs[nl].NodeID)
	}
	waitFor(t, 15*time.Second, "writes after the crash", func() bool { return count() >= before+30 })
	close(stop)
	wg.Wait()

	// Every acknowledged write is there, on a linearizable read through
	// every surviving member.
	var survivors []int
	for i := range c.members {
		if i != li && i != fi {
			survivors = append(survivors, i)
		}
	}
	mu.Lock()
	want := make(map[string]int64, len(acked))
	for k, v := range acked {
		want[k] = v
	}
	mu.Unlock()
	for _, i := range survivors {
		s := c.members[i]
		res, err := s.List(ctxT(t), "/", store.ListOptions{})
		if err != nil {
			t.Fatalf("%s: List: %v", s.NodeID(), err)
		}
		got := make(map[string]int64, len(res.KVs))
		for _, kv := range res.KVs {
			got[kv.Key] = kv.ModRevision
		}
		for k, rev := range want {
			if got[k] != rev {
				t.Fatalf("%s: acknowledged write %s at %d: found at %d after the crash", s.NodeID(), k, rev, got[k])
			}
		}
	}
	// A write through each survivor is read back through every other,
	// linearizably.
	var last int64
	for _, i := range survivors {
		key := fmt.Sprintf("/after/%s", c.cfgs[i].NodeID)
		last = mustCreate(t, c.members[i], key, "v")
		for _, j := range survivors {
			if kv := mustGet(t, c.members[j], key, store.ReadOptions{}); kv.ModRevision != last {
				t.Fatalf("%s: Get %s at %d, want %d", c.cfgs[j].NodeID, key, kv.ModRevision, last)
			}
		}
	}
	lastKey := fmt.Sprintf("/after/%s", c.cfgs[survivors[len(survivors)-1]].NodeID)

	// The crashed members come back from their data directories and catch
	// up: a stale read (their own state) sees the latest write.
	restartAt := time.Now()
	for _, i := range crashed {
		c.restart(i)
	}
	for _, i := range crashed {
		s := c.members[i]
		waitFor(t, 15*time.Second, s.NodeID()+" to catch up", func() bool {
			kv, err := s.Get(ctxT(t), lastKey, store.ReadOptions{Stale: true})
			return err == nil && kv.ModRevision == last
		})
		res, err := s.List(ctxT(t), "/", store.ListOptions{})
		if err != nil {
			t.Fatalf("%s: List after restart: %v", s.NodeID(), err)
		}
		got := make(map[string]int64, len(res.KVs))
		for _, kv := range res.KVs {
			got[kv.Key] = kv.ModRevision
		}
		for k, rev := range want {
			if got[k] != rev {
				t.Fatalf("%s after restart: acknowledged write %s at %d: found at %d", s.NodeID(), k, rev, got[k])
			}
		}
	}
	t.Logf("restarted members caught up after %v; %d acknowledged writes, %v in all",
		time.Since(restartAt), len(want), time.Since(start))
}
