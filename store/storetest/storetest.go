// Package storetest is the conformance suite for store.Store: the tests
// every implementation, real or fake, must pass. Run it from the
// implementation's own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := memstore.New(memstore.Options{ProgressInterval: 10 * time.Millisecond})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The suite checks compare-and-swap, revision ordering, reads at past and
// future revisions, compaction, list paging and prefixes, limits, watches
// (replay then live, prefixes, previous values, no gaps under concurrent
// writers, slow consumers, progress notifications, cancellation) and
// behaviour after Close. It never sleeps: it waits for events with a
// deadline (Options.Timeout).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/drover-io/drover/store"
)

// Options tune the suite for an implementation.
type Options struct {
	// Scale multiplies the sizes of the load tests (writers, writes, keys),
	// so that a slow implementation can run a smaller suite. 0 means 1.
	// Under `go test -short` the sizes are further divided by 10.
	Scale float64
	// Timeout bounds every wait for an event or a condition. 0 means 20s.
	Timeout time.Duration
}

// Run runs the suite with the default Options. See RunWithOptions.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	RunWithOptions(t, newStore, Options{})
}

// RunWithOptions runs every conformance test as a subtest of t.
//
// newStore is called once per subtest and must return a new, empty store
// (at revision 0) whose progress interval is short (100ms or less), or the
// progress test waits up to Options.Timeout. The suite closes the store at
// the end of the subtest, after some subtests have already closed it: Close
// must be safe to call twice. Subtests do not run in parallel.
func RunWithOptions(t *testing.T, newStore func(t *testing.T) store.Store, opts Options) {
	t.Helper()
	if opts.Scale == 0 {
		opts.Scale = 1
	}
	if testing.Short() {
		opts.Scale /= 10
	}
	if opts.Timeout == 0 {
		opts.Timeout = 20 * time.Second
	}
	h := &harness{newStore: newStore, opts: opts}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, h) })
	}
}

// test is one conformance test.
type test struct {
	name string
	run  func(t *testing.T, h *harness)
}

// tests is the suite, in the order it runs.
var tests = []test{
	{"Empty", testEmpty},
	{"CreateGet", testCreateGet},
	{"CreateCopiesValue", testCreateCopiesValue},
	{"EmptyValue", testEmptyValue},
	{"CreateExisting", testCreateExisting},
	{"UpdateCAS", testUpdateCAS},
	{"UpdateMissing", testUpdateMissing},
	{"DeleteCAS", testDeleteCAS},
	{"DeleteMissing", testDeleteMissing},
	{"Recreate", testRecreate},
	{"Revisions", testRevisions},
	{"GetAtRevision", testGetAtRevision},
	{"ListAtRevision", testListAtRevision},
	{"FutureRevision", testFutureRevision},
	{"Compact", testCompact},
	{"ListPrefix", testListPrefix},
	{"ListPaging", testListPaging},
	{"ListPagingUnderWrites", testListPagingUnderWrites},
	{"ManyKeys", testManyKeys},
	{"InvalidKeys", testInvalidKeys},
	{"LargeValues", testLargeValues},
	{"ConcurrentWriters", testConcurrentWriters},
	{"ConcurrentCAS", testConcurrentCAS},
	{"WatchReplayThenLive", testWatchReplayThenLive},
	{"WatchFromCurrent", testWatchFromCurrent},
	{"WatchFromFuture", testWatchFromFuture},
	{"WatchPrefix", testWatchPrefix},
	{"WatchPrev", testWatchPrev},
	{"WatchContiguous", testWatchContiguous},
	{"WatchSlowConsumer", testWatchSlowConsumer},
	{"WatchCompactedStart", testWatchCompactedStart},
	{"WatchCompactedWhileBehind", testWatchCompactedWhileBehind},
	{"WatchProgress", testWatchProgress},
	{"WatchCancel", testWatchCancel},
	{"CanceledContext", testCanceledContext},
	{"Close", testClose},
}

// harness holds what the tests share.
type harness struct {
	newStore func(t *testing.T) store.Store
	opts     Options
}

