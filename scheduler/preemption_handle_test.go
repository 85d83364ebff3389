package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler/framework"
)

// cpuFilter is a Filter plugin with no PreFilter: the pod's CPU request
// must fit in what the node has left.
type cpuFilter struct{}

func (cpuFilter) Name() string { return "cpuFilter" }
func (cpuFilter) Filter(_ context.Context, _ *framework.CycleState, pod *api.Pod, n *framework.NodeInfo) *framework.Status {
	if n.Requested.MilliCPU+framework.PodRequests(pod).MilliCPU > n.Allocatable.MilliCPU {
		return framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
	}
	return nil
}

// nominatedPods is a Nominator over a fixed list of pods, by node.
type nominatedPods map[string][]*api.Pod

func (n nominatedPods) NominatedPodsForNode(node string) []*framework.PodInfo {
	var out []*framework.PodInfo
	for _, p := range n[node] {
		out = append(out, framework.NewPodInfo(p))
	}
	return out
}

func cpuTestPod(name string, prio int32, cpu string) *api.Pod {
	p := testPod(name)
	p.Spec.Priority = &prio
	p.Spec.Containers[0].Resources.Requests = api.ResourceList{api.ResourceCPU: resource.MustParse(cpu)}
	return p
}

// TestRunFilterPluginsWithNominatedPods: the pods nominated to the node
// with at least the pod's priority count on it (those of lower priority,
// and the pod itself, do not), and the node given is left as it was.
func TestRunFilterPluginsWithNominatedPods(t *testing.T) {
	in := cpuTestPod("in", 10, "1")
	running := cpuTestPod("running", 0, "2")
	running.Spec.NodeName = "n1"
	ni := framework.NewNodeInfo(node("n1", "4"), running)
	ctx := context.Background()

	for _, tt := range []struct {
		name      string
		nominated []*api.Pod
		fits      bool
	}{
		{"none", nil, true},
		{"one of the same priority fits beside it", []*api.Pod{cpuTestPod("same", 10, "1")}, true},
		{"lower priority and the pod itself do not count",
			[]*api.Pod{cpuTestPod("low", 9, "2"), cpuTestPod("in", 10, "3")}, true},
		{"higher and same priority fill the node",
			[]*api.Pod{cpuTestPod("high", 20, "1"), cpuTestPod("same", 10, "1")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fw := newTestFramework(t, nil, cpuFilter{})
			fw.SetNominator(nominatedPods{"n1": tt.nominated})
			s := fw.RunFilterPluginsWithNominatedPods(ctx, framework.NewCycleState(), in, ni)
			if s.IsSuccess() != tt.fits {
				t.Errorf("fits = %v (%v %q), want %v", s.IsSuccess(), s.Code(), s.Message(), tt.fits)
			}
			if !tt.fits && s.Plugin() != "cpuFilter" {
				t.Errorf("status names plugin %q, want cpuFilter", s.Plugin())
			}
			if got := ni.Requested.MilliCPU; got != 2000 {
				t.Errorf("the node given now has %dm requested, want 2000m: it was changed", got)
			}
		})
	}

	// Without a Nominator, it is RunFilterPlugins.
	fw := newTestFramework(t, nil, cpuFilter{})
	if s := fw.RunFilterPluginsWithNominatedPods(ctx, framework.NewCycleState(), cpuTestPod("big", 10, "3"), ni); s.IsSuccess() {
		t.Error("a pod of 3 cpu fits beside 2 of 4 cpu")
	}
}

// TestAssumedPodUpdateKeepsNominationDropped: an update of a pod that is
// being bound (assumed in the cache), written before its binding, does
// not queue it again nor bring back the nomination its cycle dropped, so
// that the pod does not count twice on its node for the next preemptor.
func TestAssumedPodUpdateKeepsNominationDropped(t *testing.T) {
	env := controllertest.New(t)
	s, err := New(Config{Client: env.Client, Clock: fakeclock.New(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	old := cpuTestPod("preemptor", 10, "1")
	old.Status.NominatedNodeName = "n1"
	s.queue.Add(old)
	pi, _, err := s.queue.Pop(controllertest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	// Its cycle placed it: the nomination is dropped, the pod assumed.
	s.queue.DeleteNominatedPodIfExists(pi.Pod)
	assumed := api.DeepCopy(old)
	assumed.Spec.NodeName = "n1"
	if err := s.cache.AssumePod(assumed); err != nil {
		t.Fatal(err)
	}

	stale := api.DeepCopy(old)
	stale.Status.Conditions = []api.PodCondition{{Type: api.PodScheduled, Status: api.ConditionFalse, Reason: "Unschedulable"}}
	s.onPodUpdate(old, stale)
	if n := len(s.queue.NominatedPodsForNode("n1")); n != 0 {
		t.Errorf("%d pods nominated to n1 after an update of the assumed pod, want 0", n)
	}
	if where := s.queue.Where(stale); where != "" {
		t.Errorf("the assumed pod was queued again (%s)", where)
	}
}
