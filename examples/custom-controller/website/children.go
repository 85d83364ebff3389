package website

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/drover-io/drover/api"
)

// This file is the pure core of the controller: functions of a Website
// (and of what exists) that say what should exist. They do no I/O, so the
// tests call them directly; reconciler.go feeds them.

// ContainerName is the name of the container that serves the website in
// the pods of its Deployment, and PortName the name of its port, which
// the Service targets.
const (
	ContainerName = "web"
	PortName      = "http"
)

// ErrNotOwned is what a NotOwnedError is (errors.Is).
var ErrNotOwned = errors.New("website: the object is not controlled by the Website")

// NotOwnedError reports a Deployment or Service that has the Website's
// name but is not controlled by the Website: the controller leaves it
// alone rather than take over something it did not make.
type NotOwnedError struct {
	// Kind and Key name the object: "Deployment", "default/hello".
	Kind, Key string
	// Controller is the object's controller reference, nil if it has none.
	Controller *api.OwnerReference
	// UID is the Website's.
	UID api.UID
}

func (e *NotOwnedError) Error() string {
	if e.Controller == nil {
		return fmt.Sprintf("%s %s exists and has no controller: delete it, or rename the Website", e.Kind, e.Key)
	}
	return fmt.Sprintf("%s %s exists and is controlled by %s %s (uid %s), not by this Website (uid %s): delete it, or rename the Website",
		e.Kind, e.Key, e.Controller.Kind, e.Controller.Name, e.Controller.UID, e.UID)
}

// Is makes errors.Is(err, ErrNotOwned) true.
func (e *NotOwnedError) Is(target error) bool { return target == ErrNotOwned }

// Labels returns the labels of w's Deployment, Service and pods: app=<name>.
// The Deployment and the Service select the pods by them.
func Labels(w *Website) map[string]string { return map[string]string{"app": w.Name} }

// replicas returns the replicas w asks for, with the default if unset (the
// API server has always set it; a Website built in Go may not have).
func replicas(w *Website) int32 {
	if w.Spec.Replicas == nil {
		return DefaultReplicas
	}
	return *w.Spec.Replicas
}

// port returns the port w asks for, with the default if unset.
func port(w *Website) int32 {
	if w.Spec.Port == 0 {
		return DefaultPort
	}
	return w.Spec.Port
}

// URL returns where w is served inside the cluster: its Service's DNS name
// and port.
func URL(w *Website) string {
	return fmt.Sprintf("http://%s.%s.svc:%d", w.Name, w.Namespace, port(w))
}

// ownerRef returns the owner reference that makes w the controller of an
// object: the garbage collector deletes the object when w is gone, and the
// controller's Owns watch maps the object's changes back to w.
func ownerRef(w *Website) api.OwnerReference {
	return api.OwnerReference{
		APIVersion:         GroupVersion.String(),
		Kind:               kind.Kind,
		Name:               w.Name,
		UID:                w.UID,
		Controller:         new(true),
		BlockOwnerDeletion: new(true),
	}
}

// checkOwner returns nil if w controls the object with metadata m, and a
// *NotOwnedError otherwise: the object is someone else's, or nobody's
// (made by hand), or was made for an earlier Website of the same name
// that the garbage collector has not deleted yet.
func checkOwner(m *api.ObjectMeta, objKind string, w *Website) error {
	ref := m.ControllerRef()
	if ref != nil && ref.UID == w.UID {
		return nil
	}
	return &NotOwnedError{Kind: objKind, Key: m.Key(), Controller: ref, UID: w.UID}
}

// applyDeployment sets the fields of d that the controller manages, from
// w, and leaves the rest (what the API server defaulted, what others set)
// alone, so that applying it to a Deployment that is as wanted changes
// nothing. d is new (only its name and namespace set) or one that w
// controls.
func applyDeployment(d *api.Deployment, w *Website) {
	labels := Labels(w)
	d.Labels = withLabels(d.Labels, labels)
	if d.ControllerRef() == nil {
		d.OwnerReferences = append(d.OwnerReferences, ownerRef(w))
	}
	d.Spec.Replicas = new(replicas(w))
	if d.Spec.Selector == nil { // immutable once set
		d.Spec.Selector = &api.LabelSelector{MatchLabels: labels}
	}
	d.Spec.Template.Labels = withLabels(d.Spec.Template.Labels, labels)
	pod := &d.Spec.Template.Spec
	i := containerIndex(pod, ContainerName)
	if i < 0 {
		pod.Containers = append(pod.Containers, api.Container{Name: ContainerName})
		i = len(pod.Containers) - 1
	}
	c := &pod.Containers[i]
	c.Image = w.Spec.Image
	c.Ports = []api.ContainerPort{{Name: PortName, ContainerPort: port(w), Protocol: api.ProtocolTCP}}
}

