package website_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/examples/custom-controller/website"
)

// These tests run the Website controller in a Manager against a real API
// server in the test's process (controllertest), and check what it does
// through the API, as a user would see it. There is no Deployment
// controller, scheduler or garbage collector in an Env: where the tests
// need one, they play its part.

// start returns an Env that serves Websites, with the Website controller
// running, and a context for the test's calls.
func start(t *testing.T) (*controllertest.Env, context.Context) {
	t.Helper()
	scheme := api.NewDefaultScheme()
	if err := website.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	env := controllertest.New(t, controllertest.WithScheme(scheme))
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := website.Add(mgr); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}
	return env, controllertest.Context(t)
}

func newWebsite(name, image string, replicas, port int32) *website.Website {
	return &website.Website{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec:       website.WebsiteSpec{Image: image, Replicas: &replicas, Port: port},
	}
}

func create(t *testing.T, ctx context.Context, env *controllertest.Env, w *website.Website) *website.Website {
	t.Helper()
	created, err := client.Resource[website.Website](env.Client).Create(ctx, w)
	if err != nil {
		t.Fatalf("create Website %s: %v", w.Name, err)
	}
	return created
}

// change applies f to the stored Website name, read-modify-write, as
// kubectl edit does.
func change(t *testing.T, ctx context.Context, env *controllertest.Env, name string, f func(*website.Website)) *website.Website {
	t.Helper()
	websites := client.Resource[website.Website](env.Client)
	var out *website.Website
	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		w, err := websites.Get(ctx, "default", name)
		if err != nil {
			return err
		}
		f(w)
		out, err = websites.Update(ctx, w)
		return err
	})
	if err != nil {
		t.Fatalf("update Website %s: %v", name, err)
	}
	return out
}

