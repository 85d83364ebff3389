package workqueue

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrShutDown is returned by Get once the queue has been shut down and no
// item is left in it. A worker that sees it returns.
var ErrShutDown = errors.New("workqueue: shut down")

// Config configures a Queue. The zero Config is valid: an unnamed queue on
// the wall clock with DefaultRateLimiter and no metrics.
type Config[T comparable] struct {
	// Name identifies the queue in its metrics (the label name="...").
	// It is required when Registerer is set, and two queues registered
	// on one Registerer must have different names.
	Name string

	// Registerer, if not nil, receives the queue's Prometheus metrics
	// (see the package doc). ShutDown unregisters them, so a queue of the
	// same name can be created again, as a controller does when it
	// regains leadership.
	Registerer prometheus.Registerer

	// Clock drives AddAfter, the rate limiter made by default and the
	// metrics. Nil means RealClock.
	Clock Clock

	// RateLimiter decides the delay of AddRateLimited. Nil means
	// DefaultRateLimiter on Clock.
	RateLimiter RateLimiter[T]
}

// Validate reports the first field of c that New cannot use.
func (c Config[T]) Validate() error {
	if c.Registerer != nil && c.Name == "" {
		return errors.New("workqueue: Config.Name is empty: a queue with a Registerer needs a Name to label its metrics")
	}
	return nil
}

// Queue is a work queue of keys: what an informer's event handlers feed
// and a controller's workers drain. It holds each key at most once, hands a
// key to one worker at a time, and remembers an Add that arrives while the
// key is being worked on, so that no change is missed and no two workers
// reconcile the same object at once.
//
// A key is in one of these states:
//
//   - absent;
//   - queued: in the FIFO, to be returned by Get (counted by Len);
//   - processing: returned by Get, not yet passed to Done;
//   - processing and dirty: added again while processing; Done queues it.
//
// Independently of that, a key added with AddAfter or AddRateLimited is
// waiting until its delay has passed, and is then added as by Add.
//
// Every method is safe to call from any number of goroutines. The usual
// shape is event handlers calling Add from the informer's goroutine, N
// worker goroutines looping on Get / Done, and the owner of the workers
// calling ShutDownWithDrain (or ShutDown) once when it stops.
type Queue[T comparable] struct {
	clock   Clock
	limiter RateLimiter[T]
	metrics *metrics // nil without a Registerer

	mu      sync.Mutex
	queue   deque[T]        // the FIFO of queued keys
	states  map[T]itemState // every queued or processing key
	waiters []*waiter[T]    // blocked Gets; not empty only while queue is
	nproc   int             // keys processing

	waiting   waitHeap[T] // delayed adds
	timerStop func() bool // the armed clock timer, or nil
	timerAt   time.Time   // when it fires
	timerGen  uint64      // tells a stale timer callback from the current one

	shuttingDown bool
	drained      chan struct{} // closed when shut down, empty and idle
	drainClosed  bool

	waiterPool sync.Pool // of *waiter[T]
}

// itemState is what the queue knows of a queued or processing key.
type itemState struct {
	processing bool
	dirty      bool      // queued, or to be queued again by Done
	queuedAt   time.Time // when it became dirty; zero without metrics
	startedAt  time.Time // when Get returned it; zero without metrics
}

// waiter is one blocked Get. The queue hands it a key, or tells it the
// queue is shut down, by a send on ch (buffered, so the send never blocks).
type waiter[T comparable] struct {
	ch chan handoff[T]
}

type handoff[T comparable] struct {
	item T
	ok   bool // false: the queue is shut down and empty
}

