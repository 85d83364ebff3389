package mvcc

import (
	"fmt"
	"sort"
	"strings"

	"github.com/drover-io/drover/store"
)

// Op is the kind of a Command.
type Op uint8

// The kinds of Command.
const (
	// OpCreate creates Key with Value.
	OpCreate Op = iota + 1
	// OpUpdate replaces the value of Key with Value if its ModRevision is
	// Rev (0 = unconditionally).
	OpUpdate
	// OpDelete deletes Key if its ModRevision is Rev (0 = unconditionally).
	OpDelete
	// OpCompact compacts at revision Rev.
	OpCompact
)

// String returns the name of the operation, for example "create".
func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	case OpCompact:
		return "compact"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Command is one write for Apply. A replicated store encodes Commands in its
// log entries; the Engine assigns revisions itself.
type Command struct {
	// Op is what to do.
	Op Op
	// Key is the key written (unused for OpCompact).
	Key string
	// Value is the value for OpCreate and OpUpdate. Apply copies it; nil is
	// stored as an empty value.
	Value []byte
	// Rev is the expected ModRevision for OpUpdate and OpDelete (0 =
	// unconditional) and the revision to compact at for OpCompact.
	Rev int64
}

// Result is the outcome of one Command.
type Result struct {
	// Rev is the revision the write was given; 0 if it failed, and for
	// OpCompact.
	Rev int64
	// KV is the new version, for OpCreate and OpUpdate.
	KV *store.KeyValue
	// Prev is the version replaced or deleted, for OpUpdate and OpDelete.
	Prev *store.KeyValue
	// Err is why the Command failed: store.ErrAlreadyExists,
	// ErrNotFound, a *store.ConflictError, ErrInvalidKey,
	// ErrValueTooLarge, ErrFutureRevision (OpCompact) or ErrClosed, each
	// wrapped with the operation and key. A failed Command changes nothing
	// and uses no revision.
	Err error
}

// Apply applies cmds in order, as a group commit: each successful write is
// given its own revision, one more than the last, and each Command gets its
// own Result, in the same order; one Command failing does not stop the
// others. Readers may see the state between two Commands of a batch. Given
// the same Commands in the same order, every Engine returns the same Results
// and reaches the same state.
func (e *Engine) Apply(cmds []Command) []Result {
	results := make([]Result, len(cmds))
	e.mu.Lock()
	defer e.mu.Unlock()
	wrote := false
	for i := range cmds {
		results[i] = e.applyLocked(&cmds[i])
		wrote = wrote || results[i].Rev != 0
	}
	if wrote {
		e.wakeLocked()
	}
	return results
}

// apply1 applies a single Command.
func (e *Engine) apply1(c Command) Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.applyLocked(&c)
	if r.Rev != 0 {
		e.wakeLocked()
	}
	return r
}

// Create creates key with value and returns the new version.
func (e *Engine) Create(key string, value []byte) (*store.KeyValue, error) {
	r := e.apply1(Command{Op: OpCreate, Key: key, Value: value})
	return r.KV, r.Err
}

// Update replaces key's value if its ModRevision is expectedRev (0 =
// unconditionally) and returns the new and the replaced versions.
func (e *Engine) Update(key string, value []byte, expectedRev int64) (kv, prev *store.KeyValue, err error) {
	r := e.apply1(Command{Op: OpUpdate, Key: key, Value: value, Rev: expectedRev})
	return r.KV, r.Prev, r.Err
}

// Delete deletes key if its ModRevision is expectedRev (0 =
// unconditionally) and returns the deleted version and the revision of the
// deletion.
func (e *Engine) Delete(key string, expectedRev int64) (prev *store.KeyValue, rev int64, err error) {
	r := e.apply1(Command{Op: OpDelete, Key: key, Rev: expectedRev})
	return r.Prev, r.Rev, r.Err
}

// Compact discards the history before rev, as store.Store.Compact
// describes. Watches whose cursor is older than rev end with
// store.ErrCompacted. It costs O(keys written since the last compaction).
func (e *Engine) Compact(rev int64) error {
	return e.apply1(Command{Op: OpCompact, Rev: rev}).Err
}

