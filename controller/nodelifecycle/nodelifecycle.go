// Package nodelifecycle is the node lifecycle controller: it notices node
// agents that stop heartbeating, taints their nodes, and evicts the pods
// that do not tolerate the taints, so that their controllers replace them
// on healthy nodes.
//
// A node agent heartbeats by renewing its Lease (namespace kube-node-lease,
// named like the node) and by posting its Node's Ready condition. When the
// newer of the two is older than NodeMonitorGracePeriod (40 s;
// NodeStartupGracePeriod, 60 s from creation, for an agent that never
// posted a Ready condition), the controller sets the conditions the agent
// owns (Ready, MemoryPressure, DiskPressure, PIDPressure) to Unknown with
// reason NodeStatusUnknown, and marks the node's pods Ready=False. The
// node's Ready condition then decides its taints:
// node.kubernetes.io/unreachable for Unknown, node.kubernetes.io/not-ready
// for False (as the agent reports it), none for True: a node that comes
// back and reports Ready=True is untainted. Each key is put on the node
// twice: with effect NoSchedule at once, so that the scheduler places no
// new pod there (a replacement tolerates the NoExecute taint for 300 s,
// and would otherwise be bound to the dead node), and with effect
// NoExecute, which evicts.
//
// # Eviction
//
// The NoExecute taint manager deletes each pod on a node with a NoExecute
// taint (the controller's or anyone's) that it does not tolerate, at once;
// a pod that tolerates it for tolerationSeconds is deleted that long after
// the taint's timeAdded; a pod that tolerates it without tolerationSeconds
// stays. Each deletion records the Event TaintManagerEviction on the pod.
// Pods get tolerations of the controller's taints for 300 s at creation
// from the admission plugin DefaultTolerationSeconds.
//
// # Rate limit
//
// Tainting a healthy node NoExecute is what evicts its pods, so it is rate
// limited per zone (label topology.kubernetes.io/zone; nodes without it
// share one zone), as in Kubernetes: a token bucket of EvictionRate nodes a
// second (0.1) with EvictionBurst (1); a token taken for a taint whose
// write fails is given back, for the retry. When at least UnhealthyZoneThreshold
// (55%) of a zone's nodes, and more than two, are not ready, the zone's rate
// drops to SecondaryEvictionRate (0.01) if it has more than
// LargeClusterSizeThreshold (50) nodes, and to 0 otherwise; when no node of
// any zone is ready (the controller has most likely lost the network, not
// the nodes), no node is tainted NoExecute. Setting conditions to Unknown,
// the NoSchedule taints (they evict nothing), swapping a not-ready taint
// for an unreachable one, and removing taints are never limited. A node kept waiting by a rate of 0 is looked at again every
// DisruptionRecheckInterval.
//
// # Time
//
// Every deadline (a heartbeat's expiry, a pod's tolerationSeconds, a
// token) is met by requeueing the node at exactly that time on the
// controller's clock; nothing polls. Tests move a fake clock.
package nodelifecycle

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/controller"
)

// Name is the controller's name: its metrics, logs, events' source and the
// key operators enable it by.
const Name = "nodelifecycle"

// LabelZone is the node label that names its zone for the rate limit.
const LabelZone = "topology.kubernetes.io/zone"

// Defaults of Options.
const (
	DefaultWorkers                   = 5
	DefaultNodeMonitorGracePeriod    = 40 * time.Second
	DefaultNodeStartupGracePeriod    = 60 * time.Second
	DefaultEvictionRate              = 0.1
	DefaultEvictionBurst             = 1
	DefaultSecondaryEvictionRate     = 0.01
	DefaultLargeClusterSizeThreshold = 50
	DefaultUnhealthyZoneThreshold    = 0.55
	DefaultDisruptionRecheckInterval = 5 * time.Second
)

// Clock is the controller's source of time: Now for the decisions,
// AfterFunc for the work queue's requeues. A fakeclock.Clock is one.
type Clock = workqueue.Clock

