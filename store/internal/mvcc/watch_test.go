package mvcc

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/store"
)

func TestRing(t *testing.T) {
	r := ring{buf: make([]store.Event, 3)}
	for rev := int64(1); rev <= 5; rev++ {
		r.push(store.Event{Revision: rev})
	}
	require.Equal(t, int64(2), r.base)
	require.Equal(t, 3, r.n)
	for rev := int64(3); rev <= 5; rev++ {
		require.Equal(t, rev, r.at(rev).Revision)
	}
	r.trim(4)
	require.Equal(t, int64(4), r.base)
	require.Equal(t, 1, r.n)
	require.Equal(t, int64(5), r.at(5).Revision)
	r.trim(9)
	require.Equal(t, int64(9), r.base)
	require.Equal(t, 0, r.n)
	r.reset(20)
	r.push(store.Event{Revision: 21})
	require.Equal(t, int64(21), r.at(21).Revision)
}

// waitingForProgress reports whether some watcher holds the current
// progress channel, that is, will see the next ProgressNotify.
func (e *Engine) waitingForProgress() bool { return e.progressTaken.Load() }

func TestProgressNotify(t *testing.T) {
	e := newEngine(t, Options{})
	_, err := e.Create("/other", nil)
	require.NoError(t, err)
	ch, err := e.Watch(t.Context(), "/w/", 0, store.WatchOptions{ProgressNotify: true})
	require.NoError(t, err)
	tick := func() {
		t.Helper()
		waitFor(t, "the watcher to wait for progress", e.waitingForProgress)
		e.ProgressNotify()
	}

	// Idle and caught up: a tick gives a progress event at the current
	// revision.
	tick()
	ev := recvN(t, ch, 1)[0]
	require.Equal(t, store.Event{Type: store.EventProgress, Revision: 1}, ev)

	// A tick right after an event gives nothing (the watch was not idle);
	// the next tick does.
	kv, err := e.Create("/w/a", nil)
	require.NoError(t, err)
	require.Equal(t, store.EventAdded, recvN(t, ch, 1)[0].Type)
	tick()
	_, err = e.Create("/other2", nil) // not under the prefix: the watch stays idle
	require.NoError(t, err)
	tick()
	ev = recvN(t, ch, 1)[0]
	require.Equal(t, store.Event{Type: store.EventProgress, Revision: kv.ModRevision + 1}, ev)
	// Exactly one progress event came of the two ticks: the next event is
	// the next write.
	kv2, err := e.Create("/w/b", nil)
	require.NoError(t, err)
	ev = recvN(t, ch, 1)[0]
	require.Equal(t, store.EventAdded, ev.Type)
	require.Equal(t, kv2.ModRevision, ev.Revision)
}

func TestWatchWithoutProgressTakesNoTicks(t *testing.T) {
	e := newEngine(t, Options{})
	ch, err := e.Watch(t.Context(), "/", 0, store.WatchOptions{})
	require.NoError(t, err)
	_, err = e.Create("/a", nil)
	require.NoError(t, err)
	recvN(t, ch, 1)
	e.ProgressNotify()
	require.False(t, e.waitingForProgress())
}

func TestWatchCompactionOvertakes(t *testing.T) {
	e := newEngine(t, Options{WatchHistory: 16, WatchBuffer: 1})
	ch, err := e.Watch(t.Context(), "/", 0, store.WatchOptions{})
	require.NoError(t, err)
	for i := range 1000 {
		_, err := e.Create(fmt.Sprintf("/%d", i), nil)
		require.NoError(t, err)
	}
	require.NoError(t, e.Compact(1000))
	var last int64
	for ev := range ch {
		if ev.Type == store.EventError {
			require.ErrorIs(t, ev.Err, store.ErrCompacted)
			require.ErrorContains(t, ev.Err, "fell behind")
			require.Equal(t, last, ev.Revision, "the error says how far the watch got")
			continue
		}
		require.Equal(t, last+1, ev.Revision)
		last = ev.Revision
	}
	require.Less(t, last, int64(1000))
	waitFor(t, "the watcher to end", func() bool { return e.Watchers() == 0 })
}

func TestWatchHistoryFallbackPrev(t *testing.T) {
	// Events rebuilt from the key history after compaction carry the same
	// previous values as live ones.
	e := newEngine(t, Options{WatchHistory: 1})
	_, err := e.Create("/k", []byte("1"))
	require.NoError(t, err)
	_, _, err = e.Update("/k", []byte("2"), 0)
	require.NoError(t, err)
	require.NoError(t, e.Compact(2))
	_, _, err = e.Update("/k", []byte("3"), 0)
	require.NoError(t, err)
	_, _, err = e.Delete("/k", 0)
	require.NoError(t, err)
	_, err = e.Create("/k", []byte("4"))
	require.NoError(t, err)
	ch, err := e.Watch(t.Context(), "/", 2, store.WatchOptions{})
	require.NoError(t, err)
	evs := recvN(t, ch, 3)
	require.Equal(t, store.EventModified, evs[0].Type)
	require.Equal(t, "2", string(evs[0].Prev.Value))
	require.Equal(t, store.EventDeleted, evs[1].Type)
	require.Equal(t, "3", string(evs[1].Prev.Value))
	require.Nil(t, evs[1].KV.Value)
	require.Equal(t, store.EventAdded, evs[2].Type)
	require.Nil(t, evs[2].Prev)
}

// TestWatchFromEveryRevision starts a watch from every readable revision of
// an Engine whose ring holds only the last few events, so that each
// boundary between the key history and the ring is crossed.
func TestWatchFromEveryRevision(t *testing.T) {
	e := newEngine(t, Options{WatchHistory: 4})
	var want []store.Event
	for i := range 30 {
		key := fmt.Sprintf("/k/%d", i%4)
		r := e.apply1(Command{Op: OpUpdate, Key: key, Value: []byte(fmt.Sprint(i))})
		if errors.Is(r.Err, store.ErrNotFound) {
			r = e.apply1(Command{Op: OpCreate, Key: key, Value: []byte(fmt.Sprint(i))})
		}
		require.NoError(t, r.Err)
		if i%7 == 6 {
			require.NoError(t, e.apply1(Command{Op: OpDelete, Key: key}).Err)
		}
	}
	require.NoError(t, e.Compact(5))
	rev, _ := e.Revision()
	all, err := e.Watch(t.Context(), "/", 5, store.WatchOptions{})
	require.NoError(t, err)
	want = recvN(t, all, int(rev-5))
	for i, ev := range want {
		require.Equal(t, int64(6+i), ev.Revision)
	}
	for after := int64(5); after < rev; after++ {
		ch, err := e.Watch(t.Context(), "/k/", after, store.WatchOptions{})
		require.NoError(t, err)
		require.Equal(t, want[after-5:], recvN(t, ch, int(rev-after)), "watch from %d", after)
	}
}
