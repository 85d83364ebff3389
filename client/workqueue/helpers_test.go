package workqueue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newQueue returns a queue of strings on a fake clock.
func newQueue(t testing.TB) (*workqueue.Queue[string], *fakeclock.Clock) {
	t.Helper()
	clk := fakeclock.New(epoch)
	q, err := workqueue.New(workqueue.Config[string]{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return q, clk
}

// mustGet gets an item that must already be queued, so it never blocks.
func mustGet[T comparable](t *testing.T, q *workqueue.Queue[T]) T {
	t.Helper()
	if q.Len() == 0 {
		t.Fatal("Get: nothing queued")
	}
	item, err := q.Get(t.Context())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return item
}

// drainOrder gets and finishes every queued item, in order.
func drainOrder(t *testing.T, q *workqueue.Queue[string]) []string {
	t.Helper()
	var got []string
	for q.Len() > 0 {
		item := mustGet(t, q)
		got = append(got, item)
		q.Done(item)
	}
	return got
}

// getResult is the outcome of a Get run on another goroutine.
type getResult struct {
	item string
	err  error
}

func goGet(ctx context.Context, q *workqueue.Queue[string]) <-chan getResult {
	ch := make(chan getResult, 1)
	go func() {
		item, err := q.Get(ctx)
		ch <- getResult{item, err}
	}()
	return ch
}

func expectShutDown(t *testing.T, q *workqueue.Queue[string]) {
	t.Helper()
	item, err := q.Get(t.Context())
	if !errors.Is(err, workqueue.ErrShutDown) {
		t.Fatalf("Get = %q, %v; want ErrShutDown", item, err)
	}
}

var (
	_ workqueue.Clock = workqueue.RealClock{}
	_ workqueue.Clock = (*fakeclock.Clock)(nil)
)
