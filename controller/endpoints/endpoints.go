// Package endpoints is the endpoints controller: for every Service with a
// selector (other than ExternalName Services, which are DNS aliases) it
// keeps an Endpoints object of the same name listing the pods the selector
// picks, as the service proxy and cluster DNS read them.
//
// For every such Service it writes (core.go has the rules):
//
//   - one address per pod that has an IP of the Service's primary address
//     family and has not terminated (phase Succeeded or Failed): in
//     addresses when the pod is ready (condition Ready=True) and not being
//     deleted, in notReadyAddresses otherwise (a terminating pod included),
//     or always in addresses when the Service sets
//     publishNotReadyAddresses;
//   - each address with the pod's IP, node name, a targetRef to the pod
//     (kind, namespace, name, uid) and, when the pod's spec.subdomain is
//     the Service's name, its spec.hostname;
//   - the Service's ports resolved per pod: a numeric targetPort as is, a
//     named one from the pod's container ports (a pod without that port is
//     left out of that port), and the addresses grouped into subsets by
//     identical resolved port sets, as Kubernetes repacks them;
//   - the Service's labels (plus service.kubernetes.io/headless for a
//     headless Service), the annotation ManagedByAnnotation, and
//     endpoints.kubernetes.io/last-change-trigger-time when it writes;
//   - at most MaxAddresses addresses, the ready ones first, with
//     OverCapacityAnnotation when some were left out.
//
// Everything is sorted, and the object is compared with the cached one
// before writing, so reconciling an unchanged state makes no API call. An
// update is not planned on a cached Endpoints older than the controller's
// own last write of it (ctrlutil.WriteTracker): the informer's event
// reconciles again instead of a Conflict.
//
// When a Service is deleted, loses its selector or becomes an ExternalName
// Service, the controller deletes the Endpoints it manages (those with
// ManagedByAnnotation). Endpoints a user made by hand for a Service without
// a selector are never touched, not even when the Service is deleted
// (Kubernetes deletes them then).
//
// Failures to write are recorded as Warning events on the Service with the
// reasons Kubernetes uses (FailedToCreateEndpoint, FailedToUpdateEndpoint,
// FailedToDeleteEndpoint) and retried with backoff.
package endpoints

import (
	"errors"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// Name is the controller's name: its metrics, logs, events' source and the
// key operators enable it by.
const Name = "endpoints"

// DefaultWorkers is how many Services are reconciled at once by default.
const DefaultWorkers = 5

// Annotations and labels the controller writes on Endpoints.
const (
	// ManagedByAnnotation marks the Endpoints this controller manages,
	// with the value ManagedByValue: only those are deleted when their
	// Service goes away or loses its selector.
	ManagedByAnnotation = "endpoints.drover.io/managed-by"
	// ManagedByValue is the value of ManagedByAnnotation.
	ManagedByValue = "endpoints-controller.drover.io"
	// LastChangeTriggerTimeAnnotation is when the controller last wrote a
	// change to the Endpoints (RFC 3339, from Options.Clock).
	LastChangeTriggerTimeAnnotation = "endpoints.kubernetes.io/last-change-trigger-time"
	// HeadlessLabel is set (empty) on the Endpoints of a headless Service.
	HeadlessLabel = "service.kubernetes.io/headless"
	// OverCapacityAnnotation is set to "truncated" on Endpoints that list
	// only MaxAddresses of their Service's pods.
	OverCapacityAnnotation = "endpoints.kubernetes.io/over-capacity"
)

// MaxAddresses is the most addresses one Endpoints object lists, as in
// Kubernetes; consumers that need more read EndpointSlices.
const MaxAddresses = 1000

// Options configures the controller. The zero value is the default
// configuration.
type Options struct {
	// Workers is how many Services are reconciled at once; 0 means
	// DefaultWorkers.
	Workers int
	// Clock times the retries and stamps
	// LastChangeTriggerTimeAnnotation. nil means the Manager's clock
	// (Manager.Clock).
	Clock workqueue.Clock
}

// Validate reports the first field of o that is out of range.
func (o Options) Validate() error {
	if o.Workers < 0 {
		return fmt.Errorf("endpoints: Options.Workers is %d: it must be 0 (the default, %d) or more", o.Workers, DefaultWorkers)
	}
	return nil
}

// Add builds the controller with opts and adds it to m (it runs under m's
// leader election).
func Add(m *controller.Manager, opts Options) error {
	if m == nil {
		return errors.New("endpoints: Add: the Manager is nil")
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	if opts.Workers == 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Clock == nil {
		opts.Clock = m.Clock()
	}
	services, err := controller.Lister[*api.Service](m)
	if err != nil {
		return fmt.Errorf("endpoints: %w", err)
	}
	pods, err := controller.Lister[*api.Pod](m)
	if err != nil {
		return fmt.Errorf("endpoints: %w", err)
	}
	eps, err := controller.Lister[*api.Endpoints](m)
	if err != nil {
		return fmt.Errorf("endpoints: %w", err)
	}
	rec, err := m.EventRecorder(Name)
	if err != nil {
		return fmt.Errorf("endpoints: %w", err)
	}
	r := &reconciler{c: m.GetClient(), services: services, pods: pods, endpoints: eps, rec: rec, clock: opts.Clock,
		writes: ctrlutil.NewWriteTracker(opts.Clock, 0)}
	err = controller.NewControllerManagedBy(m).
		Named(Name).
		For(&api.Service{}).
		Watches(&api.Pod{}, r.mapPod, controller.PredicateFunc(podChanged)).
		// An Endpoints object someone else changed or deleted is put back.
		Watches(&api.Endpoints{}, controller.EnqueueObject, controller.PredicateFunc(r.observe)).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers, Clock: opts.Clock}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("endpoints: %w", err)
	}
	return nil
}

// podChanged lets through the pod events that can change an Endpoints.
func podChanged(ev controller.Event) bool {
	if ev.Type != controller.Update {
		return true
	}
	old, ok1 := ev.Old.(*api.Pod)
	p, ok2 := ev.Object.(*api.Pod)
	return !ok1 || !ok2 || ctrlutil.PodEndpointsChanged(old, p)
}
