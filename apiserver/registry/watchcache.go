package registry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/store"
)

// The watch cache is the shared fan-out of a registry's watches.
//
// One store watch per registry, started by the first watch that needs it,
// feeds a ring of the most recent changes to the kind: at most
// Options.WatchCacheSize of them, and while there are more than one, at most
// Options.WatchCacheBytes of stored values (each change counts its key and
// value, and the previous value a MODIFIED or DELETED carries). The ring is
// the only queue: a watcher is a cursor into it, and
// reads, filters and sends the events itself, on its own goroutine (for
// HTTP, the one that writes to its connection). So the goroutine that
// feeds the ring never waits for a watcher, and an idle watcher costs a
// few hundred bytes here.
//
// A watcher that falls a whole ring behind has lost events: its watch ends
// (and is counted in WatchStats.SlowTerminated), and its client watches
// again from the last resourceVersion it saw, which the store serves if the
// ring no longer holds it. That is the bounded per-watcher buffer: at most
// the ring, shared by all.
//
// A store event is decoded at most once (when the first watcher that needs
// the object reads it), and each of its wire forms (ADDED, MODIFIED, or
// DELETED with the previous state) is built and encoded at most once and
// shared by every watcher that receives it. Those come on top of the bytes
// counted: a change that watchers read costs about two to three times its
// stored size while it is in the ring.
//
// A cache that has had no watch open for Options.WatchCacheIdle stops: its
// store watch ends, its goroutine returns and its ring is released. The
// next watch starts a new one, from the current revision; a watch from an
// older revision is served by the store, as one older than the ring is.

// DefaultWatchCacheSize is the default Options.WatchCacheSize.
const DefaultWatchCacheSize = 1024

// DefaultWatchCacheBytes is the default Options.WatchCacheBytes: 32 MiB.
const DefaultWatchCacheBytes = 32 << 20

// DefaultWatchCacheIdle is the default Options.WatchCacheIdle.
const DefaultWatchCacheIdle = 5 * time.Minute

// A Ticker is a time.Ticker as Options.NewTicker makes it.
type Ticker interface {
	// C returns the channel the ticks are sent on.
	C() <-chan time.Time
	// Stop turns the ticker off.
	Stop()
}

type timeTicker struct{ t *time.Ticker }

func (t timeTicker) C() <-chan time.Time { return t.t.C }
func (t timeTicker) Stop()               { t.t.Stop() }

// eventOverhead approximates what a change costs in the ring besides its
// keys and values: the cacheEvent, the store.Event and its KeyValues.
const eventOverhead = 256

// maxBatch is the most events Watcher.Next returns at once.
const maxBatch = 64

// Event is one event of a watch stream, as Watcher.Next returns it. One
// Event is shared by every watcher that receives it: treat it, and its
// Object, as read-only.
type Event struct {
	// Type is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.
	Type api.WatchEventType

	// object is the decoded object, or nil until Object decodes lazy.
	object api.Object
	// lazy, for an event of the watch cache, decodes the stored value
	// lazyKV (with the resourceVersion lazyRev if not 0) on first use: a
	// watch streamed as JSON splices the stored bytes and never needs it.
	lazy    *lazyObject
	lazyKV  *store.KeyValue
	lazyRev int64

	r      *Registry
	raw    []byte // the encoded object, for BOOKMARK and ERROR
	stored []byte // the stored value Object was decoded from, if known
	rev    int64  // Object's resourceVersion, with stored
	once   sync.Once
	wire   api.WatchEventType // Type, or ERROR if Object failed to encode
	line   []byte             // {"type":...,"object":...}\n
	obj    int                // where the object starts in line
}

// Object returns the object of an ADDED, MODIFIED or DELETED event (for
// DELETED, its last state, with the resourceVersion of the deletion); nil
// for BOOKMARK and ERROR. An event of the watch cache decodes its stored
// value on the first call (once for every watcher sharing the event); if
// that fails, which does not happen to a value the registry wrote, the
// error is logged and Object returns nil.
func (e *Event) Object() api.Object {
	if e.lazy == nil {
		return e.object
	}
	obj, err := e.lazy.get(e.r, e.lazyKV, e.lazyRev)
	if err != nil {
		e.r.log.Error("decode a watch event's object", "key", e.lazyKV.Key, "err", err)
		return nil
	}
	return obj
}

