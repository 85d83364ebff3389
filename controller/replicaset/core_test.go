package replicaset

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestSlowStartBatches(t *testing.T) {
	for n, want := range map[int][]int{
		0:    nil,
		1:    {1},
		3:    {1, 2},
		5:    {1, 2, 2},
		7:    {1, 2, 4},
		1000: {1, 2, 4, 8, 16, 32, 64, 128, 256, 489},
	} {
		if got := slowStartBatches(n); !slices.Equal(got, want) {
			t.Errorf("slowStartBatches(%d) = %v, want %v", n, got, want)
		}
	}
}

// rankPod makes a pod for the deletion ranking: node "" is unscheduled;
// readySince zero and ready false is not ready.
func rankPod(name, node string, phase api.PodPhase, ready bool, readySince, created time.Time) *api.Pod {
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: name, CreationTimestamp: api.NewTime(created)},
		Spec:       api.PodSpec{NodeName: node},
		Status:     api.PodStatus{Phase: phase},
	}
	if ready {
		p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(readySince)}}
	}
	return p
}

func TestDeletionRanking(t *testing.T) {
	old, mid, young := epoch.Add(-time.Hour), epoch.Add(-time.Minute), epoch.Add(-time.Second)
	pods := []*api.Pod{
		rankPod("ready-long", "n1", api.PodRunning, true, old, old),
		rankPod("unscheduled", "", api.PodPending, false, time.Time{}, old),
		rankPod("ready-recent", "n1", api.PodRunning, true, mid, old),
		rankPod("running-notready", "n1", api.PodRunning, false, time.Time{}, old),
		rankPod("unknown", "n1", api.PodUnknown, false, time.Time{}, old),
		rankPod("pending-scheduled", "n1", api.PodPending, false, time.Time{}, old),
		rankPod("ready-undated", "n1", api.PodRunning, true, time.Time{}, old),
		rankPod("ready-long-newer", "n2", api.PodRunning, true, old, young),
	}
	restarted := rankPod("ready-long-restarted", "n2", api.PodRunning, true, old, old)
	restarted.Status.ContainerStatuses = []api.ContainerStatus{{Name: "c", RestartCount: 3}}
	pods = append(pods, restarted)

	want := []string{
		"unscheduled",          // 1. not on a node
		"pending-scheduled",    // 2. Pending
		"unknown",              //    then Unknown
		"running-notready",     // 3. not ready
		"ready-undated",        // 4. ready, no time: the newest readiness
		"ready-recent",         //    ready for a minute
		"ready-long-restarted", // 5. of those ready for an hour, restarts first
		"ready-long-newer",     // 6. then the newer pod
		"ready-long",
	}
	var got []string
	for _, p := range podsToDelete(pods, len(pods)) {
		got = append(got, p.Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("deletion order:\n got %v\nwant %v", got, want)
	}
	if n := podsToDelete(pods, 2); len(n) != 2 || n[0].Name != "unscheduled" {
		t.Fatalf("podsToDelete(2) = %v", n)
	}
	if pods[0].Name != "ready-long" {
		t.Fatal("podsToDelete reordered its input")
	}
	if podsToDelete(pods, 0) != nil || len(podsToDelete(pods, 100)) != len(pods) {
		t.Fatal("podsToDelete bounds")
	}
}

func TestCalculateStatus(t *testing.T) {
	rs := &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Generation: 7},
		Spec: api.ReplicaSetSpec{
			MinReadySeconds: 30,
			Template:        api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "fe"}}},
		},
	}
	full := map[string]string{"app": "web", "tier": "fe", "extra": "x"}
	withLabels := func(p *api.Pod, l map[string]string) *api.Pod { p.Labels = l; return p }
	now := epoch
	del := api.NewTime(now)
	deleting := withLabels(rankPod("deleting", "n", api.PodRunning, true, now.Add(-time.Hour), now), full)
	deleting.DeletionTimestamp = &del
	pods := []*api.Pod{
		withLabels(rankPod("a", "n", api.PodRunning, true, now.Add(-time.Minute), now), full),    // available
		withLabels(rankPod("b", "n", api.PodRunning, true, now.Add(-20*time.Second), now), full), // ready, available in 10s
		withLabels(rankPod("c", "n", api.PodRunning, true, now.Add(-5*time.Second), now), nil),   // ready, in 25s; not fully labelled
		withLabels(rankPod("d", "", api.PodPending, false, time.Time{}, now), map[string]string{"app": "web"}),
		withLabels(rankPod("done", "n", api.PodSucceeded, false, time.Time{}, now), full),
		deleting,
	}
	st, next := calculateStatus(rs, pods, now, nil, "")
	want := api.ReplicaSetStatus{Replicas: 4, FullyLabeledReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 1, ObservedGeneration: 7}
	if !statusEqual(&st, &want) {
		t.Fatalf("status = %+v, want %+v", st, want)
	}
	if next != 10*time.Second {
		t.Fatalf("next availability in %v, want 10s", next)
	}

	// A failure sets ReplicaFailure; success removes it.
	st, _ = calculateStatus(rs, pods, now, errors.New("quota exceeded"), ReasonFailedCreate)
	if len(st.Conditions) != 1 || st.Conditions[0].Type != api.ReplicaSetReplicaFailure ||
		st.Conditions[0].Status != api.ConditionTrue || st.Conditions[0].Reason != ReasonFailedCreate ||
		st.Conditions[0].Message != "quota exceeded" || !st.Conditions[0].LastTransitionTime.Equal(api.NewTime(now)) {
		t.Fatalf("conditions = %+v", st.Conditions)
	}
	rs.Status = st
	later := now.Add(time.Minute)
	st2, _ := calculateStatus(rs, pods, later, errors.New("still"), ReasonFailedCreate)
	if !st2.Conditions[0].LastTransitionTime.Equal(api.NewTime(now)) || st2.Conditions[0].Message != "still" {
		t.Fatalf("a continuing failure moved the transition time or kept the old message: %+v", st2.Conditions[0])
	}
	if &st2.Conditions[0] == &rs.Status.Conditions[0] {
		t.Fatal("calculateStatus shares the conditions with the ReplicaSet")
	}
	st3, _ := calculateStatus(rs, pods, later, nil, "")
	if st3.Conditions != nil {
		t.Fatalf("ReplicaFailure not removed after success: %+v", st3.Conditions)
	}
	if statusEqual(&st2, &st3) || !statusEqual(&st3, &st3) {
		t.Fatal("statusEqual")
	}
}
