package deployment

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

func intOrStr(s string) *api.IntOrString {
	if strings.HasSuffix(s, "%") {
		v := api.FromString(s)
		return &v
	}
	var n int32
	fmt.Sscan(s, &n)
	v := api.FromInt32(n)
	return &v
}

// TestRollingUpdate rolls a new image out step by step and checks, after
// every write of the controller and every move of the ReplicaSets and
// pods, that there are never more than replicas+maxSurge pods wanted or
// running and never fewer than replicas-maxUnavailable available.
func TestRollingUpdate(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		replicas               int32
		surge, unavailable     string
		wantSurge, wantUnavail int32
		perStep                int32
	}{
		{"ints", 10, "3", "2", 3, 2, 1},
		{"percentages", 10, "25%", "25%", 3, 2, 2},
		{"percentages round", 5, "30%", "30%", 2, 1, 1},
		{"no surge", 4, "0", "1", 0, 1, 1},
		{"no unavailability", 4, "1", "0", 1, 0, 1},
		{"all at once", 3, "100%", "0", 3, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			d := newDeployment("web", tc.replicas, "web:1")
			d.Spec.Strategy.RollingUpdate = &api.RollingUpdateDeployment{MaxSurge: intOrStr(tc.surge), MaxUnavailable: intOrStr(tc.unavailable)}
			d = h.create(d)
			surge, unavail, err := Bounds(d)
			if err != nil || surge != tc.wantSurge || unavail != tc.wantUnavail {
				t.Fatalf("Bounds = %d, %d, %v; want %d, %d", surge, unavail, err, tc.wantSurge, tc.wantUnavail)
			}
			// The first rollout only needs the surge bound.
			h.rollOut("web", -1, func(string) { h.checkSurge("web", tc.replicas+tc.wantSurge) })
			first := h.newRS("web")
			hash := TemplateHash(&d.Spec.Template, nil)
			if first.Name != "web-"+hash || first.Spec.Selector.MatchLabels[PodTemplateHashLabel] != hash ||
				first.Spec.Template.Labels[PodTemplateHashLabel] != hash || first.Labels[PodTemplateHashLabel] != hash {
				t.Fatalf("ReplicaSet %s: want name web-%s and the label %s=%s on it, its selector and template", first.Name, hash, PodTemplateHashLabel, hash)
			}
			if !h.events.has(fmt.Sprintf("ScalingReplicaSet: Scaled up replica set %s from 0 to %d", first.Name, min(tc.replicas, tc.replicas+tc.wantSurge))) {
				t.Errorf("no ScalingReplicaSet event for %s; events: %q", first.Name, h.events.msgs)
			}

			h.update("web", setImage("web:2"))
			steps := h.rollOut("web", tc.perStep, func(after string) {
				h.checkSurge("web", tc.replicas+tc.wantSurge)
				h.checkAvailable("web", tc.replicas-tc.wantUnavail, after)
			})
			rss := h.replicaSets("web")
			if got := sizes(rss); !slices.Equal(got, []int32{0, tc.replicas}) {
				t.Fatalf("ReplicaSet sizes after the rollout = %v; want [0 %d]", got, tc.replicas)
			}
			got := h.get("web")
			if rev := got.Annotations[RevisionAnnotation]; rev != "2" || rss[1].Annotations[RevisionAnnotation] != "2" {
				t.Errorf("revision = %q on the Deployment, %q on the new ReplicaSet; want 2", rev, rss[1].Annotations[RevisionAnnotation])
			}
			if a := rss[1].Annotations; a[DesiredReplicasAnnotation] != fmt.Sprint(tc.replicas) || a[MaxReplicasAnnotation] != fmt.Sprint(tc.replicas+tc.wantSurge) {
				t.Errorf("new ReplicaSet annotations = %v", a)
			}
			st := got.Status
			if st.Replicas != tc.replicas || st.UpdatedReplicas != tc.replicas || st.ReadyReplicas != tc.replicas ||
				st.AvailableReplicas != tc.replicas || st.UnavailableReplicas != 0 || st.ObservedGeneration != got.Generation {
				t.Errorf("status = %+v", st)
			}
			if c := Condition(got, api.DeploymentAvailable); c == nil || c.Status != api.ConditionTrue || c.Reason != ReasonMinimumReplicasAvailable {
				t.Errorf("Available = %+v", c)
			}
			t.Logf("%d replicas, maxSurge %d, maxUnavailable %d: rolled out in %d steps", tc.replicas, tc.wantSurge, tc.wantUnavail, steps)
		})
	}
}

