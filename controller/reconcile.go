package controller

import (
	"context"
	"errors"
	"time"
)

// Request names the object to reconcile: its namespace ("" for a
// cluster-scoped kind) and name. It is all a reconciler is told; it reads
// the current state itself, so any number of changes to one object cost one
// Request, and a Request that arrives late is still right.
type Request struct {
	Namespace string
	Name      string
}

// String returns "namespace/name", or "name" for a cluster-scoped object:
// the key of the object in an informer's cache.
func (r Request) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// Result says what to do with a Request after a successful Reconcile. The
// zero Result means "done until something changes".
type Result struct {
	// RequeueAfter, if positive, reconciles the Request again after this
	// long (unless a change queues it sooner): for work that waits on
	// time, such as a timeout or a periodic check. It wins over Requeue.
	RequeueAfter time.Duration
	// Requeue reconciles the Request again after the rate limiter's
	// backoff, as an error would, but without logging one: for "not yet,
	// try again soon".
	Requeue bool
}

// IsZero reports whether r is the zero Result.
func (r Result) IsZero() bool { return r == Result{} }

// Reconciler makes the world match the desired state of one object. It is
// the one thing a controller author writes.
//
// The Controller calls Reconcile from its worker goroutines: up to
// Options.MaxConcurrentReconciles at once, but never two at once for the
// same Request. Reconcile must be idempotent and level-triggered: it reads
// the current state (from a Lister or the client), acts, and returns; it
// must not rely on being called once per change.
//
// ctx is cancelled when the controller stops (the manager shuts down, or
// loses leadership); Reconcile should then return promptly.
//
// An error means "failed, retry": the Request is queued again after a
// per-key exponential backoff, and the error is logged and counted (an
// error made only of 409 Conflicts at Debug level, under the result
// "conflict": a stale cache makes them routine). An error wrapped with TerminalError is logged and counted but not retried.
// A panic is recovered, logged with its stack, counted, and retried like an
// error.
type Reconciler interface {
	Reconcile(ctx context.Context, req Request) (Result, error)
}

// Func adapts a function to a Reconciler.
type Func func(ctx context.Context, req Request) (Result, error)

// Reconcile calls f(ctx, req).
func (f Func) Reconcile(ctx context.Context, req Request) (Result, error) { return f(ctx, req) }

// terminalError marks an error that retrying cannot fix.
type terminalError struct{ err error }

func (e *terminalError) Error() string {
	if e.err == nil {
		return "terminal error"
	}
	return "terminal error: " + e.err.Error()
}

func (e *terminalError) Unwrap() error { return e.err }

// Is makes errors.Is(err, TerminalError(nil)) true for every terminal error.
func (e *terminalError) Is(target error) bool {
	_, ok := target.(*terminalError)
	return ok
}

// TerminalError wraps err to tell the controller that retrying the Request
// cannot succeed (an invalid spec, a reference to something that will never
// exist): the error is logged and counted (result "terminal_error") but the
// Request is not queued again until the object changes. errors.Is and
// errors.As see through it to err.
func TerminalError(err error) error { return &terminalError{err: err} }

// IsTerminal reports whether err, or an error it wraps, was made by
// TerminalError.
func IsTerminal(err error) bool {
	var t *terminalError
	return errors.As(err, &t)
}
