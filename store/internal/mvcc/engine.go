// Package mvcc is the storage engine behind every store.Store in Drover: a
// multi-version key-value index with one global revision, compare-and-swap
// writes, reads at past revisions, compaction, watches, and point-in-time
// snapshots.
//
// The in-memory reference store (store/memstore) is an Engine plus context
// and lifecycle handling; the replicated store (store/raftstore) feeds the
// same Engine from its Raft FSM:
//
//   - FSM.Apply decodes a log entry into one or more Commands and calls
//     Apply, which applies them in order, giving each successful write the
//     next revision (last+1), and returns one Result per Command. Given the
//     same sequence of Commands, every Engine reaches the same state and
//     returns the same results: revisions are never taken from a clock or a
//     caller.
//   - FSM.Snapshot calls Snapshot, which is O(1) and captures the state at
//     that instant; FSMSnapshot.Persist calls Snapshot.WriteTo from another
//     goroutine while Apply goes on.
//   - FSM.Restore calls Restore.
//   - Reads (Get, List, Revision) and Watch come from the API server's
//     goroutines, concurrently with Apply.
//
// # Concurrency
//
// An Engine is internally locked: every method is safe for concurrent use.
// Writes are serialized by a mutex and reads share a read lock, so a read
// sees the state after some whole number of Commands. Watchers never hold the
// lock while they deliver events, so a slow watcher never blocks a writer.
//
// # History and compaction
//
// Every write appends a version to its key; nothing is dropped until Compact.
// Compact(rev) drops, for every key, the versions that were superseded at or
// before rev (and keys whose last version at or before rev is a deletion),
// keeping the state as of rev readable. Revisions older than the compacted
// revision can no longer be read or watched from.
//
// # Watches and slow watchers
//
// The Engine keeps a ring of the most recent events (Options.WatchHistory,
// one per revision). Each watch has one goroutine that pulls events after its
// cursor from the ring, filters them by prefix and sends them on a buffered
// channel, then waits for the next write. Writers only append to the ring and
// wake waiting watchers; they never send on a watcher's channel.
//
// A watcher whose consumer reads slowly simply falls behind. If the ring has
// moved past its cursor, the watcher rebuilds the events it missed from the
// per-key version history, which holds every revision since the compacted
// revision, and then returns to the ring: a lagging watcher costs a scan of
// the keys under its prefix per max(Options.WatchHistory, 4096) revisions it
// catches up, but it never sees a gap. Only when compaction overtakes its
// cursor does a watcher end, with a final store.EventError wrapping store.ErrCompacted. A
// watch whose consumer does not read at all holds one goroutine, its channel
// (Options.WatchBuffer events) and one batch of at most a few hundred events,
// until its context ends or the Engine closes.
package mvcc

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/btree"

	"github.com/drover-io/drover/store"
)

// Defaults for Options.
const (
	// DefaultWatchHistory is the default number of recent events kept for
	// watches.
	DefaultWatchHistory = 10000
	// DefaultWatchBuffer is the default capacity of a watch's channel.
	DefaultWatchBuffer = 128
)

// MaxRevision is the highest revision an Engine gives out; a write past it
// fails. At a million writes a second it lasts 146,000 years: the limit only
// keeps revision arithmetic, and corrupt snapshots, far from overflow.
const MaxRevision = 1 << 62

// Options configure an Engine. The zero value gives the defaults.
type Options struct {
	// WatchHistory is how many recent events (one per revision) the Engine
	// keeps in memory to serve watches. Watches that fall further behind
	// are served, more slowly, from the key history instead. 0 means
	// DefaultWatchHistory.
	WatchHistory int
	// WatchBuffer is the capacity of each watch's channel. 0 means
	// DefaultWatchBuffer.
	WatchBuffer int
	// Logger receives the Engine's rare log lines (restores, watches ended
	// by compaction). nil means discard.
	Logger *slog.Logger
}

// Validate checks the options and says which field is wrong.
func (o Options) Validate() error {
	if o.WatchHistory < 0 {
		return fmt.Errorf("mvcc: Options.WatchHistory is %d: must be positive, or 0 for the default (%d)",
			o.WatchHistory, DefaultWatchHistory)
	}
	if o.WatchBuffer < 0 {
		return fmt.Errorf("mvcc: Options.WatchBuffer is %d: must be positive, or 0 for the default (%d)",
			o.WatchBuffer, DefaultWatchBuffer)
	}
	return nil
}

