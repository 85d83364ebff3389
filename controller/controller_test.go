package controller_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func reconcileTotal(t *testing.T, reg prometheus.Gatherer, name, result string) float64 {
	t.Helper()
	return metricValue(t, reg, "drover_controller_reconcile_total", map[string]string{"controller": name, "result": result})
}

func TestRequestString(t *testing.T) {
	assert.Equal(t, "default/web", controller.Request{Namespace: "default", Name: "web"}.String())
	assert.Equal(t, "node-1", controller.Request{Name: "node-1"}.String())
}

func TestTerminalError(t *testing.T) {
	base := errors.New("spec.replicas is negative")
	err := fmt.Errorf("reconcile default/web: %w", controller.TerminalError(base))
	assert.True(t, controller.IsTerminal(err))
	assert.ErrorIs(t, err, base)
	assert.ErrorIs(t, err, controller.TerminalError(nil))
	assert.False(t, controller.IsTerminal(base))
	assert.False(t, controller.IsTerminal(nil))
	assert.Equal(t, "reconcile default/web: terminal error: spec.replicas is negative", err.Error())
}

func TestNewValidates(t *testing.T) {
	r := controller.Func(func(context.Context, controller.Request) (controller.Result, error) { return controller.Result{}, nil })
	_, err := controller.New("", r, controller.Options{})
	assert.ErrorContains(t, err, "name is empty")
	_, err = controller.New("x", nil, controller.Options{})
	assert.ErrorContains(t, err, "Reconciler is nil")
	_, err = controller.New("x", r, controller.Options{MaxConcurrentReconciles: -1})
	assert.ErrorContains(t, err, "MaxConcurrentReconciles is -1")
	reg := prometheus.NewRegistry()
	_, err = controller.New("x", r, controller.Options{Registerer: reg})
	require.NoError(t, err)
	_, err = controller.New("x", r, controller.Options{Registerer: reg})
	assert.ErrorContains(t, err, "another controller of that name")
}

func TestEnqueueReconciles(t *testing.T) {
	rec := newRecorder(nil)
	c, err := controller.New("t", rec, controller.Options{})
	require.NoError(t, err)
	assert.False(t, c.Enqueue(controller.Request{Namespace: "ns", Name: "dropped"}), "not running: dropped")
	stop, _ := start(t, c.Start)
	req := controller.Request{Namespace: "ns", Name: "a"}
	eventually(t, func() bool { c.Enqueue(req); return rec.count(req) > 0 }, "reconcile of %v", req)
	require.NoError(t, stop())
	assert.Zero(t, rec.count(controller.Request{Namespace: "ns", Name: "dropped"}))
	assert.False(t, c.Enqueue(req), "stopped: dropped")
}

func TestRequeueAfter(t *testing.T) {
	clk := fakeclock.New(t0)
	reg := prometheus.NewRegistry()
	rec := newRecorder(func(_ context.Context, _ controller.Request, n int) (controller.Result, error) {
		if n == 1 {
			return controller.Result{RequeueAfter: time.Minute}, nil
		}
		return controller.Result{}, nil
	})
	c, err := controller.New("t", rec, controller.Options{Clock: clk, Registerer: reg})
	require.NoError(t, err)
	start(t, c.Start)
	req := controller.Request{Namespace: "ns", Name: "a"}
	eventually(t, func() bool { return c.Enqueue(req) }, "controller running")
	eventually(t, func() bool { return reconcileTotal(t, reg, "t", controller.ResultRequeueAfter) == 1 }, "requeue_after counted")
	next, ok := clk.Next()
	require.True(t, ok, "a timer for the requeue")
	assert.Equal(t, t0.Add(time.Minute), next)
	clk.Advance(time.Minute - time.Nanosecond)
	assert.Equal(t, 1, rec.count(req), "not before the minute")
	clk.Advance(time.Nanosecond)
	eventually(t, func() bool { return rec.count(req) == 2 }, "second reconcile after a minute")
	eventually(t, func() bool { return reconcileTotal(t, reg, "t", controller.ResultSuccess) == 1 }, "success counted")
	assert.Zero(t, clk.Pending())
}

