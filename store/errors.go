package store

import (
	"errors"
	"fmt"
)

// Sentinel errors. Implementations wrap them with the operation and key, for
// example fmt.Errorf("store: update %q: %w", key, ErrNotFound); callers test
// them with errors.Is, never by comparing strings.
var (
	// ErrNotFound: the key does not exist (at the revision read). Returned by
	// Get, Update and Delete.
	ErrNotFound = errors.New("store: not found")

	// ErrAlreadyExists: Create of a key that exists.
	ErrAlreadyExists = errors.New("store: already exists")

	// ErrConflict: Update or Delete with an expected revision that is not the
	// key's current ModRevision. The error is a *ConflictError, which carries
	// the key's actual revision.
	ErrConflict = errors.New("store: conflict")

	// ErrCompacted: the revision asked for is older than the store's
	// compacted revision, so its history is gone. Returned by Get and List at
	// such a revision, by Watch from such a revision, and sent as the final
	// event of a watch that fell so far behind that compaction overtook it.
	// The caller lists again at the current revision and watches from there
	// (HTTP 410 Gone, "too old resource version").
	ErrCompacted = errors.New("store: revision compacted")

	// ErrFutureRevision: Get, List or Compact at a revision greater than the
	// store's current revision.
	ErrFutureRevision = errors.New("store: revision is in the future")

	// ErrUnavailable: the store cannot serve the request right now but may be
	// able to later: a replicated store has no leader, has lost its quorum,
	// or this member is not in a state to answer. It is temporary; the caller
	// may retry (HTTP 503). Single-node stores do not return it.
	ErrUnavailable = errors.New("store: unavailable")

	// ErrClosed: the store has been closed. Unlike ErrUnavailable it is
	// permanent for this Store value, so it does not wrap ErrUnavailable and
	// retrying is pointless.
	ErrClosed = errors.New("store: closed")

	// ErrInvalidKey: the key is empty, longer than MaxKeySize, not valid
	// UTF-8, or contains a NUL byte. See ValidateKey.
	ErrInvalidKey = errors.New("store: invalid key")

	// ErrValueTooLarge: the value is longer than MaxValueSize.
	ErrValueTooLarge = errors.New("store: value too large")
)

// ConflictError is the error returned by Update and Delete when the expected
// revision does not match: errors.Is(err, ErrConflict) holds for it, and
// errors.As recovers it to read the key's actual revision.
type ConflictError struct {
	// Op is the operation that failed: "update" or "delete".
	Op string
	// Key is the key written.
	Key string
	// Expected is the ModRevision the caller expected.
	Expected int64
	// Actual is the key's ModRevision when the write was attempted.
	Actual int64
}

// Error describes the conflict.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("store: %s %q: %v: expected revision %d, key is at revision %d",
		e.Op, e.Key, ErrConflict, e.Expected, e.Actual)
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }
