package controllertest

import (
	"sync"
	"time"

	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/store/memstore"
)

// Clock is the time source of an Env, shared by its API server, store,
// client and whatever the test builds on it (work queues, recorders,
// managers). It is the system clock, or a *fakeclock.Clock given with
// WithClock. It satisfies client.Clock, workqueue.Clock and record.Clock.
// Its methods are safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed, like
	// time.After.
	After(d time.Duration) <-chan time.Time
	// AfterFunc calls f, once, when d has passed, and returns a function
	// that cancels the call and reports whether it did, like
	// time.AfterFunc(d, f).Stop.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// systemClock is the Clock of package time.
type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// serverClock adapts a fake clock to apiserver.Clock, which also needs
// tickers. The system clock needs no adapter: both packages default to it.
//
// Its tickers tick at origin+d, origin+2d, ... whenever they are made:
// Server.Run makes its tickers on its own goroutine, some time after Start
// has returned, and a test that moves the clock at once must find the
// server as if Run had started with the Env. A ticker made after its
// first deadline has passed has a tick ready at once, like one that was
// made in time and not read.
type serverClock struct {
	c      *fakeclock.Clock
	origin time.Time
}

var (
	_ apiserver.Clock = serverClock{}
	_ memstore.Clock  = storeClock{}
)

func (s serverClock) Now() time.Time { return s.c.Now() }

// NewTicker returns a ticker that ticks each time the fake clock is moved
// to or past its next deadline.
func (s serverClock) NewTicker(d time.Duration) apiserver.Ticker {
	return newTicker(s.c, s.origin, d)
}

// storeClock is serverClock for memstore, whose Ticker is its own
// (identical) interface. memstore.New makes its ticker before it returns.
type storeClock struct{ c *fakeclock.Clock }

func (s storeClock) NewTicker(d time.Duration) memstore.Ticker { return newTicker(s.c, s.c.Now(), d) }

// ticker is a time.Ticker on a fake clock, made of one timer re-armed at
// each tick. As with time.Ticker, the channel holds one tick, and ticks
// that find it full are dropped: an Advance of ten periods delivers one
// tick, not ten.
type ticker struct {
	c  *fakeclock.Clock
	d  time.Duration
	ch chan time.Time

	mu      sync.Mutex
	next    time.Time   // the deadline of the pending timer
	stop    func() bool // cancels the pending timer
	stopped bool
}

// newTicker returns a ticker with deadlines origin+d, origin+2d, ...
func newTicker(c *fakeclock.Clock, origin time.Time, d time.Duration) *ticker {
	if d <= 0 {
		panic("controllertest: non-positive interval for NewTicker") // as time.NewTicker
	}
	t := &ticker{c: c, d: d, ch: make(chan time.Time, 1)}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := c.Now()
	t.next = origin.Add(d)
	if !t.next.After(now) { // missed deadlines: one tick is waiting
		t.ch <- now
		t.next = origin.Add((now.Sub(origin)/d + 1) * d)
	}
	t.stop = c.AfterFunc(t.next.Sub(now), t.fire)
	return t
}

// fire runs on the goroutine that moves the clock, at the deadline t.next.
func (t *ticker) fire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	select {
	case t.ch <- t.c.Now():
	default:
	}
	t.next = t.next.Add(t.d)
	t.stop = t.c.AfterFunc(t.next.Sub(t.c.Now()), t.fire)
}

func (t *ticker) C() <-chan time.Time { return t.ch }

func (t *ticker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.stopped = true
		t.stop()
	}
}

// clientClock is the clock of an Env's client on a fake clock: the time
// is the fake clock's, but the waits between retries are real, so that a
// request that meets a 503 is retried and fails in due time instead of
// waiting, forever, for the test to move the clock.
type clientClock struct{ c *fakeclock.Clock }

func (c clientClock) Now() time.Time                       { return c.c.Now() }
func (clientClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
