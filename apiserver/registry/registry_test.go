package registry_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/store"
)

func TestKeyLayout(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	deps := e.registry(t, deploymentGVK, registry.Options{})
	nss := e.registry(t, namespaceGVK, registry.Options{})
	widgets := e.registry(t, widgetGVK, registry.Options{})
	_, err := pods.Create(ctx, pod("default", "web", nil), registry.CreateOptions{})
	require.NoError(t, err)
	_, err = deps.Create(ctx, deployment("default", "web"), registry.CreateOptions{})
	require.NoError(t, err)
	_, err = nss.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team"}}, registry.CreateOptions{})
	require.NoError(t, err)
	_, err = widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "w"}}, registry.CreateOptions{})
	require.NoError(t, err)
	for _, key := range []string{
		"/registry/pods/default/web",
		"/registry/deployments.apps/default/web",
		"/registry/namespaces/team",
		"/registry/widgets.example.com/default/w",
	} {
		kv, err := e.st.Get(ctx, key, store.ReadOptions{})
		require.NoError(t, err, key)
		require.NotContains(t, string(kv.Value), "resourceVersion", "stored values carry no resourceVersion")
	}
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	nss := e.registry(t, namespaceGVK, registry.Options{})
	_, err := pods.Create(ctx, pod("default", "taken", nil), registry.CreateOptions{})
	require.NoError(t, err)

	withRV := pod("default", "rv", nil)
	withRV.ResourceVersion = "5"
	noContainers := pod("default", "Bad_Name", nil)
	noContainers.Spec.Containers = nil

	tests := []struct {
		name   string
		reg    *registry.Registry
		obj    api.Object
		reason api.StatusReason
		code   int
		causes []string // fields of the causes, for Invalid
	}{
		{"exists", pods, pod("default", "taken", nil), api.StatusReasonAlreadyExists, http.StatusConflict, nil},
		{"resourceVersion set", pods, withRV, api.StatusReasonBadRequest, http.StatusBadRequest, nil},
		{"invalid", pods, noContainers, api.StatusReasonInvalid, http.StatusUnprocessableEntity,
			[]string{"metadata.name", "spec.containers"}},
		{"namespace missing", pods, pod("", "p", nil), api.StatusReasonInvalid, http.StatusUnprocessableEntity,
			[]string{"metadata.namespace"}},
		{"namespace on cluster kind", nss, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "x", Namespace: "default"}},
			api.StatusReasonInvalid, http.StatusUnprocessableEntity, []string{"metadata.namespace"}},
		{"wrong kind", pods, deployment("default", "d"), api.StatusReasonBadRequest, http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.reg.Create(ctx, tt.obj, registry.CreateOptions{})
			se := requireStatus(t, err, tt.reason, tt.code)
			for _, f := range tt.causes {
				found := false
				for _, c := range se.Status.Details.Causes {
					found = found || c.Field == f
				}
				require.True(t, found, "no cause for %s in %+v", f, se.Status.Details.Causes)
			}
		})
	}

	t.Run("ok", func(t *testing.T) {
		in := pod("default", "web", map[string]string{"app": "web"})
		out, err := pods.Create(ctx, in, registry.CreateOptions{})
		require.NoError(t, err)
		p := out.(*api.Pod)
		require.NotEmpty(t, p.UID)
		require.Equal(t, int64(1), p.Generation)
		require.True(t, p.CreationTimestamp.Equal(api.NewTime(e.now)))
		require.Equal(t, "v1", p.APIVersion)
		require.Equal(t, "Pod", p.Kind)
		require.Equal(t, api.RestartPolicyAlways, p.Spec.RestartPolicy, "defaulted")
		require.Empty(t, in.UID, "the input is not modified")
		rev, err := e.st.Revision(ctx)
		require.NoError(t, err)
		require.Equal(t, rev, rvOf(t, p))
		got, err := pods.Get(ctx, "default", "web", registry.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, p, got)
	})

	t.Run("dry run", func(t *testing.T) {
		before, _ := e.st.Revision(ctx)
		out, err := pods.Create(ctx, pod("default", "dry", nil), registry.CreateOptions{DryRun: true})
		require.NoError(t, err)
		require.Equal(t, "dry", out.GetObjectMeta().Name)
		after, _ := e.st.Revision(ctx)
		require.Equal(t, before, after)
		_, err = pods.Get(ctx, "default", "dry", registry.GetOptions{})
		requireStatus(t, err, api.StatusReasonNotFound, http.StatusNotFound)
		_, err = pods.Create(ctx, pod("default", "taken", nil), registry.CreateOptions{DryRun: true})
		requireStatus(t, err, api.StatusReasonAlreadyExists, http.StatusConflict)
	})
}

