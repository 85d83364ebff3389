package controllertest_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/record"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
)

// Widget is a user kind with a status subresource and validation.
type Widget struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Spec           WidgetSpec   `json:"spec,omitzero"`
	Status         WidgetStatus `json:"status,omitzero"`
}

type WidgetSpec struct {
	Size int32 `json:"size,omitempty"`
}

type WidgetStatus struct {
	Ready int32 `json:"ready,omitempty"`
}

// Validate implements api.Validator: a size is between 0 and 10.
func (w *Widget) Validate() api.ErrorList {
	if w.Spec.Size < 0 || w.Spec.Size > 10 {
		return api.ErrorList{api.Invalid(api.NewPath("spec", "size"), w.Spec.Size, "must be between 0 and 10")}
	}
	return nil
}

var widgetKind = api.Kind{
	GroupVersionKind: api.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"},
	Resource:         "widgets",
	Namespaced:       true,
	Subresources:     []string{"status"},
}

func widgetScheme(t testing.TB) *api.Scheme {
	t.Helper()
	scheme := api.NewDefaultScheme()
	require.NoError(t, api.Register[Widget](scheme, widgetKind))
	return scheme
}

func TestEnvHasNamespacesAndUserKinds(t *testing.T) {
	env := controllertest.New(t, controllertest.WithScheme(widgetScheme(t)))
	ctx := controllertest.Context(t)
	nss, err := client.Resource[api.Namespace](env.Client).List(ctx)
	require.NoError(t, err)
	var names []string
	for _, ns := range nss.Items {
		names = append(names, ns.Name)
	}
	require.ElementsMatch(t, controllertest.DefaultNamespaces, names)

	widgets := client.Resource[Widget](env.Client)
	w, err := widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "w1"}, Spec: WidgetSpec{Size: 3}})
	require.NoError(t, err)
	require.NotEmpty(t, w.UID)
	require.EqualValues(t, 1, w.Generation)

	// Admission: the namespace must exist.
	_, err = widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "nowhere", Name: "w1"}})
	require.Error(t, err)
	require.NoError(t, env.CreateNamespace(ctx, "nowhere"))
	_, err = widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "nowhere", Name: "w1"}})
	require.NoError(t, err)
}

func TestEnvHasRealSemantics(t *testing.T) {
	env := controllertest.New(t, controllertest.WithScheme(widgetScheme(t)))
	ctx := controllertest.Context(t)
	widgets := client.Resource[Widget](env.Client)
	w, err := widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "w1"}, Spec: WidgetSpec{Size: 3}})
	require.NoError(t, err)

	t.Run("validation", func(t *testing.T) {
		_, err := widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "big"}, Spec: WidgetSpec{Size: 11}})
		require.True(t, api.IsInvalid(err), "err = %v", err)
		var se *api.StatusError
		require.ErrorAs(t, err, &se)
		require.Equal(t, http.StatusUnprocessableEntity, int(se.Status.Code))
		require.NotNil(t, se.Status.Details)
		require.Len(t, se.Status.Details.Causes, 1)
		require.Equal(t, "spec.size", se.Status.Details.Causes[0].Field)

		_, err = widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "Not_A_Name"}})
		require.True(t, api.IsInvalid(err), "err = %v", err)
	})

	t.Run("conflict", func(t *testing.T) {
		fresh := *w
		fresh.Spec.Size = 4
		updated, err := widgets.Update(ctx, &fresh)
		require.NoError(t, err)
		require.EqualValues(t, 2, updated.Generation)

		stale := *w // the resourceVersion of the create
		stale.Spec.Size = 5
		_, err = widgets.Update(ctx, &stale)
		require.True(t, api.IsConflict(err), "err = %v", err)

		_, err = widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "w1"}})
		require.True(t, api.IsAlreadyExists(err), "err = %v", err)
	})

	t.Run("status subresource", func(t *testing.T) {
		cur, err := widgets.Get(ctx, "default", "w1")
		require.NoError(t, err)
		cur.Status.Ready = 2
		cur.Spec.Size = 9 // ignored by /status
		got, err := widgets.UpdateStatus(ctx, cur)
		require.NoError(t, err)
		require.EqualValues(t, 2, got.Status.Ready)
		require.EqualValues(t, 4, got.Spec.Size)
		require.Equal(t, cur.Generation, got.Generation, "a status write does not bump the generation")

		got.Status.Ready = 7 // ignored by the main resource
		got.Spec.Size = 6
		got, err = widgets.Update(ctx, got)
		require.NoError(t, err)
		require.EqualValues(t, 2, got.Status.Ready)
		require.EqualValues(t, 6, got.Spec.Size)
	})

	t.Run("watch", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		list, err := widgets.List(ctx, client.InNamespace("default"))
		require.NoError(t, err)
		wt, err := widgets.Watch(wctx, client.InNamespace("default"), client.ListOptions{ResourceVersion: list.ResourceVersion})
		require.NoError(t, err)
		defer wt.Stop()
		_, err = widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "w2"}})
		require.NoError(t, err)
		require.NoError(t, widgets.Delete(ctx, "default", "w2"))
		for _, want := range []api.WatchEventType{api.WatchAdded, api.WatchDeleted} {
			ev := <-wt.Events()
			require.Equal(t, want, ev.Type)
			require.Equal(t, "w2", ev.Object.GetObjectMeta().Name)
		}
	})
}

