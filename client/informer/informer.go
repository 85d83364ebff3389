// Package informer keeps an in-memory, indexed copy of the objects of one
// kind, in step with the API server, and tells event handlers about every
// change: what controllers, the scheduler and the node agent read from
// instead of asking the server.
//
// An Informer lists the objects (in pages), then watches from the list's
// resourceVersion. A watch that ends is resumed from the last
// resourceVersion seen (bookmarks included), so nothing is missed and
// nothing is listed again; only when the server answers 410 Gone (the
// revision was compacted) does it list again, and it never goes back in
// time: a list older than what it has already seen is refused and retried.
// After a relist, objects that disappeared meanwhile are reported deleted
// with their last known state.
//
// There is one copy of each object in memory: the Cache, the listers and
// the handlers all share it, so none of them may modify what they are
// given (copy it with api.DeepCopy first). Objects also share their
// repeated parts with each other: before an object enters the cache, an
// Interner replaces its strings and small maps (labels, annotations,
// resource lists) by equal ones seen before, which halves the memory a
// cache of pods takes. Config.DisableIntern turns that off.
//
// A Factory shares one informer per kind between every user in a process.
package informer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
)

// ListOptions are the options of a List or Watch made by an informer.
// Which objects (namespace, selectors) is the ListerWatcher's business.
type ListOptions struct {
	// ResourceVersion: for a List, "" for the latest state; for a Watch,
	// the revision to watch after.
	ResourceVersion string
	// Limit and Continue page a List.
	Limit    int64
	Continue string
	// AllowBookmarks asks a Watch for BOOKMARK events.
	AllowBookmarks bool
	// TimeoutSeconds ends a Watch after that long (0: the server's
	// default).
	TimeoutSeconds int64
}

// Page is one page of a List.
type Page struct {
	Items []api.Object
	// ResourceVersion is the revision the list was read at.
	ResourceVersion string
	// Continue is the token of the next page, "" on the last.
	Continue string
}

// Event is a decoded watch event. For BOOKMARK, Object carries only its
// resourceVersion. For ERROR, Err holds the error (an *api.StatusError,
// such as a 410 Gone) and Object is nil.
type Event struct {
	Type   api.WatchEventType
	Object api.Object
	Err    error
}

// ListerWatcher is where an informer reads the objects of one kind: the API
// server through a client (see package client), or anything else in tests.
// The informer calls List and Watch from one goroutine, one at a time.
type ListerWatcher interface {
	// List returns one page of objects.
	List(ctx context.Context, opts ListOptions) (*Page, error)
	// Watch streams the changes after opts.ResourceVersion, in order. The
	// channel is closed when the watch ends: when ctx ends, the server ends
	// it, or after an ERROR event. An error from Watch itself (such as a
	// 410 Gone) means no stream was opened.
	Watch(ctx context.Context, opts ListOptions) (<-chan Event, error)
}

// Config configures an Informer.
type Config struct {
	// ListerWatcher is where the objects come from. Required.
	ListerWatcher ListerWatcher
	// Indexers are indexes to keep beyond the built-in ones (namespace,
	// owner, controller).
	Indexers Indexers
	// PageSize is the number of objects asked for per list page. 0 means
	// 500; a negative value lists in one request.
	PageSize int64
	// MinBackoff and MaxBackoff bound the wait after a failed list or
	// watch, which doubles on each failure in a row (with jitter). 0 means
	// 800 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// WatchTimeout is the longest a single watch is asked to run; each
	// watch asks for a random duration between it and twice it (in whole
	// seconds, at least one), so that many informers do not reconnect
	// together. A watch the server has not ended a fifth of that duration
	// after it should have is abandoned and resumed, so a hung server or
	// a dead connection cannot stall the informer. 0 means 5 minutes.
	WatchTimeout time.Duration
	// Logger receives the informer's log lines. nil means discard.
	Logger *slog.Logger

	// Transform, if set, is applied to every object listed or watched
	// (deleted ones included) before it enters the cache or reaches a
	// handler, and returns the object to use instead: it may drop fields
	// nobody reads, to save memory. A listed object whose resourceVersion
	// the cache already holds is not stored, and not transformed. It is
	// called from the informer's one goroutine, and may modify obj, which
	// nobody else holds yet, but not its namespace, name or
	// resourceVersion. It must not return nil (the object is then kept as
	// it was).
	Transform func(obj api.Object) api.Object
	// Interner deduplicates the strings and small maps of the objects,
	// after Transform (see Interner): many pods hold the same namespace,
	// labels, image and resource lists, and the cache keeps one copy.
	// nil means a new interner with DefaultInternerConfig, for this
	// informer alone; share one between informers to share strings
	// between kinds.
	//
	// Like Transform, interning modifies the objects the ListerWatcher
	// returns, in place: they must be the informer's to keep (freshly
	// decoded, as the client's are). A ListerWatcher that hands out
	// objects it shares with others (such as a registry's own) needs
	// DisableIntern, or a Transform that copies them first.
	Interner *Interner
	// DisableIntern turns interning off: each object keeps its own copy
	// of everything (an informer of pods then takes about 1.9x the
	// memory: BenchmarkInformerMemory).
	DisableIntern bool
}

