package mvcc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/store"
)

// populated returns an Engine with history, deletions, re-creations, an
// empty value and a compaction.
func populated(t testing.TB) *Engine {
	t.Helper()
	e := newEngine(t, Options{})
	for _, r := range e.Apply(randomCommands(7, 400)) {
		if r.Err != nil && !errors.Is(r.Err, store.ErrNotFound) && !errors.Is(r.Err, store.ErrAlreadyExists) &&
			!errors.Is(r.Err, store.ErrConflict) && !errors.Is(r.Err, store.ErrFutureRevision) {
			require.NoError(t, r.Err)
		}
	}
	_, err := e.Create("/empty", nil)
	require.NoError(t, err)
	_, err = e.Create("/unicode/ключ", []byte("значение"))
	require.NoError(t, err)
	return e
}

// requireSameState checks that a and b answer every read at every readable
// revision, and every watch, the same way.
func requireSameState(t *testing.T, a, b *Engine) {
	t.Helper()
	ra, err := a.Revision()
	require.NoError(t, err)
	rb, err := b.Revision()
	require.NoError(t, err)
	require.Equal(t, ra, rb, "revision")
	require.Equal(t, a.CompactRevision(), b.CompactRevision(), "compacted revision")
	for rev := a.CompactRevision(); rev <= ra; rev++ {
		if rev == 0 {
			continue
		}
		la, err := a.List("", store.ListOptions{Revision: rev})
		require.NoError(t, err)
		lb, err := b.List("", store.ListOptions{Revision: rev})
		require.NoError(t, err)
		require.Equal(t, la, lb, "list at %d", rev)
	}
	from := max(a.CompactRevision(), 1) // watching from 0 means from the current revision
	wa, err := a.Watch(t.Context(), "", from, store.WatchOptions{})
	require.NoError(t, err)
	wb, err := b.Watch(t.Context(), "", from, store.WatchOptions{})
	require.NoError(t, err)
	n := int(max(ra-from, 0))
	require.Equal(t, recvN(t, wa, n), recvN(t, wb, n), "watch from the compacted revision")
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    func(t *testing.T) *Engine
	}{
		{"empty", func(t *testing.T) *Engine { return newEngine(t, Options{}) }},
		{"populated", func(t *testing.T) *Engine { return populated(t) }},
		{"compacted at the current revision", func(t *testing.T) *Engine {
			e := populated(t)
			rev, _ := e.Revision()
			require.NoError(t, e.Compact(rev))
			return e
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.e(t)
			data := snapshotBytes(t, a)
			b := newEngine(t, Options{})
			require.NoError(t, b.Restore(bytes.NewReader(data)))
			requireSameState(t, a, b)
			require.Equal(t, data, snapshotBytes(t, b), "a restored engine writes the same snapshot")

			// Both go on the same way.
			cmds := randomCommands(99, 300)
			require.Equal(t, describe(a.Apply(cmds)), describe(b.Apply(cmds)))
			require.Equal(t, snapshotBytes(t, a), snapshotBytes(t, b))
		})
	}
}

func TestSnapshotIsPointInTime(t *testing.T) {
	a := populated(t)
	snap, err := a.Snapshot()
	require.NoError(t, err)
	want := snapshotBytes(t, a)
	rev, _ := a.Revision()
	require.Equal(t, rev, snap.Revision())

	// Writes, deletions and a compaction after the snapshot do not show in it.
	res := a.Apply(randomCommands(3, 500))
	require.NotEmpty(t, res)
	_, err = a.Create("/after", []byte("x"))
	require.NoError(t, err)
	now, _ := a.Revision()
	require.NoError(t, a.Compact(now))

	var buf bytes.Buffer
	_, err = snap.WriteTo(&buf)
	require.NoError(t, err)
	require.Equal(t, want, buf.Bytes())
}

// describe renders results by value, for comparison.
func describe(rs []Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%d %+v %+v %v", r.Rev, deref(r.KV), deref(r.Prev), r.Err)
	}
	return out
}

func deref(kv *store.KeyValue) store.KeyValue {
	if kv == nil {
		return store.KeyValue{}
	}
	return *kv
}

// badWriter fails after n bytes.
type badWriter struct{ n int }

