package scheduler

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/api"

	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/scheduler/framework"
)

func TestFilterVerdictsCountedMessageAndPostFilter(t *testing.T) {
	cpu := framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
	taint := framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {dedicated: gpu}")
	fit := &fakeFilter{name: "Fit", reject: map[string]*framework.Status{"n1": cpu, "n2": cpu, "n3": cpu}}
	taints := &fakeFilter{name: "Taints", reject: map[string]*framework.Status{"n4": taint, "n5": taint}}
	post := &fakePostFilter{name: "Preempt"}
	fw := newTestFramework(t, nil, fit, taints, post)

	res := fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), snap(nodes(5)))
	if res.Node != "" || !res.Status.IsRejected() {
		t.Fatalf("result node %q status %v, want unschedulable", res.Node, res.Status)
	}
	want := "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: gpu}. preemption: not eligible."
	if got := res.Status.Message(); got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
	if res.Status.Code() != framework.Unschedulable {
		t.Errorf("code %v, want Unschedulable (some nodes may be helped by preemption)", res.Status.Code())
	}
	if len(post.filtered) != 5 || post.filtered["n4"].Plugin() != "Taints" {
		t.Errorf("PostFilter got %v", post.filtered)
	}
	if _, ok := res.UnschedulablePlugins["Fit"]; !ok || len(res.UnschedulablePlugins) != 2 {
		t.Errorf("UnschedulablePlugins %v, want Fit and Taints", res.UnschedulablePlugins)
	}
	if res.Evaluated != 5 || res.Feasible != 0 || len(res.Verdicts) != 5 {
		t.Errorf("evaluated %d feasible %d verdicts %d", res.Evaluated, res.Feasible, len(res.Verdicts))
	}
	// A node rejected by Fit is not shown to Taints.
	if n := taints.calls.Load(); n != 2 {
		t.Errorf("Taints.Filter called %d times, want 2", n)
	}
}

func TestPostFilterNominates(t *testing.T) {
	cpu := framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
	fit := &fakeFilter{name: "Fit", reject: map[string]*framework.Status{"n1": cpu, "n2": cpu}}
	post := &fakePostFilter{name: "Preempt", nominate: "n2"}
	fw := newTestFramework(t, nil, fit, post)
	res := fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), snap(nodes(2)))
	if res.NominatedNode != "n2" || res.Node != "" {
		t.Fatalf("nominated %q node %q, want n2 and none", res.NominatedNode, res.Node)
	}
}

func TestFitMessageOrdersByCountThenText(t *testing.T) {
	st := func(r ...string) *framework.Status { return framework.NewStatus(framework.Unschedulable, r...) }
	verdicts := []NodeVerdict{
		{Node: "a", Status: st("b reason")},
		{Node: "b", Status: st("a reason")},
		{Node: "c", Status: st("c reason", "a reason")},
		{Node: "d"},
	}
	got := FitMessage(4, verdicts, "")
	want := "0/4 nodes are available: 2 a reason, 1 b reason, 1 c reason."
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestScoresNormalizeWeightsAndBest(t *testing.T) {
	a := &fakeScore{name: "A", scores: map[string]int64{"n1": 10, "n2": 5, "n3": 0}, normalize: true} // 100, 50, 0
	b := &fakeScore{name: "B", scores: map[string]int64{"n1": 0, "n2": 40, "n3": 100}}
	fw := newTestFramework(t, map[string]int32{"A": 1, "B": 3}, a, b)
	res := fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), snap(nodes(3)))
	if res.Status != nil {
		t.Fatal(res.Status)
	}
	// n1: 100 + 0 = 100; n2: 50 + 120 = 170; n3: 0 + 300 = 300.
	if res.Node != "n3" {
		t.Errorf("chose %q, want n3", res.Node)
	}
	totals := map[string]int64{}
	for _, s := range res.Scores {
		totals[s.Node] = s.Total
	}
	if totals["n1"] != 100 || totals["n2"] != 170 || totals["n3"] != 300 {
		t.Errorf("totals %v", totals)
	}
	if res.Scores[0].Node != "n3" || res.Scores[0].Plugins[1] != (PluginScore{Plugin: "B", Score: 100, Weight: 3}) {
		t.Errorf("best first with parts: %+v", res.Scores[0])
	}
}

