package garbagecollector_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/garbagecollector"
)

// These tests run the garbage collector in a Manager against a real API
// server in the test's process. There is no ReplicaSet controller: the
// tests make the pods by hand, with ownerReferences, and leave them
// unbound so that a delete removes them at once.

var rsGVK = api.AppsV1.WithKind("ReplicaSet")

func start(t *testing.T) (*controllertest.Env, context.Context, *controller.Manager) {
	t.Helper()
	env := controllertest.New(t)
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := garbagecollector.Add(mgr, garbagecollector.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}
	return env, controllertest.Context(t), mgr
}

// waitCached waits until the Manager's caches, which the collector reads
// its graph from, hold each of objs as it is (or newer). A dependent
// created just before its owner's foreground or orphan deletion and not in
// the caches yet is not waited for, nor freed: it is collected once the
// owner is gone (as in Kubernetes). Tests of those modes wait for the
// caches first.
func waitCached(t *testing.T, mgr *controller.Manager, objs ...api.Object) {
	t.Helper()
	for _, obj := range objs {
		k, err := mgr.Scheme().ObjectKind(obj)
		if err != nil {
			t.Fatal(err)
		}
		inf, err := mgr.Informers().InformerFor(k.GroupVersionKind)
		if err != nil {
			t.Fatal(err)
		}
		m := obj.GetObjectMeta()
		want, err := strconv.ParseUint(m.ResourceVersion, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, func() bool {
			cached, ok := inf.Cache().Get(informer.KeyFor(m.Namespace, m.Name))
			if !ok {
				return false
			}
			got, err := strconv.ParseUint(cached.GetObjectMeta().ResourceVersion, 10, 64)
			return err == nil && got >= want
		})
	}
}

func createRS(t *testing.T, ctx context.Context, env *controllertest.Env, name string) *api.ReplicaSet {
	t.Helper()
	labels := map[string]string{"app": name}
	rs := &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.ReplicaSetSpec{
			Replicas: new(int32(0)),
			Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
	if err := env.Client.Create(ctx, rs); err != nil {
		t.Fatalf("create ReplicaSet %s: %v", name, err)
	}
	return rs
}

// ref returns an ownerReference to owner of kind gvk.
func ref(owner api.Object, gvk api.GroupVersionKind, block bool) api.OwnerReference {
	m := owner.GetObjectMeta()
	return api.OwnerReference{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: m.Name, UID: m.UID,
		BlockOwnerDeletion: new(block)}
}

func createPod(t *testing.T, ctx context.Context, env *controllertest.Env, name string, finalizers []string, refs ...api.OwnerReference) *api.Pod {
	t.Helper()
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, OwnerReferences: refs, Finalizers: finalizers},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}},
	}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatalf("create Pod %s: %v", name, err)
	}
	return p
}

func deleteObj(t *testing.T, ctx context.Context, env *controllertest.Env, obj api.Object, policy client.DeletionPropagation) {
	t.Helper()
	if err := env.Client.Delete(ctx, obj, client.DeleteOptions{PropagationPolicy: policy}); err != nil {
		t.Fatalf("delete %s: %v", obj.GetObjectMeta().Name, err)
	}
}

func waitGone[T any, PT interface {
	*T
	api.Object
}](t *testing.T, ctx context.Context, env *controllertest.Env, name string) {
	t.Helper()
	if err := controllertest.WaitForDeletion[T, PT](ctx, env.Client, "default", name); err != nil {
		t.Fatal(err)
	}
}

func getPod(t *testing.T, ctx context.Context, env *controllertest.Env, name string) *api.Pod {
	t.Helper()
	var p api.Pod
	if err := env.Client.Get(ctx, "default", name, &p); err != nil {
		t.Fatalf("get Pod %s: %v", name, err)
	}
	return &p
}

// removeFinalizers lets a pod held by the test's finalizer go.
func removeFinalizers(t *testing.T, ctx context.Context, env *controllertest.Env, name string) {
	t.Helper()
	p := getPod(t, ctx, env, name)
	if err := env.Client.Patch(ctx, p, client.MergePatch, []byte(`{"metadata":{"finalizers":null}}`)); err != nil {
		t.Fatalf("remove the finalizers of Pod %s: %v", name, err)
	}
}

func TestBackgroundDeletionCollectsDependents(t *testing.T) {
	env, ctx, _ := start(t)
	rs := createRS(t, ctx, env, "web")
	createPod(t, ctx, env, "web-1", nil, ref(rs, rsGVK, true))
	createPod(t, ctx, env, "web-2", nil, ref(rs, rsGVK, true))
	deleteObj(t, ctx, env, rs, client.DeletePropagationBackground)
	waitGone[api.ReplicaSet](t, ctx, env, "web")
	waitGone[api.Pod](t, ctx, env, "web-1")
	waitGone[api.Pod](t, ctx, env, "web-2")
}

