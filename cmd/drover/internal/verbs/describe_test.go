package verbs

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/controller/controllertest"
)

func event(ns, name string, obj api.Object, kind, typ, reason, msg string, at time.Time, count int32) *api.Event {
	m := obj.GetObjectMeta()
	return &api.Event{
		ObjectMeta:     api.ObjectMeta{Namespace: ns, Name: name},
		InvolvedObject: api.ObjectReference{Kind: kind, Namespace: m.Namespace, Name: m.Name, UID: m.UID},
		Type:           api.EventType(typ), Reason: reason, Message: msg,
		Source:         api.EventSource{Component: "default-scheduler"},
		FirstTimestamp: api.NewTime(at), LastTimestamp: api.NewTime(at), Count: count,
	}
}

func testPod() *api.Pod {
	start := api.NewTime(t0)
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-1", UID: "u1", Labels: map[string]string{"app": "web"},
			OwnerReferences: []api.OwnerReference{{Kind: "ReplicaSet", Name: "web-5d9c7"}}},
		Spec: api.PodSpec{
			NodeName: "node-0", ServiceAccountName: "default", Priority: ptr[int32](0),
			Containers: []api.Container{{Name: "nginx", Image: "nginx:1.27",
				Ports: []api.ContainerPort{{ContainerPort: 80}}, Env: []api.EnvVar{{Name: "MODE", Value: "fast"}}}},
			Tolerations: []api.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: ptr[int64](300)}},
		},
		Status: api.PodStatus{
			Phase: "Running", HostIP: "172.16.0.1", PodIP: "10.64.0.5", StartTime: &start, QOSClass: "BestEffort",
			Conditions: []api.PodCondition{{Type: "PodScheduled", Status: "True"}, {Type: "Ready", Status: "True"}},
			ContainerStatuses: []api.ContainerStatus{{Name: "nginx", Ready: true, RestartCount: 1,
				State: api.ContainerState{Running: &api.ContainerStateRunning{}}}},
		},
	}
}

// TestDescribePodGolden checks the layout of describe, on fixed objects.
func TestDescribePodGolden(t *testing.T) {
	pod := testPod()
	evs := []api.Event{
		*event("default", "e1", pod, "Pod", "Normal", "Scheduled", "Successfully assigned default/web-1 to node-0", t0, 1),
		*event("default", "e2", pod, "Pod", "Warning", "BackOff", "Back-off restarting failed container", t0.Add(90*time.Second), 4),
	}
	k, _ := resolveKind(api.NewDefaultScheme(), "pod")
	var b bytes.Buffer
	describe(&b, k, pod, evs, t0.Add(5*time.Minute))
	want := `Name:             web-1
Namespace:        default
Priority:         0
Service Account:  default
Node:             node-0/172.16.0.1
Start Time:       Sun, 01 Mar 2026 12:00:00 +0000
Labels:           app=web
Annotations:      <none>
Status:           Running
IP:               10.64.0.5
Controlled By:    ReplicaSet/web-5d9c7
Containers:
  nginx:
    Image:          nginx:1.27
    Port:           80/TCP
    State:          Running
    Ready:          true
    Restart Count:  1
    Environment:
      MODE:  fast
Conditions:
  Type          Status
  PodScheduled  True
  Ready         True
QoS Class:       BestEffort
Node-Selectors:  <none>
Tolerations:     node.kubernetes.io/not-ready:NoExecute for 300s
Events:
  Type     Reason     Age         From               Message
  ----     ------     ----        ----               -------
  Normal   Scheduled  5m          default-scheduler  Successfully assigned default/web-1 to node-0
  Warning  BackOff    3m30s (x4)  default-scheduler  Back-off restarting failed container
`
	wantOut(t, b.String(), want)
}