func TestErrorRetriedWithBackoff(t *testing.T) {
	clk := fakeclock.New(t0)
	reg := prometheus.NewRegistry()
	limiter, err := workqueue.NewExponentialRateLimiter[controller.Request](time.Second, time.Hour)
	require.NoError(t, err)
	rec := newRecorder(func(_ context.Context, _ controller.Request, n int) (controller.Result, error) {
		if n <= 3 {
			return controller.Result{}, fmt.Errorf("attempt %d failed", n)
		}
		return controller.Result{}, nil
	})
	c, err := controller.New("t", rec, controller.Options{Clock: clk, Registerer: reg, RateLimiter: limiter})
	require.NoError(t, err)
	start(t, c.Start)
	req := controller.Request{Namespace: "ns", Name: "a"}
	eventually(t, func() bool { return c.Enqueue(req) }, "controller running")
	for n, delay := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		eventually(t, func() bool { return reconcileTotal(t, reg, "t", controller.ResultError) == float64(n+1) }, "error %d counted", n+1)
		next, ok := clk.Next()
		require.True(t, ok, "retry %d scheduled", n+1)
		assert.Equal(t, delay, next.Sub(clk.Now()), "backoff of retry %d", n+1)
		clk.Advance(delay)
		eventually(t, func() bool { return rec.count(req) == n+2 }, "retry %d", n+1)
	}
	eventually(t, func() bool { return reconcileTotal(t, reg, "t", controller.ResultSuccess) == 1 }, "success")
	assert.Zero(t, clk.Pending(), "nothing more scheduled after success")
	assert.Zero(t, limiter.NumRequeues(req), "backoff forgotten after success")
}

// TestConflictRetriedQuietly: an optimistic-concurrency conflict (409
// Conflict, here wrapped as reconcilers do) is retried with backoff like
// any error, but logged at Debug and counted under its own result; an
// error that only carries a conflict among others stays an Error.
func TestConflictRetriedQuietly(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	rec := newRecorder(func(_ context.Context, req controller.Request, n int) (controller.Result, error) {
		conflict := fmt.Errorf("update the status of ReplicaSet ns/%s: %w", req.Name,
			api.NewConflict(api.GroupResource{Group: "apps", Resource: "replicasets"}, req.Name, errors.New("the object has been modified")))
		switch {
		case n > 1:
			return controller.Result{}, nil
		case req.Name == "mixed":
			return controller.Result{}, errors.Join(conflict, errors.New("create pod: quota exceeded"))
		}
		return controller.Result{}, errors.Join(conflict, conflict)
	})
	c, err := controller.New("t", rec, controller.Options{Registerer: reg, Logger: textLogger(&logs),
		RateLimiter: mustLimiter(t, time.Millisecond)})
	require.NoError(t, err)
	start(t, c.Start)
	req := controller.Request{Namespace: "ns", Name: "a"}
	eventually(t, func() bool { return c.Enqueue(req) }, "controller running")
	eventually(t, func() bool { return reconcileTotal(t, reg, "t", controller.ResultSuccess) == 1 }, "retried after the conflict, and succeeded")
	assert.Equal(t, float64(1), reconcileTotal(t, reg, "t", controller.ResultConflict))
	assert.Zero(t, reconcileTotal(t, reg, "t", controller.ResultError))
	assert.Contains(t, logs.String(), "level=DEBUG msg=\"reconcile hit a write conflict")
	assert.NotContains(t, logs.String(), "level=ERROR")

	c.Enqueue(controller.Request{Namespace: "ns", Name: "mixed"})
	eventually(t, func() bool { return reconcileTotal(t, reg, "t", controller.ResultSuccess) == 2 }, "mixed retried, and succeeded")
	assert.Equal(t, float64(1), reconcileTotal(t, reg, "t", controller.ResultError))
	assert.Contains(t, logs.String(), "level=ERROR msg=\"reconcile failed; retrying\"")
}

