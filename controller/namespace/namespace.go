// Package namespace is the namespace controller: it empties a namespace
// being deleted and then lets it go.
//
// Deleting a Namespace makes the API server mark it Terminating
// (deletionTimestamp, status.phase) and keep it while spec.finalizers
// holds "kubernetes", which every namespace gets when it is created. For
// such a namespace the controller deletes, kind by kind, every object of
// each namespaced kind of the Manager's scheme that the API server serves
// (a deletecollection per kind, with no propagation policy: each object's
// own finalizers choose, the garbage collector does the rest), reports in
// status.conditions what remains and what failed
// (NamespaceDeletionContentFailure, NamespaceContentRemaining,
// NamespaceFinalizersRemaining), and, once nothing is left, removes
// "kubernetes" through the finalize subresource (client.Finalize), after
// which the API server deletes the namespace. A kind the API server
// answered 404 for is skipped by the later sweeps while objects remain, but
// asked about again before a namespace is finalized, so the objects of a
// kind served since are deleted too.
//
// While objects remain (held by finalizers, or pods bound to a node that
// have not stopped yet) it checks again every Options.RecheckInterval. As in
// Kubernetes it waits for pods: a pod bound to a node goes only when its
// node agent confirms that it stopped (a delete with grace period 0), and a
// namespace whose pods are on a node that is gone stays Terminating until
// they are force-deleted. Unbound pods are removed at once.
package namespace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/controller"
)

// Name is the controller's name: its metrics, logs, events' source and the
// key operators enable it by.
const Name = "namespace"

// Defaults of Options.
const (
	DefaultWorkers         = 5
	DefaultRecheckInterval = 5 * time.Second
)

// Options configures the namespace controller. The zero value is the
// default configuration.
type Options struct {
	// Workers is the number of namespaces emptied at once. 0 means
	// DefaultWorkers.
	Workers int
	// RecheckInterval is how long the controller waits before it looks
	// again at a terminating namespace whose content is not all gone. 0
	// means DefaultRecheckInterval.
	RecheckInterval time.Duration
	// Clock drives the rechecks and the retries, and stamps the
	// conditions. nil means the Manager's clock (Manager.Clock).
	Clock workqueue.Clock
}

// Validate reports the first field of o that is wrong.
func (o Options) Validate() error {
	switch {
	case o.Workers < 0:
		return fmt.Errorf("namespace: Options.Workers is %d: must be positive, or 0 for the default (%d)", o.Workers, DefaultWorkers)
	case o.RecheckInterval < 0:
		return fmt.Errorf("namespace: Options.RecheckInterval is %v: must be positive, or 0 for the default (%v)", o.RecheckInterval, DefaultRecheckInterval)
	}
	return nil
}

// Add builds the namespace controller with opts and adds it to m (it runs
// under m's leader election).
func Add(m *controller.Manager, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if opts.Workers == 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.RecheckInterval == 0 {
		opts.RecheckInterval = DefaultRecheckInterval
	}
	if opts.Clock == nil {
		opts.Clock = m.Clock()
	}
	namespaces, err := controller.Lister[*api.Namespace](m)
	if err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	rec, err := m.EventRecorder(Name)
	if err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	r := &reconciler{c: m.GetClient(), namespaces: namespaces, opts: opts, rec: rec, unserved: make(map[api.GroupVersionKind]bool)}
	return controller.NewControllerManagedBy(m).
		Named(Name).
		For(&api.Namespace{}, terminating()).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers, Clock: opts.Clock}).
		Complete(r)
}

// terminating lets through the events of namespaces being deleted.
func terminating() controller.Predicate {
	return controller.PredicateFunc(func(ev controller.Event) bool {
		return ev.Type != controller.Delete && ev.Object.GetObjectMeta().DeletionTimestamp != nil
	})
}

// eventRecorder is what the reconciler needs of a record.Recorder.
type eventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

type reconciler struct {
	c          *client.Client
	namespaces informer.Lister[*api.Namespace]
	opts       Options
	rec        eventRecorder

	mu sync.Mutex
	// unserved holds the kinds the API server answered 404 for, skipped
	// by the sweeps of a namespace that still holds objects (see sweep).
	unserved map[api.GroupVersionKind]bool
}

func (r *reconciler) now() time.Time { return r.opts.Clock.Now() }

// Reconcile empties the terminating namespace req.Name, reports what is
// left in its conditions, and finalizes it once it is empty.
func (r *reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	ns, err := r.namespaces.Get("", req.Name)
	if api.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, api.FinalizerKubernetes) {
		return controller.Result{}, nil
	}
	log := controller.LoggerFrom(ctx)
	c := r.sweep(ctx, ns.Name)
	if ctx.Err() != nil {
		return controller.Result{}, ctx.Err()
	}
	if err := r.updateConditions(ctx, ns, c); err != nil {
		return controller.Result{}, err
	}
	if len(c.Failures) > 0 {
		r.rec.Eventf(ns, api.EventTypeWarning, "NamespaceDeletionContentFailure", "Failed to delete the content of namespace %s: %v", ns.Name, c.Failures)
		return controller.Result{}, fmt.Errorf("namespace %s: delete its content: %v", ns.Name, c.Failures)
	}
	if !c.empty() {
		log.Info("content remains", "remaining", c.Remaining, "finalizers", c.Finalizers)
		return controller.Result{RequeueAfter: r.opts.RecheckInterval}, nil
	}
	fin := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: ns.Name}}
	fin.Spec.Finalizers = slices.DeleteFunc(slices.Clone(ns.Spec.Finalizers), func(f api.FinalizerName) bool {
		return f == api.FinalizerKubernetes
	})
	if err := r.c.Finalize(ctx, fin); err != nil && !api.IsNotFound(err) {
		return controller.Result{}, fmt.Errorf("namespace %s: remove finalizer %q: %w", ns.Name, api.FinalizerKubernetes, err)
	}
	log.Info("namespace emptied and finalized")
	return controller.Result{}, nil
}

