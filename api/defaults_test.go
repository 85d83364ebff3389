package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api/resource"
)

// defaultedContainer is what defaulting makes of a container that sets only
// its name and image, when the image is pulled IfNotPresent.
func defaultedContainer(name, image string) Container {
	return Container{
		Name:                     name,
		Image:                    image,
		ImagePullPolicy:          PullIfNotPresent,
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: TerminationMessageReadFile,
	}
}

// defaultedPodSpec is what defaulting makes of a pod spec (not a Pod) with
// the given containers, which must be defaulted already.
func defaultedPodSpec(containers ...Container) PodSpec {
	return PodSpec{
		Containers:                    containers,
		RestartPolicy:                 RestartPolicyAlways,
		TerminationGracePeriodSeconds: new(int64(30)),
		DNSPolicy:                     DNSClusterFirst,
		SchedulerName:                 "default-scheduler",
		SecurityContext:               &PodSecurityContext{},
	}
}

// defaultedPodTemplate is what defaulting makes of a template with the
// labels and one container.
func defaultedPodTemplate(labels map[string]string, c Container) PodTemplateSpec {
	return PodTemplateSpec{ObjectMeta: ObjectMeta{Labels: labels}, Spec: defaultedPodSpec(c)}
}

func minimalPodTemplate(labels map[string]string, name, image string) PodTemplateSpec {
	return PodTemplateSpec{
		ObjectMeta: ObjectMeta{Labels: labels},
		Spec:       PodSpec{Containers: []Container{{Name: name, Image: image}}},
	}
}

type defaultCase struct {
	name string
	in   func() Object // a fresh object on every call
	want Object
}