// Options configures the controller. The zero value is the default
// configuration.
type Options struct {
	// Workers is how many nodes are reconciled at once. 0 means
	// DefaultWorkers.
	Workers int
	// NodeMonitorGracePeriod is how long a node agent may go without a
	// heartbeat before its node is Unknown. 0 means
	// DefaultNodeMonitorGracePeriod (40 s).
	NodeMonitorGracePeriod time.Duration
	// NodeStartupGracePeriod is how long after its creation a node whose
	// agent never posted a Ready condition may stay so before it is
	// Unknown. 0 means DefaultNodeStartupGracePeriod (60 s).
	NodeStartupGracePeriod time.Duration
	// EvictionRate is how many nodes a second, per zone, may be newly
	// tainted NoExecute in a healthy zone. 0 means DefaultEvictionRate
	// (0.1); negative means no limit.
	EvictionRate float64
	// EvictionBurst is how many nodes of a zone may be tainted at once
	// before EvictionRate applies. 0 means DefaultEvictionBurst (1).
	EvictionBurst int
	// SecondaryEvictionRate is EvictionRate in a large zone with many nodes
	// not ready. 0 means DefaultSecondaryEvictionRate (0.01); negative
	// means none (no tainting in such a zone).
	SecondaryEvictionRate float64
	// LargeClusterSizeThreshold is the number of nodes above which a zone
	// is large. 0 means DefaultLargeClusterSizeThreshold (50).
	LargeClusterSizeThreshold int
	// UnhealthyZoneThreshold is the share of not-ready nodes (of more than
	// two) at which a zone is partially disrupted, in (0, 1]. 0 means
	// DefaultUnhealthyZoneThreshold (0.55).
	UnhealthyZoneThreshold float64
	// DisruptionRecheckInterval is how often a node whose taint waits on
	// a zone rate of 0 is looked at again. 0 means
	// DefaultDisruptionRecheckInterval (5 s).
	DisruptionRecheckInterval time.Duration
	// Clock gives the time and runs the requeues. nil means the
	// Manager's clock.
	Clock Clock
}

// Validate reports the first field of o that is wrong.
func (o Options) Validate() error {
	switch {
	case o.Workers < 0:
		return fmt.Errorf("nodelifecycle: Options.Workers is %d: must be positive, or 0 for the default (%d)", o.Workers, DefaultWorkers)
	case o.NodeMonitorGracePeriod < 0:
		return fmt.Errorf("nodelifecycle: Options.NodeMonitorGracePeriod is %v: must be positive, or 0 for the default (%v)", o.NodeMonitorGracePeriod, DefaultNodeMonitorGracePeriod)
	case o.NodeStartupGracePeriod < 0:
		return fmt.Errorf("nodelifecycle: Options.NodeStartupGracePeriod is %v: must be positive, or 0 for the default (%v)", o.NodeStartupGracePeriod, DefaultNodeStartupGracePeriod)
	case o.EvictionBurst < 0:
		return fmt.Errorf("nodelifecycle: Options.EvictionBurst is %d: must be positive, or 0 for the default (%d)", o.EvictionBurst, DefaultEvictionBurst)
	case o.LargeClusterSizeThreshold < 0:
		return fmt.Errorf("nodelifecycle: Options.LargeClusterSizeThreshold is %d: must be positive, or 0 for the default (%d)", o.LargeClusterSizeThreshold, DefaultLargeClusterSizeThreshold)
	case o.UnhealthyZoneThreshold < 0 || o.UnhealthyZoneThreshold > 1:
		return fmt.Errorf("nodelifecycle: Options.UnhealthyZoneThreshold is %v: must be in (0, 1], or 0 for the default (%v)", o.UnhealthyZoneThreshold, DefaultUnhealthyZoneThreshold)
	case o.DisruptionRecheckInterval < 0:
		return fmt.Errorf("nodelifecycle: Options.DisruptionRecheckInterval is %v: must be positive, or 0 for the default (%v)", o.DisruptionRecheckInterval, DefaultDisruptionRecheckInterval)
	}
	return nil
}

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.NodeMonitorGracePeriod == 0 {
		o.NodeMonitorGracePeriod = DefaultNodeMonitorGracePeriod
	}
	if o.NodeStartupGracePeriod == 0 {
		o.NodeStartupGracePeriod = DefaultNodeStartupGracePeriod
	}
	if o.EvictionRate == 0 {
		o.EvictionRate = DefaultEvictionRate
	}
	if o.EvictionBurst == 0 {
		o.EvictionBurst = DefaultEvictionBurst
	}
	if o.SecondaryEvictionRate == 0 {
		o.SecondaryEvictionRate = DefaultSecondaryEvictionRate
	}
	if o.LargeClusterSizeThreshold == 0 {
		o.LargeClusterSizeThreshold = DefaultLargeClusterSizeThreshold
	}
	if o.UnhealthyZoneThreshold == 0 {
		o.UnhealthyZoneThreshold = DefaultUnhealthyZoneThreshold
	}
	if o.DisruptionRecheckInterval == 0 {
		o.DisruptionRecheckInterval = DefaultDisruptionRecheckInterval
	}
	return o
}

