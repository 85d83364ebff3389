package replicaset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// The event reasons, as Kubernetes names them.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
)

// podLister is what the reconciler reads pods from: the Manager's
// informer cache (informer.Lister[*api.Pod]). Called from every worker.
type podLister interface {
	ListNamespace(namespace string, sel labels.Selector) ([]*api.Pod, error)
	OwnedBy(uid api.UID) ([]*api.Pod, error)
}

// rsLister is what the reconciler reads ReplicaSets from
// (informer.Lister[*api.ReplicaSet]). Called from every worker and from
// the pod informer's handler goroutine.
type rsLister interface {
	Get(namespace, name string) (*api.ReplicaSet, error)
	ListNamespace(namespace string, sel labels.Selector) ([]*api.ReplicaSet, error)
}

// eventRecorder records events (*record.Recorder). It must not block.
type eventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

// reconciler is the controller's Reconciler: the driver that reads the
// cache, feeds the pure core (core.go) and carries out its decisions.
type reconciler struct {
	c     *client.Client
	rss   rsLister
	pods  podLister
	rec   eventRecorder
	exp   *ctrlutil.Expectations
	clock ctrlutil.Clock
	burst int
	ttl   time.Duration
}

func newReconciler(c *client.Client, rss rsLister, pods podLister, rec eventRecorder, opts Options) *reconciler {
	var clk ctrlutil.Clock = workqueue.RealClock{}
	if opts.Clock != nil {
		clk = opts.Clock
	}
	return &reconciler{
		c: c, rss: rss, pods: pods, rec: rec, clock: clk,
		exp:   ctrlutil.NewExpectations(clk, opts.ExpectationsTTL),
		burst: opts.BurstReplicas,
		ttl:   opts.ExpectationsTTL,
	}
}

// rsKey returns the expectations key of the ReplicaSet that controls p,
// and false if no ReplicaSet does.
func rsKey(p *api.Pod) (string, bool) {
	ref := p.ControllerRef()
	if ref == nil || ref.Kind != gvk.Kind || !isAppsGroup(ref.APIVersion) {
		return "", false
	}
	return p.Namespace + "/" + ref.Name, true
}

// isAppsGroup reports whether apiVersion is of the group apps, whatever
// the version.
func isAppsGroup(apiVersion string) bool { return strings.HasPrefix(apiVersion, "apps/") }

// observe is a predicate on the pod source that lowers the expectations
// of the pod's ReplicaSet as its informer sees the pods the controller
// created and deleted. It runs on the pod informer's handler goroutine
// just before mapPod queues the ReplicaSet, so the reconcile the event
// causes sees the expectation met. It lets every event through.
func (r *reconciler) observe(ev controller.Event) bool {
	p, ok := ev.Object.(*api.Pod)
	if !ok {
		return true
	}
	key, ok := rsKey(p)
	if !ok {
		return true
	}
	switch ev.Type {
	case controller.Create:
		if p.DeletionTimestamp != nil {
			// Seen for the first time already being deleted (a relist):
			// a deletion, not a creation.
			r.exp.DeletionObserved(key, p.UID)
		} else {
			r.exp.CreationObserved(key)
		}
	case controller.Update:
		if old, ok := ev.Old.(*api.Pod); ok && old.DeletionTimestamp == nil && p.DeletionTimestamp != nil {
			r.exp.DeletionObserved(key, p.UID)
		}
	case controller.Delete:
		r.exp.DeletionObserved(key, p.UID)
	}
	return true
}

// mapPod maps a pod to the ReplicaSets to reconcile: its controller if a
// ReplicaSet controls it, else (an orphan) every ReplicaSet of its
// namespace whose selector matches it, which may adopt it.
func (r *reconciler) mapPod(_ context.Context, obj api.Object) []controller.Request {
	p, ok := obj.(*api.Pod)
	if !ok {
		return nil
	}
	if ref := p.ControllerRef(); ref != nil {
		if _, ok := rsKey(p); ok {
			return []controller.Request{{Namespace: p.Namespace, Name: ref.Name}}
		}
		return nil
	}
	rss, err := r.rss.ListNamespace(p.Namespace, labels.Everything())
	if err != nil {
		return nil
	}
	var out []controller.Request
	for _, rs := range rss {
		sel, err := api.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() {
			// An empty selector would match every pod; the API server
			// rejects one, so this is a ReplicaSet never to adopt for.
			continue
		}
		if sel.Matches(labels.Set(p.Labels)) {
			out = append(out, controller.Request{Namespace: rs.Namespace, Name: rs.Name})
		}
	}
	return out
}