func waitDeployment(t *testing.T, ctx context.Context, env *controllertest.Env, name string, cond func(*api.Deployment) bool) *api.Deployment {
	t.Helper()
	d, err := controllertest.WaitFor(ctx, env.Client, "default", name, cond)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func waitWebsite(t *testing.T, ctx context.Context, env *controllertest.Env, name string, cond func(*website.Website) bool) *website.Website {
	t.Helper()
	w, err := controllertest.WaitFor(ctx, env.Client, "default", name, cond)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func exists[T api.Object](T) bool { return true }

func ready(w *website.Website) *website.Condition { return w.Status.Condition(website.ConditionReady) }

// checkOwned fails the test unless m has one owner reference, w, as its
// controller.
func checkOwned(t *testing.T, what string, m *api.ObjectMeta, w *website.Website) {
	t.Helper()
	ref := m.ControllerRef()
	switch {
	case len(m.OwnerReferences) != 1 || ref == nil:
		t.Errorf("%s: owner references %+v, want one controller reference to Website %s", what, m.OwnerReferences, w.Name)
	case ref.APIVersion != "example.drover.io/v1" || ref.Kind != "Website" || ref.Name != w.Name || ref.UID != w.UID:
		t.Errorf("%s: controller reference %+v, want example.drover.io/v1 Website %s uid %s", what, *ref, w.Name, w.UID)
	case ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion:
		t.Errorf("%s: controller reference without blockOwnerDeletion", what)
	}
}

func TestCreateMakesDeploymentAndService(t *testing.T) {
	env, ctx := start(t)
	w := create(t, ctx, env, newWebsite("hello", "nginx:1.27", 2, 8080))

	d := waitDeployment(t, ctx, env, "hello", exists)
	checkOwned(t, "Deployment", &d.ObjectMeta, w)
	if d.Labels["app"] != "hello" {
		t.Errorf("Deployment labels %v, want app=hello", d.Labels)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment spec.replicas %v, want 2", d.Spec.Replicas)
	}
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels) != 1 || d.Spec.Selector.MatchLabels["app"] != "hello" {
		t.Errorf("Deployment selector %+v, want app=hello", d.Spec.Selector)
	}
	if d.Spec.Template.Labels["app"] != "hello" {
		t.Errorf("pod template labels %v, want app=hello", d.Spec.Template.Labels)
	}
	if cs := d.Spec.Template.Spec.Containers; len(cs) != 1 || cs[0].Image != "nginx:1.27" ||
		len(cs[0].Ports) != 1 || cs[0].Ports[0].ContainerPort != 8080 || cs[0].Ports[0].Name != "http" {
		t.Errorf("containers %+v, want one running nginx:1.27 with port http 8080", cs)
	}

	svc, err := controllertest.WaitFor(ctx, env.Client, "default", "hello", exists[*api.Service])
	if err != nil {
		t.Fatal(err)
	}
	checkOwned(t, "Service", &svc.ObjectMeta, w)
	if svc.Spec.Type != api.ServiceTypeClusterIP {
		t.Errorf("Service type %q, want ClusterIP", svc.Spec.Type)
	}
	if len(svc.Spec.Selector) != 1 || svc.Spec.Selector["app"] != "hello" {
		t.Errorf("Service selector %v, want app=hello", svc.Spec.Selector)
	}
	if ps := svc.Spec.Ports; len(ps) != 1 || ps[0].Port != 8080 || ps[0].TargetPort != api.FromString("http") {
		t.Errorf("Service ports %+v, want 8080 to the pods' port http", ps)
	}

	// Without a Deployment controller nothing becomes ready; the status
	// says so.
	got := waitWebsite(t, ctx, env, "hello", func(w *website.Website) bool { return w.Status.URL != "" })
	if got.Status.ObservedGeneration != w.Generation || got.Status.URL != "http://hello.default.svc:8080" || got.Status.ReadyReplicas != 0 {
		t.Errorf("status %+v, want observedGeneration %d, url http://hello.default.svc:8080, 0 ready", got.Status, w.Generation)
	}
	if c := ready(got); c == nil || c.Status != api.ConditionFalse || c.Reason != website.ReasonRolloutInProgress || c.LastTransitionTime.IsZero() {
		t.Errorf("Ready condition %+v, want False, %s, with a transition time", c, website.ReasonRolloutInProgress)
	}

	// Each creation is an Event about the Website.
	waitEvents(t, ctx, env, "hello", "Created Deployment hello", "Created Service hello")
}

// waitEvents waits until the Events about the Website name include one
// with each of messages.
func waitEvents(t *testing.T, ctx context.Context, env *controllertest.Env, name string, messages ...string) {
	t.Helper()
	events := client.Resource[api.Event](env.Client)
	var seen []string
	controllertest.Eventually(t, func() bool {
		list, err := events.List(ctx, client.InNamespace("default"))
		if err != nil {
			t.Fatal(err)
		}
		seen = seen[:0]
		for _, ev := range list.Items {
			if ev.InvolvedObject.Kind == "Website" && ev.InvolvedObject.Name == name {
				seen = append(seen, ev.Message)
			}
		}
		for _, m := range messages {
			if !slices.Contains(seen, m) {
				return false
			}
		}
		return true
	})
}

func TestDefaults(t *testing.T) {
	env, ctx := start(t)
	w := create(t, ctx, env, &website.Website{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "plain"},
		Spec:       website.WebsiteSpec{Image: "nginx"},
	})
	if w.Spec.Replicas == nil || *w.Spec.Replicas != 1 || w.Spec.Port != 80 {
		t.Fatalf("spec %+v: want replicas 1 and port 80 by default", w.Spec)
	}
	d := waitDeployment(t, ctx, env, "plain", exists)
	if *d.Spec.Replicas != 1 || d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort != 80 {
		t.Errorf("Deployment %+v: want 1 replica on port 80", d.Spec)
	}
}

func TestSpecChangeUpdatesChildren(t *testing.T) {
	env, ctx := start(t)
	create(t, ctx, env, newWebsite("hello", "nginx:1.27", 1, 80))
	waitDeployment(t, ctx, env, "hello", exists)

	w := change(t, ctx, env, "hello", func(w *website.Website) {
		w.Spec.Image = "nginx:1.28"
		w.Spec.Replicas = new(int32(3))
		w.Spec.Port = 8080
	})
	if w.Generation != 2 {
		t.Fatalf("generation %d after a spec change, want 2", w.Generation)
	}
	d := waitDeployment(t, ctx, env, "hello", func(d *api.Deployment) bool {
		return d.Spec.Template.Spec.Containers[0].Image == "nginx:1.28"
	})
	if *d.Spec.Replicas != 3 || d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort != 8080 {
		t.Errorf("Deployment spec %+v, want 3 replicas on port 8080", d.Spec)
	}
	if d.Generation != 2 {
		t.Errorf("Deployment generation %d, want 2: one update for the whole change", d.Generation)
	}
	if _, err := controllertest.WaitFor(ctx, env.Client, "default", "hello", func(s *api.Service) bool {
		return s.Spec.Ports[0].Port == 8080
	}); err != nil {
		t.Fatal(err)
	}
	got := waitWebsite(t, ctx, env, "hello", func(w *website.Website) bool { return w.Status.ObservedGeneration == 2 })
	if got.Status.URL != "http://hello.default.svc:8080" {
		t.Errorf("status.url %q, want the new port", got.Status.URL)
	}
	waitEvents(t, ctx, env, "hello", "Updated Deployment hello to the Website's spec", "Updated Service hello to the Website's spec")
}

