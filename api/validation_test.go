package api

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests below build a valid object of each kind, apply one mutation per
// case and compare the set of (field path, error type) pairs Validate
// returns with the expected one, written "path: Type" as in the messages.
// The objects are built as they look after defaulting where it matters, by
// hand: the tests do not call Default.

func wReq(p string) string       { return p + ": Required value" }
func wInv(p string) string       { return p + ": Invalid value" }
func wDup(p string) string       { return p + ": Duplicate value" }
func wNS(p string) string        { return p + ": Unsupported value" }
func wForb(p string) string      { return p + ": Forbidden" }
func wLong(p string) string      { return p + ": Too long" }
func wMany(p string) string      { return p + ": Too many" }
func wNF(p string) string        { return p + ": Not found" }
func wants(w ...string) []string { return w }

// errPairs returns "path: Type" for each error.
func errPairs(errs ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return out
}

// vcase is one mutation of a valid object and the errors it must cause.
type vcase[T Object] struct {
	name   string
	mutate func(T)
	want   []string
}

func runCreateCases[T Object](t *testing.T, base func() T, cases []vcase[T]) {
	t.Helper()
	t.Run("base is valid", func(t *testing.T) {
		errs := Validate(base())
		assert.Empty(t, errs, "%v", errs)
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := base()
			c.mutate(obj)
			errs := Validate(obj)
			assert.ElementsMatch(t, c.want, errPairs(errs), "got: %v", errs)
		})
	}
}

// ucase is one change from a valid stored object to a new one.
type ucase[T Object] struct {
	name   string
	mutate func(obj, old T)
	want   []string
}

func runUpdateCases[T Object](t *testing.T, base func() T, cases []ucase[T]) {
	t.Helper()
	t.Run("no change is valid", func(t *testing.T) {
		errs := ValidateUpdate(base(), base())
		assert.Empty(t, errs, "%v", errs)
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj, old := base(), base()
			c.mutate(obj, old)
			errs := ValidateUpdate(obj, old)
			assert.ElementsMatch(t, c.want, errPairs(errs), "got: %v", errs)
		})
	}
}

func runStatusCases[T Object](t *testing.T, base func() T, cases []ucase[T]) {
	t.Helper()
	t.Run("no change is valid", func(t *testing.T) {
		errs := ValidateStatusUpdate(base(), base())
		assert.Empty(t, errs, "%v", errs)
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj, old := base(), base()
			c.mutate(obj, old)
			errs := ValidateStatusUpdate(obj, old)
			assert.ElementsMatch(t, c.want, errPairs(errs), "got: %v", errs)
		})
	}
}

func vq(s string) resource.Quantity { return resource.MustParse(s) }

var vCreated = NewTime(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC))

func storedMeta(name, namespace string) ObjectMeta {
	return ObjectMeta{
		Name: name, Namespace: namespace, UID: "6f1b2c58-1c2d-4b7e-9d55-0d7c1c9e4a10",
		ResourceVersion: "42", Generation: 1, CreationTimestamp: vCreated,
		Labels: map[string]string{"app": "web"},
	}
}

// ---------------------------------------------------------------------------
// Base objects

