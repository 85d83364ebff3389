package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/drover-io/drover/store"
)

// change is a write the test made, to check events against.
type change struct {
	typ   store.EventType
	key   string
	value string
	rev   int64
}

// checkChanges fails t unless evs are exactly the changes want, in order.
func checkChanges(t *testing.T, evs []store.Event, want []change) {
	t.Helper()
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d", len(evs), len(want))
	}
	for i, w := range want {
		ev := evs[i]
		checkEvent(t, ev, w.typ, w.key, w.rev)
		if w.typ != store.EventDeleted && string(ev.KV.Value) != w.value {
			t.Fatalf("event %d: %s, want value %q", i, fmtEvent(ev), w.value)
		}
	}
}

// writer makes writes and remembers them as changes.
type writer struct {
	t       *testing.T
	s       store.Store
	changes []change
}

func (w *writer) create(key, value string) {
	w.t.Helper()
	rev := mustCreate(w.t, w.s, key, value)
	w.changes = append(w.changes, change{store.EventAdded, key, value, rev})
}

func (w *writer) update(key, value string) {
	w.t.Helper()
	rev := mustUpdate(w.t, w.s, key, value, 0)
	w.changes = append(w.changes, change{store.EventModified, key, value, rev})
}

func (w *writer) delete(key string) {
	w.t.Helper()
	_, rev := mustDelete(w.t, w.s, key, 0)
	w.changes = append(w.changes, change{store.EventDeleted, key, "", rev})
}

func testWatchReplayThenLive(t *testing.T, h *harness) {
	s := h.store(t)
	w := &writer{t: t, s: s}
	for i := range 4 {
		w.create(fmt.Sprintf("/w/%d", i), "a")
	}
	w.update("/w/1", "b")
	w.delete("/w/2")
	w.update("/w/0", "c")
	w.create("/w/2", "d")
	w.delete("/w/3")
	w.update("/w/2", "e")
	// Watch from revision 3: replay revisions 4 to 10, then live ones.
	ch := mustWatch(t, s, ctx(t), "/w/", 3, store.WatchOptions{})
	checkChanges(t, h.nextN(t, ch, 7), w.changes[3:])
	n := len(w.changes)
	w.create("/w/9", "live")
	w.update("/w/9", "live2")
	w.delete("/w/9")
	checkChanges(t, h.nextN(t, ch, 3), w.changes[n:])
}

func testWatchFromCurrent(t *testing.T, h *harness) {
	s := h.store(t)
	mustCreate(t, s, "/w/before", "x")
	ch := mustWatch(t, s, ctx(t), "/w/", 0, store.WatchOptions{})
	rev := mustCreate(t, s, "/w/after", "y")
	checkEvent(t, h.next(t, ch), store.EventAdded, "/w/after", rev)
}

func testWatchFromFuture(t *testing.T, h *harness) {
	s := h.store(t)
	r := mustCreate(t, s, "/w/a", "a")
	ch := mustWatch(t, s, ctx(t), "/w/", r+2, store.WatchOptions{})
	mustCreate(t, s, "/w/b", "b")
	mustCreate(t, s, "/w/c", "c")
	rev := mustCreate(t, s, "/w/d", "d")
	checkEvent(t, h.next(t, ch), store.EventAdded, "/w/d", rev)
}

func testWatchPrefix(t *testing.T, h *harness) {
	s := h.store(t)
	ch := mustWatch(t, s, ctx(t), "/a/", 0, store.WatchOptions{})
	all := mustWatch(t, s, ctx(t), "", 0, store.WatchOptions{})
	w := &writer{t: t, s: s}
	w.create("/a", "no")
	w.create("/ab", "no")
	w.create("/b/x", "no")
	w.create("/a/x", "yes")
	w.create("/ab/x", "no")
	w.update("/ab", "no")
	w.create("/a/", "yes")
	w.delete("/a")
	w.update("/a/x", "yes")
	w.delete("/a/")
	var want []change
	for _, c := range w.changes {
		if len(c.key) >= 3 && c.key[:3] == "/a/" {
			want = append(want, c)
		}
	}
	checkChanges(t, h.nextN(t, ch, len(want)), want)
	checkChanges(t, h.nextN(t, all, len(w.changes)), w.changes)
	// Nothing else is pending on the prefix watch: the next event is the
	// next matching write.
	rev := mustCreate(t, s, "/a/z", "last")
	checkEvent(t, h.next(t, ch), store.EventAdded, "/a/z", rev)
}

