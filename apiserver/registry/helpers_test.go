package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/memstore"
)

// Widget is a user kind with a status subresource and its own validation.
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

func (w *Widget) Validate() api.ErrorList {
	if w.Spec.Size < 0 {
		return api.ErrorList{api.Invalid(api.NewPath("spec", "size"), w.Spec.Size, "must not be negative")}
	}
	return nil
}

var widgetGVK = api.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}

func testScheme(t *testing.T) *api.Scheme {
	t.Helper()
	s := api.NewDefaultScheme()
	require.NoError(t, api.Register[Widget](s, api.Kind{
		GroupVersionKind: widgetGVK, Resource: "widgets", Namespaced: true, Subresources: []string{"status"},
	}))
	return s
}

var (
	podGVK        = api.CoreV1.WithKind("Pod")
	deploymentGVK = api.AppsV1.WithKind("Deployment")
	namespaceGVK  = api.CoreV1.WithKind("Namespace")
)

// fakeClock hands out one ticker whose ticks the test sends.
type fakeClock struct{ ticks chan time.Time }

func (c *fakeClock) NewTicker(time.Duration) memstore.Ticker { return fakeTicker{c} }

type fakeTicker struct{ c *fakeClock }

func (t fakeTicker) C() <-chan time.Time { return t.c.ticks }
func (t fakeTicker) Stop()               {}

// env is a memstore with registries of the test kinds.
type env struct {
	st     *memstore.Store
	scheme *api.Scheme
	clock  *fakeClock
	now    time.Time
	uids   atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{clock: &fakeClock{ticks: make(chan time.Time)}, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	st, err := memstore.New(memstore.Options{Clock: e.clock})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	e.st = st
	e.scheme = testScheme(t)
	return e
}

func (e *env) registry(t *testing.T, gvk api.GroupVersionKind, opts registry.Options) *registry.Registry {
	t.Helper()
	k, ok := e.scheme.KindFor(gvk)
	require.True(t, ok)
	if opts.Now == nil {
		opts.Now = func() time.Time { return e.now }
	}
	if opts.NewUID == nil {
		opts.NewUID = func() api.UID { return api.UID(fmt.Sprintf("uid-%d", e.uids.Add(1))) }
	}
	r, err := registry.New(e.st, e.scheme, k, opts)
	require.NoError(t, err)
	return r
}

func pod(ns, name string, labels map[string]string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx:1.27"}}},
	}
}

func deployment(ns, name string) *api.Deployment {
	return &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name},
		Spec: api.DeploymentSpec{
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx:1.27"}}},
			},
		},
	}
}

// requireStatus checks that err is a StatusError with reason and code.
func requireStatus(t *testing.T, err error, reason api.StatusReason, code int) *api.StatusError {
	t.Helper()
	require.Error(t, err)
	var se *api.StatusError
	require.True(t, errors.As(err, &se), "error %T %v is not a StatusError", err, err)
	require.Equal(t, reason, se.Status.Reason, "message: %s", se.Status.Message)
	require.Equal(t, int32(code), se.Status.Code)
	return se
}

func rvOf(t *testing.T, obj api.Object) int64 {
	t.Helper()
	n, err := strconv.ParseInt(obj.GetObjectMeta().ResourceVersion, 10, 64)
	require.NoError(t, err)
	return n
}

// next reads the next watch event, failing after a deadline.
func next(t *testing.T, ch <-chan api.WatchEvent) api.WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "watch channel closed")
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return api.WatchEvent{}
}

// eventMeta decodes the type, name and resourceVersion of an event.
func eventMeta(t *testing.T, ev api.WatchEvent) (api.WatchEventType, string, string) {
	t.Helper()
	var o struct {
		Metadata struct {
			Name            string `json:"name"`
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal(ev.Object, &o))
	return ev.Type, o.Metadata.Name, o.Metadata.ResourceVersion
}

// unavailableStore fails every read with store.ErrUnavailable.
type unavailableStore struct{ store.Store }

func (unavailableStore) Get(context.Context, string, store.ReadOptions) (*store.KeyValue, error) {
	return nil, fmt.Errorf("store: get: %w", store.ErrUnavailable)
}

func mustFields(t *testing.T, s string) fields.Selector {
	t.Helper()
	sel, err := fields.Parse(s)
	require.NoError(t, err)
	return sel
}

// createPod creates p, then writes the status p carries through the status
// subresource, as the node agent would (a create starts from an empty
// status: phase Pending).
func createPod(ctx context.Context, pods *registry.Registry, p *api.Pod) (api.Object, error) {
	status := p.Status
	out, err := pods.Create(ctx, p, registry.CreateOptions{})
	if err != nil || status.Phase == "" {
		return out, err
	}
	next := api.DeepCopy(out.(*api.Pod))
	next.Status = status
	return pods.Update(ctx, next, registry.UpdateOptions{Subresource: "status"})
}
