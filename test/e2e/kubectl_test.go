package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The objects of testdata/app.yaml, as kubectl names them.
var appObjects = []string{
	"deployment.apps/web",
	"service/web",
	"configmap/web-config",
	"secret/web-secret",
	"job.batch/migrate",
}

// applyApp applies testdata/app.yaml in ns and checks that every object was
// created.
func applyApp(t *testing.T, ns string) {
	t.Helper()
	res := mustKubectl(t, "apply", "-n", ns, "-f", testdata("app.yaml"))
	for _, obj := range appObjects {
		wantLine(t, res.stdout, obj+" created")
	}
}

// wantLine fails the test unless out has a line equal to line.
func wantLine(t *testing.T, out, line string) {
	t.Helper()
	for l := range strings.Lines(out) {
		if strings.TrimRight(l, "\n") == line {
			return
		}
	}
	t.Errorf("no line %q in:\n%s", line, out)
}

// waitRolledOut waits until the controllers have rolled Deployment name in
// ns out to its latest generation with want replicas, all of them updated,
// ready and available: from then on nothing writes it by itself.
func waitRolledOut(t *testing.T, ns, name string, want int32) {
	t.Helper()
	cs := clientset(t)
	eventually(t, func(ctx context.Context) (bool, string) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s := d.Status
		return s.ObservedGeneration >= d.Generation && s.Replicas == want && s.UpdatedReplicas == want &&
				s.ReadyReplicas == want && s.AvailableReplicas == want,
			fmt.Sprintf("deployment %s: generation %d, status %+v; want it observed with %d replicas, all updated, ready and available",
				name, d.Generation, s, want)
	})
}

// wantMatch fails the test unless out matches the regular expression re.
func wantMatch(t *testing.T, out, re string) {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(out) {
		t.Errorf("output does not match %q:\n%s", re, out)
	}
}

// headers returns the column headers of the first line of a kubectl table.
func headers(out string) []string {
	first, _, _ := strings.Cut(out, "\n")
	return strings.Fields(first)
}

func TestKubectlApply(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cs := clientset(t)
	ctx := t.Context()

	applyApp(t, ns)
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment: %v", err)
	}
	if got := *d.Spec.Replicas; got != 2 {
		t.Errorf("spec.replicas = %d, want 2", got)
	}
	if got := len(d.Spec.Template.Spec.Containers); got != 2 {
		t.Errorf("%d containers, want 2", got)
	}
	if d.Annotations[corev1.LastAppliedConfigAnnotation] == "" {
		t.Errorf("no %s annotation: %v", corev1.LastAppliedConfigAnnotation, d.Annotations)
	}
	svc, err := cs.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get service: %v", err)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("service spec = %+v, want one port 80 and the default type ClusterIP", svc.Spec)
	}
	sec, err := cs.CoreV1().Secrets(ns).Get(ctx, "web-secret", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get secret: %v", err)
	}
	if got := string(sec.Data["password"]); got != "secret" {
		t.Errorf("secret data password = %q, want %q", got, "secret")
	}
	if _, err := cs.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{}); err != nil {
		t.Errorf("get job: %v", err)
	}

	res := mustKubectl(t, "apply", "-n", ns, "-f", testdata("app.yaml"))
	for _, obj := range appObjects {
		wantLine(t, res.stdout, obj+" unchanged")
	}

	res = mustKubectl(t, "apply", "-n", ns, "-f", testdata("app-v2.yaml"))
	for _, obj := range appObjects {
		switch obj {
		case "deployment.apps/web", "configmap/web-config":
			wantLine(t, res.stdout, obj+" configured")
		default:
			wantLine(t, res.stdout, obj+" unchanged")
		}
	}
	d, err = cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment: %v", err)
	}
	if got := *d.Spec.Replicas; got != 3 {
		t.Errorf("after apply of app-v2.yaml: spec.replicas = %d, want 3", got)
	}
	if d.Generation != 2 {
		t.Errorf("after a spec change: metadata.generation = %d, want 2", d.Generation)
	}
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "web-config", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap: %v", err)
	}
	if got := cm.Data["greeting"]; got != "bonjour" {
		t.Errorf("after apply of app-v2.yaml: data.greeting = %q, want bonjour", got)
	}
}

