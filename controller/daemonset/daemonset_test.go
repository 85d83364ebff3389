package daemonset

import (
	"slices"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

func TestNodesJoinAndLeave(t *testing.T) {
	h := start(t)
	h.addNode("n1", nil)
	ds := newDS("agent")
	h.create(ds)
	h.waitNodes("n1")

	p := h.pods()[0]
	if !p.IsControlledBy(ds.UID) || p.Labels[RevisionHashLabel] != TemplateHash(&ds.Spec.Template, nil) {
		t.Fatalf("pod %s: owners %+v, labels %v", p.Name, p.OwnerReferences, p.Labels)
	}
	if p.Spec.NodeName != "" {
		t.Fatalf("the pod is bound to %q; the scheduler binds it", p.Spec.NodeName)
	}
	terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchFields) != 1 || terms[0].MatchFields[0].Key != "metadata.name" || !slices.Equal(terms[0].MatchFields[0].Values, []string{"n1"}) {
		t.Fatalf("pod affinity terms = %+v", terms)
	}
	for _, key := range []string{TaintNodeNotReady, TaintNodeUnreachable, TaintNodeDiskPressure, TaintNodeMemoryPressure, TaintNodePIDPressure, TaintNodeUnschedulable} {
		if !slices.ContainsFunc(p.Spec.Tolerations, func(tl api.Toleration) bool { return tl.Key == key && tl.Operator == api.TolerationOpExists }) {
			t.Errorf("the pod does not tolerate %s: %+v", key, p.Spec.Tolerations)
		}
	}

	h.addNode("n2", nil)
	h.addNode("n3", nil)
	h.waitNodes("n1", "n2", "n3")
	h.waitStatus("agent", func(st *api.DaemonSetStatus) bool {
		return st.DesiredNumberScheduled == 3 && st.CurrentNumberScheduled == 3 && st.UpdatedNumberScheduled == 3 && st.NumberUnavailable == 3
	})
	controllertest.Eventually(t, func() bool { return h.agent() == 0 })
	h.waitStatus("agent", func(st *api.DaemonSetStatus) bool {
		return st.NumberReady == 3 && st.NumberAvailable == 3 && st.NumberUnavailable == 0
	})

	if err := h.c.Delete(h.ctx, &api.Node{ObjectMeta: api.ObjectMeta{Name: "n2"}}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool {
		h.agent()
		return slices.Equal(h.podNodes(), []string{"n1", "n3"})
	})
	h.waitStatus("agent", func(st *api.DaemonSetStatus) bool {
		return st.DesiredNumberScheduled == 2 && st.CurrentNumberScheduled == 2 && st.NumberMisscheduled == 0
	})
	controllertest.Eventually(t, func() bool {
		r := h.eventReasons()
		return r[ReasonSuccessfulCreate] == 3 && r[ReasonSuccessfulDelete] == 1
	})
}