func TestChildrenArePutBack(t *testing.T) {
	env, ctx := start(t)
	create(t, ctx, env, newWebsite("hello", "nginx:1.27", 2, 80))
	d := waitDeployment(t, ctx, env, "hello", exists)
	deployments := client.Resource[api.Deployment](env.Client)

	// Deleted by hand: made again.
	if err := deployments.Delete(ctx, "default", "hello", client.DeleteOptions{Preconditions: &client.Preconditions{UID: d.UID}}); err != nil {
		t.Fatal(err)
	}
	again := waitDeployment(t, ctx, env, "hello", func(n *api.Deployment) bool { return n.UID != d.UID })
	if *again.Spec.Replicas != 2 {
		t.Errorf("recreated Deployment has %d replicas, want 2", *again.Spec.Replicas)
	}

	// Edited by hand: the Website's fields are put back, the others kept.
	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		d, err := deployments.Get(ctx, "default", "hello")
		if err != nil {
			return err
		}
		d.Spec.Replicas = new(int32(5))
		d.Spec.Template.Spec.Containers[0].Image = "httpd"
		d.Spec.MinReadySeconds = 7
		_, err = deployments.Update(ctx, d)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fixed := waitDeployment(t, ctx, env, "hello", func(n *api.Deployment) bool {
		return *n.Spec.Replicas == 2 && n.Spec.Template.Spec.Containers[0].Image == "nginx:1.27"
	})
	if fixed.Spec.MinReadySeconds != 7 {
		t.Errorf("minReadySeconds %d, want the 7 set by hand kept", fixed.Spec.MinReadySeconds)
	}

	// The Service too.
	svc, err := controllertest.WaitFor(ctx, env.Client, "default", "hello", exists[*api.Service])
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Resource[api.Service](env.Client).Delete(ctx, "default", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := controllertest.WaitFor(ctx, env.Client, "default", "hello", func(s *api.Service) bool { return s.UID != svc.UID }); err != nil {
		t.Fatal(err)
	}
}

// setDeploymentStatus writes the status a Deployment controller would,
// for ready of the Deployment's replicas.
func setDeploymentStatus(t *testing.T, ctx context.Context, env *controllertest.Env, name string, ready int32) {
	t.Helper()
	deployments := client.Resource[api.Deployment](env.Client)
	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		d, err := deployments.Get(ctx, "default", name)
		if err != nil {
			return err
		}
		n := *d.Spec.Replicas
		d.Status = api.DeploymentStatus{
			ObservedGeneration: d.Generation,
			Replicas:           n,
			UpdatedReplicas:    n,
			ReadyReplicas:      ready,
			AvailableReplicas:  ready,
		}
		_, err = deployments.UpdateStatus(ctx, d)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStatusFollowsDeployment(t *testing.T) {
	env, ctx := start(t)
	create(t, ctx, env, newWebsite("hello", "nginx:1.27", 2, 80))
	waitDeployment(t, ctx, env, "hello", exists)

	setDeploymentStatus(t, ctx, env, "hello", 1)
	w := waitWebsite(t, ctx, env, "hello", func(w *website.Website) bool { return w.Status.ReadyReplicas == 1 })
	if c := ready(w); c == nil || c.Status != api.ConditionFalse || c.Reason != website.ReasonNotReady || c.Message != "1 of 2 replicas ready" {
		t.Errorf("Ready condition %+v, want False, %s, \"1 of 2 replicas ready\"", c, website.ReasonNotReady)
	}

	setDeploymentStatus(t, ctx, env, "hello", 2)
	w = waitWebsite(t, ctx, env, "hello", func(w *website.Website) bool { return w.Status.ReadyReplicas == 2 })
	c := ready(w)
	if c == nil || c.Status != api.ConditionTrue || c.Reason != website.ReasonReady || c.ObservedGeneration != w.Generation {
		t.Fatalf("Ready condition %+v, want True, %s, for generation %d", c, website.ReasonReady, w.Generation)
	}

	// Scaling up: not ready until the Deployment's controller has seen
	// the new spec and the new replicas are ready.
	change(t, ctx, env, "hello", func(w *website.Website) { w.Spec.Replicas = new(int32(3)) })
	w = waitWebsite(t, ctx, env, "hello", func(w *website.Website) bool { return w.Status.ObservedGeneration == 2 })
	if c := ready(w); c.Status != api.ConditionFalse || c.Reason != website.ReasonRolloutInProgress {
		t.Errorf("Ready condition after scaling %+v, want False, %s", c, website.ReasonRolloutInProgress)
	}
	setDeploymentStatus(t, ctx, env, "hello", 3)
	w = waitWebsite(t, ctx, env, "hello", func(w *website.Website) bool { return w.Status.ReadyReplicas == 3 })
	if c := ready(w); c.Status != api.ConditionTrue {
		t.Errorf("Ready condition %+v, want True", c)
	}

	// All replicas lost: the count goes back to 0, not left at 3.
	setDeploymentStatus(t, ctx, env, "hello", 0)
	w = waitWebsite(t, ctx, env, "hello", func(w *website.Website) bool { return w.Status.ReadyReplicas == 0 })
	if c := ready(w); c.Status != api.ConditionFalse {
		t.Errorf("Ready condition %+v, want False", c)
	}
}

func TestInvalidWebsiteIsRejected(t *testing.T) {
	env, ctx := start(t)
	websites := client.Resource[website.Website](env.Client)

	for _, tc := range []struct {
		name   string
		w      *website.Website
		fields []string
	}{
		{"no image", newWebsite("a", "", 1, 80), []string{"spec.image"}},
		{"everything wrong", newWebsite("b", "nginx 1.27", -1, 70000), []string{"spec.image", "spec.replicas", "spec.port"}},
		{"name not a DNS label", newWebsite("my.site", "nginx", 1, 80), []string{"metadata.name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := websites.Create(ctx, tc.w)
			checkInvalid(t, err, tc.fields...)
		})
	}

	// An update is validated too. The controller writes the new website's
	// status meanwhile: a Conflict means read it again and retry.
	create(t, ctx, env, newWebsite("hello", "nginx", 1, 80))
	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		w, err := websites.Get(ctx, "default", "hello")
		if err != nil {
			t.Fatal(err)
		}
		w.Spec.Image = ""
		_, err = websites.Update(ctx, w)
		return err
	})
	checkInvalid(t, err, "spec.image")
}

