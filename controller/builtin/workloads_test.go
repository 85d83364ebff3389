package builtin_test

import (
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/builtin"
)

// TestJobRunsToCompletion: a Job of 3 completions, 2 at a time, gets a
// failed pod replaced and completes once 3 pods have succeeded.
func TestJobRunsToCompletion(t *testing.T) {
	c := newCluster(t, 2, builtin.Config{})
	sel := map[string]string{"job": "batch"}
	job := &api.Job{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "batch"},
		Spec: api.JobSpec{
			Parallelism: ptr(int32(2)), Completions: ptr(int32(3)), BackoffLimit: ptr(int32(3)),
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: sel},
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
	// Each pod that runs ends: the first fails, the others succeed.
	ended := map[string]bool{}
	failed := false
	c.eventually("Job complete", nudge, func() (bool, string) {
		for _, p := range c.pods("default", sel) {
			if p.Status.Phase != api.PodRunning || ended[p.Name] {
				continue
			}
			ended[p.Name] = true
			var err error
			if !failed {
				failed = true
				err = c.nodes.Fail(c.ctx, "default", p.Name)
			} else {
				err = c.nodes.Succeed(c.ctx, "default", p.Name)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		var j api.Job
		if err := c.env.Client.Get(c.ctx, "default", "batch", &j); err != nil {
			return false, err.Error()
		}
		complete := false
		for _, cond := range j.Status.Conditions {
			if cond.Type == api.JobComplete && cond.Status == api.ConditionTrue {
				complete = true
			}
		}
		return complete, fmt.Sprintf("active %d succeeded %d failed %d, conditions %+v", j.Status.Active, j.Status.Succeeded, j.Status.Failed, j.Status.Conditions)
	})
	var j api.Job
	if err := c.env.Client.Get(c.ctx, "default", "batch", &j); err != nil {
		t.Fatal(err)
	}
	if j.Status.Succeeded != 3 || j.Status.Failed != 1 || j.Status.Active != 0 || j.Status.CompletionTime == nil {
		t.Errorf("Job status: %+v, want 3 succeeded, 1 failed, none active, a completion time", j.Status)
	}
}

// TestDaemonSetOnEveryNode: a DaemonSet runs one ready pod on each node.
func TestDaemonSetOnEveryNode(t *testing.T) {
	c := newCluster(t, 3, builtin.Config{})
	sel := map[string]string{"app": "agent"}
	ds := &api.DaemonSet{
		ObjectMeta: api.ObjectMeta{Namespace: "kube-system", Name: "agent"},
		Spec: api.DaemonSetSpec{
			Selector: &api.LabelSelector{MatchLabels: sel},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: sel},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "agent", Image: "agent:1"}}},
			},
		},
	}
	if err := c.env.Client.Create(c.ctx, ds); err != nil {
		t.Fatal(err)
	}
	c.eventually("a ready pod per node", nudge, func() (bool, string) {
		var d api.DaemonSet
		if err := c.env.Client.Get(c.ctx, "kube-system", "agent", &d); err != nil {
			return false, err.Error()
		}
		s := d.Status
		return s.ObservedGeneration == d.Generation && s.DesiredNumberScheduled == 3 && s.NumberReady == 3 && s.NumberAvailable == 3,
			fmt.Sprintf("status %+v", s)
	})
	perNode := map[string]int{}
	for _, p := range c.pods("kube-system", sel) {
		if podReady(&p) {
			perNode[p.Spec.NodeName]++
		}
	}
	for _, n := range c.nodes.Names() {
		if perNode[n] != 1 {
			t.Errorf("node %s runs %d ready daemon pods, want 1 (all: %v)", n, perNode[n], perNode)
		}
	}
}