// Engine is the MVCC index. Create it with New; it is ready to use at once,
// and Close ends its watches.
type Engine struct {
	watchBuffer int
	log         *slog.Logger

	mu         sync.RWMutex
	tree       *btree.BTreeG[keyIndex]
	rev        int64               // revision of the last write
	compactRev int64               // revisions below this are gone
	multi      map[string]struct{} // keys that Compact may shrink (see keyIndex)
	ring       ring                // recent events, for watches
	gen        uint64              // incremented by Restore
	closed     bool

	// notify is closed (and replaced) by the next write, to wake watchers
	// that are waiting. notifyTaken records that some watcher holds it, so
	// writes with nobody waiting allocate nothing. progress and
	// progressTaken do the same for ProgressNotify.
	notify        chan struct{}
	notifyTaken   atomic.Bool
	progress      chan struct{}
	progressTaken atomic.Bool

	done     chan struct{} // closed by Close
	wg       sync.WaitGroup
	watchers atomic.Int64
}

// keyIndex is the history of one key: its versions in increasing
// ModRevision. A version with CreateRevision 0 is a deletion (tombstone);
// the first version is never one. The versions slice is append-only: a
// write appends, and Compact builds a new slice rather than changing one in
// place, because a Snapshot may share it. A key is in Engine.multi when it
// has more than one version or its last version is a tombstone.
type keyIndex struct {
	key      string
	versions []*store.KeyValue
}

func lessKey(a, b keyIndex) bool { return a.key < b.key }

// last returns the key's latest version, nil if it is deleted.
func (ki keyIndex) last() *store.KeyValue {
	kv := ki.versions[len(ki.versions)-1]
	if kv.CreateRevision == 0 {
		return nil
	}
	return kv
}

// at returns the version current at rev, nil if the key did not exist then.
func (ki keyIndex) at(rev int64) *store.KeyValue {
	vs := ki.versions
	if vs[len(vs)-1].ModRevision <= rev { // the common case: a current read
		return ki.last()
	}
	i := sort.Search(len(vs), func(i int) bool { return vs[i].ModRevision > rev }) - 1
	if i < 0 || vs[i].CreateRevision == 0 {
		return nil
	}
	return vs[i]
}

// btreeDegree suits keys of tens of bytes; measured by BenchmarkGet.
const btreeDegree = 32

// New returns an empty Engine at revision 0.
func New(opts Options) (*Engine, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.WatchHistory == 0 {
		opts.WatchHistory = DefaultWatchHistory
	}
	if opts.WatchBuffer == 0 {
		opts.WatchBuffer = DefaultWatchBuffer
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		watchBuffer: opts.WatchBuffer,
		log:         log,
		tree:        btree.NewG(btreeDegree, lessKey),
		multi:       make(map[string]struct{}),
		ring:        ring{buf: make([]store.Event, opts.WatchHistory)},
		notify:      make(chan struct{}),
		progress:    make(chan struct{}),
		done:        make(chan struct{}),
	}, nil
}

// Close ends every watch (their channels close without an error event),
// waits for their goroutines, and makes every later call fail with
// store.ErrClosed. It is safe to call more than once.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.done)
	e.mu.Unlock()
	e.wg.Wait()
	return nil
}

// Revision returns the revision of the last write, 0 if none.
func (e *Engine) Revision() (int64, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, fmt.Errorf("store: revision: %w", store.ErrClosed)
	}
	return e.rev, nil
}

// CompactRevision returns the compacted revision: reads at older revisions
// fail with store.ErrCompacted.
func (e *Engine) CompactRevision() int64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.compactRev
}

// Watchers returns the number of watches whose goroutines are running.
func (e *Engine) Watchers() int { return int(e.watchers.Load()) }

// readRevisionLocked resolves the revision a read asks for (0 = current)
// and checks that it can be read. e.mu must be held.
func (e *Engine) readRevisionLocked(rev int64) (int64, error) {
	switch {
	case e.closed:
		return 0, store.ErrClosed
	case rev == 0:
		return e.rev, nil
	case rev < 0:
		return 0, fmt.Errorf("revision %d is negative", rev)
	case rev < e.compactRev:
		return 0, fmt.Errorf("%w: revision %d is older than the compacted revision %d", store.ErrCompacted, rev, e.compactRev)
	case rev > e.rev:
		return 0, fmt.Errorf("%w: revision %d, the current revision is %d", store.ErrFutureRevision, rev, e.rev)
	}
	return rev, nil
}

