package apiserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
