package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/workqueue"
)

// Defaults of Options.
const (
	DefaultMaxConcurrentReconciles = 1
	DefaultCacheSyncTimeout        = 2 * time.Minute
)

// ErrAlreadyRunning is returned by Controller.Start while another call of
// Start on the same controller has not returned.
var ErrAlreadyRunning = errors.New("controller: already running")

// Options configures a Controller. The zero Options is valid.
type Options struct {
	// MaxConcurrentReconciles is the number of worker goroutines, and so
	// the most Reconcile calls running at once (never two for one
	// Request). 0 means DefaultMaxConcurrentReconciles.
	MaxConcurrentReconciles int
	// RateLimiter paces the retries of failed Requests. nil means
	// workqueue.DefaultRateLimiter on Clock, made afresh on each Start.
	RateLimiter workqueue.RateLimiter[Request]
	// Clock drives RequeueAfter, the retries and the reconcile durations.
	// nil means the wall clock. Tests pass a fakeclock.Clock.
	Clock workqueue.Clock
	// Logger receives the controller's log lines, with controller=<name>.
	// nil means discard.
	Logger *slog.Logger
	// Registerer, if set, receives the controller's metrics
	// (drover_controller_*, labelled controller=<name>) and its queue's
	// (drover_workqueue_*, labelled name=<name>).
	Registerer prometheus.Registerer
	// NeedLeaderElection says whether a Manager with leader election runs
	// the controller only while it leads. nil means true; set it to a
	// pointer to false for a controller every replica must run (one that
	// only reads, or keeps a local state).
	NeedLeaderElection *bool
	// CacheSyncTimeout bounds how long Start waits for the informers of
	// its sources to sync before it fails. 0 means DefaultCacheSyncTimeout.
	CacheSyncTimeout time.Duration
}

// Validate reports the first field of o that is wrong.
func (o Options) Validate() error {
	switch {
	case o.MaxConcurrentReconciles < 0:
		return fmt.Errorf("controller: Options.MaxConcurrentReconciles is %d: must be positive, or 0 for the default (%d)", o.MaxConcurrentReconciles, DefaultMaxConcurrentReconciles)
	case o.CacheSyncTimeout < 0:
		return fmt.Errorf("controller: Options.CacheSyncTimeout is %v: must be positive, or 0 for the default (%v)", o.CacheSyncTimeout, DefaultCacheSyncTimeout)
	}
	return nil
}

// Controller feeds a Reconciler: event sources (informers, through
// predicates and map functions) queue Requests, and worker goroutines take
// them from the queue and call Reconcile, retrying failures with backoff.
//
// Most programs get controllers from a Builder (NewControllerManagedBy),
// which also adds them to a Manager. A Controller may also be used on its
// own: New, Watch, then Start.
//
// Its methods are safe for concurrent use. Start may be called again after
// it has returned (a manager does so each time it regains leadership): each
// Start uses a fresh queue, filled by replaying the sources' caches.
type Controller struct {
	name    string
	r       Reconciler
	opts    Options
	log     *slog.Logger
	clock   workqueue.Clock
	metrics *metrics

	mu      sync.Mutex
	sources []*source

	running atomic.Bool
	run     atomic.Pointer[runState] // nil when not running
}

// runState is what one Start shares with the event handlers.
type runState struct {
	ctx context.Context
	q   *workqueue.Queue[Request]
}

// source is one informer watched through a MapFunc and predicates.
type source struct {
	inf   *informer.Informer
	reg   informer.Registration
	mapFn MapFunc
	preds []Predicate
}

