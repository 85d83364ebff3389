package api

import "github.com/drover-io/drover/api/resource"

// This file holds the core ("v1") kinds: Namespace, Node, Pod, Service,
// Endpoints, ConfigMap, Secret, ServiceAccount and Event, and the types they
// share. Field names and JSON tags follow the Kubernetes v1 API; a field
// missing here is one Drover does not implement, and the strict decoder
// rejects it by name.

// ---------------------------------------------------------------------------
// Shared enums and small types.

// ConditionStatus is the status of a condition.
type ConditionStatus string

// The values of ConditionStatus.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Protocol is a network protocol of a port.
type Protocol string

// The protocols a port may use. An empty protocol defaults to TCP.
const (
	ProtocolTCP  Protocol = "TCP"
	ProtocolUDP  Protocol = "UDP"
	ProtocolSCTP Protocol = "SCTP"
)

// ResourceName names a compute resource, such as "cpu" or "memory".
type ResourceName string

// The resource names Drover accounts for.
const (
	// ResourceCPU is CPU in cores; "500m" is half a core.
	ResourceCPU ResourceName = "cpu"
	// ResourceMemory is memory in bytes.
	ResourceMemory ResourceName = "memory"
	// ResourcePods is the number of pods a node can run.
	ResourcePods ResourceName = "pods"
	// ResourceEphemeralStorage is local scratch storage in bytes.
	ResourceEphemeralStorage ResourceName = "ephemeral-storage"
)

// ResourceList is a set of resource amounts, keyed by resource name.
type ResourceList map[ResourceName]resource.Quantity

// LocalObjectReference names an object in the referrer's namespace.
type LocalObjectReference struct {
	// Name of the referenced object.
	Name string `json:"name,omitempty"`
}