func TestForegroundDeletionWaitsForBlockingDependents(t *testing.T) {
	env, ctx, mgr := start(t)
	rs := createRS(t, ctx, env, "web")
	const hold = "example.com/hold"
	blocking := createPod(t, ctx, env, "blocking", []string{hold}, ref(rs, rsGVK, true))
	free := createPod(t, ctx, env, "free", []string{hold}, ref(rs, rsGVK, false))
	plain := createPod(t, ctx, env, "plain", nil, ref(rs, rsGVK, true))
	waitCached(t, mgr, blocking, free, plain)
	deleteObj(t, ctx, env, rs, client.DeletePropagationForeground)

	// Every dependent is deleted; the held ones stay, marked.
	waitGone[api.Pod](t, ctx, env, "plain")
	for _, name := range []string{"blocking", "free"} {
		if _, err := controllertest.WaitFor(ctx, env.Client, "default", name, func(p *api.Pod) bool {
			return p.DeletionTimestamp != nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The owner waits for "blocking" (blockOwnerDeletion), not for "free".
	var got api.ReplicaSet
	if err := env.Client.Get(ctx, "default", "web", &got); err != nil {
		t.Fatalf("the ReplicaSet went before its blocking dependent: %v", err)
	}
	if got.DeletionTimestamp == nil || !got.HasFinalizer(garbagecollector.FinalizerForegroundDeletion) {
		t.Fatalf("ReplicaSet: deletionTimestamp %v, finalizers %v; want it being deleted in the foreground", got.DeletionTimestamp, got.Finalizers)
	}
	removeFinalizers(t, ctx, env, "blocking")
	waitGone[api.Pod](t, ctx, env, "blocking")
	waitGone[api.ReplicaSet](t, ctx, env, "web")
	// "free" did not block the owner, and is still held by its finalizer.
	if p := getPod(t, ctx, env, "free"); p.DeletionTimestamp == nil {
		t.Fatal("Pod free: not being deleted")
	}
	removeFinalizers(t, ctx, env, "free")
	waitGone[api.Pod](t, ctx, env, "free")
}

func TestOrphanDeletionFreesDependents(t *testing.T) {
	env, ctx, mgr := start(t)
	rs := createRS(t, ctx, env, "web")
	other := createRS(t, ctx, env, "other")
	p1 := createPod(t, ctx, env, "web-1", nil, ref(rs, rsGVK, true))
	p2 := createPod(t, ctx, env, "web-2", nil, ref(rs, rsGVK, true), ref(other, rsGVK, false))
	waitCached(t, mgr, p1, p2)
	deleteObj(t, ctx, env, rs, client.DeletePropagationOrphan)
	waitGone[api.ReplicaSet](t, ctx, env, "web")
	if p := getPod(t, ctx, env, "web-1"); len(p.OwnerReferences) != 0 || p.DeletionTimestamp != nil {
		t.Fatalf("Pod web-1: ownerReferences %v, deletionTimestamp %v; want no owner and not deleted", p.OwnerReferences, p.DeletionTimestamp)
	}
	p := getPod(t, ctx, env, "web-2")
	if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].UID != other.UID {
		t.Fatalf("Pod web-2: ownerReferences %v; want only the one to ReplicaSet other", p.OwnerReferences)
	}
}

func TestDependentOfVanishedOwnerIsCollected(t *testing.T) {
	env, ctx, _ := start(t)
	ghost := api.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "ghost", UID: "no-such-uid"}
	createPod(t, ctx, env, "orphaned", nil, ghost)
	waitGone[api.Pod](t, ctx, env, "orphaned")
}

func TestDependentWithTwoOwnersKeepsTheSurvivor(t *testing.T) {
	env, ctx, _ := start(t)
	a := createRS(t, ctx, env, "a")
	b := createRS(t, ctx, env, "b")
	createPod(t, ctx, env, "shared", nil, ref(a, rsGVK, true), ref(b, rsGVK, true))
	deleteObj(t, ctx, env, a, client.DeletePropagationBackground)
	p, err := controllertest.WaitFor(ctx, env.Client, "default", "shared", func(p *api.Pod) bool {
		return len(p.OwnerReferences) == 1
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.OwnerReferences[0].UID != b.UID || p.DeletionTimestamp != nil {
		t.Fatalf("Pod shared: ownerReferences %v, deletionTimestamp %v; want the one to b, not deleted", p.OwnerReferences, p.DeletionTimestamp)
	}
	// Without its last owner it goes.
	deleteObj(t, ctx, env, b, "")
	waitGone[api.Pod](t, ctx, env, "shared")
}

func TestRecreatedOwnerDoesNotSaveOldDependents(t *testing.T) {
	env, ctx, _ := start(t)
	old := createRS(t, ctx, env, "web")
	stale := ref(old, rsGVK, true)
	// Delete the owner and make a new one of the same name before the
	// dependent exists, so that only its uid tells them apart.
	deleteObj(t, ctx, env, old, client.DeletePropagationBackground)
	waitGone[api.ReplicaSet](t, ctx, env, "web")
	fresh := createRS(t, ctx, env, "web")
	createPod(t, ctx, env, "old-dependent", nil, stale)
	createPod(t, ctx, env, "new-dependent", nil, ref(fresh, rsGVK, true))
	waitGone[api.Pod](t, ctx, env, "old-dependent")
	// The new owner's dependent stays, with its reference.
	if p := getPod(t, ctx, env, "new-dependent"); len(p.OwnerReferences) != 1 || p.DeletionTimestamp != nil {
		t.Fatalf("Pod new-dependent: ownerReferences %v, deletionTimestamp %v; want kept", p.OwnerReferences, p.DeletionTimestamp)
	}
}

func TestClusterScopedDependentOfNamespacedOwnerIsIgnored(t *testing.T) {
	env, ctx, _ := start(t)
	rs := createRS(t, ctx, env, "web")
	ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "odd", OwnerReferences: []api.OwnerReference{
		ref(rs, rsGVK, false),
		{APIVersion: "v1", Kind: "ConfigMap", Name: "ghost", UID: "no-such-uid"},
	}}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// The event says why; the namespace is neither deleted nor changed.
	controllertest.Eventually(t, func() bool {
		var evs api.EventList
		if err := env.Client.List(ctx, &evs, client.InNamespace("default")); err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs.Items {
			if ev.Reason == "OwnerRefInvalidNamespace" && ev.InvolvedObject.Name == "odd" {
				return true
			}
		}
		return false
	})
	var got api.Namespace
	if err := env.Client.Get(ctx, "", "odd", &got); err != nil {
		t.Fatal(err)
	}
	if got.DeletionTimestamp != nil || len(got.OwnerReferences) != 2 {
		t.Fatalf("Namespace odd: deletionTimestamp %v, ownerReferences %v; want untouched", got.DeletionTimestamp, got.OwnerReferences)
	}
}

func TestForegroundDeletionCascadesThroughLevels(t *testing.T) {
	env, ctx, mgr := start(t)
	labels := map[string]string{"app": "web"}
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.DeploymentSpec{
			Replicas: new(int32(0)),
			Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
	if err := env.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	rs := createRS(t, ctx, env, "web-1")
	rs.OwnerReferences = []api.OwnerReference{ref(d, api.AppsV1.WithKind("Deployment"), true)}
	if err := env.Client.Update(ctx, rs); err != nil {
		t.Fatal(err)
	}
	const hold = "example.com/hold"
	held := createPod(t, ctx, env, "held", []string{hold}, ref(rs, rsGVK, true))
	plain := createPod(t, ctx, env, "plain", nil, ref(rs, rsGVK, true))
	waitCached(t, mgr, rs, held, plain)
	deleteObj(t, ctx, env, d, client.DeletePropagationForeground)

	// The ReplicaSet is deleted in the foreground in turn, and waits for
	// the held pod; the Deployment waits for the ReplicaSet.
	waitGone[api.Pod](t, ctx, env, "plain")
	if _, err := controllertest.WaitFor(ctx, env.Client, "default", "held", func(p *api.Pod) bool {
		return p.DeletionTimestamp != nil
	}); err != nil {
		t.Fatal(err)
	}
	var gotRS api.ReplicaSet
	if err := env.Client.Get(ctx, "default", "web-1", &gotRS); err != nil || !gotRS.HasFinalizer(garbagecollector.FinalizerForegroundDeletion) {
		t.Fatalf("ReplicaSet web-1: err %v, finalizers %v; want it held in the foreground", err, gotRS.Finalizers)
	}
	var gotD api.Deployment
	if err := env.Client.Get(ctx, "default", "web", &gotD); err != nil || gotD.DeletionTimestamp == nil {
		t.Fatalf("Deployment web: err %v; want it waiting, being deleted", err)
	}
	removeFinalizers(t, ctx, env, "held")
	waitGone[api.Pod](t, ctx, env, "held")
	waitGone[api.ReplicaSet](t, ctx, env, "web-1")
	waitGone[api.Deployment](t, ctx, env, "web")
}

// TestBackgroundCascadeOfManyDependents measures a cascade: one owner,
// many dependents.
func TestBackgroundCascadeOfManyDependents(t *testing.T) {
	env, ctx, _ := start(t)
	rs := createRS(t, ctx, env, "big")
	const n = 100
	for i := range n {
		createPod(t, ctx, env, fmt.Sprintf("big-%d", i), nil, ref(rs, rsGVK, true))
	}
	begin := time.Now()
	deleteObj(t, ctx, env, rs, client.DeletePropagationBackground)
	controllertest.Eventually(t, func() bool {
		var pods api.PodList
		if err := env.Client.List(ctx, &pods, client.InNamespace("default")); err != nil {
			t.Fatal(err)
		}
		return len(pods.Items) == 0
	})
	t.Logf("%d dependents collected in %v", n, time.Since(begin))
}
