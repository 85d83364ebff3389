package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func TestClientConfigMaps(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cms := clientset(t).CoreV1().ConfigMaps(ns)
	ctx := t.Context()

	created, err := cms.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cm", Labels: map[string]string{"app": "web"}},
		Data:       map[string]string{"a": "1"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.UID == "" || created.ResourceVersion == "" || created.CreationTimestamp.IsZero() || created.Namespace != ns {
		t.Errorf("created object lacks server-set metadata: %+v", created.ObjectMeta)
	}
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		t.Errorf("second create: err = %v, want AlreadyExists", err)
	}

	got, err := cms.Get(ctx, "cm", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ResourceVersion != created.ResourceVersion || got.Data["a"] != "1" {
		t.Errorf("get = %+v, want what was created", got)
	}

	got.Data["a"] = "2"
	updated, err := cms.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.ResourceVersion == created.ResourceVersion || updated.Data["a"] != "2" {
		t.Errorf("update = %+v, want a new resourceVersion and a=2", updated)
	}

	// got still carries the resourceVersion of the create.
	got.Data["a"] = "3"
	_, err = cms.Update(ctx, got, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Errorf("update with a stale resourceVersion: err = %v, want Conflict", err)
	}

	l, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(l.Items) != 1 || l.Items[0].Name != "cm" || l.ResourceVersion == "" {
		t.Errorf("list app=web = %d items, rv %q, want cm", len(l.Items), l.ResourceVersion)
	}
	l, err = cms.List(ctx, metav1.ListOptions{LabelSelector: "app=db"})
	if err != nil || len(l.Items) != 0 {
		t.Errorf("list app=db = %v, %v; want nothing", l, err)
	}
	l, err = cms.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=cm"})
	if err != nil || len(l.Items) != 1 {
		t.Errorf("list metadata.name=cm = %v, %v; want cm", l, err)
	}

	// A delete with a precondition on a stale resourceVersion fails.
	err = cms.Delete(ctx, "cm", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &created.ResourceVersion}})
	if !apierrors.IsConflict(err) {
		t.Errorf("delete with a stale precondition: err = %v, want Conflict", err)
	}
	if err := cms.Delete(ctx, "cm", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := cms.Get(ctx, "cm", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: err = %v, want NotFound", err)
	}
	if err := cms.Delete(ctx, "cm", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("second delete: err = %v, want NotFound", err)
	}
}

func TestClientDeployments(t *testing.T) {
	onlyInProcess(t, "the test writes a Deployment's status by hand, which drover up's deployment controller writes too")
	t.Parallel()
	ns := newNamespace(t)
	deps := clientset(t).AppsV1().Deployments(ns)
	ctx := t.Context()

	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.25"}}},
			},
		},
	}
	d, err := deps.Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if d.Generation != 1 {
		t.Errorf("generation after create = %d, want 1", d.Generation)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || d.Spec.RevisionHistoryLimit == nil {
		t.Errorf("defaults not applied: strategy %+v, revisionHistoryLimit %v", d.Spec.Strategy, d.Spec.RevisionHistoryLimit)
	}

	// The status subresource writes status only, and leaves generation.
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, ReadyReplicas: 1, UpdatedReplicas: 2}
	d.Spec.Replicas = ptr.To[int32](9) // ignored by updateStatus
	d, err = deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	if d.Status.ReadyReplicas != 1 || *d.Spec.Replicas != 2 || d.Generation != 1 {
		t.Errorf("after updateStatus: status %+v, replicas %d, generation %d; want status written, replicas 2, generation 1",
			d.Status, *d.Spec.Replicas, d.Generation)
	}

	// An update writes the spec only, and bumps generation.
	d.Spec.Replicas = ptr.To[int32](3)
	d.Status.ReadyReplicas = 0 // ignored by update
	d, err = deps.Update(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if *d.Spec.Replicas != 3 || d.Generation != 2 || d.Status.ReadyReplicas != 1 {
		t.Errorf("after update: replicas %d, generation %d, status %+v; want 3, 2 and the status unchanged",
			*d.Spec.Replicas, d.Generation, d.Status)
	}

	// Validation errors are Invalid, and name the field.
	bad := d.DeepCopy()
	bad.Spec.Template.Labels = map[string]string{"app": "other"}
	_, err = deps.Update(ctx, bad, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.template.metadata.labels") {
		t.Errorf("update with a selector that does not match the template: err = %v, want Invalid naming spec.template.metadata.labels", err)
	}

	l, err := deps.List(ctx, metav1.ListOptions{})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("list = %v, %v; want web", l, err)
	}
	if err := deps.Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	eventually(t, func(ctx context.Context) (bool, string) {
		_, err := deps.Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("get after delete: err = %v, want NotFound", err)
	})
}

