// Package fakeclock is a clock for tests that moves only when the test
// says so. Its Clock satisfies [github.com/drover-io/drover/client/workqueue.Clock],
// [github.com/drover-io/drover/client.Clock] and any other interface made
// of Now, After and AfterFunc with the signatures of package time, so any
// package's tests may use it.
//
// Advance runs the timers that fall due on the goroutine that calls it, in
// order of their deadlines, and returns once they have all returned. A test
// therefore sees the effect of a timer as soon as Advance returns, with no
// sleeping and no polling:
//
//	clk := fakeclock.New(time.Unix(0, 0))
//	q.AddAfter("a", time.Second)
//	clk.Advance(time.Second) // "a" is queued when this returns
package fakeclock

import (
	"slices"
	"sync"
	"time"
)

// Clock is a fake clock. The zero value is not usable; call New. All of its
// methods are safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer // pending, unordered; Advance sorts what falls due
	seq    uint64   // orders timers with equal deadlines by creation
}

type timer struct {
	when time.Time
	seq  uint64
	f    func()
}

// New returns a clock that reads now until it is moved.
func New(now time.Time) *Clock {
	return &Clock{now: now}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arranges for f to be called by the Advance or Set that moves
// the clock to or past Now()+d. A timer with d <= 0 is due at once: like
// time.AfterFunc, it calls f on a goroutine of its own, without waiting for
// the clock to move. The returned stop removes a pending timer and reports
// whether it did.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{when: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.timers, t)
		if i < 0 {
			return false
		}
		c.timers = slices.Delete(c.timers, i, i+1)
		return true
	}
}

// After returns a channel that receives the clock's time once it has
// moved d past Now, like time.After. The channel has room for the value,
// so Advance never waits for the receiver.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.AfterFunc(d, func() { ch <- c.Now() })
	return ch
}

// Advance moves the clock forward by d (a negative d is treated as zero)
// and runs every timer that falls due, earliest deadline first. While a
// timer runs, Now returns its deadline; timers that it starts and that are
// due within the same Advance run too. Advance returns when the clock has
// reached its target and no due timer is left.
func (c *Clock) Advance(d time.Duration) {
	if d < 0 {
		d = 0
	}
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	c.Set(target)
}

// Set moves the clock to t, running the timers that fall due as Advance
// does. Setting a time before Now leaves the clock where it is.
func (c *Clock) Set(t time.Time) {
	for {
		c.mu.Lock()
		next := c.nextDueLocked(t)
		if next == nil {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		if next.when.After(c.now) {
			c.now = next.when
		}
		c.mu.Unlock()
		next.f() // without the lock: f may call back into the clock
	}
}

// nextDueLocked removes and returns the earliest timer due at or before t,
// or nil.
func (c *Clock) nextDueLocked(t time.Time) *timer {
	best := -1
	for i, tm := range c.timers {
		if tm.when.After(t) {
			continue
		}
		if best < 0 || tm.when.Before(c.timers[best].when) ||
			(tm.when.Equal(c.timers[best].when) && tm.seq < c.timers[best].seq) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	tm := c.timers[best]
	c.timers = slices.Delete(c.timers, best, best+1)
	return tm
}

// Pending returns the number of timers that have not fired or been
// stopped. A test uses it to wait until a goroutine it started has set a
// timer, before it advances the clock.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns the deadline of the earliest pending timer, and false if
// there is none.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	for i, tm := range c.timers {
		if i == 0 || tm.when.Before(next) {
			next = tm.when
		}
	}
	return next, len(c.timers) > 0
}
