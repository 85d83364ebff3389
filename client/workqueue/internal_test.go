package workqueue

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestDequeMatchesSlice drives the ring buffer and a plain slice with the
// same random operations, through growth, wrap-around and shrinking.
func TestDequeMatchesSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var d deque[int]
	var model []int
	for i := range 200000 {
		// Phases of mostly pushing, then mostly popping.
		pushBias := 6
		if (i/20000)%2 == 1 {
			pushBias = 3
		}
		switch op := rng.IntN(10); {
		case op < pushBias:
			d.pushBack(i)
			model = append(model, i)
		case op == pushBias:
			d.pushFront(i)
			model = slices.Insert(model, 0, i)
		default:
			if len(model) == 0 {
				continue
			}
			if got := d.popFront(); got != model[0] {
				t.Fatalf("op %d: popFront = %d, want %d", i, got, model[0])
			}
			model = model[1:]
		}
		if d.len() != len(model) {
			t.Fatalf("op %d: len = %d, want %d", i, d.len(), len(model))
		}
	}
}

// TestWaitHeapPopsInReadyOrder checks the heap against a sort, including
// items re-added with an earlier or a later time.
func TestWaitHeapPopsInReadyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	epoch := time.Unix(0, 0)
	var h waitHeap[int]
	want := map[int]time.Time{}
	for range 5000 {
		item := rng.IntN(1000)
		at := epoch.Add(time.Duration(rng.IntN(100)) * time.Second)
		h.add(item, at)
		if old, ok := want[item]; !ok || at.Before(old) {
			want[item] = at
		}
	}
	if h.len() != len(want) {
		t.Fatalf("len = %d, want %d", h.len(), len(want))
	}
	var last time.Time
	for h.len() > 0 {
		w := h.pop()
		if w.readyAt.Before(last) {
			t.Fatalf("popped %v after %v", w.readyAt, last)
		}
		if w.readyAt != want[w.item] {
			t.Fatalf("item %d ready at %v, want the earliest %v", w.item, w.readyAt, want[w.item])
		}
		delete(want, w.item)
		last = w.readyAt
	}
	if len(want) != 0 || len(h.index) != 0 {
		t.Fatalf("left over: %d items, %d index entries", len(want), len(h.index))
	}
}
