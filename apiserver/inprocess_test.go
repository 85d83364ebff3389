package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/store/memstore"
)

// deterministicServer returns a Server over a new memstore whose uids,
// generated names and timestamps depend only on the requests it serves,
// so that two of them answer the same requests with the same bytes.
func deterministicServer(t testing.TB, mutate ...func(*Config)) *Server {
	t.Helper()
	ms, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ms.Close() })
	var uids, suffixes atomic.Int64
	cfg := Config{
		Store:      ms,
		Scheme:     api.NewDefaultScheme(),
		Registerer: prometheus.NewRegistry(),
		Registry: registry.Options{
			Now:        func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
			NewUID:     func() api.UID { return api.UID(fmt.Sprintf("uid-%d", uids.Add(1))) },
			NameSuffix: func() string { return fmt.Sprintf("%05d", suffixes.Add(1)) },
		},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	return s
}

// exchangeRecord is what a client sees of one request.
type exchangeRecord struct {
	Name          string
	Status        int
	ContentType   string
	ContentLength int64
	Body          string
}

func podBody(name, extra string) string {
	return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `"` + extra +
		`},"spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}}`
}

// apiScenario runs a fixed series of requests with c against base and
// records what came back, watch events included.
func apiScenario(t *testing.T, c *http.Client, base string) []exchangeRecord {
	t.Helper()
	var recs []exchangeRecord
	do := func(name, method, path, body string) exchangeRecord {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, base+path, rd)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err, name)
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err, name)
		require.NoError(t, resp.Body.Close())
		r := exchangeRecord{name, resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, string(data)}
		recs = append(recs, r)
		return r
	}
	const pods = "/api/v1/namespaces/default/pods"
	require.Equal(t, http.StatusCreated, do("create namespace", "POST", "/api/v1/namespaces",
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}`).Status)
	require.Equal(t, http.StatusCreated, do("create", "POST", pods, podBody("web", `,"labels":{"app":"web"}`)).Status)
	do("create generated", "POST", pods, `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"gen-"},`+
		`"spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}}`)
	do("create existing", "POST", pods, podBody("web", ""))
	got := do("get", "GET", pods+"/web", "")
	require.Equal(t, http.StatusOK, got.Status)
	do("list", "GET", pods, "")
	do("list selector", "GET", pods+"?labelSelector=app%3Dweb&limit=1", "")
	do("update conflict", "PUT", pods+"/web", podBody("web", `,"resourceVersion":"1"`))
	do("bad body", "POST", pods, `{"apiVersion":"v1","kind":`)
	do("unknown field", "POST", pods, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"bogus":1}`)
	do("not found", "GET", pods+"/missing", "")
	do("no such resource", "GET", "/api/v1/nosuch", "")
	do("bad parameter", "GET", pods+"?bogus=1", "")
	do("method", "PATCH", pods, "{}")
	do("too large", "POST", pods, podBody("big", `,"annotations":{"a":"`+strings.Repeat("x", DefaultMaxBodyBytes)+`"}`))
	do("healthz", "GET", "/healthz", "")
	do("head healthz", "HEAD", "/healthz", "")
	do("version", "GET", "/version", "")
	do("discovery", "GET", "/api/v1", "")

	// An update with the resourceVersion read, then a watch from there.
	var pod map[string]any
	require.NoError(t, json.Unmarshal([]byte(got.Body), &pod))
	meta := pod["metadata"].(map[string]any)
	rv := meta["resourceVersion"].(string)
	meta["labels"] = map[string]any{"app": "web", "v": "2"}
	upd, _ := json.Marshal(pod)
	updated := do("update", "PUT", pods+"/web", string(upd))
	require.Equal(t, http.StatusOK, updated.Status)
	require.NoError(t, json.Unmarshal([]byte(updated.Body), &pod))
	rv = pod["metadata"].(map[string]any)["resourceVersion"].(string)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+pods+"?watch=true&resourceVersion="+rv, nil)
	require.NoError(t, err)
	resp, err := c.Do(req) // returns at the watch's first flush, before any event
	require.NoError(t, err)
	recs = append(recs, exchangeRecord{"watch", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, ""})
	lines := bufio.NewReader(resp.Body)
	event := func(name string) {
		t.Helper()
		line, err := lines.ReadBytes('\n')
		require.NoError(t, err, name)
		recs = append(recs, exchangeRecord{Name: name, Body: string(line)})
	}
	do("create during watch", "POST", pods, podBody("w1", ""))
	event("watch: create")
	do("delete during watch", "DELETE", pods+"/w1", "")
	event("watch: delete")
	require.NoError(t, resp.Body.Close())
	do("delete", "DELETE", pods+"/web", "")
	do("get deleted", "GET", pods+"/web", "")
	return recs
}

// TestInProcessSameAsHTTP: the same requests through a real HTTP server
// and through the in-process transport give the same status codes,
// headers that matter and bodies, watch events included.
func TestInProcessSameAsHTTP(t *testing.T) {
	hs := deterministicServer(t)
	srv := httptest.NewServer(hs.Handler())
	defer srv.Close()
	overHTTP := apiScenario(t, srv.Client(), srv.URL)

	is := deterministicServer(t)
	inProc := apiScenario(t, &http.Client{Transport: is.Transport()}, "http://in-process")

	require.Equal(t, len(overHTTP), len(inProc))
	for i := range overHTTP {
		require.Equal(t, overHTTP[i], inProc[i], "exchange %d (%s)", i, overHTTP[i].Name)
	}
	byName := map[string]exchangeRecord{}
	for _, r := range inProc {
		byName[r.Name] = r
	}
	// The scenario covers what it claims to.
	for name, code := range map[string]int{
		"create existing": 409, "update conflict": 409, "bad body": 400, "unknown field": 400,
		"not found": 404, "no such resource": 404, "too large": 413, "watch": 200, "method": 405,
	} {
		require.Equal(t, code, byName[name].Status, name)
	}
	require.Equal(t, int64(-1), byName["watch"].ContentLength, "a watch is streamed")
	require.Equal(t, int64(2), byName["healthz"].ContentLength)
	require.Contains(t, byName["watch: create"].Body, `"type":"ADDED"`)
	require.Contains(t, byName["watch: delete"].Body, `"type":"DELETED"`)
	require.Contains(t, byName["create generated"].Body, `"name":"gen-00001"`)
}

// watchCount is how many watch requests of pods the server has finished.
func watchCount(s *Server) float64 {
	return metricValue(s.metrics.requests.WithLabelValues("watch", "pods", "200"))
}

// metricValue returns the value of a counter or a gauge.
func metricValue(m prometheus.Metric) float64 {
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		panic(err)
	}
	if c := out.GetCounter(); c != nil {
		return c.GetValue()
	}
	return out.GetGauge().GetValue()
}

// TestInProcessWatchEndsOnClose: closing the body of a watch, or
// cancelling its context, ends the handler before Close returns.
func TestInProcessWatchEndsOnClose(t *testing.T) {
	s := deterministicServer(t)
	c := &http.Client{Transport: s.Transport()}
	resp, err := c.Get("http://x/api/v1/namespaces/default/pods?watch=1")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Zero(t, watchCount(s))
	require.NoError(t, resp.Body.Close())
	require.Equal(t, 1.0, watchCount(s), "the watch handler returned before Close did")
	_, err = resp.Body.Read(make([]byte, 1))
	require.Error(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://x/api/v1/namespaces/default/pods?watch=1", nil)
	resp, err = c.Do(req)
	require.NoError(t, err)
	readErr := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		readErr <- err
	}()
	cancel()
	select {
	case err := <-readErr:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("a read of a cancelled watch did not return")
	}
	require.NoError(t, resp.Body.Close())
	require.Equal(t, 2.0, watchCount(s))
}

// TestInProcessNoGoroutineLeak: requests of every kind, watches closed,
// cancelled and timed out, leave no goroutine behind.
func TestInProcessNoGoroutineLeak(t *testing.T) {
	s := deterministicServer(t)
	c := &http.Client{Transport: s.Transport()}
	const base = "http://x/api/v1/namespaces/default/pods"
	post := func(path, body string) {
		resp, err := c.Post("http://x"+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	post("/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}`)
	round := func(i int) {
		post("/api/v1/namespaces/default/pods", podBody(fmt.Sprintf("p%d", i), ""))
		for _, p := range []string{"", "/p0", "/missing", "?watch=1&timeoutSeconds=1"} {
			if strings.Contains(p, "timeoutSeconds") && i > 0 {
				continue // one is enough: it lasts a second
			}
			resp, err := c.Get(base + p)
			require.NoError(t, err)
			_, err = io.Copy(io.Discard, resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
		}
		resp, err := c.Get(base + "?watch=1")
		require.NoError(t, err)
		resp.Body.Close()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"?watch=1", nil)
		resp, err = c.Do(req)
		require.NoError(t, err)
		cancel()
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		// A large body refused with 413, never read to its end.
		resp, err = c.Post(base, "application/json", strings.NewReader(strings.Repeat(" ", DefaultMaxBodyBytes+1)))
		require.NoError(t, err)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		resp.Body.Close()
	}
	round(0) // warm up whatever is started once
	base0 := runtime.NumGoroutine()
	for i := 1; i <= 20; i++ {
		round(i)
	}
	waitGoroutines(t, base0)
}

