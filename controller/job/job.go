// Package job is the Job controller: it runs each Job's pods until enough
// of them succeed, or until the Job fails, and reports its progress in the
// Job's status.
//
// For every Job it:
//
//   - selects its pods with spec.selector, or, when the Job has none (the
//     API server does not generate one), with the label
//     batch.kubernetes.io/controller-uid=<the Job's uid>, which it puts on
//     every pod it creates, with batch.kubernetes.io/job-name (and the
//     legacy controller-uid and job-name);
//   - keeps at most spec.parallelism pods active (not terminated, not being
//     deleted): NonIndexed, until spec.completions pods have succeeded;
//     work-queue style (completions unset), creating no more pods once one
//     has succeeded and completing when one has succeeded and none is
//     active; Indexed, one pod per index 0..completions-1 (annotation and
//     label batch.kubernetes.io/job-completion-index, environment variable
//     JOB_COMPLETION_INDEX), until every index has succeeded, reported in
//     status.completedIndexes;
//   - counts failures: with restartPolicy Never each failed pod counts one
//     and is replaced; with OnFailure the node agent restarts containers in
//     place, so the restarts of the active pods (the sum of their
//     containers' restartCount) count too, plus each pod that failed as a
//     whole. More than spec.backoffLimit failures fail the Job
//     (BackoffLimitExceeded). A replacement pod waits 10 s after the last
//     failure, doubling with each failure since the last success, at most
//     6 minutes;
//   - fails the Job (DeadlineExceeded) once it has been active
//     spec.activeDeadlineSeconds since status.startTime, deleting its
//     active pods;
//   - suspends the Job while spec.suspend is true: deletes its active pods
//     (not counted as failures), clears startTime and sets the Suspended
//     condition; resuming sets startTime anew;
//   - sets the conditions of a finished Job as Kubernetes 1.31 does:
//     SuccessCriteriaMet and Complete (reason CompletionsReached, with
//     completionTime), or FailureTarget and Failed (reason
//     BackoffLimitExceeded or DeadlineExceeded); and deletes the Job, with
//     background propagation, spec.ttlSecondsAfterFinished after it
//     finished;
//   - records the events SuccessfulCreate, FailedCreate, SuccessfulDelete,
//     FailedDelete, Completed, BackoffLimitExceeded, DeadlineExceeded,
//     Suspended and Resumed.
//
// # Counting finished pods exactly once
//
// Every pod the controller creates carries the finalizer
// batch.kubernetes.io/job-tracking, so it cannot vanish before it is
// counted. A pod that finished (phase Succeeded or Failed, or deleted by
// someone else before it finished, which counts as a failure) and still
// holds the finalizer is added to status.succeeded or status.failed by a
// status write that carries the Job's resourceVersion (so it is never
// based on a stale count), and only then is its finalizer removed. A pod
// without the finalizer is never counted: an active pod the Job adopts
// gets the finalizer, a finished one it adopts is not counted. Pods the
// controller deletes
// itself (excess, suspend, deadline, a finished Job) lose their finalizer
// before the delete and are not counted.
//
// Kubernetes closes the window between the status write and the finalizer
// removal with status.uncountedTerminatedPods, which Drover's JobStatus
// does not have: the controller keeps that set in memory instead. It is
// exact while the controller runs; should it stop between the two writes
// (a crash, a lost leadership), the pods in the window are counted again
// by its successor. The backoff record is in memory too, as in
// Kubernetes: a new leader starts replacement pods without the delay.
//
// JobStatus has no observedGeneration (Kubernetes' has none either); the
// fields the controller writes always describe the spec it last read.
package job

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
const Name = "job"