// TestKubectlCreate runs the kubectl commands that build an object
// themselves and send it through client-go's typed clients (in protobuf).
func TestKubectlCreate(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cs := clientset(t)
	ctx := t.Context()
	tests := []struct {
		args  []string
		out   string
		check func() error
	}{
		{
			[]string{"create", "configmap", "cm", "--from-literal=a=1"}, "configmap/cm created",
			func() error {
				cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{})
				if err == nil && cm.Data["a"] != "1" {
					err = fmt.Errorf("data = %v, want a=1", cm.Data)
				}
				return err
			},
		},
		{
			[]string{"create", "secret", "generic", "s", "--from-literal=password=secret"}, "secret/s created",
			func() error {
				s, err := cs.CoreV1().Secrets(ns).Get(ctx, "s", metav1.GetOptions{})
				if err == nil && string(s.Data["password"]) != "secret" {
					err = fmt.Errorf("data = %v, want password=secret", s.Data)
				}
				return err
			},
		},
		{
			[]string{"create", "deployment", "web", "--image=nginx:1.25", "--replicas=2"}, "deployment.apps/web created",
			func() error {
				d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
				if err == nil && (*d.Spec.Replicas != 2 || d.Spec.Selector.MatchLabels["app"] != "web") {
					err = fmt.Errorf("spec = %+v, want 2 replicas of app=web", d.Spec)
				}
				return err
			},
		},
		{
			[]string{"create", "service", "clusterip", "web", "--tcp=80:8080"}, "service/web created",
			func() error {
				_, err := cs.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			res := mustKubectl(t, append([]string{"-n", ns}, tt.args...)...)
			wantLine(t, res.stdout, tt.out)
			if err := tt.check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestKubectlApplyUnknownField(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	res := kubectl(t, "apply", "-n", ns, "-f", testdata("typo.yaml"))
	if res.code == 0 {
		t.Fatalf("apply of a manifest with spec.replcas succeeded: %s", res)
	}
	wantMatch(t, res.stderr, `replcas`)
	_, err := clientset(t).AppsV1().Deployments(ns).Get(t.Context(), "typo", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("get the deployment of the rejected manifest: err = %v, want NotFound", err)
	}
}

func TestKubectlGet(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	applyApp(t, ns)
	cs := clientset(t)
	// Make pods by hand, one matching app=web, that no scheduler takes:
	// Pending on either target.
	for name, app := range map[string]string{"web-1": "web", "db-1": "db"} {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{
				SchedulerName: unscheduled,
				Containers:    []corev1.Container{{Name: "c", Image: "busybox:1.36"}},
			},
		}
		if _, err := cs.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", name, err)
		}
	}
	// The in-process server runs no controllers: the Deployment stays
	// at 0 of 2. drover up's roll it out: wait for 2 of 2.
	deployment := `(?m)^web\s+0/2\s+0\s+0\s+\S+$`
	if target == targetUp {
		deployment = `(?m)^web\s+2/2\s+2\s+2\s+\S+$`
		waitRolledOut(t, ns, "web", 2)
	}

	tests := []struct {
		name string
		args []string
		// headers are the table's column headers, if it is a table.
		headers []string
		// match and noMatch are regular expressions that stdout must
		// and must not match.
		match, noMatch []string
	}{
		{
			name:    "deployments",
			args:    []string{"get", "deployments"},
			headers: []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"},
			match:   []string{deployment},
		},
		{
			name:    "deployments wide",
			args:    []string{"get", "deploy", "-o", "wide"},
			headers: []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"},
			match:   []string{`(?m)^web\s.*\sweb,sidecar\s+nginx:1\.25,busybox:1\.36\s+app=web$`},
		},
		{
			name:    "services",
			args:    []string{"get", "services"},
			headers: []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"},
			match:   []string{`(?m)^web\s+ClusterIP\s+\S+\s+<none>\s+80/TCP\s+\S+$`},
		},
		{
			name:    "configmaps",
			args:    []string{"get", "configmaps"},
			headers: []string{"NAME", "DATA", "AGE"},
			match:   []string{`(?m)^web-config\s+1\s+\S+$`},
		},
		{
			name:    "jobs",
			args:    []string{"get", "jobs"},
			headers: []string{"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"},
			match:   []string{`(?m)^migrate\s`},
		},
		{
			name:    "pods by label",
			args:    []string{"get", "pods", "-l", "app=web"},
			headers: []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"},
			match:   []string{`(?m)^web-1\s+0/1\s+Pending\s+0\s+\S+$`},
			noMatch: []string{`db-1`},
		},
		{
			name:    "all namespaces",
			args:    []string{"get", "configmaps", "-A"},
			headers: []string{"NAMESPACE", "NAME", "DATA", "AGE"},
			match:   []string{`(?m)^` + ns + `\s+web-config\s+1\s+\S+$`},
		},
		{
			name:    "several kinds by label",
			args:    []string{"get", "deployments,services,configmaps", "-l", "app=web", "-o", "name"},
			match:   []string{`(?m)^deployment.apps/web$`, `(?m)^service/web$`, `(?m)^configmap/web-config$`},
			noMatch: []string{`kube-root-ca`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !slices.Contains(args, "-A") {
				args = append([]string{"-n", ns}, args...)
			}
			res := mustKubectl(t, args...)
			if tt.headers != nil {
				if got := headers(res.stdout); strings.Join(got, " ") != strings.Join(tt.headers, " ") {
					t.Errorf("column headers = %q, want %q; output:\n%s", got, tt.headers, res.stdout)
				}
			}
			for _, re := range tt.match {
				wantMatch(t, res.stdout, re)
			}
			for _, re := range tt.noMatch {
				if regexp.MustCompile(re).MatchString(res.stdout) {
					t.Errorf("output matches %q, it should not:\n%s", re, res.stdout)
				}
			}
		})
	}

	t.Run("yaml", func(t *testing.T) {
		res := mustKubectl(t, "get", "-n", ns, "deployment", "web", "-o", "yaml")
		var d struct {
			Kind     string
			Metadata struct{ Name, Namespace, ResourceVersion, UID string }
			Spec     struct{ Replicas int }
		}
		if err := yaml.Unmarshal([]byte(res.stdout), &d); err != nil {
			t.Fatalf("decode the YAML: %v", err)
		}
		if d.Kind != "Deployment" || d.Metadata.Name != "web" || d.Metadata.Namespace != ns || d.Spec.Replicas != 2 {
			t.Errorf("got %+v, want the Deployment web in %s with 2 replicas", d, ns)
		}
		if d.Metadata.UID == "" || d.Metadata.ResourceVersion == "" {
			t.Errorf("no uid or resourceVersion: %+v", d.Metadata)
		}
	})
	t.Run("json list", func(t *testing.T) {
		res := mustKubectl(t, "get", "-n", ns, "configmaps,secrets", "-l", "app=web", "-o", "json")
		var l struct {
			Kind  string
			Items []struct {
				Kind     string
				Metadata struct{ Name string }
			}
		}
		if err := json.Unmarshal([]byte(res.stdout), &l); err != nil {
			t.Fatalf("decode the JSON: %v", err)
		}
		var got []string
		for _, it := range l.Items {
			got = append(got, it.Kind+"/"+it.Metadata.Name)
		}
		if l.Kind != "List" || strings.Join(got, " ") != "ConfigMap/web-config Secret/web-secret" {
			t.Errorf("got a %s of %q, want a List of ConfigMap/web-config Secret/web-secret", l.Kind, got)
		}
	})
	t.Run("jsonpath", func(t *testing.T) {
		res := mustKubectl(t, "get", "-n", ns, "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[*].image}")
		if res.stdout != "nginx:1.25 busybox:1.36" {
			t.Errorf("stdout = %q, want the two images", res.stdout)
		}
	})
}

func TestKubectlGetNotFound(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	for _, args := range [][]string{
		{"get", "configmap", "nope"},
		{"describe", "configmap", "nope"},
		{"delete", "configmap", "nope"},
	} {
		t.Run(args[0], func(t *testing.T) {
			res := kubectl(t, append([]string{"-n", ns}, args...)...)
			if res.code == 0 {
				t.Fatalf("kubectl %s succeeded on a missing object", args[0])
			}
			wantMatch(t, res.stderr, `Error from server \(NotFound\): configmaps "nope" not found`)
		})
	}
	res := kubectl(t, "get", "-n", ns, "widgets")
	if res.code == 0 {
		t.Fatalf("get of an unknown resource type succeeded")
	}
	wantMatch(t, res.stderr, `the server doesn't have a resource type "widgets"`)
}

func TestKubectlGetWatch(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cs := clientset(t)
	ctx := t.Context()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "first"}, Data: map[string]string{"a": "1"}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := startKubectl(t, "get", "-n", ns, "configmaps", "-w", "--output-watch-events")
	w.expectLine(t, `^EVENT\s+NAME\s+DATA\s+AGE$`)
	w.expectLine(t, `^ADDED\s+first\s+1\s`)

	cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "second"}, Data: map[string]string{"a": "1", "b": "2"}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.expectLine(t, `^ADDED\s+second\s+2\s`)

	cm.Data["c"] = "3"
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.expectLine(t, `^MODIFIED\s+second\s+3\s`)

	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "first", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w.expectLine(t, `^DELETED\s+first\s`)
}