func TestTiesAreBrokenAtRandom(t *testing.T) {
	s := &fakeScore{name: "S", scores: map[string]int64{"n1": 50, "n2": 50, "n3": 10}}
	fw := newTestFramework(t, nil, s)
	sn := snap(nodes(3))
	seen := map[string]int{}
	for range 200 {
		res := fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), sn)
		seen[res.Node]++
	}
	if seen["n3"] != 0 || seen["n1"] == 0 || seen["n2"] == 0 {
		t.Fatalf("choices %v: want n1 and n2, never n3", seen)
	}
}

func TestScoreOutOfRangeIsAnError(t *testing.T) {
	s := &fakeScore{name: "S", scores: map[string]int64{"n1": 500, "n2": 1}}
	fw := newTestFramework(t, nil, s)
	res := fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), snap(nodes(2)))
	if res.Status.Code() != framework.Error {
		t.Fatalf("status %v, want Error", res.Status)
	}
}

func TestFilterErrorStopsTheCycle(t *testing.T) {
	f := &fakeFilter{name: "F", reject: map[string]*framework.Status{"n2": framework.AsStatus(context.DeadlineExceeded)}}
	fw := newTestFramework(t, nil, f)
	res := fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), snap(nodes(3)))
	if res.Status.Code() != framework.Error || res.Status.Plugin() != "F" {
		t.Fatalf("status %v (plugin %q), want Error from F", res.Status, res.Status.Plugin())
	}
}

func TestPreFilterRejectsEveryNode(t *testing.T) {
	pf := &fakePreFilter{name: "PF", status: framework.NewStatus(framework.UnschedulableAndUnresolvable, "pod has unbound claims")}
	fw := newTestFramework(t, nil, pf)
	res := fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), snap(nodes(4)))
	want := "0/4 nodes are available: 4 pod has unbound claims."
	if res.Status.Message() != want {
		t.Fatalf("message %q, want %q", res.Status.Message(), want)
	}
	if _, ok := res.UnschedulablePlugins["PF"]; !ok {
		t.Errorf("UnschedulablePlugins %v", res.UnschedulablePlugins)
	}
}

func TestPreFilterNarrowsNodesAndSkipSkipsFilter(t *testing.T) {
	pf := &fakePreFilter{name: "PF", nodes: []string{"n2"}}
	f := &fakeFilter{name: "F"}
	fw := newTestFramework(t, nil, pf, f)
	res := fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), snap(nodes(3)))
	if res.Node != "n2" || f.calls.Load() != 1 {
		t.Fatalf("node %q, filter calls %d; want n2, 1", res.Node, f.calls.Load())
	}

	// A PreFilter plugin that skips does not get its Filter called.
	sk := &skipFilter{}
	fw = newTestFramework(t, nil, sk)
	res = fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), snap(nodes(2)))
	if res.Status != nil || sk.filterCalls.Load() != 0 {
		t.Fatalf("status %v, Filter calls %d; want success, 0", res.Status, sk.filterCalls.Load())
	}
}

type skipFilter struct {
	fakeFilter
	filterCalls atomic.Int64
}

func (*skipFilter) Name() string { return "Skipper" }
func (*skipFilter) PreFilter(context.Context, *framework.CycleState, *api.Pod, []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	return nil, framework.NewStatus(framework.Skip)
}
func (s *skipFilter) Filter(context.Context, *framework.CycleState, *api.Pod, *framework.NodeInfo) *framework.Status {
	s.filterCalls.Add(1)
	return framework.NewStatus(framework.Unschedulable, "no")
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	for _, tc := range []struct {
		pct   int32
		nodes int
		want  int
	}{
		{0, 50, 50}, {0, 100, 100}, {0, 1000, 420}, {0, 5000, 500}, {0, 10000, 500},
		{30, 1000, 300}, {100, 5000, 5000}, {1, 1000, 100},
	} {
		if got := NumFeasibleNodesToFind(tc.pct, tc.nodes); got != tc.want {
			t.Errorf("NumFeasibleNodesToFind(%d, %d) = %d, want %d", tc.pct, tc.nodes, got, tc.want)
		}
	}
}

