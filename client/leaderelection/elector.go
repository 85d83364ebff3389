package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// Elector is one candidate for the leadership of one Lease. Its methods
// are safe for concurrent use; Run runs once at a time.
type Elector struct {
	cfg     Config
	leases  client.ResourceClient[api.Lease, *api.Lease]
	log     *slog.Logger
	clock   Clock
	metrics *metrics
	seconds int32 // leaseDurationSeconds written

	running atomic.Bool
	leader  atomic.Bool

	mu     sync.Mutex
	holder string // last observed holder
	idle   bool   // Run is blocked until one of its alarms fires (for tests)

	// Owned by Run's goroutine.
	obs     observation
	failing bool // the last try failed; the next failure is logged at debug level
}

// New returns an Elector for cfg. It makes no request.
func New(cfg Config) (*Elector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	e := &Elector{
		cfg:     cfg,
		leases:  client.Resource[api.Lease](cfg.Client),
		log:     cfg.Logger.With("lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity),
		clock:   cfg.Clock,
		seconds: leaseSeconds(cfg.LeaseDuration),
	}
	if cfg.Registerer != nil {
		m, err := newMetrics(cfg.Registerer, cfg.Namespace+"/"+cfg.Name)
		if err != nil {
			return nil, err
		}
		e.metrics = m
	}
	return e, nil
}

// IsLeader reports whether this candidate leads: between a successful
// acquisition and the loss, release or end of the leadership. It turns
// false the moment the RenewDeadline passes, before lead has returned.
func (e *Elector) IsLeader() bool { return e.leader.Load() }

// Leader returns the holder of the lease as last observed: this
// candidate's identity while it leads, "" if the lease is free, unknown or
// does not exist.
func (e *Elector) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.holder
}

// Run competes for the lease until ctx ends. Each time it becomes the
// leader it calls lead with a context that ends when the leadership is
// lost or ctx ends, waits for lead to return, and competes again. When ctx
// ends it returns, after lead has returned and the lease, if held, has
// been released. It returns nil, or the error of the release (the lease
// then expires after LeaseDuration). If lead returns on its own while
// this candidate leads, the lease is released and Run competes again after
// a RetryPeriod, giving the others a chance.
//
// lead runs on a goroutine of its own and must return soon after its
// context ends (see the package documentation).
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) error {
	if lead == nil {
		return errors.New("leaderelection: Run: lead is nil: a function to run while leading is required")
	}
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("leaderelection: Run: already running: one Run at a time per Elector")
	}
	defer e.running.Store(false)
	wait := false
	for {
		sent, ok := e.acquire(ctx, wait)
		if !ok {
			return nil
		}
		released, err := e.lead(ctx, lead, sent)
		if ctx.Err() != nil {
			return err
		}
		wait = released
	}
}

// acquire tries to take the lease, at once unless wait, then every
// RetryPeriod plus jitter, until it holds it or ctx ends. It returns when
// the successful write was sent, and false if ctx ended.
func (e *Elector) acquire(ctx context.Context, wait bool) (time.Time, bool) {
	for {
		if wait {
			a := e.newAlarm(jitter(e.cfg.RetryPeriod), nil)
			e.block(a)
			select {
			case <-ctx.Done():
				e.unblock()
				a.Stop()
				return time.Time{}, false
			case <-a.C:
				e.unblock()
			}
		}
		wait = true
		if ctx.Err() != nil {
			return time.Time{}, false
		}
		sent, held, err := e.try(ctx, false)
		e.report("acquire", err)
		if held {
			return sent, true
		}
	}
}