func testWatchPrev(t *testing.T, h *harness) {
	s := h.store(t)
	ch := mustWatch(t, s, ctx(t), "/w/", 0, store.WatchOptions{})
	r1 := mustCreate(t, s, "/w/k", "one")
	r2 := mustUpdate(t, s, "/w/k", "two", r1)
	_, r3 := mustDelete(t, s, "/w/k", r2)
	r4 := mustCreate(t, s, "/w/k", "three")

	ev := h.next(t, ch)
	checkEvent(t, ev, store.EventAdded, "/w/k", r1)
	wantKV(t, "ADDED KV", ev.KV, "/w/k", "one", r1, r1)
	if ev.Prev != nil {
		t.Fatalf("ADDED event has Prev %s, want nil", fmtKV(ev.Prev))
	}

	ev = h.next(t, ch)
	checkEvent(t, ev, store.EventModified, "/w/k", r2)
	wantKV(t, "MODIFIED KV", ev.KV, "/w/k", "two", r1, r2)
	wantKV(t, "MODIFIED Prev", ev.Prev, "/w/k", "one", r1, r1)

	ev = h.next(t, ch)
	checkEvent(t, ev, store.EventDeleted, "/w/k", r3)
	if ev.KV.Value != nil {
		t.Fatalf("DELETED KV has Value %q, want nil", ev.KV.Value)
	}
	wantKV(t, "DELETED Prev", ev.Prev, "/w/k", "two", r1, r2)

	ev = h.next(t, ch)
	checkEvent(t, ev, store.EventAdded, "/w/k", r4)
	wantKV(t, "re-ADDED KV", ev.KV, "/w/k", "three", r4, r4)
	if ev.Prev != nil {
		t.Fatalf("re-ADDED event has Prev %s, want nil", fmtKV(ev.Prev))
	}
}

// testWatchContiguous runs concurrent writers on one prefix and checks that
// a watch from before them, and one started while they run, each see every
// revision exactly once, in order, with the right values and previous
// values.
func testWatchContiguous(t *testing.T, h *harness) {
	s := h.store(t)
	writers, per := h.n(16, 2), h.n(200, 20)
	total := writers * per
	rev0 := mustRevision(t, s)
	ch := mustWatch(t, s, ctx(t), "/c/", rev0, store.WatchOptions{})

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		byRev   = make(map[int64]change, total)
		errs    = make(chan error, writers)
		midRev  = make(chan int64, 1)
		midOnce sync.Once
	)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			live := map[string]bool{}
			for i := range per {
				key := fmt.Sprintf("/c/%02d/%d", g, i%5)
				value := fmt.Sprintf("%d-%d", g, i)
				var c change
				var err error
				switch {
				case !live[key]:
					c = change{store.EventAdded, key, value, 0}
					c.rev, err = s.Create(ctx(t), key, []byte(value))
					live[key] = true
				case i%3 == 0:
					c = change{store.EventDeleted, key, "", 0}
					_, c.rev, err = s.Delete(ctx(t), key, 0)
					live[key] = false
				default:
					c = change{store.EventModified, key, value, 0}
					c.rev, err = s.Update(ctx(t), key, []byte(value), 0)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, write %d: %w", g, i, err)
					return
				}
				mu.Lock()
				byRev[c.rev] = c
				mu.Unlock()
				if i == per/2 {
					midOnce.Do(func() { midRev <- c.rev })
				}
			}
		}()
	}
	mid := <-midRev
	midCh := mustWatch(t, s, ctx(t), "/c/", mid, store.WatchOptions{})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(byRev) != total {
		t.Fatalf("writers got %d distinct revisions for %d writes", len(byRev), total)
	}

	check := func(name string, ch <-chan store.Event, from int64) {
		t.Helper()
		values := map[string]string{} // the value of each live key, replayed
		// Keys written before from: their values come from the writes.
		for rev := rev0 + 1; rev <= from; rev++ {
			c := byRev[rev]
			if c.typ == store.EventDeleted {
				delete(values, c.key)
			} else {
				values[c.key] = c.value
			}
		}
		for rev := from + 1; rev <= rev0+int64(total); rev++ {
			ev := h.next(t, ch)
			want, ok := byRev[rev]
			if !ok {
				t.Fatalf("%s: no write got revision %d", name, rev)
			}
			if ev.Revision != rev {
				t.Fatalf("%s: got %s, want revision %d (revisions must be contiguous)", name, fmtEvent(ev), rev)
			}
			checkEvent(t, ev, want.typ, want.key, rev)
			prev, existed := values[want.key]
			switch want.typ {
			case store.EventAdded:
				if string(ev.KV.Value) != want.value || ev.Prev != nil || existed {
					t.Fatalf("%s: got %s, want ADDED %q", name, fmtEvent(ev), want.value)
				}
				values[want.key] = want.value
			case store.EventModified:
				if string(ev.KV.Value) != want.value || ev.Prev == nil || string(ev.Prev.Value) != prev {
					t.Fatalf("%s: got %s, want MODIFIED %q from %q", name, fmtEvent(ev), want.value, prev)
				}
				values[want.key] = want.value
			case store.EventDeleted:
				if ev.Prev == nil || string(ev.Prev.Value) != prev {
					t.Fatalf("%s: got %s, want DELETED with previous value %q", name, fmtEvent(ev), prev)
				}
				delete(values, want.key)
			}
		}
	}
	check("watch from before the writers", ch, rev0)
	check("watch started while writing", midCh, mid)
}

