package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/kubelet/internal/podlabels"
	"github.com/drover-io/drover/kubelet/server"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is a server over a fake runtime on a fake clock, served by an
// httptest TLS server.
type env struct {
	t      testing.TB
	clk    *fakeclock.Clock
	rt     *fake.Driver
	srv    *server.Server
	ts     *httptest.Server
	logDir string
	proc   string
	done   chan string // a path each time a request's handler returns
}

func newEnv(t testing.TB, opts ...func(*server.Config)) *env {
	t.Helper()
	clk := fakeclock.New(epoch)
	rt, err := fake.New(fake.Config{Clock: clk})
	require.NoError(t, err)
	_, err = rt.PullImage(context.Background(), "busybox", runtime.PullOptions{})
	require.NoError(t, err)
	e := &env{t: t, clk: clk, rt: rt, logDir: t.TempDir(), proc: t.TempDir(), done: make(chan string, 100)}
	e.writeProc(1000, 2000)
	cfg := server.DefaultConfig()
	cfg.Runtime = rt
	cfg.NodeName = "node-1"
	cfg.CertDir = t.TempDir()
	cfg.Clock = clk
	cfg.ProcDir = e.proc
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Runtime == nil {
		cfg.Runtime = rt
	}
	e.srv, err = server.New(cfg)
	require.NoError(t, err)
	h := e.srv.Handler()
	e.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		select {
		case e.done <- r.URL.Path:
		default:
		}
	}))
	e.ts.TLS = &tls.Config{Certificates: []tls.Certificate{*e.srv.Certificate()}}
	e.ts.StartTLS()
	t.Cleanup(e.ts.Close)
	return e
}

// client trusts the server's own certificate.
func (e *env) client() *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(e.srv.Certificate().Leaf)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// get returns the code and body of GET path.
func (e *env) get(path string) (int, string) {
	e.t.Helper()
	resp, err := e.client().Get(e.ts.URL + path)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, string(data)
}

// writeProc writes the node's /proc/stat and /proc/meminfo: user and
// idle in USER_HZ ticks.
func (e *env) writeProc(user, idle uint64) {
	stat := fmt.Sprintf("cpu  %d 0 0 %d 0 0 0 0 0 0\ncpu0 %d 0 0 %d 0 0 0 0 0 0\nintr 1\n", user, idle, user, idle)
	require.NoError(e.t, os.WriteFile(filepath.Join(e.proc, "stat"), []byte(stat), 0o644))
	mem := "MemTotal:       8000000 kB\nMemFree:        2000000 kB\nMemAvailable:   5000000 kB\nInactive(file): 1000000 kB\n"
	require.NoError(e.t, os.WriteFile(filepath.Join(e.proc, "meminfo"), []byte(mem), 0o644))
}

// sandbox runs a sandbox of the pod namespace/name made by the node agent.
func (e *env) sandbox(ns, name, uid string, attempt uint32) string {
	e.t.Helper()
	dir := filepath.Join(e.logDir, fmt.Sprintf("%s_%s_%s", ns, name, uid))
	require.NoError(e.t, os.MkdirAll(dir, 0o755))
	id, err := e.rt.RunPodSandbox(context.Background(), &runtime.SandboxConfig{
		Metadata:     runtime.PodMetadata{Name: name, Namespace: ns, UID: uid, Attempt: attempt},
		LogDirectory: dir,
		Labels:       podlabels.Sandbox(ns, name, uid),
	})
	require.NoError(e.t, err)
	e.clk.Advance(time.Second) // sandboxes are ordered by creation
	return id
}