func TestTaints(t *testing.T) {
	h := start(t)
	gpu := api.Taint{Key: "dedicated", Value: "gpu", Effect: api.TaintEffectNoSchedule}
	h.addNode("plain", nil)
	h.addNode("gpu", nil, gpu)
	h.addNode("notready", nil, api.Taint{Key: TaintNodeNotReady, Effect: api.TaintEffectNoExecute})
	h.addNode("soft", nil, api.Taint{Key: "x", Effect: api.TaintEffectPreferNoSchedule})

	h.create(newDS("plain"))
	tolerant := newDS("tolerant")
	tolerant.Spec.Template.Spec.Tolerations = []api.Toleration{{Key: "dedicated", Operator: api.TolerationOpEqual, Value: "gpu", Effect: api.TaintEffectNoSchedule}}
	h.create(tolerant)

	waitOn := func(ds string, want ...string) {
		t.Helper()
		var got []string
		controllertest.Eventually(t, func() bool {
			got = nil
			for _, p := range h.pods() {
				if p.Labels["app"] == ds && ctrlutil.IsPodActive(p) {
					got = append(got, podNode(p))
				}
			}
			slices.Sort(got)
			return slices.Equal(got, want)
		})
	}
	waitOn("plain", "notready", "plain", "soft")
	waitOn("tolerant", "gpu", "notready", "plain", "soft")
	h.waitStatus("plain", func(st *api.DaemonSetStatus) bool { return st.DesiredNumberScheduled == 3 })

	// A NoSchedule taint added later keeps the running pod there; a
	// NoExecute one evicts it.
	h.updateNode("plain", func(n *api.Node) {
		n.Spec.Taints = []api.Taint{{Key: "maintenance", Effect: api.TaintEffectNoSchedule}}
	})
	h.waitStatus("plain", func(st *api.DaemonSetStatus) bool {
		return st.DesiredNumberScheduled == 2 && st.NumberMisscheduled == 1 && st.CurrentNumberScheduled == 2
	})
	waitOn("plain", "notready", "plain", "soft")
	h.updateNode("plain", func(n *api.Node) {
		n.Spec.Taints = []api.Taint{{Key: "maintenance", Effect: api.TaintEffectNoExecute}}
	})
	waitOn("plain", "notready", "soft")
	waitOn("tolerant", "gpu", "notready", "soft")
	h.waitStatus("plain", func(st *api.DaemonSetStatus) bool {
		return st.DesiredNumberScheduled == 2 && st.NumberMisscheduled == 0
	})
}

func TestNodeSelectorChanges(t *testing.T) {
	h := start(t)
	h.addNode("a", map[string]string{"disk": "ssd"})
	h.addNode("b", map[string]string{"disk": "hdd"})
	h.addNode("c", map[string]string{"disk": "ssd", "zone": "z1"})
	ds := newDS("fast")
	ds.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	h.create(ds)
	h.waitNodes("a", "c")

	// The node's labels change.
	h.updateNode("b", func(n *api.Node) { n.Labels["disk"] = "ssd" })
	h.waitNodes("a", "b", "c")
	h.updateNode("a", func(n *api.Node) { n.Labels["disk"] = "hdd" })
	h.waitNodes("b", "c")

	// The DaemonSet's selector changes: a new template, rolled out.
	h.updateDS("fast", func(ds *api.DaemonSet) {
		ds.Spec.Template.Spec.NodeSelector = nil
		ds.Spec.Template.Spec.Affinity = &api.Affinity{NodeAffinity: &api.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{NodeSelectorTerms: []api.NodeSelectorTerm{{
				MatchExpressions: []api.NodeSelectorRequirement{{Key: "zone", Operator: api.NodeSelectorOpExists}},
			}}},
		}}
	})
	controllertest.Eventually(t, func() bool {
		h.agent()
		return slices.Equal(h.podNodes(), []string{"c"})
	})
	got := h.waitStatus("fast", func(st *api.DaemonSetStatus) bool {
		return st.DesiredNumberScheduled == 1 && st.UpdatedNumberScheduled == 1 && st.NumberMisscheduled == 0
	})
	for _, p := range h.pods() {
		if ctrlutil.IsPodActive(p) && p.Labels[RevisionHashLabel] != TemplateHash(&got.Spec.Template, nil) {
			t.Fatalf("pod %s on %s has the old revision", p.Name, podNode(p))
		}
	}
}