func TestClientPods(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	pods := clientset(t).CoreV1().Pods(ns)
	ctx := t.Context()

	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{
			SchedulerName: unscheduled,
			Containers:    []corev1.Container{{Name: "c", Image: "busybox:1.36"}},
		},
	}
	p, err := pods.Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if p.Spec.ServiceAccountName != "default" || p.Spec.RestartPolicy != corev1.RestartPolicyAlways || p.Status.Phase != corev1.PodPending {
		t.Errorf("after create: serviceAccountName %q, restartPolicy %q, phase %q; want default, Always, Pending",
			p.Spec.ServiceAccountName, p.Spec.RestartPolicy, p.Status.Phase)
	}

	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = "10.0.0.7"
	p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	got, err := pods.Get(ctx, "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != corev1.PodRunning || got.Status.PodIP != "10.0.0.7" {
		t.Errorf("status after updateStatus = %+v", got.Status)
	}

	// Most of a pod's spec is immutable.
	got.Spec.Containers[0].Name = "renamed"
	if _, err := pods.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("update of the container name: err = %v, want Invalid", err)
	}
	got.Spec.Containers[0].Name = "c"
	got.Spec.Containers[0].Image = "busybox:1.37"
	if _, err := pods.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Errorf("update of the image: %v", err)
	}

	// An unscheduled pod is deleted at once, whatever its grace period.
	if err := pods.Delete(ctx, "p", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	eventually(t, func(ctx context.Context) (bool, string) {
		_, err := pods.Get(ctx, "p", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("get after delete: err = %v, want NotFound", err)
	})
}

func TestClientPagination(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cms := clientset(t).CoreV1().ConfigMaps(ns)
	ctx := t.Context()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("cm-%d", i)
		want = append(want, name)
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	var got []string
	opts := metav1.ListOptions{Limit: 3}
	pages := 0
	for {
		l, err := cms.List(ctx, opts)
		if err != nil {
			t.Fatalf("list page %d: %v", pages, err)
		}
		pages++
		if len(l.Items) > 3 {
			t.Errorf("page %d has %d items, limit 3", pages, len(l.Items))
		}
		for _, cm := range l.Items {
			got = append(got, cm.Name)
		}
		if l.Continue == "" {
			break
		}
		if pages == 1 {
			// A write between pages does not show in the later ones: the
			// pages are one consistent snapshot.
			if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-9"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if l.RemainingItemCount == nil || *l.RemainingItemCount != 4 {
				t.Errorf("first page: remainingItemCount = %v, want 4", l.RemainingItemCount)
			}
		}
		if pages > 10 {
			t.Fatal("more than 10 pages of 3 for 7 objects")
		}
		opts.Continue = l.Continue
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("%d pages of %q, want 3 pages of %q", pages, got, want)
	}
}

func TestClientWatch(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cms := clientset(t).CoreV1().ConfigMaps(ns)
	ctx := t.Context()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()

	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{"k": "v"}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "w", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// Exactly these, in order: nothing about "before", made before the
	// list's resourceVersion.
	want := []string{"ADDED w", "MODIFIED w k=v", "DELETED w k=v"}
	var got []string
	timer := time.NewTimer(pollTimeout)
	defer timer.Stop()
	for len(got) < len(want) {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch ended after %q", got)
			}
			if ev.Type == watch.Error {
				t.Fatalf("watch error: %v", apierrors.FromObject(ev.Object))
			}
			c, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				t.Fatalf("watch event %s of a %T", ev.Type, ev.Object)
			}
			s := string(ev.Type) + " " + c.Name
			if v, ok := c.Data["k"]; ok {
				s += " k=" + v
			}
			got = append(got, s)
		case <-timer.C:
			t.Fatalf("after %v, watch events %q, want %q", pollTimeout, got, want)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("watch events %q, want %q", got, want)
	}
}

func TestClientWatchBadResourceVersion(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cms := clientset(t).CoreV1().ConfigMaps(ns)
	// A resourceVersion that is not a number is a bad request, not a
	// stream.
	_, err := cms.Watch(t.Context(), metav1.ListOptions{ResourceVersion: "not-a-number"})
	if !apierrors.IsBadRequest(err) {
		t.Errorf("watch from resourceVersion not-a-number: err = %v, want BadRequest", err)
	}
}

