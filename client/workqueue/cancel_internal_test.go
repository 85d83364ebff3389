package workqueue

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

// TestCancelledGetGivesBackHandedItem cancels a waiting Get's ctx and, in
// the same critical section, hands an item to it. A Get already parked
// wakes on ctx and must give the item back, first in line; one that has
// not parked yet may see either and return the item instead. Either way
// the item is never lost.
func TestCancelledGetGivesBackHandedItem(t *testing.T) {
	givenBack := 0
	for range 200 {
		q, err := New(Config[string]{})
		if err != nil {
			t.Fatal(err)
		}
		q.Add("behind") // stays queued; must come after the given-back item

		ctx, cancel := context.WithCancel(t.Context())
		type result struct {
			item string
			err  error
		}
		res := make(chan result, 1)
		// Take "behind" out of the FIFO for a moment, so that Get waits.
		q.mu.Lock()
		first := q.queue.popFront()
		go func() {
			item, err := q.Get(ctx)
			res <- result{item, err}
		}()
		q.mu.Unlock()
		for { // poll until Get is waiting
			q.mu.Lock()
			if len(q.waiters) == 1 {
				break
			}
			q.mu.Unlock()
			runtime.Gosched()
		}
		// Cancel and hand "a" over in one critical section: Get's select
		// may see either first.
		cancel()
		q.addLocked("a", q.now())
		q.dispatchLocked()
		q.queue.pushBack(first) // "behind" is back, behind "a"
		q.mu.Unlock()

		r := <-res
		switch {
		case r.err == nil && r.item == "a":
			q.Done("a")
			if got := q.mustGet(t); got != "behind" {
				t.Fatalf("next Get = %q, want behind", got)
			}
		case errors.Is(r.err, context.Canceled):
			givenBack++
			if got := q.mustGet(t); got != "a" {
				t.Fatalf("after a cancelled Get, next Get = %q, want a (given back first in line)", got)
			}
			if got := q.mustGet(t); got != "behind" {
				t.Fatalf("next Get = %q, want behind", got)
			}
		default:
			t.Fatalf("Get = %+v", r)
		}
	}
	if givenBack == 0 {
		t.Fatal("no round took the give-back path")
	}
}

func (q *Queue[T]) mustGet(t *testing.T) T {
	t.Helper()
	if q.Len() == 0 {
		t.Fatal("Get: nothing queued")
	}
	item, err := q.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return item
}