// waitGoroutines waits until no more than n goroutines run.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		<-tick.C
	}
}

// handlerCases are handlers whose responses must look the same through
// net/http and in process.
var handlerCases = []struct {
	name   string
	method string
	h      http.HandlerFunc
}{
	{"implicit 200 and sniffed type", "GET", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) }},
	{"html sniffed", "GET", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html><body>x")) }},
	{"nothing written", "GET", func(w http.ResponseWriter, r *http.Request) {}},
	{"status only", "GET", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }},
	{"second WriteHeader ignored", "GET", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/x")
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("Content-Type", "text/changed-too-late")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("body"))
	}},
	{"large, chunked", "GET", func(w http.ResponseWriter, r *http.Request) {
		for i := range 100 {
			_, _ = fmt.Fprintf(w, "line %04d %s\n", i, strings.Repeat("y", 50))
		}
	}},
	{"large, declared length", "GET", func(w http.ResponseWriter, r *http.Request) {
		b := bytes.Repeat([]byte("z"), 10000)
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		_, _ = w.Write(b)
	}},
	{"flushed", "GET", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("a"))
		_ = http.NewResponseController(w).Flush()
		_, _ = w.Write([]byte("b"))
	}},
	{"no content", "GET", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
			panic(fmt.Sprintf("Write on a 204: %v", err))
		}
	}},
	{"not modified", "GET", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) }},
	{"head", "HEAD", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("some body")) }},
	{"write past length", "GET", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		_, _ = w.Write([]byte("abc"))
		if _, err := w.Write([]byte("d")); !errors.Is(err, http.ErrContentLength) {
			panic(fmt.Sprintf("Write past Content-Length: %v", err))
		}
	}},
	{"unknown status", "GET", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(599) }},
	{"short of declared length", "GET", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = w.Write([]byte("abc"))
	}},
	{"echo request", "POST", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "%s %s %s host=%s len=%d te=%v cl=%q hosthdr=%q body=%q err=%v",
			r.Method, r.RequestURI, r.URL.String(), r.Host, r.ContentLength, r.TransferEncoding,
			r.Header.Get("Content-Length"), r.Header.Get("Host"), body, err)
	}},
	{"echo chunked request", "POST chunked", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "len=%d te=%v cl=%q body=%q err=%v",
			r.ContentLength, r.TransferEncoding, r.Header.Get("Content-Length"), body, err)
	}},
}

