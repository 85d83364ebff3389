package apiserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/store/memstore"
)

// tableNow is the clock of the table tests.
var tableNow = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// Gizmo is a user kind with printer columns.
type Gizmo struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Spec           GizmoSpec   `json:"spec,omitzero"`
	Status         GizmoStatus `json:"status,omitzero"`
}

type GizmoSpec struct {
	Size  int32             `json:"size,omitempty"`
	Color string            `json:"color,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
	Ports []api.ServicePort `json:"ports,omitempty"`
}

type GizmoStatus struct {
	Conditions []api.PodCondition `json:"conditions,omitempty"`
	Since      api.Time           `json:"since,omitzero"`
	Ready      bool               `json:"ready,omitempty"`
}

var gizmoKind = api.Kind{
	GroupVersionKind: api.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Gizmo"},
	Resource:         "gizmos", Namespaced: true, Subresources: []string{"status"},
	PrinterColumns: []api.PrinterColumn{
		{Name: "Size", Type: "integer", JSONPath: ".spec.size"},
		{Name: "Ready", Type: "boolean", JSONPath: ".status.ready"},
		{Name: "Condition", Type: "string", JSONPath: ".status.conditions[0].type"},
		{Name: "Since", Type: "date", JSONPath: ".status.since"},
		{Name: "Color", Type: "string", JSONPath: ".spec.color", Priority: 1, Description: "The color."},
		{Name: "Tags", Type: "string", JSONPath: ".spec.tags", Priority: 1},
	},
}

// tableServer returns a Server whose clock is tableNow, serving the
// built-in kinds and Gizmo, with no admission.
func tableServer(t *testing.T) *Server {
	t.Helper()
	st, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	scheme := api.NewDefaultScheme()
	require.NoError(t, api.Register[Gizmo](scheme, gizmoKind))
	s, err := New(Config{
		Store: st, Scheme: scheme, Admission: admission.NewChain(nil, nil),
		Registry: registry.Options{Now: func() time.Time { return tableNow }},
	})
	require.NoError(t, err)
	return s
}

func mustCreate(t *testing.T, s *Server, objs ...api.Object) {
	t.Helper()
	for _, obj := range objs {
		k, err := s.cfg.Scheme.ObjectKind(obj)
		require.NoError(t, err)
		_, err = s.regs[k.GroupVersionResource()].Create(context.Background(), obj, registry.CreateOptions{})
		require.NoError(t, err)
	}
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-2 * time.Second, "<invalid>"},
		{-500 * time.Millisecond, "0s"},
		{0, "0s"},
		{59 * time.Second, "59s"},
		{119 * time.Second, "119s"},
		{2 * time.Minute, "2m"},
		{5*time.Minute + 12*time.Second, "5m12s"},
		{9*time.Minute + 59*time.Second, "9m59s"},
		{10*time.Minute + 30*time.Second, "10m"},
		{179 * time.Minute, "179m"},
		{3 * time.Hour, "3h"},
		{3*time.Hour + 20*time.Minute, "3h20m"},
		{8 * time.Hour, "8h"},
		{47 * time.Hour, "47h"},
		{48 * time.Hour, "2d"},
		{3 * 24 * time.Hour, "3d"},
		{2*24*time.Hour + 4*time.Hour, "2d4h"},
		{8 * 24 * time.Hour, "8d"},
		{400 * 24 * time.Hour, "400d"},
		{2 * 365 * 24 * time.Hour, "2y"},
		{(3*365 + 14) * 24 * time.Hour, "3y14d"},
		{9 * 365 * 24 * time.Hour, "9y"},
	} {
		require.Equal(t, tc.want, humanDuration(tc.d), "%v", tc.d)
	}
}

func TestNegotiateTable(t *testing.T) {
	const kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
	for _, tc := range []struct {
		accept  string
		version string // "" for plain JSON
	}{
		{kubectl, "v1"},
		{"application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", "v1beta1"},
		{"application/json; as=Table; v=v1; g=meta.k8s.io", "v1"},
		{"application/json", ""},
		{"", ""},
		{"*/*", ""},
		{"application/json,application/json;as=Table;v=v1;g=meta.k8s.io", ""}, // the first supported wins
		{"application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io", "v1"},
		{"application/vnd.kubernetes.protobuf,application/json", ""},
		{"application/json;as=Table;v=v2;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io", "v1beta1"},
		{"application/json;as=Table;v=v1;g=example.com", ""},
		{"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", ""},
		{"application/yaml", ""},
		{";;;,application/json;as=Table;v=v1;g=meta.k8s.io", "v1"},
	} {
		v, ok := negotiateTable(tc.accept)
		require.Equal(t, tc.version != "", ok, "%q", tc.accept)
		require.Equal(t, tc.version, v, "%q", tc.accept)
	}
}

func ptr[T any](v T) *T { return &v }

func ago(d time.Duration) api.Time { return api.NewTime(tableNow.Add(-d)) }

// TestPrinters checks the columns and cells of every built-in kind and of
// a user kind.
func TestPrinters(t *testing.T) {
	meta := func(name string, age time.Duration) api.ObjectMeta {
		return api.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(age)}
	}
	template := api.PodTemplateSpec{Spec: api.PodSpec{Containers: []api.Container{{Name: "web", Image: "nginx:1.27"}, {Name: "log", Image: "busybox"}}}}
	selector := &api.LabelSelector{MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []api.LabelSelectorRequirement{{Key: "tier", Operator: api.LabelSelectorOpIn, Values: []string{"b", "a"}}, {Key: "canary", Operator: api.LabelSelectorOpDoesNotExist}}}
	gizmo := &Gizmo{ObjectMeta: meta("g", time.Hour), Spec: GizmoSpec{Size: 3, Color: "red", Tags: map[string]string{"a": "b"}},
		Status: GizmoStatus{Conditions: []api.PodCondition{{Type: "Ready"}}, Since: ago(5 * time.Minute), Ready: true}}
	for _, tc := range []struct {
		name    string
		kind    api.Kind
		obj     api.Object
		columns []string
		wide    []string // the priority 1 columns
		cells   []any
	}{
		{
			name: "running pod", obj: &api.Pod{
				ObjectMeta: meta("web", 5*time.Minute+12*time.Second),
				Spec:       api.PodSpec{NodeName: "n1", Containers: []api.Container{{Name: "a"}, {Name: "b"}}, ReadinessGates: []api.PodReadinessGate{{ConditionType: "x"}, {ConditionType: "y"}}},
				Status: api.PodStatus{Phase: api.PodRunning, PodIP: "10.0.0.5", NominatedNodeName: "n2",
					Conditions: []api.PodCondition{{Type: "x", Status: api.ConditionTrue}, {Type: "y", Status: api.ConditionFalse}},
					ContainerStatuses: []api.ContainerStatus{
						{Name: "a", Ready: true, State: api.ContainerState{Running: &api.ContainerStateRunning{}}, RestartCount: 2,
							LastTerminationState: api.ContainerState{Terminated: &api.ContainerStateTerminated{FinishedAt: ago(3 * time.Minute)}}},
						{Name: "b", State: api.ContainerState{Running: &api.ContainerStateRunning{}}},
					}},
			},
			columns: []string{"Name", "Ready", "Status", "Restarts", "Age"},
			wide:    []string{"IP", "Node", "Nominated Node", "Readiness Gates"},
			cells:   []any{"web", "1/2", "Running", "2 (3m ago)", "5m12s", "10.0.0.5", "n1", "n2", "1/2"},
		},
		{
			name: "crashing pod", obj: &api.Pod{
				ObjectMeta: meta("crash", 3*24*time.Hour),
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "a"}}},
				Status: api.PodStatus{Phase: api.PodRunning, ContainerStatuses: []api.ContainerStatus{
					{Name: "a", RestartCount: 4, State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}},
			},
			cells: []any{"crash", "0/1", "CrashLoopBackOff", "4", "3d", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "initializing pod", obj: &api.Pod{
				ObjectMeta: meta("init", time.Minute),
				Spec:       api.PodSpec{InitContainers: []api.Container{{Name: "i1"}, {Name: "i2"}}, Containers: []api.Container{{Name: "a"}}},
				Status: api.PodStatus{Phase: api.PodPending, InitContainerStatuses: []api.ContainerStatus{
					{Name: "i1", State: api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}},
					{Name: "i2", State: api.ContainerState{Running: &api.ContainerStateRunning{}}}}},
			},
			cells: []any{"init", "0/1", "Init:1/2", "0", "60s", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "terminating pod", obj: &api.Pod{
				ObjectMeta: api.ObjectMeta{Name: "bye", CreationTimestamp: ago(time.Hour), DeletionTimestamp: ptr(ago(0))},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "a"}}},
				Status:     api.PodStatus{Phase: api.PodRunning},
			},
			cells: []any{"bye", "0/1", "Terminating", "0", "60m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "completed pod", obj: &api.Pod{
				ObjectMeta: meta("done", time.Hour),
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "a"}}},
				Status: api.PodStatus{Phase: api.PodSucceeded, ContainerStatuses: []api.ContainerStatus{
					{Name: "a", State: api.ContainerState{Terminated: &api.ContainerStateTerminated{Reason: "Completed"}}}}},
			},
			cells: []any{"done", "0/1", "Completed", "0", "60m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "node", obj: &api.Node{
				ObjectMeta: api.ObjectMeta{Name: "n1", CreationTimestamp: ago(10 * 24 * time.Hour),
					Labels: map[string]string{"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "", "kubernetes.io/role": "master"}},
				Spec: api.NodeSpec{Unschedulable: true},
				Status: api.NodeStatus{
					Conditions: []api.NodeCondition{{Type: api.NodeMemoryPressure, Status: api.ConditionFalse}, {Type: api.NodeReady, Status: api.ConditionTrue}},
					Addresses:  []api.NodeAddress{{Type: api.NodeHostName, Address: "n1"}, {Type: api.NodeInternalIP, Address: "192.168.0.10"}},
					NodeInfo:   api.NodeSystemInfo{KubeletVersion: "v1.30.0-drover", OSImage: "Debian", KernelVersion: "6.1", ContainerRuntimeVersion: "drover://1"},
				},
			},
			columns: []string{"Name", "Status", "Roles", "Age", "Version"},
			wide:    []string{"Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"},
			cells:   []any{"n1", "Ready,SchedulingDisabled", "control-plane,etcd,master", "10d", "v1.30.0-drover", "192.168.0.10", "<none>", "Debian", "6.1", "drover://1"},
		},
		{
			name: "not ready node", obj: &api.Node{ObjectMeta: api.ObjectMeta{Name: "n2", CreationTimestamp: ago(time.Hour)},
				Status: api.NodeStatus{Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionUnknown}}}},
			cells: []any{"n2", "NotReady", "<none>", "60m", "", "<none>", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "deployment", obj: &api.Deployment{ObjectMeta: meta("web", 2*time.Hour),
				Spec:   api.DeploymentSpec{Replicas: ptr(int32(3)), Selector: selector, Template: template},
				Status: api.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 1}},
			columns: []string{"Name", "Ready", "Up-to-date", "Available", "Age"},
			wide:    []string{"Containers", "Images", "Selector"},
			cells:   []any{"web", "2/3", int64(3), int64(1), "120m", "web,log", "nginx:1.27,busybox", "app=web,!canary,tier in (a,b)"},
		},
		{
			name: "replicaset", obj: &api.ReplicaSet{ObjectMeta: meta("web-1", time.Hour),
				Spec:   api.ReplicaSetSpec{Replicas: ptr(int32(2)), Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: template},
				Status: api.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1}},
			columns: []string{"Name", "Desired", "Current", "Ready", "Age"},
			wide:    []string{"Containers", "Images", "Selector"},
			cells:   []any{"web-1", int64(2), int64(2), int64(1), "60m", "web,log", "nginx:1.27,busybox", "app=web"},
		},
		{
			name: "daemonset", obj: &api.DaemonSet{ObjectMeta: meta("agent", time.Hour),
				Spec: api.DaemonSetSpec{Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
					Template: api.PodTemplateSpec{Spec: api.PodSpec{NodeSelector: map[string]string{"os": "linux"}, Containers: []api.Container{{Name: "a", Image: "agent:1"}}}}},
				Status: api.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 3, NumberAvailable: 2}},
			columns: []string{"Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"},
			wide:    []string{"Containers", "Images", "Selector"},
			cells:   []any{"agent", int64(3), int64(3), int64(2), int64(3), int64(2), "os=linux", "60m", "a", "agent:1", "app=agent"},
		},
		{
			name: "complete job", obj: &api.Job{ObjectMeta: meta("once", time.Hour),
				Spec: api.JobSpec{Completions: ptr(int32(2)), Template: api.PodTemplateSpec{Spec: api.PodSpec{Containers: []api.Container{{Name: "a", Image: "busybox"}}}}},
				Status: api.JobStatus{Succeeded: 2, StartTime: ptr(ago(50 * time.Minute)), CompletionTime: ptr(ago(45*time.Minute + 30*time.Second)),
					Conditions: []api.JobCondition{{Type: api.JobComplete, Status: api.ConditionTrue}}}},
			columns: []string{"Name", "Status", "Completions", "Duration", "Age"},
			wide:    []string{"Containers", "Images", "Selector"},
			cells:   []any{"once", "Complete", "2/2", "4m30s", "60m", "a", "busybox", "<none>"},
		},
		{
			name: "running job", obj: &api.Job{ObjectMeta: meta("par", time.Hour),
				Spec:   api.JobSpec{Parallelism: ptr(int32(3))},
				Status: api.JobStatus{Succeeded: 1, StartTime: ptr(ago(20 * time.Second))}},
			cells: []any{"par", "Running", "1/1 of 3", "20s", "60m", "", "", "<none>"},
		},
		{
			name: "service", obj: &api.Service{ObjectMeta: meta("web", time.Hour),
				Spec: api.ServiceSpec{Type: api.ServiceTypeNodePort, ClusterIP: "10.96.0.10", Selector: map[string]string{"app": "web"},
					Ports: []api.ServicePort{{Port: 80, NodePort: 30080, Protocol: api.ProtocolTCP}, {Port: 53, Protocol: api.ProtocolUDP}}}},
			columns: []string{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"},
			wide:    []string{"Selector"},
			cells:   []any{"web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP,53/UDP", "60m", "app=web"},
		},
		{
			name: "load balancer", obj: &api.Service{ObjectMeta: meta("lb", time.Hour),
				Spec: api.ServiceSpec{Type: api.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.11", Ports: []api.ServicePort{{Port: 443}}}},
			cells: []any{"lb", "LoadBalancer", "10.96.0.11", "<pending>", "443/TCP", "60m", "<none>"},
		},
		{
			name: "endpoints", obj: &api.Endpoints{ObjectMeta: meta("web", time.Hour), Subsets: []api.EndpointSubset{{
				Addresses: []api.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}, {IP: "10.0.0.3"}},
				Ports:     []api.EndpointPort{{Port: 80}, {Port: 443}}}}},
			columns: []string{"Name", "Endpoints", "Age"},
			cells:   []any{"web", "10.0.0.1:80,10.0.0.1:443,10.0.0.2:80 + 3 more...", "60m"},
		},
		{
			name: "namespace", obj: &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "prod", CreationTimestamp: ago(400 * 24 * time.Hour)},
				Status: api.NamespaceStatus{Phase: api.NamespaceActive}},
			columns: []string{"Name", "Status", "Age"},
			cells:   []any{"prod", "Active", "400d"},
		},
		{
			name: "configmap", obj: &api.ConfigMap{ObjectMeta: meta("cfg", time.Hour), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": {1}}},
			columns: []string{"Name", "Data", "Age"},
			cells:   []any{"cfg", int64(3), "60m"},
		},
		{
			name: "secret", obj: &api.Secret{ObjectMeta: meta("tls", time.Hour), Type: api.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
			columns: []string{"Name", "Type", "Data", "Age"},
			cells:   []any{"tls", "kubernetes.io/tls", int64(2), "60m"},
		},
		{
			name: "event", obj: &api.Event{ObjectMeta: meta("web.1", time.Hour),
				InvolvedObject: api.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{a}"},
				Reason:         "BackOff", Message: "Back-off restarting\n", Type: api.EventTypeWarning, Count: 5,
				FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(30 * time.Second),
				Source: api.EventSource{Component: "kubelet", Host: "n1"}},
			columns: []string{"Last Seen", "Type", "Reason", "Object", "Message"},
			wide:    []string{"Subobject", "Source", "First Seen", "Count", "Name"},
			cells:   []any{"30s (x5 over 10m)", "Warning", "BackOff", "pod/web", "Back-off restarting", "spec.containers{a}", "kubelet, n1", "10m", int64(5), "web.1"},
		},
		{
			name: "serviceaccount", obj: &api.ServiceAccount{ObjectMeta: meta("default", time.Hour)},
			columns: []string{"Name", "Secrets", "Age"},
			cells:   []any{"default", int64(0), "60m"},
		},
		{
			name: "lease", obj: &api.Lease{ObjectMeta: meta("leader", time.Hour), Spec: api.LeaseSpec{HolderIdentity: ptr("node-1")}},
			columns: []string{"Name", "Holder", "Age"},
			cells:   []any{"leader", "node-1", "60m"},
		},
		{
			name: "endpointslice", obj: &api.EndpointSlice{ObjectMeta: meta("web-x1", time.Hour), AddressType: api.AddressTypeIPv4,
				Endpoints: []api.Endpoint{{Addresses: []string{"10.0.0.1"}}, {Addresses: []string{"10.0.0.2"}}, {Addresses: []string{"10.0.0.3"}}, {Addresses: []string{"10.0.0.4"}}},
				Ports:     []api.EndpointSlicePort{{Port: ptr(int32(80))}, {}}},
			columns: []string{"Name", "AddressType", "Ports", "Endpoints", "Age"},
			cells:   []any{"web-x1", "IPv4", "80,*", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...", "60m"},
		},
		{
			name: "empty endpointslice", obj: &api.EndpointSlice{ObjectMeta: meta("web-x2", time.Hour), AddressType: api.AddressTypeIPv6},
			columns: []string{"Name", "AddressType", "Ports", "Endpoints", "Age"},
			cells:   []any{"web-x2", "IPv6", "<unset>", "<unset>", "60m"},
		},
		{
			name: "user kind", kind: gizmoKind, obj: gizmo,
			columns: []string{"Name", "Size", "Ready", "Condition", "Since", "Age"},
			wide:    []string{"Color", "Tags"},
			cells:   []any{"g", int64(3), true, "Ready", "5m", "red", `{"a":"b"}`, "60m"},
		},
		{
			name: "user kind, missing values", kind: gizmoKind, obj: &Gizmo{ObjectMeta: meta("empty", 0)},
			cells: []any{"empty", nil, nil, nil, nil, nil, nil, "0s"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tableServer(t)
			kind := tc.kind
			if kind.Kind == "" {
				var err error
				kind, err = s.cfg.Scheme.ObjectKind(tc.obj)
				require.NoError(t, err)
			} else {
				kind, _ = s.cfg.Scheme.KindFor(kind.GroupVersionKind)
			}
			table, err := s.tableFor(kind, []api.Object{tc.obj}, tableOptions{version: "v1", include: includeNone})
			require.NoError(t, err)
			var cols, wideCols []string
			for _, c := range table.ColumnDefinitions {
				require.NotEmpty(t, c.Type, c.Name)
				require.NotEmpty(t, c.Description, c.Name)
				if c.Priority == 0 {
					cols = append(cols, c.Name)
				} else {
					wideCols = append(wideCols, c.Name)
				}
			}
			if tc.columns != nil {
				require.Equal(t, tc.columns, cols)
				require.Equal(t, tc.wide, wideCols)
			}
			require.Len(t, table.Rows, 1)
			require.Equal(t, tc.cells, table.Rows[0].Cells)
			require.Len(t, table.Rows[0].Cells, len(table.ColumnDefinitions))
			require.Nil(t, table.Rows[0].Object)
		})
	}
}

// getTable requests path with kubectl get's Accept header and decodes the
// answer.
func getTable(t *testing.T, srv *httptest.Server, path, accept string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", accept)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(data, &out), "%s", data)
	return resp.StatusCode, out
}

const kubectlAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

func TestTableHTTP(t *testing.T) {
	s := tableServer(t)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	for _, name := range []string{"a", "b", "c"} {
		mustCreate(t, s, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": name}},
			Data: map[string]string{"k": name}})
	}

	for _, tc := range []struct {
		name, path, accept string
		code               int
		kind, apiVersion   string // of the answer
		rows               []string
		rowObject          string // the kind of the rows' objects, "" for none
		more               bool   // a continue token
	}{
		{name: "list", path: "/api/v1/namespaces/default/configmaps", accept: kubectlAccept, code: 200,
			kind: "Table", apiVersion: "meta.k8s.io/v1", rows: []string{"a", "b", "c"}, rowObject: "PartialObjectMetadata"},
		{name: "across namespaces", path: "/api/v1/configmaps?labelSelector=app%3Db", accept: kubectlAccept, code: 200,
			kind: "Table", apiVersion: "meta.k8s.io/v1", rows: []string{"b"}, rowObject: "PartialObjectMetadata"},
		{name: "page", path: "/api/v1/namespaces/default/configmaps?limit=2", accept: kubectlAccept, code: 200,
			kind: "Table", apiVersion: "meta.k8s.io/v1", rows: []string{"a", "b"}, rowObject: "PartialObjectMetadata", more: true},
		{name: "get", path: "/api/v1/namespaces/default/configmaps/b", accept: kubectlAccept, code: 200,
			kind: "Table", apiVersion: "meta.k8s.io/v1", rows: []string{"b"}, rowObject: "PartialObjectMetadata"},
		{name: "v1beta1", path: "/api/v1/namespaces/default/configmaps", accept: "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
			code: 200, kind: "Table", apiVersion: "meta.k8s.io/v1beta1", rows: []string{"a", "b", "c"}, rowObject: "PartialObjectMetadata"},
		{name: "whole objects", path: "/api/v1/namespaces/default/configmaps?includeObject=Object", accept: kubectlAccept, code: 200,
			kind: "Table", apiVersion: "meta.k8s.io/v1", rows: []string{"a", "b", "c"}, rowObject: "ConfigMap"},
		{name: "no objects", path: "/api/v1/namespaces/default/configmaps/a?includeObject=None", accept: kubectlAccept, code: 200,
			kind: "Table", apiVersion: "meta.k8s.io/v1", rows: []string{"a"}},
		{name: "plain JSON", path: "/api/v1/namespaces/default/configmaps", accept: "application/json", code: 200,
			kind: "ConfigMapList", apiVersion: "v1"},
		{name: "no Accept", path: "/api/v1/namespaces/default/configmaps/a", code: 200, kind: "ConfigMap", apiVersion: "v1"},
		{name: "protobuf first", path: "/api/v1/namespaces/default/configmaps/a", accept: "application/vnd.kubernetes.protobuf,application/json",
			code: 200, kind: "ConfigMap", apiVersion: "v1"},
		{name: "bad includeObject", path: "/api/v1/namespaces/default/configmaps?includeObject=All", accept: kubectlAccept, code: 400,
			kind: "Status", apiVersion: "v1"},
		{name: "not found", path: "/api/v1/namespaces/default/configmaps/zz", accept: kubectlAccept, code: 404,
			kind: "Status", apiVersion: "v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := getTable(t, srv, tc.path, tc.accept)
			require.Equal(t, tc.code, code, "%v", out)
			require.Equal(t, tc.kind, out["kind"])
			require.Equal(t, tc.apiVersion, out["apiVersion"])
			if tc.kind != "Table" {
				return
			}
			meta := out["metadata"].(map[string]any)
			require.NotEmpty(t, meta["resourceVersion"])
			require.Equal(t, tc.more, meta["continue"] != nil)
			cols := out["columnDefinitions"].([]any)
			require.Equal(t, map[string]any{"name": "Name", "type": "string", "format": "name",
				"description": colName.Description, "priority": float64(0)}, cols[0])
			var names []string
			for _, r := range out["rows"].([]any) {
				row := r.(map[string]any)
				cells := row["cells"].([]any)
				require.Len(t, cells, len(cols))
				names = append(names, cells[0].(string))
				obj, ok := row["object"].(map[string]any)
				if tc.rowObject == "" {
					require.False(t, ok, "row object %v", row["object"])
					continue
				}
				require.Equal(t, tc.rowObject, obj["kind"])
				md := obj["metadata"].(map[string]any)
				require.Equal(t, cells[0], md["name"])
				require.Equal(t, "default", md["namespace"])
				require.Equal(t, map[string]any{"app": cells[0]}, md["labels"])
				_, hasData := obj["data"]
				require.Equal(t, tc.rowObject == "ConfigMap", hasData)
			}
			require.Equal(t, tc.rows, names)
		})
	}
}

func TestTableEvent(t *testing.T) {
	s := tableServer(t)
	kind, _ := s.cfg.Scheme.KindFor(api.CoreV1.WithKind("Namespace"))
	ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "prod", ResourceVersion: "42", CreationTimestamp: ago(time.Minute)},
		Status: api.NamespaceStatus{Phase: api.NamespaceActive}}
	data, err := json.Marshal(ns)
	require.NoError(t, err)
	opts := tableOptions{version: "v1", include: includeMetadata}
	for _, typ := range []api.WatchEventType{api.WatchAdded, api.WatchModified, api.WatchDeleted} {
		ev, err := s.tableEvent(kind, api.WatchEvent{Type: typ, Object: data}, opts)
		require.NoError(t, err)
		require.Equal(t, typ, ev.Type)
		var table Table
		require.NoError(t, json.Unmarshal(ev.Object, &table))
		require.Equal(t, "Table", table.Kind)
		require.Equal(t, "42", table.Metadata.ResourceVersion)
		require.Len(t, table.ColumnDefinitions, 3)
		require.Len(t, table.Rows, 1)
		require.Equal(t, []any{"prod", "Active", "60s"}, table.Rows[0].Cells)
	}
	for _, ev := range []api.WatchEvent{
		{Type: api.WatchBookmark, Object: api.RawJSON(`{"kind":"Namespace","apiVersion":"v1","metadata":{"resourceVersion":"43"}}`)},
		{Type: api.WatchError, Object: api.RawJSON(`{"kind":"Status","apiVersion":"v1","code":410}`)},
	} {
		out, err := s.tableEvent(kind, ev, opts)
		require.NoError(t, err)
		require.Equal(t, ev, out)
	}
	_, err = s.tableEvent(kind, api.WatchEvent{Type: api.WatchAdded, Object: api.RawJSON(`[1]`)}, opts)
	require.Error(t, err)
}

func TestEvalJSONPath(t *testing.T) {
	doc, err := decodeUseNumber([]byte(`{"a":{"b":[{"c":1},{"c":"x"}],"d":null,"e":1.5}}`))
	require.NoError(t, err)
	for _, tc := range []struct {
		path string
		want any
		ok   bool
	}{
		{".a.b[0].c", json.Number("1"), true},
		{".a.b[1].c", "x", true},
		{".a.b[2].c", nil, false},
		{".a.b[-1]", nil, false},
		{".a.b[x]", nil, false},
		{".a.b[0", nil, false},
		{".a.d", nil, false},
		{".a.e", json.Number("1.5"), true},
		{".a.x.y", nil, false},
		{".a.b.c", nil, false},
	} {
		got, ok := evalJSONPath(doc, tc.path)
		require.Equal(t, tc.ok, ok, tc.path)
		require.Equal(t, tc.want, got, tc.path)
	}
	require.Equal(t, 1.5, printerCell("number", json.Number("1.5"), tableNow))
	require.Equal(t, "not a date", printerCell("date", "not a date", tableNow))
}

func TestPrinterColumnsValidation(t *testing.T) {
	for _, tc := range []struct {
		col  api.PrinterColumn
		want string
	}{
		{api.PrinterColumn{Type: "string", JSONPath: ".spec"}, "PrinterColumns[0].Name is empty"},
		{api.PrinterColumn{Name: "A", Type: "map", JSONPath: ".spec"}, `PrinterColumns[0].Type "map" must be`},
		{api.PrinterColumn{Name: "A", Type: "string", JSONPath: "spec.size"}, `PrinterColumns[0].JSONPath "spec.size" must start with "."`},
		{api.PrinterColumn{Name: "A", Type: "string", JSONPath: ".spec", Priority: -1}, "PrinterColumns[0].Priority -1 must not be negative"},
	} {
		k := gizmoKind
		k.PrinterColumns = []api.PrinterColumn{tc.col}
		err := api.Register[Gizmo](api.NewScheme(), k)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestTableEventLine(t *testing.T) {
	s := tableServer(t)
	kind, _ := s.cfg.Scheme.KindFor(api.CoreV1.WithKind("ConfigMap"))
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "c", ResourceVersion: "9", CreationTimestamp: ago(2 * time.Hour)},
		Data: map[string]string{"a": "b"}}
	line, err := s.tableEventLine(kind, api.WatchModified, cm, tableOptions{version: "v1beta1", include: includeObject})
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(line), "}\n"))
	var ev struct {
		Type   api.WatchEventType `json:"type"`
		Object map[string]any     `json:"object"`
	}
	require.NoError(t, json.Unmarshal(line, &ev))
	require.Equal(t, api.WatchModified, ev.Type)
	require.Equal(t, "meta.k8s.io/v1beta1", ev.Object["apiVersion"])
	require.Equal(t, "9", get(ev.Object, "metadata", "resourceVersion"))
	row := ev.Object["rows"].([]any)[0].(map[string]any)
	require.Equal(t, []any{"c", float64(1), "120m"}, row["cells"])
	require.Equal(t, "ConfigMap", get(row, "object", "kind"))
}

// FuzzAcceptAndJSONPath feeds arbitrary Accept headers and JSON paths to
// their parsers, which must not panic.
func FuzzAcceptAndJSONPath(f *testing.F) {
	f.Add(kubectlAccept, ".spec.ports[0].port")
	f.Add(mediaOpenAPIV2PBOld+";q=0,*/*", ".a[")
	f.Add(";;,=", "[[]]..")
	doc, err := decodeUseNumber([]byte(`{"spec":{"ports":[{"port":80}]},"a":[[1]]}`))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, accept, path string) {
		if v, ok := negotiateTable(accept); ok && v != "v1" && v != "v1beta1" {
			t.Fatalf("version %q", v)
		}
		if mt, ok := negotiateOpenAPI(accept, true); ok && mt != mediaJSON && mt != mediaOpenAPIV2PB {
			t.Fatalf("media type %q", mt)
		}
		evalJSONPath(doc, path)
	})
}
