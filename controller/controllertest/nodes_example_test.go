package controllertest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
)

// Simulated nodes run the pods bound to them: here a pod bound by hand,
// where a test would run the scheduler.
func ExampleStartNodes() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env, err := controllertest.Start(ctx, controllertest.Config{})
	if err != nil {
		panic(err)
	}
	defer env.Close()
	nodes, err := env.StartNodes(ctx, controllertest.NodesConfig{Count: 3})
	if err != nil {
		panic(err)
	}
	fmt.Println(nodes.Names())

	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "web", Image: "nginx"}}},
	}
	if err := env.Client.Create(ctx, pod); err != nil {
		panic(err)
	}
	if err := env.Client.Bind(ctx, "default", "web", "node-2"); err != nil {
		panic(err)
	}
	pod, err = controllertest.WaitFor(ctx, env.Client, "default", "web", func(p *api.Pod) bool {
		return p.Status.Phase == api.PodRunning
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(pod.Status.Phase, pod.Status.PodIP, pod.Status.HostIP)
	// Output:
	// [node-0 node-1 node-2]
	// Running 10.64.2.2 172.16.0.3
}
