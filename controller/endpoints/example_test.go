package endpoints_test

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/endpoints"
)

// The controller lists a Service's ready pods in addresses and the others
// in notReadyAddresses, on the port a named targetPort resolves to. Here
// the test writes the pods' status, as a node agent would.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env, err := controllertest.Start(ctx, controllertest.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Close()
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := endpoints.Add(mgr, endpoints.Options{}); err != nil {
		fmt.Println(err)
		return
	}
	if err := env.StartManager(mgr); err != nil {
		fmt.Println(err)
		return
	}

	c := env.Client
	web := map[string]string{"app": "web"}
	svc := &api.Service{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.ServiceSpec{Selector: web, Ports: []api.ServicePort{
			{Name: "http", Port: 80, TargetPort: api.FromString("http")},
		}},
	}
	if err := c.Create(ctx, svc); err != nil {
		fmt.Println(err)
		return
	}
	for i, ready := range []api.ConditionStatus{api.ConditionTrue, api.ConditionFalse} {
		pod := &api.Pod{
			ObjectMeta: api.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("web-%d", i), Labels: web},
			Spec: api.PodSpec{Containers: []api.Container{{Name: "nginx", Image: "nginx",
				Ports: []api.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		}
		if err := c.Create(ctx, pod); err != nil {
			fmt.Println(err)
			return
		}
		pod.Status = api.PodStatus{Phase: api.PodRunning, PodIP: fmt.Sprintf("10.244.0.%d", 10+i),
			Conditions: []api.PodCondition{{Type: api.PodReady, Status: ready}}}
		if err := c.UpdateStatus(ctx, pod); err != nil {
			fmt.Println(err)
			return
		}
	}

	ep, err := controllertest.WaitFor(ctx, c, "default", "web", func(ep *api.Endpoints) bool {
		return len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses)+len(ep.Subsets[0].NotReadyAddresses) == 2
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := ep.Subsets[0]
	fmt.Println("ready:", s.Addresses[0].IP, s.Addresses[0].TargetRef.Name)
	fmt.Println("not ready:", s.NotReadyAddresses[0].IP, s.NotReadyAddresses[0].TargetRef.Name)
	fmt.Println("port:", s.Ports[0].Name, s.Ports[0].Port)
	// Output:
	// ready: 10.244.0.10 web-0
	// not ready: 10.244.0.11 web-1
	// port: http 8080
}