// New returns a controller named name (which labels its metrics and
// logs) that calls r. It does nothing until Start.
func New(name string, r Reconciler, opts Options) (*Controller, error) {
	if name == "" {
		return nil, errors.New("controller: the name is empty: name the controller, such as \"deployment\"")
	}
	if r == nil {
		return nil, fmt.Errorf("controller %q: the Reconciler is nil", name)
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("controller %q: %w", name, err)
	}
	if opts.MaxConcurrentReconciles == 0 {
		opts.MaxConcurrentReconciles = DefaultMaxConcurrentReconciles
	}
	if opts.CacheSyncTimeout == 0 {
		opts.CacheSyncTimeout = DefaultCacheSyncTimeout
	}
	if opts.Clock == nil {
		opts.Clock = workqueue.RealClock{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(name, opts.Registerer)
	if err != nil {
		return nil, err
	}
	m.workers.Set(float64(opts.MaxConcurrentReconciles))
	return &Controller{
		name: name, r: r, opts: opts, clock: opts.Clock, metrics: m,
		log: log.With("controller", name),
	}, nil
}

// Name returns the controller's name.
func (c *Controller) Name() string { return c.name }

// NeedLeaderElection reports Options.NeedLeaderElection (true by default),
// for a Manager.
func (c *Controller) NeedLeaderElection() bool {
	return c.opts.NeedLeaderElection == nil || *c.opts.NeedLeaderElection
}

// Watch makes the changes of inf's objects that pass every predicate queue
// the Requests mapFn returns for them. It may be called before or during
// Start; the handler it adds to inf stays for the informer's life.
func (c *Controller) Watch(inf *informer.Informer, mapFn MapFunc, preds ...Predicate) error {
	if inf == nil || mapFn == nil {
		return fmt.Errorf("controller %q: Watch needs an informer and a MapFunc", c.name)
	}
	s := &source{inf: inf, mapFn: mapFn, preds: preds}
	reg, err := inf.AddHandler(informer.HandlerFuncs{
		AddFunc:    func(obj api.Object, _ bool) { c.handle(s, Event{Type: Create, Object: obj}) },
		UpdateFunc: func(old, obj api.Object) { c.handle(s, Event{Type: Update, Object: obj, Old: old}) },
		DeleteFunc: func(obj api.Object) { c.handle(s, Event{Type: Delete, Object: obj}) },
	})
	if err != nil {
		return fmt.Errorf("controller %q: %w", c.name, err)
	}
	s.reg = reg
	c.mu.Lock()
	c.sources = append(c.sources, s)
	c.mu.Unlock()
	return nil
}

// handle turns one event of s into Requests on the running queue; while
// the controller is not running, events are dropped (Start replays the
// caches).
func (c *Controller) handle(s *source, ev Event) {
	rs := c.run.Load()
	if rs == nil {
		return
	}
	c.dispatch(rs, s, ev)
}

func (c *Controller) dispatch(rs *runState, s *source, ev Event) {
	for _, p := range s.preds {
		if !p.Allow(ev) {
			return
		}
	}
	reqs := s.mapFn(rs.ctx, ev.Object)
	if ev.Old != nil {
		// Dedupe here, not in the queue: a worker may take the first Add
		// before the second, which would then reconcile it twice.
		for _, req := range s.mapFn(rs.ctx, ev.Old) {
			if !slices.Contains(reqs, req) {
				reqs = append(reqs, req)
			}
		}
	}
	for _, req := range reqs {
		rs.q.Add(req)
	}
}

// Enqueue queues req, as an event would, and reports whether the
// controller was running to take it: while it is not (before Start has
// synced its sources, after it has stopped), req is dropped. It may be
// called from any goroutine.
func (c *Controller) Enqueue(req Request) bool {
	rs := c.run.Load()
	if rs == nil {
		return false
	}
	rs.q.Add(req)
	return true
}

// Start waits for the caches of its sources to sync, queues a Request for
// every object in them that passes the predicates, and runs
// MaxConcurrentReconciles workers until ctx ends. Then it stops taking
// Requests, waits for the Reconcile calls in flight to return (their ctx
// is cancelled too), drops what is still queued, and returns nil.
//
// It fails if the caches do not sync within Options.CacheSyncTimeout, or
// the queue's metrics cannot be registered; it returns ErrAlreadyRunning if
// another Start has not returned. It is called by a Manager, from one
// goroutine, once per term of leadership.
func (c *Controller) Start(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return fmt.Errorf("controller %q: %w", c.name, ErrAlreadyRunning)
	}
	defer c.running.Store(false)

	c.mu.Lock()
	sources := append([]*source(nil), c.sources...)
	c.mu.Unlock()
	if err := c.waitForSync(ctx, sources); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}

	q, err := workqueue.New(workqueue.Config[Request]{
		Name: c.name, Registerer: c.opts.Registerer, Clock: c.clock, RateLimiter: c.opts.RateLimiter,
	})
	if err != nil {
		return fmt.Errorf("controller %q: %w", c.name, err)
	}
	rs := &runState{ctx: ctx, q: q}
	c.run.Store(rs)
	// Events that arrived while the controller was not running were
	// dropped: queue everything the caches hold, as creates.
	for _, s := range sources {
		cache := s.inf.Cache()
		for _, key := range cache.Keys() {
			if obj, ok := cache.Get(key); ok {
				c.dispatch(rs, s, Event{Type: Create, Object: obj})
			}
		}
	}

	c.log.Info("starting workers", "workers", c.opts.MaxConcurrentReconciles)
	var wg sync.WaitGroup
	for range c.opts.MaxConcurrentReconciles {
		wg.Go(func() { c.worker(ctx, q) })
	}
	<-ctx.Done()
	c.log.Info("stopping: waiting for in-flight reconciles")
	c.run.Store(nil)
	q.ShutDown()
	wg.Wait()
	c.log.Info("stopped")
	return nil
}