// New returns an empty queue. It fails if cfg does not validate or its
// metrics cannot be registered.
func New[T comparable](cfg Config[T]) (*Queue[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q := &Queue[T]{
		clock:   cfg.Clock,
		limiter: cfg.RateLimiter,
		states:  make(map[T]itemState),
		drained: make(chan struct{}),
	}
	if q.clock == nil {
		q.clock = RealClock{}
	}
	if q.limiter == nil {
		q.limiter = DefaultRateLimiter[T](q.clock)
	}
	if cfg.Registerer != nil {
		m, err := newMetrics(cfg.Name, cfg.Registerer, q)
		if err != nil {
			return nil, err
		}
		q.metrics = m
	}
	return q, nil
}

// Add queues item unless it is queued already. If item is being processed
// it is marked dirty instead, and Done queues it again, so the worker that
// has it will see it once more after it finishes. Items are returned by Get
// in the order they were first queued.
//
// Add never blocks. After ShutDown it does nothing. Safe to call from any
// goroutine; informer event handlers are the usual callers.
func (q *Queue[T]) Add(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	q.addLocked(item, q.now())
	q.dispatchLocked()
}

// addLocked is Add with the lock held; the caller dispatches.
func (q *Queue[T]) addLocked(item T, now time.Time) {
	st, ok := q.states[item]
	if ok && st.dirty {
		return // queued, or already due to be queued again by Done
	}
	if q.metrics != nil {
		q.metrics.adds.Inc()
	}
	st.dirty = true
	st.queuedAt = now
	q.states[item] = st
	if !st.processing {
		q.queue.pushBack(item)
	}
}

// now reads the clock only when the metrics need it.
func (q *Queue[T]) now() time.Time {
	if q.metrics == nil {
		return time.Time{}
	}
	return q.clock.Now()
}

// popLocked takes the first queued item and marks it processing.
func (q *Queue[T]) popLocked() T {
	item := q.queue.popFront()
	st := q.states[item]
	st.dirty = false
	st.processing = true
	if q.metrics != nil {
		st.startedAt = q.clock.Now()
		q.metrics.queueDuration.Observe(st.startedAt.Sub(st.queuedAt).Seconds())
	}
	q.states[item] = st
	q.nproc++
	return item
}

// dispatchLocked hands queued items to blocked Gets, and tells them when
// the queue is shut down and empty. Every change that can queue an item or
// shut the queue down ends with it, which keeps the invariant that Gets
// block only while nothing is queued.
func (q *Queue[T]) dispatchLocked() {
	for len(q.waiters) > 0 {
		var h handoff[T]
		switch {
		case q.queue.len() > 0:
			h = handoff[T]{item: q.popLocked(), ok: true}
		case q.shuttingDown:
			h = handoff[T]{}
		default:
			return
		}
		w := q.waiters[len(q.waiters)-1]
		q.waiters[len(q.waiters)-1] = nil
		q.waiters = q.waiters[:len(q.waiters)-1]
		w.ch <- h
	}
}

// Get blocks until an item is queued and returns it, marking it processing;
// the caller must pass it to Done when it has finished with it. Get returns
// ErrShutDown once the queue is shut down and nothing is queued (items
// queued before ShutDown are still returned), and ctx.Err() if ctx ends
// first; an item is never lost to a cancelled Get.
//
// Worker goroutines call Get in a loop, any number of them at once.
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	var zero T
	q.mu.Lock()
	if q.queue.len() > 0 {
		item := q.popLocked()
		q.mu.Unlock()
		return item, nil
	}
	if q.shuttingDown {
		q.mu.Unlock()
		return zero, ErrShutDown
	}
	if err := ctx.Err(); err != nil {
		q.mu.Unlock()
		return zero, err
	}
	w := q.getWaiter()
	q.waiters = append(q.waiters, w)
	q.mu.Unlock()

	select {
	case h := <-w.ch:
		q.waiterPool.Put(w)
		if !h.ok {
			return zero, ErrShutDown
		}
		return h.item, nil
	case <-ctx.Done():
	}

	q.mu.Lock()
	if i := indexOf(q.waiters, w); i >= 0 {
		q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
	} else if h := <-w.ch; h.ok {
		// An item was handed over as ctx ended: give it back, first in
		// line, as if this Get had never taken it.
		q.putBackLocked(h.item)
	}
	q.mu.Unlock()
	q.waiterPool.Put(w)
	return zero, ctx.Err()
}

func (q *Queue[T]) getWaiter() *waiter[T] {
	if w, ok := q.waiterPool.Get().(*waiter[T]); ok {
		return w
	}
	return &waiter[T]{ch: make(chan handoff[T], 1)}
}

func indexOf[T comparable](ws []*waiter[T], w *waiter[T]) int {
	for i, x := range ws {
		if x == w {
			return i
		}
	}
	return -1
}

