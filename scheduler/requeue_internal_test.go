package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler/framework"
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