func TestDescribeCommand(t *testing.T) {
	c := newCLI(t)
	ctx := controllertest.Context(t)
	pod := testPod()
	pod.UID, pod.OwnerReferences = "", nil
	pod.Spec.Priority = nil
	if err := c.env.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	other := testPod()
	other.Name, other.UID, other.OwnerReferences, other.Spec.Priority = "web-2", "", nil, nil
	if err := c.env.Client.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, e := range []*api.Event{
		event("default", "e1", pod, "Pod", "Normal", "Scheduled", "Successfully assigned default/web-1 to node-0", now, 1),
		event("default", "e2", other, "Pod", "Normal", "Scheduled", "Successfully assigned default/web-2 to node-1", now, 1),
	} {
		if err := c.env.Client.Create(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "node-0", Labels: map[string]string{"kubernetes.io/hostname": "node-0"}}}
	if err := c.env.Client.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	node.Status.Capacity = api.ResourceList{"cpu": resource.MustParse("8"), "pods": resource.MustParse("110")}
	node.Status.Conditions = []api.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady", Message: "ready"}}
	if err := c.env.Client.UpdateStatus(ctx, node); err != nil {
		t.Fatal(err)
	}
	svc := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []api.ServicePort{{Name: "http", Port: 80, TargetPort: api.FromInt32(8080)}}}}
	if err := c.env.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}

	out := c.must("describe", "pod", "web-1")
	for _, want := range []string{"Name:             web-1\n", "Successfully assigned default/web-1", "Status:           Pending\n", "Node:             node-0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe pod has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "web-2") {
		t.Errorf("describe pod web-1 shows the events of web-2:\n%s", out)
	}
	out = c.must("describe", "pods", "-l", "app=web")
	if !strings.Contains(out, "Name:             web-1\n") || !strings.Contains(out, "\nName:             web-2\n") {
		t.Errorf("describe pods -l:\n%s", out)
	}
	out = c.must("describe", "node/node-0")
	for _, want := range []string{"Conditions:\n", "Ready  True    KubeletReady  ready", "Capacity:\n", "cpu:", "110"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe node has no %q:\n%s", want, out)
		}
	}
	out = c.must("describe", "svc", "web")
	for _, want := range []string{"Selector:", "app=web", "Port:", "http  80/TCP", "TargetPort:", "8080/TCP"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe svc has no %q:\n%s", want, out)
		}
	}
	if err := c.env.Client.Create(ctx, configMap("default", "settings", nil, map[string]string{"mode": "fast"})); err != nil {
		t.Fatal(err)
	}
	out = c.must("describe", "cm", "settings")
	if !strings.Contains(out, "Kind:                ConfigMap\n") || !strings.Contains(out, "Data:\n  mode: fast\n") {
		t.Errorf("generic describe:\n%s", out)
	}
	if r := c.run("describe", "pod", "nope"); r.e == nil || r.e.Error() != `pods "nope" not found` {
		t.Errorf("describe pod nope: %v", r.e)
	}
}

func TestEventsAndExplain(t *testing.T) {
	c := newCLI(t)
	ctx := controllertest.Context(t)
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "big"},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "busybox"}}}}
	if err := c.env.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	msg := "0/3 nodes are available: 3 Insufficient cpu."
	pod.Status.Conditions = []api.PodCondition{{Type: "PodScheduled", Status: "False", Reason: "Unschedulable", Message: msg}}
	if err := c.env.Client.UpdateStatus(ctx, pod); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cm := configMap("kube-system", "x", nil, nil)
	if err := c.env.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*api.Event{
		event("default", "late", pod, "Pod", "Warning", "FailedScheduling", msg, now.Add(-time.Minute), 2),
		event("default", "early", pod, "Pod", "Normal", "Pulled", "pulled", now.Add(-time.Hour), 1),
		event("kube-system", "sys", cm, "ConfigMap", "Normal", "Synced", "synced", now.Add(-30*time.Minute), 1),
	} {
		if err := c.env.Client.Create(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	out := c.must("events")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 ||
		!strings.HasPrefix(lines[0], "LAST SEEN") || !strings.Contains(lines[1], "Pulled") || !strings.Contains(lines[2], "FailedScheduling") {
		t.Errorf("events, oldest first:\n%s", out)
	}
	out = c.must("events", "-A")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 ||
		!strings.HasPrefix(lines[0], "NAMESPACE") || !strings.HasPrefix(lines[2], "kube-system") {
		t.Errorf("events -A:\n%s", out)
	}
	out = c.must("events", "-A", "--for", "cm/x")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "configmap/x") {
		t.Errorf("events --for cm/x:\n%s", out)
	}

	out = c.must("explain", "pod", "big")
	for _, want := range []string{"Result:     Unschedulable\n", "Message:    " + msg + "\n", "FailedScheduling", "not served over the API"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Pulled") {
		t.Errorf("explain shows events other than scheduling ones:\n%s", out)
	}
	if r := c.run("explain", "deploy", "web"); r.e == nil || !strings.Contains(r.e.Error(), "explain takes one pod") {
		t.Errorf("explain deploy: %v", r.e)
	}
}
