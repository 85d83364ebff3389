// Package queue holds the scheduling queue: the pods waiting for a node, in
// three sub-queues.
//
//   - active: a heap ordered by the profile's QueueSort plugin; Pop takes
//     the first.
//   - backoff: pods that failed recently, each waiting out an exponential
//     backoff (InitialBackoff doubling per attempt up to MaxBackoff) on
//     the injected clock before they go back to active.
//   - unschedulable: pods no node could take. They leave it when a
//     cluster event that could help them happens (MoveAllToActiveOrBackoff,
//     filtered by the plugins that rejected them) or, failing that, after
//     MaxUnschedulableDuration.
//
// The queue also tracks nominated pods: pods that preemption placed on a
// node, which later cycles must account for there.
//
// All methods are safe for concurrent use. The queue's timers run on the
// Clock; Close stops them.
package queue

import (
	"container/heap"
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// ErrClosed is returned by Pop once the queue is closed.
var ErrClosed = errors.New("queue: closed")

// Clock is where the queue reads the time and sets its timers (backoff
// expiry, the unschedulable flush). AfterFunc's f is called without any
// lock of the clock's held; stop reports whether it prevented the call.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Event is a cluster event that may make unschedulable pods schedulable:
// the framework's vocabulary (framework.NodeAdd, framework.Any, ...).
type Event = framework.ClusterEvent

// Defaults of Config.
const (
	DefaultInitialBackoff           = time.Second
	DefaultMaxBackoff               = 10 * time.Second
	DefaultMaxUnschedulableDuration = 5 * time.Minute
)

// Config configures a PriorityQueue.
type Config struct {
	// Less orders the active queue (the QueueSort plugin). Required.
	Less func(a, b *framework.QueuedPodInfo) bool
	// Clock gives the time and runs the timers. Required.
	Clock Clock
	// InitialBackoff and MaxBackoff bound the per-pod backoff. 0 means
	// the defaults (1s, 10s).
	InitialBackoff, MaxBackoff time.Duration
	// MaxUnschedulableDuration is how long a pod stays unschedulable with
	// no helpful event before it is retried anyway. 0 means 5 minutes.
	MaxUnschedulableDuration time.Duration
	// Interest maps a plugin name to the events that may change its
	// verdict. A pod rejected by plugins is moved by an event only if one
	// of them lists it (or framework.Any, or framework.NodeUpdate for a
	// node change); a plugin missing from the map is interested in every
	// event, one with an empty list in none, and a pod with no rejecting
	// plugin recorded in every event.
	Interest map[string][]Event
}

// Counts are the sizes of the sub-queues.
type Counts struct {
	Active, Backoff, Unschedulable int
}

// PriorityQueue is the scheduling queue.
type PriorityQueue struct {
	cfg      Config
	interest map[string]map[Event]bool

	mu      sync.Mutex
	active  *podHeap
	backoff *podHeap // ordered by backoff expiry
	unsched map[string]*framework.QueuedPodInfo
	// inFlight are the popped pods whose cycle has not requeued them
	// (AddUnschedulableIfNotPresent) nor ended with their deletion or
	// binding (Delete): an Update keeps their attempts.
	inFlight map[string]*framework.QueuedPodInfo
	// cycle counts Pops; moveCycle is the cycle of the latest move
	// request, so a pod whose cycle saw a move is not parked as
	// unschedulable (the event may have been the one it needed).
	cycle, moveCycle int64
	closed           bool
	wake             chan struct{} // capacity 1: "active may be non-empty"
	done             chan struct{} // closed by Close

	backoffTimer     func() bool
	backoffAt        time.Time
	unschedTimer     func() bool
	nominated        map[string][]*framework.PodInfo // node → pods
	nominatedNodeFor map[string]string               // pod key → node
	// numNominated is len(nominatedNodeFor), readable without mu.
	numNominated atomic.Int64
}

// New returns an empty queue.
func New(cfg Config) (*PriorityQueue, error) {
	switch {
	case cfg.Less == nil:
		return nil, errors.New("queue: Config.Less is nil: the QueueSort plugin's Less is required")
	case cfg.Clock == nil:
		return nil, errors.New("queue: Config.Clock is nil: a clock is required")
	case cfg.InitialBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxUnschedulableDuration < 0:
		return nil, errors.New("queue: Config durations must not be negative")
	}
	if cfg.InitialBackoff == 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxBackoff < cfg.InitialBackoff {
		cfg.MaxBackoff = cfg.InitialBackoff
	}
	if cfg.MaxUnschedulableDuration == 0 {
		cfg.MaxUnschedulableDuration = DefaultMaxUnschedulableDuration
	}
	q := &PriorityQueue{
		cfg:              cfg,
		interest:         make(map[string]map[Event]bool),
		unsched:          make(map[string]*framework.QueuedPodInfo),
		inFlight:         make(map[string]*framework.QueuedPodInfo),
		wake:             make(chan struct{}, 1),
		done:             make(chan struct{}),
		nominated:        make(map[string][]*framework.PodInfo),
		nominatedNodeFor: make(map[string]string),
	}
	for p, evs := range cfg.Interest {
		m := make(map[Event]bool, len(evs))
		for _, e := range evs {
			m[e] = true
		}
		q.interest[p] = m
	}
	q.active = newHeap(cfg.Less)
	q.backoff = newHeap(func(a, b *framework.QueuedPodInfo) bool {
		return q.backoffExpiry(a).Before(q.backoffExpiry(b))
	})
	return q, nil
}

// Key returns the queue's key of a pod: namespace/name.
func Key(p *api.Pod) string { return p.Namespace + "/" + p.Name }

func (q *PriorityQueue) newInfo(p *api.Pod) *framework.QueuedPodInfo {
	now := q.cfg.Clock.Now()
	return &framework.QueuedPodInfo{PodInfo: framework.NewPodInfo(p), Timestamp: now, InitialAttemptTimestamp: now}
}

// Add adds a new pod to the active queue. A pod already queued is
// updated instead.
func (q *PriorityQueue) Add(p *api.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.updateLocked(p) {
		return
	}
	q.active.push(q.newInfo(p))
	q.addNominatedLocked(framework.NewPodInfo(p), p.Status.NominatedNodeName)
	q.signal()
}

// Update replaces a queued pod. A pod waiting in backoff or unschedulable
// whose spec or labels changed goes back to active (the change may make it
// fit). A pod not queued (being scheduled now) is added to active, with
// the attempts it had.
func (q *PriorityQueue) Update(old, p *api.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.updateLocked(p) {
		return
	}
	key := Key(p)
	if cur := q.inFlight[key]; cur != nil {
		// Being scheduled now: queue it again (the change may make it
		// fit), keeping its attempts, so that its next backoff grows
		// from them rather than starting over.
		delete(q.inFlight, key)
		pi := q.newInfo(p)
		pi.Attempts, pi.Timestamp, pi.InitialAttemptTimestamp = cur.Attempts, cur.Timestamp, cur.InitialAttemptTimestamp
		q.active.push(pi)
		q.signal()
		return
	}
	q.active.push(q.newInfo(p))
	q.signal()
}

// updateLocked updates p where it is queued, and reports whether it was.
func (q *PriorityQueue) updateLocked(p *api.Pod) bool {
	key := Key(p)
	q.deleteNominatedLocked(key)
	q.addNominatedLocked(framework.NewPodInfo(p), p.Status.NominatedNodeName)
	if pi := q.active.get(key); pi != nil {
		pi.PodInfo = framework.NewPodInfo(p)
		q.active.fix(key)
		return true
	}
	if pi := q.backoff.get(key); pi != nil {
		changed := specChanged(pi.Pod, p)
		pi.PodInfo = framework.NewPodInfo(p)
		if changed {
			q.backoff.remove(key)
			q.active.push(pi)
			q.signal()
		}
		return true
	}
	if pi, ok := q.unsched[key]; ok {
		changed := specChanged(pi.Pod, p)
		pi.PodInfo = framework.NewPodInfo(p)
		if changed {
			delete(q.unsched, key)
			q.toActiveOrBackoffLocked(pi)
		}
		return true
	}
	return false
}

// specChanged reports whether a pod changed in a way that may change
// where it fits: its spec or its labels (status changes do not).
func specChanged(a, b *api.Pod) bool {
	if a.Generation != 0 && b.Generation != 0 && a.Generation != b.Generation {
		return true
	}
	if len(a.Labels) != len(b.Labels) {
		return true
	}
	for k, v := range a.Labels {
		if w, ok := b.Labels[k]; !ok || w != v {
			return true
		}
	}
	// Generation is not always set (pods created without it): compare
	// the fields that matter for fitting.
	return !reflect.DeepEqual(a.Spec, b.Spec)
}

// Delete removes a pod from wherever it is queued, and its nomination.
// A nomination to a node other than the one p is bound to (p deleted, or
// bound elsewhere) frees room there: the pods waiting for room move as
// for an AssignedPodDelete.
func (q *PriorityQueue) Delete(p *api.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := Key(p)
	if node, ok := q.nominatedNodeFor[key]; ok {
		q.deleteNominatedLocked(key)
		if node != p.Spec.NodeName {
			// The room the nomination held is free.
			q.moveAllLocked(framework.AssignedPodDelete)
		}
	}
	delete(q.inFlight, key)
	q.active.remove(key)
	if q.backoff.remove(key) != nil {
		q.armBackoffLocked()
	}
	delete(q.unsched, key)
}

// Pop removes and returns the first pod of the active queue, waiting for
// one until ctx ends or the queue is closed. It also returns the number of
// the scheduling cycle the pod starts, for AddUnschedulableIfNotPresent.
func (q *PriorityQueue) Pop(ctx context.Context) (*framework.QueuedPodInfo, int64, error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return nil, 0, ErrClosed
		}
		if pi := q.active.pop(); pi != nil {
			q.cycle++
			pi.Attempts++
			q.inFlight[Key(pi.Pod)] = pi
			cycle := q.cycle
			if q.active.len() > 0 {
				q.signal()
			}
			q.mu.Unlock()
			return pi, cycle, nil
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-q.wake:
		case <-q.done:
		}
	}
}