func basePod() *Pod {
	return &Pod{
		ObjectMeta: storedMeta("web", "default"),
		Spec: PodSpec{
			Volumes: []Volume{{Name: "data", VolumeSource: VolumeSource{EmptyDir: &EmptyDirVolumeSource{}}}},
			Containers: []Container{{
				Name:         "app",
				Image:        "nginx:1.27",
				Ports:        []ContainerPort{{Name: "http", ContainerPort: 80, Protocol: ProtocolTCP}},
				VolumeMounts: []VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			RestartPolicy:                 RestartPolicyAlways,
			DNSPolicy:                     DNSClusterFirst,
			TerminationGracePeriodSeconds: new(int64(30)),
		},
	}
}

func baseTemplate() PodTemplateSpec {
	p := basePod()
	return PodTemplateSpec{ObjectMeta: ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: p.Spec}
}

func baseService() *Service {
	return &Service{
		ObjectMeta: storedMeta("web", "default"),
		Spec: ServiceSpec{
			Type:      ServiceTypeClusterIP,
			ClusterIP: "10.96.0.10",
			Selector:  map[string]string{"app": "web"},
			Ports: []ServicePort{
				{Name: "http", Port: 80, TargetPort: FromString("http"), Protocol: ProtocolTCP},
				{Name: "https", Port: 443, TargetPort: FromInt32(8443), Protocol: ProtocolTCP},
			},
			SessionAffinity: ServiceAffinityNone,
		},
	}
}

func baseEndpoints() *Endpoints {
	return &Endpoints{
		ObjectMeta: storedMeta("web", "default"),
		Subsets: []EndpointSubset{{
			Addresses:         []EndpointAddress{{IP: "10.244.1.5", NodeName: new("node-1")}},
			NotReadyAddresses: []EndpointAddress{{IP: "10.244.2.7"}},
			Ports:             []EndpointPort{{Name: "http", Port: 8080, Protocol: ProtocolTCP}, {Name: "https", Port: 8443}},
		}},
	}
}

func baseConfigMap() *ConfigMap {
	return &ConfigMap{
		ObjectMeta: storedMeta("settings", "default"),
		Data:       map[string]string{"app.conf": "x=1", "LOG_LEVEL": "debug"},
		BinaryData: map[string][]byte{"logo.png": {0x89, 0x50}},
	}
}

func baseSecret() *Secret {
	return &Secret{
		ObjectMeta: storedMeta("creds", "default"),
		Data:       map[string][]byte{"password": []byte("s3cret")},
		Type:       SecretTypeOpaque,
	}
}

func baseNamespace() *Namespace {
	return &Namespace{ObjectMeta: storedMeta("team-a", ""), Spec: NamespaceSpec{Finalizers: []FinalizerName{FinalizerKubernetes}}}
}

func baseNode() *Node {
	return &Node{
		ObjectMeta: storedMeta("node-1.example.com", ""),
		Spec: NodeSpec{
			PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24", "fd00:1::/64"},
			Taints: []Taint{{Key: "dedicated", Value: "gpu", Effect: TaintEffectNoSchedule}},
		},
		Status: NodeStatus{
			Capacity:    ResourceList{ResourceCPU: vq("4"), ResourceMemory: vq("8Gi"), ResourcePods: vq("110")},
			Allocatable: ResourceList{ResourceCPU: vq("3800m"), ResourceMemory: vq("7Gi"), ResourcePods: vq("110")},
			Conditions:  []NodeCondition{{Type: NodeReady, Status: ConditionTrue}},
		},
	}
}

func baseDeployment() *Deployment {
	return &Deployment{
		ObjectMeta: storedMeta("web", "default"),
		Spec: DeploymentSpec{
			Replicas: new(int32(3)),
			Selector: &LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: baseTemplate(),
			Strategy: DeploymentStrategy{
				Type: RollingUpdateDeploymentStrategyType,
				RollingUpdate: &RollingUpdateDeployment{
					MaxUnavailable: new(FromString("25%")), MaxSurge: new(FromString("25%")),
				},
			},
			RevisionHistoryLimit:    new(int32(10)),
			ProgressDeadlineSeconds: new(int32(600)),
		},
	}
}

func baseReplicaSet() *ReplicaSet {
	return &ReplicaSet{
		ObjectMeta: storedMeta("web-5d8f9", "default"),
		Spec: ReplicaSetSpec{
			Replicas: new(int32(3)),
			Selector: &LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: baseTemplate(),
		},
	}
}

func baseDaemonSet() *DaemonSet {
	return &DaemonSet{
		ObjectMeta: storedMeta("agent", "kube-system"),
		Spec: DaemonSetSpec{
			Selector: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{
				{Key: "app", Operator: LabelSelectorOpIn, Values: []string{"web", "agent"}},
			}},
			Template: baseTemplate(),
			UpdateStrategy: DaemonSetUpdateStrategy{
				Type: RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &RollingUpdateDaemonSet{
					MaxUnavailable: new(FromInt32(1)), MaxSurge: new(FromInt32(0)),
				},
			},
			RevisionHistoryLimit: new(int32(10)),
		},
	}
}

func baseJob() *Job {
	t := baseTemplate()
	t.Labels = map[string]string{"job-name": "migrate", "controller-uid": "6f1b2c58"}
	t.Spec.RestartPolicy = RestartPolicyOnFailure
	return &Job{
		ObjectMeta: storedMeta("migrate", "default"),
		Spec: JobSpec{
			Parallelism:    new(int32(1)),
			Completions:    new(int32(1)),
			BackoffLimit:   new(int32(6)),
			Selector:       &LabelSelector{MatchLabels: map[string]string{"controller-uid": "6f1b2c58"}},
			Template:       t,
			CompletionMode: new(NonIndexedCompletion),
			Suspend:        new(false),
		},
	}
}

func baseLease() *Lease {
	return &Lease{
		ObjectMeta: storedMeta("node-1", "kube-node-lease"),
		Spec: LeaseSpec{
			HolderIdentity: new("node-1"), LeaseDurationSeconds: new(int32(40)), LeaseTransitions: new(int32(0)),
		},
	}
}

func baseEvent() *Event {
	return &Event{
		ObjectMeta: storedMeta("web.1829f1c5a2b3c4d5", "default"),
		InvolvedObject: ObjectReference{
			Kind: "Pod", Namespace: "default", Name: "web", UID: "6f1b2c58", APIVersion: "v1",
		},
		Reason:  "Scheduled",
		Message: "Successfully assigned default/web to node-1",
		Source:  EventSource{Component: "default-scheduler"},
		Count:   1,
		Type:    EventTypeNormal,
	}
}

// ---------------------------------------------------------------------------
// Metadata

func TestValidateInvalidName(t *testing.T) {
	pod := basePod()
	pod.Name = "Web_1"
	errs := Validate(pod)
	require.Len(t, errs, 1)
	assert.Equal(t, "metadata.name", errs[0].Field)
	assert.Equal(t, ErrorTypeInvalid, errs[0].Type)
	assert.Equal(t, `metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of `+
		`lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character `+
		`(e.g. 'example.com')`, errs[0].Error())
}

func TestValidateObjectMeta(t *testing.T) {
	runCreateCases(t, basePod, []vcase[*Pod]{
		{"missing name", func(p *Pod) { p.Name = "" }, wants(wReq("metadata.name"))},
		{"generateName instead of name", func(p *Pod) { p.Name, p.GenerateName = "", "web-" }, nil},
		{"invalid generateName", func(p *Pod) { p.Name, p.GenerateName = "", "Web-" }, wants(wInv("metadata.generateName"))},
		{"name too long", func(p *Pod) { p.Name = strings.Repeat("a", 254) }, wants(wInv("metadata.name"))},
		{"missing namespace", func(p *Pod) { p.Namespace = "" }, wants(wReq("metadata.namespace"))},
		{"invalid namespace", func(p *Pod) { p.Namespace = "team.a" }, wants(wInv("metadata.namespace"))},
		{"invalid label key", func(p *Pod) { p.Labels["-app"] = "x" }, wants(wInv("metadata.labels"))},
		{"invalid label value", func(p *Pod) { p.Labels["tier"] = "front end" }, wants(wInv("metadata.labels"))},
		{"label with prefix", func(p *Pod) { p.Labels["example.com/tier"] = "frontend" }, nil},
		{"invalid annotation key", func(p *Pod) { p.Annotations = map[string]string{"a/b/c": "x"} }, wants(wInv("metadata.annotations"))},
		{"annotation key case-insensitive", func(p *Pod) { p.Annotations = map[string]string{"Example.COM/Note": "anything at all: {}"} }, nil},
		{"annotations too large", func(p *Pod) {
			p.Annotations = map[string]string{"a": strings.Repeat("x", 128<<10), "b": strings.Repeat("x", 128<<10)}
		}, wants(wLong("metadata.annotations"))},
		{"owner reference missing fields", func(p *Pod) { p.OwnerReferences = []OwnerReference{{}} }, wants(
			wReq("metadata.ownerReferences[0].apiVersion"), wReq("metadata.ownerReferences[0].kind"),
			wReq("metadata.ownerReferences[0].name"), wReq("metadata.ownerReferences[0].uid"))},
		{"owner reference bad apiVersion", func(p *Pod) {
			p.OwnerReferences = []OwnerReference{{APIVersion: "apps/v1/x", Kind: "ReplicaSet", Name: "rs", UID: "u1"}}
		}, wants(wInv("metadata.ownerReferences[0].apiVersion"))},
		{"two controllers", func(p *Pod) {
			p.OwnerReferences = []OwnerReference{
				{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "a", UID: "u1", Controller: new(true)},
				{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "b", UID: "u2", Controller: new(true)},
			}
		}, wants(wInv("metadata.ownerReferences[1].controller"))},
		{"invalid finalizer", func(p *Pod) { p.Finalizers = []string{"example.com/ok", "not ok"} }, wants(wInv("metadata.finalizers[1]"))},
		{"duplicate finalizer", func(p *Pod) { p.Finalizers = []string{"example.com/f", "example.com/f"} }, wants(wDup("metadata.finalizers[1]"))},
		{"orphan and foreground", func(p *Pod) { p.Finalizers = []string{"orphan", "foregroundDeletion"} }, wants(wInv("metadata.finalizers"))},
		{"negative generation", func(p *Pod) { p.Generation = -1 }, wants(wInv("metadata.generation"))},
		{"bad resourceVersion", func(p *Pod) { p.ResourceVersion = "abc" }, wants(wInv("metadata.resourceVersion"))},
		{"negative deletion grace period", func(p *Pod) { p.DeletionGracePeriodSeconds = new(int64(-1)) },
			wants(wInv("metadata.deletionGracePeriodSeconds"))},
	})
}

func TestValidateNameRulesPerKind(t *testing.T) {
	svc := baseService()
	svc.Name = "1web"
	assert.Equal(t, wants(wInv("metadata.name")), errPairs(Validate(svc)), "Service names are DNS-1035 labels")
	svc.Name = "web.v1"
	assert.Equal(t, wants(wInv("metadata.name")), errPairs(Validate(svc)))

	ns := baseNamespace()
	ns.Name = "team.a"
	assert.Equal(t, wants(wInv("metadata.name")), errPairs(Validate(ns)), "Namespace names are DNS-1123 labels")

	node := baseNode()
	node.Name = "node-1.example.com"
	assert.Empty(t, Validate(node), "Node names are DNS subdomains")

	cm := baseConfigMap()
	cm.Name = "app.settings-v1"
	assert.Empty(t, Validate(cm))

	ns = baseNamespace()
	ns.Namespace = "default"
	assert.Equal(t, wants(wForb("metadata.namespace")), errPairs(Validate(ns)), "cluster-scoped")

	sa := &ServiceAccount{ObjectMeta: storedMeta("builder", "ci")}
	assert.Empty(t, Validate(sa))
	sa.Name = "Builder"
	assert.Equal(t, wants(wInv("metadata.name")), errPairs(Validate(sa)))
}

func TestNameValidators(t *testing.T) {
	assert.Empty(t, NameIsDNSSubdomain("web-", true), "a generateName prefix may end in '-'")
	assert.NotEmpty(t, NameIsDNSSubdomain("web-", false))
	assert.NotEmpty(t, NameIsDNSSubdomain("-", true))
	assert.Empty(t, NameIsDNSLabel("job-", true))
	assert.NotEmpty(t, NameIsDNSLabel("a.b", false))
	assert.Empty(t, NameIsDNS1035Label("svc-", true))
	assert.NotEmpty(t, NameIsDNS1035Label("1svc", false))
}

func TestValidateObjectMetaExported(t *testing.T) {
	m := &ObjectMeta{Name: "w", Namespace: "default"}
	assert.Empty(t, ValidateObjectMeta(m, true, NameIsDNSSubdomain, NewPath("metadata")))
	assert.Equal(t, wants(wForb("metadata.namespace")), errPairs(ValidateObjectMeta(m, false, NameIsDNSSubdomain, NewPath("metadata"))))
	m.Namespace = ""
	assert.Equal(t, wants(wReq("metadata.namespace")), errPairs(ValidateObjectMeta(m, true, NameIsDNSSubdomain, NewPath("metadata"))))
	assert.Equal(t, wants(wInv("labels"), wInv("labels")),
		errPairs(ValidateLabels(map[string]string{"a b": "c d"}, NewPath("labels"))))
	assert.Empty(t, ValidateAnnotations(map[string]string{"example.com/x": "{}"}, NewPath("annotations")))
}

func TestValidateObjectMetaUpdate(t *testing.T) {
	runUpdateCases(t, basePod, []ucase[*Pod]{
		{"labels may change", func(p, _ *Pod) { p.Labels["tier"] = "frontend" }, nil},
		{"name", func(p, _ *Pod) { p.Name = "web-2" }, wants(wInv("metadata.name"))},
		{"namespace", func(p, _ *Pod) { p.Namespace = "prod" }, wants(wInv("metadata.namespace"))},
		{"uid", func(p, _ *Pod) { p.UID = "other" }, wants(wInv("metadata.uid"))},
		{"creationTimestamp", func(p, _ *Pod) { p.CreationTimestamp = NewTime(vCreated.Add(time.Hour)) },
			wants(wInv("metadata.creationTimestamp"))},
		{"creationTimestamp same instant", func(p, _ *Pod) { p.CreationTimestamp = Time{vCreated.In(time.FixedZone("x", 3600))} }, nil},
		{"deletionTimestamp set by update", func(p, _ *Pod) { p.DeletionTimestamp = &vCreated }, wants(wInv("metadata.deletionTimestamp"))},
		{"generation decremented", func(p, _ *Pod) { p.Generation = 0 }, wants(wInv("metadata.generation"))},
		{"finalizer added while deleting", func(p, old *Pod) {
			old.DeletionTimestamp, p.DeletionTimestamp = &vCreated, &vCreated
			p.Finalizers = []string{"example.com/late"}
		}, wants(wForb("metadata.finalizers"))},
		{"finalizer removed while deleting", func(p, old *Pod) {
			old.DeletionTimestamp, p.DeletionTimestamp = &vCreated, &vCreated
			old.Finalizers = []string{"example.com/f"}
		}, nil},
		{"invalid new label", func(p, _ *Pod) { p.Labels["x"] = "-" }, wants(wInv("metadata.labels"))},
	})
	errs := ValidateUpdate(func() *Pod { p := basePod(); p.Name = "other"; return p }(), basePod())
	require.Len(t, errs, 1)
	assert.Equal(t, `metadata.name: Invalid value: "other": field is immutable`, errs[0].Error())
}

// ---------------------------------------------------------------------------
// Pods

func TestValidatePodContainers(t *testing.T) {
	c0 := "spec.containers[0]"
	runCreateCases(t, basePod, []vcase[*Pod]{
		{"no containers", func(p *Pod) { p.Spec.Containers = nil; p.Spec.Volumes = nil }, wants(wReq("spec.containers"))},
		{"missing container name", func(p *Pod) { p.Spec.Containers[0].Name = "" }, wants(wReq(c0 + ".name"))},
		{"invalid container name", func(p *Pod) { p.Spec.Containers[0].Name = "App" }, wants(wInv(c0 + ".name"))},
		{"duplicate container name", func(p *Pod) {
			p.Spec.Containers = append(p.Spec.Containers, Container{Name: "app", Image: "busybox"})
		}, wants(wDup("spec.containers[1].name"))},
		{"init container named like a container", func(p *Pod) {
			p.Spec.InitContainers = []Container{{Name: "app", Image: "busybox"}}
		}, wants(wDup("spec.initContainers[0].name"))},
		{"missing image", func(p *Pod) { p.Spec.Containers[0].Image = "" }, wants(wReq(c0 + ".image"))},
		{"missing init container image", func(p *Pod) { p.Spec.InitContainers = []Container{{Name: "init"}} },
			wants(wReq("spec.initContainers[0].image"))},
		{"image with whitespace", func(p *Pod) { p.Spec.Containers[0].Image = " nginx" }, wants(wInv(c0 + ".image"))},
		{"bad imagePullPolicy", func(p *Pod) { p.Spec.Containers[0].ImagePullPolicy = "Sometimes" }, wants(wNS(c0 + ".imagePullPolicy"))},
		{"imagePullPolicy set", func(p *Pod) { p.Spec.Containers[0].ImagePullPolicy = PullNever }, nil},
		{"bad terminationMessagePolicy", func(p *Pod) { p.Spec.Containers[0].TerminationMessagePolicy = "Logs" },
			wants(wNS(c0 + ".terminationMessagePolicy"))},
		{"missing containerPort", func(p *Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 }, wants(wReq(c0 + ".ports[0].containerPort"))},
		{"containerPort too large", func(p *Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 }, wants(wInv(c0 + ".ports[0].containerPort"))},
		{"negative hostPort", func(p *Pod) { p.Spec.Containers[0].Ports[0].HostPort = -1 }, wants(wInv(c0 + ".ports[0].hostPort"))},
		{"bad protocol", func(p *Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" }, wants(wNS(c0 + ".ports[0].protocol"))},
		{"unset protocol", func(p *Pod) { p.Spec.Containers[0].Ports[0].Protocol = "" }, nil},
		{"bad port name", func(p *Pod) { p.Spec.Containers[0].Ports[0].Name = "web_http" }, wants(wInv(c0 + ".ports[0].name"))},
		{"bad hostIP", func(p *Pod) { p.Spec.Containers[0].Ports[0].HostIP = "1.2.3" }, wants(wInv(c0 + ".ports[0].hostIP"))},
		{"duplicate port name", func(p *Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, ContainerPort{Name: "http", ContainerPort: 81})
		}, wants(wDup(c0 + ".ports[1].name"))},
		{"host port conflict", func(p *Pod) {
			p.Spec.Containers[0].Ports[0].HostPort = 8080
			p.Spec.Containers = append(p.Spec.Containers, Container{Name: "sidecar", Image: "envoy",
				Ports: []ContainerPort{{ContainerPort: 9090, HostPort: 8080}}})
		}, wants(wDup("spec.containers[1].ports[0].hostPort"))},
		{"same host port, other protocol", func(p *Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports,
				ContainerPort{ContainerPort: 53, HostPort: 53, Protocol: ProtocolUDP},
				ContainerPort{ContainerPort: 53, HostPort: 53, Protocol: ProtocolTCP})
		}, nil},
		{"hostNetwork hostPort differs", func(p *Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 8080
		}, wants(wInv(c0 + ".ports[0].containerPort"))},
		{"hostNetwork hostPort unset", func(p *Pod) { p.Spec.HostNetwork = true }, nil},
		{"init container with probe and lifecycle", func(p *Pod) {
			p.Spec.InitContainers = []Container{{Name: "init", Image: "busybox",
				ReadinessProbe: &Probe{ProbeHandler: ProbeHandler{Exec: &ExecAction{Command: []string{"true"}}}},
				Lifecycle:      &Lifecycle{PreStop: &LifecycleHandler{Exec: &ExecAction{Command: []string{"true"}}}}}}
		}, wants(wForb("spec.initContainers[0].readinessProbe"), wForb("spec.initContainers[0].lifecycle"))},
		{"bad runAsUser", func(p *Pod) { p.Spec.Containers[0].SecurityContext = &SecurityContext{RunAsUser: new(int64(-1))} },
			wants(wInv(c0 + ".securityContext.runAsUser"))},
		{"privileged without escalation", func(p *Pod) {
			p.Spec.Containers[0].SecurityContext = &SecurityContext{Privileged: new(true), AllowPrivilegeEscalation: new(false)}
		}, wants(wInv(c0 + ".securityContext.allowPrivilegeEscalation"))},
	})
}

func TestValidatePodEnv(t *testing.T) {
	e0 := "spec.containers[0].env[0]"
	withEnv := func(e ...EnvVar) func(*Pod) { return func(p *Pod) { p.Spec.Containers[0].Env = e } }
	withEnvFrom := func(e ...EnvFromSource) func(*Pod) { return func(p *Pod) { p.Spec.Containers[0].EnvFrom = e } }
	field := func(path string) *EnvVarSource {
		return &EnvVarSource{FieldRef: &ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
	}
	runCreateCases(t, basePod, []vcase[*Pod]{
		{"valid env", withEnv(
			EnvVar{Name: "MODE", Value: "prod"},
			EnvVar{Name: "my.dotted-name", Value: "x"},
			EnvVar{Name: "POD_IP", ValueFrom: field("status.podIP")},
			EnvVar{Name: "APP", ValueFrom: field("metadata.labels['app']")},
			EnvVar{Name: "NOTE", ValueFrom: field("metadata.annotations['Example.com/Note']")},
			EnvVar{Name: "CPU", ValueFrom: &EnvVarSource{ResourceFieldRef: &ResourceFieldSelector{Resource: "limits.cpu", Divisor: vq("1m")}}},
			EnvVar{Name: "PW", ValueFrom: &EnvVarSource{SecretKeyRef: &SecretKeySelector{LocalObjectReference{"creds"}, "password", nil}}},
		), nil},
		{"missing name", withEnv(EnvVar{Value: "x"}), wants(wReq(e0 + ".name"))},
		{"bad name", withEnv(EnvVar{Name: "1BAD", Value: "x"}), wants(wInv(e0 + ".name"))},
		{"valueFrom without source", withEnv(EnvVar{Name: "A", ValueFrom: &EnvVarSource{}}), wants(wInv(e0 + ".valueFrom"))},
		{"valueFrom and value", withEnv(EnvVar{Name: "A", Value: "x", ValueFrom: field("metadata.name")}), wants(wInv(e0 + ".valueFrom"))},
		{"two sources", withEnv(EnvVar{Name: "A", ValueFrom: &EnvVarSource{
			FieldRef:        &ObjectFieldSelector{FieldPath: "metadata.name"},
			ConfigMapKeyRef: &ConfigMapKeySelector{LocalObjectReference{"cm"}, "k", nil},
		}}), wants(wInv(e0 + ".valueFrom"))},
		{"configMapKeyRef without name and key", withEnv(EnvVar{Name: "A", ValueFrom: &EnvVarSource{ConfigMapKeyRef: &ConfigMapKeySelector{}}}),
			wants(wReq(e0+".valueFrom.configMapKeyRef.name"), wReq(e0+".valueFrom.configMapKeyRef.key"))},
		{"secretKeyRef bad key", withEnv(EnvVar{Name: "A", ValueFrom: &EnvVarSource{
			SecretKeyRef: &SecretKeySelector{LocalObjectReference{"creds"}, "pass word", nil}}}),
			wants(wInv(e0 + ".valueFrom.secretKeyRef.key"))},
		{"unsupported fieldPath", withEnv(EnvVar{Name: "A", ValueFrom: field("spec.hostname")}),
			wants(wNS(e0 + ".valueFrom.fieldRef.fieldPath"))},
		{"whole labels in env", withEnv(EnvVar{Name: "A", ValueFrom: field("metadata.labels")}),
			wants(wNS(e0 + ".valueFrom.fieldRef.fieldPath"))},
		{"bad label subscript", withEnv(EnvVar{Name: "A", ValueFrom: field("metadata.labels['bad key']")}),
			wants(wInv(e0 + ".valueFrom.fieldRef.fieldPath"))},
		{"subscript of other field", withEnv(EnvVar{Name: "A", ValueFrom: field("metadata.name['x']")}),
			wants(wInv(e0 + ".valueFrom.fieldRef.fieldPath"))},
		{"fieldRef apiVersion", withEnv(EnvVar{Name: "A", ValueFrom: &EnvVarSource{FieldRef: &ObjectFieldSelector{APIVersion: "v2", FieldPath: "metadata.name"}}}),
			wants(wInv(e0 + ".valueFrom.fieldRef.apiVersion"))},
		{"unsupported resource", withEnv(EnvVar{Name: "A", ValueFrom: &EnvVarSource{ResourceFieldRef: &ResourceFieldSelector{Resource: "limits.gpu"}}}),
			wants(wNS(e0 + ".valueFrom.resourceFieldRef.resource"))},
		{"bad cpu divisor", withEnv(EnvVar{Name: "A", ValueFrom: &EnvVarSource{ResourceFieldRef: &ResourceFieldSelector{Resource: "requests.cpu", Divisor: vq("1Mi")}}}),
			wants(wInv(e0 + ".valueFrom.resourceFieldRef.divisor"))},
		{"envFrom without source", withEnvFrom(EnvFromSource{Prefix: "X_"}), wants(wInv("spec.containers[0].envFrom[0]"))},
		{"envFrom two sources", withEnvFrom(EnvFromSource{
			ConfigMapRef: &ConfigMapEnvSource{LocalObjectReference: LocalObjectReference{"cm"}},
			SecretRef:    &SecretEnvSource{LocalObjectReference: LocalObjectReference{"s"}},
		}), wants(wInv("spec.containers[0].envFrom[0]"))},
		{"envFrom bad prefix", withEnvFrom(EnvFromSource{Prefix: "1X", ConfigMapRef: &ConfigMapEnvSource{LocalObjectReference: LocalObjectReference{"cm"}}}),
			wants(wInv("spec.containers[0].envFrom[0].prefix"))},
		{"envFrom missing name", withEnvFrom(EnvFromSource{ConfigMapRef: &ConfigMapEnvSource{}}),
			wants(wReq("spec.containers[0].envFrom[0].configMapRef.name"))},
	})
}

func TestValidatePodResources(t *testing.T) {
	r := "spec.containers[0].resources"
	with := func(limits, requests ResourceList) func(*Pod) {
		return func(p *Pod) {
			p.Spec.Containers[0].Resources = ResourceRequirements{Limits: limits, Requests: requests}
		}
	}
	runCreateCases(t, basePod, []vcase[*Pod]{
		{"requests within limits", with(ResourceList{"cpu": vq("1"), "memory": vq("1Gi")}, ResourceList{"cpu": vq("500m"), "memory": vq("1Gi")}), nil},
		{"negative limit", with(ResourceList{"cpu": vq("-1")}, nil), wants(wInv(r + ".limits[cpu]"))},
		{"request above limit", with(ResourceList{"cpu": vq("1")}, ResourceList{"cpu": vq("2")}), wants(wInv(r + ".requests"))},
		{"unknown resource", with(nil, ResourceList{"gpu": vq("1")}), wants(wInv(r + ".requests[gpu]"))},
		{"pods is not a container resource", with(ResourceList{"pods": vq("1")}, nil), wants(wInv(r + ".limits[pods]"))},
		{"bad resource name", with(ResourceList{"example.com/a b": vq("1")}, nil), wants(wInv(r + ".limits[example.com/a b]"))},
		{"extended resource", with(ResourceList{"example.com/gpu": vq("2")}, ResourceList{"example.com/gpu": vq("2")}), nil},
		{"extended request differs from limit", with(ResourceList{"example.com/gpu": vq("2")}, ResourceList{"example.com/gpu": vq("1")}),
			wants(wInv(r + ".requests"))},
		{"extended request without limit", with(nil, ResourceList{"example.com/gpu": vq("1")}), wants(wReq(r + ".limits"))},
		{"fractional extended resource", with(ResourceList{"example.com/gpu": vq("500m")}, nil), wants(wInv(r + ".limits[example.com/gpu]"))},
		{"hugepages must be equal", with(ResourceList{"hugepages-2Mi": vq("4Mi")}, ResourceList{"hugepages-2Mi": vq("2Mi")}), wants(wInv(r + ".requests"))},
	})
	pod := basePod()
	pod.Spec.Containers[0].Resources = ResourceRequirements{Limits: ResourceList{"cpu": vq("1")}, Requests: ResourceList{"cpu": vq("2")}}
	errs := Validate(pod)
	require.Len(t, errs, 1)
	assert.Equal(t, `spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`, errs[0].Error())
}

func TestValidatePodVolumes(t *testing.T) {
	v0 := "spec.volumes[0]"
	m0 := "spec.containers[0].volumeMounts[0]"
	withVolume := func(src VolumeSource) func(*Pod) {
		return func(p *Pod) { p.Spec.Volumes[0].VolumeSource = src }
	}
	runCreateCases(t, basePod, []vcase[*Pod]{
		{"mount of undeclared volume", func(p *Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "cache" }, wants(wNF(m0 + ".name"))},
		{"mount without name", func(p *Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "" }, wants(wReq(m0 + ".name"))},
		{"missing mountPath", func(p *Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "" }, wants(wReq(m0 + ".mountPath"))},
		{"relative mountPath", func(p *Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "data" }, wants(wInv(m0 + ".mountPath"))},
		{"duplicate mountPath", func(p *Pod) {
			c := &p.Spec.Containers[0]
			c.VolumeMounts = append(c.VolumeMounts, VolumeMount{Name: "data", MountPath: "/data"})
		}, wants(wInv("spec.containers[0].volumeMounts[1].mountPath"))},
		{"subPath escaping", func(p *Pod) { p.Spec.Containers[0].VolumeMounts[0].SubPath = "../etc" }, wants(wInv(m0 + ".subPath"))},
		{"subPath", func(p *Pod) { p.Spec.Containers[0].VolumeMounts[0].SubPath = "app/logs" }, nil},
		{"no source", withVolume(VolumeSource{}), wants(wReq(v0))},
		{"two sources", withVolume(VolumeSource{EmptyDir: &EmptyDirVolumeSource{}, HostPath: &HostPathVolumeSource{Path: "/srv"}}),
			wants(wForb(v0 + ".hostPath"))},
		{"bad volume name", func(p *Pod) {
			p.Spec.Volumes[0].Name = "Data"
			p.Spec.Containers[0].VolumeMounts = nil
		}, wants(wInv(v0 + ".name"))},
		{"missing volume name", func(p *Pod) {
			p.Spec.Volumes[0].Name = ""
			p.Spec.Containers[0].VolumeMounts = nil
		}, wants(wReq(v0 + ".name"))},
		{"duplicate volume name", func(p *Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, Volume{Name: "data", VolumeSource: VolumeSource{EmptyDir: &EmptyDirVolumeSource{}}})
		}, wants(wDup("spec.volumes[1].name"))},
		{"emptyDir medium", withVolume(VolumeSource{EmptyDir: &EmptyDirVolumeSource{Medium: "HugePages"}}), wants(wNS(v0 + ".emptyDir.medium"))},
		{"negative emptyDir size", withVolume(VolumeSource{EmptyDir: &EmptyDirVolumeSource{SizeLimit: new(vq("-1Gi"))}}),
			wants(wInv(v0 + ".emptyDir.sizeLimit"))},
		{"hostPath", withVolume(VolumeSource{HostPath: &HostPathVolumeSource{Path: "/var/log", Type: new(HostPathDirectory)}}), nil},
		{"relative hostPath", withVolume(VolumeSource{HostPath: &HostPathVolumeSource{Path: "var/log"}}), wants(wInv(v0 + ".hostPath.path"))},
		{"hostPath with ..", withVolume(VolumeSource{HostPath: &HostPathVolumeSource{Path: "/var/../etc"}}), wants(wInv(v0 + ".hostPath.path"))},
		{"missing hostPath", withVolume(VolumeSource{HostPath: &HostPathVolumeSource{}}), wants(wReq(v0 + ".hostPath.path"))},
		{"bad hostPath type", withVolume(VolumeSource{HostPath: &HostPathVolumeSource{Path: "/x", Type: new(HostPathType("Pipe"))}}),
			wants(wNS(v0 + ".hostPath.type"))},
		{"configMap", withVolume(VolumeSource{ConfigMap: &ConfigMapVolumeSource{
			LocalObjectReference: LocalObjectReference{"settings"}, DefaultMode: new(int32(0o644)),
			Items: []KeyToPath{{Key: "app.conf", Path: "conf/app.conf", Mode: new(int32(0o600))}},
		}}), nil},
		{"configMap without name", withVolume(VolumeSource{ConfigMap: &ConfigMapVolumeSource{}}), wants(wReq(v0 + ".configMap.name"))},
		{"configMap bad items", withVolume(VolumeSource{ConfigMap: &ConfigMapVolumeSource{
			LocalObjectReference: LocalObjectReference{"settings"},
			Items: []KeyToPath{
				{Key: "a b", Path: "/abs"},
				{Key: "k", Path: "..data"},
				{Key: "", Path: "", Mode: new(int32(0o1000))},
			},
		}}), wants(wInv(v0+".configMap.items[0].key"), wInv(v0+".configMap.items[0].path"), wInv(v0+".configMap.items[1].path"),
			wReq(v0+".configMap.items[2].key"), wReq(v0+".configMap.items[2].path"), wInv(v0+".configMap.items[2].mode"))},
		{"secret without name", withVolume(VolumeSource{Secret: &SecretVolumeSource{}}), wants(wReq(v0 + ".secret.secretName"))},
		{"secret bad defaultMode", withVolume(VolumeSource{Secret: &SecretVolumeSource{SecretName: "creds", DefaultMode: new(int32(0o1000))}}),
			wants(wInv(v0 + ".secret.defaultMode"))},
		{"downwardAPI", withVolume(VolumeSource{DownwardAPI: &DownwardAPIVolumeSource{Items: []DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "cpu", ResourceFieldRef: &ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu"}},
		}}}), nil},
		{"downwardAPI bad items", withVolume(VolumeSource{DownwardAPI: &DownwardAPIVolumeSource{Items: []DownwardAPIVolumeFile{
			{Path: "ip", FieldRef: &ObjectFieldSelector{FieldPath: "status.podIP"}},
			{Path: "none"},
			{Path: "cpu", ResourceFieldRef: &ResourceFieldSelector{Resource: "limits.cpu"}},
		}}}), wants(wNS(v0+".downwardAPI.items[0].fieldRef.fieldPath"), wReq(v0+".downwardAPI.items[1]"),
			wReq(v0+".downwardAPI.items[2].resourceFieldRef.containerName"))},
		{"projected", withVolume(VolumeSource{Projected: &ProjectedVolumeSource{Sources: []VolumeProjection{
			{ServiceAccountToken: &ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: new(int64(3600))}},
			{ConfigMap: &ConfigMapProjection{LocalObjectReference: LocalObjectReference{"ca"}, Items: []KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
		}}}), nil},
		{"projected bad sources", withVolume(VolumeSource{Projected: &ProjectedVolumeSource{Sources: []VolumeProjection{
			{ServiceAccountToken: &ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: new(int64(60))}},
			{Secret: &SecretProjection{LocalObjectReference: LocalObjectReference{"s"}, Items: []KeyToPath{{Key: "t", Path: "token"}}},
				ConfigMap: &ConfigMapProjection{LocalObjectReference: LocalObjectReference{"c"}}},
			{},
		}}}), wants(wInv(v0+".projected.sources[0].serviceAccountToken.expirationSeconds"),
			wInv(v0+".projected.sources[1].secret.items[0].path"), wForb(v0+".projected.sources[1]"),
			wReq(v0+".projected.sources[2]"))},
	})
	pod := basePod()
	pod.Spec.Volumes[0].VolumeSource = VolumeSource{}
	assert.Equal(t, "spec.volumes[0]: Required value: must specify a volume type", Validate(pod).Error())
}

