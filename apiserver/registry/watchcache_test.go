package registry_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/store"
)

// nextEvents reads the next batch of a Watcher, failing after a deadline.
func nextEvents(t *testing.T, w *registry.Watcher) ([]*registry.Event, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	evs, more := w.Next(ctx)
	require.NoError(t, ctx.Err(), "no watch event within 10s")
	return append([]*registry.Event(nil), evs...), more
}

func newWatcher(t *testing.T, r *registry.Registry, ns string, opts registry.ListOptions) *registry.Watcher {
	t.Helper()
	w, err := r.NewWatcher(t.Context(), ns, opts)
	require.NoError(t, err)
	t.Cleanup(w.Close)
	return w
}

func TestWatchCacheSharesEvents(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	_, err := pods.Create(ctx, pod("z", "before", nil), registry.CreateOptions{})
	require.NoError(t, err)
	rev, err := e.st.Revision(ctx)
	require.NoError(t, err)
	from := registry.ListOptions{ResourceVersion: strconv.FormatInt(rev, 10)}
	all := newWatcher(t, pods, "", from)
	inA := newWatcher(t, pods, "a", from)
	inB := newWatcher(t, pods, "b", from)

	created, err := pods.Create(ctx, pod("a", "p1", map[string]string{"app": "x"}), registry.CreateOptions{})
	require.NoError(t, err)
	evAll, more := nextEvents(t, all)
	require.True(t, more)
	evA, _ := nextEvents(t, inA)
	require.Len(t, evAll, 1)
	require.Len(t, evA, 1)
	require.Same(t, evAll[0], evA[0], "one Event for every watcher")
	require.Equal(t, api.WatchAdded, evA[0].Type)
	require.Equal(t, "p1", evA[0].Object().GetObjectMeta().Name, "the decoded object is there")
	require.Equal(t, created.GetObjectMeta().ResourceVersion, evA[0].Object().GetObjectMeta().ResourceVersion)
	require.Equal(t, &evAll[0].Line()[0], &evA[0].Line()[0], "one encoding for every watcher")
	typ, name, rv := eventMeta(t, evA[0].WatchEvent())
	require.Equal(t, step{api.WatchAdded, "p1"}, step{typ, name})
	require.Equal(t, created.GetObjectMeta().ResourceVersion, rv)
	require.Equal(t, `{"type":"ADDED","object":`+string(mustEncode(t, e.scheme, created))+"}\n", string(evA[0].Line()))

	// The namespace b watcher skipped it: its next event is b's.
	_, err = pods.Create(ctx, pod("b", "p2", nil), registry.CreateOptions{})
	require.NoError(t, err)
	evB, _ := nextEvents(t, inB)
	require.Len(t, evB, 1)
	require.Equal(t, "p2", evB[0].Object().GetObjectMeta().Name)

	// A selector watcher gets its own ADDED (the object starts matching)
	// while the others get the shared MODIFIED.
	sel, err := labels.Parse("app=y")
	require.NoError(t, err)
	selective := newWatcher(t, pods, "a", registry.ListOptions{ResourceVersion: created.GetObjectMeta().ResourceVersion, LabelSelector: sel})
	upd := api.DeepCopy(created.(*api.Pod))
	upd.Labels["app"] = "y"
	_, err = pods.Update(ctx, upd, registry.UpdateOptions{})
	require.NoError(t, err)
	evS, _ := nextEvents(t, selective)
	evA, _ = nextEvents(t, inA)
	require.Equal(t, api.WatchAdded, evS[0].Type)
	require.Equal(t, api.WatchModified, evA[0].Type)
	require.Same(t, evS[0].Object(), evA[0].Object(), "the object is decoded once")
	require.Equal(t, uint64(0), pods.WatchStats().StoreWatches, "every watch was served from the cache")
	require.Equal(t, int64(4), pods.WatchStats().Watchers)
}