// Reconcile brings one ReplicaSet's pods to its replicas and writes its
// status. It is called by the controller's workers, one call per
// ReplicaSet at a time.
func (r *reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	key := req.String()
	rs, err := r.rss.Get(req.Namespace, req.Name)
	if api.IsNotFound(err) {
		r.exp.Forget(key)
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	sel, err := api.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return controller.Result{}, controller.TerminalError(fmt.Errorf("ReplicaSet %s: spec.selector: %w", key, err))
	}
	if sel.Empty() {
		return controller.Result{}, controller.TerminalError(fmt.Errorf("ReplicaSet %s: spec.selector is empty: it would select every pod of the namespace", key))
	}

	// Deletions the cache has seen count as observed, even if their
	// events were dropped (while the controller was not leading).
	if r.exp.PendingDeletions(key) {
		cands, err := r.candidates(rs, sel)
		if err != nil {
			return controller.Result{}, err
		}
		live := make(map[api.UID]bool, len(cands))
		for _, p := range cands {
			live[p.UID] = true
		}
		r.exp.DeletionsSeen(key, func(uid api.UID) bool { return live[uid] })
	}
	// Read the expectations before the cache: an event that comes in
	// between then updated the cache first, so what is listed is at
	// least as new as what satisfied them.
	satisfied := r.exp.Satisfied(key)
	cands, err := r.candidates(rs, sel)
	if err != nil {
		return controller.Result{}, err
	}
	pods, err := ctrlutil.ClaimPods(ctx, r.c, rs, gvk, sel, cands)
	if err != nil {
		// Without every pod claimed, the count could be short and the
		// controller create too many: try again once the cache moved.
		return controller.Result{}, fmt.Errorf("ReplicaSet %s: claim pods: %w", key, err)
	}

	var manageErr error
	var failReason string
	if satisfied && rs.DeletionTimestamp == nil {
		failReason, manageErr = r.manage(ctx, rs, key, activePods(pods))
	}

	now := r.clock.Now()
	st, next := calculateStatus(rs, pods, now, manageErr, failReason)
	if !statusEqual(&st, &rs.Status) {
		if err := r.updateStatus(ctx, rs, st); err != nil && manageErr == nil {
			return controller.Result{}, fmt.Errorf("ReplicaSet %s: update status: %w", key, err)
		}
	}
	res := controller.Result{RequeueAfter: next}
	if !r.exp.Satisfied(key) {
		// The events that meet the expectations reconcile again; should
		// one be lost, look again when the expectations expire.
		if res.RequeueAfter == 0 || res.RequeueAfter > r.ttl {
			res.RequeueAfter = r.ttl + time.Second
		}
	}
	if manageErr != nil {
		return controller.Result{}, fmt.Errorf("ReplicaSet %s: %w", key, manageErr)
	}
	return res, nil
}

