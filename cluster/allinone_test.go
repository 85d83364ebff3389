package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// startAllInOne starts an AllInOne on dir over loopback and returns it with
// the progress steps it reported by the time Start returned and, once
// controllers started, later.
func startAllInOne(t *testing.T, dir string) (*AllInOne, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var steps []string
	cfg := DefaultAllInOneConfig(dir)
	cfg.APIAddr = "127.0.0.1:0"
	cfg.Node.Runtime, cfg.Node.KubeletAddr, cfg.Node.Name = RuntimeFake, "127.0.0.1:0", "aio-node"
	cfg.Logger = testLogger(t)
	cfg.OnProgress = func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		steps = append(steps, p.Step)
	}
	a, err := NewAllInOne(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), steps...)
	}
}

// httpClient returns a client of a's API server over HTTP, from the
// kubeconfig it wrote.
func httpClient(t *testing.T, a *AllInOne) *client.Client {
	t.Helper()
	cfg, err := client.LoadKubeconfig(a.KubeconfigPath(), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != a.URL() {
		t.Fatalf("kubeconfig names %s, want %s", cfg.Host, a.URL())
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAllInOneDeploymentAndRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	a, steps := startAllInOne(t, dir)
	eventually(t, 10*time.Second, func() error {
		// The control plane's steps in order; the node agent registers
		// its Node alongside the scheduler and the controllers.
		got := steps()
		want := []string{"store ready", "API server listening on " + a.URL(), "controllers started", "node registered", "scheduler started"}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			return fmt.Errorf("progress steps %q, want %q (the last three in any order)", got, want)
		}
		rest := slices.Clone(got[2:])
		slices.Sort(rest)
		if strings.Join(rest, "|") != strings.Join(want[2:], "|") {
			return fmt.Errorf("progress steps %q, want %q (the last three in any order)", got, want)
		}
		return nil
	})
	if !a.Leading() {
		t.Fatal("the only member does not run the controllers")
	}
	if a.Runtime() != RuntimeFake {
		t.Fatalf("Runtime() = %q, want %q", a.Runtime(), RuntimeFake)
	}

	// Health, readiness and metrics of the process.
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(a.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if path == "/metrics" {
			for _, metric := range []string{"go_goroutines", "apiserver_request", "workqueue_"} {
				if !strings.Contains(string(body), metric) {
					t.Errorf("/metrics has no %s metric", metric)
				}
			}
		}
	}

	// A Deployment gets its ReplicaSet and its pods, which run on the
	// cluster's own node (simulated containers: runtime fake).
	c := httpClient(t, a)
	if _, err := client.Resource[api.Deployment](c).Create(ctx, deployment("web", 2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error { return replicaSetOf(ctx, c, "web") })
	eventually(t, 10*time.Second, func() error {
		return podsOf(ctx, c, "web", 2, func(p *api.Pod) error {
			if p.Spec.NodeName != "aio-node" || p.Status.Phase != api.PodRunning {
				return fmt.Errorf("is %s on node %q, want Running on aio-node", p.Status.Phase, p.Spec.NodeName)
			}
			return nil
		})
	})

	// Restart on the same directory: the same objects.
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := a.Wait(); err != nil {
		t.Fatalf("Wait after Close: %v", err)
	}
	b, _ := startAllInOne(t, dir)
	c = httpClient(t, b)
	if _, err := client.Resource[api.Deployment](c).Get(ctx, "default", "web"); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	if err := replicaSetOf(ctx, c, "web"); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	eventually(t, 10*time.Second, func() error {
		return podsOf(ctx, c, "web", 2, func(*api.Pod) error { return nil })
	})
}

func TestAllInOneAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := DefaultAllInOneConfig(t.TempDir())
	cfg.APIAddr = ln.Addr().String()
	cfg.Node.Runtime, cfg.Node.KubeletAddr = RuntimeFake, "127.0.0.1:0"
	a, err := NewAllInOne(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = a.Start(context.Background())
	if !errors.Is(err, ErrAddrInUse) || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Start on a taken address: %v, want ErrAddrInUse naming %s", err, ln.Addr())
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close after a failed Start: %v", err)
	}
}

func TestAllInOneNodeAgentHook(t *testing.T) {
	registered := make(chan struct{})
	var steps []string
	var mu sync.Mutex
	cfg := DefaultAllInOneConfig(t.TempDir())
	cfg.APIAddr = "127.0.0.1:0"
	cfg.Node.Runtime, cfg.Node.KubeletAddr = RuntimeFake, "127.0.0.1:0"
	cfg.OnProgress = func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		steps = append(steps, p.Step)
	}
	cfg.NodeAgent = NodeAgentFunc(func(ctx context.Context, c *client.Client, ready func()) error {
		if c == nil {
			return errors.New("no client")
		}
		ready()
		close(registered)
		<-ctx.Done()
		return nil
	})
	a, err := NewAllInOne(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-registered
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(steps, "|"), "node registered") {
		t.Fatalf("progress %q has no node registered step", steps)
	}
}