func TestFakeClockDrivesTheServer(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := fakeclock.New(start)
	env := controllertest.New(t, controllertest.WithClock(clk))
	ctx := controllertest.Context(t)
	cms := client.Resource[api.ConfigMap](env.Client)
	cm, err := cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "app"}})
	require.NoError(t, err)
	require.True(t, cm.CreationTimestamp.Time.Equal(start), "creationTimestamp %v, want the fake clock's %v", cm.CreationTimestamp, start)

	// An event recorded on the Env's clock expires when that clock has
	// moved past the server's event TTL.
	rec, err := record.New(record.Config{Client: env.Client, Component: "test", Clock: env.Clock})
	require.NoError(t, err)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- rec.Run(rctx) }()
	defer func() { stop(); require.NoError(t, <-done) }()
	rec.Event(cm, api.EventTypeNormal, "Seen", "seen by the test")
	events := client.Resource[api.Event](env.Client)
	controllertest.Eventually(t, func() bool {
		l, err := events.List(ctx, client.InNamespace("default"))
		require.NoError(t, err)
		return len(l.Items) == 1
	})
	clk.Advance(time.Hour + time.Minute)
	controllertest.Eventually(t, func() bool {
		l, err := events.List(ctx, client.InNamespace("default"))
		require.NoError(t, err)
		return len(l.Items) == 0
	})
}

func TestWaitFor(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	cms := client.Resource[api.ConfigMap](env.Client)

	// The object does not exist yet: WaitFor waits for its creation, then
	// for the change.
	errc := make(chan error, 1)
	go func() {
		cm, err := cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "app"}})
		if err == nil {
			cm.Data = map[string]string{"k": "v"}
			_, err = cms.Update(ctx, cm)
		}
		errc <- err
	}()
	got, err := controllertest.WaitFor(ctx, env.Client, "default", "app", func(cm *api.ConfigMap) bool { return cm.Data["k"] == "v" })
	require.NoError(t, err)
	require.NoError(t, <-errc)
	require.Equal(t, "v", got.Data["k"])

	// Already true: at once.
	_, err = controllertest.WaitFor(ctx, env.Client, "default", "app", func(cm *api.ConfigMap) bool { return true })
	require.NoError(t, err)

	// Never true: ctx's error, and what was seen.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = controllertest.WaitFor(short, env.Client, "default", "app", func(cm *api.ConfigMap) bool { return false })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "ConfigMap default/app")
	require.ErrorContains(t, err, `"k":"v"`)
	short2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	_, err = controllertest.WaitFor(short2, env.Client, "default", "nothing", func(cm *api.ConfigMap) bool { return true })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "never existed")

	// Deletion: held by a finalizer until it is removed.
	require.NoError(t, controllertest.WaitForDeletion[api.ConfigMap](ctx, env.Client, "default", "nothing"))
	got.Finalizers = []string{"example.com/hold"}
	got, err = cms.Update(ctx, got)
	require.NoError(t, err)
	require.NoError(t, cms.Delete(ctx, "default", "app"))
	go func() {
		_, err := controllertest.WaitFor(ctx, env.Client, "default", "app", func(cm *api.ConfigMap) bool { return cm.DeletionTimestamp != nil })
		if err == nil {
			err = client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
				cm, err := cms.Get(ctx, "default", "app")
				if err != nil {
					return err
				}
				cm.Finalizers = nil
				_, err = cms.Update(ctx, cm)
				return err
			})
		}
		errc <- err
	}()
	require.NoError(t, controllertest.WaitForDeletion[api.ConfigMap](ctx, env.Client, "default", "app"))
	require.NoError(t, <-errc)
}