func TestFilterStopsAfterEnoughFeasibleNodes(t *testing.T) {
	f := &fakeFilter{name: "F"}
	fw := newTestFramework(t, nil, f)
	res := fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), snap(nodes(1000)))
	if res.Feasible != 420 {
		t.Errorf("feasible %d, want 420 (42%% of 1000)", res.Feasible)
	}
	if res.Evaluated < 420 || res.Evaluated > 420+2*fw.deps.parallelism {
		t.Errorf("evaluated %d, want about 420", res.Evaluated)
	}
	// The next cycle starts where this one stopped.
	if fw.nextStart.Load() == 0 {
		t.Error("the next Filter pass starts at the first node again")
	}
}

func TestPermitWaitAllowRejectTimeout(t *testing.T) {
	clk := fakeclock.New(time.Unix(0, 0))
	newFW := func() *Framework {
		p, reg := testProfile(DefaultSchedulerName, nil, &fakePermit{name: "Gate", code: framework.Wait, timeout: 10 * time.Second})
		fw, err := NewFramework(p, FrameworkOptions{Registry: reg, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		return fw
	}
	ctx := context.Background()
	wait := func(fw *Framework, name string) chan *framework.Status {
		pod := testPod(name)
		if st := fw.RunPermitPlugins(ctx, framework.NewCycleState(), pod, "n1"); st.Code() != framework.Wait {
			t.Fatalf("Permit = %v, want Wait", st)
		}
		if fw.WaitingPod(pod.UID) == nil {
			t.Fatal("no WaitingPod")
		}
		ch := make(chan *framework.Status, 1)
		go func() { ch <- fw.WaitOnPermit(ctx, pod) }()
		return ch
	}
	get := func(ch chan *framework.Status) *framework.Status {
		select {
		case st := <-ch:
			return st
		case <-time.After(10 * time.Second):
			t.Fatal("WaitOnPermit did not return")
			return nil
		}
	}

	fw := newFW()
	ch := wait(fw, "allowed")
	fw.WaitingPod("uid-allowed").Allow("Gate")
	if st := get(ch); st != nil {
		t.Errorf("allowed: %v", st)
	}

	ch = wait(fw, "rejected")
	fw.WaitingPod("uid-rejected").Reject("Gate", "no room for the gang")
	if st := get(ch); st.Code() != framework.Unschedulable || st.Plugin() != "Gate" || st.Message() != "no room for the gang" {
		t.Errorf("rejected: %v (%s)", st, st.Plugin())
	}

	ch = wait(fw, "late")
	clk.Advance(10 * time.Second)
	if st := get(ch); st.Code() != framework.Unschedulable {
		t.Errorf("timed out: %v", st)
	}

	// Permit rejecting outright.
	p, reg := testProfile(DefaultSchedulerName, nil, &fakePermit{name: "No", code: framework.Unschedulable})
	fw2, err := NewFramework(p, FrameworkOptions{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if st := fw2.RunPermitPlugins(ctx, framework.NewCycleState(), testPod("x"), "n1"); st.Code() != framework.Unschedulable || st.Plugin() != "No" {
		t.Errorf("Permit reject: %v", st)
	}
}

// nominated is a Nominator over a fixed map.
type nominated map[string][]*framework.PodInfo

func (n nominated) NominatedPodsForNode(node string) []*framework.PodInfo { return n[node] }

// roomFilter passes a node with fewer than max pods.
type roomFilter struct{ max int }

func (*roomFilter) Name() string { return "Room" }
func (r *roomFilter) Filter(_ context.Context, _ *framework.CycleState, _ *api.Pod, n *framework.NodeInfo) *framework.Status {
	if len(n.Pods) >= r.max {
		return framework.NewStatus(framework.Unschedulable, "node(s) are full")
	}
	return nil
}

func TestNominatedPodsKeepTheirRoom(t *testing.T) {
	fw := newTestFramework(t, nil, &roomFilter{max: 1})
	high := testPod("high")
	prio := int32(100)
	high.Spec.Priority = &prio
	fw.SetNominator(nominated{"n1": {framework.NewPodInfo(high)}})

	low := testPod("low")
	res := fw.Schedule(context.Background(), framework.NewCycleState(), low, snap(nodes(2)))
	if res.Node != "n2" {
		t.Errorf("a lower-priority pod went to %q, want n2 (n1 is held for high)", res.Node)
	}
	// The nominated pod itself is not counted against itself.
	high.Status.NominatedNodeName = "n1"
	res = fw.Schedule(context.Background(), framework.NewCycleState(), high, snap(nodes(2)))
	if res.Node != "n1" {
		t.Errorf("the nominated pod went to %q, want n1", res.Node)
	}
}
