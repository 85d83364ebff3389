package manifests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/builtin"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler"
)

// manifest is one object of the files, and the file it came from.
type manifest struct {
	file string
	obj  api.Object
}

func (m manifest) String() string {
	return fmt.Sprintf("%s: %s %s", m.file, m.obj.GetTypeMeta().Kind, m.obj.GetObjectMeta().Name)
}

// load decodes every .yaml file of the directory strictly, in the order
// of their names (as `drover apply -f examples/manifests/` reads them),
// then puts each object in the namespace "default" and defaults it, as
// kubectl and the API server do.
func load(t *testing.T, scheme *api.Scheme) []manifest {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no .yaml files")
	}
	var out []manifest
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := scheme.DecodeAll(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(objs) == 0 {
			t.Fatalf("%s: no objects", f)
		}
		for _, obj := range objs {
			scheme.SetDefaultNamespace(obj, "default")
			api.Default(obj)
			out = append(out, manifest{file: f, obj: obj})
		}
	}
	return out
}

// find returns the object of Go type T named name, or nil.
func find[T any, PT interface {
	*T
	api.Object
}](ms []manifest, name string) PT {
	for _, m := range ms {
		if obj, ok := m.obj.(PT); ok && obj.GetObjectMeta().Name == name {
			return obj
		}
	}
	return nil
}

