package namespace

import (
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

func TestConditions(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := content{Remaining: map[string]int{"pods": 2, "configmaps": 1}, Finalizers: map[string]int{"example.com/hold": 1}}
	got := conditions(c, nil, t0)
	want := map[api.NamespaceConditionType]api.ConditionStatus{
		api.NamespaceDeletionDiscoveryFailure: api.ConditionFalse,
		api.NamespaceDeletionContentFailure:   api.ConditionFalse,
		api.NamespaceContentRemaining:         api.ConditionTrue,
		api.NamespaceFinalizersRemaining:      api.ConditionTrue,
	}
	if len(got) != len(want) {
		t.Fatalf("conditions = %+v, want %d", got, len(want))
	}
	for _, g := range got {
		if want[g.Type] != g.Status {
			t.Errorf("condition %s = %s, want %s", g.Type, g.Status, want[g.Type])
		}
		if g.Type == api.NamespaceContentRemaining && g.Message != "Some resources are remaining: configmaps has 1 resource instances, pods has 2 resource instances" {
			t.Errorf("message %q", g.Message)
		}
	}
	// An unchanged status keeps its transition time; a changed one moves.
	later := t0.Add(time.Minute)
	c.Finalizers = nil
	c.Failures = []string{"delete pods: boom"}
	next := conditions(c, got, later)
	for _, n := range next {
		moved := !n.LastTransitionTime.Time.Equal(t0)
		switch n.Type {
		case api.NamespaceFinalizersRemaining, api.NamespaceDeletionContentFailure:
			if !moved {
				t.Errorf("%s: transition time not moved", n.Type)
			}
		default:
			if moved {
				t.Errorf("%s: transition time moved without a change", n.Type)
			}
		}
		if n.Type == api.NamespaceDeletionContentFailure && !strings.Contains(n.Message, "boom") {
			t.Errorf("failure message %q", n.Message)
		}
	}
	if sameConditions(got, next) || !sameConditions(next, conditions(c, next, later.Add(time.Hour))) {
		t.Error("sameConditions")
	}
	if c.empty() || !(content{}).empty() {
		t.Error("empty")
	}
}