// checkSurge fails if name's ReplicaSets want or have more than max pods.
func (h *harness) checkSurge(name string, max int32) {
	h.t.Helper()
	var wanted, running int32
	for _, rs := range h.replicaSets(name) {
		wanted += specReplicas(rs)
		running += rs.Status.Replicas
	}
	if wanted > max || running > max {
		h.t.Fatalf("%d pods wanted, %d running; at most %d allowed: %v", wanted, running, max, sizes(h.replicaSets(name)))
	}
}

// checkWanted fails if name's ReplicaSets want more than max pods.
func (h *harness) checkWanted(name string, max int32) {
	h.t.Helper()
	if got := sizes(h.replicaSets(name)); sumOf(got) > max {
		h.t.Fatalf("%d pods wanted; at most %d allowed: %v", sumOf(got), max, got)
	}
}

func sumOf(ns []int32) int32 {
	var s int32
	for _, n := range ns {
		s += n
	}
	return s
}

// checkAvailable fails if fewer than min of name's pods are available.
func (h *harness) checkAvailable(name string, min int32, after string) {
	h.t.Helper()
	var avail int32
	for _, rs := range h.replicaSets(name) {
		avail += rs.Status.AvailableReplicas
	}
	if avail < min {
		h.t.Fatalf("after %s: %d pods available; at least %d required: %v", after, avail, min, sizes(h.replicaSets(name)))
	}
}

func TestRestartIsANewRollout(t *testing.T) {
	h := newHarness(t)
	h.create(newDeployment("web", 2, "web:1"))
	h.rollOut("web", -1, nil)
	before := h.newRS("web").Name
	h.update("web", func(d *api.Deployment) {
		d.Spec.Template.Annotations = map[string]string{RestartedAtAnnotation: epoch.Format(time.RFC3339)}
	})
	h.rollOut("web", -1, nil)
	after := h.newRS("web")
	if after.Name == before || after.Annotations[RevisionAnnotation] != "2" {
		t.Fatalf("after a restart the new ReplicaSet is %s (revision %s); want another than %s, revision 2", after.Name, after.Annotations[RevisionAnnotation], before)
	}
}

