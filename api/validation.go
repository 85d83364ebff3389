package api

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/internal/names"
)

// This file holds the entry points of validation (Validate, ValidateUpdate,
// ValidateStatusUpdate), the optional interfaces users' kinds implement, and
// the rules for ObjectMeta. The rules of each kind are in validation_*.go.
//
// Validation checks what it is given. The API server defaults objects before
// validating them (see Default), and a field that Default fills is accepted
// here when it is unset: an empty restartPolicy, dnsPolicy, imagePullPolicy,
// port protocol, Service type or session affinity, a zero probe timeout,
// period or threshold, a zero Service targetPort, a nil rollingUpdate. A value
// that is set must be valid. Validation never modifies the object.
//
// Errors carry the full path of the field from the object's root, as
// Kubernetes reports them ("spec.template.spec.containers[0].image"), and every
// problem is reported, not only the first.

// Validator is implemented by users' own kinds (those registered with
// Register) that have rules beyond the metadata ones every object gets.
//
// Validate, and so the API server on every create and update, calls the
// method after checking the object's metadata and after defaulting, from one
// goroutine per request; the method must not modify the object. It returns
// every problem it finds, each with the path of its field from the object's
// root ("spec.replicas"), built with NewPath and the Required, Invalid, ...
// constructors; an empty list means the object is valid. The building blocks
// the built-in kinds use are exported for it: ValidateLabels,
// ValidateLabelSelector, ValidatePodSpec, ValidatePodTemplateSpec.
type Validator interface {
	Validate() ErrorList
}

// UpdateValidator is implemented by users' own kinds whose fields may not
// change freely, such as an immutable selector.
//
// ValidateUpdate, and so the API server on every update, calls the method on
// the new object with old, the stored object of the same Go type. The new
// object is also checked on its own, as Validate does (with
// Validator.Validate if the kind has it), and the errors of both are
// returned; so the method needs to check only transitions. It runs from one
// goroutine per request and must modify neither object. For immutable fields
// use the message "field is immutable", as the built-in kinds do.
type UpdateValidator interface {
	ValidateUpdate(old Object) ErrorList
}

// StatusUpdateValidator is implemented by users' own kinds with a status
// subresource whose status has rules, such as counts that may not be
// negative.
//
// ValidateStatusUpdate, and so the API server on every write to /status,
// calls the method on the new object with old, the stored object of the same
// Go type, from one goroutine per request; it must modify neither object.
type StatusUpdateValidator interface {
	ValidateStatusUpdate(old Object) ErrorList
}

// NameValidator checks an object name. With prefix set, name is a
// generateName prefix, to which the API server appends a random suffix, so a
// trailing '-' is allowed. It returns what is wrong with the name, or nil.
type NameValidator func(name string, prefix bool) []string

// NameIsDNSSubdomain checks that name is a DNS-1123 subdomain, the rule for
// most kinds: lower-case alphanumerics, '-' and '.', at most 253 characters.
func NameIsDNSSubdomain(name string, prefix bool) []string {
	if prefix {
		name = maskTrailingDash(name)
	}
	return names.IsDNS1123Subdomain(name)
}

// NameIsDNSLabel checks that name is a DNS-1123 label, the rule for
// Namespaces: lower-case alphanumerics and '-', at most 63 characters.
func NameIsDNSLabel(name string, prefix bool) []string {
	if prefix {
		name = maskTrailingDash(name)
	}
	return names.IsDNS1123Label(name)
}

// NameIsDNS1035Label checks that name is a DNS-1035 label, the rule for
// Services: a DNS-1123 label that starts with a letter.
func NameIsDNS1035Label(name string, prefix bool) []string {
	if prefix {
		name = maskTrailingDash(name)
	}
	return names.IsDNS1035Label(name)
}

