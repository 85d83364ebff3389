package workqueue_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/drover-io/drover/client/workqueue"
)

func TestShutDownLetsWorkersFinishQueuedItems(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	q.Add("b")
	q.ShutDown()
	if !q.ShuttingDown() {
		t.Fatal("ShuttingDown = false after ShutDown")
	}
	q.Add("c") // ignored
	if got := drainOrder(t, q); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after ShutDown got %v, want [a b]", got)
	}
	expectShutDown(t, q)
	expectShutDown(t, q) // and again
	q.ShutDown()         // twice is fine
}

func TestShutDownWakesBlockedGets(t *testing.T) {
	q, _ := newQueue(t)
	results := []<-chan getResult{goGet(t.Context(), q), goGet(t.Context(), q), goGet(t.Context(), q)}
	q.ShutDown()
	for _, ch := range results {
		if r := <-ch; !errors.Is(r.err, workqueue.ErrShutDown) {
			t.Fatalf("blocked Get after ShutDown = %+v, want ErrShutDown", r)
		}
	}
}

func TestShutDownDropsDelayedAndRateLimitedItems(t *testing.T) {
	q, clk := newQueue(t)
	q.AddAfter("a", time.Second)
	q.ShutDown()
	q.AddAfter("b", time.Second)
	q.AddRateLimited("c")
	if clk.Pending() != 0 {
		t.Fatalf("%d clock timers left after ShutDown", clk.Pending())
	}
	clk.Advance(time.Hour)
	expectShutDown(t, q)
}

func TestShutDownKeepsDirtyProcessingItem(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	a := mustGet(t, q)
	q.Add("a") // dirty: a change arrived while a was processing
	q.ShutDown()
	q.Add("b") // after ShutDown: ignored
	q.Done(a)
	if got := drainOrder(t, q); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after Done got %v, want [a]: the change before ShutDown is not lost", got)
	}
	expectShutDown(t, q)
}

func TestShutDownWithDrainWaitsForDone(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	q.Add("b")
	a := mustGet(t, q)

	drained := make(chan error, 1)
	go func() { drained <- q.ShutDownWithDrain(t.Context()) }()

	// b is still queued and a is processing: not drained. Get still
	// hands out b.
	b := mustGet(t, q)
	q.Done(b)
	select {
	case err := <-drained:
		t.Fatalf("ShutDownWithDrain returned %v while a is processing", err)
	default:
	}
	q.Done(a)
	if err := <-drained; err != nil {
		t.Fatalf("ShutDownWithDrain = %v", err)
	}
	expectShutDown(t, q)
}

func TestShutDownWithDrainWaitsForRequeuedDirtyItem(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	a := mustGet(t, q)
	q.Add("a")

	drained := make(chan error, 1)
	go func() { drained <- q.ShutDownWithDrain(t.Context()) }()

	q.Done(a) // queues a again
	select {
	case err := <-drained:
		t.Fatalf("ShutDownWithDrain returned %v with a queued again", err)
	default:
	}
	a = mustGet(t, q)
	q.Done(a)
	if err := <-drained; err != nil {
		t.Fatalf("ShutDownWithDrain = %v", err)
	}
}

func TestShutDownWithDrainOfIdleQueueReturnsAtOnce(t *testing.T) {
	q, _ := newQueue(t)
	if err := q.ShutDownWithDrain(t.Context()); err != nil {
		t.Fatal(err)
	}
	// And again, after the fact.
	if err := q.ShutDownWithDrain(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestShutDownWithDrainContextEnds(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	a := mustGet(t, q)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := q.ShutDownWithDrain(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("ShutDownWithDrain = %v, want context.Canceled", err)
	}
	if !q.ShuttingDown() {
		t.Fatal("queue not shut down after a cancelled drain")
	}
	q.Done(a)
	if err := q.ShutDownWithDrain(t.Context()); err != nil {
		t.Fatalf("second ShutDownWithDrain = %v", err)
	}
}