// candidates returns the active pods of rs's namespace that rs's selector
// matches or that have an owner reference to rs: what it may claim.
func (r *reconciler) candidates(rs *api.ReplicaSet, sel labels.Selector) ([]*api.Pod, error) {
	matching, err := r.pods.ListNamespace(rs.Namespace, sel)
	if err != nil {
		return nil, err
	}
	owned, err := r.pods.OwnedBy(rs.UID)
	if err != nil {
		return nil, err
	}
	out := make([]*api.Pod, 0, len(matching)+len(owned))
	seen := make(map[api.UID]bool, len(matching))
	for _, p := range matching {
		if ctrlutil.IsPodActive(p) {
			out = append(out, p)
			seen[p.UID] = true
		}
	}
	for _, p := range owned {
		if p.Namespace == rs.Namespace && !seen[p.UID] && ctrlutil.IsPodActive(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// manage creates or deletes pods so rs has its replicas, at most r.burst
// at a time, and returns why it failed (the reason FailedCreate or
// FailedDelete and the error), if it did. pods are rs's active pods.
func (r *reconciler) manage(ctx context.Context, rs *api.ReplicaSet, key string, pods []*api.Pod) (string, error) {
	diff := len(pods) - replicas(rs)
	switch {
	case diff < 0:
		return ReasonFailedCreate, r.createPods(ctx, rs, key, min(-diff, r.burst))
	case diff > 0:
		return ReasonFailedDelete, r.deletePods(ctx, rs, key, podsToDelete(pods, min(diff, r.burst)))
	}
	return "", nil
}

// createPods creates n pods for rs in slow-start batches, stopping at the
// first batch with a failure. Every create is expected before any is sent;
// those that fail or are never sent are observed at once, since no event
// will come for them.
func (r *reconciler) createPods(ctx context.Context, rs *api.ReplicaSet, key string, n int) error {
	r.exp.ExpectCreations(key, n)
	sent := 0
	var errs []error
	for _, size := range slowStartBatches(n) {
		if len(errs) > 0 || ctx.Err() != nil {
			break
		}
		sent += size
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range size {
			wg.Go(func() {
				pod := ctrlutil.PodFromTemplate(&rs.Spec.Template, rs, gvk)
				if err := r.c.Create(ctx, pod); err != nil {
					r.exp.CreationObserved(key)
					r.rec.Eventf(rs, api.EventTypeWarning, ReasonFailedCreate, "Error creating: %v", err)
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				r.rec.Eventf(rs, api.EventTypeNormal, ReasonSuccessfulCreate, "Created pod: %s", pod.Name)
			})
		}
		wg.Wait()
	}
	for range n - sent {
		r.exp.CreationObserved(key)
	}
	if len(errs) > 0 {
		return fmt.Errorf("create pods: %d of %d failed, %d not tried: %w", len(errs), n, n-sent, errs[0])
	}
	return ctx.Err()
}

// deletePods deletes victims, rs's pods, at once. A pod already gone
// counts as deleted.
func (r *reconciler) deletePods(ctx context.Context, rs *api.ReplicaSet, key string, victims []*api.Pod) error {
	uids := make([]api.UID, len(victims))
	for i, p := range victims {
		uids[i] = p.UID
	}
	r.exp.ExpectDeletions(key, uids...)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, p := range victims {
		wg.Go(func() {
			err := r.c.Delete(ctx, p, client.DeleteOptions{Preconditions: &client.Preconditions{UID: p.UID}})
			if err != nil {
				// No event will come for a failed delete; a pod already
				// gone may have had its event before the expectation.
				r.exp.DeletionObserved(key, p.UID)
				if api.IsNotFound(err) {
					return
				}
				r.rec.Eventf(rs, api.EventTypeWarning, ReasonFailedDelete, "Error deleting: %v", err)
				mu.Lock()
				errs = append(errs, fmt.Errorf("delete pod %s: %w", p.Name, err))
				mu.Unlock()
				return
			}
			r.rec.Eventf(rs, api.EventTypeNormal, ReasonSuccessfulDelete, "Deleted pod: %s", p.Name)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("delete pods: %d of %d failed: %w", len(errs), len(victims), errors.Join(errs...))
	}
	return nil
}

// updateStatus writes st as rs's status. A Conflict (the cached rs is
// stale) is returned: the ReplicaSet's change queues it again anyway, and
// that reconcile computes the status afresh from a cache that has caught
// up, so reading rs from the API server here would only cost a request
// (and one per pod's status change in a busy rollout). A ReplicaSet that
// is gone is left alone.
func (r *reconciler) updateStatus(ctx context.Context, rs *api.ReplicaSet, st api.ReplicaSetStatus) error {
	cur := api.DeepCopy(rs)
	cur.Status = st
	cur.Status.Conditions = slices.Clone(st.Conditions)
	if err := r.c.UpdateStatus(ctx, cur); err != nil && !api.IsNotFound(err) {
		return err
	}
	return nil
}
