package workqueue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
)

// A controller's shape: event handlers add keys, workers reconcile them,
// and shutting down drains what is queued.
func Example() {
	q, err := workqueue.New(workqueue.Config[string]{})
	if err != nil {
		panic(err)
	}

	// Three events for web and one for db: web is reconciled once.
	q.Add("default/web")
	q.Add("default/db")
	q.Add("default/web")
	q.Add("default/web")

	var mu sync.Mutex
	reconciled := map[string]int{}
	reconcile := func(ctx context.Context, key string) error {
		mu.Lock()
		defer mu.Unlock()
		reconciled[key]++
		return nil
	}

	ctx := context.Background()
	var workers sync.WaitGroup
	for range 2 {
		workers.Go(func() {
			for {
				key, err := q.Get(ctx)
				if err != nil {
					return // shut down and empty
				}
				if err := reconcile(ctx, key); err != nil {
					q.AddRateLimited(key)
				} else {
					q.Forget(key)
				}
				q.Done(key)
			}
		})
	}

	if err := q.ShutDownWithDrain(ctx); err != nil {
		panic(err)
	}
	workers.Wait()
	fmt.Println(reconciled)
	// Output: map[default/db:1 default/web:1]
}

// A key that keeps failing backs off exponentially: 5ms, 10ms, 20ms, ...
// With a fake clock, a test moves time instead of sleeping.
func ExampleQueue_AddRateLimited() {
	clk := fakeclock.New(time.Unix(0, 0))
	q, err := workqueue.New(workqueue.Config[string]{Clock: clk})
	if err != nil {
		panic(err)
	}
	start := clk.Now()
	q.Add("default/web")
	for range 4 {
		key, _ := q.Get(context.Background())
		fmt.Printf("%v: reconcile %s (retry %d), fails\n", clk.Now().Sub(start), key, q.NumRequeues(key))
		q.AddRateLimited(key)
		q.Done(key)
		next, _ := clk.Next()
		clk.Set(next) // the retry is queued when Set returns
	}
	key, _ := q.Get(context.Background())
	fmt.Printf("%v: reconcile %s (retry %d), succeeds\n", clk.Now().Sub(start), key, q.NumRequeues(key))
	q.Forget(key)
	q.Done(key)
	fmt.Println("retries after Forget:", q.NumRequeues(key))

	q.ShutDown()
	_, err = q.Get(context.Background())
	fmt.Println(errors.Is(err, workqueue.ErrShutDown))
	// Output:
	// 0s: reconcile default/web (retry 0), fails
	// 5ms: reconcile default/web (retry 1), fails
	// 15ms: reconcile default/web (retry 2), fails
	// 35ms: reconcile default/web (retry 3), fails
	// 75ms: reconcile default/web (retry 4), succeeds
	// retries after Forget: 0
	// true
}

// AddAfter queues a key later, for example to look again at an object
// whose certificate expires in an hour.
func ExampleQueue_AddAfter() {
	clk := fakeclock.New(time.Unix(0, 0))
	q, err := workqueue.New(workqueue.Config[string]{Clock: clk})
	if err != nil {
		panic(err)
	}
	q.AddAfter("default/cert", time.Hour)
	fmt.Println("queued now:", q.Len())
	clk.Advance(time.Hour)
	fmt.Println("queued in an hour:", q.Len())
	// Output:
	// queued now: 0
	// queued in an hour: 1
}
