package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// ReasonFailedToUpdateEndpointSlices is the reason of the Warning event
// recorded on a Service when writing its slices fails, as Kubernetes
// names it.
const ReasonFailedToUpdateEndpointSlices = "FailedToUpdateEndpointSlices"

// serviceLister is where the reconciler reads Services
// (informer.Lister[*api.Service]). Called from every worker and from the
// pod informer's handler goroutine.
type serviceLister interface {
	Get(namespace, name string) (*api.Service, error)
	ListNamespace(namespace string, sel labels.Selector) ([]*api.Service, error)
}

// podLister is where the reconciler reads pods
// (informer.Lister[*api.Pod]). Called from every worker.
type podLister interface {
	ListNamespace(namespace string, sel labels.Selector) ([]*api.Pod, error)
}

// sliceLister is where the reconciler reads EndpointSlices
// (informer.Lister[*api.EndpointSlice]). Called from every worker.
type sliceLister interface {
	ListNamespace(namespace string, sel labels.Selector) ([]*api.EndpointSlice, error)
}

// nodeLister is where the reconciler reads the zones of nodes
// (informer.Lister[*api.Node]). Called from every worker.
type nodeLister interface {
	Get(namespace, name string) (*api.Node, error)
}

// eventRecorder records events (*record.Recorder). It must not block.
type eventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

// reconciler is the controller's Reconciler: it reads the caches, asks the
// core (planSlices) what to write and writes it.
type reconciler struct {
	c        *client.Client
	services serviceLister
	pods     podLister
	slices   sliceLister
	nodes    nodeLister // nil: no zones
	rec      eventRecorder
	exp      *ctrlutil.Expectations
	writes   *ctrlutil.WriteTracker
	ttl      time.Duration
	max      int
}

func newReconciler(c *client.Client, services serviceLister, pods podLister, sl sliceLister, nodes nodeLister, rec eventRecorder, opts Options) *reconciler {
	var clk ctrlutil.Clock = workqueue.RealClock{}
	if opts.Clock != nil {
		clk = opts.Clock
	}
	return &reconciler{
		c: c, services: services, pods: pods, slices: sl, nodes: nodes, rec: rec,
		exp:    ctrlutil.NewExpectations(clk, opts.ExpectationsTTL),
		writes: ctrlutil.NewWriteTracker(clk, opts.ExpectationsTTL),
		ttl:    opts.ExpectationsTTL,
		max:    opts.MaxEndpointsPerSlice,
	}
}

// Reconcile brings the slices of the Service named req in line with its
// pods.
func (r *reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	key := req.String()
	// Read the expectations before the cache: an event that comes in
	// between updated the cache first.
	if !r.exp.Satisfied(key) {
		// The events that meet them queue the Service again; should one
		// be lost, look again when they expire.
		return controller.Result{RequeueAfter: r.ttl + time.Second}, nil
	}
	svc, err := r.services.Get(req.Namespace, req.Name)
	switch {
	case api.IsNotFound(err):
		svc = nil
	case err != nil:
		return controller.Result{}, err
	}
	sel := labels.Set{api.LabelServiceName: req.Name, api.LabelManagedBy: ManagedByValue}.AsSelector()
	existing, err := r.slices.ListNamespace(req.Namespace, sel)
	if err != nil {
		return controller.Result{}, err
	}
	for _, s := range existing {
		if r.writes.Stale(s.UID, s.ResourceVersion) {
			// The informer has not delivered a slice this controller
			// wrote: its event queues the Service again.
			return controller.Result{RequeueAfter: r.ttl + time.Second}, nil
		}
	}
	var p plan
	switch {
	case svc == nil || !ctrlutil.ServiceWantsEndpoints(svc):
		p.delete = existing
	case svc.DeletionTimestamp != nil:
		// The garbage collector deletes the slices with the Service.
		return controller.Result{}, nil
	default:
		pods, err := r.pods.ListNamespace(req.Namespace, labels.Set(svc.Spec.Selector).AsSelector())
		if err != nil {
			return controller.Result{}, err
		}
		p = planSlices(svc, desiredGroups(svc, pods, r.zoneOf), existing, r.max)
	}
	if p.writes() == 0 {
		return controller.Result{}, nil
	}
	if err := r.apply(ctx, key, p); err != nil {
		if svc != nil && !api.IsConflict(err) {
			r.rec.Eventf(svc, api.EventTypeWarning, ReasonFailedToUpdateEndpointSlices, "Error updating Endpoint Slices for Service %s: %v", key, err)
		}
		return controller.Result{}, fmt.Errorf("EndpointSlices of Service %s: %w", key, err)
	}
	controller.LoggerFrom(ctx).Debug("wrote EndpointSlices", "service", key,
		"created", len(p.create), "updated", len(p.update), "deleted", len(p.delete))
	return controller.Result{}, nil
}

