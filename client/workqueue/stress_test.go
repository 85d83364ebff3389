package workqueue_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/client/workqueue"
)

// TestStress runs producers and workers against one queue, under -race,
// and checks the two promises a controller relies on: no key is processed
// by two workers at once, and every add is followed by a processing that
// saw it (no update is lost). Some Gets are cancelled as they wait, racing
// the hand-over of an item; some adds are delayed or rate limited.
func TestStress(t *testing.T) {
	const (
		producers = 4
		workers   = 8
		keys      = 256
		adds      = 4000 // per producer
	)
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	for round := range rounds {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			q, err := workqueue.New(workqueue.Config[int]{
				// Real time, short delays: the timers fire on their own
				// goroutines, as they do in production.
				RateLimiter: workqueue.MaxOf[int](mustExp(t, time.Microsecond, 50*time.Microsecond)),
			})
			if err != nil {
				t.Fatal(err)
			}

			// version[k] counts the changes made to key k; a producer
			// bumps it before each Add. seen[k] is the latest version a
			// worker read at the start of processing k.
			var version, seen [keys]atomic.Int64
			var busy [keys]atomic.Bool
			var processed atomic.Int64

			ctx := t.Context()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					for {
						getCtx, cancel := ctx, context.CancelFunc(func() {})
						if rng.IntN(8) == 0 {
							// A Get whose ctx is cancelled while it waits.
							getCtx, cancel = context.WithCancel(ctx)
							go cancel()
						}
						k, err := q.Get(getCtx)
						cancel()
						if errors.Is(err, context.Canceled) && ctx.Err() == nil {
							continue
						}
						if err != nil {
							return
						}
						if busy[k].Swap(true) {
							t.Errorf("key %d handed to two workers at once", k)
						}
						seen[k].Store(version[k].Load())
						processed.Add(1)
						runtime.Gosched() // "work", so that adds land while k is processing
						if rng.IntN(16) == 0 {
							q.AddRateLimited(k) // a failed reconcile; no new version
						} else {
							q.Forget(k)
						}
						busy[k].Store(false)
						q.Done(k)
					}
				})
			}

			var producing sync.WaitGroup
			for p := range producers {
				producing.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(p), 2))
					for range adds {
						k := rng.IntN(keys)
						version[k].Add(1)
						if rng.IntN(32) == 0 {
							// A delayed add must not stand in for the
							// immediate one a change needs.
							q.AddAfter(k, time.Duration(rng.IntN(100))*time.Microsecond)
						}
						q.Add(k)
						if rng.IntN(4) == 0 {
							runtime.Gosched() // let the workers keep up, for more interleavings
						}
					}
				})
			}
			producing.Wait()
			// A bound on the drain, so that a bug fails here rather than
			// hanging until the test binary's timeout.
			drainCtx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if err := q.ShutDownWithDrain(drainCtx); err != nil {
				t.Fatalf("ShutDownWithDrain: %v (Len %d)", err, q.Len())
			}
			wg.Wait()

			for k := range keys {
				if v, s := version[k].Load(), seen[k].Load(); v != s {
					t.Errorf("key %d: %d changes, last processing saw %d: an add was lost", k, v, s)
				}
			}
			if q.Len() != 0 {
				t.Errorf("Len = %d after drain", q.Len())
			}
			t.Logf("%d adds, %d processings", producers*adds, processed.Load())
		})
	}
}

func mustExp(t *testing.T, base, max time.Duration) workqueue.RateLimiter[int] {
	t.Helper()
	r, err := workqueue.NewExponentialRateLimiter[int](base, max)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
