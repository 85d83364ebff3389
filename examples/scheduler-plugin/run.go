package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/examples/scheduler-plugin/cost"
	"github.com/drover-io/drover/scheduler"
)

// The simulated nodes: one of each price.
var prices = []struct{ name, price string }{
	{"spot", "0.05"},
	{"standard", "0.20"},
	{"premium", "0.90"},
}

// The Deployment the program creates.
const (
	namespace = "default"
	name      = "batch"
	replicas  = 4
)

// run starts the cluster with NodeCost in its default scheduler profile,
// places a Deployment's pods, prints where they went, and keeps the
// cluster up until ctx ends.
func run(ctx context.Context, o options) error {
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(o.Out, format+"\n", args...)
	}

	cc := cluster.DefaultAllInOneConfig(o.DataDir)
	cc.APIAddr = o.APIAddr
	cc.Logger = o.Logger
	// The one change that matters: the default profile, with NodeCost.
	cc.Scheduler = scheduler.DefaultConfig()
	cc.Scheduler.Profiles = []scheduler.Profile{withNodeCost(o.Weight)}
	nodesUp := make(chan struct{})
	cc.NodeAgent = pricedNodes(nodesUp)

	a, err := cluster.NewAllInOne(cc)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	defer a.Close()
	say("export KUBECONFIG=%s", a.KubeconfigPath())

	// The pods go in once all three nodes are there, so that each pod
	// has every price to choose from.
	select {
	case <-nodesUp:
	case <-ctx.Done():
		return a.Close()
	case <-a.Done():
		return a.Close()
	}
	c := a.Client()
	if err := createDeployment(ctx, c); err != nil {
		return err
	}
	placed, err := waitPlaced(ctx, c, a.Done())
	if err != nil {
		return err
	}
	for _, p := range placed {
		say("%-40s → %s", p.Name, p.Spec.NodeName)
	}
	say("all %d pods placed; Ctrl-C stops the cluster", len(placed))
	select {
	case <-ctx.Done():
	case <-a.Done():
	}
	return a.Close()
}

// pricedNodes is a node agent that runs three simulated nodes, each
// labelled with its price (controllertest.StartNodes: Nodes with Leases
// and pod statuses, and no containers), and closes up once they are
// registered.
func pricedNodes(up chan<- struct{}) cluster.NodeAgent {
	return cluster.NodeAgentFunc(func(ctx context.Context, c *client.Client, registered func()) error {
		var fleets []*controllertest.Nodes
		defer func() {
			for _, f := range fleets {
				_ = f.Close()
			}
		}()
		for _, p := range prices {
			// A Node left by an earlier run on the same data directory is
			// replaced: StartNodes creates its Nodes.
			old := &api.Node{ObjectMeta: api.ObjectMeta{Name: p.name + "-0"}}
			if err := c.Delete(ctx, old); err != nil && !api.IsNotFound(err) && ctx.Err() == nil {
				return err
			}
			f, err := controllertest.StartNodes(ctx, c, controllertest.NodesConfig{
				Count:  1,
				Prefix: p.name + "-",
				Labels: map[string]string{cost.DefaultLabel: p.price},
			})
			if err != nil {
				if ctx.Err() != nil {
					return nil // stopped while starting: not a failure
				}
				return err
			}
			fleets = append(fleets, f)
		}
		registered()
		close(up)
		<-ctx.Done()
		return nil
	})
}

// createDeployment creates (or keeps) the Deployment of small pods.
func createDeployment(ctx context.Context, c *client.Client) error {
	labels := map[string]string{"app": name}
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: namespace},
		Spec: api.DeploymentSpec{
			Replicas: new(int32(replicas)),
			Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec: api.PodSpec{Containers: []api.Container{{
					Name:  "work",
					Image: "busybox:1.36",
					Resources: api.ResourceRequirements{Requests: api.ResourceList{
						api.ResourceCPU:    resource.MustParse("100m"),
						api.ResourceMemory: resource.MustParse("64Mi"),
					}},
				}}},
			},
		},
	}
	if err := c.Create(ctx, d); err != nil && !api.IsAlreadyExists(err) {
		return fmt.Errorf("create deployment %s: %w", name, err)
	}
	return nil
}

// waitPlaced polls until the Deployment's pods are all bound to nodes and
// returns them sorted by name.
func waitPlaced(ctx context.Context, c *client.Client, failed <-chan struct{}) ([]api.Pod, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var pods api.PodList
		if err := c.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{"app": name}); err != nil {
			return nil, err
		}
		bound := slices.DeleteFunc(pods.Items, func(p api.Pod) bool { return p.Spec.NodeName == "" || p.DeletionTimestamp != nil })
		if len(bound) == replicas {
			slices.SortFunc(bound, func(a, b api.Pod) int {
				if a.Name < b.Name {
					return -1
				}
				return 1
			})
			return bound, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-failed:
			return nil, errors.New("the cluster stopped")
		case <-tick.C:
		}
	}
}