func TestCreateGenerateName(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	in := pod("default", "", nil)
	in.GenerateName = "web-"
	out, err := pods.Create(ctx, in, registry.CreateOptions{})
	require.NoError(t, err)
	name := out.GetObjectMeta().Name
	require.Regexp(t, `^web-[bcdfghjklmnpqrstvwxz2456789]{5}$`, name)
	require.Equal(t, "web-", out.GetObjectMeta().GenerateName)

	// A taken name is retried with another suffix.
	suffixes := []string{"aaaaa", "aaaaa", "bbbbb"}
	fixed := e.registry(t, podGVK, registry.Options{NameSuffix: func() string {
		s := suffixes[0]
		suffixes = suffixes[1:]
		return s
	}})
	out, err = fixed.Create(ctx, in, registry.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, "web-aaaaa", out.GetObjectMeta().Name)
	out, err = fixed.Create(ctx, in, registry.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, "web-bbbbb", out.GetObjectMeta().Name)
}

func TestGet(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	created, err := pods.Create(ctx, pod("default", "web", nil), registry.CreateOptions{})
	require.NoError(t, err)
	tests := []struct {
		name, ns, pod, rv string
		reason            api.StatusReason
		code              int
	}{
		{"latest", "default", "web", "", "", 0},
		{"any", "default", "web", "0", "", 0},
		{"not older than", "default", "web", created.GetObjectMeta().ResourceVersion, "", 0},
		{"missing", "default", "nope", "", api.StatusReasonNotFound, http.StatusNotFound},
		{"other namespace", "other", "web", "", api.StatusReasonNotFound, http.StatusNotFound},
		{"bad resourceVersion", "default", "web", "abc", api.StatusReasonBadRequest, http.StatusBadRequest},
		{"future resourceVersion", "default", "web", "999", api.StatusReasonTimeout, http.StatusGatewayTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pods.Get(ctx, tt.ns, tt.pod, registry.GetOptions{ResourceVersion: tt.rv})
			if tt.code == 0 {
				require.NoError(t, err)
				require.Equal(t, created, got)
				return
			}
			se := requireStatus(t, err, tt.reason, tt.code)
			if tt.reason == api.StatusReasonNotFound {
				require.Equal(t, `pods "nope" not found`[:4], se.Status.Message[:4])
				require.Contains(t, se.Status.Message, tt.pod)
				require.Equal(t, "pods", se.Status.Details.Kind)
			}
		})
	}

	t.Run("store unavailable", func(t *testing.T) {
		k, _ := e.scheme.KindFor(podGVK)
		r, err := registry.New(unavailableStore{e.st}, e.scheme, k, registry.Options{})
		require.NoError(t, err)
		_, err = r.Get(ctx, "default", "web", registry.GetOptions{})
		requireStatus(t, err, api.StatusReasonServiceUnavailable, http.StatusServiceUnavailable)
	})
}

