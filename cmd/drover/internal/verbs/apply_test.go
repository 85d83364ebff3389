package verbs

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
)

const webV1 = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    tier: front
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        env:
        - {name: MODE, value: fast}
        - {name: LEVEL, value: "3"}
      - name: sidecar
        image: busybox
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  a: "1"
`

// webV2 drops the label tier, the env var LEVEL and the sidecar, and
// changes the image.
const webV2 = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.28
        env:
        - {name: MODE, value: fast}
`

func TestApplyCreateConfigureUnchanged(t *testing.T) {
	c := newCLI(t)
	ctx := controllertest.Context(t)
	v1 := file(t, "web.yaml", webV1)

	wantOut(t, c.must("apply", "-f", v1), "deployment.apps/web created\nconfigmap/web-config created\n")
	wantOut(t, c.must("apply", "-f", v1), "deployment.apps/web unchanged\nconfigmap/web-config unchanged\n")

	// Someone else scales it and labels it: apply keeps what it did not set.
	var d api.Deployment
	if err := c.env.Client.Get(ctx, "default", "web", &d); err != nil {
		t.Fatal(err)
	}
	d.Labels["owner"] = "ops"
	if err := c.env.Client.Update(ctx, &d); err != nil {
		t.Fatal(err)
	}

	v2 := file(t, "web.yaml", webV2)
	wantOut(t, c.must("apply", "-f", v2), "deployment.apps/web configured\n")
	if err := c.env.Client.Get(ctx, "default", "web", &d); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Labels["tier"]; ok {
		t.Errorf("label tier removed from the file is still there: %v", d.Labels)
	}
	if d.Labels["owner"] != "ops" {
		t.Errorf("label owner set by someone else was removed: %v", d.Labels)
	}
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "nginx" || cs[0].Image != "nginx:1.28" {
		t.Fatalf("containers = %+v, want nginx:1.28 alone", cs)
	}
	if len(cs[0].Env) != 1 || cs[0].Env[0].Name != "MODE" {
		t.Errorf("env = %+v, want MODE alone", cs[0].Env)
	}
	if !strings.Contains(d.Annotations[lastAppliedAnnotation], "nginx:1.28") {
		t.Errorf("last-applied annotation not updated: %s", d.Annotations[lastAppliedAnnotation])
	}
	wantOut(t, c.must("apply", "-f", v2), "deployment.apps/web unchanged\n")
}

