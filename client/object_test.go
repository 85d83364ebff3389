package client_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
)

// TestVerbs runs every verb against a real server, over HTTP and over the
// in-process transport.
func TestVerbs(t *testing.T) {
	for _, transport := range []string{"http", "in-process"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t)
			c := e.inProcess(t)
			if transport == "http" {
				c = e.client(t)
			}
			testVerbs(t, c)
		})
	}
}

func testVerbs(t *testing.T, c *client.Client) {
	ctx := ctxT(t)

	// Create fills in what the server set.
	p := pod("default", "web", map[string]string{"app": "web"})
	require.NoError(t, c.Create(ctx, p))
	require.NotEmpty(t, p.UID)
	require.NotEmpty(t, p.ResourceVersion)
	require.Equal(t, "Pod", p.Kind)
	require.Equal(t, "v1", p.APIVersion)
	require.NoError(t, c.Create(ctx, pod("default", "db", map[string]string{"app": "db"})))
	require.NoError(t, c.Create(ctx, pod("other", "web", map[string]string{"app": "web"})))

	// AlreadyExists.
	err := c.Create(ctx, pod("default", "web", nil))
	require.ErrorIs(t, err, api.ErrAlreadyExists)
	se, ok := errors.AsType[*api.StatusError](err)
	require.True(t, ok)
	require.Equal(t, int32(409), se.Status.Code)

	// Invalid, with the causes.
	bad := pod("default", "bad", nil)
	bad.Spec.Containers = nil
	err = c.Create(ctx, bad)
	require.ErrorIs(t, err, api.ErrInvalid)
	se, _ = errors.AsType[*api.StatusError](err)
	require.NotNil(t, se.Status.Details)
	require.NotEmpty(t, se.Status.Details.Causes)

	// A namespaced create without a namespace is refused before the wire.
	err = c.Create(ctx, pod("", "x", nil))
	require.ErrorContains(t, err, "namespace is empty")

	// Get.
	var got api.Pod
	require.NoError(t, c.Get(ctx, "default", "web", &got))
	require.Equal(t, p.UID, got.UID)
	require.Equal(t, "nginx:1.27", got.Spec.Containers[0].Image)
	err = c.Get(ctx, "default", "nope", &got)
	require.ErrorIs(t, err, api.ErrNotFound)
	require.True(t, api.IsNotFound(err))
	require.Equal(t, p.UID, got.UID, "a failed Get leaves the object alone")

	// List: all namespaces, one namespace, selectors.
	var pods api.PodList
	require.NoError(t, c.List(ctx, &pods))
	require.Len(t, pods.Items, 3)
	require.NotEmpty(t, pods.ResourceVersion)
	require.NoError(t, c.List(ctx, &pods, client.InNamespace("default")))
	require.Len(t, pods.Items, 2)
	require.NoError(t, c.List(ctx, &pods, client.MatchingLabels{"app": "web"}))
	require.Len(t, pods.Items, 2)
	sel, err := labels.Parse("app in (db)")
	require.NoError(t, err)
	require.NoError(t, c.List(ctx, &pods, client.ListOptions{LabelSelector: sel}))
	require.Len(t, pods.Items, 1)
	require.Equal(t, "db", pods.Items[0].Name)
	require.NoError(t, c.List(ctx, &pods, client.MatchingFields{"metadata.namespace": "other"}))
	require.Len(t, pods.Items, 1)
	require.Equal(t, "other", pods.Items[0].Namespace)

	// Update is compare-and-swap on the resourceVersion.
	stale := got
	got.Labels["tier"] = "front"
	require.NoError(t, c.Update(ctx, &got))
	require.Equal(t, "front", got.Labels["tier"])
	require.NotEqual(t, stale.ResourceVersion, got.ResourceVersion)
	stale.Labels = map[string]string{"app": "stale"}
	require.ErrorIs(t, c.Update(ctx, &stale), api.ErrConflict)

	// Dry runs store nothing.
	dry := pod("default", "dry", nil)
	require.NoError(t, c.Create(ctx, dry, client.DryRunAll))
	require.ErrorIs(t, c.Get(ctx, "default", "dry", &api.Pod{}), api.ErrNotFound)

	// DiscardResult stores the write but leaves the object as sent.
	fire := pod("default", "fire-and-forget", nil)
	require.NoError(t, c.Create(ctx, fire, client.DiscardResult))
	require.Empty(t, fire.UID, "not decoded")
	require.Empty(t, fire.ResourceVersion, "not decoded")
	var stored api.Pod
	require.NoError(t, c.Get(ctx, "default", "fire-and-forget", &stored))
	require.NotEmpty(t, stored.UID)
	require.NoError(t, c.Patch(ctx, fire, client.MergePatch, []byte(`{"metadata":{"labels":{"p":"1"}}}`), client.DiscardResult))
	require.Empty(t, fire.Labels["p"], "not decoded")
	require.NoError(t, c.Get(ctx, "default", "fire-and-forget", &stored))
	require.Equal(t, "1", stored.Labels["p"])
	require.ErrorIs(t, c.Create(ctx, pod("default", "fire-and-forget", nil), client.DiscardResult), api.ErrAlreadyExists)
	require.NoError(t, c.Delete(ctx, &stored))

	// Patch: merge, strategic, JSON.
	require.NoError(t, c.Patch(ctx, &got, client.MergePatch, []byte(`{"metadata":{"labels":{"merge":"yes"}}}`)))
	require.Equal(t, "yes", got.Labels["merge"])
	require.NoError(t, c.Patch(ctx, &got, client.StrategicMergePatch,
		[]byte(`{"spec":{"containers":[{"name":"app","image":"nginx:1.28"}]}}`)))
	require.Equal(t, "nginx:1.28", got.Spec.Containers[0].Image)
	require.NoError(t, c.Patch(ctx, &got, client.JSONPatch,
		[]byte(`[{"op":"replace","path":"/metadata/labels/merge","value":"json"}]`)))
	require.Equal(t, "json", got.Labels["merge"])
	err = c.Patch(ctx, &got, client.JSONPatch, []byte(`[{"op":"test","path":"/metadata/labels/merge","value":"no"}]`))
	require.ErrorIs(t, err, api.ErrInvalid)

	// Status, on a user kind.
	w := &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "w"}, Spec: WidgetSpec{Size: 1}}
	require.NoError(t, c.Create(ctx, w))
	w.Status.Ready = 1
	w.Spec.Size = 5 // ignored by the status subresource
	require.NoError(t, c.UpdateStatus(ctx, w))
	require.Equal(t, int32(1), w.Status.Ready)
	require.Equal(t, int32(1), w.Spec.Size)
	require.NoError(t, c.PatchStatus(ctx, w, client.MergePatch, []byte(`{"status":{"ready":2}}`)))
	require.Equal(t, int32(2), w.Status.Ready)
	require.ErrorContains(t, c.UpdateStatus(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "c"}}),
		"has no status subresource")

	// Delete, with preconditions.
	err = c.Delete(ctx, &got, client.DeleteOptions{Preconditions: &client.Preconditions{UID: "not-the-uid"}})
	require.ErrorIs(t, err, api.ErrConflict)
	require.NoError(t, c.Delete(ctx, &got, client.DryRunAll))
	require.NoError(t, c.Get(ctx, "default", "web", &api.Pod{}))
	require.NoError(t, c.Delete(ctx, &got, client.DeleteOptions{Preconditions: &client.Preconditions{UID: got.UID, ResourceVersion: got.ResourceVersion}}))
	require.ErrorIs(t, c.Get(ctx, "default", "web", &api.Pod{}), api.ErrNotFound)
	require.ErrorIs(t, c.Delete(ctx, &got), api.ErrNotFound)

	// Cluster-scoped kinds.
	var nss api.NamespaceList
	require.NoError(t, c.List(ctx, &nss))
	require.GreaterOrEqual(t, len(nss.Items), 2)
	var ns api.Namespace
	require.NoError(t, c.Get(ctx, "", "other", &ns))
	require.Equal(t, "other", ns.Name)

	// Types the scheme does not know.
	type stray struct {
		api.TypeMeta
		api.ObjectMeta
	}
	require.ErrorContains(t, c.Get(ctx, "default", "x", &stray{}), "not registered")
}