// container creates and starts a container running script in the fake's
// shell.
func (e *env) container(sb, ns, name, uid, cname string, attempt uint32, script string) string {
	e.t.Helper()
	ctx := context.Background()
	id, err := e.rt.CreateContainer(ctx, sb, &runtime.ContainerConfig{
		Name: cname, Attempt: attempt, Image: "busybox", Command: []string{"sh", "-c", script},
		LogPath: fmt.Sprintf("%s/%d.log", cname, attempt),
		Labels:  podlabels.Container(ns, name, uid, cname, podlabels.TypeRegular),
	})
	require.NoError(e.t, err)
	require.NoError(e.t, e.rt.StartContainer(ctx, id))
	return id
}

func TestLogsCurrentAndPrevious(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox("default", "web", "u1", 0)
	e.container(sb, "default", "web", "u1", "app", 0, "echo first run; exit 1")
	e.container(sb, "default", "web", "u1", "app", 1, "echo second run; sleep infinity")

	code, body := e.get("/containerLogs/default/web/app")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "second run\n", body)
	code, body = e.get("/containerLogs/default/web/app?previous=true")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "first run\n", body)
}

func TestLogsPreviousInOlderSandbox(t *testing.T) {
	e := newEnv(t)
	old := e.sandbox("default", "web", "u1", 0)
	e.container(old, "default", "web", "u1", "app", 0, "echo in the old sandbox; exit 0")
	require.NoError(t, e.rt.StopPodSandbox(context.Background(), old))
	sb := e.sandbox("default", "web", "u1", 1)
	// The attempt goes on across sandboxes (as the restart count), so the
	// log files (<container>/<attempt>.log) do not collide.
	e.container(sb, "default", "web", "u1", "app", 1, "echo in the new sandbox; sleep infinity")

	_, body := e.get("/containerLogs/default/web/app")
	require.Equal(t, "in the new sandbox\n", body)
	_, body = e.get("/containerLogs/default/web/app?previous=true")
	require.Equal(t, "in the old sandbox\n", body)

	// A pod of the same name made anew (another UID) has no previous
	// container: the old pod's are not its.
	sb2 := e.sandbox("default", "web", "u2", 0)
	e.container(sb2, "default", "web", "u2", "app", 0, "echo the new pod; sleep infinity")
	_, body = e.get("/containerLogs/default/web/app")
	require.Equal(t, "the new pod\n", body)
	code, body := e.get("/containerLogs/default/web/app?previous=true")
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, `previous terminated container "app" in pod "web" not found`+"\n", body)
}

func TestLogsOptions(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox("default", "web", "u1", 0)
	e.container(sb, "default", "web", "u1", "app", 0, "echo one; echo two; sleep 60; echo three; sleep infinity")
	start := e.clk.Now()
	e.clk.Advance(60 * time.Second)

	for _, tc := range []struct{ query, want string }{
		{"", "one\ntwo\nthree\n"},
		{"tailLines=2", "two\nthree\n"},
		{"tailLines=0", ""},
		{"limitBytes=6", "one\ntw"},
		{"sinceSeconds=30", "three\n"},
		{"sinceTime=" + start.Add(30*time.Second).Format(time.RFC3339), "three\n"},
		{"timestamps=true&tailLines=1", start.Add(60*time.Second).Format(time.RFC3339Nano) + " three\n"},
		{"follow=false&previous=false", "one\ntwo\nthree\n"},
	} {
		code, body := e.get("/containerLogs/default/web/app?" + tc.query)
		require.Equal(t, http.StatusOK, code, "%s: %s", tc.query, body)
		require.Equal(t, tc.want, body, tc.query)
	}
}

