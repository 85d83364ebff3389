package admission

import (
	"context"
	"errors"
	"fmt"

	"github.com/drover-io/drover/api"
)

// NamespaceLookupFunc returns the named Namespace, or an error for which
// api.IsNotFound is true if it does not exist. It should read the latest
// state, not a cache: a namespace created just before must be found. The
// Namespace may be shared with other callers: plugins must not modify it.
type NamespaceLookupFunc func(ctx context.Context, name string) (*api.Namespace, error)

// protectedNamespaces are the namespaces NamespaceLifecycle does not let
// anyone delete.
var protectedNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

// NamespaceLifecycle returns the validator "NamespaceLifecycle": the
// namespace of a created namespaced object must exist (404 NotFound
// otherwise) and must not be terminating (status.phase Terminating or a
// deletionTimestamp: 403 Forbidden); the namespaces "default",
// "kube-system" and "kube-public" may not be deleted (403). Updates and
// deletes of objects in a terminating namespace are allowed, so that their
// finalizers can run.
func NamespaceLifecycle(lookup NamespaceLookupFunc) Validator {
	return namespaceLifecycle{lookup: lookup}
}

type namespaceLifecycle struct {
	lookup NamespaceLookupFunc
}

func (namespaceLifecycle) Name() string { return "NamespaceLifecycle" }

func (l namespaceLifecycle) Validate(ctx context.Context, a *Attributes) error {
	if isNamespace(a.Kind) {
		if a.Operation == Delete && protectedNamespaces[a.Name] {
			return api.NewForbidden(a.GroupResource(), a.Name, errors.New("this namespace may not be deleted"))
		}
		return nil
	}
	if a.Operation != Create || !a.Kind.Namespaced || a.Namespace == "" {
		return nil
	}
	ns, err := l.lookup(ctx, a.Namespace)
	if err == nil && ns == nil {
		err = api.ErrNotFound
	}
	switch {
	case api.IsNotFound(err):
		return api.NewNotFound(api.GroupResource{Resource: "namespaces"}, a.Namespace)
	case err != nil:
		if se, ok := errors.AsType[*api.StatusError](err); ok {
			return se // 503 store unavailable, 504 timeout: the client retries
		}
		return api.NewInternalError(fmt.Errorf("look up namespace %q: %w", a.Namespace, err))
	}
	if ns.Status.Phase == api.NamespaceTerminating || ns.DeletionTimestamp != nil {
		return api.NewForbidden(a.GroupResource(), a.Name, fmt.Errorf(
			"unable to create new content in namespace %s because it is being terminated", a.Namespace))
	}
	return nil
}

func isNamespace(k api.Kind) bool {
	return k.GroupVersionKind == api.CoreV1.WithKind("Namespace")
}

// DefaultServiceAccount returns the mutator "DefaultServiceAccount": a Pod
// created with neither spec.serviceAccountName nor its deprecated alias
// spec.serviceAccount runs as the "default" service account; the two
// fields are kept equal, serviceAccountName winning.
//
// Mirror pods (annotation MirrorPodAnnotation: the API server's copy of a
// node agent's static pod) are left as they are, as in Kubernetes: the
// static pod runs without the API server, so its copy must say what
// actually runs.
func DefaultServiceAccount() Mutator { return defaultServiceAccount{} }

// MirrorPodAnnotation marks a mirror pod: the API server's copy of a
// static pod that a node agent runs from a manifest file.
const MirrorPodAnnotation = "kubernetes.io/config.mirror"

type defaultServiceAccount struct{}

func (defaultServiceAccount) Name() string { return "DefaultServiceAccount" }

func (defaultServiceAccount) Admit(_ context.Context, a *Attributes) error {
	if a.Operation != Create || a.Subresource != "" {
		return nil
	}
	pod, ok := a.Object.(*api.Pod)
	if !ok {
		return nil
	}
	if _, mirror := pod.Annotations[MirrorPodAnnotation]; mirror {
		return nil
	}
	s := &pod.Spec
	if s.ServiceAccountName == "" {
		s.ServiceAccountName = s.DeprecatedServiceAccount
	}
	if s.ServiceAccountName == "" {
		s.ServiceAccountName = "default"
	}
	s.DeprecatedServiceAccount = s.ServiceAccountName
	return nil
}

// DefaultMutators returns the mutators of the default chain:
// DefaultServiceAccount, then DefaultTolerationSeconds with
// DefaultTolerationSecondsValue for both taints.
func DefaultMutators() []Mutator {
	return []Mutator{DefaultServiceAccount(), DefaultTolerationSeconds(DefaultTolerationSecondsValue, DefaultTolerationSecondsValue)}
}

// DefaultValidators returns the validators of the default chain:
// NamespaceLifecycle with lookup, or none if lookup is nil.
func DefaultValidators(lookup NamespaceLookupFunc) []Validator {
	if lookup == nil {
		return nil
	}
	return []Validator{NamespaceLifecycle(lookup)}
}

// Default returns the default chain: DefaultMutators, then
// DefaultValidators(lookup).
func Default(lookup NamespaceLookupFunc) *Chain {
	return NewChain(DefaultMutators(), DefaultValidators(lookup))
}
