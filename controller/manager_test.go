package controller_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

func newManager(t *testing.T, s *apiserver.Server, scheme *api.Scheme, cfg controller.ManagerConfig) *controller.Manager {
	t.Helper()
	if cfg.Client == nil {
		cfg.Client = newClient(t, s, scheme)
	}
	m, err := controller.NewManager(cfg)
	require.NoError(t, err)
	return m
}

func widget(name string, size int32) *Widget {
	return &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name}, Spec: WidgetSpec{Size: size}}
}

func ownerRef(w *Widget) api.OwnerReference {
	yes := true
	return api.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: w.Name, UID: w.UID, Controller: &yes}
}

// TestForReconcilesOnCreateAndUpdate: a controller For a kind reconciles
// each object on create and on update; objects there before Start are
// reconciled too.
func TestForReconcilesOnCreateAndUpdate(t *testing.T) {
	s, scheme := newServer(t)
	m := newManager(t, s, scheme, controller.ManagerConfig{})
	c := m.GetClient()
	ctx := testCtx(t)
	before := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "before"}}
	require.NoError(t, c.Create(ctx, before))

	rec := newRecorder(nil)
	require.NoError(t, controller.NewControllerManagedBy(m).For(&api.ConfigMap{}).Complete(rec))
	start(t, m.Start)
	eventually(t, func() bool { return rec.count(controller.Request{Namespace: "default", Name: "before"}) == 1 }, "existing object reconciled")

	after := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "after"}, Data: map[string]string{"v": "1"}}
	require.NoError(t, c.Create(ctx, after))
	req := controller.Request{Namespace: "default", Name: "after"}
	eventually(t, func() bool { return rec.count(req) == 1 }, "reconciled on create")
	after.Data["v"] = "2"
	require.NoError(t, c.Update(ctx, after))
	eventually(t, func() bool { return rec.count(req) == 2 }, "reconciled on update: %v", rec)
	require.NoError(t, c.Delete(ctx, after))
	eventually(t, func() bool { return rec.count(req) == 3 }, "reconciled on delete")
}

// TestOwnsEnqueuesOwner: changes of an owned object reconcile its
// controller owner, including on delete and on a change of owner.
func TestOwnsEnqueuesOwner(t *testing.T) {
	s, scheme := newServer(t)
	m := newManager(t, s, scheme, controller.ManagerConfig{})
	c := m.GetClient()
	ctx := testCtx(t)
	rec := newRecorder(nil)
	require.NoError(t, controller.NewControllerManagedBy(m).For(&Widget{}).Owns(&api.ConfigMap{}).Complete(rec))
	start(t, m.Start)

	w1, w2 := widget("w1", 1), widget("w2", 1)
	require.NoError(t, c.Create(ctx, w1))
	require.NoError(t, c.Create(ctx, w2))
	r1, r2 := controller.Request{Namespace: "default", Name: "w1"}, controller.Request{Namespace: "default", Name: "w2"}
	eventually(t, func() bool { return rec.count(r1) >= 1 && rec.count(r2) >= 1 }, "owners reconciled on create")

	// Each step waits for more reconciles than before it: a queue may
	// merge requests, and a slow machine may see an extra one, so exact
	// counts would be a race; that the step caused a reconcile is what
	// matters.
	n1, n2 := rec.count(r1), rec.count(r2)
	owned := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "owned",
		OwnerReferences: []api.OwnerReference{ownerRef(w1)}}}
	require.NoError(t, c.Create(ctx, owned))
	eventually(t, func() bool { return rec.count(r1) > n1 }, "owner reconciled when its dependent is created")

	n1, n2 = rec.count(r1), rec.count(r2)
	owned.OwnerReferences = []api.OwnerReference{ownerRef(w2)}
	require.NoError(t, c.Update(ctx, owned))
	eventually(t, func() bool { return rec.count(r1) > n1 && rec.count(r2) > n2 }, "old and new owner reconciled on a change of owner")

	n2 = rec.count(r2)
	require.NoError(t, c.Delete(ctx, owned))
	eventually(t, func() bool { return rec.count(r2) > n2 }, "owner reconciled when its dependent is deleted")
	assert.Zero(t, rec.count(controller.Request{Namespace: "default", Name: "owned"}), "the dependent itself is not reconciled")
}