func TestNewErrors(t *testing.T) {
	e := newEnv(t)
	k, _ := e.scheme.KindFor(podGVK)
	_, err := registry.New(nil, e.scheme, k, registry.Options{})
	require.ErrorContains(t, err, "store is nil")
	_, err = registry.New(e.st, api.NewScheme(), k, registry.Options{})
	require.ErrorContains(t, err, "not registered")
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	deps := e.registry(t, deploymentGVK, registry.Options{})
	created, err := deps.Create(ctx, deployment("default", "web"), registry.CreateOptions{})
	require.NoError(t, err)
	d := created.(*api.Deployment)

	t.Run("missing", func(t *testing.T) {
		_, err := deps.Update(ctx, deployment("default", "nope"), registry.UpdateOptions{})
		requireStatus(t, err, api.StatusReasonNotFound, http.StatusNotFound)
	})

	t.Run("labels do not bump generation", func(t *testing.T) {
		in := api.DeepCopy(d)
		in.Labels = map[string]string{"team": "a"}
		out, err := deps.Update(ctx, in, registry.UpdateOptions{})
		require.NoError(t, err)
		require.Equal(t, int64(1), out.GetObjectMeta().Generation)
		require.Greater(t, rvOf(t, out), rvOf(t, d))
		d = out.(*api.Deployment)
	})

	t.Run("stale resourceVersion", func(t *testing.T) {
		in := api.DeepCopy(d)
		in.ResourceVersion = created.GetObjectMeta().ResourceVersion
		in.Labels = map[string]string{"team": "b"}
		_, err := deps.Update(ctx, in, registry.UpdateOptions{})
		se := requireStatus(t, err, api.StatusReasonConflict, http.StatusConflict)
		require.Contains(t, se.Status.Message, "the object has been modified; please apply your changes to the latest version and try again")
	})

	t.Run("spec change bumps generation, status is ignored", func(t *testing.T) {
		in := api.DeepCopy(d)
		three := int32(3)
		in.Spec.Replicas = &three
		in.Status.Replicas = 7
		in.UID = "" // server-owned fields are carried over
		in.Generation = 0
		out, err := deps.Update(ctx, in, registry.UpdateOptions{})
		require.NoError(t, err)
		o := out.(*api.Deployment)
		require.Equal(t, int64(2), o.Generation)
		require.Equal(t, int32(0), o.Status.Replicas)
		require.Equal(t, d.UID, o.UID)
		d = o
	})

	t.Run("no change writes nothing", func(t *testing.T) {
		out, err := deps.Update(ctx, api.DeepCopy(d), registry.UpdateOptions{})
		require.NoError(t, err)
		require.Equal(t, d.ResourceVersion, out.GetObjectMeta().ResourceVersion)
	})

	t.Run("status subresource takes only status", func(t *testing.T) {
		in := api.DeepCopy(d)
		in.Status.Replicas = 3
		in.Status.ObservedGeneration = 2
		in.Spec.Paused = true
		in.Labels = map[string]string{"ignored": "yes"}
		out, err := deps.Update(ctx, in, registry.UpdateOptions{Subresource: "status"})
		require.NoError(t, err)
		o := out.(*api.Deployment)
		require.Equal(t, int32(3), o.Status.Replicas)
		require.False(t, o.Spec.Paused)
		require.Equal(t, d.Labels, o.Labels)
		require.Equal(t, int64(2), o.Generation)
		d = o
	})

	t.Run("invalid status", func(t *testing.T) {
		in := api.DeepCopy(d)
		in.Status.Replicas = -1
		_, err := deps.Update(ctx, in, registry.UpdateOptions{Subresource: "status"})
		se := requireStatus(t, err, api.StatusReasonInvalid, http.StatusUnprocessableEntity)
		require.Equal(t, "status.replicas", se.Status.Details.Causes[0].Field)
	})

	t.Run("immutable selector", func(t *testing.T) {
		in := api.DeepCopy(d)
		in.Spec.Selector = &api.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
		in.Spec.Template.Labels = map[string]string{"app": "other"}
		_, err := deps.Update(ctx, in, registry.UpdateOptions{})
		se := requireStatus(t, err, api.StatusReasonInvalid, http.StatusUnprocessableEntity)
		require.Equal(t, "spec.selector", se.Status.Details.Causes[0].Field)
	})

	t.Run("dry run", func(t *testing.T) {
		in := api.DeepCopy(d)
		in.Spec.Paused = true
		out, err := deps.Update(ctx, in, registry.UpdateOptions{DryRun: true})
		require.NoError(t, err)
		require.True(t, out.(*api.Deployment).Spec.Paused)
		got, err := deps.Get(ctx, "default", "web", registry.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, d, got)
	})

	t.Run("unknown subresource", func(t *testing.T) {
		_, err := deps.Update(ctx, api.DeepCopy(d), registry.UpdateOptions{Subresource: "scale"})
		requireStatus(t, err, api.StatusReasonBadRequest, http.StatusBadRequest)
	})
}

