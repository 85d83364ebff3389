// Package daemonset is the DaemonSet controller: it runs one pod of each
// DaemonSet on every node that should run it, replaces those pods when the
// template changes, and reports the rollout in the DaemonSet's status.
//
// For every DaemonSet it:
//
//   - decides which nodes should run its pod: nodes not being deleted
//     that match the template's nodeSelector and required node affinity,
//     and whose NoSchedule and NoExecute taints the template tolerates,
//     together with the tolerations every daemon pod gets
//     (node.kubernetes.io/not-ready and unreachable with NoExecute and no
//     time limit; disk-pressure, memory-pressure, pid-pressure and
//     unschedulable with NoSchedule). A pod already on a node with a new
//     NoSchedule taint it does not tolerate keeps running there; one on a
//     node it no longer matches, or with an untolerated NoExecute taint,
//     is deleted (misscheduled);
//   - creates a pod for each node that should run one and has none,
//     pinned to the node by a required node affinity term
//     (matchFields metadata.name In [node]) that replaces the template's
//     required terms, so the scheduler places it there (and checks its
//     resources); the pod also carries the standard tolerations and the
//     label controller-revision-hash;
//   - deletes failed daemon pods, and creates their replacement after a
//     backoff per node (1 s, doubling with each failure there, at most
//     15 minutes, forgotten after 30 minutes without one), and deletes
//     duplicates;
//   - rolls out a changed template: a pod whose controller-revision-hash is
//     not the template's (TemplateHash) is old. With RollingUpdate and
//     maxSurge 0, old pods are deleted (their replacement created on the
//     next pass) while at most maxUnavailable (a number or a percentage of
//     the desired nodes, rounded up) nodes lack an available pod (ready
//     for minReadySeconds); old pods that are not available go first. With
//     maxSurge > 0 (maxUnavailable 0), a new pod is started next to the old
//     one on at most maxSurge nodes at a time, and the old one deleted once
//     the new one is available. With OnDelete, old pods stay until someone
//     deletes them; their replacements are new;
//   - writes status: desiredNumberScheduled, currentNumberScheduled,
//     numberMisscheduled, numberReady, updatedNumberScheduled,
//     numberAvailable, numberUnavailable and observedGeneration;
//   - records the events SuccessfulCreate, FailedCreate, SuccessfulDelete,
//     FailedDelete and FailedDaemonPod.
//
// Drover has no ControllerRevision kind, so the controller keeps no
// revision history: spec.revisionHistoryLimit is accepted and ignored, a
// rollback is an update back to the old template, and the revision of a
// pod is only the hash of the template that made it.
package daemonset

import (
	"errors"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// Name is the controller's name: its metrics, logs, events' source and the
// key operators enable it by.
const Name = "daemonset"

// Defaults of Options.
const (
	// DefaultWorkers is how many DaemonSets are reconciled at once.
	DefaultWorkers = 2
	// DefaultFailedPodBackoff is how long the replacement of a failed
	// daemon pod waits after the first failure on a node; it doubles with
	// each further one.
	DefaultFailedPodBackoff = time.Second
	// DefaultFailedPodBackoffMax caps that wait.
	DefaultFailedPodBackoffMax = 15 * time.Minute
	// DefaultBurstReplicas is the most pods created or deleted for one
	// DaemonSet in one reconcile.
	DefaultBurstReplicas = 250
)

// Options configures the controller. The zero value is the default
// configuration.
type Options struct {
	// Workers is how many DaemonSets are reconciled at once; 0 means
	// DefaultWorkers.
	Workers int
	// BurstReplicas caps the pods created or deleted for one DaemonSet in
	// one reconcile; 0 means DefaultBurstReplicas.
	BurstReplicas int
	// FailedPodBackoff and FailedPodBackoffMax time the replacement of
	// failed pods; 0 means DefaultFailedPodBackoff and
	// DefaultFailedPodBackoffMax.
	FailedPodBackoff    time.Duration
	FailedPodBackoffMax time.Duration
	// ExpectationsTTL is how long the controller waits to see its creates
	// and deletes in its cache before it acts again regardless. 0 means
	// ctrlutil.DefaultExpectationsTTL.
	ExpectationsTTL time.Duration
	// Clock is where the controller reads the time (availability,
	// backoff) and times its requeues. nil means the Manager's clock
	// (Manager.Clock).
	Clock workqueue.Clock
}

// Validate reports the first field of o that is out of range.
func (o Options) Validate() error {
	switch {
	case o.Workers < 0:
		return fmt.Errorf("daemonset: Options.Workers is %d: it must be 0 (the default, %d) or more", o.Workers, DefaultWorkers)
	case o.BurstReplicas < 0:
		return fmt.Errorf("daemonset: Options.BurstReplicas is %d: it must be 0 (the default, %d) or more", o.BurstReplicas, DefaultBurstReplicas)
	case o.FailedPodBackoff < 0:
		return fmt.Errorf("daemonset: Options.FailedPodBackoff is %v: it must be 0 (the default, %v) or more", o.FailedPodBackoff, DefaultFailedPodBackoff)
	case o.FailedPodBackoffMax < 0:
		return fmt.Errorf("daemonset: Options.FailedPodBackoffMax is %v: it must be 0 (the default, %v) or more", o.FailedPodBackoffMax, DefaultFailedPodBackoffMax)
	case o.ExpectationsTTL < 0:
		return fmt.Errorf("daemonset: Options.ExpectationsTTL is %v: it must be 0 (the default, %v) or more", o.ExpectationsTTL, ctrlutil.DefaultExpectationsTTL)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.BurstReplicas == 0 {
		o.BurstReplicas = DefaultBurstReplicas
	}
	if o.FailedPodBackoff == 0 {
		o.FailedPodBackoff = DefaultFailedPodBackoff
	}
	if o.FailedPodBackoffMax == 0 {
		o.FailedPodBackoffMax = DefaultFailedPodBackoffMax
	}
	if o.ExpectationsTTL == 0 {
		o.ExpectationsTTL = ctrlutil.DefaultExpectationsTTL
	}
	if o.Clock == nil {
		o.Clock = workqueue.RealClock{}
	}
	return o
}

// gvk is the kind of the DaemonSets, for the owner references of their
// pods.
var gvk = api.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}

// Add builds the controller with opts and adds it to m (it runs under m's
// leader election).
func Add(m *controller.Manager, opts Options) error {
	if m == nil {
		return errors.New("daemonset: Add: the Manager is nil")
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	if opts.Clock == nil {
		opts.Clock = m.Clock()
	}
	opts = opts.withDefaults()
	pods, err := controller.Lister[*api.Pod](m)
	if err != nil {
		return fmt.Errorf("daemonset: %w", err)
	}
	nodes, err := controller.Lister[*api.Node](m)
	if err != nil {
		return fmt.Errorf("daemonset: %w", err)
	}
	dss, err := controller.Lister[*api.DaemonSet](m)
	if err != nil {
		return fmt.Errorf("daemonset: %w", err)
	}
	rec, err := m.EventRecorder(Name)
	if err != nil {
		return fmt.Errorf("daemonset: %w", err)
	}
	r := newReconciler(m.GetClient(), dss, pods, nodes, rec, opts)
	err = controller.NewControllerManagedBy(m).
		Named(Name).
		For(&api.DaemonSet{}).
		Watches(&api.Pod{}, r.mapPod, controller.PredicateFunc(r.observe)).
		Watches(&api.Node{}, r.mapNode, controller.PredicateFunc(nodeChanged)).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers, Clock: opts.Clock}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("daemonset: %w", err)
	}
	return nil
}