// signal wakes a Pop. The caller holds q.mu.
func (q *PriorityQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// SchedulingCycle returns the number of Pops so far.
func (q *PriorityQueue) SchedulingCycle() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cycle
}

// AddUnschedulableIfNotPresent puts back a pod that a cycle (number
// cycle, from Pop) could not place. A pod already queued again (updated
// while it was being scheduled) is left where it is. A pod with no
// UnschedulablePlugins (an error, not a verdict), or whose cycle saw a
// move request, goes to backoff; the others to unschedulable, until an
// event that could help them.
func (q *PriorityQueue) AddUnschedulableIfNotPresent(pi *framework.QueuedPodInfo, cycle int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := Key(pi.Pod)
	delete(q.inFlight, key)
	if q.active.get(key) != nil || q.backoff.get(key) != nil || q.unsched[key] != nil {
		return
	}
	pi.Timestamp = q.cfg.Clock.Now()
	q.addNominatedLocked(pi.PodInfo, pi.Pod.Status.NominatedNodeName)
	if len(pi.UnschedulablePlugins) == 0 || q.moveCycle >= cycle {
		q.backoff.push(pi)
		q.armBackoffLocked()
		return
	}
	q.unsched[key] = pi
	q.armUnschedLocked()
}

// backoffDuration is the backoff after pi's attempts so far.
func (q *PriorityQueue) backoffDuration(pi *framework.QueuedPodInfo) time.Duration {
	d := q.cfg.InitialBackoff
	for i := 1; i < pi.Attempts; i++ {
		d *= 2
		if d >= q.cfg.MaxBackoff {
			return q.cfg.MaxBackoff
		}
	}
	return min(d, q.cfg.MaxBackoff)
}

