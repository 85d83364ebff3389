package deployment

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		replicas               int32
		strategy               api.DeploymentStrategy
		wantSurge, wantUnavail int32
	}{
		{10, api.DeploymentStrategy{}, 3, 2}, // 25% each: 2.5 up, 2.5 down
		{1, api.DeploymentStrategy{}, 1, 0},
		{3, api.DeploymentStrategy{RollingUpdate: &api.RollingUpdateDeployment{MaxSurge: intOrStr("0"), MaxUnavailable: intOrStr("10%")}}, 0, 1}, // both 0: 1 unavailable
		{4, api.DeploymentStrategy{RollingUpdate: &api.RollingUpdateDeployment{MaxSurge: intOrStr("50%"), MaxUnavailable: intOrStr("9")}}, 2, 4}, // at most the replicas
		{4, api.DeploymentStrategy{Type: api.RecreateDeploymentStrategyType}, 0, 0},
	} {
		d := newDeployment("d", tc.replicas, "x")
		d.Spec.Strategy = tc.strategy
		s, u, err := Bounds(d)
		if err != nil || s != tc.wantSurge || u != tc.wantUnavail {
			t.Errorf("Bounds(%d replicas, %+v) = %d, %d, %v; want %d, %d", tc.replicas, tc.strategy.RollingUpdate, s, u, err, tc.wantSurge, tc.wantUnavail)
		}
	}
	d := newDeployment("d", 3, "x")
	d.Spec.Strategy.RollingUpdate = &api.RollingUpdateDeployment{MaxSurge: intOrStr("lots%")}
	if _, _, err := Bounds(d); err == nil || !strings.Contains(err.Error(), "maxSurge") {
		t.Errorf("Bounds with maxSurge lots%%: %v; want an error naming maxSurge", err)
	}
}

func TestTemplateHash(t *testing.T) {
	a := newDeployment("d", 1, "x:1").Spec.Template
	b := newDeployment("d", 1, "x:2").Spec.Template
	ha := TemplateHash(&a, nil)
	if ha != TemplateHash(a.DeepCopy(), nil) {
		t.Fatal("the hash of a template is not stable")
	}
	if ha == TemplateHash(&b, nil) || ha == TemplateHash(&a, new(int32(1))) || TemplateHash(&a, new(int32(1))) == TemplateHash(&a, new(int32(2))) {
		t.Fatal("different templates or collision counts give the same hash")
	}
	for _, c := range ha {
		if !strings.ContainsRune(safeAlphabet, c) {
			t.Fatalf("hash %q has %q, outside the safe alphabet", ha, c)
		}
	}
	withHash := a.DeepCopy()
	withHash.Labels = withLabel(withHash.Labels, PodTemplateHashLabel, ha)
	if !equalIgnoringHash(withHash, &a) || equalIgnoringHash(&a, &b) {
		t.Fatal("equalIgnoringHash is wrong")
	}
}

func rs(name string, spec, available int32, revision string, age time.Duration) *api.ReplicaSet {
	r := &api.ReplicaSet{ObjectMeta: api.ObjectMeta{Name: name, CreationTimestamp: api.NewTime(epoch.Add(-age)),
		Annotations: map[string]string{RevisionAnnotation: revision}}}
	r.Spec.Replicas = &spec
	r.Status.Replicas, r.Status.AvailableReplicas = spec, available
	return r
}

func targets(ts []scaleTarget) map[string]int32 {
	m := map[string]int32{}
	for _, t := range ts {
		m[t.rs.Name] = t.replicas
	}
	return m
}