// Line returns the event as one line of a watch stream:
// {"type":"ADDED","object":{...}} and a newline. It is encoded the first
// time it is asked for and shared afterwards: do not modify it. If the
// object cannot be encoded (which does not happen to an object the
// registry decoded), the line is an ERROR event with a 500 Status.
func (e *Event) Line() []byte {
	e.once.Do(e.encode)
	return e.line
}

// WatchEvent returns the event as package api models it on the wire. Its
// Object shares the bytes of Line.
func (e *Event) WatchEvent() api.WatchEvent {
	line := e.Line()
	return api.WatchEvent{Type: e.wire, Object: line[e.obj : len(line)-2]}
}

func (e *Event) encode() {
	e.wire = e.Type
	data := e.raw
	if data == nil && e.stored != nil {
		// The stored value with the resourceVersion spliced in is what
		// encoding the decoded object gives, without the encode.
		data, _ = withResourceVersion(e.stored, e.rev)
	}
	if data == nil {
		var err error
		if data, err = e.r.scheme.Encode(e.Object()); err != nil {
			e.r.log.Error("encode a watch event", "type", e.Type, "err", err)
			e.wire = api.WatchError
			data = e.r.errorEvent(api.NewInternalError(fmt.Errorf("encode the watch event: %w", err))).raw
		}
	}
	const head, tail = `{"type":"`, `","object":`
	b := make([]byte, 0, len(head)+len(e.wire)+len(tail)+len(data)+2)
	b = append(append(append(b, head...), e.wire...), tail...)
	e.obj = len(b)
	e.line = append(append(b, data...), "}\n"...)
}

// WatchStats are counters of a registry's watches, for metrics.
type WatchStats struct {
	// Watchers is the number of open watches.
	Watchers int64
	// Events is the number of events sent to watchers, counted once per
	// watcher that received it.
	Events uint64
	// SlowTerminated is the number of watches ended because they fell
	// further behind than the watch cache holds.
	SlowTerminated uint64
	// StoreWatches is the number of watches served by a store watch of
	// their own, because they started from a revision older than the
	// watch cache (or the cache is off).
	StoreWatches uint64
	// CacheEvents is the number of changes the watch cache holds, and
	// CacheBytes what they count against Options.WatchCacheBytes; both
	// are 0 while the cache is not running.
	CacheEvents int64
	CacheBytes  int64
}

// WatchStats returns the counters of the registry's watches.
func (r *Registry) WatchStats() WatchStats {
	ws := &r.watch
	st := WatchStats{
		Watchers:       ws.watchers.Load(),
		Events:         ws.events.Load(),
		SlowTerminated: ws.terminated.Load(),
		StoreWatches:   ws.storeWatches.Load(),
	}
	ws.mu.Lock()
	c := ws.cache
	ws.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		st.CacheEvents, st.CacheBytes = int64(c.head.Load()-c.tail), c.bytes
		c.mu.Unlock()
	}
	return st
}

// watchState is a registry's watch cache and counters.
type watchState struct {
	mu     sync.Mutex
	cache  *watchCache // nil until the first watch, and after it ends
	closed bool
	wg     sync.WaitGroup // the caches' goroutines (run)

	watchers     atomic.Int64
	events       atomic.Uint64
	terminated   atomic.Uint64
	storeWatches atomic.Uint64
}

// Close stops the registry's watch cache and waits for its goroutine.
// Open watches end (their streams close); watches started afterwards are
// served by store watches of their own. It is safe to call more than once.
func (r *Registry) Close() error {
	ws := &r.watch
	ws.mu.Lock()
	ws.closed = true
	c := ws.cache
	ws.cache = nil
	ws.mu.Unlock()
	if c != nil {
		c.cancel()
	}
	// Caches that were stopping on their own too.
	ws.wg.Wait()
	return nil
}

