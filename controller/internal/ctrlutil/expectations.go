// Package ctrlutil holds what the built-in controllers share: expectations
// that keep a lagging informer cache from causing double creates and
// deletes, the pod a controller creates from its template, the pod
// predicates (active, ready, available) and Claim, which adopts orphans and
// releases objects that stopped matching a controller's selector.
//
// It is internal: custom controllers should not depend on these helpers'
// exact behaviour, which follows the built-in controllers' needs.
package ctrlutil

import (
	"sync"
	"time"

	"github.com/drover-io/drover/api"
)

// Clock is where Expectations and the availability checks get the time.
// A workqueue.Clock and a fakeclock.Clock satisfy it. It must be safe for
// concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
}

// DefaultExpectationsTTL is how long an expectation is waited for when
// NewExpectations is given no TTL: after it, the controller acts again as
// if the cache had caught up, so a lost watch event cannot wedge it.
const DefaultExpectationsTTL = 5 * time.Minute

// Expectations records, per controller key ("namespace/name"), the
// creations and deletions a controller asked the API server for and has not
// yet seen in its informer cache. A controller acts on a key only when its
// expectations are Satisfied: otherwise the cache may still miss the pods
// it just created (or still hold those it deleted), and acting on it would
// create (or delete) them a second time.
//
// The reconciler records expectations before it issues the requests; the
// informer's event handlers observe them (CreationObserved on an add,
// DeletionObserved on a delete or when a deletionTimestamp appears); a
// request that fails is observed by the reconciler at once, since no event
// will come for it. An expectation older than the TTL counts as satisfied.
// A controller may also settle deletions from its cache (DeletionsSeen),
// which does not depend on the events reaching it.
//
// All methods are safe for concurrent use: the reconcile workers and the
// informer's handler goroutine call them at the same time.
type Expectations struct {
	clock Clock
	ttl   time.Duration

	mu   sync.Mutex
	recs map[string]*expectation
}

// expectation is what one controller key still waits for.
type expectation struct {
	adds int
	dels map[api.UID]struct{}
	// at is when the expectation was last raised; it expires at at+ttl.
	at time.Time
}

// NewExpectations returns empty Expectations that read the time from clock
// (nil: the wall clock) and expire after ttl (0 or less:
// DefaultExpectationsTTL).
func NewExpectations(clock Clock, ttl time.Duration) *Expectations {
	if clock == nil {
		clock = wallClock{}
	}
	if ttl <= 0 {
		ttl = DefaultExpectationsTTL
	}
	return &Expectations{clock: clock, ttl: ttl, recs: make(map[string]*expectation)}
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// raise returns key's record for adding expectations to, dropping an
// expired one first, and restarts its TTL.
func (e *Expectations) raise(key string) *expectation {
	now := e.clock.Now()
	r := e.recs[key]
	if r == nil || e.expired(r, now) {
		r = &expectation{}
		e.recs[key] = r
	}
	r.at = now
	return r
}

func (e *Expectations) expired(r *expectation, now time.Time) bool {
	return now.Sub(r.at) > e.ttl
}

// ExpectCreations adds n creations to those key waits for. Call it before
// issuing the creates. n <= 0 does nothing.
func (e *Expectations) ExpectCreations(key string, n int) {
	if n <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.raise(key).adds += n
}

// ExpectDeletions adds the deletions of the objects with uids to those key
// waits for. Call it before issuing the deletes.
func (e *Expectations) ExpectDeletions(key string, uids ...api.UID) {
	if len(uids) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.raise(key)
	if r.dels == nil {
		r.dels = make(map[api.UID]struct{}, len(uids))
	}
	for _, u := range uids {
		r.dels[u] = struct{}{}
	}
}

// CreationObserved lowers key's outstanding creations by one: the informer
// saw a pod key created, or a create failed (no event will come for it).
// It does nothing when key expects no creation.
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.recs[key]; r != nil && r.adds > 0 {
		r.adds--
	}
}

// DeletionObserved marks the deletion of uid as seen for key: the informer
// saw the object deleted or being deleted, or a delete failed for a reason
// other than NotFound (no event will come). It is idempotent and does
// nothing when key does not expect uid, so calling it for a NotFound too
// (the event may have come before the expectation) is harmless.
func (e *Expectations) DeletionObserved(key string, uid api.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.recs[key]; r != nil {
		delete(r.dels, uid)
	}
}

// PendingDeletions reports whether key waits to see a deletion (and has
// not expired).
func (e *Expectations) PendingDeletions(key string) bool {
	_, dels := e.Pending(key)
	return dels > 0
}

// DeletionsSeen marks as observed each deletion key waits for whose
// object the cache no longer shows as active (live(uid) is false): gone,
// or being deleted. That is what the event would have said; the event
// itself may never come to the observer, since a controller drops its
// events while it is not running (between two terms of leadership), and
// the expectation would then hold the key until the TTL. Call it with a
// listing of the cache taken before Satisfied is read and before the
// listing the controller acts on. live is called with e's lock held: it
// must not call e.
func (e *Expectations) DeletionsSeen(key string, live func(uid api.UID) bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.recs[key]
	if r == nil {
		return
	}
	for uid := range r.dels {
		if !live(uid) {
			delete(r.dels, uid)
		}
	}
}

// Satisfied reports whether key waits for nothing: every expected creation
// and deletion was observed, or the expectations expired, or none were
// recorded. A controller acts on key (creates or deletes) only when it is.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.recs[key]
	if r == nil {
		return true
	}
	if (r.adds <= 0 && len(r.dels) == 0) || e.expired(r, e.clock.Now()) {
		delete(e.recs, key)
		return true
	}
	return false
}

// Pending returns the creations and deletions key still waits for (0, 0
// when satisfied or expired), for logs and tests.
func (e *Expectations) Pending(key string) (creations, deletions int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.recs[key]
	if r == nil || e.expired(r, e.clock.Now()) {
		return 0, 0
	}
	return r.adds, len(r.dels)
}

// Forget drops key's expectations: call it when the controller's object is
// gone, so a new object of the same name starts afresh.
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.recs, key)
}

// Len returns how many keys have expectations recorded (satisfied or not
// yet collected), for tests of the bookkeeping.
func (e *Expectations) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.recs)
}