func TestListPaging(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	ctx := ctxT(t)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		require.NoError(t, c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: n}}))
	}
	var names []string
	opts := client.ListOptions{Namespace: "default", Limit: 2}
	for {
		var l api.ConfigMapList
		require.NoError(t, c.List(ctx, &l, opts))
		require.LessOrEqual(t, len(l.Items), 2)
		for _, cm := range l.Items {
			names = append(names, cm.Name)
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	require.Equal(t, []string{"a", "b", "c", "d", "e"}, names)
}

func TestDeleteAllOf(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	ctx := ctxT(t)
	for i, n := range []string{"a", "b", "c"} {
		lbl := map[string]string{"del": "yes"}
		if i == 2 {
			lbl["del"] = "no"
		}
		require.NoError(t, c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: n, Labels: lbl}}))
	}
	require.NoError(t, c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "other", Name: "a", Labels: map[string]string{"del": "yes"}}}))

	cms := client.Resource[api.ConfigMap](c)
	require.NoError(t, cms.DeleteAllOf(ctx, client.ListOptions{Namespace: "default", LabelSelector: labels.SelectorFromSet(labels.Set{"del": "yes"})}, client.DeleteOptions{}))
	l, err := cms.List(ctx)
	require.NoError(t, err)
	var left []string
	for _, cm := range l.Items {
		left = append(left, cm.Namespace+"/"+cm.Name)
	}
	require.ElementsMatch(t, []string{"default/c", "other/a"}, left)

	err = c.DeleteAllOf(ctx, &api.ConfigMapList{}, client.ListOptions{}, client.DeleteOptions{})
	require.ErrorContains(t, err, "Namespace is empty")
}

