package api

import (
	"fmt"
	"strings"
)

// UID is a cluster-unique identifier for an object, set by the API server at
// creation and never reused.
type UID string

// TypeMeta names an object's kind and API version on the wire. It is embedded
// (inline) at the top of every object and list.
type TypeMeta struct {
	// Kind is the object's kind in CamelCase, such as "Pod".
	Kind string `json:"kind,omitempty"`
	// APIVersion is "version" for the core group ("v1") or "group/version"
	// ("apps/v1").
	APIVersion string `json:"apiVersion,omitempty"`
}

// GetTypeMeta returns the object's TypeMeta. Embedding TypeMeta gives a type
// this method, which is half of the Object interface.
func (t *TypeMeta) GetTypeMeta() *TypeMeta { return t }

// GroupVersionKind parses APIVersion and returns it with Kind. A malformed
// APIVersion ("a/b/c") yields an empty group and the whole string as version;
// the decoder rejects such values before they get here.
func (t *TypeMeta) GroupVersionKind() GroupVersionKind {
	gv, _ := ParseGroupVersion(t.APIVersion)
	return gv.WithKind(t.Kind)
}

// SetGroupVersionKind sets APIVersion and Kind from gvk.
func (t *TypeMeta) SetGroupVersionKind(gvk GroupVersionKind) {
	t.APIVersion = gvk.GroupVersion().String()
	t.Kind = gvk.Kind
}

// ObjectMeta is the metadata every persisted object carries. Users set Name
// (or GenerateName), Namespace, Labels, Annotations, OwnerReferences and
// Finalizers; the API server owns the rest.
type ObjectMeta struct {
	// Name is unique within a namespace (or the cluster, for cluster-scoped
	// kinds). Most kinds require a DNS-1123 subdomain.
	Name string `json:"name,omitempty"`
	// GenerateName, used when Name is empty, is a prefix to which the API
	// server appends a random suffix to form a unique name.
	GenerateName string `json:"generateName,omitempty"`
	// Namespace scopes the name. Empty for cluster-scoped kinds; defaulted to
	// "default" by clients for namespaced ones.
	Namespace string `json:"namespace,omitempty"`
	// UID is set by the API server at creation.
	UID UID `json:"uid,omitempty"`
	// ResourceVersion is the store revision of the object's last write, an
	// opaque string to clients. Updates that carry it are compare-and-swap.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Generation counts changes to the desired state (spec); it is set by the
	// API server.
	Generation int64 `json:"generation,omitempty"`
	// CreationTimestamp is set by the API server at creation.
	CreationTimestamp Time `json:"creationTimestamp,omitzero"`
	// DeletionTimestamp is set when graceful deletion was requested; the
	// object goes away when its finalizers are gone and the grace period has
	// passed.
	DeletionTimestamp *Time `json:"deletionTimestamp,omitempty"`
	// DeletionGracePeriodSeconds is the grace period of a pending deletion.
	DeletionGracePeriodSeconds *int64 `json:"deletionGracePeriodSeconds,omitempty"`
	// Labels are identifying key/value pairs that selectors match.
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations are non-identifying key/value pairs for tools.
	Annotations map[string]string `json:"annotations,omitempty"`
	// OwnerReferences name the objects this one depends on; when every owner
	// is gone the garbage collector deletes it.
	OwnerReferences []OwnerReference `json:"ownerReferences,omitempty"`
	// Finalizers hold the object after deletion is requested until each
	// named component has done its clean-up and removed its entry.
	Finalizers []string `json:"finalizers,omitempty"`
}

// GetObjectMeta returns the object's metadata. Embedding ObjectMeta gives a
// type this method, which is the other half of the Object interface.
func (m *ObjectMeta) GetObjectMeta() *ObjectMeta { return m }

// Key returns "namespace/name", or "name" for cluster-scoped objects: the
// conventional key for caches and work queues.
func (m *ObjectMeta) Key() string {
	if m.Namespace == "" {
		return m.Name
	}
	return m.Namespace + "/" + m.Name
}

