package registry_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/apiserver/registry"
)

// Watchers that start at different revisions while writers run, on a
// small ring, each see every change after their start, in order, with
// nothing skipped; a watcher may instead be ended for falling behind, and
// what it got before that is still a gap-free prefix.
func TestWatchCacheStressNoGapsNoReorder(t *testing.T) {
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{WatchCacheSize: 256})
	const writers, perWriter, watchers = 4, 150, 24

	var mu sync.Mutex
	var revs []int64 // every write's revision
	var target atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		start int64
		got   []int64
		ended bool // the stream ended on its own
	}
	results := make([]result, watchers)
	var writersWG, watchersWG sync.WaitGroup
	for w := range writers {
		writersWG.Go(func() {
			for i := range perWriter {
				out, err := pods.Create(ctx, pod("a", fmt.Sprintf("w%d-%d", w, i), nil), registry.CreateOptions{})
				if err != nil {
					panic(err)
				}
				n, _ := strconv.ParseInt(out.GetObjectMeta().ResourceVersion, 10, 64)
				mu.Lock()
				revs = append(revs, n)
				mu.Unlock()
			}
		})
	}
	for i := range watchers {
		watchersWG.Go(func() {
			time.Sleep(time.Duration(i) * time.Millisecond) // start while the writers run
			mu.Lock()
			start := int64(1)
			if len(revs) > 0 {
				start = slices.Max(revs) - int64(len(revs)/3) // somewhere in the recent past
			}
			mu.Unlock()
			w, err := pods.NewWatcher(ctx, "", registry.ListOptions{ResourceVersion: strconv.FormatInt(max(start, 1), 10)})
			if err != nil {
				panic(err)
			}
			defer w.Close()
			res := result{start: max(start, 1)}
			defer func() { results[i] = res }()
			for {
				evs, more := w.Next(ctx)
				for _, ev := range evs {
					if ev.Object() == nil {
						continue
					}
					n, _ := strconv.ParseInt(ev.Object().GetObjectMeta().ResourceVersion, 10, 64)
					res.got = append(res.got, n)
				}
				if !more {
					res.ended = ctx.Err() == nil
					return
				}
				if tg := target.Load(); tg > 0 && len(res.got) > 0 && res.got[len(res.got)-1] >= tg {
					return
				}
			}
		})
	}
	writersWG.Wait()
	mu.Lock()
	target.Store(slices.Max(revs))
	all := slices.Sorted(slices.Values(revs))
	mu.Unlock()
	// A watcher whose last event came before target was set waits in Next:
	// give the others time, then stop it.
	time.AfterFunc(3*time.Second, cancel)
	watchersWG.Wait()
	st := pods.WatchStats()
	t.Logf("%d watchers: %d ended for falling behind, %d served by store watches", watchers, st.SlowTerminated, st.StoreWatches)
	for i, res := range results {
		var want []int64
		for _, r := range all {
			if r > res.start {
				want = append(want, r)
			}
		}
		got := res.got
		if len(got) < len(want) && (res.ended || len(got) == 0 || got[len(got)-1] < target.Load()) {
			want = want[:len(got)] // ended early, or stopped: a prefix
		}
		if len(want) == 0 {
			want = nil
		}
		require.Equal(t, want, got, "watcher %d from %d (ended on its own: %v)", i, res.start, res.ended)
	}
}