func TestUpdateUnconditionalRetries(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cms := e.registry(t, api.CoreV1.WithKind("ConfigMap"), registry.Options{})
	_, err := cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "c"}}, registry.CreateOptions{})
	require.NoError(t, err)
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "c"},
				Data: map[string]string{"k": string(rune('a' + i))}}
			_, err := cms.Update(ctx, cm, registry.UpdateOptions{})
			errs <- err
		}()
	}
	for range writers {
		require.NoError(t, <-errs)
	}
}

func TestUserKind(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	widgets := e.registry(t, widgetGVK, registry.Options{})
	_, err := widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "w"}, Spec: WidgetSpec{Size: -1}}, registry.CreateOptions{})
	se := requireStatus(t, err, api.StatusReasonInvalid, http.StatusUnprocessableEntity)
	require.Equal(t, "spec.size", se.Status.Details.Causes[0].Field)

	out, err := widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "w"}, Spec: WidgetSpec{Size: 1}}, registry.CreateOptions{})
	require.NoError(t, err)
	w := out.(*Widget)
	w.Spec.Size = 2
	w.Status.Ready = 5
	out, err = widgets.Update(ctx, w, registry.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(2), out.GetObjectMeta().Generation)
	require.Equal(t, int32(0), out.(*Widget).Status.Ready)
	w = out.(*Widget)
	w.Status.Ready = 5
	out, err = widgets.Update(ctx, w, registry.UpdateOptions{Subresource: "status"})
	require.NoError(t, err)
	require.Equal(t, int32(5), out.(*Widget).Status.Ready)
	require.Equal(t, int64(2), out.GetObjectMeta().Generation)
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	created, err := pods.Create(ctx, pod("default", "web", nil), registry.CreateOptions{})
	require.NoError(t, err)

	tests := []struct {
		name   string
		pod    string
		pre    *registry.Preconditions
		reason api.StatusReason
		code   int
	}{
		{"missing", "nope", nil, api.StatusReasonNotFound, http.StatusNotFound},
		{"uid precondition", "web", &registry.Preconditions{UID: "other"}, api.StatusReasonConflict, http.StatusConflict},
		{"resourceVersion precondition", "web", &registry.Preconditions{ResourceVersion: "99"}, api.StatusReasonConflict, http.StatusConflict},
		{"bad resourceVersion precondition", "web", &registry.Preconditions{ResourceVersion: "x"}, api.StatusReasonBadRequest, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pods.Delete(ctx, "default", tt.pod, registry.DeleteOptions{Preconditions: tt.pre})
			requireStatus(t, err, tt.reason, tt.code)
		})
	}

	_, err = pods.Delete(ctx, "default", "web", registry.DeleteOptions{DryRun: true})
	require.NoError(t, err)
	_, err = pods.Get(ctx, "default", "web", registry.GetOptions{})
	require.NoError(t, err, "dry run deletes nothing")

	out, err := pods.Delete(ctx, "default", "web", registry.DeleteOptions{Preconditions: &registry.Preconditions{
		UID: created.GetObjectMeta().UID, ResourceVersion: created.GetObjectMeta().ResourceVersion}})
	require.NoError(t, err)
	require.Equal(t, created, out)
	_, err = pods.Get(ctx, "default", "web", registry.GetOptions{})
	requireStatus(t, err, api.StatusReasonNotFound, http.StatusNotFound)
}

