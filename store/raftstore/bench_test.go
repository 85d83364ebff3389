package raftstore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/store"
)

// Benchmarks run a three-member cluster over loopback TCP. Their data is
// on disk (t.TempDir), so that every commit pays for real fsyncs, as in
// production; DROVER_STORE_BENCH_TMPFS=1 puts it on tmpfs instead, which
// shows the cost of everything but the disk.
func benchCluster(b *testing.B) *cluster {
	b.Helper()
	if os.Getenv("DROVER_STORE_BENCH_TMPFS") == "" {
		b.Setenv("DROVER_STORE_TEST_DISK", "1")
	}
	return newCluster(b, 3, func(cfg *Config) {
		cfg.Logger = nil
		if v := os.Getenv("DROVER_STORE_BENCH_INFLIGHT"); v != "" {
			cfg.MaxInflight, _ = strconv.Atoi(v)
		}
	})
}

// runClients runs op b.N times in total from n goroutines.
func runClients(b *testing.B, n int, op func(i int64) error) {
	b.Helper()
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	b.ResetTimer()
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := op(i); err != nil {
					errOnce.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if first != nil {
		b.Fatal(first)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}

// BenchmarkWriteParallel measures group commit: Creates of 128-byte values
// from 1, 16 and 64 concurrent clients, sent to the leader directly and
// through a follower (which forwards them over the RPC).
func BenchmarkWriteParallel(b *testing.B) {
	value := make([]byte, 128)
	for _, via := range []string{"leader", "follower"} {
		for _, clients := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("via=%s/clients=%d", via, clients), func(b *testing.B) {
				c := benchCluster(b)
				l := c.members[c.leader()]
				s := l
				if via == "follower" {
					s = c.members[c.follower()]
				}
				batches0 := l.batcher.nextID.Load()
				runClients(b, clients, func(i int64) error {
					_, err := s.Create(context.Background(), fmt.Sprintf("/bench/%010d", i), value)
					return err
				})
				if batches := l.batcher.nextID.Load() - batches0; batches > 0 {
					b.ReportMetric(float64(b.N)/float64(batches), "writes/entry")
				}
			})
		}
	}
}

// BenchmarkLinearizableRead measures ReadIndex reads (Get of one key) on
// the leader and on a follower, from 1, 16 and 64 concurrent clients;
// concurrent reads share quorum rounds. Stale reads are shown for
// comparison.
func BenchmarkLinearizableRead(b *testing.B) {
	for _, via := range []string{"leader", "follower", "follower-stale"} {
		for _, clients := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("via=%s/clients=%d", via, clients), func(b *testing.B) {
				c := benchCluster(b)
				l := c.members[c.leader()]
				s := l
				if via != "leader" {
					s = c.members[c.follower()]
				}
				if _, err := l.Create(context.Background(), "/read", []byte("value")); err != nil {
					b.Fatal(err)
				}
				waitFor(b, 10*time.Second, "the follower to apply the key", func() bool {
					_, err := s.Get(context.Background(), "/read", store.ReadOptions{Stale: true})
					return err == nil
				})
				opts := store.ReadOptions{Stale: via == "follower-stale"}
				rounds0 := l.verifier.rounds.Load()
				runClients(b, clients, func(int64) error {
					_, err := s.Get(context.Background(), "/read", opts)
					return err
				})
				if rounds := l.verifier.rounds.Load() - rounds0; rounds > 0 {
					b.ReportMetric(float64(b.N)/float64(rounds), "reads/round")
				}
			})
		}
	}
}