func (q *PriorityQueue) backoffExpiry(pi *framework.QueuedPodInfo) time.Time {
	return pi.Timestamp.Add(q.backoffDuration(pi))
}

// toActiveOrBackoffLocked queues pi in active, or in backoff if its
// backoff has not expired.
func (q *PriorityQueue) toActiveOrBackoffLocked(pi *framework.QueuedPodInfo) {
	if q.backoffExpiry(pi).After(q.cfg.Clock.Now()) {
		q.backoff.push(pi)
		q.armBackoffLocked()
		return
	}
	q.active.push(pi)
	q.signal()
}

// armBackoffLocked sets the timer for the earliest backoff expiry.
func (q *PriorityQueue) armBackoffLocked() {
	if q.closed {
		return
	}
	first := q.backoff.peek()
	if first == nil {
		if q.backoffTimer != nil {
			q.backoffTimer()
			q.backoffTimer = nil
		}
		return
	}
	at := q.backoffExpiry(first)
	if q.backoffTimer != nil {
		if !at.Before(q.backoffAt) {
			return // the armed timer fires first, and re-arms
		}
		q.backoffTimer()
	}
	q.backoffAt = at
	q.backoffTimer = q.cfg.Clock.AfterFunc(at.Sub(q.cfg.Clock.Now()), q.flushBackoff)
}