func TestWatchCacheEndsSlowWatcher(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{WatchCacheSize: 4})
	_, err := pods.Create(ctx, pod("z", "before", nil), registry.CreateOptions{})
	require.NoError(t, err)
	rev, err := e.st.Revision(ctx)
	require.NoError(t, err)
	from := registry.ListOptions{ResourceVersion: strconv.FormatInt(rev, 10)}
	slow := newWatcher(t, pods, "a", from)
	fast := newWatcher(t, pods, "a", from)
	for i := range 10 {
		_, err := pods.Create(ctx, pod("a", fmt.Sprintf("p%d", i), nil), registry.CreateOptions{})
		require.NoError(t, err)
		evs, more := nextEvents(t, fast)
		require.True(t, more)
		require.Len(t, evs, 1, "the fast watcher keeps up")
	}
	evs, more := nextEvents(t, slow)
	require.False(t, more, "the slow watcher is ended")
	require.Empty(t, evs, "without an ERROR event: its client watches again")
	require.Equal(t, uint64(1), pods.WatchStats().SlowTerminated)

	// Watching again from where it was: older than the cache, so the
	// store serves it, and nothing is lost.
	again := newWatcher(t, pods, "a", from)
	require.Equal(t, uint64(1), pods.WatchStats().StoreWatches)
	var names []string
	for len(names) < 10 {
		evs, more := nextEvents(t, again)
		require.True(t, more)
		for _, ev := range evs {
			names = append(names, ev.Object().GetObjectMeta().Name)
		}
	}
	require.Equal(t, []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"}, names)
}

func TestWatchCacheWindow(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{WatchCacheSize: 4})
	first := newWatcher(t, pods, "a", registry.ListOptions{}) // starts the cache
	var rvs []string
	for i := range 6 {
		p, err := pods.Create(ctx, pod("a", fmt.Sprintf("p%d", i), nil), registry.CreateOptions{})
		require.NoError(t, err)
		rvs = append(rvs, p.GetObjectMeta().ResourceVersion)
		_, _ = nextEvents(t, first)
	}
	// The cache holds p2..p5: a watch from p1 starts from memory, one
	// from p0 from the store.
	w := newWatcher(t, pods, "a", registry.ListOptions{ResourceVersion: rvs[1]})
	require.Equal(t, uint64(0), pods.WatchStats().StoreWatches)
	evs, _ := nextEvents(t, w)
	require.Len(t, evs, 4)
	require.Equal(t, "p2", evs[0].Object().GetObjectMeta().Name)
	w = newWatcher(t, pods, "a", registry.ListOptions{ResourceVersion: rvs[0]})
	require.Equal(t, uint64(1), pods.WatchStats().StoreWatches)
	evs, _ = nextEvents(t, w)
	require.Equal(t, "p1", evs[0].Object().GetObjectMeta().Name)
}

// TestWatchCacheOff runs the selector transitions with and without the
// cache: the same events either way.
func TestWatchCacheOff(t *testing.T) {
	for _, size := range []int{-1, 0, 2} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			ctx := t.Context()
			e := newEnv(t)
			pods := e.registry(t, podGVK, registry.Options{WatchCacheSize: size})
			web, err := labels.Parse("tier=web")
			require.NoError(t, err)
			ch, err := pods.Watch(ctx, "a", registry.ListOptions{LabelSelector: web})
			require.NoError(t, err)
			p, err := pods.Create(ctx, pod("a", "p", map[string]string{"tier": "db"}), registry.CreateOptions{})
			require.NoError(t, err)
			var want []step
			for _, tier := range []string{"web", "db", "web"} {
				cp := api.DeepCopy(p.(*api.Pod))
				cp.Labels["tier"] = tier
				p, err = pods.Update(ctx, cp, registry.UpdateOptions{})
				require.NoError(t, err)
				typ := api.WatchAdded
				if tier == "db" {
					typ = api.WatchDeleted
				}
				want = append(want, step{typ, "p"})
				expect(t, ch, want[len(want)-1]) // read along: size 2 is small
			}
			_, err = pods.Delete(ctx, "a", "p", registry.DeleteOptions{})
			require.NoError(t, err)
			expect(t, ch, step{api.WatchDeleted, "p"})
			wantStore := uint64(0)
			if size < 0 {
				wantStore = 1
			}
			require.Equal(t, wantStore, pods.WatchStats().StoreWatches)
		})
	}
}