// sharedCache returns the running watch cache, starting one if there is
// none (its store watch from revision from, or the current revision if from
// is 0 or newer). It returns nil if the cache is off or closed, or the
// store cannot start a watch: the caller then watches the store itself.
func (r *Registry) sharedCache(ctx context.Context, from int64) *watchCache {
	if r.opts.WatchCacheSize < 0 {
		return nil
	}
	ws := &r.watch
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return nil
	}
	if c := ws.cache; c != nil && !isClosed(c.done) {
		c.used = true
		return c
	}
	ws.cache = nil
	var (
		start  int64
		events <-chan store.Event
		cancel context.CancelFunc
		err    error
	)
	// A start at revision 0 (an empty store) can be overtaken by a write
	// (watchStore); the next attempt reads a revision past 0. The cache's
	// store watch outlives the request that starts it.
	for range 3 {
		var cur int64
		if cur, err = r.st.Revision(ctx); err != nil {
			break
		}
		start = cur
		if from > 0 && from < cur {
			start = from
		}
		var overtaken bool
		events, cancel, overtaken, err = r.watchStore(context.Background(), r.prefix, start, store.WatchOptions{ProgressNotify: true})
		if errors.Is(err, store.ErrCompacted) && start != cur {
			start = cur
			events, cancel, overtaken, err = r.watchStore(context.Background(), r.prefix, start, store.WatchOptions{ProgressNotify: true})
		}
		if err != nil || !overtaken {
			break
		}
		err = errors.New("the store's first write overtook the start of the watch cache")
	}
	if err != nil {
		r.log.Debug("watch cache not started", "err", err)
		return nil
	}
	size := r.opts.WatchCacheSize
	if size == 0 {
		size = DefaultWatchCacheSize
	}
	maxBytes := r.opts.WatchCacheBytes
	switch {
	case maxBytes == 0:
		maxBytes = DefaultWatchCacheBytes
	case maxBytes < 0:
		maxBytes = math.MaxInt64
	}
	c := &watchCache{
		r:        r,
		slots:    make([]atomic.Pointer[cacheEvent], size),
		maxBytes: maxBytes,
		complete: start,
		cancel:   cancel,
		done:     make(chan struct{}),
		used:     true,
	}
	wake := make(chan struct{})
	c.wake.Store(&wake)
	ws.cache = c
	r.log.Debug("watch cache started", "revision", start, "size", size, "bytes", maxBytes)
	var ticker Ticker
	var tick <-chan time.Time // the idle check's; nil if there is none
	if idle := r.watchCacheIdle(); idle > 0 {
		ticker = r.newTicker(max(idle/idleTicks, time.Millisecond))
		tick = ticker.C()
	}
	ws.wg.Go(func() {
		if ticker != nil {
			defer ticker.Stop()
		}
		c.run(events, tick)
	})
	return c
}

// watchStore starts a store watch of prefix after revision rev, ended by
// its cancel function or when parent ends. The store reads afterRev 0 as
// "from the current revision": for rev 0 (the revision of an empty store)
// that is the same only if nothing has been written since, which a second
// read of the revision shows (a write after the watch started is in the
// watch). If something has, the watch may have missed it: it is ended,
// and overtaken is true.
func (r *Registry) watchStore(parent context.Context, prefix string, rev int64, opts store.WatchOptions) (_ <-chan store.Event, _ context.CancelFunc, overtaken bool, _ error) {
	ctx, cancel := context.WithCancel(parent)
	events, err := r.st.Watch(ctx, prefix, rev, opts)
	if err != nil {
		cancel()
		return nil, nil, false, err
	}
	if rev == 0 {
		if now, err := r.st.Revision(ctx); err != nil || now != 0 {
			cancel()
			for range events {
			}
			if err != nil {
				return nil, nil, false, err
			}
			return nil, nil, true, nil
		}
	}
	return events, cancel, false, nil
}

func (r *Registry) watchCacheIdle() time.Duration {
	if r.opts.WatchCacheIdle == 0 {
		return DefaultWatchCacheIdle
	}
	return r.opts.WatchCacheIdle
}

func (r *Registry) newTicker(d time.Duration) Ticker {
	if r.opts.NewTicker != nil {
		return r.opts.NewTicker(d)
	}
	return timeTicker{time.NewTicker(d)}
}

// idleTicks is how many ticks of the idle check make the idle period: a
// cache stops at the first tick that finds it has had no watch for that
// many ticks, after between one and 1+1/idleTicks idle periods.
const idleTicks = 4