// applyLocked applies one Command. e.mu must be held for writing.
func (e *Engine) applyLocked(c *Command) Result {
	op := c.Op.String()
	if e.closed {
		return Result{Err: fmt.Errorf("store: %s %q: %w", op, c.Key, store.ErrClosed)}
	}
	switch c.Op {
	case OpCreate, OpUpdate:
		if err := store.ValidateKey(c.Key); err != nil {
			return Result{Err: fmt.Errorf("store: %s: %w", op, err)}
		}
		if err := store.ValidateValue(c.Value); err != nil {
			return Result{Err: fmt.Errorf("store: %s %q: %w", op, c.Key, err)}
		}
	case OpDelete:
		if err := store.ValidateKey(c.Key); err != nil {
			return Result{Err: fmt.Errorf("store: %s: %w", op, err)}
		}
	case OpCompact:
		return Result{Err: e.compactLocked(c.Rev)}
	default:
		return Result{Err: fmt.Errorf("store: unknown operation %d on %q", c.Op, c.Key)}
	}

	if e.rev >= MaxRevision {
		return Result{Err: fmt.Errorf("store: %s %q: the store has used every revision up to %d", op, c.Key, int64(MaxRevision))}
	}
	ki, found := e.tree.Get(keyIndex{key: c.Key})
	var cur *store.KeyValue
	if found {
		cur = ki.last()
	}
	rev := e.rev + 1
	var res Result
	var ev store.Event
	switch c.Op {
	case OpCreate:
		if cur != nil {
			return Result{Err: fmt.Errorf("store: create %q: %w", c.Key, store.ErrAlreadyExists)}
		}
		if !found {
			// Own the key's bytes: c.Key may be a substring of a large
			// decoded log entry.
			ki = keyIndex{key: strings.Clone(c.Key)}
		}
		kv := &store.KeyValue{Key: ki.key, Value: clone(c.Value), CreateRevision: rev, ModRevision: rev}
		res = Result{Rev: rev, KV: kv}
		ev = store.Event{Type: store.EventAdded, KV: kv, Revision: rev}
	case OpUpdate, OpDelete:
		if cur == nil {
			return Result{Err: fmt.Errorf("store: %s %q: %w", op, c.Key, store.ErrNotFound)}
		}
		if c.Rev != 0 && c.Rev != cur.ModRevision {
			return Result{Err: &store.ConflictError{Op: op, Key: c.Key, Expected: c.Rev, Actual: cur.ModRevision}}
		}
		if c.Op == OpUpdate {
			kv := &store.KeyValue{Key: ki.key, Value: clone(c.Value), CreateRevision: cur.CreateRevision, ModRevision: rev}
			res = Result{Rev: rev, KV: kv, Prev: cur}
			ev = store.Event{Type: store.EventModified, KV: kv, Prev: cur, Revision: rev}
		} else {
			tomb := &store.KeyValue{Key: ki.key, ModRevision: rev}
			res = Result{Rev: rev, Prev: cur}
			ev = store.Event{Type: store.EventDeleted, KV: tomb, Prev: cur, Revision: rev}
		}
	}
	ki.versions = append(ki.versions, ev.KV)
	e.tree.ReplaceOrInsert(ki)
	if len(ki.versions) > 1 || ev.Type == store.EventDeleted {
		e.multi[ki.key] = struct{}{}
	}
	e.rev = rev
	e.ring.push(ev)
	return res
}

// clone copies a value; the copy of an empty or nil value is a non-nil empty
// slice.
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// compactLocked compacts at rev. e.mu must be held for writing.
func (e *Engine) compactLocked(rev int64) error {
	if rev <= e.compactRev {
		return nil
	}
	if rev > e.rev {
		return fmt.Errorf("store: compact at %d: %w: the current revision is %d", rev, store.ErrFutureRevision, e.rev)
	}
	for key := range e.multi {
		ki, _ := e.tree.Get(keyIndex{key: key})
		vs := ki.versions
		// i is the version current at rev; everything before it is gone, and
		// it goes too if it is a deletion.
		i := sort.Search(len(vs), func(i int) bool { return vs[i].ModRevision > rev }) - 1
		if i >= 0 && vs[i].CreateRevision == 0 {
			i++
		}
		if i <= 0 {
			continue
		}
		if i == len(vs) {
			e.tree.Delete(ki)
			delete(e.multi, key)
			continue
		}
		// A new slice: a Snapshot may share the old one.
		ki.versions = append([]*store.KeyValue(nil), vs[i:]...)
		e.tree.ReplaceOrInsert(ki)
		if len(ki.versions) == 1 {
			delete(e.multi, key) // the last version is live: a deletion is never first
		}
	}
	e.compactRev = rev
	e.ring.trim(rev)
	return nil
}
