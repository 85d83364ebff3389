package website

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/controller"
)

// ControllerName names the controller in its Manager (metrics, logs) and
// is the source of the Events it records.
const ControllerName = "website-controller"

// Event reasons, besides the Ready condition's ReasonNotOwned (a Warning).
const (
	EventCreated = "Created"
	EventUpdated = "Updated"
)

// Clock tells the Reconciler the time, for the conditions' transition
// times.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// EventRecorder records Events about Websites, for kubectl describe and
// kubectl get events. A *record.Recorder, from Manager.EventRecorder, is
// one. The Reconciler calls Eventf from its worker goroutines; it must
// not block.
type EventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

// Config configures a Reconciler. Add fills it from a Manager; tests and
// programs that wire things by hand fill it themselves.
type Config struct {
	// Client writes Deployments, Services and Websites' status. Required.
	Client *client.Client
	// Websites, Deployments and Services read the shared cache: the
	// Reconciler reads through them and writes through Client. Required.
	Websites    informer.Lister[*Website]
	Deployments informer.Lister[*api.Deployment]
	Services    informer.Lister[*api.Service]
	// Recorder records an Event for each Deployment or Service created or
	// updated, and a Warning for one that is in the way. Required.
	Recorder EventRecorder
	// Clock gives the transition times of conditions. nil means the
	// system clock.
	Clock Clock
}

// Validate reports the first field of c that is missing.
func (c Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("website: Config.Client is nil: a client of the API server is required")
	case c.Websites == informer.Lister[*Website]{}:
		return errors.New("website: Config.Websites is the zero Lister: use controller.Lister[*website.Website](mgr)")
	case c.Deployments == informer.Lister[*api.Deployment]{}:
		return errors.New("website: Config.Deployments is the zero Lister: use controller.Lister[*api.Deployment](mgr)")
	case c.Services == informer.Lister[*api.Service]{}:
		return errors.New("website: Config.Services is the zero Lister: use controller.Lister[*api.Service](mgr)")
	case c.Recorder == nil:
		return errors.New("website: Config.Recorder is nil: use mgr.EventRecorder(website.ControllerName)")
	}
	return nil
}

// Reconciler makes each Website's Deployment and Service match its spec
// and reports their state in its status. It is level-triggered: each call
// reads the Website, its Deployment and its Service as they are now, and
// writes only what differs, so it may be called any number of times, for
// any reason. The Controller calls Reconcile from its worker goroutines,
// never twice at once for one Website.
type Reconciler struct {
	c           *client.Client
	websites    informer.Lister[*Website]
	deployments informer.Lister[*api.Deployment]
	services    informer.Lister[*api.Service]
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
	return &Reconciler{
		c:           cfg.Client,
		websites:    cfg.Websites,
		deployments: cfg.Deployments,
		services:    cfg.Services,
		events:      cfg.Recorder,
		clock:       cfg.Clock,
	}, nil
}

// Add builds the Website controller into mgr: a Reconciler over mgr's
// shared caches and event recorder, called for every change of a Website
// and of a Deployment or Service that a Website controls (so that a
// Deployment deleted or edited by hand is put back). mgr's client must
// know the Website kind (AddToScheme). Call it before mgr.Start.
func Add(mgr *controller.Manager) error {
	websites, err := controller.Lister[*Website](mgr)
	if err != nil {
		return fmt.Errorf("website: %w", err)
	}
	deployments, err := controller.Lister[*api.Deployment](mgr)
	if err != nil {
		return fmt.Errorf("website: %w", err)
	}
	services, err := controller.Lister[*api.Service](mgr)
	if err != nil {
		return fmt.Errorf("website: %w", err)
	}
	rec, err := mgr.EventRecorder(ControllerName)
	if err != nil {
		return fmt.Errorf("website: %w", err)
	}
	r, err := New(Config{
		Client:      mgr.GetClient(),
		Websites:    websites,
		Deployments: deployments,
		Services:    services,
		Recorder:    rec,
	})
	if err != nil {
		return err
	}
	return controller.NewControllerManagedBy(mgr).
		Named(ControllerName).
		For(&Website{}).
		Owns(&api.Deployment{}).
		Owns(&api.Service{}).
		Complete(r)
}

// Reconcile brings the Website req names one step closer to its spec:
//
//  1. it reads the Website from the cache; a Website that is gone, or
//     going, needs nothing (its children carry owner references, and the
//     garbage collector deletes them);
//  2. it creates the Deployment and the Service, or updates the fields of
//     them that the Website decides, if they differ;
//  3. it writes the status (observedGeneration, readyReplicas, url and
//     the Ready condition) through the status subresource, if it changed.
//
// An error (of the API server, or a Deployment or Service of the
// Website's name that it does not control) is reported in the Ready
// condition and returned, so the Controller retries with a backoff.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	w, err := r.websites.Get(req.Namespace, req.Name)
	switch {
	case api.IsNotFound(err):
		return controller.Result{}, nil
	case err != nil:
		return controller.Result{}, err
	case w.DeletionTimestamp != nil:
		return controller.Result{}, nil
	}
	cachedDep, err := fromCache(r.deployments, w.Namespace, w.Name)
	if err != nil {
		return controller.Result{}, err
	}
	cachedSvc, err := fromCache(r.services, w.Namespace, w.Name)
	if err != nil {
		return controller.Result{}, err
	}
	dep, depErr := ensure(ctx, r, w, "Deployment", cachedDep, applyDeployment)
	svc, svcErr := ensure(ctx, r, w, "Service", cachedSvc, applyService)
	problem := errors.Join(depErr, svcErr)
	if err := r.updateStatus(ctx, w, dep, svc, problem); err != nil {
		return controller.Result{}, errors.Join(problem, err)
	}
	return controller.Result{}, problem
}

