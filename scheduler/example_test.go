package scheduler_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/scheduler/framework"
)

// ZoneArgs configures the Zone plugin.
type ZoneArgs struct {
	Label string `json:"label"`
}

// Validate names the wrong field.
func (a ZoneArgs) Validate() error {
	if a.Label == "" {
		return errors.New("label: required")
	}
	return nil
}

// Zone passes the nodes whose Label equals the pod's annotation "zone".
type Zone struct{ args ZoneArgs }

func NewZone(args ZoneArgs, _ framework.Handle) (*Zone, error) { return &Zone{args: args}, nil }

func (*Zone) Name() string { return "Zone" }

func (z *Zone) Filter(_ context.Context, _ *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	want := pod.Annotations["zone"]
	if want == "" || node.Node.Labels[z.args.Label] == want {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) not in zone "+want)
}

// A profile with a plugin of one's own, run on a snapshot: the pure part
// of a cycle, with no API server.
func Example() {
	profile := scheduler.Profile{
		SchedulerName: "zoned",
		Plugins: scheduler.Plugins{
			Filter: scheduler.PluginSet{Enabled: []scheduler.PluginRef{{Name: "Zone"}}},
		},
		PluginConfig: []scheduler.PluginConfig{{Name: "Zone", Args: ZoneArgs{Label: "zone"}}},
	}
	fw, err := scheduler.NewFramework(profile, scheduler.FrameworkOptions{
		Registry: scheduler.Registry{"Zone": scheduler.Typed(NewZone)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	node := func(name, zone string) *api.Node {
		return &api.Node{
			ObjectMeta: api.ObjectMeta{Name: name, Labels: map[string]string{"zone": zone}},
			Status: api.NodeStatus{Allocatable: api.ResourceList{
				api.ResourceCPU: resource.MustParse("4"), api.ResourceMemory: resource.MustParse("8Gi"), "pods": resource.MustParse("110"),
			}},
		}
	}
	snap := scheduler.NewSnapshot([]*api.Node{node("a1", "a"), node("b1", "b"), node("b2", "b")}, nil)
	for _, zone := range []string{"a", "c"} {
		pod := &api.Pod{
			ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-" + zone, UID: api.UID(zone), Annotations: map[string]string{"zone": zone}},
			Spec:       api.PodSpec{Containers: []api.Container{{Name: "web", Image: "nginx"}}},
		}
		res := fw.Schedule(context.Background(), framework.NewCycleState(), pod, snap)
		if res.Status != nil {
			fmt.Printf("%s: %s\n", pod.Name, res.Status.Message())
			continue
		}
		fmt.Printf("%s: %s\n", pod.Name, res.Node)
	}
	// Output:
	// web-a: a1
	// web-c: 0/3 nodes are available: 3 node(s) not in zone c. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.
}