// ControllerRef returns the owner reference with Controller set, or nil.
func (m *ObjectMeta) ControllerRef() *OwnerReference {
	for i := range m.OwnerReferences {
		if r := &m.OwnerReferences[i]; r.Controller != nil && *r.Controller {
			return r
		}
	}
	return nil
}

// IsControlledBy reports whether the object's controller reference points
// at the object with uid.
func (m *ObjectMeta) IsControlledBy(uid UID) bool {
	r := m.ControllerRef()
	return r != nil && uid != "" && r.UID == uid
}

// NewControllerRef returns the owner reference a controller puts on the
// objects it makes for owner, an object of kind gvk (given apart, since an
// object read from a cache may have no kind or apiVersion set): Controller
// and BlockOwnerDeletion are true.
func NewControllerRef(owner Object, gvk GroupVersionKind) OwnerReference {
	m := owner.GetObjectMeta()
	yes, block := true, true
	return OwnerReference{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: m.Name, UID: m.UID,
		Controller: &yes, BlockOwnerDeletion: &block,
	}
}

// HasFinalizer reports whether name is among the object's finalizers.
func (m *ObjectMeta) HasFinalizer(name string) bool {
	for _, f := range m.Finalizers {
		if f == name {
			return true
		}
	}
	return false
}

// OwnerReference points from a dependent to the object that owns it.
type OwnerReference struct {
	// APIVersion of the owner.
	APIVersion string `json:"apiVersion"`
	// Kind of the owner.
	Kind string `json:"kind"`
	// Name of the owner; owners are in the dependent's namespace, or
	// cluster-scoped.
	Name string `json:"name"`
	// UID of the owner: a reference to a deleted-and-recreated owner with the
	// same name does not match.
	UID UID `json:"uid"`
	// Controller marks the managing owner; at most one reference has it set.
	Controller *bool `json:"controller,omitempty"`
	// BlockOwnerDeletion makes foreground deletion of the owner wait for this
	// dependent to be deleted.
	BlockOwnerDeletion *bool `json:"blockOwnerDeletion,omitempty"`
}

// ListMeta is the metadata of a list.
type ListMeta struct {
	// ResourceVersion is the store revision the list was read at; a watch
	// started from it misses nothing.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Continue is set when the list was truncated by a limit: pass it back to
	// get the next page, read at the same revision.
	Continue string `json:"continue,omitempty"`
	// RemainingItemCount estimates the items after this page, when known.
	RemainingItemCount *int64 `json:"remainingItemCount,omitempty"`
}

// GetListMeta returns the list's metadata.
func (m *ListMeta) GetListMeta() *ListMeta { return m }

// Object is what every persisted resource satisfies: a pointer to a struct
// that embeds TypeMeta and ObjectMeta. Users' own kinds satisfy it with no
// generated code:
//
//	type Widget struct {
//		api.TypeMeta   `json:",inline"`
//		api.ObjectMeta `json:"metadata,omitempty"`
//		Spec WidgetSpec `json:"spec"`
//	}
type Object interface {
	GetTypeMeta() *TypeMeta
	GetObjectMeta() *ObjectMeta
}

// ListObject is what every list satisfies.
type ListObject interface {
	GetTypeMeta() *TypeMeta
	GetListMeta() *ListMeta
}

// List is the list of any kind: the wire form of
// {"kind":"PodList","apiVersion":"v1","metadata":{...},"items":[...]}.
// The built-in list types (PodList, ...) are aliases of it.
type List[T any] struct {
	TypeMeta `json:",inline"`
	ListMeta `json:"metadata"`
	// Items are the listed objects.
	Items []T `json:"items"`
}