// fromCache returns the object named name in namespace from l, or nil if
// the cache has none.
func fromCache[T api.Object](l informer.Lister[T], namespace, name string) (T, error) {
	obj, err := l.Get(namespace, name)
	if api.IsNotFound(err) {
		return obj, nil
	}
	return obj, err
}

// ensure makes the object of type T named after w, in w's namespace, what
// apply makes of it, and returns it as stored (nil if it could not).
//
// cached is the object as the cache has it (nil: none). Without one,
// ensure creates the object; if the API server has it already (the cache
// is behind), it goes on as for an update. With one, it applies apply to a
// copy and, if that changed anything, updates it: compare-and-swap on the
// resourceVersion, read again and retried on a conflict. An object that w
// does not control is left alone, with an error wrapping ErrNotOwned.
// Each write is recorded as an Event about w.
func ensure[T any, PT interface {
	*T
	api.Object
}](ctx context.Context, r *Reconciler, w *Website, kindName string, cached PT, apply func(PT, *Website)) (PT, error) {
	rc := client.Resource[T, PT](r.c)
	log := controller.LoggerFrom(ctx)
	cur := cached
	if cur == nil {
		obj := PT(new(T))
		m := obj.GetObjectMeta()
		m.Namespace, m.Name = w.Namespace, w.Name
		apply(obj, w)
		created, err := rc.Create(ctx, obj)
		if err == nil {
			log.Info("created", "kind", kindName, "name", m.Name)
			r.events.Eventf(w, api.EventTypeNormal, EventCreated, "Created %s %s", kindName, m.Name)
			return created, nil
		}
		if !api.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create %s %s/%s: %w", kindName, w.Namespace, w.Name, err)
		}
		// The cache has not seen it yet: read it below.
	}
	var out PT
	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		if cur == nil {
			var err error
			if cur, err = rc.Get(ctx, w.Namespace, w.Name); err != nil {
				return fmt.Errorf("get %s %s/%s: %w", kindName, w.Namespace, w.Name, err)
			}
		}
		if err := checkOwner(cur.GetObjectMeta(), kindName, w); err != nil {
			return err
		}
		next := api.DeepCopy(cur) // cur may be the cache's: never modify it
		apply(next, w)
		if reflect.DeepEqual(next, cur) {
			out = cur
			return nil
		}
		updated, err := rc.Update(ctx, next)
		if err != nil {
			cur = nil // read it again on a conflict
			return fmt.Errorf("update %s %s/%s: %w", kindName, w.Namespace, w.Name, err)
		}
		log.Info("updated", "kind", kindName, "name", w.Name)
		r.events.Eventf(w, api.EventTypeNormal, EventUpdated, "Updated %s %s to the Website's spec", kindName, w.Name)
		out = updated
		return nil
	})
	if errors.Is(err, ErrNotOwned) {
		r.events.Eventf(w, api.EventTypeWarning, ReasonNotOwned, "%v", err)
	}
	return out, err
}

// updateStatus writes the status w should have, given its children and
// the problem met making them, if it differs from w's.
func (r *Reconciler) updateStatus(ctx context.Context, w *Website, dep *api.Deployment, svc *api.Service, problem error) error {
	status := nextStatus(w, dep, svc, problem, r.clock.Now())
	if reflect.DeepEqual(status, w.Status) {
		return nil
	}
	websites := client.Resource[Website](r.c)
	cur := w
	return client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		if cur == nil {
			fresh, err := websites.Get(ctx, w.Namespace, w.Name)
			switch {
			case api.IsNotFound(err):
				return nil // deleted meanwhile
			case err != nil:
				return fmt.Errorf("get Website %s: %w", w.Key(), err)
			case fresh.UID != w.UID || fresh.Generation != w.Generation:
				// Replaced, or its spec changed: the status computed is
				// out of date, and the change queued another Reconcile.
				return nil
			}
			cur = fresh
		}
		next := api.DeepCopy(cur)
		next.Status = status
		if _, err := websites.UpdateStatus(ctx, next); err != nil {
			cur = nil
			return fmt.Errorf("update the status of Website %s: %w", w.Key(), err)
		}
		controller.LoggerFrom(ctx).Debug("status updated", "ready", status.Condition(ConditionReady).Status,
			"readyReplicas", status.ReadyReplicas)
		return nil
	})
}