func TestKubectlDescribe(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	applyApp(t, ns)
	cs := clientset(t)
	ctx := t.Context()

	// No scheduler takes it: Pending on either target.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			SchedulerName: unscheduled,
			Containers: []corev1.Container{{
				Name: "web", Image: "nginx:1.25", Ports: []corev1.ContainerPort{{ContainerPort: 80}},
			}},
		},
	}
	pod, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	// An event about the pod, and one about another object, which describe
	// must leave out: it finds events by field selector on involvedObject.
	for _, ev := range []*corev1.Event{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "web-1.scheduled"},
			InvolvedObject: corev1.ObjectReference{
				Kind: "Pod", Namespace: ns, Name: "web-1", UID: pod.UID, APIVersion: "v1",
			},
			Reason: "Scheduled", Message: "Successfully assigned to node-a", Type: corev1.EventTypeNormal,
			Source: corev1.EventSource{Component: "default-scheduler"}, Count: 1,
			FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: "other.pulled"},
			InvolvedObject: corev1.ObjectReference{
				Kind: "Pod", Namespace: ns, Name: "other", UID: "other-uid", APIVersion: "v1",
			},
			Reason: "Pulled", Message: "not about web-1", Type: corev1.EventTypeNormal, Count: 1,
			FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
		},
	} {
		if _, err := cs.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create event %s: %v", ev.Name, err)
		}
	}

	t.Run("deployment", func(t *testing.T) {
		res := mustKubectl(t, "describe", "-n", ns, "deployment", "web")
		for _, re := range []string{
			`(?m)^Name:\s+web$`,
			`(?m)^Namespace:\s+` + ns + `$`,
			`(?m)^Selector:\s+app=web$`,
			`(?m)^Replicas:\s+2 desired`,
			`(?m)^StrategyType:\s+RollingUpdate$`,
			`(?m)^\s+web:$`,
			`(?m)^\s+Image:\s+nginx:1\.25$`,
			`(?m)^\s+sidecar:$`,
		} {
			wantMatch(t, res.stdout, re)
		}
	})
	t.Run("pod", func(t *testing.T) {
		res := mustKubectl(t, "describe", "-n", ns, "pod", "web-1")
		for _, re := range []string{
			`(?m)^Name:\s+web-1$`,
			`(?m)^Namespace:\s+` + ns + `$`,
			`(?m)^Labels:\s+app=web$`,
			`(?m)^Status:\s+Pending$`,
			`(?m)^Containers:$`,
			`(?m)^\s+Image:\s+nginx:1\.25$`,
			`(?m)^\s+Port:\s+80/TCP$`,
			`(?m)^Events:$`,
			`(?m)^\s+Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned to node-a$`,
		} {
			wantMatch(t, res.stdout, re)
		}
		if strings.Contains(res.stdout, "not about web-1") {
			t.Errorf("describe pod web-1 shows an event of another object:\n%s", res.stdout)
		}
	})
	t.Run("events for", func(t *testing.T) {
		res := mustKubectl(t, "events", "-n", ns, "--for", "pod/web-1")
		wantMatch(t, res.stdout, `(?m)^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$`)
		wantMatch(t, res.stdout, `(?m)^\S+\s+Normal\s+Scheduled\s+Pod/web-1\s+Successfully assigned to node-a$`)
		if strings.Contains(res.stdout, "not about web-1") {
			t.Errorf("events --for pod/web-1 shows an event of another object:\n%s", res.stdout)
		}
	})
}