func TestHTTPAndKubeconfig(t *testing.T) {
	env := controllertest.New(t, controllertest.WithHTTP())
	require.True(t, strings.HasPrefix(env.URL, "http://127.0.0.1:"), env.URL)
	path, err := env.Kubeconfig()
	require.NoError(t, err)
	again, err := env.Kubeconfig()
	require.NoError(t, err)
	require.Equal(t, path, again)

	cfg, err := client.LoadKubeconfig(path, "")
	require.NoError(t, err)
	require.Equal(t, env.URL, cfg.Host)
	c, err := client.New(cfg)
	require.NoError(t, err)
	ctx := controllertest.Context(t)
	var ns api.Namespace
	require.NoError(t, c.Get(ctx, "", "kube-system", &ns))

	noHTTP := controllertest.New(t)
	_, err = noHTTP.Kubeconfig()
	require.ErrorContains(t, err, "WithHTTP")
}

func TestAdmissionAndNamespaceOptions(t *testing.T) {
	deny := admission.ValidatorFunc(func(_ context.Context, a *admission.Attributes) error {
		if a.Kind.Kind == "ConfigMap" && a.Name == "forbidden" {
			return errors.New("no")
		}
		return nil
	})
	env := controllertest.New(t,
		controllertest.WithAdmission(admission.NewChain(nil, []admission.Validator{deny})),
		controllertest.WithNamespaces("team-a"))
	ctx := controllertest.Context(t)
	cms := client.Resource[api.ConfigMap](env.Client)
	_, err := cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "team-a", Name: "forbidden"}})
	require.ErrorIs(t, err, api.ErrForbidden)
	// Without the default chain, a namespace need not exist.
	_, err = cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "ok"}})
	require.NoError(t, err)
	var ns api.Namespace
	require.True(t, api.IsNotFound(env.Client.Get(ctx, "", "default", &ns)))
	require.NoError(t, env.Client.Get(ctx, "", "team-a", &ns))
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx := controllertest.Context(t)
	env, err := controllertest.Start(ctx, controllertest.Config{HTTP: true, Clock: fakeclock.New(time.Unix(0, 0))})
	require.NoError(t, err)
	_, err = env.Kubeconfig()
	require.NoError(t, err)
	cms := client.Resource[api.ConfigMap](env.Client)
	_, err = cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "app"}})
	require.NoError(t, err)
	w, err := cms.Watch(ctx, client.InNamespace("default"))
	require.NoError(t, err)
	// Over HTTP too.
	hc, err := client.New(client.Config{Host: env.URL})
	require.NoError(t, err)
	var ns api.Namespace
	require.NoError(t, hc.Get(ctx, "", "default", &ns))
	closed := false
	env.OnClose(func() error { closed = true; return nil })

	require.NoError(t, env.Close())
	require.NoError(t, env.Close()) // twice is fine
	require.True(t, closed)
	// The watch ends with the Env: its channel closes.
	for range w.Events() {
	}
	// Every goroutine ends: the store's, the server's, the HTTP server's
	// and the watch's. (Connections the HTTP client keeps end when the
	// server closes them.)
	controllertest.Eventually(t, func() bool { return runtime.NumGoroutine() <= before })
}