// ObjectReference points to any object, with enough detail to find it
// and, with UID and ResourceVersion, to tell which incarnation and
// revision was meant.
type ObjectReference struct {
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	UID        UID    `json:"uid,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
	// ResourceVersion is the revision the reference was made at, if any.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// FieldPath names a part of the object instead of the whole, such as
	// "spec.containers{web}" for one container of a pod.
	FieldPath string `json:"fieldPath,omitempty"`
}

// ---------------------------------------------------------------------------
// Namespace

// Namespace is a scope for names. Deleting one deletes everything in it.
type Namespace struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       NamespaceSpec   `json:"spec,omitzero"`
	Status     NamespaceStatus `json:"status,omitzero"`
}

// NamespaceList is a list of Namespaces.
type NamespaceList = List[Namespace]

// NamespaceSpec is the desired state of a Namespace.
type NamespaceSpec struct {
	// Finalizers must all be removed before the namespace is deleted. The
	// namespace controller adds and removes "kubernetes".
	Finalizers []FinalizerName `json:"finalizers,omitempty"`
}

// FinalizerName names a namespace finalizer.
type FinalizerName string

// FinalizerKubernetes is the namespace finalizer of the namespace
// controller, which removes it once the namespace's contents are gone.
const FinalizerKubernetes FinalizerName = "kubernetes"

// NamespaceStatus is the observed state of a Namespace.
type NamespaceStatus struct {
	// Phase is Active, or Terminating once deletion was requested.
	Phase NamespacePhase `json:"phase,omitempty"`
	// Conditions report why a terminating namespace is not gone yet.
	Conditions []NamespaceCondition `json:"conditions,omitempty"`
}

// NamespacePhase is the lifecycle phase of a namespace.
type NamespacePhase string

// The phases of a namespace.
const (
	NamespaceActive      NamespacePhase = "Active"
	NamespaceTerminating NamespacePhase = "Terminating"
)

// NamespaceConditionType is the type of a NamespaceCondition.
type NamespaceConditionType string

// The namespace condition types the namespace controller reports.
const (
	NamespaceDeletionDiscoveryFailure NamespaceConditionType = "NamespaceDeletionDiscoveryFailure"
	NamespaceDeletionContentFailure   NamespaceConditionType = "NamespaceDeletionContentFailure"
	NamespaceContentRemaining         NamespaceConditionType = "NamespaceContentRemaining"
	NamespaceFinalizersRemaining      NamespaceConditionType = "NamespaceFinalizersRemaining"
)

// NamespaceCondition is one observation about a namespace.
type NamespaceCondition struct {
	Type               NamespaceConditionType `json:"type"`
	Status             ConditionStatus        `json:"status"`
	LastTransitionTime Time                   `json:"lastTransitionTime,omitzero"`
	Reason             string                 `json:"reason,omitempty"`
	Message            string                 `json:"message,omitempty"`
}

// ---------------------------------------------------------------------------
// Node

// Node is a machine that runs pods. Its kubelet registers it and keeps its
// status current.
type Node struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       NodeSpec   `json:"spec,omitzero"`
	Status     NodeStatus `json:"status,omitzero"`
}

// NodeList is a list of Nodes.
type NodeList = List[Node]

// NodeSpec is the desired state of a Node.
type NodeSpec struct {
	// PodCIDR is the node's pod IP range (the first of PodCIDRs).
	PodCIDR string `json:"podCIDR,omitempty"`
	// PodCIDRs are the node's pod IP ranges, at most one per IP family.
	PodCIDRs []string `json:"podCIDRs,omitempty"`
	// ProviderID identifies the machine to its infrastructure provider:
	// "<provider>://<id>".
	ProviderID string `json:"providerID,omitempty"`
	// Unschedulable keeps the scheduler from placing new pods on the node
	// (cordon). Default false.
	Unschedulable bool `json:"unschedulable,omitempty"`
	// Taints repel pods that do not tolerate them.
	Taints []Taint `json:"taints,omitempty"`
}

// Taint marks a node so that only pods with a matching Toleration are
// scheduled (or, for NoExecute, keep running) there.
type Taint struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
	// Effect is what happens to pods that do not tolerate the taint.
	Effect TaintEffect `json:"effect"`
	// TimeAdded is when a NoExecute taint was added.
	TimeAdded *Time `json:"timeAdded,omitempty"`
}

// TaintEffect is what a taint does to pods that do not tolerate it.
type TaintEffect string

// The taint effects.
const (
	// TaintEffectNoSchedule keeps new pods off the node.
	TaintEffectNoSchedule TaintEffect = "NoSchedule"
	// TaintEffectPreferNoSchedule makes the scheduler avoid the node.
	TaintEffectPreferNoSchedule TaintEffect = "PreferNoSchedule"
	// TaintEffectNoExecute also evicts running pods.
	TaintEffectNoExecute TaintEffect = "NoExecute"
)

// NodeStatus is the observed state of a Node, written by its kubelet.
type NodeStatus struct {
	// Capacity is the node's total resources.
	Capacity ResourceList `json:"capacity,omitempty"`
	// Allocatable is the part of Capacity available to pods; the scheduler
	// uses it. Defaults to Capacity.
	Allocatable ResourceList `json:"allocatable,omitempty"`
	// Phase is deprecated and rarely set.
	Phase      NodePhase       `json:"phase,omitempty"`
	Conditions []NodeCondition `json:"conditions,omitempty"`
	// Addresses are the node's reachable addresses.
	Addresses []NodeAddress `json:"addresses,omitempty"`
	// DaemonEndpoints are the ports the node's daemons listen on.
	DaemonEndpoints NodeDaemonEndpoints `json:"daemonEndpoints,omitzero"`
	NodeInfo        NodeSystemInfo      `json:"nodeInfo,omitzero"`
	// Images are the container images present on the node.
	Images []ContainerImage `json:"images,omitempty"`
}

// NodePhase is the (deprecated) lifecycle phase of a node.
type NodePhase string

// The phases of a node.
const (
	NodePending    NodePhase = "Pending"
	NodeRunning    NodePhase = "Running"
	NodeTerminated NodePhase = "Terminated"
)

// NodeConditionType is the type of a NodeCondition.
type NodeConditionType string

// The node condition types the kubelet reports.
const (
	// NodeReady is True when the node is healthy and can run pods.
	NodeReady              NodeConditionType = "Ready"
	NodeMemoryPressure     NodeConditionType = "MemoryPressure"
	NodeDiskPressure       NodeConditionType = "DiskPressure"
	NodePIDPressure        NodeConditionType = "PIDPressure"
	NodeNetworkUnavailable NodeConditionType = "NetworkUnavailable"
)

// NodeCondition is one observation about a node.
type NodeCondition struct {
	Type   NodeConditionType `json:"type"`
	Status ConditionStatus   `json:"status"`
	// LastHeartbeatTime is when the kubelet last confirmed the condition.
	LastHeartbeatTime Time `json:"lastHeartbeatTime,omitzero"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime Time   `json:"lastTransitionTime,omitzero"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
}

// NodeAddressType is the kind of a NodeAddress.
type NodeAddressType string

// The kinds of node address.
const (
	NodeHostName    NodeAddressType = "Hostname"
	NodeInternalIP  NodeAddressType = "InternalIP"
	NodeExternalIP  NodeAddressType = "ExternalIP"
	NodeInternalDNS NodeAddressType = "InternalDNS"
	NodeExternalDNS NodeAddressType = "ExternalDNS"
)

// NodeAddress is one address of a node.
type NodeAddress struct {
	Type    NodeAddressType `json:"type"`
	Address string          `json:"address"`
}

// NodeDaemonEndpoints lists the ports of a node's daemons.
type NodeDaemonEndpoints struct {
	// KubeletEndpoint is where the kubelet serves logs, exec and stats.
	KubeletEndpoint DaemonEndpoint `json:"kubeletEndpoint,omitzero"`
}

// DaemonEndpoint is the port of a daemon.
type DaemonEndpoint struct {
	// Port is the port number. The capital P is Kubernetes' wire name.
	Port int32 `json:"Port"`
}

// NodeSystemInfo describes a node's machine and software, as reported by
// its kubelet.
type NodeSystemInfo struct {
	MachineID               string `json:"machineID"`
	SystemUUID              string `json:"systemUUID"`
	BootID                  string `json:"bootID"`
	KernelVersion           string `json:"kernelVersion"`
	OSImage                 string `json:"osImage"`
	ContainerRuntimeVersion string `json:"containerRuntimeVersion"`
	KubeletVersion          string `json:"kubeletVersion"`
	// KubeProxyVersion is deprecated in Kubernetes and kept for clients
	// that read it.
	KubeProxyVersion string `json:"kubeProxyVersion"`
	// OperatingSystem is GOOS style: "linux".
	OperatingSystem string `json:"operatingSystem"`
	// Architecture is GOARCH style: "amd64", "arm64".
	Architecture string `json:"architecture"`
}

// ContainerImage is an image present on a node.
type ContainerImage struct {
	// Names are the image's references: tags and digests.
	Names     []string `json:"names"`
	SizeBytes int64    `json:"sizeBytes,omitempty"`
}

// ---------------------------------------------------------------------------
// Pod

// Pod is a group of containers that run together on one node, sharing a
// network namespace and volumes.
type Pod struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       PodSpec   `json:"spec,omitzero"`
	Status     PodStatus `json:"status,omitzero"`
}

// PodList is a list of Pods.
type PodList = List[Pod]

// PodTemplateSpec is the pod that controllers (Deployments, ReplicaSets,
// DaemonSets, Jobs) create copies of.
type PodTemplateSpec struct {
	ObjectMeta `json:"metadata,omitzero"`
	Spec       PodSpec `json:"spec,omitzero"`
}

// PodSpec is the desired state of a Pod.
type PodSpec struct {
	// Volumes can be mounted by the pod's containers.
	Volumes []Volume `json:"volumes,omitempty"`
	// InitContainers run one at a time, in order, each to successful
	// completion, before Containers start.
	InitContainers []Container `json:"initContainers,omitempty"`
	// Containers run together for the life of the pod. At least one.
	Containers []Container `json:"containers"`
	// RestartPolicy applies to every container. Default Always.
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty"`
	// TerminationGracePeriodSeconds is how long containers get between
	// the stop signal and being killed. Nil means the default of 30; 0
	// kills at once.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
	// ActiveDeadlineSeconds bounds how long the pod may run, counted from
	// its start, before it is failed. Nil means no limit.
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
	// DNSPolicy chooses the pod's resolver configuration. Default
	// ClusterFirst.
	DNSPolicy DNSPolicy `json:"dnsPolicy,omitempty"`
	// NodeSelector restricts the pod to nodes with all these labels.
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// ServiceAccountName is the identity the pod runs as. Default
	// "default".
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// DeprecatedServiceAccount is the old name of ServiceAccountName
	// ("serviceAccount" on the wire), still found in manifests.
	DeprecatedServiceAccount string `json:"serviceAccount,omitempty"`
	// AutomountServiceAccountToken overrides the service account's choice
	// of mounting an API token into the pod.
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken,omitempty"`
	// NodeName binds the pod to a node. The scheduler sets it; a pod
	// created with it set skips scheduling.
	NodeName string `json:"nodeName,omitempty"`
	// HostNetwork runs the pod in the node's network namespace.
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// HostPID runs the pod in the node's PID namespace.
	HostPID bool `json:"hostPID,omitempty"`
	// HostIPC runs the pod in the node's IPC namespace.
	HostIPC bool `json:"hostIPC,omitempty"`
	// SecurityContext holds pod-wide security settings; a container's own
	// SecurityContext overrides them.
	SecurityContext *PodSecurityContext `json:"securityContext,omitempty"`
	// ImagePullSecrets name Secrets with registry credentials.
	ImagePullSecrets []LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// Hostname is the pod's hostname. Default: the pod's name.
	Hostname string `json:"hostname,omitempty"`
	// Subdomain makes the pod's FQDN
	// "<hostname>.<subdomain>.<namespace>.svc.<cluster-domain>".
	Subdomain string `json:"subdomain,omitempty"`
	// Affinity holds scheduling constraints beyond NodeSelector.
	Affinity *Affinity `json:"affinity,omitempty"`
	// SchedulerName picks the scheduler. Default "default-scheduler".
	SchedulerName string `json:"schedulerName,omitempty"`
	// Tolerations let the pod run on nodes with matching taints.
	Tolerations []Toleration `json:"tolerations,omitempty"`
	// HostAliases are extra /etc/hosts entries.
	HostAliases []HostAlias `json:"hostAliases,omitempty"`
	// PriorityClassName names the PriorityClass that sets Priority.
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// Priority is resolved from PriorityClassName at admission; higher
	// runs first and may preempt lower.
	Priority *int32 `json:"priority,omitempty"`
	// DNSConfig adjusts the resolver configuration DNSPolicy produces.
	DNSConfig *PodDNSConfig `json:"dnsConfig,omitempty"`
	// ReadinessGates are extra pod conditions that must be True for the
	// pod to be Ready.
	ReadinessGates []PodReadinessGate `json:"readinessGates,omitempty"`
	// EnableServiceLinks injects environment variables for the Services in
	// the pod's namespace, docker-links style. Nil means true.
	EnableServiceLinks *bool `json:"enableServiceLinks,omitempty"`
	// PreemptionPolicy says whether the pod may preempt lower-priority
	// ones. Nil means PreemptLowerPriority.
	PreemptionPolicy *PreemptionPolicy `json:"preemptionPolicy,omitempty"`
	// Overhead is the resource cost of the pod's sandbox, added to its
	// containers' requests and limits.
	Overhead ResourceList `json:"overhead,omitempty"`
	// TopologySpreadConstraints spread matching pods across topology
	// domains (zones, nodes).
	TopologySpreadConstraints []TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
}

// RestartPolicy says when the kubelet restarts a pod's exited containers.
type RestartPolicy string