func TestKubectlLabelAnnotate(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cs := clientset(t)
	ctx := t.Context()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	meta := func(t *testing.T) metav1.ObjectMeta {
		t.Helper()
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.ObjectMeta
	}

	tests := []struct {
		verb string // label or annotate
		args []string
		// stdout is the expected output, or "" for a failure whose
		// stderr matches errRE.
		stdout, errRE string
		// want is the labels or annotations afterwards.
		want map[string]string
	}{
		{"label", []string{"tier=front"}, "configmap/cm labeled", "", map[string]string{"tier": "front"}},
		{"label", []string{"tier=back"}, "", `'tier' already has a value \(front\), and --overwrite is false`, map[string]string{"tier": "front"}},
		{"label", []string{"tier=back", "--overwrite"}, "configmap/cm labeled", "", map[string]string{"tier": "back"}},
		{"label", []string{"env=prod"}, "configmap/cm labeled", "", map[string]string{"env": "prod", "tier": "back"}},
		{"label", []string{"tier-"}, "configmap/cm unlabeled", "", map[string]string{"env": "prod"}},
		{"annotate", []string{"owner=alice"}, "configmap/cm annotated", "", map[string]string{"owner": "alice"}},
		{"annotate", []string{"owner=bob"}, "", `--overwrite is false but found the following declared annotation\(s\): 'owner' already has a value \(alice\)`, map[string]string{"owner": "alice"}},
		{"annotate", []string{"owner=bob", "--overwrite"}, "configmap/cm annotated", "", map[string]string{"owner": "bob"}},
		{"annotate", []string{"owner-"}, "configmap/cm annotated", "", map[string]string{}},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d %s %s", i, tt.verb, strings.Join(tt.args, " ")), func(t *testing.T) {
			res := kubectl(t, append([]string{tt.verb, "-n", ns, "configmap", "cm"}, tt.args...)...)
			if tt.stdout != "" {
				if res.code != 0 {
					t.Fatalf("failed: %s", res)
				}
				wantLine(t, res.stdout, tt.stdout)
			} else {
				if res.code == 0 {
					t.Fatalf("succeeded, want an error matching %q: %s", tt.errRE, res)
				}
				wantMatch(t, res.stderr, tt.errRE)
			}
			m := meta(t)
			got := m.Labels
			if tt.verb == "annotate" {
				got = m.Annotations
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("%s are %v, want %v", map[string]string{"label": "labels", "annotate": "annotations"}[tt.verb], got, tt.want)
			}
		})
	}
}

