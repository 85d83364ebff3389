package api

// This file holds the bodies of subresources: autoscaling/v1 Scale (the
// scale subresource of Deployments and ReplicaSets), v1 Binding
// (pods/binding) and policy/v1 Eviction (pods/eviction). They are not
// stored kinds: the scheme does not register them and the API server builds
// or decodes them itself, so they have no registry, no list and no
// resource of their own.

// Groups and versions of the subresource bodies.
var (
	AutoscalingV1 = GroupVersion{Group: "autoscaling", Version: "v1"}
	PolicyV1      = GroupVersion{Group: "policy", Version: "v1"}
)

// Scale is the autoscaling/v1 Scale of a scalable object: its metadata is
// the object's (name, namespace, uid, resourceVersion, creationTimestamp),
// its spec the desired replicas and its status the observed ones.
type Scale struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       ScaleSpec   `json:"spec"`
	Status     ScaleStatus `json:"status"`
}

// ScaleSpec is the desired size of a scalable object.
type ScaleSpec struct {
	// Replicas is the desired number of instances.
	Replicas int32 `json:"replicas"`
}

// ScaleStatus is the observed size of a scalable object.
type ScaleStatus struct {
	// Replicas is the observed number of instances.
	Replicas int32 `json:"replicas"`
	// Selector is the label selector of the instances in its string form
	// ("app=web,tier in (front)"), as autoscalers expect it.
	Selector string `json:"selector,omitempty"`
}

// Binding, POSTed to pods/binding, assigns the pod of its name to the node
// named by its target: it is how a scheduler binds a pod.
type Binding struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	// Target is the node: kind "Node" (or empty) and its name.
	Target ObjectReference `json:"target"`
}

// Eviction, POSTed to pods/eviction, asks for the pod of its name to be
// deleted, subject to the disruption budgets that cover it.
type Eviction struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	// DeleteOptions are those of the deletion of the pod.
	DeleteOptions *DeleteOptions `json:"deleteOptions,omitempty"`
}

// DeleteOptions is the wire form of the options of a deletion: the body a
// DELETE may carry, and Eviction.deleteOptions.
type DeleteOptions struct {
	TypeMeta `json:",inline"`
	// GracePeriodSeconds is how long the object may take to go away; 0
	// means at once, nil the kind's default.
	GracePeriodSeconds *int64 `json:"gracePeriodSeconds,omitempty"`
	// Preconditions must hold for the deletion to happen.
	Preconditions *Preconditions `json:"preconditions,omitempty"`
	// OrphanDependents is the deprecated form of PropagationPolicy.
	OrphanDependents *bool `json:"orphanDependents,omitempty"`
	// PropagationPolicy is "Orphan", "Background" or "Foreground".
	PropagationPolicy *string `json:"propagationPolicy,omitempty"`
	// DryRun is empty or ["All"].
	DryRun []string `json:"dryRun,omitempty"`
}

// Preconditions are what an object must have for an operation to happen.
type Preconditions struct {
	// UID, if set, must be the object's uid.
	UID *UID `json:"uid,omitempty"`
	// ResourceVersion, if set, must be the object's resourceVersion.
	ResourceVersion *string `json:"resourceVersion,omitempty"`
}
