package workqueue

import "time"

// Clock is the queue's source of time: the delayed adds (AddAfter,
// AddRateLimited), the token bucket and the metrics read it. The queue
// calls Now and AfterFunc from whichever goroutine calls into the queue,
// and from the callbacks of its own timers, so an implementation must be
// safe for concurrent use.
//
// RealClock is the wall clock. Tests pass a
// [github.com/drover-io/drover/client/workqueue/fakeclock.Clock] and move
// time with Advance instead of sleeping.
type Clock interface {
	// Now returns the current time.
	Now() time.Time

	// AfterFunc calls f, once, when d has elapsed, and returns a function
	// that cancels the call; stop reports whether it prevented f from
	// running, as time.Timer.Stop does. The clock must not hold a lock
	// of its own while it runs f: f takes the queue's lock, and the queue
	// calls AfterFunc with that lock held.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// RealClock is the Clock of package time.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc calls time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