func TestRecreate(t *testing.T) {
	h := newHarness(t)
	d := newDeployment("db", 3, "db:1")
	d.Spec.Strategy.Type = api.RecreateDeploymentStrategyType
	h.create(d)
	h.rollOut("db", -1, nil)
	old := h.newRS("db")
	// One of its pods takes its time to terminate (a finalizer holds it).
	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "db-old-pod", Labels: old.Spec.Template.Labels,
			Finalizers: []string{"example.com/hold"}, OwnerReferences: []api.OwnerReference{api.NewControllerRef(old, api.AppsV1.WithKind("ReplicaSet"))}},
		Spec: old.Spec.Template.Spec,
	}
	if err := h.env.Client.Create(h.ctx, pod); err != nil {
		t.Fatal(err)
	}
	if err := client.Resource[api.Pod](h.env.Client).Delete(h.ctx, "default", "db-old-pod"); err != nil {
		t.Fatal(err)
	}

	h.update("db", setImage("db:2"))
	h.settle("db", nil)
	if rss := h.replicaSets("db"); len(rss) != 1 || specReplicas(rss[0]) != 0 {
		t.Fatalf("after the first step: ReplicaSets %v; want the old one alone, scaled to 0", sizes(rss))
	}
	// Its pods are still terminating: its status still counts them.
	h.settle("db", nil)
	if rss := h.replicaSets("db"); len(rss) != 1 {
		t.Fatalf("a new ReplicaSet was made while old pods run: %d ReplicaSets", len(rss))
	}
	h.rsController() // the old ReplicaSet has no pods left...
	h.settle("db", nil)
	if rss := h.replicaSets("db"); len(rss) != 1 {
		t.Fatalf("a new ReplicaSet was made while an old pod terminates: %d ReplicaSets", len(rss))
	}
	// ...but one of them is still terminating.
	pods := client.Resource[api.Pod](h.env.Client)
	p, err := pods.Get(h.ctx, "default", "db-old-pod")
	if err != nil {
		t.Fatal(err)
	}
	p.Finalizers = nil
	if _, err := pods.Update(h.ctx, p); err != nil {
		t.Fatal(err)
	}
	h.settle("db", nil)
	rss := h.replicaSets("db")
	if got := sizes(rss); !slices.Equal(got, []int32{0, 3}) || rss[0].Name != old.Name {
		t.Fatalf("ReplicaSets %v; want the old one at 0 and a new one at 3", got)
	}
	h.rollOut("db", -1, func(string) { h.checkSurge("db", 3) })
	if !h.events.has(fmt.Sprintf("ScalingReplicaSet: Scaled down replica set %s from 3 to 0", old.Name)) {
		t.Errorf("no scale-down event; events: %q", h.events.msgs)
	}
}

func TestRollback(t *testing.T) {
	h := newHarness(t)
	h.create(newDeployment("web", 2, "web:1"))
	for _, img := range []string{"web:1", "web:2", "web:3"} {
		h.update("web", setImage(img))
		h.rollOut("web", -1, nil)
	}
	byImage := func() map[string]string {
		m := map[string]string{}
		for _, rs := range h.replicaSets("web") {
			m[rs.Spec.Template.Spec.Containers[0].Image] = rs.Annotations[RevisionAnnotation]
		}
		return m
	}
	if got := byImage(); got["web:1"] != "1" || got["web:2"] != "2" || got["web:3"] != "3" {
		t.Fatalf("revisions by image = %v", got)
	}

	if err := Rollback(h.ctx, h.env.Client, "default", "web", 0); err != nil {
		t.Fatal(err)
	}
	h.reconcile("web")
	if c := Condition(h.get("web"), api.DeploymentProgressing); c.Reason != ReasonFoundNewReplicaSet {
		t.Errorf("Progressing after the undo = %+v; want FoundNewReplicaSet", c)
	}
	h.rollOut("web", -1, nil)
	if got := byImage(); len(got) != 3 || got["web:2"] != "4" {
		t.Fatalf("after undo: revisions by image = %v; want web:2 at revision 4 and no new ReplicaSet", got)
	}
	if d := h.get("web"); d.Annotations[RevisionAnnotation] != "4" || d.Spec.Template.Spec.Containers[0].Image != "web:2" {
		t.Fatalf("Deployment after undo: revision %s, image %s", d.Annotations[RevisionAnnotation], d.Spec.Template.Spec.Containers[0].Image)
	}

	if err := Rollback(h.ctx, h.env.Client, "default", "web", 1); err != nil {
		t.Fatal(err)
	}
	h.rollOut("web", -1, nil)
	if got := byImage(); len(got) != 3 || got["web:1"] != "5" {
		t.Fatalf("after undo to revision 1: revisions by image = %v; want web:1 at revision 5", got)
	}
	if err := Rollback(h.ctx, h.env.Client, "default", "web", 1); !errors.Is(err, ErrRevisionNotFound) {
		t.Fatalf("Rollback to a revision that was renumbered: %v; want ErrRevisionNotFound", err)
	}
	if err := Rollback(h.ctx, h.env.Client, "default", "web", 0); err != nil {
		t.Fatal(err)
	}
	if img := h.get("web").Spec.Template.Spec.Containers[0].Image; img != "web:2" {
		t.Fatalf("undo from revision 5 gave image %s; want web:2 (revision 4)", img)
	}
}