func testWatchSlowConsumer(t *testing.T, h *harness) {
	s := h.store(t)
	n := h.n(5000, 500)
	rev0 := mustRevision(t, s)
	ch := mustWatch(t, s, ctx(t), "/s/", rev0, store.WatchOptions{})
	for i := range n {
		mustCreate(t, s, fmt.Sprintf("/s/%05d", i), "v")
		mustCreate(t, s, fmt.Sprintf("/t/%05d", i), "other prefix")
	}
	// Nothing read so far; every event must still come, in order: a slow
	// consumer is never dropped while compaction leaves its history alone.
	for i := range n {
		ev := h.next(t, ch)
		checkEvent(t, ev, store.EventAdded, fmt.Sprintf("/s/%05d", i), rev0+1+2*int64(i))
	}
}

func testWatchCompactedStart(t *testing.T, h *harness) {
	s := h.store(t)
	r1 := mustCreate(t, s, "/w/a", "a")
	r2 := mustCreate(t, s, "/w/b", "b")
	r3 := mustCreate(t, s, "/w/c", "c")
	if err := s.Compact(ctx(t), r2); err != nil {
		t.Fatal(err)
	}
	_, err := s.Watch(ctx(t), "/w/", r1, store.WatchOptions{})
	wantErr(t, "Watch from a compacted revision", err, store.ErrCompacted)
	ch := mustWatch(t, s, ctx(t), "/w/", r2, store.WatchOptions{})
	checkEvent(t, h.next(t, ch), store.EventAdded, "/w/c", r3)
}

func testWatchCompactedWhileBehind(t *testing.T, h *harness) {
	s := h.store(t)
	n := h.n(2000, 1000)
	rev0 := mustRevision(t, s)
	ch := mustWatch(t, s, ctx(t), "/b/", rev0, store.WatchOptions{})
	// Updates of a few keys, so that compaction really drops history.
	key := func(i int) string { return fmt.Sprintf("/b/%d", i%10) }
	for i := range n {
		if i < 10 {
			mustCreate(t, s, key(i), fmt.Sprint(i))
		} else {
			mustUpdate(t, s, key(i), fmt.Sprint(i), 0)
		}
	}
	if err := s.Compact(ctx(t), rev0+int64(n)); err != nil {
		t.Fatal(err)
	}
	// The watch delivers a gapless run of events, then either fails with
	// ErrCompacted or (if it had buffered everything) delivers them all.
	for i := range n {
		ev := h.recv(t, ch)
		if ev.Type == store.EventProgress {
			continue
		}
		if ev.Type == store.EventError {
			wantErr(t, fmt.Sprintf("watch error after %d of %d events", i, n), ev.Err, store.ErrCompacted)
			if rest := h.waitClosed(t, ch); len(rest) != 0 {
				t.Fatalf("watch sent %s after its error event", fmtEvent(rest[0]))
			}
			return
		}
		typ := store.EventModified
		if i < 10 {
			typ = store.EventAdded
		}
		checkEvent(t, ev, typ, key(i), rev0+1+int64(i))
		if string(ev.KV.Value) != fmt.Sprint(i) {
			t.Fatalf("got %s, want value %d", fmtEvent(ev), i)
		}
	}
}

func testWatchProgress(t *testing.T, h *harness) {
	s := h.store(t)
	r1 := mustCreate(t, s, "/other/a", "x")
	ch := mustWatch(t, s, ctx(t), "/p/", 0, store.WatchOptions{ProgressNotify: true})
	plain := mustWatch(t, s, ctx(t), "/p/", 0, store.WatchOptions{})

	lastEvent := int64(0)
	// waitProgress reads until a progress event reports rev.
	waitProgress := func(rev int64) {
		t.Helper()
		for {
			ev := h.recv(t, ch)
			switch ev.Type {
			case store.EventProgress:
				if ev.Revision < lastEvent {
					t.Fatalf("progress at %d after an event at %d", ev.Revision, lastEvent)
				}
				if ev.Revision == rev {
					return
				}
				if ev.Revision > rev {
					t.Fatalf("progress at %d, want %d (the current revision)", ev.Revision, rev)
				}
			case store.EventError:
				t.Fatalf("watch failed: %v", ev.Err)
			default:
				t.Fatalf("unexpected event %s while waiting for progress", fmtEvent(ev))
			}
		}
	}
	waitProgress(r1)
	r2 := mustCreate(t, s, "/other/b", "x")
	waitProgress(r2)
	r3 := mustCreate(t, s, "/p/x", "x")
	checkEvent(t, h.next(t, ch), store.EventAdded, "/p/x", r3)
	lastEvent = r3
	waitProgress(r3)

	// A watch that did not ask for progress gets none.
	r4 := mustCreate(t, s, "/p/y", "y")
	for _, want := range []int64{r3, r4} {
		if ev := h.recv(t, plain); ev.Type != store.EventAdded || ev.Revision != want {
			t.Fatalf("watch without ProgressNotify got %s, want ADDED at %d", fmtEvent(ev), want)
		}
	}
}

