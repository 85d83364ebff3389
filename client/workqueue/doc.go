// Package workqueue is the work queue between the informers that notice
// changes and the workers that act on them: Drover's controllers, its
// scheduler and its node agent each drain one.
//
// A [Queue] holds keys (typically "namespace/name"). It is
//
//   - de-duplicating: a key already queued is not queued twice, so a burst
//     of events for one object costs one reconcile;
//   - one worker per key: a key returned by [Queue.Get] is not returned
//     again until [Queue.Done]; a [Queue.Add] meanwhile marks it dirty and
//     Done queues it again, so no change is missed;
//   - FIFO otherwise;
//   - delayed and rate limited: [Queue.AddAfter] queues a key later, on an
//     injectable [Clock]; [Queue.AddRateLimited] asks a [RateLimiter] how
//     long to wait ([DefaultRateLimiter]: per-key exponential backoff from
//     5ms to 1000s, and at most 10 retries a second with bursts of 100,
//     overall), and [Queue.Forget] resets a key's backoff;
//   - stoppable: [Queue.ShutDown] stops new adds and lets the workers finish
//     what is queued; [Queue.ShutDownWithDrain] also waits until they have.
//
// # Who calls what
//
// Event handlers, on the informer's goroutine, call Add. Any number of
// worker goroutines loop:
//
//	for {
//		key, err := q.Get(ctx)
//		if err != nil {
//			return // ErrShutDown, or ctx ended
//		}
//		if err := reconcile(ctx, key); err != nil {
//			q.AddRateLimited(key) // retry later, backing off
//		} else {
//			q.Forget(key) // reset the backoff
//		}
//		q.Done(key)
//	}
//
// and whoever started the workers calls ShutDownWithDrain (or ShutDown),
// then waits for them to return. All methods are safe for concurrent use.
//
// # Metrics
//
// With [Config].Registerer set, a queue exports, labelled name=Config.Name:
// drover_workqueue_depth, drover_workqueue_adds_total,
// drover_workqueue_retries_total, drover_workqueue_queue_duration_seconds
// (add to Get), drover_workqueue_work_duration_seconds (Get to Done),
// drover_workqueue_longest_running_processor_seconds and
// drover_workqueue_unfinished_work_seconds.
//
// # Time in tests
//
// The queue never sleeps and starts no goroutine of its own: delays are
// timers set with [Clock].AfterFunc. Tests pass a
// [github.com/drover-io/drover/client/workqueue/fakeclock.Clock] in
// [Config].Clock and move time with its Advance, which runs the timers that
// fall due before it returns.
package workqueue