// defaultCases hold, for each built-in kind, small objects and what Default
// makes of them. TestDefaultCoversEveryKind checks that every kind of the
// default scheme has one.
func defaultCases() []defaultCase {
	app := map[string]string{"app": "web"}
	return []defaultCase{
		{
			name: "Pod/minimal",
			in: func() Object {
				return &Pod{ObjectMeta: ObjectMeta{Name: "web"}, Spec: PodSpec{
					Containers: []Container{{Name: "web", Image: "nginx:1.27"}},
				}}
			},
			want: &Pod{ObjectMeta: ObjectMeta{Name: "web"}, Spec: func() PodSpec {
				s := defaultedPodSpec(defaultedContainer("web", "nginx:1.27"))
				s.EnableServiceLinks = new(true)
				return s
			}()},
		},
		{
			name: "Pod/everything defaulted",
			in: func() Object {
				return &Pod{Spec: PodSpec{
					HostNetwork:              true,
					DeprecatedServiceAccount: "builder",
					Overhead:                 ResourceList{ResourceCPU: resource.MustParse("100u")},
					Volumes: []Volume{
						{Name: "scratch"},
						{Name: "host", VolumeSource: VolumeSource{HostPath: &HostPathVolumeSource{Path: "/var/log"}}},
						{Name: "cm", VolumeSource: VolumeSource{ConfigMap: &ConfigMapVolumeSource{LocalObjectReference: LocalObjectReference{Name: "cfg"}}}},
						{Name: "sec", VolumeSource: VolumeSource{Secret: &SecretVolumeSource{SecretName: "creds"}}},
						{Name: "info", VolumeSource: VolumeSource{DownwardAPI: &DownwardAPIVolumeSource{Items: []DownwardAPIVolumeFile{
							{Path: "labels", FieldRef: &ObjectFieldSelector{FieldPath: "metadata.labels"}},
						}}}},
						{Name: "all", VolumeSource: VolumeSource{Projected: &ProjectedVolumeSource{Sources: []VolumeProjection{
							{ServiceAccountToken: &ServiceAccountTokenProjection{Path: "token"}},
							{DownwardAPI: &DownwardAPIProjection{Items: []DownwardAPIVolumeFile{
								{Path: "name", FieldRef: &ObjectFieldSelector{FieldPath: "metadata.name"}},
							}}},
						}}}},
					},
					InitContainers: []Container{{
						Name:      "init",
						Image:     "busybox",
						Resources: ResourceRequirements{Limits: ResourceList{ResourceMemory: resource.MustParse("64Mi")}},
					}},
					Containers: []Container{{
						Name:  "web",
						Image: "registry.example.com:5000/team/web:latest",
						Ports: []ContainerPort{{Name: "http", ContainerPort: 8080}, {ContainerPort: 9090, HostPort: 19090, Protocol: ProtocolUDP}},
						Env: []EnvVar{
							{Name: "POD_NAME", ValueFrom: &EnvVarSource{FieldRef: &ObjectFieldSelector{FieldPath: "metadata.name"}}},
							{Name: "MODE", Value: "prod"},
						},
						Resources: ResourceRequirements{
							Limits:   ResourceList{ResourceCPU: resource.MustParse("500m"), ResourceMemory: resource.MustParse("128Mi")},
							Requests: ResourceList{ResourceCPU: resource.MustParse("250m")},
						},
						LivenessProbe:  &Probe{ProbeHandler: ProbeHandler{HTTPGet: &HTTPGetAction{Port: FromString("http")}}},
						ReadinessProbe: &Probe{ProbeHandler: ProbeHandler{TCPSocket: &TCPSocketAction{Port: FromInt32(8080)}}, PeriodSeconds: 5},
						StartupProbe:   &Probe{ProbeHandler: ProbeHandler{Exec: &ExecAction{Command: []string{"true"}}}, FailureThreshold: 30},
						Lifecycle: &Lifecycle{
							PostStart: &LifecycleHandler{HTTPGet: &HTTPGetAction{Path: "/warm", Port: FromInt32(8080)}},
							PreStop:   &LifecycleHandler{Sleep: &SleepAction{Seconds: 5}},
						},
					}},
				}}
			},
			want: &Pod{Spec: PodSpec{
				HostNetwork:                   true,
				ServiceAccountName:            "builder",
				DeprecatedServiceAccount:      "builder",
				EnableServiceLinks:            new(true),
				RestartPolicy:                 RestartPolicyAlways,
				TerminationGracePeriodSeconds: new(int64(30)),
				DNSPolicy:                     DNSClusterFirst,
				SchedulerName:                 "default-scheduler",
				SecurityContext:               &PodSecurityContext{},
				Overhead:                      ResourceList{ResourceCPU: resource.MustParse("1m")},
				Volumes: []Volume{
					{Name: "scratch", VolumeSource: VolumeSource{EmptyDir: &EmptyDirVolumeSource{}}},
					{Name: "host", VolumeSource: VolumeSource{HostPath: &HostPathVolumeSource{Path: "/var/log", Type: new(HostPathUnset)}}},
					{Name: "cm", VolumeSource: VolumeSource{ConfigMap: &ConfigMapVolumeSource{LocalObjectReference: LocalObjectReference{Name: "cfg"}, DefaultMode: new(int32(0o644))}}},
					{Name: "sec", VolumeSource: VolumeSource{Secret: &SecretVolumeSource{SecretName: "creds", DefaultMode: new(int32(420))}}},
					{Name: "info", VolumeSource: VolumeSource{DownwardAPI: &DownwardAPIVolumeSource{
						Items: []DownwardAPIVolumeFile{
							{Path: "labels", FieldRef: &ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}},
						},
						DefaultMode: new(int32(0o644)),
					}}},
					{Name: "all", VolumeSource: VolumeSource{Projected: &ProjectedVolumeSource{
						Sources: []VolumeProjection{
							{ServiceAccountToken: &ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: new(int64(3600))}},
							{DownwardAPI: &DownwardAPIProjection{Items: []DownwardAPIVolumeFile{
								{Path: "name", FieldRef: &ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}},
							}}},
						},
						DefaultMode: new(int32(0o644)),
					}}},
				},
				InitContainers: []Container{{
					Name:  "init",
					Image: "busybox",
					Resources: ResourceRequirements{
						Limits:   ResourceList{ResourceMemory: resource.MustParse("64Mi")},
						Requests: ResourceList{ResourceMemory: resource.MustParse("64Mi")},
					},
					ImagePullPolicy:          PullAlways,
					TerminationMessagePath:   "/dev/termination-log",
					TerminationMessagePolicy: TerminationMessageReadFile,
				}},
				Containers: []Container{{
					Name:  "web",
					Image: "registry.example.com:5000/team/web:latest",
					Ports: []ContainerPort{
						{Name: "http", ContainerPort: 8080, HostPort: 8080, Protocol: ProtocolTCP},
						{ContainerPort: 9090, HostPort: 19090, Protocol: ProtocolUDP},
					},
					Env: []EnvVar{
						{Name: "POD_NAME", ValueFrom: &EnvVarSource{FieldRef: &ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
						{Name: "MODE", Value: "prod"},
					},
					Resources: ResourceRequirements{
						Limits:   ResourceList{ResourceCPU: resource.MustParse("500m"), ResourceMemory: resource.MustParse("128Mi")},
						Requests: ResourceList{ResourceCPU: resource.MustParse("250m"), ResourceMemory: resource.MustParse("128Mi")},
					},
					LivenessProbe: &Probe{
						ProbeHandler:   ProbeHandler{HTTPGet: &HTTPGetAction{Path: "/", Port: FromString("http"), Scheme: URISchemeHTTP}},
						TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
					},
					ReadinessProbe: &Probe{
						ProbeHandler:   ProbeHandler{TCPSocket: &TCPSocketAction{Port: FromInt32(8080)}},
						TimeoutSeconds: 1, PeriodSeconds: 5, SuccessThreshold: 1, FailureThreshold: 3,
					},
					StartupProbe: &Probe{
						ProbeHandler:   ProbeHandler{Exec: &ExecAction{Command: []string{"true"}}},
						TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 30,
					},
					Lifecycle: &Lifecycle{
						PostStart: &LifecycleHandler{HTTPGet: &HTTPGetAction{Path: "/warm", Port: FromInt32(8080), Scheme: URISchemeHTTP}},
						PreStop:   &LifecycleHandler{Sleep: &SleepAction{Seconds: 5}},
					},
					ImagePullPolicy:          PullAlways,
					TerminationMessagePath:   "/dev/termination-log",
					TerminationMessagePolicy: TerminationMessageReadFile,
				}},
			}},
		},
		{
			name: "Pod/set values are kept",
			in:   func() Object { return customizedPod() },
			want: customizedPod(),
		},
		{
			name: "Service/minimal",
			in: func() Object {
				return &Service{Spec: ServiceSpec{Selector: app, Ports: []ServicePort{{Port: 80}}}}
			},
			want: &Service{Spec: ServiceSpec{
				Selector:              app,
				Ports:                 []ServicePort{{Port: 80, TargetPort: FromInt32(80), Protocol: ProtocolTCP}},
				Type:                  ServiceTypeClusterIP,
				SessionAffinity:       ServiceAffinityNone,
				InternalTrafficPolicy: new(ServiceInternalTrafficPolicyCluster),
			}},
		},
		{
			name: "Service/NodePort with named and empty target ports",
			in: func() Object {
				return &Service{Spec: ServiceSpec{Type: ServiceTypeNodePort, Ports: []ServicePort{
					{Name: "http", Port: 80, TargetPort: FromString("http")},
					{Name: "dns", Port: 53, TargetPort: FromString(""), Protocol: ProtocolUDP},
				}}}
			},
			want: &Service{Spec: ServiceSpec{
				Type: ServiceTypeNodePort,
				Ports: []ServicePort{
					{Name: "http", Port: 80, TargetPort: FromString("http"), Protocol: ProtocolTCP},
					{Name: "dns", Port: 53, TargetPort: FromInt32(53), Protocol: ProtocolUDP},
				},
				SessionAffinity:       ServiceAffinityNone,
				ExternalTrafficPolicy: ServiceExternalTrafficPolicyCluster,
				InternalTrafficPolicy: new(ServiceInternalTrafficPolicyCluster),
			}},
		},
		{
			name: "Service/LoadBalancer keeps its policies",
			in: func() Object {
				return &Service{Spec: ServiceSpec{
					Type: ServiceTypeLoadBalancer, SessionAffinity: ServiceAffinityClientIP,
					ExternalTrafficPolicy: ServiceExternalTrafficPolicyLocal,
					InternalTrafficPolicy: new(ServiceInternalTrafficPolicyLocal),
				}}
			},
			want: &Service{Spec: ServiceSpec{
				Type: ServiceTypeLoadBalancer, SessionAffinity: ServiceAffinityClientIP,
				ExternalTrafficPolicy: ServiceExternalTrafficPolicyLocal,
				InternalTrafficPolicy: new(ServiceInternalTrafficPolicyLocal),
			}},
		},
		{
			name: "Service/ClusterIP with external IPs",
			in: func() Object {
				return &Service{Spec: ServiceSpec{ExternalIPs: []string{"203.0.113.7"}}}
			},
			want: &Service{Spec: ServiceSpec{
				ExternalIPs:           []string{"203.0.113.7"},
				Type:                  ServiceTypeClusterIP,
				SessionAffinity:       ServiceAffinityNone,
				ExternalTrafficPolicy: ServiceExternalTrafficPolicyCluster,
				InternalTrafficPolicy: new(ServiceInternalTrafficPolicyCluster),
			}},
		},
		{
			name: "Service/ExternalName gets no traffic policies",
			in: func() Object {
				return &Service{Spec: ServiceSpec{Type: ServiceTypeExternalName, ExternalName: "db.example.com"}}
			},
			want: &Service{Spec: ServiceSpec{
				Type: ServiceTypeExternalName, ExternalName: "db.example.com", SessionAffinity: ServiceAffinityNone,
			}},
		},
		{
			name: "Endpoints",
			in: func() Object {
				return &Endpoints{Subsets: []EndpointSubset{{Ports: []EndpointPort{{Port: 80}, {Port: 53, Protocol: ProtocolUDP}}}}}
			},
			want: &Endpoints{Subsets: []EndpointSubset{{Ports: []EndpointPort{
				{Port: 80, Protocol: ProtocolTCP}, {Port: 53, Protocol: ProtocolUDP},
			}}}},
		},
		{
			name: "Secret/minimal",
			in:   func() Object { return &Secret{StringData: map[string]string{"password": "s3cr3t"}} },
			want: &Secret{StringData: map[string]string{"password": "s3cr3t"}, Type: SecretTypeOpaque},
		},
		{
			name: "Secret/typed",
			in:   func() Object { return &Secret{Type: SecretTypeTLS} },
			want: &Secret{Type: SecretTypeTLS},
		},
		{
			name: "Namespace/named",
			in: func() Object {
				return &Namespace{ObjectMeta: ObjectMeta{Name: "team-a", Labels: map[string]string{
					"team": "a", "kubernetes.io/metadata.name": "forged",
				}}}
			},
			want: &Namespace{
				ObjectMeta: ObjectMeta{Name: "team-a", Labels: map[string]string{"team": "a", "kubernetes.io/metadata.name": "team-a"}},
				Status:     NamespaceStatus{Phase: NamespaceActive},
			},
		},
		{
			name: "Namespace/generated name",
			in: func() Object {
				return &Namespace{ObjectMeta: ObjectMeta{GenerateName: "tmp-"}, Status: NamespaceStatus{Phase: NamespaceTerminating}}
			},
			want: &Namespace{ObjectMeta: ObjectMeta{GenerateName: "tmp-"}, Status: NamespaceStatus{Phase: NamespaceTerminating}},
		},
		{
			name: "Node/allocatable from capacity",
			in: func() Object {
				return &Node{Status: NodeStatus{Capacity: ResourceList{
					ResourceCPU: resource.MustParse("4"), ResourceMemory: resource.MustParse("16Gi"),
				}}}
			},
			want: &Node{Status: NodeStatus{
				Capacity:    ResourceList{ResourceCPU: resource.MustParse("4"), ResourceMemory: resource.MustParse("16Gi")},
				Allocatable: ResourceList{ResourceCPU: resource.MustParse("4"), ResourceMemory: resource.MustParse("16Gi")},
			}},
		},
		{
			name: "Node/allocatable kept",
			in: func() Object {
				return &Node{Status: NodeStatus{
					Capacity:    ResourceList{ResourceCPU: resource.MustParse("4")},
					Allocatable: ResourceList{ResourceCPU: resource.MustParse("3800m")},
				}}
			},
			want: &Node{Status: NodeStatus{
				Capacity:    ResourceList{ResourceCPU: resource.MustParse("4")},
				Allocatable: ResourceList{ResourceCPU: resource.MustParse("3800m")},
			}},
		},
		{
			name: "Deployment/minimal",
			in: func() Object {
				return &Deployment{Spec: DeploymentSpec{
					Selector: &LabelSelector{MatchLabels: app},
					Template: minimalPodTemplate(app, "web", "nginx:1.27"),
				}}
			},
			want: &Deployment{Spec: DeploymentSpec{
				Replicas: new(int32(1)),
				Selector: &LabelSelector{MatchLabels: app},
				Template: defaultedPodTemplate(app, defaultedContainer("web", "nginx:1.27")),
				Strategy: DeploymentStrategy{
					Type: RollingUpdateDeploymentStrategyType,
					RollingUpdate: &RollingUpdateDeployment{
						MaxUnavailable: new(FromString("25%")),
						MaxSurge:       new(FromString("25%")),
					},
				},
				RevisionHistoryLimit:    new(int32(10)),
				ProgressDeadlineSeconds: new(int32(600)),
			}},
		},
		{
			name: "Deployment/no selector is not defaulted from the template",
			in: func() Object {
				return &Deployment{Spec: DeploymentSpec{
					Replicas: new(int32(0)),
					Template: minimalPodTemplate(app, "web", "nginx:1.27"),
					Strategy: DeploymentStrategy{RollingUpdate: &RollingUpdateDeployment{MaxSurge: new(FromInt32(0))}},
				}}
			},
			want: &Deployment{Spec: DeploymentSpec{
				Replicas: new(int32(0)),
				Template: defaultedPodTemplate(app, defaultedContainer("web", "nginx:1.27")),
				Strategy: DeploymentStrategy{
					Type: RollingUpdateDeploymentStrategyType,
					RollingUpdate: &RollingUpdateDeployment{
						MaxUnavailable: new(FromString("25%")),
						MaxSurge:       new(FromInt32(0)),
					},
				},
				RevisionHistoryLimit:    new(int32(10)),
				ProgressDeadlineSeconds: new(int32(600)),
			}},
		},
		{
			name: "Deployment/Recreate gets no rollingUpdate",
			in: func() Object {
				return &Deployment{Spec: DeploymentSpec{
					Selector:             &LabelSelector{MatchLabels: app},
					Template:             minimalPodTemplate(app, "web", "nginx:1.27"),
					Strategy:             DeploymentStrategy{Type: RecreateDeploymentStrategyType},
					RevisionHistoryLimit: new(int32(0)),
				}}
			},
			want: &Deployment{Spec: DeploymentSpec{
				Replicas:                new(int32(1)),
				Selector:                &LabelSelector{MatchLabels: app},
				Template:                defaultedPodTemplate(app, defaultedContainer("web", "nginx:1.27")),
				Strategy:                DeploymentStrategy{Type: RecreateDeploymentStrategyType},
				RevisionHistoryLimit:    new(int32(0)),
				ProgressDeadlineSeconds: new(int32(600)),
			}},
		},
		{
			name: "ReplicaSet",
			in: func() Object {
				return &ReplicaSet{Spec: ReplicaSetSpec{
					Selector: &LabelSelector{MatchLabels: app},
					Template: minimalPodTemplate(app, "web", "nginx:1.27"),
				}}
			},
			want: &ReplicaSet{Spec: ReplicaSetSpec{
				Replicas: new(int32(1)),
				Selector: &LabelSelector{MatchLabels: app},
				Template: defaultedPodTemplate(app, defaultedContainer("web", "nginx:1.27")),
			}},
		},
		{
			name: "DaemonSet/minimal",
			in: func() Object {
				return &DaemonSet{Spec: DaemonSetSpec{
					Selector: &LabelSelector{MatchLabels: app},
					Template: minimalPodTemplate(app, "agent", "example.com/agent:v2"),
				}}
			},
			want: &DaemonSet{Spec: DaemonSetSpec{
				Selector: &LabelSelector{MatchLabels: app},
				Template: defaultedPodTemplate(app, defaultedContainer("agent", "example.com/agent:v2")),
				UpdateStrategy: DaemonSetUpdateStrategy{
					Type: RollingUpdateDaemonSetStrategyType,
					RollingUpdate: &RollingUpdateDaemonSet{
						MaxUnavailable: new(FromInt32(1)),
						MaxSurge:       new(FromInt32(0)),
					},
				},
				RevisionHistoryLimit: new(int32(10)),
			}},
		},
		{
			name: "DaemonSet/OnDelete",
			in: func() Object {
				return &DaemonSet{Spec: DaemonSetSpec{
					Template:       minimalPodTemplate(app, "agent", "example.com/agent:v2"),
					UpdateStrategy: DaemonSetUpdateStrategy{Type: OnDeleteDaemonSetStrategyType},
				}}
			},
			want: &DaemonSet{Spec: DaemonSetSpec{
				Template:             defaultedPodTemplate(app, defaultedContainer("agent", "example.com/agent:v2")),
				UpdateStrategy:       DaemonSetUpdateStrategy{Type: OnDeleteDaemonSetStrategyType},
				RevisionHistoryLimit: new(int32(10)),
			}},
		},
		{
			name: "Job/single pod",
			in: func() Object {
				t := minimalPodTemplate(map[string]string{"job": "pi"}, "pi", "perl:5.34")
				t.Spec.RestartPolicy = RestartPolicyNever
				return &Job{Spec: JobSpec{Template: t}}
			},
			want: &Job{
				ObjectMeta: ObjectMeta{Labels: map[string]string{"job": "pi"}},
				Spec: JobSpec{
					Completions:    new(int32(1)),
					Parallelism:    new(int32(1)),
					BackoffLimit:   new(int32(6)),
					CompletionMode: new(NonIndexedCompletion),
					Suspend:        new(false),
					Template: func() PodTemplateSpec {
						t := defaultedPodTemplate(map[string]string{"job": "pi"}, defaultedContainer("pi", "perl:5.34"))
						t.Spec.RestartPolicy = RestartPolicyNever
						return t
					}(),
				},
			},
		},
		{
			name: "Job/fixed completions",
			in: func() Object {
				return &Job{
					ObjectMeta: ObjectMeta{Labels: map[string]string{"team": "a"}},
					Spec:       JobSpec{Completions: new(int32(5)), Template: minimalPodTemplate(map[string]string{"job": "pi"}, "pi", "perl")},
				}
			},
			want: &Job{
				ObjectMeta: ObjectMeta{Labels: map[string]string{"team": "a"}},
				Spec: JobSpec{
					Completions:    new(int32(5)),
					Parallelism:    new(int32(1)),
					BackoffLimit:   new(int32(6)),
					CompletionMode: new(NonIndexedCompletion),
					Suspend:        new(false),
					// restartPolicy Always: validation rejects the Job, as
					// Kubernetes does.
					Template: defaultedPodTemplate(map[string]string{"job": "pi"}, func() Container {
						c := defaultedContainer("pi", "perl")
						c.ImagePullPolicy = PullAlways
						return c
					}()),
				},
			},
		},
		{
			name: "Job/work queue",
			in: func() Object {
				return &Job{Spec: JobSpec{
					Parallelism:    new(int32(3)),
					BackoffLimit:   new(int32(0)),
					CompletionMode: new(IndexedCompletion),
					Suspend:        new(true),
					Template:       minimalPodTemplate(nil, "worker", "worker:1"),
				}}
			},
			want: &Job{Spec: JobSpec{
				Parallelism:    new(int32(3)),
				BackoffLimit:   new(int32(0)),
				CompletionMode: new(IndexedCompletion),
				Suspend:        new(true),
				Template:       defaultedPodTemplate(nil, defaultedContainer("worker", "worker:1")),
			}},
		},
		{
			name: "ConfigMap",
			in:   func() Object { return &ConfigMap{Data: map[string]string{"a": "b"}} },
			want: &ConfigMap{Data: map[string]string{"a": "b"}},
		},
		{
			name: "ServiceAccount",
			in:   func() Object { return &ServiceAccount{ObjectMeta: ObjectMeta{Name: "builder"}} },
			want: &ServiceAccount{ObjectMeta: ObjectMeta{Name: "builder"}},
		},
		{
			name: "Event",
			in: func() Object {
				return &Event{InvolvedObject: ObjectReference{Kind: "Pod", Name: "web"}, Reason: "Scheduled"}
			},
			want: &Event{InvolvedObject: ObjectReference{Kind: "Pod", Name: "web"}, Reason: "Scheduled"},
		},
		{
			name: "EndpointSlice",
			in: func() Object {
				return &EndpointSlice{AddressType: AddressTypeIPv4, Ports: []EndpointSlicePort{{Port: new(int32(80))}, {Port: new(int32(53)), Protocol: new(ProtocolUDP)}}}
			},
			want: &EndpointSlice{AddressType: AddressTypeIPv4, Ports: []EndpointSlicePort{{Port: new(int32(80)), Protocol: new(ProtocolTCP)}, {Port: new(int32(53)), Protocol: new(ProtocolUDP)}}},
		},
		{
			name: "Lease",
			in:   func() Object { return &Lease{Spec: LeaseSpec{HolderIdentity: new("a")}} },
			want: &Lease{Spec: LeaseSpec{HolderIdentity: new("a")}},
		},
	}
}

