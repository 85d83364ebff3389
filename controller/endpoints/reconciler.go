package endpoints

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// The event reasons, as Kubernetes names them.
const (
	ReasonFailedToCreateEndpoint = "FailedToCreateEndpoint"
	ReasonFailedToUpdateEndpoint = "FailedToUpdateEndpoint"
	ReasonFailedToDeleteEndpoint = "FailedToDeleteEndpoint"
)

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

// endpointsLister is where the reconciler reads Endpoints
// (informer.Lister[*api.Endpoints]). Called from every worker.
type endpointsLister interface {
	Get(namespace, name string) (*api.Endpoints, error)
}

// eventRecorder records events (*record.Recorder). It must not block.
type eventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

// reconciler is the controller's Reconciler: it reads the caches, asks the
// core (decide) what to do and does it.
type reconciler struct {
	c         *client.Client
	services  serviceLister
	pods      podLister
	endpoints endpointsLister
	rec       eventRecorder
	clock     ctrlutil.Clock
	writes    *ctrlutil.WriteTracker // updates the Endpoints informer has not shown yet
}

// Reconcile brings the Endpoints named req in line with the Service of
// that name.
func (r *reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	svc, err := r.services.Get(req.Namespace, req.Name)
	switch {
	case api.IsNotFound(err):
		svc = nil
	case err != nil:
		return controller.Result{}, err
	}
	cur, err := r.endpoints.Get(req.Namespace, req.Name)
	switch {
	case api.IsNotFound(err):
		cur = nil
	case err != nil:
		return controller.Result{}, err
	}
	var pods []*api.Pod
	if svc != nil && ctrlutil.ServiceWantsEndpoints(svc) {
		pods, err = r.pods.ListNamespace(req.Namespace, labels.Set(svc.Spec.Selector).AsSelector())
		if err != nil {
			return controller.Result{}, err
		}
	}
	if cur != nil && r.writes.Stale(cur.UID, cur.ResourceVersion) {
		// The cache predates this controller's last write: its event
		// queues the Service again.
		return controller.Result{RequeueAfter: ctrlutil.DefaultExpectationsTTL + time.Second}, nil
	}
	act, next := decide(svc, pods, cur, r.clock.Now())
	log := controller.LoggerFrom(ctx)
	switch act {
	case actCreate:
		err = r.c.Create(ctx, next)
		if api.IsAlreadyExists(err) {
			// The cache lags, as with a conflict: routine, so no error
			// (logged at Error) but a rate-limited requeue; the object's
			// event queues the Service too, and that reconcile sees it.
			log.Debug("Endpoints exist but the cache has not seen them yet; retrying", "endpoints", req.String())
			return controller.Result{Requeue: true}, nil
		}
		if err != nil {
			r.rec.Eventf(svc, api.EventTypeWarning, ReasonFailedToCreateEndpoint, "Failed to create endpoint for service %s: %v", req, err)
			return controller.Result{}, fmt.Errorf("create Endpoints %s: %w", req, err)
		}
		log.Debug("created Endpoints", "endpoints", req.String())
	case actUpdate:
		err = r.c.Update(ctx, next)
		if api.IsConflict(err) || api.IsNotFound(err) {
			return controller.Result{}, fmt.Errorf("update Endpoints %s: %w", req, err)
		}
		if err != nil {
			r.rec.Eventf(svc, api.EventTypeWarning, ReasonFailedToUpdateEndpoint, "Failed to update endpoint %s: %v", req, err)
			return controller.Result{}, fmt.Errorf("update Endpoints %s: %w", req, err)
		}
		r.writes.Wrote(cur.UID, cur.ResourceVersion)
		log.Debug("updated Endpoints", "endpoints", req.String())
	case actDelete:
		err = r.c.Delete(ctx, cur, client.DeleteOptions{Preconditions: &client.Preconditions{UID: cur.UID, ResourceVersion: cur.ResourceVersion}})
		if err != nil && !api.IsNotFound(err) {
			if svc != nil && !api.IsConflict(err) {
				r.rec.Eventf(svc, api.EventTypeWarning, ReasonFailedToDeleteEndpoint, "Failed to delete endpoint %s: %v", req, err)
			}
			return controller.Result{}, fmt.Errorf("delete Endpoints %s: %w", req, err)
		}
		log.Debug("deleted Endpoints", "endpoints", req.String())
	}
	return controller.Result{}, nil
}

// observe is a predicate on the Endpoints source that clears the updates
// the informer delivers from the write tracker. It lets every event
// through.
func (r *reconciler) observe(ev controller.Event) bool {
	m := ev.Object.GetObjectMeta()
	if ev.Type == controller.Delete {
		r.writes.Forget(m.UID)
	} else {
		r.writes.Observed(m.UID, m.ResourceVersion)
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
