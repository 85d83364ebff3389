package workqueue

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// RateLimiter decides how long an item waits before it is retried. The
// queue calls When from AddRateLimited, Forget from Queue.Forget and
// NumRequeues from Queue.NumRequeues, on the goroutines of their callers
// (usually the workers, several at once), so an implementation must be
// safe for concurrent use. A RateLimiter may be shared by several queues.
type RateLimiter[T comparable] interface {
	// When records one more retry of item and returns how long it must
	// wait before it is queued again.
	When(item T) time.Duration

	// Forget clears what the limiter remembers of item: its next retry
	// waits as if it were the first.
	Forget(item T)

	// NumRequeues returns the number of retries of item since it was
	// last forgotten.
	NumRequeues(item T) int
}

// Defaults of DefaultRateLimiter: the same numbers as Kubernetes' default
// controller rate limiter, so controllers retry at the pace operators
// expect.
const (
	DefaultBaseDelay = 5 * time.Millisecond
	DefaultMaxDelay  = 1000 * time.Second
	DefaultQPS       = 10
	DefaultBurst     = 100
)

// DefaultRateLimiter returns the limiter a Queue uses when its Config has
// none: the larger of a per-item exponential backoff (DefaultBaseDelay
// doubling up to DefaultMaxDelay) and an overall token bucket
// (DefaultQPS, DefaultBurst) on clock. A nil clock means RealClock.
func DefaultRateLimiter[T comparable](clock Clock) RateLimiter[T] {
	if clock == nil {
		clock = RealClock{}
	}
	return MaxOf[T](
		newExponential[T](DefaultBaseDelay, DefaultMaxDelay),
		newBucket[T](DefaultQPS, DefaultBurst, clock),
	)
}

// ExponentialRateLimiter delays the n-th retry of an item (counting from
// zero) by base·2ⁿ, capped at max. Items are counted separately, so one
// item failing does not slow another down.
type ExponentialRateLimiter[T comparable] struct {
	base, max time.Duration

	mu       sync.Mutex
	failures map[T]int
}

// NewExponentialRateLimiter returns a limiter whose first delay is base
// and whose delays stop growing at max. It fails unless 0 < base <= max.
func NewExponentialRateLimiter[T comparable](base, max time.Duration) (*ExponentialRateLimiter[T], error) {
	if base <= 0 {
		return nil, fmt.Errorf("workqueue: exponential rate limiter: base delay %v must be positive", base)
	}
	if max < base {
		return nil, fmt.Errorf("workqueue: exponential rate limiter: max delay %v is less than base delay %v", max, base)
	}
	return newExponential[T](base, max), nil
}

func newExponential[T comparable](base, max time.Duration) *ExponentialRateLimiter[T] {
	return &ExponentialRateLimiter[T]{base: base, max: max, failures: make(map[T]int)}
}

// When returns base·2ⁿ (at most max) for the n-th retry of item.
func (r *ExponentialRateLimiter[T]) When(item T) time.Duration {
	r.mu.Lock()
	n := r.failures[item]
	r.failures[item] = n + 1
	r.mu.Unlock()
	// base<<n without overflow: it fits if base <= max>>n.
	if n >= 63 || r.base > r.max>>n {
		return r.max
	}
	return r.base << n
}

// Forget resets item's backoff to base.
func (r *ExponentialRateLimiter[T]) Forget(item T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failures, item)
}

// NumRequeues returns how many times When has been called for item since
// it was last forgotten.
func (r *ExponentialRateLimiter[T]) NumRequeues(item T) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[item]
}

// BucketRateLimiter limits the retries of all items together to qps per
// second on average, with bursts of up to burst: a token bucket that holds
// burst tokens and refills at qps. Each When takes a token, borrowing
// against the future when the bucket is empty, and returns how long until
// that token would have been there; so retries spread out evenly instead
// of arriving together.
type BucketRateLimiter[T comparable] struct {
	qps   float64
	burst float64
	clock Clock

	mu     sync.Mutex
	tokens float64 // negative: tokens lent to waiting retries
	last   time.Time
}

// NewBucketRateLimiter returns a full bucket of burst tokens refilling at
// qps per second on clock (nil means RealClock). It fails unless qps > 0
// and burst >= 1.
func NewBucketRateLimiter[T comparable](qps float64, burst int, clock Clock) (*BucketRateLimiter[T], error) {
	if !(qps > 0) || math.IsInf(qps, 1) {
		return nil, fmt.Errorf("workqueue: bucket rate limiter: qps %v must be a positive number", qps)
	}
	if burst < 1 {
		return nil, fmt.Errorf("workqueue: bucket rate limiter: burst %d must be at least 1", burst)
	}
	if clock == nil {
		clock = RealClock{}
	}
	return newBucket[T](qps, burst, clock), nil
}

func newBucket[T comparable](qps float64, burst int, clock Clock) *BucketRateLimiter[T] {
	return &BucketRateLimiter[T]{
		qps: qps, burst: float64(burst), clock: clock,
		tokens: float64(burst), last: clock.Now(),
	}
}

// When takes a token and returns how long until it is available: zero
// while the bucket holds tokens.
func (r *BucketRateLimiter[T]) When(T) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	if elapsed := now.Sub(r.last); elapsed > 0 {
		r.tokens = min(r.burst, r.tokens+elapsed.Seconds()*r.qps)
		r.last = now
	}
	r.tokens--
	if r.tokens >= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-r.tokens * float64(time.Second) / r.qps))
}

// Forget does nothing: the bucket is shared by all items.
func (r *BucketRateLimiter[T]) Forget(T) {}

// NumRequeues returns 0: the bucket does not count items.
func (r *BucketRateLimiter[T]) NumRequeues(T) int { return 0 }

// MaxOf returns a limiter whose delay is the longest of limiters' delays.
// When and Forget go to every limiter; NumRequeues is the largest count.
func MaxOf[T comparable](limiters ...RateLimiter[T]) RateLimiter[T] {
	return maxOf[T](limiters)
}

type maxOf[T comparable] []RateLimiter[T]

func (m maxOf[T]) When(item T) time.Duration {
	var d time.Duration
	for _, l := range m {
		d = max(d, l.When(item))
	}
	return d
}

func (m maxOf[T]) Forget(item T) {
	for _, l := range m {
		l.Forget(item)
	}
}

func (m maxOf[T]) NumRequeues(item T) int {
	var n int
	for _, l := range m {
		n = max(n, l.NumRequeues(item))
	}
	return n
}
