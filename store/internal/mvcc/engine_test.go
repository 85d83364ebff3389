package mvcc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/store"
)

func newEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

func TestOptionsValidate(t *testing.T) {
	_, err := New(Options{WatchHistory: -1})
	require.ErrorContains(t, err, "Options.WatchHistory is -1")
	_, err = New(Options{WatchBuffer: -5})
	require.ErrorContains(t, err, "Options.WatchBuffer is -5")
}

func TestApplyBatch(t *testing.T) {
	e := newEngine(t, Options{})
	res := e.Apply([]Command{
		{Op: OpCreate, Key: "/a", Value: []byte("a1")},                         // rev 1
		{Op: OpCreate, Key: "/a", Value: []byte("again")},                      // exists
		{Op: OpCreate, Key: "/b", Value: []byte("b1")},                         // rev 2
		{Op: OpUpdate, Key: "/a", Value: []byte("a2"), Rev: 2},                 // conflict: /a is at 1
		{Op: OpUpdate, Key: "/a", Value: []byte("a2"), Rev: 1},                 // rev 3
		{Op: OpDelete, Key: "/missing"},                                        // not found
		{Op: OpDelete, Key: "/b", Rev: 2},                                      // rev 4
		{Op: OpCreate, Key: "", Value: nil},                                    // invalid key
		{Op: OpCreate, Key: "/big", Value: make([]byte, store.MaxValueSize+1)}, // too large
		{Op: OpCompact, Rev: 3},                                                // no revision
		{Op: OpCompact, Rev: 99},                                               // future
		{Op: Op(42), Key: "/x"},                                                // unknown
		{Op: OpCreate, Key: "/b", Value: nil},                                  // rev 5
	})
	require.Len(t, res, 13)
	wantRevs := []int64{1, 0, 2, 0, 3, 0, 4, 0, 0, 0, 0, 0, 5}
	wantErrs := []error{nil, store.ErrAlreadyExists, nil, store.ErrConflict, nil, store.ErrNotFound, nil,
		store.ErrInvalidKey, store.ErrValueTooLarge, nil, store.ErrFutureRevision, nil, nil}
	for i, r := range res {
		require.Equal(t, wantRevs[i], r.Rev, "command %d", i)
		if wantErrs[i] != nil {
			require.ErrorIs(t, r.Err, wantErrs[i], "command %d", i)
		} else if i != 11 {
			require.NoError(t, r.Err, "command %d", i)
		}
	}
	require.ErrorContains(t, res[11].Err, "unknown operation")
	var ce *store.ConflictError
	require.ErrorAs(t, res[3].Err, &ce)
	require.Equal(t, int64(1), ce.Actual)
	require.Equal(t, "a2", string(res[4].KV.Value))
	require.Equal(t, "a1", string(res[4].Prev.Value))
	require.Equal(t, "b1", string(res[6].Prev.Value))

	rev, err := e.Revision()
	require.NoError(t, err)
	require.Equal(t, int64(5), rev)
	require.Equal(t, int64(3), e.CompactRevision())
	kv, err := e.Get("/b", 0)
	require.NoError(t, err)
	require.Equal(t, int64(5), kv.CreateRevision)
	require.NotNil(t, kv.Value)
}

// randomCommands returns a reproducible mix of writes over a few keys.
func randomCommands(seed uint64, n int) []Command {
	r := rand.New(rand.NewPCG(seed, seed))
	cmds := make([]Command, n)
	for i := range cmds {
		key := fmt.Sprintf("/k/%d", r.IntN(20))
		switch x := r.IntN(100); {
		case x < 35:
			cmds[i] = Command{Op: OpCreate, Key: key, Value: []byte(fmt.Sprint(i))}
		case x < 70:
			cmds[i] = Command{Op: OpUpdate, Key: key, Value: []byte(fmt.Sprint(i)), Rev: int64(r.IntN(3) * r.IntN(i+1))}
		case x < 95:
			cmds[i] = Command{Op: OpDelete, Key: key, Rev: int64(r.IntN(2) * r.IntN(i+1))}
		default:
			cmds[i] = Command{Op: OpCompact, Rev: int64(r.IntN(i + 1))}
		}
	}
	return cmds
}

func snapshotBytes(t testing.TB, e *Engine) []byte {
	t.Helper()
	s, err := e.Snapshot()
	require.NoError(t, err)
	var buf bytes.Buffer
	n, err := s.WriteTo(&buf)
	require.NoError(t, err)
	require.Equal(t, int64(buf.Len()), n)
	return buf.Bytes()
}

func TestDeterministic(t *testing.T) {
	cmds := randomCommands(1, 3000)
	a, b := newEngine(t, Options{}), newEngine(t, Options{WatchHistory: 7})
	// a applies one command at a time, b in batches of varying size: the
	// results and the states must be the same.
	var ra []Result
	for _, c := range cmds {
		ra = append(ra, a.Apply([]Command{c})...)
	}
	var rb []Result
	for i := 0; i < len(cmds); {
		n := min(len(cmds)-i, 1+i%17)
		rb = append(rb, b.Apply(cmds[i:i+n])...)
		i += n
	}
	require.Equal(t, len(ra), len(rb))
	writes := 0
	for i := range ra {
		require.Equal(t, ra[i].Rev, rb[i].Rev, "command %d", i)
		require.Equal(t, fmt.Sprint(ra[i].Err), fmt.Sprint(rb[i].Err), "command %d", i)
		require.Equal(t, ra[i].KV, rb[i].KV, "command %d", i)
		if ra[i].Rev != 0 {
			writes++
			require.Equal(t, int64(writes), ra[i].Rev, "revisions must be last+1")
		}
	}
	require.Greater(t, writes, 500)
	require.Equal(t, snapshotBytes(t, a), snapshotBytes(t, b))
}

