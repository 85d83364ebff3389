package garbagecollector

import (
	"reflect"
	"testing"

	"github.com/drover-io/drover/api"
)

func TestDecide(t *testing.T) {
	r := func(uid string, block bool) api.OwnerReference {
		return api.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: uid, UID: api.UID(uid), BlockOwnerDeletion: new(block)}
	}
	tests := []struct {
		name   string
		refs   []api.OwnerReference
		states []ownerState
		want   verdict
	}{
		{"all present", []api.OwnerReference{r("a", true)}, []ownerState{ownerPresent}, verdict{}},
		{"all gone", []api.OwnerReference{r("a", true), r("b", false)}, []ownerState{ownerAbsent, ownerAbsent}, verdict{Delete: true}},
		{"owner waits", []api.OwnerReference{r("a", true)}, []ownerState{ownerDeletingForeground}, verdict{Delete: true, Foreground: true}},
		{"one waits, one gone", []api.OwnerReference{r("a", true), r("b", true)}, []ownerState{ownerDeletingForeground, ownerAbsent}, verdict{Delete: true, Foreground: true}},
		{"survivor keeps it", []api.OwnerReference{r("a", true), r("b", true)}, []ownerState{ownerAbsent, ownerPresent},
			verdict{Patch: true, Refs: []api.OwnerReference{r("b", true)}}},
		{"survivor unblocks the waiting owner", []api.OwnerReference{r("a", true), r("b", true)}, []ownerState{ownerDeletingForeground, ownerPresent},
			verdict{Patch: true, Refs: []api.OwnerReference{r("a", false), r("b", true)}}},
		{"waiting owner not blocked: nothing to change", []api.OwnerReference{r("a", false), r("b", true)}, []ownerState{ownerDeletingForeground, ownerPresent}, verdict{}},
		{"ignored reference keeps it", []api.OwnerReference{r("a", true), r("b", true)}, []ownerState{ownerIgnored, ownerAbsent},
			verdict{Patch: true, Refs: []api.OwnerReference{r("a", true)}}},
		{"only ignored", []api.OwnerReference{r("a", true)}, []ownerState{ownerIgnored}, verdict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decide(tt.refs, tt.states); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestGroupVersionOf(t *testing.T) {
	for in, want := range map[string]api.GroupVersion{
		"v1":                       {Version: "v1"},
		"apps/v1":                  {Group: "apps", Version: "v1"},
		"example.drover.io/v1beta": {Group: "example.drover.io", Version: "v1beta"},
	} {
		if got := groupVersionOf(in); got != want {
			t.Errorf("groupVersionOf(%q) = %v, want %v", in, got, want)
		}
	}
}