// flushBackoff moves the pods whose backoff expired to active.
func (q *PriorityQueue) flushBackoff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.backoffTimer = nil
	now := q.cfg.Clock.Now()
	for {
		first := q.backoff.peek()
		if first == nil || q.backoffExpiry(first).After(now) {
			break
		}
		q.backoff.pop()
		q.active.push(first)
		q.signal()
	}
	q.armBackoffLocked()
}

// armUnschedLocked sets the timer for the oldest unschedulable pod's
// timeout, if none is set.
func (q *PriorityQueue) armUnschedLocked() {
	if q.closed || q.unschedTimer != nil || len(q.unsched) == 0 {
		return
	}
	var oldest time.Time
	for _, pi := range q.unsched {
		if oldest.IsZero() || pi.Timestamp.Before(oldest) {
			oldest = pi.Timestamp
		}
	}
	d := oldest.Add(q.cfg.MaxUnschedulableDuration).Sub(q.cfg.Clock.Now())
	q.unschedTimer = q.cfg.Clock.AfterFunc(max(d, time.Millisecond), q.flushUnschedulable)
}

// flushUnschedulable moves the pods unschedulable for
// MaxUnschedulableDuration or longer to active or backoff.
func (q *PriorityQueue) flushUnschedulable() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.unschedTimer = nil
	now := q.cfg.Clock.Now()
	moved := false
	for key, pi := range q.unsched {
		if now.Sub(pi.Timestamp) >= q.cfg.MaxUnschedulableDuration {
			delete(q.unsched, key)
			q.toActiveOrBackoffLocked(pi)
			moved = true
		}
	}
	if moved {
		q.moveCycle = q.cycle
	}
	q.armUnschedLocked()
}

// MoveAllToActiveOrBackoff moves the unschedulable pods that ev could
// help to active (or to backoff, if theirs has not expired), and marks
// the current cycle as having seen a move.
func (q *PriorityQueue) MoveAllToActiveOrBackoff(ev Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveAllLocked(ev)
}

func (q *PriorityQueue) moveAllLocked(ev Event) {
	for key, pi := range q.unsched {
		if q.helps(ev, pi) {
			delete(q.unsched, key)
			q.toActiveOrBackoffLocked(pi)
		}
	}
	q.moveCycle = q.cycle
}

// helps reports whether ev may make pi schedulable.
func (q *PriorityQueue) helps(ev Event, pi *framework.QueuedPodInfo) bool {
	if len(pi.UnschedulablePlugins) == 0 {
		return true
	}
	for p := range pi.UnschedulablePlugins {
		evs, ok := q.interest[p]
		if !ok || evs[framework.Any] || evs[ev] || evs[framework.NodeUpdate] && ev.IsNodeUpdate() {
			return true
		}
	}
	return false
}

// Activate moves the pods given, if waiting in backoff or unschedulable,
// to active at once.
func (q *PriorityQueue) Activate(pods ...*api.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range pods {
		key := Key(p)
		if pi := q.backoff.remove(key); pi != nil {
			q.active.push(pi)
			q.signal()
		} else if pi, ok := q.unsched[key]; ok {
			delete(q.unsched, key)
			q.active.push(pi)
			q.signal()
		}
	}
	q.armBackoffLocked()
}

// Len returns the size of each sub-queue.
func (q *PriorityQueue) Len() Counts {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Counts{Active: q.active.len(), Backoff: q.backoff.len(), Unschedulable: len(q.unsched)}
}

// Where returns the sub-queue a pod is in ("active", "backoff",
// "unschedulable"), or "" if it is not queued.
func (q *PriorityQueue) Where(p *api.Pod) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := Key(p)
	switch {
	case q.active.get(key) != nil:
		return "active"
	case q.backoff.get(key) != nil:
		return "backoff"
	case q.unsched[key] != nil:
		return "unschedulable"
	}
	return ""
}

// Close stops the timers and makes Pop return ErrClosed. It is safe to
// call twice.
func (q *PriorityQueue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		close(q.done)
	}
	q.closed = true
	if q.backoffTimer != nil {
		q.backoffTimer()
		q.backoffTimer = nil
	}
	if q.unschedTimer != nil {
		q.unschedTimer()
		q.unschedTimer = nil
	}
}