func TestLogsErrors(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox("default", "web", "u1", 0)
	e.container(sb, "default", "web", "u1", "app", 0, "echo hi; sleep infinity")
	// A sandbox that is not the node agent's is not a pod of it.
	foreign, err := e.rt.RunPodSandbox(context.Background(), &runtime.SandboxConfig{
		Metadata: runtime.PodMetadata{Name: "other", Namespace: "default", UID: "x"},
		Labels:   map[string]string{podlabels.PodNamespace: "default", podlabels.PodName: "other"},
	})
	require.NoError(t, err)
	require.NotEmpty(t, foreign)

	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{"/containerLogs/default/nope/app", 404, "pod default/nope is not found on this node"},
		{"/containerLogs/default/other/app", 404, "pod default/other is not found"},
		{"/containerLogs/kube-system/web/app", 404, "not found"},
		{"/containerLogs/default/web/sidecar", 404, `container "sidecar" in pod default/web is not found`},
		{"/containerLogs/default/web/app?previous=true", 400, `previous terminated container "app" in pod "web" not found`},
		{"/containerLogs/default/web/app?tailLines=-1", 400, "invalid log option tailLines"},
		{"/containerLogs/default/web/app?sinceSeconds=0", 400, "invalid log option sinceSeconds"},
		{"/containerLogs/default/web/app?limitBytes=x", 400, "invalid log option limitBytes"},
		{"/containerLogs/default/web/app?follow=maybe", 400, "invalid log option follow"},
		{"/containerLogs/default/web/app?sinceTime=yesterday", 400, "invalid log option sinceTime"},
		{"/containerLogs/default/web/app?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z", 400, "both given"},
		{"/containerLogs/default/web", 404, ""},
	} {
		code, body := e.get(tc.path)
		require.Equal(t, tc.code, code, "%s: %s", tc.path, body)
		require.Contains(t, body, tc.msg, tc.path)
	}
}

func TestLogsFollow(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox("default", "web", "u1", 0)
	e.container(sb, "default", "web", "u1", "app", 0, "echo a; sleep 10; echo b; sleep 10; echo c; sleep infinity")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/containerLogs/default/web/app?follow=true", nil)
	require.NoError(t, err)
	resp, err := e.client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
	br := bufio.NewReader(resp.Body)
	readLine := func() string {
		l, err := br.ReadString('\n')
		require.NoError(t, err)
		return l
	}
	require.Equal(t, "a\n", readLine())
	e.clk.Advance(10 * time.Second) // the container writes b
	require.Equal(t, "b\n", readLine())
	e.clk.Advance(10 * time.Second)
	require.Equal(t, "c\n", readLine())

	// The client going away ends the handler.
	cancel()
	select {
	case p := <-e.done:
		require.Equal(t, "/containerLogs/default/web/app", p)
	case <-time.After(controllertest.Timeout):
		t.Fatal("the followed log's handler did not end when the client went away")
	}
}

func TestLogsFollowExitedContainerEnds(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox("default", "web", "u1", 0)
	e.container(sb, "default", "web", "u1", "app", 0, "echo done; exit 0")
	code, body := e.get("/containerLogs/default/web/app?follow=true")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "done\n", body)
}

// nodeCluster is an API server (served over HTTP too) whose pod "web"
// (container "app") is bound to node-1, whose node agent is a Server on a
// loopback port over TLS, with the pod's container running in the fake
// runtime.
type nodeCluster struct {
	api *controllertest.Env
	rt  *fake.Driver
	clk *fakeclock.Clock
}