type handlerRecord struct {
	Status           string
	StatusCode       int
	ContentLength    int64
	TransferEncoding []string
	ContentType      string
	Body             string
	ReadErr          bool
}

func recordHandler(t *testing.T, c *http.Client, base, method string) handlerRecord {
	t.Helper()
	var body io.Reader
	switch method {
	case "POST":
		body = strings.NewReader("request body")
	case "POST chunked":
		method, body = "POST", io.MultiReader(strings.NewReader("request body")) // of unknown length
	}
	req, err := http.NewRequest(method, base+"/p/a%2Fb?q=1&r=%20", body)
	require.NoError(t, err)
	req.Host = "example.test"
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return handlerRecord{resp.Status, resp.StatusCode, resp.ContentLength, resp.TransferEncoding,
		resp.Header.Get("Content-Type"), string(data), err != nil}
}

// TestInProcessResponseWriterLikeNetHTTP: the ResponseWriter contract
// (implicit 200, one WriteHeader, header copied at WriteHeader,
// Content-Length, chunking, sniffing, bodiless statuses, HEAD) gives the
// caller what net/http's server gives it.
func TestInProcessResponseWriterLikeNetHTTP(t *testing.T) {
	for _, tc := range handlerCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(tc.h)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the superfluous WriteHeader is meant
			srv.Start()
			defer srv.Close()
			want := recordHandler(t, srv.Client(), srv.URL, tc.method)
			got := recordHandler(t, &http.Client{Transport: &InProcessTransport{Handler: tc.h}}, "http://example.test", tc.method)
			require.Equal(t, want, got)
		})
	}
}

