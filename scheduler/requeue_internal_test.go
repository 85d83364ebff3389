package scheduler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
	"github.com/drover-io/drover/scheduler/plugins/nodeaffinity"
	"github.com/drover-io/drover/scheduler/plugins/noderesources"
	"github.com/drover-io/drover/scheduler/plugins/podtopologyspread"
)

// TestTerminatingPodMovesSpreadRejected: PodTopologySpread does not
// count pods being deleted, so a bound pod's deletionTimestamp being set
// may make room for a pod it rejected. That pod must be retried then,
// not when the deletion ends (a grace period, or finalizers, later) or
// after the unschedulable timeout.
func TestTerminatingPodMovesSpreadRejected(t *testing.T) {
	env := controllertest.New(t)
	s, err := New(Config{Client: env.Client, Clock: fakeclock.New(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bound := testPod("bound")
	bound.Spec.NodeName = "n1"
	s.onPodAdd(bound, false)

	rejected := testPod("rejected")
	s.queue.Add(rejected)
	pi, cycle, err := s.queue.Pop(controllertest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	pi.UnschedulablePlugins = map[string]struct{}{podtopologyspread.Name: {}}
	s.queue.AddUnschedulableIfNotPresent(pi, cycle)
	if where := s.queue.Where(rejected); where != "unschedulable" {
		t.Fatalf("rejected pod is in %q, want unschedulable", where)
	}

	terminating := api.DeepCopy(bound)
	now := api.NewTime(time.Now())
	terminating.DeletionTimestamp = &now
	s.onPodUpdate(bound, terminating)
	if where := s.queue.Where(rejected); where == "unschedulable" {
		t.Errorf("a bound pod began terminating: the pod PodTopologySpread rejected is still unschedulable")
	}
}

// TestPinnedToMissingNode: a pod whose required node affinity pins a node
// by name (as DaemonSet pods do) that is not in the snapshot (deleted, or
// not seen yet) is unschedulable, with a verdict for every node.
func TestPinnedToMissingNode(t *testing.T) {
	fw, err := NewFramework(Profile{SchedulerName: DefaultSchedulerName}, FrameworkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := testPod("pinned")
	p.Spec.Affinity = &api.Affinity{NodeAffinity: &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{
		NodeSelectorTerms: []api.NodeSelectorTerm{{MatchFields: []api.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: api.NodeSelectorOpIn, Values: []string{"gone"}},
		}}},
	}}}
	res := fw.Schedule(context.Background(), framework.NewCycleState(), p, snap(nodes(3)))
	if res.Node != "" || res.Status.Code() != framework.UnschedulableAndUnresolvable {
		t.Fatalf("pod pinned to a missing node: node %q, status %v; want unschedulable and unresolvable", res.Node, res.Status)
	}
	if len(res.Verdicts) != 3 {
		t.Errorf("%d verdicts, want one per node (3): %+v", len(res.Verdicts), res.Verdicts)
	}
}

// namespaceMap is a namespaceGetter over fixed namespaces.
type namespaceMap map[string]*api.Namespace

func (m namespaceMap) Get(_, name string) (*api.Namespace, error) {
	if ns, ok := m[name]; ok {
		return ns, nil
	}
	return nil, api.NewNotFound(api.GroupResource{Resource: "namespaces"}, name)
}

// TestNamespaceSelectorSelectsUnlabelledNamespace: a namespaceSelector
// with env NotIn (prod) selects a known namespace that has no labels at
// all, as it would select one labelled env=dev.
func TestNamespaceSelectorSelectsUnlabelledNamespace(t *testing.T) {
	reg, err := registered(nil)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := newFramework(Profile{SchedulerName: DefaultSchedulerName}, reg, frameworkDeps{
		namespaces: namespaceMap{"plain": {ObjectMeta: api.ObjectMeta{Name: "plain"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ns := nodes(2)
	for i, n := range ns {
		n.Labels = map[string]string{"zone": fmt.Sprintf("z%d", i+1)}
	}
	db := testPod("db")
	db.Namespace, db.Labels, db.Spec.NodeName = "plain", map[string]string{"app": "db"}, "n2"
	web := testPod("web")
	web.Spec.Affinity = &api.Affinity{PodAffinity: &api.PodAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{{
			LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			NamespaceSelector: &api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{
				{Key: "env", Operator: api.LabelSelectorOpNotIn, Values: []string{"prod"}},
			}},
			TopologyKey: "zone",
		}},
	}}
	res := fw.Schedule(context.Background(), framework.NewCycleState(), web, snap(ns, db))
	if res.Node != "n2" {
		t.Errorf("web placed on %q (%v), want n2, in the zone of the db pod of the unlabelled namespace", res.Node, res.Status)
	}
}

// TestPinnedToMissingNodeWaitsForNode: the plugin that narrowed the nodes
// (NodeAffinity, for a pod pinned by matchFields) is the rejecting one,
// so the pod waits in unschedulable for a node event instead of retrying
// in backoff, and a NodeAdd moves it.
func TestPinnedToMissingNodeWaitsForNode(t *testing.T) {
	env := controllertest.New(t)
	s, err := New(Config{Client: env.Client, Clock: fakeclock.New(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fw := s.profiles[DefaultSchedulerName]
	p := pinnedPod("pinned", "gone")
	res := fw.Schedule(context.Background(), framework.NewCycleState(), p, snap(nodes(3)))
	if _, ok := res.UnschedulablePlugins[nodeaffinity.Name]; !ok {
		t.Fatalf("pod pinned to a missing node: UnschedulablePlugins = %v, want %s among them", res.UnschedulablePlugins, nodeaffinity.Name)
	}

	s.queue.Add(p)
	pi, cycle, err := s.queue.Pop(controllertest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	pi.UnschedulablePlugins = res.UnschedulablePlugins
	s.queue.AddUnschedulableIfNotPresent(pi, cycle)
	if where := s.queue.Where(p); where != "unschedulable" {
		t.Fatalf("pinned pod is in %q, want unschedulable (waiting for a node event)", where)
	}
	s.queue.MoveAllToActiveOrBackoff(framework.NodeAdd)
	if where := s.queue.Where(p); where == "unschedulable" {
		t.Errorf("a node was added: the pinned pod is still unschedulable")
	}
}

func pinnedPod(name, nodeName string) *api.Pod {
	p := testPod(name)
	p.Spec.Affinity = &api.Affinity{NodeAffinity: &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{
		NodeSelectorTerms: []api.NodeSelectorTerm{{MatchFields: []api.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: api.NodeSelectorOpIn, Values: []string{nodeName}},
		}}},
	}}}
	return p
}

// TestRebuiltSnapshotRetriesTheCycle: when UpdateSnapshot reports that it
// had to rebuild the snapshot, the snapshot is right: the cycle goes on
// with it instead of failing the pod.
func TestRebuiltSnapshotRetriesTheCycle(t *testing.T) {
	env := controllertest.New(t)
	s, err := New(Config{Client: env.Client, Clock: fakeclock.New(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.cache.AddNode(node("n1", "4"))
	calls := 0
	s.updateSnapshot = func(snap *cache.Snapshot) error {
		calls++
		err := s.cache.UpdateSnapshot(snap)
		if calls == 1 && err == nil {
			err = fmt.Errorf("cache: snapshot had 0 nodes (0 listed), the cache 1: rebuilt it")
		}
		return err
	}
	p := testPod("p")
	s.queue.Add(p)
	pi, cycle, err := s.queue.Pop(controllertest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	s.scheduleOne(controllertest.Context(t), pi, cycle)
	s.wg.Wait() // the binding (which fails: the pod is not in the API)
	e, ok := s.Explain(p.Namespace, p.Name)
	if !ok {
		t.Fatal("the snapshot was rebuilt: the pod failed without a scheduling attempt, want the cycle run on the rebuilt snapshot")
	}
	if e.Feasible != 1 || len(e.Filter) != 1 || e.Filter[0].Node != "n1" || strings.Contains(e.Message, "snapshot") {
		t.Errorf("the cycle on the rebuilt snapshot: %+v, want n1 found feasible", e)
	}
}

// parkFitRejected queues p as unschedulable, rejected by NodeResourcesFit.
func parkFitRejected(t *testing.T, s *Scheduler, p *api.Pod) {
	t.Helper()
	s.queue.Add(p)
	pi, cycle, err := s.queue.Pop(controllertest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	pi.UnschedulablePlugins = map[string]struct{}{noderesources.Name: {}}
	s.queue.AddUnschedulableIfNotPresent(pi, cycle)
	if where := s.queue.Where(p); where != "unschedulable" {
		t.Fatalf("%s is in %q, want unschedulable", p.Name, where)
	}
}

// TestRoomFreedWithoutEventMovesPods: an assumed pod dropped because its
// binding was never seen, or because the pod was deleted before its
// binding was seen, frees room: the pods waiting for room move at once,
// and a deleted one is forgotten at once, not after the TTL.
func TestRoomFreedWithoutEventMovesPods(t *testing.T) {
	setup := func(t *testing.T) (*Scheduler, *fakeclock.Clock) {
		env := controllertest.New(t)
		clk := fakeclock.New(time.Now())
		s, err := New(Config{Client: env.Client, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		s.cache.AddNode(node("n1", "4"))
		return s, clk
	}

	t.Run("expired", func(t *testing.T) {
		s, clk := setup(t)
		expired := testPod("expired")
		expired.Spec.NodeName = "n1"
		if err := s.cache.AssumePod(expired); err != nil {
			t.Fatal(err)
		}
		_ = s.cache.FinishBinding(expired)
		waiting := testPod("waiting")
		parkFitRejected(t, s, waiting)
		clk.Advance(cache.DefaultAssumeTTL + time.Second)
		s.cleanup()
		if s.cache.IsAssumed(expired) {
			t.Fatal("assumed pod past its TTL: still assumed")
		}
		if where := s.queue.Where(waiting); where == "unschedulable" {
			t.Errorf("an assumed pod expired: the pod waiting for room is still unschedulable")
		}
	})

	t.Run("deleted", func(t *testing.T) {
		s, _ := setup(t)
		deleted := testPod("deleted")
		assumed := api.DeepCopy(deleted)
		assumed.Spec.NodeName = "n1"
		if err := s.cache.AssumePod(assumed); err != nil {
			t.Fatal(err)
		}
		waiting := testPod("waiting")
		parkFitRejected(t, s, waiting)
		s.onPodDelete(deleted) // last seen unbound
		if s.cache.IsAssumed(assumed) {
			t.Error("a pod deleted while assumed: still assumed, want it forgotten at once")
		}
		if where := s.queue.Where(waiting); where == "unschedulable" {
			t.Errorf("a pod deleted while assumed: the pod waiting for room is still unschedulable")
		}
	})
}
