package framework

// ClusterEvent is a change in the cluster that may make a pod that no
// node could take schedulable: a node added or changed, a pod bound
// elsewhere deleted. The scheduler reports each one it sees; a pod that
// plugins rejected leaves the unschedulable queue when an event one of
// those plugins registered for happens (or, failing that, after a
// timeout of five minutes).
type ClusterEvent string

// The cluster events the scheduler reports, and Any.
const (
	// NodeAdd: a node was added.
	NodeAdd ClusterEvent = "NodeAdd"
	// NodeLabelChange: a node's labels changed.
	NodeLabelChange ClusterEvent = "NodeLabelChange"
	// NodeTaintChange: a node's taints changed.
	NodeTaintChange ClusterEvent = "NodeTaintChange"
	// NodeAllocatableChange: a node's allocatable or capacity changed.
	NodeAllocatableChange ClusterEvent = "NodeAllocatableChange"
	// NodeSchedulableChange: a node's spec.unschedulable changed.
	NodeSchedulableChange ClusterEvent = "NodeSchedulableChange"
	// NodeUpdate is never reported itself; registered, it stands for
	// every node change above (labels, taints, allocatable, schedulable).
	NodeUpdate ClusterEvent = "NodeUpdate"
	// NodeDelete: a node was deleted.
	NodeDelete ClusterEvent = "NodeDelete"
	// AssignedPodAdd: a pod was bound to a node (or created bound).
	AssignedPodAdd ClusterEvent = "AssignedPodAdd"
	// AssignedPodUpdate: a bound pod's labels or resource requests
	// changed, or its deletion began (PodTopologySpread no longer counts
	// it).
	AssignedPodUpdate ClusterEvent = "AssignedPodUpdate"
	// AssignedPodDelete: a bound pod was deleted or finished, or a pod
	// assumed on a node failed to bind (the room it held is free again).
	AssignedPodDelete ClusterEvent = "AssignedPodDelete"
	// NamespaceLabelChange: a namespace's labels changed (the
	// namespaceSelector of pod affinity terms may select it now, or no
	// longer).
	NamespaceLabelChange ClusterEvent = "NamespaceLabelChange"
	// Any is never reported itself; registered, it stands for every
	// event.
	Any ClusterEvent = "*"
)

// EnqueueExtensions is an optional interface of the plugins that reject
// pods (PreFilter, Filter, Reserve, Permit): it says which cluster events
// may change the plugin's verdict, so that a pod it rejected is retried
// when one of them happens, and not on every change in the cluster.
//
// The scheduler calls EventsToRegister once, when it is made (New), from
// one goroutine. An empty list means no event helps: a pod the plugin
// rejected is retried only when the pod itself changes or after the
// unschedulable timeout. A plugin without EventsToRegister is taken to
// care about every event (Any), unless it is one of the default plugins,
// whose events the scheduler knows.
//
//	func (*Zone) EventsToRegister() []framework.ClusterEvent {
//		return []framework.ClusterEvent{framework.NodeAdd, framework.NodeLabelChange}
//	}
type EnqueueExtensions interface {
	Plugin
	EventsToRegister() []ClusterEvent
}

// IsNodeUpdate reports whether ev is a change of an existing node (what
// a plugin that registered NodeUpdate is moved by).
func (ev ClusterEvent) IsNodeUpdate() bool {
	switch ev {
	case NodeUpdate, NodeLabelChange, NodeTaintChange, NodeAllocatableChange, NodeSchedulableChange:
		return true
	}
	return false
}
