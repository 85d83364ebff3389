package builtin_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/builtin"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/replicaset"
)

func TestEnabled(t *testing.T) {
	all := builtin.Names()
	without := func(names ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(n string) bool { return slices.Contains(names, n) })
	}
	for _, tc := range []struct {
		controllers []string
		want        []string
	}{
		{nil, all},
		{[]string{}, all},
		{[]string{"*"}, all},
		{[]string{"*", "-nodeipam"}, without("nodeipam")},
		{[]string{"-nodeipam", "*", "-garbagecollector"}, without("nodeipam", "garbagecollector")},
		{[]string{"replicaset", "deployment"}, []string{"deployment", "replicaset"}},
		{[]string{"replicaset", "replicaset"}, []string{"replicaset"}},
		{[]string{"-replicaset"}, nil},
	} {
		got, err := builtin.Config{Controllers: tc.controllers}.Enabled()
		if err != nil {
			t.Errorf("Controllers %q: %v", tc.controllers, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Controllers %q enable %v, want %v", tc.controllers, got, tc.want)
		}
	}
	if !slices.Equal(builtin.DefaultEnabled(), all) {
		t.Errorf("DefaultEnabled() = %v, want every controller %v", builtin.DefaultEnabled(), all)
	}
	for _, want := range []string{
		"replicaset", "deployment", "daemonset", "job", "endpoints", "endpointslice",
		"nodelifecycle", "nodeipam", "garbagecollector", "namespace", "serviceaccount",
	} {
		if !slices.Contains(all, want) {
			t.Errorf("Names() = %v: no %s", all, want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  builtin.Config
		want []string
	}{
		{builtin.Config{Controllers: []string{"*", "replicaste"}}, []string{`Config.Controllers[1] is "replicaste"`, "replicaset, "}},
		{builtin.Config{Controllers: []string{"-"}}, []string{`Config.Controllers[0] is "-"`}},
		{builtin.Config{Controllers: []string{""}}, []string{`Config.Controllers[0] is ""`}},
		{builtin.Config{Controllers: []string{"job", "-job"}}, []string{`both enables and disables "job"`}},
		{builtin.Config{ReplicaSet: replicaset.Options{Workers: -1}}, []string{"Config.ReplicaSet: ", "Workers is -1"}},
	} {
		err := tc.cfg.Validate()
		if err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", tc.cfg)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Validate(%+v) = %q, want it to say %q", tc.cfg, err, w)
			}
		}
	}
	// The Options of a controller that does not run are not checked.
	cfg := builtin.Config{Controllers: []string{"*", "-replicaset"}, ReplicaSet: replicaset.Options{Workers: -1}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate of a disabled controller's Options: %v", err)
	}
}

func TestAdd(t *testing.T) {
	env := controllertest.New(t)
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := builtin.Add(nil, builtin.Config{}); err == nil {
		t.Error("Add(nil) succeeded")
	}
	if err := builtin.Add(mgr, builtin.Config{Controllers: []string{"nope"}}); err == nil {
		t.Error("Add with an unknown controller succeeded")
	}
	if err := builtin.Add(mgr, builtin.Config{}); err != nil {
		t.Fatal(err)
	}
	// Every controller is registered once: adding them again collides.
	if err := builtin.Add(mgr, builtin.Config{Controllers: []string{"replicaset"}}); err == nil {
		t.Error("adding the ReplicaSet controller twice to one Manager succeeded")
	}
}
