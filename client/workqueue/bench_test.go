package workqueue_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/client/workqueue"
)

// hotKeys is the number of keys the "hot" benchmarks cycle over.
const hotKeys = 16

// BenchmarkQueueThroughput measures a no-op reconciler behind the queue,
// with N worker goroutines looping on Get and Done, in two shapes:
//
//   - feed: one producer goroutine adds b.N keys, as an informer's event
//     handlers would, until ShutDownWithDrain returns;
//   - loop: each worker adds a key, then Gets and Dones whatever is next
//     (b.N adds in all), as reconcilers that requeue would.
//
// and on two kinds of key: "distinct" adds a new key each time; "hot"
// cycles over 16 keys, so adds land on queued and processing keys and go
// through de-duplication and the dirty re-queue. It reports
//
//   - keys/s: keys processed (Get to Done) per second, what the target of
//     10,000 keys/s is about;
//   - adds/s: adds per second; with hot keys most are de-duplicated, so
//     adds/s > keys/s;
//   - allocs/op and B/op: per add.
func BenchmarkQueueThroughput(b *testing.B) {
	for _, shape := range []string{"feed", "loop"} {
		for _, keys := range []string{"distinct", "hot"} {
			for _, workers := range []int{1, 4, 16, 64} {
				name := fmt.Sprintf("%s/keys=%s/workers=%d", shape, keys, workers)
				b.Run(name, func(b *testing.B) {
					benchThroughput(b, shape == "loop", keys == "hot", workers, nil)
				})
			}
		}
	}
	b.Run("feed/keys=distinct/workers=16/metrics", func(b *testing.B) {
		benchThroughput(b, false, false, 16, prometheus.NewRegistry())
	})
}

func benchThroughput(b *testing.B, loop, hot bool, workers int, reg prometheus.Registerer) {
	q, err := workqueue.New(workqueue.Config[int]{Name: "bench", Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	key := func(i int) int {
		if hot {
			return i % hotKeys
		}
		return i
	}
	ctx := context.Background()
	var (
		processed atomic.Int64
		next      atomic.Int64 // loop: the next add to make
		allAdded  = make(chan struct{})
		wg        sync.WaitGroup
	)
	b.ReportAllocs()
	b.ResetTimer()
	for range workers {
		wg.Go(func() {
			n := int64(0)
			defer func() { processed.Add(n) }()
			for {
				if loop {
					if i := int(next.Add(1) - 1); i < b.N {
						q.Add(key(i))
						if i == b.N-1 {
							close(allAdded)
						}
					}
				}
				k, err := q.Get(ctx)
				if err != nil {
					return
				}
				n++
				q.Done(k)
			}
		})
	}
	if loop {
		<-allAdded
	} else {
		for i := range b.N {
			q.Add(key(i))
		}
	}
	if err := q.ShutDownWithDrain(ctx); err != nil {
		b.Fatal(err)
	}
	wg.Wait()
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(processed.Load())/secs, "keys/s")
	b.ReportMetric(float64(b.N)/secs, "adds/s")
}
