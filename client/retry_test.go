package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// flaky fails the first fails requests of a method with code (and a
// Retry-After header if retryAfter is set), then lets them through. It
// counts the requests of that method.
type flaky struct {
	method     string
	code       int
	retryAfter string
	fails      atomic.Int32
	attempts   atomic.Int32
	status     bool // answer with a Status body (else plain text)
	details    int  // retryAfterSeconds in the Status of a 429
}

func (f *flaky) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != f.method || !strings.Contains(r.URL.Path, "/configmaps") {
			next.ServeHTTP(w, r)
			return
		}
		f.attempts.Add(1)
		if f.fails.Add(-1) < 0 {
			next.ServeHTTP(w, r)
			return
		}
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		if !f.status {
			http.Error(w, "try later", f.code)
			return
		}
		st := api.NewStatusError(f.code, "", "try later").Status
		if f.code == http.StatusTooManyRequests {
			st = api.NewTooManyRequests("too many requests", f.details).Status
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.code)
		_ = json.NewEncoder(w).Encode(st)
	})
}

func TestRetries(t *testing.T) {
	const base = 100 * time.Millisecond
	cm := func(name string) *api.ConfigMap {
		return &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name}}
	}
	for _, tc := range []struct {
		name       string
		f          *flaky
		write      bool // a create instead of a get
		maxAtt     int
		wantErr    error
		wantTries  int32
		checkWaits func(t *testing.T, waits []time.Duration)
	}{
		{name: "get 503 backs off", f: &flaky{method: "GET", code: 503, status: true}, wantTries: 3,
			checkWaits: func(t *testing.T, waits []time.Duration) {
				require.Len(t, waits, 2)
				require.GreaterOrEqual(t, waits[0], base/2)
				require.LessOrEqual(t, waits[0], base)
				require.GreaterOrEqual(t, waits[1], base)
				require.LessOrEqual(t, waits[1], 2*base)
			}},
		{name: "get 500 plain text", f: &flaky{method: "GET", code: 500}, wantTries: 3},
		{name: "get 429 honours Retry-After", f: &flaky{method: "GET", code: 429, retryAfter: "3", status: true}, wantTries: 3,
			checkWaits: func(t *testing.T, waits []time.Duration) {
				require.Equal(t, []time.Duration{3 * time.Second, 3 * time.Second}, waits)
			}},
		{name: "retryAfterSeconds of the Status is honoured", f: &flaky{method: "POST", code: 429, details: 2, status: true}, write: true, wantTries: 3,
			checkWaits: func(t *testing.T, waits []time.Duration) {
				require.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second}, waits)
			}},
		{name: "Retry-After is capped", f: &flaky{method: "GET", code: 503, retryAfter: "3600"}, wantTries: 2,
			checkWaits: func(t *testing.T, waits []time.Duration) {
				require.Equal(t, []time.Duration{client.DefaultMaxRetryAfter}, waits)
			}},
		{name: "get gives up", f: &flaky{method: "GET", code: 502}, maxAtt: 3, wantTries: 3, wantErr: &api.StatusError{Status: api.Status{Code: 502}}},
		{name: "create 503 is not retried", f: &flaky{method: "POST", code: 503, status: true}, write: true,
			wantTries: 1, wantErr: api.ErrServiceUnavailable},
		{name: "create 429 with Retry-After is retried", f: &flaky{method: "POST", code: 429, retryAfter: "1", status: true}, write: true, wantTries: 3},
		{name: "create 429 without Retry-After is not retried", f: &flaky{method: "POST", code: 429, status: true}, write: true,
			wantTries: 1, wantErr: api.ErrTooManyRequests},
		{name: "get 429 without Retry-After is retried", f: &flaky{method: "GET", code: 429, status: true}, wantTries: 3},
		{name: "create 503 with Retry-After is retried", f: &flaky{method: "POST", code: 503, retryAfter: "1", status: true},
			write: true, wantTries: 3},
		{name: "create 409 is not retried", f: &flaky{method: "POST", code: 409, status: true}, write: true,
			wantTries: 1, wantErr: api.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if !tc.write {
				require.NoError(t, e.inProcess(t).Create(ctxT(t), cm("cm")))
			}
			fails := int32(2)
			if tc.maxAtt != 0 {
				fails = 100
			}
			tc.f.fails.Store(fails)
			if tc.f.retryAfter == "3600" {
				tc.f.fails.Store(1)
			}
			e.serve(t, tc.f.wrap)
			clock := &fakeClock{now: time.Now()}
			maxAtt := tc.maxAtt
			if maxAtt == 0 {
				maxAtt = 5
			}
			c := e.client(t, func(cfg *client.Config) {
				cfg.Clock = clock
				cfg.Retry = client.RetryPolicy{MaxAttempts: maxAtt, BaseDelay: base}
			})
			var err error
			if tc.write {
				err = c.Create(ctxT(t), cm("new"))
			} else {
				err = c.Get(ctxT(t), "default", "cm", &api.ConfigMap{})
			}
			require.Equal(t, tc.wantTries, tc.f.attempts.Load(), "attempts")
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			if tc.checkWaits != nil {
				tc.checkWaits(t, clock.Waits())
			}
			if tc.write && err == nil {
				var l api.ConfigMapList
				require.NoError(t, c.List(ctxT(t), &l, client.InNamespace("default")))
				require.Len(t, l.Items, 1, "created once")
			}
		})
	}
}