// applyService sets the fields of s that the controller manages, from w:
// a ClusterIP Service of w's port that sends traffic to the named port of
// the pods labelled app=<name>. As applyDeployment, it leaves the rest
// alone (the cluster IP above all).
func applyService(s *api.Service, w *Website) {
	labels := Labels(w)
	s.Labels = withLabels(s.Labels, labels)
	if s.ControllerRef() == nil {
		s.OwnerReferences = append(s.OwnerReferences, ownerRef(w))
	}
	s.Spec.Type = api.ServiceTypeClusterIP
	s.Spec.Selector = labels
	s.Spec.Ports = []api.ServicePort{{
		Name:       PortName,
		Protocol:   api.ProtocolTCP,
		Port:       port(w),
		TargetPort: api.FromString(PortName),
	}}
}

// withLabels returns have with want's labels added, as a new map: have
// may be a cached object's.
func withLabels(have, want map[string]string) map[string]string {
	out := maps.Clone(have)
	if out == nil {
		out = make(map[string]string, len(want))
	}
	maps.Copy(out, want)
	return out
}

func containerIndex(pod *api.PodSpec, name string) int {
	for i := range pod.Containers {
		if pod.Containers[i].Name == name {
			return i
		}
	}
	return -1
}

// Reasons of the Ready condition.
const (
	ReasonReady             = "ReplicasReady"
	ReasonNotReady          = "ReplicasNotReady"
	ReasonRolloutInProgress = "RolloutInProgress"
	ReasonNotOwned          = "NotOwned"
	ReasonFailed            = "ReconcileFailed"
)

// nextStatus returns the status w should report, given its Deployment and
// Service as they are now (nil if they do not exist) and the error, if
// any, that kept the controller from making them as wanted. now is the
// time of a change of the Ready condition.
//
// Ready is True when the Deployment's controller has seen the current
// Deployment spec (its status.observedGeneration) and at least the
// wanted replicas are ready, and the Service exists.
func nextStatus(w *Website, dep *api.Deployment, svc *api.Service, problem error, now time.Time) WebsiteStatus {
	st := WebsiteStatus{ObservedGeneration: w.Generation}
	if dep != nil {
		st.ReadyReplicas = dep.Status.ReadyReplicas
	}
	if svc != nil {
		st.URL = URL(w)
	}
	want := replicas(w)
	ready := Condition{Type: ConditionReady, Status: api.ConditionFalse, ObservedGeneration: w.Generation}
	switch {
	case errors.Is(problem, ErrNotOwned):
		ready.Reason, ready.Message = ReasonNotOwned, oneLine(problem)
	case problem != nil:
		ready.Reason, ready.Message = ReasonFailed, oneLine(problem)
	case dep == nil || svc == nil:
		ready.Reason, ready.Message = ReasonRolloutInProgress, "creating the Deployment and the Service"
	case dep.Status.ObservedGeneration < dep.Generation:
		ready.Reason = ReasonRolloutInProgress
		ready.Message = fmt.Sprintf("waiting for the Deployment's controller to observe generation %d (it has seen %d)",
			dep.Generation, dep.Status.ObservedGeneration)
	case dep.Status.ReadyReplicas < want:
		ready.Reason = ReasonNotReady
		ready.Message = fmt.Sprintf("%d of %d replicas ready", dep.Status.ReadyReplicas, want)
	default:
		ready.Status, ready.Reason = api.ConditionTrue, ReasonReady
		ready.Message = fmt.Sprintf("%d of %d replicas ready", dep.Status.ReadyReplicas, want)
	}
	st.Conditions = setCondition(w.Status.Conditions, ready, now)
	return st
}

// oneLine returns the message of err on one line: errors.Join puts each
// error on a line of its own.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// setCondition returns conds with c in place of the condition of its type,
// as a new slice: conds may be a cached object's. c's LastTransitionTime is
// kept from the old condition when the status did not change, and is now
// when it did.
func setCondition(conds []Condition, c Condition, now time.Time) []Condition {
	out := make([]Condition, 0, len(conds)+1)
	c.LastTransitionTime = api.NewTime(now)
	found := false
	for _, old := range conds {
		if old.Type != c.Type {
			out = append(out, old)
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		out = append(out, c)
		found = true
	}
	if !found {
		out = append(out, c)
	}
	return out
}
