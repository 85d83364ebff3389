// Package deployment is the Deployment controller: it rolls a
// Deployment's pod template out through ReplicaSets, named
// <deployment>-<pod-template-hash>, with the RollingUpdate or Recreate
// strategy, keeps their revision history, scales them in proportion when
// the Deployment is scaled mid-rollout, and reports the rollout in the
// Deployment's status (Available and Progressing conditions). Pods are the
// ReplicaSet controller's business: this controller only writes
// ReplicaSets, Deployments' status and annotations, and Events.
//
// Rollbacks are client side, as with kubectl: Rollback copies an old
// ReplicaSet's template into the Deployment, and the controller finds
// that ReplicaSet again and makes it the new one, with the next revision.
package deployment

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
)

// Name is the controller's name: its metrics, logs, events' source and the
// key operators enable it by.
const Name = "deployment"

// DefaultWorkers is the number of workers of Options' zero value.
const DefaultWorkers = 5

// deploymentGVK is the kind of the owner references on ReplicaSets.
var deploymentGVK = api.AppsV1.WithKind("Deployment")

// Options configures the controller. The zero value is the default
// configuration.
type Options struct {
	// Workers is the number of Deployments reconciled at once. 0 means
	// DefaultWorkers.
	Workers int
	// Clock is where the controller reads the time (conditions, progress
	// deadlines) and times its requeues. nil means the Manager's clock
	// (Manager.Clock).
	Clock workqueue.Clock
}

// Validate reports the first field of o that is out of range.
func (o Options) Validate() error {
	if o.Workers < 0 {
		return fmt.Errorf("deployment: Options.Workers is %d: want 0 (the default, %d) or more", o.Workers, DefaultWorkers)
	}
	return nil
}

// Clock tells the Reconciler the time.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Lister reads objects of one kind from a cache. informer.Lister, from
// controller.Lister, is one. The Reconciler calls it from its worker
// goroutines; the objects it returns are shared and are never modified.
type Lister[T api.Object] interface {
	Get(namespace, name string) (T, error)
	ListNamespace(namespace string, sel labels.Selector) ([]T, error)
}

// EventRecorder records Events about Deployments. A *record.Recorder,
// from Manager.EventRecorder, is one. It is called from the worker
// goroutines and must not block.
type EventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

// Config configures a Reconciler. Add fills it from a Manager; tests and
// programs that wire things by hand fill it themselves.
type Config struct {
	// Client writes ReplicaSets and Deployments. Required.
	Client *client.Client
	// Deployments, ReplicaSets and Pods are read from a cache. Required.
	// Pods tell a Recreate rollout when the old pods are gone.
	Deployments Lister[*api.Deployment]
	ReplicaSets Lister[*api.ReplicaSet]
	Pods        Lister[*api.Pod]
	// Recorder records ScalingReplicaSet Events. Required.
	Recorder EventRecorder
	// Clock gives the time. nil means the system clock.
	Clock Clock
}

// Validate reports the first field of c that is missing.
func (c Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("deployment: Config.Client is nil: a client of the API server is required")
	case c.Deployments == nil:
		return errors.New("deployment: Config.Deployments is nil: use controller.Lister[*api.Deployment](mgr)")
	case c.ReplicaSets == nil:
		return errors.New("deployment: Config.ReplicaSets is nil: use controller.Lister[*api.ReplicaSet](mgr)")
	case c.Pods == nil:
		return errors.New("deployment: Config.Pods is nil: use controller.Lister[*api.Pod](mgr)")
	case c.Recorder == nil:
		return errors.New("deployment: Config.Recorder is nil: use mgr.EventRecorder(deployment.Name)")
	}
	return nil
}

// Reconciler moves each Deployment one step along its rollout. It is
// level-triggered: each call reads the Deployment and its ReplicaSets as
// they are and writes what the next step needs, so it may be called any
// number of times. The controller calls Reconcile from its worker
// goroutines, never twice at once for one Deployment.
type Reconciler struct {
	c           *client.Client
	deployments Lister[*api.Deployment]
	replicaSets Lister[*api.ReplicaSet]
	pods        Lister[*api.Pod]
	events      EventRecorder
	clock       Clock
}