// store returns a new store that is closed when t ends.
func (h *harness) store(t *testing.T) store.Store {
	t.Helper()
	s := h.newStore(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// n scales a load-test size, never below min.
func (h *harness) n(base, min int) int {
	return max(min, int(float64(base)*h.opts.Scale))
}

// ctx returns a context that ends when t does.
func ctx(t *testing.T) context.Context {
	return t.Context()
}

func mustCreate(t *testing.T, s store.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Create(ctx(t), key, []byte(value))
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	return rev
}

func mustUpdate(t *testing.T, s store.Store, key, value string, expected int64) int64 {
	t.Helper()
	rev, err := s.Update(ctx(t), key, []byte(value), expected)
	if err != nil {
		t.Fatalf("Update(%q, expected %d): %v", key, expected, err)
	}
	return rev
}

func mustDelete(t *testing.T, s store.Store, key string, expected int64) (*store.KeyValue, int64) {
	t.Helper()
	prev, rev, err := s.Delete(ctx(t), key, expected)
	if err != nil {
		t.Fatalf("Delete(%q, expected %d): %v", key, expected, err)
	}
	return prev, rev
}

func mustGet(t *testing.T, s store.Store, key string, rev int64) *store.KeyValue {
	t.Helper()
	kv, err := s.Get(ctx(t), key, store.ReadOptions{Revision: rev})
	if err != nil {
		t.Fatalf("Get(%q, revision %d): %v", key, rev, err)
	}
	if kv == nil {
		t.Fatalf("Get(%q, revision %d) returned nil and no error", key, rev)
	}
	return kv
}

func mustList(t *testing.T, s store.Store, prefix string, opts store.ListOptions) *store.ListResult {
	t.Helper()
	res, err := s.List(ctx(t), prefix, opts)
	if err != nil {
		t.Fatalf("List(%q, %+v): %v", prefix, opts, err)
	}
	return res
}

func mustRevision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(ctx(t))
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

func mustWatch(t *testing.T, s store.Store, c context.Context, prefix string, after int64, opts store.WatchOptions) <-chan store.Event {
	t.Helper()
	ch, err := s.Watch(c, prefix, after, opts)
	if err != nil {
		t.Fatalf("Watch(%q, after %d): %v", prefix, after, err)
	}
	return ch
}

// wantErr fails t unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

// wantKV fails t unless kv has the key, value and revisions given.
func wantKV(t *testing.T, what string, kv *store.KeyValue, key, value string, createRev, modRev int64) {
	t.Helper()
	if kv == nil {
		t.Fatalf("%s: got nil, want %q=%q", what, key, value)
	}
	if kv.Key != key || string(kv.Value) != value || kv.CreateRevision != createRev || kv.ModRevision != modRev {
		t.Fatalf("%s: got %s, want %q=%q created %d modified %d", what, fmtKV(kv), key, value, createRev, modRev)
	}
	if kv.Value == nil {
		t.Fatalf("%s: Value is nil, want a non-nil (possibly empty) slice", what)
	}
}

func fmtKV(kv *store.KeyValue) string {
	if kv == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q=%q created %d modified %d", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision)
}

func fmtEvent(ev store.Event) string {
	switch ev.Type {
	case store.EventProgress:
		return fmt.Sprintf("PROGRESS @%d", ev.Revision)
	case store.EventError:
		return fmt.Sprintf("ERROR @%d: %v", ev.Revision, ev.Err)
	}
	return fmt.Sprintf("%v @%d %s (prev %s)", ev.Type, ev.Revision, fmtKV(ev.KV), fmtKV(ev.Prev))
}

// next returns the next event that is not a progress notification, failing
// t if none comes within the timeout, if the channel closes, or if the
// event is an error.
func (h *harness) next(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	deadline := time.NewTimer(h.opts.Timeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("watch channel closed, want an event")
			}
			switch ev.Type {
			case store.EventProgress:
				continue
			case store.EventError:
				t.Fatalf("watch failed: %v", ev.Err)
			}
			return ev
		case <-deadline.C:
			t.Fatalf("no watch event within %v", h.opts.Timeout)
		}
	}
}

// recv returns the next event of any type, failing t if none comes within
// the timeout or if the channel closes.
func (h *harness) recv(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	deadline := time.NewTimer(h.opts.Timeout)
	defer deadline.Stop()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("watch channel closed, want an event")
		}
		return ev
	case <-deadline.C:
		t.Fatalf("no watch event within %v", h.opts.Timeout)
	}
	panic("unreachable")
}

// nextN returns the next n events that are not progress notifications.
func (h *harness) nextN(t *testing.T, ch <-chan store.Event, n int) []store.Event {
	t.Helper()
	evs := make([]store.Event, 0, n)
	for range n {
		evs = append(evs, h.next(t, ch))
	}
	return evs
}

// waitClosed drains ch until it is closed, failing t if that takes longer
// than the timeout. It returns what it drained.
func (h *harness) waitClosed(t *testing.T, ch <-chan store.Event) []store.Event {
	t.Helper()
	deadline := time.NewTimer(h.opts.Timeout)
	defer deadline.Stop()
	var evs []store.Event
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-deadline.C:
			t.Fatalf("watch channel not closed within %v", h.opts.Timeout)
		}
	}
}

// checkEvent fails t unless ev is a well-formed change event of the given
// type and key at rev.
func checkEvent(t *testing.T, ev store.Event, typ store.EventType, key string, rev int64) {
	t.Helper()
	if ev.Type != typ || ev.KV == nil || ev.KV.Key != key || ev.Revision != rev || ev.KV.ModRevision != rev {
		t.Fatalf("got event %s, want %v of %q at %d", fmtEvent(ev), typ, key, rev)
	}
}
