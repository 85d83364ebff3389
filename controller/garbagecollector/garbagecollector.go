// Package garbagecollector is the garbage collector: ownerReferences drive
// cascading deletion, as in Kubernetes.
//
// It watches every kind of the Manager's scheme that the API server serves
// (Events excepted, by default), through the Manager's shared informers.
// The owner index of those caches (informer.IndexOwner) is its graph:
// owner uid → dependents, across kinds. Its work items are objects; for
// each it reads the object from the API server and:
//
//   - Orphan: an object being deleted with the "orphan" finalizer has its
//     ownerReference removed from each of its dependents, then loses the
//     finalizer and goes; the dependents stay.
//   - Foreground: an object being deleted with the "foregroundDeletion"
//     finalizer has its dependents queued; each, owned by nothing else
//     that remains, is deleted in the foreground in turn. Once no dependent
//     with blockOwnerDeletion true is left the finalizer is removed and the
//     object goes.
//   - Background and dangling references: an object whose owners are all
//     gone is deleted (in the background, or with its own finalizers'
//     policy); one with some owner remaining only loses the dangling
//     references. An owner is gone when a live GET finds no object of its
//     name or one with another uid: the informer caches are never trusted
//     for that, and a new object with the old owner's name does not save
//     the old owner's dependents. An owner the caches hold with the uid
//     the reference names is present: a dependent whose owners are all
//     so costs no request at all (neither it nor they are read live), and
//     when one of them goes its deletion queues its dependents.
//
// Every delete carries the dependent's uid as a precondition, so an object
// deleted and created again under the same name in the meantime is never
// deleted by mistake. ownerReferences that cannot be followed (a kind the
// scheme does not know, a cluster-scoped object naming a namespaced
// owner) are ignored, with a Warning event (OwnerRefInvalidKind,
// OwnerRefInvalidNamespace).
//
// The pure rule for one dependent is decide; the rest reads and writes.
// What the collector knows of an owner's dependents comes from the caches:
// a dependent created so shortly before its owner's orphan or foreground
// deletion that the cache has not seen it yet keeps its reference; once
// the owner is gone that reference dangles, and the dependent is
// collected like any other (as in Kubernetes).
//
// The API server adds the finalizers for the Orphan and Foreground
// propagation policies (apiserver/registry.Delete); Background removes
// the object at once and leaves the dependents to this collector.
package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/record"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/controller"
)

// Name is the controller's name: its metrics, logs, events' source and the
// key operators enable it by.
const Name = "garbagecollector"

// DefaultWorkers is the default Options.Workers.
const DefaultWorkers = 5

// Options configures the garbage collector. The zero value is the default
// configuration.
type Options struct {
	// Workers is the number of objects processed at once. 0 means
	// DefaultWorkers.
	Workers int
	// Clock drives the retries of failed items. nil means the Manager's
	// clock (Manager.Clock).
	Clock workqueue.Clock
	// IgnoredKinds are kinds the collector does not watch, and whose
	// objects it therefore neither deletes nor frees. nil means Events
	// (v1 Event): they have no owners and change constantly. An empty,
	// non-nil slice watches every kind.
	IgnoredKinds []api.GroupVersionKind
}

// Validate reports the first field of o that is wrong.
func (o Options) Validate() error {
	if o.Workers < 0 {
		return fmt.Errorf("garbagecollector: Options.Workers is %d: must be positive, or 0 for the default (%d)", o.Workers, DefaultWorkers)
	}
	return nil
}

// Add builds the garbage collector with opts and adds it to m (it runs
// under m's leader election).
func Add(m *controller.Manager, opts Options) error {
	gc, err := newCollector(m, opts)
	if err != nil {
		return err
	}
	return m.Add(gc)
}

// item is one object to process: the collector's work queue key.
type item struct {
	GVK       api.GroupVersionKind
	Namespace string
	Name      string
	UID       api.UID
}

func (it item) String() string {
	if it.Namespace == "" {
		return fmt.Sprintf("%s %s (uid %s)", it.GVK.Kind, it.Name, it.UID)
	}
	return fmt.Sprintf("%s %s/%s (uid %s)", it.GVK.Kind, it.Namespace, it.Name, it.UID)
}