// maskTrailingDash lets a generateName prefix end in '-': the last two
// characters are replaced by "a", as Kubernetes does, so that the rest is
// checked like a name.
func maskTrailingDash(name string) string {
	if len(name) > 1 && strings.HasSuffix(name, "-") {
		return name[:len(name)-2] + "a"
	}
	return name
}

// Validate checks obj for creation and returns every problem found, each with
// the path of its field. An empty list means obj is valid.
//
// The built-in kinds are checked by the rules of Kubernetes for the fields
// Drover implements. Any other kind (users' own) gets the metadata rules, with
// names that must be DNS-1123 subdomains, and then its Validate method if it
// implements Validator. Whether a user kind is namespaced is known only to the
// scheme it is registered in: Validate checks the syntax of a namespace that
// is set but not whether one must be; (*Scheme).Validate checks that too.
func Validate(obj Object) ErrorList { return validateCreate(obj, nil) }

// ValidateUpdate checks obj, the new state of old, and returns every problem:
// those Validate finds in obj, and changes that are not allowed, such as to
// metadata.name, metadata.namespace, metadata.uid and
// metadata.creationTimestamp or to a Deployment's selector. For users' kinds
// it also calls UpdateValidator.ValidateUpdate. obj and old must have the
// same Go type.
//
// As in Kubernetes, the API server is expected to carry what the server owns
// over from old before it calls ValidateUpdate (uid, creationTimestamp,
// deletionTimestamp, generation, the resourceVersion of an unconditional
// update, a Service's allocated clusterIP), so that a client that leaves
// them out is not refused. Graceful deletion sets
// deletionTimestamp without going through ValidateUpdate.
func ValidateUpdate(obj, old Object) ErrorList { return validateUpdate(obj, old, nil) }

// ValidateStatusUpdate checks a write to the status subresource: obj is the
// new state of old. It checks obj's metadata as Validate does and its changes
// as ValidateUpdate does, and that the status is sane (known phases,
// conditions whose status is True, False or Unknown, counts that are not
// negative, valid IPs). The spec is not checked: the API server keeps the
// stored spec on status writes. For users' kinds it calls
// StatusUpdateValidator.ValidateStatusUpdate if the kind implements it.
func ValidateStatusUpdate(obj, old Object) ErrorList { return validateStatusUpdate(obj, old, nil) }

// Validate is the package-level Validate that also knows, from s, whether a
// user kind registered in s is namespaced, and so requires a namespace for
// namespaced kinds and forbids one for cluster-scoped kinds. The API server
// calls this form.
func (s *Scheme) Validate(obj Object) ErrorList { return validateCreate(obj, s) }

// ValidateUpdate is the package-level ValidateUpdate with the scope of user
// kinds taken from s, as in (*Scheme).Validate.
func (s *Scheme) ValidateUpdate(obj, old Object) ErrorList { return validateUpdate(obj, old, s) }

// ValidateStatusUpdate is the package-level ValidateStatusUpdate with the
// scope of user kinds taken from s, as in (*Scheme).Validate.
func (s *Scheme) ValidateStatusUpdate(obj, old Object) ErrorList {
	return validateStatusUpdate(obj, old, s)
}

// scope says whether the kind of an object lives in a namespace.
type scope int8

const (
	scopeUnknown    scope = iota // a user kind validated without a scheme
	scopeNamespaced              // the namespace is required
	scopeCluster                 // the namespace is forbidden
)

// scopeOf returns the scope of a user kind as registered in s.
func (s *Scheme) scopeOf(obj Object) scope {
	if s == nil {
		return scopeUnknown
	}
	k, err := s.ObjectKind(obj)
	if err != nil {
		return scopeUnknown
	}
	if k.Namespaced {
		return scopeNamespaced
	}
	return scopeCluster
}

var metaPath = NewPath("metadata")

