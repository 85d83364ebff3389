package apiserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/store"
)

// gateStore holds the Gets and Creates of keys that contain "blocked":
// each sends its key on entered and waits for release to close.
type gateStore struct {
	store.Store
	entered chan string
	release chan struct{}
}

func newGate(t *testing.T) *gateStore {
	g := &gateStore{entered: make(chan string), release: make(chan struct{})}
	t.Cleanup(g.open) // never leave a handler blocked
	return g
}

func (g *gateStore) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

func (g *gateStore) wait(key string) {
	if strings.Contains(key, "blocked") {
		g.entered <- key
		<-g.release
	}
}

func (g *gateStore) Get(ctx context.Context, key string, opts store.ReadOptions) (*store.KeyValue, error) {
	g.wait(key)
	return g.Store.Get(ctx, key, opts)
}

func (g *gateStore) Create(ctx context.Context, key string, value []byte) (int64, error) {
	g.wait(key)
	return g.Store.Create(ctx, key, value)
}

// withGate puts g in front of the store of the config.
func withGate(g *gateStore) func(*apiserver.Config) {
	return func(c *apiserver.Config) {
		g.Store = c.Store
		c.Store = g
	}
}

// answer is the code and body of a request done in the background.
type answer struct {
	code int
	body string
}

// doAsync sends a request on a goroutine of its own.
func (e *env) doAsync(t *testing.T, method, path, body string) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, e.srv.URL+path, rd)
		if err != nil {
			ch <- answer{code: -1, body: err.Error()}
			return
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			ch <- answer{code: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		ch <- answer{code: resp.StatusCode, body: string(data)}
	}()
	return ch
}

func (g *gateStore) entry(t *testing.T) string {
	t.Helper()
	select {
	case key := <-g.entered:
		return key
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the store within 10s")
		return ""
	}
}

func recv(t *testing.T, ch <-chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no answer within 10s")
		return answer{}
	}
}

// requireTooMany checks that a request is refused with a 429 that
// client-go retries after a second.
func requireTooMany(t *testing.T, e *env, method, path, body string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(t, err)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%s %s: %s", method, path, data)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	var st api.Status
	require.NoError(t, json.Unmarshal(data, &st))
	require.Equal(t, api.StatusReasonTooManyRequests, st.Reason)
	require.Equal(t, int32(http.StatusTooManyRequests), st.Code)
	require.Equal(t, "Failure", string(st.Status))
	require.NotNil(t, st.Details)
	require.Equal(t, int32(1), st.Details.RetryAfterSeconds)
}

// metric returns the line of /metrics that starts with prefix, without it.
func (e *env) metric(t *testing.T, prefix string) string {
	t.Helper()
	_, body := e.do(t, "GET", "/metrics", "")
	for line := range strings.SplitSeq(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, prefix+" "); ok {
			return rest
		}
	}
	return ""
}

// TestMaxRequestsInFlight fills the read-only limit with a request held in
// the store: the next read-only request is refused at once, mutating ones,
// discovery, health, metrics and pods/log are not, and once the first
// ends the next is served.
func TestMaxRequestsInFlight(t *testing.T) {
	g := newGate(t)
	e := newEnv(t, withGate(g), func(c *apiserver.Config) { c.MaxRequestsInFlight = 1 })
	held := e.doAsync(t, "GET", "/api/v1/namespaces/default/pods/blocked", "")
	require.Contains(t, g.entry(t), "/pods/default/blocked")

	requireTooMany(t, e, "GET", "/api/v1/namespaces/default/pods/web", "")
	requireTooMany(t, e, "GET", "/api/v1/pods", "")
	for _, path := range []string{"/healthz", "/livez", "/readyz", "/version", "/metrics",
		"/api", "/apis", "/api/v1", "/apis/apps", "/apis/apps/v1", "/openapi/v2"} {
		code, body := e.do(t, "GET", path, "")
		require.Equal(t, http.StatusOK, code, "%s is exempt: %s", path, body)
	}
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", "/api/v1/namespaces/default/pods/web/log", "")
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", podJSON("", "web", ""))
	require.Equal(t, "1", e.metric(t, `drover_apiserver_current_inflight_requests{request_kind="readOnly"}`))
	require.Equal(t, "2", e.metric(t, `drover_apiserver_dropped_requests_total{request_kind="readOnly"}`))

	g.open()
	a := recv(t, held)
	require.Equal(t, http.StatusNotFound, a.code, a.body)
	e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/default/pods/web", "")
	require.Equal(t, "0", e.metric(t, `drover_apiserver_current_inflight_requests{request_kind="readOnly"}`))
}