func TestApplyDirectoryAndStdin(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	cm := func(name string) string { return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n" }
	for p, s := range map[string]string{
		filepath.Join(dir, "a.yaml"):    cm("a"),
		filepath.Join(dir, "notes.txt"): "not a manifest",
		filepath.Join(sub, "b.json"):    `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`,
	} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	wantOut(t, c.must("apply", "-f", dir), "configmap/a created\n")
	wantOut(t, c.must("apply", "-R", "-f", dir), "configmap/a unchanged\nconfigmap/b created\n")

	r := c.runIn(controllertest.Context(t), cm("c"), "apply", "-f", "-", "-n", "kube-system")
	if r.e != nil {
		t.Fatal(r.e)
	}
	wantOut(t, r.out, "configmap/c created\n")
	var got api.ConfigMap
	if err := c.env.Client.Get(controllertest.Context(t), "kube-system", "c", &got); err != nil {
		t.Fatalf("configmap c not in kube-system: %v", err)
	}
	other := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n  namespace: default\n"
	r = c.runIn(controllertest.Context(t), other, "apply", "-f", "-", "-n", "kube-system")
	if r.e == nil || !strings.Contains(r.e.Error(), "does not match -n kube-system") {
		t.Errorf("apply of an object of another namespace than -n: %v", r.e)
	}
}

func TestApplyDecodeErrorNamesFileDocumentField(t *testing.T) {
	c := newCLI(t)
	bad := file(t, "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replcas: 2\n")
	r := c.run("apply", "-f", bad)
	if r.e == nil {
		t.Fatal("apply of a bad manifest succeeded")
	}
	var de *api.DecodeError
	if !errors.As(r.e, &de) {
		t.Errorf("error %v is not a *api.DecodeError", r.e)
	}
	for _, want := range []string{bad, "document 2", "spec.replcas"} {
		if !strings.Contains(r.e.Error(), want) {
			t.Errorf("error %q does not name %q", r.e, want)
		}
	}
	if r.out != "" {
		t.Errorf("something was applied: %q", r.out)
	}
}

func TestCreate(t *testing.T) {
	c := newCLI(t)
	p := file(t, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n")
	wantOut(t, c.must("create", "-f", p), "configmap/one created\n")
	r := c.run("create", "-f", p)
	if r.e == nil || !strings.Contains(r.e.Error(), `configmaps "one" already exists`) {
		t.Errorf("second create: %v, want already exists", r.e)
	}
}

func TestNoKubeconfig(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("HOME", t.TempDir())
	s, err := (&conn{}).connect(newGet())
	if s != nil || !errors.Is(err, ErrNoKubeconfig) {
		t.Errorf("connect = %v, want ErrNoKubeconfig", err)
	}
	if got := ErrNoKubeconfig.Error(); got != "no kubeconfig: run `drover up` or set KUBECONFIG" {
		t.Errorf("message %q", got)
	}
}

// TestApplyTwiceUnchanged applies kinds whose server fills defaults and
// allocations (a Service's clusterIP, a pod's service account and
// tolerations): the second apply must change nothing.
func TestApplyTwiceUnchanged(t *testing.T) {
	c := newCLI(t)
	p := file(t, "all.yaml", `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
---
apiVersion: v1
kind: Pod
metadata:
  name: solo
  namespace: shop
spec:
  containers:
  - name: c
    image: busybox
    command: [sleep, "3600"]
    resources:
      requests: {cpu: 100m, memory: 64Mi}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: shop
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: busybox}
`)
	wantOut(t, c.must("apply", "-f", p), "namespace/shop created\nservice/web created\npod/solo created\njob.batch/once created\n")
	wantOut(t, c.must("apply", "-f", p), "namespace/shop unchanged\nservice/web unchanged\npod/solo unchanged\njob.batch/once unchanged\n")
}

func TestThreeWayPatch(t *testing.T) {
	typ := api.NewDefaultScheme()
	k, _ := resolveKind(typ, "deploy")
	m := func(s string) map[string]any {
		v, err := toMap([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name                        string
		original, modified, current string
		want                        string
	}{
		{"no change", `{"spec":{"replicas":2}}`, `{"spec":{"replicas":2}}`, `{"spec":{"replicas":2,"paused":false}}`, `{}`},
		{"field removed from the file", `{"spec":{"replicas":2,"paused":true}}`, `{"spec":{"replicas":2}}`, `{"spec":{"replicas":2,"paused":true}}`,
			`{"spec":{"paused":null}}`},
		{"field set by others kept", `{"spec":{}}`, `{"spec":{}}`, `{"spec":{"replicas":5}}`, `{}`},
		{"changed value", `{"spec":{"replicas":2}}`, `{"spec":{"replicas":3}}`, `{"spec":{"replicas":5}}`, `{"spec":{"replicas":3}}`},
		{"container removed by key", `{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x"}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x","imagePullPolicy":"Always"},{"name":"b","image":"y"}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"$patch":"delete","name":"b"}]}}}}`},
		{"env removed and image changed in one container", `{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x","env":[{"name":"E","value":"1"}]}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"z"}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x","env":[{"name":"E","value":"1"}]}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"env":null,"image":"z","name":"a"}]}}}}`},
		{"list without a key replaced", `{"spec":{"template":{"spec":{"containers":[{"name":"a","args":["1","2"]}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"a","args":["1"]}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"a","args":["1","2"]}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"args":["1"],"name":"a"}]}}}}`},
		{"no original: nothing deleted", ``, `{"metadata":{"labels":{"a":"1"}}}`, `{"metadata":{"labels":{"a":"1","b":"2"}}}`, `{}`},
	}
	for _, tc := range tests {
		var orig map[string]any
		if tc.original != "" {
			orig = m(tc.original)
		}
		got, err := json.Marshal(threeWayPatch(orig, m(tc.modified), m(tc.current), k.GoType()))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%s: patch %s, want %s", tc.name, got, tc.want)
		}
	}
}