func TestPauseAndResume(t *testing.T) {
	h := newHarness(t)
	h.create(newDeployment("web", 3, "web:1"))
	h.rollOut("web", -1, nil)
	h.update("web", func(d *api.Deployment) { d.Spec.Paused = true })
	h.update("web", setImage("web:2"))
	h.settle("web", nil)
	if rss := h.replicaSets("web"); len(rss) != 1 {
		t.Fatalf("a paused Deployment rolled out: %d ReplicaSets", len(rss))
	}
	d := h.get("web")
	if c := Condition(d, api.DeploymentProgressing); c == nil || c.Reason != ReasonDeploymentPaused || c.Status != api.ConditionUnknown {
		t.Fatalf("Progressing = %+v; want Unknown DeploymentPaused", c)
	}
	// Scaling still applies.
	h.update("web", func(d *api.Deployment) { d.Spec.Replicas = new(int32(5)) })
	h.settle("web", nil)
	if got := sizes(h.replicaSets("web")); !slices.Equal(got, []int32{5}) {
		t.Fatalf("paused and scaled to 5: ReplicaSets %v", got)
	}
	// No deadline while paused.
	h.clk.Advance(time.Hour)
	h.settle("web", nil)
	if c := Condition(h.get("web"), api.DeploymentProgressing); c.Reason != ReasonDeploymentPaused {
		t.Fatalf("Progressing = %+v; want DeploymentPaused", c)
	}

	h.update("web", func(d *api.Deployment) { d.Spec.Paused = false })
	h.rollOut("web", -1, nil)
	rss := h.replicaSets("web")
	if got := sizes(rss); !slices.Equal(got, []int32{0, 5}) || rss[1].Spec.Template.Spec.Containers[0].Image != "web:2" {
		t.Fatalf("resumed: ReplicaSets %v", got)
	}
}

func TestProgressDeadline(t *testing.T) {
	h := newHarness(t)
	d := newDeployment("web", 2, "web:1")
	d.Spec.ProgressDeadlineSeconds = new(int32(30))
	h.create(d)
	res := h.settle("web", nil)
	c := Condition(h.get("web"), api.DeploymentProgressing)
	if c == nil || c.Status != api.ConditionTrue || c.Reason != ReasonNewReplicaSetCreated {
		t.Fatalf("Progressing = %+v; want True NewReplicaSetCreated", c)
	}
	if res.RequeueAfter < 30*time.Second || res.RequeueAfter > 32*time.Second {
		t.Fatalf("RequeueAfter = %v; want the deadline, 30s away", res.RequeueAfter)
	}
	// Progress (one pod comes up) moves the deadline.
	h.clk.Advance(20 * time.Second)
	h.rsController()
	h.podsReady(1)
	h.settle("web", nil)
	if c := Condition(h.get("web"), api.DeploymentProgressing); c.Reason != ReasonReplicaSetUpdated {
		t.Fatalf("Progressing = %+v; want ReplicaSetUpdated", c)
	}
	h.clk.Advance(20 * time.Second)
	h.settle("web", nil)
	if c := Condition(h.get("web"), api.DeploymentProgressing); c.Status != api.ConditionTrue {
		t.Fatalf("timed out early: %+v", c)
	}
	h.clk.Advance(11 * time.Second)
	h.settle("web", nil)
	got := h.get("web")
	c = Condition(got, api.DeploymentProgressing)
	if c.Status != api.ConditionFalse || c.Reason != ReasonProgressDeadlineExceeded {
		t.Fatalf("Progressing = %+v; want False ProgressDeadlineExceeded", c)
	}
	if a := Condition(got, api.DeploymentAvailable); a.Status != api.ConditionFalse || a.Reason != ReasonMinimumReplicasUnavailable {
		t.Errorf("Available = %+v", a)
	}
	// The pods come up after all: the rollout completes.
	h.rollOut("web", -1, nil)
}

