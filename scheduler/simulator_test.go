package scheduler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler/framework"
)

func simNode(name, cpu string) *api.Node {
	return &api.Node{
		ObjectMeta: api.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: api.NodeStatus{Allocatable: api.ResourceList{
			api.ResourceCPU:    resource.MustParse(cpu),
			api.ResourceMemory: resource.MustParse("8Gi"),
			"pods":             resource.MustParse("110"),
		}},
	}
}

// simPod returns a pod with no uid (the simulator gives one) requesting
// cpu, at priority prio.
func simPod(name, cpu string, prio int32) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.PodSpec{
			Priority: &prio,
			Containers: []api.Container{{Name: "c", Image: "busybox", Resources: api.ResourceRequirements{
				Requests: api.ResourceList{api.ResourceCPU: resource.MustParse(cpu)},
			}}},
		},
	}
}

func newSim(t *testing.T, cfg Config, nodes []*api.Node, pods ...*api.Pod) *Simulator {
	t.Helper()
	s, err := NewSimulator(cfg, nodes, pods)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSimulatorPlacesAndAccounts(t *testing.T) {
	ctx := context.Background()
	s := newSim(t, Config{}, []*api.Node{simNode("n1", "4"), simNode("n2", "4")},
		func() *api.Pod { p := simPod("existing", "2", 0); p.Spec.NodeName = "n1"; return p }())

	// n1 has 2 of its 4 cpus taken: the six 1-cpu pods fill both nodes.
	placed := map[string]int{}
	for i := range 6 {
		res, err := s.Schedule(ctx, simPod(fmt.Sprintf("p%d", i), "1", 0))
		if err != nil {
			t.Fatalf("p%d: %v", i, err)
		}
		if res.Node == "" {
			t.Fatalf("p%d not placed: %v", i, res.Status.Message())
		}
		placed[res.Node]++
	}
	if placed["n1"] != 2 || placed["n2"] != 4 {
		t.Errorf("placed %v, want n1:2 n2:4 (n1 had 2 cpus taken)", placed)
	}
	for _, name := range []string{"n1", "n2"} {
		ni := s.Node(name)
		if ni.Requested.MilliCPU != 4000 {
			t.Errorf("node %s: requested %dm cpu, want 4000m", name, ni.Requested.MilliCPU)
		}
	}
	if got := len(s.Node("n1").Pods); got != 3 {
		t.Errorf("n1 has %d pods, want 3", got)
	}

	res, err := s.Schedule(ctx, simPod("toomuch", "1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Node != "" || res.Status.Code() != framework.Unschedulable || !strings.Contains(res.Status.Message(), "Insufficient cpu") {
		t.Fatalf("full cluster: node %q status %v %q, want Unschedulable with Insufficient cpu", res.Node, res.Status.Code(), res.Status.Message())
	}

	// Removing a pod frees its room for the next cycle.
	if err := s.RemovePod(simPod("p0", "1", 0)); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Schedule(ctx, simPod("toomuch", "1", 0)); err != nil || res.Node == "" {
		t.Fatalf("after a removal: node %q, err %v; want placed", res.Node, err)
	}
	if s.Node("nope") != nil {
		t.Error("Node of an unknown name is not nil")
	}
}

func TestSimulatorPreemption(t *testing.T) {
	ctx := context.Background()
	var low []*api.Pod
	for i := range 2 {
		p := simPod(fmt.Sprintf("low%d", i), "1", 0)
		p.Spec.NodeName = "n1"
		low = append(low, p)
	}
	s := newSim(t, Config{}, []*api.Node{simNode("n1", "2")}, low...)

	high := simPod("high", "1", 100)
	res, err := s.Schedule(ctx, high)
	if err != nil {
		t.Fatal(err)
	}
	if res.Node != "" || res.NominatedNode != "n1" {
		t.Fatalf("first cycle: node %q nominated %q (%v), want none and n1", res.Node, res.NominatedNode, res.Status.Message())
	}
	victims := s.Victims()
	if len(victims) != 1 || !strings.HasPrefix(victims[0].Name, "low") {
		t.Fatalf("victims %v, want one of the low pods", victims)
	}
	if n := len(s.Node("n1").Pods); n != 1 {
		t.Fatalf("n1 has %d pods after preemption, want 1", n)
	}

	// The room is the preemptor's: a pod of lower priority does not get it.
	res, err = s.Schedule(ctx, simPod("sneaky", "1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Node != "" {
		t.Fatalf("a low-priority pod took the nominated room on %s", res.Node)
	}

	res, err = s.Schedule(ctx, high)
	if err != nil {
		t.Fatal(err)
	}
	if res.Node != "n1" {
		t.Fatalf("second cycle of the preemptor: node %q (%v), want n1", res.Node, res.Status.Message())
	}
	if len(s.Victims()) != 1 {
		t.Errorf("%d victims after the second cycle, want still 1", len(s.Victims()))
	}
	if len(s.nom.byPod) != 0 {
		t.Errorf("nominations left after the preemptor was placed: %v", s.nom.byPod)
	}
}

// simPermit answers code from Permit.
type simPermit struct{ code framework.Code }

func (p simPermit) Name() string { return "SimPermit" }
func (p simPermit) Permit(context.Context, *framework.CycleState, *api.Pod, string) (*framework.Status, framework.Duration) {
	return framework.NewStatus(p.code, "simPermit"), time.Minute
}

func permitConfig(code framework.Code) Config {
	return Config{
		Registry: Registry{"SimPermit": func(any, framework.Handle) (framework.Plugin, error) { return simPermit{code}, nil }},
		Profiles: []Profile{{SchedulerName: DefaultSchedulerName, Plugins: Plugins{Permit: PluginSet{Enabled: []PluginRef{{Name: "SimPermit"}}}}}},
	}
}

func TestSimulatorPermit(t *testing.T) {
	ctx := context.Background()
	s := newSim(t, permitConfig(framework.Wait), []*api.Node{simNode("n1", "2")})
	res, err := s.Schedule(ctx, simPod("waits", "1", 0))
	if err != nil || res.Node != "n1" {
		t.Fatalf("Permit Wait: node %q, err %v; want placed on n1 (Wait counts as allowed)", res.Node, err)
	}

	s = newSim(t, permitConfig(framework.Unschedulable), []*api.Node{simNode("n1", "2")})
	res, err = s.Schedule(ctx, simPod("denied", "1", 0))
	if err == nil || res.Node != "" {
		t.Fatalf("Permit rejects: node %q, err %v; want an error and no node", res.Node, err)
	}
	if ni := s.Node("n1"); len(ni.Pods) != 0 || ni.Requested.MilliCPU != 0 {
		t.Errorf("a pod Permit rejected still counts on n1: %d pods, %dm cpu", len(ni.Pods), ni.Requested.MilliCPU)
	}
}

func TestSimulatorRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := NewSimulator(Config{PercentageOfNodesToScore: 101}, nil, nil); err == nil {
		t.Error("NewSimulator accepted PercentageOfNodesToScore 101")
	}
	if _, err := NewSimulator(Config{}, []*api.Node{simNode("n1", "1")}, []*api.Pod{simPod("unplaced", "1", 0)}); err == nil || !strings.Contains(err.Error(), "spec.nodeName") {
		t.Errorf("NewSimulator with an unplaced pod: %v, want an error naming spec.nodeName", err)
	}
	s := newSim(t, Config{}, []*api.Node{simNode("n1", "2")})
	placed := simPod("placed", "1", 0)
	placed.Spec.NodeName = "n1"
	if _, err := s.Schedule(ctx, placed); err == nil {
		t.Error("Schedule took a pod with spec.nodeName set")
	}
	other := simPod("other", "1", 0)
	other.Spec.SchedulerName = "nobody"
	if _, err := s.Schedule(ctx, other); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("Schedule with an unknown schedulerName: %v, want an error naming it", err)
	}
	twice := simPod("twice", "1", 0)
	if res, err := s.Schedule(ctx, twice); err != nil || res.Node == "" {
		t.Fatalf("first Schedule: %v", err)
	}
	if _, err := s.Schedule(ctx, twice); err == nil {
		t.Error("Schedule placed the same pod twice")
	}
	if n := len(s.Node("n1").Pods); n != 1 {
		t.Errorf("n1 has %d pods, want 1", n)
	}
}

// A what-if: do ten 1-cpu pods fit on two 4-cpu nodes?
func ExampleSimulator() {
	nodes := []*api.Node{simNode("n1", "4"), simNode("n2", "4")}
	sim, err := NewSimulator(Config{}, nodes, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	placed := 0
	for i := range 10 {
		res, err := sim.Schedule(context.Background(), simPod(fmt.Sprintf("web-%d", i), "1", 0))
		if err != nil {
			fmt.Println(err)
			return
		}
		if res.Node == "" {
			fmt.Printf("web-%d: %s\n", i, res.Status.Code())
			continue
		}
		placed++
	}
	fmt.Println("placed:", placed)
	fmt.Println("n1 cpu requested:", sim.Node("n1").Requested.MilliCPU, "m")
	// Output:
	// web-8: Unschedulable
	// web-9: Unschedulable
	// placed: 8
	// n1 cpu requested: 4000 m
}
