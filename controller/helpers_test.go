package controller_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/store/memstore"
)

// Widget is a user kind with a spec (whose changes move the generation)
// and a status subresource.
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

var widgetKind = api.Kind{
	GroupVersionKind: api.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"},
	Resource:         "widgets", Namespaced: true, Subresources: []string{"status"},
}

func testScheme(t testing.TB) *api.Scheme {
	t.Helper()
	s := api.NewDefaultScheme()
	require.NoError(t, api.Register[Widget](s, widgetKind))
	return s
}

// newServer returns an in-process API server over a memstore, with the
// namespace "default".
func newServer(t testing.TB) (*apiserver.Server, *api.Scheme) {
	t.Helper()
	ms, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ms.Close() })
	scheme := testScheme(t)
	s, err := apiserver.New(apiserver.Config{Store: ms, Scheme: scheme, Registerer: prometheus.NewRegistry()})
	require.NoError(t, err)
	c := newClient(t, s, scheme)
	require.NoError(t, c.Create(context.Background(), &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}}))
	return s, scheme
}

func newClient(t testing.TB, s *apiserver.Server, scheme *api.Scheme) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Transport: s.Transport(), Scheme: scheme})
	require.NoError(t, err)
	return c
}

// testCtx is a context that ends with the test, or after a minute.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it is true, failing the test after 10s.
func eventually(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: "+format, args...)
		}
		<-tick.C
	}
}

// start runs run in a goroutine until the returned stop is called (or the
// test ends); stop returns run's error.
func start(t testing.TB, run func(ctx context.Context) error) (stop func() error, done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	var err error
	go func() {
		defer close(ch)
		err = run(ctx)
	}()
	stop = func() error {
		cancel()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatal("run did not return after its context ended")
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop, ch
}

// recorder is a Reconciler that counts calls per Request.
type recorder struct {
	mu    sync.Mutex
	calls map[controller.Request]int
	order []controller.Request
	fn    func(ctx context.Context, req controller.Request, n int) (controller.Result, error)
}

func newRecorder(fn func(ctx context.Context, req controller.Request, n int) (controller.Result, error)) *recorder {
	return &recorder{calls: make(map[controller.Request]int), fn: fn}
}

func (r *recorder) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	r.mu.Lock()
	r.calls[req]++
	n := r.calls[req]
	r.order = append(r.order, req)
	r.mu.Unlock()
	if r.fn == nil {
		return controller.Result{}, nil
	}
	return r.fn(ctx, req, n)
}

func (r *recorder) count(req controller.Request) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[req]
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.order)
}

// metricValue returns the value of the counter or gauge name whose labels
// include labels, or -1 if there is none.
func metricValue(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			return value(m)
		}
	}
	return -1
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func textLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