// The restart policies.
const (
	RestartPolicyAlways    RestartPolicy = "Always"
	RestartPolicyOnFailure RestartPolicy = "OnFailure"
	RestartPolicyNever     RestartPolicy = "Never"
)

// DNSPolicy selects a pod's resolver configuration.
type DNSPolicy string

// The DNS policies.
const (
	// DNSClusterFirst uses cluster DNS, falling back to the node's
	// resolvers for names outside the cluster; with host networking it
	// behaves as DNSDefault.
	DNSClusterFirst DNSPolicy = "ClusterFirst"
	// DNSClusterFirstWithHostNet is DNSClusterFirst even with host
	// networking.
	DNSClusterFirstWithHostNet DNSPolicy = "ClusterFirstWithHostNet"
	// DNSDefault uses the node's resolver configuration.
	DNSDefault DNSPolicy = "Default"
	// DNSNone uses only the pod's DNSConfig.
	DNSNone DNSPolicy = "None"
)

// PreemptionPolicy says whether a pod may preempt lower-priority pods.
type PreemptionPolicy string

// The preemption policies.
const (
	PreemptLowerPriority PreemptionPolicy = "PreemptLowerPriority"
	PreemptNever         PreemptionPolicy = "Never"
)

// PodReadinessGate names a pod condition that gates readiness.
type PodReadinessGate struct {
	// ConditionType is the condition that must be True.
	ConditionType PodConditionType `json:"conditionType"`
}

// HostAlias is an /etc/hosts entry.
type HostAlias struct {
	IP        string   `json:"ip"`
	Hostnames []string `json:"hostnames,omitempty"`
}

// PodDNSConfig adjusts a pod's resolv.conf.
type PodDNSConfig struct {
	// Nameservers are added to those of the DNS policy.
	Nameservers []string `json:"nameservers,omitempty"`
	// Searches are added to the search domains of the DNS policy.
	Searches []string `json:"searches,omitempty"`
	// Options are merged with those of the DNS policy, these winning.
	Options []PodDNSConfigOption `json:"options,omitempty"`
}

// PodDNSConfigOption is a resolver option, such as ndots:2.
type PodDNSConfigOption struct {
	Name string `json:"name,omitempty"`
	// Value is nil for options without a value, such as "edns0".
	Value *string `json:"value,omitempty"`
}

// PodSecurityContext holds pod-wide security settings.
type PodSecurityContext struct {
	// RunAsUser is the UID of container processes. Default: the image's.
	RunAsUser *int64 `json:"runAsUser,omitempty"`
	// RunAsGroup is the primary GID of container processes. Default: the
	// image's.
	RunAsGroup *int64 `json:"runAsGroup,omitempty"`
	// RunAsNonRoot makes the kubelet refuse to start containers that would
	// run as UID 0.
	RunAsNonRoot *bool `json:"runAsNonRoot,omitempty"`
	// SupplementalGroups are added to every container process's groups.
	SupplementalGroups []int64 `json:"supplementalGroups,omitempty"`
	// FSGroup is added to every container process's groups and owns the
	// files of volumes that support ownership management.
	FSGroup *int64 `json:"fsGroup,omitempty"`
}

// Toleration lets a pod run on nodes with a matching taint.
type Toleration struct {
	// Key is the taint key; empty with operator Exists matches every taint.
	Key string `json:"key,omitempty"`
	// Operator is Equal (the default) or Exists.
	Operator TolerationOperator `json:"operator,omitempty"`
	// Value must equal the taint's value when Operator is Equal.
	Value string `json:"value,omitempty"`
	// Effect is the taint effect matched; empty matches all.
	Effect TaintEffect `json:"effect,omitempty"`
	// TolerationSeconds bounds how long a NoExecute taint is tolerated
	// before eviction. Nil means forever.
	TolerationSeconds *int64 `json:"tolerationSeconds,omitempty"`
}

// TolerationOperator is how a toleration matches a taint's value.
type TolerationOperator string

// The toleration operators.
const (
	TolerationOpExists TolerationOperator = "Exists"
	TolerationOpEqual  TolerationOperator = "Equal"
)

// TopologySpreadConstraint limits how unevenly matching pods may spread
// across the domains of a topology key.
type TopologySpreadConstraint struct {
	// MaxSkew is the largest allowed difference in matching pods between
	// any two domains. At least 1.
	MaxSkew int32 `json:"maxSkew"`
	// TopologyKey is the node label whose values form the domains.
	TopologyKey string `json:"topologyKey"`
	// WhenUnsatisfiable says what to do when no node keeps the skew.
	WhenUnsatisfiable UnsatisfiableConstraintAction `json:"whenUnsatisfiable"`
	// LabelSelector selects the pods counted.
	LabelSelector *LabelSelector `json:"labelSelector,omitempty"`
	// MinDomains is the number of domains assumed to exist when fewer are
	// eligible. Nil means 1.
	MinDomains *int32 `json:"minDomains,omitempty"`
}

// UnsatisfiableConstraintAction is what a topology spread constraint does
// when it cannot be met.
type UnsatisfiableConstraintAction string

// The actions of an unsatisfiable topology spread constraint.
const (
	DoNotSchedule  UnsatisfiableConstraintAction = "DoNotSchedule"
	ScheduleAnyway UnsatisfiableConstraintAction = "ScheduleAnyway"
)

// Affinity groups a pod's affinity scheduling rules.
type Affinity struct {
	NodeAffinity    *NodeAffinity    `json:"nodeAffinity,omitempty"`
	PodAffinity     *PodAffinity     `json:"podAffinity,omitempty"`
	PodAntiAffinity *PodAntiAffinity `json:"podAntiAffinity,omitempty"`
}