// customizedPod sets every field that has a default to a value other than
// the default.
func customizedPod() *Pod {
	probe := func() *Probe {
		return &Probe{
			ProbeHandler:   ProbeHandler{HTTPGet: &HTTPGetAction{Path: "/healthz", Port: FromInt32(8080), Scheme: URISchemeHTTPS}},
			TimeoutSeconds: 2, PeriodSeconds: 3, SuccessThreshold: 4, FailureThreshold: 5,
		}
	}
	return &Pod{Spec: PodSpec{
		RestartPolicy:                 RestartPolicyOnFailure,
		TerminationGracePeriodSeconds: new(int64(0)),
		DNSPolicy:                     DNSNone,
		SchedulerName:                 "my-scheduler",
		SecurityContext:               &PodSecurityContext{RunAsNonRoot: new(true)},
		EnableServiceLinks:            new(false),
		ServiceAccountName:            "new",
		DeprecatedServiceAccount:      "new",
		Volumes: []Volume{
			{Name: "cm", VolumeSource: VolumeSource{ConfigMap: &ConfigMapVolumeSource{DefaultMode: new(int32(0o400))}}},
			{Name: "host", VolumeSource: VolumeSource{HostPath: &HostPathVolumeSource{Path: "/", Type: new(HostPathDirectory)}}},
		},
		Containers: []Container{{
			Name:                     "web",
			Image:                    "nginx",
			ImagePullPolicy:          PullNever,
			TerminationMessagePath:   "/tmp/msg",
			TerminationMessagePolicy: TerminationMessageFallbackToLogsOnError,
			Ports:                    []ContainerPort{{ContainerPort: 53, Protocol: ProtocolSCTP}},
			Env:                      []EnvVar{{Name: "X", ValueFrom: &EnvVarSource{FieldRef: &ObjectFieldSelector{APIVersion: "v2", FieldPath: "x"}}}},
			Resources: ResourceRequirements{
				Limits:   ResourceList{ResourceCPU: resource.MustParse("1")},
				Requests: ResourceList{ResourceCPU: resource.MustParse("100m")},
			},
			LivenessProbe:  probe(),
			ReadinessProbe: probe(),
			StartupProbe:   probe(),
		}},
	}}
}