// TestInProcessStreams: the response is returned at the first flush, and
// request and response bodies stream both ways at once.
func TestInProcessStreams(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush()
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			_, _ = fmt.Fprintf(w, "echo %s\n", sc.Text())
			_ = rc.Flush()
		}
	})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://x/echo", pr)
	resp, err := (&InProcessTransport{Handler: echo}).RoundTrip(req)
	require.NoError(t, err)
	require.Equal(t, int64(-1), resp.ContentLength)
	lines := bufio.NewReader(resp.Body)
	for _, word := range []string{"one", "two", "three"} {
		_, err := fmt.Fprintln(pw, word)
		require.NoError(t, err)
		line, err := lines.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "echo "+word+"\n", line)
	}
	require.NoError(t, pw.Close())
	rest, err := io.ReadAll(lines)
	require.NoError(t, err)
	require.Empty(t, rest)
}

// TestInProcessLifecycle: when the handler's goroutine ends, and what
// the caller sees of a cancellation or a panic.
func TestInProcessLifecycle(t *testing.T) {
	t.Run("close waits for the handler", func(t *testing.T) {
		var returned atomic.Bool
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer returned.Store(true)
			_ = http.NewResponseController(w).Flush()
			<-r.Context().Done()
		})
		resp, err := (&http.Client{Transport: &InProcessTransport{Handler: h}}).Get("http://x/")
		require.NoError(t, err)
		require.False(t, returned.Load())
		require.NoError(t, resp.Body.Close())
		require.True(t, returned.Load())
		require.NoError(t, resp.Body.Close(), "a second Close")
	})
	t.Run("EOF after the handler returned", func(t *testing.T) {
		var returned atomic.Bool
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer returned.Store(true)
			_, _ = w.Write(bytes.Repeat([]byte("x"), 5000))
		})
		resp, err := (&http.Client{Transport: &InProcessTransport{Handler: h}}).Get("http://x/")
		require.NoError(t, err)
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Len(t, data, 5000)
		require.True(t, returned.Load())
	})
	t.Run("cancelled before the response", func(t *testing.T) {
		var returned atomic.Bool
		started := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer returned.Store(true)
			close(started)
			<-r.Context().Done()
		})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-started; cancel() }()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://x/", nil)
		_, err := (&http.Client{Transport: &InProcessTransport{Handler: h}}).Do(req)
		require.ErrorIs(t, err, context.Canceled)
		require.True(t, returned.Load())
	})
	t.Run("cancel unblocks a handler reading the body", func(t *testing.T) {
		started := make(chan struct{})
		var readErr error
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			_, readErr = io.ReadAll(r.Body)
		})
		pr, pw := io.Pipe()
		defer pw.Close()
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-started; cancel() }()
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://x/", pr)
		_, err := (&InProcessTransport{Handler: h}).RoundTrip(req)
		require.ErrorIs(t, err, context.Canceled)
		require.Error(t, readErr)
	})
	t.Run("request body closed after the handler", func(t *testing.T) {
		body := &closeRecorder{Reader: strings.NewReader("unread")}
		req, _ := http.NewRequest("POST", "http://x/", body)
		resp, err := (&InProcessTransport{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}).RoundTrip(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.True(t, body.closed.Load())
	})
	t.Run("panic before the header", func(t *testing.T) {
		h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
		_, err := (&http.Client{Transport: &InProcessTransport{Handler: h}}).Get("http://x/")
		require.ErrorIs(t, err, errHandlerPanicked)
	})
	t.Run("panic after the header", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("partial"))
			_ = http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		})
		resp, err := (&http.Client{Transport: &InProcessTransport{Handler: h}}).Get("http://x/")
		require.NoError(t, err)
		data, err := io.ReadAll(resp.Body)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.Equal(t, "partial", string(data))
	})
	t.Run("short body", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			_, _ = w.Write([]byte("abc"))
			_ = http.NewResponseController(w).Flush()
		})
		resp, err := (&http.Client{Transport: &InProcessTransport{Handler: h}}).Get("http://x/")
		require.NoError(t, err)
		_, err = io.ReadAll(resp.Body)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	})
}

type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }
