package prober

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
)

// Manager runs the probes of a node's containers. Its methods are safe
// for concurrent use.
//
// It holds, per container, the last result of each kind and a worker per
// probe; the workers' next probe times are in one heap that a single
// timer of the Clock serves. A due probe is queued and run by one of at
// most Config.MaxConcurrentProbes goroutines, which exist only while
// probes are due. Probes tick at a fixed rate (the start of a probe, not
// its end, sets the next one); a probe still running when its next tick
// comes skips that tick.
type Manager struct {
	cfg     Config
	clock   Clock
	log     *slog.Logger
	metrics *metrics
	jitter  func(time.Duration) time.Duration
	max     int

	// ctx is the parent of every probe's context; cancel ends them all.
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	idle       sync.Cond // on mu; broadcast when runners drops to 0
	containers map[string]*container
	pods       map[string][]*container // by pod UID; a pod has few containers
	heap       workerHeap
	timerStop  func() bool
	timerAt    time.Time // when the armed timer is due; zero when none
	timerSeq   uint64    // identifies the armed timer
	ready      []*worker // due probes waiting for a runner; ready[head:]
	head       int
	runners    int  // goroutines running probes
	executing  int  // of them, those with a probe in hand
	started    bool // Run was called
	closed     bool
}

// container is what the Manager knows of one container.
type container struct {
	id, podUID string
	spec       *api.Container
	target     Target
	startedAt  time.Time
	workers    [numKinds]*worker // nil where the container has no probe
	results    [numKinds]Result
	removed    bool
}

// worker is one probe of a container.
type worker struct {
	c     *container
	kind  Kind
	probe *api.Probe
	// The probe's settings with the defaults applied.
	period, timeout, initialDelay time.Duration
	successThreshold              int32
	failureThreshold              int32

	due   time.Time // next tick, while scheduled
	index int       // in the heap; -1 when not scheduled

	last Result // the result of the current run of equal results
	run  int32  // its length (capped at the threshold)
	busy bool   // a probe is queued or running, or its update is being delivered
}