func TestKubectlPatch(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	applyApp(t, ns)
	cs := clientset(t)
	ctx := t.Context()
	images := func(t *testing.T) string {
		t.Helper()
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, c := range d.Spec.Template.Spec.Containers {
			s = append(s, c.Name+"="+c.Image)
		}
		return strings.Join(s, " ")
	}

	// In order: each starts from the state the previous one left.
	tests := []struct {
		name, typ, patch, want string
	}{
		{
			// Strategic merge: containers merge by name, the sidecar stays.
			"strategic", "strategic", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}`,
			"web=nginx:1.26 sidecar=busybox:1.36",
		},
		{
			// JSON patch: replace by index.
			"json", "json", `[{"op":"replace","path":"/spec/template/spec/containers/1/image","value":"busybox:1.37"}]`,
			"web=nginx:1.26 sidecar=busybox:1.37",
		},
		{
			// Merge patch: a list is replaced as a whole.
			"merge", "merge", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}`,
			"web=nginx:1.27",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustKubectl(t, "patch", "-n", ns, "deployment", "web", "--type", tt.typ, "-p", tt.patch)
			wantLine(t, res.stdout, "deployment.apps/web patched")
			if got := images(t); got != tt.want {
				t.Errorf("containers after the patch: %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("no change", func(t *testing.T) {
		// kubectl says "no change" when the object it read before the
		// patch equals the one the patch returns: drover up's deployment
		// controller, rolling out the patches above, must have finished
		// writing the status first.
		if target == targetUp {
			waitRolledOut(t, ns, "web", 2)
		}
		res := mustKubectl(t, "patch", "-n", ns, "deployment", "web", "-p", `{"spec":{"replicas":2}}`)
		wantLine(t, res.stdout, "deployment.apps/web patched (no change)")
	})
	t.Run("invalid", func(t *testing.T) {
		res := kubectl(t, "patch", "-n", ns, "deployment", "web", "--type", "merge", "-p", `{"spec":{"replicas":-1}}`)
		if res.code == 0 {
			t.Fatalf("a patch to replicas -1 succeeded: %s", res)
		}
		wantMatch(t, res.stderr, `spec\.replicas`)
	})
}

func TestKubectlScale(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	applyApp(t, ns)
	res := mustKubectl(t, "scale", "-n", ns, "deployment", "web", "--replicas=5")
	wantLine(t, res.stdout, "deployment.apps/web scaled")
	cs := clientset(t)
	d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *d.Spec.Replicas; got != 5 {
		t.Errorf("spec.replicas = %d, want 5", got)
	}
	sc, err := cs.AppsV1().Deployments(ns).GetScale(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get the scale subresource: %v", err)
	}
	if sc.Spec.Replicas != 5 || sc.Status.Selector != "app=web" {
		t.Errorf("scale = spec %+v status %+v, want 5 replicas and selector app=web", sc.Spec, sc.Status)
	}

	// --current-replicas is a precondition.
	res = kubectl(t, "scale", "-n", ns, "deployment", "web", "--current-replicas=2", "--replicas=1")
	if res.code == 0 {
		t.Errorf("scale with a wrong --current-replicas succeeded: %s", res)
	}
}

func TestKubectlDelete(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cs := clientset(t)
	ctx := t.Context()
	applyApp(t, ns)
	for _, c := range []struct{ name, app string }{{"a1", "a"}, {"a2", "a"}, {"b1", "b"}} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: c.name, Labels: map[string]string{"app": c.app}}}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(ctx context.Context) (string, error) {
		l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return "", err
		}
		var s []string
		for _, cm := range l.Items {
			s = append(s, cm.Name)
		}
		return strings.Join(s, " "), nil
	}
	// kubectl prints `configmap "b1" deleted from <ns> namespace`.
	wantDeleted := func(t *testing.T, out, obj string) {
		t.Helper()
		wantLine(t, out, obj+" deleted from "+ns+" namespace")
	}
	wantNames := func(t *testing.T, want string) {
		t.Helper()
		eventually(t, func(ctx context.Context) (bool, string) {
			got, err := names(ctx)
			return err == nil && got == want, fmt.Sprintf("configmaps %q (err %v), want %q", got, err, want)
		})
	}

	t.Run("by name", func(t *testing.T) {
		res := mustKubectl(t, "delete", "-n", ns, "configmap", "b1")
		wantDeleted(t, res.stdout, `configmap "b1"`)
		wantNames(t, "a1 a2 web-config")
	})
	t.Run("by label", func(t *testing.T) {
		res := mustKubectl(t, "delete", "-n", ns, "configmaps", "-l", "app=a")
		wantDeleted(t, res.stdout, `configmap "a1"`)
		wantDeleted(t, res.stdout, `configmap "a2"`)
		wantNames(t, "web-config")
	})
	t.Run("by file", func(t *testing.T) {
		res := mustKubectl(t, "delete", "-n", ns, "-f", testdata("app.yaml"))
		for _, obj := range []string{
			`deployment.apps "web"`, `service "web"`, `configmap "web-config"`, `secret "web-secret"`, `job.batch "migrate"`,
		} {
			wantDeleted(t, res.stdout, obj)
		}
		wantNames(t, "")
		if _, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("get the deleted deployment: err = %v, want NotFound", err)
		}
	})
	t.Run("all", func(t *testing.T) {
		for _, n := range []string{"x1", "x2"} {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}
			if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		res := mustKubectl(t, "delete", "-n", ns, "configmaps", "--all")
		wantDeleted(t, res.stdout, `configmap "x1"`)
		wantDeleted(t, res.stdout, `configmap "x2"`)
		wantNames(t, "")
	})
}

