// Package admission is the admission chain of the apiserver: Go plugins
// that see every create, update (status and patch included) and delete
// before it reaches the registry, and may change the object (mutators) or
// refuse the request (validators).
//
// A Chain runs its mutators in order, then its validators in order, and
// stops at the first error. It runs before the registry's own defaulting
// (api.Default) and validation (Scheme.Validate): mutators see the object as
// decoded from the request, and whatever they produce is then defaulted and
// validated like any other object.
//
// Library users extend the default chain by appending their plugins:
//
//	lookup, _ := apiserver.NamespaceLookup(st, scheme)
//	chain := admission.NewChain(
//		append(admission.DefaultMutators(), admission.NamedMutator("team-label", myMutator)),
//		append(admission.DefaultValidators(lookup), admission.NamedValidator("quota", myValidator)),
//	)
//	srv, err := apiserver.New(apiserver.Config{Store: st, Scheme: scheme, Admission: chain})
//
// # Plugin names
//
// A plugin names itself with a Name() string method (the optional Namer
// interface); NamedMutator and NamedValidator attach a name to any plugin,
// such as a MutatorFunc. An unnamed plugin is called "mutator #i" or
// "validator #i" after its position in the chain. The name appears in the
// 403 Forbidden Status that a refusal becomes.
package admission

import (
	"context"
	"errors"
	"fmt"

	"github.com/drover-io/drover/api"
)

// Operation is what a request does to an object.
type Operation string

// The operations admitted.
const (
	Create Operation = "CREATE"
	Update Operation = "UPDATE"
	Delete Operation = "DELETE"
)

// Attributes describe one request to admit.
type Attributes struct {
	// Operation is Create, Update or Delete.
	Operation Operation
	// Kind is the kind of the object.
	Kind api.Kind
	// Namespace is the namespace of the request: "" for cluster-scoped
	// kinds.
	Namespace string
	// Name is the name of the object; "" on a Create with only
	// metadata.generateName.
	Name string
	// Subresource is "" or "status".
	Subresource string
	// Object is the object to store on Create and Update, as decoded from
	// the request (for a patch: the patched object); mutators may change
	// it in place. nil on Delete.
	Object api.Object
	// OldObject is the stored object on Update and Delete; nil on Create.
	// Plugins must not modify it.
	OldObject api.Object
	// DryRun is true when the request will not be persisted: a plugin
	// with side effects must not have them.
	DryRun bool
}

// GroupResource returns the resource of a's kind, for Status errors.
func (a *Attributes) GroupResource() api.GroupResource {
	return a.Kind.GroupVersionResource().GroupResource()
}

// Mutator may change a.Object before it is stored. The apiserver calls
// Admit from the goroutine of the request, so from many goroutines at once.
// An error refuses the request: an *api.StatusError is answered as is,
// anything else as 403 Forbidden.
//
// What a mutator leaves in a.Object must be what decoding its JSON gives,
// since the registry keeps the stored object in memory for the next read
// instead of decoding it again: times made with api.NewTime or
// api.NewMicroTime (at the wire's precision), no empty maps or slices in
// fields the JSON omits when empty (leave them nil), and nothing shared
// with a.OldObject or other requests (copy what you take from them).
type Mutator interface {
	Admit(ctx context.Context, a *Attributes) error
}

// MutatorFunc adapts a function to a Mutator.
type MutatorFunc func(ctx context.Context, a *Attributes) error

// Admit calls f.
func (f MutatorFunc) Admit(ctx context.Context, a *Attributes) error { return f(ctx, a) }

// Validator accepts or refuses a request; it must not change a. The
// apiserver calls Validate from the goroutine of the request, so from many
// goroutines at once. An error refuses the request: an *api.StatusError is
// answered as is, anything else as 403 Forbidden.
type Validator interface {
	Validate(ctx context.Context, a *Attributes) error
}

// ValidatorFunc adapts a function to a Validator.
type ValidatorFunc func(ctx context.Context, a *Attributes) error

// Validate calls f.
func (f ValidatorFunc) Validate(ctx context.Context, a *Attributes) error { return f(ctx, a) }

// Namer is the optional interface of a plugin that has a name.
type Namer interface {
	Name() string
}

// NamedMutator returns m with the given name.
func NamedMutator(name string, m Mutator) Mutator { return namedMutator{name, m} }

// NamedValidator returns v with the given name.
func NamedValidator(name string, v Validator) Validator { return namedValidator{name, v} }

type namedMutator struct {
	name string
	Mutator
}

func (n namedMutator) Name() string { return n.name }

type namedValidator struct {
	name string
	Validator
}

func (n namedValidator) Name() string { return n.name }

// Chain is an ordered list of mutators and validators. It is immutable and
// safe for concurrent use.
type Chain struct {
	mutators   []Mutator
	validators []Validator
}

// NewChain returns a chain of the given plugins; nil entries are skipped.
func NewChain(mutators []Mutator, validators []Validator) *Chain {
	c := &Chain{}
	for _, m := range mutators {
		if m != nil {
			c.mutators = append(c.mutators, m)
		}
	}
	for _, v := range validators {
		if v != nil {
			c.validators = append(c.validators, v)
		}
	}
	return c
}

// Admit runs the mutators in order, then the validators in order, and
// returns the first error: an *api.StatusError as it is, any other error as
// a 403 Forbidden Status that names the plugin. A nil chain admits
// everything.
func (c *Chain) Admit(ctx context.Context, a *Attributes) error {
	if c == nil {
		return nil
	}
	for i, m := range c.mutators {
		if err := m.Admit(ctx, a); err != nil {
			return denied(a, pluginName(m, "mutator", i), err)
		}
	}
	for i, v := range c.validators {
		if err := v.Validate(ctx, a); err != nil {
			return denied(a, pluginName(v, "validator", i), err)
		}
	}
	return nil
}

func pluginName(p any, role string, i int) string {
	if n, ok := p.(Namer); ok {
		return n.Name()
	}
	return fmt.Sprintf("%s #%d", role, i)
}

// denied maps a plugin's error to the error of the request.
func denied(a *Attributes, plugin string, err error) error {
	if _, ok := errors.AsType[*api.StatusError](err); ok {
		return err
	}
	return api.NewForbidden(a.GroupResource(), a.Name,
		fmt.Errorf("admission plugin %q denied the request: %w", plugin, err))
}