// Validate reports the first field of c that is wrong.
func (c Config) Validate() error {
	switch {
	case c.ListerWatcher == nil:
		return errors.New("informer: Config.ListerWatcher is nil: a source of objects is required")
	case c.MinBackoff < 0 || c.MaxBackoff < 0:
		return fmt.Errorf("informer: Config.MinBackoff (%v) and MaxBackoff (%v) must not be negative", c.MinBackoff, c.MaxBackoff)
	case c.MaxBackoff != 0 && c.MinBackoff > c.MaxBackoff:
		return fmt.Errorf("informer: Config.MinBackoff (%v) is greater than MaxBackoff (%v)", c.MinBackoff, c.MaxBackoff)
	case c.WatchTimeout < 0:
		return fmt.Errorf("informer: Config.WatchTimeout is %v: must not be negative", c.WatchTimeout)
	case c.DisableIntern && c.Interner != nil:
		return errors.New("informer: Config.Interner is set but DisableIntern is true: set one or the other")
	}
	return nil
}

// Informer keeps a Cache of one kind's objects in step with a
// ListerWatcher and notifies handlers. Create it with New, add handlers,
// then call Run.
type Informer struct {
	cfg   Config
	log   *slog.Logger
	cache *Cache

	// mu serializes changes to the cache with handler registration, so
	// a handler added at any time sees every object exactly once.
	mu        sync.Mutex
	listeners []*listener
	running   context.Context // set by Run; nil before

	synced  atomic.Bool
	lastRV  atomic.Value // string
	started atomic.Bool
	wg      sync.WaitGroup // listener goroutines
}