func (w *badWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestSnapshotWriteError(t *testing.T) {
	snap, err := populated(t).Snapshot()
	require.NoError(t, err)
	_, err = snap.WriteTo(&badWriter{n: 100})
	require.ErrorContains(t, err, "disk full")
}

// withChecksum replaces the trailing checksum of data with the right one,
// so that a test (or the fuzzer) can reach the checks behind it.
func withChecksum(data []byte) []byte {
	if len(data) < 4 {
		return data
	}
	out := bytes.Clone(data)
	binary.BigEndian.PutUint32(out[len(out)-4:], crc32.Checksum(out[:len(out)-4], castagnoli))
	return out
}

func TestRestoreRejectsCorruptSnapshots(t *testing.T) {
	src := newEngine(t, Options{})
	_, err := src.Create("/a", []byte("value-a"))
	require.NoError(t, err)
	_, _, err = src.Update("/a", []byte("value-b"), 0)
	require.NoError(t, err)
	_, err = src.Create("/b", nil)
	require.NoError(t, err)
	good := snapshotBytes(t, src)
	valueAt := bytes.Index(good, []byte("value-b"))
	require.Positive(t, valueAt)

	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated at byte 0 while reading the header"},
		{"not a snapshot", []byte(`{"kind":"Pod"}`), "not a Drover store snapshot"},
		{"future version", mutate(func(b []byte) []byte { b[9] = 2; return b }), "unsupported format version 2"},
		{"flipped value byte", mutate(func(b []byte) []byte { b[valueAt] ^= 1; return b }), "checksum mismatch"},
		{"flipped checksum", mutate(func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b }), "checksum mismatch"},
		{"truncated in a value", good[:valueAt+3], `key "/a", version 1: truncated at byte`},
		{"truncated checksum", good[:len(good)-2], "while reading the checksum"},
		{"trailing data", append(bytes.Clone(good), 0), "unexpected data after the checksum"},
		{"keys out of order", withChecksum(mutate(func(b []byte) []byte {
			i := bytes.Index(b, []byte("/b"))
			b[i+1] = '0' // "/0" < "/a"
			return b
		})), `key "/0" is out of order (after "/a")`},
		{"bad kind", withChecksum(mutate(func(b []byte) []byte {
			b[bytes.Index(b, []byte("/a"))+3] = 7
			return b
		})), `key "/a", version 0: unknown kind 7`},
		{"revision past the end", withChecksum(mutate(func(b []byte) []byte { b[10] = 2; return b })),
			"more than 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := populated(t)
			before := snapshotBytes(t, e)
			err := e.Restore(bytes.NewReader(c.data))
			require.ErrorIs(t, err, ErrCorruptSnapshot)
			require.ErrorContains(t, err, c.want)
			require.Equal(t, before, snapshotBytes(t, e), "a failed Restore changes nothing")
		})
	}

	e := newEngine(t, Options{})
	require.NoError(t, e.Restore(bytes.NewReader(good)), "the unmutated snapshot restores")
	require.NoError(t, e.Restore(bytes.NewReader(withChecksum(good))))
}

func TestRestoreReadError(t *testing.T) {
	e := newEngine(t, Options{})
	err := e.Restore(io.MultiReader(bytes.NewReader([]byte(snapshotMagic)), iotestErrReader{}))
	require.ErrorContains(t, err, "cable cut")
	require.False(t, errors.Is(err, ErrCorruptSnapshot), "a read error is not corruption")
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("cable cut") }

func TestRestoreAndWatchers(t *testing.T) {
	src := newEngine(t, Options{})
	for i := range 10 {
		_, err := src.Create(fmt.Sprintf("/k/%d", i), []byte("v"))
		require.NoError(t, err)
	}
	require.NoError(t, src.Compact(4))
	snap := snapshotBytes(t, src) // revision 10, history from 4

	// e is at revision 6, within the snapshot's history: its watch goes on
	// seamlessly. old is at revision 2, older than the snapshot's compacted
	// revision: its watches end, as does one waiting for revision 12, which
	// the restored state has not reached.
	e, old := newEngine(t, Options{}), newEngine(t, Options{})
	for i := range 6 {
		_, err := e.Create(fmt.Sprintf("/k/%d", i), []byte("v"))
		require.NoError(t, err)
		if i < 2 {
			_, err := old.Create(fmt.Sprintf("/k/%d", i), []byte("v"))
			require.NoError(t, err)
		}
	}
	ctx := t.Context()
	keep, err := e.Watch(ctx, "/k/", 0, store.WatchOptions{})
	require.NoError(t, err)
	behind, err := old.Watch(ctx, "/k/", 0, store.WatchOptions{})
	require.NoError(t, err)
	future, err := old.Watch(ctx, "/k/", 12, store.WatchOptions{})
	require.NoError(t, err)

	require.NoError(t, old.Restore(bytes.NewReader(snap)))
	require.NoError(t, e.Restore(bytes.NewReader(snap)))
	evs := recvN(t, keep, 4)
	for i, ev := range evs {
		require.Equal(t, int64(7+i), ev.Revision)
		require.Equal(t, fmt.Sprintf("/k/%d", 6+i), ev.KV.Key)
	}
	for _, ch := range []<-chan store.Event{behind, future} {
		ev := recvN(t, ch, 1)[0]
		require.Equal(t, store.EventError, ev.Type)
		require.ErrorIs(t, ev.Err, store.ErrCompacted)
		require.ErrorContains(t, ev.Err, "restored from a snapshot")
		_, open := <-ch
		require.False(t, open)
	}
	_, err = e.Create("/k/next", nil)
	require.NoError(t, err)
	require.Equal(t, int64(11), recvN(t, keep, 1)[0].Revision)
}

// TestSnapshotWhileWriting writes a snapshot from another goroutine while
// writes and compactions go on, as a Raft FSMSnapshot.Persist does; the race
// detector checks the sharing, and the result must restore to the state at
// the snapshot's revision.
func TestSnapshotWhileWriting(t *testing.T) {
	a := populated(t)
	snap, err := a.Snapshot()
	require.NoError(t, err)
	want := make(map[string]string)
	res, err := a.List("", store.ListOptions{})
	require.NoError(t, err)
	for _, kv := range res.KVs {
		want[kv.Key] = string(kv.Value)
	}

	done := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		if _, err := snap.WriteTo(&buf); err != nil {
			t.Error(err)
		}
		done <- buf.Bytes()
	}()
	for i := range 50 {
		a.Apply(randomCommands(uint64(i), 40))
		rev, _ := a.Revision()
		require.NoError(t, a.Compact(rev-5))
	}
	data := <-done

	b := newEngine(t, Options{})
	require.NoError(t, b.Restore(bytes.NewReader(data)))
	rev, _ := b.Revision()
	require.Equal(t, snap.Revision(), rev)
	res, err = b.List("", store.ListOptions{})
	require.NoError(t, err)
	got := make(map[string]string)
	for _, kv := range res.KVs {
		got[kv.Key] = string(kv.Value)
	}
	require.Equal(t, want, got)
}