// TestWatchesMapFunc: a Watches source reconciles what its map function
// returns.
func TestWatchesMapFunc(t *testing.T) {
	s, scheme := newServer(t)
	m := newManager(t, s, scheme, controller.ManagerConfig{})
	c := m.GetClient()
	ctx := testCtx(t)
	rec := newRecorder(nil)
	toTarget := func(_ context.Context, obj api.Object) []controller.Request {
		if t := obj.GetObjectMeta().Labels["target"]; t != "" {
			return []controller.Request{{Namespace: obj.GetObjectMeta().Namespace, Name: t}}
		}
		return nil
	}
	require.NoError(t, controller.NewControllerManagedBy(m).For(&Widget{}).Watches(&api.Secret{}, toTarget).Complete(rec))
	start(t, m.Start)
	require.NoError(t, c.Create(ctx, &api.Secret{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "s",
		Labels: map[string]string{"target": "w9"}}}))
	eventually(t, func() bool { return rec.count(controller.Request{Namespace: "default", Name: "w9"}) == 1 }, "mapped request reconciled")
}

// TestPredicatesFilterEvents: with GenerationChanged, a change of labels
// does not reconcile; a change of the spec does.
func TestPredicatesFilterEvents(t *testing.T) {
	s, scheme := newServer(t)
	m := newManager(t, s, scheme, controller.ManagerConfig{})
	c := m.GetClient()
	ctx := testCtx(t)
	type seen struct {
		gen     int64
		labeled bool
	}
	var (
		mu  sync.Mutex
		obs []seen
	)
	rec := newRecorder(func(ctx context.Context, req controller.Request, _ int) (controller.Result, error) {
		var w Widget
		if err := c.Get(ctx, req.Namespace, req.Name, &w); err != nil {
			return controller.Result{}, err
		}
		mu.Lock()
		obs = append(obs, seen{gen: w.Generation, labeled: w.Labels["x"] == "y"})
		mu.Unlock()
		return controller.Result{}, nil
	})
	require.NoError(t, controller.NewControllerManagedBy(m).For(&Widget{}, controller.GenerationChanged()).Complete(rec))
	start(t, m.Start)

	w := widget("w", 1)
	require.NoError(t, c.Create(ctx, w))
	req := controller.Request{Namespace: "default", Name: "w"}
	// The recorder counts a reconcile when it starts, before the read:
	// wait for what the first one saw, or it may read the changes below.
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(obs) == 1
	}, "reconciled on create")
	w.Labels = map[string]string{"x": "y"}
	require.NoError(t, c.Update(ctx, w))
	require.Equal(t, int64(1), w.Generation, "a label change keeps the generation")
	w.Spec.Size = 2
	require.NoError(t, c.Update(ctx, w))
	require.Equal(t, int64(2), w.Generation)
	// The recorder counts a reconcile when it starts: wait for what it saw.
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(obs) == 2
	}, "reconciled on the spec change")
	require.Equal(t, 2, rec.count(req))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []seen{{1, false}, {2, true}}, obs, "the label change alone reconciled nothing")
}

func TestBuilderErrors(t *testing.T) {
	s, scheme := newServer(t)
	m := newManager(t, s, scheme, controller.ManagerConfig{})
	r := newRecorder(nil)
	type unregistered struct{ Widget }
	for _, tc := range []struct {
		name string
		b    *controller.Builder
		want string
	}{
		{"no For", controller.NewControllerManagedBy(m), "Builder.For was not called"},
		{"For twice", controller.NewControllerManagedBy(m).For(&Widget{}).For(&api.Pod{}), "more than once"},
		{"unknown For kind", controller.NewControllerManagedBy(m).For(&unregistered{}), "not registered in the scheme"},
		{"unknown Owns kind", controller.NewControllerManagedBy(m).For(&Widget{}).Owns(&unregistered{}), "Builder.Owns"},
		{"nil map func", controller.NewControllerManagedBy(m).For(&Widget{}).Watches(&api.Pod{}, nil), "MapFunc is nil"},
		{"bad options", controller.NewControllerManagedBy(m).For(&Widget{}).WithOptions(controller.Options{MaxConcurrentReconciles: -2}), "MaxConcurrentReconciles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, tc.b.Complete(r), tc.want)
		})
	}
	require.NoError(t, controller.NewControllerManagedBy(m).For(&Widget{}).Complete(r))
	assert.ErrorContains(t, controller.NewControllerManagedBy(m).For(&Widget{}).Complete(r), `"widget"`, "duplicate name")
	require.NoError(t, controller.NewControllerManagedBy(m).Named("widget-2").For(&Widget{}).Complete(r))
}

