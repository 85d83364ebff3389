package daemonset

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// podLister is what the reconciler reads pods from
// (informer.Lister[*api.Pod]). Called from every worker.
type podLister interface {
	ListNamespace(namespace string, sel labels.Selector) ([]*api.Pod, error)
	OwnedBy(uid api.UID) ([]*api.Pod, error)
}

// nodeLister is what the reconciler reads nodes from
// (informer.Lister[*api.Node]). Called from every worker.
type nodeLister interface {
	List(sel labels.Selector) ([]*api.Node, error)
}

// dsLister is what the reconciler reads DaemonSets from
// (informer.Lister[*api.DaemonSet]). Called from every worker and from
// the pod and node informers' handler goroutines.
type dsLister interface {
	Get(namespace, name string) (*api.DaemonSet, error)
	List(sel labels.Selector) ([]*api.DaemonSet, error)
	ListNamespace(namespace string, sel labels.Selector) ([]*api.DaemonSet, error)
}

// eventRecorder records events (*record.Recorder). It must not block.
type eventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

// reconciler is the controller's Reconciler: the driver that reads the
// caches, feeds the pure core (decide, in core.go) and carries out its
// plan.
type reconciler struct {
	c     *client.Client
	dss   dsLister
	pods  podLister
	nodes nodeLister
	rec   eventRecorder
	exp   *ctrlutil.Expectations
	opts  Options

	mu      sync.Mutex
	backoff map[api.UID]map[string]nodeBackoff // by DaemonSet, then node
}

func newReconciler(c *client.Client, dss dsLister, pods podLister, nodes nodeLister, rec eventRecorder, opts Options) *reconciler {
	opts = opts.withDefaults()
	return &reconciler{
		c: c, dss: dss, pods: pods, nodes: nodes, rec: rec, opts: opts,
		exp:     ctrlutil.NewExpectations(opts.Clock, opts.ExpectationsTTL),
		backoff: map[api.UID]map[string]nodeBackoff{},
	}
}

// dsKey returns the expectations key of the DaemonSet that controls p,
// and false if none does.
func dsKey(p *api.Pod) (string, bool) {
	ref := p.ControllerRef()
	if ref == nil || ref.Kind != gvk.Kind || !strings.HasPrefix(ref.APIVersion, "apps/") {
		return "", false
	}
	return p.Namespace + "/" + ref.Name, true
}