func TestTerminalErrorNotRetried(t *testing.T) {
	clk := fakeclock.New(t0)
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	rec := newRecorder(func(context.Context, controller.Request, int) (controller.Result, error) {
		return controller.Result{}, controller.TerminalError(errors.New("bad spec"))
	})
	c, err := controller.New("t", rec, controller.Options{Clock: clk, Registerer: reg, Logger: textLogger(&logs)})
	require.NoError(t, err)
	stop, _ := start(t, c.Start)
	req := controller.Request{Namespace: "ns", Name: "a"}
	eventually(t, func() bool { return c.Enqueue(req) }, "controller running")
	eventually(t, func() bool { return reconcileTotal(t, reg, "t", controller.ResultTerminalError) == 1 }, "terminal error counted")
	assert.Zero(t, clk.Pending(), "no retry scheduled")
	clk.Advance(time.Hour)
	require.NoError(t, stop())
	assert.Equal(t, 1, rec.count(req))
	assert.Contains(t, logs.String(), "terminal error: bad spec")
	assert.Zero(t, reconcileTotal(t, reg, "t", controller.ResultError))
}

func TestPanicRecovered(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	rec := newRecorder(func(_ context.Context, _ controller.Request, n int) (controller.Result, error) {
		if n == 1 {
			panic("boom")
		}
		return controller.Result{}, nil
	})
	c, err := controller.New("t", rec, controller.Options{Registerer: reg, Logger: textLogger(&logs),
		RateLimiter: mustLimiter(t, time.Millisecond)})
	require.NoError(t, err)
	start(t, c.Start)
	req := controller.Request{Namespace: "ns", Name: "a"}
	eventually(t, func() bool { return c.Enqueue(req) }, "controller running")
	eventually(t, func() bool { return reconcileTotal(t, reg, "t", controller.ResultSuccess) == 1 }, "retried after the panic, and succeeded")
	assert.Equal(t, float64(1), reconcileTotal(t, reg, "t", controller.ResultPanic))
	assert.Equal(t, 2, rec.count(req))
	assert.Contains(t, logs.String(), "reconcile panicked")
	assert.Contains(t, logs.String(), "panic=boom")
	assert.Contains(t, logs.String(), "controller_test.TestPanicRecovered", "the stack is logged")
}

func mustLimiter(t *testing.T, base time.Duration) workqueue.RateLimiter[controller.Request] {
	t.Helper()
	l, err := workqueue.NewExponentialRateLimiter[controller.Request](base, time.Second)
	require.NoError(t, err)
	return l
}

// TestMaxConcurrentReconciles runs more keys than workers, re-adding keys
// while they are being reconciled: the number of Reconcile calls at once
// reaches the limit but never passes it, and no key is reconciled twice at
// once.
func TestMaxConcurrentReconciles(t *testing.T) {
	const workers = 3
	reg := prometheus.NewRegistry()
	var (
		mu       sync.Mutex
		inflight int
		most     int
		perKey   = map[controller.Request]int{}
		overlap  bool
	)
	gate := make(chan struct{})
	var c *controller.Controller
	rec := newRecorder(func(ctx context.Context, req controller.Request, n int) (controller.Result, error) {
		mu.Lock()
		inflight++
		most = max(most, inflight)
		perKey[req]++
		if perKey[req] > 1 {
			overlap = true
		}
		mu.Unlock()
		if n == 1 {
			c.Enqueue(req) // added while processing: comes back after Done
		}
		<-gate
		mu.Lock()
		inflight--
		perKey[req]--
		mu.Unlock()
		if n >= 3 {
			return controller.Result{}, nil
		}
		return controller.Result{Requeue: n == 2}, nil
	})
	var err error
	c, err = controller.New("t", rec, controller.Options{MaxConcurrentReconciles: workers, Registerer: reg,
		RateLimiter: mustLimiter(t, time.Microsecond)})
	require.NoError(t, err)
	start(t, c.Start)
	var keys []controller.Request
	for i := range 20 {
		keys = append(keys, controller.Request{Namespace: "ns", Name: fmt.Sprint("k", i)})
	}
	eventually(t, func() bool { return c.Enqueue(keys[0]) }, "controller running")
	for _, k := range keys[1:] {
		c.Enqueue(k)
	}
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return inflight == workers }, "%d workers busy", workers)
	assert.Equal(t, float64(workers), metricValue(t, reg, "drover_controller_active_workers", map[string]string{"controller": "t"}))
	assert.Equal(t, float64(workers), metricValue(t, reg, "drover_controller_max_concurrent_reconciles", map[string]string{"controller": "t"}))
	close(gate)
	eventually(t, func() bool {
		for _, k := range keys {
			if rec.count(k) < 3 {
				return false
			}
		}
		return true
	}, "every key reconciled three times")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, workers, most)
	assert.False(t, overlap, "a key was reconciled by two workers at once")
}