// gatedTransport fails every request with 503 until opened.
type gatedTransport struct {
	next http.RoundTripper
	open atomic.Bool
}

func (g *gatedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !g.open.Load() {
		return nil, errors.New("gated")
	}
	return g.next.RoundTrip(req)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestHealthReadyAndMetrics: /readyz fails until the caches have synced
// and while a ready check fails; /healthz passes; /metrics serves the
// controllers' metrics.
func TestHealthReadyAndMetrics(t *testing.T) {
	s, scheme := newServer(t)
	gate := &gatedTransport{next: s.Transport()}
	cl, err := client.New(client.Config{Transport: gate, Scheme: scheme, Retry: client.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	m := newManager(t, s, scheme, controller.ManagerConfig{
		Client: cl, HealthProbeAddr: "127.0.0.1:0", MetricsAddr: "localhost:0",
		Cache: controller.CacheOptions{Informer: informer.Config{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}},
	})
	var ready atomic.Bool
	require.NoError(t, m.AddReadyCheck("gate", func(*http.Request) error {
		if !ready.Load() {
			return errors.New("not yet")
		}
		return nil
	}))
	require.Error(t, m.AddReadyCheck("gate", func(*http.Request) error { return nil }), "duplicate check")
	rec := newRecorder(nil)
	require.NoError(t, controller.NewControllerManagedBy(m).For(&api.ConfigMap{}).Complete(rec))
	start(t, m.Start)
	eventually(t, func() bool { return m.HealthProbeAddr() != "" && m.MetricsAddr() != "" }, "servers bound")
	health := "http://" + m.HealthProbeAddr()

	code, body := get(t, health+"/healthz")
	assert.Equal(t, http.StatusOK, code, body)
	code, body = get(t, health+"/readyz")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, body, "[-]informers-synced failed")
	assert.Contains(t, body, "[-]gate failed: not yet")

	gate.open.Store(true)
	eventually(t, m.HasSynced, "caches synced")
	code, body = get(t, health+"/readyz")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.NotContains(t, body, "informers-synced failed")
	ready.Store(true)
	code, body = get(t, health+"/readyz?verbose")
	assert.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "[+]informers-synced ok")

	require.NoError(t, cl.Create(testCtx(t), &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "a"}}))
	eventually(t, func() bool { return rec.total() > 0 }, "reconciled")
	eventually(t, func() bool {
		_, body := get(t, "http://"+m.MetricsAddr()+"/metrics")
		return strings.Contains(body, `drover_controller_reconcile_total{controller="configmap",result="success"} 1`)
	}, "reconcile metric exposed")
	_, body = get(t, "http://"+m.MetricsAddr()+"/metrics")
	for _, name := range []string{"drover_controller_reconcile_duration_seconds_bucket", "drover_controller_active_workers",
		`drover_workqueue_depth{name="configmap"}`} {
		assert.Contains(t, body, name)
	}
}

// TestManagerStopsOnRunnableError: the first error of a runnable stops
// the manager and is returned; the other runnables are stopped.
func TestManagerStopsOnRunnableError(t *testing.T) {
	s, scheme := newServer(t)
	m := newManager(t, s, scheme, controller.ManagerConfig{})
	var otherStopped atomic.Bool
	require.NoError(t, m.Add(controller.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		otherStopped.Store(true)
		return nil
	})))
	boom := errors.New("boom")
	require.NoError(t, m.Add(controller.RunnableFunc(func(context.Context) error { return boom })))
	err := m.Start(testCtx(t))
	assert.ErrorIs(t, err, boom)
	assert.True(t, otherStopped.Load())
	assert.Error(t, m.Add(controller.RunnableFunc(func(context.Context) error { return nil })), "Add after Start")
	assert.Error(t, m.Start(testCtx(t)), "Start twice")
}

