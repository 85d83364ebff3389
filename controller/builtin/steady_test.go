package builtin_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/builtin"
)

// TestSteadyStateWritesNothing: once every workload (a Deployment behind
// a Service, a DaemonSet, a finished Job) has settled, time
// passing (the nodes heartbeating) makes the controllers write nothing:
// no reconcile rewrites an object that is already right (a hot loop, or a
// status with a timestamp refreshed on every pass).
func TestSteadyStateWritesNothing(t *testing.T) {
	c := newCluster(t, 3, builtin.Config{})
	if err := c.env.Client.Create(c.ctx, newDeployment("default", "web", 3, "nginx:1")); err != nil {
		t.Fatal(err)
	}
	svc := &api.Service{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []api.ServicePort{{Name: "http", Port: 80, TargetPort: api.FromString("http")}},
		},
	}
	if err := c.env.Client.Create(c.ctx, svc); err != nil {
		t.Fatal(err)
	}
	agent := map[string]string{"app": "agent"}
	ds := &api.DaemonSet{
		ObjectMeta: api.ObjectMeta{Namespace: "kube-system", Name: "agent"},
		Spec: api.DaemonSetSpec{
			Selector: &api.LabelSelector{MatchLabels: agent},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: agent},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "agent", Image: "agent:1"}}},
			},
		},
	}
	if err := c.env.Client.Create(c.ctx, ds); err != nil {
		t.Fatal(err)
	}
	batch := map[string]string{"job": "batch"}
	job := &api.Job{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "batch"},
		Spec: api.JobSpec{
			Completions: ptr(int32(1)),
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: batch},
				Spec: api.PodSpec{
					RestartPolicy: api.RestartPolicyNever,
					Containers:    []api.Container{{Name: "work", Image: "busybox"}},
				},
			},
		},
	}
	if err := c.env.Client.Create(c.ctx, job); err != nil {
		t.Fatal(err)
	}
	c.eventually("settled", nudge, func() (bool, string) {
		for _, p := range c.pods("default", batch) {
			if p.Status.Phase == api.PodRunning {
				if err := c.nodes.Succeed(c.ctx, "default", p.Name); err != nil {
					t.Fatal(err)
				}
			}
		}
		var j api.Job
		if err := c.env.Client.Get(c.ctx, "default", "batch", &j); err != nil {
			return false, err.Error()
		}
		if j.Status.Succeeded != 1 || j.Status.CompletionTime == nil {
			return false, fmt.Sprintf("Job status %+v", j.Status)
		}
		if ok, state := c.deploymentDone("default", "web"); !ok {
			return false, state
		}
		var d api.DaemonSet
		if err := c.env.Client.Get(c.ctx, "kube-system", "agent", &d); err != nil {
			return false, err.Error()
		}
		s := d.Status
		if s.ObservedGeneration != d.Generation || s.NumberAvailable != 3 {
			return false, fmt.Sprintf("DaemonSet status %+v", s)
		}
		var ep api.Endpoints
		if err := c.env.Client.Get(c.ctx, "default", "web", &ep); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, s := range ep.Subsets {
			n += len(s.Addresses)
		}
		return n == 3, fmt.Sprintf("%d ready addresses", n)
	})
	// Let the retries and rechecks in flight run out.
	quiet := c.clk.Now().Add(2 * time.Minute)
	c.eventually("quiet", 5*time.Second, func() (bool, string) { return !c.clk.Now().Before(quiet), "" })

	// From now on, watch what the controllers own.
	var (
		mu     sync.Mutex
		writes []string
	)
	lists := []api.ListObject{
		&api.DeploymentList{}, &api.ReplicaSetList{}, &api.PodList{}, &api.DaemonSetList{}, &api.JobList{},
		&api.EndpointsList{}, &api.EndpointSliceList{}, &api.ServiceAccountList{}, &api.NamespaceList{}, &api.NodeList{},
	}
	ctx, cancel := contextWithCancel(c)
	var wg sync.WaitGroup
	for _, l := range lists {
		if err := c.env.Client.List(c.ctx, l, client.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		w, err := c.env.Client.Watch(ctx, l, client.ListOptions{ResourceVersion: l.GetListMeta().ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer w.Stop()
			for ev := range w.Events() {
				if ev.Type == api.WatchBookmark {
					continue
				}
				m := ev.Object.GetObjectMeta()
				mu.Lock()
				writes = append(writes, fmt.Sprintf("%s %T %s/%s (rv %s)", ev.Type, ev.Object, m.Namespace, m.Name, m.ResourceVersion))
				mu.Unlock()
			}
		})
	}
	until := c.clk.Now().Add(10 * time.Minute)
	c.eventually("10 minutes of steady state", 10*time.Second, func() (bool, string) { return !c.clk.Now().Before(until), "" })
	cancel()
	wg.Wait()
	for _, w := range writes {
		t.Errorf("steady state: %s", w)
	}
}
