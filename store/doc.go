// Package store defines Store, the revisioned key-value store that is the
// cluster's source of truth, and the errors and limits every implementation
// shares.
//
// The API server is the only user of a Store: it keeps one object per key
// (for example "/registry/pods/default/web-0") as an encoded byte value, and
// relies on four guarantees that every implementation gives and that the
// conformance suite in package storetest checks:
//
//   - One global revision. Every successful write (Create, Update, Delete)
//     is given the next revision, exactly one greater than the last; failed
//     writes and compactions use none. A key's ModRevision is the revision of
//     its last write, which the API server hands out as
//     metadata.resourceVersion.
//   - Compare-and-swap. Update and Delete take the ModRevision the caller
//     last saw and fail with a *ConflictError (errors.Is ErrConflict) if the
//     key has moved on; Create fails with ErrAlreadyExists.
//   - Reads at a revision. Get and List read the latest state, or the state
//     as of an earlier revision that has not been compacted away, so that a
//     paged list sees one consistent revision.
//   - Watches with no gaps. Watch delivers every change after a revision, in
//     revision order, with nothing skipped or reordered, or it fails with
//     ErrCompacted; it never silently drops an event.
//
// An acknowledged write (one whose call returned a nil error) is never lost.
//
// Implementations: package store/memstore is the in-memory reference store,
// used by tests and single-process setups; store/raftstore replicates the
// same engine over Raft. Both are built on the MVCC engine in
// store/internal/mvcc.
//
// A typical optimistic update, as the API server does it:
//
//	kv, err := s.Get(ctx, key, store.ReadOptions{})
//	if err != nil {
//		return err
//	}
//	obj := decode(kv.Value)
//	mutate(obj)
//	_, err = s.Update(ctx, key, encode(obj), kv.ModRevision)
//	if errors.Is(err, store.ErrConflict) {
//		// someone else wrote first: read again and retry
//	}
package store