// TestShutdownWaitsForInFlight: when ctx ends, Start waits for the
// Reconcile in flight (whose ctx is cancelled) and drops what is queued.
func TestShutdownWaitsForInFlight(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var sawCancel, finished atomic.Bool
	rec := newRecorder(func(ctx context.Context, req controller.Request, _ int) (controller.Result, error) {
		if req.Name != "slow" {
			return controller.Result{}, nil
		}
		close(entered)
		<-ctx.Done()
		sawCancel.Store(true)
		<-release
		finished.Store(true)
		return controller.Result{}, nil
	})
	c, err := controller.New("t", rec, controller.Options{})
	require.NoError(t, err)
	stop, done := start(t, c.Start)
	slow := controller.Request{Namespace: "ns", Name: "slow"}
	eventually(t, func() bool { return c.Enqueue(slow) }, "controller running")
	<-entered
	queued := controller.Request{Namespace: "ns", Name: "queued"}
	c.Enqueue(queued) // the only worker is busy: stays queued
	stopped := make(chan error)
	go func() { stopped <- stop() }()
	eventually(t, func() bool { return rec.count(slow) == 1 && sawCancel.Load() }, "reconcile sees the cancel")
	select {
	case <-done:
		t.Fatal("Start returned while a Reconcile was running")
	default:
	}
	close(release)
	require.NoError(t, <-stopped)
	assert.True(t, finished.Load(), "Start returned before the Reconcile did")
	assert.Zero(t, rec.count(queued), "a queued request was reconciled after the stop")
}

// TestRestart: a stopped controller starts again with a fresh queue (its
// queue metrics are registered again), as a manager does on re-election.
func TestRestart(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec := newRecorder(nil)
	c, err := controller.New("t", rec, controller.Options{Registerer: reg})
	require.NoError(t, err)
	var before float64
	for i := range 2 {
		stop, _ := start(t, c.Start)
		req := controller.Request{Namespace: "ns", Name: fmt.Sprint("run", i)}
		eventually(t, func() bool { c.Enqueue(req); return rec.count(req) > 0 }, "reconcile in run %d", i)
		eventually(t, func() bool {
			return metricValue(t, reg, "drover_workqueue_adds_total", map[string]string{"name": "t"}) >= 1
		}, "queue metrics registered in run %d", i)
		require.NoError(t, stop())
		assert.Equal(t, float64(-1), metricValue(t, reg, "drover_workqueue_depth", map[string]string{"name": "t"}), "queue metrics unregistered")
		now := reconcileTotal(t, reg, "t", controller.ResultSuccess)
		assert.Greater(t, now, before, "controller metrics survive restarts")
		before = now
	}
}

func TestStartTwice(t *testing.T) {
	rec := newRecorder(nil)
	c, err := controller.New("u", rec, controller.Options{})
	require.NoError(t, err)
	start(t, c.Start)
	req := controller.Request{Name: "a"}
	eventually(t, func() bool { return c.Enqueue(req) }, "controller running")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // were the second Start to run, it would return at once
	assert.ErrorIs(t, c.Start(ctx), controller.ErrAlreadyRunning)
}