func TestValidatePodProbes(t *testing.T) {
	c0 := "spec.containers[0]"
	httpProbe := func() *Probe {
		return &Probe{ProbeHandler: ProbeHandler{HTTPGet: &HTTPGetAction{Path: "/healthz", Port: FromString("http")}}}
	}
	withLiveness := func(f func(*Probe)) func(*Pod) {
		return func(p *Pod) { pr := httpProbe(); f(pr); p.Spec.Containers[0].LivenessProbe = pr }
	}
	runCreateCases(t, basePod, []vcase[*Pod]{
		{"probes set, zero values unset", func(p *Pod) {
			c := &p.Spec.Containers[0]
			c.LivenessProbe = httpProbe()
			c.ReadinessProbe = &Probe{ProbeHandler: ProbeHandler{TCPSocket: &TCPSocketAction{Port: FromInt32(80)}}, SuccessThreshold: 3}
			c.StartupProbe = &Probe{ProbeHandler: ProbeHandler{Exec: &ExecAction{Command: []string{"cat", "/ready"}}},
				PeriodSeconds: 5, FailureThreshold: 30, SuccessThreshold: 1, TerminationGracePeriodSeconds: new(int64(10))}
		}, nil},
		{"no handler", withLiveness(func(pr *Probe) { pr.HTTPGet = nil }), wants(wReq(c0 + ".livenessProbe"))},
		{"two handlers", withLiveness(func(pr *Probe) { pr.TCPSocket = &TCPSocketAction{Port: FromInt32(80)} }),
			wants(wForb(c0 + ".livenessProbe.tcpSocket"))},
		{"httpGet port 0", withLiveness(func(pr *Probe) { pr.HTTPGet.Port = FromInt32(0) }), wants(wInv(c0 + ".livenessProbe.httpGet.port"))},
		{"httpGet bad port name", withLiveness(func(pr *Probe) { pr.HTTPGet.Port = FromString("web_http") }),
			wants(wInv(c0 + ".livenessProbe.httpGet.port"))},
		{"httpGet bad scheme", withLiveness(func(pr *Probe) { pr.HTTPGet.Scheme = "FTP" }), wants(wNS(c0 + ".livenessProbe.httpGet.scheme"))},
		{"httpGet bad header", withLiveness(func(pr *Probe) { pr.HTTPGet.HTTPHeaders = []HTTPHeader{{Name: "X Bad", Value: "1"}} }),
			wants(wInv(c0 + ".livenessProbe.httpGet.httpHeaders[0].name"))},
		{"exec without command", withLiveness(func(pr *Probe) { pr.HTTPGet, pr.Exec = nil, &ExecAction{} }),
			wants(wReq(c0 + ".livenessProbe.exec.command"))},
		{"tcpSocket port too large", withLiveness(func(pr *Probe) { pr.HTTPGet, pr.TCPSocket = nil, &TCPSocketAction{Port: FromInt32(65536)} }),
			wants(wInv(c0 + ".livenessProbe.tcpSocket.port"))},
		{"negative numbers", withLiveness(func(pr *Probe) {
			pr.InitialDelaySeconds, pr.TimeoutSeconds, pr.PeriodSeconds, pr.FailureThreshold = -1, -1, -1, -1
		}), wants(wInv(c0+".livenessProbe.initialDelaySeconds"), wInv(c0+".livenessProbe.timeoutSeconds"),
			wInv(c0+".livenessProbe.periodSeconds"), wInv(c0+".livenessProbe.failureThreshold"))},
		{"liveness successThreshold", withLiveness(func(pr *Probe) { pr.SuccessThreshold = 2 }), wants(wInv(c0 + ".livenessProbe.successThreshold"))},
		{"startup successThreshold", func(p *Pod) {
			pr := httpProbe()
			pr.SuccessThreshold = 3
			p.Spec.Containers[0].StartupProbe = pr
		}, wants(wInv(c0 + ".startupProbe.successThreshold"))},
		{"probe grace period", withLiveness(func(pr *Probe) { pr.TerminationGracePeriodSeconds = new(int64(0)) }),
			wants(wInv(c0 + ".livenessProbe.terminationGracePeriodSeconds"))},
		{"readiness grace period", func(p *Pod) {
			pr := httpProbe()
			pr.TerminationGracePeriodSeconds = new(int64(5))
			p.Spec.Containers[0].ReadinessProbe = pr
		}, wants(wInv(c0 + ".readinessProbe.terminationGracePeriodSeconds"))},
		{"preStop without handler", func(p *Pod) { p.Spec.Containers[0].Lifecycle = &Lifecycle{PreStop: &LifecycleHandler{}} },
			wants(wReq(c0 + ".lifecycle.preStop"))},
		{"preStop with two handlers", func(p *Pod) {
			p.Spec.Containers[0].Lifecycle = &Lifecycle{PreStop: &LifecycleHandler{
				Exec: &ExecAction{Command: []string{"drain"}}, Sleep: &SleepAction{Seconds: 5}}}
		}, wants(wForb(c0 + ".lifecycle.preStop.sleep"))},
		{"preStop sleep within grace", func(p *Pod) {
			p.Spec.Containers[0].Lifecycle = &Lifecycle{PreStop: &LifecycleHandler{Sleep: &SleepAction{Seconds: 30}}}
		}, nil},
		{"preStop sleep beyond grace", func(p *Pod) {
			p.Spec.Containers[0].Lifecycle = &Lifecycle{PreStop: &LifecycleHandler{Sleep: &SleepAction{Seconds: 31}}}
		}, wants(wInv(c0 + ".lifecycle.preStop.sleep.seconds"))},
		{"postStart httpGet bad port", func(p *Pod) {
			p.Spec.Containers[0].Lifecycle = &Lifecycle{PostStart: &LifecycleHandler{HTTPGet: &HTTPGetAction{Port: FromString("")}}}
		}, wants(wInv(c0 + ".lifecycle.postStart.httpGet.port"))},
	})
}