// NodeAffinity constrains which nodes a pod may run on, or prefers some.
type NodeAffinity struct {
	// RequiredDuringSchedulingIgnoredDuringExecution must match for the
	// pod to be scheduled on a node.
	RequiredDuringSchedulingIgnoredDuringExecution *NodeSelector `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	// PreferredDuringSchedulingIgnoredDuringExecution adds each matching
	// term's weight to a node's score.
	PreferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// NodeSelector matches nodes that match any of its terms.
type NodeSelector struct {
	NodeSelectorTerms []NodeSelectorTerm `json:"nodeSelectorTerms"`
}

// NodeSelectorTerm matches nodes that meet all of its requirements. An
// empty term matches no node.
type NodeSelectorTerm struct {
	// MatchExpressions are requirements on node labels.
	MatchExpressions []NodeSelectorRequirement `json:"matchExpressions,omitempty"`
	// MatchFields are requirements on node fields ("metadata.name").
	MatchFields []NodeSelectorRequirement `json:"matchFields,omitempty"`
}

// NodeSelectorRequirement is one requirement on a node label or field.
type NodeSelectorRequirement struct {
	Key      string               `json:"key"`
	Operator NodeSelectorOperator `json:"operator"`
	// Values has one or more entries for In and NotIn, exactly one
	// integer for Gt and Lt, and none for Exists and DoesNotExist.
	Values []string `json:"values,omitempty"`
}

// NodeSelectorOperator is the operator of a NodeSelectorRequirement.
type NodeSelectorOperator string

// The node selector operators.
const (
	NodeSelectorOpIn           NodeSelectorOperator = "In"
	NodeSelectorOpNotIn        NodeSelectorOperator = "NotIn"
	NodeSelectorOpExists       NodeSelectorOperator = "Exists"
	NodeSelectorOpDoesNotExist NodeSelectorOperator = "DoesNotExist"
	NodeSelectorOpGt           NodeSelectorOperator = "Gt"
	NodeSelectorOpLt           NodeSelectorOperator = "Lt"
)

// PreferredSchedulingTerm is a weighted node preference.
type PreferredSchedulingTerm struct {
	// Weight is added to the score of matching nodes, 1 to 100.
	Weight     int32            `json:"weight"`
	Preference NodeSelectorTerm `json:"preference"`
}

// PodAffinity attracts a pod to nodes running pods that match.
type PodAffinity struct {
	// RequiredDuringSchedulingIgnoredDuringExecution terms must all hold.
	RequiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	// PreferredDuringSchedulingIgnoredDuringExecution terms add weight.
	PreferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// PodAntiAffinity repels a pod from nodes running pods that match.
type PodAntiAffinity struct {
	// RequiredDuringSchedulingIgnoredDuringExecution terms must all hold.
	RequiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	// PreferredDuringSchedulingIgnoredDuringExecution terms add weight.
	PreferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// PodAffinityTerm matches a set of pods and the topology domain they share
// with the pod being scheduled.
type PodAffinityTerm struct {
	// LabelSelector selects the pods; nil selects none.
	LabelSelector *LabelSelector `json:"labelSelector,omitempty"`
	// Namespaces to look for the pods in, together with those
	// NamespaceSelector selects. Both empty means the pod's own namespace.
	Namespaces []string `json:"namespaces,omitempty"`
	// TopologyKey is the node label whose value defines "the same place".
	TopologyKey string `json:"topologyKey"`
	// NamespaceSelector selects namespaces by label; empty ({}) selects
	// all.
	NamespaceSelector *LabelSelector `json:"namespaceSelector,omitempty"`
}

// WeightedPodAffinityTerm is a preferred PodAffinityTerm with a weight.
type WeightedPodAffinityTerm struct {
	// Weight is 1 to 100.
	Weight          int32           `json:"weight"`
	PodAffinityTerm PodAffinityTerm `json:"podAffinityTerm"`
}

// Container is one container of a pod.
type Container struct {
	// Name is unique within the pod (a DNS label).
	Name string `json:"name"`
	// Image is the image reference.
	Image string `json:"image,omitempty"`
	// Command replaces the image's entrypoint. $(VAR) references to the
	// container's environment are expanded.
	Command []string `json:"command,omitempty"`
	// Args replace the image's cmd, expanded like Command.
	Args []string `json:"args,omitempty"`
	// WorkingDir overrides the image's working directory.
	WorkingDir string `json:"workingDir,omitempty"`
	// Ports the container listens on; informational except for HostPort.
	Ports []ContainerPort `json:"ports,omitempty"`
	// EnvFrom populates the environment from ConfigMaps and Secrets; Env
	// wins on duplicates.
	EnvFrom []EnvFromSource `json:"envFrom,omitempty"`
	// Env is the container's environment.
	Env []EnvVar `json:"env,omitempty"`
	// Resources are the container's requests and limits.
	Resources ResourceRequirements `json:"resources,omitzero"`
	// VolumeMounts mount the pod's volumes into the container.
	VolumeMounts   []VolumeMount `json:"volumeMounts,omitempty"`
	LivenessProbe  *Probe        `json:"livenessProbe,omitempty"`
	ReadinessProbe *Probe        `json:"readinessProbe,omitempty"`
	// StartupProbe, when set, holds off the other probes until it succeeds.
	StartupProbe *Probe     `json:"startupProbe,omitempty"`
	Lifecycle    *Lifecycle `json:"lifecycle,omitempty"`
	// TerminationMessagePath is the file in the container whose content
	// becomes the termination message. Default "/dev/termination-log".
	TerminationMessagePath string `json:"terminationMessagePath,omitempty"`
	// TerminationMessagePolicy says where the termination message comes
	// from. Default File.
	TerminationMessagePolicy TerminationMessagePolicy `json:"terminationMessagePolicy,omitempty"`
	// ImagePullPolicy defaults to Always for ":latest" or untagged images
	// and IfNotPresent otherwise.
	ImagePullPolicy PullPolicy       `json:"imagePullPolicy,omitempty"`
	SecurityContext *SecurityContext `json:"securityContext,omitempty"`
	// Stdin keeps a stdin open for attach.
	Stdin bool `json:"stdin,omitempty"`
	// TTY allocates a terminal; needs Stdin.
	TTY bool `json:"tty,omitempty"`
}

// ContainerPort is a port a container listens on.
type ContainerPort struct {
	// Name is an IANA service name, unique in the pod, that Services can
	// target.
	Name string `json:"name,omitempty"`
	// HostPort exposes the port on the node's address too.
	HostPort      int32 `json:"hostPort,omitempty"`
	ContainerPort int32 `json:"containerPort"`
	// Protocol defaults to TCP.
	Protocol Protocol `json:"protocol,omitempty"`
	// HostIP is the node address HostPort binds to.
	HostIP string `json:"hostIP,omitempty"`
}

// EnvFromSource imports every key of a ConfigMap or Secret as environment
// variables. Exactly one of ConfigMapRef and SecretRef is set.
type EnvFromSource struct {
	// Prefix is prepended to every imported name.
	Prefix       string              `json:"prefix,omitempty"`
	ConfigMapRef *ConfigMapEnvSource `json:"configMapRef,omitempty"`
	SecretRef    *SecretEnvSource    `json:"secretRef,omitempty"`
}

// ConfigMapEnvSource names a ConfigMap to import into the environment.
type ConfigMapEnvSource struct {
	LocalObjectReference `json:",inline"`
	// Optional lets the container start when the ConfigMap is missing.
	Optional *bool `json:"optional,omitempty"`
}

// SecretEnvSource names a Secret to import into the environment.
type SecretEnvSource struct {
	LocalObjectReference `json:",inline"`
	// Optional lets the container start when the Secret is missing.
	Optional *bool `json:"optional,omitempty"`
}

// EnvVar is one environment variable: a literal Value, or ValueFrom.
type EnvVar struct {
	Name string `json:"name"`
	// Value may reference earlier variables as $(VAR).
	Value     string        `json:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// EnvVarSource is where an environment variable's value comes from.
// Exactly one field is set.
type EnvVarSource struct {
	// FieldRef reads a field of the pod (downward API).
	FieldRef *ObjectFieldSelector `json:"fieldRef,omitempty"`
	// ResourceFieldRef reads a container's resource request or limit.
	ResourceFieldRef *ResourceFieldSelector `json:"resourceFieldRef,omitempty"`
	// ConfigMapKeyRef reads one key of a ConfigMap.
	ConfigMapKeyRef *ConfigMapKeySelector `json:"configMapKeyRef,omitempty"`
	// SecretKeyRef reads one key of a Secret.
	SecretKeyRef *SecretKeySelector `json:"secretKeyRef,omitempty"`
}

// ObjectFieldSelector selects a field of the pod, such as
// "metadata.name" or "status.podIP".
type ObjectFieldSelector struct {
	// APIVersion the path is written in. Default "v1".
	APIVersion string `json:"apiVersion,omitempty"`
	FieldPath  string `json:"fieldPath"`
}

// ResourceFieldSelector selects a container's resource request or limit,
// such as "limits.cpu".
type ResourceFieldSelector struct {
	// ContainerName is required in volumes and optional (this container)
	// in env.
	ContainerName string `json:"containerName,omitempty"`
	Resource      string `json:"resource"`
	// Divisor scales the value: with divisor "1m", a CPU limit of 0.5 is
	// reported as 500. Default "1".
	Divisor resource.Quantity `json:"divisor,omitzero"`
}

// ConfigMapKeySelector selects one key of a ConfigMap.
type ConfigMapKeySelector struct {
	LocalObjectReference `json:",inline"`
	Key                  string `json:"key"`
	// Optional lets the container start when the ConfigMap or key is
	// missing.
	Optional *bool `json:"optional,omitempty"`
}

// SecretKeySelector selects one key of a Secret.
type SecretKeySelector struct {
	LocalObjectReference `json:",inline"`
	Key                  string `json:"key"`
	// Optional lets the container start when the Secret or key is missing.
	Optional *bool `json:"optional,omitempty"`
}

// ResourceRequirements are a container's resource requests and limits.
type ResourceRequirements struct {
	// Limits cap what the container may use.
	Limits ResourceList `json:"limits,omitempty"`
	// Requests are what the scheduler reserves. A missing request
	// defaults to the limit.
	Requests ResourceList `json:"requests,omitempty"`
}

// VolumeMount mounts a pod volume into a container.
type VolumeMount struct {
	// Name of the pod volume.
	Name     string `json:"name"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	// MountPath is where it appears in the container; no ":".
	MountPath string `json:"mountPath"`
	// SubPath mounts this path inside the volume instead of its root.
	SubPath string `json:"subPath,omitempty"`
}

// Probe is a periodic check of a container's health.
type Probe struct {
	ProbeHandler `json:",inline"`
	// InitialDelaySeconds waits after the container starts before the
	// first probe. Default 0.
	InitialDelaySeconds int32 `json:"initialDelaySeconds,omitempty"`
	// TimeoutSeconds bounds each probe. Default 1.
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
	// PeriodSeconds is the interval between probes. Default 10.
	PeriodSeconds int32 `json:"periodSeconds,omitempty"`
	// SuccessThreshold is the consecutive successes that count as passing
	// after a failure. Default 1, and must be 1 for liveness and startup.
	SuccessThreshold int32 `json:"successThreshold,omitempty"`
	// FailureThreshold is the consecutive failures that count as failing.
	// Default 3.
	FailureThreshold int32 `json:"failureThreshold,omitempty"`
	// TerminationGracePeriodSeconds overrides the pod's grace period when
	// a failed liveness or startup probe kills the container.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
}

// ProbeHandler is the check a probe runs. Exactly one field is set.
type ProbeHandler struct {
	Exec      *ExecAction      `json:"exec,omitempty"`
	HTTPGet   *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`
}

// ExecAction runs a command in the container; exit status 0 is success.
type ExecAction struct {
	// Command is run directly, not in a shell.
	Command []string `json:"command,omitempty"`
}

// HTTPGetAction makes an HTTP GET; a status of 200 to 399 is success.
type HTTPGetAction struct {
	Path string `json:"path,omitempty"`
	// Port is a number or the name of a container port.
	Port IntOrString `json:"port"`
	// Host defaults to the pod IP.
	Host string `json:"host,omitempty"`
	// Scheme defaults to HTTP.
	Scheme      URIScheme    `json:"scheme,omitempty"`
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

// URIScheme is the scheme of an HTTPGetAction.
type URIScheme string

// The URI schemes.
const (
	URISchemeHTTP  URIScheme = "HTTP"
	URISchemeHTTPS URIScheme = "HTTPS"
)

// HTTPHeader is a header of an HTTPGetAction.
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TCPSocketAction opens a TCP connection; connecting is success.
type TCPSocketAction struct {
	// Port is a number or the name of a container port.
	Port IntOrString `json:"port"`
	// Host defaults to the pod IP.
	Host string `json:"host,omitempty"`
}

// Lifecycle holds actions the kubelet runs at container start and stop.
type Lifecycle struct {
	// PostStart runs right after the container is created; if it fails,
	// the container is killed.
	PostStart *LifecycleHandler `json:"postStart,omitempty"`
	// PreStop runs before the stop signal, within the grace period.
	PreStop *LifecycleHandler `json:"preStop,omitempty"`
}

// LifecycleHandler is a lifecycle action. Exactly one field is set.
type LifecycleHandler struct {
	Exec      *ExecAction      `json:"exec,omitempty"`
	HTTPGet   *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`
	Sleep     *SleepAction     `json:"sleep,omitempty"`
}

// SleepAction pauses for a while.
type SleepAction struct {
	Seconds int64 `json:"seconds"`
}

// TerminationMessagePolicy says where a container's termination message
// comes from.
type TerminationMessagePolicy string

// The termination message policies.
const (
	// TerminationMessageReadFile reads TerminationMessagePath.
	TerminationMessageReadFile TerminationMessagePolicy = "File"
	// TerminationMessageFallbackToLogsOnError uses the end of the log when
	// the file is empty and the container failed.
	TerminationMessageFallbackToLogsOnError TerminationMessagePolicy = "FallbackToLogsOnError"
)

// PullPolicy says when the kubelet pulls a container's image.
type PullPolicy string

// The image pull policies.
const (
	PullAlways       PullPolicy = "Always"
	PullIfNotPresent PullPolicy = "IfNotPresent"
	PullNever        PullPolicy = "Never"
)

// SecurityContext holds a container's security settings; set fields
// override the pod's PodSecurityContext.
type SecurityContext struct {
	// Capabilities to add to and drop from the runtime's default set.
	Capabilities *Capabilities `json:"capabilities,omitempty"`
	// Privileged gives the container all capabilities and devices.
	// Default false.
	Privileged   *bool  `json:"privileged,omitempty"`
	RunAsUser    *int64 `json:"runAsUser,omitempty"`
	RunAsGroup   *int64 `json:"runAsGroup,omitempty"`
	RunAsNonRoot *bool  `json:"runAsNonRoot,omitempty"`
	// ReadOnlyRootFilesystem mounts the image read-only. Default false.
	ReadOnlyRootFilesystem *bool `json:"readOnlyRootFilesystem,omitempty"`
	// AllowPrivilegeEscalation sets no_new_privs when false. Default true
	// (always true when Privileged or with CAP_SYS_ADMIN).
	AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation,omitempty"`
}

// Capabilities adjust a container's Linux capabilities.
type Capabilities struct {
	Add  []Capability `json:"add,omitempty"`
	Drop []Capability `json:"drop,omitempty"`
}

// Capability is a Linux capability without the CAP_ prefix, such as
// "NET_ADMIN", or "ALL" in Drop.
type Capability string

// Volume is a named volume of a pod.
type Volume struct {
	// Name is unique in the pod; VolumeMounts refer to it.
	Name         string `json:"name"`
	VolumeSource `json:",inline"`
}

// VolumeSource is where a volume's content comes from. Exactly one field
// is set.
type VolumeSource struct {
	HostPath    *HostPathVolumeSource    `json:"hostPath,omitempty"`
	EmptyDir    *EmptyDirVolumeSource    `json:"emptyDir,omitempty"`
	Secret      *SecretVolumeSource      `json:"secret,omitempty"`
	ConfigMap   *ConfigMapVolumeSource   `json:"configMap,omitempty"`
	DownwardAPI *DownwardAPIVolumeSource `json:"downwardAPI,omitempty"`
	Projected   *ProjectedVolumeSource   `json:"projected,omitempty"`
}

// EmptyDirVolumeSource is a scratch directory that lives as long as the
// pod.
type EmptyDirVolumeSource struct {
	// Medium is "" for node storage or "Memory" for tmpfs.
	Medium StorageMedium `json:"medium,omitempty"`
	// SizeLimit caps the volume; nil means no limit.
	SizeLimit *resource.Quantity `json:"sizeLimit,omitempty"`
}

// StorageMedium is what backs an emptyDir volume.
type StorageMedium string

// The storage media.
const (
	StorageMediumDefault StorageMedium = ""
	StorageMediumMemory  StorageMedium = "Memory"
)

// HostPathVolumeSource mounts a path of the node.
type HostPathVolumeSource struct {
	Path string `json:"path"`
	// Type checks (and for the ...OrCreate types, creates) what is at
	// Path. Nil or "" means no check.
	Type *HostPathType `json:"type,omitempty"`
}

// HostPathType is what a hostPath volume expects at its path.
type HostPathType string

// The host path types.
const (
	HostPathUnset             HostPathType = ""
	HostPathDirectoryOrCreate HostPathType = "DirectoryOrCreate"
	HostPathDirectory         HostPathType = "Directory"
	HostPathFileOrCreate      HostPathType = "FileOrCreate"
	HostPathFile              HostPathType = "File"
	HostPathSocket            HostPathType = "Socket"
	HostPathCharDev           HostPathType = "CharDevice"
	HostPathBlockDev          HostPathType = "BlockDevice"
)

// ConfigMapVolumeSource projects a ConfigMap's keys as files.
type ConfigMapVolumeSource struct {
	LocalObjectReference `json:",inline"`
	// Items selects keys and their file paths; empty projects every key
	// as a file of its own name.
	Items []KeyToPath `json:"items,omitempty"`
	// DefaultMode is the files' permission bits. Default 0644.
	DefaultMode *int32 `json:"defaultMode,omitempty"`
	// Optional lets the pod start when the ConfigMap is missing.
	Optional *bool `json:"optional,omitempty"`
}

// SecretVolumeSource projects a Secret's keys as files.
type SecretVolumeSource struct {
	SecretName string `json:"secretName,omitempty"`
	// Items selects keys and their file paths; empty projects every key.
	Items []KeyToPath `json:"items,omitempty"`
	// DefaultMode is the files' permission bits. Default 0644.
	DefaultMode *int32 `json:"defaultMode,omitempty"`
	// Optional lets the pod start when the Secret is missing.
	Optional *bool `json:"optional,omitempty"`
}

// KeyToPath maps a key to a file path within a volume.
type KeyToPath struct {
	Key string `json:"key"`
	// Path is relative, without "..".
	Path string `json:"path"`
	// Mode overrides the volume's DefaultMode for this file.
	Mode *int32 `json:"mode,omitempty"`
}

// ProjectedVolumeSource merges several sources into one directory.
type ProjectedVolumeSource struct {
	Sources []VolumeProjection `json:"sources"`
	// DefaultMode is the files' permission bits. Default 0644.
	DefaultMode *int32 `json:"defaultMode,omitempty"`
}

// VolumeProjection is one source of a projected volume. Exactly one field
// is set.
type VolumeProjection struct {
	Secret              *SecretProjection              `json:"secret,omitempty"`
	DownwardAPI         *DownwardAPIProjection         `json:"downwardAPI,omitempty"`
	ConfigMap           *ConfigMapProjection           `json:"configMap,omitempty"`
	ServiceAccountToken *ServiceAccountTokenProjection `json:"serviceAccountToken,omitempty"`
}

// SecretProjection projects a Secret's keys into a projected volume.
type SecretProjection struct {
	LocalObjectReference `json:",inline"`
	Items                []KeyToPath `json:"items,omitempty"`
	Optional             *bool       `json:"optional,omitempty"`
}

// ConfigMapProjection projects a ConfigMap's keys into a projected volume.
type ConfigMapProjection struct {
	LocalObjectReference `json:",inline"`
	Items                []KeyToPath `json:"items,omitempty"`
	Optional             *bool       `json:"optional,omitempty"`
}

// DownwardAPIProjection projects pod fields into a projected volume.
type DownwardAPIProjection struct {
	Items []DownwardAPIVolumeFile `json:"items,omitempty"`
}

// ServiceAccountTokenProjection projects a token of the pod's service
// account, which the kubelet refreshes before it expires.
type ServiceAccountTokenProjection struct {
	// Audience the token is for. Default: the API server's.
	Audience string `json:"audience,omitempty"`
	// ExpirationSeconds is the requested lifetime. Default 3600; at least
	// 600.
	ExpirationSeconds *int64 `json:"expirationSeconds,omitempty"`
	// Path is the token's file path within the volume.
	Path string `json:"path"`
}

// DownwardAPIVolumeSource projects pod fields as files.
type DownwardAPIVolumeSource struct {
	Items []DownwardAPIVolumeFile `json:"items,omitempty"`
	// DefaultMode is the files' permission bits. Default 0644.
	DefaultMode *int32 `json:"defaultMode,omitempty"`
}

// DownwardAPIVolumeFile is one file of pod information. Exactly one of
// FieldRef and ResourceFieldRef is set.
type DownwardAPIVolumeFile struct {
	// Path is relative, without "..".
	Path             string                 `json:"path"`
	FieldRef         *ObjectFieldSelector   `json:"fieldRef,omitempty"`
	ResourceFieldRef *ResourceFieldSelector `json:"resourceFieldRef,omitempty"`
	// Mode overrides the volume's DefaultMode for this file.
	Mode *int32 `json:"mode,omitempty"`
}

// PodStatus is the observed state of a Pod, written by the scheduler and
// the kubelet.
type PodStatus struct {
	Phase      PodPhase       `json:"phase,omitempty"`
	Conditions []PodCondition `json:"conditions,omitempty"`
	// Message says why the pod is in its state.
	Message string `json:"message,omitempty"`
	// Reason is a CamelCase word for why, such as "Evicted".
	Reason string `json:"reason,omitempty"`
	// NominatedNodeName is the node a preempting pod expects to run on
	// once its victims are gone.
	NominatedNodeName string `json:"nominatedNodeName,omitempty"`
	// HostIP is the primary IP of the pod's node.
	HostIP string `json:"hostIP,omitempty"`
	// HostIPs are the node's IPs, one per family; the first is HostIP.
	HostIPs []HostIP `json:"hostIPs,omitempty"`
	// PodIP is the primary IP of the pod.
	PodIP string `json:"podIP,omitempty"`
	// PodIPs are the pod's IPs, one per family; the first is PodIP.
	PodIPs []PodIP `json:"podIPs,omitempty"`
	// StartTime is when the kubelet accepted the pod, before images were
	// pulled.
	StartTime             *Time             `json:"startTime,omitempty"`
	InitContainerStatuses []ContainerStatus `json:"initContainerStatuses,omitempty"`
	ContainerStatuses     []ContainerStatus `json:"containerStatuses,omitempty"`
	// QOSClass follows from the containers' requests and limits.
	QOSClass PodQOSClass `json:"qosClass,omitempty"`
}

// PodPhase is the summary of where a pod is in its lifecycle.
type PodPhase string

// The pod phases.
const (
	// PodPending: accepted, but not every container is running yet
	// (scheduling, pulling images, init containers).
	PodPending PodPhase = "Pending"
	// PodRunning: bound, all containers created, at least one running.
	PodRunning PodPhase = "Running"
	// PodSucceeded: all containers exited 0 and will not restart.
	PodSucceeded PodPhase = "Succeeded"
	// PodFailed: all containers exited, at least one in failure.
	PodFailed PodPhase = "Failed"
	// PodUnknown: the pod's node cannot be reached.
	PodUnknown PodPhase = "Unknown"
)

// PodConditionType is the type of a PodCondition.
type PodConditionType string

// The pod condition types.
const (
	// PodScheduled is True once the pod is bound to a node.
	PodScheduled PodConditionType = "PodScheduled"
	// PodInitialized is True once every init container has succeeded.
	PodInitialized PodConditionType = "Initialized"
	// ContainersReady is True when every container is ready.
	ContainersReady PodConditionType = "ContainersReady"
	// PodReady is True when the pod can serve traffic: its containers and
	// readiness gates are ready.
	PodReady PodConditionType = "Ready"
)

// PodCondition is one observation about a pod.
type PodCondition struct {
	Type   PodConditionType `json:"type"`
	Status ConditionStatus  `json:"status"`
	// LastProbeTime is when the condition was last checked.
	LastProbeTime Time `json:"lastProbeTime,omitzero"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime Time   `json:"lastTransitionTime,omitzero"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
}

// HostIP is an IP of a pod's node.
type HostIP struct {
	IP string `json:"ip"`
}

// PodIP is an IP of a pod.
type PodIP struct {
	IP string `json:"ip"`
}

// PodQOSClass is a pod's quality-of-service class, which orders eviction
// under node pressure.
type PodQOSClass string

// The QoS classes.
const (
	// PodQOSGuaranteed: every container has equal CPU and memory requests
	// and limits.
	PodQOSGuaranteed PodQOSClass = "Guaranteed"
	// PodQOSBurstable: some requests or limits, but not Guaranteed.
	PodQOSBurstable PodQOSClass = "Burstable"
	// PodQOSBestEffort: no requests or limits at all.
	PodQOSBestEffort PodQOSClass = "BestEffort"
)

// ContainerStatus is the observed state of one container.
type ContainerStatus struct {
	Name  string         `json:"name"`
	State ContainerState `json:"state,omitzero"`
	// LastTerminationState is the state the previous run ended in.
	LastTerminationState ContainerState `json:"lastState,omitzero"`
	// Ready is the outcome of the readiness probe (true without one, once
	// running).
	Ready bool `json:"ready"`
	// RestartCount counts restarts of the container.
	RestartCount int32 `json:"restartCount"`
	// Image is the image the container runs.
	Image string `json:"image"`
	// ImageID is the image's digest reference.
	ImageID string `json:"imageID"`
	// ContainerID is "<runtime>://<id>".
	ContainerID string `json:"containerID,omitempty"`
	// Started is true once the startup probe has passed (or, without one,
	// once the container runs).
	Started *bool `json:"started,omitempty"`
}

// ContainerState is the state of a container: at most one field is set,
// and none means Waiting.
type ContainerState struct {
	Waiting    *ContainerStateWaiting    `json:"waiting,omitempty"`
	Running    *ContainerStateRunning    `json:"running,omitempty"`
	Terminated *ContainerStateTerminated `json:"terminated,omitempty"`
}

// ContainerStateWaiting is a container that is not running yet.
type ContainerStateWaiting struct {
	// Reason is a CamelCase word such as "ContainerCreating" or
	// "CrashLoopBackOff".
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// ContainerStateRunning is a running container.
type ContainerStateRunning struct {
	StartedAt Time `json:"startedAt,omitzero"`
}

// ContainerStateTerminated is an exited container.
type ContainerStateTerminated struct {
	ExitCode int32 `json:"exitCode"`
	// Signal is the signal that killed the container, if any.
	Signal int32 `json:"signal,omitempty"`
	// Reason is a CamelCase word such as "Completed", "Error" or
	// "OOMKilled".
	Reason      string `json:"reason,omitempty"`
	Message     string `json:"message,omitempty"`
	StartedAt   Time   `json:"startedAt,omitzero"`
	FinishedAt  Time   `json:"finishedAt,omitzero"`
	ContainerID string `json:"containerID,omitempty"`
}

// ---------------------------------------------------------------------------
// Service

// Service gives a set of pods, chosen by a selector, one stable virtual IP
// and DNS name.
type Service struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       ServiceSpec   `json:"spec,omitzero"`
	Status     ServiceStatus `json:"status,omitzero"`
}

// ServiceList is a list of Services.
type ServiceList = List[Service]

// ClusterIPNone as a Service's ClusterIP makes it headless: DNS returns the
// pods' IPs and there is no virtual IP.
const ClusterIPNone = "None"

// ServiceSpec is the desired state of a Service.
type ServiceSpec struct {
	Ports []ServicePort `json:"ports,omitempty"`
	// Selector picks the pods traffic goes to. Empty means the Endpoints
	// are managed by someone else.
	Selector map[string]string `json:"selector,omitempty"`
	// ClusterIP is the virtual IP, allocated unless set; "None" makes a
	// headless service. Immutable.
	ClusterIP string `json:"clusterIP,omitempty"`
	// ClusterIPs are the virtual IPs, one per family; the first is
	// ClusterIP.
	ClusterIPs []string `json:"clusterIPs,omitempty"`
	// Type defaults to ClusterIP.
	Type ServiceType `json:"type,omitempty"`
	// ExternalIPs are extra node-routed IPs the service also accepts
	// traffic on.
	ExternalIPs []string `json:"externalIPs,omitempty"`
	// SessionAffinity defaults to None.
	SessionAffinity ServiceAffinity `json:"sessionAffinity,omitempty"`
	// LoadBalancerIP asks the load balancer for an IP (deprecated).
	LoadBalancerIP string `json:"loadBalancerIP,omitempty"`
	// ExternalName is the DNS name an ExternalName service is a CNAME for.
	ExternalName string `json:"externalName,omitempty"`
	// ExternalTrafficPolicy routes external traffic to all endpoints
	// (Cluster, the default) or only to the receiving node's (Local).
	ExternalTrafficPolicy ServiceExternalTrafficPolicy `json:"externalTrafficPolicy,omitempty"`
	// PublishNotReadyAddresses includes unready pods in DNS and
	// Endpoints.
	PublishNotReadyAddresses bool `json:"publishNotReadyAddresses,omitempty"`
	// IPFamilies are the families of ClusterIPs, in order.
	IPFamilies []IPFamily `json:"ipFamilies,omitempty"`
	// IPFamilyPolicy defaults to SingleStack.
	IPFamilyPolicy *IPFamilyPolicy `json:"ipFamilyPolicy,omitempty"`
	// InternalTrafficPolicy routes in-cluster traffic to all endpoints
	// (Cluster, the default) or only to the sending node's (Local).
	InternalTrafficPolicy *ServiceInternalTrafficPolicy `json:"internalTrafficPolicy,omitempty"`
}

// ServicePort is a port a Service exposes.
type ServicePort struct {
	// Name is required when there is more than one port.
	Name string `json:"name,omitempty"`
	// Protocol defaults to TCP.
	Protocol Protocol `json:"protocol,omitempty"`
	// AppProtocol is the application protocol, such as "http" or
	// "kubernetes.io/h2c".
	AppProtocol *string `json:"appProtocol,omitempty"`
	// Port is the port on the service's IPs.
	Port int32 `json:"port"`
	// TargetPort is the pods' port, a number or a container port name.
	// Default: Port.
	TargetPort IntOrString `json:"targetPort,omitzero"`
	// NodePort is the port on every node for NodePort and LoadBalancer
	// services; allocated unless set.
	NodePort int32 `json:"nodePort,omitempty"`
}

// ServiceType is how a Service is exposed.
type ServiceType string

// The service types.
const (
	// ServiceTypeClusterIP exposes the service on a cluster-internal IP.
	ServiceTypeClusterIP ServiceType = "ClusterIP"
	// ServiceTypeNodePort also exposes it on a port of every node.
	ServiceTypeNodePort ServiceType = "NodePort"
	// ServiceTypeLoadBalancer also asks for an external load balancer.
	ServiceTypeLoadBalancer ServiceType = "LoadBalancer"
	// ServiceTypeExternalName is only a DNS CNAME to ExternalName.
	ServiceTypeExternalName ServiceType = "ExternalName"
)

// ServiceAffinity is a Service's session affinity.
type ServiceAffinity string

// The session affinities.
const (
	// ServiceAffinityNone balances each connection independently.
	ServiceAffinityNone ServiceAffinity = "None"
	// ServiceAffinityClientIP sends a client IP to the same endpoint.
	ServiceAffinityClientIP ServiceAffinity = "ClientIP"
)

// ServiceExternalTrafficPolicy routes traffic arriving from outside the
// cluster.
type ServiceExternalTrafficPolicy string

// The external traffic policies.
const (
	ServiceExternalTrafficPolicyCluster ServiceExternalTrafficPolicy = "Cluster"
	ServiceExternalTrafficPolicyLocal   ServiceExternalTrafficPolicy = "Local"
)

// ServiceInternalTrafficPolicy routes traffic from inside the cluster.
type ServiceInternalTrafficPolicy string

// The internal traffic policies.
const (
	ServiceInternalTrafficPolicyCluster ServiceInternalTrafficPolicy = "Cluster"
	ServiceInternalTrafficPolicyLocal   ServiceInternalTrafficPolicy = "Local"
)

// IPFamily is an IP address family.
type IPFamily string

// The IP families.
const (
	IPv4Protocol IPFamily = "IPv4"
	IPv6Protocol IPFamily = "IPv6"
)

// IPFamilyPolicy says how many IP families a Service gets.
type IPFamilyPolicy string

// The IP family policies.
const (
	IPFamilyPolicySingleStack      IPFamilyPolicy = "SingleStack"
	IPFamilyPolicyPreferDualStack  IPFamilyPolicy = "PreferDualStack"
	IPFamilyPolicyRequireDualStack IPFamilyPolicy = "RequireDualStack"
)

// ServiceStatus is the observed state of a Service.
type ServiceStatus struct {
	// LoadBalancer is the load balancer of a LoadBalancer service.
	LoadBalancer LoadBalancerStatus `json:"loadBalancer,omitzero"`
}

// LoadBalancerStatus lists a load balancer's ingress points.
type LoadBalancerStatus struct {
	Ingress []LoadBalancerIngress `json:"ingress,omitempty"`
}

// LoadBalancerIngress is one ingress point of a load balancer: an IP or a
// hostname.
type LoadBalancerIngress struct {
	IP       string `json:"ip,omitempty"`
	Hostname string `json:"hostname,omitempty"`
}

// ---------------------------------------------------------------------------
// Endpoints

// Endpoints lists the addresses behind a Service; it has the Service's
// name. The endpoints controller writes it for services with a selector.
type Endpoints struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	// Subsets group addresses by the ports they share.
	Subsets []EndpointSubset `json:"subsets,omitempty"`
}

// EndpointsList is a list of Endpoints.
type EndpointsList = List[Endpoints]

// EndpointSubset is a set of addresses that all serve the same ports.
type EndpointSubset struct {
	// Addresses are ready to serve.
	Addresses []EndpointAddress `json:"addresses,omitempty"`
	// NotReadyAddresses are not ready yet, or have failed a readiness
	// probe.
	NotReadyAddresses []EndpointAddress `json:"notReadyAddresses,omitempty"`
	Ports             []EndpointPort    `json:"ports,omitempty"`
}

// EndpointAddress is one endpoint, usually a pod.
type EndpointAddress struct {
	IP       string `json:"ip"`
	Hostname string `json:"hostname,omitempty"`
	// NodeName is the node the endpoint runs on.
	NodeName *string `json:"nodeName,omitempty"`
	// TargetRef is the object behind the endpoint, usually a Pod.
	TargetRef *ObjectReference `json:"targetRef,omitempty"`
}

// EndpointPort is a port the endpoints of a subset serve.
type EndpointPort struct {
	// Name matches the Service port's name.
	Name string `json:"name,omitempty"`
	Port int32  `json:"port"`
	// Protocol defaults to TCP.
	Protocol    Protocol `json:"protocol,omitempty"`
	AppProtocol *string  `json:"appProtocol,omitempty"`
}

// ---------------------------------------------------------------------------
// ConfigMap, Secret, ServiceAccount

// ConfigMap holds non-secret configuration for pods to consume as
// environment variables or files.
type ConfigMap struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	// Immutable forbids changes to Data and BinaryData once set to true.
	Immutable *bool `json:"immutable,omitempty"`
	// Data holds UTF-8 values.
	Data map[string]string `json:"data,omitempty"`
	// BinaryData holds other values, base64 on the wire. Its keys must not
	// also be in Data.
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

// ConfigMapList is a list of ConfigMaps.
type ConfigMapList = List[ConfigMap]

// Secret holds sensitive data, such as passwords, tokens and keys.
type Secret struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	// Immutable forbids changes to Data once set to true.
	Immutable *bool `json:"immutable,omitempty"`
	// Data holds the values, base64 on the wire.
	Data map[string][]byte `json:"data,omitempty"`
	// StringData is write-only input: its entries are merged into Data on
	// write, winning over it, and it is never returned.
	StringData map[string]string `json:"stringData,omitempty"`
	// Type says which keys Data must have. Default Opaque.
	Type SecretType `json:"type,omitempty"`
}