func TestDefault(t *testing.T) {
	for _, tc := range defaultCases() {
		t.Run(tc.name, func(t *testing.T) {
			obj := tc.in()
			Default(obj)
			assert.Equal(t, tc.want, obj)
		})
	}
}

// TestDefaultIsIdempotent defaults every case, the fully populated objects
// of the JSON tests and the test manifests twice, and checks that the
// second time changes nothing.
func TestDefaultIsIdempotent(t *testing.T) {
	check := func(t *testing.T, obj Object) {
		t.Helper()
		Default(obj)
		once, err := json.Marshal(obj)
		require.NoError(t, err)
		Default(obj)
		twice, err := json.Marshal(obj)
		require.NoError(t, err)
		assert.JSONEq(t, string(once), string(twice))
	}
	for _, tc := range defaultCases() {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.in()) })
	}
	scheme := NewDefaultScheme()
	for _, tc := range kindJSONCases {
		t.Run("json/"+tc.name, func(t *testing.T) {
			obj, err := scheme.Decode([]byte(tc.doc))
			require.NoError(t, err)
			check(t, obj)
		})
	}
	for _, m := range readManifests(t) {
		t.Run("manifest/"+m.name, func(t *testing.T) {
			objs, err := scheme.DecodeAll(m.data)
			require.NoError(t, err)
			for _, obj := range objs {
				check(t, obj)
			}
		})
	}
}

