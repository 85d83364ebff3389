package workqueue_test

import (
	"slices"
	"testing"
	"time"
)

func TestAddAfterQueuesWhenDue(t *testing.T) {
	q, clk := newQueue(t)
	q.AddAfter("a", time.Second)
	if q.Len() != 0 {
		t.Fatalf("Len = %d before the delay, want 0", q.Len())
	}
	clk.Advance(999 * time.Millisecond)
	if q.Len() != 0 {
		t.Fatalf("Len = %d 1ms before the delay, want 0", q.Len())
	}
	clk.Advance(time.Millisecond)
	if got := drainOrder(t, q); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after the delay got %v, want [a]", got)
	}
}

func TestAddAfterOrdersByReadyTime(t *testing.T) {
	q, clk := newQueue(t)
	q.AddAfter("c", 3*time.Second)
	q.AddAfter("a", 1*time.Second)
	q.AddAfter("b1", 2*time.Second)
	q.AddAfter("b2", 2*time.Second)
	q.Add("now")
	if clk.Pending() != 1 {
		t.Fatalf("%d clock timers set, want 1 (for the earliest item)", clk.Pending())
	}
	clk.Advance(10 * time.Second)
	want := []string{"now", "a", "b1", "b2", "c"}
	if got := drainOrder(t, q); !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if clk.Pending() != 0 {
		t.Fatalf("%d clock timers left with nothing waiting", clk.Pending())
	}
}

func TestAddAfterSameItemKeepsEarliest(t *testing.T) {
	q, clk := newQueue(t)
	q.AddAfter("late-then-early", 5*time.Second)
	q.AddAfter("late-then-early", time.Second)
	q.AddAfter("early-then-late", time.Second)
	q.AddAfter("early-then-late", 5*time.Second)
	clk.Advance(time.Second)
	if q.Len() != 2 {
		t.Fatalf("Len = %d at 1s, want 2", q.Len())
	}
	drainOrder(t, q)
	clk.Advance(time.Hour)
	if q.Len() != 0 {
		t.Fatalf("Len = %d later, want 0: each item waited once", q.Len())
	}
}

func TestAddAfterNonPositiveIsAdd(t *testing.T) {
	q, _ := newQueue(t)
	q.AddAfter("a", 0)
	q.AddAfter("b", -time.Second)
	if got := drainOrder(t, q); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("got %v, want [a b] at once", got)
	}
}

func TestAddAfterOfQueuedItemDeduplicates(t *testing.T) {
	q, clk := newQueue(t)
	q.Add("a")
	q.AddAfter("a", time.Second)
	clk.Advance(time.Second)
	if q.Len() != 1 {
		t.Fatalf("Len = %d, want 1", q.Len())
	}
}

func TestAddAfterOfProcessingItemMarksItDirty(t *testing.T) {
	q, clk := newQueue(t)
	q.Add("a")
	a := mustGet(t, q)
	q.AddAfter("a", time.Second)
	clk.Advance(time.Second)
	if q.Len() != 0 {
		t.Fatalf("Len = %d while a is processing, want 0", q.Len())
	}
	q.Done(a)
	if got := drainOrder(t, q); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("got %v after Done, want [a]", got)
	}
}

func TestAddAfterWakesBlockedGet(t *testing.T) {
	q, clk := newQueue(t)
	res := goGet(t.Context(), q)
	q.AddAfter("a", time.Minute)
	clk.Advance(time.Minute)
	if r := <-res; r.err != nil || r.item != "a" {
		t.Fatalf("Get = %+v, want a", r)
	}
}

func TestEarlierAddAfterRearmsTimer(t *testing.T) {
	q, clk := newQueue(t)
	q.AddAfter("b", time.Hour)
	q.AddAfter("a", time.Second)
	if next, _ := clk.Next(); next != epoch.Add(time.Second) {
		t.Fatalf("timer set for %v, want %v", next, epoch.Add(time.Second))
	}
	if clk.Pending() != 1 {
		t.Fatalf("%d timers, want 1", clk.Pending())
	}
	clk.Advance(time.Second)
	if got := drainOrder(t, q); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("got %v at 1s, want [a]", got)
	}
	if next, _ := clk.Next(); next != epoch.Add(time.Hour) {
		t.Fatalf("timer set for %v, want %v", next, epoch.Add(time.Hour))
	}
}