// lead runs one term of leadership that began with a write sent at sent:
// it runs lead and renews the lease until lead has returned or the
// leadership is lost. It reports whether it released the lease, and the
// release's error.
func (e *Elector) lead(ctx context.Context, lead func(context.Context), sent time.Time) (bool, error) {
	leadCtx, cancelLead := context.WithCancel(ctx)
	defer cancelLead()
	// Requests outlive ctx, so that the lease stays renewed while lead
	// returns and can be released after; they end with the leadership.
	reqCtx, cancelReq := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReq()

	e.leader.Store(true)
	e.metrics.leading(true)
	e.metrics.event("acquired")
	e.log.Info("leaderelection: became the leader")

	lost := make(chan struct{})
	var loseOnce sync.Once
	lose := func() {
		loseOnce.Do(func() {
			e.leader.Store(false)
			e.metrics.leading(false)
			close(lost) // first: whoever sees lead return sees lost
			cancelLead()
			cancelReq()
		})
	}
	deadline := e.newAlarm(e.untilDeadline(sent), lose)
	defer func() { deadline.Stop() }()

	leadDone := make(chan struct{})
	go func() {
		defer close(leadDone)
		lead(leadCtx)
	}()

	why := "the renew deadline passed"
	for {
		select {
		case <-lost:
		default:
			renew := e.newAlarm(e.cfg.RetryPeriod, nil)
			e.block(renew, deadline)
			select {
			case <-lost:
			case <-leadDone:
			case <-renew.C:
			}
			e.unblock()
			renew.Stop()
		}
		select { // lost first: when it is, lead returns too
		case <-lost:
			e.metrics.event("lost")
			e.log.Info("leaderelection: stopped leading: " + why)
			<-leadDone
			return false, nil
		default:
		}
		select {
		case <-leadDone:
			return true, e.endTerm(ctx, reqCtx, deadline, lose)
		default:
		}
		sent, held, err := e.try(reqCtx, true)
		e.report("renew", err)
		switch {
		case held:
			if !deadline.Stop() {
				continue // lost meanwhile
			}
			deadline = e.newAlarm(e.untilDeadline(sent), lose)
		case err == nil:
			why = fmt.Sprintf("%q holds the lease", holder(e.obs.lease))
			deadline.Stop()
			lose()
		case errors.Is(err, api.ErrNotFound):
			// The lease was deleted: nothing holds this candidate's
			// leadership any more, and the others may create a new one.
			why = "the lease was deleted"
			deadline.Stop()
			lose()
		}
	}
}

// endTerm ends a term whose lead has returned while this candidate still
// leads: it releases the lease, before the deadline.
func (e *Elector) endTerm(ctx, reqCtx context.Context, deadline *alarm, lose func()) error {
	err := e.release(reqCtx)
	deadline.Stop()
	e.leader.Store(false)
	e.metrics.leading(false)
	lose()
	switch {
	case err != nil:
		e.log.Warn("leaderelection: stopped leading; could not release the lease, it expires after its duration", "err", err)
		return fmt.Errorf("leaderelection: release lease %s/%s: %w", e.cfg.Namespace, e.cfg.Name, err)
	case ctx.Err() != nil:
		e.log.Info("leaderelection: stopped leading on shutdown; released the lease")
	default:
		e.log.Info("leaderelection: stopped leading: lead returned; released the lease")
	}
	e.metrics.event("released")
	return nil
}

// untilDeadline is how long from now until RenewDeadline has passed since
// sent.
func (e *Elector) untilDeadline(sent time.Time) time.Duration {
	return sent.Add(e.cfg.RenewDeadline).Sub(e.clock.Now())
}

// try makes one attempt to take or renew the lease. It returns when the
// successful write was sent (by the local clock) and whether this
// candidate holds the lease after it. leading says it is the leader: it
// then writes the version it holds without reading it first, and reads
// only on a Conflict. Someone else holding the lease is not an error.
func (e *Elector) try(ctx context.Context, leading bool) (time.Time, bool, error) {
	if leading && holder(e.obs.lease) == e.cfg.Identity {
		now := e.clock.Now()
		spec, _ := decide(e.obs, e.cfg.Identity, now, e.seconds, e.cfg.LeaseDuration)
		if ok, err := e.write(ctx, e.obs.lease, spec, now); ok || !errors.Is(err, api.ErrConflict) {
			return now, ok, err
		}
	}
	got, err := e.leases.Get(ctx, e.cfg.Namespace, e.cfg.Name)
	now := e.clock.Now()
	if errors.Is(err, api.ErrNotFound) {
		if !mayCreate(e.obs, e.cfg.Identity, now, e.cfg.LeaseDuration) {
			// Keep the observation: its time is when the holder was last
			// seen, from which its lease expires.
			e.mu.Lock()
			e.holder = ""
			e.mu.Unlock()
			return now, false, nil
		}
		e.see(nil, now)
		l := &api.Lease{
			ObjectMeta: api.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.cfg.Name},
			Spec:       createSpec(e.cfg.Identity, now, e.seconds),
		}
		created, err := e.leases.Create(ctx, l)
		if errors.Is(err, api.ErrAlreadyExists) {
			return now, false, nil // another candidate created it; read it next time
		}
		if err != nil {
			return now, false, err
		}
		e.see(created, now)
		return now, true, nil
	}
	if err != nil {
		return now, false, err
	}
	e.see(got, now)
	spec, ok := decide(e.obs, e.cfg.Identity, now, e.seconds, e.cfg.LeaseDuration)
	if !ok {
		return now, false, nil
	}
	ok, err = e.write(ctx, got, spec, now)
	if errors.Is(err, api.ErrConflict) {
		return now, false, nil // another candidate wrote it; read it next time
	}
	return now, ok, err
}

