// Package record records Kubernetes Events about objects: "Scheduled",
// "Pulled", "BackOff", as kubectl describe shows them.
//
// A Recorder is cheap to call from a hot loop. Event never blocks: it puts
// the event in a bounded queue that Run drains, writing core/v1 Events
// through a client.Client. Repeats of an identical event (same object,
// type, reason, message and source) within Config.AggregationWindow are
// folded into the existing Event object — its count goes up and its
// lastTimestamp moves — instead of creating new objects, as Kubernetes
// does; and a token bucket per object (Config.Burst, one more token every
// Config.RefillInterval) drops what would flood the server.
//
//	rec, err := record.New(record.Config{Client: c, Component: "drover-scheduler"})
//	go rec.Run(ctx)
//	rec.Eventf(pod, api.EventTypeNormal, "Scheduled", "Successfully assigned %s to %s", pod.Key(), node)
//
// The rate limit is applied before aggregation, as in Kubernetes: a repeat
// that finds the object's bucket empty is dropped, not counted. Unlike
// Kubernetes, similar events (same reason, different messages) are not
// combined into one; each message is its own series.
//
// Event and Eventf may be called from any number of goroutines; one
// goroutine runs Run, which decides what to write (aggregation and rate
// limit) and hands the writes to Config.Writers goroutines of its own.
// The writes of one series (the Event object, its patches) are made by
// one writer, in order; different series are written concurrently, so a
// burst of events (one "Scheduled" per pod at thousands of pods a
// second) is not limited to one write round trip at a time.
package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// Defaults of Config.
const (
	DefaultQueueSize         = 1000
	DefaultAggregationWindow = 10 * time.Minute
	DefaultBurst             = 25
	DefaultRefillInterval    = 5 * time.Minute
	DefaultCacheSize         = 4096
	DefaultWriters           = 32
)

// maxMessage is the longest message an Event may have.
const maxMessage = 1024

// Clock is where the recorder gets the time of events from. Event calls
// Now, from the caller's goroutine.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config configures a Recorder. Client and Component are required.
type Config struct {
	// Client writes the Events.
	Client *client.Client
	// Component names the reporter: the Event's source.component and
	// reportingComponent, such as "drover-scheduler" or "kubelet".
	Component string
	// Host is the Event's source.host: the node the reporter runs on, if
	// any.
	Host string
	// Instance is the Event's reportingInstance. "" means Component, with
	// "-" and Host if Host is set.
	Instance string
	// QueueSize is how many events may wait for Run; more are dropped. 0
	// means DefaultQueueSize.
	QueueSize int
	// AggregationWindow: an event identical to one recorded less than
	// this long before is counted in the same Event object. 0 means
	// DefaultAggregationWindow.
	AggregationWindow time.Duration
	// Burst is how many events about one object may be written at once;
	// then one more every RefillInterval. 0 means DefaultBurst and
	// DefaultRefillInterval.
	Burst          int
	RefillInterval time.Duration
	// CacheSize is how many event series and objects are remembered for
	// aggregation and rate limiting (least recently used first out). 0
	// means DefaultCacheSize.
	CacheSize int
	// Writers is how many writes Run makes concurrently, each series of
	// events being written by one of them in order. 0 means
	// DefaultWriters.
	Writers int
	// Clock gives the time of events. nil means the system clock.
	Clock Clock
	// Logger receives the recorder's log lines (dropped events, failed
	// writes). nil means discard.
	Logger *slog.Logger
}

// Validate reports the first field of c that is wrong, and why.
func (c Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("record: Config.Client is nil: a client is required to write Events")
	case c.Component == "":
		return errors.New("record: Config.Component is empty: name the reporting component, such as \"drover-scheduler\"")
	case c.QueueSize < 0:
		return fmt.Errorf("record: Config.QueueSize is %d: must be positive, or 0 for the default (%d)", c.QueueSize, DefaultQueueSize)
	case c.AggregationWindow < 0:
		return fmt.Errorf("record: Config.AggregationWindow is %v: must be positive, or 0 for the default (%v)", c.AggregationWindow, DefaultAggregationWindow)
	case c.Burst < 0:
		return fmt.Errorf("record: Config.Burst is %d: must be positive, or 0 for the default (%d)", c.Burst, DefaultBurst)
	case c.RefillInterval < 0:
		return fmt.Errorf("record: Config.RefillInterval is %v: must be positive, or 0 for the default (%v)", c.RefillInterval, DefaultRefillInterval)
	case c.CacheSize < 0:
		return fmt.Errorf("record: Config.CacheSize is %d: must be positive, or 0 for the default (%d)", c.CacheSize, DefaultCacheSize)
	case c.Writers < 0:
		return fmt.Errorf("record: Config.Writers is %d: must be positive, or 0 for the default (%d)", c.Writers, DefaultWriters)
	}
	return nil
}

