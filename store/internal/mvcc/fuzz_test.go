package mvcc

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/drover-io/drover/store"
)

// FuzzRestore feeds Restore arbitrary bytes, as they are and with a correct
// checksum appended in place of the last four bytes (so that the fuzzer
// reaches the checks behind the checksum). Restore must never panic; what it
// accepts must be a state the Engine can serve and snapshot again.
func FuzzRestore(f *testing.F) {
	seed := func(e *Engine) {
		data := snapshotBytes(f, e)
		f.Add(data)
		f.Add(data[:len(data)/2])
		for _, i := range []int{8, 10, 11, len(data) / 3, len(data) - 5} {
			if i >= 0 && i < len(data) {
				m := bytes.Clone(data)
				m[i] ^= 0x41
				f.Add(m)
			}
		}
	}
	empty := newEngine(f, Options{})
	seed(empty)
	small := newEngine(f, Options{})
	small.Create("/a", []byte("value"))
	small.Update("/a", nil, 0)
	small.Create("/b", []byte("b"))
	small.Delete("/b", 0)
	seed(small)
	seed(populated(f))
	f.Add([]byte{})
	f.Add([]byte(snapshotMagic))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, withChecksum(data)} {
			e, err := New(Options{WatchHistory: 4})
			if err != nil {
				t.Fatal(err)
			}
			err = e.Restore(bytes.NewReader(in))
			if err != nil {
				if !errors.Is(err, ErrCorruptSnapshot) {
					t.Fatalf("Restore error %v does not wrap ErrCorruptSnapshot", err)
				}
				e.Close()
				continue
			}
			exercise(t, e)
			// A snapshot of what was restored restores to the same thing.
			again := snapshotBytes(t, e)
			e2, _ := New(Options{})
			if err := e2.Restore(bytes.NewReader(again)); err != nil {
				t.Fatalf("restoring a snapshot of a restored engine: %v", err)
			}
			if !bytes.Equal(again, snapshotBytes(t, e2)) {
				t.Fatal("snapshot → restore → snapshot is not stable")
			}
			e.Close()
			e2.Close()
		}
	})
}

// exercise reads every revision of a restored Engine, watches its whole
// history, and writes to it.
func exercise(t *testing.T, e *Engine) {
	rev, err := e.Revision()
	if err != nil {
		t.Fatal(err)
	}
	c := e.CompactRevision()
	for r := max(c, 1); r <= rev && r < c+50; r++ {
		if _, err := e.List("", store.ListOptions{Revision: r}); err != nil {
			t.Fatalf("List at %d of [%d, %d]: %v", r, c, rev, err)
		}
	}
	c = max(c, 1) // watching from 0 means from the current revision
	ch, err := e.Watch(t.Context(), "", c, store.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := c
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for range min(max(rev-c, 0), 200) {
		var ev store.Event
		select {
		case ev = <-ch:
		case <-deadline.C:
			t.Fatalf("watch of restored history [%d, %d]: no event after revision %d", c, rev, last)
		}
		if ev.Type == store.EventError || ev.Revision != last+1 || ev.KV == nil {
			t.Fatalf("watch of restored history: got %+v after revision %d", ev, last)
		}
		if (ev.Type == store.EventModified || ev.Type == store.EventDeleted) && ev.Prev == nil {
			t.Fatalf("watch of restored history: %v at %d has no previous value", ev.Type, ev.Revision)
		}
		last = ev.Revision
	}
	e.Create("/fuzz/new", []byte("x"))
	e.Compact(rev)
}
