package nodelifecycle

import (
	"slices"
	"time"

	"github.com/drover-io/drover/api"
)

// This file is the pure core of the node half of the controller: from a
// Node, its Lease and the time, whether the node agent has gone silent,
// what its conditions and taints should be, and when to look
// again. No I/O; tests call these functions directly.

// The taints the controller manages. A pod tolerates them for
// DefaultTolerationSeconds unless it says otherwise (the admission plugin
// of that name adds the tolerations).
const (
	// TaintNodeNotReady is on a node whose agent reports Ready=False.
	TaintNodeNotReady = "node.kubernetes.io/not-ready"
	// TaintNodeUnreachable is on a node whose agent has stopped
	// heartbeating (Ready=Unknown).
	TaintNodeUnreachable = "node.kubernetes.io/unreachable"
)

// LeaseNamespace holds the node agents' heartbeat Leases, one per node,
// named like the node.
const LeaseNamespace = "kube-node-lease"

// Reasons of the conditions the controller sets, and of its Events.
const (
	// ReasonNodeStatusUnknown is the reason of a condition set to Unknown
	// because the node agent stopped posting status.
	ReasonNodeStatusUnknown = "NodeStatusUnknown"
	// ReasonNodeStatusNeverUpdated is the reason of a condition set to
	// Unknown because the agent never posted it.
	ReasonNodeStatusNeverUpdated = "NodeStatusNeverUpdated"
	// ReasonNodeNotReady is the reason of the Event recorded on a node, and
	// of the Ready=False condition written to its pods, when it becomes
	// Unknown.
	ReasonNodeNotReady = "NodeNotReady"
	// ReasonTaintManagerEviction is the reason of the Event recorded on a
	// pod deleted because it does not tolerate a NoExecute taint (any
	// longer).
	ReasonTaintManagerEviction = "TaintManagerEviction"
)

// Messages of the conditions set to Unknown.
const (
	msgStoppedPosting = "Kubelet stopped posting node status."
	msgNeverPosted    = "Kubelet never posted node status."
)

// agentConditions are the node conditions the node agent owns, and the
// controller sets to Unknown when the agent goes silent.
var agentConditions = []api.NodeConditionType{api.NodeReady, api.NodeMemoryPressure, api.NodeDiskPressure, api.NodePIDPressure}

// nodeCondition returns the condition of type t of n, or nil.
func nodeCondition(n *api.Node, t api.NodeConditionType) *api.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// heartbeatDeadline returns when the node agent of n is considered gone if
// it does not heartbeat again: the newest of its Lease's renewTime and its
// Ready condition's lastHeartbeatTime, plus monitorGrace; or, for a node
// whose agent never posted a Ready condition, the newest of its creation
// and its Lease's renewTime plus startupGrace. lease may be nil.
func heartbeatDeadline(n *api.Node, lease *api.Lease, monitorGrace, startupGrace time.Duration) time.Time {
	var last time.Time
	if lease != nil && lease.Spec.RenewTime != nil {
		last = lease.Spec.RenewTime.Time
	}
	ready := nodeCondition(n, api.NodeReady)
	if ready == nil {
		return later(last, n.CreationTimestamp.Time).Add(startupGrace)
	}
	return later(last, ready.LastHeartbeatTime.Time).Add(monitorGrace)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// markUnknown sets every condition of n the agent owns to Unknown, as of
// now, and reports whether anything changed. A condition the agent never
// posted is added, with reason NodeStatusNeverUpdated.
func markUnknown(n *api.Node, now time.Time) bool {
	changed := false
	t := api.NewTime(now)
	for _, ct := range agentConditions {
		c := nodeCondition(n, ct)
		switch {
		case c == nil:
			n.Status.Conditions = append(n.Status.Conditions, api.NodeCondition{
				Type: ct, Status: api.ConditionUnknown,
				Reason: ReasonNodeStatusNeverUpdated, Message: msgNeverPosted,
				LastHeartbeatTime: n.CreationTimestamp, LastTransitionTime: t,
			})
			changed = true
		case c.Status != api.ConditionUnknown:
			c.Status = api.ConditionUnknown
			c.Reason, c.Message = ReasonNodeStatusUnknown, msgStoppedPosting
			c.LastTransitionTime = t
			changed = true
		}
	}
	return changed
}

// wantedTaint returns the key of the taints n's Ready condition calls
// for: TaintNodeNotReady for False, TaintNodeUnreachable for Unknown, ""
// for True or no condition. The controller puts that key on the node with
// two effects: NoSchedule at once, so that the scheduler places no new
// pod there (replacements tolerate the NoExecute taint for a while, and
// would otherwise land on the dead node), and NoExecute as the zone's rate
// limit allows, which evicts the pods that do not tolerate it.
func wantedTaint(n *api.Node) string {
	c := nodeCondition(n, api.NodeReady)
	if c == nil {
		return ""
	}
	switch c.Status {
	case api.ConditionFalse:
		return TaintNodeNotReady
	case api.ConditionUnknown:
		return TaintNodeUnreachable
	}
	return ""
}

// isConditionKey reports whether key is one of the controller's taint
// keys.
func isConditionKey(key string) bool {
	return key == TaintNodeNotReady || key == TaintNodeUnreachable
}

// isManagedTaint reports whether t is one of the controller's NoExecute
// taints.
func isManagedTaint(t *api.Taint) bool {
	return t.Effect == api.TaintEffectNoExecute && isConditionKey(t.Key)
}

// isControllerTaint reports whether t is one of the controller's taints,
// NoExecute or NoSchedule.
func isControllerTaint(t *api.Taint) bool {
	return (t.Effect == api.TaintEffectNoExecute || t.Effect == api.TaintEffectNoSchedule) && isConditionKey(t.Key)
}

// hasManagedTaint reports whether n carries one of the controller's
// NoExecute taints.
func hasManagedTaint(n *api.Node) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t api.Taint) bool { return isManagedTaint(&t) })
}

// setTaints makes the controller's taints of n be a NoSchedule taint of
// key noSchedule and a NoExecute taint of key noExecute (none for ""),
// keeping the other taints and the timeAdded of a NoExecute taint already
// there, and stamping a new one with now (a NoSchedule taint has no
// timeAdded). It reports whether anything changed.
func setTaints(n *api.Node, noSchedule, noExecute string, now time.Time) bool {
	changed := false
	kept := n.Spec.Taints[:0:0]
	haveSchedule, haveExecute := false, false
	for _, t := range n.Spec.Taints {
		if !isControllerTaint(&t) {
			kept = append(kept, t)
			continue
		}
		want, have := noExecute, &haveExecute
		if t.Effect == api.TaintEffectNoSchedule {
			want, have = noSchedule, &haveSchedule
		}
		if t.Key != want || *have {
			changed = true
			continue
		}
		*have = true
		kept = append(kept, t)
	}
	if noSchedule != "" && !haveSchedule {
		kept = append(kept, api.Taint{Key: noSchedule, Effect: api.TaintEffectNoSchedule})
		changed = true
	}
	if noExecute != "" && !haveExecute {
		added := api.NewTime(now)
		kept = append(kept, api.Taint{Key: noExecute, Effect: api.TaintEffectNoExecute, TimeAdded: &added})
		changed = true
	}
	if changed {
		n.Spec.Taints = kept
	}
	return changed
}