func newNodeCluster(t *testing.T, script string) *nodeCluster {
	clk := fakeclock.New(epoch)
	rt, err := fake.New(fake.Config{Clock: clk})
	require.NoError(t, err)
	ctx := controllertest.Context(t)
	_, err = rt.PullImage(ctx, "busybox", runtime.PullOptions{})
	require.NoError(t, err)

	cfg := server.DefaultConfig()
	cfg.Runtime, cfg.NodeName, cfg.CertDir, cfg.Clock = rt, "node-1", t.TempDir(), clk
	srv, err := server.New(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-served)
	})

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate().Leaf)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	apienv := controllertest.New(t, controllertest.WithHTTP(), controllertest.WithServerConfig(func(c *apiserver.Config) {
		c.Kubelet = apiserver.KubeletConfig{Transport: tr}
	}))
	c := apienv.Client

	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "node-1"}}
	require.NoError(t, c.Create(ctx, node))
	node.Status.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, c.UpdateStatus(ctx, node))
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "busybox"}}}}
	require.NoError(t, c.Create(ctx, pod))
	require.NoError(t, c.Bind(ctx, "default", "web", "node-1"))
	require.NoError(t, c.Get(ctx, "default", "web", pod))
	pod.Status.Phase = api.PodRunning
	require.NoError(t, c.UpdateStatus(ctx, pod))

	uid := string(pod.UID)
	dir := filepath.Join(t.TempDir(), "default_web_"+uid)
	sb, err := rt.RunPodSandbox(ctx, &runtime.SandboxConfig{
		Metadata: runtime.PodMetadata{Name: "web", Namespace: "default", UID: uid}, LogDirectory: dir,
		Labels: podlabels.Sandbox("default", "web", uid),
	})
	require.NoError(t, err)
	id, err := rt.CreateContainer(ctx, sb, &runtime.ContainerConfig{
		Name: "app", Image: "busybox", Command: []string{"sh", "-c", script},
		LogPath: "app/0.log", Labels: podlabels.Container("default", "web", uid, "app", podlabels.TypeRegular),
	})
	require.NoError(t, err)
	require.NoError(t, rt.StartContainer(ctx, id))
	return &nodeCluster{api: apienv, rt: rt, clk: clk}
}

// TestLogsThroughAPIServer is the contract with apiserver.KubeletConfig:
// the API server's pods/log reaches this server over TLS at the Node's
// address and port, and the client gets the container's log.
func TestLogsThroughAPIServer(t *testing.T) {
	nc := newNodeCluster(t, "echo hello; echo from the node; sleep infinity")
	c, ctx := nc.api.Client, controllertest.Context(t)

	tail := int64(1)
	rc, err := c.Logs(ctx, "default", "web", client.LogOptions{TailLines: &tail})
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "from the node\n", string(data))

	// previous=true of a container that never restarted: 400 with the
	// node agent's message.
	_, err = c.Logs(ctx, "default", "web", client.LogOptions{Previous: true})
	require.ErrorIs(t, err, api.ErrBadRequest)
	require.ErrorContains(t, err, `previous terminated container "app" in pod "web" not found`)
}

func TestLogsFollowThroughAPIServer(t *testing.T) {
	nc := newNodeCluster(t, "sleep 10; echo first; sleep 10; echo second; sleep infinity")
	ctx, cancel := context.WithCancel(controllertest.Context(t))
	defer cancel()
	// The log is empty when the follow starts: the node agent's headers
	// must come at once all the same.
	rc, err := nc.api.Client.Logs(ctx, "default", "web", client.LogOptions{Follow: true, Timestamps: true})
	require.NoError(t, err)
	defer rc.Close()
	br := bufio.NewReader(rc)
	nc.clk.Advance(10 * time.Second)
	l, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, epoch.Add(10*time.Second).Format(time.RFC3339Nano)+" first\n", l)
	nc.clk.Advance(10 * time.Second)
	l, err = br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, epoch.Add(20*time.Second).Format(time.RFC3339Nano)+" second\n", l)
}

// TestExecThroughAPIServer is the contract with the API server's
// pods/exec: client.Exec reaches the container through the proxy.
func TestExecThroughAPIServer(t *testing.T) {
	nc := newNodeCluster(t, "sleep infinity")
	c, err := client.New(client.Config{Host: nc.api.URL})
	require.NoError(t, err)
	var out, errOut strings.Builder
	code, err := c.Exec(controllertest.Context(t), "default", "web", client.ExecOptions{
		Command: []string{"sh", "-c", "echo from exec; echo oops >&2; exit 4"}, Stdout: &out, Stderr: &errOut,
	})
	require.NoError(t, err)
	require.Equal(t, 4, code)
	require.Equal(t, "from exec\n", out.String())
	require.Equal(t, "oops\n", errOut.String())
}