// idleCheck is the decision of one tick of the idle check, from the ticks
// without a watch so far (idle), the watches open, and whether one
// started on the cache since the last tick: the new count, and whether the
// cache stops.
func idleCheck(idle int, watchers int64, used bool) (int, bool) {
	if watchers > 0 || used {
		return 0, false
	}
	idle++
	return idle, idle > idleTicks
}

// stopIfIdle runs the idle check for c, and if c stops, makes it no longer
// the registry's cache. It reports whether c stops.
//
// The open watches counted are the registry's, which a watcher joins just
// after sharedCache returns c; sharedCache sets c.used, so c does not stop
// under a watcher that is starting (unless it took a whole idle period to
// start, in which case its watch ends as if the cache had failed, and its
// client watches again).
func (r *Registry) stopIfIdle(c *watchCache) bool {
	ws := &r.watch
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.cache != c {
		return false // Close is ending it
	}
	var stop bool
	c.idle, stop = idleCheck(c.idle, ws.watchers.Load(), c.used)
	c.used = false
	if stop {
		ws.cache = nil
		r.log.Debug("watch cache stopped: no watch for a while", "idle", r.watchCacheIdle())
	}
	return stop
}

// watchCache is the ring of a registry's recent changes. One goroutine (run)
// appends; any number of watchers read without locks.
type watchCache struct {
	r     *Registry
	slots []atomic.Pointer[cacheEvent] // event seq is in slots[seq%len(slots)]
	// head is the seq of the next event to append: the ring holds the
	// events [tail, head). An event that leaves the ring leaves its slot
	// nil or holding a later event, which is how a watcher that needed it
	// knows that it fell behind.
	head atomic.Uint64
	// wake is closed and replaced after every append and progress update.
	wake atomic.Pointer[chan struct{}]
	// progress is the latest bookmark: every change up to its revision is
	// in the ring (or has left it).
	progress atomic.Pointer[bookmark]

	// mu is held by the appender and by watchers finding where to start,
	// so that they see the ring and complete together.
	mu sync.Mutex
	// complete is the revision after which the ring holds every change
	// to the kind: that of the last event that left the ring, or the
	// revision the store watch started from.
	complete int64
	tail     uint64 // the seq of the oldest event in the ring
	bytes    int64  // the sizes of the events in the ring
	maxBytes int64

	cancel context.CancelFunc // ends the store watch
	done   chan struct{}      // closed when run has returned
	err    error              // what the watches end with; set before done closes

	// The idle check's state, under the registry's watchState.mu: the
	// ticks without a watch, and whether a watch started since the last.
	idle int
	used bool
}

// bookmark is a BOOKMARK event and its revision.
type bookmark struct {
	rev int64
	ev  *Event
}

// run appends the store's events to the ring until the store watch ends,
// or a tick of the idle check stops the cache.
func (c *watchCache) run(events <-chan store.Event, tick <-chan time.Time) {
	defer func() {
		ws := &c.r.watch
		ws.mu.Lock()
		if ws.cache == c {
			ws.cache = nil // ended: release the ring for the next watch
		}
		ws.mu.Unlock()
		close(c.done)
		c.notify()
	}()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			c.handle(e)
		case <-tick:
			if c.r.stopIfIdle(c) {
				c.cancel()
				for range events {
				}
				return
			}
		}
	}
}

// handle takes one event of the store watch.
func (c *watchCache) handle(e store.Event) {
	switch e.Type {
	case store.EventAdded, store.EventModified, store.EventDeleted:
		c.append(e)
	case store.EventProgress:
		ev, err := c.r.bookmark(e.Revision)
		if err != nil {
			return
		}
		c.progress.Store(&bookmark{rev: e.Revision, ev: ev})
		c.notify()
	case store.EventError:
		if errors.Is(e.Err, store.ErrCompacted) {
			c.err = api.NewGone("too old resource version: %d (%v)", e.Revision, e.Err)
		} else {
			c.err = c.r.storeError(e.Err, "")
		}
		c.r.log.Debug("watch cache ended", "err", e.Err)
	}
}

