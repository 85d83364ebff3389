package nodelifecycle

import (
	"math"
	"time"
)

// This file is the pure core of the eviction rate limit: a token bucket per
// zone, and the rate a zone's health calls for.

// zoneState is the health of a zone, from the readiness of its nodes.
type zoneState int

const (
	zoneNormal            zoneState = iota // few nodes not ready
	zonePartialDisruption                  // many nodes not ready
	zoneFullDisruption                     // no node ready
)

// zoneHealth counts the ready and not-ready nodes of a zone.
type zoneHealth struct {
	ready, notReady int
}

// state returns the zone's state: full disruption when no node is ready
// (and some are not), partial when more than two nodes and at least
// threshold of them are not ready, normal otherwise.
func (h zoneHealth) state(threshold float64) zoneState {
	switch {
	case h.ready == 0 && h.notReady > 0:
		return zoneFullDisruption
	case h.notReady > 2 && float64(h.notReady)/float64(h.notReady+h.ready) >= threshold:
		return zonePartialDisruption
	}
	return zoneNormal
}

// bucket is a token bucket on an injected clock: up to burst tokens,
// refilled at rate per second. The zero bucket is full.
type bucket struct {
	tokens  float64
	last    time.Time
	started bool
}

// take takes a token at now if there is one, filling the bucket at rate
// (tokens per second) up to burst first. If there is none, it returns how
// long until there will be at this rate; with a rate of 0, ok is false
// and wait is 0 (only a change of rate will help).
func (b *bucket) take(now time.Time, rate float64, burst int) (ok bool, wait time.Duration) {
	capacity := float64(max(burst, 1))
	if !b.started {
		b.tokens, b.last, b.started = capacity, now, true
	}
	if now.After(b.last) {
		b.tokens = math.Min(capacity, b.tokens+rate*now.Sub(b.last).Seconds())
		b.last = now
	}
	if b.tokens >= 1-1e-9 { // float rounding must not cost a nanosecond's wait
		b.tokens = max(b.tokens-1, 0)
		return true, 0
	}
	if rate <= 0 {
		return false, 0
	}
	need := (1 - b.tokens) / rate
	return false, time.Duration(math.Round(need * float64(time.Second)))
}

// refund gives back a token taken for a taint that was not written, up to
// burst.
func (b *bucket) refund(burst int) {
	b.tokens = math.Min(float64(max(burst, 1)), b.tokens+1)
}
