// Package endpointslice is the EndpointSlice controller: for every Service
// with a selector it keeps the EndpointSlices (discovery.k8s.io/v1) that
// list the pods the selector picks, as the service proxy and cluster DNS
// read them.
//
// A Service's slices are labelled kubernetes.io/service-name=<service>
// and endpointslice.kubernetes.io/managed-by=ManagedByValue (plus the
// Service's own labels, and service.kubernetes.io/headless for a headless
// Service), are controlled by the Service (an owner reference, so the
// garbage collector deletes them with it) and are named by the API server
// from the prefix "<service>-". Each slice holds one address family (IPv4
// or IPv6, from the Service's ipFamilies and the pods' IPs) and one set of
// resolved ports, and at most Options.MaxEndpointsPerSlice endpoints.
//
// An endpoint is a pod that has not terminated and has an IP of the
// slice's family and at least one of the Service's ports (a named
// targetPort is looked up in the pod's container ports, so pods naming
// their ports differently land in different slices). It carries the
// pod's IP, its conditions (serving: the pod is Ready; terminating: it is
// being deleted; ready: serving and not terminating, or always when the
// Service sets publishNotReadyAddresses), a targetRef to the pod, its node
// name, its node's topology.kubernetes.io/zone label, and its hostname
// when its spec.subdomain is the Service's name.
//
// The controller keeps churn low (planSlices in core.go has the
// algorithm): an endpoint that changes is rewritten in the slice that
// holds it; new endpoints go first into slices being written anyway
// (emptied ones included, which are reused rather than deleted), then
// into new full slices, and the rest into an existing slice with room for
// all of it before a new slice is made; a slice left empty is deleted; a
// slice whose endpoints did not change is not written. Reconciling an
// unchanged state makes no API call.
//
// Unlike Kubernetes, a Service with no endpoints has no slices (no empty
// placeholder slice), and node label changes do not reconcile: an
// endpoint's zone is read when its Service is reconciled.
//
// Creates and deletes are recorded as expectations, and a Service is not
// reconciled again until its informer has seen them, so a lagging cache
// never makes duplicate slices; an update is not planned on a cached
// slice older than the controller's own last write of it
// (ctrlutil.WriteTracker), so slices do not conflict. Slices of a Service
// that is gone, has no selector or is of type ExternalName are deleted; slices other controllers manage (another
// managed-by label) are never touched. Failures are recorded as Warning
// events with the reason FailedToUpdateEndpointSlices and retried with
// backoff.
package endpointslice

import (
	"errors"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// Name is the controller's name: its metrics, logs, events' source and the
// key operators enable it by.
const Name = "endpointslice"

// Defaults of Options.
const (
	// DefaultWorkers is how many Services are reconciled at once.
	DefaultWorkers = 5
	// DefaultMaxEndpointsPerSlice is the most endpoints the controller
	// puts in one slice, as Kubernetes' --max-endpoints-per-slice.
	DefaultMaxEndpointsPerSlice = 100
)

// Labels the controller writes on EndpointSlices.
const (
	// ManagedByValue is the value of api.LabelManagedBy on the slices
	// this controller manages.
	ManagedByValue = "endpointslice-controller.drover.io"
	// HeadlessLabel is set (empty) on the slices of a headless Service.
	HeadlessLabel = "service.kubernetes.io/headless"
	// ZoneLabel is the Node label an endpoint's zone is read from.
	ZoneLabel = "topology.kubernetes.io/zone"
)

// Options configures the controller. The zero value is the default
// configuration.
type Options struct {
	// Workers is how many Services are reconciled at once; 0 means
	// DefaultWorkers.
	Workers int
	// MaxEndpointsPerSlice is the most endpoints in one slice, from 1 to
	// api.MaxEndpointsPerSlice (1000); 0 means DefaultMaxEndpointsPerSlice.
	MaxEndpointsPerSlice int
	// ExpectationsTTL is how long the controller waits to see the slices
	// it created or deleted in its cache before it acts on the Service
	// again regardless. 0 means ctrlutil.DefaultExpectationsTTL.
	ExpectationsTTL time.Duration
	// Clock times the retries and the expectations. nil means the
	// Manager's clock (Manager.Clock).
	Clock workqueue.Clock
}

// Validate reports the first field of o that is out of range.
func (o Options) Validate() error {
	switch {
	case o.Workers < 0:
		return fmt.Errorf("endpointslice: Options.Workers is %d: it must be 0 (the default, %d) or more", o.Workers, DefaultWorkers)
	case o.MaxEndpointsPerSlice < 0 || o.MaxEndpointsPerSlice > api.MaxEndpointsPerSlice:
		return fmt.Errorf("endpointslice: Options.MaxEndpointsPerSlice is %d: it must be from 1 to %d, or 0 for the default (%d)",
			o.MaxEndpointsPerSlice, api.MaxEndpointsPerSlice, DefaultMaxEndpointsPerSlice)
	case o.ExpectationsTTL < 0:
		return fmt.Errorf("endpointslice: Options.ExpectationsTTL is %v: it must be 0 (the default, %v) or more", o.ExpectationsTTL, ctrlutil.DefaultExpectationsTTL)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxEndpointsPerSlice == 0 {
		o.MaxEndpointsPerSlice = DefaultMaxEndpointsPerSlice
	}
	if o.ExpectationsTTL == 0 {
		o.ExpectationsTTL = ctrlutil.DefaultExpectationsTTL
	}
	return o
}

// serviceGVK is the kind of the slices' owner.
var serviceGVK = api.GroupVersionKind{Version: "v1", Kind: "Service"}

// Add builds the controller with opts and adds it to m (it runs under m's
// leader election).
func Add(m *controller.Manager, opts Options) error {
	if m == nil {
		return errors.New("endpointslice: Add: the Manager is nil")
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	opts = opts.withDefaults()
	if opts.Clock == nil {
		opts.Clock = m.Clock()
	}
	services, err := controller.Lister[*api.Service](m)
	if err != nil {
		return fmt.Errorf("endpointslice: %w", err)
	}
	pods, err := controller.Lister[*api.Pod](m)
	if err != nil {
		return fmt.Errorf("endpointslice: %w", err)
	}
	slices, err := controller.Lister[*api.EndpointSlice](m)
	if err != nil {
		return fmt.Errorf("endpointslice: %w", err)
	}
	nodes, err := controller.Lister[*api.Node](m)
	if err != nil {
		return fmt.Errorf("endpointslice: %w", err)
	}
	rec, err := m.EventRecorder(Name)
	if err != nil {
		return fmt.Errorf("endpointslice: %w", err)
	}
	r := newReconciler(m.GetClient(), services, pods, slices, nodes, rec, opts)
	err = controller.NewControllerManagedBy(m).
		Named(Name).
		For(&api.Service{}).
		Owns(&api.EndpointSlice{}, controller.PredicateFunc(r.observe)).
		Watches(&api.Pod{}, r.mapPod, controller.PredicateFunc(podChanged)).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers, Clock: opts.Clock}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("endpointslice: %w", err)
	}
	return nil
}

// podChanged lets through the pod events that can change an endpoint.
func podChanged(ev controller.Event) bool {
	if ev.Type != controller.Update {
		return true
	}
	old, ok1 := ev.Old.(*api.Pod)
	p, ok2 := ev.Object.(*api.Pod)
	return !ok1 || !ok2 || ctrlutil.PodEndpointsChanged(old, p)
}
