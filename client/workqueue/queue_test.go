package workqueue_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/drover-io/drover/client/workqueue"
)

func TestFIFO(t *testing.T) {
	q, _ := newQueue(t)
	for _, k := range []string{"c", "a", "b", "d"} {
		q.Add(k)
	}
	if got, want := drainOrder(t, q), []string{"c", "a", "b", "d"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestAddDeduplicatesQueuedItems(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	q.Add("b")
	q.Add("a")
	q.Add("a")
	if q.Len() != 2 {
		t.Fatalf("Len = %d, want 2", q.Len())
	}
	// The first add decides the position.
	if got, want := drainOrder(t, q), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestAddWhileProcessingRequeuesOnDone(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	q.Add("b")
	a := mustGet(t, q)

	// Re-adding a processing item must not hand it to a second worker...
	q.Add("a")
	q.Add("a")
	if got := mustGet(t, q); got != "b" {
		t.Fatalf("Get = %q, want b", got)
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d while a is processing and dirty, want 0", q.Len())
	}
	// ...but Done queues it again, once.
	q.Done(a)
	if q.Len() != 1 {
		t.Fatalf("Len = %d after Done of a dirty item, want 1", q.Len())
	}
	if got := mustGet(t, q); got != "a" {
		t.Fatalf("Get = %q, want a", got)
	}
	q.Done("a")
	q.Done("b")
	if q.Len() != 0 {
		t.Fatalf("Len = %d after everything is done, want 0", q.Len())
	}
}

func TestDirtyItemQueuedBehindOthers(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	a := mustGet(t, q)
	q.Add("a") // dirty while processing
	q.Add("b")
	q.Done(a)
	if got, want := drainOrder(t, q), []string{"b", "a"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v (a is queued again at Done)", got, want)
	}
}

func TestDoneOfUnknownItemDoesNothing(t *testing.T) {
	q, _ := newQueue(t)
	q.Done("never-added")
	q.Add("a")
	q.Done("a") // queued, not processing
	if q.Len() != 1 {
		t.Fatalf("Len = %d, want 1", q.Len())
	}
	a := mustGet(t, q)
	q.Done(a)
	q.Done(a) // twice
	if q.Len() != 0 {
		t.Fatalf("Len = %d, want 0", q.Len())
	}
}

func TestGetBlocksUntilAdd(t *testing.T) {
	q, _ := newQueue(t)
	res := goGet(t.Context(), q)
	select {
	case r := <-res:
		t.Fatalf("Get on an empty queue returned %+v", r)
	default:
	}
	q.Add("a")
	if r := <-res; r.err != nil || r.item != "a" {
		t.Fatalf("Get = %+v, want a", r)
	}
}

func TestManyBlockedGetsEachGetOneItem(t *testing.T) {
	q, _ := newQueue(t)
	const n = 8
	results := make([]<-chan getResult, n)
	for i := range results {
		results[i] = goGet(t.Context(), q)
	}
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for _, k := range keys {
		q.Add(k)
	}
	var got []string
	for _, ch := range results {
		r := <-ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		got = append(got, r.item)
	}
	slices.Sort(got)
	if !slices.Equal(got, keys) {
		t.Fatalf("blocked Gets got %v, want each of %v once", got, keys)
	}
}

func TestGetContextCancelled(t *testing.T) {
	q, _ := newQueue(t)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := q.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled ctx: %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithCancel(t.Context())
	res := goGet(ctx, q)
	cancel()
	if r := <-res; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("blocked Get after cancel = %+v, want context.Canceled", r)
	}

	// The cancelled Gets took nothing: the next item goes to the next Get.
	q.Add("a")
	if got := mustGet(t, q); got != "a" {
		t.Fatalf("Get = %q, want a", got)
	}
}

func TestGetPrefersQueuedItemOverCancelledContext(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// A queued item is returned without blocking, whatever ctx says.
	if item, err := q.Get(ctx); err != nil || item != "a" {
		t.Fatalf("Get = %q, %v; want a", item, err)
	}
}

func TestItemsOfAnyComparableType(t *testing.T) {
	type key struct{ namespace, name string }
	q, err := workqueue.New(workqueue.Config[key]{})
	if err != nil {
		t.Fatal(err)
	}
	q.Add(key{"default", "web"})
	q.Add(key{"default", "web"})
	q.Add(key{"kube-system", "dns"})
	if q.Len() != 2 {
		t.Fatalf("Len = %d, want 2", q.Len())
	}
	if got := mustGet(t, q); got != (key{"default", "web"}) {
		t.Fatalf("Get = %v", got)
	}
}

func TestLargeBacklogKeepsOrder(t *testing.T) {
	// Enough items to grow and then shrink the ring buffer.
	q, err := workqueue.New(workqueue.Config[int]{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10000
	next := 0
	for i := range n {
		q.Add(i)
		if i%3 == 0 { // interleave gets, so the ring wraps
			if got := mustGet(t, q); got != next {
				t.Fatalf("Get = %d, want %d", got, next)
			}
			q.Done(next)
			next++
		}
	}
	for ; next < n; next++ {
		if got := mustGet(t, q); got != next {
			t.Fatalf("Get = %d, want %d", got, next)
		}
		q.Done(next)
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d, want 0", q.Len())
	}
}