// TestWatchCacheConcurrent has writers and watchers run at once (for the
// race detector): every watcher sees every change, in order.
func TestWatchCacheConcurrent(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	const watchers, writers, perWriter = 16, 4, 25
	var chans []<-chan api.WatchEvent
	for range watchers {
		ch, err := pods.Watch(ctx, "", registry.ListOptions{})
		require.NoError(t, err)
		chans = append(chans, ch)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				_, err := pods.Create(ctx, pod("a", fmt.Sprintf("w%d-%d", w, i), nil), registry.CreateOptions{})
				require.NoError(t, err)
			}
		})
	}
	for _, ch := range chans {
		wg.Go(func() {
			last := int64(0)
			for range writers * perWriter {
				ev := next(t, ch)
				_, _, rv := eventMeta(t, ev)
				n, err := strconv.ParseInt(rv, 10, 64)
				require.NoError(t, err)
				require.Greater(t, n, last, "in revision order")
				last = n
			}
		})
	}
	wg.Wait()
}

func TestRegistryCloseEndsWatches(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	ch, err := pods.Watch(ctx, "", registry.ListOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(1), pods.WatchStats().Watchers)
	require.NoError(t, pods.Close())
	requireClosed(t, ch)
	require.Equal(t, int64(0), pods.WatchStats().Watchers)
	require.NoError(t, pods.Close(), "Close twice")

	// Later watches have store watches of their own.
	ch, err = pods.Watch(ctx, "", registry.ListOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("a", "p", nil), registry.CreateOptions{})
	require.NoError(t, err)
	expect(t, ch, step{api.WatchAdded, "p"})
	require.Equal(t, uint64(1), pods.WatchStats().StoreWatches)
}

// manualTickers hands out tickers that tick when the test says.
type manualTickers struct {
	mu      sync.Mutex
	tickers []chan time.Time
}

func (m *manualTickers) NewTicker(time.Duration) registry.Ticker {
	ch := make(chan time.Time)
	m.mu.Lock()
	m.tickers = append(m.tickers, ch)
	m.mu.Unlock()
	return manualTicker(ch)
}

type manualTicker chan time.Time

func (t manualTicker) C() <-chan time.Time { return t }
func (t manualTicker) Stop()               {}

// tick delivers a tick to the newest ticker, and waits for its reader to
// take it. The reader handles ticks one at a time, so after tick returns
// every earlier tick has been handled.
func (m *manualTickers) tick(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	require.NotEmpty(t, m.tickers, "no ticker")
	ch := m.tickers[len(m.tickers)-1]
	m.mu.Unlock()
	select {
	case ch <- time.Time{}:
	case <-time.After(10 * time.Second):
		t.Fatal("nobody took the tick within 10s")
	}
}

// tryTick delivers a tick to the newest ticker if its reader is waiting
// for one, and reports whether it did.
func (m *manualTickers) tryTick() bool {
	m.mu.Lock()
	ch := m.tickers[len(m.tickers)-1]
	m.mu.Unlock()
	select {
	case ch <- time.Time{}:
		return true
	default:
		return false
	}
}

func bigPod(ns, name string, size int) *api.Pod {
	p := pod(ns, name, nil)
	p.Annotations = map[string]string{"data": strings.Repeat("x", size)}
	return p
}

