package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/drover-io/drover/api"
)

// Backoff says how often, and how far apart, RetryOnConflict and OnError
// call their function.
type Backoff struct {
	// Steps is the most calls, the first included. Less than 1 means 1.
	Steps int
	// Duration is the wait after the first failure.
	Duration time.Duration
	// Factor multiplies the wait after each failure; below 1 means 1.
	Factor float64
	// Jitter adds up to Jitter·wait at random to each wait.
	Jitter float64
	// Cap, if positive, caps the wait.
	Cap time.Duration
}

// DefaultRetry is the backoff for RetryOnConflict in a controller: a few
// quick tries, as conflicts resolve as soon as the object is read again.
var DefaultRetry = Backoff{Steps: 5, Duration: 10 * time.Millisecond, Factor: 1, Jitter: 0.1}

// DefaultBackoff backs off faster, for errors that take longer to clear.
var DefaultBackoff = Backoff{Steps: 4, Duration: 10 * time.Millisecond, Factor: 5, Jitter: 0.1}

// RetryOnConflict calls fn until it returns something other than a
// Conflict (api.ErrConflict), at most backoff.Steps times, waiting between
// calls; fn must read the object again each time, and apply its change to
// the fresh copy:
//
//	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
//		var d api.Deployment
//		if err := c.Get(ctx, "default", "web", &d); err != nil {
//			return err
//		}
//		d.Spec.Replicas = ptr(3)
//		return c.Update(ctx, &d)
//	})
//
// It returns fn's last error (a Conflict, if every call had one), or ctx's
// error, wrapping the last Conflict, if ctx ends while it waits.
func RetryOnConflict(ctx context.Context, backoff Backoff, fn func() error) error {
	return OnError(ctx, backoff, func(err error) bool { return errors.Is(err, api.ErrConflict) }, fn)
}

// OnError calls fn until it succeeds or returns an error for which
// retriable is false, at most backoff.Steps times, waiting between calls.
func OnError(ctx context.Context, backoff Backoff, retriable func(error) bool, fn func() error) error {
	steps := max(backoff.Steps, 1)
	wait := backoff.Duration
	for step := 1; ; step++ {
		err := fn()
		if err == nil || !retriable(err) || step >= steps {
			return err
		}
		d := wait
		if backoff.Jitter > 0 && d > 0 {
			d += time.Duration(rand.Float64() * backoff.Jitter * float64(d))
		}
		if backoff.Cap > 0 {
			d = min(d, backoff.Cap)
		}
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("client: gave up retrying: %w (last error: %w)", ctx.Err(), err)
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return fmt.Errorf("client: gave up retrying: %w (last error: %w)", ctx.Err(), err)
		}
		if backoff.Factor > 1 {
			wait = time.Duration(float64(wait) * backoff.Factor)
		}
	}
}
