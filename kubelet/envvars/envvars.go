// Package envvars computes a container's environment the way the
// Kubernetes node agent does: envFrom sources first, then env in order,
// each value able to refer to the variables before it as $(VAR). Values
// come from literals, ConfigMap and Secret keys, pod fields (the downward
// API) and container resources.
//
// The node agent calls Resolve when it creates a container, and then
// expands the container's command and args with ExpandAll over the same
// variables. Nothing here keeps state; every function is safe for
// concurrent use.
package envvars

import (
	"context"
	"errors"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/internal/names"
	"github.com/drover-io/drover/runtime"
)

// Sources reads the ConfigMaps and Secrets a container's environment
// refers to. Resolve calls it once per reference, from the calling
// goroutine; an error matching api.ErrNotFound means the object is
// missing (optional references then count as empty), any other error
// fails the resolution. volume.Getter satisfies it.
type Sources interface {
	ConfigMap(ctx context.Context, namespace, name string) (*api.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*api.Secret, error)
}

// Options tune ResolveWithOptions. The zero value is Resolve's.
type Options struct {
	// NodeAllocatable stands in for a limit the container does not set,
	// in resourceFieldRef limits.cpu, limits.memory and
	// limits.ephemeral-storage, as in Kubernetes. Without it such a
	// reference is an error.
	NodeAllocatable api.ResourceList
	// Skipped, if set, is called for each envFrom key that, with its
	// prefix, is not a valid environment variable name
	// ([-._A-Za-z][-._A-Za-z0-9]*). Such keys are skipped, not an error,
	// as in Kubernetes, which records an event naming them; source is
	// `configmap "name"` or `secret "name"`.
	Skipped func(source, key string)
}

// Resolve returns container c's environment in pod: ResolveWithOptions
// with the zero Options.
func Resolve(ctx context.Context, pod *api.Pod, c *api.Container, src Sources) ([]runtime.KeyValue, error) {
	return ResolveWithOptions(ctx, pod, c, src, Options{})
}

// ResolveWithOptions returns container c's environment in pod, as
// Kubernetes computes it:
//
//  1. each envFrom source in order imports every key of its ConfigMap or
//     Secret (in key order), named with the source's prefix; keys that
//     are not valid variable names are skipped (see Options.Skipped); a
//     missing object is an error unless the source is optional;
//  2. then each env entry in order: a value with $(VAR) references
//     expanded over the variables so far (see Expand), or valueFrom: a
//     ConfigMap or Secret key (a missing object or key is an error unless
//     optional, when the variable is left out), a pod field (see
//     FieldValue) or a container resource (see ResourceValue, for
//     this container when ContainerName is "").
//
// A name set twice keeps its first position and its last value, so env
// wins over envFrom. The caller sets pod.Status.PodIP (and PodIPs,
// HostIP) before it calls, for fieldRefs to read them. Errors name the
// container, the variable or source, and what is missing or wrong.
func ResolveWithOptions(ctx context.Context, pod *api.Pod, c *api.Container, src Sources, opts Options) ([]runtime.KeyValue, error) {
	env := newEnvList(len(c.Env))
	for i := range c.EnvFrom {
		ef := &c.EnvFrom[i]
		if err := resolveEnvFrom(ctx, pod, ef, src, opts, env); err != nil {
			return nil, fmt.Errorf("container %q: envFrom[%d]: %w", c.Name, i, err)
		}
	}
	for i := range c.Env {
		e := &c.Env[i]
		if e.ValueFrom == nil {
			env.set(e.Name, Expand(e.Value, env.vars))
			continue
		}
		v, ok, err := resolveValueFrom(ctx, pod, c, e.ValueFrom, src, opts)
		if err != nil {
			return nil, fmt.Errorf("container %q: env %q: %w", c.Name, e.Name, err)
		}
		if ok {
			env.set(e.Name, v)
		}
	}
	return env.list, nil
}

// envList keeps variables in first-set order with their latest values.
type envList struct {
	vars  map[string]string
	index map[string]int
	list  []runtime.KeyValue
}

func newEnvList(n int) *envList {
	return &envList{vars: make(map[string]string, n), index: make(map[string]int, n), list: make([]runtime.KeyValue, 0, n)}
}

func (l *envList) set(k, v string) {
	l.vars[k] = v
	if i, ok := l.index[k]; ok {
		l.list[i].Value = v
		return
	}
	l.index[k] = len(l.list)
	l.list = append(l.list, runtime.KeyValue{Key: k, Value: v})
}