// TestManagerShutdownTimeout: a runnable that ignores its ctx makes Start
// return ErrShutdownTimeout after GracefulShutdownTimeout.
func TestManagerShutdownTimeout(t *testing.T) {
	s, scheme := newServer(t)
	m := newManager(t, s, scheme, controller.ManagerConfig{GracefulShutdownTimeout: 20 * time.Millisecond})
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	require.NoError(t, m.Add(controller.RunnableFunc(func(context.Context) error {
		close(started)
		<-release
		return nil
	})))
	stop, _ := start(t, m.Start)
	<-started
	assert.ErrorIs(t, stop(), controller.ErrShutdownTimeout)
}

// fakeElector grants and revokes leadership when the test says so.
type fakeElector struct {
	grant  chan struct{}
	revoke chan struct{}
	leader atomic.Bool
}

func newFakeElector() *fakeElector {
	return &fakeElector{grant: make(chan struct{}), revoke: make(chan struct{})}
}

func (e *fakeElector) Run(ctx context.Context, lead func(ctx context.Context)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.grant:
		}
		lctx, cancel := context.WithCancel(ctx)
		e.leader.Store(true)
		go func() {
			select {
			case <-e.revoke:
			case <-lctx.Done():
			}
			cancel()
		}()
		lead(lctx)
		cancel()
		e.leader.Store(false)
	}
}

func (e *fakeElector) IsLeader() bool { return e.leader.Load() }

// TestLeaderOnlyRunnables: controllers run only while the manager leads;
// losing leadership stops them without stopping the manager or the
// runnables that do not need leadership, and leading again restarts them
// with a fresh queue that replays the cache.
func TestLeaderOnlyRunnables(t *testing.T) {
	s, scheme := newServer(t)
	el := newFakeElector()
	m := newManager(t, s, scheme, controller.ManagerConfig{LeaderElector: el})
	c := m.GetClient()
	ctx := testCtx(t)
	rec := newRecorder(nil)
	require.NoError(t, controller.NewControllerManagedBy(m).For(&api.ConfigMap{}).Complete(rec))
	var everywhere atomic.Int32 // starts of a runnable that needs no leadership
	no := false
	everyRec := newRecorder(nil)
	require.NoError(t, controller.NewControllerManagedBy(m).Named("everywhere").For(&api.ConfigMap{}).
		WithOptions(controller.Options{NeedLeaderElection: &no}).Complete(everyRec))
	require.NoError(t, m.Add(notLeaderOnly{controller.RunnableFunc(func(ctx context.Context) error {
		everywhere.Add(1)
		<-ctx.Done()
		return nil
	})}))
	_, done := start(t, m.Start)

	a := controller.Request{Namespace: "default", Name: "a"}
	require.NoError(t, c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "a"}}))
	eventually(t, func() bool { return everyRec.count(a) == 1 }, "the controller that needs no leadership runs")
	assert.Zero(t, rec.count(a), "not leading: the leader-only controller does not run")
	assert.False(t, m.IsLeader())

	el.grant <- struct{}{}
	eventually(t, func() bool { return rec.count(a) == 1 }, "leading: existing object reconciled")
	assert.True(t, m.IsLeader())

	el.revoke <- struct{}{}
	eventually(t, func() bool { return !m.IsLeader() }, "leader-only runnables stopped")
	b := controller.Request{Namespace: "default", Name: "b"}
	require.NoError(t, c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "b"}}))
	eventually(t, func() bool { return everyRec.count(b) == 1 }, "the controller that needs no leadership still runs")
	assert.Zero(t, rec.count(b), "lost leadership: not reconciled")
	select {
	case <-done:
		t.Fatal("the manager stopped when leadership was lost")
	default:
	}

	el.grant <- struct{}{}
	eventually(t, func() bool { return rec.count(b) == 1 && rec.count(a) == 2 }, "leading again: the cache is replayed")
	assert.Equal(t, int32(1), everywhere.Load(), "runnables that need no leadership are not restarted")
}

// notLeaderOnly is a Runnable that runs without leadership.
type notLeaderOnly struct{ controller.Runnable }

func (notLeaderOnly) NeedLeaderElection() bool { return false }

