package api

// This file holds the apps/v1 kinds: Deployment, ReplicaSet and DaemonSet.

// ---------------------------------------------------------------------------
// Deployment

// Deployment keeps a number of replicas of a pod template running, and
// rolls out changes to the template through ReplicaSets.
type Deployment struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       DeploymentSpec   `json:"spec,omitzero"`
	Status     DeploymentStatus `json:"status,omitzero"`
}

// DeploymentList is a list of Deployments.
type DeploymentList = List[Deployment]

// DeploymentSpec is the desired state of a Deployment.
type DeploymentSpec struct {
	// Replicas is the desired number of pods. Nil means 1.
	Replicas *int32 `json:"replicas,omitempty"`
	// Selector picks the pods the Deployment owns; it must match the
	// template's labels. Immutable.
	Selector *LabelSelector `json:"selector"`
	// Template is the pod to run.
	Template PodTemplateSpec `json:"template"`
	// Strategy is how old pods are replaced by new ones.
	Strategy DeploymentStrategy `json:"strategy,omitzero"`
	// MinReadySeconds is how long a new pod must be ready, with no
	// container crashing, to count as available. Default 0.
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// RevisionHistoryLimit is how many old ReplicaSets are kept for
	// rollback. Nil means 10.
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
	// Paused stops rollouts of template changes.
	Paused bool `json:"paused,omitempty"`
	// ProgressDeadlineSeconds is how long a rollout may make no progress
	// before the Progressing condition turns False. Nil means 600.
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
}

// DeploymentStrategy is how a Deployment replaces old pods.
type DeploymentStrategy struct {
	// Type defaults to RollingUpdate.
	Type DeploymentStrategyType `json:"type,omitempty"`
	// RollingUpdate tunes a RollingUpdate; only set with that type.
	RollingUpdate *RollingUpdateDeployment `json:"rollingUpdate,omitempty"`
}

// DeploymentStrategyType is a kind of deployment strategy.
type DeploymentStrategyType string

// The deployment strategies.
const (
	// RecreateDeploymentStrategyType kills all old pods before creating
	// new ones.
	RecreateDeploymentStrategyType DeploymentStrategyType = "Recreate"
	// RollingUpdateDeploymentStrategyType replaces pods gradually.
	RollingUpdateDeploymentStrategyType DeploymentStrategyType = "RollingUpdate"
)

// RollingUpdateDeployment bounds a rolling update. Values are a number of
// pods or a percentage of the desired replicas.
type RollingUpdateDeployment struct {
	// MaxUnavailable is how many desired pods may be unavailable during
	// the update; a percentage rounds down. Nil means 25%.
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty"`
	// MaxSurge is how many pods may exist above the desired count; a
	// percentage rounds up. Nil means 25%. Not both may be 0.
	MaxSurge *IntOrString `json:"maxSurge,omitempty"`
}

// DeploymentStatus is the observed state of a Deployment.
type DeploymentStatus struct {
	// ObservedGeneration is the generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Replicas counts non-terminated pods the Deployment targets.
	Replicas int32 `json:"replicas,omitempty"`
	// UpdatedReplicas counts those with the current template.
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// ReadyReplicas counts those with the Ready condition.
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// AvailableReplicas counts those ready for at least MinReadySeconds.
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// UnavailableReplicas is the desired replicas less the available
	// ones.
	UnavailableReplicas int32                 `json:"unavailableReplicas,omitempty"`
	Conditions          []DeploymentCondition `json:"conditions,omitempty"`
	// CollisionCount is bumped to change the hash that names new
	// ReplicaSets when one collides with an existing name.
	CollisionCount *int32 `json:"collisionCount,omitempty"`
}

// DeploymentConditionType is the type of a DeploymentCondition.
type DeploymentConditionType string