func TestKubectlExplain(t *testing.T) {
	t.Parallel()
	res := mustKubectl(t, "explain", "deployment.spec.replicas")
	wantMatch(t, res.stdout, `(?m)^GROUP:\s+apps$`)
	wantMatch(t, res.stdout, `(?m)^KIND:\s+Deployment$`)
	wantMatch(t, res.stdout, `(?m)^FIELD:\s+replicas <integer>$`)
}

func TestKubectlAPIResources(t *testing.T) {
	t.Parallel()
	res := mustKubectl(t, "api-resources")
	for _, re := range []string{
		`(?m)^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$`,
		`(?m)^deployments\s+deploy\s+apps/v1\s+true\s+Deployment$`,
		`(?m)^configmaps\s+cm\s+v1\s+true\s+ConfigMap$`,
		`(?m)^namespaces\s+ns\s+v1\s+false\s+Namespace$`,
	} {
		wantMatch(t, res.stdout, re)
	}
	res = mustKubectl(t, "version", "-o", "json")
	var v struct{ ServerVersion struct{ GitVersion string } }
	if err := json.Unmarshal([]byte(res.stdout), &v); err != nil {
		t.Fatalf("decode version: %v", err)
	}
	if !strings.HasPrefix(v.ServerVersion.GitVersion, "v1.") {
		t.Errorf("server gitVersion = %q, want v1.x", v.ServerVersion.GitVersion)
	}
}

