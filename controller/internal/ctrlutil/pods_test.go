package ctrlutil

import (
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

var rsGVK = api.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}

func TestPodFromTemplate(t *testing.T) {
	rs := &api.ReplicaSet{ObjectMeta: api.ObjectMeta{Namespace: "prod", Name: "web", UID: "rs-uid"}}
	tmpl := &api.PodTemplateSpec{
		ObjectMeta: api.ObjectMeta{
			Name:        "ignored",
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"note": "x"},
		},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}},
	}
	p := PodFromTemplate(tmpl, rs, rsGVK)
	if p.Namespace != "prod" || p.GenerateName != "web-" || p.Name != "" {
		t.Fatalf("namespace/generateName/name = %q/%q/%q", p.Namespace, p.GenerateName, p.Name)
	}
	if p.Labels["app"] != "web" || p.Annotations["note"] != "x" {
		t.Fatalf("labels %v annotations %v", p.Labels, p.Annotations)
	}
	ref := p.ControllerRef()
	if ref == nil || ref.UID != "rs-uid" || ref.Kind != "ReplicaSet" || ref.APIVersion != "apps/v1" || ref.Name != "web" {
		t.Fatalf("controller ref = %+v", ref)
	}
	if ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Fatal("blockOwnerDeletion not set")
	}
	// The pod is a copy: changing it leaves the template alone.
	p.Labels["app"] = "changed"
	p.Spec.Containers[0].Image = "changed"
	if tmpl.Labels["app"] != "web" || tmpl.Spec.Containers[0].Image != "nginx" {
		t.Fatal("the pod shares memory with the template")
	}

	long := &api.ReplicaSet{ObjectMeta: api.ObjectMeta{Name: strings.Repeat("a", 70)}}
	if g := PodFromTemplate(tmpl, long, rsGVK).GenerateName; len(g) != maxGenerateNamePrefix {
		t.Fatalf("generateName of a long owner name is %d long, want %d", len(g), maxGenerateNamePrefix)
	}
}

func readyPod(since time.Time) *api.Pod {
	return &api.Pod{Status: api.PodStatus{Phase: api.PodRunning, Conditions: []api.PodCondition{
		{Type: api.PodScheduled, Status: api.ConditionTrue},
		{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(since)},
	}}}
}

func TestPodPredicates(t *testing.T) {
	now := epoch
	active := &api.Pod{Status: api.PodStatus{Phase: api.PodPending}}
	if !IsPodActive(active) || IsPodReady(active) {
		t.Fatal("a pending pod is active and not ready")
	}
	for _, ph := range []api.PodPhase{api.PodSucceeded, api.PodFailed} {
		if IsPodActive(&api.Pod{Status: api.PodStatus{Phase: ph}}) {
			t.Fatalf("a %s pod is active", ph)
		}
	}
	del := api.NewTime(now)
	if IsPodActive(&api.Pod{ObjectMeta: api.ObjectMeta{DeletionTimestamp: &del}}) {
		t.Fatal("a pod being deleted is active")
	}
	notReady := readyPod(now)
	notReady.Status.Conditions[1].Status = api.ConditionFalse
	if IsPodReady(notReady) || IsPodAvailable(notReady, 0, now) || AvailableAfter(notReady, 5, now) != -1 {
		t.Fatal("a pod with Ready=False is ready or available")
	}

	p := readyPod(now.Add(-3 * time.Second))
	if !IsPodReady(p) || !IsPodAvailable(p, 0, now) || !IsPodAvailable(p, 3, now) {
		t.Fatal("ready for 3s: available with minReadySeconds 0 and 3")
	}
	if IsPodAvailable(p, 10, now) {
		t.Fatal("ready for 3s: not available with minReadySeconds 10")
	}
	if d := AvailableAfter(p, 10, now); d != 7*time.Second {
		t.Fatalf("AvailableAfter = %v, want 7s", d)
	}
	undated := readyPod(time.Time{})
	if !IsPodAvailable(undated, 0, now) || IsPodAvailable(undated, 1, now) {
		t.Fatal("an undated ready pod: available only with minReadySeconds 0")
	}
	if since, ok := PodReadySince(p); !ok || !since.Equal(now.Add(-3*time.Second)) {
		t.Fatalf("PodReadySince = %v, %v", since, ok)
	}
}