// New returns a Reconciler for cfg.
func New(cfg Config) (*Reconciler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	return &Reconciler{c: cfg.Client, deployments: cfg.Deployments, replicaSets: cfg.ReplicaSets,
		pods: cfg.Pods, events: cfg.Recorder, clock: cfg.Clock}, nil
}

// Add builds the controller with opts and adds it to m (it runs under m's
// leader election): Deployments are reconciled on their own changes, on
// those of the ReplicaSets they control, and on those of orphan
// ReplicaSets their selector matches (to adopt them).
func Add(m *controller.Manager, opts Options) error {
	if m == nil {
		return errors.New("deployment: Add: the Manager is nil")
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	deployments, err := controller.Lister[*api.Deployment](m)
	if err != nil {
		return fmt.Errorf("deployment: %w", err)
	}
	replicaSets, err := controller.Lister[*api.ReplicaSet](m)
	if err != nil {
		return fmt.Errorf("deployment: %w", err)
	}
	pods, err := controller.Lister[*api.Pod](m)
	if err != nil {
		return fmt.Errorf("deployment: %w", err)
	}
	rec, err := m.EventRecorder(Name)
	if err != nil {
		return fmt.Errorf("deployment: %w", err)
	}
	cfg := Config{Client: m.GetClient(), Deployments: deployments, ReplicaSets: replicaSets, Pods: pods, Recorder: rec}
	if opts.Clock == nil {
		opts.Clock = m.Clock()
	}
	cfg.Clock = opts.Clock
	r, err := New(cfg)
	if err != nil {
		return err
	}
	workers := opts.Workers
	if workers == 0 {
		workers = DefaultWorkers
	}
	return controller.NewControllerManagedBy(m).
		Named(Name).
		For(&api.Deployment{}).
		Watches(&api.ReplicaSet{}, r.deploymentsOf).
		Watches(&api.Pod{}, r.deploymentOfPod, controller.PredicateFunc(podGone)).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers, Clock: opts.Clock}).
		Complete(r)
}

// podGone lets through the pod events a Recreate rollout waits for: a
// pod deleted, or terminated.
func podGone(ev controller.Event) bool {
	if ev.Type == controller.Delete {
		return true
	}
	p, ok := ev.Object.(*api.Pod)
	return ok && ev.Type == controller.Update && (p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed)
}

// deploymentOfPod maps a pod to the Deployment that controls its
// ReplicaSet.
func (r *Reconciler) deploymentOfPod(_ context.Context, obj api.Object) []controller.Request {
	m := obj.GetObjectMeta()
	ref := m.ControllerRef()
	if ref == nil || ref.Kind != "ReplicaSet" {
		return nil
	}
	rs, err := r.replicaSets.Get(m.Namespace, ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	if dref := rs.ControllerRef(); dref != nil && dref.Kind == deploymentGVK.Kind {
		return []controller.Request{{Namespace: m.Namespace, Name: dref.Name}}
	}
	return nil
}

// deploymentsOf maps a ReplicaSet to the Deployment that controls it, or,
// for an orphan, to the Deployments whose selector matches it.
func (r *Reconciler) deploymentsOf(_ context.Context, obj api.Object) []controller.Request {
	m := obj.GetObjectMeta()
	if ref := m.ControllerRef(); ref != nil {
		if ref.Kind != deploymentGVK.Kind || ref.APIVersion != deploymentGVK.GroupVersion().String() {
			return nil
		}
		return []controller.Request{{Namespace: m.Namespace, Name: ref.Name}}
	}
	ds, err := r.deployments.ListNamespace(m.Namespace, labels.Everything())
	if err != nil {
		return nil
	}
	var reqs []controller.Request
	for _, d := range ds {
		sel, err := api.LabelSelectorAsSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(m.Labels)) {
			reqs = append(reqs, controller.Request{Namespace: d.Namespace, Name: d.Name})
		}
	}
	return reqs
}