// putBackLocked undoes popLocked for an item no caller has seen.
func (q *Queue[T]) putBackLocked(item T) {
	st := q.states[item]
	if !st.dirty {
		st.queuedAt = st.startedAt
	}
	st.processing = false
	st.dirty = true
	q.states[item] = st
	q.nproc--
	q.queue.pushFront(item)
	q.dispatchLocked()
}

// Done tells the queue that the worker has finished with item, which Get
// returned. If item was added again meanwhile, Done queues it now. Done of
// an item that is not processing does nothing.
//
// The worker that got item calls Done once, whether it succeeded or not;
// use AddRateLimited before Done to retry it later.
func (q *Queue[T]) Done(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	st, ok := q.states[item]
	if !ok || !st.processing {
		return
	}
	q.nproc--
	if q.metrics != nil {
		q.metrics.workDuration.Observe(q.clock.Now().Sub(st.startedAt).Seconds())
	}
	if !st.dirty {
		delete(q.states, item)
		q.checkDrainedLocked()
		return
	}
	st.processing = false
	st.startedAt = time.Time{}
	q.states[item] = st
	q.queue.pushBack(item)
	q.dispatchLocked()
}

// Len returns the number of queued items: not those waiting for a delay
// and not those being processed.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queue.len()
}

// ShutDown stops the queue accepting items: Add, AddAfter and
// AddRateLimited do nothing from now on, and items waiting for a delay are
// dropped. Items already queued, and items marked dirty while processing,
// are still returned by Get; once none is left Get returns ErrShutDown to
// every worker. ShutDown does not wait; see ShutDownWithDrain. It also
// unregisters the queue's metrics. Calling it again does nothing.
func (q *Queue[T]) ShutDown() {
	q.mu.Lock()
	if q.shuttingDown {
		q.mu.Unlock()
		return
	}
	q.shuttingDown = true
	q.stopTimerLocked()
	q.timerGen++
	q.waiting.clear()
	q.dispatchLocked()
	q.checkDrainedLocked()
	q.mu.Unlock()
	if q.metrics != nil {
		q.metrics.unregister()
	}
}

// ShutDownWithDrain shuts the queue down as ShutDown does, then waits
// until the workers have taken every queued item and passed every
// processing item to Done, or until ctx ends, when it returns ctx.Err()
// (the queue stays shut down). It needs workers still calling Get and
// Done; called by the goroutine that owns the workers, before it waits for
// them to return.
func (q *Queue[T]) ShutDownWithDrain(ctx context.Context) error {
	q.ShutDown()
	select {
	case <-q.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *Queue[T]) checkDrainedLocked() {
	if q.shuttingDown && !q.drainClosed && q.queue.len() == 0 && q.nproc == 0 {
		q.drainClosed = true
		close(q.drained)
	}
}

// ShuttingDown reports whether ShutDown has been called.
func (q *Queue[T]) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shuttingDown
}

// AddRateLimited adds item after the delay the rate limiter gives it:
// the usual way to retry an item whose processing failed. Call it before
// Done. After ShutDown it does nothing.
func (q *Queue[T]) AddRateLimited(item T) {
	if q.ShuttingDown() {
		return
	}
	if q.metrics != nil {
		q.metrics.retries.Inc()
	}
	q.AddAfter(item, q.limiter.When(item))
}

// Forget tells the rate limiter that item succeeded, resetting its
// backoff. Call it when processing item succeeded, or when you give up on
// it; it does not remove item from the queue.
func (q *Queue[T]) Forget(item T) { q.limiter.Forget(item) }

// NumRequeues returns how many times item has been rate limited since it
// was last forgotten, to give up after some number of retries.
func (q *Queue[T]) NumRequeues(item T) int { return q.limiter.NumRequeues(item) }

// inFlight returns, for the metrics, how long the longest running item has
// been processing and the total time of all of them.
func (q *Queue[T]) inFlight() (longest, total time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.nproc == 0 {
		return 0, 0
	}
	now := q.clock.Now()
	for _, st := range q.states {
		if !st.processing {
			continue
		}
		d := now.Sub(st.startedAt)
		total += d
		longest = max(longest, d)
	}
	return longest, total
}
