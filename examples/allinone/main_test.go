package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/controller/controllertest"
)

// output is what run says, safe to read while run writes it.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// start runs run with cfg (address, logger and output filled in), waits
// for it to print the kubeconfig line, and returns a client over HTTP from
// that kubeconfig, what run says, and a function that stops run and
// returns its error.
func start(t *testing.T, cfg config) (*client.Client, *output, func() error) {
	t.Helper()
	out := &output{}
	cfg.APIAddr = "127.0.0.1:0"
	cfg.KubeletAddr = "127.0.0.1:0"
	if cfg.Runtime == "" {
		cfg.Runtime = cluster.RuntimeFake // simulated containers: any image "runs"
	}
	cfg.Replicas = 3
	cfg.Out = out
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg) }()
	var stopped bool
	var runErr error
	stop := func() error {
		if !stopped {
			cancel()
			runErr, stopped = <-done, true
		}
		return runErr
	}
	t.Cleanup(func() { _ = stop() })

	kubeconfig := regexp.MustCompile(`(?m)^export KUBECONFIG=(.+)$`)
	var path string
	controllertest.Eventually(t, func() bool {
		select {
		case err := <-done:
			t.Fatalf("run returned before it printed the kubeconfig: %v\n%s", err, out)
		default:
		}
		if m := kubeconfig.FindStringSubmatch(out.String()); m != nil {
			path = m[1]
			return true
		}
		return false
	})
	if path != filepath.Join(cfg.DataDir, "kubeconfig") {
		t.Fatalf("kubeconfig printed as %s, want it in the data directory %s", path, cfg.DataDir)
	}
	kc, err := client.LoadKubeconfig(path, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(kc)
	if err != nil {
		t.Fatal(err)
	}
	return c, out, stop
}

// helloPods lists the pods of the Deployment hello.
func helloPods(t *testing.T, c *client.Client) []api.Pod {
	t.Helper()
	var pods api.PodList
	if err := c.List(controllertest.Context(t), &pods, client.InNamespace(namespace), client.MatchingLabels{"app": name}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

// waitPods waits until the Deployment hello has 3 pods, each of which
// check accepts, polling until controllertest.Timeout; it fails the test
// with what it saw last if not.
func waitPods(t *testing.T, c *client.Client, check func(*api.Pod) error) []api.Pod {
	t.Helper()
	deadline := time.Now().Add(controllertest.Timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		pods := helloPods(t, c)
		err := fmt.Errorf("%d pods, want 3", len(pods))
		if len(pods) == 3 {
			err = nil
			for i := range pods {
				if perr := check(&pods[i]); perr != nil {
					err = fmt.Errorf("pod %s %v", pods[i].Name, perr)
					break
				}
			}
		}
		if err == nil {
			return pods
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Deployment's pods, after %v: %v", controllertest.Timeout, err)
		}
		<-tick.C
	}
}

func TestRunWithSimulatedNodes(t *testing.T) {
	dir := t.TempDir()
	c, out, stop := start(t, config{DataDir: dir, SimulatedNodes: 2})

	pods := waitPods(t, c, func(p *api.Pod) error {
		if p.Status.Phase != api.PodRunning || !podReady(p) || !strings.HasPrefix(p.Spec.NodeName, simulatedNodePrefix) {
			return fmt.Errorf("is %s (ready %v) on node %q, want Running and ready on a simulated node", p.Status.Phase, podReady(p), p.Spec.NodeName)
		}
		return nil
	})
	if img := pods[0].Spec.Containers[0].Image; img != image {
		t.Errorf("pod image %s, want %s", img, image)
	}
	var nodes api.NodeList
	if err := c.List(controllertest.Context(t), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 2 {
		t.Errorf("%d nodes, want the 2 simulated ones", len(nodes.Items))
	}
	want := "deployment hello: 3/3 ready, 3 up to date, 3 available; 3 pods, 3 Running and ready"
	controllertest.Eventually(t, func() bool { return strings.Contains(out.String(), want) })

	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, line := range []string{"store ready", "API server listening on http://127.0.0.1:", "controllers started", "node registered",
		"deployment default/hello created: 3 replicas of nginx:1.27", "stopping"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("run did not say %q; it said:\n%s", line, out)
		}
	}
	if strings.Contains(out.String(), "wait for a node") {
		t.Errorf("run explained pods waiting for a node, with simulated nodes:\n%s", out)
	}

	// A second run on the same directory takes the nodes and their pods
	// back.
	c, out, stop = start(t, config{DataDir: dir, SimulatedNodes: 2})
	again := waitPods(t, c, func(p *api.Pod) error {
		if p.Status.Phase != api.PodRunning || !podReady(p) {
			return fmt.Errorf("is %s (ready %v), want Running and ready", p.Status.Phase, podReady(p))
		}
		return nil
	})
	for i := range again {
		if again[i].UID != pods[i].UID {
			t.Errorf("pod %s after the restart is %s, want the same pods as before", again[i].Name, again[i].UID)
		}
	}
	controllertest.Eventually(t, func() bool { return strings.Contains(out.String(), "node registered") })
	if err := stop(); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(out.String(), "exists already") {
		t.Errorf("second run did not find the Deployment; it said:\n%s", out)
	}
}

func TestRunOnThisMachinesNode(t *testing.T) {
	dir := t.TempDir()
	c, out, stop := start(t, config{DataDir: dir})

	// The Deployment's pods run on the node agent of this machine (with
	// simulated containers: runtime fake).
	waitPods(t, c, func(p *api.Pod) error {
		if p.Status.Phase != api.PodRunning || !podReady(p) || p.Spec.NodeName != cluster.DefaultNodeName() {
			return fmt.Errorf("is %s (ready %v) on node %q, want Running and ready on %s", p.Status.Phase, podReady(p), p.Spec.NodeName, cluster.DefaultNodeName())
		}
		if ref := p.ControllerRef(); ref == nil || ref.Kind != "ReplicaSet" {
			return fmt.Errorf("is controlled by %+v, want a ReplicaSet", ref)
		}
		return nil
	})
	want := "3 pods, 3 Running and ready"
	controllertest.Eventually(t, func() bool { return strings.Contains(out.String(), want) })
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(out.String(), "node registered") {
		t.Errorf("run did not say the node registered; it said:\n%s", out)
	}
}