// Recorder records Events. Event and Eventf are safe for concurrent use;
// Run writes what they queue.
type Recorder struct {
	c       *client.Client
	source  api.EventSource
	inst    string
	clock   Clock
	log     *slog.Logger
	queue   chan queued
	writers int
	coreMu  sync.Mutex  // guards core: Run observes, its writers recreate and forget
	core    *correlator // guarded by coreMu
	running atomic.Bool
	dropped atomic.Int64
}

// queued is an event waiting for Run, with the time it happened; or, if
// flushed is set, the mark of a Flush, closed when Run reaches it.
type queued struct {
	ev      *api.Event
	now     time.Time
	flushed chan struct{}
}

// New returns a Recorder for cfg. Events are queued from now on, and
// written once Run runs.
func New(cfg Config) (*Recorder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.AggregationWindow == 0 {
		cfg.AggregationWindow = DefaultAggregationWindow
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.RefillInterval == 0 {
		cfg.RefillInterval = DefaultRefillInterval
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Writers == 0 {
		cfg.Writers = DefaultWriters
	}
	if cfg.Instance == "" {
		cfg.Instance = cfg.Component
		if cfg.Host != "" {
			cfg.Instance += "-" + cfg.Host
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Recorder{
		c:       cfg.Client,
		source:  api.EventSource{Component: cfg.Component, Host: cfg.Host},
		inst:    cfg.Instance,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		queue:   make(chan queued, cfg.QueueSize),
		writers: cfg.Writers,
		core:    newCorrelator(cfg.AggregationWindow, cfg.Burst, cfg.RefillInterval, cfg.CacheSize),
	}, nil
}

// Event records an event about obj: eventType is api.EventTypeNormal or
// api.EventTypeWarning, reason a short CamelCase word ("Scheduled"), and
// message says what happened, for people. It never blocks: when the queue
// is full the event is dropped (and logged).
func (r *Recorder) Event(obj api.Object, eventType api.EventType, reason, message string) {
	now := r.clock.Now()
	ev, err := r.newEvent(obj, eventType, reason, message)
	if err != nil {
		r.log.Error("event not recorded", "reason", reason, "err", err)
		return
	}
	select {
	case r.queue <- queued{ev: ev, now: now}:
	default:
		r.dropped.Add(1)
		r.log.Warn("event dropped: the queue is full", "object", ev.InvolvedObject.Name, "reason", reason)
	}
}

// Eventf is Event with a message formatted by fmt.Sprintf.
func (r *Recorder) Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any) {
	r.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

// Dropped returns how many events were dropped because the queue was full
// or the object's rate limit was exhausted.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

func (r *Recorder) newEvent(obj api.Object, eventType api.EventType, reason, message string) (*api.Event, error) {
	if obj == nil {
		return nil, errors.New("record: the object is nil")
	}
	if eventType != api.EventTypeNormal && eventType != api.EventTypeWarning {
		return nil, fmt.Errorf("record: event type %q: must be %q or %q", eventType, api.EventTypeNormal, api.EventTypeWarning)
	}
	ref, err := Reference(r.c.Scheme(), obj)
	if err != nil {
		return nil, err
	}
	if len(message) > maxMessage {
		message = truncate(message, maxMessage)
	}
	ns := ref.Namespace
	if ns == "" {
		ns = "default" // events about cluster-scoped objects live there, as in Kubernetes
	}
	return &api.Event{
		ObjectMeta:          api.ObjectMeta{Namespace: ns},
		InvolvedObject:      ref,
		Reason:              reason,
		Message:             message,
		Type:                eventType,
		Source:              r.source,
		ReportingController: r.source.Component,
		ReportingInstance:   r.inst,
	}, nil
}

// Reference returns the reference to obj that an Event's involvedObject
// holds. The kind and apiVersion come from obj, or from the scheme when
// obj's are empty.
func Reference(scheme *api.Scheme, obj api.Object) (api.ObjectReference, error) {
	m := obj.GetObjectMeta()
	gvk := obj.GetTypeMeta().GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		k, err := scheme.ObjectKind(obj)
		if err != nil {
			return api.ObjectReference{}, fmt.Errorf("record: reference to %T %q: %w", obj, m.Name, err)
		}
		gvk = k.GroupVersionKind
	}
	if m.Name == "" {
		return api.ObjectReference{}, fmt.Errorf("record: reference to %s: the object has no name", gvk.Kind)
	}
	return api.ObjectReference{
		Kind:            gvk.Kind,
		APIVersion:      gvk.GroupVersion().String(),
		Namespace:       m.Namespace,
		Name:            m.Name,
		UID:             m.UID,
		ResourceVersion: m.ResourceVersion,
	}, nil
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Run writes the queued events until ctx ends, then returns nil once
// its writers have stopped; events still queued then are not written
// (see Flush). Only one Run may run at a time.
func (r *Recorder) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("record: Run is already running")
	}
	defer r.running.Store(false)
	if ctx.Err() != nil {
		return nil
	}
	// Each writer has a short queue of its own: when every writer is
	// behind, Run waits, and Event drops what no longer fits in r.queue.
	writers := make([]chan write, r.writers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range writers {
		writers[i] = make(chan write, 16)
		wg.Go(func() { r.writeLoop(ctx, writers[i]) })
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case q := <-r.queue:
			if q.flushed != nil {
				r.flush(ctx, writers, q.flushed)
				continue
			}
			r.coreMu.Lock()
			key := aggregationKey(q.ev)
			act := r.core.observe(q.ev, q.now)
			r.coreMu.Unlock()
			if act == actionDrop {
				r.dropped.Add(1)
				r.log.Debug("event dropped: rate limit of the object", "object", q.ev.InvolvedObject.Name, "reason", q.ev.Reason)
				continue
			}
			// One series, one writer: its create comes before its patches.
			select {
			case writers[shard(key, len(writers))] <- write{ev: q.ev, now: q.now, act: act}:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// write is one write handed by Run to a writer: act on ev; or, if
// flushed is set, a Flush mark that the writer reports reaching on it.
type write struct {
	ev      *api.Event
	now     time.Time
	act     action
	flushed chan<- struct{}
}

// writeLoop makes the writes of ws, in order, until ctx ends.
func (r *Recorder) writeLoop(ctx context.Context, ws <-chan write) {
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-ws:
			if w.flushed != nil {
				w.flushed <- struct{}{}
				continue
			}
			r.write(ctx, w.ev, w.now, w.act)
		}
	}
}

// flush closes done once every writer has made the writes handed to it
// before, without holding Run meanwhile.
func (r *Recorder) flush(ctx context.Context, writers []chan write, done chan struct{}) {
	reached := make(chan struct{}, len(writers))
	for _, ws := range writers {
		select {
		case ws <- write{flushed: reached}:
		case <-ctx.Done():
			return
		}
	}
	go func() {
		for range writers {
			select {
			case <-reached:
			case <-ctx.Done():
				return
			}
		}
		close(done)
	}()
}

// shard maps a series key to one of n writers (FNV-1a).
func shard(key string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}

// Flush waits until Run has handled (written, or dropped by the rate
// limit) every event queued before the call, and returns nil; or until
// ctx ends, and returns ctx.Err(). It needs Run running. Call it before
// ending Run's ctx to have the last events written: a Manager does, once
// its controllers have stopped.
func (r *Recorder) Flush(ctx context.Context) error {
	mark := queued{flushed: make(chan struct{})}
	select {
	case r.queue <- mark:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-mark.flushed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// write writes one occurrence of an event, as observe decided (act).
func (r *Recorder) write(ctx context.Context, ev *api.Event, now time.Time, act action) {
	var err error
	switch act {
	case actionCreate:
		err = r.create(ctx, ev, now)
	case actionPatch:
		err = r.patch(ctx, ev)
		if errors.Is(err, api.ErrNotFound) {
			// The Event expired on the server: start it again, keeping
			// the count.
			r.recreate(ev, now)
			err = r.create(ctx, ev, now)
		}
	}
	if err != nil {
		r.coreMu.Lock()
		r.core.forget(ev)
		r.coreMu.Unlock()
		if ctx.Err() == nil {
			r.log.Error("write event", "action", act.String(), "event", ev.Namespace+"/"+ev.Name, "err", err)
		}
	}
}

func (r *Recorder) create(ctx context.Context, ev *api.Event, now time.Time) error {
	// The recorder names its Events and never reads them back.
	err := r.c.Create(ctx, ev, client.DiscardResult)
	if errors.Is(err, api.ErrAlreadyExists) {
		// Another recorder took the name: take another.
		r.recreate(ev, now)
		err = r.c.Create(ctx, ev, client.DiscardResult)
	}
	return err
}

// recreate gives ev's series a new name (see correlator.recreate).
func (r *Recorder) recreate(ev *api.Event, now time.Time) {
	r.coreMu.Lock()
	defer r.coreMu.Unlock()
	r.core.recreate(ev, now)
}

func (r *Recorder) patch(ctx context.Context, ev *api.Event) error {
	patch := fmt.Appendf(nil, `{"count":%d,"lastTimestamp":%q}`, ev.Count, ev.LastTimestamp.UTC().Format(time.RFC3339))
	target := &api.Event{ObjectMeta: api.ObjectMeta{Namespace: ev.Namespace, Name: ev.Name}}
	return r.c.Patch(ctx, target, client.MergePatch, patch, client.DiscardResult)
}
