package verbs

import (
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/builtin"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler"
)

// withCluster runs the built-in controllers, the scheduler and n simulated
// nodes against c's Env.
func withCluster(t *testing.T, c *cli, n int) {
	t.Helper()
	ctx := controllertest.Context(t)
	if _, err := c.env.StartNodes(ctx, controllertest.NodesConfig{Count: n}); err != nil {
		t.Fatal(err)
	}
	mgr, err := c.env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := builtin.Add(mgr, builtin.Config{}); err != nil {
		t.Fatal(err)
	}
	sched, err := scheduler.New(scheduler.Config{Client: c.env.Client, Informers: mgr.Informers()})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Add(sched); err != nil {
		t.Fatal(err)
	}
	if err := c.env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}
}

const webDeploy = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: IMAGE
`

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestRollout(t *testing.T) {
	c := newCLI(t)
	withCluster(t, c, 3)
	ctx := controllertest.Context(t)
	image := func(tag string) string {
		return file(t, "web.yaml", strings.Replace(webDeploy, "IMAGE", "nginx:"+tag, 1))
	}
	image127 := image("1.27")
	c.must("apply", "-f", image127)

	out := c.must("rollout", "status", "deploy/web")
	if got := lastLine(out); got != `deployment "web" successfully rolled out` {
		t.Fatalf("rollout status ended with %q:\n%s", got, out)
	}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n")[:strings.Count(out, "\n")-1] {
		if !strings.HasPrefix(l, "Waiting for deployment") {
			t.Errorf("progress line %q", l)
		}
	}
	wantOut(t, c.must("get", "deploy", "web", "-o", "name"), "deployment.apps/web\n")
	get := c.must("get", "deploy")
	if !strings.Contains(get, "web    3/3     3            3") {
		t.Errorf("get deploy after the rollout:\n%s", get)
	}

	c.must("apply", "-f", image("1.28"))
	out = c.must("rollout", "status", "deployment", "web")
	if got := lastLine(out); got != `deployment "web" successfully rolled out` {
		t.Fatalf("second rollout status ended with %q:\n%s", got, out)
	}
	hist := c.must("rollout", "history", "deploy/web")
	wantOut(t, hist, "deployment.apps/web\nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n")
	if rev := c.must("rollout", "history", "deploy/web", "--revision=1"); !strings.Contains(rev, "image: nginx:1.27") {
		t.Errorf("history --revision=1:\n%s", rev)
	}

	wantOut(t, c.must("rollout", "undo", "deploy/web"), "deployment.apps/web rolled back\n")
	d, err := controllertest.WaitFor(ctx, c.env.Client, "default", "web", func(d *api.Deployment) bool {
		return d.Spec.Template.Spec.Containers[0].Image == "nginx:1.27"
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := lastLine(c.must("rollout", "status", "deploy/web")); got != `deployment "web" successfully rolled out` {
		t.Fatalf("rollout status after undo: %q", got)
	}

	wantOut(t, c.must("rollout", "restart", "deploy/web"), "deployment.apps/web restarted\n")
	if err := c.env.Client.Get(ctx, "default", "web", d); err != nil {
		t.Fatal(err)
	}
	if d.Spec.Template.Annotations[restartedAtAnnotation] == "" {
		t.Errorf("restart set no %s annotation: %v", restartedAtAnnotation, d.Spec.Template.Annotations)
	}

	wantOut(t, c.must("rollout", "pause", "deploy/web"), "deployment.apps/web paused\n")
	if r := c.run("rollout", "pause", "deploy/web"); r.e == nil {
		t.Error("pausing a paused deployment succeeded")
	}
	if r := c.run("rollout", "undo", "deploy/web"); r.e == nil {
		t.Error("undo of a paused deployment succeeded")
	}
	wantOut(t, c.must("rollout", "resume", "deploy/web"), "deployment.apps/web resumed\n")

	wantOut(t, c.must("scale", "deploy/web", "--replicas=5"), "deployment.apps/web scaled\n")
	if got := lastLine(c.must("rollout", "status", "deploy/web")); got != `deployment "web" successfully rolled out` {
		t.Fatalf("rollout status after scale: %q", got)
	}
	if err := c.env.Client.Get(ctx, "default", "web", d); err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 5 || d.Status.AvailableReplicas != 5 {
		t.Errorf("after scale: replicas %d, available %d; want 5", *d.Spec.Replicas, d.Status.AvailableReplicas)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rollout", "status", "deploy/nope"}, `deployments.apps "nope" not found`},
		{[]string{"rollout", "status", "cm/web"}, "rollout works with deployments"},
		{[]string{"scale", "cm/web", "--replicas=1"}, "configmaps cannot be scaled"},
		{[]string{"scale", "deploy/web"}, "--replicas is required"},
		{[]string{"scale", "deploy/nope", "--replicas=1"}, `deployments.apps "nope" not found`},
	} {
		r := c.run(tc.args...)
		if r.e == nil || !strings.Contains(r.e.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.e, tc.want)
		}
	}
}

func TestRolloutStatusTimeout(t *testing.T) {
	c := newCLI(t) // no controllers: the rollout never starts
	c.must("apply", "-f", file(t, "web.yaml", strings.Replace(webDeploy, "IMAGE", "nginx", 1)))
	r := c.run("rollout", "status", "deploy/web", "--timeout=100ms")
	if r.e == nil || !strings.Contains(r.e.Error(), `timed out after 100ms waiting for the rollout of deployment "web"`) {
		t.Errorf("rollout status --timeout: %v", r.e)
	}
	wantOut(t, r.out, "Waiting for deployment spec update to be observed...\n")
	wantOut(t, c.must("rollout", "status", "deploy/web", "--watch=false"), "Waiting for deployment spec update to be observed...\n")
}

func TestRolloutStatusMessages(t *testing.T) {
	d := func(gen, observed int64, want, replicas, updated, available int32, conds ...api.DeploymentCondition) *api.Deployment {
		return &api.Deployment{
			ObjectMeta: api.ObjectMeta{Name: "web", Generation: gen},
			Spec:       api.DeploymentSpec{Replicas: &want},
			Status: api.DeploymentStatus{ObservedGeneration: observed, Replicas: replicas, UpdatedReplicas: updated,
				AvailableReplicas: available, Conditions: conds},
		}
	}
	tests := []struct {
		d    *api.Deployment
		want string
		done bool
		err  string
	}{
		{d(2, 1, 3, 3, 3, 3), "Waiting for deployment spec update to be observed...", false, ""},
		{d(1, 1, 3, 3, 1, 3), `Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...`, false, ""},
		{d(1, 1, 3, 4, 3, 3), `Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...`, false, ""},
		{d(1, 1, 3, 3, 3, 2), `Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...`, false, ""},
		{d(1, 1, 3, 3, 3, 3), `deployment "web" successfully rolled out`, true, ""},
		{d(1, 1, 3, 3, 1, 1, api.DeploymentCondition{Type: "Progressing", Status: "False", Reason: "ProgressDeadlineExceeded"}),
			"", false, `deployment "web" exceeded its progress deadline`},
	}
	for _, tc := range tests {
		msg, done, err := rolloutStatus(tc.d)
		if msg != tc.want || done != tc.done || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("rolloutStatus = %q, %v, %v; want %q, %v, %q", msg, done, err, tc.want, tc.done, tc.err)
		}
	}
}
