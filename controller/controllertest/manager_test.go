package controllertest_test

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// seenReconciler copies each ConfigMap's data["v"] to its annotation
// "example.com/seen", through the API server.
type seenReconciler struct {
	c     *client.Client
	calls atomic.Int64
}

func (r *seenReconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	r.calls.Add(1)
	cms := client.Resource[api.ConfigMap](r.c)
	cm, err := cms.Get(ctx, req.Namespace, req.Name)
	if api.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if cm.Annotations["example.com/seen"] == cm.Data["v"] {
		return controller.Result{}, nil
	}
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations["example.com/seen"] = cm.Data["v"]
	_, err = cms.Update(ctx, cm) // a Conflict is retried by the controller
	return controller.Result{}, err
}

func TestManagerRunsAReconcilerAgainstTheServer(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	cms := client.Resource[api.ConfigMap](env.Client)
	// Made before the manager starts: reconciled all the same.
	first, err := cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "early"}, Data: map[string]string{"v": "0"}})
	require.NoError(t, err)

	mgr, err := env.NewManager(controller.ManagerConfig{})
	require.NoError(t, err)
	r := &seenReconciler{c: mgr.GetClient()}
	require.NoError(t, controller.NewControllerManagedBy(mgr).For(&api.ConfigMap{}).Complete(r))
	require.NoError(t, env.StartManager(mgr))

	seen := func(v string) func(*api.ConfigMap) bool {
		return func(cm *api.ConfigMap) bool { return cm.Annotations["example.com/seen"] == v }
	}
	_, err = controllertest.WaitFor(ctx, env.Client, "default", "early", seen("0"))
	require.NoError(t, err)

	cm, err := cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "app"}, Data: map[string]string{"v": "1"}})
	require.NoError(t, err)
	got, err := controllertest.WaitFor(ctx, env.Client, "default", "app", seen("1"))
	require.NoError(t, err)

	// The reconciler's write moved the resourceVersion on: the test's copy
	// is stale and the server says so, as it would to a real client.
	cm.Data["v"] = "2"
	_, err = cms.Update(ctx, cm)
	require.True(t, api.IsConflict(err), "err = %v", err)
	got.Data["v"] = "2"
	_, err = cms.Update(ctx, got)
	require.NoError(t, err)
	_, err = controllertest.WaitFor(ctx, env.Client, "default", "app", seen("2"))
	require.NoError(t, err)

	// Validation applies to the reconciler's writes too: an annotation
	// key that is not a qualified name is refused with its field.
	early, err := cms.Get(ctx, "default", "early")
	require.NoError(t, err)
	require.NotEqual(t, first.ResourceVersion, early.ResourceVersion)
	early.Annotations["not a key"] = "x"
	_, err = cms.Update(ctx, early)
	require.True(t, api.IsInvalid(err), "err = %v", err)
	var se *api.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "metadata.annotations", se.Status.Details.Causes[0].Field)

	// Deletion reaches the reconciler, which finds nothing.
	before := r.calls.Load()
	require.NoError(t, cms.Delete(ctx, "default", "app"))
	require.NoError(t, controllertest.WaitForDeletion[api.ConfigMap](ctx, env.Client, "default", "app"))
	controllertest.Eventually(t, func() bool { return r.calls.Load() > before })
}

// readyReconciler mirrors a Widget's spec.size into status.ready through
// the status subresource, and tries to change the spec in the same write.
// It asks to be called again a minute later.
type readyReconciler struct {
	c     *client.Client
	calls atomic.Int64
}

func (r *readyReconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	r.calls.Add(1)
	widgets := client.Resource[Widget](r.c)
	w, err := widgets.Get(ctx, req.Namespace, req.Name)
	if api.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if w.Status.Ready != w.Spec.Size {
		w.Status.Ready = w.Spec.Size
		w.Spec.Size = 99 // not the status's: the server ignores it
		if _, err := widgets.UpdateStatus(ctx, w); err != nil {
			return controller.Result{}, err
		}
	}
	return controller.Result{RequeueAfter: time.Minute}, nil
}

func TestManagerOnAFakeClock(t *testing.T) {
	clk := fakeclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	env := controllertest.New(t, controllertest.WithScheme(widgetScheme(t)), controllertest.WithClock(clk))
	ctx := controllertest.Context(t)
	mgr, err := env.NewManager(controller.ManagerConfig{})
	require.NoError(t, err)
	r := &readyReconciler{c: mgr.GetClient()}
	require.NoError(t, controller.NewControllerManagedBy(mgr).For(&Widget{}).Complete(r))
	require.NoError(t, env.StartManager(mgr))

	_, err = client.Resource[Widget](env.Client).Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "w"}, Spec: WidgetSpec{Size: 3}})
	require.NoError(t, err)
	w, err := controllertest.WaitFor(ctx, env.Client, "default", "w", func(w *Widget) bool { return w.Status.Ready == 3 })
	require.NoError(t, err)
	require.EqualValues(t, 3, w.Spec.Size, "the status subresource ignored the spec")
	require.EqualValues(t, 1, w.Generation)

	// RequeueAfter waits on the fake clock: the reconciler is called again
	// once the test has moved it a minute. (The clock is moved in small
	// steps until then, as the requeue's timer is set on the controller's
	// goroutine some time after the reconcile.)
	calls := r.calls.Load()
	controllertest.Eventually(t, func() bool {
		clk.Advance(10 * time.Second)
		return r.calls.Load() > calls
	})
}

func TestManagerFailureFailsClose(t *testing.T) {
	env, err := controllertest.Start(controllertest.Context(t), controllertest.Config{})
	require.NoError(t, err)
	mgr, err := env.NewManager(controller.ManagerConfig{})
	require.NoError(t, err)
	boom := errors.New("boom")
	called := make(chan struct{})
	require.NoError(t, mgr.Add(controller.RunnableFunc(func(context.Context) error {
		close(called)
		return boom
	})))
	require.NoError(t, env.StartManager(mgr))
	<-called
	controllertest.Eventually(t, func() bool { return !mgr.IsLeader() }) // Start has returned
	require.ErrorIs(t, env.Close(), boom)
	require.Error(t, env.StartManager(mgr), "after Close")
}

func TestCloseStopsManagers(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx := controllertest.Context(t)
	env, err := controllertest.Start(ctx, controllertest.Config{})
	require.NoError(t, err)
	mgr, err := env.NewManager(controller.ManagerConfig{})
	require.NoError(t, err)
	r := &seenReconciler{c: mgr.GetClient()}
	require.NoError(t, controller.NewControllerManagedBy(mgr).For(&api.ConfigMap{}).Complete(r))
	require.NoError(t, env.StartManager(mgr))
	_, err = client.Resource[api.ConfigMap](env.Client).Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "app"}, Data: map[string]string{"v": "1"}})
	require.NoError(t, err)
	_, err = controllertest.WaitFor(ctx, env.Client, "default", "app", func(cm *api.ConfigMap) bool { return cm.Annotations["example.com/seen"] == "1" })
	require.NoError(t, err)

	require.NoError(t, env.Close())
	controllertest.Eventually(t, func() bool { return runtime.NumGoroutine() <= before })
}