// TestDefaultCoversEveryKind makes adding a built-in kind without deciding
// its defaults fail: every kind of the default scheme needs a case above.
func TestDefaultCoversEveryKind(t *testing.T) {
	scheme := NewDefaultScheme()
	covered := make(map[string]bool)
	for _, tc := range defaultCases() {
		k, err := scheme.ObjectKind(tc.in())
		require.NoError(t, err)
		covered[k.Kind] = true
	}
	for _, k := range scheme.Kinds() {
		assert.True(t, covered[k.Kind], "no defaulting case for kind %s", k.GroupVersionKind)
	}
}

// TestDefaultPodOnlyDefaults checks that the defaults Kubernetes applies to
// Pods only (requests from limits, service links, host ports) are not
// applied to pod templates.
func TestDefaultPodOnlyDefaults(t *testing.T) {
	spec := func() PodSpec {
		return PodSpec{
			HostNetwork: true,
			Containers: []Container{{
				Name: "web", Image: "nginx:1.27",
				Ports:     []ContainerPort{{ContainerPort: 8080}},
				Resources: ResourceRequirements{Limits: ResourceList{ResourceCPU: resource.MustParse("1")}},
			}},
		}
	}
	type template struct {
		obj  Object
		spec *PodSpec
	}
	d := &Deployment{Spec: DeploymentSpec{Template: PodTemplateSpec{Spec: spec()}}}
	rs := &ReplicaSet{Spec: ReplicaSetSpec{Template: PodTemplateSpec{Spec: spec()}}}
	ds := &DaemonSet{Spec: DaemonSetSpec{Template: PodTemplateSpec{Spec: spec()}}}
	job := &Job{Spec: JobSpec{Template: PodTemplateSpec{Spec: spec()}}}
	templates := []template{
		{d, &d.Spec.Template.Spec},
		{rs, &rs.Spec.Template.Spec},
		{ds, &ds.Spec.Template.Spec},
		{job, &job.Spec.Template.Spec},
	}
	for _, tc := range templates {
		t.Run(fmt.Sprintf("%T", tc.obj), func(t *testing.T) {
			Default(tc.obj)
			c := tc.spec.Containers[0]
			assert.Nil(t, c.Resources.Requests)
			assert.Zero(t, c.Ports[0].HostPort)
			assert.Equal(t, ProtocolTCP, c.Ports[0].Protocol)
			assert.Nil(t, tc.spec.EnableServiceLinks)
			assert.Equal(t, DNSClusterFirst, tc.spec.DNSPolicy, "pod spec defaults still apply")
		})
	}
	pod := &Pod{Spec: spec()}
	Default(pod)
	c := pod.Spec.Containers[0]
	assert.Equal(t, ResourceList{ResourceCPU: resource.MustParse("1")}, c.Resources.Requests)
	assert.Equal(t, int32(8080), c.Ports[0].HostPort)
	assert.Equal(t, new(true), pod.Spec.EnableServiceLinks)
}