// New returns an informer for cfg. It does nothing until Run.
func New(cfg Config) (*Informer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 500
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 800 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.MinBackoff > cfg.MaxBackoff {
		cfg.MinBackoff = cfg.MaxBackoff
	}
	if cfg.WatchTimeout == 0 {
		cfg.WatchTimeout = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interner == nil && !cfg.DisableIntern {
		var err error
		if cfg.Interner, err = NewInterner(DefaultInternerConfig()); err != nil {
			return nil, err
		}
	}
	c, err := NewCache(cfg.Indexers)
	if err != nil {
		return nil, err
	}
	inf := &Informer{cfg: cfg, log: cfg.Logger, cache: c}
	inf.lastRV.Store("")
	return inf, nil
}

// Cache returns the informer's cache.
func (inf *Informer) Cache() *Cache { return inf.cache }

// HasSynced reports whether the first list has been stored in the cache.
func (inf *Informer) HasSynced() bool { return inf.synced.Load() }

// LastSyncResourceVersion returns the resourceVersion of the latest list,
// watch event or bookmark the cache reflects ("" before the first list).
func (inf *Informer) LastSyncResourceVersion() string { return inf.lastRV.Load().(string) }

// Handler receives an informer's notifications, in the order of the
// changes, from one goroutine per handler: a slow handler delays only
// itself. The objects are the cache's: read them, never modify them.
type Handler interface {
	// OnAdd is called for an object that appeared; initial is true for the
	// objects already there when the handler was added or found by the
	// first list.
	OnAdd(obj api.Object, initial bool)
	// OnUpdate is called for a change, including a relist that found a
	// newer resourceVersion.
	OnUpdate(old, obj api.Object)
	// OnDelete is called with the last known state of an object that went
	// away. After a relist, that state may be older than the deletion.
	OnDelete(obj api.Object)
}

// HandlerFuncs adapts functions to a Handler; nil ones are skipped.
type HandlerFuncs struct {
	AddFunc    func(obj api.Object, initial bool)
	UpdateFunc func(old, obj api.Object)
	DeleteFunc func(obj api.Object)
}

// OnAdd calls AddFunc.
func (h HandlerFuncs) OnAdd(obj api.Object, initial bool) {
	if h.AddFunc != nil {
		h.AddFunc(obj, initial)
	}
}

// OnUpdate calls UpdateFunc.
func (h HandlerFuncs) OnUpdate(old, obj api.Object) {
	if h.UpdateFunc != nil {
		h.UpdateFunc(old, obj)
	}
}

// OnDelete calls DeleteFunc.
func (h HandlerFuncs) OnDelete(obj api.Object) {
	if h.DeleteFunc != nil {
		h.DeleteFunc(obj)
	}
}

// Registration is a handler added to an informer.
type Registration interface {
	// HasSynced reports whether the handler has been called for every
	// object of the informer's first list (or of the cache when it was
	// added).
	HasSynced() bool
}

// AddHandler adds h. If the informer already holds objects, h first gets
// an OnAdd(obj, true) for each. It may be called before or during Run.
func (inf *Informer) AddHandler(h Handler) (Registration, error) {
	if h == nil {
		return nil, errors.New("informer: AddHandler: the handler is nil")
	}
	inf.mu.Lock()
	defer inf.mu.Unlock()
	l := newListener(h)
	for _, key := range inf.cache.Keys() {
		obj, _ := inf.cache.Get(key)
		l.push(notification{kind: addNote, obj: obj, initial: true})
	}
	if inf.synced.Load() {
		l.push(notification{kind: syncedNote})
	}
	inf.listeners = append(inf.listeners, l)
	if inf.running != nil {
		inf.startListener(inf.running, l)
	}
	return l, nil
}

// notify sends n to every listener. The caller holds inf.mu.
func (inf *Informer) notify(n notification) {
	for _, l := range inf.listeners {
		l.push(n)
	}
}

func (inf *Informer) startListener(ctx context.Context, l *listener) {
	inf.wg.Add(1)
	go func() {
		defer inf.wg.Done()
		l.run(ctx)
	}()
}

// Run keeps the cache in step until ctx ends, then stops the handlers'
// goroutines and returns nil. It may be called once.
func (inf *Informer) Run(ctx context.Context) error {
	if !inf.started.CompareAndSwap(false, true) {
		return errors.New("informer: Run called twice")
	}
	inf.mu.Lock()
	inf.running = ctx
	for _, l := range inf.listeners {
		inf.startListener(ctx, l)
	}
	inf.mu.Unlock()
	defer inf.wg.Wait()

	needList := true
	failures := 0
	for ctx.Err() == nil {
		began := time.Now()
		var err error
		if needList {
			err = inf.list(ctx)
			if err == nil {
				needList = false
			}
		}
		if err == nil {
			var relist bool
			relist, err = inf.watch(ctx)
			needList = relist
			// A watch that ran a while resumes (or relists) at once; one
			// that ended at once (say, a server that keeps answering 410)
			// backs off, so a misbehaving server is not hammered.
			if err == nil && time.Since(began) >= time.Second {
				failures = 0
				continue
			}
		}
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			inf.log.Warn("list or watch failed", "err", err, "resourceVersion", inf.LastSyncResourceVersion())
		}
		failures++
		if !wait(ctx, inf.backoff(failures)) {
			break
		}
	}
	return nil
}

// backoff returns the wait after the n-th failure in a row: MinBackoff
// doubled n-1 times, capped at MaxBackoff, with up to 20% jitter removed.
func (inf *Informer) backoff(n int) time.Duration {
	d := inf.cfg.MinBackoff
	for i := 1; i < n && d < inf.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, inf.cfg.MaxBackoff)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// list reads every object and replaces the cache's contents with them.
