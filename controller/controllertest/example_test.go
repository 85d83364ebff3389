package controllertest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// A reconciler under test runs in a manager over an Env, and meets the API
// server's rules: here a write with a stale resourceVersion is refused.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env, err := controllertest.Start(ctx, controllertest.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Close()

	// The reconciler greets whoever a ConfigMap's data names.
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	cms := client.Resource[api.ConfigMap](mgr.GetClient())
	greeter := controller.Func(func(ctx context.Context, req controller.Request) (controller.Result, error) {
		cm, err := cms.Get(ctx, req.Namespace, req.Name)
		switch {
		case api.IsNotFound(err):
			return controller.Result{}, nil // deleted: nothing to do
		case err != nil:
			return controller.Result{}, err
		case cm.Annotations["greeting"] != "":
			return controller.Result{}, nil // greeted already
		}
		cm.Annotations = map[string]string{"greeting": "hello, " + cm.Data["name"]}
		_, err = cms.Update(ctx, cm)
		return controller.Result{}, err
	})
	if err := controller.NewControllerManagedBy(mgr).For(&api.ConfigMap{}).Complete(greeter); err != nil {
		fmt.Println(err)
		return
	}
	if err := env.StartManager(mgr); err != nil {
		fmt.Println(err)
		return
	}

	created, err := cms.Create(ctx, &api.ConfigMap{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "greeter"},
		Data:       map[string]string{"name": "world"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cm, err := controllertest.WaitFor(ctx, env.Client, "default", "greeter",
		func(cm *api.ConfigMap) bool { return cm.Annotations["greeting"] != "" })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cm.Annotations["greeting"])

	// The reconciler's write made the created copy stale.
	created.Data["name"] = "moon"
	_, err = cms.Update(ctx, created)
	fmt.Println("conflict:", api.IsConflict(err))
	// Output:
	// hello, world
	// conflict: true
}
