package fakeclock_test

import (
	"slices"
	"testing"
	"time"

	"github.com/drover-io/drover/client/workqueue/fakeclock"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestAdvanceRunsDueTimersInOrder(t *testing.T) {
	c := fakeclock.New(epoch)
	var got []string
	var at []time.Duration
	record := func(name string) func() {
		return func() {
			got = append(got, name)
			at = append(at, c.Now().Sub(epoch))
		}
	}
	c.AfterFunc(3*time.Second, record("c"))
	c.AfterFunc(1*time.Second, record("a"))
	c.AfterFunc(2*time.Second, record("b1"))
	c.AfterFunc(2*time.Second, record("b2"))
	c.AfterFunc(4*time.Second, record("d"))

	c.Advance(999 * time.Millisecond)
	if len(got) != 0 {
		t.Fatalf("fired before due: %v", got)
	}
	c.Advance(2001 * time.Millisecond)
	if want := []string{"a", "b1", "b2", "c"}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(at, want) {
		t.Fatalf("Now during timers %v, want %v", at, want)
	}
	if c.Now() != epoch.Add(3*time.Second) {
		t.Fatalf("Now = %v after advancing 3s", c.Now())
	}
	if c.Pending() != 1 {
		t.Fatalf("Pending = %d, want 1", c.Pending())
	}
	if next, ok := c.Next(); !ok || next != epoch.Add(4*time.Second) {
		t.Fatalf("Next = %v, %v", next, ok)
	}
}

func TestTimerStartedByTimerRunsInSameAdvance(t *testing.T) {
	c := fakeclock.New(epoch)
	fired := 0
	var tick func()
	tick = func() {
		fired++
		c.AfterFunc(time.Second, tick)
	}
	c.AfterFunc(time.Second, tick)
	c.Advance(5 * time.Second)
	if fired != 5 {
		t.Fatalf("fired %d times in 5s of a 1s ticker, want 5", fired)
	}
}

func TestStop(t *testing.T) {
	c := fakeclock.New(epoch)
	fired := false
	stop := c.AfterFunc(time.Second, func() { fired = true })
	if !stop() {
		t.Fatal("stop of a pending timer returned false")
	}
	if stop() {
		t.Fatal("second stop returned true")
	}
	c.Advance(time.Hour)
	if fired {
		t.Fatal("stopped timer fired")
	}
	stop = c.AfterFunc(time.Second, func() {})
	c.Advance(time.Second)
	if stop() {
		t.Fatal("stop of a fired timer returned true")
	}
}

func TestZeroDelayFiresWithoutAdvance(t *testing.T) {
	c := fakeclock.New(epoch)
	done := make(chan struct{})
	c.AfterFunc(0, func() { close(done) })
	<-done
}

func TestSetBackwardsKeepsTime(t *testing.T) {
	c := fakeclock.New(epoch)
	c.Set(epoch.Add(-time.Hour))
	if c.Now() != epoch {
		t.Fatalf("Now = %v, want %v", c.Now(), epoch)
	}
}

func TestAfter(t *testing.T) {
	c := fakeclock.New(epoch)
	ch := c.After(time.Minute)
	c.Advance(59 * time.Second)
	select {
	case <-ch:
		t.Fatal("After fired early")
	default:
	}
	c.Advance(2 * time.Second)
	if got := <-ch; got != epoch.Add(time.Minute) {
		t.Fatalf("After sent %v, want %v", got, epoch.Add(time.Minute))
	}
}

// The fake is meant for any package's Clock of this shape.
var _ interface {
	Now() time.Time
	After(time.Duration) <-chan time.Time
	AfterFunc(time.Duration, func()) func() bool
} = (*fakeclock.Clock)(nil)
