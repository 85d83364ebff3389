package defaultpreemption_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
	"github.com/drover-io/drover/scheduler/plugins/defaultpreemption"
	"github.com/drover-io/drover/scheduler/plugins/podtopologyspread"
)

// recorder is a framework.Client that records preemption's writes.
type recorder struct {
	deleted   []string
	nominated string
}

func (r *recorder) Bind(context.Context, string, string, api.UID, string) error { return nil }
func (r *recorder) DeletePod(_ context.Context, p *api.Pod) error {
	r.deleted = append(r.deleted, p.Name)
	return nil
}
func (r *recorder) SetNominatedNode(_ context.Context, _ *api.Pod, node string) error {
	r.nominated = node
	return nil
}

// newFramework returns the scheduler's framework with the default
// plugins plus PodTopologySpread and DefaultPreemption (added here if the
// defaults do not have them yet).
func newFramework(t *testing.T, client framework.Client) *scheduler.Framework {
	t.Helper()
	prof := scheduler.Profile{SchedulerName: "default-scheduler", Plugins: scheduler.DefaultPlugins()}
	reg := scheduler.Registry{}
	for name, f := range map[string]scheduler.PluginFactory{
		podtopologyspread.Name: scheduler.Typed(podtopologyspread.New),
		defaultpreemption.Name: scheduler.Typed(defaultpreemption.New),
	} {
		if !slices.ContainsFunc(prof.Plugins.MultiPoint.Enabled, func(r scheduler.PluginRef) bool { return r.Name == name }) {
			reg[name] = f
			prof.Plugins.MultiPoint.Enabled = append(prof.Plugins.MultiPoint.Enabled, scheduler.PluginRef{Name: name})
		}
	}
	f, err := scheduler.NewFramework(prof, scheduler.FrameworkOptions{Registry: reg, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestWithScheduler runs the plugins in the scheduler's framework, on
// the scheduler cache's snapshot: a pod with anti-affinity to every
// running pod preempts the lowest-priority one.
func TestWithScheduler(t *testing.T) {
	var nodes []*api.Node
	for i := range 4 {
		n := &api.Node{}
		n.Name = fmt.Sprintf("n%d", i)
		n.Labels = map[string]string{"kubernetes.io/hostname": n.Name, "zone": fmt.Sprintf("z%d", i%2)}
		n.Status.Allocatable = api.ResourceList{api.ResourceCPU: resource.MustParse("1"),
			api.ResourceMemory: resource.MustParse("1Gi"), "pods": resource.MustParse("10")}
		nodes = append(nodes, n)
	}
	mk := func(name, node string, prio int32) *api.Pod {
		p := &api.Pod{}
		p.Name, p.Namespace, p.UID = name, "default", api.UID(name)
		p.Labels = map[string]string{"app": "web"}
		p.Spec.NodeName = node
		p.Spec.Priority = &prio
		p.Spec.Containers = []api.Container{{Name: "c", Resources: api.ResourceRequirements{
			Requests: api.ResourceList{api.ResourceCPU: resource.MustParse("100m")}}}}
		return p
	}
	snap := cache.NewSnapshotFrom(nodes, []*api.Pod{mk("a", "n0", 5), mk("b", "n1", 1), mk("c", "n2", 5), mk("d", "n3", 5)})
	ctx := context.Background()

	rec := &recorder{}
	f := newFramework(t, rec)
	in := mk("p", "", 10)
	in.Spec.Affinity = &api.Affinity{PodAntiAffinity: &api.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{{
		TopologyKey: "kubernetes.io/hostname", LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}}
	res := f.Schedule(ctx, framework.NewCycleState(), in, snap)
	if res.Node != "" || res.NominatedNode != "n1" || !slices.Equal(rec.deleted, []string{"b"}) || rec.nominated != "n1" {
		t.Fatalf("node %q, nominated %q (client: %q), deleted %v; status %q; want nominated n1, b deleted",
			res.Node, res.NominatedNode, rec.nominated, rec.deleted, res.Status.Message())
	}

	// Topology spread: zones z0 (n0, n2) and z1 (n1, n3) hold 2 each; a
	// third web pod in a zone is within maxSkew 1 either way.
	in = mk("q", "", 10)
	in.Spec.TopologySpreadConstraints = []api.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone",
		WhenUnsatisfiable: api.DoNotSchedule, LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	if res := f.Schedule(ctx, framework.NewCycleState(), in, snap); res.Node == "" {
		t.Fatalf("not placed: %q", res.Status.Message())
	}
}