// observe is a predicate on the pod source that lowers the expectations
// of the pod's DaemonSet as the informer sees the pods the controller
// created and deleted. It lets every event through.
func (r *reconciler) observe(ev controller.Event) bool {
	p, ok := ev.Object.(*api.Pod)
	if !ok {
		return true
	}
	key, ok := dsKey(p)
	if !ok {
		return true
	}
	switch ev.Type {
	case controller.Create:
		if p.DeletionTimestamp != nil {
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

// mapPod maps a pod to the DaemonSets to reconcile: its controller if a
// DaemonSet controls it, else every DaemonSet of its namespace whose
// selector matches it.
func (r *reconciler) mapPod(_ context.Context, obj api.Object) []controller.Request {
	p, ok := obj.(*api.Pod)
	if !ok {
		return nil
	}
	if ref := p.ControllerRef(); ref != nil {
		if _, ok := dsKey(p); ok {
			return []controller.Request{{Namespace: p.Namespace, Name: ref.Name}}
		}
		return nil
	}
	dss, err := r.dss.ListNamespace(p.Namespace, labels.Everything())
	if err != nil {
		return nil
	}
	var out []controller.Request
	for _, ds := range dss {
		sel, err := api.LabelSelectorAsSelector(ds.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, controller.Request{Namespace: ds.Namespace, Name: ds.Name})
		}
	}
	return out
}

// mapNode maps a node to every DaemonSet: any may start or stop running
// there.
func (r *reconciler) mapNode(_ context.Context, _ api.Object) []controller.Request {
	dss, err := r.dss.List(labels.Everything())
	if err != nil {
		return nil
	}
	out := make([]controller.Request, 0, len(dss))
	for _, ds := range dss {
		out = append(out, controller.Request{Namespace: ds.Namespace, Name: ds.Name})
	}
	return out
}

// nodeChanged lets through the node events that can change where daemon
// pods belong: adds, deletes, and changes of labels, taints or deletion,
// not the status heartbeats.
func nodeChanged(ev controller.Event) bool {
	if ev.Type != controller.Update {
		return true
	}
	n, ok1 := ev.Object.(*api.Node)
	o, ok2 := ev.Old.(*api.Node)
	if !ok1 || !ok2 {
		return true
	}
	return !maps.Equal(n.Labels, o.Labels) || !reflect.DeepEqual(n.Spec.Taints, o.Spec.Taints) ||
		(n.DeletionTimestamp == nil) != (o.DeletionTimestamp == nil)
}

// Reconcile brings one DaemonSet's pods in line with the nodes and writes
// its status. It is called by the controller's workers, one call per
// DaemonSet at a time.
func (r *reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	key := req.String()
	ds, err := r.dss.Get(req.Namespace, req.Name)
	if api.IsNotFound(err) {
		r.exp.Forget(key)
		r.forgetBackoff()
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	sel, err := api.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return controller.Result{}, controller.TerminalError(fmt.Errorf("DaemonSet %s: spec.selector: %w", key, err))
	}
	if sel.Empty() {
		return controller.Result{}, controller.TerminalError(fmt.Errorf("DaemonSet %s: spec.selector is empty: it would select every pod of the namespace", key))
	}

	// Deletions the cache has seen count as observed, even if their
	// events were dropped (while the controller was not leading). Read
	// the expectations before the cache: an event that comes in between
	// updated the cache first, so what is listed is at least as new as
	// what satisfied them.
	if r.exp.PendingDeletions(key) {
		seen, err := r.candidates(ds, sel)
		if err != nil {
			return controller.Result{}, err
		}
		r.exp.DeletionsSeen(key, ctrlutil.LiveIn(seen))
	}
	satisfied := r.exp.Satisfied(key)
	cands, err := r.candidates(ds, sel)
	if err != nil {
		return controller.Result{}, err
	}
	pods, err := ctrlutil.Claim(ctx, r.c, ds, gvk, sel, cands)
	if err != nil {
		return controller.Result{}, fmt.Errorf("DaemonSet %s: claim pods: %w", key, err)
	}
	nodes, err := r.nodes.List(labels.Everything())
	if err != nil {
		return controller.Result{}, err
	}

	r.mu.Lock()
	bo := maps.Clone(r.backoff[ds.UID])
	r.mu.Unlock()
	p := decide(input{
		ds: ds, nodes: nodes, pods: pods, hash: TemplateHash(&ds.Spec.Template, ds.Status.CollisionCount),
		now: r.opts.Clock.Now(), satisfied: satisfied && ds.DeletionTimestamp == nil, backoff: bo,
		backoffBase: r.opts.FailedPodBackoff, backoffMax: r.opts.FailedPodBackoffMax, burst: r.opts.BurstReplicas,
	})
	r.mu.Lock()
	r.backoff[ds.UID] = p.backoff
	r.mu.Unlock()
	for _, e := range p.events {
		typ := api.EventTypeNormal
		if e.warning {
			typ = api.EventTypeWarning
		}
		r.rec.Eventf(ds, typ, e.reason, "%s", e.message)
	}

	var errs []error
	if err := r.deletePods(ctx, ds, key, p.remove); err != nil {
		errs = append(errs, err)
	}
	if err := r.createPods(ctx, ds, key, p.create); err != nil {
		errs = append(errs, err)
	}
	if !reflect.DeepEqual(p.status, ds.Status) {
		if err := r.updateStatus(ctx, ds, p.status); err != nil {
			errs = append(errs, fmt.Errorf("update status: %w", err))
		}
	}
	if len(errs) > 0 {
		return controller.Result{}, fmt.Errorf("DaemonSet %s: %w", key, errors.Join(errs...))
	}
	res := controller.Result{RequeueAfter: p.requeue}
	if !r.exp.Satisfied(key) && (res.RequeueAfter == 0 || res.RequeueAfter > r.opts.ExpectationsTTL) {
		res.RequeueAfter = r.opts.ExpectationsTTL + time.Second
	}
	return res, nil
}

func (r *reconciler) forgetBackoff() {
	// The DaemonSet is gone from the cache; its uid is unknown here, so
	// drop the records of DaemonSets that no longer exist.
	dss, err := r.dss.List(labels.Everything())
	if err != nil {
		return
	}
	live := map[api.UID]bool{}
	for _, ds := range dss {
		live[ds.UID] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	maps.DeleteFunc(r.backoff, func(uid api.UID, _ map[string]nodeBackoff) bool { return !live[uid] })
}

// candidates returns the pods of ds's namespace that sel matches or that
// ds owns: what it may claim.
func (r *reconciler) candidates(ds *api.DaemonSet, sel labels.Selector) ([]*api.Pod, error) {
	matching, err := r.pods.ListNamespace(ds.Namespace, sel)
	if err != nil {
		return nil, err
	}
	owned, err := r.pods.OwnedBy(ds.UID)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(matching)
	seen := make(map[api.UID]bool, len(matching))
	for _, p := range matching {
		seen[p.UID] = true
	}
	for _, p := range owned {
		if p.Namespace == ds.Namespace && !seen[p.UID] {
			out = append(out, p)
		}
	}
	return out, nil
}

// createPods creates a pod of ds for each node, at once.
func (r *reconciler) createPods(ctx context.Context, ds *api.DaemonSet, key string, nodes []string) error {
	if len(nodes) == 0 {
		return nil
	}
	hash := TemplateHash(&ds.Spec.Template, ds.Status.CollisionCount)
	r.exp.ExpectCreations(key, len(nodes))
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, node := range nodes {
		wg.Go(func() {
			pod := newPod(ds, node, hash)
			if err := r.c.Create(ctx, pod); err != nil {
				r.exp.CreationObserved(key)
				r.rec.Eventf(ds, api.EventTypeWarning, ReasonFailedCreate, "Error creating: %v", err)
				mu.Lock()
				errs = append(errs, fmt.Errorf("create pod for node %s: %w", node, err))
				mu.Unlock()
				return
			}
			r.rec.Eventf(ds, api.EventTypeNormal, ReasonSuccessfulCreate, "Created pod: %s", pod.Name)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// deletePods deletes victims, pods of ds.
func (r *reconciler) deletePods(ctx context.Context, ds *api.DaemonSet, key string, victims []*api.Pod) error {
	if len(victims) == 0 {
		return nil
	}
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
				r.exp.DeletionObserved(key, p.UID)
				if api.IsNotFound(err) {
					return
				}
				r.rec.Eventf(ds, api.EventTypeWarning, ReasonFailedDelete, "Error deleting: %v", err)
				mu.Lock()
				errs = append(errs, fmt.Errorf("delete pod %s: %w", p.Name, err))
				mu.Unlock()
				return
			}
			r.rec.Eventf(ds, api.EventTypeNormal, ReasonSuccessfulDelete, "Deleted pod: %s", p.Name)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// updateStatus writes st as ds's status. A Conflict (the cached ds is
// stale) is returned: the DaemonSet's change queues it again anyway, and
// that reconcile computes the status afresh (collisionCount included) from
// a cache that has caught up, so reading ds from the API server here
// would only cost a request. A DaemonSet that is gone is left alone.
func (r *reconciler) updateStatus(ctx context.Context, ds *api.DaemonSet, st api.DaemonSetStatus) error {
	cur := api.DeepCopy(ds)
	cur.Status = st
	if err := r.c.UpdateStatus(ctx, cur); err != nil && !api.IsNotFound(err) {
		return err
	}
	return nil
}
