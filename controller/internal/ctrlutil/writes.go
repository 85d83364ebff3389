package ctrlutil

import (
	"sync"
	"time"

	"github.com/drover-io/drover/api"
)

// WriteTracker remembers the updates a controller made that its informer
// has not delivered yet. A reconcile that reads an object older than the
// controller's own last write of it would plan on stale data and fail with
// a Conflict; with a tracker it waits for the informer instead, whose
// event queues the reconcile again. Expectations do the same for creates
// and deletes.
//
// An update carries the version it replaces (its base) as a precondition,
// so once it succeeded, any version other than the base that the informer
// shows is the write or a later one (a relist may skip versions).
//
// Its methods are safe for concurrent use: the workers call Wrote and
// Stale, the informer's handler goroutine Observed and Forget.
type WriteTracker struct {
	clock Clock
	ttl   time.Duration

	mu      sync.Mutex
	pending map[api.UID]pendingWrite
}

// pendingWrite is one update not yet seen.
type pendingWrite struct {
	base string
	at   time.Time
}

// NewWriteTracker returns an empty tracker that reads the time from clock
// (nil: the wall clock) and forgets a write not seen within ttl (0 or
// less: DefaultExpectationsTTL), so a lost event cannot wedge an object.
func NewWriteTracker(clock Clock, ttl time.Duration) *WriteTracker {
	if clock == nil {
		clock = wallClock{}
	}
	if ttl <= 0 {
		ttl = DefaultExpectationsTTL
	}
	return &WriteTracker{clock: clock, ttl: ttl, pending: map[api.UID]pendingWrite{}}
}

// Wrote records that the controller updated the object with uid from
// version base. Call it after the update succeeded.
func (t *WriteTracker) Wrote(uid api.UID, base string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending[uid] = pendingWrite{base: base, at: t.clock.Now()}
}

// Observed records that the informer delivered version rv of the object
// with uid: a write over another version is no longer pending.
func (t *WriteTracker) Observed(uid api.UID, rv string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w, ok := t.pending[uid]; ok && w.base != rv {
		delete(t.pending, uid)
	}
}

// Forget drops what is pending for uid: the object was deleted.
func (t *WriteTracker) Forget(uid api.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pending, uid)
}

// Stale reports whether version rv of the object with uid, read from the
// informer's cache, is older than the controller's last write of it.
func (t *WriteTracker) Stale(uid api.UID, rv string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.pending[uid]
	switch {
	case !ok:
		return false
	case w.base != rv || t.clock.Now().Sub(w.at) > t.ttl:
		delete(t.pending, uid)
		return false
	}
	return true
}