// sweep empties namespace ns as far as it can and says what remains. The
// kinds that answered 404 before are skipped, except when the namespace
// then looks empty: the sweep that lets it be finalized asks about every
// kind, so objects of a kind the API server came to serve since (a kind
// registered later, an API turned on) are not left behind.
func (r *reconciler) sweep(ctx context.Context, ns string) content {
	c, skipped := r.deleteContent(ctx, ns, false)
	if skipped && c.empty() && ctx.Err() == nil {
		c, _ = r.deleteContent(ctx, ns, true)
	}
	return c
}

// deleteContent asks for the deletion of every object in namespace ns, of
// each namespaced kind the API server serves, and says what remains. It
// skips the kinds remembered as unserved unless all is true, and says
// whether it skipped any.
func (r *reconciler) deleteContent(ctx context.Context, ns string, all bool) (c content, skipped bool) {
	c = content{Remaining: map[string]int{}, Finalizers: map[string]int{}}
	for _, k := range r.c.Scheme().Kinds() {
		if !k.Namespaced || ctx.Err() != nil {
			continue
		}
		if !all && r.isUnserved(k) {
			skipped = true
			continue
		}
		items, err := r.list(ctx, k, ns)
		if api.IsNotFound(err) {
			r.setUnserved(k, true)
			continue
		}
		if err == nil && all {
			r.setUnserved(k, false)
		}
		if err != nil {
			c.Failures = append(c.Failures, fmt.Sprintf("list %s: %v", k.Resource, err))
			continue
		}
		if !slices.ContainsFunc(items, func(o api.Object) bool { return o.GetObjectMeta().DeletionTimestamp == nil }) {
			// Nothing left to ask for: only what is already going.
			count(&c, k, items)
			continue
		}
		if err := r.c.DeleteAllOf(ctx, k.NewList(), client.ListOptions{Namespace: ns}, client.DeleteOptions{}); err != nil && !api.IsNotFound(err) {
			c.Failures = append(c.Failures, fmt.Sprintf("delete %s: %v", k.Resource, err))
			continue
		}
		if items, err = r.list(ctx, k, ns); err != nil {
			c.Failures = append(c.Failures, fmt.Sprintf("list %s: %v", k.Resource, err))
			continue
		}
		count(&c, k, items)
	}
	if len(c.Remaining) == 0 {
		c.Remaining = nil
	}
	if len(c.Finalizers) == 0 {
		c.Finalizers = nil
	}
	return c, skipped
}

func count(c *content, k api.Kind, items []api.Object) {
	if len(items) == 0 {
		return
	}
	c.Remaining[k.Resource] += len(items)
	for _, o := range items {
		for _, f := range o.GetObjectMeta().Finalizers {
			c.Finalizers[f]++
		}
	}
}

// list returns the objects of kind k in namespace ns, read live.
func (r *reconciler) list(ctx context.Context, k api.Kind, ns string) ([]api.Object, error) {
	list := k.NewList()
	if err := r.c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	items := reflect.ValueOf(list).Elem().FieldByName("Items")
	if !items.IsValid() || items.Kind() != reflect.Slice {
		return nil, fmt.Errorf("the list of %s has no Items", k.GroupVersionKind)
	}
	out := make([]api.Object, 0, items.Len())
	for i := range items.Len() {
		if obj, ok := items.Index(i).Addr().Interface().(api.Object); ok {
			out = append(out, obj)
		}
	}
	return out, nil
}

func (r *reconciler) isUnserved(k api.Kind) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unserved[k.GroupVersionKind]
}

// setUnserved remembers whether the API server answered 404 for kind k.
func (r *reconciler) setUnserved(k api.Kind, unserved bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if unserved {
		r.unserved[k.GroupVersionKind] = true
	} else {
		delete(r.unserved, k.GroupVersionKind)
	}
}

// updateConditions writes the conditions for c into ns's status, if they
// change.
func (r *reconciler) updateConditions(ctx context.Context, ns *api.Namespace, c content) error {
	conds := conditions(c, ns.Status.Conditions, r.now())
	if sameConditions(conds, ns.Status.Conditions) {
		return nil
	}
	data, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": conds}})
	if err != nil {
		return err
	}
	out := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: ns.Name}}
	err = r.c.PatchStatus(ctx, out, client.MergePatch, data)
	if err != nil && !errors.Is(err, api.ErrNotFound) {
		return fmt.Errorf("namespace %s: update status conditions: %w", ns.Name, err)
	}
	return nil
}
