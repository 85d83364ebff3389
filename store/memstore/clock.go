package memstore

import "time"

// Clock is where a Store gets its tickers from. Tests inject one that ticks
// when they say so, instead of waiting for real time to pass.
type Clock interface {
	// NewTicker returns a Ticker that ticks every d, like time.NewTicker.
	// It is called once, by New.
	NewTicker(d time.Duration) Ticker
}

// Ticker is a time.Ticker as a Clock makes it.
type Ticker interface {
	// C returns the channel the ticks arrive on.
	C() <-chan time.Time
	// Stop turns the ticker off. It is called once, by Close.
	Stop()
}

// SystemClock returns the Clock of package time.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) NewTicker(d time.Duration) Ticker { return systemTicker{time.NewTicker(d)} }

type systemTicker struct{ t *time.Ticker }

func (t systemTicker) C() <-chan time.Time { return t.t.C }
func (t systemTicker) Stop()               { t.t.Stop() }
