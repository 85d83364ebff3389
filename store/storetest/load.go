package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/drover-io/drover/store"
)

// testConcurrentWriters runs writers that create and update their own keys
// at once, and checks that every write got its own revision, that together
// they are contiguous, and that the final state holds every write.
func testConcurrentWriters(t *testing.T, h *harness) {
	s := h.store(t)
	writers, per := h.n(16, 2), h.n(200, 10)
	rev0 := mustRevision(t, s)
	type result struct {
		revs    []int64
		final   map[string]int64 // key → ModRevision of its last write
		created map[string]int64 // key → CreateRevision
		err     error
	}
	results := make([]result, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[g]
			r.final, r.created = map[string]int64{}, map[string]int64{}
			for i := range per {
				key := fmt.Sprintf("/cw/%02d/%04d", g, i/2)
				var rev int64
				if i%2 == 0 {
					rev, r.err = s.Create(ctx(t), key, []byte(strconv.Itoa(i)))
				} else {
					rev, r.err = s.Update(ctx(t), key, []byte(strconv.Itoa(i)), r.final[key])
				}
				if r.err != nil {
					r.err = fmt.Errorf("writer %d, write %d: %w", g, i, r.err)
					return
				}
				r.revs = append(r.revs, rev)
				r.final[key] = rev
				if i%2 == 0 {
					r.created[key] = rev
				}
			}
		}()
	}
	wg.Wait()
	var all []int64
	want, created := map[string]int64{}, map[string]int64{}
	for _, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !slices.IsSorted(r.revs) {
			t.Fatalf("one writer's revisions went backwards: %v", r.revs)
		}
		all = append(all, r.revs...)
		for k, v := range r.final {
			want[k], created[k] = v, r.created[k]
		}
	}
	slices.Sort(all)
	for i, rev := range all {
		if rev != rev0+1+int64(i) {
			t.Fatalf("the %d writes got revisions %d..%d with a gap or a repeat at %d", len(all), all[0], all[len(all)-1], rev)
		}
	}
	if got := mustRevision(t, s); got != rev0+int64(writers*per) {
		t.Fatalf("Revision = %d, want %d", got, rev0+int64(writers*per))
	}
	res := mustList(t, s, "/cw/", store.ListOptions{})
	if len(res.KVs) != len(want) {
		t.Fatalf("List returned %d keys, want %d", len(res.KVs), len(want))
	}
	for _, kv := range res.KVs {
		if kv.ModRevision != want[kv.Key] || kv.CreateRevision != created[kv.Key] {
			t.Fatalf("%s: want created %d modified %d", fmtKV(kv), created[kv.Key], want[kv.Key])
		}
	}
}

// testConcurrentCAS has workers increment one counter with read-modify-write
// and retry on conflict: no increment may be lost.
func testConcurrentCAS(t *testing.T, h *harness) {
	s := h.store(t)
	workers, incs := h.n(8, 2), h.n(50, 5)
	r0 := mustCreate(t, s, "/counter", "0")
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		conflicts int
		revs      []int64
		errs      = make(chan error, workers)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < incs; {
				kv, err := s.Get(ctx(t), "/counter", store.ReadOptions{})
				if err != nil {
					errs <- err
					return
				}
				n, err := strconv.Atoi(string(kv.Value))
				if err != nil {
					errs <- fmt.Errorf("counter holds %q: %w", kv.Value, err)
					return
				}
				rev, err := s.Update(ctx(t), "/counter", []byte(strconv.Itoa(n+1)), kv.ModRevision)
				var ce *store.ConflictError
				switch {
				case errors.As(err, &ce):
					if ce.Actual <= kv.ModRevision {
						errs <- fmt.Errorf("conflict says the key is at %d, but it was read at %d", ce.Actual, kv.ModRevision)
						return
					}
					mu.Lock()
					conflicts++
					mu.Unlock()
					continue
				case err != nil:
					errs <- err
					return
				}
				mu.Lock()
				revs = append(revs, rev)
				mu.Unlock()
				done++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := workers * incs
	kv := mustGet(t, s, "/counter", 0)
	if string(kv.Value) != strconv.Itoa(total) {
		t.Fatalf("counter = %s after %d increments (%d conflicts retried): increments were lost", kv.Value, total, conflicts)
	}
	if kv.CreateRevision != r0 || kv.ModRevision != r0+int64(total) {
		t.Fatalf("counter = %s, want created %d modified %d", fmtKV(kv), r0, r0+int64(total))
	}
	slices.Sort(revs)
	for i, rev := range revs {
		if rev != r0+1+int64(i) {
			t.Fatalf("successful increments got revisions with a gap or a repeat at %d", rev)
		}
	}
}
