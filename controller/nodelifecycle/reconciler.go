package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/controller"
)

// eventRecorder records Events; a *record.Recorder is one. The reconciler
// calls Eventf from its workers; it must not block.
type eventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

// reconciler is the thin driver: it reads a node, its Lease and its pods
// from the shared cache, asks the pure core what they should be, and writes
// the differences. Its workers share the zones' token buckets and the
// first sightings of taints without timeAdded, under mu.
type reconciler struct {
	c      *client.Client
	nodes  informer.Lister[*api.Node]
	leases informer.Lister[*api.Lease]
	pods   informer.Lister[*api.Pod]
	events eventRecorder
	opts   Options

	mu      sync.Mutex
	buckets map[string]*bucket               // by zone
	seen    map[string]map[taintID]time.Time // by node: when a taint without timeAdded was first seen
}

// taintID names a taint on a node.
type taintID struct {
	key    string
	effect api.TaintEffect
}

func newReconciler(c *client.Client, nodes informer.Lister[*api.Node], leases informer.Lister[*api.Lease],
	pods informer.Lister[*api.Pod], events eventRecorder, opts Options) *reconciler {
	return &reconciler{
		c: c, nodes: nodes, leases: leases, pods: pods, events: events, opts: opts,
		buckets: make(map[string]*bucket),
		seen:    make(map[string]map[taintID]time.Time),
	}
}

// deadlines collects the earliest of the times at which a node must be
// looked at again.
type deadlines struct{ t time.Time }

func (d *deadlines) add(t time.Time) {
	if d.t.IsZero() || t.Before(d.t) {
		d.t = t
	}
}

func (d *deadlines) result(now time.Time) controller.Result {
	if d.t.IsZero() {
		return controller.Result{}
	}
	return controller.Result{RequeueAfter: max(d.t.Sub(now), time.Nanosecond)}
}

// Reconcile brings the node req names, and its pods, one step closer to
// what its heartbeats say:
//
//  1. a node whose heartbeats are older than the grace period gets its
//     agent's conditions set to Unknown (through the status subresource);
//  2. its NoSchedule and NoExecute taints are made to follow its Ready
//     condition (a new NoExecute taint only as the zone's rate limit
//     allows);
//  3. when Ready is Unknown, its pods are marked Ready=False;
//  4. its pods that no longer tolerate its NoExecute taints are deleted.
//
// It returns to the node at the earliest of the heartbeat's expiry, the
// next pod's eviction and the next token of the rate limit.
func (r *reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	now := r.opts.Clock.Now()
	cached, err := r.nodes.Get("", req.Name)
	switch {
	case api.IsNotFound(err):
		r.forget(req.Name)
		return controller.Result{}, nil
	case err != nil:
		return controller.Result{}, err
	}
	var lease *api.Lease
	if l, err := r.leases.Get(LeaseNamespace, req.Name); err == nil {
		lease = l
	} else if !api.IsNotFound(err) {
		return controller.Result{}, err
	}
	var next deadlines
	node := api.DeepCopy(cached)

	// 1. Heartbeats.
	if expiry := heartbeatDeadline(node, lease, r.opts.NodeMonitorGracePeriod, r.opts.NodeStartupGracePeriod); now.Before(expiry) {
		next.add(expiry)
	} else if markUnknown(node, now) {
		if err := r.c.UpdateStatus(ctx, node); err != nil {
			return conflictOr(fmt.Errorf("set the conditions of node %s to Unknown: %w", req.Name, err))
		}
		r.events.Eventf(node, api.EventTypeNormal, ReasonNodeNotReady, "Node %s status is now: NodeNotReady", node.Name)
	}

	// 2. Taints: NoSchedule at once, NoExecute as the rate limit allows.
	want := wantedTaint(node)
	noExecute := want
	giveBack := func() {}
	if want != "" && !hasManagedTaint(node) {
		ok, wait, refund := r.takeToken(node, now)
		if !ok {
			noExecute = ""
			next.add(now.Add(wait))
		} else {
			giveBack = refund
		}
	}
	if setTaints(node, want, noExecute, now) {
		if err := r.c.Update(ctx, node); err != nil {
			// The node was not tainted: its token is not spent (the retry,
			// after a conflict milliseconds later, needs it).
			giveBack()
			return conflictOr(fmt.Errorf("set the condition taints of node %s: %w", req.Name, err))
		}
	}

	// 3 and 4. Pods.
	pods, err := r.pods.ByIndex(podNodeIndex, node.Name, labels.Everything())
	if err != nil {
		return controller.Result{}, err
	}
	var errs []error
	if c := nodeCondition(node, api.NodeReady); c != nil && c.Status == api.ConditionUnknown {
		errs = append(errs, forEachPod(ctx, pods, func(p *api.Pod) error { return r.markPodNotReady(ctx, p, now) })...)
	}
	since := r.taintSince(node, now)
	var due []*api.Pod
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		at, ok := evictionTime(p.Spec.Tolerations, node.Spec.Taints, since)
		switch {
		case !ok:
		case now.Before(at):
			next.add(at)
		default:
			due = append(due, p)
		}
	}
	errs = append(errs, forEachPod(ctx, due, func(p *api.Pod) error { return r.evict(ctx, p, node) })...)
	return next.result(now), errors.Join(errs...)
}

