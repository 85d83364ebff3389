package controller

import (
	"errors"
	"fmt"
	"strings"

	"github.com/drover-io/drover/api"
)

// Builder wires a Reconciler into a Manager: which kind it reconciles,
// which changes queue which Requests, and with what options.
//
//	err := controller.NewControllerManagedBy(mgr).
//		For(&api.Deployment{}, controller.GenerationChanged()).
//		Owns(&api.ReplicaSet{}).
//		Watches(&api.Node{}, nodeToDeployments).
//		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
//		Complete(reconciler)
//
// Its methods record what to do; Complete (or Build) does it and reports
// the first mistake. A Builder is used by one goroutine, once.
type Builder struct {
	mgr     *Manager
	name    string
	forObj  api.Object
	forSet  int
	forPred []Predicate
	watches []watchSpec
	filters []Predicate
	opts    Options
}

type watchSpec struct {
	obj   api.Object
	mapFn MapFunc // nil: EnqueueOwner of the For kind
	preds []Predicate
	what  string // "Owns" or "Watches", for errors
}

// NewControllerManagedBy starts building a controller that m runs.
func NewControllerManagedBy(m *Manager) *Builder { return &Builder{mgr: m} }

// Named sets the controller's name, which labels its metrics and logs and
// must be unique in the Manager. The default is the lower-cased kind given
// to For ("deployment").
func (b *Builder) Named(name string) *Builder {
	b.name = name
	return b
}

// For sets the kind the controller reconciles (obj is a pointer to an
// empty object of it, such as &api.Deployment{}): each change of one of
// its objects that passes preds queues that object's Request. It must be
// called exactly once.
func (b *Builder) For(obj api.Object, preds ...Predicate) *Builder {
	b.forObj, b.forPred = obj, preds
	b.forSet++
	return b
}

// Owns makes the changes of objects of obj's kind queue the Request of
// their controller owner (the owner reference with controller: true) when
// that owner is of the For kind: a Deployment controller Owns ReplicaSets.
// Deletes count, and a change of owner queues the old owner and the new.
func (b *Builder) Owns(obj api.Object, preds ...Predicate) *Builder {
	b.watches = append(b.watches, watchSpec{obj: obj, preds: preds, what: "Owns"})
	return b
}

// Watches makes the changes of objects of obj's kind queue the Requests
// fn returns for them: for relations other than ownership (the
// Deployments whose pods run on a Node that changed).
func (b *Builder) Watches(obj api.Object, fn MapFunc, preds ...Predicate) *Builder {
	b.watches = append(b.watches, watchSpec{obj: obj, mapFn: fn, preds: preds, what: "Watches"})
	return b
}

// WithEventFilter adds p to every source (For, Owns and Watches), before
// their own predicates.
func (b *Builder) WithEventFilter(p Predicate) *Builder {
	b.filters = append(b.filters, p)
	return b
}

// WithOptions sets the controller's options. Its zero Logger, Registerer
// and Clock are filled from the Manager's.
func (b *Builder) WithOptions(o Options) *Builder {
	b.opts = o
	return b
}

// Complete builds the controller with Build and adds it to the Manager.
func (b *Builder) Complete(r Reconciler) error {
	c, err := b.Build(r)
	if err != nil {
		return err
	}
	return b.mgr.Add(c)
}

// Build builds the controller: it creates (or shares) the informers of
// every kind named and adds the event handlers to them. It does not add the
// controller to the Manager; Complete does.
func (b *Builder) Build(r Reconciler) (*Controller, error) {
	if b.mgr == nil {
		return nil, errors.New("controller: the Builder has no Manager: use NewControllerManagedBy(mgr)")
	}
	switch {
	case b.forSet == 0 || b.forObj == nil:
		return nil, errors.New("controller: Builder.For was not called: say which kind the controller reconciles, such as For(&api.Deployment{})")
	case b.forSet > 1:
		return nil, errors.New("controller: Builder.For was called more than once: a controller reconciles one kind; use Owns or Watches for the others")
	case r == nil:
		return nil, errors.New("controller: Builder.Complete: the Reconciler is nil")
	}
	scheme := b.mgr.Scheme()
	forKind, err := scheme.ObjectKind(b.forObj)
	if err != nil {
		return nil, fmt.Errorf("controller: Builder.For(%T): %w", b.forObj, err)
	}
	name := b.name
	if name == "" {
		name = strings.ToLower(forKind.Kind)
	}
	// Check every kind before anything is created.
	kinds := make([]api.Kind, len(b.watches))
	for i, w := range b.watches {
		if w.obj == nil {
			return nil, fmt.Errorf("controller %q: Builder.%s: the object is nil", name, w.what)
		}
		if kinds[i], err = scheme.ObjectKind(w.obj); err != nil {
			return nil, fmt.Errorf("controller %q: Builder.%s(%T): %w", name, w.what, w.obj, err)
		}
		if w.what == "Watches" && w.mapFn == nil {
			return nil, fmt.Errorf("controller %q: Builder.Watches(%T): the MapFunc is nil", name, w.obj)
		}
	}

	opts := b.opts
	if opts.Logger == nil {
		opts.Logger = b.mgr.log
	}
	if opts.Registerer == nil {
		opts.Registerer = b.mgr.reg
	}
	if opts.Clock == nil {
		opts.Clock = b.mgr.cfg.Clock
	}
	c, err := New(name, r, opts)
	if err != nil {
		return nil, err
	}
	watch := func(k api.Kind, fn MapFunc, preds []Predicate) error {
		inf, err := b.mgr.factory.InformerFor(k.GroupVersionKind)
		if err != nil {
			return fmt.Errorf("controller %q: %w", name, err)
		}
		return c.Watch(inf, fn, append(append([]Predicate(nil), b.filters...), preds...)...)
	}
	if err := watch(forKind, EnqueueObject, b.forPred); err != nil {
		return nil, err
	}
	for i, w := range b.watches {
		fn := w.mapFn
		if fn == nil {
			fn = EnqueueOwner(forKind)
		}
		if err := watch(kinds[i], fn, w.preds); err != nil {
			return nil, err
		}
	}
	return c, nil
}