func TestProportionalScale(t *testing.T) {
	for _, tc := range []struct {
		name    string
		active  []*api.ReplicaSet
		allowed int32
		want    map[string]int32
	}{
		{"up, remainder to the largest", []*api.ReplicaSet{rs("old", 8, 8, "1", time.Hour), rs("new", 5, 0, "2", 0)}, 23, map[string]int32{"old": 15, "new": 8}},
		{"down", []*api.ReplicaSet{rs("old", 15, 8, "1", time.Hour), rs("new", 8, 0, "2", 0)}, 8, map[string]int32{"old": 5, "new": 3}},
		{"equal sizes: the newest takes the remainder", []*api.ReplicaSet{rs("a", 2, 2, "1", time.Hour), rs("b", 2, 0, "2", 0)}, 5, map[string]int32{"a": 2, "b": 3}},
		{"three ways", []*api.ReplicaSet{rs("a", 1, 1, "1", 2*time.Hour), rs("b", 3, 0, "2", time.Hour), rs("c", 6, 0, "3", 0)}, 20, map[string]int32{"a": 2, "b": 6, "c": 12}},
		{"to zero", []*api.ReplicaSet{rs("a", 3, 1, "1", time.Hour), rs("b", 1, 0, "2", 0)}, 0, map[string]int32{"a": 0, "b": 0}},
		{"no change", []*api.ReplicaSet{rs("a", 3, 1, "1", time.Hour), rs("b", 1, 0, "2", 0)}, 4, map[string]int32{"a": 3, "b": 1}},
	} {
		got := targets(proportionalScale(tc.active, tc.allowed))
		var sum int32
		for _, n := range got {
			sum += n
			if n < 0 {
				t.Errorf("%s: negative size in %v", tc.name, got)
			}
		}
		if sum != tc.allowed || len(got) != len(tc.want) {
			t.Errorf("%s: %v sums to %d; want %d", tc.name, got, sum, tc.allowed)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: got %v; want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

func TestRollingSteps(t *testing.T) {
	d := newDeployment("d", 10, "x")
	old := rs("old", 10, 10, "1", time.Hour)
	if n := rollingNewReplicas(d, nil, []*api.ReplicaSet{old}, 3); n != 3 {
		t.Errorf("new ReplicaSet size with room for 3 = %d", n)
	}
	newRS := rs("new", 3, 0, "2", 0)
	// Old pods that are not available go first, and cost no availability.
	sick := rs("sick", 2, 0, "1", 2*time.Hour)
	old8 := rs("old", 8, 8, "1", time.Hour)
	got := targets(rollingOldScaleDown(d, newRS, []*api.ReplicaSet{sick, old8}, 2))
	// 13 pods, 8 must stay available, 3 new ones unavailable: 2 may go,
	// both the sick ones.
	if len(got) != 1 || got["sick"] != 0 {
		t.Errorf("scale down = %v; want sick to 0 only", got)
	}
	// A ReplicaSet whose status still counts pods it is deleting does not
	// count them as available.
	shrinking := rs("old", 8, 10, "1", time.Hour)
	if got := targets(rollingOldScaleDown(d, rs("new", 5, 0, "2", 0), []*api.ReplicaSet{shrinking}, 2)); len(got) != 0 {
		t.Errorf("scale down with 8 available of 8 wanted, 5 new unavailable = %v; want none", got)
	}
}

func TestHistoryToDelete(t *testing.T) {
	d := newDeployment("d", 1, "x")
	d.Spec.RevisionHistoryLimit = new(int32(1))
	r1, r2, r3 := rs("r1", 0, 0, "1", 3*time.Hour), rs("r2", 0, 0, "2", 2*time.Hour), rs("r3", 0, 0, "3", time.Hour)
	running := rs("running", 1, 1, "4", time.Hour)
	terminating := rs("terminating", 0, 0, "0", 4*time.Hour)
	terminating.Status.Replicas = 1 // its pods are still going
	var names []string
	for _, x := range historyToDelete(d, []*api.ReplicaSet{r3, running, r1, terminating, r2}) {
		names = append(names, x.Name)
	}
	if !slices.Equal(names, []string{"r1", "r2"}) {
		t.Fatalf("history to delete = %v; want [r1 r2]", names)
	}
}