func TestClientInformer(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cs := clientset(t)
	cms := cs.CoreV1().ConfigMaps(ns)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "early"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().ConfigMaps()
	events := make(chan string, 100)
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			events <- "add " + obj.(*corev1.ConfigMap).Name
		},
		UpdateFunc: func(_, obj any) {
			cm := obj.(*corev1.ConfigMap)
			events <- "update " + cm.Name + " " + cm.Data["k"]
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			events <- "delete " + obj.(*corev1.ConfigMap).Name
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	lister := inf.Lister()
	factory.Start(ctx.Done())
	defer func() {
		// Shutdown waits for the informers, which run until ctx ends.
		cancel()
		factory.Shutdown()
	}()
	syncCtx, syncCancel := context.WithTimeout(ctx, pollTimeout)
	defer syncCancel()
	for typ, ok := range factory.WaitForCacheSync(syncCtx.Done()) {
		if !ok {
			t.Fatalf("informer of %v did not sync within %v", typ, pollTimeout)
		}
	}

	expect := func(want string) {
		t.Helper()
		timer := time.NewTimer(pollTimeout)
		defer timer.Stop()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("event %q, want %q", got, want)
			}
		case <-timer.C:
			t.Fatalf("no event within %v, want %q", pollTimeout, want)
		}
	}
	listed := func(want ...string) {
		t.Helper()
		eventually(t, func(context.Context) (bool, string) {
			l, err := lister.ConfigMaps(ns).List(labels.Everything())
			if err != nil {
				return false, err.Error()
			}
			var got []string
			for _, cm := range l {
				got = append(got, cm.Name+"="+cm.Data["k"])
			}
			slices.Sort(got)
			return slices.Equal(got, want), fmt.Sprintf("lister has %q, want %q", got, want)
		})
	}

	expect("add early")
	listed("early=")

	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}, Data: map[string]string{"k": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expect("add late")
	cm.Data["k"] = "2"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("update late 2")
	listed("early=", "late=2")
	got, err := lister.ConfigMaps(ns).Get("late")
	if err != nil || got.Data["k"] != "2" {
		t.Errorf("lister get late = %v, %v; want k=2", got, err)
	}

	if err := cms.Delete(ctx, "early", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("delete early")
	listed("late=2")
}

// TestClientDefaultContentType uses client-go as most programs do, with no
// ContentType in the rest.Config: its typed clients then send protobuf
// bodies (and accept protobuf or JSON), which a Kubernetes API server
// decodes for every built-in kind.
func TestClientDefaultContentType(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cfg := *restConfig
	cfg.ContentType = ""
	cs, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	cms := cs.CoreV1().ConfigMaps(ns)
	cm, err := cms.Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"a": "1"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create with client-go's default content type: %v", err)
	}
	cm.Data["a"] = "2"
	if _, err := cms.Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update with client-go's default content type: %v", err)
	}
	got, err := cms.Get(t.Context(), "cm", metav1.GetOptions{})
	if err != nil || got.Data["a"] != "2" {
		t.Errorf("get = %v, %v; want a=2", got, err)
	}
}

func TestClientDeleteCollection(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cms := clientset(t).CoreV1().ConfigMaps(ns)
	ctx := t.Context()
	for _, c := range []struct{ name, app string }{{"a1", "a"}, {"a2", "a"}, {"b1", "b"}} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: c.name, Labels: map[string]string{"app": c.app}}}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=a"}); err != nil {
		t.Fatalf("deletecollection app=a: %v", err)
	}
	eventually(t, func(ctx context.Context) (bool, string) {
		l, err := cms.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var got []string
		for _, cm := range l.Items {
			got = append(got, cm.Name)
		}
		return slices.Equal(got, []string{"b1"}), fmt.Sprintf("configmaps %q, want b1", got)
	})
}

