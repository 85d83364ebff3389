package builtin_test

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/builtin"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/replicaset"
)

// A controller manager with every built-in controller but node IPAM, run
// against an in-process API server: a ReplicaSet gets its pods.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env, err := controllertest.Start(ctx, controllertest.Config{})
	if err != nil {
		panic(err)
	}
	defer env.Close()

	// In a cluster, set ManagerConfig.LeaderElector (a
	// *leaderelection.Elector) so that one replica of the controller
	// manager reconciles at a time.
	mgr, err := controller.NewManager(controller.ManagerConfig{Client: env.Client})
	if err != nil {
		panic(err)
	}
	err = builtin.Add(mgr, builtin.Config{
		Controllers: []string{"*", "-nodeipam"},
		ReplicaSet:  replicaset.Options{Workers: 2},
	})
	if err != nil {
		panic(err)
	}
	if err := env.StartManager(mgr); err != nil {
		panic(err)
	}

	labels := map[string]string{"app": "web"}
	rs := &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.ReplicaSetSpec{
			Replicas: ptr(int32(2)),
			Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "nginx"}}},
			},
		},
	}
	if err := env.Client.Create(ctx, rs); err != nil {
		panic(err)
	}
	_, err = controllertest.WaitFor(ctx, env.Client, "default", "web", func(rs *api.ReplicaSet) bool {
		return rs.Status.Replicas == 2
	})
	if err != nil {
		panic(err)
	}
	var pods api.PodList
	if err := env.Client.List(ctx, &pods, client.ListOptions{Namespace: "default"}); err != nil {
		panic(err)
	}
	for _, p := range pods.Items {
		fmt.Println(p.ControllerRef().Kind, p.ControllerRef().Name)
	}
	// Output:
	// ReplicaSet web
	// ReplicaSet web
}

// The controllers a Config runs, and the error of a misspelt name.
func ExampleConfig_Enabled() {
	names, _ := builtin.Config{Controllers: []string{"*", "-nodeipam", "-nodelifecycle"}}.Enabled()
	fmt.Println(names)

	_, err := builtin.Config{Controllers: []string{"replicaset", "deploymnet"}}.Enabled()
	fmt.Println(err)
	// Output:
	// [daemonset deployment endpoints endpointslice garbagecollector job namespace replicaset serviceaccount]
	// builtin: Config.Controllers[1] is "deploymnet": there is no controller "deploymnet"; the controllers are daemonset, deployment, endpoints, endpointslice, garbagecollector, job, namespace, nodeipam, nodelifecycle, replicaset, serviceaccount
}