// NewManager returns a Manager of cfg, which must Validate.
func NewManager(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	met, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("prober: register metrics: %w", err)
	}
	m := &Manager{
		cfg:        cfg,
		clock:      cfg.Clock,
		log:        cfg.Logger,
		metrics:    met,
		jitter:     cfg.Jitter,
		max:        cfg.MaxConcurrentProbes,
		containers: map[string]*container{},
		pods:       map[string][]*container{},
	}
	m.idle.L = &m.mu
	if m.clock == nil {
		m.clock = systemClock{}
	}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if m.jitter == nil {
		if _, ok := m.clock.(systemClock); ok {
			m.jitter = randomJitter
		} else {
			m.jitter = func(time.Duration) time.Duration { return 0 }
		}
	}
	if m.max == 0 {
		m.max = DefaultMaxConcurrentProbes
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Add starts probing the container of pod that spec describes, as the
// runtime's container containerID, which started at startedAt (zero
// means now); target says where its network probes connect. Adding a container ID already added
// does nothing: a restarted container has a new ID. The Manager keeps
// spec, which the caller must not modify afterwards. A container without
// probes is recorded too (it is Ready and Started).
func (m *Manager) Add(pod *api.Pod, spec *api.Container, containerID string, startedAt time.Time, target Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.containers[containerID] != nil {
		return
	}
	now := m.clock.Now()
	if startedAt.IsZero() {
		startedAt = now
	}
	c := &container{
		id: containerID, podUID: string(pod.UID), spec: spec, target: target, startedAt: startedAt,
		// As Kubernetes: live until shown otherwise, not ready until
		// shown ready, not started until the startup probe passes.
		results: [numKinds]Result{Liveness: Success, Readiness: Failure, Startup: Unknown},
	}
	for k, p := range [numKinds]*api.Probe{Liveness: spec.LivenessProbe, Readiness: spec.ReadinessProbe, Startup: spec.StartupProbe} {
		if p == nil {
			continue
		}
		w := newWorker(c, Kind(k), p)
		// The first probe runs once the initial delay has passed, plus a
		// jitter within the first period.
		first := startedAt.Add(w.initialDelay)
		if first.Before(now) {
			first = now
		}
		w.due = first.Add(m.jitter(w.period))
		c.workers[k] = w
		heap.Push(&m.heap, w)
	}
	m.containers[containerID] = c
	m.pods[c.podUID] = append(m.pods[c.podUID], c)
	m.scheduleLocked(now)
}

func newWorker(c *container, k Kind, p *api.Probe) *worker {
	w := &worker{
		c: c, kind: k, probe: p, index: -1,
		period:           seconds(p.PeriodSeconds, 10),
		timeout:          seconds(p.TimeoutSeconds, 1),
		initialDelay:     seconds(p.InitialDelaySeconds, 0),
		successThreshold: orDefault(p.SuccessThreshold, 1),
		failureThreshold: orDefault(p.FailureThreshold, 3),
	}
	if k != Readiness {
		w.successThreshold = 1 // as validation requires for liveness and startup
	}
	return w
}

func seconds(v, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

func orDefault(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}

// Remove stops probing the container and forgets it. A probe of it that
// is running finishes, and its result is dropped. Removing an unknown
// container does nothing.
func (m *Manager) Remove(containerID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(containerID)
}

// RemovePod removes every container of the pod with UID podUID.
func (m *Manager) RemovePod(podUID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range slices.Clone(m.pods[podUID]) {
		m.removeLocked(c.id)
	}
}

func (m *Manager) removeLocked(id string) {
	c := m.containers[id]
	if c == nil {
		return
	}
	c.removed = true
	for _, w := range c.workers {
		if w != nil {
			m.unscheduleLocked(w)
		}
	}
	delete(m.containers, id)
	cs := slices.DeleteFunc(m.pods[c.podUID], func(x *container) bool { return x == c })
	if len(cs) == 0 {
		delete(m.pods, c.podUID)
	} else {
		m.pods[c.podUID] = cs
	}
	if m.heap.Len() == 0 {
		m.stopTimerLocked()
	}
}

// Ready reports the container's readiness: true once its readiness probe
// has succeeded successThreshold times in a row, and until it fails
// failureThreshold times; true when it has no readiness probe. Either
// way false while it has a startup probe that has not passed. A container
// the Manager does not know (never added, or removed) has no probes and
// is ready.
func (m *Manager) Ready(containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.containers[containerID]
	if c == nil {
		return true
	}
	if c.workers[Startup] != nil && c.results[Startup] != Success {
		return false
	}
	return c.workers[Readiness] == nil || c.results[Readiness] == Success
}

// Started reports whether the container's startup probe has passed; true
// when it has none, or the Manager does not know the container.
func (m *Manager) Started(containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.containers[containerID]
	return c == nil || c.workers[Startup] == nil || c.results[Startup] == Success
}

// Run returns when ctx ends, having stopped every probe: running probes
// are cancelled and waited for, and Add does nothing afterwards. The
// Manager probes without Run; Run is how its user stops it.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.started {
		m.mu.Unlock()
		return errors.New("prober: Manager.Run called twice")
	}
	m.started = true
	m.mu.Unlock()

	<-ctx.Done()
	m.mu.Lock()
	m.closed = true
	m.stopTimerLocked()
	for _, w := range m.heap {
		w.index = -1
	}
	m.heap = nil
	for i := m.head; i < len(m.ready); i++ {
		m.ready[i].busy = false
	}
	m.ready, m.head = nil, 0
	m.cancel()
	for m.runners > 0 {
		m.idle.Wait()
	}
	m.mu.Unlock()
	return nil
}

// scheduleLocked queues the probes due at now, schedules their next
// ticks, starts runners for them and arms the timer for the next due
// probe.
func (m *Manager) scheduleLocked(now time.Time) {
	for m.heap.Len() > 0 && !m.heap[0].due.After(now) {
		w := m.heap[0]
		m.tickLocked(w, now)
	}
	// Enough runners for the queue, each idle one takes a probe.
	for m.runners < m.max && m.runners-m.executing < len(m.ready)-m.head {
		m.runners++
		go m.runner()
	}
	if m.heap.Len() == 0 {
		m.stopTimerLocked()
		return
	}
	next := m.heap[0].due
	if next.Equal(m.timerAt) {
		return
	}
	m.stopTimerLocked()
	m.timerSeq++
	seq := m.timerSeq
	m.timerAt = next
	m.timerStop = m.clock.AfterFunc(next.Sub(now), func() { m.fire(seq) })
}

