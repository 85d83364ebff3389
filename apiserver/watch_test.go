package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/store"
)

// TestWatchFanOut has several HTTP watches of one kind share the watch
// cache: each gets the same line for a change, and /metrics counts them.
func TestWatchFanOut(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var readers []*bufio.Reader
	for _, path := range []string{"/api/v1/namespaces/default/pods", "/api/v1/namespaces/default/pods", "/api/v1/pods"} {
		req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path+"?watch=1&resourceVersion=1", nil)
		require.NoError(t, err)
		resp, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		require.Equal(t, http.StatusOK, resp.StatusCode)
		readers = append(readers, bufio.NewReader(resp.Body))
	}
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", podJSON("", "web", ""))
	var lines []string
	for _, rd := range readers {
		line, err := rd.ReadString('\n')
		require.NoError(t, err)
		lines = append(lines, line)
	}
	require.True(t, strings.HasPrefix(lines[0], `{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web"`), lines[0])
	require.Equal(t, lines[0], lines[1])
	require.Equal(t, lines[0], lines[2])

	_, body := e.do(t, "GET", "/metrics", "")
	require.Contains(t, string(body), `drover_apiserver_watchers{resource="pods",version="v1"} 3`)
	require.Contains(t, string(body), `drover_apiserver_watch_events_sent_total{resource="pods",version="v1"} 3`)
	require.Contains(t, string(body), `drover_apiserver_watch_slow_terminated_total{resource="pods",version="v1"} 0`)
	require.Contains(t, string(body), `drover_apiserver_watch_store_watches_total{resource="pods",version="v1"} 0`)
}

// TestWatchClientGoesAway checks that a watch ends on the server when its
// client closes the connection.
func TestWatchClientGoesAway(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/pods?watch=1", nil)
	require.NoError(t, err)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	watchers := func() string {
		_, body := e.do(t, "GET", "/metrics", "")
		for line := range strings.SplitSeq(string(body), "\n") {
			if strings.HasPrefix(line, `drover_apiserver_watchers{resource="pods",version="v1"}`) {
				return line[strings.LastIndexByte(line, ' ')+1:]
			}
		}
		return ""
	}
	require.Equal(t, "1", watchers())
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for watchers() != "0" {
		require.True(t, time.Now().Before(deadline), "the watch did not end within 10s")
		runtime.Gosched()
	}
}

