package scheduler

import (
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler/internal/queue"
)

// TestNamespaceSelectorEndToEnd: a required pod affinity term whose
// namespaceSelector picks namespaces by label places the pod next to the
// pods of those namespaces only: the plugins' Handle knows the labels of
// namespaces, from the Scheduler's Namespace informer, and a change of a
// namespace's labels retries the pods InterPodAffinity rejected.
func TestNamespaceSelectorEndToEnd(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	for team, labels := range map[string]map[string]string{
		"team-a": {"team": "a", "tier": "data"},
		"team-b": {"team": "b"},
	} {
		ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: team, Labels: labels}}
		if err := env.Client.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	clk := fakeclock.New(time.Now())
	s, err := New(Config{Client: env.Client, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s)
	for _, n := range []*api.Node{node("n1", "4"), node("n2", "4"), node("n3", "4")} {
		n.Labels = map[string]string{"zone": "z-" + n.Name}
		createNode(t, ctx, env.Client, n)
	}
	waitNodes(t, s, 3)

	// A db pod in team-b on n1 and one in team-a on n2.
	for ns, nodeName := range map[string]string{"team-b": "n1", "team-a": "n2"} {
		db := podWithCPU("db", "1")
		db.Namespace, db.Labels, db.Spec.NodeName = ns, map[string]string{"app": "db"}, nodeName
		if err := env.Client.Create(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	web := nearDB("web", "data")
	// The db pods are in the cache before web is created.
	controllertest.Eventually(t, func() bool { return s.cache.PodCount() == 2 })
	if err := env.Client.Create(ctx, web); err != nil {
		t.Fatal(err)
	}
	if p := waitBound(t, ctx, env.Client, "web"); p.Spec.NodeName != "n2" {
		t.Errorf("web bound to %s, want n2 (in the zone of team-a's db)", p.Spec.NodeName)
	}

	// No namespace is tier=cache: cache waits, unschedulable, until
	// team-b's labels change (not for the 5-minute timeout: the clock
	// moves a second at a time, only while cache is in backoff).
	cache := nearDB("cache", "cache")
	if err := env.Client.Create(ctx, cache); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool {
		if s.queue.Where(cache) == "backoff" {
			clk.Advance(time.Second)
		}
		return s.queue.Where(cache) == "unschedulable"
	})
	start := clk.Now()
	var teamB api.Namespace
	if err := env.Client.Get(ctx, "", "team-b", &teamB); err != nil {
		t.Fatal(err)
	}
	teamB.Labels["tier"] = "cache"
	if err := env.Client.Update(ctx, &teamB); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool {
		if s.queue.Where(cache) == "backoff" {
			clk.Advance(time.Second)
		}
		var p api.Pod
		return env.Client.Get(ctx, "default", "cache", &p) == nil && p.Spec.NodeName != ""
	})
	if p := waitBound(t, ctx, env.Client, "cache"); p.Spec.NodeName != "n1" {
		t.Errorf("cache bound to %s, want n1 (in the zone of team-b's db)", p.Spec.NodeName)
	}
	if waited := clk.Now().Sub(start); waited >= queue.DefaultMaxUnschedulableDuration {
		t.Errorf("the fake clock moved %v, past the unschedulable timeout", waited)
	}

	fw := s.profiles[DefaultSchedulerName]
	if got := fw.NamespaceLabels("team-a"); got["team"] != "a" || got["tier"] != "data" {
		t.Errorf("NamespaceLabels(team-a) = %v", got)
	}
	if got := fw.NamespaceLabels("nope"); got != nil {
		t.Errorf("NamespaceLabels of an unknown namespace = %v, want nil", got)
	}
}

// nearDB returns the pod default/name that must run in the zone of a pod
// app=db of a namespace labelled tier.
func nearDB(name, tier string) *api.Pod {
	p := podWithCPU(name, "1")
	p.Spec.Affinity = &api.Affinity{PodAffinity: &api.PodAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{{
			LabelSelector:     &api.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			NamespaceSelector: &api.LabelSelector{MatchLabels: map[string]string{"tier": tier}},
			TopologyKey:       "zone",
		}},
	}}
	return p
}
