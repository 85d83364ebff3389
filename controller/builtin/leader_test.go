package builtin_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/leaderelection"
	"github.com/drover-io/drover/controller/builtin"
)

// TestLeaderElectionFailover runs two controller managers, each with the
// scheduler and every built-in controller, competing for one Lease: only
// the leader acts (a Deployment gets its replicas once, not twice), and
// when the leader stops the other takes over.
func TestLeaderElectionFailover(t *testing.T) {
	c := newNodes(t, 3)
	type replica struct {
		elector *leaderelection.Elector
		stop    func()
	}
	run := func(id string) *replica {
		el, err := leaderelection.New(leaderelection.Config{
			Client: c.env.Client, Namespace: "kube-system", Name: "drover-controller-manager", Identity: id, Clock: c.clk,
		})
		if err != nil {
			t.Fatal(err)
		}
		mgr := c.newManager(builtin.Config{}, el)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- mgr.Start(ctx) }()
		var stopped bool
		stop := func() {
			if !stopped {
				stopped = true
				cancel()
				if err := <-done; err != nil {
					t.Errorf("manager %s: %v", id, err)
				}
			}
		}
		t.Cleanup(stop)
		return &replica{elector: el, stop: stop}
	}
	a := run("a")
	c.eventually("a leads", nudge, func() (bool, string) { return a.elector.IsLeader(), "a does not lead" })
	b := run("b")

	if err := c.env.Client.Create(c.ctx, newDeployment("default", "web", 4, "nginx:1")); err != nil {
		t.Fatal(err)
	}
	c.eventually("4 replicas available", nudge, func() (bool, string) { return c.deploymentDone("default", "web") })
	if b.elector.IsLeader() {
		t.Fatal("both managers lead")
	}
	if n := len(c.pods("default", map[string]string{"app": "web"})); n != 4 {
		t.Fatalf("%d pods, want 4", n)
	}

	a.stop() // releases the Lease
	c.eventually("b leads", nudge, func() (bool, string) { return b.elector.IsLeader(), "b does not lead" })
	update(c, &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"}},
		func(d *api.Deployment) { d.Spec.Replicas = ptr(int32(6)) })
	c.eventually("scaled to 6 by b", nudge, func() (bool, string) {
		ok, state := c.deploymentDone("default", "web")
		n := len(c.pods("default", map[string]string{"app": "web"}))
		return ok && n == 6, fmt.Sprintf("%s; %d pods", state, n)
	})
}