func TestManifestsDecodeAndValidate(t *testing.T) {
	scheme := api.NewDefaultScheme()
	ms := load(t, scheme)

	var got []string
	for _, m := range ms {
		got = append(got, m.String())
		if errs := scheme.Validate(m.obj); len(errs) > 0 {
			t.Errorf("%s is invalid:\n%v", m, errs)
		}
		if ns := m.obj.GetObjectMeta().Namespace; ns != "default" {
			t.Errorf("%s is in namespace %q: the manifests name none, so that -n chooses", m, ns)
		}
	}
	want := []string{
		"configmap.yaml: ConfigMap web-config",
		"job.yaml: Job greet",
		"secret.yaml: Secret web-secret",
		"web.yaml: Deployment web",
		"web.yaml: Service web",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the manifests hold\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	cm := find[api.ConfigMap](ms, "web-config")
	secret := find[api.Secret](ms, "web-secret")
	dep := find[api.Deployment](ms, "web")
	svc := find[api.Service](ms, "web")
	job := find[api.Job](ms, "greet")

	// What the README says of the Deployment.
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 3 {
		t.Errorf("Deployment web has replicas %v, want 3", dep.Spec.Replicas)
	}
	for _, tmpl := range []struct {
		what string
		spec *api.PodSpec
	}{{"Deployment web", &dep.Spec.Template.Spec}, {"Job greet", &job.Spec.Template.Spec}} {
		for _, c := range tmpl.spec.Containers {
			if len(c.Resources.Requests) == 0 || len(c.Resources.Limits) == 0 {
				t.Errorf("%s: container %s has no resource requests or limits", tmpl.what, c.Name)
			}
		}
		// Every ConfigMap and Secret key the pods read is in the manifests.
		for _, ref := range references(tmpl.spec) {
			var data map[string]bool
			switch {
			case ref.kind == "ConfigMap" && ref.name == cm.Name:
				data = keys(cm.Data)
			case ref.kind == "Secret" && ref.name == secret.Name:
				data = keys(secret.Data)
			default:
				t.Errorf("%s reads %s %s, which the manifests do not hold", tmpl.what, ref.kind, ref.name)
				continue
			}
			if ref.key != "" && !data[ref.key] {
				t.Errorf("%s reads the key %s of %s %s, which has none", tmpl.what, ref.key, ref.kind, ref.name)
			}
		}
	}
	if c := dep.Spec.Template.Spec.Containers[0]; c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
		t.Errorf("Deployment web: container %s has no HTTP readiness probe", c.Name)
	}

	// The Service selects the Deployment's pods, on a port they name.
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("Service web selects %v, which the Deployment's pods (%v) do not match", svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	for _, p := range svc.Spec.Ports {
		if p.TargetPort.String() != "http" || !slices.ContainsFunc(dep.Spec.Template.Spec.Containers[0].Ports,
			func(cp api.ContainerPort) bool { return cp.Name == "http" }) {
			t.Errorf("Service web's port %s targets %s, not the container port named http", p.Name, p.TargetPort.String())
		}
	}
}

// TestManifestsAreStrict checks that the decoding is strict, so that the
// test above would catch a misspelt field in a manifest.
func TestManifestsAreStrict(t *testing.T) {
	data, err := os.ReadFile("web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	typo := bytes.Replace(data, []byte("  replicas: 3"), []byte("  replcas: 3"), 1)
	if bytes.Equal(typo, data) {
		t.Fatal("web.yaml has no line '  replicas: 3' to misspell")
	}
	_, err = api.NewDefaultScheme().DecodeAll(typo)
	if err == nil || !strings.Contains(err.Error(), "replcas") {
		t.Fatalf("web.yaml with spec.replcas decoded with error %v, want one naming the field", err)
	}
}

// reference is a ConfigMap or Secret (and key, if one) a pod spec reads.
type reference struct{ kind, name, key string }

// references lists the ConfigMaps and Secrets spec reads, through
// volumes, env and envFrom.
func references(spec *api.PodSpec) []reference {
	var refs []reference
	for _, v := range spec.Volumes {
		if cm := v.ConfigMap; cm != nil {
			if len(cm.Items) == 0 {
				refs = append(refs, reference{"ConfigMap", cm.Name, ""})
			}
			for _, it := range cm.Items {
				refs = append(refs, reference{"ConfigMap", cm.Name, it.Key})
			}
		}
		if s := v.Secret; s != nil {
			if len(s.Items) == 0 {
				refs = append(refs, reference{"Secret", s.SecretName, ""})
			}
			for _, it := range s.Items {
				refs = append(refs, reference{"Secret", s.SecretName, it.Key})
			}
		}
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		for _, e := range c.Env {
			switch {
			case e.ValueFrom == nil:
			case e.ValueFrom.ConfigMapKeyRef != nil:
				refs = append(refs, reference{"ConfigMap", e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key})
			case e.ValueFrom.SecretKeyRef != nil:
				refs = append(refs, reference{"Secret", e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key})
			}
		}
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				refs = append(refs, reference{"ConfigMap", e.ConfigMapRef.Name, ""})
			}
			if e.SecretRef != nil {
				refs = append(refs, reference{"Secret", e.SecretRef.Name, ""})
			}
		}
	}
	return refs
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// TestManifestsRun applies the manifests to an API server running the
// built-in controllers and the scheduler, with two simulated nodes, and
// waits for what a user would: the Deployment available with its three
// pods behind the Service, and the Job complete once its pod has
// succeeded.
func TestManifestsRun(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	nodes, err := env.StartNodes(ctx, controllertest.NodesConfig{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := builtin.Add(mgr, builtin.Config{}); err != nil {
		t.Fatal(err)
	}
	sched, err := scheduler.New(scheduler.Config{Client: env.Client, Informers: mgr.Informers()})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Add(sched); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}

	// Apply, in the order of the files, as the client sends them.
	for _, m := range load(t, env.Client.Scheme()) {
		if err := env.Client.Create(ctx, m.obj); err != nil {
			t.Fatalf("create %s: %v", m, err)
		}
	}

	// The Deployment: three pods, Running and ready on the nodes, so
	// available.
	d, err := controllertest.WaitFor(ctx, env.Client, "default", "web", func(d *api.Deployment) bool {
		s := d.Status
		return s.ObservedGeneration == d.Generation && s.UpdatedReplicas == 3 && s.AvailableReplicas == 3 && s.UnavailableReplicas == 0
	})
	if err != nil {
		t.Fatal(err)
	}
	if !deploymentCondition(d, api.DeploymentAvailable) {
		t.Errorf("Deployment web has 3 available replicas and conditions %+v, want Available True", d.Status.Conditions)
	}
	var pods api.PodList
	if err := env.Client.List(ctx, &pods, client.InNamespace("default"), client.MatchingLabels{"app": "web"}); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 3 {
		t.Fatalf("%d pods of the Deployment web, want 3", len(pods.Items))
	}
	for _, p := range pods.Items {
		cpu := p.Spec.Containers[0].Resources.Requests["cpu"]
		if p.Spec.NodeName == "" || p.Status.Phase != api.PodRunning || cpu.String() != "100m" {
			t.Errorf("pod %s: %s on node %q requesting cpu %s, want Running on a node requesting 100m", p.Name, p.Status.Phase, p.Spec.NodeName, cpu.String())
		}
	}

	// The Service: a cluster IP, and the three pods' addresses as its
	// endpoints, on the container port its targetPort names.
	var svc api.Service
	if err := env.Client.Get(ctx, "default", "web", &svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == "None" {
		t.Errorf("Service web has cluster IP %q, want one allocated", svc.Spec.ClusterIP)
	}
	_, err = controllertest.WaitFor(ctx, env.Client, "default", "web", func(e *api.Endpoints) bool {
		return len(e.Subsets) == 1 && len(e.Subsets[0].Addresses) == 3 && len(e.Subsets[0].Ports) == 1 && e.Subsets[0].Ports[0].Port == 80
	})
	if err != nil {
		t.Fatal(err)
	}

	// The Secret, as the pods' node agent will read it.
	var secret api.Secret
	if err := env.Client.Get(ctx, "default", "web-secret", &secret); err != nil {
		t.Fatal(err)
	}
	if got := string(secret.Data["API_TOKEN"]); got != "not-a-real-token" {
		t.Errorf("Secret web-secret has API_TOKEN %q, want not-a-real-token", got)
	}

	// The Job: its pod runs until the node says its container exited with
	// 0 (a simulated node runs nothing; Succeed plays the container).
	var jobPod api.Pod
	controllertest.Eventually(t, func() bool {
		var list api.PodList
		if err := env.Client.List(ctx, &list, client.InNamespace("default"), client.MatchingLabels{"app": "greet"}); err != nil {
			t.Fatal(err)
		}
		for _, p := range list.Items {
			if p.Status.Phase == api.PodRunning {
				jobPod = p
				return true
			}
		}
		return false
	})
	if err := nodes.Succeed(ctx, "default", jobPod.Name); err != nil {
		t.Fatal(err)
	}
	job, err := controllertest.WaitFor(ctx, env.Client, "default", "greet", func(j *api.Job) bool {
		return jobCondition(j, api.JobComplete)
	})
	if err != nil {
		t.Fatal(err)
	}
	if job.Status.Succeeded != 1 || job.Status.Failed != 0 || job.Status.CompletionTime == nil {
		t.Errorf("Job greet complete with succeeded %d, failed %d, completionTime %v; want 1, 0 and a time",
			job.Status.Succeeded, job.Status.Failed, job.Status.CompletionTime)
	}
}

// deploymentCondition reports whether d has a condition of type t with
// status True.
func deploymentCondition(d *api.Deployment, t api.DeploymentConditionType) bool {
	return slices.ContainsFunc(d.Status.Conditions, func(c api.DeploymentCondition) bool {
		return c.Type == t && c.Status == api.ConditionTrue
	})
}

// jobCondition reports whether j has a condition of type t with status
// True.
func jobCondition(j *api.Job, t api.JobConditionType) bool {
	return slices.ContainsFunc(j.Status.Conditions, func(c api.JobCondition) bool {
		return c.Type == t && c.Status == api.ConditionTrue
	})
}
