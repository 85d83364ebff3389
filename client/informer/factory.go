package informer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
)

// Source returns the ListerWatcher of a kind's objects, for a Factory.
type Source func(kind api.Kind) (ListerWatcher, error)

// FactoryConfig configures a Factory.
type FactoryConfig struct {
	// Scheme maps Go types to kinds. Required.
	Scheme *api.Scheme
	// Source makes the ListerWatcher of each kind. Required.
	Source Source
	// Indexers are extra indexes per kind.
	Indexers map[api.GroupVersionKind]Indexers
	// Informer is the template of each informer's Config (its
	// ListerWatcher and Indexers are set by the factory).
	Informer Config
	// Logger receives the informers' log lines. nil means discard.
	Logger *slog.Logger
}

// Factory shares one Informer per kind between all its users, so a
// process keeps one copy of each object however many controllers read
// it. It is safe for concurrent use.
type Factory struct {
	cfg       FactoryConfig
	mu        sync.Mutex
	informers map[api.GroupVersionKind]*Informer
	ctx       context.Context // set by Start
	wg        sync.WaitGroup
}

// NewFactory returns a factory for cfg.
func NewFactory(cfg FactoryConfig) (*Factory, error) {
	if cfg.Scheme == nil {
		return nil, errors.New("informer: FactoryConfig.Scheme is nil: a scheme is required")
	}
	if cfg.Source == nil {
		return nil, errors.New("informer: FactoryConfig.Source is nil: a source of ListerWatchers is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Factory{cfg: cfg, informers: make(map[api.GroupVersionKind]*Informer)}, nil
}

// InformerFor returns the shared informer of kind gvk, creating it on
// first use (and starting it if the factory has been started).
func (f *Factory) InformerFor(gvk api.GroupVersionKind) (*Informer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if inf, ok := f.informers[gvk]; ok {
		return inf, nil
	}
	kind, ok := f.cfg.Scheme.KindFor(gvk)
	if !ok {
		return nil, fmt.Errorf("informer: kind %s is not registered in the scheme", gvk)
	}
	lw, err := f.cfg.Source(kind)
	if err != nil {
		return nil, fmt.Errorf("informer: source of %s: %w", gvk, err)
	}
	cfg := f.cfg.Informer
	cfg.ListerWatcher = lw
	cfg.Indexers = f.cfg.Indexers[gvk]
	if cfg.Logger == nil {
		cfg.Logger = f.cfg.Logger
	}
	cfg.Logger = cfg.Logger.With("kind", gvk.String())
	inf, err := New(cfg)
	if err != nil {
		return nil, err
	}
	f.informers[gvk] = inf
	if f.ctx != nil {
		f.run(inf)
	}
	return inf, nil
}

// For returns the shared informer of T's kind (T is a pointer type such as
// *api.Pod) and a Lister over its cache.
func For[T api.Object](f *Factory) (*Informer, Lister[T], error) {
	var zero T
	t := reflect.TypeOf(zero)
	if t == nil || t.Kind() != reflect.Pointer {
		return nil, Lister[T]{}, fmt.Errorf("informer: For[%T]: the type must be a pointer to a kind's struct", zero)
	}
	obj, _ := reflect.New(t.Elem()).Interface().(api.Object)
	kind, err := f.cfg.Scheme.ObjectKind(obj)
	if err != nil {
		return nil, Lister[T]{}, err
	}
	inf, err := f.InformerFor(kind.GroupVersionKind)
	if err != nil {
		return nil, Lister[T]{}, err
	}
	return inf, NewLister[T](inf.Cache(), kind.GroupVersionResource().GroupResource()), nil
}

// Start runs every informer created so far, and those created later, until
// ctx ends. It may be called once; Wait waits for them to stop.
func (f *Factory) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx != nil {
		return
	}
	f.ctx = ctx
	for _, inf := range f.informers {
		f.run(inf)
	}
}

func (f *Factory) run(inf *Informer) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		_ = inf.Run(f.ctx) // only fails when run twice, which the factory never does
	}()
}

// Wait waits until every started informer has stopped (after the context
// given to Start ends).
func (f *Factory) Wait() { f.wg.Wait() }

// WaitForCacheSync waits until every informer created so far has synced,
// or ctx ends; it reports whether they all synced.
func (f *Factory) WaitForCacheSync(ctx context.Context) bool {
	f.mu.Lock()
	checks := make([]func() bool, 0, len(f.informers))
	for _, inf := range f.informers {
		checks = append(checks, inf.HasSynced)
	}
	f.mu.Unlock()
	return WaitForSync(ctx, checks...)
}

// WaitForSync polls the checks (such as Informer.HasSynced or
// Registration.HasSynced) until all are true or ctx ends, and reports
// whether all were.
func WaitForSync(ctx context.Context, checks ...func() bool) bool {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		done := true
		for _, c := range checks {
			if !c() {
				done = false
				break
			}
		}
		if done {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