// Labels, annotations and the finalizer the controller puts on pods.
const (
	// ControllerUIDLabel selects the pods of a Job without spec.selector.
	ControllerUIDLabel = "batch.kubernetes.io/controller-uid"
	// JobNameLabel names the Job of a pod.
	JobNameLabel = "batch.kubernetes.io/job-name"
	// LegacyControllerUIDLabel and LegacyJobNameLabel are the older names
	// of the two labels above, which Kubernetes still sets.
	LegacyControllerUIDLabel = "controller-uid"
	LegacyJobNameLabel       = "job-name"
	// CompletionIndexAnnotation (and label) holds a pod's index in an
	// Indexed Job.
	CompletionIndexAnnotation = "batch.kubernetes.io/job-completion-index"
	// CompletionIndexEnv is the environment variable that holds it.
	CompletionIndexEnv = "JOB_COMPLETION_INDEX"
	// TrackingFinalizer holds a pod until the Job's status counts it.
	TrackingFinalizer = "batch.kubernetes.io/job-tracking"
)

// Defaults of Options.
const (
	// DefaultWorkers is how many Jobs are reconciled at once.
	DefaultWorkers = 5
	// DefaultBackoffBase is the delay of a replacement pod after one
	// failure; it doubles with each further failure.
	DefaultBackoffBase = 10 * time.Second
	// DefaultBackoffMax caps that delay.
	DefaultBackoffMax = 6 * time.Minute
)

// Options configures the controller. The zero value is the default
// configuration.
type Options struct {
	// Workers is how many Jobs are reconciled at once; 0 means
	// DefaultWorkers.
	Workers int
	// BackoffBase is how long a replacement pod waits after a failure;
	// each further failure since the last success doubles it. 0 means
	// DefaultBackoffBase.
	BackoffBase time.Duration
	// BackoffMax caps the wait. 0 means DefaultBackoffMax.
	BackoffMax time.Duration
	// ExpectationsTTL is how long the controller waits to see its creates
	// and deletes in its cache before it acts again regardless. 0 means
	// ctrlutil.DefaultExpectationsTTL.
	ExpectationsTTL time.Duration
	// Clock is where the controller reads the time (start and completion
	// times, deadlines, backoff, TTLs) and times its requeues. nil means
	// the Manager's clock (Manager.Clock).
	Clock workqueue.Clock
}

// Validate reports the first field of o that is out of range.
func (o Options) Validate() error {
	switch {
	case o.Workers < 0:
		return fmt.Errorf("job: Options.Workers is %d: it must be 0 (the default, %d) or more", o.Workers, DefaultWorkers)
	case o.BackoffBase < 0:
		return fmt.Errorf("job: Options.BackoffBase is %v: it must be 0 (the default, %v) or more", o.BackoffBase, DefaultBackoffBase)
	case o.BackoffMax < 0:
		return fmt.Errorf("job: Options.BackoffMax is %v: it must be 0 (the default, %v) or more", o.BackoffMax, DefaultBackoffMax)
	case o.ExpectationsTTL < 0:
		return fmt.Errorf("job: Options.ExpectationsTTL is %v: it must be 0 (the default, %v) or more", o.ExpectationsTTL, ctrlutil.DefaultExpectationsTTL)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.ExpectationsTTL == 0 {
		o.ExpectationsTTL = ctrlutil.DefaultExpectationsTTL
	}
	if o.Clock == nil {
		o.Clock = workqueue.RealClock{}
	}
	return o
}

// gvk is the kind of the Jobs, for the owner references of their pods.
var gvk = api.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}

// Add builds the controller with opts and adds it to m (it runs under m's
// leader election).
func Add(m *controller.Manager, opts Options) error {
	if m == nil {
		return errors.New("job: Add: the Manager is nil")
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
		return fmt.Errorf("job: %w", err)
	}
	jobs, err := controller.Lister[*api.Job](m)
	if err != nil {
		return fmt.Errorf("job: %w", err)
	}
	rec, err := m.EventRecorder(Name)
	if err != nil {
		return fmt.Errorf("job: %w", err)
	}
	r := newReconciler(m.GetClient(), jobs, pods, rec, opts)
	err = controller.NewControllerManagedBy(m).
		Named(Name).
		For(&api.Job{}).
		Watches(&api.Pod{}, r.mapPod, controller.PredicateFunc(r.observe)).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers, Clock: opts.Clock}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("job: %w", err)
	}
	return nil
}