func TestStatsSummary(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox("default", "web", "u1", 0)
	e.container(sb, "default", "web", "u1", "app", 0, "sleep infinity")
	e.container(sb, "default", "web", "u1", "done", 0, "exit 0")
	sb2 := e.sandbox("kube-system", "dns", "u2", 0)
	e.container(sb2, "kube-system", "dns", "u2", "coredns", 0, "sleep infinity")

	summary := func() server.Summary {
		code, body := e.get("/stats/summary")
		require.Equal(t, http.StatusOK, code, body)
		var s server.Summary
		require.NoError(t, json.Unmarshal([]byte(body), &s))
		return s
	}
	s1 := summary()
	require.Equal(t, "node-1", s1.Node.NodeName)
	require.Equal(t, uint64(1000*10_000_000), *s1.Node.CPU.UsageCoreNanoSeconds)
	require.Nil(t, s1.Node.CPU.UsageNanoCores, "no previous sample")
	require.Equal(t, uint64(5000000*1024), *s1.Node.Memory.AvailableBytes)
	require.Equal(t, uint64(6000000*1024), *s1.Node.Memory.UsageBytes)
	require.Equal(t, uint64(5000000*1024), *s1.Node.Memory.WorkingSetBytes)
	require.Len(t, s1.Pods, 2)
	require.Equal(t, server.PodReference{Name: "web", Namespace: "default", UID: "u1"}, s1.Pods[0].PodRef)
	require.Len(t, s1.Pods[0].Containers, 1, "only running containers")
	require.Equal(t, "app", s1.Pods[0].Containers[0].Name)
	require.Nil(t, s1.Pods[0].Containers[0].CPU.UsageNanoCores)
	require.Equal(t, uint64(1<<20), *s1.Pods[0].Containers[0].Memory.WorkingSetBytes)

	// 10 s later: the node used 5 more seconds of CPU (500 ticks), the
	// fake's containers 10 millicores.
	e.clk.Advance(10 * time.Second)
	e.writeProc(1500, 3000)
	s2 := summary()
	require.Equal(t, uint64(500_000_000), *s2.Node.CPU.UsageNanoCores, "0.5 core")
	app := s2.Pods[0].Containers[0]
	require.Equal(t, uint64(10_000_000), *app.CPU.UsageNanoCores, "10 millicores")
	require.Equal(t, *app.CPU.UsageCoreNanoSeconds, *s2.Pods[0].CPU.UsageCoreNanoSeconds)
	require.Equal(t, uint64(10_000_000), *s2.Pods[0].CPU.UsageNanoCores)
	require.Equal(t, uint64(1<<20), *s2.Pods[0].Memory.UsageBytes)
	require.Equal(t, "dns", s2.Pods[1].PodRef.Name)
	require.Equal(t, uint64(10_000_000), *s2.Pods[1].Containers[0].CPU.UsageNanoCores)
	require.Equal(t, e.clk.Now(), app.CPU.Time.UTC())
}

func TestStatsSummaryWithoutProc(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.ProcDir = filepath.Join(t.TempDir(), "missing") })
	code, body := e.get("/stats/summary")
	require.Equal(t, http.StatusOK, code, body)
	var s server.Summary
	require.NoError(t, json.Unmarshal([]byte(body), &s))
	require.Nil(t, s.Node.CPU)
	require.NotNil(t, s.Pods)
}

