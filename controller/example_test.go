package controller_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/store/memstore"
)

// A controller that stamps every ConfigMap with an annotation, run by a
// Manager against an in-process API server. Its own update wakes it again,
// and it does nothing then: reconcilers are idempotent.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// An API server in the process, and a client of it.
	st, _ := memstore.New(memstore.Options{})
	defer st.Close()
	scheme := api.NewDefaultScheme()
	srv, err := apiserver.New(apiserver.Config{Store: st, Scheme: scheme, Registerer: prometheus.NewRegistry()})
	if err != nil {
		panic(err)
	}
	c, err := client.New(client.Config{Transport: srv.Transport(), Scheme: scheme})
	if err != nil {
		panic(err)
	}
	_ = c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}})

	mgr, err := controller.NewManager(controller.ManagerConfig{Client: c})
	if err != nil {
		panic(err)
	}
	configMaps, err := controller.Lister[*api.ConfigMap](mgr)
	if err != nil {
		panic(err)
	}
	stamped := make(chan struct{})
	var once sync.Once
	r := controller.Func(func(ctx context.Context, req controller.Request) (controller.Result, error) {
		cm, err := configMaps.Get(req.Namespace, req.Name)
		if errors.Is(err, api.ErrNotFound) {
			return controller.Result{}, nil // deleted: nothing to do
		} else if err != nil {
			return controller.Result{}, err
		}
		if cm.Annotations["example.com/seen"] == "true" {
			once.Do(func() { close(stamped) })
			return controller.Result{}, nil
		}
		cm = api.DeepCopy(cm) // never modify the cache's copy
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations["example.com/seen"] = "true"
		if err := mgr.GetClient().Update(ctx, cm); err != nil {
			return controller.Result{}, err // a conflict: retried with backoff
		}
		fmt.Println("stamped", req)
		return controller.Result{}, nil
	})
	if err := controller.NewControllerManagedBy(mgr).For(&api.ConfigMap{}).Complete(r); err != nil {
		panic(err)
	}

	done := make(chan error)
	go func() { done <- mgr.Start(ctx) }()
	_ = c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "hello"}})
	<-stamped
	cancel()
	fmt.Println("manager stopped:", <-done)
	// Output:
	// stamped default/hello
	// manager stopped: <nil>
}

func ExampleTerminalError() {
	r := controller.Func(func(ctx context.Context, req controller.Request) (controller.Result, error) {
		return controller.Result{}, controller.TerminalError(fmt.Errorf("%s: spec.replicas must not be negative", req))
	})
	_, err := r.Reconcile(context.Background(), controller.Request{Namespace: "default", Name: "web"})
	fmt.Println(err)
	fmt.Println("retried:", !controller.IsTerminal(err))
	// Output:
	// terminal error: default/web: spec.replicas must not be negative
	// retried: false
}

func ExampleAnd() {
	// Reconcile on spec changes, and on label changes of objects that are
	// not being deleted.
	notDeleting := controller.PredicateFunc(func(ev controller.Event) bool {
		return ev.Object.GetObjectMeta().DeletionTimestamp == nil
	})
	p := controller.Or(controller.GenerationChanged(), controller.And(controller.LabelsChanged(), notDeleting))
	old := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "a", Generation: 1}}
	relabeled := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "a", Generation: 1, Labels: map[string]string{"tier": "web"}}}
	fmt.Println(p.Allow(controller.Event{Type: controller.Update, Old: old, Object: relabeled}))
	fmt.Println(p.Allow(controller.Event{Type: controller.Update, Old: old, Object: old}))
	// Output:
	// true
	// false
}