// SecretList is a list of Secrets.
type SecretList = List[Secret]

// SecretType says what a Secret holds and which keys it must have.
type SecretType string

// The secret types.
const (
	// SecretTypeOpaque is arbitrary data.
	SecretTypeOpaque SecretType = "Opaque"
	// SecretTypeServiceAccountToken is a service account's API token.
	SecretTypeServiceAccountToken SecretType = "kubernetes.io/service-account-token"
	// SecretTypeDockercfg holds a ~/.dockercfg file under ".dockercfg".
	SecretTypeDockercfg SecretType = "kubernetes.io/dockercfg"
	// SecretTypeDockerConfigJSON holds a ~/.docker/config.json file under
	// ".dockerconfigjson".
	SecretTypeDockerConfigJSON SecretType = "kubernetes.io/dockerconfigjson"
	// SecretTypeBasicAuth holds "username" and "password".
	SecretTypeBasicAuth SecretType = "kubernetes.io/basic-auth"
	// SecretTypeSSHAuth holds "ssh-privatekey".
	SecretTypeSSHAuth SecretType = "kubernetes.io/ssh-auth"
	// SecretTypeTLS holds "tls.crt" and "tls.key".
	SecretTypeTLS SecretType = "kubernetes.io/tls"
	// SecretTypeBootstrapToken is a bootstrap token.
	SecretTypeBootstrapToken SecretType = "bootstrap.kubernetes.io/token"
)

