package store

import (
	"context"
	"strconv"
)

// KeyValue is one version of a key.
//
// KeyValues returned by a Store, and the Values in them, are shared with the
// store's history and with other readers and watchers: callers must treat
// them as read-only. A store never returns a nil Value for a key that exists:
// an empty value is a non-nil, zero-length slice.
type KeyValue struct {
	// Key is the key.
	Key string
	// Value is the stored bytes. It is nil only in the KV of an EventDeleted.
	Value []byte
	// CreateRevision is the revision of the write that created this
	// incarnation of the key: deleting the key and creating it again gives
	// it a new CreateRevision. It is 0 in the KV of an EventDeleted.
	CreateRevision int64
	// ModRevision is the revision of the last write to the key; in the KV of
	// an EventDeleted it is the revision of the deletion.
	ModRevision int64
}

// Store is a revisioned key-value store with compare-and-swap and watch.
//
// The API server is its only caller, from any number of goroutines at once:
// every method is safe for concurrent use. Methods that take a ctx return
// an error wrapping ctx.Err() if ctx ends first. If ctx ends while a write is
// in flight in a replicated store, the write may still be applied later; the
// caller cannot tell and must read to find out (the API server answers such
// a request with a timeout that says the write may have succeeded). A write
// that returned a nil error is durable: it is never lost.
//
// After Close every method returns an error wrapping ErrClosed.
//
// Values passed to Create and Update are copied: the caller may reuse the
// buffer as soon as the call returns. A nil value is stored as an empty one.
type Store interface {
	// Get returns the key's value at the current revision, or at
	// opts.Revision if it is not 0. It returns ErrNotFound if the key does
	// not exist at that revision, ErrCompacted if opts.Revision is older
	// than the compacted revision, and ErrFutureRevision if it is newer than
	// the current one.
	Get(ctx context.Context, key string, opts ReadOptions) (*KeyValue, error)

	// List returns the keys that start with prefix, in byte order of the key,
	// as of the current revision or opts.Revision: at most opts.Limit of them
	// (0 means all), starting after the key opts.After (exclusive), so that
	// a caller pages through a large prefix by passing the last key it got
	// as After and the first page's Revision as Revision. The prefix is
	// matched byte-wise: "/a/" matches "/a/x" but not "/ab". It fails like
	// Get for a compacted or future revision.
	List(ctx context.Context, prefix string, opts ListOptions) (*ListResult, error)

	// Create stores a new key and returns the revision of the write. It
	// fails with ErrAlreadyExists if the key exists, ErrInvalidKey or
	// ErrValueTooLarge.
	Create(ctx context.Context, key string, value []byte) (rev int64, err error)

	// Update replaces the value of an existing key if its ModRevision is
	// expectedRev (0 means unconditionally) and returns the revision of the
	// write. It fails with ErrNotFound if the key does not exist, and with a
	// *ConflictError (errors.Is ErrConflict) carrying the key's actual
	// revision if expectedRev does not match.
	Update(ctx context.Context, key string, value []byte, expectedRev int64) (rev int64, err error)

	// Delete removes the key if its ModRevision is expectedRev (0 means
	// unconditionally), and returns the version it removed and the revision
	// of the deletion. It fails like Update.
	Delete(ctx context.Context, key string, expectedRev int64) (prev *KeyValue, rev int64, err error)

	// Watch returns a channel that delivers every change to a key under
	// prefix with a revision greater than afterRev, in revision order, with
	// nothing skipped; afterRev 0 means from the current revision, and an
	// afterRev greater than the current revision is allowed (the watch
	// delivers writes once the store passes it). It fails at once with
	// ErrCompacted if afterRev is older than the compacted revision.
	//
	// The channel is closed when ctx ends, when the store is closed, or
	// when the watch fails; a failure (for example, the consumer fell so
	// far behind that compaction overtook it, which wraps ErrCompacted) is
	// sent as a final Event of type EventError before the channel closes.
	// The consumer must keep reading or cancel ctx: a watch nobody reads
	// holds resources until the store closes. A slow consumer never slows
	// down writers.
	Watch(ctx context.Context, prefix string, afterRev int64, opts WatchOptions) (<-chan Event, error)

	// Compact discards the history before rev: afterwards Get and List at a
	// revision older than rev, and Watch from such a revision, fail with
	// ErrCompacted; rev itself and later revisions stay readable, and the
	// current value of every live key is kept. Compacting at or below the
	// compacted revision does nothing; above the current revision it fails
	// with ErrFutureRevision. Compaction uses no revision.
	Compact(ctx context.Context, rev int64) error

	// Revision returns the current revision: that of the last successful
	// write, or 0 for a store that was never written.
	Revision(ctx context.Context) (int64, error)

	// Close releases the store's resources, ends every watch and waits for
	// its goroutines. It is safe to call more than once; calls after the
	// first return nil.
	Close() error
}