// The deployment condition types.
const (
	// DeploymentAvailable is True when at least the minimum number of
	// replicas (desired less maxUnavailable) is available.
	DeploymentAvailable DeploymentConditionType = "Available"
	// DeploymentProgressing is True while a rollout progresses or has
	// finished, and False once ProgressDeadlineSeconds passes without
	// progress.
	DeploymentProgressing DeploymentConditionType = "Progressing"
	// DeploymentReplicaFailure is True when pods could not be created or
	// deleted.
	DeploymentReplicaFailure DeploymentConditionType = "ReplicaFailure"
)

// DeploymentCondition is one observation about a Deployment.
type DeploymentCondition struct {
	Type   DeploymentConditionType `json:"type"`
	Status ConditionStatus         `json:"status"`
	// LastUpdateTime is when the condition was last written.
	LastUpdateTime Time `json:"lastUpdateTime,omitzero"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime Time   `json:"lastTransitionTime,omitzero"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
}

// ---------------------------------------------------------------------------
// ReplicaSet

// ReplicaSet keeps a number of pods matching its selector running.
// Deployments manage ReplicaSets; users rarely create them.
type ReplicaSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       ReplicaSetSpec   `json:"spec,omitzero"`
	Status     ReplicaSetStatus `json:"status,omitzero"`
}

// ReplicaSetList is a list of ReplicaSets.
type ReplicaSetList = List[ReplicaSet]

// ReplicaSetSpec is the desired state of a ReplicaSet.
type ReplicaSetSpec struct {
	// Replicas is the desired number of pods. Nil means 1.
	Replicas *int32 `json:"replicas,omitempty"`
	// MinReadySeconds is how long a new pod must be ready to count as
	// available. Default 0.
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// Selector picks the pods the ReplicaSet owns; it must match the
	// template's labels.
	Selector *LabelSelector `json:"selector"`
	// Template is the pod created when there are too few.
	Template PodTemplateSpec `json:"template,omitzero"`
}

// ReplicaSetStatus is the observed state of a ReplicaSet.
type ReplicaSetStatus struct {
	// Replicas counts the pods the ReplicaSet owns.
	Replicas int32 `json:"replicas"`
	// FullyLabeledReplicas counts those whose labels match the template's.
	FullyLabeledReplicas int32 `json:"fullyLabeledReplicas,omitempty"`
	// ReadyReplicas counts those with the Ready condition.
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// AvailableReplicas counts those ready for at least MinReadySeconds.
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// ObservedGeneration is the generation the status describes.
	ObservedGeneration int64                 `json:"observedGeneration,omitempty"`
	Conditions         []ReplicaSetCondition `json:"conditions,omitempty"`
}

// ReplicaSetConditionType is the type of a ReplicaSetCondition.
type ReplicaSetConditionType string

// ReplicaSetReplicaFailure is True when pods could not be created or
// deleted, for example because of a quota.
const ReplicaSetReplicaFailure ReplicaSetConditionType = "ReplicaFailure"

// ReplicaSetCondition is one observation about a ReplicaSet.
type ReplicaSetCondition struct {
	Type               ReplicaSetConditionType `json:"type"`
	Status             ConditionStatus         `json:"status"`
	LastTransitionTime Time                    `json:"lastTransitionTime,omitzero"`
	Reason             string                  `json:"reason,omitempty"`
	Message            string                  `json:"message,omitempty"`
}

// ---------------------------------------------------------------------------
// DaemonSet

// DaemonSet runs one copy of a pod on every node that matches its template's
// node constraints.
type DaemonSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       DaemonSetSpec   `json:"spec,omitzero"`
	Status     DaemonSetStatus `json:"status,omitzero"`
}

// DaemonSetList is a list of DaemonSets.
type DaemonSetList = List[DaemonSet]