func isNilObject(obj Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

func validateCreate(obj Object, s *Scheme) ErrorList {
	if isNilObject(obj) {
		return ErrorList{Required(nil, "an object is required")}
	}
	switch o := obj.(type) {
	case *Namespace:
		return validateNamespace(o)
	case *Node:
		return validateNode(o)
	case *Pod:
		return validatePod(o)
	case *Service:
		return validateService(o)
	case *Endpoints:
		return validateEndpoints(o)
	case *ConfigMap:
		return validateConfigMap(o)
	case *Secret:
		return validateSecret(o)
	case *ServiceAccount:
		return validateBuiltinMeta(o)
	case *Event:
		return validateEvent(o)
	case *Deployment:
		return validateDeployment(o)
	case *ReplicaSet:
		return validateReplicaSet(o)
	case *DaemonSet:
		return validateDaemonSet(o)
	case *Job:
		return validateJob(o)
	case *Lease:
		return validateLease(o)
	case *EndpointSlice:
		return validateEndpointSlice(o)
	}
	errs := validateObjectMeta(obj.GetObjectMeta(), s.scopeOf(obj), NameIsDNSSubdomain, metaPath)
	if v, ok := obj.(Validator); ok {
		errs = append(errs, v.Validate()...)
	}
	return errs
}

// checkPair reports an update whose two objects are missing or of different
// Go types, which no rule can compare.
func checkPair(obj, old Object) ErrorList {
	if isNilObject(obj) {
		return ErrorList{Required(nil, "an object is required")}
	}
	if isNilObject(old) {
		return ErrorList{Required(nil, "the existing object is required")}
	}
	if reflect.TypeOf(obj) != reflect.TypeOf(old) {
		return ErrorList{Invalid(NewPath("kind"), obj.GetTypeMeta().Kind,
			fmt.Sprintf("must be the kind of the existing object (Go type %T, not %T)", old, obj))}
	}
	return nil
}

func validateUpdate(obj, old Object, s *Scheme) ErrorList {
	if errs := checkPair(obj, old); errs != nil {
		return errs
	}
	errs := validateObjectMetaUpdate(obj.GetObjectMeta(), old.GetObjectMeta(), metaPath)
	errs = append(errs, validateCreate(obj, s)...)
	switch o := obj.(type) {
	case *Namespace, *ServiceAccount, *Endpoints, *Event, *Lease, *ReplicaSet:
		// No rules beyond those of metadata, or (ReplicaSet) Kubernetes
		// allows every change.
	case *Node:
		errs = append(errs, validateNodeUpdate(o, old.(*Node))...)
	case *Pod:
		errs = append(errs, validatePodUpdate(o, old.(*Pod))...)
	case *Service:
		errs = append(errs, validateServiceUpdate(o, old.(*Service))...)
	case *ConfigMap:
		errs = append(errs, validateConfigMapUpdate(o, old.(*ConfigMap))...)
	case *Secret:
		errs = append(errs, validateSecretUpdate(o, old.(*Secret))...)
	case *Deployment:
		errs = append(errs, validateImmutable(o.Spec.Selector, old.(*Deployment).Spec.Selector, NewPath("spec", "selector"))...)
	case *DaemonSet:
		errs = append(errs, validateImmutable(o.Spec.Selector, old.(*DaemonSet).Spec.Selector, NewPath("spec", "selector"))...)
	case *Job:
		errs = append(errs, validateJobUpdate(o, old.(*Job))...)
	case *EndpointSlice:
		errs = append(errs, validateImmutable(o.AddressType, old.(*EndpointSlice).AddressType, NewPath("addressType"))...)
	case UpdateValidator:
		errs = append(errs, o.ValidateUpdate(old)...)
	}
	return errs
}

func validateStatusUpdate(obj, old Object, s *Scheme) ErrorList {
	if errs := checkPair(obj, old); errs != nil {
		return errs
	}
	errs := validateObjectMetaUpdate(obj.GetObjectMeta(), old.GetObjectMeta(), metaPath)
	if _, _, builtin := builtinMetaRules(obj); builtin {
		errs = append(errs, validateBuiltinMeta(obj)...)
	} else {
		errs = append(errs, validateObjectMeta(obj.GetObjectMeta(), s.scopeOf(obj), NameIsDNSSubdomain, metaPath)...)
	}
	st := NewPath("status")
	switch o := obj.(type) {
	case *Namespace:
		errs = append(errs, validateNamespaceStatus(&o.Status, st)...)
	case *Node:
		errs = append(errs, validateNodeStatus(&o.Status, st)...)
	case *Pod:
		errs = append(errs, validatePodStatusUpdate(o, old.(*Pod))...)
	case *Service:
		errs = append(errs, validateServiceStatus(&o.Status, st)...)
	case *Deployment:
		errs = append(errs, validateDeploymentStatus(&o.Status, &old.(*Deployment).Status, st)...)
	case *ReplicaSet:
		errs = append(errs, validateReplicaSetStatus(&o.Status, st)...)
	case *DaemonSet:
		errs = append(errs, validateDaemonSetStatus(&o.Status, &old.(*DaemonSet).Status, st)...)
	case *Job:
		errs = append(errs, validateJobStatus(&o.Status, st)...)
	case StatusUpdateValidator:
		errs = append(errs, o.ValidateStatusUpdate(old)...)
	}
	return errs
}

// builtinMetaRules returns the scope and the name rule of a built-in kind,
// and false for other kinds.
func builtinMetaRules(obj Object) (scope, NameValidator, bool) {
	switch obj.(type) {
	case *Namespace:
		return scopeCluster, NameIsDNSLabel, true
	case *Node:
		return scopeCluster, NameIsDNSSubdomain, true
	case *Service:
		return scopeNamespaced, NameIsDNS1035Label, true
	case *Pod, *Endpoints, *ConfigMap, *Secret, *ServiceAccount, *Event,
		*Deployment, *ReplicaSet, *DaemonSet, *Job, *Lease, *EndpointSlice:
		return scopeNamespaced, NameIsDNSSubdomain, true
	}
	return scopeUnknown, NameIsDNSSubdomain, false
}

// validateBuiltinMeta checks the metadata of a built-in kind.
func validateBuiltinMeta(obj Object) ErrorList {
	sc, nameFn, _ := builtinMetaRules(obj)
	return validateObjectMeta(obj.GetObjectMeta(), sc, nameFn, metaPath)
}

// ---------------------------------------------------------------------------
// ObjectMeta

// Size limits of metadata and data, as in Kubernetes.
const (
	// maxAnnotationsSize bounds the total size of an object's annotation
	// keys and values: 256 KiB.
	maxAnnotationsSize = 256 << 10
	// maxDataSize bounds the total size of the values of a ConfigMap or
	// Secret: 1 MiB.
	maxDataSize = 1 << 20
)

// ValidateObjectMeta checks the metadata of an object being created, with
// paths under p (normally NewPath("metadata")): a name (or generateName) that
// nameFn accepts; a namespace, which must be a DNS-1123 label, for namespaced
// kinds and none for cluster-scoped ones; valid labels, annotations, owner
// references and finalizers; a generation and deletion grace period that are
// not negative; a resourceVersion, when set, that is a store revision (a
// decimal number).
func ValidateObjectMeta(meta *ObjectMeta, namespaced bool, nameFn NameValidator, p *Path) ErrorList {
	sc := scopeCluster
	if namespaced {
		sc = scopeNamespaced
	}
	return validateObjectMeta(meta, sc, nameFn, p)
}

func validateObjectMeta(meta *ObjectMeta, sc scope, nameFn NameValidator, p *Path) ErrorList {
	var errs ErrorList
	if meta.GenerateName != "" {
		for _, msg := range nameFn(meta.GenerateName, true) {
			errs = append(errs, Invalid(p.Child("generateName"), meta.GenerateName, msg))
		}
	}
	if meta.Name == "" {
		if meta.GenerateName == "" {
			errs = append(errs, Required(p.Child("name"), "name or generateName is required"))
		}
	} else {
		for _, msg := range nameFn(meta.Name, false) {
			errs = append(errs, Invalid(p.Child("name"), meta.Name, msg))
		}
	}
	switch {
	case sc == scopeCluster && meta.Namespace != "":
		errs = append(errs, Forbidden(p.Child("namespace"), "not allowed on this type"))
	case sc == scopeNamespaced && meta.Namespace == "":
		errs = append(errs, Required(p.Child("namespace"), ""))
	case meta.Namespace != "":
		for _, msg := range names.IsDNS1123Label(meta.Namespace) {
			errs = append(errs, Invalid(p.Child("namespace"), meta.Namespace, msg))
		}
	}
	errs = append(errs, validateNonNegative(meta.Generation, p.Child("generation"))...)
	if rv := meta.ResourceVersion; rv != "" {
		if _, err := strconv.ParseUint(rv, 10, 64); err != nil {
			errs = append(errs, Invalid(p.Child("resourceVersion"), rv, "must be a non-negative decimal integer"))
		}
	}
	if g := meta.DeletionGracePeriodSeconds; g != nil {
		errs = append(errs, validateNonNegative(*g, p.Child("deletionGracePeriodSeconds"))...)
	}
	errs = append(errs, ValidateLabels(meta.Labels, p.Child("labels"))...)
	errs = append(errs, ValidateAnnotations(meta.Annotations, p.Child("annotations"))...)
	errs = append(errs, validateOwnerReferences(meta.OwnerReferences, p.Child("ownerReferences"))...)
	errs = append(errs, validateFinalizers(meta.Finalizers, p.Child("finalizers"))...)
	return errs
}

// ValidateLabels checks that every key of labels is a qualified name
// ("app", "example.com/tier") and every value a valid label value. As in
// Kubernetes, the errors are reported at p with the offending key or value.
func ValidateLabels(labels map[string]string, p *Path) ErrorList {
	// Almost every label set is valid: check in map order, without
	// sorting, and go through the keys in order only to report errors.
	valid := true
	for k, v := range labels {
		if len(names.IsQualifiedName(k)) > 0 || len(names.IsValidLabelValue(v)) > 0 {
			valid = false
			break
		}
	}
	if valid {
		return nil
	}
	var errs ErrorList
	for _, k := range sortedKeys(labels) {
		errs = append(errs, validateLabelKey(k, p)...)
		for _, msg := range names.IsValidLabelValue(labels[k]) {
			errs = append(errs, Invalid(p, labels[k], msg))
		}
	}
	return errs
}

// ValidateAnnotations checks that every key of annotations is a qualified
// name (upper-case letters allowed in the prefix too) and that keys and
// values together take at most 256 KiB.
func ValidateAnnotations(annotations map[string]string, p *Path) ErrorList {
	// As ValidateLabels: sort only to report errors.
	size, valid := 0, true
	for k, v := range annotations {
		if len(names.IsQualifiedName(strings.ToLower(k))) > 0 {
			valid = false
			break
		}
		size += len(k) + len(v)
	}
	if valid && size <= maxAnnotationsSize {
		return nil
	}
	var errs ErrorList
	size = 0
	for _, k := range sortedKeys(annotations) {
		for _, msg := range names.IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, Invalid(p, k, msg))
		}
		size += len(k) + len(annotations[k])
	}
	if size > maxAnnotationsSize {
		errs = append(errs, TooLong(p, maxAnnotationsSize))
	}
	return errs
}