// ReadOptions are the options of Get.
type ReadOptions struct {
	// Revision, if not 0, reads the key as of that revision.
	Revision int64
	// Stale lets a replicated store answer from its local state without
	// confirming with the leader that it is current (a cheaper read that may
	// miss the latest writes). Single-node stores ignore it.
	Stale bool
}

// ListOptions are the options of List.
type ListOptions struct {
	// Revision, if not 0, lists as of that revision.
	Revision int64
	// Limit, if greater than 0, is the most keys to return. It must not be
	// negative.
	Limit int
	// After, if not empty, returns only keys greater than After.
	After string
	// Stale is as in ReadOptions.
	Stale bool
	// CountRemaining, with a Limit, asks for ListResult.Remaining when the
	// page is cut short. It costs a scan of the keys that follow.
	CountRemaining bool
}

// ListResult is what List returns.
type ListResult struct {
	// KVs are the keys found, in key order.
	KVs []*KeyValue
	// Revision is the revision the list was read at. Pass it as
	// ListOptions.Revision to read the next page at the same revision, and
	// as Watch's afterRev to watch for what comes after.
	Revision int64
	// More reports that the Limit cut the list short: more keys follow the
	// last one returned.
	More bool
	// Remaining is how many keys follow the last one returned, when More
	// and ListOptions.CountRemaining; 0 otherwise.
	Remaining int64
}

// WatchOptions are the options of Watch.
type WatchOptions struct {
	// ProgressNotify asks for an EventProgress whenever the watch has
	// delivered everything up to the store's current revision and has been
	// idle for the store's progress interval (set per implementation), so
	// that the API server can send watch bookmarks.
	ProgressNotify bool
}

// EventType says what an Event reports.
type EventType int

// The types of Event.
const (
	// EventAdded: the key was created. KV is the new version; Prev is nil.
	EventAdded EventType = iota + 1
	// EventModified: the key was updated. KV is the new version; Prev is the
	// version it replaced.
	EventModified
	// EventDeleted: the key was deleted. KV has only Key and ModRevision
	// (the revision of the deletion); Prev is the version that was deleted,
	// with its value.
	EventDeleted
	// EventProgress: nothing is pending for this watch: every change up to
	// Revision has been delivered. KV and Prev are nil.
	EventProgress
	// EventError: the watch failed with Err and its channel is about to
	// close. It is always the last event.
	EventError
)

// String returns the name of the type, for example "ADDED".
func (t EventType) String() string {
	switch t {
	case EventAdded:
		return "ADDED"
	case EventModified:
		return "MODIFIED"
	case EventDeleted:
		return "DELETED"
	case EventProgress:
		return "PROGRESS"
	case EventError:
		return "ERROR"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Event is a change delivered by Watch.
type Event struct {
	// Type says what happened.
	Type EventType
	// KV is the key after the change (see the EventType constants).
	KV *KeyValue
	// Prev is the key before the change, for EventModified and
	// EventDeleted.
	Prev *KeyValue
	// Revision is the revision of the change (KV.ModRevision); for
	// EventProgress, the revision the watch has caught up to; for
	// EventError, the revision of the last change delivered before it.
	Revision int64
	// Err is the failure, for EventError.
	Err error
}