// TestEventRecorder: the Manager runs the recorders it hands out, which
// write Events through its client.
func TestEventRecorder(t *testing.T) {
	s, scheme := newServer(t)
	m := newManager(t, s, scheme, controller.ManagerConfig{})
	c := m.GetClient()
	ctx := testCtx(t)
	rec, err := m.EventRecorder("widget-controller")
	require.NoError(t, err)
	again, err := m.EventRecorder("widget-controller")
	require.NoError(t, err)
	assert.Same(t, rec, again)
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "a"}}
	require.NoError(t, c.Create(ctx, cm))
	start(t, m.Start)
	rec.Event(cm, api.EventTypeNormal, "Stamped", "stamped it")
	eventually(t, func() bool {
		var list api.EventList
		if err := c.List(ctx, &list, client.InNamespace("default")); err != nil {
			return false
		}
		for _, ev := range list.Items {
			if ev.Reason == "Stamped" && ev.Source.Component == "widget-controller" && ev.InvolvedObject.Name == "a" {
				return true
			}
		}
		return false
	}, "event written")
}

// TestLostLeadershipRunnableErrorKeepsManager: a leader-only runnable that
// returns its ctx's error when leadership is lost (a common Go idiom) stops
// cleanly: the manager keeps running and competes again, and the runnable
// is started again on the next term.
func TestLostLeadershipRunnableErrorKeepsManager(t *testing.T) {
	s, scheme := newServer(t)
	el := newFakeElector()
	m := newManager(t, s, scheme, controller.ManagerConfig{LeaderElector: el})
	var starts atomic.Int32
	require.NoError(t, m.Add(controller.RunnableFunc(func(ctx context.Context) error {
		starts.Add(1)
		<-ctx.Done()
		return ctx.Err()
	})))
	_, done := start(t, m.Start)

	el.grant <- struct{}{}
	eventually(t, func() bool { return starts.Load() == 1 && m.IsLeader() }, "leading: the runnable runs")
	el.revoke <- struct{}{}
	eventually(t, func() bool { return !m.IsLeader() }, "leadership lost: the runnable stopped")
	// A manager that stops does so at once; give it a moment to show it.
	select {
	case <-done:
		t.Fatal("the manager stopped when a leader-only runnable returned its ctx's error on losing leadership")
	case <-time.After(50 * time.Millisecond):
	}
	select {
	case el.grant <- struct{}{}:
	case <-done:
		t.Fatal("the manager stopped when a leader-only runnable returned its ctx's error on losing leadership")
	}
	eventually(t, func() bool { return starts.Load() == 2 }, "leading again: the runnable runs again")
}

// TestLastEventsAreWritten: an Event a controller records as it stops is
// written before the Manager stops its recorders.
func TestLastEventsAreWritten(t *testing.T) {
	s, scheme := newServer(t)
	m := newManager(t, s, scheme, controller.ManagerConfig{})
	c := m.GetClient()
	ctx := testCtx(t)
	rec, err := m.EventRecorder("stopping")
	require.NoError(t, err)
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "a"}}
	require.NoError(t, c.Create(ctx, cm))
	require.NoError(t, m.Add(controller.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		rec.Event(cm, api.EventTypeNormal, "Stopping", "last words")
		return nil
	})))
	stop, _ := start(t, m.Start)
	eventually(t, m.HasSynced, "caches synced")
	require.NoError(t, stop())
	var list api.EventList
	require.NoError(t, c.List(ctx, &list, client.InNamespace("default")))
	require.Len(t, list.Items, 1, "the last event was written")
	require.Equal(t, "last words", list.Items[0].Message)
}

func TestManagerClock(t *testing.T) {
	env := controllertest.New(t)
	m, err := controller.NewManager(controller.ManagerConfig{Client: env.Client})
	require.NoError(t, err)
	require.IsType(t, workqueue.RealClock{}, m.Clock(), "no ManagerConfig.Clock: the wall clock")

	clk := fakeclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	m, err = controller.NewManager(controller.ManagerConfig{Client: env.Client, Clock: clk})
	require.NoError(t, err)
	require.Equal(t, clk.Now(), m.Clock().Now())
	clk.Advance(time.Minute)
	require.Equal(t, time.Date(2030, 1, 2, 3, 5, 5, 0, time.UTC), m.Clock().Now())
}
