package prober

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

// hostPort splits a test server's URL into its host and port.
func hostPort(t *testing.T, raw string) (string, int32) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname(), int32(p)
}

func TestHTTPStatusesHeadersAndPorts(t *testing.T) {
	var mu sync.Mutex
	var last *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/status/"):
			code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
			w.WriteHeader(code)
			fmt.Fprintf(w, "status %d", code)
		case r.URL.Path == "/big":
			w.WriteHeader(500)
			w.Write([]byte(strings.Repeat("y", 5*maxOutput)))
		case r.URL.Path == "/redirect-same":
			http.Redirect(w, r, "/status/200", http.StatusFound)
		case r.URL.Path == "/redirect-fail":
			http.Redirect(w, r, "/status/503", http.StatusFound)
		case r.URL.Path == "/redirect-loop":
			http.Redirect(w, r, "/redirect-loop", http.StatusFound)
		case r.URL.Path == "/redirect-other":
			http.Redirect(w, r, "http://other.example:1/", http.StatusMovedPermanently)
		default:
			fmt.Fprint(w, "ok")
		}
	}))
	defer srv.Close()
	host, port := hostPort(t, srv.URL)
	c := &container{id: "c1", spec: &api.Container{Name: "app", Ports: []api.ContainerPort{{Name: "http", ContainerPort: port}}}, target: Target{Host: host}}

	for _, tc := range []struct {
		name     string
		action   api.HTTPGetAction
		want     Result
		contains string
	}{
		{"200", api.HTTPGetAction{Path: "/status/200", Port: api.FromInt32(port)}, Success, "status 200"},
		{"204", api.HTTPGetAction{Path: "/status/204", Port: api.FromInt32(port)}, Success, ""},
		{"399", api.HTTPGetAction{Path: "/status/399", Port: api.FromInt32(port)}, Success, "status 399"},
		{"400", api.HTTPGetAction{Path: "/status/400", Port: api.FromInt32(port)}, Failure, "status 400"},
		{"500", api.HTTPGetAction{Path: "/status/500", Port: api.FromInt32(port)}, Failure, "status 500"},
		{"named port", api.HTTPGetAction{Path: "/", Port: api.FromString("http")}, Success, "ok"},
		{"numeric string port", api.HTTPGetAction{Path: "/", Port: api.FromString(strconv.Itoa(int(port)))}, Success, "ok"},
		{"unknown named port", api.HTTPGetAction{Path: "/", Port: api.FromString("metrics")}, Failure, `port "metrics" is not the name of a port of container "app"`},
		{"port out of range", api.HTTPGetAction{Path: "/", Port: api.FromInt32(70000)}, Failure, "port 70000 is not valid"},
		{"path without slash", api.HTTPGetAction{Path: "status/200", Port: api.FromInt32(port)}, Success, "status 200"},
		{"default scheme and path", api.HTTPGetAction{Port: api.FromInt32(port)}, Success, "ok"},
		{"bad scheme", api.HTTPGetAction{Port: api.FromInt32(port), Scheme: "FTP"}, Failure, `scheme "FTP" is not valid`},
		{"redirect same host", api.HTTPGetAction{Path: "/redirect-same", Port: api.FromInt32(port)}, Success, "status 200"},
		{"redirect to a failure", api.HTTPGetAction{Path: "/redirect-fail", Port: api.FromInt32(port)}, Failure, "status 503"},
		{"redirect loop", api.HTTPGetAction{Path: "/redirect-loop", Port: api.FromInt32(port)}, Failure, "stopped after 10 redirects"},
		{"redirect other host", api.HTTPGetAction{Path: "/redirect-other", Port: api.FromInt32(port)}, Success, "warning: GET"},
		{"body capped", api.HTTPGetAction{Path: "/big", Port: api.FromInt32(port)}, Failure, "status 500"},
	} {
		res, msg := httpProbe(context.Background(), c, &tc.action, time.Second)
		if res != tc.want || !strings.Contains(msg, tc.contains) {
			t.Errorf("%s: got %s %q, want %s containing %q", tc.name, res, msg, tc.want, tc.contains)
		}
		if len(msg) > maxOutput+200 {
			t.Errorf("%s: message of %d bytes, want the body capped at %d", tc.name, len(msg), maxOutput)
		}
	}

	// Headers: the probe's, a Host override, and the default User-Agent
	// and Accept.
	a := &api.HTTPGetAction{Path: "/h", Port: api.FromInt32(port), HTTPHeaders: []api.HTTPHeader{
		{Name: "X-Custom", Value: "a"}, {Name: "X-Custom", Value: "b"}, {Name: "host", Value: "app.example"},
	}}
	if res, msg := httpProbe(context.Background(), c, a, time.Second); res != Success {
		t.Fatalf("headers: %s %q", res, msg)
	}
	mu.Lock()
	r := last
	mu.Unlock()
	if got := r.Header.Values("X-Custom"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("X-Custom: %q, want [a b]", got)
	}
	if r.Host != "app.example" {
		t.Errorf("Host: %q, want app.example", r.Host)
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "drover-probe/") {
		t.Errorf("User-Agent: %q, want drover-probe/<version>", ua)
	}
	if got := r.Header.Get("Accept"); got != "*/*" {
		t.Errorf("Accept: %q, want */*", got)
	}
	a = &api.HTTPGetAction{Path: "/h", Port: api.FromInt32(port), HTTPHeaders: []api.HTTPHeader{{Name: "User-Agent", Value: "mine"}}}
	httpProbe(context.Background(), c, a, time.Second)
	mu.Lock()
	if ua := last.Header.Get("User-Agent"); ua != "mine" {
		t.Errorf("User-Agent set by the probe: %q, want mine", ua)
	}
	mu.Unlock()

	// The probe's host wins over the target's.
	c2 := &container{id: "c2", spec: c.spec, target: Target{Host: "192.0.2.1"}}
	if res, msg := httpProbe(context.Background(), c2, &api.HTTPGetAction{Host: host, Port: api.FromInt32(port)}, time.Second); res != Success {
		t.Errorf("probe host: %s %q", res, msg)
	}
	c3 := &container{id: "c3", spec: c.spec}
	if res, msg := httpProbe(context.Background(), c3, &api.HTTPGetAction{Port: api.FromInt32(port)}, time.Second); res != Failure || !strings.Contains(msg, "no host") {
		t.Errorf("no host: %s %q, want a Failure saying there is no host", res, msg)
	}
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "secure") }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the plain HTTP probe below makes it complain
	srv.StartTLS()
	defer srv.Close()
	host, port := hostPort(t, srv.URL)
	c := &container{id: "c1", spec: &api.Container{Name: "app"}, target: Target{Host: host}}
	// The server's certificate is self-signed: not verified, as Kubernetes.
	res, msg := httpProbe(context.Background(), c, &api.HTTPGetAction{Port: api.FromInt32(port), Scheme: api.URISchemeHTTPS}, time.Second)
	if res != Success || msg != "secure" {
		t.Fatalf("https: %s %q", res, msg)
	}
	// Plain HTTP to the TLS port fails.
	if res, _ := httpProbe(context.Background(), c, &api.HTTPGetAction{Port: api.FromInt32(port)}, time.Second); res != Failure {
		t.Fatalf("http to a TLS port: %s, want Failure", res)
	}
}

