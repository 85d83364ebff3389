package cache_test

import (
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler/internal/cache"
)

// A pod placed by one cycle counts in the next, before its binding is
// observed; a failed binding gives the room back.
func Example() {
	c := cache.New(cache.Config{})
	c.AddNode(&api.Node{
		ObjectMeta: api.ObjectMeta{Name: "n1"},
		Status:     api.NodeStatus{Allocatable: api.ResourceList{api.ResourceCPU: resource.MustParse("4")}},
	})
	s := cache.NewSnapshot()
	requested := func() int64 {
		if err := c.UpdateSnapshot(s); err != nil {
			panic(err)
		}
		return s.Get("n1").Requested.MilliCPU
	}

	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web", UID: "u1"},
		Spec: api.PodSpec{Containers: []api.Container{{
			Name:      "web",
			Resources: api.ResourceRequirements{Requests: api.ResourceList{api.ResourceCPU: resource.MustParse("1500m")}},
		}}},
	}
	// The cycle chose n1: assume a copy bound there.
	assumed := *pod
	assumed.Spec.NodeName = "n1"
	_ = c.AssumePod(&assumed)
	fmt.Println("assumed:", c.IsAssumed(&assumed), requested())

	// The binding failed.
	_ = c.ForgetPod(&assumed)
	fmt.Println("forgotten:", c.IsAssumed(&assumed), requested())

	// Scheduled again; this time the informer sees the binding.
	_ = c.AssumePod(&assumed)
	_ = c.FinishBinding(&assumed)
	_ = c.AddPod(&assumed)
	fmt.Println("bound:", c.IsAssumed(&assumed), requested())
	// Output:
	// assumed: true 1500
	// forgotten: false 0
	// bound: false 1500
}