// collector is the garbage collector: a Runnable of the Manager.
type collector struct {
	m       *controller.Manager
	c       *client.Client
	scheme  *api.Scheme
	opts    Options
	log     *slog.Logger
	rec     *record.Recorder
	ignored map[api.GroupVersionKind]bool

	mu      sync.Mutex
	watched bool     // every kind is watched
	sources []source // the watched kinds, set up by Start

	queue atomic.Pointer[workqueue.Queue[item]] // nil while not running
}

// source is one watched kind.
type source struct {
	kind api.Kind
	inf  *informer.Informer
	reg  informer.Registration
}

func newCollector(m *controller.Manager, opts Options) (*collector, error) {
	if m == nil {
		return nil, errors.New("garbagecollector: the Manager is nil")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Workers == 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Clock == nil {
		opts.Clock = m.Clock()
	}
	if opts.IgnoredKinds == nil {
		opts.IgnoredKinds = []api.GroupVersionKind{api.CoreV1.WithKind("Event")}
	}
	rec, err := m.EventRecorder(Name)
	if err != nil {
		return nil, fmt.Errorf("garbagecollector: %w", err)
	}
	gc := &collector{
		m: m, c: m.GetClient(), scheme: m.Scheme(), opts: opts, rec: rec,
		log:     m.Logger().With("controller", Name),
		ignored: make(map[api.GroupVersionKind]bool),
	}
	for _, k := range opts.IgnoredKinds {
		gc.ignored[k] = true
	}
	return gc, nil
}

// Start runs the collector until ctx ends. The first call finds the kinds
// the API server serves and adds handlers to their shared informers; each
// call then waits for those caches, queues every object that has owners
// or a garbage collector finalizer, and processes the queue with
// Options.Workers goroutines. The Manager calls it, once per term of
// leadership.
func (gc *collector) Start(ctx context.Context) error {
	if err := gc.watch(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	gc.mu.Lock()
	sources := slices.Clone(gc.sources)
	gc.mu.Unlock()
	checks := make([]func() bool, len(sources))
	for i, s := range sources {
		checks[i] = s.reg.HasSynced
	}
	if !informer.WaitForSync(ctx, checks...) {
		return nil
	}
	q, err := workqueue.New(workqueue.Config[item]{Name: Name, Registerer: gc.m.Registry(), Clock: gc.opts.Clock})
	if err != nil {
		return fmt.Errorf("garbagecollector: %w", err)
	}
	gc.queue.Store(q)
	// Events that came while not running were dropped: go over the caches.
	for _, s := range sources {
		cache := s.inf.Cache()
		for _, key := range cache.Keys() {
			if obj, ok := cache.Get(key); ok {
				gc.onAdd(s.kind, obj)
			}
		}
	}
	gc.log.Info("starting workers", "workers", gc.opts.Workers, "kinds", len(sources))
	var wg sync.WaitGroup
	for range gc.opts.Workers {
		wg.Go(func() { gc.worker(ctx, q) })
	}
	<-ctx.Done()
	gc.queue.Store(nil)
	q.ShutDown()
	wg.Wait()
	return nil
}

// watch finds the kinds the API server serves, and adds the collector's
// handlers to their shared informers.
// It is done once; a Start that fails or stops half-way leaves the rest
// to the next.
func (gc *collector) watch(ctx context.Context) error {
	gc.mu.Lock()
	done := gc.watched
	gc.mu.Unlock()
	if done {
		return nil
	}
	for _, k := range gc.scheme.Kinds() {
		if gc.ignored[k.GroupVersionKind] || gc.watches(k) {
			continue
		}
		served, err := gc.served(ctx, k)
		if err != nil {
			return err
		}
		if !served {
			gc.log.Info("kind not served by the API server: not watched", "kind", k.GroupVersionKind.String())
			continue
		}
		inf, err := gc.m.Informers().InformerFor(k.GroupVersionKind)
		if err != nil {
			return fmt.Errorf("garbagecollector: %w", err)
		}
		reg, err := inf.AddHandler(informer.HandlerFuncs{
			AddFunc:    func(obj api.Object, _ bool) { gc.onAdd(k, obj) },
			UpdateFunc: func(old, obj api.Object) { gc.onUpdate(k, old, obj) },
			DeleteFunc: func(obj api.Object) { gc.onDelete(k, obj) },
		})
		if err != nil {
			return fmt.Errorf("garbagecollector: watch %s: %w", k.GroupVersionKind, err)
		}
		gc.mu.Lock()
		gc.sources = append(gc.sources, source{kind: k, inf: inf, reg: reg})
		gc.mu.Unlock()
	}
	gc.mu.Lock()
	gc.watched = true
	gc.mu.Unlock()
	return nil
}

// watches reports whether the collector has its handler on k's informer.
func (gc *collector) watches(k api.Kind) bool {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	return slices.ContainsFunc(gc.sources, func(s source) bool { return s.kind.GroupVersionKind == k.GroupVersionKind })
}

// served reports whether the API server serves kind k: a list of one
// object that answers 404 means it does not.
func (gc *collector) served(ctx context.Context, k api.Kind) (bool, error) {
	err := gc.c.List(ctx, k.NewList(), client.ListOptions{Limit: 1})
	switch {
	case err == nil:
		return true, nil
	case api.IsNotFound(err), errors.Is(err, api.ErrMethodNotAllowed):
		return false, nil
	}
	return false, fmt.Errorf("garbagecollector: find whether %s is served: %w", k.GroupVersionKind, err)
}

// add queues it on the running queue; while not running, it is dropped
// (Start goes over the caches).
func (gc *collector) add(it item) {
	if q := gc.queue.Load(); q != nil {
		q.Add(it)
	}
}

func itemOf(k api.Kind, obj api.Object) item {
	m := obj.GetObjectMeta()
	return item{GVK: k.GroupVersionKind, Namespace: m.Namespace, Name: m.Name, UID: m.UID}
}

// needsWork reports whether the collector has something to do with obj,
// of kind k, as the caches show it: one of its finalizers while it is
// being deleted, or, while it is not, an owner the caches do not vouch
// for (see ownersCached). An object being deleted without those
// finalizers is going away: its dependents are checked once it is gone.
func (gc *collector) needsWork(k api.Kind, obj api.Object) bool {
	m := obj.GetObjectMeta()
	if m.DeletionTimestamp != nil {
		return m.HasFinalizer(FinalizerOrphan) || m.HasFinalizer(FinalizerForegroundDeletion)
	}
	return len(m.OwnerReferences) > 0 && !gc.ownersCached(k, obj)
}

// ownersCached reports whether the caches hold every owner obj (of kind
// k) references, with the uid the reference names, none of them being
// deleted. Then obj is to stay as it is, and nothing needs to be read
// live: should an owner go later, its deletion queues obj (onDelete finds
// it in the owner index, which the informer updated before it told the
// collector of obj). Only an owner missing from the caches, or there with
// another uid, is verified with a live GET.
func (gc *collector) ownersCached(k api.Kind, obj api.Object) bool {
	m := obj.GetObjectMeta()
	for _, r := range m.OwnerReferences {
		owner, ok := gc.cachedOwner(k, m.Namespace, r)
		if !ok || owner.GetObjectMeta().DeletionTimestamp != nil {
			return false
		}
	}
	return true
}

// cachedOwner returns the owner r names, for a dependent of kind dk in
// namespace ns, if the caches hold it with r's uid.
func (gc *collector) cachedOwner(dk api.Kind, ns string, r api.OwnerReference) (api.Object, bool) {
	ok, found := gc.ownerKind(r)
	if !found || (ok.Namespaced && !dk.Namespaced) {
		return nil, false
	}
	if !ok.Namespaced {
		ns = ""
	}
	owner, cached := gc.cached(ok, ns, r.Name)
	if !cached || owner.GetObjectMeta().UID != r.UID {
		return nil, false
	}
	return owner, true
}

func (gc *collector) onAdd(k api.Kind, obj api.Object) {
	if gc.needsWork(k, obj) {
		gc.add(itemOf(k, obj))
	}
}

func (gc *collector) onUpdate(k api.Kind, old, obj api.Object) {
	om, m := old.GetObjectMeta(), obj.GetObjectMeta()
	refsChanged := !slices.EqualFunc(om.OwnerReferences, m.OwnerReferences, sameRef)
	deletionChanged := (om.DeletionTimestamp == nil) != (m.DeletionTimestamp == nil) ||
		!slices.Equal(om.Finalizers, m.Finalizers)
	if (refsChanged || deletionChanged) && gc.needsWork(k, obj) {
		gc.add(itemOf(k, obj))
	}
	if refsChanged {
		// An owner this object no longer references, or no longer
		// blocks, may be waiting for it in the foreground.
		gc.addOwners(k, old)
	}
}

func (gc *collector) onDelete(k api.Kind, obj api.Object) {
	m := obj.GetObjectMeta()
	// Its dependents now reference an owner that is gone.
	for _, d := range gc.dependents(m.UID) {
		gc.add(d)
	}
	// An owner deleted in the foreground may have waited for it.
	gc.addOwners(k, obj)
}

// addOwners queues the owners obj references that are in the caches and
// being deleted in the foreground.
func (gc *collector) addOwners(k api.Kind, obj api.Object) {
	m := obj.GetObjectMeta()
	for _, r := range m.OwnerReferences {
		ok, found := gc.scheme.KindFor(groupVersionOf(r.APIVersion).WithKind(r.Kind))
		if !found || (ok.Namespaced && !k.Namespaced) {
			continue
		}
		ns := ""
		if ok.Namespaced {
			ns = m.Namespace
		}
		owner, cached := gc.cached(ok, ns, r.Name)
		if !cached {
			continue
		}
		om := owner.GetObjectMeta()
		if om.UID == r.UID && om.DeletionTimestamp != nil && om.HasFinalizer(FinalizerForegroundDeletion) {
			gc.add(item{GVK: ok.GroupVersionKind, Namespace: ns, Name: r.Name, UID: r.UID})
		}
	}
}

// cached returns the object of kind k named ns/name from the informer
// caches, if the collector watches k and has it.
func (gc *collector) cached(k api.Kind, ns, name string) (api.Object, bool) {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	for _, s := range gc.sources {
		if s.kind.GroupVersionKind == k.GroupVersionKind {
			return s.inf.Cache().Get(informer.KeyFor(ns, name))
		}
	}
	return nil, false
}

// dependents returns the objects in the caches that reference the owner
// uid: the graph's edges, from the owner index of every watched kind.
func (gc *collector) dependents(uid api.UID) []item {
	deps := gc.dependentObjects(uid)
	out := make([]item, len(deps))
	for i, d := range deps {
		out[i] = d.item
	}
	return out
}

// dependent is a dependent found in the caches.
type dependent struct {
	item item
	obj  api.Object
}

// dependentObjects is dependents with the cached objects.
func (gc *collector) dependentObjects(uid api.UID) []dependent {
	gc.mu.Lock()
	sources := slices.Clone(gc.sources)
	gc.mu.Unlock()
	var out []dependent
	for _, s := range sources {
		objs, _ := s.inf.Cache().ByIndex(informer.IndexOwner, string(uid), labels.Everything())
		for _, obj := range objs {
			out = append(out, dependent{item: itemOf(s.kind, obj), obj: obj})
		}
	}
	return out
}

func sameRef(a, b api.OwnerReference) bool {
	return a.UID == b.UID && a.Name == b.Name && a.Kind == b.Kind && a.APIVersion == b.APIVersion &&
		boolOf(a.BlockOwnerDeletion) == boolOf(b.BlockOwnerDeletion) && boolOf(a.Controller) == boolOf(b.Controller)
}

func boolOf(p *bool) bool { return p != nil && *p }

// worker processes items until q shuts down or ctx ends.
func (gc *collector) worker(ctx context.Context, q *workqueue.Queue[item]) {
	for {
		it, err := q.Get(ctx)
		if err != nil {
			return
		}
		err = gc.process(ctx, it)
		switch {
		case err == nil:
			q.Forget(it)
		case ctx.Err() != nil:
		default:
			gc.log.Error("process an object; retrying", "object", it.String(), "err", err, "retries", q.NumRequeues(it))
			q.AddRateLimited(it)
		}
		q.Done(it)
	}
}