func TestRollingUpdateKeepsMaxUnavailable(t *testing.T) {
	h := start(t)
	nodes := []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7"}
	for _, n := range nodes {
		h.addNode(n, nil)
	}
	ds := newDS("roll")
	ds.Spec.UpdateStrategy = api.DaemonSetUpdateStrategy{
		Type:          api.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &api.RollingUpdateDaemonSet{MaxUnavailable: new(api.FromString("30%"))}, // 3 of 7
	}
	h.create(ds)
	tr := trackUnavailable(t, h, nodes...)
	h.waitNodes(nodes...)
	controllertest.Eventually(t, func() bool { return h.agent() == 0 })
	tr.arm(t)
	h.waitStatus("roll", func(st *api.DaemonSetStatus) bool { return st.NumberAvailable == 7 })

	h.updateDS("roll", func(ds *api.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "agent:2" })
	var want string
	controllertest.Eventually(t, func() bool {
		cur := &api.DaemonSet{}
		if err := h.c.Get(h.ctx, "default", "roll", cur); err != nil {
			t.Fatal(err)
		}
		want = TemplateHash(&cur.Spec.Template, nil)
		return true
	})
	controllertest.Eventually(t, func() bool {
		h.agent()
		n := 0
		for _, p := range h.pods() {
			if ctrlutil.IsPodReady(p) && p.DeletionTimestamp == nil && p.Labels[RevisionHashLabel] == want {
				n++
			}
		}
		return n == 7 && len(h.pods()) == 7
	})
	h.waitStatus("roll", func(st *api.DaemonSetStatus) bool {
		return st.UpdatedNumberScheduled == 7 && st.NumberAvailable == 7 && st.NumberUnavailable == 0
	})
	p, _ := tr.max()
	if p > 3 || p < 1 {
		t.Fatalf("at most %d nodes were unavailable during the rollout; want 1..3 (maxUnavailable 30%% of 7)", p)
	}
	t.Logf("peak unavailable nodes: %d of maxUnavailable 3", p)
}

func TestRollingUpdateWithSurge(t *testing.T) {
	h := start(t)
	nodes := []string{"n1", "n2", "n3", "n4"}
	for _, n := range nodes {
		h.addNode(n, nil)
	}
	ds := newDS("surge")
	ds.Spec.UpdateStrategy = api.DaemonSetUpdateStrategy{
		Type: api.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &api.RollingUpdateDaemonSet{
			MaxUnavailable: new(api.FromInt32(0)), MaxSurge: new(api.FromInt32(1)),
		},
	}
	h.create(ds)
	tr := trackUnavailable(t, h, nodes...)
	h.waitNodes(nodes...)
	controllertest.Eventually(t, func() bool { return h.agent() == 0 })
	tr.arm(t)
	// The controller must have seen every old pod available: one it still
	// thinks unready would rightly be replaced at once.
	h.waitStatus("surge", func(st *api.DaemonSetStatus) bool { return st.NumberAvailable == 4 })

	h.updateDS("surge", func(ds *api.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "agent:2" })
	controllertest.Eventually(t, func() bool {
		h.agent()
		pods := h.pods()
		for _, p := range pods {
			if p.Spec.Containers[0].Image != "agent:2" || !ctrlutil.IsPodReady(p) {
				return false
			}
		}
		return len(pods) == 4
	})
	h.waitStatus("surge", func(st *api.DaemonSetStatus) bool { return st.UpdatedNumberScheduled == 4 && st.NumberAvailable == 4 })
	unavailable, pods := tr.max()
	if unavailable != 0 || pods != 5 {
		t.Fatalf("during the rollout: %d nodes unavailable (want 0) and at most %d pods (want 4+1 surge)", unavailable, pods)
	}
}