func TestPods(t *testing.T) {
	e := newEnv(t)
	sb := e.sandbox("default", "web", "u1", 0)
	app := e.container(sb, "default", "web", "u1", "app", 0, "sleep infinity")
	code, body := e.get("/pods")
	require.Equal(t, http.StatusOK, code, body)
	var list server.PodList
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Items, 1)
	p := list.Items[0]
	require.Equal(t, "web", p.Name)
	require.Equal(t, "default", p.Namespace)
	require.Equal(t, "u1", p.UID)
	require.Equal(t, sb, p.SandboxID)
	require.Equal(t, "Ready", p.SandboxState)
	require.Len(t, p.Containers, 1)
	require.Equal(t, server.Container{Name: "app", ID: app, State: "Running", Image: "busybox", StartedAt: p.Containers[0].StartedAt}, p.Containers[0])
	require.False(t, p.Containers[0].StartedAt.IsZero())
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.Authenticate = func(r *http.Request) error {
			switch r.Header.Get("Authorization") {
			case "Bearer good":
				return nil
			case "Bearer other":
				return fmt.Errorf("user other: %w", server.ErrForbidden)
			}
			return errors.New("no valid bearer token")
		}
	})
	do := func(path, token string) int {
		req, err := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := e.client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, do("/pods", ""))
	require.Equal(t, http.StatusForbidden, do("/pods", "other"))
	require.Equal(t, http.StatusOK, do("/pods", "good"))
	require.Equal(t, http.StatusUnauthorized, do("/containerLogs/default/web/app", ""))
	require.Equal(t, http.StatusUnauthorized, do("/stats/summary", "bad"))
	require.Equal(t, http.StatusOK, do("/healthz", ""), "health needs no credentials")
	require.Equal(t, http.StatusOK, do("/readyz", ""))
}

func TestHealthzAndMetrics(t *testing.T) {
	var mu sync.Mutex
	var failing error
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(c *server.Config) {
		c.Registerer = reg
		c.Healthz = []func() error{func() error { mu.Lock(); defer mu.Unlock(); return failing }}
	})
	code, body := e.get("/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", body)
	mu.Lock()
	failing = errors.New("pod sync loop stuck")
	mu.Unlock()
	code, body = e.get("/healthz")
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, "pod sync loop stuck")
	code, _ = e.get("/readyz")
	require.Equal(t, http.StatusInternalServerError, code)

	e.get("/containerLogs/default/nope/app")
	e.get("/nowhere")
	code, body = e.get("/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `drover_kubelet_server_requests_total{code="404",endpoint="containerLogs"} 1`)
	require.Contains(t, body, `drover_kubelet_server_requests_total{code="500",endpoint="healthz"} 1`)
	require.Contains(t, body, `drover_kubelet_server_requests_total{code="200",endpoint="healthz"} 1`)
	require.Contains(t, body, `drover_kubelet_server_requests_total{code="404",endpoint="other"} 1`)
	require.Contains(t, body, `drover_kubelet_server_request_duration_seconds_count{endpoint="containerLogs"} 1`)
}

func TestMetricsWithoutRegistry(t *testing.T) {
	e := newEnv(t)
	code, _ := e.get("/metrics")
	require.Equal(t, http.StatusNotFound, code)
}

// panicky is a runtime that fails badly.
type panicky struct{ *fake.Driver }

func (panicky) ListPodSandboxes(context.Context) ([]*runtime.SandboxStatus, error) {
	panic("driver bug")
}

// logBuffer collects log lines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPanicIs500(t *testing.T) {
	var logs logBuffer
	clk := fakeclock.New(epoch)
	rt, err := fake.New(fake.Config{Clock: clk})
	require.NoError(t, err)
	e2 := newEnv(t, func(c *server.Config) {
		c.Runtime = panicky{rt}
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	code, body := e2.get("/pods")
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, "internal error")
	require.Contains(t, logs.String(), "driver bug")
	require.Contains(t, logs.String(), `msg=request method=GET path=/pods endpoint=pods code=500`)
	// The server goes on.
	code, _ = e2.get("/healthz")
	require.Equal(t, http.StatusOK, code)
}