func TestFinalizersDelayDeletion(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	nss := e.registry(t, namespaceGVK, registry.Options{})
	ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team", Finalizers: []string{"example.com/a", "example.com/b"}}}
	_, err := nss.Create(ctx, ns, registry.CreateOptions{})
	require.NoError(t, err)

	out, err := nss.Delete(ctx, "", "team", registry.DeleteOptions{})
	require.NoError(t, err)
	m := out.GetObjectMeta()
	require.NotNil(t, m.DeletionTimestamp)
	require.True(t, m.DeletionTimestamp.Equal(api.NewTime(e.now)))
	require.Equal(t, int64(0), *m.DeletionGracePeriodSeconds)
	got, err := nss.Get(ctx, "", "team", registry.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, out, got)

	// Deleting again changes nothing.
	again, err := nss.Delete(ctx, "", "team", registry.DeleteOptions{})
	require.NoError(t, err)
	require.Equal(t, got, again)

	// Removing one finalizer keeps it; removing the last deletes it.
	cur := api.DeepCopy(got.(*api.Namespace))
	cur.Finalizers = []string{"example.com/b"}
	cur.DeletionTimestamp = nil // server-owned: carried over
	upd, err := nss.Update(ctx, cur, registry.UpdateOptions{})
	require.NoError(t, err)
	require.NotNil(t, upd.GetObjectMeta().DeletionTimestamp)

	// Adding a finalizer to an object being deleted is refused.
	add := api.DeepCopy(upd.(*api.Namespace))
	add.Finalizers = append(add.Finalizers, "example.com/c")
	_, err = nss.Update(ctx, add, registry.UpdateOptions{})
	requireStatus(t, err, api.StatusReasonInvalid, http.StatusUnprocessableEntity)

	// The namespace's own finalizer ("kubernetes", added on create) goes
	// through finalize; the namespace stays while metadata finalizers remain.
	require.Equal(t, []api.FinalizerName{"kubernetes"}, upd.(*api.Namespace).Spec.Finalizers)
	fin := api.DeepCopy(upd.(*api.Namespace))
	fin.Spec.Finalizers = nil
	upd, err = nss.Finalize(ctx, fin, registry.UpdateOptions{})
	require.NoError(t, err)
	require.NotNil(t, upd.GetObjectMeta().DeletionTimestamp)

	last := api.DeepCopy(upd.(*api.Namespace))
	last.Finalizers = nil
	_, err = nss.Update(ctx, last, registry.UpdateOptions{})
	require.NoError(t, err)
	_, err = nss.Get(ctx, "", "team", registry.GetOptions{})
	requireStatus(t, err, api.StatusReasonNotFound, http.StatusNotFound)
}

func TestDefaultOptions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	k, _ := e.scheme.KindFor(podGVK)
	pods, err := registry.New(e.st, e.scheme, k, registry.Options{})
	require.NoError(t, err)
	require.Equal(t, k.GroupVersionKind, pods.Kind().GroupVersionKind)
	require.Equal(t, "/registry/deployments.apps/", registry.KeyPrefix(must(e.scheme.KindFor(deploymentGVK))))
	a, err := pods.Create(ctx, pod("default", "a", nil), registry.CreateOptions{})
	require.NoError(t, err)
	b, err := pods.Create(ctx, pod("default", "b", nil), registry.CreateOptions{})
	require.NoError(t, err)
	uuid := `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`
	require.Regexp(t, uuid, string(a.GetObjectMeta().UID))
	require.NotEqual(t, a.GetObjectMeta().UID, b.GetObjectMeta().UID)
}

func must(k api.Kind, ok bool) api.Kind {
	if !ok {
		panic("kind not registered")
	}
	return k
}