func TestRollingUpdateWaitsForMinReadySeconds(t *testing.T) {
	h := start(t)
	h.addNode("n1", nil)
	h.addNode("n2", nil)
	ds := newDS("slow")
	ds.Spec.MinReadySeconds = 10
	h.create(ds)
	h.waitNodes("n1", "n2")
	controllertest.Eventually(t, func() bool { return h.agent() == 0 })
	h.waitStatus("slow", func(st *api.DaemonSetStatus) bool { return st.NumberReady == 2 })
	controllertest.Eventually(t, func() bool { return h.rc.wakesBy(epoch, epoch.Add(10*time.Second)) })
	h.advanceUntil(10*time.Second, func() bool {
		return h.statusIs("slow", func(st *api.DaemonSetStatus) bool { return st.NumberAvailable == 2 })
	})

	h.updateDS("slow", func(ds *api.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "agent:2" })
	// One node at a time: the first new pod becomes ready, and the second
	// old pod stays until it has been ready 10 s.
	var first *api.Pod
	controllertest.Eventually(t, func() bool {
		h.agent()
		for _, p := range h.pods() {
			if p.Spec.Containers[0].Image == "agent:2" && ctrlutil.IsPodReady(p) {
				first = p
			}
		}
		return first != nil
	})
	readyAt := h.clk.Now()
	h.waitStatus("slow", func(st *api.DaemonSetStatus) bool { return st.UpdatedNumberScheduled == 1 && st.NumberReady == 2 })
	controllertest.Eventually(t, func() bool { return h.rc.wakesBy(readyAt, readyAt.Add(10*time.Second)) })
	old := 0
	for _, p := range h.pods() {
		if p.Spec.Containers[0].Image == "agent:1" && p.DeletionTimestamp == nil {
			old++
		}
	}
	if old != 1 {
		t.Fatalf("%d old pods before the new one is available, want 1", old)
	}
	h.advanceUntil(10*time.Second, func() bool {
		h.agent()
		for _, p := range h.pods() {
			if p.Spec.Containers[0].Image == "agent:1" {
				return false
			}
		}
		return len(h.pods()) == 2
	})
}

func TestOnDelete(t *testing.T) {
	h := start(t)
	h.addNode("n1", nil)
	h.addNode("n2", nil)
	ds := newDS("manual")
	ds.Spec.UpdateStrategy = api.DaemonSetUpdateStrategy{Type: api.OnDeleteDaemonSetStrategyType}
	h.create(ds)
	h.waitNodes("n1", "n2")
	controllertest.Eventually(t, func() bool { return h.agent() == 0 })
	before := h.pods()

	h.updateDS("manual", func(ds *api.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "agent:2" })
	h.waitStatus("manual", func(st *api.DaemonSetStatus) bool {
		return st.UpdatedNumberScheduled == 0 && st.CurrentNumberScheduled == 2 && st.NumberAvailable == 2
	})
	if after := h.pods(); len(after) != 2 || after[0].UID != before[0].UID || after[1].UID != before[1].UID {
		t.Fatal("OnDelete replaced pods nobody deleted")
	}
	victim := before[0]
	if err := h.c.Delete(h.ctx, victim); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool {
		h.agent()
		for _, p := range h.pods() {
			if podNode(p) == podNode(victim) && p.UID != victim.UID && p.Spec.Containers[0].Image == "agent:2" {
				return true
			}
		}
		return false
	})
	controllertest.Eventually(t, func() bool { return h.agent() == 0 })
	h.waitStatus("manual", func(st *api.DaemonSetStatus) bool { return st.UpdatedNumberScheduled == 1 && st.NumberAvailable == 2 })
}

func TestFailedPodReplacedWithBackoff(t *testing.T) {
	h := start(t)
	h.addNode("n1", nil)
	h.create(newDS("crashy"))
	h.waitNodes("n1")
	controllertest.Eventually(t, func() bool { return h.agent() == 0 })

	for i, delay := range []time.Duration{time.Second, 2 * time.Second} {
		var failed *api.Pod
		for _, p := range h.pods() {
			if ctrlutil.IsPodActive(p) {
				failed = p
			}
		}
		failedAt := h.clk.Now()
		h.setStatus(failed.Name, func(p *api.Pod) { p.Status.Phase = api.PodFailed })
		controllertest.Eventually(t, func() bool {
			h.agent()
			return len(h.pods()) == 0
		})
		controllertest.Eventually(t, func() bool { return h.rc.wakesBy(failedAt, failedAt.Add(delay)) })
		if n := len(h.pods()); n != 0 {
			t.Fatalf("failure %d: replaced before the backoff", i+1)
		}
		h.advanceUntil(delay, func() bool { return slices.Equal(h.podNodes(), []string{"n1"}) })
		controllertest.Eventually(t, func() bool { return h.agent() == 0 })
	}
	controllertest.Eventually(t, func() bool { return h.eventReasons()[ReasonFailedDaemonPod] == 2 })
}