func TestValidatePodSpecFields(t *testing.T) {
	s := "spec"
	runCreateCases(t, basePod, []vcase[*Pod]{
		{"unset enums", func(p *Pod) {
			p.Spec.RestartPolicy, p.Spec.DNSPolicy, p.Spec.TerminationGracePeriodSeconds = "", "", nil
		}, nil},
		{"bad restartPolicy", func(p *Pod) { p.Spec.RestartPolicy = "Sometimes" }, wants(wNS(s + ".restartPolicy"))},
		{"bad dnsPolicy", func(p *Pod) { p.Spec.DNSPolicy = "Custom" }, wants(wNS(s + ".dnsPolicy"))},
		{"dnsPolicy None without config", func(p *Pod) { p.Spec.DNSPolicy = DNSNone }, wants(wReq(s + ".dnsConfig"))},
		{"dnsPolicy None without nameservers", func(p *Pod) {
			p.Spec.DNSPolicy, p.Spec.DNSConfig = DNSNone, &PodDNSConfig{Searches: []string{"svc.cluster.local."}}
		}, wants(wReq(s + ".dnsConfig.nameservers"))},
		{"bad dnsConfig", func(p *Pod) {
			p.Spec.DNSConfig = &PodDNSConfig{
				Nameservers: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9", "nope"},
				Searches:    []string{"Bad_Domain"},
				Options:     []PodDNSConfigOption{{Value: new("2")}},
			}
		}, wants(wMany(s+".dnsConfig.nameservers"), wInv(s+".dnsConfig.nameservers[3]"), wInv(s+".dnsConfig.searches[0]"),
			wReq(s+".dnsConfig.options[0].name"))},
		{"negative grace period", func(p *Pod) { p.Spec.TerminationGracePeriodSeconds = new(int64(-1)) },
			wants(wInv(s + ".terminationGracePeriodSeconds"))},
		{"zero grace period", func(p *Pod) { p.Spec.TerminationGracePeriodSeconds = new(int64(0)) }, nil},
		{"zero activeDeadlineSeconds", func(p *Pod) { p.Spec.ActiveDeadlineSeconds = new(int64(0)) }, wants(wInv(s + ".activeDeadlineSeconds"))},
		{"bad nodeSelector", func(p *Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd fast"} }, wants(wInv(s + ".nodeSelector"))},
		{"bad serviceAccountName", func(p *Pod) { p.Spec.ServiceAccountName = "Builder" }, wants(wInv(s + ".serviceAccountName"))},
		{"bad nodeName", func(p *Pod) { p.Spec.NodeName = "node_1" }, wants(wInv(s + ".nodeName"))},
		{"bad schedulerName", func(p *Pod) { p.Spec.SchedulerName = "My Scheduler" }, wants(wInv(s + ".schedulerName"))},
		{"bad priorityClassName", func(p *Pod) { p.Spec.PriorityClassName = "High" }, wants(wInv(s + ".priorityClassName"))},
		{"bad hostname and subdomain", func(p *Pod) { p.Spec.Hostname, p.Spec.Subdomain = "web.1", "Svc" },
			wants(wInv(s+".hostname"), wInv(s+".subdomain"))},
		{"empty imagePullSecret", func(p *Pod) { p.Spec.ImagePullSecrets = []LocalObjectReference{{"regcred"}, {}} },
			wants(wReq(s + ".imagePullSecrets[1].name"))},
		{"bad pod security context", func(p *Pod) {
			p.Spec.SecurityContext = &PodSecurityContext{FSGroup: new(int64(-5)), SupplementalGroups: []int64{1000, 1 << 40}}
		}, wants(wInv(s+".securityContext.fsGroup"), wInv(s+".securityContext.supplementalGroups[1]"))},
		{"bad hostAliases", func(p *Pod) {
			p.Spec.HostAliases = []HostAlias{{IP: "10.0.0.300", Hostnames: []string{"db", "Bad_Host"}}}
		},
			wants(wInv(s+".hostAliases[0].ip"), wInv(s+".hostAliases[0].hostnames[1]"))},
		{"bad preemptionPolicy", func(p *Pod) { p.Spec.PreemptionPolicy = new(PreemptionPolicy("Always")) }, wants(wNS(s + ".preemptionPolicy"))},
		{"bad readinessGate", func(p *Pod) { p.Spec.ReadinessGates = []PodReadinessGate{{ConditionType: "bad gate"}} },
			wants(wInv(s + ".readinessGates[0].conditionType"))},
		{"negative overhead", func(p *Pod) { p.Spec.Overhead = ResourceList{"memory": vq("-1")} }, wants(wInv(s + ".overhead[memory]"))},
	})
}

func TestValidatePodScheduling(t *testing.T) {
	s := "spec"
	na := s + ".affinity.nodeAffinity"
	req := na + ".requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
	withTolerations := func(ts ...Toleration) func(*Pod) { return func(p *Pod) { p.Spec.Tolerations = ts } }
	withNodeTerm := func(rs ...NodeSelectorRequirement) func(*Pod) {
		return func(p *Pod) {
			p.Spec.Affinity = &Affinity{NodeAffinity: &NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &NodeSelector{
				NodeSelectorTerms: []NodeSelectorTerm{{MatchExpressions: rs}},
			}}}
		}
	}
	withSpread := func(cs ...TopologySpreadConstraint) func(*Pod) {
		return func(p *Pod) { p.Spec.TopologySpreadConstraints = cs }
	}
	zoneSpread := TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: DoNotSchedule,
		LabelSelector: &LabelSelector{MatchLabels: map[string]string{"app": "web"}}}
	runCreateCases(t, basePod, []vcase[*Pod]{
		{"tolerations", withTolerations(
			Toleration{Key: "dedicated", Operator: TolerationOpEqual, Value: "gpu", Effect: TaintEffectNoSchedule},
			Toleration{Key: "node.kubernetes.io/unreachable", Operator: TolerationOpExists, Effect: TaintEffectNoExecute, TolerationSeconds: new(int64(300))},
			Toleration{Operator: TolerationOpExists},
		), nil},
		{"Exists with value", withTolerations(Toleration{Key: "k", Operator: TolerationOpExists, Value: "v"}),
			wants(wInv(s + ".tolerations[0].value"))},
		{"empty key needs Exists", withTolerations(Toleration{Value: "v"}), wants(wInv(s + ".tolerations[0].operator"))},
		{"bad key", withTolerations(Toleration{Key: "bad key", Operator: TolerationOpExists}), wants(wInv(s + ".tolerations[0].key"))},
		{"bad operator", withTolerations(Toleration{Key: "k", Operator: "In"}), wants(wNS(s + ".tolerations[0].operator"))},
		{"bad effect", withTolerations(Toleration{Key: "k", Effect: "NoRun"}), wants(wNS(s + ".tolerations[0].effect"))},
		{"tolerationSeconds without NoExecute", withTolerations(Toleration{Key: "k", Effect: TaintEffectNoSchedule, TolerationSeconds: new(int64(1))}),
			wants(wInv(s + ".tolerations[0].effect"))},
		{"node affinity", withNodeTerm(
			NodeSelectorRequirement{Key: "kubernetes.io/arch", Operator: NodeSelectorOpIn, Values: []string{"amd64", "arm64"}},
			NodeSelectorRequirement{Key: "gpu-count", Operator: NodeSelectorOpGt, Values: []string{"1"}},
			NodeSelectorRequirement{Key: "spot", Operator: NodeSelectorOpDoesNotExist},
		), nil},
		{"no node selector terms", func(p *Pod) {
			p.Spec.Affinity = &Affinity{NodeAffinity: &NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &NodeSelector{}}}
		}, wants(wReq(req))},
		{"In without values", withNodeTerm(NodeSelectorRequirement{Key: "zone", Operator: NodeSelectorOpIn}),
			wants(wReq(req + "[0].matchExpressions[0].values"))},
		{"Exists with values", withNodeTerm(NodeSelectorRequirement{Key: "zone", Operator: NodeSelectorOpExists, Values: []string{"a"}}),
			wants(wForb(req + "[0].matchExpressions[0].values"))},
		{"Gt with two values", withNodeTerm(NodeSelectorRequirement{Key: "n", Operator: NodeSelectorOpGt, Values: []string{"1", "2"}}),
			wants(wReq(req + "[0].matchExpressions[0].values"))},
		{"Lt with non-integer", withNodeTerm(NodeSelectorRequirement{Key: "n", Operator: NodeSelectorOpLt, Values: []string{"ten"}}),
			wants(wInv(req + "[0].matchExpressions[0].values[0]"))},
		{"bad node operator", withNodeTerm(NodeSelectorRequirement{Key: "n", Operator: "Near"}),
			wants(wNS(req + "[0].matchExpressions[0].operator"))},
		{"bad node key and value", withNodeTerm(NodeSelectorRequirement{Key: "a b", Operator: NodeSelectorOpIn, Values: []string{"c d"}}),
			wants(wInv(req+"[0].matchExpressions[0].key"), wInv(req+"[0].matchExpressions[0].values[0]"))},
		{"matchFields", func(p *Pod) {
			p.Spec.Affinity = &Affinity{NodeAffinity: &NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &NodeSelector{
				NodeSelectorTerms: []NodeSelectorTerm{
					{MatchFields: []NodeSelectorRequirement{{Key: "metadata.name", Operator: NodeSelectorOpIn, Values: []string{"node-1"}}}},
					{MatchFields: []NodeSelectorRequirement{{Key: "metadata.uid", Operator: NodeSelectorOpIn, Values: []string{"x"}}}},
				},
			}}}
		}, wants(wNS(req + "[1].matchFields[0].key"))},
		{"preferred weight", func(p *Pod) {
			p.Spec.Affinity = &Affinity{NodeAffinity: &NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []PreferredSchedulingTerm{
				{Weight: 0, Preference: NodeSelectorTerm{MatchExpressions: []NodeSelectorRequirement{{Key: "zone", Operator: NodeSelectorOpExists}}}},
			}}}
		}, wants(wInv(na + ".preferredDuringSchedulingIgnoredDuringExecution[0].weight"))},
		{"pod affinity", func(p *Pod) {
			p.Spec.Affinity = &Affinity{
				PodAffinity: &PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []PodAffinityTerm{{
					LabelSelector: &LabelSelector{MatchLabels: map[string]string{"app": "cache"}}, TopologyKey: "kubernetes.io/hostname",
				}}},
				PodAntiAffinity: &PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []WeightedPodAffinityTerm{{
					Weight: 100, PodAffinityTerm: PodAffinityTerm{
						LabelSelector: &LabelSelector{MatchLabels: map[string]string{"app": "web"}}, TopologyKey: "topology.kubernetes.io/zone",
						Namespaces: []string{"default"}, NamespaceSelector: &LabelSelector{},
					},
				}}},
			}
		}, nil},
		{"pod affinity errors", func(p *Pod) {
			p.Spec.Affinity = &Affinity{
				PodAffinity: &PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []PodAffinityTerm{{
					LabelSelector: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "app", Operator: "Equals", Values: []string{"x"}}}},
					Namespaces:    []string{"Prod"},
				}}},
				PodAntiAffinity: &PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []WeightedPodAffinityTerm{{
					Weight: 101, PodAffinityTerm: PodAffinityTerm{TopologyKey: "zone"},
				}}},
			}
		}, wants(
			wNS(s+".affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].operator"),
			wInv(s+".affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaces[0]"),
			wReq(s+".affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"),
			wInv(s+".affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"))},
		{"topology spread", withSpread(zoneSpread,
			TopologySpreadConstraint{MaxSkew: 2, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: ScheduleAnyway}), nil},
		{"bad spread constraint", withSpread(TopologySpreadConstraint{MaxSkew: 0, WhenUnsatisfiable: "Never", MinDomains: new(int32(2))}),
			wants(wInv(s+".topologySpreadConstraints[0].maxSkew"), wReq(s+".topologySpreadConstraints[0].topologyKey"),
				wNS(s+".topologySpreadConstraints[0].whenUnsatisfiable"), wInv(s+".topologySpreadConstraints[0].minDomains"))},
		{"duplicate spread constraint", withSpread(zoneSpread, zoneSpread),
			wants(wDup(s + ".topologySpreadConstraints[1].{topologyKey, whenUnsatisfiable}"))},
		{"spread with bad selector", withSpread(TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: DoNotSchedule,
			LabelSelector: &LabelSelector{MatchLabels: map[string]string{"app": "a b"}}}),
			wants(wInv(s + ".topologySpreadConstraints[0].labelSelector.matchLabels"))},
	})
}