// podWriters is how many pod writes (marking a pod not ready, evicting
// it) one Reconcile has in flight at once. A node that goes unreachable
// may hold a hundred pods: one write at a time, the reconcile would take
// a hundred round trips, holding a worker and delaying the node's
// requeue; all at once, it would burst a hundred requests at the API
// server per node, and a zone's nodes often go together. Eight keeps the
// reconcile of a full node to a few round trips' time and bounds the
// burst to Options.Workers × 8 requests.
const podWriters = 8

// forEachPod calls f for each of pods, podWriters at a time, and returns
// the errors. It returns once every call has.
func forEachPod(ctx context.Context, pods []*api.Pod, f func(*api.Pod) error) []error {
	if len(pods) == 0 {
		return nil
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, podWriters)
	for _, p := range pods {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(p); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// conflictOr returns err, except for a conflict: the node changed since
// the cache had it (often by this controller's own last write), which is
// no failure; the node is reconciled again after a short backoff, and its
// change queues it anyway.
func conflictOr(err error) (controller.Result, error) {
	if api.IsConflict(err) {
		return controller.Result{Requeue: true}, nil
	}
	return controller.Result{}, err
}

// markPodNotReady sets the Ready condition of p, if it has one that is not
// False, to False.
func (r *reconciler) markPodNotReady(ctx context.Context, p *api.Pod, now time.Time) error {
	if p.DeletionTimestamp != nil {
		return nil
	}
	i := -1
	for j, c := range p.Status.Conditions {
		if c.Type == api.PodReady {
			i = j
		}
	}
	if i < 0 || p.Status.Conditions[i].Status == api.ConditionFalse {
		return nil
	}
	p = api.DeepCopy(p)
	c := &p.Status.Conditions[i]
	c.Status, c.LastTransitionTime = api.ConditionFalse, api.NewTime(now)
	c.Reason, c.Message = ReasonNodeNotReady, "The pod's node is not ready."
	if err := r.c.UpdateStatus(ctx, p); err != nil && !api.IsNotFound(err) {
		return fmt.Errorf("mark pod %s/%s not ready: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// evict deletes p, which does not tolerate node's taints (any longer).
func (r *reconciler) evict(ctx context.Context, p *api.Pod, node *api.Node) error {
	err := r.c.Delete(ctx, p, client.DeleteOptions{Preconditions: &client.Preconditions{UID: p.UID}})
	switch {
	case api.IsNotFound(err), api.IsConflict(err): // gone, or another pod by now
		return nil
	case err != nil:
		return fmt.Errorf("evict pod %s/%s from node %s: %w", p.Namespace, p.Name, node.Name, err)
	}
	r.events.Eventf(p, api.EventTypeNormal, ReasonTaintManagerEviction, "Marking for deletion Pod %s/%s", p.Namespace, p.Name)
	return nil
}

// taintSince returns, for node's taints, when each was added: its
// timeAdded, or for one without, when this controller first saw it. It
// forgets the taints no longer on node.
func (r *reconciler) taintSince(node *api.Node, now time.Time) func(*api.Taint) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := r.seen[node.Name]
	kept := make(map[taintID]time.Time)
	for _, t := range node.Spec.Taints {
		if t.TimeAdded != nil || t.Effect != api.TaintEffectNoExecute {
			continue
		}
		id := taintID{t.Key, t.Effect}
		if at, ok := seen[id]; ok {
			kept[id] = at
		} else {
			kept[id] = now
		}
	}
	if len(kept) == 0 {
		delete(r.seen, node.Name)
	} else {
		r.seen[node.Name] = kept
	}
	return func(t *api.Taint) time.Time {
		if t.TimeAdded != nil {
			return t.TimeAdded.Time
		}
		return kept[taintID{t.Key, t.Effect}]
	}
}

// forget drops what the reconciler remembers of a deleted node.
func (r *reconciler) forget(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.seen, name)
}

// takeToken asks the rate limit of node's zone whether node may be
// tainted now; if not, it says how long to wait. When it may, refund gives
// the token back, for a taint that could not be written.
func (r *reconciler) takeToken(node *api.Node, now time.Time) (ok bool, wait time.Duration, refund func()) {
	rate := r.zoneRate(node, now)
	switch {
	case rate < 0:
		return true, 0, func() {}
	case rate == 0: // even a full bucket waits for the zone to recover
		return false, r.opts.DisruptionRecheckInterval, nil
	}
	zone := node.Labels[LabelZone]
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[zone]
	if b == nil {
		b = &bucket{}
		r.buckets[zone] = b
	}
	ok, wait = b.take(now, rate, r.opts.EvictionBurst)
	if !ok {
		return false, wait, nil
	}
	return true, 0, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		b.refund(r.opts.EvictionBurst)
	}
}

// zoneRate returns the tainting rate of node's zone now, from the health
// of every zone (negative: no limit). node is as the reconciler has just
// written it; the other nodes are read from the cache, a node counting as
// ready when its Ready condition is True and its heartbeat has not
// expired, so that nodes that went silent together count together.
func (r *reconciler) zoneRate(node *api.Node, now time.Time) float64 {
	nodes, err := r.nodes.List(labels.Everything())
	if err != nil {
		return r.opts.EvictionRate
	}
	zones := make(map[string]*zoneHealth)
	health := func(zone string) *zoneHealth {
		h := zones[zone]
		if h == nil {
			h = &zoneHealth{}
			zones[zone] = h
		}
		return h
	}
	for _, n := range nodes {
		if n.Name == node.Name {
			n = node
		}
		h := health(n.Labels[LabelZone])
		if r.ready(n, now) {
			h.ready++
		} else {
			h.notReady++
		}
	}
	allDisrupted := true
	for _, h := range zones {
		if h.state(r.opts.UnhealthyZoneThreshold) != zoneFullDisruption {
			allDisrupted = false
		}
	}
	if allDisrupted {
		return 0
	}
	h := health(node.Labels[LabelZone])
	if h.state(r.opts.UnhealthyZoneThreshold) == zonePartialDisruption {
		if h.ready+h.notReady > r.opts.LargeClusterSizeThreshold {
			return max(r.opts.SecondaryEvictionRate, 0)
		}
		return 0
	}
	return r.opts.EvictionRate
}

// ready reports whether n is ready now: Ready=True with a heartbeat that
// has not expired.
func (r *reconciler) ready(n *api.Node, now time.Time) bool {
	c := nodeCondition(n, api.NodeReady)
	if c == nil || c.Status != api.ConditionTrue {
		return false
	}
	lease, err := r.leases.Get(LeaseNamespace, n.Name)
	if err != nil {
		lease = nil
	}
	return now.Before(heartbeatDeadline(n, lease, r.opts.NodeMonitorGracePeriod, r.opts.NodeStartupGracePeriod))
}