// checkInvalid fails the test unless err is a 422 Invalid whose causes
// name exactly fields.
func checkInvalid(t *testing.T, err error, fields ...string) {
	t.Helper()
	var se *api.StatusError
	if !errors.As(err, &se) || se.Status.Code != http.StatusUnprocessableEntity || !api.IsInvalid(err) {
		t.Fatalf("got %v, want a 422 Invalid", err)
	}
	var got []string
	for _, c := range se.Status.Details.Causes {
		got = append(got, c.Field)
	}
	if !slices.Equal(got, fields) {
		t.Errorf("causes name %q, want %q (%v)", got, fields, err)
	}
}

func TestForeignDeploymentIsLeftAlone(t *testing.T) {
	env, ctx := start(t)
	labels := map[string]string{"app": "taken"}
	mine := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "taken"},
		Spec: api.DeploymentSpec{
			Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "httpd"}}},
			},
		},
	}
	if err := env.Client.Create(ctx, mine); err != nil {
		t.Fatal(err)
	}
	create(t, ctx, env, newWebsite("taken", "nginx", 1, 80))

	w := waitWebsite(t, ctx, env, "taken", func(w *website.Website) bool {
		c := ready(w)
		return c != nil && c.Reason == website.ReasonNotOwned
	})
	if c := ready(w); c.Status != api.ConditionFalse {
		t.Errorf("Ready condition %+v, want False", c)
	}
	waitEvents(t, ctx, env, "taken", "Created Service taken")
	var d api.Deployment
	if err := env.Client.Get(ctx, "default", "taken", &d); err != nil {
		t.Fatal(err)
	}
	if d.ResourceVersion != mine.ResourceVersion {
		t.Errorf("the Deployment made by hand was changed: %+v", d)
	}
	if msg := ready(w).Message; !strings.Contains(msg, "Deployment default/taken exists and has no controller") {
		t.Errorf("Ready message %q does not say which object is in the way", msg)
	}
}
