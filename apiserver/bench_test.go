package apiserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/store/memstore"
)

// The benchmarks below send requests through HTTP on loopback
// (httptest.Server) from b.RunParallel's goroutines and report requests
// per second (req/s). Client and server share the process, so B/op and
// allocs/op count both; BenchmarkHTTPLoopback is that floor: the same
// client and net/http server with a handler that only reads the body and
// writes a 1 KiB answer.
//
//	go test ./apiserver -run '^$' -bench . -benchmem

// benchServer is an API server on a memstore with a namespace "bench".
type benchServer struct {
	srv    *httptest.Server
	client *http.Client
}

func newBenchServer(b *testing.B, h http.Handler) *benchServer {
	b.Helper()
	if h == nil {
		st, err := memstore.New(memstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		s, err := apiserver.New(apiserver.Config{Store: st, Scheme: api.NewDefaultScheme(), Registerer: prometheus.NewRegistry()})
		if err != nil {
			b.Fatal(err)
		}
		h = s.Handler()
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	bs := &benchServer{srv: srv, client: &http.Client{Transport: tr}}
	bs.do(b, "POST", "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}}`, http.StatusCreated)
	return bs
}

// do sends a request, reads the answer and fails unless it has code.
func (s *benchServer) do(b *testing.B, method, path, body string, code int) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		b.Error(err)
		return
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != code {
		b.Errorf("%s %s: %d %s %v", method, path, resp.StatusCode, data, err)
	}
}

func benchPod(name string) string {
	return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `","namespace":"bench","labels":{"app":"web"}},` +
		`"spec":{"containers":[{"name":"c","image":"nginx:1.27","ports":[{"containerPort":80}]}]}}`
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkCreate(b *testing.B) {
	s := newBenchServer(b, nil)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.do(b, "POST", "/api/v1/namespaces/bench/pods", benchPod(fmt.Sprintf("p%d", n.Add(1))), http.StatusCreated)
		}
	})
	reportRate(b)
}

func BenchmarkGet(b *testing.B) {
	s := newBenchServer(b, nil)
	s.do(b, "POST", "/api/v1/namespaces/bench/pods", benchPod("web"), http.StatusCreated)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.do(b, "GET", "/api/v1/namespaces/bench/pods/web", "", http.StatusOK)
		}
	})
	reportRate(b)
}

// BenchmarkList1000 lists a namespace of 1,000 pods.
func BenchmarkList1000(b *testing.B) {
	s := newBenchServer(b, nil)
	for i := range 1000 {
		s.do(b, "POST", "/api/v1/namespaces/bench/pods", benchPod(fmt.Sprintf("p%04d", i)), http.StatusCreated)
	}
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.do(b, "GET", "/api/v1/namespaces/bench/pods", "", http.StatusOK)
		}
	})
	reportRate(b)
}

// BenchmarkHTTPLoopback is the floor of the others: the same requests to
// a handler that does nothing but answer.
func BenchmarkHTTPLoopback(b *testing.B) {
	answer := bytes.Repeat([]byte("x"), 1024)
	s := newBenchServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.Method == "POST" {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = w.Write(answer)
	}))
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.do(b, "POST", "/api/v1/namespaces/bench/pods", benchPod("web"), http.StatusCreated)
		}
	})
	reportRate(b)
}

// BenchmarkBind binds pods to a node through pods/binding: a strict
// decode of the Binding, a read of the pod and a compare-and-swap, as the
// scheduler does for every pod. The pods are created before the timer.
func BenchmarkBind(b *testing.B) {
	s := newBenchServer(b, nil)
	for i := range b.N {
		s.do(b, "POST", "/api/v1/namespaces/bench/pods", benchPod(fmt.Sprintf("p%d", i)), http.StatusCreated)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			name := fmt.Sprintf("p%d", n.Add(1)-1)
			s.do(b, "POST", "/api/v1/namespaces/bench/pods/"+name+"/binding",
				`{"apiVersion":"v1","kind":"Binding","metadata":{"name":"`+name+`","namespace":"bench"},"target":{"apiVersion":"v1","kind":"Node","name":"node-1"}}`,
				http.StatusCreated)
		}
	})
	reportRate(b)
}