// ServiceAccount is an identity for processes in pods.
type ServiceAccount struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	// Secrets are the Secrets pods of this account may use (legacy token
	// secrets).
	Secrets []ObjectReference `json:"secrets,omitempty"`
	// ImagePullSecrets are added to the pods that use this account.
	ImagePullSecrets []LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// AutomountServiceAccountToken says whether pods get an API token
	// mounted; a pod's own setting wins. Nil means true.
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken,omitempty"`
}

// ServiceAccountList is a list of ServiceAccounts.
type ServiceAccountList = List[ServiceAccount]

// ---------------------------------------------------------------------------
// Event

// Event reports something that happened to an object, such as a pod
// being scheduled or an image failing to pull. Events are short-lived.
type Event struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	// InvolvedObject is the object the event is about.
	InvolvedObject ObjectReference `json:"involvedObject"`
	// Reason is a short CamelCase word, such as "Scheduled" or
	// "BackOff".
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Source is the component (and host) that reported the event.
	Source EventSource `json:"source,omitzero"`
	// FirstTimestamp is when the event was first recorded.
	FirstTimestamp Time `json:"firstTimestamp,omitzero"`
	// LastTimestamp is when it was most recently recorded.
	LastTimestamp Time `json:"lastTimestamp,omitzero"`
	// Count is how many times it was recorded.
	Count int32 `json:"count,omitempty"`
	// Type is Normal or Warning.
	Type EventType `json:"type,omitempty"`
	// EventTime is when the event was first observed, with microseconds.
	EventTime MicroTime `json:"eventTime,omitzero"`
	// Series summarises a repeating event.
	Series *EventSeries `json:"series,omitempty"`
	// Action is what was done, or failed, such as "Binding".
	Action string `json:"action,omitempty"`
	// Related is a second object involved, such as the node a pod was
	// bound to.
	Related *ObjectReference `json:"related,omitempty"`
	// ReportingController names the reporting controller, such as
	// "drover.io/kubelet"; "reportingComponent" on the wire.
	ReportingController string `json:"reportingComponent"`
	// ReportingInstance identifies the controller instance, such as
	// "kubelet-node1".
	ReportingInstance string `json:"reportingInstance"`
}

// EventList is a list of Events.
type EventList = List[Event]

// EventType is the severity of an Event.
type EventType string

// The event types.
const (
	EventTypeNormal  EventType = "Normal"
	EventTypeWarning EventType = "Warning"
)

// EventSource is the reporter of an Event.
type EventSource struct {
	Component string `json:"component,omitempty"`
	Host      string `json:"host,omitempty"`
}

// EventSeries summarises an event that keeps happening.
type EventSeries struct {
	// Count is how many times it has happened.
	Count int32 `json:"count,omitempty"`
	// LastObservedTime is when it last happened.
	LastObservedTime MicroTime `json:"lastObservedTime,omitzero"`
}
