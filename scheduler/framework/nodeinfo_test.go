package framework

import (
	"testing"

	"github.com/drover-io/drover/api"
)

// TestRemovePodKeepsSharedHostPort: two pods on a node hold the same
// host port (both bound to it directly, past the NodePorts filter);
// removing one leaves the port in use by the other.
func TestRemovePodKeepsSharedHostPort(t *testing.T) {
	withPort := func(name string) *api.Pod {
		return &api.Pod{
			ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, UID: api.UID(name)},
			Spec: api.PodSpec{NodeName: "n1", Containers: []api.Container{{
				Name: "c", Image: "busybox", Ports: []api.ContainerPort{{ContainerPort: 80, HostPort: 8080}},
			}}},
		}
	}
	a, b := withPort("a"), withPort("b")
	n := NewNodeInfo(&api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}, a, b)
	if !n.RemovePod(a) {
		t.Fatal("pod a not found on the node")
	}
	hp := HostPort{Protocol: api.ProtocolTCP, Port: 8080}
	if _, ok := n.UsedPorts[hp]; !ok {
		t.Errorf("after removing a, UsedPorts %v lacks %v, which b still holds", n.UsedPorts, hp)
	}
	n.RemovePod(b)
	if len(n.UsedPorts) != 0 {
		t.Errorf("after removing both, UsedPorts is %v, want empty", n.UsedPorts)
	}
}

// TestNodeInfoName: Name is the node's name through SetNode and Clone, and
// follows a Node set directly.
func TestNodeInfoName(t *testing.T) {
	var nilInfo *NodeInfo
	if got := nilInfo.Name(); got != "" {
		t.Fatalf("nil NodeInfo: Name() = %q", got)
	}
	n := NewNodeInfo(&api.Node{ObjectMeta: api.ObjectMeta{Name: "a"}})
	if got := n.Name(); got != "a" {
		t.Fatalf("Name() = %q, want a", got)
	}
	if got := n.Clone().Name(); got != "a" {
		t.Fatalf("clone: Name() = %q, want a", got)
	}
	n.SetNode(&api.Node{ObjectMeta: api.ObjectMeta{Name: "b"}})
	if got := n.Name(); got != "b" {
		t.Fatalf("after SetNode: Name() = %q, want b", got)
	}
	n.Node = &api.Node{ObjectMeta: api.ObjectMeta{Name: "c"}}
	if got := n.Name(); got != "c" {
		t.Fatalf("Node set directly: Name() = %q, want c", got)
	}
	if got := (&NodeInfo{Node: &api.Node{ObjectMeta: api.ObjectMeta{Name: "d"}}}).Name(); got != "d" {
		t.Fatalf("literal: Name() = %q, want d", got)
	}
	n.SetNode(nil)
	if got := n.Name(); got != "" {
		t.Fatalf("no node: Name() = %q", got)
	}
}

// TestNodeInfoSpecFields: Unschedulable and Taints are the node's through
// SetNode and Clone, and follow a Node set directly or in a literal.
func TestNodeInfoSpecFields(t *testing.T) {
	taint := []api.Taint{{Key: "k", Value: "v", Effect: api.TaintEffectNoSchedule}}
	node := func(unschedulable bool, taints []api.Taint) *api.Node {
		return &api.Node{ObjectMeta: api.ObjectMeta{Name: "n"}, Spec: api.NodeSpec{Unschedulable: unschedulable, Taints: taints}}
	}
	check := func(what string, n *NodeInfo, unschedulable bool, taints []api.Taint) {
		t.Helper()
		if got := n.Unschedulable(); got != unschedulable {
			t.Errorf("%s: Unschedulable() = %t, want %t", what, got, unschedulable)
		}
		if got := n.Taints(); len(got) != len(taints) || (len(got) > 0 && got[0] != taints[0]) {
			t.Errorf("%s: Taints() = %v, want %v", what, got, taints)
		}
	}
	var nilInfo *NodeInfo
	check("nil NodeInfo", nilInfo, false, nil)
	n := NewNodeInfo(node(true, taint))
	check("NewNodeInfo", n, true, taint)
	check("clone", n.Clone(), true, taint)
	n.SetNode(node(false, nil))
	check("after SetNode", n, false, nil)
	n.Node = node(true, taint)
	check("Node set directly", n, true, taint)
	check("literal", &NodeInfo{Node: node(true, taint)}, true, taint)
	n.SetNode(nil)
	check("SetNode(nil)", n, false, nil)
}
