package verbs

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func configMap(ns, name string, lbls map[string]string, data map[string]string) *api.ConfigMap {
	return &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name, Labels: lbls}, Data: data}
}

// newGetCLI makes objects at t0 and moves the clock 5 minutes on, so
// that the AGE column reads 5m   .
func newGetCLI(t *testing.T) *cli {
	clk := fakeclock.New(t0)
	c := newCLI(t, controllertest.WithClock(clk), controllertest.WithNamespaces("default", "kube-system", "team-a"))
	ctx := controllertest.Context(t)
	for _, cm := range []*api.ConfigMap{
		configMap("default", "app-config", map[string]string{"app": "web", "tier": "front"}, map[string]string{"a": "1", "b": "2"}),
		configMap("default", "db-config", map[string]string{"app": "db"}, nil),
		configMap("team-a", "other", nil, map[string]string{"x": "y"}),
	} {
		if err := c.env.Client.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.DeploymentSpec{
			Replicas: ptr[int32](3),
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "nginx", Image: "nginx:1.27"}}},
			},
		},
	}
	if err := c.env.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute)
	return c
}

func TestGetTable(t *testing.T) {
	c := newGetCLI(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", "configmaps"}, "" +
			"NAME         DATA   AGE\n" +
			"app-config   2      5m\n" +
			"db-config    0      5m\n"},
		{[]string{"get", "cm", "app-config"}, "" +
			"NAME         DATA   AGE\n" +
			"app-config   2      5m\n"},
		{[]string{"get", "cm", "-l", "app=web", "--show-labels"}, "" +
			"NAME         DATA   AGE   LABELS\n" +
			"app-config   2      5m    app=web,tier=front\n"},
		{[]string{"get", "configmap", "-A"}, "" +
			"NAMESPACE   NAME         DATA   AGE\n" +
			"default     app-config   2      5m\n" +
			"default     db-config    0      5m\n" +
			"team-a      other        1      5m\n"},
		{[]string{"get", "ConfigMap", "-n", "team-a"}, "" +
			"NAME    DATA   AGE\n" +
			"other   1      5m\n"},
		{[]string{"get", "deploy"}, "" +
			"NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n" +
			"web    0/3     0            0           5m\n"},
		{[]string{"get", "deployments.apps", "-o", "wide"}, "" +
			"NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES       SELECTOR\n" +
			"web    0/3     0            0           5m    nginx        nginx:1.27   app=web\n"},
		{[]string{"get", "deployment/web", "cm/db-config"}, "" +
			"NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n" +
			"deployment.apps/web   0/3     0            0           5m\n" +
			"\n" +
			"NAME                  DATA   AGE\n" +
			"configmap/db-config   0      5m\n"},
		{[]string{"get", "deploy,cm"}, "" +
			"NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n" +
			"deployment.apps/web   0/3     0            0           5m\n" +
			"\n" +
			"NAME                   DATA   AGE\n" +
			"configmap/app-config   2      5m\n" +
			"configmap/db-config    0      5m\n"},
		{[]string{"get", "all"}, "" +
			"NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n" +
			"deployment.apps/web   0/3     0            0           5m\n"},
		{[]string{"get", "cm", "-o", "name"}, "configmap/app-config\nconfigmap/db-config\n"},
		{[]string{"get", "deploy", "-o", "name"}, "deployment.apps/web\n"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			wantOut(t, c.must(tc.args...), tc.want)
		})
	}
}

func TestGetYAMLAndJSON(t *testing.T) {
	c := newGetCLI(t)
	out := c.must("get", "cm/app-config", "-o", "json")
	var cm api.ConfigMap
	if err := json.Unmarshal([]byte(out), &cm); err != nil {
		t.Fatalf("-o json is not a ConfigMap: %v\n%s", err, out)
	}
	if cm.Kind != "ConfigMap" || cm.Name != "app-config" || cm.Data["b"] != "2" {
		t.Errorf("-o json = %+v", cm)
	}
	out = c.must("get", "cm", "-o", "yaml")
	for _, want := range []string{"kind: List\n", "- kind: ConfigMap\n", "name: app-config\n", "name: db-config\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("-o yaml has no %q:\n%s", want, out)
		}
	}
	objs, err := api.NewDefaultScheme().DecodeAll([]byte(c.must("get", "deploy", "web", "-o", "yaml")))
	if err != nil || len(objs) != 1 {
		t.Fatalf("-o yaml of one object does not decode: %v", err)
	}
	if d, ok := objs[0].(*api.Deployment); !ok || *d.Spec.Replicas != 3 {
		t.Errorf("-o yaml decoded to %#v", objs[0])
	}
}

func TestGetErrors(t *testing.T) {
	c := newGetCLI(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", "deploy", "nope"}, `deployments.apps "nope" not found`},
		{[]string{"get", "cm/nope"}, `configmaps "nope" not found`},
		{[]string{"get", "widgets"}, `the server doesn't have a resource type "widgets"`},
		{[]string{"get", "pods", "-o", "xml"}, `--output "xml" is not supported`},
		{[]string{"get", "pods", "-l", "a=(b"}, `--selector "a=(b"`},
		{[]string{"get", "cm", "app-config", "-A"}, "cannot be retrieved by name across all namespaces"},
	}
	for _, tc := range tests {
		r := c.run(tc.args...)
		if r.e == nil || !strings.Contains(r.e.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.e, tc.want)
		}
	}
	r := c.run("get", "pods")
	if r.e != nil || r.out != "" || r.err != "No resources found in default namespace.\n" {
		t.Errorf("get pods of none: %+v", r)
	}
}

func TestGetWatch(t *testing.T) {
	c := newCLI(t)
	ctx, cancel := context.WithCancel(controllertest.Context(t))
	defer cancel()
	if err := c.env.Client.Create(ctx, configMap("default", "first", nil, nil)); err != nil {
		t.Fatal(err)
	}
	out, wait := c.start(ctx, "get", "cm", "-w")
	controllertest.Eventually(t, func() bool { return strings.Contains(out.String(), "first") })
	if err := c.env.Client.Create(ctx, configMap("default", "second", nil, map[string]string{"k": "v"})); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool { return strings.Contains(out.String(), "second") })
	if err := c.env.Client.Delete(ctx, configMap("default", "second", nil, nil)); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool { return strings.Count(out.String(), "second") == 2 })
	cancel()
	if err := wait(); err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "first") ||
		!strings.HasPrefix(lines[2], "second") || !strings.HasPrefix(lines[3], "second") {
		t.Errorf("get -w printed:\n%s", out.String())
	}
}

func TestResolveKind(t *testing.T) {
	s := api.NewDefaultScheme()
	for name, want := range map[string]string{
		"po": "Pod", "pods": "Pod", "pod": "Pod", "Pod": "Pod",
		"deploy": "Deployment", "deployments.apps": "Deployment", "Deployment": "Deployment",
		"svc": "Service", "no": "Node", "ns": "Namespace", "cm": "ConfigMap", "rs": "ReplicaSet",
		"ev": "Event", "events": "Event",
	} {
		k, err := resolveKind(s, name)
		if err != nil || k.Kind != want {
			t.Errorf("resolveKind(%q) = %s, %v; want %s", name, k.Kind, err, want)
		}
	}
	if k, err := resolveKind(s, "events"); err == nil && k.Group != "" {
		t.Errorf("events resolves to group %q, want the core v1 Event", k.Group)
	}
}