// TestClientPodLifecycle drives a pod through the subresources the
// scheduler and the eviction API use, and graceful deletion.
func TestClientPodLifecycle(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cs := clientset(t)
	pods := cs.CoreV1().Pods(ns)
	ctx := t.Context()
	for _, name := range []string{"bound", "evicted"} {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{
				SchedulerName: unscheduled,
				Containers:    []corev1.Container{{Name: "c", Image: "busybox:1.36"}},
			},
		}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}

	t.Run("binding", func(t *testing.T) {
		b := &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: "bound"},
			Target:     corev1.ObjectReference{Kind: "Node", Name: "node-a"},
		}
		if err := pods.Bind(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatalf("bind: %v", err)
		}
		p, err := pods.Get(ctx, "bound", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != "node-a" {
			t.Errorf("spec.nodeName = %q after binding to node-a", p.Spec.NodeName)
		}
		b.Target.Name = "node-b"
		if err := pods.Bind(ctx, b, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
			t.Errorf("second binding: err = %v, want Conflict", err)
		}
	})

	t.Run("graceful deletion", func(t *testing.T) {
		// A pod on a node is only marked for deletion: its kubelet stops
		// it and then deletes it for good.
		if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		p, err := pods.Get(ctx, "bound", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get a pod being deleted gracefully: %v", err)
		}
		if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 30 {
			t.Errorf("deletionTimestamp %v, deletionGracePeriodSeconds %v; want set, and 30 (the pod's default)",
				p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
		}
		if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatalf("delete with grace period 0: %v", err)
		}
		eventually(t, func(ctx context.Context) (bool, string) {
			_, err := pods.Get(ctx, "bound", metav1.GetOptions{})
			return apierrors.IsNotFound(err), fmt.Sprintf("get after delete with grace period 0: err = %v, want NotFound", err)
		})
	})

	t.Run("eviction", func(t *testing.T) {
		ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "evicted", Namespace: ns}}
		if err := pods.EvictV1(ctx, ev); err != nil {
			t.Fatalf("evict: %v", err)
		}
		eventually(t, func(ctx context.Context) (bool, string) {
			_, err := pods.Get(ctx, "evicted", metav1.GetOptions{})
			return apierrors.IsNotFound(err), fmt.Sprintf("get after eviction: err = %v, want NotFound", err)
		})
	})
}

func TestClientDiscovery(t *testing.T) {
	t.Parallel()
	cs := clientset(t)
	_, lists, err := cs.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	got := map[string]string{} // group/version resource -> kind, with the group/version of a subresource
	for _, l := range lists {
		for _, r := range l.APIResources {
			kind := r.Kind
			if r.Group != "" || r.Version != "" {
				kind = r.Group + "/" + r.Version + " " + r.Kind
			}
			got[l.GroupVersion+" "+r.Name] = kind
		}
	}
	for res, kind := range map[string]string{
		"v1 pods":                   "Pod",
		"v1 pods/eviction":          "policy/v1 Eviction",
		"apps/v1 deployments":       "Deployment",
		"apps/v1 deployments/scale": "autoscaling/v1 Scale",
		"batch/v1 jobs":             "Job",
	} {
		// Legacy discovery leaves the group and version of a subresource
		// of the resource's own empty; aggregated discovery fills them in.
		if g := got[res]; g != kind && !strings.HasSuffix(g, " "+kind) {
			t.Errorf("discovery of %s: kind %q, want %q", res, g, kind)
		}
	}

	// kubectl and client-go ask /api and /apis for aggregated discovery
	// first: one request instead of one per group version.
	const aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, restConfig.Host+"/apis", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", aggregated+",application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct {
		Kind  string
		Items []struct {
			Metadata struct{ Name string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatalf("decode /apis: %v", err)
	}
	var groups []string
	for _, it := range l.Items {
		groups = append(groups, it.Metadata.Name)
	}
	if ct := resp.Header.Get("Content-Type"); ct != aggregated || l.Kind != "APIGroupDiscoveryList" || !slices.Contains(groups, "apps") {
		t.Errorf("/apis with Accept: %s answered %s, a %s of groups %q; want an APIGroupDiscoveryList with apps",
			aggregated, ct, l.Kind, groups)
	}
}

// TestClientServiceClusterIP creates a Service of the default type: the
// server gives it a cluster IP, as a Kubernetes API server's allocator does.
func TestClientServiceClusterIP(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
	svc, err := clientset(t).CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || net.ParseIP(svc.Spec.ClusterIP) == nil ||
		!slices.Equal(svc.Spec.ClusterIPs, []string{svc.Spec.ClusterIP}) {
		t.Errorf("spec.type %q, clusterIP %q, clusterIPs %q; want ClusterIP and an allocated address",
			svc.Spec.Type, svc.Spec.ClusterIP, svc.Spec.ClusterIPs)
	}
	if p := svc.Spec.Ports[0]; p.Protocol != corev1.ProtocolTCP || p.TargetPort.IntValue() != 80 {
		t.Errorf("port %+v, want the defaults protocol TCP and targetPort 80", p)
	}
}