func TestDefaultServiceAccountAlias(t *testing.T) {
	for _, tc := range []struct {
		name, deprecated string
		want             string
	}{
		{"", "", ""},
		{"new", "", "new"},
		{"", "old", "old"},
		{"new", "old", "new"}, // serviceAccountName wins
		{"same", "same", "same"},
	} {
		t.Run(tc.name+"/"+tc.deprecated, func(t *testing.T) {
			pod := &Pod{Spec: PodSpec{ServiceAccountName: tc.name, DeprecatedServiceAccount: tc.deprecated}}
			Default(pod)
			assert.Equal(t, tc.want, pod.Spec.ServiceAccountName)
			assert.Equal(t, tc.want, pod.Spec.DeprecatedServiceAccount)
		})
	}
}

func TestDefaultImagePullPolicy(t *testing.T) {
	const digest = "sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097"
	for _, tc := range []struct {
		image string
		want  PullPolicy
	}{
		{"nginx", PullAlways},
		{"nginx:latest", PullAlways},
		{"library/nginx", PullAlways},
		{"docker.io/library/nginx:latest", PullAlways},
		{"registry.example.com/team/app", PullAlways},
		{"localhost/app", PullAlways},
		{"localhost:5000/app", PullAlways},
		{"localhost:5000/app:latest", PullAlways},
		{"[::1]:5000/app", PullAlways},
		{"a.b-c.example:443/x/y_z/w__v/u-t", PullAlways},
		{"nginx:1.27", PullIfNotPresent},
		{"nginx:Latest", PullIfNotPresent}, // tags are case-sensitive
		{"nginx:latest-alpine", PullIfNotPresent},
		{"localhost:5000/app:v1", PullIfNotPresent},
		{"nginx@" + digest, PullIfNotPresent},
		{"nginx:latest@" + digest, PullAlways}, // the tag decides, as in Kubernetes
		// References that do not parse get IfNotPresent, as in Kubernetes;
		// validation reports the ones it rejects.
		{"", PullIfNotPresent},
		{"NGINX", PullIfNotPresent},
		{"Example.com/App", PullIfNotPresent},
		{"nginx:", PullIfNotPresent},
		{"nginx::latest", PullIfNotPresent},
		{"-nginx", PullIfNotPresent},
		{"nginx/", PullIfNotPresent},
		{" nginx", PullIfNotPresent},
		{"7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097", PullIfNotPresent},
		{"example.com/" + repeatA(250), PullIfNotPresent},
		{"example.com/" + repeatA(200), PullAlways},
	} {
		t.Run(tc.image, func(t *testing.T) {
			assert.Equal(t, tc.want, defaultPullPolicy(tc.image))
			assert.Equal(t, tc.want, defaultPullPolicy(tc.image), "the second time, from pullPolicies")
		})
	}
}