func testWatchCancel(t *testing.T, h *harness) {
	s := h.store(t)
	c, cancel := context.WithCancel(ctx(t))
	ch := mustWatch(t, s, c, "/x/", 0, store.WatchOptions{ProgressNotify: true})
	rev := mustCreate(t, s, "/x/a", "a")
	checkEvent(t, h.next(t, ch), store.EventAdded, "/x/a", rev)
	cancel()
	h.waitClosed(t, ch)

	// A watch nobody reads closes too when its context ends.
	c, cancel = context.WithCancel(ctx(t))
	ch = mustWatch(t, s, c, "/x/", 0, store.WatchOptions{})
	for i := range 300 {
		mustCreate(t, s, fmt.Sprintf("/x/%d", i), "v")
	}
	cancel()
	h.waitClosed(t, ch)
}

func testCanceledContext(t *testing.T, h *harness) {
	s := h.store(t)
	r := mustCreate(t, s, "/a", "a")
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	_, err := s.Create(c, "/b", nil)
	wantErr(t, "Create with a canceled context", err, context.Canceled)
	_, err = s.Update(c, "/a", nil, 0)
	wantErr(t, "Update with a canceled context", err, context.Canceled)
	_, _, err = s.Delete(c, "/a", 0)
	wantErr(t, "Delete with a canceled context", err, context.Canceled)
	_, err = s.Get(c, "/a", store.ReadOptions{})
	wantErr(t, "Get with a canceled context", err, context.Canceled)
	_, err = s.List(c, "/", store.ListOptions{})
	wantErr(t, "List with a canceled context", err, context.Canceled)
	err = s.Compact(c, r)
	wantErr(t, "Compact with a canceled context", err, context.Canceled)
	_, err = s.Revision(c)
	wantErr(t, "Revision with a canceled context", err, context.Canceled)
	if ch, err := s.Watch(c, "/", 0, store.WatchOptions{}); err == nil {
		h.waitClosed(t, ch) // either an error or a channel that closes
	} else {
		wantErr(t, "Watch with a canceled context", err, context.Canceled)
	}
	if rev := mustRevision(t, s); rev != r {
		t.Fatalf("Revision = %d after writes with a canceled context, want %d", rev, r)
	}
	wantKV(t, "Get after writes with a canceled context", mustGet(t, s, "/a", 0), "/a", "a", r, r)
}

func testClose(t *testing.T, h *harness) {
	s := h.store(t)
	r := mustCreate(t, s, "/a", "a")
	ch := mustWatch(t, s, ctx(t), "/", 0, store.WatchOptions{})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, ev := range h.waitClosed(t, ch) {
		if ev.Type == store.EventError && !errors.Is(ev.Err, store.ErrClosed) {
			t.Fatalf("watch ended by Close with %v, want no error or one wrapping store.ErrClosed", ev.Err)
		}
	}
	c := ctx(t)
	_, err := s.Get(c, "/a", store.ReadOptions{})
	wantErr(t, "Get after Close", err, store.ErrClosed)
	_, err = s.List(c, "/", store.ListOptions{})
	wantErr(t, "List after Close", err, store.ErrClosed)
	_, err = s.Create(c, "/b", nil)
	wantErr(t, "Create after Close", err, store.ErrClosed)
	_, err = s.Update(c, "/a", nil, r)
	wantErr(t, "Update after Close", err, store.ErrClosed)
	_, _, err = s.Delete(c, "/a", r)
	wantErr(t, "Delete after Close", err, store.ErrClosed)
	_, err = s.Watch(c, "/", 0, store.WatchOptions{})
	wantErr(t, "Watch after Close", err, store.ErrClosed)
	err = s.Compact(c, r)
	wantErr(t, "Compact after Close", err, store.ErrClosed)
	_, err = s.Revision(c)
	wantErr(t, "Revision after Close", err, store.ErrClosed)
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
