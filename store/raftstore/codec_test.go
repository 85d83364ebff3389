package raftstore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/internal/mvcc"
)

func TestEntryRoundTrip(t *testing.T) {
	cmds := []mvcc.Command{
		{Op: mvcc.OpCreate, Key: "/a", Value: []byte("one")},
		{Op: mvcc.OpUpdate, Key: "/ключ", Value: []byte{}, Rev: 7},
		{Op: mvcc.OpDelete, Key: "/a", Rev: -1},
		{Op: mvcc.OpCompact, Rev: 1 << 40},
	}
	kind, id, got, err := decodeEntry(encodeBatch(42, cmds, 0))
	if err != nil || kind != entryBatch || id != 42 {
		t.Fatalf("decode: kind %d id %d err %v", kind, id, err)
	}
	for i := range cmds {
		if len(cmds[i].Value) == 0 {
			cmds[i].Value = got[i].Value[:0:0] // nil and empty both decode as empty
		}
	}
	if !reflect.DeepEqual(got, cmds) {
		t.Fatalf("round trip: got %+v, want %+v", got, cmds)
	}
	if kind, _, _, err := decodeEntry([]byte{entryMarker}); err != nil || kind != entryMarker {
		t.Fatalf("marker: %d %v", kind, err)
	}
	for _, bad := range [][]byte{nil, {9}, {entryBatch, 1, 2}, append(encodeBatch(1, cmds, 0), 0)} {
		if _, _, _, err := decodeEntry(bad); !errors.Is(err, errCorruptEntry) {
			t.Errorf("decodeEntry(%x): %v, want errCorruptEntry", bad, err)
		}
	}
}

// FuzzDecodeEntry: decoding arbitrary log data never panics, and what
// decodes re-encodes to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeBatch(1, []mvcc.Command{{Op: mvcc.OpCreate, Key: "/a", Value: []byte("v")}}, 0))
	f.Add([]byte{entryMarker})
	f.Add([]byte{entryBatch, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, id, cmds, err := decodeEntry(data)
		if err != nil || kind != entryBatch {
			return
		}
		again := encodeBatch(id, cmds, 0)
		_, id2, cmds2, err := decodeEntry(again)
		if err != nil || id2 != id || len(cmds2) != len(cmds) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func TestErrorsCrossTheWire(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("store: create %q: %w", "/a", store.ErrAlreadyExists),
		fmt.Errorf("store: update %q: %w", "/a", store.ErrNotFound),
		fmt.Errorf("store: get: %w", store.ErrInvalidKey),
		fmt.Errorf("store: create %q: %w", "/a", store.ErrValueTooLarge),
		fmt.Errorf("store: compact at 9: %w", store.ErrFutureRevision),
		fmt.Errorf("x: %w", store.ErrCompacted),
		fmt.Errorf("x: %w", context.DeadlineExceeded),
		fmt.Errorf("x: %w", context.Canceled),
		fmt.Errorf("x: %w", errNotLeader),
		fmt.Errorf("x: %w", ErrClusterMismatch),
	} {
		got := decodeError(encodeError(err))
		if got.Error() != err.Error() {
			t.Errorf("message %q became %q", err, got)
		}
		for _, target := range []error{store.ErrAlreadyExists, store.ErrNotFound, store.ErrInvalidKey,
			store.ErrValueTooLarge, store.ErrFutureRevision, store.ErrCompacted, context.DeadlineExceeded,
			context.Canceled, errNotLeader, store.ErrUnavailable, ErrClusterMismatch} {
			if errors.Is(err, target) != errors.Is(got, target) {
				t.Errorf("%q: errors.Is(%v) = %v before, %v after", err, target, errors.Is(err, target), errors.Is(got, target))
			}
		}
	}
	ce := &store.ConflictError{Op: "update", Key: "/k", Expected: 3, Actual: 5}
	var got *store.ConflictError
	if err := decodeError(encodeError(fmt.Errorf("wrapped: %w", ce))); !errors.As(err, &got) || *got != *ce {
		t.Fatalf("conflict: %v", err)
	}
	// A member that is closing is unavailable to the caller, not closed.
	if err := decodeError(encodeError(store.ErrClosed)); !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrClosed) {
		t.Fatalf("remote ErrClosed became %v", err)
	}
}

// TestVerifierBatches: concurrent reads share leadership confirmations.
func TestVerifierBatches(t *testing.T) {
	c := newCluster(t, 3, nil)
	l := c.members[c.leader()]
	mustCreate(t, l, "/v", "x")
	rounds := func() int64 { return l.verifier.rounds.Load() }
	before := rounds()
	const readers, each = 32, 20
	errs := make(chan error, readers)
	for range readers {
		go func() {
			for range each {
				if _, err := l.Get(context.Background(), "/v", store.ReadOptions{}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range readers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	n := rounds() - before
	t.Logf("%d linearizable reads took %d quorum rounds", readers*each, n)
	if n >= readers*each/2 {
		t.Fatalf("%d reads took %d rounds: not batched", readers*each, n)
	}
}