func repeatA(n int) string { return strings.Repeat("a", n) }

func TestDefaultRoundsResourcesToMilli(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1", "1"},
		{"500m", "500m"},
		{"1001u", "2m"},
		{"100u", "1m"},
		{"1n", "1m"},
		{"-1n", "-1m"},
		{"0.5", "500m"},
		{"1.0001", "1001m"},
		{"64Mi", "64Mi"},
		{"12345678901234567890123456789n", "12345678901234567890124m"},
		{"1e-7", "1e-3"}, // the format is kept
	} {
		t.Run(tc.in, func(t *testing.T) {
			node := &Node{Status: NodeStatus{Capacity: ResourceList{ResourceCPU: resource.MustParse(tc.in)}}}
			Default(node)
			got := node.Status.Capacity[ResourceCPU]
			assert.Equal(t, tc.want, got.String())
			got = node.Status.Allocatable[ResourceCPU]
			assert.Equal(t, tc.want, got.String())
		})
	}
	q := resource.MustParse("1.00001Ki") // 1024.01024
	require.Equal(t, resource.BinarySI, q.Format)
	r, changed := roundUpToMilli(q)
	assert.True(t, changed)
	assert.Equal(t, resource.BinarySI, r.Format, "the format is kept")
	assert.Equal(t, "1024011m", r.String())
}

