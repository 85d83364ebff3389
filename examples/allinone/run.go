package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster"
)

// config is what main passes to run.
type config struct {
	// DataDir holds the cluster's state: the store and the kubeconfig.
	DataDir string
	// APIAddr is where the API server listens; port 0 picks a free one.
	APIAddr string
	// SimulatedNodes, if positive, is the number of simulated nodes
	// (see simulatedNodes), in place of this machine's node agent.
	SimulatedNodes int
	// Runtime is the container runtime of this machine's node agent
	// (cluster.RuntimeOCI, RuntimeProcess or RuntimeFake); "" means the
	// default. KubeletAddr is where its HTTPS API listens; "" means the
	// default (:10250).
	Runtime, KubeletAddr string
	// Replicas is the Deployment's spec.replicas.
	Replicas int32
	// Logger receives the components' log lines.
	Logger *slog.Logger
	// Out receives what the program says: progress, the kubeconfig, the
	// Deployment's state.
	Out io.Writer
}

// The Deployment the program creates.
const (
	namespace = "default"
	name      = "hello"
	image     = "nginx:1.27"
)

// run starts the cluster, creates the Deployment and reports on it until
// ctx ends or a component of the cluster fails. It returns nil after ctx
// ended and the cluster stopped.
func run(ctx context.Context, cfg config) error {
	var mu sync.Mutex // Out is written from the cluster's goroutines too
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(cfg.Out, format+"\n", args...)
	}

	// 1. Configure: what `drover up` runs, on our own data directory and
	// address, telling us as each part becomes ready.
	cc := cluster.DefaultAllInOneConfig(cfg.DataDir)
	cc.APIAddr = cfg.APIAddr
	cc.Logger = cfg.Logger
	cc.OnProgress = func(p cluster.Progress) { say("%-50s %v", p.Step, p.Elapsed.Round(time.Millisecond)) }
	if cfg.Runtime != "" {
		cc.Node.Runtime = cfg.Runtime
	}
	if cfg.KubeletAddr != "" {
		cc.Node.KubeletAddr = cfg.KubeletAddr
	}
	if cfg.SimulatedNodes > 0 {
		cc.NodeAgent = simulatedNodes(cfg.SimulatedNodes)
	}

	// 2. Start: returns once the API server answers. The scheduler and
	// the controllers follow on their own goroutines.
	a, err := cluster.NewAllInOne(cc)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	defer a.Close()
	say("export KUBECONFIG=%s", a.KubeconfigPath())

	// 3. Use it: a client that calls the API server in process, with the
	// same validation, defaulting and admission as over HTTP.
	c := a.Client()
	if err := createDeployment(ctx, c, cfg.Replicas, say); err != nil {
		return err
	}
	followCtx, stopFollowing := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { follow(followCtx, c, cfg.SimulatedNodes == 0, say) })

	// 4. Run until Ctrl-C, or until a component fails.
	select {
	case <-ctx.Done():
		say("stopping")
	case <-a.Done():
	}
	stopFollowing()
	wg.Wait()
	return a.Close()
}

// createDeployment creates the Deployment default/hello with replicas pods
// of nginx, unless it exists (a second run on the same data directory).
func createDeployment(ctx context.Context, c *client.Client, replicas int32, say func(string, ...any)) error {
	// The API server creates the namespace "default" as it starts; make
	// sure it is there before the Deployment goes in it.
	err := c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: namespace}})
	if err != nil && !api.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", namespace, err)
	}

	labels := map[string]string{"app": name}
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: namespace, Name: name},
		Spec: api.DeploymentSpec{
			Replicas: &replicas,
			Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec: api.PodSpec{Containers: []api.Container{{
					Name:  "web",
					Image: image,
					Ports: []api.ContainerPort{{Name: "http", ContainerPort: 80}},
				}}},
			},
		},
	}
	switch err := c.Create(ctx, d); {
	case api.IsAlreadyExists(err):
		say("deployment %s/%s exists already (from an earlier run on this data directory)", namespace, name)
		return nil
	case err != nil:
		return fmt.Errorf("create deployment %s/%s: %w", namespace, name, err)
	}
	say("deployment %s/%s created: %d replicas of %s", namespace, name, replicas, image)
	return nil
}

// follow says, each time it changes, how far the Deployment and its pods
// are, until ctx ends; with hint, it says why pods wait for a node. Its two
// watches start again if they break.
func follow(ctx context.Context, c *client.Client, hint bool, say func(string, ...any)) {
	var last string
	hinted := !hint
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		dw, err := c.Watch(wctx, &api.DeploymentList{}, client.InNamespace(namespace))
		if err != nil {
			cancel()
			say("watch deployments: %v", err)
			return
		}
		pw, err := c.Watch(wctx, &api.PodList{}, client.InNamespace(namespace), client.MatchingLabels{"app": name})
		if err != nil {
			cancel()
			say("watch pods: %v", err)
			return
		}
		var d *api.Deployment
		pods := map[string]*api.Pod{}
		for open := true; open; {
			select {
			case ev, ok := <-dw.Events():
				if open = ok && ev.Type != api.WatchError; open {
					if x, _ := ev.Object.(*api.Deployment); x != nil && x.Name == name {
						d = x
					}
				}
			case ev, ok := <-pw.Events():
				if open = ok && ev.Type != api.WatchError; open {
					if p, _ := ev.Object.(*api.Pod); p != nil && ev.Type != api.WatchBookmark {
						if ev.Type == api.WatchDeleted {
							delete(pods, p.Name)
						} else {
							pods[p.Name] = p
						}
					}
				}
			}
			if line, pending := summary(d, pods); line != last {
				say("%s", line)
				last = line
				if pending && !hinted {
					hinted = true
					say("  (the pods wait for a Ready node: see `kubectl get nodes` and the node agent's lines in the log; --simulated-nodes 2 adds simulated ones)")
				}
			}
		}
		cancel()
		dw.Stop()
		pw.Stop()
		select { // a watch broke: start again in a moment
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// summary is one line on the Deployment d and its pods, and whether some
// of the pods wait for a node.
func summary(d *api.Deployment, pods map[string]*api.Pod) (line string, unscheduled bool) {
	var b strings.Builder
	if d == nil {
		b.WriteString("deployment " + name + ": not seen yet")
	} else {
		s := d.Status
		fmt.Fprintf(&b, "deployment %s: %d/%d ready, %d up to date, %d available", name, s.ReadyReplicas, *d.Spec.Replicas, s.UpdatedReplicas, s.AvailableReplicas)
	}
	phases := map[string]int{}
	for _, p := range pods {
		phase := string(p.Status.Phase)
		if phase == "" {
			phase = string(api.PodPending)
		}
		if p.Spec.NodeName == "" {
			phase += " (no node)"
			unscheduled = true
		} else if phase == string(api.PodRunning) && podReady(p) {
			phase = "Running and ready"
		}
		phases[phase]++
	}
	fmt.Fprintf(&b, "; %d pods", len(pods))
	for _, phase := range slices.Sorted(maps.Keys(phases)) {
		fmt.Fprintf(&b, ", %d %s", phases[phase], phase)
	}
	return b.String(), unscheduled
}

// podReady reports whether p's Ready condition is True.
func podReady(p *api.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == api.PodReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}