func TestProportionalScaling(t *testing.T) {
	h := newHarness(t)
	d := newDeployment("web", 10, "web:1")
	d.Spec.Strategy.RollingUpdate = &api.RollingUpdateDeployment{MaxSurge: intOrStr("3"), MaxUnavailable: intOrStr("2")}
	h.create(d)
	h.rollOut("web", -1, nil)
	h.update("web", setImage("web:2"))
	h.settle("web", nil)
	if got := sizes(h.replicaSets("web")); !slices.Equal(got, []int32{8, 5}) {
		t.Fatalf("mid-rollout sizes %v; want [8 5]", got)
	}
	// 10 -> 20: 23 allowed, 10 to add; 8/13 of it (6) to the old, 5/13 (3)
	// to the new, the remaining 1 to the largest, the old.
	h.update("web", func(d *api.Deployment) { d.Spec.Replicas = new(int32(20)) })
	h.reconcile("web")
	if got := sizes(h.replicaSets("web")); !slices.Equal(got, []int32{15, 8}) {
		t.Fatalf("scaled to 20 mid-rollout: sizes %v; want [15 8]", got)
	}
	for _, rs := range h.replicaSets("web") {
		if rs.Annotations[DesiredReplicasAnnotation] != "20" || rs.Annotations[MaxReplicasAnnotation] != "23" {
			t.Errorf("ReplicaSet %s annotations %v; want desired 20, max 23", rs.Name, rs.Annotations)
		}
	}
	// And down to 5: 8 allowed, 15 to remove.
	h.update("web", func(d *api.Deployment) { d.Spec.Replicas = new(int32(5)) })
	h.reconcile("web")
	if got := sizes(h.replicaSets("web")); !slices.Equal(got, []int32{5, 3}) {
		t.Fatalf("scaled to 5 mid-rollout: sizes %v; want [5 3]", got)
	}
	h.rollOut("web", -1, func(string) { h.checkWanted("web", 8) })
	if got := sizes(h.replicaSets("web")); !slices.Equal(got, []int32{0, 5}) {
		t.Fatalf("after the rollout: sizes %v", got)
	}
}

func TestRevisionHistoryLimit(t *testing.T) {
	h := newHarness(t)
	d := newDeployment("web", 1, "web:0")
	d.Spec.RevisionHistoryLimit = new(int32(2))
	h.create(d)
	h.rollOut("web", -1, nil)
	for i := 1; i <= 5; i++ {
		h.update("web", setImage(fmt.Sprintf("web:%d", i)))
		h.rollOut("web", -1, nil)
		h.rsController()
		h.settle("web", nil)
	}
	var revs []string
	for _, rs := range h.replicaSets("web") {
		revs = append(revs, rs.Annotations[RevisionAnnotation])
	}
	if !slices.Equal(revs, []string{"4", "5", "6"}) {
		t.Fatalf("revisions kept = %v; want [4 5 6] (2 old ones and the current)", revs)
	}
}

func TestAdoptsMatchingOrphan(t *testing.T) {
	h := newHarness(t)
	d := newDeployment("web", 2, "web:1")
	hash := TemplateHash(&d.Spec.Template, nil)
	orphan := &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-by-hand", Labels: map[string]string{"app": "web", PodTemplateHashLabel: hash}},
		Spec: api.ReplicaSetSpec{
			Replicas: new(int32(2)),
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": "web", PodTemplateHashLabel: hash}},
			Template: *d.Spec.Template.DeepCopy(),
		},
	}
	orphan.Spec.Template.Labels = map[string]string{"app": "web", PodTemplateHashLabel: hash}
	orphan, err := client.Resource[api.ReplicaSet](h.env.Client).Create(h.ctx, orphan)
	if err != nil {
		t.Fatal(err)
	}
	h.rsController()
	h.podsReady(-1)
	d = h.create(d)
	h.settle("web", nil)
	rss := h.replicaSets("web")
	if len(rss) != 1 || rss[0].UID != orphan.UID || rss[0].Annotations[RevisionAnnotation] != "1" {
		t.Fatalf("ReplicaSets of the Deployment: %d; want the orphan adopted as revision 1", len(rss))
	}
	if !isComplete(h.get("web")) {
		t.Fatalf("status = %+v; want complete", h.get("web").Status)
	}
}