func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	port := int32(l.Addr().(*net.TCPAddr).Port)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := int32(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()

	c := &container{id: "c1", spec: &api.Container{Name: "db", Ports: []api.ContainerPort{{Name: "sql", ContainerPort: port}}}, target: Target{Host: "127.0.0.1"}}
	for _, tc := range []struct {
		name string
		port api.IntOrString
		want Result
	}{
		{"open", api.FromInt32(port), Success},
		{"named", api.FromString("sql"), Success},
		{"closed", api.FromInt32(closedPort), Failure},
		{"unknown name", api.FromString("nope"), Failure},
	} {
		if res, msg := tcpProbe(context.Background(), c, &api.TCPSocketAction{Port: tc.port}, time.Second); res != tc.want {
			t.Errorf("%s: %s %q, want %s", tc.name, res, msg, tc.want)
		}
	}
}

// TestNetworkProbesThroughManager runs httpGet and tcpSocket probes from
// a Manager: Target.Dial makes the connections, and timeoutSeconds runs
// on the Manager's clock.
func TestNetworkProbesThroughManager(t *testing.T) {
	block := make(chan struct{})
	arrived := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			select {
			case <-r.Context().Done():
			case <-block:
			}
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	defer close(block)
	_, port := hostPort(t, srv.URL)
	srvAddr := srv.Listener.Addr().String()

	e := newEnv(t, nil)
	var mu sync.Mutex
	var dialed []string
	target := Target{Host: "pod.invalid", Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, network+" "+addr)
		mu.Unlock()
		return (&net.Dialer{}).DialContext(ctx, network, srvAddr)
	}}
	ready := &api.Probe{ProbeHandler: api.ProbeHandler{HTTPGet: &api.HTTPGetAction{Path: "/", Port: api.FromString("http")}}}
	live := &api.Probe{ProbeHandler: api.ProbeHandler{TCPSocket: &api.TCPSocketAction{Port: api.FromInt32(8080)}}}
	spec := &api.Container{Name: "web", Ports: []api.ContainerPort{{Name: "http", ContainerPort: port}}, ReadinessProbe: ready, LivenessProbe: live}
	id := e.start(spec, target)
	if !e.m.Ready(id) {
		t.Fatal("not ready after a successful httpGet probe")
	}
	wantUpdates(t, e.take(), Update{PodUID: "pod-1", ContainerName: "web", ContainerID: id, Kind: Readiness, Result: Success})
	mu.Lock()
	want := []string{"tcp pod.invalid:" + strconv.Itoa(int(port)), "tcp pod.invalid:8080"}
	if len(dialed) != 2 || !(dialed[0] == want[0] && dialed[1] == want[1] || dialed[0] == want[1] && dialed[1] == want[0]) {
		t.Errorf("dialed %q, want %q through Target.Dial", dialed, want)
	}
	mu.Unlock()

	// A server that does not answer fails the probe after timeoutSeconds
	// of the Manager's clock.
	slow := &api.Probe{ProbeHandler: api.ProbeHandler{HTTPGet: &api.HTTPGetAction{Path: "/slow", Port: api.FromInt32(port)}}, TimeoutSeconds: 2, FailureThreshold: 1}
	id2 := e.start2(&api.Container{Name: "slow", LivenessProbe: slow}, target)
	<-arrived
	e.clk.Advance(time.Second) // the probe still blocks: no waitIdle
	if u := e.take(); len(u) != 0 {
		t.Fatalf("updates before the timeout: %+v", u)
	}
	e.step(time.Second)
	got := e.take()
	wantUpdates(t, got, Update{PodUID: "pod-1", ContainerName: "slow", ContainerID: id2, Kind: Liveness, Result: Failure})
	if !strings.Contains(got[0].Message, "timed out after 2s") {
		t.Errorf("message %q: want it to say the probe timed out", got[0].Message)
	}
}

// start2 is start without waiting for the first probes (they may block).
func (e *env) start2(spec *api.Container, target Target) string {
	e.t.Helper()
	id := fmt.Sprintf("net-%s", spec.Name)
	e.m.Add(pod, spec, id, e.clk.Now(), target)
	return id
}