// apply writes p: creates and updates first, deletes last, so an endpoint
// moving between slices is never missing from all of them. It returns the
// failures joined (a Conflict among them when the cache was stale).
func (r *reconciler) apply(ctx context.Context, key string, p plan) error {
	var errs []error
	r.exp.ExpectCreations(key, len(p.create))
	for _, s := range p.create {
		if err := r.c.Create(ctx, s); err != nil {
			r.exp.CreationObserved(key)
			errs = append(errs, fmt.Errorf("create EndpointSlice %s%s: %w", s.Namespace+"/", s.GenerateName, err))
		}
	}
	for _, s := range p.update {
		base := s.ResourceVersion
		if err := r.c.Update(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("update EndpointSlice %s: %w", s.Key(), err))
			continue
		}
		r.writes.Wrote(s.UID, base)
	}
	uids := make([]api.UID, 0, len(p.delete))
	for _, s := range p.delete {
		uids = append(uids, s.UID)
	}
	r.exp.ExpectDeletions(key, uids...)
	for _, s := range p.delete {
		err := r.c.Delete(ctx, s, client.DeleteOptions{Preconditions: &client.Preconditions{UID: s.UID}})
		if err == nil {
			continue
		}
		// No event will come for a failed delete, and the one for a
		// slice already gone may have come before the expectation.
		r.exp.DeletionObserved(key, s.UID)
		if !api.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete EndpointSlice %s: %w", s.Key(), err))
		}
	}
	return errors.Join(errs...)
}

// zoneOf returns the zone label of node, or "".
func (r *reconciler) zoneOf(node string) string {
	if r.nodes == nil {
		return ""
	}
	n, err := r.nodes.Get("", node)
	if err != nil {
		return ""
	}
	return n.Labels[ZoneLabel]
}

// observe is a predicate on the slice source that lowers the expectations
// of the slice's Service as the informer sees the slices the controller
// created and deleted, and clears the updates it sees from the write
// tracker. It lets every event through.
func (r *reconciler) observe(ev controller.Event) bool {
	s, ok := ev.Object.(*api.EndpointSlice)
	if !ok || s.Labels[api.LabelManagedBy] != ManagedByValue || s.Labels[api.LabelServiceName] == "" {
		return true
	}
	key := s.Namespace + "/" + s.Labels[api.LabelServiceName]
	if ev.Type == controller.Delete {
		r.writes.Forget(s.UID)
	} else {
		r.writes.Observed(s.UID, s.ResourceVersion)
	}
	switch ev.Type {
	case controller.Create:
		if s.DeletionTimestamp != nil {
			r.exp.DeletionObserved(key, s.UID)
		} else {
			r.exp.CreationObserved(key)
		}
	case controller.Update:
		if old, ok := ev.Old.(*api.EndpointSlice); ok && old.DeletionTimestamp == nil && s.DeletionTimestamp != nil {
			r.exp.DeletionObserved(key, s.UID)
		}
	case controller.Delete:
		r.exp.DeletionObserved(key, s.UID)
	}
	return true
}

// mapPod maps a pod to the Services of its namespace whose selector
// matches it. The controller calls it with the old and the new pod of an
// update, so a relabelled pod leaves the Services it left.
func (r *reconciler) mapPod(_ context.Context, obj api.Object) []controller.Request {
	p, ok := obj.(*api.Pod)
	if !ok {
		return nil
	}
	svcs, err := r.services.ListNamespace(p.Namespace, labels.Everything())
	if err != nil {
		return nil
	}
	var out []controller.Request
	for _, svc := range ctrlutil.ServicesSelecting(svcs, p) {
		out = append(out, controller.Request{Namespace: svc.Namespace, Name: svc.Name})
	}
	return out
}