// write updates cur with spec, compare-and-swap on cur's resourceVersion,
// and reports whether it did.
func (e *Elector) write(ctx context.Context, cur *api.Lease, spec api.LeaseSpec, now time.Time) (bool, error) {
	l := cur.DeepCopy()
	l.Spec = spec
	got, err := e.leases.Update(ctx, l)
	if err != nil {
		return false, err
	}
	e.see(got, now)
	return true, nil
}

// release gives up the lease this candidate holds.
func (e *Elector) release(ctx context.Context) error {
	if holder(e.obs.lease) != e.cfg.Identity {
		return nil
	}
	now := e.clock.Now()
	_, err := e.write(ctx, e.obs.lease, releaseSpec(e.obs.lease.Spec, now), now)
	if errors.Is(err, api.ErrConflict) {
		return nil // someone else wrote it: not ours to release any more
	}
	return err
}

// see records a version of the lease read or written at now.
func (e *Elector) see(l *api.Lease, now time.Time) {
	e.obs = e.obs.observe(l, now)
	h := holder(l)
	e.mu.Lock()
	old := e.holder
	e.holder = h
	e.mu.Unlock()
	if h != old && h != "" && h != e.cfg.Identity {
		e.log.Info("leaderelection: new leader observed", "leader", h)
	}
}

// report logs the error of a try: the first of a run of failures as a
// warning, the others at debug level.
func (e *Elector) report(what string, err error) {
	switch {
	case err == nil:
		if e.failing {
			e.log.Info("leaderelection: reached the lease again")
		}
		e.failing = false
	case !e.failing:
		e.failing = true
		e.log.Warn("leaderelection: "+what+" failed; retrying", "err", err)
	default:
		e.log.Debug("leaderelection: "+what+" failed; retrying", "err", err)
	}
}

// jitter returns a random duration in [d, d·(1+JitterFactor)].
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Float64()*JitterFactor*float64(d))
}

// alarm is a clock timer whose firing wakes Run.
type alarm struct {
	C       chan struct{} // closed once it has fired, after its function
	stop    func() bool
	stopped bool // Stop cancelled it
	fired   bool // guarded by Elector.mu
}

// newAlarm returns an alarm that fires after d, calling f (if not nil).
func (e *Elector) newAlarm(d time.Duration, f func()) *alarm {
	a := &alarm{C: make(chan struct{})}
	a.stop = e.clock.AfterFunc(d, func() {
		e.mu.Lock()
		a.fired, e.idle = true, false
		e.mu.Unlock()
		if f != nil {
			f()
		}
		close(a.C)
	})
	return a
}

// Stop cancels a, or waits for it to have fired; it reports whether it
// cancelled it.
// Only Run's goroutine calls it; calling it again is harmless.
func (a *alarm) Stop() bool {
	if a.stopped {
		return true
	}
	if a.stop() {
		a.stopped = true
		return true
	}
	<-a.C
	return false
}

// block marks Run as blocked until one of the alarms it waits for fires,
// unless one has fired already. Tests read the mark to know that Run has
// done what the last move of their fake clock caused.
func (e *Elector) block(waits ...*alarm) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range waits {
		if a.fired {
			return
		}
	}
	e.idle = true
}

// unblock marks Run as awake.
func (e *Elector) unblock() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.idle = false
}