func validateOwnerReferences(refs []OwnerReference, p *Path) ErrorList {
	var errs ErrorList
	controller := -1
	for i, r := range refs {
		rp := p.Index(i)
		if r.APIVersion == "" {
			errs = append(errs, Required(rp.Child("apiVersion"), ""))
		} else if gv, err := ParseGroupVersion(r.APIVersion); err != nil || gv.Version == "" {
			errs = append(errs, Invalid(rp.Child("apiVersion"), r.APIVersion, `must be "version" or "group/version"`))
		}
		if r.Kind == "" {
			errs = append(errs, Required(rp.Child("kind"), ""))
		}
		if r.Name == "" {
			errs = append(errs, Required(rp.Child("name"), ""))
		}
		if r.UID == "" {
			errs = append(errs, Required(rp.Child("uid"), ""))
		}
		if r.Controller != nil && *r.Controller {
			if controller >= 0 {
				first := refs[controller]
				errs = append(errs, Invalid(rp.Child("controller"), true, fmt.Sprintf(
					"only one reference can have controller set to true; %s/%s is the controller already", first.Kind, first.Name)))
			} else {
				controller = i
			}
		}
	}
	return errs
}

// The finalizers of the garbage collector, which may not be set together.
const (
	finalizerOrphanDependents = "orphan"
	finalizerDeleteDependents = "foregroundDeletion"
)