// append adds e to the ring, and evicts the oldest events while the ring
// is over either of its bounds (but keeps e).
func (c *watchCache) append(e store.Event) {
	size := eventSize(e)
	c.mu.Lock()
	seq := c.head.Load()
	if seq-c.tail == uint64(len(c.slots)) {
		c.evictLocked() // e takes the oldest's slot
	}
	c.slots[seq%uint64(len(c.slots))].Store(&cacheEvent{seq: seq, se: e, size: size})
	c.bytes += size
	c.head.Store(seq + 1)
	for c.bytes > c.maxBytes && c.tail < seq {
		c.evictLocked()
	}
	c.mu.Unlock()
	c.notify()
}

// evictLocked removes the oldest event from the ring. c.mu is held.
func (c *watchCache) evictLocked() {
	old := c.slots[c.tail%uint64(len(c.slots))].Swap(nil)
	c.complete = old.se.Revision
	c.bytes -= old.size
	c.tail++
}

// eventSize is what a store event counts against Options.WatchCacheBytes.
func eventSize(e store.Event) int64 {
	n := eventOverhead
	for _, kv := range []*store.KeyValue{e.KV, e.Prev} {
		if kv != nil {
			n += len(kv.Key) + len(kv.Value)
		}
	}
	return int64(n)
}

// notify wakes every watcher waiting for the ring to move.
func (c *watchCache) notify() {
	next := make(chan struct{})
	close(*c.wake.Swap(&next))
}

// startAt points w at the first event after revision rev, and reports
// whether the ring can serve w: false if rev is older than the ring.
func (c *watchCache) startAt(w *Watcher, rev int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev < c.complete {
		return false
	}
	n := uint64(len(c.slots))
	head := c.head.Load()
	lo := c.tail
	i := sort.Search(int(head-lo), func(i int) bool {
		return c.slots[(lo+uint64(i))%n].Load().se.Revision > rev
	})
	w.cache, w.next = c, lo+uint64(i)
	return true
}

// cacheEvent is a store event in the ring, with what watchers derived
// from it so far.
type cacheEvent struct {
	seq  uint64 // position in the ring's sequence
	se   store.Event
	size int64      // eventSize(se)
	cur  lazyObject // se.KV, decoded
	prev lazyObject // se.Prev, decoded, with the resourceVersion of se
	// The wire events built from it, by kind of event.
	out [3]struct {
		once sync.Once
		ev   *Event
	}
}

// The kinds of wire event a store event gives.
const (
	outAdded    = iota // ADDED, cur
	outModified        // MODIFIED, cur
	outDeleted         // DELETED, prev
)

// event returns the shared wire event of kind k. Its object is decoded
// only if asked for (Event.Object): the JSON line splices the stored value.
func (ce *cacheEvent) event(r *Registry, k int) (*Event, error) {
	typ := api.WatchAdded
	kv, rev := ce.se.KV, ce.se.KV.ModRevision
	lazy, lazyRev := &ce.cur, int64(0)
	switch k {
	case outModified:
		typ = api.WatchModified
	case outDeleted:
		typ = api.WatchDeleted
		kv, rev = ce.se.Prev, ce.se.Revision
		lazy, lazyRev = &ce.prev, rev
	}
	o := &ce.out[k]
	o.once.Do(func() {
		o.ev = &Event{Type: typ, lazy: lazy, lazyKV: kv, lazyRev: lazyRev, r: r, stored: kv.Value, rev: rev}
	})
	return o.ev, nil
}

// lazyObject is a stored value decoded on first use, and what selectors
// read of it (labels, and the selectable fields if a field selector asks)
// computed on first use: from the decode cache's object if it has one
// (a create or binding the registry has just written), else from a sparse
// decode if the kind has a sparse decoder (the full decode is left for a
// watcher that asks for Event.Object, if any does).
type lazyObject struct {
	once       sync.Once
	obj        api.Object
	err        error
	selOnce    sync.Once
	sel        api.Object // what labels and fields are read from
	selErr     error
	fieldsOnce sync.Once
	fields     fields.Set
}

// get decodes kv (once); a non-zero rev replaces its resourceVersion.
func (l *lazyObject) get(r *Registry, kv *store.KeyValue, rev int64) (api.Object, error) {
	l.once.Do(func() {
		if rev == 0 {
			l.obj, l.err = r.decodeShared(kv) // read-only, as Event.Object is
			return
		}
		l.obj, l.err = r.decodeCached(kv)
		if l.err == nil {
			l.obj.GetObjectMeta().ResourceVersion = strconv.FormatInt(rev, 10)
		}
	})
	return l.obj, l.err
}