// AddNominatedPod records that pod is nominated to node (preemption made
// room for it there); "" removes the nomination.
func (q *PriorityQueue) AddNominatedPod(pi *framework.PodInfo, node string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleteNominatedLocked(Key(pi.Pod))
	q.addNominatedLocked(pi, node)
}

// DeleteNominatedPodIfExists removes pod's nomination. The room it held
// on the nominated node is free: the pods waiting for room there move as
// for an AssignedPodDelete, unless p is assumed on that very node (its
// spec.nodeName set to it), which it then holds.
func (q *PriorityQueue) DeleteNominatedPodIfExists(p *api.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := Key(p)
	node, ok := q.nominatedNodeFor[key]
	if !ok {
		return
	}
	q.deleteNominatedLocked(key)
	if node != p.Spec.NodeName {
		q.moveAllLocked(framework.AssignedPodDelete)
	}
}

// NominatedPodsForNode returns the pods nominated to node.
func (q *PriorityQueue) NominatedPodsForNode(node string) []*framework.PodInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]*framework.PodInfo(nil), q.nominated[node]...)
}

// NumNominatedPods returns how many pods are nominated to a node, without
// taking the queue's lock: a scheduling cycle that finds none does not ask
// NominatedPodsForNode for each node it filters.
func (q *PriorityQueue) NumNominatedPods() int {
	return int(q.numNominated.Load())
}

func (q *PriorityQueue) addNominatedLocked(pi *framework.PodInfo, node string) {
	if node == "" || pi.Pod.Spec.NodeName != "" {
		return
	}
	key := Key(pi.Pod)
	if old, ok := q.nominatedNodeFor[key]; ok {
		if old == node {
			// refresh the PodInfo
			for i, p := range q.nominated[node] {
				if Key(p.Pod) == key {
					q.nominated[node][i] = pi
				}
			}
			return
		}
		q.deleteNominatedLocked(key)
	}
	q.nominatedNodeFor[key] = node
	q.nominated[node] = append(q.nominated[node], pi)
	q.numNominated.Store(int64(len(q.nominatedNodeFor)))
}

func (q *PriorityQueue) deleteNominatedLocked(key string) {
	node, ok := q.nominatedNodeFor[key]
	if !ok {
		return
	}
	delete(q.nominatedNodeFor, key)
	q.numNominated.Store(int64(len(q.nominatedNodeFor)))
	list := q.nominated[node]
	for i, p := range list {
		if Key(p.Pod) == key {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(q.nominated, node)
	} else {
		q.nominated[node] = list
	}
}

// podHeap is a heap of pods with an index by key.
type podHeap struct {
	items []*framework.QueuedPodInfo
	index map[string]int
	less  func(a, b *framework.QueuedPodInfo) bool
}

func newHeap(less func(a, b *framework.QueuedPodInfo) bool) *podHeap {
	return &podHeap{index: make(map[string]int), less: less}
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.index[Key(h.items[i].Pod)] = i
	h.index[Key(h.items[j].Pod)] = j
}
func (h *podHeap) Push(x any) {
	pi := x.(*framework.QueuedPodInfo)
	h.index[Key(pi.Pod)] = len(h.items)
	h.items = append(h.items, pi)
}
func (h *podHeap) Pop() any {
	n := len(h.items) - 1
	pi := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	delete(h.index, Key(pi.Pod))
	return pi
}

func (h *podHeap) len() int { return len(h.items) }

func (h *podHeap) push(pi *framework.QueuedPodInfo) {
	if i, ok := h.index[Key(pi.Pod)]; ok {
		h.items[i] = pi
		heap.Fix(h, i)
		return
	}
	heap.Push(h, pi)
}

func (h *podHeap) pop() *framework.QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return heap.Pop(h).(*framework.QueuedPodInfo)
}

func (h *podHeap) peek() *framework.QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *podHeap) get(key string) *framework.QueuedPodInfo {
	if i, ok := h.index[key]; ok {
		return h.items[i]
	}
	return nil
}

func (h *podHeap) fix(key string) {
	if i, ok := h.index[key]; ok {
		heap.Fix(h, i)
	}
}

func (h *podHeap) remove(key string) *framework.QueuedPodInfo {
	i, ok := h.index[key]
	if !ok {
		return nil
	}
	return heap.Remove(h, i).(*framework.QueuedPodInfo)
}