func TestValidatePodUpdate(t *testing.T) {
	runUpdateCases(t, basePod, []ucase[*Pod]{
		{"image", func(p, _ *Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }, nil},
		{"init container image", func(p, old *Pod) {
			old.Spec.InitContainers = []Container{{Name: "init", Image: "busybox:1"}}
			p.Spec.InitContainers = []Container{{Name: "init", Image: "busybox:2"}}
		}, nil},
		{"image removed", func(p, _ *Pod) { p.Spec.Containers[0].Image = "" }, wants(wReq("spec.containers[0].image"))},
		{"nodeName", func(p, _ *Pod) { p.Spec.NodeName = "node-1" }, wants(wForb("spec"))},
		{"env", func(p, _ *Pod) { p.Spec.Containers[0].Env = []EnvVar{{Name: "A", Value: "1"}} }, wants(wForb("spec"))},
		{"container added", func(p, _ *Pod) {
			p.Spec.Containers = append(p.Spec.Containers, Container{Name: "sidecar", Image: "envoy"})
		}, wants(wForb("spec.containers"))},
		{"activeDeadlineSeconds set", func(p, _ *Pod) { p.Spec.ActiveDeadlineSeconds = new(int64(600)) }, nil},
		{"activeDeadlineSeconds shortened", func(p, old *Pod) {
			old.Spec.ActiveDeadlineSeconds, p.Spec.ActiveDeadlineSeconds = new(int64(600)), new(int64(60))
		}, nil},
		{"activeDeadlineSeconds lengthened", func(p, old *Pod) {
			old.Spec.ActiveDeadlineSeconds, p.Spec.ActiveDeadlineSeconds = new(int64(60)), new(int64(600))
		}, wants(wInv("spec.activeDeadlineSeconds"))},
		{"activeDeadlineSeconds removed", func(_, old *Pod) { old.Spec.ActiveDeadlineSeconds = new(int64(60)) },
			wants(wInv("spec.activeDeadlineSeconds"))},
		{"toleration added", func(p, old *Pod) {
			tol := Toleration{Key: "k", Operator: TolerationOpExists, Effect: TaintEffectNoExecute, TolerationSeconds: new(int64(60))}
			old.Spec.Tolerations = []Toleration{tol}
			tol.TolerationSeconds = new(int64(30))
			p.Spec.Tolerations = []Toleration{tol, {Key: "other", Operator: TolerationOpExists}}
		}, nil},
		{"toleration changed", func(p, old *Pod) {
			old.Spec.Tolerations = []Toleration{{Key: "k", Operator: TolerationOpExists}}
			p.Spec.Tolerations = []Toleration{{Key: "k", Operator: TolerationOpEqual, Value: "v"}}
		}, wants(wForb("spec.tolerations"))},
		{"grace period from negative to 1", func(p, old *Pod) {
			old.Spec.TerminationGracePeriodSeconds, p.Spec.TerminationGracePeriodSeconds = new(int64(-1)), new(int64(1))
		}, nil},
		{"quantity spelled differently", func(p, old *Pod) {
			old.Spec.Containers[0].Resources.Limits = ResourceList{"cpu": vq("1")}
			p.Spec.Containers[0].Resources.Limits = ResourceList{"cpu": vq("1000m")}
		}, nil},
	})
	old, pod := basePod(), basePod()
	pod.Spec.NodeName = "node-1"
	pod.Spec.Containers[0].Env = []EnvVar{{Name: "A", Value: "1"}}
	errs := ValidateUpdate(pod, old)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`")
	assert.Contains(t, errs[0].Error(), "changed: spec.containers[0].env, spec.nodeName")
}

func TestValidatePodStatusUpdate(t *testing.T) {
	base := func() *Pod {
		p := basePod()
		p.Spec.NodeName = "node-1"
		p.Spec.RestartPolicy = RestartPolicyNever
		p.Status = PodStatus{
			Phase:      PodRunning,
			Conditions: []PodCondition{{Type: PodReady, Status: ConditionTrue}, {Type: "example.com/Gate", Status: ConditionFalse}},
			HostIP:     "192.168.1.10", HostIPs: []HostIP{{"192.168.1.10"}},
			PodIP: "10.244.1.5", PodIPs: []PodIP{{"10.244.1.5"}, {"fd00::5"}},
			ContainerStatuses: []ContainerStatus{{Name: "app", Ready: true, RestartCount: 0,
				State: ContainerState{Terminated: &ContainerStateTerminated{ExitCode: 0}}}},
		}
		return p
	}
	runStatusCases(t, base, []ucase[*Pod]{
		{"bad phase", func(p, _ *Pod) { p.Status.Phase = "Done" }, wants(wNS("status.phase"))},
		{"bad condition", func(p, _ *Pod) {
			p.Status.Conditions = append(p.Status.Conditions, PodCondition{Type: "bad type", Status: "Yes"}, PodCondition{Type: PodScheduled})
		}, wants(wInv("status.conditions[2].type"), wNS("status.conditions[2].status"), wReq("status.conditions[3].status"))},
		{"bad podIP", func(p, _ *Pod) { p.Status.PodIP, p.Status.PodIPs = "10.244.1", nil }, wants(wInv("status.podIP"))},
		{"podIPs of one family", func(p, _ *Pod) { p.Status.PodIPs = []PodIP{{"10.244.1.5"}, {"10.244.1.6"}} }, wants(wInv("status.podIPs[1]"))},
		{"podIPs not headed by podIP", func(p, _ *Pod) { p.Status.PodIPs = []PodIP{{"fd00::5"}, {"10.244.1.5"}} }, wants(wInv("status.podIPs[0]"))},
		{"bad hostIPs", func(p, _ *Pod) { p.Status.HostIPs = []HostIP{{"192.168.1.10"}, {"x"}} }, wants(wInv("status.hostIPs[1]"))},
		{"terminated container restarted", func(p, _ *Pod) {
			p.Status.ContainerStatuses[0].State = ContainerState{Running: &ContainerStateRunning{}}
		}, wants(wForb("status.containerStatuses[0].state"))},
		{"negative restartCount", func(p, _ *Pod) { p.Status.ContainerStatuses[0].RestartCount = -1 },
			wants(wInv("status.containerStatuses[0].restartCount"))},
		{"bad nominatedNodeName", func(p, _ *Pod) { p.Status.NominatedNodeName = "Node 2" }, wants(wInv("status.nominatedNodeName"))},
		{"nodeName changed", func(p, _ *Pod) { p.Spec.NodeName = "node-2" }, wants(wForb("spec.nodeName"))},
		{"name changed", func(p, _ *Pod) { p.Name = "other" }, wants(wInv("metadata.name"))},
	})
	// With OnFailure a container that failed may run again, one that
	// succeeded may not.
	old, pod := base(), base()
	old.Spec.RestartPolicy, pod.Spec.RestartPolicy = RestartPolicyOnFailure, RestartPolicyOnFailure
	old.Status.ContainerStatuses[0].State.Terminated.ExitCode = 1
	pod.Status.ContainerStatuses[0].State = ContainerState{Running: &ContainerStateRunning{}}
	assert.Empty(t, ValidateStatusUpdate(pod, old))
}

// ---------------------------------------------------------------------------
// Services and Endpoints

func TestValidateService(t *testing.T) {
	s := "spec"
	runCreateCases(t, baseService, []vcase[*Service]{
		{"unset defaults", func(v *Service) {
			v.Spec.Type, v.Spec.SessionAffinity, v.Spec.ClusterIP = "", "", ""
			v.Spec.Ports[0].Protocol, v.Spec.Ports[0].TargetPort = "", IntOrString{}
		}, nil},
		{"headless without ports", func(v *Service) { v.Spec.ClusterIP, v.Spec.Ports = ClusterIPNone, nil }, nil},
		{"no ports", func(v *Service) { v.Spec.Ports = nil }, wants(wReq(s + ".ports"))},
		{"ExternalName", func(v *Service) {
			v.Spec = ServiceSpec{Type: ServiceTypeExternalName, ExternalName: "db.example.com."}
		}, nil},
		{"ExternalName without name", func(v *Service) { v.Spec = ServiceSpec{Type: ServiceTypeExternalName} }, wants(wReq(s + ".externalName"))},
		{"ExternalName bad name and clusterIP", func(v *Service) {
			v.Spec.Type, v.Spec.ExternalName = ServiceTypeExternalName, "DB_host"
		}, wants(wInv(s+".externalName"), wForb(s+".clusterIP"))},
		{"bad type", func(v *Service) { v.Spec.Type = "Internal" }, wants(wNS(s + ".type"))},
		{"port 0", func(v *Service) { v.Spec.Ports[0].Port = 0 }, wants(wInv(s + ".ports[0].port"))},
		{"bad targetPort", func(v *Service) { v.Spec.Ports[1].TargetPort = FromInt32(70000) }, wants(wInv(s + ".ports[1].targetPort"))},
		{"bad targetPort name", func(v *Service) { v.Spec.Ports[0].TargetPort = FromString("web_http") }, wants(wInv(s + ".ports[0].targetPort"))},
		{"bad protocol", func(v *Service) { v.Spec.Ports[0].Protocol = "ICMP" }, wants(wNS(s + ".ports[0].protocol"))},
		{"names required with several ports", func(v *Service) { v.Spec.Ports[0].Name, v.Spec.Ports[1].Name = "", "" },
			wants(wReq(s+".ports[0].name"), wReq(s+".ports[1].name"))},
		{"name optional with one port", func(v *Service) { v.Spec.Ports = v.Spec.Ports[:1]; v.Spec.Ports[0].Name = "" }, nil},
		{"bad port name", func(v *Service) { v.Spec.Ports[0].Name = "HTTP" }, wants(wInv(s + ".ports[0].name"))},
		{"duplicate port name", func(v *Service) { v.Spec.Ports[1].Name = "http" }, wants(wDup(s + ".ports[1].name"))},
		{"duplicate port", func(v *Service) { v.Spec.Ports[1].Port = 80 }, wants(wDup(s + ".ports[1]"))},
		{"same port, other protocol", func(v *Service) { v.Spec.Ports[1].Port, v.Spec.Ports[1].Protocol = 80, ProtocolUDP }, nil},
		{"bad appProtocol", func(v *Service) { v.Spec.Ports[0].AppProtocol = new("h2 c") }, wants(wInv(s + ".ports[0].appProtocol"))},
		{"bad clusterIP", func(v *Service) { v.Spec.ClusterIP = "10.96.0" }, wants(wInv(s + ".clusterIP"))},
		{"dual-stack", func(v *Service) {
			v.Spec.ClusterIPs = []string{"10.96.0.10", "fd00::10"}
			v.Spec.IPFamilies = []IPFamily{IPv4Protocol, IPv6Protocol}
			v.Spec.IPFamilyPolicy = new(IPFamilyPolicyRequireDualStack)
		}, nil},
		{"clusterIPs of one family", func(v *Service) { v.Spec.ClusterIPs = []string{"10.96.0.10", "10.96.0.11"} },
			wants(wInv(s + ".clusterIPs[1]"))},
		{"clusterIPs not headed by clusterIP", func(v *Service) { v.Spec.ClusterIPs = []string{"10.96.0.11"} },
			wants(wInv(s + ".clusterIPs[0]"))},
		{"bad ipFamilies", func(v *Service) { v.Spec.IPFamilies = []IPFamily{"IPv5"} }, wants(wNS(s + ".ipFamilies[0]"))},
		{"family does not match IP", func(v *Service) { v.Spec.IPFamilies = []IPFamily{IPv6Protocol} }, wants(wInv(s + ".clusterIP"))},
		{"family does not match IPs", func(v *Service) {
			v.Spec.ClusterIPs = []string{"10.96.0.10", "fd00::10"}
			v.Spec.IPFamilies = []IPFamily{IPv4Protocol, IPv4Protocol}
		}, wants(wDup(s+".ipFamilies[1]"), wInv(s+".clusterIPs[1]"))},
		{"single stack with two families", func(v *Service) {
			v.Spec.IPFamilies = []IPFamily{IPv4Protocol, IPv6Protocol}
			v.Spec.IPFamilyPolicy = new(IPFamilyPolicySingleStack)
		}, wants(wInv(s + ".ipFamilyPolicy"))},
		{"nodePort on ClusterIP", func(v *Service) { v.Spec.Ports[0].NodePort = 30080 }, wants(wForb(s + ".ports[0].nodePort"))},
		{"NodePort", func(v *Service) {
			v.Spec.Type = ServiceTypeNodePort
			v.Spec.Ports[0].NodePort = 30080
			v.Spec.ExternalTrafficPolicy = ServiceExternalTrafficPolicyLocal
		}, nil},
		{"nodePort out of range", func(v *Service) { v.Spec.Type, v.Spec.Ports[0].NodePort = ServiceTypeNodePort, 70000 },
			wants(wInv(s + ".ports[0].nodePort"))},
		{"duplicate nodePort", func(v *Service) {
			v.Spec.Type, v.Spec.Ports[0].NodePort, v.Spec.Ports[1].NodePort = ServiceTypeLoadBalancer, 30080, 30080
		}, wants(wDup(s + ".ports[1].nodePort"))},
		{"headless NodePort", func(v *Service) { v.Spec.Type, v.Spec.ClusterIP = ServiceTypeNodePort, ClusterIPNone },
			wants(wInv(s + ".clusterIP"))},
		{"bad selector", func(v *Service) { v.Spec.Selector = map[string]string{"app": "web server"} }, wants(wInv(s + ".selector"))},
		{"bad sessionAffinity", func(v *Service) { v.Spec.SessionAffinity = "Cookie" }, wants(wNS(s + ".sessionAffinity"))},
		{"externalTrafficPolicy on ClusterIP", func(v *Service) { v.Spec.ExternalTrafficPolicy = ServiceExternalTrafficPolicyLocal },
			wants(wInv(s + ".externalTrafficPolicy"))},
		{"bad externalTrafficPolicy", func(v *Service) {
			v.Spec.Type, v.Spec.ExternalTrafficPolicy = ServiceTypeLoadBalancer, "Nearest"
		}, wants(wNS(s + ".externalTrafficPolicy"))},
		{"bad internalTrafficPolicy", func(v *Service) { v.Spec.InternalTrafficPolicy = new(ServiceInternalTrafficPolicy("Node")) },
			wants(wNS(s + ".internalTrafficPolicy"))},
		{"bad externalIPs", func(v *Service) { v.Spec.ExternalIPs = []string{"203.0.113.7", "0.0.0.0", "169.254.1.1"} },
			wants(wInv(s+".externalIPs[1]"), wInv(s+".externalIPs[2]"))},
		{"bad loadBalancerIP", func(v *Service) { v.Spec.LoadBalancerIP = "lb" }, wants(wInv(s + ".loadBalancerIP"))},
	})
	svc := baseService()
	svc.Spec.Ports[0].Protocol = "ICMP"
	assert.Equal(t, `spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`, Validate(svc).Error())
}

func TestValidateServiceUpdate(t *testing.T) {
	runUpdateCases(t, baseService, []ucase[*Service]{
		{"ports may change", func(v, _ *Service) { v.Spec.Ports = v.Spec.Ports[:1] }, nil},
		{"clusterIP changed", func(v, _ *Service) { v.Spec.ClusterIP = "10.96.0.11" }, wants(wInv("spec.clusterIP"))},
		{"clusterIP allocated", func(_, old *Service) { old.Spec.ClusterIP = "" }, nil},
		{"to ExternalName", func(v, _ *Service) {
			v.Spec = ServiceSpec{Type: ServiceTypeExternalName, ExternalName: "db.example.com"}
		}, nil},
		{"from ExternalName", func(_, old *Service) {
			old.Spec = ServiceSpec{Type: ServiceTypeExternalName, ExternalName: "db.example.com"}
		}, nil},
		{"secondary IP added", func(v, old *Service) {
			old.Spec.ClusterIPs = []string{"10.96.0.10"}
			v.Spec.ClusterIPs = []string{"10.96.0.10", "fd00::10"}
		}, nil},
		{"secondary IP changed", func(v, old *Service) {
			old.Spec.ClusterIPs = []string{"10.96.0.10", "fd00::10"}
			v.Spec.ClusterIPs = []string{"10.96.0.10", "fd00::11"}
		}, wants(wInv("spec.clusterIPs[1]"))},
		{"secondary IP released without SingleStack", func(v, old *Service) {
			old.Spec.ClusterIPs = []string{"10.96.0.10", "fd00::10"}
			v.Spec.ClusterIPs = []string{"10.96.0.10"}
		}, wants(wInv("spec.clusterIPs"))},
	})
}

func TestValidateEndpoints(t *testing.T) {
	ss := "subsets[0]"
	runCreateCases(t, baseEndpoints, []vcase[*Endpoints]{
		{"no addresses", func(e *Endpoints) { e.Subsets[0].Addresses, e.Subsets[0].NotReadyAddresses = nil, nil }, wants(wReq(ss))},
		{"bad IP", func(e *Endpoints) { e.Subsets[0].Addresses[0].IP = "10.244.1" }, wants(wInv(ss + ".addresses[0].ip"))},
		{"link-local IP", func(e *Endpoints) { e.Subsets[0].NotReadyAddresses[0].IP = "fe80::1" }, wants(wInv(ss + ".notReadyAddresses[0].ip"))},
		{"loopback IP", func(e *Endpoints) { e.Subsets[0].Addresses[0].IP = "127.0.0.1" }, nil},
		{"bad hostname and nodeName", func(e *Endpoints) {
			e.Subsets[0].Addresses[0].Hostname, e.Subsets[0].Addresses[0].NodeName = "web.0", new("Node_1")
		}, wants(wInv(ss+".addresses[0].hostname"), wInv(ss+".addresses[0].nodeName"))},
		{"unnamed ports", func(e *Endpoints) { e.Subsets[0].Ports[1].Name = "" }, wants(wReq(ss + ".ports[1].name"))},
		{"duplicate port names", func(e *Endpoints) { e.Subsets[0].Ports[1].Name = "http" }, wants(wDup(ss + ".ports[1].name"))},
		{"bad port", func(e *Endpoints) { e.Subsets[0].Ports[0].Port = 0 }, wants(wInv(ss + ".ports[0].port"))},
		{"bad protocol", func(e *Endpoints) { e.Subsets[0].Ports[0].Protocol = "tcp" }, wants(wNS(ss + ".ports[0].protocol"))},
		{"no subsets", func(e *Endpoints) { e.Subsets = nil }, nil},
	})
}

// ---------------------------------------------------------------------------
// ConfigMaps and Secrets

func TestValidateConfigMap(t *testing.T) {
	runCreateCases(t, baseConfigMap, []vcase[*ConfigMap]{
		{"bad data key", func(c *ConfigMap) { c.Data["a/b"] = "x" }, wants(wInv("data[a/b]"))},
		{"bad binaryData key", func(c *ConfigMap) { c.BinaryData[".."] = nil }, wants(wInv("binaryData[..]"))},
		{"key in both", func(c *ConfigMap) { c.BinaryData["app.conf"] = []byte("x") }, wants(wInv("data[app.conf]"))},
		{"too large", func(c *ConfigMap) {
			c.Data["big"] = strings.Repeat("x", 1<<20-100)
			c.BinaryData["big2"] = make([]byte, 200)
		}, wants(wLong(""))},
	})
}

func TestValidateConfigMapUpdate(t *testing.T) {
	runUpdateCases(t, baseConfigMap, []ucase[*ConfigMap]{
		{"mutable data changes", func(c, _ *ConfigMap) { c.Data["LOG_LEVEL"] = "info" }, nil},
		{"made immutable", func(c, _ *ConfigMap) { c.Immutable = new(true) }, nil},
		{"immutable data changed", func(c, old *ConfigMap) {
			old.Immutable, c.Immutable = new(true), new(true)
			c.Data["LOG_LEVEL"] = "info"
			c.BinaryData = nil
		}, wants(wForb("data"), wForb("binaryData"))},
		{"immutable unset", func(_, old *ConfigMap) { old.Immutable = new(true) }, wants(wForb("immutable"))},
		{"immutable, labels change", func(c, old *ConfigMap) {
			old.Immutable, c.Immutable = new(true), new(true)
			c.Labels["v"] = "2"
		}, nil},
	})
}

func TestValidateSecret(t *testing.T) {
	typed := func(typ SecretType, data map[string][]byte) func(*Secret) {
		return func(s *Secret) { s.Type, s.Data = typ, data }
	}
	runCreateCases(t, baseSecret, []vcase[*Secret]{
		{"unset type", func(s *Secret) { s.Type = "" }, nil},
		{"custom type", func(s *Secret) { s.Type = "example.com/token" }, nil},
		{"bad key", func(s *Secret) { s.Data["pass word"] = nil }, wants(wInv("data[pass word]"))},
		{"bad stringData key", func(s *Secret) { s.StringData = map[string]string{"a:b": "x"} }, wants(wInv("stringData[a:b]"))},
		{"too large", func(s *Secret) { s.Data["big"] = make([]byte, 1<<20) }, wants(wLong("data"))},
		{"tls", typed(SecretTypeTLS, map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k")}), nil},
		{"tls from stringData", func(s *Secret) {
			s.Type, s.Data, s.StringData = SecretTypeTLS, nil, map[string]string{"tls.crt": "c", "tls.key": "k"}
		}, nil},
		{"tls without keys", typed(SecretTypeTLS, nil), wants(wReq("data[tls.crt]"), wReq("data[tls.key]"))},
		{"dockerconfigjson", typed(SecretTypeDockerConfigJSON, map[string][]byte{".dockerconfigjson": []byte(`{"auths":{}}`)}), nil},
		{"dockerconfigjson missing", typed(SecretTypeDockerConfigJSON, nil), wants(wReq("data[.dockerconfigjson]"))},
		{"dockerconfigjson not JSON", typed(SecretTypeDockerConfigJSON, map[string][]byte{".dockerconfigjson": []byte("{")}),
			wants(wInv("data[.dockerconfigjson]"))},
		{"dockercfg missing", typed(SecretTypeDockercfg, nil), wants(wReq("data[.dockercfg]"))},
		{"basic-auth with username only", typed(SecretTypeBasicAuth, map[string][]byte{"username": []byte("u")}), nil},
		{"basic-auth empty", typed(SecretTypeBasicAuth, nil), wants(wReq("data[username]"), wReq("data[password]"))},
		{"ssh-auth empty", typed(SecretTypeSSHAuth, map[string][]byte{"ssh-privatekey": nil}), wants(wReq("data[ssh-privatekey]"))},
		{"service account token without account", typed(SecretTypeServiceAccountToken, nil),
			wants(wReq("metadata.annotations[kubernetes.io/service-account.name]"))},
	})
	s := baseSecret()
	s.Type, s.Data = SecretTypeDockerConfigJSON, map[string][]byte{".dockerconfigjson": []byte(`{"auths":`)}
	assert.NotContains(t, Validate(s).Error(), `"auths"`, "secret contents are not echoed")
}

func TestValidateSecretUpdate(t *testing.T) {
	runUpdateCases(t, baseSecret, []ucase[*Secret]{
		{"data changes", func(s, _ *Secret) { s.Data["password"] = []byte("n3w") }, nil},
		{"type changed", func(s, _ *Secret) {
			s.Type, s.Data = SecretTypeBasicAuth, map[string][]byte{"username": nil, "password": nil}
		}, wants(wInv("type"))},
		{"type defaulted", func(s, _ *Secret) { s.Type = "" }, nil},
		{"immutable data changed", func(s, old *Secret) {
			old.Immutable, s.Immutable = new(true), new(true)
			s.StringData = map[string]string{"password": "n3w"}
		}, wants(wForb("data"))},
		{"immutable unset", func(s, old *Secret) { old.Immutable, s.Immutable = new(true), new(false) }, wants(wForb("immutable"))},
	})
}

// ---------------------------------------------------------------------------
// Namespaces, Nodes, Leases, Events, ServiceAccounts

func TestValidateNamespace(t *testing.T) {
	runCreateCases(t, baseNamespace, []vcase[*Namespace]{
		{"bad name", func(n *Namespace) { n.Name = "Team-A" }, wants(wInv("metadata.name"))},
		{"qualified finalizer", func(n *Namespace) { n.Spec.Finalizers = append(n.Spec.Finalizers, "example.com/cleanup") }, nil},
		{"unqualified finalizer", func(n *Namespace) { n.Spec.Finalizers = []FinalizerName{"cleanup"} }, wants(wInv("spec.finalizers[0]"))},
		{"bad finalizer", func(n *Namespace) { n.Spec.Finalizers = []FinalizerName{"a/b/c"} }, wants(wInv("spec.finalizers[0]"))},
	})
	runStatusCases(t, baseNamespace, []ucase[*Namespace]{
		{"terminating", func(n, _ *Namespace) { n.Status.Phase = NamespaceTerminating }, nil},
		{"bad phase", func(n, _ *Namespace) { n.Status.Phase = "Deleted" }, wants(wNS("status.phase"))},
		{"bad condition", func(n, _ *Namespace) {
			n.Status.Conditions = []NamespaceCondition{{Type: NamespaceContentRemaining, Status: "Maybe"}}
		}, wants(wNS("status.conditions[0].status"))},
	})
}

func TestValidateNode(t *testing.T) {
	runCreateCases(t, baseNode, []vcase[*Node]{
		{"bad podCIDR", func(n *Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.1.0", nil }, wants(wInv("spec.podCIDR"))},
		{"podCIDRs of one family", func(n *Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24", "10.245.1.0/24"} },
			wants(wInv("spec.podCIDRs[1]"))},
		{"podCIDRs not headed by podCIDR", func(n *Node) { n.Spec.PodCIDRs = []string{"fd00:1::/64", "10.244.1.0/24"} },
			wants(wInv("spec.podCIDRs[0]"))},
		{"too many podCIDRs", func(n *Node) { n.Spec.PodCIDRs = append(n.Spec.PodCIDRs, "10.9.0.0/16") },
			wants(wMany("spec.podCIDRs"), wInv("spec.podCIDRs[2]"))},
		{"bad taint", func(n *Node) { n.Spec.Taints = []Taint{{Key: "bad key", Value: "-x", Effect: "Evict"}} },
			wants(wInv("spec.taints[0].key"), wInv("spec.taints[0].value"), wNS("spec.taints[0].effect"))},
		{"taint without effect", func(n *Node) { n.Spec.Taints[0].Effect = "" }, wants(wReq("spec.taints[0].effect"))},
		{"duplicate taint", func(n *Node) {
			n.Spec.Taints = append(n.Spec.Taints, Taint{Key: "dedicated", Value: "db", Effect: TaintEffectNoSchedule})
		}, wants(wDup("spec.taints[1]"))},
		{"same key, other effect", func(n *Node) {
			n.Spec.Taints = append(n.Spec.Taints, Taint{Key: "dedicated", Value: "gpu", Effect: TaintEffectNoExecute})
		}, nil},
		{"namespace set", func(n *Node) { n.Namespace = "default" }, wants(wForb("metadata.namespace"))},
		{"negative capacity", func(n *Node) { n.Status.Capacity[ResourceMemory] = vq("-1") }, wants(wInv("status.capacity[memory]"))},
		{"bad allocatable name", func(n *Node) { n.Status.Allocatable["gpus"] = vq("1") }, wants(wInv("status.allocatable[gpus]"))},
	})
	runUpdateCases(t, baseNode, []ucase[*Node]{
		{"taints change", func(n, _ *Node) { n.Spec.Taints = nil; n.Spec.Unschedulable = true }, nil},
		{"podCIDR assigned", func(_, old *Node) { old.Spec.PodCIDR, old.Spec.PodCIDRs = "", nil }, nil},
		{"podCIDR changed", func(n, _ *Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.2.0/24", nil }, wants(wForb("spec.podCIDRs"))},
		{"providerID changed", func(n, old *Node) { old.Spec.ProviderID, n.Spec.ProviderID = "aws://a", "aws://b" },
			wants(wForb("spec.providerID"))},
	})
	runStatusCases(t, baseNode, []ucase[*Node]{
		{"bad condition", func(n, _ *Node) { n.Status.Conditions[0].Status = "" }, wants(wReq("status.conditions[0].status"))},
	})
}

func TestValidateLease(t *testing.T) {
	runCreateCases(t, baseLease, []vcase[*Lease]{
		{"empty spec", func(l *Lease) { l.Spec = LeaseSpec{} }, nil},
		{"zero duration", func(l *Lease) { l.Spec.LeaseDurationSeconds = new(int32(0)) }, wants(wInv("spec.leaseDurationSeconds"))},
		{"negative transitions", func(l *Lease) { l.Spec.LeaseTransitions = new(int32(-1)) }, wants(wInv("spec.leaseTransitions"))},
		{"missing namespace", func(l *Lease) { l.Namespace = "" }, wants(wReq("metadata.namespace"))},
	})
}

func TestValidateEvent(t *testing.T) {
	runCreateCases(t, baseEvent, []vcase[*Event]{
		{"missing involved object", func(e *Event) { e.InvolvedObject = ObjectReference{Namespace: "default"} },
			wants(wReq("involvedObject.kind"), wReq("involvedObject.name"))},
		{"namespace mismatch", func(e *Event) { e.InvolvedObject.Namespace = "prod" }, wants(wInv("involvedObject.namespace"))},
		{"cluster-scoped object", func(e *Event) { e.InvolvedObject = ObjectReference{Kind: "Node", Name: "node-1"} }, nil},
		{"cluster-scoped object elsewhere", func(e *Event) {
			e.Namespace, e.InvolvedObject = "prod", ObjectReference{Kind: "Node", Name: "node-1"}
		}, wants(wInv("involvedObject.namespace"))},
		{"bad type", func(e *Event) { e.Type = "Error" }, wants(wNS("type"))},
		{"reason too long", func(e *Event) { e.Reason = strings.Repeat("x", 129) }, wants(wInv("reason"))},
		{"new-style event", func(e *Event) {
			e.EventTime = NewMicroTime(vCreated.Time)
			e.ReportingController, e.ReportingInstance, e.Action = "drover.io/scheduler", "scheduler-1", "Binding"
		}, nil},
		{"new-style event incomplete", func(e *Event) {
			e.EventTime = NewMicroTime(vCreated.Time)
			e.Reason = ""
		}, wants(wReq("reportingComponent"), wReq("reportingInstance"), wReq("action"), wReq("reason"))},
	})
}

// ---------------------------------------------------------------------------
// Workloads

func TestValidateDeployment(t *testing.T) {
	s := "spec"
	ru := s + ".strategy.rollingUpdate"
	withRU := func(mu, ms *IntOrString) func(*Deployment) {
		return func(d *Deployment) {
			d.Spec.Strategy.RollingUpdate = &RollingUpdateDeployment{MaxUnavailable: mu, MaxSurge: ms}
		}
	}
	runCreateCases(t, baseDeployment, []vcase[*Deployment]{
		{"unset defaults", func(d *Deployment) {
			d.Spec.Replicas, d.Spec.Strategy, d.Spec.RevisionHistoryLimit, d.Spec.ProgressDeadlineSeconds = nil, DeploymentStrategy{}, nil, nil
			d.Spec.Template.Spec.RestartPolicy = ""
		}, nil},
		{"negative replicas", func(d *Deployment) { d.Spec.Replicas = new(int32(-1)) }, wants(wInv(s + ".replicas"))},
		{"zero replicas", func(d *Deployment) { d.Spec.Replicas = new(int32(0)) }, nil},
		{"missing selector", func(d *Deployment) { d.Spec.Selector = nil }, wants(wReq(s + ".selector"))},
		{"empty selector", func(d *Deployment) { d.Spec.Selector = &LabelSelector{} }, wants(wInv(s + ".selector"))},
		{"bad selector", func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "tier", Operator: LabelSelectorOpIn}}
		}, wants(wReq(s + ".selector.matchExpressions[0].values"))},
		{"selector does not match", func(d *Deployment) { d.Spec.Selector.MatchLabels["tier"] = "web" },
			wants(wInv(s + ".template.metadata.labels"))},
		{"selector with expressions matches", func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "track", Operator: LabelSelectorOpDoesNotExist}}
		}, nil},
		{"bad template label", func(d *Deployment) { d.Spec.Template.Labels["x"] = "a b" }, wants(wInv(s + ".template.metadata.labels"))},
		{"bad template annotation", func(d *Deployment) { d.Spec.Template.Annotations = map[string]string{"/x": ""} },
			wants(wInv(s + ".template.metadata.annotations"))},
		{"template missing image", func(d *Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" },
			wants(wReq(s + ".template.spec.containers[0].image"))},
		{"template restartPolicy Never", func(d *Deployment) { d.Spec.Template.Spec.RestartPolicy = RestartPolicyNever },
			wants(wNS(s + ".template.spec.restartPolicy"))},
		{"template bad restartPolicy", func(d *Deployment) { d.Spec.Template.Spec.RestartPolicy = "Sometimes" },
			wants(wNS(s + ".template.spec.restartPolicy"))},
		{"template activeDeadlineSeconds", func(d *Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = new(int64(60)) },
			wants(wForb(s + ".template.spec.activeDeadlineSeconds"))},
		{"bad strategy type", func(d *Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, wants(wNS(s + ".strategy.type"))},
		{"Recreate with rollingUpdate", func(d *Deployment) { d.Spec.Strategy.Type = RecreateDeploymentStrategyType },
			wants(wForb(ru))},
		{"Recreate", func(d *Deployment) { d.Spec.Strategy = DeploymentStrategy{Type: RecreateDeploymentStrategyType} }, nil},
		{"both zero", withRU(new(FromInt32(0)), new(FromString("0%"))), wants(wInv(ru + ".maxUnavailable"))},
		{"surge only", withRU(new(FromInt32(0)), new(FromInt32(1))), nil},
		{"maxUnavailable above 100%", withRU(new(FromString("110%")), nil), wants(wInv(ru + ".maxUnavailable"))},
		{"maxSurge above 100%", withRU(nil, new(FromString("200%"))), nil},
		{"maxSurge not a percent", withRU(nil, new(FromString("abc"))), wants(wInv(ru + ".maxSurge"))},
		{"negative maxUnavailable", withRU(new(FromInt32(-1)), nil), wants(wInv(ru + ".maxUnavailable"))},
		{"negative revisionHistoryLimit", func(d *Deployment) { d.Spec.RevisionHistoryLimit = new(int32(-1)) },
			wants(wInv(s + ".revisionHistoryLimit"))},
		{"negative minReadySeconds", func(d *Deployment) { d.Spec.MinReadySeconds = -1 }, wants(wInv(s + ".minReadySeconds"))},
		{"progressDeadline not above minReady", func(d *Deployment) { d.Spec.MinReadySeconds = 600 },
			wants(wInv(s + ".progressDeadlineSeconds"))},
		{"negative progressDeadline", func(d *Deployment) { d.Spec.ProgressDeadlineSeconds = new(int32(-1)) },
			wants(wInv(s + ".progressDeadlineSeconds"))},
	})
	d := baseDeployment()
	d.Spec.Selector.MatchLabels["tier"] = "web"
	assert.Equal(t, `spec.template.metadata.labels: Invalid value: {"app":"web"}: `+"`selector` does not match template `labels`",
		Validate(d).Error())
}

func TestValidateDeploymentUpdate(t *testing.T) {
	runUpdateCases(t, baseDeployment, []ucase[*Deployment]{
		{"scale", func(d, _ *Deployment) { d.Spec.Replicas = new(int32(10)) }, nil},
		{"template change", func(d, _ *Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28" }, nil},
		{"selector changed", func(d, _ *Deployment) {
			d.Spec.Selector.MatchLabels["tier"] = "web"
			d.Spec.Template.Labels["tier"] = "web"
		}, wants(wInv("spec.selector"))},
		{"selector rewritten equivalently", func(d, _ *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{}
		}, nil},
	})
}

func TestValidateReplicaSet(t *testing.T) {
	s := "spec"
	runCreateCases(t, baseReplicaSet, []vcase[*ReplicaSet]{
		{"negative replicas", func(r *ReplicaSet) { r.Spec.Replicas = new(int32(-2)) }, wants(wInv(s + ".replicas"))},
		{"negative minReadySeconds", func(r *ReplicaSet) { r.Spec.MinReadySeconds = -1 }, wants(wInv(s + ".minReadySeconds"))},
		{"missing selector", func(r *ReplicaSet) { r.Spec.Selector = nil }, wants(wReq(s + ".selector"))},
		{"selector does not match", func(r *ReplicaSet) { r.Spec.Template.Labels = nil }, wants(wInv(s + ".template.metadata.labels"))},
		{"template restartPolicy", func(r *ReplicaSet) { r.Spec.Template.Spec.RestartPolicy = RestartPolicyOnFailure },
			wants(wNS(s + ".template.spec.restartPolicy"))},
	})
	runUpdateCases(t, baseReplicaSet, []ucase[*ReplicaSet]{
		{"scale", func(r, _ *ReplicaSet) { r.Spec.Replicas = new(int32(0)) }, nil},
	})
}

func TestValidateDaemonSet(t *testing.T) {
	s := "spec"
	ru := s + ".updateStrategy.rollingUpdate"
	withRU := func(mu, ms *IntOrString) func(*DaemonSet) {
		return func(d *DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate = &RollingUpdateDaemonSet{MaxUnavailable: mu, MaxSurge: ms}
		}
	}
	runCreateCases(t, baseDaemonSet, []vcase[*DaemonSet]{
		{"unset strategy", func(d *DaemonSet) { d.Spec.UpdateStrategy = DaemonSetUpdateStrategy{} }, nil},
		{"OnDelete", func(d *DaemonSet) {
			d.Spec.UpdateStrategy = DaemonSetUpdateStrategy{Type: OnDeleteDaemonSetStrategyType}
		}, nil},
		{"selector does not match", func(d *DaemonSet) { d.Spec.Template.Labels["app"] = "db" }, wants(wInv(s + ".template.metadata.labels"))},
		{"missing selector", func(d *DaemonSet) { d.Spec.Selector = nil }, wants(wReq(s + ".selector"))},
		{"bad strategy type", func(d *DaemonSet) { d.Spec.UpdateStrategy.Type = "Replace" }, wants(wNS(s + ".updateStrategy.type"))},
		{"surge instead of unavailable", withRU(new(FromInt32(0)), new(FromString("10%"))), nil},
		{"surge and unavailable", withRU(nil, new(FromInt32(1))), wants(wInv(ru + ".maxSurge"))},
		{"neither", withRU(new(FromString("0%")), nil), wants(wInv(ru + ".maxUnavailable"))},
		{"maxSurge above 100%", withRU(new(FromInt32(0)), new(FromString("150%"))), wants(wInv(ru + ".maxSurge"))},
		{"negative maxUnavailable", withRU(new(FromInt32(-1)), nil), wants(wInv(ru + ".maxUnavailable"))},
		{"template restartPolicy", func(d *DaemonSet) { d.Spec.Template.Spec.RestartPolicy = RestartPolicyNever },
			wants(wNS(s + ".template.spec.restartPolicy"))},
		{"negative minReadySeconds", func(d *DaemonSet) { d.Spec.MinReadySeconds = -1 }, wants(wInv(s + ".minReadySeconds"))},
	})
	runUpdateCases(t, baseDaemonSet, []ucase[*DaemonSet]{
		{"template change", func(d, _ *DaemonSet) { d.Spec.Template.Spec.Containers[0].Image = "agent:2" }, nil},
		{"selector changed", func(d, _ *DaemonSet) { d.Spec.Selector.MatchExpressions[0].Values = []string{"web"} },
			wants(wInv("spec.selector"))},
	})
}

func TestValidateJob(t *testing.T) {
	s := "spec"
	runCreateCases(t, baseJob, []vcase[*Job]{
		{"generated selector not yet set", func(j *Job) { j.Spec.Selector = nil }, nil},
		{"work queue", func(j *Job) { j.Spec.Completions, j.Spec.Parallelism = nil, new(int32(5)) }, nil},
		{"negative counts", func(j *Job) {
			j.Spec.Parallelism, j.Spec.Completions, j.Spec.BackoffLimit = new(int32(-1)), new(int32(-1)), new(int32(-1))
			j.Spec.TTLSecondsAfterFinished, j.Spec.ActiveDeadlineSeconds = new(int32(-1)), new(int64(-1))
		}, wants(wInv(s+".parallelism"), wInv(s+".completions"), wInv(s+".backoffLimit"),
			wInv(s+".ttlSecondsAfterFinished"), wInv(s+".activeDeadlineSeconds"))},
		{"restartPolicy Always", func(j *Job) { j.Spec.Template.Spec.RestartPolicy = RestartPolicyAlways },
			wants(wReq(s + ".template.spec.restartPolicy"))},
		{"restartPolicy unset", func(j *Job) { j.Spec.Template.Spec.RestartPolicy = "" }, wants(wReq(s + ".template.spec.restartPolicy"))},
		{"restartPolicy Never", func(j *Job) { j.Spec.Template.Spec.RestartPolicy = RestartPolicyNever }, nil},
		{"bad completionMode", func(j *Job) { j.Spec.CompletionMode = new(CompletionMode("Sharded")) }, wants(wNS(s + ".completionMode"))},
		{"Indexed without completions", func(j *Job) { j.Spec.CompletionMode, j.Spec.Completions = new(IndexedCompletion), nil },
			wants(wReq(s + ".completions"))},
		{"manualSelector without selector", func(j *Job) { j.Spec.ManualSelector, j.Spec.Selector = new(true), nil },
			wants(wReq(s + ".selector"))},
		{"selector does not match", func(j *Job) { j.Spec.Selector.MatchLabels["job-name"] = "other" },
			wants(wInv(s + ".template.metadata.labels"))},
		{"bad selector", func(j *Job) { j.Spec.Selector.MatchLabels["a b"] = "c" }, wants(wInv(s + ".selector.matchLabels"))},
		{"template missing image", func(j *Job) { j.Spec.Template.Spec.Containers[0].Image = "" },
			wants(wReq(s + ".template.spec.containers[0].image"))},
	})
	j := baseJob()
	j.Spec.Template.Spec.RestartPolicy = RestartPolicyAlways
	assert.Equal(t, `spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`, Validate(j).Error())
}

func TestValidateJobUpdate(t *testing.T) {
	runUpdateCases(t, baseJob, []ucase[*Job]{
		{"parallelism", func(j, _ *Job) { j.Spec.Parallelism = new(int32(4)) }, nil},
		{"suspend", func(j, _ *Job) { j.Spec.Suspend = new(true) }, nil},
		{"completions", func(j, _ *Job) { j.Spec.Completions = new(int32(3)) }, wants(wInv("spec.completions"))},
		{"indexed completions with parallelism", func(j, old *Job) {
			old.Spec.CompletionMode, j.Spec.CompletionMode = new(IndexedCompletion), new(IndexedCompletion)
			j.Spec.Completions, j.Spec.Parallelism = new(int32(3)), new(int32(3))
		}, nil},
		{"indexed completions alone", func(j, old *Job) {
			old.Spec.CompletionMode, j.Spec.CompletionMode = new(IndexedCompletion), new(IndexedCompletion)
			j.Spec.Completions = new(int32(3))
		}, wants(wInv("spec.completions"))},
		{"completionMode", func(j, _ *Job) { j.Spec.CompletionMode = new(IndexedCompletion) }, wants(wInv("spec.completionMode"))},
		{"selector", func(j, _ *Job) {
			j.Spec.Selector.MatchLabels["job-name"] = "migrate"
		}, wants(wInv("spec.selector"))},
		{"template", func(j, _ *Job) { j.Spec.Template.Spec.Containers[0].Image = "migrate:2" }, wants(wInv("spec.template"))},
		{"scheduling of a suspended job", func(j, old *Job) {
			old.Spec.Suspend = new(true)
			j.Spec.Suspend = new(false)
			j.Spec.Template.Spec.NodeSelector = map[string]string{"pool": "batch"}
			j.Spec.Template.Spec.Tolerations = []Toleration{{Key: "batch", Operator: TolerationOpExists}}
			j.Spec.Template.Labels["queue"] = "high"
			j.Spec.Template.Spec.Affinity = &Affinity{NodeAffinity: &NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &NodeSelector{
				NodeSelectorTerms: []NodeSelectorTerm{{MatchExpressions: []NodeSelectorRequirement{{Key: "zone", Operator: NodeSelectorOpExists}}}},
			}}}
		}, nil},
		{"scheduling of a started job", func(j, old *Job) {
			old.Spec.Suspend, old.Status.StartTime = new(true), &vCreated
			j.Spec.Template.Spec.NodeSelector = map[string]string{"pool": "batch"}
		}, wants(wInv("spec.template"))},
		{"template metadata", func(j, _ *Job) { j.Spec.Template.Labels["x"] = "y" }, wants(wInv("spec.template"))},
		{"image of a suspended job", func(j, old *Job) {
			old.Spec.Suspend = new(true)
			j.Spec.Template.Spec.Containers[0].Image = "migrate:2"
		}, wants(wInv("spec.template"))},
	})
	j, old := baseJob(), baseJob()
	j.Spec.Template.Spec.Containers[0].Image = "migrate:2"
	j.Spec.Template.Labels["x"] = "y"
	errs := ValidateUpdate(j, old)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "field is immutable; changed: spec.template.metadata.labels, spec.template.spec.containers[0].image")
}

func TestValidateWorkloadStatus(t *testing.T) {
	runStatusCases(t, baseDeployment, []ucase[*Deployment]{
		{"progress", func(d, _ *Deployment) {
			d.Status = DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 2,
				UnavailableReplicas: 1, CollisionCount: new(int32(1)),
				Conditions: []DeploymentCondition{{Type: DeploymentAvailable, Status: ConditionTrue}}}
		}, nil},
		{"negative counts", func(d, _ *Deployment) {
			d.Status = DeploymentStatus{ObservedGeneration: -1, Replicas: -1, UnavailableReplicas: -1}
		}, wants(wInv("status.observedGeneration"), wInv("status.replicas"), wInv("status.unavailableReplicas"))},
		{"more ready than replicas", func(d, _ *Deployment) { d.Status = DeploymentStatus{Replicas: 1, ReadyReplicas: 2, UpdatedReplicas: 2} },
			wants(wInv("status.readyReplicas"), wInv("status.updatedReplicas"))},
		{"more available than ready", func(d, _ *Deployment) {
			d.Status = DeploymentStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 2}
		},
			wants(wInv("status.availableReplicas"))},
		{"collisionCount decremented", func(d, old *Deployment) {
			old.Status.CollisionCount, d.Status.CollisionCount = new(int32(2)), new(int32(1))
		}, wants(wInv("status.collisionCount"))},
		{"bad condition", func(d, _ *Deployment) {
			d.Status.Conditions = []DeploymentCondition{{Type: DeploymentProgressing, Status: "true"}}
		}, wants(wNS("status.conditions[0].status"))},
		{"spec is not checked", func(d, _ *Deployment) { d.Spec.Replicas = new(int32(-1)) }, nil},
	})
	runStatusCases(t, baseReplicaSet, []ucase[*ReplicaSet]{
		{"fully labeled above replicas", func(r, _ *ReplicaSet) { r.Status = ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 2} },
			wants(wInv("status.fullyLabeledReplicas"))},
		{"negative", func(r, _ *ReplicaSet) { r.Status.ReadyReplicas = -1 }, wants(wInv("status.readyReplicas"))},
	})
	runStatusCases(t, baseDaemonSet, []ucase[*DaemonSet]{
		{"negative", func(d, _ *DaemonSet) { d.Status.NumberReady, d.Status.NumberUnavailable = -1, -2 },
			wants(wInv("status.numberReady"), wInv("status.numberUnavailable"))},
		{"collisionCount removed", func(_, old *DaemonSet) { old.Status.CollisionCount = new(int32(1)) }, wants(wInv("status.collisionCount"))},
	})
	runStatusCases(t, baseJob, []ucase[*Job]{
		{"counts", func(j, _ *Job) {
			j.Status = JobStatus{Active: 1, Succeeded: 2, Ready: new(int32(1)), StartTime: &vCreated}
		}, nil},
		{"negative", func(j, _ *Job) { j.Status = JobStatus{Failed: -1, Ready: new(int32(-1))} }, wants(wInv("status.failed"), wInv("status.ready"))},
		{"bad condition", func(j, _ *Job) { j.Status.Conditions = []JobCondition{{Type: JobComplete}} }, wants(wReq("status.conditions[0].status"))},
	})
	runStatusCases(t, baseService, []ucase[*Service]{
		{"load balancer", func(v, _ *Service) {
			v.Status.LoadBalancer.Ingress = []LoadBalancerIngress{{IP: "203.0.113.7"}, {Hostname: "lb.example.com"}}
		}, nil},
		{"bad load balancer", func(v, _ *Service) {
			v.Status.LoadBalancer.Ingress = []LoadBalancerIngress{{IP: "lb"}, {Hostname: "203.0.113.7"}}
		}, wants(wInv("status.loadBalancer.ingress[0].ip"), wInv("status.loadBalancer.ingress[1].hostname"))},
	})
	runStatusCases(t, baseConfigMap, []ucase[*ConfigMap]{
		{"metadata only", func(c, _ *ConfigMap) { c.Labels["x"] = "-" }, wants(wInv("metadata.labels"))},
	})
}

// ---------------------------------------------------------------------------
// Users' kinds

type vWidget struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       vWidgetSpec `json:"spec"`
	Status     struct {
		Ready int32 `json:"ready"`
	} `json:"status,omitzero"`
}

type vWidgetSpec struct {
	Size  int32  `json:"size"`
	Color string `json:"color"`
}

func (w *vWidget) Validate() ErrorList {
	if w.Spec.Size < 1 {
		return ErrorList{Invalid(NewPath("spec", "size"), w.Spec.Size, "must be at least 1")}
	}
	return nil
}

func (w *vWidget) ValidateUpdate(old Object) ErrorList {
	return validateImmutable(w.Spec.Color, old.(*vWidget).Spec.Color, NewPath("spec", "color"))
}

func (w *vWidget) ValidateStatusUpdate(old Object) ErrorList {
	return validateNonNegative(w.Status.Ready, NewPath("status", "ready"))
}

// vGizmo has no rules of its own.
type vGizmo struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
}

var (
	_ Validator             = (*vWidget)(nil)
	_ UpdateValidator       = (*vWidget)(nil)
	_ StatusUpdateValidator = (*vWidget)(nil)
)

func TestValidateUserKinds(t *testing.T) {
	s := NewDefaultScheme()
	require.NoError(t, Register[vWidget](s, Kind{
		GroupVersionKind: GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, Resource: "widgets", Namespaced: true,
	}))
	require.NoError(t, Register[vGizmo](s, Kind{
		GroupVersionKind: GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Gizmo"}, Resource: "gizmos",
	}))
	widget := func() *vWidget {
		return &vWidget{ObjectMeta: storedMeta("w1", "default"), Spec: vWidgetSpec{Size: 1, Color: "red"}}
	}

	assert.Empty(t, Validate(widget()))
	assert.Empty(t, s.Validate(widget()))

	w := widget()
	w.Name, w.Spec.Size = "W1", 0
	assert.ElementsMatch(t, wants(wInv("metadata.name"), wInv("spec.size")), errPairs(Validate(w)), "metadata rules, then Validate")

	w = widget()
	w.Namespace = ""
	assert.Empty(t, Validate(w), "without a scheme the scope is unknown")
	assert.Equal(t, wants(wReq("metadata.namespace")), errPairs(s.Validate(w)))
	w.Namespace = "Bad.NS"
	assert.Equal(t, wants(wInv("metadata.namespace")), errPairs(Validate(w)), "a namespace that is set is checked")

	g := &vGizmo{ObjectMeta: storedMeta("g1", "default")}
	assert.Empty(t, Validate(g))
	assert.Equal(t, wants(wForb("metadata.namespace")), errPairs(s.Validate(g)), "cluster-scoped")
	g.Namespace = ""
	assert.Empty(t, s.Validate(g))

	old, w := widget(), widget()
	w.Spec.Color, w.Spec.Size, w.UID = "blue", 0, "other"
	assert.ElementsMatch(t, wants(wInv("metadata.uid"), wInv("spec.size"), wInv("spec.color")), errPairs(s.ValidateUpdate(w, old)))

	old, w = widget(), widget()
	w.Status.Ready = -1
	w.Spec.Size = 0 // the spec is not checked on status writes
	assert.Equal(t, wants(wInv("status.ready")), errPairs(s.ValidateStatusUpdate(w, old)))
	assert.Empty(t, ValidateStatusUpdate(&vGizmo{ObjectMeta: storedMeta("g1", "")}, &vGizmo{ObjectMeta: storedMeta("g1", "")}))
}

func TestValidateBadArguments(t *testing.T) {
	assert.Equal(t, wants(": Required value"), errPairs(Validate(nil)))
	assert.Equal(t, wants(": Required value"), errPairs(Validate((*Pod)(nil))))
	assert.Equal(t, wants(": Required value"), errPairs(ValidateUpdate(basePod(), nil)))
	assert.Equal(t, wants("kind: Invalid value"), errPairs(ValidateUpdate(basePod(), baseService())))
	assert.Equal(t, wants("kind: Invalid value"), errPairs(ValidateStatusUpdate(baseService(), basePod())))
}

// ---------------------------------------------------------------------------
// Whole manifests

func TestValidateReportsEveryProblem(t *testing.T) {
	const manifest = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: Web_1
  namespace: default
  labels:
    app: web
spec:
  replicas: -1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: frontend
    spec:
      restartPolicy: Never
      volumes:
      - name: cache
      containers:
      - name: app
        ports:
        - containerPort: 80
          protocol: HTTP
        resources:
          limits: {cpu: 500m}
          requests: {cpu: "1"}
        volumeMounts:
        - name: data
          mountPath: data
      - name: app
        image: envoy
`
	obj, err := NewDefaultScheme().Decode([]byte(manifest))
	require.NoError(t, err)
	errs := Validate(obj)
	tp := "spec.template.spec"
	assert.ElementsMatch(t, wants(
		wInv("metadata.name"),
		wInv("spec.replicas"),
		wInv("spec.template.metadata.labels"),
		wReq(tp+".volumes[0]"),
		wReq(tp+".containers[0].image"),
		wNS(tp+".containers[0].ports[0].protocol"),
		wInv(tp+".containers[0].resources.requests"),
		wNF(tp+".containers[0].volumeMounts[0].name"),
		wInv(tp+".containers[0].volumeMounts[0].mountPath"),
		wDup(tp+".containers[1].name"),
		wNS(tp+".restartPolicy"),
	), errPairs(errs))
	for _, want := range []string{
		`metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of`,
		"spec.template.spec.containers[0].image: Required value",
		`spec.template.spec.containers[0].resources.requests: Invalid value: "1": must be less than or equal to cpu limit of 500m`,
		`spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"`,
		`spec.template.spec.volumes[0]: Required value: must specify a volume type`,
	} {
		assert.Contains(t, errs.Error(), want)
	}
	status := NewInvalid(GroupKind{Group: "apps", Kind: "Deployment"}, "Web_1", errs)
	assert.Len(t, status.Status.Details.Causes, len(errs))
	// A cause gives its field apart: its message does not repeat it (kubectl
	// prints "* <field>: <message>").
	for _, c := range status.Status.Details.Causes {
		assert.NotEmpty(t, c.Field)
		assert.NotContains(t, c.Message, c.Field+":")
	}
	assert.Equal(t, "Required value", status.Status.Details.Causes[slices.IndexFunc(status.Status.Details.Causes,
		func(c StatusCause) bool { return c.Field == "spec.template.spec.containers[0].image" })].Message)
}

func TestSemanticEqual(t *testing.T) {
	assert.True(t, semanticEqual(ResourceList{"cpu": vq("1")}, ResourceList{"cpu": vq("1000m")}))
	assert.False(t, semanticEqual(ResourceList{"cpu": vq("1")}, ResourceList{"cpu": vq("2")}))
	assert.True(t, semanticEqual(map[string]string{}, map[string]string(nil)))
	assert.True(t, semanticEqual([]string{}, []string(nil)))
	assert.False(t, semanticEqual([]string{"a"}, []string(nil)))
	assert.True(t, semanticEqual(&vCreated, new(NewTime(vCreated.Local()))))
	assert.False(t, semanticEqual((*Time)(nil), &vCreated))
	assert.True(t, semanticEqual(basePod().Spec, basePod().Spec))
}

func TestValidateDoesNotModify(t *testing.T) {
	pod, old := basePod(), basePod()
	pod.Spec.Containers[0].Image = "nginx:1.28"
	pod.Spec.Tolerations = []Toleration{{Key: "k", Operator: TolerationOpExists}}
	pod.Spec.NodeName = "node-1"
	ValidateUpdate(pod, old)
	ValidateStatusUpdate(pod, old)
	want := basePod()
	want.Spec.Containers[0].Image = "nginx:1.28"
	want.Spec.Tolerations = []Toleration{{Key: "k", Operator: TolerationOpExists}}
	want.Spec.NodeName = "node-1"
	assert.True(t, reflect.DeepEqual(want, pod), "new pod modified")
	assert.True(t, reflect.DeepEqual(basePod(), old), "old pod modified")

	job, oldJob := baseJob(), baseJob()
	oldJob.Spec.Suspend = new(true)
	job.Spec.Template.Spec.NodeSelector = map[string]string{"pool": "batch"}
	ValidateUpdate(job, oldJob)
	wantOld := baseJob()
	wantOld.Spec.Suspend = new(true)
	assert.True(t, reflect.DeepEqual(wantOld, oldJob), "old job modified")
}

func ExampleValidate() {
	pod := &Pod{
		ObjectMeta: ObjectMeta{Name: "Web_1", Namespace: "default"},
		Spec: PodSpec{Containers: []Container{{
			Name: "app",
			Resources: ResourceRequirements{
				Limits:   ResourceList{ResourceCPU: resource.MustParse("1")},
				Requests: ResourceList{ResourceCPU: resource.MustParse("2")},
			},
		}}},
	}
	for _, err := range Validate(pod) {
		fmt.Println(err)
	}
	// Output:
	// metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')
	// spec.containers[0].image: Required value
	// spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1
}

// TestValidateKnowsEveryBuiltinKind checks that the validation rules cover
// every kind of the default scheme, with the scope register.go gives it, and
// do not panic on empty objects.
func TestValidateKnowsEveryBuiltinKind(t *testing.T) {
	for _, k := range NewDefaultScheme().Kinds() {
		t.Run(k.Kind, func(t *testing.T) {
			obj := k.New()
			sc, _, builtin := builtinMetaRules(obj)
			require.True(t, builtin)
			assert.Equal(t, k.Namespaced, sc == scopeNamespaced)
			assert.NotPanics(t, func() {
				assert.NotEmpty(t, Validate(obj), "an empty object has no name")
				ValidateUpdate(obj, k.New())
				ValidateStatusUpdate(obj, k.New())
			})
		})
	}
}

func TestNewInvalidCapsItsSize(t *testing.T) {
	var errs ErrorList
	for i := range 100_000 {
		errs = append(errs, Required(NewPath("spec", "containers").Index(i).Child("name"), ""))
	}
	st := NewInvalid(GroupKind{Kind: "Pod"}, "web", errs)
	assert.Len(t, st.Status.Details.Causes, MaxInvalidCauses)
	assert.Less(t, len(st.Status.Message), 10_000)
	assert.True(t, strings.HasSuffix(st.Status.Message, ", and 99900 more errors]"), st.Status.Message[len(st.Status.Message)-60:])
	few := NewInvalid(GroupKind{Kind: "Pod"}, "web", errs[:2])
	assert.NotContains(t, few.Status.Message, "more errors")
}
