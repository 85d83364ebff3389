package deployment_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/deployment"
	"github.com/drover-io/drover/controller/replicaset"
)

// These tests run the controller as the controller manager does: Add on a
// Manager over a controllertest Env, on a fake clock.

type env struct {
	*controllertest.Env
	clk *fakeclock.Clock
	ctx context.Context
}

// start starts a Manager with the Deployment controller, and the
// ReplicaSet controller too if withRS.
func start(t *testing.T, withRS bool) env {
	t.Helper()
	clk := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e := controllertest.New(t, controllertest.WithClock(clk))
	m, err := e.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := deployment.Add(m, deployment.Options{Clock: clk}); err != nil {
		t.Fatal(err)
	}
	if withRS {
		if err := replicaset.Add(m, replicaset.Options{Clock: clk}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.StartManager(m); err != nil {
		t.Fatal(err)
	}
	return env{Env: e, clk: clk, ctx: controllertest.Context(t)}
}

func webDeployment(replicas int32, image string) *api.Deployment {
	sel := map[string]string{"app": "web"}
	return &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.DeploymentSpec{
			Replicas: &replicas,
			Selector: &api.LabelSelector{MatchLabels: sel},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: sel},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "web", Image: image}}},
			},
		},
	}
}

func progressing(d *api.Deployment) string {
	if c := deployment.Condition(d, api.DeploymentProgressing); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return ""
}

// TestProgressDeadlineRequeue: with no pods coming up, the controller
// looks again at the deadline, when the test moves the clock past it.
func TestProgressDeadlineRequeue(t *testing.T) {
	e := start(t, false)
	d := webDeployment(2, "web:1")
	d.Spec.ProgressDeadlineSeconds = new(int32(30))
	if err := e.Client.Create(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := controllertest.WaitFor(e.ctx, e.Client, "default", "web", func(d *api.Deployment) bool {
		return progressing(d) == "True/"+deployment.ReasonNewReplicaSetCreated
	}); err != nil {
		t.Fatal(err)
	}
	if progressing(get(t, e, "web")) != "True/"+deployment.ReasonNewReplicaSetCreated {
		t.Fatal("timed out before the clock moved")
	}
	// The requeue may be armed a little after the status is written:
	// move the clock in steps until the deadline is seen.
	controllertest.Eventually(t, func() bool {
		e.clk.Advance(5 * time.Second)
		return progressing(get(t, e, "web")) == "False/"+deployment.ReasonProgressDeadlineExceeded
	})
}

// TestAdoptsOrphanOnItsEvent: an orphan ReplicaSet the selector matches,
// made after the Deployment, is adopted.
func TestAdoptsOrphanOnItsEvent(t *testing.T) {
	e := start(t, false)
	d := webDeployment(2, "web:2")
	if err := e.Client.Create(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := controllertest.WaitFor(e.ctx, e.Client, "default", "web", func(d *api.Deployment) bool {
		return d.Status.ObservedGeneration == d.Generation
	}); err != nil {
		t.Fatal(err)
	}
	old := webDeployment(1, "web:1").Spec.Template
	orphan := &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-by-hand", Labels: map[string]string{"app": "web"}},
		Spec:       api.ReplicaSetSpec{Replicas: new(int32(1)), Selector: d.Spec.Selector, Template: old},
	}
	if err := e.Client.Create(e.ctx, orphan); err != nil {
		t.Fatal(err)
	}
	dep := get(t, e, "web")
	if _, err := controllertest.WaitFor(e.ctx, e.Client, "default", "web-by-hand", func(rs *api.ReplicaSet) bool {
		return rs.IsControlledBy(dep.UID)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestWithReplicaSetController runs both controllers: the ReplicaSet
// controller makes the pods, the test marks them ready as node agents
// would, and a rolling update goes through.
func TestWithReplicaSetController(t *testing.T) {
	e := start(t, true)
	if err := e.Client.Create(e.ctx, webDeployment(3, "web:1")); err != nil {
		t.Fatal(err)
	}
	maxPods := int32(3 + 1) // 25% of 3, rounded up
	waitComplete(t, e, "web:1", maxPods)

	dep := get(t, e, "web")
	dep.Spec.Template.Spec.Containers[0].Image = "web:2"
	if err := e.Client.Update(e.ctx, dep); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, e, "web:2", maxPods)

	pods := listPods(t, e)
	if len(pods) != 3 {
		t.Fatalf("%d pods after the rollout; want 3", len(pods))
	}
	for _, p := range pods {
		if img := p.Spec.Containers[0].Image; img != "web:2" || p.Labels[deployment.PodTemplateHashLabel] == "" {
			t.Errorf("pod %s: image %s, labels %v", p.Name, img, p.Labels)
		}
	}
}

// waitComplete marks the pods ready until the Deployment has rolled
// image out, checking the surge bound on the way.
func waitComplete(t *testing.T, e env, image string, maxPods int32) {
	t.Helper()
	controllertest.Eventually(t, func() bool {
		var wanted int32
		rss, err := client.Resource[api.ReplicaSet](e.Client).List(e.ctx, client.InNamespace("default"))
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range rss.Items {
			wanted += *rs.Spec.Replicas
		}
		if wanted > maxPods {
			t.Fatalf("the ReplicaSets want %d pods; at most %d allowed", wanted, maxPods)
		}
		for _, p := range listPods(t, e) {
			if p.DeletionTimestamp == nil && !slices.ContainsFunc(p.Status.Conditions, func(c api.PodCondition) bool {
				return c.Type == api.PodReady && c.Status == api.ConditionTrue
			}) {
				p.Status.Phase = api.PodRunning
				p.Status.Conditions = append(p.Status.Conditions, api.PodCondition{
					Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(e.clk.Now())})
				if err := e.Client.UpdateStatus(e.ctx, p); err != nil && !api.IsConflict(err) && !api.IsNotFound(err) {
					t.Fatal(err)
				}
			}
		}
		d := get(t, e, "web")
		return d.Spec.Template.Spec.Containers[0].Image == image && d.Status.ObservedGeneration == d.Generation &&
			progressing(d) == "True/"+deployment.ReasonNewReplicaSetAvailable && d.Status.Replicas == 3 && d.Status.AvailableReplicas == 3
	})
}

func get(t *testing.T, e env, name string) *api.Deployment {
	t.Helper()
	d, err := client.Resource[api.Deployment](e.Client).Get(e.ctx, "default", name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func listPods(t *testing.T, e env) []*api.Pod {
	t.Helper()
	list, err := client.Resource[api.Pod](e.Client).List(e.ctx, client.InNamespace("default"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*api.Pod
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out
}