func TestConfigValidate(t *testing.T) {
	rt, err := fake.New(fake.Config{})
	require.NoError(t, err)
	ok := server.DefaultConfig()
	ok.Runtime, ok.CertDir = rt, "/tmp/x"
	require.NoError(t, ok.Validate())
	for _, tc := range []struct {
		change func(*server.Config)
		msg    string
	}{
		{func(c *server.Config) { c.Runtime = nil }, "Config.Runtime is nil"},
		{func(c *server.Config) { c.Addr = "10250" }, `Config.Addr is "10250"`},
		{func(c *server.Config) { c.CertDir = "" }, "no serving certificate"},
		{func(c *server.Config) { c.CertFile = "a.crt" }, "give both or neither"},
		{func(c *server.Config) { c.CertHosts = []string{""} }, "Config.CertHosts[0] is empty"},
		{func(c *server.Config) { c.Healthz = []func() error{nil} }, "Config.Healthz[0] is nil"},
		{func(c *server.Config) { c.ProcDir = "" }, "Config.ProcDir is empty"},
		{func(c *server.Config) { c.ShutdownTimeout = -1 }, "ShutdownTimeout"},
	} {
		c := ok
		tc.change(&c)
		require.ErrorContains(t, c.Validate(), tc.msg)
		_, err := server.New(c)
		require.ErrorContains(t, err, tc.msg)
	}
}

func TestSelfSignedCertificateKeptAndReused(t *testing.T) {
	rt, err := fake.New(fake.Config{})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "pki")
	cfg := server.DefaultConfig()
	cfg.Runtime, cfg.CertDir, cfg.NodeName, cfg.CertHosts = rt, dir, "node-1", []string{"10.0.0.7"}
	s1, err := server.New(cfg)
	require.NoError(t, err)
	leaf := s1.Certificate().Leaf
	require.NoError(t, leaf.VerifyHostname("node-1"))
	require.NoError(t, leaf.VerifyHostname("10.0.0.7"))
	require.NoError(t, leaf.VerifyHostname("127.0.0.1"))
	st, err := os.Stat(filepath.Join(dir, server.KeyFileName))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	_, err = os.Stat(filepath.Join(dir, server.CertFileName))
	require.NoError(t, err)

	// Restarted: the same certificate.
	s2, err := server.New(cfg)
	require.NoError(t, err)
	require.Equal(t, leaf.Raw, s2.Certificate().Leaf.Raw)

	// A new address: a new certificate, which names it.
	cfg.CertHosts = []string{"10.0.0.8"}
	s3, err := server.New(cfg)
	require.NoError(t, err)
	require.NotEqual(t, leaf.Raw, s3.Certificate().Leaf.Raw)
	require.NoError(t, s3.Certificate().Leaf.VerifyHostname("10.0.0.8"))

	// Given files are served as they are.
	cfg.CertDir, cfg.CertFile, cfg.KeyFile = "", filepath.Join(dir, server.CertFileName), filepath.Join(dir, server.KeyFileName)
	s4, err := server.New(cfg)
	require.NoError(t, err)
	require.Equal(t, s3.Certificate().Leaf.Raw, s4.Certificate().Leaf.Raw)
}

func TestServeAndShutdown(t *testing.T) {
	clk := fakeclock.New(epoch)
	rt, err := fake.New(fake.Config{Clock: clk})
	require.NoError(t, err)
	cfg := server.DefaultConfig()
	cfg.Runtime, cfg.CertDir, cfg.Addr = rt, t.TempDir(), "127.0.0.1:0"
	srv, err := server.New(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate().Leaf)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	cancel()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(controllertest.Timeout):
		t.Fatal("Serve did not return after its context ended")
	}
	_, err = net.Dial("tcp", ln.Addr().String())
	require.Error(t, err, "the listener is closed")

	// Run reports a listen failure.
	cfg.Addr = "256.0.0.1:1"
	srv, err = server.New(cfg)
	require.NoError(t, err)
	require.ErrorContains(t, srv.Run(context.Background()), "listen on 256.0.0.1:1")
}