func TestNameCollision(t *testing.T) {
	h := newHarness(t)
	d := newDeployment("web", 1, "web:1")
	// Someone else's ReplicaSet has the name, and other labels.
	other := newDeployment("other", 1, "other:1")
	squatter := &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Namespace: "default"},
		Spec:       api.ReplicaSetSpec{Replicas: new(int32(0)), Selector: other.Spec.Selector, Template: other.Spec.Template},
	}
	d = h.create(d)
	hash := TemplateHash(&d.Spec.Template, nil)
	squatter.Name = "web-" + hash
	if _, err := client.Resource[api.ReplicaSet](h.env.Client).Create(h.ctx, squatter); err != nil {
		t.Fatal(err)
	}
	h.rollOut("web", -1, nil)
	got := h.get("web")
	if got.Status.CollisionCount == nil || *got.Status.CollisionCount != 1 {
		t.Fatalf("collisionCount = %v; want 1", got.Status.CollisionCount)
	}
	if rs := h.newRS("web"); rs.Name != "web-"+TemplateHash(&d.Spec.Template, new(int32(1))) {
		t.Fatalf("new ReplicaSet %s; want the name of the hash with collision count 1", rs.Name)
	}
}

// TestStaleReplicaSetIsNotPatched: a ReplicaSet read from a cache that is
// behind is not scaled; the Conflict makes the controller read again.
func TestStaleReplicaSetIsNotPatched(t *testing.T) {
	h := newHarness(t)
	h.create(newDeployment("web", 2, "web:1"))
	h.rollOut("web", -1, nil)
	stale := h.newRS("web")
	h.rsController() // any write: a new resourceVersion
	rsc := client.Resource[api.ReplicaSet](h.env.Client)
	fresh, err := rsc.Get(h.ctx, "default", stale.Name)
	if err != nil {
		t.Fatal(err)
	}
	fresh.Labels["touched"] = "yes"
	if _, err := rsc.Update(h.ctx, fresh); err != nil {
		t.Fatal(err)
	}
	s := &rollout{r: h.r, d: h.get("web")}
	if _, err := s.scale(h.ctx, stale, 5); !api.IsConflict(err) {
		t.Fatalf("scale with a stale ReplicaSet: %v; want a Conflict", err)
	}
	if got := h.newRS("web"); specReplicas(got) != 2 {
		t.Fatalf("the stale write went through: %d replicas", specReplicas(got))
	}
}

// TestSwitchToRecreateMidRollout: a Deployment scaled and switched to
// Recreate in the middle of a rolling update is not stuck.
func TestSwitchToRecreateMidRollout(t *testing.T) {
	h := newHarness(t)
	d := newDeployment("web", 10, "web:1")
	d.Spec.Strategy.RollingUpdate = &api.RollingUpdateDeployment{MaxSurge: intOrStr("3"), MaxUnavailable: intOrStr("2")}
	h.create(d)
	h.rollOut("web", -1, nil)
	h.update("web", setImage("web:2"))
	h.settle("web", nil)
	h.update("web", func(d *api.Deployment) {
		d.Spec.Replicas = new(int32(12))
		d.Spec.Strategy = api.DeploymentStrategy{Type: api.RecreateDeploymentStrategyType}
	})
	h.rollOut("web", -1, func(string) { h.checkWanted("web", 13) })
	if got := sizes(h.replicaSets("web")); !slices.Equal(got, []int32{0, 12}) {
		t.Fatalf("sizes %v; want [0 12]", got)
	}
}
