package scheduler

import (
	"sync"
	"time"
)

// fanOut decides, for one phase of the cycle (Filter or Score across the
// nodes), whether the phase runs on the cycle's goroutine alone or is
// spread over Parallelism goroutines: whichever has lately taken less time
// per node.
//
// Spreading is not free: it wakes other threads and moves the nodes' data
// between the cores' caches. On a large, idle machine it makes the phase
// several times faster; on a small or busy one it can make it slower (on
// the 2-core build machine every default-profile cycle at 5,000 nodes is
// 1.1–1.8 times slower spread over both cores, with the work per cycle from
// 0.2 to 1.5 ms). No fixed threshold is right on both, so fanOut measures.
// The mode in use keeps a moving average of its time per node; the other
// is tried again now and then, measured afresh over trialPhases phases in
// a row, and replaces the mode in use if it did better. A trial that
// loses doubles the interval to the next one (from minTrialEvery up to
// maxTrialEvery phases), so that on a machine where one mode is much
// faster the other costs next to nothing; a trial that wins starts the
// interval over, so that a change (another process taking a core, the
// cluster growing) is noticed within a few thousand phases.
type fanOut struct {
	mu sync.Mutex
	// cost is each mode's average time per node; 0: not measured yet.
	cost [numModes]time.Duration
	// use is the mode in use.
	use mode
	// trial is how many phases of the current trial of the other mode
	// are left to hand out; 0: none under way.
	trial int
	// until is how many phases in use come before the next trial;
	// every is the interval it is reset to.
	until, every int
}

// mode is how a phase runs.
type mode int

const (
	serial mode = iota // on the cycle's goroutine
	spread             // over the Parallelism goroutines
	numModes
)

// The trials' schedule (see fanOut).
const (
	trialPhases   = 4
	minTrialEvery = 8
	maxTrialEvery = 1024
)

// costWeight is the weight of a new measurement in a mode's average.
const costWeight = 0.25

// minSpread is the fewest items a phase must have to be spread: two
// full chunks.
const minSpread = 2 * maxChunk

// plan returns the mode and the workers for a phase over n items with at
// most max workers. A phase of fewer than minSpread items runs serially
// and is not measured (planned is false).
func (fo *fanOut) plan(max, n int) (m mode, workers int, planned bool) {
	if max <= 1 || n < minSpread {
		return serial, 1, false
	}
	fo.mu.Lock()
	defer fo.mu.Unlock()
	fo.start()
	if fo.trial == 0 {
		if fo.until > 0 {
			fo.until--
			return fo.use, fo.use.workers(max), true
		}
		// The other mode's average is from its last trial, long ago:
		// this trial measures it afresh.
		fo.trial, fo.cost[1-fo.use] = trialPhases, 0
	}
	fo.trial--
	m = 1 - fo.use
	return m, m.workers(max), true
}

// start sets a fanOut never used up: spread is in use, and the first
// trial of serial starts at once. fo.mu is held.
func (fo *fanOut) start() {
	if fo.every == 0 {
		fo.use, fo.every = spread, minTrialEvery
	}
}

// String returns the mode's name, as the metrics label it.
func (m mode) String() string {
	if m == serial {
		return "serial"
	}
	return "spread"
}

// workers returns how many goroutines mode m runs a phase on.
func (m mode) workers(max int) int {
	if m == serial {
		return 1
	}
	return max
}

// done records that a phase planned in mode m took took over n items (the
// items it got to: Filter stops once it has enough feasible nodes).
func (fo *fanOut) done(m mode, n int, took time.Duration) {
	if n <= 0 {
		return
	}
	per := took / time.Duration(n)
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if c := fo.cost[m]; c == 0 {
		fo.cost[m] = per
	} else {
		fo.cost[m] = c + time.Duration(costWeight*float64(per-c))
	}
	if m == fo.use || fo.trial > 0 {
		return
	}
	// The trial is over: keep the better mode.
	if fo.cost[fo.use] == 0 || fo.cost[m] < fo.cost[fo.use] {
		fo.use, fo.every = m, minTrialEvery
	} else {
		fo.every = min(2*fo.every, maxTrialEvery)
	}
	fo.until = fo.every
}

// state returns the mode in use and each mode's average time per node,
// for tests and metrics.
func (fo *fanOut) state() (mode, [numModes]time.Duration) {
	fo.mu.Lock()
	defer fo.mu.Unlock()
	fo.start()
	return fo.use, fo.cost
}
