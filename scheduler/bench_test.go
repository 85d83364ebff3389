package scheduler

import (
	"context"
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
)

// The benchmarks below are whole cycles (Framework.Schedule, then the pod
// assumed in the cache, as the scheduler does before binding) with the
// default profile on benchNodes nodes, each reporting pods/s. Measure
// them with -benchtime 2000x: each op places one more pod, so longer runs
// look at fuller clusters.
const (
	benchNodes = 5000
	benchZones = 10
	zoneLabel  = "topology.kubernetes.io/zone"
	hostLabel  = "kubernetes.io/hostname"
)

// benchCluster returns a cache of benchNodes nodes of 32 CPUs, in
// benchZones zones (node i in zone-(i%benchZones)), labelled with their
// hostname, and the pods existing placed on them.
func benchCluster(b *testing.B, existing []*api.Pod) *cache.Cache {
	b.Helper()
	c := cache.New(cache.Config{})
	for i := range benchNodes {
		n := node(fmt.Sprintf("node-%04d", i), "32")
		n.Labels = map[string]string{zoneLabel: fmt.Sprintf("zone-%d", i%benchZones), hostLabel: n.Name}
		c.AddNode(n)
	}
	for _, p := range existing {
		if err := c.AddPod(p); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// spreadNode is where the j-th existing pod of an app goes: 11 is prime
// to benchNodes, so the first benchNodes pods of an app are on different
// nodes, and they go round the zones.
func spreadNode(app, j int) string {
	return fmt.Sprintf("node-%04d", (j*11+app)%benchNodes)
}

// benchPod returns a pod requesting 100m CPU and 100Mi of memory.
func benchPod(name string, lbl map[string]string) *api.Pod {
	p := podWithCPU(name, "100m")
	p.UID = api.UID(name)
	p.Labels = lbl
	p.Spec.Containers[0].Resources.Requests[api.ResourceMemory] = resource.MustParse("100Mi")
	return p
}

// runCycles schedules the pods made by mk (i counting from 0), one per
// op, on c with the default profile, and reports pods/s.
func runCycles(b *testing.B, c *cache.Cache, mk func(i int) *api.Pod) {
	b.Helper()
	fw, err := NewFramework(Profile{SchedulerName: DefaultSchedulerName}, FrameworkOptions{})
	if err != nil {
		b.Fatal(err)
	}
	snap := cache.NewSnapshot()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := mk(i)
		if err := c.UpdateSnapshot(snap); err != nil {
			b.Fatal(err)
		}
		res := fw.Schedule(ctx, framework.NewCycleState(), p, snap)
		if res.Status != nil {
			b.Fatalf("pod %d: %v", i, res.Status)
		}
		p.Spec.NodeName = res.Node
		if err := c.AssumePod(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}

// BenchmarkScheduleBasic is the cycle alone (Framework.Schedule, then the
// pod assumed in the cache) with the default profile on 5,000 nodes:
// what the scheduler-only pods/s of SchedulingBasic is made of.
func BenchmarkScheduleBasic(b *testing.B) {
	c := cache.New(cache.Config{})
	for i := range benchNodes {
		c.AddNode(node(fmt.Sprintf("node-%04d", i), "32"))
	}
	runCycles(b, c, func(i int) *api.Pod { return benchPod(fmt.Sprintf("p%d", i), nil) })
}

// BenchmarkScheduleNodeAffinity: pods that require a zone among the first
// half of the zones (half the nodes) and prefer zone-0.
func BenchmarkScheduleNodeAffinity(b *testing.B) {
	var half []string
	for z := range benchZones / 2 {
		half = append(half, fmt.Sprintf("zone-%d", z))
	}
	aff := &api.Affinity{NodeAffinity: &api.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{NodeSelectorTerms: []api.NodeSelectorTerm{{
			MatchExpressions: []api.NodeSelectorRequirement{{Key: zoneLabel, Operator: api.NodeSelectorOpIn, Values: half}},
		}}},
		PreferredDuringSchedulingIgnoredDuringExecution: []api.PreferredSchedulingTerm{{
			Weight: 10,
			Preference: api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{
				{Key: zoneLabel, Operator: api.NodeSelectorOpIn, Values: []string{"zone-0"}},
			}},
		}},
	}}
	runCycles(b, benchCluster(b, nil), func(i int) *api.Pod {
		p := benchPod(fmt.Sprintf("p%d", i), nil)
		p.Spec.Affinity = aff
		return p
	})
}

// BenchmarkScheduleAntiAffinity: pods of 10 apps, each with
// required anti-affinity by hostname against its own app, with 10,000
// such pods already placed (1,000 per app, one per node).
func BenchmarkScheduleAntiAffinity(b *testing.B) {
	const apps, placed = 10, 10000
	mk := func(name string, app int) *api.Pod {
		lbl := map[string]string{"app": fmt.Sprintf("app-%d", app)}
		p := benchPod(name, lbl)
		p.Spec.Affinity = &api.Affinity{PodAntiAffinity: &api.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{{
				LabelSelector: &api.LabelSelector{MatchLabels: lbl},
				TopologyKey:   hostLabel,
			}},
		}}
		return p
	}
	existing := make([]*api.Pod, placed)
	for i := range existing {
		app, j := i%apps, i/apps
		existing[i] = mk(fmt.Sprintf("old-%d", i), app)
		existing[i].Spec.NodeName = spreadNode(app, j)
	}
	runCycles(b, benchCluster(b, existing), func(i int) *api.Pod { return mk(fmt.Sprintf("p%d", i), i%apps) })
}

// BenchmarkScheduleTopologySpread: pods of 10 apps spread over the 10
// zones (maxSkew 1, DoNotSchedule) and over the nodes (maxSkew 1,
// ScheduleAnyway), with 10,000 such pods already placed evenly.
func BenchmarkScheduleTopologySpread(b *testing.B) {
	const apps, placed = 10, 10000
	mk := func(name string, app int) *api.Pod {
		lbl := map[string]string{"app": fmt.Sprintf("app-%d", app)}
		p := benchPod(name, lbl)
		sel := &api.LabelSelector{MatchLabels: lbl}
		p.Spec.TopologySpreadConstraints = []api.TopologySpreadConstraint{
			{MaxSkew: 1, TopologyKey: zoneLabel, WhenUnsatisfiable: api.DoNotSchedule, LabelSelector: sel},
			{MaxSkew: 1, TopologyKey: hostLabel, WhenUnsatisfiable: api.ScheduleAnyway, LabelSelector: sel},
		}
		return p
	}
	existing := make([]*api.Pod, placed)
	for i := range existing {
		app, j := i%apps, i/apps
		existing[i] = mk(fmt.Sprintf("old-%d", i), app)
		existing[i].Spec.NodeName = spreadNode(app, j)
	}
	runCycles(b, benchCluster(b, existing), func(i int) *api.Pod { return mk(fmt.Sprintf("p%d", i), i%apps) })
}