// TestKubectlDeleteNamespace deletes a namespace whose ConfigMap holds a
// finalizer: while the ConfigMap is there the namespace stays Terminating,
// and takes no new objects. The in-process server runs no namespace
// controller, so the namespace stays Terminating; with drover up, its
// namespace controller removes the namespace once the finalizer is gone.
func TestKubectlDeleteNamespace(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	cs := clientset(t)
	ctx := t.Context()
	const hold = "e2e.drover.io/hold"
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Finalizers: []string{hold}}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	res := mustKubectl(t, "delete", "namespace", ns, "--wait=false")
	wantLine(t, res.stdout, `namespace "`+ns+`" deleted`)

	res = mustKubectl(t, "get", "namespace", ns)
	wantMatch(t, res.stdout, `(?m)^`+ns+`\s+Terminating\s+\S+$`)
	got, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get the namespace: %v", err)
	}
	if got.DeletionTimestamp == nil || got.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("namespace after delete: deletionTimestamp %v, phase %q; want set and Terminating",
			got.DeletionTimestamp, got.Status.Phase)
	}

	late := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}
	_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, late, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "being terminated") {
		t.Errorf("create in a terminating namespace: err = %v, want Forbidden: ... is being terminated", err)
	}

	// Let the ConfigMap go.
	res = mustKubectl(t, "patch", "-n", ns, "configmap", "cm", "--type", "json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
	wantLine(t, res.stdout, "configmap/cm patched")
	if target != targetUp {
		return
	}
	eventually(t, func(ctx context.Context) (bool, string) {
		got, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err == nil {
			return false, fmt.Sprintf("namespace %s is still there: phase %s, conditions %+v", ns, got.Status.Phase, got.Status.Conditions)
		}
		return apierrors.IsNotFound(err), fmt.Sprintf("get the namespace: err = %v, want NotFound", err)
	})
}