// tickLocked handles w's tick at now: w is the heap's top. It moves w to
// its next tick and queues a probe unless the probe must not run now.
func (m *Manager) tickLocked(w *worker, now time.Time) {
	c := w.c
	next := w.due.Add(w.period)
	if !next.After(now) { // late (a slow clock or a long pause): skip the missed ticks
		next = now.Add(w.period)
	}
	w.due = next
	heap.Fix(&m.heap, w.index)

	switch {
	case w.kind != Startup && c.workers[Startup] != nil && c.results[Startup] != Success:
		// Liveness and readiness wait for the startup probe.
	case w.busy:
		// The last probe has not finished: skip this tick.
	default:
		w.busy = true
		m.ready = append(m.ready, w)
	}
}

func (m *Manager) unscheduleLocked(w *worker) {
	if w.index >= 0 {
		heap.Remove(&m.heap, w.index)
	}
}

func (m *Manager) stopTimerLocked() {
	if m.timerStop != nil {
		m.timerStop()
		m.timerStop = nil
	}
	m.timerAt = time.Time{}
	m.timerSeq++
}

// fire is the timer's callback.
func (m *Manager) fire(seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq != m.timerSeq || m.closed {
		return
	}
	m.timerStop = nil
	m.timerAt = time.Time{}
	m.scheduleLocked(m.clock.Now())
}

// runner runs queued probes until none is left.
func (m *Manager) runner() {
	m.mu.Lock()
	for {
		if m.head == len(m.ready) {
			m.ready, m.head = m.ready[:0], 0
			m.runners--
			if m.runners == 0 {
				m.idle.Broadcast()
			}
			m.mu.Unlock()
			return
		}
		w := m.ready[m.head]
		m.ready[m.head] = nil
		m.head++
		if m.head >= 1024 && m.head*2 >= len(m.ready) {
			// A queue that never drains (more due probes than runners
			// keep up with) must not grow forever.
			n := copy(m.ready, m.ready[m.head:])
			clear(m.ready[n:])
			m.ready, m.head = m.ready[:n], 0
		}
		if w.c.removed || m.closed {
			w.busy = false
			continue
		}
		m.executing++
		m.mu.Unlock()

		start := time.Now()
		res, msg := m.probe(w)
		m.metrics.observe(w.kind, res, time.Since(start))
		if res == Failure {
			m.log.Debug("probe failed", "kind", w.kind, "pod_uid", w.c.podUID, "container", w.c.spec.Name,
				"container_id", w.c.id, "message", msg)
		}

		m.mu.Lock()
		upd := m.applyLocked(w, res, msg)
		if upd == nil {
			w.busy = false
			m.executing--
			continue
		}
		m.mu.Unlock()
		m.log.Info("probe result changed", "kind", upd.Kind, "result", upd.Result, "pod_uid", upd.PodUID,
			"container", upd.ContainerName, "container_id", upd.ContainerID, "message", upd.Message)
		if m.cfg.OnUpdate != nil {
			m.cfg.OnUpdate(*upd)
		}
		m.mu.Lock()
		w.busy = false
		m.executing--
	}
}

// applyLocked counts a probe's result and returns the Update it makes,
// or nil. It is the prober's decision, with no I/O.
func (m *Manager) applyLocked(w *worker, res Result, msg string) *Update {
	c := w.c
	if c.removed || m.closed || res == Unknown {
		return nil
	}
	threshold := w.successThreshold
	if res == Failure {
		threshold = w.failureThreshold
	}
	if res != w.last {
		w.last, w.run = res, 1
	} else if w.run < threshold {
		w.run++
	}
	if w.run < threshold {
		return nil
	}
	notify := c.results[w.kind] != res
	c.results[w.kind] = res
	switch {
	case res == Failure && w.kind != Readiness:
		// The container is to be killed: pause until it is, under a new
		// ID. Every such Failure is reported, changed or not.
		notify = true
		w.run = 0
		m.unscheduleLocked(w)
	case res == Success && w.kind == Startup:
		// Started: the startup probe has done its job.
		m.unscheduleLocked(w)
	}
	if !notify {
		return nil
	}
	return &Update{PodUID: c.podUID, ContainerName: c.spec.Name, ContainerID: c.id, Kind: w.kind, Result: res, Message: msg}
}

// workerHeap orders workers by their next tick.
type workerHeap []*worker

func (h workerHeap) Len() int           { return len(h) }
func (h workerHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h workerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *workerHeap) Push(x any) {
	w := x.(*worker)
	w.index = len(*h)
	*h = append(*h, w)
}

func (h *workerHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*h = old[:len(old)-1]
	return w
}