func TestRetryWaitStopsOnCancel(t *testing.T) {
	e := newEnv(t)
	f := &flaky{method: "GET", code: 503}
	f.fails.Store(100)
	e.serve(t, f.wrap)
	clock := &fakeClock{block: true}
	c := e.client(t, func(cfg *client.Config) {
		cfg.Clock = clock
		cfg.Retry = client.RetryPolicy{MaxAttempts: 5}
	})
	ctx, cancel := context.WithCancel(ctxT(t))
	errc := make(chan error, 1)
	go func() { errc <- c.Get(ctx, "default", "cm", &api.ConfigMap{}) }()
	eventually(t, "the client to wait for a retry", func() bool { return len(clock.Waits()) == 1 })
	cancel()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, err, api.ErrServiceUnavailable, "the last error is kept")
	case <-time.After(10 * time.Second):
		t.Fatal("Get did not return after cancel")
	}
	require.Equal(t, int32(1), f.attempts.Load())
}

func TestRetryConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	clock := &fakeClock{}
	c, err := client.New(client.Config{Host: url, Clock: clock, Retry: client.RetryPolicy{MaxAttempts: 3}})
	require.NoError(t, err)
	err = c.Create(ctxT(t), &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "x"}})
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.ErrorContains(t, err, "client: create /api/v1/namespaces/default/configmaps: ")
	require.Len(t, clock.Waits(), 2, "a create that never reached the server is retried")
}

func TestNonStatusErrorBodies(t *testing.T) {
	for _, tc := range []struct {
		code   int
		body   string
		reason api.StatusReason
		is     error
	}{
		{404, "404 page not found", api.StatusReasonNotFound, api.ErrNotFound},
		{409, "", api.StatusReasonConflict, api.ErrConflict},
		{401, "who are you", api.StatusReasonUnauthorized, api.ErrUnauthorized},
		{502, "<html>bad gateway</html>", api.StatusReasonUnknown, nil},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.code)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			c, err := client.New(client.Config{Host: srv.URL, Retry: client.RetryPolicy{MaxAttempts: 1}})
			require.NoError(t, err)
			err = c.Get(ctxT(t), "default", "x", &api.Pod{})
			se, ok := errors.AsType[*api.StatusError](err)
			require.True(t, ok, "%T: %v", err, err)
			require.Equal(t, int32(tc.code), se.Status.Code)
			require.Equal(t, tc.reason, se.Status.Reason)
			require.Contains(t, se.Error(), fmt.Sprint(tc.code))
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
		})
	}
}

func TestRetryOnConflict(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	other := e.inProcess(t)
	ctx := ctxT(t)
	require.NoError(t, c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "cm"}, Data: map[string]string{"n": "0"}}))

	calls := 0
	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		calls++
		var cm api.ConfigMap
		if err := c.Get(ctx, "default", "cm", &cm); err != nil {
			return err
		}
		if calls == 1 {
			// Someone else writes between our read and our write.
			racer := cm
			racer.Labels = map[string]string{"raced": "yes"}
			require.NoError(t, other.Update(ctx, &racer))
		}
		cm.Data["n"] = "1"
		return c.Update(ctx, &cm)
	})
	require.NoError(t, err)
	require.Equal(t, 2, calls)
	var cm api.ConfigMap
	require.NoError(t, c.Get(ctx, "default", "cm", &cm))
	require.Equal(t, "1", cm.Data["n"])
	require.Equal(t, "yes", cm.Labels["raced"], "the racer's change survives")

	// Always conflicting: fn's last Conflict comes back after Steps calls.
	calls = 0
	err = client.RetryOnConflict(ctx, client.Backoff{Steps: 3, Duration: time.Millisecond}, func() error {
		calls++
		return api.NewConflict(api.GroupResource{Resource: "configmaps"}, "cm", errors.New("again"))
	})
	require.ErrorIs(t, err, api.ErrConflict)
	require.Equal(t, 3, calls)

	// Other errors end it at once.
	calls = 0
	err = client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		calls++
		return api.ErrNotFound
	})
	require.ErrorIs(t, err, api.ErrNotFound)
	require.Equal(t, 1, calls)

	// A cancelled ctx stops the waits.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = client.RetryOnConflict(cctx, client.Backoff{Steps: 10, Duration: time.Hour}, func() error {
		return api.NewConflict(api.GroupResource{Resource: "configmaps"}, "cm", errors.New("again"))
	})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, api.ErrConflict)
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	f := &flaky{method: "GET", code: 503}
	f.fails.Store(1)
	e.serve(t, f.wrap)
	reg := prometheus.NewRegistry()
	mk := func() *client.Client {
		return e.client(t, func(cfg *client.Config) {
			cfg.Registerer = reg
			cfg.Clock = &fakeClock{}
			cfg.Retry = client.RetryPolicy{MaxAttempts: 3}
		})
	}
	c := mk()
	_ = mk() // a second client on the same registry shares the metrics
	ctx := ctxT(t)
	require.NoError(t, c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "cm"}}))
	require.NoError(t, c.Get(ctx, "default", "cm", &api.ConfigMap{}))
	require.Equal(t, 1.0, counter(t, reg, "drover_client_retries_total", "503", "get"))
	require.Equal(t, 1.0, counter(t, reg, "drover_client_requests_total", "200", "get"))
	require.Equal(t, 1.0, counter(t, reg, "drover_client_requests_total", "201", "create"))
}

// counter returns the value of the counter of a metric family with the
// given label values, in the order of the label names.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var vals []string
			for _, lp := range m.GetLabel() {
				vals = append(vals, lp.GetValue())
			}
			if strings.Join(vals, ",") == strings.Join(labels, ",") {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}