// LabelSelector is the structured selector in specs (Deployment.spec.selector
// and others). The requirements are ANDed; an empty selector matches every
// object and a nil one matches none. Convert it with LabelSelectorAsSelector.
type LabelSelector struct {
	// MatchLabels is a set of key=value requirements.
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
	// MatchExpressions are set-based requirements.
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorOperator is the operator of a LabelSelectorRequirement.
type LabelSelectorOperator string

// The operators a LabelSelectorRequirement accepts.
const (
	LabelSelectorOpIn           LabelSelectorOperator = "In"
	LabelSelectorOpNotIn        LabelSelectorOperator = "NotIn"
	LabelSelectorOpExists       LabelSelectorOperator = "Exists"
	LabelSelectorOpDoesNotExist LabelSelectorOperator = "DoesNotExist"
)

// LabelSelectorRequirement is one set-based requirement.
type LabelSelectorRequirement struct {
	// Key is the label key.
	Key string `json:"key"`
	// Operator is In, NotIn, Exists or DoesNotExist.
	Operator LabelSelectorOperator `json:"operator"`
	// Values is non-empty for In and NotIn and empty otherwise.
	Values []string `json:"values,omitempty"`
}

// GroupVersion is an API group and version, such as apps/v1. The core group
// is the empty string.
type GroupVersion struct {
	Group   string
	Version string
}

// String returns "v1" for the core group and "group/version" otherwise.
func (gv GroupVersion) String() string {
	if gv.Group == "" {
		return gv.Version
	}
	return gv.Group + "/" + gv.Version
}

// WithKind returns the GroupVersionKind for kind in gv.
func (gv GroupVersion) WithKind(kind string) GroupVersionKind {
	return GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: kind}
}

// WithResource returns the GroupVersionResource for resource in gv.
func (gv GroupVersion) WithResource(resource string) GroupVersionResource {
	return GroupVersionResource{Group: gv.Group, Version: gv.Version, Resource: resource}
}

// ParseGroupVersion parses "v1" or "group/version".
func ParseGroupVersion(s string) (GroupVersion, error) {
	if s == "" {
		return GroupVersion{}, nil
	}
	group, version, found := strings.Cut(s, "/")
	if !found {
		return GroupVersion{Version: s}, nil
	}
	if group == "" || version == "" || strings.Contains(version, "/") {
		return GroupVersion{}, fmt.Errorf("api: invalid apiVersion %q: want \"version\" or \"group/version\"", s)
	}
	return GroupVersion{Group: group, Version: version}, nil
}

// GroupVersionKind identifies a kind in a versioned group.
type GroupVersionKind struct {
	Group   string
	Version string
	Kind    string
}

// GroupVersion returns the group and version of gvk.
func (gvk GroupVersionKind) GroupVersion() GroupVersion {
	return GroupVersion{Group: gvk.Group, Version: gvk.Version}
}

// GroupKind returns the group and kind of gvk.
func (gvk GroupVersionKind) GroupKind() GroupKind {
	return GroupKind{Group: gvk.Group, Kind: gvk.Kind}
}

// String returns "apps/v1, Kind=Deployment".
func (gvk GroupVersionKind) String() string {
	return gvk.GroupVersion().String() + ", Kind=" + gvk.Kind
}

// GroupKind is a kind in a group, across versions.
type GroupKind struct {
	Group string
	Kind  string
}

// String returns "Deployment.apps", or "Pod" for the core group.
func (gk GroupKind) String() string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

// GroupVersionResource identifies a resource (the plural, lower-case name in
// URLs) in a versioned group.
type GroupVersionResource struct {
	Group    string
	Version  string
	Resource string
}

// GroupResource returns the group and resource of gvr.
func (gvr GroupVersionResource) GroupResource() GroupResource {
	return GroupResource{Group: gvr.Group, Resource: gvr.Resource}
}

// GroupVersion returns the group and version of gvr.
func (gvr GroupVersionResource) GroupVersion() GroupVersion {
	return GroupVersion{Group: gvr.Group, Version: gvr.Version}
}

// String returns "apps/v1, Resource=deployments".
func (gvr GroupVersionResource) String() string {
	return gvr.GroupVersion().String() + ", Resource=" + gvr.Resource
}

// GroupResource is a resource in a group, across versions.
type GroupResource struct {
	Group    string
	Resource string
}

// String returns "deployments.apps", or "pods" for the core group.
func (gr GroupResource) String() string {
	if gr.Group == "" {
		return gr.Resource
	}
	return gr.Resource + "." + gr.Group
}
