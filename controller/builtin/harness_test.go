package builtin_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/builtin"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler"
)

// cluster is a control plane in the test's process: an API server on a
// fake clock, the scheduler and the built-in controllers under one
// Manager, and simulated nodes.
type cluster struct {
	t     *testing.T
	ctx   context.Context
	env   *controllertest.Env
	clk   *fakeclock.Clock
	nodes *controllertest.Nodes
	mgr   *controller.Manager
}

// newCluster starts a cluster of n simulated nodes running the built-in
// controllers of cfg, and the scheduler, in one Manager.
func newCluster(t *testing.T, n int, cfg builtin.Config) *cluster {
	t.Helper()
	c := newNodes(t, n)
	c.mgr = c.newManager(cfg, nil)
	if err := c.env.StartManager(c.mgr); err != nil {
		t.Fatal(err)
	}
	return c
}

// newNodes starts a cluster of n simulated nodes with no controllers and
// no scheduler.
func newNodes(t *testing.T, n int) *cluster {
	t.Helper()
	clk := fakeclock.New(start)
	env := controllertest.New(t, controllertest.WithClock(clk))
	ctx := controllertest.Context(t)
	c := &cluster{t: t, ctx: ctx, env: env, clk: clk}
	var err error
	c.nodes, err = env.StartNodes(ctx, controllertest.NodesConfig{Count: n})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newManager returns a Manager, not started, with the controllers of cfg
// and the scheduler, under the leader election of le if not nil.
func (c *cluster) newManager(cfg builtin.Config, le controller.LeaderElector) *controller.Manager {
	c.t.Helper()
	mgr, err := c.env.NewManager(controller.ManagerConfig{LeaderElector: le})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := builtin.Add(mgr, cfg); err != nil {
		c.t.Fatal(err)
	}
	sched, err := scheduler.New(scheduler.Config{
		Client: c.env.Client, Informers: mgr.Informers(), Clock: c.clk, Parallelism: 2,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := mgr.Add(sched); err != nil {
		c.t.Fatal(err)
	}
	return mgr
}

// waitTimeout bounds each wait of a scenario, in real time.
const waitTimeout = 20 * time.Second

// eventually waits until cond holds, polling it. Between polls it moves
// the fake clock by tick, if positive: retries and rechecks of the
// controllers wait on that clock (a conflict is retried after a backoff
// of a few milliseconds), and time that does not move would leave them
// waiting forever. The simulated nodes renew their Leases as the clock
// moves, so that moving it never makes a healthy node look silent.
func (c *cluster) eventually(what string, tick time.Duration, cond func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	wait := time.Millisecond
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within %v (fake clock at +%v): %s", what, waitTimeout, c.clk.Now().Sub(start), last)
		}
		if tick >= time.Second {
			// Let the informers catch up with the heartbeats before
			// time moves on by much.
			wait = max(wait, 10*time.Millisecond)
		}
		timer := time.NewTimer(wait)
		<-timer.C
		wait = min(2*wait, 20*time.Millisecond)
		if tick > 0 {
			c.clk.Advance(tick)
		}
	}
}

// start is the fake clock's start, for messages.
var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// nudge is the clock step of waits that only need the controllers'
// retries to run.
const nudge = 100 * time.Millisecond

func ptr[T any](v T) *T { return &v }

// newDeployment returns a Deployment of replicas pods of image, labelled
// app=name.
func newDeployment(ns, name string, replicas int32, image string) *api.Deployment {
	sel := map[string]string{"app": name}
	return &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name},
		Spec: api.DeploymentSpec{
			Replicas: ptr(replicas),
			Selector: &api.LabelSelector{MatchLabels: sel},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: sel},
				Spec: api.PodSpec{Containers: []api.Container{{
					Name: "app", Image: image,
					Ports: []api.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	}
}

// deploymentDone reports whether the Deployment ns/name has rolled out
// completely: every replica updated and available, and status observed
// for the latest spec.
func (c *cluster) deploymentDone(ns, name string) (bool, string) {
	var d api.Deployment
	if err := c.env.Client.Get(c.ctx, ns, name, &d); err != nil {
		return false, err.Error()
	}
	s := d.Status
	want := *d.Spec.Replicas
	state := fmt.Sprintf("generation %d observed %d, replicas %d updated %d ready %d available %d (want %d)",
		d.Generation, s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas, want)
	return s.ObservedGeneration == d.Generation && s.Replicas == want && s.UpdatedReplicas == want &&
		s.AvailableReplicas == want && s.UnavailableReplicas == 0, state
}

// pods lists the pods of namespace ns that match sel.
func (c *cluster) pods(ns string, sel map[string]string) []api.Pod {
	c.t.Helper()
	var list api.PodList
	if err := c.env.Client.List(c.ctx, &list, client.ListOptions{Namespace: ns, LabelSelector: labels.SelectorFromSet(sel)}); err != nil {
		c.t.Fatal(err)
	}
	return list.Items
}

// podReady reports whether p is Ready and not being deleted.
func podReady(p *api.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == api.PodReady {
			return cond.Status == api.ConditionTrue
		}
	}
	return false
}

// update changes the object obj names (read fresh), retrying conflicts.
func update[T api.Object](c *cluster, obj T, change func(T)) {
	c.t.Helper()
	m := obj.GetObjectMeta()
	err := client.RetryOnConflict(c.ctx, client.DefaultRetry, func() error {
		if err := c.env.Client.Get(c.ctx, m.Namespace, m.Name, obj); err != nil {
			return err
		}
		change(obj)
		return c.env.Client.Update(c.ctx, obj)
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

// contextWithCancel returns a context of the cluster's that cancel ends.
func contextWithCancel(c *cluster) (context.Context, context.CancelFunc) {
	return context.WithCancel(c.ctx)
}