func resolveEnvFrom(ctx context.Context, pod *api.Pod, ef *api.EnvFromSource, src Sources, opts Options, env *envList) error {
	var (
		source string
		data   map[string]string
	)
	switch {
	case ef.ConfigMapRef != nil:
		source = fmt.Sprintf("configmap %q", ef.ConfigMapRef.Name)
		cm, err := getConfigMap(ctx, src, pod.Namespace, ef.ConfigMapRef.Name)
		if err != nil {
			if isOptional(ef.ConfigMapRef.Optional) && errors.Is(err, api.ErrNotFound) {
				return nil
			}
			return err
		}
		data = cm.Data
	case ef.SecretRef != nil:
		source = fmt.Sprintf("secret %q", ef.SecretRef.Name)
		s, err := getSecret(ctx, src, pod.Namespace, ef.SecretRef.Name)
		if err != nil {
			if isOptional(ef.SecretRef.Optional) && errors.Is(err, api.ErrNotFound) {
				return nil
			}
			return err
		}
		data = make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			data[k] = string(v)
		}
	default:
		return errors.New("neither configMapRef nor secretRef is set")
	}
	for _, k := range sortedKeys(data) {
		name := ef.Prefix + k
		if len(names.IsEnvVarName(name)) > 0 {
			if opts.Skipped != nil {
				opts.Skipped(source, name)
			}
			continue
		}
		env.set(name, data[k])
	}
	return nil
}

// resolveValueFrom returns the value of one valueFrom, and false when an
// optional reference is missing (the variable is then left out).
func resolveValueFrom(ctx context.Context, pod *api.Pod, c *api.Container, vf *api.EnvVarSource, src Sources, opts Options) (string, bool, error) {
	switch {
	case vf.ConfigMapKeyRef != nil:
		ref := vf.ConfigMapKeyRef
		cm, err := getConfigMap(ctx, src, pod.Namespace, ref.Name)
		if err != nil {
			if isOptional(ref.Optional) && errors.Is(err, api.ErrNotFound) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("configMapKeyRef: %w", err)
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, true, nil
		}
		if isOptional(ref.Optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("configMapKeyRef: configmap %q has no key %q", ref.Name, ref.Key)
	case vf.SecretKeyRef != nil:
		ref := vf.SecretKeyRef
		s, err := getSecret(ctx, src, pod.Namespace, ref.Name)
		if err != nil {
			if isOptional(ref.Optional) && errors.Is(err, api.ErrNotFound) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("secretKeyRef: %w", err)
		}
		if v, ok := s.Data[ref.Key]; ok {
			return string(v), true, nil
		}
		if isOptional(ref.Optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("secretKeyRef: secret %q has no key %q", ref.Name, ref.Key)
	case vf.FieldRef != nil:
		if v := vf.FieldRef.APIVersion; v != "" && v != "v1" {
			return "", false, fmt.Errorf("fieldRef: apiVersion %q is not supported: want v1", v)
		}
		v, err := FieldValue(pod, vf.FieldRef.FieldPath)
		if err != nil {
			return "", false, fmt.Errorf("fieldRef: %w", err)
		}
		return v, true, nil
	case vf.ResourceFieldRef != nil:
		name := vf.ResourceFieldRef.ContainerName
		if name == "" {
			name = c.Name
		}
		v, err := resourceValue(pod, c, name, vf.ResourceFieldRef, opts.NodeAllocatable)
		if err != nil {
			return "", false, err
		}
		return v, true, nil
	}
	return "", false, errors.New("valueFrom: none of configMapKeyRef, secretKeyRef, fieldRef and resourceFieldRef is set")
}

// resourceValue is ResourceValue, also finding c when it is not in pod's
// spec (a container the caller made up, or an ephemeral one).
func resourceValue(pod *api.Pod, c *api.Container, name string, sel *api.ResourceFieldSelector, alloc api.ResourceList) (string, error) {
	if name == c.Name && findContainer(pod, name) == nil {
		p := &api.Pod{ObjectMeta: pod.ObjectMeta, Spec: api.PodSpec{Containers: []api.Container{*c}}}
		return ResourceValue(p, name, sel, alloc)
	}
	return ResourceValue(pod, name, sel, alloc)
}

func getConfigMap(ctx context.Context, src Sources, namespace, name string) (*api.ConfigMap, error) {
	if src == nil {
		return nil, fmt.Errorf("configmap %q: no Sources to read it from", name)
	}
	cm, err := src.ConfigMap(ctx, namespace, name)
	if err != nil {
		if errors.Is(err, api.ErrNotFound) {
			return nil, &notFoundError{kind: "configmap", name: name, err: err}
		}
		return nil, fmt.Errorf("read configmap %q: %w", name, err)
	}
	return cm, nil
}

func getSecret(ctx context.Context, src Sources, namespace, name string) (*api.Secret, error) {
	if src == nil {
		return nil, fmt.Errorf("secret %q: no Sources to read it from", name)
	}
	s, err := src.Secret(ctx, namespace, name)
	if err != nil {
		if errors.Is(err, api.ErrNotFound) {
			return nil, &notFoundError{kind: "secret", name: name, err: err}
		}
		return nil, fmt.Errorf("read secret %q: %w", name, err)
	}
	return s, nil
}

func isOptional(b *bool) bool { return b != nil && *b }

// notFoundError says `configmap "name" not found` and matches
// api.ErrNotFound through the Sources' error it wraps.
type notFoundError struct {
	kind, name string
	err        error
}

func (e *notFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.kind, e.name) }
func (e *notFoundError) Unwrap() error { return e.err }