func TestTypedResource(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	ctx := ctxT(t)
	widgets := client.Resource[Widget](c)

	in := &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "w1"}, Spec: WidgetSpec{Size: 3}}
	out, err := widgets.Create(ctx, in)
	require.NoError(t, err)
	require.NotEmpty(t, out.UID)
	require.Empty(t, in.UID, "the typed client leaves its argument alone")

	got, err := widgets.Get(ctx, "default", "w1")
	require.NoError(t, err)
	require.Equal(t, int32(3), got.Spec.Size)

	got.Spec.Color = "red"
	upd, err := widgets.Update(ctx, got)
	require.NoError(t, err)
	require.Equal(t, "red", upd.Spec.Color)
	_, err = widgets.Update(ctx, got) // got is stale now
	require.ErrorIs(t, err, api.ErrConflict)

	upd.Status.Ready = 3
	st, err := widgets.UpdateStatus(ctx, upd)
	require.NoError(t, err)
	require.Equal(t, int32(3), st.Status.Ready)

	p, err := widgets.Patch(ctx, "default", "w1", client.MergePatch, []byte(`{"spec":{"size":4}}`))
	require.NoError(t, err)
	require.Equal(t, int32(4), p.Spec.Size)
	p, err = widgets.PatchStatus(ctx, "default", "w1", client.MergePatch, []byte(`{"status":{"ready":4}}`))
	require.NoError(t, err)
	require.Equal(t, int32(4), p.Status.Ready)

	l, err := widgets.List(ctx, client.InNamespace("default"))
	require.NoError(t, err)
	require.Len(t, l.Items, 1)
	require.Equal(t, "Widget", l.Items[0].Kind, "items keep their kind")

	require.NoError(t, widgets.Delete(ctx, "default", "w1"))
	_, err = widgets.Get(ctx, "default", "w1")
	require.ErrorIs(t, err, api.ErrNotFound)
	require.ErrorIs(t, widgets.Delete(ctx, "default", "w1"), api.ErrNotFound)
}

func TestGenerateName(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	ctx := ctxT(t)
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", GenerateName: "cfg-"}}
	require.NoError(t, c.Create(ctx, cm))
	require.Regexp(t, `^cfg-.+`, cm.Name)
}

func TestMergePatchFrom(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	ctx := ctxT(t)
	p := pod("default", "web", map[string]string{"app": "web"})
	require.NoError(t, c.Create(ctx, p))

	before := api.DeepCopy(p)
	p.Status.Phase = api.PodRunning
	patch, err := client.MergePatchFrom(before, p)
	require.NoError(t, err)
	require.JSONEq(t, `{"status":{"phase":"Running"}}`, string(patch))

	// Another writer changes the pod meanwhile: the patch still applies.
	other := api.DeepCopy(before)
	other.Labels["tier"] = "front"
	require.NoError(t, c.Update(ctx, other))
	require.NoError(t, c.PatchStatus(ctx, p, client.MergePatch, patch))
	require.Equal(t, api.PodRunning, p.Status.Phase)
	require.Equal(t, "front", p.Labels["tier"])
}

func TestBadNames(t *testing.T) {
	c, err := client.New(client.Config{Host: "http://127.0.0.1:1"})
	require.NoError(t, err)
	ctx := ctxT(t)
	require.ErrorContains(t, c.Get(ctx, "default", "a/b", &api.Pod{}), "cannot be a path segment")
	require.ErrorContains(t, c.Get(ctx, "default", "..", &api.Pod{}), "cannot be a path segment")
	require.ErrorContains(t, c.Get(ctx, "x/y", "a", &api.Pod{}), "cannot be a path segment")
	require.ErrorContains(t, c.List(ctx, &api.PodList{}, client.InNamespace("..")), "cannot be a path segment")
	require.ErrorContains(t, c.Create(ctx, pod("a%2f", "x", nil)), "cannot be a path segment")
	require.ErrorContains(t, c.Get(ctx, "default", "", &api.Pod{}), "the name is empty")
	require.ErrorContains(t, c.Get(ctx, "", "web", &api.Pod{}), "the namespace is empty")
}
