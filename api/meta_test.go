package api

import "testing"

func TestNewControllerRef(t *testing.T) {
	owner := &Deployment{ObjectMeta: ObjectMeta{Namespace: "a", Name: "web", UID: "u-1"}}
	ref := NewControllerRef(owner, AppsV1.WithKind("Deployment"))
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != "web" || ref.UID != "u-1" ||
		ref.Controller == nil || !*ref.Controller || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Fatalf("NewControllerRef = %+v", ref)
	}
	rs := &ReplicaSet{ObjectMeta: ObjectMeta{OwnerReferences: []OwnerReference{
		{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "u-2"}, ref,
	}}}
	if !rs.IsControlledBy("u-1") || rs.IsControlledBy("u-2") || rs.IsControlledBy("") {
		t.Fatal("IsControlledBy")
	}
	if (&ObjectMeta{}).IsControlledBy("u-1") {
		t.Fatal("no owner")
	}
}