func TestCompactDropsHistory(t *testing.T) {
	e := newEngine(t, Options{})
	for i := range 10 {
		_, _, err := e.Update("/k", []byte(fmt.Sprint(i)), 0)
		if i == 0 {
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = e.Create("/k", []byte("0"))
		}
		require.NoError(t, err)
	}
	_, err := e.Create("/gone", nil)
	require.NoError(t, err)
	_, _, err = e.Delete("/gone", 0)
	require.NoError(t, err)
	_, err = e.Create("/single", nil)
	require.NoError(t, err) // rev 12
	require.Len(t, e.multi, 2)
	require.Equal(t, 3, e.tree.Len())

	require.NoError(t, e.Compact(12))
	require.Empty(t, e.multi, "no key has history left")
	require.Equal(t, 2, e.tree.Len(), "the deleted key is gone")
	ki, _ := e.tree.Get(keyIndex{key: "/k"})
	require.Len(t, ki.versions, 1)
	kv, err := e.Get("/k", 12)
	require.NoError(t, err)
	require.Equal(t, "9", string(kv.Value))
	_, err = e.Get("/k", 11)
	require.ErrorIs(t, err, store.ErrCompacted)
	require.Equal(t, 2, e.Len())
}

func TestGetListErrors(t *testing.T) {
	e := newEngine(t, Options{})
	_, err := e.Get("/a", -1)
	require.ErrorContains(t, err, "negative")
	_, err = e.List("/", store.ListOptions{Limit: -1})
	require.ErrorContains(t, err, "negative")
	_, err = e.Watch(context.Background(), "/", -1, store.WatchOptions{})
	require.ErrorContains(t, err, "negative")
	_, err = e.Get("/a", 1)
	require.ErrorIs(t, err, store.ErrFutureRevision)
	require.ErrorContains(t, err, `store: get "/a": store: revision is in the future: revision 1, the current revision is 0`)
}

func TestClose(t *testing.T) {
	e := newEngine(t, Options{})
	ch, err := e.Watch(context.Background(), "/", 0, store.WatchOptions{})
	require.NoError(t, err)
	require.NoError(t, e.Close())
	require.NoError(t, e.Close())
	_, open := <-ch
	require.False(t, open, "Close closes the watch channel")
	require.Equal(t, 0, e.Watchers())
	_, err = e.Create("/a", nil)
	require.ErrorIs(t, err, store.ErrClosed)
	_, err = e.Snapshot()
	require.ErrorIs(t, err, store.ErrClosed)
	res := e.Apply([]Command{{Op: OpCreate, Key: "/a"}, {Op: OpCompact, Rev: 0}})
	require.ErrorIs(t, res[0].Err, store.ErrClosed)
	require.ErrorIs(t, res[1].Err, store.ErrClosed)
}

// recvN reads n events from ch, failing after a deadline.
func recvN(t *testing.T, ch <-chan store.Event, n int) []store.Event {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	evs := make([]store.Event, 0, n)
	for len(evs) < n {
		select {
		case ev, ok := <-ch:
			require.True(t, ok, "channel closed after %d events, want %d", len(evs), n)
			evs = append(evs, ev)
		case <-deadline.C:
			t.Fatalf("got %d events, want %d", len(evs), n)
		}
	}
	return evs
}

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestWatchCatchesUpFromHistory(t *testing.T) {
	// A ring of 4 events and a consumer that reads nothing until 5000 writes
	// are done: the watch rebuilds the events from the key history.
	e := newEngine(t, Options{WatchHistory: 4, WatchBuffer: 2})
	ctx := t.Context()
	ch, err := e.Watch(ctx, "/w/", 0, store.WatchOptions{})
	require.NoError(t, err)
	var want []store.Event
	for i := range 5000 {
		key := fmt.Sprintf("/w/%d", i%37)
		var r Result
		switch {
		case i%5 == 4:
			r = e.apply1(Command{Op: OpDelete, Key: key})
		default:
			r = e.apply1(Command{Op: OpUpdate, Key: key, Value: []byte(fmt.Sprint(i))})
			if errors.Is(r.Err, store.ErrNotFound) {
				r = e.apply1(Command{Op: OpCreate, Key: key, Value: []byte(fmt.Sprint(i))})
			}
		}
		if r.Rev == 0 {
			continue
		}
		e.mu.RLock()
		want = append(want, *e.ring.at(r.Rev))
		e.mu.RUnlock()
		_, err := e.Create(fmt.Sprintf("/x/%d", i), nil) // another prefix
		require.NoError(t, err)
	}
	got := recvN(t, ch, len(want))
	require.Equal(t, want, got)
}
