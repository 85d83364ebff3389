package nodestatus

import (
	"fmt"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/runtime"
)

func TestAllocatable(t *testing.T) {
	capacity := api.ResourceList{"cpu": resource.MustParse("2"), "memory": resource.MustParse("1Gi"), "pods": resource.MustParse("110")}
	got := allocatable(capacity, api.ResourceList{"cpu": resource.MustParse("250m"), "memory": resource.MustParse("2Gi"), "gpu": resource.MustParse("1")})
	for name, want := range map[api.ResourceName]string{"cpu": "1750m", "memory": "0", "pods": "110"} {
		if q := got[name]; q.String() != want {
			t.Errorf("allocatable %s = %s, want %s", name, q.String(), want)
		}
	}
	if _, ok := got["gpu"]; ok {
		t.Error("a reserve of a resource the node does not have made it allocatable")
	}
	if q := capacity["cpu"]; q.String() != "2" {
		t.Errorf("the capacity was changed: cpu %s", q.String())
	}
}

func TestNodeImagesKeepsTheLargest(t *testing.T) {
	var imgs []*runtime.Image
	for i := range 60 {
		imgs = append(imgs, &runtime.Image{
			ID: fmt.Sprintf("sha256:%02d", i), Size: int64(i) << 20,
			RepoTags: []string{fmt.Sprintf("app%d:v1", i)}, RepoDigests: []string{fmt.Sprintf("app%d@sha256:%02d", i, i)},
		})
	}
	imgs = append(imgs, &runtime.Image{ID: "sha256:untagged", Size: 100 << 20})
	got := nodeImages(imgs)
	if len(got) != MaxImages {
		t.Fatalf("%d images, want %d", len(got), MaxImages)
	}
	if got[0].Names[0] != "sha256:untagged" || got[1].Names[0] != "app59@sha256:59" || got[1].Names[1] != "app59:v1" {
		t.Errorf("first images = %+v, want the untagged (by ID) then app59 (digest, tag)", got[:2])
	}
	if last := got[MaxImages-1]; last.SizeBytes != 11<<20 {
		t.Errorf("last image = %+v, want app11 (the 50th largest)", last)
	}
}

func TestSetConditionTimes(t *testing.T) {
	t1, t2 := api.NewTime(time.Unix(1000, 0)), api.NewTime(time.Unix(2000, 0))
	var st api.NodeStatus
	setCondition(&st, api.NodeReady, true, t1, "R", "r", "N", "n")
	setCondition(&st, api.NodeReady, true, t2, "R", "r", "N", "n")
	if c := st.Conditions[0]; !c.LastTransitionTime.Equal(t1) || !c.LastHeartbeatTime.Equal(t2) || c.Reason != "R" {
		t.Errorf("same status: %+v, want transition %v heartbeat %v", c, t1, t2)
	}
	setCondition(&st, api.NodeReady, false, t2, "R", "r", "N", "n")
	if c := st.Conditions[0]; !c.LastTransitionTime.Equal(t2) || c.Status != api.ConditionFalse || c.Reason != "N" || c.Message != "n" {
		t.Errorf("changed status: %+v, want False since %v", c, t2)
	}
	if len(st.Conditions) != 1 {
		t.Errorf("%d conditions, want 1", len(st.Conditions))
	}
}

func TestStatusEqualIgnoresHeartbeats(t *testing.T) {
	s := &spec{name: "n", maxPods: 110, port: 10250, machine: testMachine, memoryPressureBytes: 1, diskPressureRatio: 0.1, pidPressureRatio: 0.9}
	obs := &observation{runtime: runtime.Version{Name: "fake", Version: "1"}, fs: FilesystemStats{Capacity: 10 << 30, Available: 5 << 30}}
	a := s.newNode(obs, time.Unix(1000, 0))
	b := a.DeepCopy()
	s.setStatus(b, obs, time.Unix(5000, 0))
	if !statusEqual(&a.Status, &b.Status) {
		t.Errorf("statuses that differ by heartbeats only are not equal:\n%s\n%s", statusKey(&a.Status), statusKey(&b.Status))
	}
	obs.fs.Capacity = 20 << 30
	s.setStatus(b, obs, time.Unix(5000, 0))
	if statusEqual(&a.Status, &b.Status) {
		t.Error("a new ephemeral-storage capacity is not a change")
	}
}

func TestReconcileMeta(t *testing.T) {
	s := &spec{name: "n", machine: testMachine, labels: map[string]string{"a": "1"},
		taints: []api.Taint{{Key: "k", Effect: api.TaintEffectNoSchedule}}}
	n := &api.Node{}
	n.Labels = map[string]string{"user": "x", "a": "0"}
	n.Spec.Taints = []api.Taint{{Key: "k", Value: "users-value", Effect: api.TaintEffectNoSchedule}, {Key: "u", Effect: api.TaintEffectNoExecute}}
	if !s.reconcileMeta(n) {
		t.Fatal("no change reported")
	}
	if n.Labels["user"] != "x" || n.Labels["a"] != "1" || n.Labels[LabelHostname] != "n" {
		t.Errorf("labels = %v", n.Labels)
	}
	if len(n.Spec.Taints) != 2 || n.Spec.Taints[0].Value != "users-value" {
		t.Errorf("taints = %+v, want the user's two as they are", n.Spec.Taints)
	}
	if s.reconcileMeta(n) {
		t.Error("a second reconcile changed something")
	}
}
