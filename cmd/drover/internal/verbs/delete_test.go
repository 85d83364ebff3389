package verbs

import (
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/garbagecollector"
)

// withGC runs the garbage collector against c's Env.
func withGC(t *testing.T, c *cli) {
	t.Helper()
	mgr, err := c.env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := garbagecollector.Add(mgr, garbagecollector.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := c.env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}
}

// family makes the ConfigMap parent and a child owned by it.
func family(t *testing.T, c *cli) (parent, child *api.ConfigMap) {
	t.Helper()
	ctx := controllertest.Context(t)
	parent = configMap("default", "parent", nil, nil)
	if err := c.env.Client.Create(ctx, parent); err != nil {
		t.Fatal(err)
	}
	child = configMap("default", "child", nil, nil)
	child.OwnerReferences = []api.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "parent", UID: parent.UID, BlockOwnerDeletion: ptr(true)}}
	if err := c.env.Client.Create(ctx, child); err != nil {
		t.Fatal(err)
	}
	return parent, child
}

func exists(t *testing.T, c *cli, name string) bool {
	t.Helper()
	var cm api.ConfigMap
	err := c.env.Client.Get(controllertest.Context(t), "default", name, &cm)
	if err != nil && !api.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func TestDeleteCascade(t *testing.T) {
	t.Run("background", func(t *testing.T) {
		c := newCLI(t)
		withGC(t, c)
		family(t, c)
		wantOut(t, c.must("delete", "cm", "parent"), "configmap \"parent\" deleted\n")
		if exists(t, c, "parent") {
			t.Error("parent exists after delete returned (it waits)")
		}
		controllertest.Eventually(t, func() bool { return !exists(t, c, "child") })
	})
	t.Run("foreground", func(t *testing.T) {
		c := newCLI(t)
		withGC(t, c)
		family(t, c)
		wantOut(t, c.must("delete", "cm/parent", "--cascade=foreground"), "configmap \"parent\" deleted\n")
		// The owner goes after its dependents, and delete waits for it.
		if exists(t, c, "child") || exists(t, c, "parent") {
			t.Error("foreground delete returned before the child and the parent were gone")
		}
	})
	t.Run("orphan", func(t *testing.T) {
		c := newCLI(t)
		withGC(t, c)
		family(t, c)
		c.must("delete", "cm", "parent", "--cascade=orphan")
		if exists(t, c, "parent") {
			t.Error("parent exists after delete returned")
		}
		controllertest.Eventually(t, func() bool {
			var cm api.ConfigMap
			err := c.env.Client.Get(controllertest.Context(t), "default", "child", &cm)
			return err == nil && len(cm.OwnerReferences) == 0
		})
	})
}

func TestDeleteSelectors(t *testing.T) {
	c := newCLI(t)
	ctx := controllertest.Context(t)
	for _, cm := range []*api.ConfigMap{
		configMap("default", "a", map[string]string{"app": "web"}, nil),
		configMap("default", "b", map[string]string{"app": "web"}, nil),
		configMap("default", "c", map[string]string{"app": "db"}, nil),
		configMap("default", "d", nil, nil),
		configMap("kube-system", "e", nil, nil),
	} {
		if err := c.env.Client.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	wantOut(t, c.must("delete", "cm", "-l", "app=web"), "configmap \"a\" deleted\nconfigmap \"b\" deleted\n")
	p := file(t, "c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")
	wantOut(t, c.must("delete", "-f", p, "--wait=false"), "configmap \"c\" deleted\n")
	wantOut(t, c.must("delete", "cm", "--all"), "configmap \"d\" deleted\n")
	var e api.ConfigMap
	if err := c.env.Client.Get(ctx, "kube-system", "e", &e); err != nil {
		t.Errorf("--all deleted outside its namespace: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"delete", "cm"}, "no name was specified"},
		{[]string{"delete", "cm", "nope"}, `configmaps "nope" not found`},
		{[]string{"delete", "cm", "x", "--cascade=sideways"}, `--cascade "sideways"`},
	} {
		r := c.run(tc.args...)
		if r.e == nil || !strings.Contains(r.e.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.e, tc.want)
		}
	}
}

func TestDeletePodGracePeriod(t *testing.T) {
	c := newCLI(t)
	ctx := controllertest.Context(t)
	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "p"},
		Spec:       api.PodSpec{NodeName: "node-0", Containers: []api.Container{{Name: "c", Image: "busybox"}}},
	}
	if err := c.env.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	// Bound to a node with no agent, the pod waits for its grace period
	// unless the grace period is 0.
	wantOut(t, c.must("delete", "pod", "p", "--grace-period=0"), "pod \"p\" deleted\n")
	var got api.Pod
	if err := c.env.Client.Get(ctx, "default", "p", &got); !api.IsNotFound(err) {
		t.Errorf("pod after delete --grace-period=0: %v", err)
	}
}
