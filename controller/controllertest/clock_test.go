package controllertest

import (
	"testing"
	"time"

	"github.com/drover-io/drover/client/workqueue/fakeclock"
)

func TestTickerOnFakeClock(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := fakeclock.New(t0)
	tk := newTicker(clk, t0, time.Minute)
	assertNoTick(t, tk)
	clk.Advance(59 * time.Second)
	assertNoTick(t, tk)
	clk.Advance(time.Second)
	assertTick(t, tk, t0.Add(time.Minute))
	assertNoTick(t, tk)

	// Ticks that find the channel full are dropped, as time.Ticker's.
	clk.Advance(10 * time.Minute)
	assertTick(t, tk, t0.Add(2*time.Minute))
	assertNoTick(t, tk)
	clk.Advance(time.Minute)
	assertTick(t, tk, t0.Add(12*time.Minute))

	tk.Stop()
	tk.Stop()
	clk.Advance(time.Hour)
	assertNoTick(t, tk)
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers pending after Stop, want 0", n)
	}
}

func TestTickerMadeLateKeepsItsSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := fakeclock.New(t0)
	clk.Advance(150 * time.Second)
	sc := serverClock{c: clk, origin: t0}
	tk := sc.NewTicker(time.Minute).(*ticker)
	// The deadlines at 60s and 120s have passed: one tick is waiting.
	assertTick(t, tk, t0.Add(150*time.Second))
	assertNoTick(t, tk)
	clk.Advance(29 * time.Second)
	assertNoTick(t, tk)
	clk.Advance(time.Second)
	assertTick(t, tk, t0.Add(3*time.Minute))
	tk.Stop()
}

func assertTick(t *testing.T, tk *ticker, want time.Time) {
	t.Helper()
	select {
	case got := <-tk.C():
		if !got.Equal(want) {
			t.Fatalf("tick at %v, want %v", got, want)
		}
	default:
		t.Fatalf("no tick, want one at %v", want)
	}
}

func assertNoTick(t *testing.T, tk *ticker) {
	t.Helper()
	select {
	case got := <-tk.C():
		t.Fatalf("tick at %v, want none", got)
	default:
	}
}
