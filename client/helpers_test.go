package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/store/memstore"
)

// Widget is a user kind with a status subresource.
type Widget struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Spec           WidgetSpec   `json:"spec,omitzero"`
	Status         WidgetStatus `json:"status,omitzero"`
}

type WidgetSpec struct {
	Size  int32  `json:"size,omitempty"`
	Color string `json:"color,omitempty"`
}

type WidgetStatus struct {
	Ready int32 `json:"ready,omitempty"`
}

func testScheme(t testing.TB) *api.Scheme {
	t.Helper()
	s := api.NewDefaultScheme()
	require.NoError(t, api.Register[Widget](s, api.Kind{
		GroupVersionKind: api.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"},
		Resource:         "widgets", Namespaced: true, Subresources: []string{"status"},
	}))
	return s
}

// env is a real Drover API server over a memstore, in the test process.
type env struct {
	store  *memstore.Store
	scheme *api.Scheme
	server *apiserver.Server
	srv    *httptest.Server // nil until serve is called
}

type envOptions struct {
	progress time.Duration     // memstore's progress (bookmark) interval
	kubelet  http.RoundTripper // how the server reaches node agents for pods/log
}

func newEnv(t testing.TB, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ms, err := memstore.New(memstore.Options{ProgressInterval: o.progress})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ms.Close() })
	scheme := testScheme(t)
	s, err := apiserver.New(apiserver.Config{Store: ms, Scheme: scheme, Registerer: prometheus.NewRegistry(),
		Kubelet: apiserver.KubeletConfig{Scheme: "http", Transport: o.kubelet}})
	require.NoError(t, err)
	e := &env{store: ms, scheme: scheme, server: s}
	// The default admission chain wants the namespaces to exist.
	c := e.inProcess(t)
	for _, ns := range []string{"default", "other"} {
		require.NoError(t, c.Create(context.Background(), &api.Namespace{ObjectMeta: api.ObjectMeta{Name: ns}}))
	}
	return e
}

// serve puts the server behind an httptest.Server, with wrap around its
// handler, and returns the server's URL.
func (e *env) serve(t testing.TB, wrap ...func(http.Handler) http.Handler) string {
	t.Helper()
	h := e.server.Handler()
	for _, w := range wrap {
		h = w(h)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e.srv.URL
}

// client returns a client over HTTP (serving the server first if needed).
func (e *env) client(t testing.TB, mutate ...func(*client.Config)) *client.Client {
	t.Helper()
	if e.srv == nil {
		e.serve(t)
	}
	cfg := client.Config{Host: e.srv.URL, Scheme: e.scheme, Retry: client.RetryPolicy{MaxAttempts: 1}}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := client.New(cfg)
	require.NoError(t, err)
	return c
}

// inProcess returns a client over the server's in-process transport.
func (e *env) inProcess(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Transport: e.server.Transport(), Scheme: e.scheme})
	require.NoError(t, err)
	return c
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pod(ns, name string, labels map[string]string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "nginx:1.27"}}},
	}
}

// fakeClock's After fires at once and records the waits asked for; its
// Now is fixed unless moved.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
	block bool // After never fires
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	if !c.block {
		ch <- c.now
	}
	return ch
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
