package registry_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/apiserver/registry"
)

// Gadget is a user kind with selectable fields of its own.
type Gadget struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Spec           GadgetSpec `json:"spec,omitzero"`
}

type GadgetSpec struct {
	Color string `json:"color,omitempty"`
	Size  int32  `json:"size,omitempty"`
}

func (g *Gadget) SelectableFields() fields.Set {
	return fields.Set{"spec.color": g.Spec.Color}
}

var gadgetGVK = api.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Gadget"}

func TestDefaultFields(t *testing.T) {
	for _, tc := range []struct {
		obj  api.Object
		want fields.Set
	}{
		{&api.Pod{
			Spec: api.PodSpec{NodeName: "n1", RestartPolicy: api.RestartPolicyAlways, SchedulerName: "s",
				ServiceAccountName: "sa", HostNetwork: true},
			Status: api.PodStatus{Phase: api.PodRunning, PodIP: "10.0.0.1", NominatedNodeName: "n2"},
		}, fields.Set{
			"spec.nodeName": "n1", "spec.restartPolicy": "Always", "spec.schedulerName": "s",
			"spec.serviceAccountName": "sa", "spec.hostNetwork": "true", "status.phase": "Running",
			"status.podIP": "10.0.0.1", "status.nominatedNodeName": "n2",
		}},
		{&api.Event{
			InvolvedObject: api.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "p", UID: "u", APIVersion: "v1",
				ResourceVersion: "7", FieldPath: "spec.containers{c}"},
			Reason: "Pulled", ReportingController: "kubelet", Source: api.EventSource{Component: "kubelet", Host: "h"},
			Type: api.EventTypeNormal,
		}, fields.Set{
			"involvedObject.kind": "Pod", "involvedObject.namespace": "ns", "involvedObject.name": "p",
			"involvedObject.uid": "u", "involvedObject.apiVersion": "v1", "involvedObject.resourceVersion": "7",
			"involvedObject.fieldPath": "spec.containers{c}", "reason": "Pulled", "reportingComponent": "kubelet",
			"source": "kubelet", "type": "Normal",
		}},
		{&api.Node{Spec: api.NodeSpec{Unschedulable: true}}, fields.Set{"spec.unschedulable": "true"}},
		{&api.Node{}, fields.Set{"spec.unschedulable": "false"}},
		{&api.Namespace{Status: api.NamespaceStatus{Phase: api.NamespaceTerminating}}, fields.Set{"status.phase": "Terminating"}},
		{&api.Secret{Type: api.SecretTypeTLS}, fields.Set{"type": "kubernetes.io/tls"}},
		{&api.Service{Spec: api.ServiceSpec{ClusterIP: "10.96.0.1", Type: api.ServiceTypeClusterIP}},
			fields.Set{"spec.clusterIP": "10.96.0.1", "spec.type": "ClusterIP"}},
		{&api.ReplicaSet{Status: api.ReplicaSetStatus{Replicas: 3}}, fields.Set{"status.replicas": "3"}},
		{&api.Job{Status: api.JobStatus{Succeeded: 2}}, fields.Set{"status.successful": "2"}},
	} {
		t.Run(reflectName(tc.obj), func(t *testing.T) {
			k, err := api.NewDefaultScheme().ObjectKind(tc.obj)
			require.NoError(t, err)
			f := registry.DefaultFields(k.GroupVersionKind)
			require.NotNil(t, f)
			require.Equal(t, tc.want, f(tc.obj))
			// Every field is there, empty, for an empty object.
			empty := f(k.New())
			require.Len(t, empty, len(tc.want))
		})
	}
	for _, gvk := range []api.GroupVersionKind{api.CoreV1.WithKind("ConfigMap"), api.AppsV1.WithKind("Deployment"), gadgetGVK} {
		require.Nil(t, registry.DefaultFields(gvk), "%s", gvk)
	}
}

func reflectName(obj api.Object) string {
	k, err := api.NewDefaultScheme().ObjectKind(obj)
	if err != nil {
		return "?"
	}
	return k.Kind
}

