package record

import (
	"container/list"
	"fmt"
	"strings"
	"time"

	"github.com/drover-io/drover/api"
)

// action is what the recorder does with one occurrence of an event.
type action int

const (
	// actionDrop: the object's rate limit is exhausted.
	actionDrop action = iota
	// actionCreate: a new Event object.
	actionCreate
	// actionPatch: a repeat, folded into the existing Event object.
	actionPatch
)

func (a action) String() string {
	return [...]string{"drop", "create", "patch"}[a]
}

// correlator is the pure core of the recorder: given an occurrence of an
// event and the time it happened, it decides whether to drop it (rate
// limit), create a new Event or fold it into the Event of an identical
// earlier occurrence. It does no I/O and reads no clock; the recorder's
// Run goroutine is its only user.
type correlator struct {
	window     time.Duration // repeats within it of the last occurrence are folded
	burst      float64       // rate limit per involved object
	refill     time.Duration // one token per refill
	seen       *lru[*series] // by aggregation key
	buckets    *lru[*bucket] // by involved object
	lastSuffix int64         // the last name suffix handed out
}

// series is the Event object that occurrences of one event go to.
type series struct {
	namespace, name string
	count           int32
	first, last     time.Time
}

// bucket is a token bucket.
type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

func newCorrelator(window time.Duration, burst int, refill time.Duration, cacheSize int) *correlator {
	return &correlator{
		window:  window,
		burst:   float64(burst),
		refill:  refill,
		seen:    newLRU[*series](cacheSize),
		buckets: newLRU[*bucket](cacheSize),
	}
}

// objectKey identifies the involved object of ev.
func objectKey(ev *api.Event) string {
	r := ev.InvolvedObject
	return strings.Join([]string{r.APIVersion, r.Kind, r.Namespace, r.Name, string(r.UID), r.FieldPath}, "\x00")
}

// aggregationKey identifies an event: occurrences with the same key are
// repeats of one another.
func aggregationKey(ev *api.Event) string {
	return strings.Join([]string{objectKey(ev), string(ev.Type), ev.Reason, ev.Message,
		ev.Source.Component, ev.Source.Host, ev.ReportingController, ev.ReportingInstance}, "\x00")
}

// observe decides what to do with ev, which happened at now, and fills in
// what the Event object to write needs: the name, count and timestamps
// (for actionPatch, of the existing object). ev is modified.
func (c *correlator) observe(ev *api.Event, now time.Time) action {
	if !c.allow(objectKey(ev), now) {
		return actionDrop
	}
	key := aggregationKey(ev)
	if s, ok := c.seen.get(key); ok && now.Sub(s.last) <= c.window {
		s.count++
		if now.After(s.last) {
			s.last = now
		}
		c.fill(ev, s)
		return actionPatch
	}
	s := &series{namespace: ev.Namespace, name: c.newName(ev.InvolvedObject.Name, now), count: 1, first: now, last: now}
	c.seen.put(key, s)
	c.fill(ev, s)
	return actionCreate
}

// recreate is called when the Event object of ev's series is gone (it
// expired on the server): the series goes on under a new name, with its
// count. ev is modified.
func (c *correlator) recreate(ev *api.Event, now time.Time) {
	key := aggregationKey(ev)
	s, ok := c.seen.get(key)
	if !ok {
		s = &series{namespace: ev.Namespace, count: 1, first: now, last: now}
		c.seen.put(key, s)
	}
	s.name = c.newName(ev.InvolvedObject.Name, now)
	c.fill(ev, s)
}

// forget drops what is known of ev's series, after its Event object could
// not be written: the next occurrence creates a new one.
func (c *correlator) forget(ev *api.Event) {
	c.seen.remove(aggregationKey(ev))
}

func (c *correlator) fill(ev *api.Event, s *series) {
	ev.Namespace, ev.Name = s.namespace, s.name
	ev.Count = s.count
	ev.FirstTimestamp = api.NewTime(s.first)
	ev.LastTimestamp = api.NewTime(s.last)
}

// allow takes a token from the bucket of the object key at now.
func (c *correlator) allow(key string, now time.Time) bool {
	b, ok := c.buckets.get(key)
	if !ok {
		b = &bucket{tokens: c.burst, at: now}
		c.buckets.put(key, b)
	}
	if elapsed := now.Sub(b.at); elapsed > 0 && c.refill > 0 {
		b.tokens = min(c.burst, b.tokens+float64(elapsed)/float64(c.refill))
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// newName returns "<object name>.<hex suffix>", the suffix being the time
// in nanoseconds, made unique among the names this recorder gives out.
func (c *correlator) newName(obj string, now time.Time) string {
	c.lastSuffix = max(now.UnixNano(), c.lastSuffix+1)
	return fmt.Sprintf("%s.%x", obj, c.lastSuffix)
}

// lru is a map that keeps its most recently used entries, up to a size.
type lru[V any] struct {
	size  int
	order *list.List // of *lruEntry[V], most recent first
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](size int) *lru[V] {
	return &lru[V]{size: size, order: list.New(), items: make(map[string]*list.Element)}
}

func (l *lru[V]) get(key string) (V, bool) {
	e, ok := l.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	l.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).val, true
}

func (l *lru[V]) put(key string, v V) {
	if e, ok := l.items[key]; ok {
		e.Value.(*lruEntry[V]).val = v
		l.order.MoveToFront(e)
		return
	}
	l.items[key] = l.order.PushFront(&lruEntry[V]{key: key, val: v})
	for l.order.Len() > l.size {
		old := l.order.Back()
		l.order.Remove(old)
		delete(l.items, old.Value.(*lruEntry[V]).key)
	}
}

func (l *lru[V]) remove(key string) {
	if e, ok := l.items[key]; ok {
		l.order.Remove(e)
		delete(l.items, key)
	}
}

func (l *lru[V]) len() int { return l.order.Len() }