// defaulterKind is a user kind with defaults of its own.
type defaulterKind struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       userKindSpec `json:"spec,omitzero"`
}

type userKindSpec struct {
	Size  string `json:"size,omitempty"`
	Count *int32 `json:"count,omitempty"`
}

func (w *defaulterKind) Default() {
	if w.Spec.Size == "" {
		w.Spec.Size = "medium"
	}
	if w.Spec.Count == nil {
		w.Spec.Count = new(int32(1))
	}
}

// plainUserKind is a user kind without defaults.
type plainUserKind struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       userKindSpec `json:"spec,omitzero"`
}

func TestDefaultUserKinds(t *testing.T) {
	w := &defaulterKind{Spec: userKindSpec{Count: new(int32(3))}}
	Default(w)
	assert.Equal(t, &defaulterKind{Spec: userKindSpec{Size: "medium", Count: new(int32(3))}}, w)

	g := &plainUserKind{}
	Default(g)
	assert.Equal(t, &plainUserKind{}, g)
}

func TestDefaultNil(t *testing.T) {
	assert.NotPanics(t, func() {
		Default(nil)
		Default((*Pod)(nil))
		Default((*Deployment)(nil))
		Default((*defaulterKind)(nil))
	})
}

func ExampleDefault() {
	d := &Deployment{Spec: DeploymentSpec{
		Selector: &LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: PodTemplateSpec{
			ObjectMeta: ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       PodSpec{Containers: []Container{{Name: "web", Image: "nginx"}}},
		},
	}}
	Default(d)
	fmt.Println(*d.Spec.Replicas, d.Spec.Strategy.Type, d.Spec.Strategy.RollingUpdate.MaxSurge)
	fmt.Println(d.Spec.Template.Spec.RestartPolicy, d.Spec.Template.Spec.Containers[0].ImagePullPolicy)
	// Output:
	// 1 RollingUpdate 25%
	// Always Always
}

// TestBoundedCache checks that a boundedCache keeps what it is given and
// forgets everything once it holds max entries.
func TestBoundedCache(t *testing.T) {
	c := boundedCache[string, int]{max: 3}
	_, ok := c.get("a")
	assert.False(t, ok)
	for i, k := range []string{"a", "b", "c"} {
		c.put(k, i)
	}
	for i, k := range []string{"a", "b", "c"} {
		v, ok := c.get(k)
		assert.True(t, ok, k)
		assert.Equal(t, i, v)
	}
	c.put("d", 3) // full: starts over
	_, ok = c.get("a")
	assert.False(t, ok, "a full cache did not start over")
	v, ok := c.get("d")
	assert.True(t, ok)
	assert.Equal(t, 3, v)
}