// TestFieldSelectors lists through field selectors: the defaults of the
// built-in kinds, a user kind's SelectableFields, and Options.Fields, which
// adds to the kind it names and no other.
func TestFieldSelectors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	require.NoError(t, api.Register[Gadget](e.scheme, api.Kind{GroupVersionKind: gadgetGVK, Resource: "gadgets", Namespaced: true}))
	opts := registry.Options{Fields: map[api.GroupVersionKind]registry.FieldsFunc{
		gadgetGVK: func(o api.Object) fields.Set {
			return fields.Set{"spec.size": strconv.Itoa(int(o.(*Gadget).Spec.Size))}
		},
		podGVK: func(o api.Object) fields.Set {
			return fields.Set{"spec.priorityClassName": o.(*api.Pod).Spec.PriorityClassName}
		},
	}}
	pods := e.registry(t, podGVK, opts)
	events := e.registry(t, api.CoreV1.WithKind("Event"), opts)
	nodes := e.registry(t, api.CoreV1.WithKind("Node"), opts)
	gadgets := e.registry(t, gadgetGVK, opts)
	deployments := e.registry(t, deploymentGVK, opts)

	p1, p2 := pod("default", "p1", nil), pod("default", "p2", nil)
	p1.Spec.NodeName, p1.Spec.PriorityClassName = "n1", "high"
	p2.Status.Phase = api.PodRunning
	for _, obj := range []api.Object{
		p1, p2,
		&api.Event{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "e1"}, InvolvedObject: api.ObjectReference{Kind: "Pod", Name: "p1", UID: "u1"}, Reason: "Scheduled"},
		&api.Event{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "e2"}, InvolvedObject: api.ObjectReference{Kind: "Pod", Name: "p2", UID: "u2"}, Reason: "Pulled"},
		&api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}, Spec: api.NodeSpec{Unschedulable: true}},
		&api.Node{ObjectMeta: api.ObjectMeta{Name: "n2"}},
		&Gadget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "g1"}, Spec: GadgetSpec{Color: "red", Size: 1}},
		&Gadget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "g2"}, Spec: GadgetSpec{Color: "blue", Size: 2}},
	} {
		var err error
		switch obj.(type) {
		case *api.Pod:
			_, err = createPod(ctx, pods, obj.(*api.Pod))
		case *api.Event:
			_, err = events.Create(ctx, obj, registry.CreateOptions{})
		case *api.Node:
			_, err = nodes.Create(ctx, obj, registry.CreateOptions{})
		case *Gadget:
			_, err = gadgets.Create(ctx, obj, registry.CreateOptions{})
		}
		require.NoError(t, err)
	}

	for _, tc := range []struct {
		name     string
		reg      *registry.Registry
		ns       string
		selector string
		want     []string // names; nil for a 400
	}{
		{"pod node", pods, "default", "spec.nodeName=n1", []string{"p1"}},
		{"pod unscheduled", pods, "", "spec.nodeName=", []string{"p2"}},
		{"pod phase", pods, "default", "status.phase=Running", []string{"p2"}},
		{"pod phase not", pods, "default", "status.phase!=Running", []string{"p1"}},
		{"pod option field", pods, "default", "spec.priorityClassName=high", []string{"p1"}},
		{"pod name", pods, "default", "metadata.name=p2", []string{"p2"}},
		{"event of an object", events, "default", "involvedObject.name=p1,involvedObject.uid=u1,involvedObject.kind=Pod", []string{"e1"}},
		{"event reason", events, "default", "reason=Pulled", []string{"e2"}},
		{"node unschedulable", nodes, "", "spec.unschedulable=true", []string{"n1"}},
		{"node schedulable", nodes, "", "spec.unschedulable=false", []string{"n2"}},
		{"user kind interface", gadgets, "default", "spec.color=blue", []string{"g2"}},
		{"user kind option", gadgets, "default", "spec.size=1", []string{"g1"}},
		{"user kind both", gadgets, "default", "spec.size=1,spec.color=blue", []string{}},
		{"unknown pod field", pods, "default", "spec.color=red", nil},
		{"option of another kind", deployments, "default", "spec.size=1", nil},
		{"namespace of a cluster kind", nodes, "", "metadata.namespace=x", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tc.reg.List(ctx, tc.ns, registry.ListOptions{FieldSelector: mustFields(t, tc.selector)})
			if tc.want == nil {
				requireStatus(t, err, api.StatusReasonBadRequest, http.StatusBadRequest)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, listNames(t, l))
		})
	}
}

func listNames(t *testing.T, l api.ListObject) []string {
	t.Helper()
	out := []string{}
	switch l := l.(type) {
	case *api.PodList:
		for _, o := range l.Items {
			out = append(out, o.Name)
		}
	case *api.EventList:
		for _, o := range l.Items {
			out = append(out, o.Name)
		}
	case *api.NodeList:
		for _, o := range l.Items {
			out = append(out, o.Name)
		}
	case *api.List[Gadget]:
		for _, o := range l.Items {
			out = append(out, o.Name)
		}
	default:
		t.Fatalf("unexpected list %T", l)
	}
	return out
}
