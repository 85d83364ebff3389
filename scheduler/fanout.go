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
	// use is the mode in use; every is 0 until the first phase planned.
	use mode
	// trying says a trial of the other mode is under way: trial numbers
	// it, and samples counts the results it has had. A result of an
	// earlier trial, or of a phase in use before a switch, is dropped.
	trying         bool
	trial, samples int
	// until is how many phases in use come before the next trial;
	// every is the interval it is reset to.
	until, every int
}

// ticket is what plan hands a phase and done takes back.
type ticket struct {
	mode    mode
	planned bool // false: too small to spread, not measured
	trial   int  // the trial the phase is part of; 0: a phase in use
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

// plan returns the ticket and the workers for a phase over n items with
// at most max workers. A phase of fewer than minSpread items runs serially
// and is not measured.
func (fo *fanOut) plan(max, n int) (ticket, int) {
	if max <= 1 || n < minSpread {
		return ticket{mode: serial}, 1
	}
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if fo.every == 0 {
		// First use: spread, measured over a first interval, then the
		// first trial of serial.
		fo.use, fo.every, fo.until = spread, minTrialEvery, minTrialEvery
	}
	if !fo.trying {
		if fo.until > 0 {
			fo.until--
			return ticket{mode: fo.use, planned: true}, fo.use.workers(max)
		}
		// The other mode's average is from its last trial, long ago:
		// this trial measures it afresh.
		fo.trying, fo.samples, fo.cost[1-fo.use] = true, 0, 0
		fo.trial++
	}
	// Until the trial has its results (a phase that fails gives none),
	// the phases are the trial's.
	m := 1 - fo.use
	return ticket{mode: m, planned: true, trial: fo.trial}, m.workers(max)
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

// done records that the phase of ticket t took took over n nodes (the
// nodes the cycle needed: Filter stops once it has enough feasible
// nodes). A phase that failed is not recorded.
func (fo *fanOut) done(t ticket, n int, took time.Duration) {
	if !t.planned || n <= 0 {
		return
	}
	per := took / time.Duration(n)
	fo.mu.Lock()
	defer fo.mu.Unlock()
	switch {
	case t.trial == 0 && t.mode == fo.use:
	case t.trial != 0 && fo.trying && t.trial == fo.trial:
		fo.samples++
	default:
		return // a phase of an earlier trial, or in use before a switch
	}
	if c := fo.cost[t.mode]; c == 0 {
		fo.cost[t.mode] = per
	} else {
		fo.cost[t.mode] = c + time.Duration(costWeight*float64(per-c))
	}
	if t.trial == 0 || fo.samples < trialPhases {
		return
	}
	// The trial is over: keep the better mode.
	fo.trying = false
	if fo.cost[t.mode] < fo.cost[fo.use] {
		fo.use, fo.every = t.mode, minTrialEvery
	} else {
		fo.every = min(2*fo.every, maxTrialEvery)
	}
	fo.until = fo.every
}

// state returns the mode in use (serial before any phase was planned:
// until then every phase runs serially) and each mode's average time per
// node, for tests and metrics.
func (fo *fanOut) state() (mode, [numModes]time.Duration) {
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if fo.every == 0 {
		return serial, fo.cost
	}
	return fo.use, fo.cost
}