// Get returns the version of key current at rev (0 = the current revision).
// It fails with store.ErrNotFound, ErrCompacted, ErrFutureRevision,
// ErrInvalidKey or ErrClosed.
func (e *Engine) Get(key string, rev int64) (*store.KeyValue, error) {
	if err := store.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	at, err := e.readRevisionLocked(rev)
	if err != nil {
		return nil, fmt.Errorf("store: get %q: %w", key, err)
	}
	if ki, ok := e.tree.Get(keyIndex{key: key}); ok {
		if kv := ki.at(at); kv != nil {
			return kv, nil
		}
	}
	return nil, fmt.Errorf("store: get %q: %w", key, store.ErrNotFound)
}

// List returns the keys under prefix as store.Store.List describes;
// opts.Stale is ignored. A page costs O(log n + the keys visited), where
// the keys visited include keys deleted since the last compaction.
func (e *Engine) List(prefix string, opts store.ListOptions) (*store.ListResult, error) {
	if opts.Limit < 0 {
		return nil, fmt.Errorf("store: list %q: limit %d is negative", prefix, opts.Limit)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	at, err := e.readRevisionLocked(opts.Revision)
	if err != nil {
		return nil, fmt.Errorf("store: list %q: %w", prefix, err)
	}
	start := prefix
	if opts.After != "" && opts.After >= prefix {
		start = opts.After + "\x00" // the least key after After
	}
	res := &store.ListResult{Revision: at}
	if opts.Limit > 0 {
		res.KVs = make([]*store.KeyValue, 0, min(opts.Limit, 1024))
	}
	e.tree.AscendGreaterOrEqual(keyIndex{key: start}, func(ki keyIndex) bool {
		if !strings.HasPrefix(ki.key, prefix) {
			return false
		}
		kv := ki.at(at)
		if kv == nil {
			return true
		}
		if opts.Limit > 0 && len(res.KVs) == opts.Limit {
			res.More = true
			if !opts.CountRemaining {
				return false
			}
			res.Remaining++
			return true
		}
		res.KVs = append(res.KVs, kv)
		return true
	})
	return res, nil
}

// Len returns the number of live keys. It is O(n) and meant for tests and
// metrics.
func (e *Engine) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	n := 0
	e.tree.Ascend(func(ki keyIndex) bool {
		if ki.last() != nil {
			n++
		}
		return true
	})
	return n
}

// Watch starts a watch of the keys under prefix after afterRev, as
// store.Store.Watch describes. The watch's goroutine belongs to the Engine:
// it ends when ctx ends, when the watch fails, or when Close is called, which
// waits for it.
func (e *Engine) Watch(ctx context.Context, prefix string, afterRev int64, opts store.WatchOptions) (<-chan store.Event, error) {
	if afterRev < 0 {
		return nil, fmt.Errorf("store: watch %q: revision %d is negative", prefix, afterRev)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: watch %q: %w", prefix, err)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, fmt.Errorf("store: watch %q: %w", prefix, store.ErrClosed)
	}
	if afterRev == 0 {
		afterRev = e.rev
	}
	if afterRev < e.compactRev {
		return nil, fmt.Errorf("store: watch %q: %w: revision %d is older than the compacted revision %d",
			prefix, store.ErrCompacted, afterRev, e.compactRev)
	}
	w := &watcher{
		e:        e,
		prefix:   prefix,
		cursor:   afterRev,
		gen:      e.gen,
		progress: opts.ProgressNotify,
		out:      make(chan store.Event, e.watchBuffer),
	}
	// Close sets e.closed under the write lock before it waits, so this Add
	// cannot race with the Wait.
	e.wg.Add(1)
	e.watchers.Add(1)
	go w.run(ctx)
	return w.out, nil
}

// ProgressNotify asks every watch started with ProgressNotify that is caught
// up and has delivered nothing since the previous call to send a
// store.EventProgress. The store calls it on a ticker; tests call it
// directly.
func (e *Engine) ProgressNotify() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.progressTaken.Load() {
		close(e.progress)
		e.progress = make(chan struct{})
		e.progressTaken.Store(false)
	}
}

// wakeLocked wakes the watchers waiting for a write. e.mu must be held for
// writing.
func (e *Engine) wakeLocked() {
	if e.notifyTaken.Load() {
		close(e.notify)
		e.notify = make(chan struct{})
		e.notifyTaken.Store(false)
	}
}