// TestWatchCacheBytesBound fills the cache with large objects: it keeps
// no more than WatchCacheBytes of them, and a watch from a revision that
// left the cache still gets every change, from the store.
func TestWatchCacheBytesBound(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	const limit = 40 << 10
	pods := e.registry(t, podGVK, registry.Options{WatchCacheBytes: limit})
	_, err := pods.Create(ctx, pod("z", "before", nil), registry.CreateOptions{})
	require.NoError(t, err)
	rev0, err := e.st.Revision(ctx)
	require.NoError(t, err)
	from := registry.ListOptions{ResourceVersion: strconv.FormatInt(rev0, 10)}
	reader := newWatcher(t, pods, "a", from) // starts the cache, reads along
	var rvs []string
	for i := range 10 {
		p, err := pods.Create(ctx, bigPod("a", fmt.Sprintf("p%d", i), 10<<10), registry.CreateOptions{})
		require.NoError(t, err)
		rvs = append(rvs, p.GetObjectMeta().ResourceVersion)
		evs, more := nextEvents(t, reader)
		require.True(t, more)
		require.Len(t, evs, 1, "a watcher that keeps up loses nothing")
	}
	st := pods.WatchStats()
	require.LessOrEqual(t, st.CacheBytes, int64(limit))
	require.Greater(t, st.CacheBytes, int64(20<<10))
	require.Less(t, st.CacheEvents, int64(4), "10 KiB objects in a 40 KiB cache")
	require.Positive(t, st.CacheEvents)

	// From before the first: evicted, so the store serves it, in full.
	again := newWatcher(t, pods, "a", from)
	require.Equal(t, uint64(1), pods.WatchStats().StoreWatches)
	var names []string
	for len(names) < 10 {
		evs, more := nextEvents(t, again)
		require.True(t, more)
		for _, ev := range evs {
			names = append(names, ev.Object().GetObjectMeta().Name)
		}
	}
	require.Equal(t, []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"}, names)

	// From the last but one: still in the cache.
	recent := newWatcher(t, pods, "a", registry.ListOptions{ResourceVersion: rvs[8]})
	require.Equal(t, uint64(1), pods.WatchStats().StoreWatches)
	evs, _ := nextEvents(t, recent)
	require.Len(t, evs, 1)
	require.Equal(t, "p9", evs[0].Object().GetObjectMeta().Name)
}

// TestWatchCacheBytesBoundKeepsNewest has a cache smaller than one
// object: it holds the newest change only, and a watcher that keeps up
// still gets every change from it.
func TestWatchCacheBytesBoundKeepsNewest(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{WatchCacheBytes: 1})
	reader := newWatcher(t, pods, "a", registry.ListOptions{})
	for i := range 3 {
		_, err := pods.Create(ctx, bigPod("a", fmt.Sprintf("p%d", i), 1<<10), registry.CreateOptions{})
		require.NoError(t, err)
		evs, more := nextEvents(t, reader)
		require.True(t, more)
		require.Len(t, evs, 1)
		require.Equal(t, fmt.Sprintf("p%d", i), evs[0].Object().GetObjectMeta().Name)
		require.Equal(t, int64(1), pods.WatchStats().CacheEvents)
	}
	require.Equal(t, uint64(0), pods.WatchStats().StoreWatches)
	require.Equal(t, uint64(0), pods.WatchStats().SlowTerminated)
}

// TestWatchCacheStopsWhenIdle checks that a cache with no watch for
// WatchCacheIdle (IdleTicks ticks of its idle check) stops and is garbage
// collected, and that the next watch starts one again.
func TestWatchCacheStopsWhenIdle(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	tickers := &manualTickers{}
	pods := e.registry(t, podGVK, registry.Options{WatchCacheIdle: time.Minute, NewTicker: tickers.NewTicker})
	collected := make(chan struct{})
	var rv string
	func() {
		w, err := pods.NewWatcher(ctx, "a", registry.ListOptions{})
		require.NoError(t, err)
		defer w.Close()
		require.True(t, pods.WatchCacheRunning(collected))
		p, err := pods.Create(ctx, bigPod("a", "p0", 200<<10), registry.CreateOptions{})
		require.NoError(t, err)
		rv = p.GetObjectMeta().ResourceVersion
		evs, _ := nextEvents(t, w)
		require.Len(t, evs, 1)
		// With a watch open, the cache runs however long it is.
		for range 3 * registry.IdleTicks {
			tickers.tick(t)
		}
		require.True(t, pods.WatchCacheRunning(nil))
	}()
	require.Greater(t, pods.WatchStats().CacheBytes, int64(200<<10))

	// The last tick above may have been handled after the watch closed:
	// the cache has seen IdleTicks-1 or IdleTicks idle ticks after these.
	for range registry.IdleTicks - 1 {
		tickers.tick(t)
	}
	require.True(t, pods.WatchCacheRunning(nil), "idle for less than WatchCacheIdle")
	delivered := 0
	deadline := time.Now().Add(10 * time.Second)
	for pods.WatchCacheRunning(nil) {
		require.True(t, time.Now().Before(deadline), "idle for WatchCacheIdle, the cache did not stop within 10s")
		if tickers.tryTick() {
			delivered++
		}
		runtime.Gosched()
	}
	require.LessOrEqual(t, delivered, 2, "stopped after IdleTicks+1 idle ticks")
	st := pods.WatchStats()
	require.Equal(t, [3]int64{0, 0, 0}, [3]int64{st.Watchers, st.CacheEvents, st.CacheBytes}, "nothing open, nothing held")
	for !isClosedChan(collected) {
		require.True(t, time.Now().Before(deadline), "the stopped cache was not garbage collected within 10s")
		runtime.GC()
	}

	// Changes made while no cache ran reach a watch from before them.
	_, err := pods.Create(ctx, pod("a", "p1", nil), registry.CreateOptions{})
	require.NoError(t, err)
	w := newWatcher(t, pods, "a", registry.ListOptions{ResourceVersion: rv})
	require.True(t, pods.WatchCacheRunning(nil), "started again")
	evs, _ := nextEvents(t, w)
	require.Len(t, evs, 1)
	require.Equal(t, "p1", evs[0].Object().GetObjectMeta().Name)
	_, err = pods.Create(ctx, pod("a", "p2", nil), registry.CreateOptions{})
	require.NoError(t, err)
	evs, _ = nextEvents(t, w)
	require.Len(t, evs, 1)
	require.Equal(t, "p2", evs[0].Object().GetObjectMeta().Name)
	require.NoError(t, pods.Close())
}