// matches reports whether the object passes the selectors of opts.
func (l *lazyObject) matches(r *Registry, kv *store.KeyValue, rev int64, opts *ListOptions) (bool, error) {
	l.selOnce.Do(func() {
		// An object the registry has decoded or just written is in its
		// decode cache (a pod's create, its binding, the state before
		// them): read the selectors' fields there, for free.
		if r.decoded != nil {
			if obj := r.decoded.shared(kv); obj != nil {
				l.sel = obj
				return
			}
		}
		if r.sparse != nil {
			if l.sel, l.selErr = r.sparse.decode(kv.Value); l.selErr == nil {
				return
			}
		}
		// No sparse decoder, or a value it could not read: the full
		// decode says what is wrong with it.
		l.sel, l.selErr = l.get(r, kv, rev)
	})
	if l.selErr != nil {
		return false, l.selErr
	}
	if !opts.LabelSelector.Matches(labels.Set(l.sel.GetObjectMeta().Labels)) {
		return false, nil
	}
	if opts.FieldSelector.Empty() {
		return true, nil
	}
	l.fieldsOnce.Do(func() { l.fields = r.fieldSet(l.sel) })
	return opts.FieldSelector.Matches(l.fields), nil
}

// fromCache returns w's wire event for ce, or nil if w does not get one.
// The rules are translate's.
func (w *Watcher) fromCache(ce *cacheEvent) (*Event, error) {
	se := &ce.se
	if se.Revision <= w.after || !hasPrefix(se.KV.Key, w.prefix) {
		return nil, nil
	}
	r := w.r
	if !w.selective {
		switch se.Type {
		case store.EventAdded:
			return ce.event(r, outAdded)
		case store.EventModified:
			return ce.event(r, outModified)
		default:
			return ce.event(r, outDeleted)
		}
	}
	var now, was bool
	var err error
	if se.Type != store.EventDeleted {
		if now, err = ce.cur.matches(r, se.KV, 0, &w.opts); err != nil {
			return nil, err
		}
	}
	if se.Type != store.EventAdded {
		if was, err = ce.prev.matches(r, se.Prev, se.Revision, &w.opts); err != nil {
			return nil, err
		}
	}
	switch {
	case now && was:
		return ce.event(r, outModified)
	case now:
		return ce.event(r, outAdded)
	case was:
		return ce.event(r, outDeleted)
	}
	return nil, nil
}

func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// nextFromCache is Next for a watcher the ring serves.
func (w *Watcher) nextFromCache(ctx context.Context) ([]*Event, bool) {
	c := w.cache
	n := uint64(len(c.slots))
	for {
		// Read in this order: whatever progress and end say holds for
		// every event up to the head read after them.
		wake := *c.wake.Load()
		progress := c.progress.Load()
		ended := isClosed(c.done)
		head := c.head.Load()
		for w.next < head && len(w.batch) < maxBatch {
			ce := c.slots[w.next%n].Load()
			if head-w.next > n || ce == nil || ce.seq != w.next {
				// The ring moved past w's position: events are lost.
				w.r.watch.terminated.Add(1)
				w.r.log.Debug("watcher fell behind the watch cache; ending its watch",
					"prefix", w.prefix, "lag", head-w.next, "size", n)
				return w.finish(nil)
			}
			w.next++
			ev, err := w.fromCache(ce)
			if err != nil {
				return w.finish(err)
			}
			w.seen = max(w.seen, ce.se.Revision)
			if ev != nil {
				w.batch = append(w.batch, ev)
			}
		}
		if len(w.batch) > 0 {
			return w.batch, true
		}
		if w.next < head {
			continue
		}
		if w.opts.AllowBookmarks && progress != nil && progress != w.bookmarked && progress.rev >= w.seen {
			w.seen, w.bookmarked = progress.rev, progress
			return append(w.batch, progress.ev), true
		}
		if ended {
			return w.finish(c.err)
		}
		select {
		case <-wake:
		case <-c.done:
		case <-ctx.Done():
			return w.finish(nil)
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
