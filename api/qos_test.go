package api

import (
	"testing"

	"github.com/drover-io/drover/api/resource"
)

func TestPodQOS(t *testing.T) {
	rl := func(kv ...string) ResourceList {
		out := ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			out[ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return out
	}
	c := func(req, lim ResourceList) Container {
		return Container{Name: "c", Image: "x", Resources: ResourceRequirements{Requests: req, Limits: lim}}
	}
	for _, tc := range []struct {
		name string
		spec PodSpec
		want PodQOSClass
	}{
		{"nothing", PodSpec{Containers: []Container{c(nil, nil)}}, PodQOSBestEffort},
		{"only other resources", PodSpec{Containers: []Container{c(rl("ephemeral-storage", "1Gi"), nil)}}, PodQOSBestEffort},
		{"zero requests", PodSpec{Containers: []Container{c(rl("cpu", "0"), nil)}}, PodQOSBestEffort},
		{"limits only (requests default to them)", PodSpec{Containers: []Container{c(nil, rl("cpu", "1", "memory", "1Gi"))}}, PodQOSGuaranteed},
		{"equal requests and limits", PodSpec{Containers: []Container{c(rl("cpu", "1000m", "memory", "1Gi"), rl("cpu", "1", "memory", "1024Mi"))}}, PodQOSGuaranteed},
		{"requests below limits", PodSpec{Containers: []Container{c(rl("cpu", "500m", "memory", "1Gi"), rl("cpu", "1", "memory", "1Gi"))}}, PodQOSBurstable},
		{"no memory limit", PodSpec{Containers: []Container{c(nil, rl("cpu", "1"))}}, PodQOSBurstable},
		{"requests only", PodSpec{Containers: []Container{c(rl("memory", "64Mi"), nil)}}, PodQOSBurstable},
		{"one guaranteed, one best effort", PodSpec{Containers: []Container{c(nil, rl("cpu", "1", "memory", "1Gi")), c(nil, nil)}}, PodQOSBurstable},
		{"init container counts", PodSpec{
			InitContainers: []Container{c(rl("cpu", "100m"), nil)},
			Containers:     []Container{c(nil, nil)},
		}, PodQOSBurstable},
	} {
		if got := PodQOS(&tc.spec); got != tc.want {
			t.Errorf("%s: PodQOS = %s, want %s", tc.name, got, tc.want)
		}
	}
}