func isClosedChan(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestWatchCacheIdleCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		idle     int
		watchers int64
		used     bool
		want     int
		stop     bool
	}{
		{"watched", 3, 2, false, 0, false},
		{"a watch started since the last tick", 3, 0, true, 0, false},
		{"first idle tick", 0, 0, false, 1, false},
		{"idle for less than the period", registry.IdleTicks - 1, 0, false, registry.IdleTicks, false},
		{"idle for the period", registry.IdleTicks, 0, false, registry.IdleTicks + 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idle, stop := registry.IdleCheck(tc.idle, tc.watchers, tc.used)
			require.Equal(t, tc.want, idle)
			require.Equal(t, tc.stop, stop)
		})
	}
}

// overtakingStore writes, once, just before the first watch from afterRev
// 0 starts: the write that lands between reading an empty store's revision
// and starting a watch from it.
type overtakingStore struct {
	store.Store
	once  sync.Once
	write func()
}

func (s *overtakingStore) Watch(ctx context.Context, prefix string, afterRev int64, opts store.WatchOptions) (<-chan store.Event, error) {
	if afterRev == 0 {
		s.once.Do(s.write)
	}
	return s.Store.Watch(ctx, prefix, afterRev, opts)
}

// A watch of an empty store sees a write that lands while the watch (its
// cache's included) starts: the store reads afterRev 0 as "from now", so
// a watch from revision 0 must not trust it once the store has moved.
func TestWatchOfEmptyStoreOvertakenByWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{{"cache", 0}, {"store watch", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var pods *registry.Registry
			st := &overtakingStore{Store: e.st}
			st.write = func() {
				_, err := pods.Create(t.Context(), pod("a", "early", nil), registry.CreateOptions{})
				require.NoError(t, err)
			}
			k, ok := e.scheme.KindFor(podGVK)
			require.True(t, ok)
			pods, err := registry.New(st, e.scheme, k, registry.Options{WatchCacheSize: tc.size})
			require.NoError(t, err)
			w := newWatcher(t, pods, "", registry.ListOptions{})
			_, err = pods.Create(t.Context(), pod("a", "late", nil), registry.CreateOptions{})
			require.NoError(t, err)
			var got []string
			for len(got) < 2 {
				evs, more := nextEvents(t, w)
				for _, ev := range evs {
					got = append(got, string(ev.Type)+" "+ev.Object().GetObjectMeta().Name)
				}
				require.True(t, more || len(got) >= 2, "the watch ended after %v", got)
			}
			require.Equal(t, []string{"ADDED early", "ADDED late"}, got)
		})
	}
}
