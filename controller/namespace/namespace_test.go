package namespace_test

import (
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/namespace"
)

// Gadget is a user kind: the controller deletes the objects of every
// namespaced kind of the scheme, not only the built-in ones.
type Gadget struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Spec           GadgetSpec `json:"spec,omitzero"`
}

// GadgetSpec is a Gadget's spec.
type GadgetSpec struct {
	Size int32 `json:"size,omitempty"`
}

var gadgetKind = api.Kind{
	GroupVersionKind: api.GroupVersion{Group: "example.drover.io", Version: "v1"}.WithKind("Gadget"),
	Resource:         "gadgets",
	Namespaced:       true,
}

func TestTerminatingNamespaceIsEmptiedThenDeleted(t *testing.T) {
	scheme := api.NewDefaultScheme()
	if err := api.Register[Gadget](scheme, gadgetKind); err != nil {
		t.Fatal(err)
	}
	clk := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	env := controllertest.New(t, controllertest.WithScheme(scheme), controllertest.WithClock(clk))
	ctx := controllertest.Context(t)
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := namespace.Add(mgr, namespace.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}

	const ns, hold = "doomed", "example.com/hold"
	if err := env.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	keep := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "elsewhere"}}
	objs := []api.Object{
		keep,
		&api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: "cm"}},
		&api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: "held", Finalizers: []string{hold}}},
		&api.Secret{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: "s"}},
		&api.ServiceAccount{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: "sa"}},
		&api.Pod{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: "p"},
			Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}}},
		&Gadget{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: "g"}, Spec: GadgetSpec{Size: 3}},
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetObjectMeta().Name, err)
		}
	}
	if err := env.Client.Delete(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}

	// Everything goes but what its finalizer holds; the conditions say so.
	for _, wait := range []func() error{
		func() error { return controllertest.WaitForDeletion[api.ConfigMap](ctx, env.Client, ns, "cm") },
		func() error { return controllertest.WaitForDeletion[api.Secret](ctx, env.Client, ns, "s") },
		func() error { return controllertest.WaitForDeletion[api.ServiceAccount](ctx, env.Client, ns, "sa") },
		func() error { return controllertest.WaitForDeletion[api.Pod](ctx, env.Client, ns, "p") },
		func() error { return controllertest.WaitForDeletion[Gadget](ctx, env.Client, ns, "g") },
	} {
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := controllertest.WaitFor(ctx, env.Client, "", ns, func(n *api.Namespace) bool {
		return hasCondition(n, api.NamespaceFinalizersRemaining, api.ConditionTrue, hold)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !hasCondition(got, api.NamespaceContentRemaining, api.ConditionTrue, "configmaps has 1 resource instances") ||
		!hasCondition(got, api.NamespaceDeletionContentFailure, api.ConditionFalse, "") {
		t.Fatalf("conditions %+v: want configmaps remaining and no failure", got.Status.Conditions)
	}
	if got.Status.Phase != api.NamespaceTerminating || !containsFinalizer(got, api.FinalizerKubernetes) {
		t.Fatalf("namespace: phase %s, finalizers %v: want Terminating, held by %q", got.Status.Phase, got.Spec.Finalizers, api.FinalizerKubernetes)
	}

	// Once the last object goes, the next check finalizes the namespace
	// and the API server deletes it.
	var held api.ConfigMap
	if err := env.Client.Get(ctx, ns, "held", &held); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Patch(ctx, &held, client.MergePatch, []byte(`{"metadata":{"finalizers":null}}`)); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool {
		clk.Advance(namespace.DefaultRecheckInterval)
		var n api.Namespace
		err := env.Client.Get(ctx, "", ns, &n)
		return api.IsNotFound(err)
	})
	if err := env.Client.Get(ctx, "default", keep.Name, &api.ConfigMap{}); err != nil {
		t.Fatalf("a ConfigMap of another namespace: %v", err)
	}
}

func TestActiveNamespaceIsLeftAlone(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := namespace.Add(mgr, namespace.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}
	if err := env.CreateNamespace(ctx, "alive"); err != nil {
		t.Fatal(err)
	}
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "alive", Name: "cm"}}
	if err := env.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	// A terminating namespace, reconciled after "alive" was queued, shows
	// the controller has run past it.
	if err := env.CreateNamespace(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "other"}}); err != nil {
		t.Fatal(err)
	}
	if err := controllertest.WaitForDeletion[api.Namespace](ctx, env.Client, "", "other"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, "alive", "cm", &api.ConfigMap{}); err != nil {
		t.Fatalf("the ConfigMap of an active namespace: %v", err)
	}
}

func hasCondition(n *api.Namespace, t api.NamespaceConditionType, s api.ConditionStatus, inMessage string) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == t && c.Status == s && strings.Contains(c.Message, inMessage) {
			return true
		}
	}
	return false
}

func containsFinalizer(n *api.Namespace, f api.FinalizerName) bool {
	for _, x := range n.Spec.Finalizers {
		if x == f {
			return true
		}
	}
	return false
}

// TestNamespaceWaitsForBoundPods: a pod on a node goes only when its node
// agent confirms it stopped, and the namespace waits for it, as in
// Kubernetes. The test plays the node agent.
func TestNamespaceWaitsForBoundPods(t *testing.T) {
	clk := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	env := controllertest.New(t, controllertest.WithClock(clk))
	ctx := controllertest.Context(t)
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := namespace.Add(mgr, namespace.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}
	const ns = "bound"
	if err := env.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: "p"},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}}}
	if err := env.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Bind(ctx, ns, "p", "node-1"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	// The pod is asked to stop, and the namespace says it waits for it.
	if _, err := controllertest.WaitFor(ctx, env.Client, ns, "p", func(p *api.Pod) bool { return p.DeletionTimestamp != nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := controllertest.WaitFor(ctx, env.Client, "", ns, func(n *api.Namespace) bool {
		return hasCondition(n, api.NamespaceContentRemaining, api.ConditionTrue, "pods has 1 resource instances")
	}); err != nil {
		t.Fatal(err)
	}
	// The node agent confirms; the next check lets the namespace go.
	if err := env.Client.Delete(ctx, pod, client.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool {
		clk.Advance(namespace.DefaultRecheckInterval)
		return api.IsNotFound(env.Client.Get(ctx, "", ns, &api.Namespace{}))
	})
}