func validateFinalizers(finalizers []string, p *Path) ErrorList {
	var errs ErrorList
	seen := make(map[string]bool, len(finalizers))
	for i, f := range finalizers {
		for _, msg := range names.IsQualifiedName(f) {
			errs = append(errs, Invalid(p.Index(i), f, msg))
		}
		if seen[f] {
			errs = append(errs, Duplicate(p.Index(i), f))
		}
		seen[f] = true
	}
	if seen[finalizerOrphanDependents] && seen[finalizerDeleteDependents] {
		errs = append(errs, Invalid(p, finalizers, fmt.Sprintf("finalizer %s and %s cannot be both set",
			finalizerOrphanDependents, finalizerDeleteDependents)))
	}
	return errs
}

// validateObjectMetaUpdate checks the changes to metadata on update: name,
// namespace, uid, creationTimestamp, deletionTimestamp and
// deletionGracePeriodSeconds are immutable, generation does not go down, and
// an object being deleted gets no new finalizers.
func validateObjectMetaUpdate(meta, old *ObjectMeta, p *Path) ErrorList {
	var errs ErrorList
	errs = append(errs, validateImmutable(meta.Name, old.Name, p.Child("name"))...)
	errs = append(errs, validateImmutable(meta.Namespace, old.Namespace, p.Child("namespace"))...)
	errs = append(errs, validateImmutable(meta.UID, old.UID, p.Child("uid"))...)
	errs = append(errs, validateImmutable(meta.CreationTimestamp, old.CreationTimestamp, p.Child("creationTimestamp"))...)
	errs = append(errs, validateImmutable(meta.DeletionTimestamp, old.DeletionTimestamp, p.Child("deletionTimestamp"))...)
	errs = append(errs, validateImmutable(meta.DeletionGracePeriodSeconds, old.DeletionGracePeriodSeconds, p.Child("deletionGracePeriodSeconds"))...)
	if meta.Generation < old.Generation {
		errs = append(errs, Invalid(p.Child("generation"), meta.Generation, "must not be decremented"))
	}
	if old.DeletionTimestamp != nil {
		var added []string
		for _, f := range meta.Finalizers {
			if !old.HasFinalizer(f) {
				added = append(added, f)
			}
		}
		if len(added) > 0 {
			errs = append(errs, Forbidden(p.Child("finalizers"), fmt.Sprintf(
				"no new finalizers can be added if the object is being deleted, found new finalizers %q", added)))
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// Shared helpers

// immutableMsg is the detail of an error about a field that may not change.
const immutableMsg = "field is immutable"

// validateImmutable reports a change from old to value.
func validateImmutable(value, old any, p *Path) ErrorList {
	if semanticEqual(value, old) {
		return nil
	}
	return ErrorList{Invalid(p, badValue(value), immutableMsg)}
}

// badValue returns what to show of v in an error: the value a pointer points
// to, and nil for a nil pointer.
func badValue(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		return v
	}
	if rv.IsNil() {
		return nil
	}
	return rv.Elem().Interface()
}

const nonNegativeMsg = "must be greater than or equal to 0"

// validateNonNegative reports a negative v.
func validateNonNegative[T int32 | int64](v T, p *Path) ErrorList {
	if v < 0 {
		return ErrorList{Invalid(p, v, nonNegativeMsg)}
	}
	return nil
}

// validatePositive reports a v that is not greater than zero.
func validatePositive[T int32 | int64](v T, p *Path) ErrorList {
	if v <= 0 {
		return ErrorList{Invalid(p, v, "must be greater than 0")}
	}
	return nil
}

// inRangeMsg says that a value must be between lo and hi, inclusive.
func inRangeMsg(lo, hi int64) string {
	return fmt.Sprintf("must be between %d and %d, inclusive", lo, hi)
}

// validateConditionStatus checks the status of a condition.
func validateConditionStatus(s ConditionStatus, p *Path) ErrorList {
	switch s {
	case ConditionTrue, ConditionFalse, ConditionUnknown:
		return nil
	case "":
		return ErrorList{Required(p, "")}
	}
	return ErrorList{NotSupported(p, s, []ConditionStatus{ConditionFalse, ConditionTrue, ConditionUnknown})}
}

// validateIP checks that ip is an IP address.
func validateIP(ip string, p *Path) ErrorList {
	var errs ErrorList
	for _, msg := range names.IsValidIP(ip) {
		errs = append(errs, Invalid(p, ip, msg))
	}
	return errs
}

// validateDNSLabel checks that s is a DNS-1123 label.
func validateDNSLabel(s string, p *Path) ErrorList {
	var errs ErrorList
	for _, msg := range names.IsDNS1123Label(s) {
		errs = append(errs, Invalid(p, s, msg))
	}
	return errs
}

// validateDNSSubdomain checks that s is a DNS-1123 subdomain.
func validateDNSSubdomain(s string, p *Path) ErrorList {
	var errs ErrorList
	for _, msg := range names.IsDNS1123Subdomain(s) {
		errs = append(errs, Invalid(p, s, msg))
	}
	return errs
}

// validateQualifiedName checks that s is a qualified name.
func validateQualifiedName(s string, p *Path) ErrorList { return validateLabelKey(s, p) }

// notFound reports a reference to something that does not exist, such as a
// volume mount of an undeclared volume.
func notFound(p *Path, value any) *FieldError {
	return &FieldError{Type: ErrorTypeNotFound, Field: p.String(), BadValue: value}
}

// withDetail sets the detail of e, for the constructors that take none.
func withDetail(e *FieldError, detail string) *FieldError {
	e.Detail = detail
	return e
}

// semanticEqual reports whether a and b hold the same value the way the API
// sees it: quantities are compared by value ("1" equals "1000m"), times by
// instant, and a nil slice or map equals an empty one.
func semanticEqual(a, b any) bool {
	return deepEqual(reflect.ValueOf(a), reflect.ValueOf(b))
}

var (
	semQuantityType = reflect.TypeFor[resource.Quantity]()
	semTimeType     = reflect.TypeFor[time.Time]()
)

func deepEqual(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Type() {
	case semQuantityType:
		if !a.CanInterface() {
			break // a field of an unexported struct: compare the representation
		}
		return a.Interface().(resource.Quantity).Cmp(b.Interface().(resource.Quantity)) == 0
	case semTimeType:
		if !a.CanInterface() {
			break
		}
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return deepEqual(a.Elem(), b.Elem())
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !deepEqual(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		it := a.MapRange()
		for it.Next() {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !deepEqual(it.Value(), bv) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			if !deepEqual(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}
