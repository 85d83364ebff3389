package serviceaccount_test

import (
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/serviceaccount"
)

func start(t *testing.T, opts serviceaccount.Options) *controllertest.Env {
	t.Helper()
	env := controllertest.New(t)
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := serviceaccount.Add(mgr, opts); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}
	return env
}

func TestDefaultServiceAccountAppearsAndComesBack(t *testing.T) {
	env := start(t, serviceaccount.Options{})
	ctx := controllertest.Context(t)
	// The namespaces made at start get one, and so does a new one.
	if err := env.CreateNamespace(ctx, "team-a"); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"default", "kube-system", "team-a"} {
		if _, err := controllertest.WaitFor(ctx, env.Client, ns, "default", func(*api.ServiceAccount) bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	var first api.ServiceAccount
	if err := env.Client.Get(ctx, "team-a", "default", &first); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, &first); err != nil {
		t.Fatal(err)
	}
	again, err := controllertest.WaitFor(ctx, env.Client, "team-a", "default", func(sa *api.ServiceAccount) bool {
		return sa.UID != first.UID
	})
	if err != nil {
		t.Fatal(err)
	}
	if again.DeletionTimestamp != nil {
		t.Fatalf("the new ServiceAccount is being deleted: %+v", again.ObjectMeta)
	}
}

func TestNoAccountInTerminatingNamespace(t *testing.T) {
	env := start(t, serviceaccount.Options{Workers: 1, ServiceAccounts: []string{"default", "builder"}})
	ctx := controllertest.Context(t)
	if err := env.CreateNamespace(ctx, "going"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"default", "builder"} {
		if _, err := controllertest.WaitFor(ctx, env.Client, "going", name, func(*api.ServiceAccount) bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	// No namespace controller runs: the namespace stays Terminating, and
	// an account deleted from it is not made again.
	if err := env.Client.Delete(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "going"}}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, &api.ServiceAccount{ObjectMeta: api.ObjectMeta{Namespace: "going", Name: "builder"}}); err != nil {
		t.Fatal(err)
	}
	// An account deleted in an active namespace afterwards comes back,
	// which shows the controller has handled the deletion before it.
	if _, err := controllertest.WaitFor(ctx, env.Client, "default", "builder", func(*api.ServiceAccount) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, &api.ServiceAccount{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "builder"}}); err != nil {
		t.Fatal(err)
	}
	var sas api.List[api.ServiceAccount]
	controllertest.Eventually(t, func() bool {
		var sa api.ServiceAccount
		return env.Client.Get(ctx, "default", "builder", &sa) == nil
	})
	if err := env.Client.List(ctx, &sas, client.InNamespace("going")); err != nil {
		t.Fatal(err)
	}
	for _, sa := range sas.Items {
		if sa.Name == "builder" {
			t.Fatalf("ServiceAccount going/builder was made again in a terminating namespace")
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []serviceaccount.Options{{Workers: -1}, {ServiceAccounts: []string{"Not_A_Name"}}} {
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
		}
	}
}