// TestWatchAsTable is kubectl get -w: each object comes as a Table of one
// row with the kind's columns; the stream is not taken over.
func TestWatchAsTable(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/namespaces/default/pods?watch=1&resourceVersion=1", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rd := bufio.NewReader(resp.Body)
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", podJSON("", "web", ""))
	line, err := rd.ReadString('\n')
	require.NoError(t, err)
	var ev struct {
		Type   string
		Object struct {
			Kind              string
			APIVersion        string
			ColumnDefinitions []struct{ Name string }
			Rows              []struct {
				Cells  []any
				Object struct{ Kind string }
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
	require.Equal(t, "ADDED", ev.Type)
	require.Equal(t, "Table", ev.Object.Kind)
	require.Equal(t, "meta.k8s.io/v1", ev.Object.APIVersion)
	require.Equal(t, "Name", ev.Object.ColumnDefinitions[0].Name)
	require.Equal(t, "Ready", ev.Object.ColumnDefinitions[1].Name)
	require.Len(t, ev.Object.Rows, 1)
	require.Equal(t, "web", ev.Object.Rows[0].Cells[0])
	require.Equal(t, "PartialObjectMetadata", ev.Object.Rows[0].Object.Kind)
}

// TestCloseEndsWatches checks that Server.Close ends open watches, the
// ones that took their connection over included, and refuses new ones.
func TestCloseEndsWatches(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var bodies []*http.Response
	for _, accept := range []string{"application/json", "application/json;as=Table;v=v1;g=meta.k8s.io"} {
		req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/pods?watch=1", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", accept)
		resp, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		bodies = append(bodies, resp)
	}
	require.NoError(t, e.server.Close())
	for _, resp := range bodies {
		_, err := io.ReadAll(resp.Body) // returns: the stream ended
		require.NoError(t, err)
	}
	code, _ := e.do(t, "GET", "/api/v1/pods?watch=1&allowWatchBookmarks=true", "")
	require.Equal(t, http.StatusOK, code, "a hijacked watch starts and ends at once")
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/pods?watch=1", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.NoError(t, e.server.Close(), "twice")
	e.ok(t, http.StatusOK, "GET", "/api/v1/pods", "")
}

// syncBuffer is a bytes.Buffer for log lines written from several
// goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCloseWaitsForWatchStreams checks that Server.Close returns only once
// the streams of the watches that took their connection over have ended.
func TestCloseWaitsForWatchStreams(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for range 3 {
		req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/pods?watch=1", nil)
		require.NoError(t, err)
		resp, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.Equal(t, "3", e.metric(t, `drover_apiserver_watchers{resource="pods",version="v1"}`))
	require.NoError(t, e.server.Close())
	// No waiting: every stream has ended, its watcher closed.
	require.Equal(t, "0", e.metric(t, `drover_apiserver_watchers{resource="pods",version="v1"}`))
}

// explodingStore's watches carry, for keys that contain "explode", an
// event without its KeyValue, which the registry does not expect: the
// goroutine that streams the watch panics.
type explodingStore struct{ store.Store }

func (s explodingStore) Watch(ctx context.Context, prefix string, afterRev int64, opts store.WatchOptions) (<-chan store.Event, error) {
	in, err := s.Store.Watch(ctx, prefix, afterRev, opts)
	if err != nil {
		return nil, err
	}
	out := make(chan store.Event)
	go func() {
		defer close(out)
		for e := range in {
			if e.KV != nil && strings.Contains(e.KV.Key, "explode") {
				e.KV = nil
			}
			select {
			case out <- e:
			case <-ctx.Done():
			}
		}
	}()
	return out, nil
}

// TestWatchStreamPanicIsRecovered: a panic in the goroutine of a watch
// that took its connection over is logged with its stack, closes the
// connection, and leaves the server serving.
func TestWatchStreamPanicIsRecovered(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, func(c *apiserver.Config) {
		c.Store = explodingStore{c.Store}
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/namespaces/default/pods?watch=1&resourceVersion=1", nil)
	require.NoError(t, err)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", podJSON("", "explode", ""))
	_, _ = io.ReadAll(resp.Body) // returns: the connection is closed
	// The log line may follow the close by a moment: poll for it.
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "panic streaming a watch") },
		10*time.Second, 2*time.Millisecond, "no log of the panic: %s", logs.String())
	require.Contains(t, logs.String(), "streamConn", "with the stack")
	e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/default/pods", "")
	require.NoError(t, e.server.Close())
	require.Equal(t, "0", e.metric(t, `drover_apiserver_watchers{resource="pods",version="v1"}`))
}

// TestWatchPipelined sends a watch and another request on one connection
// at once: too late to give the connection back after taking it over, so
// the server closes it, without writing to it through net/http, and the
// watch's place is free again.
func TestWatchPipelined(t *testing.T) {
	e := newEnv(t, func(c *apiserver.Config) { c.MaxWatches = 1 })
	var errs syncBuffer
	srv := httptest.NewUnstartedServer(e.server.Handler())
	srv.Config.ErrorLog = log.New(&errs, "", 0)
	srv.Start()
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, "GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	data, err := io.ReadAll(conn)
	require.NoError(t, err, "the server closed the connection")
	require.Empty(t, string(data))

	deadline := time.Now().Add(10 * time.Second)
	for e.metric(t, `drover_apiserver_watchers{resource="pods",version="v1"}`) != "0" {
		require.True(t, time.Now().Before(deadline), "the watch did not end within 10s")
		runtime.Gosched()
	}
	code, body := e.do(t, "GET", "/api/v1/pods?watch=1&timeoutSeconds=1", "")
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.NotContains(t, errs.String(), "hijacked")
}

// stuckWriter is a ResponseWriter whose client reads nothing: a write
// blocks until its deadline, which it takes as passed at once; without a
// deadline, for ever (until the test ends).
type stuckWriter struct {
	header   http.Header
	mu       sync.Mutex
	deadline time.Time
	end      chan struct{}
}

func (w *stuckWriter) Header() http.Header { return w.header }
func (w *stuckWriter) WriteHeader(int)     {}
func (w *stuckWriter) FlushError() error   { return nil }

func (w *stuckWriter) SetWriteDeadline(d time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadline = d
	return nil
}

func (w *stuckWriter) Write([]byte) (int, error) {
	w.mu.Lock()
	d := w.deadline
	w.mu.Unlock()
	if d.IsZero() {
		<-w.end
		return 0, net.ErrClosed
	}
	return 0, os.ErrDeadlineExceeded
}

// TestPodLogStuckClientIsLetGo: a followed log whose client stops
// reading ends at its write deadline, and with it the request to the
// node agent.
func TestPodLogStuckClientIsLetGo(t *testing.T) {
	ended := make(chan struct{})
	agent := newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(ended)
		_, _ = io.WriteString(w, "line 1\n")
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	e := logEnv(t, agent)
	w := &stuckWriter{header: make(http.Header), end: make(chan struct{})}
	defer close(w.end)
	req := httptest.NewRequest("GET", podsPath+"/web/log?follow=true", nil)
	served := make(chan struct{})
	go func() {
		defer close(served)
		e.server.Handler().ServeHTTP(w, req)
	}()
	for _, ch := range []chan struct{}{served, ended} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("the log stream was not let go within 10s")
		}
	}
}