// TestMaxMutatingRequestsInFlight is TestMaxRequestsInFlight for writes.
func TestMaxMutatingRequestsInFlight(t *testing.T) {
	g := newGate(t)
	e := newEnv(t, withGate(g), func(c *apiserver.Config) { c.MaxMutatingRequestsInFlight = 1 })
	held := e.doAsync(t, "POST", "/api/v1/namespaces/default/pods", podJSON("", "blocked", ""))
	require.Contains(t, g.entry(t), "/pods/default/blocked")

	requireTooMany(t, e, "POST", "/api/v1/namespaces/default/pods", podJSON("", "web", ""))
	requireTooMany(t, e, "DELETE", "/api/v1/namespaces/default/pods/web", "")
	e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/default/pods", "")
	require.Equal(t, "1", e.metric(t, `drover_apiserver_current_inflight_requests{request_kind="mutating"}`))
	require.Equal(t, "2", e.metric(t, `drover_apiserver_dropped_requests_total{request_kind="mutating"}`))

	g.open()
	a := recv(t, held)
	require.Equal(t, http.StatusCreated, a.code, a.body)
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", podJSON("", "web", ""))
}

// TestNoInFlightLimit: a negative limit is none.
func TestNoInFlightLimit(t *testing.T) {
	g := newGate(t)
	e := newEnv(t, withGate(g), func(c *apiserver.Config) { c.MaxRequestsInFlight = -1 })
	var held []<-chan answer
	for range 3 {
		held = append(held, e.doAsync(t, "GET", "/api/v1/namespaces/default/pods/blocked", ""))
		g.entry(t)
	}
	e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/default/pods", "")
	g.open()
	for _, ch := range held {
		require.Equal(t, http.StatusNotFound, recv(t, ch).code)
	}
}

// TestMaxWatches: beyond MaxWatches open watches, a watch is refused; once
// one ends, the next is served. Watches do not count as read-only
// requests.
func TestMaxWatches(t *testing.T) {
	e := newEnv(t, func(c *apiserver.Config) {
		c.MaxWatches = 2
		c.MaxRequestsInFlight = 1
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	open := func(accept string) (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/pods?watch=1", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", accept)
		resp, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return resp, cancel
	}
	// One taken over, one streamed by its handler (a Table).
	resp1, cancel1 := open("application/json")
	defer resp1.Body.Close()
	resp2, cancel2 := open("application/json;as=Table;v=v1;g=meta.k8s.io")
	defer resp2.Body.Close()
	defer cancel2()
	requireTooMany(t, e, "GET", "/api/v1/pods?watch=1", "")
	requireTooMany(t, e, "GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=1", "")
	e.ok(t, http.StatusOK, "GET", "/api/v1/pods", "") // a read-only place is free
	require.Equal(t, "2", e.metric(t, `drover_apiserver_dropped_requests_total{request_kind="watch"}`))

	cancel1()
	resp1.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := e.do(t, "GET", "/api/v1/pods?watch=1&timeoutSeconds=1", "")
		if code == http.StatusOK {
			break
		}
		require.Equal(t, http.StatusTooManyRequests, code, "%s", body)
		require.True(t, time.Now().Before(deadline), "the closed watch still counts after 10s")
	}
}