func (c *Controller) waitForSync(ctx context.Context, sources []*source) error {
	if len(sources) == 0 {
		return nil
	}
	checks := make([]func() bool, len(sources))
	for i, s := range sources {
		// The handler's sync, not just the informer's: once the handler
		// has been given the first list (dropped, as the controller was
		// not running), replaying the cache queues each object once.
		checks[i] = s.reg.HasSynced
	}
	sctx, cancel := context.WithTimeout(ctx, c.opts.CacheSyncTimeout)
	defer cancel()
	if !informer.WaitForSync(sctx, checks...) && ctx.Err() == nil {
		return fmt.Errorf("controller %q: the caches of its sources did not sync within %v", c.name, c.opts.CacheSyncTimeout)
	}
	return nil
}

// worker takes Requests from q until q shuts down or ctx ends.
func (c *Controller) worker(ctx context.Context, q *workqueue.Queue[Request]) {
	for {
		req, err := q.Get(ctx)
		if err != nil {
			return
		}
		if ctx.Err() != nil {
			q.Done(req) // stopping: leave it
			return
		}
		c.process(ctx, q, req)
	}
}

// process reconciles req once and decides when it comes back.
func (c *Controller) process(ctx context.Context, q *workqueue.Queue[Request], req Request) {
	defer q.Done(req)
	log := c.log.With("request", req.String())
	c.metrics.active.Inc()
	start := c.clock.Now()
	res, err := c.reconcile(withLogger(ctx, log), req)
	c.metrics.duration.Observe(c.clock.Now().Sub(start).Seconds())
	c.metrics.active.Dec()

	// The counter moves last, after the queue knows what comes next, so
	// whoever sees it move sees the retry scheduled.
	var pe *panicError
	var result string
	switch {
	case errors.As(err, &pe):
		result = ResultPanic
		log.Error("reconcile panicked", "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
		q.AddRateLimited(req)
	case err != nil && IsTerminal(err):
		result = ResultTerminalError
		log.Error("reconcile failed with a terminal error; not retrying", "err", err)
		q.Forget(req)
	case err != nil && onlyConflicts(err):
		// Another writer (often this controller's own last write, not yet
		// in the cache) got there first: routine, retried with a fresher
		// cache.
		result = ResultConflict
		log.Debug("reconcile hit a write conflict (the object changed since the cache had it); retrying", "err", err, "retries", q.NumRequeues(req))
		q.AddRateLimited(req)
	case err != nil:
		result = ResultError
		if ctx.Err() == nil {
			log.Error("reconcile failed; retrying", "err", err, "retries", q.NumRequeues(req))
		}
		q.AddRateLimited(req)
	case res.RequeueAfter > 0:
		result = ResultRequeueAfter
		q.Forget(req)
		q.AddAfter(req, res.RequeueAfter)
	case res.Requeue:
		result = ResultRequeue
		q.AddRateLimited(req)
	default:
		result = ResultSuccess
		q.Forget(req)
	}
	c.metrics.total.WithLabelValues(result).Inc()
}

// onlyConflicts reports whether err is an optimistic-concurrency conflict
// (a 409 Conflict StatusError, however wrapped) and, where it joins
// several errors, whether every one of them is.
func onlyConflicts(err error) bool {
	switch e := err.(type) {
	case *api.StatusError:
		return e.Status.Reason == api.StatusReasonConflict
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		for _, e := range errs {
			if !onlyConflicts(e) {
				return false
			}
		}
		return len(errs) > 0
	case interface{ Unwrap() error }:
		return onlyConflicts(e.Unwrap())
	}
	return false
}

// reconcile calls the Reconciler, turning a panic into a *panicError.
func (c *Controller) reconcile(ctx context.Context, req Request) (res Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = Result{}, &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return c.r.Reconcile(ctx, req)
}

// panicError is a recovered panic of Reconcile.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("reconcile panicked: %v", e.value) }

type loggerKey struct{}

func withLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// LoggerFrom returns the logger of the controller that called Reconcile
// with ctx, with the attributes controller=<name> and request=<ns/name>;
// or a logger that discards, for a ctx that did not come from a
// Controller.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