// podNodeIndex indexes the pods of the shared cache by spec.nodeName.
const podNodeIndex = "nodelifecycle:spec.nodeName"

// Add builds the controller with opts and adds it to m (it runs under m's
// leader election). It reconciles Nodes, on their changes, their Leases'
// and those of pods bound to them (a pod bound, or its tolerations
// changed).
func Add(m *controller.Manager, opts Options) error { return add(m, opts, nil) }

// add is Add; wrap, if not nil, wraps the reconciler (tests observe its
// calls).
func add(m *controller.Manager, opts Options, wrap func(controller.Reconciler) controller.Reconciler) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	opts = opts.withDefaults()
	if opts.Clock == nil {
		opts.Clock = m.Clock()
	}
	nodes, err := controller.Lister[*api.Node](m)
	if err != nil {
		return fmt.Errorf("nodelifecycle: %w", err)
	}
	leases, err := controller.Lister[*api.Lease](m)
	if err != nil {
		return fmt.Errorf("nodelifecycle: %w", err)
	}
	podInf, pods, err := informer.For[*api.Pod](m.Informers())
	if err != nil {
		return fmt.Errorf("nodelifecycle: %w", err)
	}
	err = podInf.Cache().AddIndexers(informer.Indexers{podNodeIndex: func(obj api.Object) []string {
		if p, ok := obj.(*api.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}
		}
		return nil
	}})
	if err != nil {
		return fmt.Errorf("nodelifecycle: %w", err)
	}
	rec, err := m.EventRecorder(Name)
	if err != nil {
		return fmt.Errorf("nodelifecycle: %w", err)
	}
	var r controller.Reconciler = newReconciler(m.GetClient(), nodes, leases, pods, rec, opts)
	if wrap != nil {
		r = wrap(r)
	}
	return controller.NewControllerManagedBy(m).
		Named(Name).
		For(&api.Node{}).
		Watches(&api.Lease{}, leaseToNode).
		Watches(&api.Pod{}, podToNode, controller.PredicateFunc(podMatters)).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers, Clock: opts.Clock}).
		Complete(r)
}

// leaseToNode maps a node agent's Lease to its Node.
func leaseToNode(_ context.Context, obj api.Object) []controller.Request {
	m := obj.GetObjectMeta()
	if m.Namespace != LeaseNamespace {
		return nil
	}
	return []controller.Request{{Name: m.Name}}
}

// podToNode maps a pod to the Node it is bound to.
func podToNode(_ context.Context, obj api.Object) []controller.Request {
	if p, ok := obj.(*api.Pod); ok && p.Spec.NodeName != "" {
		return []controller.Request{{Name: p.Spec.NodeName}}
	}
	return nil
}

// podMatters passes the pod changes that can change what the taint
// manager does: a pod created on a node, bound, or given tolerations. A
// pod's status changes, which are most of them, do not pass.
func podMatters(ev controller.Event) bool {
	p, ok := ev.Object.(*api.Pod)
	if !ok || p.Spec.NodeName == "" {
		return false
	}
	switch ev.Type {
	case controller.Create:
		return true
	case controller.Update:
		old, ok := ev.Old.(*api.Pod)
		return !ok || old.Spec.NodeName != p.Spec.NodeName || !slices.EqualFunc(old.Spec.Tolerations, p.Spec.Tolerations, sameToleration)
	}
	return false
}

func sameToleration(a, b api.Toleration) bool {
	as, bs := a.TolerationSeconds, b.TolerationSeconds
	a.TolerationSeconds, b.TolerationSeconds = nil, nil
	return a == b && (as == nil) == (bs == nil) && (as == nil || *as == *bs)
}
