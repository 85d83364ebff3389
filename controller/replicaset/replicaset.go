// Package replicaset is the ReplicaSet controller: it keeps spec.replicas
// pods that match each ReplicaSet's selector running, and reports how
// many exist, are ready and are available in the ReplicaSet's status.
//
// For every ReplicaSet it:
//
//   - claims pods (ctrlutil.Claim): adopts orphans its selector matches,
//     releases pods it controls that the selector stopped matching, and
//     leaves pods of other controllers alone;
//   - counts the active pods it controls (not terminated, not being
//     deleted), creates the missing ones from its template in slow-start
//     batches of 1, 2, 4, ... and deletes the extra ones, the least
//     valuable first (see compareForDeletion for the ranking), at most
//     Options.BurstReplicas per reconcile;
//   - records the creations and deletions it asked for as expectations
//     and does not create or delete again until its informer has seen
//     them, so a lagging cache never makes it create (or delete) twice;
//   - writes status: replicas, fullyLabeledReplicas, readyReplicas,
//     availableReplicas (ready for minReadySeconds; it reconciles again
//     when the next pod becomes available), observedGeneration, and the
//     ReplicaFailure condition while creates or deletes fail;
//   - records the events SuccessfulCreate, FailedCreate, SuccessfulDelete
//     and FailedDelete on the ReplicaSet.
//
// A ReplicaSet being deleted is left alone apart from its status: its
// pods are deleted by the garbage collector through their owner
// references, not here.
package replicaset

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
const Name = "replicaset"

// Defaults of Options.
const (
	// DefaultWorkers is how many ReplicaSets are reconciled at once.
	DefaultWorkers = 5
	// DefaultBurstReplicas is the most pods created or deleted for one
	// ReplicaSet in one reconcile.
	DefaultBurstReplicas = 500
)

// Options configures the controller. The zero value is the default
// configuration.
type Options struct {
	// Workers is how many ReplicaSets are reconciled at once; 0 means
	// DefaultWorkers.
	Workers int
	// BurstReplicas caps the pods created or deleted for one ReplicaSet
	// in one reconcile; the rest wait for the next. 0 means
	// DefaultBurstReplicas.
	BurstReplicas int
	// ExpectationsTTL is how long the controller waits to see its creates
	// and deletes in its cache before it acts again regardless (a lost
	// event must not wedge a ReplicaSet). 0 means
	// ctrlutil.DefaultExpectationsTTL (5 minutes).
	ExpectationsTTL time.Duration
	// Clock is where the controller reads the time (availability, the
	// ReplicaFailure condition, expectations) and times its requeues.
	// nil means the Manager's clock (Manager.Clock).
	Clock workqueue.Clock
}

// Validate reports the first field of o that is out of range.
func (o Options) Validate() error {
	switch {
	case o.Workers < 0:
		return fmt.Errorf("replicaset: Options.Workers is %d: it must be 0 (the default, %d) or more", o.Workers, DefaultWorkers)
	case o.BurstReplicas < 0:
		return fmt.Errorf("replicaset: Options.BurstReplicas is %d: it must be 0 (the default, %d) or more", o.BurstReplicas, DefaultBurstReplicas)
	case o.ExpectationsTTL < 0:
		return fmt.Errorf("replicaset: Options.ExpectationsTTL is %v: it must be 0 (the default, %v) or more", o.ExpectationsTTL, ctrlutil.DefaultExpectationsTTL)
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
	if o.ExpectationsTTL == 0 {
		o.ExpectationsTTL = ctrlutil.DefaultExpectationsTTL
	}
	return o
}

// gvk is the kind of the ReplicaSets, for the owner references of their
// pods.
var gvk = api.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}

// Add builds the controller with opts and adds it to m (it runs under m's
// leader election).
func Add(m *controller.Manager, opts Options) error {
	if m == nil {
		return errors.New("replicaset: Add: the Manager is nil")
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	opts = opts.withDefaults()
	if opts.Clock == nil {
		opts.Clock = m.Clock()
	}
	pods, err := controller.Lister[*api.Pod](m)
	if err != nil {
		return fmt.Errorf("replicaset: %w", err)
	}
	rss, err := controller.Lister[*api.ReplicaSet](m)
	if err != nil {
		return fmt.Errorf("replicaset: %w", err)
	}
	rec, err := m.EventRecorder(Name)
	if err != nil {
		return fmt.Errorf("replicaset: %w", err)
	}
	r := newReconciler(m.GetClient(), rss, pods, rec, opts)
	err = controller.NewControllerManagedBy(m).
		Named(Name).
		For(&api.ReplicaSet{}).
		Watches(&api.Pod{}, r.mapPod, controller.PredicateFunc(r.observe)).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers, Clock: opts.Clock}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("replicaset: %w", err)
	}
	return nil
}