func (inf *Informer) list(ctx context.Context) error {
	var items []api.Object
	opts := ListOptions{Limit: max(inf.cfg.PageSize, 0)}
	var rv string
	for {
		page, err := inf.cfg.ListerWatcher.List(ctx, opts)
		if err != nil {
			if opts.Continue != "" && api.IsGone(err) {
				// The snapshot the pages were read from was compacted:
				// read everything again in one request.
				items, opts = nil, ListOptions{}
				continue
			}
			return fmt.Errorf("list: %w", err)
		}
		items = append(items, page.Items...)
		rv = page.ResourceVersion
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	if last := inf.LastSyncResourceVersion(); olderRV(rv, last) {
		return fmt.Errorf("list at resourceVersion %s is older than %s, already seen: refusing to go back in time", rv, last)
	}
	for i, obj := range items {
		if old, ok := inf.cache.Get(Key(obj)); ok && old.GetObjectMeta().ResourceVersion == obj.GetObjectMeta().ResourceVersion {
			continue // replace keeps old: obj is not stored (and may be old itself)
		}
		items[i] = inf.transform(obj)
	}
	inf.replace(items, rv)
	return nil
}

// replace makes the cache hold exactly items, notifying the differences.
func (inf *Informer) replace(items []api.Object, rv string) {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	initial := !inf.synced.Load()
	seen := make(map[string]struct{}, len(items))
	for _, obj := range items {
		key := Key(obj)
		seen[key] = struct{}{}
		old, ok := inf.cache.Get(key)
		if ok && old.GetObjectMeta().ResourceVersion == obj.GetObjectMeta().ResourceVersion {
			continue
		}
		inf.cache.set(key, obj)
		if ok {
			inf.notify(notification{kind: updateNote, old: old, obj: obj})
		} else {
			inf.notify(notification{kind: addNote, obj: obj, initial: initial})
		}
	}
	for _, key := range inf.cache.Keys() {
		if _, ok := seen[key]; !ok {
			if old := inf.cache.remove(key); old != nil {
				inf.notify(notification{kind: deleteNote, obj: old})
			}
		}
	}
	inf.lastRV.Store(rv)
	if initial {
		inf.synced.Store(true)
		inf.notify(notification{kind: syncedNote})
	}
}

// watch applies the events of one watch from the last resourceVersion. It
// returns relist=true when the revision is gone and a new list is needed.
func (inf *Informer) watch(ctx context.Context) (relist bool, err error) {
	timeout := inf.cfg.WatchTimeout + time.Duration(rand.Int64N(int64(inf.cfg.WatchTimeout)+1))
	// The server ends the watch after TimeoutSeconds. If it does not (it
	// hung, or the connection died without a reset, which TCP may take
	// many minutes to notice), the informer gives up on it a little after,
	// and resumes from the last resourceVersion: it is never stuck on a
	// silent watch.
	secs := max(int64(timeout/time.Second), 1) // 0 would mean the server's default
	wctx, cancel := context.WithTimeout(ctx, timeout+timeout/5)
	defer cancel()
	events, err := inf.cfg.ListerWatcher.Watch(wctx, ListOptions{
		ResourceVersion: inf.LastSyncResourceVersion(),
		AllowBookmarks:  true,
		TimeoutSeconds:  secs,
	})
	if err != nil {
		if api.IsGone(err) {
			return true, nil
		}
		return false, fmt.Errorf("watch: %w", err)
	}
	defer func() {
		cancel()
		for range events {
		}
	}()
	for ev := range events {
		switch ev.Type {
		case api.WatchError:
			if api.IsGone(ev.Err) {
				inf.log.Info("watch revision compacted: listing again", "resourceVersion", inf.LastSyncResourceVersion())
				return true, nil
			}
			return false, fmt.Errorf("watch: %w", ev.Err)
		case api.WatchBookmark:
			if ev.Object != nil {
				inf.advance(ev.Object.GetObjectMeta().ResourceVersion)
			}
		case api.WatchAdded, api.WatchModified, api.WatchDeleted:
			if ev.Object == nil {
				return false, fmt.Errorf("watch: %s event without an object", ev.Type)
			}
			ev.Object = inf.transform(ev.Object)
			inf.apply(ev)
		default:
			return false, fmt.Errorf("watch: unknown event type %q", ev.Type)
		}
	}
	return false, nil
}

// transform applies Config.Transform, then the interner, to obj.
func (inf *Informer) transform(obj api.Object) api.Object {
	if inf.cfg.Transform != nil {
		if t := inf.cfg.Transform(obj); t != nil {
			obj = t
		} else {
			inf.log.Error("Config.Transform returned nil: keeping the object as it was", "key", Key(obj))
		}
	}
	if inf.cfg.Interner != nil {
		obj = inf.cfg.Interner.Intern(obj)
	}
	return obj
}

// advance records rv as the latest seen if it is newer.
func (inf *Informer) advance(rv string) {
	if rv != "" && !olderRV(rv, inf.LastSyncResourceVersion()) {
		inf.lastRV.Store(rv)
	}
}

// apply stores one watch event in the cache and notifies it.
func (inf *Informer) apply(ev Event) {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	key := Key(ev.Object)
	if ev.Type == api.WatchDeleted {
		if old := inf.cache.remove(key); old != nil {
			inf.notify(notification{kind: deleteNote, obj: ev.Object})
		}
	} else if old := inf.cache.set(key, ev.Object); old != nil {
		inf.notify(notification{kind: updateNote, old: old, obj: ev.Object})
	} else {
		inf.notify(notification{kind: addNote, obj: ev.Object})
	}
	inf.advance(ev.Object.GetObjectMeta().ResourceVersion)
}

// olderRV reports whether resourceVersion a is older than b. Drover's
// resourceVersions are decimal revisions; anything else (or "") is never
// older.
func olderRV(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x < y
}