func TestValidate(t *testing.T) {
	ok := DefaultAllInOneConfig("/tmp/x")
	for _, tc := range []struct {
		name  string
		edit  func(*AllInOneConfig)
		field string
	}{
		{"no data dir", func(c *AllInOneConfig) { c.DataDir = "" }, "DataDir"},
		{"no name", func(c *AllInOneConfig) { c.Name = "" }, "Name"},
		{"bad api addr", func(c *AllInOneConfig) { c.APIAddr = "6443" }, "APIAddr"},
		{"bad raft addr", func(c *AllInOneConfig) { c.RaftAddr = "host:port" }, "RaftAddr"},
		{"join", func(c *AllInOneConfig) { c.Join = []string{"127.0.0.1:7000"} }, "Join"},
		{"runtime", func(c *AllInOneConfig) { n := *c.Node; n.Runtime = "docker"; c.Node = &n }, "Runtime"},
		{"node name", func(c *AllInOneConfig) { n := *c.Node; n.Name = "Not_A_Name"; c.Node = &n }, "Name"},
		{"kubelet addr", func(c *AllInOneConfig) { n := *c.Node; n.KubeletAddr = "10250"; c.Node = &n }, "KubeletAddr"},
		{"grace", func(c *AllInOneConfig) { c.ShutdownGrace = -1 }, "ShutdownGrace"},
		{"controllers", func(c *AllInOneConfig) { c.Controllers.Controllers = []string{"nope"} }, "Controllers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate: %v, want an error naming %s", err, tc.field)
			}
		})
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	cp := DefaultControlPlaneConfig("/tmp/x")
	cp.Bootstrap = false
	if err := cp.Validate(); err == nil || !strings.Contains(err.Error(), "Join") {
		t.Fatalf("neither Bootstrap nor Join: %v", err)
	}
	cp.Join = []string{"127.0.0.1:7000"}
	if err := cp.Validate(); err != nil {
		t.Fatalf("Join: %v", err)
	}
}

func TestDialAddr(t *testing.T) {
	for _, tc := range []struct {
		addr *net.TCPAddr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 6443}, "10.0.0.1:6443"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 6443}, "127.0.0.1:6443"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 6443}, "[::1]:6443"},
	} {
		if got := dialAddr(tc.addr); got != tc.want {
			t.Errorf("dialAddr(%v) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

// TestCloseEndsWatches checks that an open watch does not hold Close up for
// the shutdown grace.
func TestCloseEndsWatches(t *testing.T) {
	cfg := DefaultAllInOneConfig(t.TempDir())
	cfg.APIAddr = "127.0.0.1:0"
	cfg.Node.Runtime, cfg.Node.KubeletAddr = RuntimeFake, "127.0.0.1:0"
	cfg.ShutdownGrace = time.Hour
	a, err := NewAllInOne(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := httpClient(t, a)
	w, err := client.Resource[api.Pod](c).Watch(ctx, client.InNamespace("default"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close waits for an open watch")
	}
}
