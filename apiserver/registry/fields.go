package registry

import (
	"maps"
	"strconv"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
)

// FieldsFunc returns the selectable fields of an object of one kind, beyond
// metadata.name and metadata.namespace, which every kind has. It must
// return every field it supports, with "" for an empty value, for any
// object of the kind (an empty one included): the registry learns the
// supported fields by calling it on an empty object, and refuses a field
// selector on any other field with 400. It is called from any number of
// goroutines and must not modify the object.
type FieldsFunc func(api.Object) fields.Set

// FieldSelectable is the optional interface of a kind's Go type whose
// objects have selectable fields of their own: a user kind implements it to
// make `kubectl get --field-selector` work on its fields, with the same
// rules as a FieldsFunc.
//
//	func (w *Widget) SelectableFields() fields.Set {
//		return fields.Set{"spec.size": strconv.Itoa(int(w.Spec.Size))}
//	}
type FieldSelectable interface {
	SelectableFields() fields.Set
}

// defaultFields are the selectable fields of the built-in kinds, the ones
// Kubernetes offers (kubectl describe selects events by involvedObject),
// with the JSON paths of the members each function reads: a watch with a
// selector decodes only those (sparseDecoder), and TestSparseDecodeMatches
// checks that they are all the function reads.
var defaultFields = map[api.GroupVersionKind]struct {
	fn    FieldsFunc
	paths []string
}{
	api.CoreV1.WithKind("Pod"): {PodFields, []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
		"spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}},
	api.CoreV1.WithKind("Event"):      {eventFields, []string{"involvedObject", "reason", "reportingComponent", "source.component", "type"}},
	api.CoreV1.WithKind("Node"):       {nodeFields, []string{"spec.unschedulable"}},
	api.CoreV1.WithKind("Namespace"):  {namespaceFields, []string{"status.phase"}},
	api.CoreV1.WithKind("Secret"):     {secretFields, []string{"type"}},
	api.CoreV1.WithKind("Service"):    {serviceFields, []string{"spec.clusterIP", "spec.type"}},
	api.AppsV1.WithKind("ReplicaSet"): {replicaSetFields, []string{"status.replicas"}},
	api.BatchV1.WithKind("Job"):       {jobFields, []string{"status.succeeded"}},
}

// DefaultFields returns the selectable fields of the built-in kind gvk
// beyond metadata.name and metadata.namespace, or nil if it has none:
//
//	v1 Pod          spec.nodeName, spec.restartPolicy, spec.schedulerName,
//	                spec.serviceAccountName, spec.hostNetwork, status.phase,
//	                status.podIP, status.nominatedNodeName
//	v1 Event        involvedObject.kind, .namespace, .name, .uid,
//	                .apiVersion, .resourceVersion, .fieldPath, reason,
//	                reportingComponent, source, type
//	v1 Node         spec.unschedulable
//	v1 Namespace    status.phase
//	v1 Secret       type
//	v1 Service      spec.clusterIP, spec.type
//	apps/v1 ReplicaSet  status.replicas
//	batch/v1 Job    status.successful
func DefaultFields(gvk api.GroupVersionKind) FieldsFunc { return defaultFields[gvk].fn }

// PodFields returns the selectable fields of a Pod (see DefaultFields).
// For any other object it returns nil.
func PodFields(obj api.Object) fields.Set {
	p, ok := obj.(*api.Pod)
	if !ok {
		return nil
	}
	return fields.Set{
		"spec.nodeName":            p.Spec.NodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             p.Status.PodIP,
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}
}

func eventFields(obj api.Object) fields.Set {
	e, ok := obj.(*api.Event)
	if !ok {
		return nil
	}
	io := e.InvolvedObject
	return fields.Set{
		"involvedObject.kind":            io.Kind,
		"involvedObject.namespace":       io.Namespace,
		"involvedObject.name":            io.Name,
		"involvedObject.uid":             string(io.UID),
		"involvedObject.apiVersion":      io.APIVersion,
		"involvedObject.resourceVersion": io.ResourceVersion,
		"involvedObject.fieldPath":       io.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         e.Source.Component,
		"type":                           string(e.Type),
	}
}

func nodeFields(obj api.Object) fields.Set {
	n, ok := obj.(*api.Node)
	if !ok {
		return nil
	}
	return fields.Set{"spec.unschedulable": strconv.FormatBool(n.Spec.Unschedulable)}
}

func namespaceFields(obj api.Object) fields.Set {
	n, ok := obj.(*api.Namespace)
	if !ok {
		return nil
	}
	return fields.Set{"status.phase": string(n.Status.Phase)}
}

func secretFields(obj api.Object) fields.Set {
	s, ok := obj.(*api.Secret)
	if !ok {
		return nil
	}
	return fields.Set{"type": string(s.Type)}
}

func serviceFields(obj api.Object) fields.Set {
	s, ok := obj.(*api.Service)
	if !ok {
		return nil
	}
	return fields.Set{"spec.clusterIP": s.Spec.ClusterIP, "spec.type": string(s.Spec.Type)}
}

func replicaSetFields(obj api.Object) fields.Set {
	rs, ok := obj.(*api.ReplicaSet)
	if !ok {
		return nil
	}
	return fields.Set{"status.replicas": strconv.Itoa(int(rs.Status.Replicas))}
}

func jobFields(obj api.Object) fields.Set {
	j, ok := obj.(*api.Job)
	if !ok {
		return nil
	}
	return fields.Set{"status.successful": strconv.Itoa(int(j.Status.Succeeded))}
}

// fieldFuncs returns the functions that give kind's selectable fields, in
// the order they are merged: the built-in defaults, the Go type's
// SelectableFields, then opts.Fields for the kind; and a sparse decoder of
// what they and the labels read, or nil if a function of the user's might
// read anything.
func fieldFuncs(k api.Kind, opts Options) ([]FieldsFunc, *sparseDecoder) {
	var fns []FieldsFunc
	def, builtin := defaultFields[k.GroupVersionKind]
	if builtin {
		fns = append(fns, def.fn)
	}
	known := true
	if _, ok := k.New().(FieldSelectable); ok {
		fns = append(fns, func(obj api.Object) fields.Set { return obj.(FieldSelectable).SelectableFields() })
		known = false
	}
	if f := opts.Fields[k.GroupVersionKind]; f != nil {
		fns = append(fns, f)
		known = false
	}
	if !known {
		return fns, nil
	}
	sparse, err := newSparseDecoder(k, def.paths)
	if err != nil {
		// A Go type the paths do not fit (a user's type registered under
		// a built-in kind, a layout encoding/json resolves by rules the
		// sparse decoder does not repeat): decoded whole. The built-in
		// types' own decoders are tested (TestSparseDecodeMatches).
		return fns, nil
	}
	return fns, sparse
}

// fieldSet returns every selectable field of obj.
func (r *Registry) fieldSet(obj api.Object) fields.Set {
	m := obj.GetObjectMeta()
	fs := fields.Set{"metadata.name": m.Name}
	if r.kind.Namespaced {
		fs["metadata.namespace"] = m.Namespace
	}
	for _, f := range r.fields {
		maps.Copy(fs, f(obj))
	}
	return fs
}
