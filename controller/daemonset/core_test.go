package daemonset

import (
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

func node(name string, lbls map[string]string, taints ...api.Taint) *api.Node {
	return &api.Node{ObjectMeta: api.ObjectMeta{Name: name, Labels: lbls}, Spec: api.NodeSpec{Taints: taints}}
}

func TestPlace(t *testing.T) {
	now := api.NewTime(epoch)
	affinity := func(reqs ...api.NodeSelectorRequirement) *api.Affinity {
		return &api.Affinity{NodeAffinity: &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{
			NodeSelectorTerms: []api.NodeSelectorTerm{{MatchExpressions: reqs}}}}}
	}
	deleting := node("gone", nil)
	deleting.DeletionTimestamp = &now
	for _, tc := range []struct {
		name      string
		spec      api.PodSpec
		node      *api.Node
		run, stay bool
	}{
		{"plain", api.PodSpec{}, node("n", nil), true, true},
		{"being deleted", api.PodSpec{}, deleting, false, false},
		{"selector matches", api.PodSpec{NodeSelector: map[string]string{"a": "1"}}, node("n", map[string]string{"a": "1"}), true, true},
		{"selector misses", api.PodSpec{NodeSelector: map[string]string{"a": "1"}}, node("n", map[string]string{"a": "2"}), false, false},
		{"affinity Gt", api.PodSpec{Affinity: affinity(api.NodeSelectorRequirement{Key: "cpu", Operator: api.NodeSelectorOpGt, Values: []string{"4"}})},
			node("n", map[string]string{"cpu": "8"}), true, true},
		{"affinity NotIn", api.PodSpec{Affinity: affinity(api.NodeSelectorRequirement{Key: "zone", Operator: api.NodeSelectorOpNotIn, Values: []string{"z1"}})},
			node("n", map[string]string{"zone": "z1"}), false, false},
		{"NoSchedule untolerated", api.PodSpec{}, node("n", nil, api.Taint{Key: "k", Effect: api.TaintEffectNoSchedule}), false, true},
		{"NoExecute untolerated", api.PodSpec{}, node("n", nil, api.Taint{Key: "k", Effect: api.TaintEffectNoExecute}), false, false},
		{"PreferNoSchedule ignored", api.PodSpec{}, node("n", nil, api.Taint{Key: "k", Effect: api.TaintEffectPreferNoSchedule}), true, true},
		{"tolerated by Exists", api.PodSpec{Tolerations: []api.Toleration{{Operator: api.TolerationOpExists}}},
			node("n", nil, api.Taint{Key: "k", Value: "v", Effect: api.TaintEffectNoExecute}), true, true},
		{"standard: unreachable", api.PodSpec{}, node("n", nil, api.Taint{Key: TaintNodeUnreachable, Effect: api.TaintEffectNoExecute}), true, true},
		{"standard: unschedulable", api.PodSpec{}, node("n", nil, api.Taint{Key: TaintNodeUnschedulable, Effect: api.TaintEffectNoSchedule}), true, true},
		{"standard: not for NoExecute memory-pressure", api.PodSpec{}, node("n", nil, api.Taint{Key: TaintNodeMemoryPressure, Effect: api.TaintEffectNoExecute}), false, false},
	} {
		pl := place(&api.PodTemplateSpec{Spec: tc.spec}, tc.node)
		if pl.shouldRun != tc.run || pl.shouldContinue != tc.stay {
			t.Errorf("%s: shouldRun %v, shouldContinue %v; want %v, %v", tc.name, pl.shouldRun, pl.shouldContinue, tc.run, tc.stay)
		}
	}
}

func TestTemplateHashChangesWithTemplateAndCollisions(t *testing.T) {
	a := newDS("x").Spec.Template
	b := *a.DeepCopy()
	b.Spec.Containers[0].Image = "agent:2"
	if TemplateHash(&a, nil) != TemplateHash(a.DeepCopy(), nil) {
		t.Fatal("equal templates hash differently")
	}
	if TemplateHash(&a, nil) == TemplateHash(&b, nil) || TemplateHash(&a, nil) == TemplateHash(&a, new(int32(1))) {
		t.Fatal("a changed template or collision count keeps the hash")
	}
}

// TestDecideFailedPodBackoffExact: a failed pod is deleted at once and
// replaced exactly 1 s, then 2 s, after each failure.
func TestDecideFailedPodBackoffExact(t *testing.T) {
	ds := newDS("d")
	hash := TemplateHash(&ds.Spec.Template, nil)
	failed := newPod(ds, "n1", hash)
	failed.Name, failed.UID, failed.Spec.NodeName = "p", "p-uid", "n1"
	failed.Status.Phase = api.PodFailed
	in := input{ds: ds, nodes: []*api.Node{node("n1", nil)}, pods: []*api.Pod{failed}, hash: hash,
		now: epoch, satisfied: true, backoffBase: time.Second, backoffMax: 15 * time.Minute, burst: 10}
	p := decide(in)
	if len(p.remove) != 1 || len(p.create) != 0 || p.requeue != time.Second || len(p.events) != 1 {
		t.Fatalf("remove %d, create %v, requeue %v, events %d; want 1, none, 1s, 1", len(p.remove), p.create, p.requeue, len(p.events))
	}
	in.pods, in.backoff = nil, p.backoff
	in.now = epoch.Add(999 * time.Millisecond)
	if p = decide(in); len(p.create) != 0 || p.requeue != time.Millisecond {
		t.Fatalf("1ms early: create %v, requeue %v", p.create, p.requeue)
	}
	in.now = epoch.Add(time.Second)
	if p = decide(in); len(p.create) != 1 || p.create[0] != "n1" {
		t.Fatalf("at 1s: create %v, want [n1]", p.create)
	}
	in.pods = []*api.Pod{failed}
	if p = decide(in); p.requeue != 2*time.Second {
		t.Fatalf("second failure: requeue %v, want 2s", p.requeue)
	}
}

// TestDecideRollOutBudget: with 5 nodes and maxUnavailable 2, one of
// them unavailable already, one old pod is deleted, and an unavailable
// old pod always is.
func TestDecideRollOutBudget(t *testing.T) {
	ds := newDS("d")
	ds.Spec.UpdateStrategy = api.DaemonSetUpdateStrategy{Type: api.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &api.RollingUpdateDaemonSet{MaxUnavailable: new(api.FromInt32(2))}}
	readyAt := api.NewTime(epoch.Add(-time.Minute))
	var nodes []*api.Node
	var pods []*api.Pod
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		nodes = append(nodes, node(name, nil))
		p := newPod(ds, name, "old")
		p.Name, p.UID, p.Spec.NodeName = "p-"+name, api.UID("uid-"+name), name
		p.Status.Phase = api.PodRunning
		if i > 0 { // a's old pod is not ready
			p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: readyAt}}
		}
		pods = append(pods, p)
	}
	p := decide(input{ds: ds, nodes: nodes, pods: pods, hash: "new", now: epoch, satisfied: true, burst: 10,
		backoffBase: time.Second, backoffMax: time.Minute})
	var got []string
	for _, r := range p.remove {
		got = append(got, r.Spec.NodeName)
	}
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("removed the pods of %v, want [a b]", got)
	}
	if st := p.status; st.DesiredNumberScheduled != 5 || st.NumberAvailable != 4 || st.UpdatedNumberScheduled != 0 || st.NumberUnavailable != 1 {
		t.Fatalf("status = %+v", st)
	}
}
