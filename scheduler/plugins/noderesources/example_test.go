package noderesources_test

import (
	"context"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/plugins/noderesources"
)

// A pod asking for 3 cores goes through one cycle of NodeResourcesFit on a
// node with 4 cores, 2 of them requested: Filter says why it does not
// fit, and on an empty node MostAllocated scores how full the node would be.
func Example() {
	node := &api.Node{}
	node.Name = "n1"
	node.Status.Allocatable = api.ResourceList{
		api.ResourceCPU: resource.MustParse("4"), api.ResourceMemory: resource.MustParse("8Gi"), api.ResourcePods: resource.MustParse("110"),
	}
	requesting := func(cpu, mem string) *api.Pod {
		p := &api.Pod{}
		p.Spec.Containers = []api.Container{{Name: "c", Resources: api.ResourceRequirements{Requests: api.ResourceList{
			api.ResourceCPU: resource.MustParse(cpu), api.ResourceMemory: resource.MustParse(mem),
		}}}}
		return p
	}
	busy := framework.NewNodeInfo(node, requesting("2", "1Gi"))
	empty := framework.NewNodeInfo(node)

	fit, err := noderesources.New(noderesources.Args{
		ScoringStrategy: &noderesources.ScoringStrategy{Type: noderesources.MostAllocated},
	}, nil)
	if err != nil {
		panic(err)
	}
	ctx, state, pod := context.Background(), framework.NewCycleState(), requesting("3", "2Gi")
	fit.PreFilter(ctx, state, pod, nil)
	fmt.Println(fit.Filter(ctx, state, pod, busy).Reasons())
	fmt.Println(fit.Filter(ctx, state, pod, empty).IsSuccess())
	fit.PreScore(ctx, state, pod, nil)
	score, _ := fit.Score(ctx, state, pod, empty)
	fmt.Println(score) // cpu 3/4 → 75, memory 2/8 → 25: (75 + 25) / 2
	// Output:
	// [Insufficient cpu]
	// true
	// 50
}
