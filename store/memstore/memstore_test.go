package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/memstore"
	"github.com/drover-io/drover/store/storetest"
)

func newStore(opts memstore.Options) func(t *testing.T) store.Store {
	return func(t *testing.T) store.Store {
		s, err := memstore.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore(memstore.Options{ProgressInterval: 10 * time.Millisecond}))
}

// TestConformanceTinyWatchHistory runs the suite with a watch history of 8
// events, so that nearly every watch falls out of it and is served from the
// key history.
func TestConformanceTinyWatchHistory(t *testing.T) {
	storetest.Run(t, newStore(memstore.Options{WatchHistory: 8, ProgressInterval: 10 * time.Millisecond}))
}

func TestOptionsValidate(t *testing.T) {
	_, err := memstore.New(memstore.Options{WatchHistory: -1})
	require.ErrorContains(t, err, "Options.WatchHistory is -1")
	_, err = memstore.New(memstore.Options{ProgressInterval: -time.Second})
	require.ErrorContains(t, err, "Options.ProgressInterval is -1s")
}

// fakeClock hands out one ticker whose ticks the test sends.
type fakeClock struct {
	mu       sync.Mutex
	interval time.Duration
	ticks    chan time.Time
	stopped  bool
}

func (c *fakeClock) NewTicker(d time.Duration) memstore.Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.interval = d
	return fakeTicker{c}
}

func (c *fakeClock) tick() { c.ticks <- time.Time{} }

type fakeTicker struct{ c *fakeClock }

func (t fakeTicker) C() <-chan time.Time { return t.c.ticks }
func (t fakeTicker) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.c.stopped = true
}

func TestProgressWithFakeClock(t *testing.T) {
	clock := &fakeClock{ticks: make(chan time.Time)}
	s, err := memstore.New(memstore.Options{Clock: clock})
	require.NoError(t, err)
	require.Equal(t, memstore.DefaultProgressInterval, clock.interval)
	ctx := t.Context()
	rev, err := s.Create(ctx, "/other", nil)
	require.NoError(t, err)
	ch, err := s.Watch(ctx, "/w/", 0, store.WatchOptions{ProgressNotify: true})
	require.NoError(t, err)

	// Tick until the progress event comes: the first tick may come before
	// the watch is waiting for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no progress event")
		}
		clock.tick()
		select {
		case ev := <-ch:
			require.Equal(t, store.Event{Type: store.EventProgress, Revision: rev}, ev)
		default:
			continue
		}
		break
	}
	require.NoError(t, s.Close())
	require.True(t, clock.stopped, "Close stops the ticker")
}

func TestCloseEndsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	ctx := t.Context()
	for i := range 50 {
		_, err := s.Watch(ctx, fmt.Sprintf("/%d/", i), 0, store.WatchOptions{ProgressNotify: i%2 == 0})
		require.NoError(t, err)
	}
	for i := range 500 {
		_, err := s.Create(ctx, fmt.Sprintf("/%d/x", i%50*7), nil)
		if err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			t.Fatal(err)
		}
	}
	require.GreaterOrEqual(t, runtime.NumGoroutine(), before+50)
	require.NoError(t, s.Close())
	// Close waits for the store's goroutines, so they are gone already;
	// the test's own leftovers may take a moment.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before New", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}

func TestWatchOfUnreadChannelDoesNotBlockWriters(t *testing.T) {
	s, err := memstore.New(memstore.Options{WatchHistory: 16})
	require.NoError(t, err)
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for range 10 {
		_, err := s.Watch(ctx, "/", 0, store.WatchOptions{})
		require.NoError(t, err)
	}
	for i := range 20000 {
		_, err := s.Create(ctx, fmt.Sprintf("/k%d", i), nil)
		require.NoError(t, err)
	}
}

func Example() {
	ctx := context.Background()
	s, err := memstore.New(memstore.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	rev, _ := s.Create(ctx, "/registry/configmaps/default/app", []byte(`{"a":"1"}`))
	events, _ := s.Watch(ctx, "/registry/configmaps/", rev, store.WatchOptions{})

	// An update at the revision last read succeeds; a second one at the
	// same, now stale, revision fails.
	_, err = s.Update(ctx, "/registry/configmaps/default/app", []byte(`{"a":"2"}`), rev)
	fmt.Println(err)
	_, err = s.Update(ctx, "/registry/configmaps/default/app", []byte(`{"a":"3"}`), rev)
	fmt.Println(errors.Is(err, store.ErrConflict))

	ev := <-events
	fmt.Printf("%v %s at %d, was %s\n", ev.Type, ev.KV.Value, ev.Revision, ev.Prev.Value)
	// Output:
	// <nil>
	// true
	// MODIFIED {"a":"2"} at 2, was {"a":"1"}
}