// DaemonSetSpec is the desired state of a DaemonSet.
type DaemonSetSpec struct {
	// Selector picks the pods the DaemonSet owns; it must match the
	// template's labels. Immutable.
	Selector *LabelSelector `json:"selector"`
	// Template is the pod to run on each node.
	Template PodTemplateSpec `json:"template"`
	// UpdateStrategy is how pods are replaced when the template changes.
	UpdateStrategy DaemonSetUpdateStrategy `json:"updateStrategy,omitzero"`
	// MinReadySeconds is how long a new pod must be ready to count as
	// available. Default 0.
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// RevisionHistoryLimit is how many old revisions are kept for
	// rollback. Nil means 10.
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
}

// DaemonSetUpdateStrategy is how a DaemonSet replaces its pods.
type DaemonSetUpdateStrategy struct {
	// Type defaults to RollingUpdate.
	Type DaemonSetUpdateStrategyType `json:"type,omitempty"`
	// RollingUpdate tunes a RollingUpdate; only set with that type.
	RollingUpdate *RollingUpdateDaemonSet `json:"rollingUpdate,omitempty"`
}

// DaemonSetUpdateStrategyType is a kind of DaemonSet update strategy.
type DaemonSetUpdateStrategyType string

// The DaemonSet update strategies.
const (
	// RollingUpdateDaemonSetStrategyType replaces pods node by node.
	RollingUpdateDaemonSetStrategyType DaemonSetUpdateStrategyType = "RollingUpdate"
	// OnDeleteDaemonSetStrategyType replaces a pod only once it is
	// deleted by someone else.
	OnDeleteDaemonSetStrategyType DaemonSetUpdateStrategyType = "OnDelete"
)

// RollingUpdateDaemonSet bounds a DaemonSet rolling update. Values are a
// number of nodes or a percentage of the desired ones.
type RollingUpdateDaemonSet struct {
	// MaxUnavailable is how many nodes may lack an available pod during
	// the update; a percentage rounds up. Nil means 1.
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty"`
	// MaxSurge is how many nodes may run an old and a new pod at once; a
	// percentage rounds up. Nil means 0. Not both may be 0.
	MaxSurge *IntOrString `json:"maxSurge,omitempty"`
}

// DaemonSetStatus is the observed state of a DaemonSet.
type DaemonSetStatus struct {
	// CurrentNumberScheduled counts nodes that run a daemon pod and
	// should.
	CurrentNumberScheduled int32 `json:"currentNumberScheduled"`
	// NumberMisscheduled counts nodes that run a daemon pod but should
	// not.
	NumberMisscheduled int32 `json:"numberMisscheduled"`
	// DesiredNumberScheduled counts nodes that should run a daemon pod.
	DesiredNumberScheduled int32 `json:"desiredNumberScheduled"`
	// NumberReady counts nodes whose daemon pod is Ready.
	NumberReady int32 `json:"numberReady"`
	// ObservedGeneration is the generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// UpdatedNumberScheduled counts nodes that run the current template.
	UpdatedNumberScheduled int32 `json:"updatedNumberScheduled,omitempty"`
	// NumberAvailable counts nodes whose daemon pod has been ready for at
	// least MinReadySeconds.
	NumberAvailable int32 `json:"numberAvailable,omitempty"`
	// NumberUnavailable counts nodes that should have an available daemon
	// pod and do not.
	NumberUnavailable int32 `json:"numberUnavailable,omitempty"`
	// CollisionCount is bumped to change the hash that names new
	// revisions when one collides.
	CollisionCount *int32               `json:"collisionCount,omitempty"`
	Conditions     []DaemonSetCondition `json:"conditions,omitempty"`
}

// DaemonSetConditionType is the type of a DaemonSetCondition. Kubernetes
// defines none of its own.
type DaemonSetConditionType string

// DaemonSetCondition is one observation about a DaemonSet.
type DaemonSetCondition struct {
	Type               DaemonSetConditionType `json:"type"`
	Status             ConditionStatus        `json:"status"`
	LastTransitionTime Time                   `json:"lastTransitionTime,omitzero"`
	Reason             string                 `json:"reason,omitempty"`
	Message            string                 `json:"message,omitempty"`
}
