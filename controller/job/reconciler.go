package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// podLister is what the reconciler reads pods from: the Manager's
// informer cache (informer.Lister[*api.Pod]). Called from every worker.
type podLister interface {
	ListNamespace(namespace string, sel labels.Selector) ([]*api.Pod, error)
	OwnedBy(uid api.UID) ([]*api.Pod, error)
}

// jobLister is what the reconciler reads Jobs from
// (informer.Lister[*api.Job]). Called from every worker and from the pod
// informer's handler goroutine.
type jobLister interface {
	Get(namespace, name string) (*api.Job, error)
	ListNamespace(namespace string, sel labels.Selector) ([]*api.Job, error)
}

// eventRecorder records events (*record.Recorder). It must not block.
type eventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

// memo is what the reconciler remembers of one Job between reconciles.
type memo struct {
	uid api.UID
	// counted holds the finished pods the status counts that still held
	// the tracking finalizer when last seen.
	counted map[api.UID]bool
	backoff backoffRecord
	// written is the resourceVersion of the Job after the controller's
	// last status write: a cached Job older than that is stale.
	written int64
}

// reconciler is the controller's Reconciler: the driver that reads the
// cache, feeds the pure core (decide, in core.go) and carries out its
// plan.
type reconciler struct {
	c    *client.Client
	jobs jobLister
	pods podLister
	rec  eventRecorder
	exp  *ctrlutil.Expectations
	opts Options

	mu    sync.Mutex
	memos map[string]*memo // by "namespace/name"
}

func newReconciler(c *client.Client, jobs jobLister, pods podLister, rec eventRecorder, opts Options) *reconciler {
	opts = opts.withDefaults()
	return &reconciler{
		c: c, jobs: jobs, pods: pods, rec: rec, opts: opts,
		exp:   ctrlutil.NewExpectations(opts.Clock, opts.ExpectationsTTL),
		memos: map[string]*memo{},
	}
}

// jobKey returns the expectations key of the Job that controls p, and
// false if no Job does.
func jobKey(p *api.Pod) (string, bool) {
	ref := p.ControllerRef()
	if ref == nil || ref.Kind != gvk.Kind || !strings.HasPrefix(ref.APIVersion, "batch/") {
		return "", false
	}
	return p.Namespace + "/" + ref.Name, true
}

// observe is a predicate on the pod source that lowers the expectations
// of the pod's Job as the informer sees the pods the controller created
// and deleted. It lets every event through.
func (r *reconciler) observe(ev controller.Event) bool {
	p, ok := ev.Object.(*api.Pod)
	if !ok {
		return true
	}
	key, ok := jobKey(p)
	if !ok {
		return true
	}
	switch ev.Type {
	case controller.Create:
		if p.DeletionTimestamp != nil {
			r.exp.DeletionObserved(key, p.UID)
		} else {
			r.exp.CreationObserved(key)
		}
	case controller.Update:
		if old, ok := ev.Old.(*api.Pod); ok && old.DeletionTimestamp == nil && p.DeletionTimestamp != nil {
			r.exp.DeletionObserved(key, p.UID)
		}
	case controller.Delete:
		r.exp.DeletionObserved(key, p.UID)
	}
	return true
}

// mapPod maps a pod to the Jobs to reconcile: its controller if a Job
// controls it, else every Job of its namespace with a selector of its own
// that matches it (one that may adopt it).
func (r *reconciler) mapPod(_ context.Context, obj api.Object) []controller.Request {
	p, ok := obj.(*api.Pod)
	if !ok {
		return nil
	}
	if ref := p.ControllerRef(); ref != nil {
		if _, ok := jobKey(p); ok {
			return []controller.Request{{Namespace: p.Namespace, Name: ref.Name}}
		}
		return nil
	}
	jobs, err := r.jobs.ListNamespace(p.Namespace, labels.Everything())
	if err != nil {
		return nil
	}
	var out []controller.Request
	for _, j := range jobs {
		if j.Spec.Selector == nil {
			continue
		}
		sel, err := api.LabelSelectorAsSelector(j.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(labels.Set(p.Labels)) {
			out = append(out, controller.Request{Namespace: j.Namespace, Name: j.Name})
		}
	}
	return out
}

// selector returns the selector of j's pods: spec.selector, or the
// controller-uid label.
func selector(j *api.Job) (labels.Selector, error) {
	if j.Spec.Selector == nil {
		return labels.SelectorFromSet(labels.Set{ControllerUIDLabel: string(j.UID)}), nil
	}
	sel, err := api.LabelSelectorAsSelector(j.Spec.Selector)
	if err != nil {
		return labels.Selector{}, fmt.Errorf("spec.selector: %w", err)
	}
	if sel.Empty() {
		return labels.Selector{}, errors.New("spec.selector is empty: it would select every pod of the namespace")
	}
	return sel, nil
}

// memoFor returns the memo of the Job key with uid, starting afresh when
// the name now belongs to another Job.
func (r *reconciler) memoFor(key string, uid api.UID) *memo {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.memos[key]
	if m == nil || m.uid != uid {
		m = &memo{uid: uid, counted: map[api.UID]bool{}}
		r.memos[key] = m
	}
	return m
}

func (r *reconciler) forget(key string) {
	r.mu.Lock()
	delete(r.memos, key)
	r.mu.Unlock()
	r.exp.Forget(key)
}

// Reconcile brings one Job's pods and status in line with its spec. It is
// called by the controller's workers, one call per Job at a time.
func (r *reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	key := req.String()
	j, err := r.jobs.Get(req.Namespace, req.Name)
	if api.IsNotFound(err) {
		r.forget(key)
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if j.DeletionTimestamp != nil {
		// Its pods go with it (the garbage collector); release their
		// finalizers so they can.
		pods, err := r.pods.OwnedBy(j.UID)
		if err != nil {
			return controller.Result{}, err
		}
		var held []*api.Pod
		for _, p := range pods {
			if hasFinalizer(p) {
				held = append(held, p)
			}
		}
		return controller.Result{}, r.release(ctx, held)
	}
	m := r.memoFor(key, j.UID)
	r.mu.Lock()
	written := m.written
	r.mu.Unlock()
	if rv, err := strconv.ParseInt(j.ResourceVersion, 10, 64); err == nil && rv < written {
		// The cache has not caught up with our own status write; its
		// event will queue the Job again.
		return controller.Result{}, nil
	}
	sel, err := selector(j)
	if err != nil {
		return controller.Result{}, controller.TerminalError(fmt.Errorf("Job %s: %w", key, err))
	}

	// Deletions the cache has seen count as observed, even if their
	// events were dropped (while the controller was not leading). Read
	// the expectations before the cache: an event that comes in between
	// updated the cache first, so what is listed is at least as new as
	// what satisfied them.
	if r.exp.PendingDeletions(key) {
		seen, err := r.candidates(j, sel)
		if err != nil {
			return controller.Result{}, err
		}
		r.exp.DeletionsSeen(key, ctrlutil.LiveIn(seen))
	}
	satisfied := r.exp.Satisfied(key)
	cands, err := r.candidates(j, sel)
	if err != nil {
		return controller.Result{}, err
	}
	pods, err := ctrlutil.Claim(ctx, r.c, j, gvk, sel, cands)
	if err != nil {
		return controller.Result{}, fmt.Errorf("Job %s: claim pods: %w", key, err)
	}

	r.mu.Lock()
	held := map[api.UID]bool{}
	for _, p := range pods {
		if hasFinalizer(p) {
			held[p.UID] = true
		}
	}
	// A counted pod that no longer holds the finalizer (or is gone) will
	// never be counted again: forget it.
	maps.DeleteFunc(m.counted, func(uid api.UID, _ bool) bool { return !held[uid] })
	in := input{
		job: j, pods: pods, counted: maps.Clone(m.counted), backoff: m.backoff,
		now: r.opts.Clock.Now(), satisfied: satisfied,
		backoffBase: r.opts.BackoffBase, backoffMax: r.opts.BackoffMax,
	}
	r.mu.Unlock()

	p := decide(in)
	if !reflect.DeepEqual(p.status, j.Status) {
		cur := api.DeepCopy(j)
		cur.Status = p.status
		// The Job's resourceVersion makes the write fail if the cache was
		// stale: counts are never added to an old status.
		if err := r.c.UpdateStatus(ctx, cur); err != nil {
			if api.IsNotFound(err) {
				return controller.Result{}, nil
			}
			return controller.Result{}, fmt.Errorf("Job %s: update status: %w", key, err)
		}
		rv, _ := strconv.ParseInt(cur.ResourceVersion, 10, 64)
		r.mu.Lock()
		m.written = rv
		r.mu.Unlock()
	}
	r.mu.Lock()
	for _, pod := range p.counted {
		m.counted[pod.UID] = true
	}
	m.backoff = p.backoff
	r.mu.Unlock()
	for _, e := range p.events {
		typ := api.EventTypeNormal
		if e.warning {
			typ = api.EventTypeWarning
		}
		r.rec.Eventf(j, typ, e.reason, "%s", e.message)
	}

	var errs []error
	if err := r.release(ctx, p.release); err != nil {
		errs = append(errs, err)
	}
	if err := r.deletePods(ctx, j, key, p.remove); err != nil {
		errs = append(errs, err)
	}
	if err := r.track(ctx, p.track); err != nil {
		errs = append(errs, err)
	}
	if p.create > 0 {
		if err := r.createPods(ctx, j, key, p.create, p.indexes); err != nil {
			errs = append(errs, err)
		}
	}
	if p.deleteJob {
		err := r.c.Delete(ctx, j, client.DeleteOptions{
			Preconditions:     &client.Preconditions{UID: j.UID},
			PropagationPolicy: client.DeletePropagationBackground,
		})
		if err != nil && !api.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete after ttlSecondsAfterFinished: %w", err))
		}
	}
	if len(errs) > 0 {
		return controller.Result{}, fmt.Errorf("Job %s: %w", key, errors.Join(errs...))
	}
	res := controller.Result{RequeueAfter: p.requeue}
	if !r.exp.Satisfied(key) && (res.RequeueAfter == 0 || res.RequeueAfter > r.opts.ExpectationsTTL) {
		res.RequeueAfter = r.opts.ExpectationsTTL + time.Second
	}
	return res, nil
}

// candidates returns the pods of j's namespace that sel matches or that
// j owns: what it may claim.
func (r *reconciler) candidates(j *api.Job, sel labels.Selector) ([]*api.Pod, error) {
	matching, err := r.pods.ListNamespace(j.Namespace, sel)
	if err != nil {
		return nil, err
	}
	owned, err := r.pods.OwnedBy(j.UID)
	if err != nil {
		return nil, err
	}
	out := make([]*api.Pod, 0, len(matching)+len(owned))
	seen := make(map[api.UID]bool, len(matching))
	for _, p := range matching {
		out = append(out, p)
		seen[p.UID] = true
	}
	for _, p := range owned {
		if p.Namespace == j.Namespace && !seen[p.UID] {
			out = append(out, p)
		}
	}
	return out, nil
}

// newPod returns the pod to create for j, with index i for an Indexed
// Job (i < 0: none).
func newPod(j *api.Job, i int) *api.Pod {
	pod := ctrlutil.PodFromTemplate(&j.Spec.Template, j, gvk)
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[ControllerUIDLabel] = string(j.UID)
	pod.Labels[LegacyControllerUIDLabel] = string(j.UID)
	pod.Labels[JobNameLabel] = j.Name
	pod.Labels[LegacyJobNameLabel] = j.Name
	pod.Finalizers = append(pod.Finalizers, TrackingFinalizer)
	if i >= 0 {
		idx := strconv.Itoa(i)
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[CompletionIndexAnnotation] = idx
		pod.Labels[CompletionIndexAnnotation] = idx
		if len(j.Name)+len(idx) < 56 {
			pod.GenerateName = j.Name + "-" + idx + "-"
		}
		for _, cs := range [][]api.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for k := range cs {
				cs[k].Env = append(cs[k].Env, api.EnvVar{Name: CompletionIndexEnv, Value: idx})
			}
		}
	}
	return pod
}

// createPods creates n pods for j (with indexes, for an Indexed Job), all
// at once. Every create is expected before any is sent; those that fail
// are observed at once, since no event will come for them.
func (r *reconciler) createPods(ctx context.Context, j *api.Job, key string, n int, indexes []int) error {
	r.exp.ExpectCreations(key, n)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for k := range n {
		i := -1
		if k < len(indexes) {
			i = indexes[k]
		}
		wg.Go(func() {
			pod := newPod(j, i)
			if err := r.c.Create(ctx, pod); err != nil {
				r.exp.CreationObserved(key)
				r.rec.Eventf(j, api.EventTypeWarning, ReasonFailedCreate, "Error creating: %v", err)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			r.rec.Eventf(j, api.EventTypeNormal, ReasonSuccessfulCreate, "Created pod: %s", pod.Name)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("create pods: %d of %d failed: %w", len(errs), n, errs[0])
	}
	return nil
}

// deletePods deletes victims, active pods of j, after removing their
// tracking finalizer so they are not counted.
func (r *reconciler) deletePods(ctx context.Context, j *api.Job, key string, victims []*api.Pod) error {
	if len(victims) == 0 {
		return nil
	}
	uids := make([]api.UID, len(victims))
	for i, p := range victims {
		uids[i] = p.UID
	}
	r.exp.ExpectDeletions(key, uids...)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, p := range victims {
		wg.Go(func() {
			err := r.removeFinalizer(ctx, p)
			if err == nil {
				err = r.c.Delete(ctx, p, client.DeleteOptions{Preconditions: &client.Preconditions{UID: p.UID}})
			}
			if err != nil {
				r.exp.DeletionObserved(key, p.UID)
				if api.IsNotFound(err) {
					return
				}
				r.rec.Eventf(j, api.EventTypeWarning, ReasonFailedDelete, "Error deleting: %v", err)
				mu.Lock()
				errs = append(errs, fmt.Errorf("delete pod %s: %w", p.Name, err))
				mu.Unlock()
				return
			}
			r.rec.Eventf(j, api.EventTypeNormal, ReasonSuccessfulDelete, "Deleted pod: %s", p.Name)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// release removes the tracking finalizer from pods.
func (r *reconciler) release(ctx context.Context, pods []*api.Pod) error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Go(func() {
			if err := r.removeFinalizer(ctx, p); err != nil && !api.IsNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("remove finalizer %s of pod %s: %w", TrackingFinalizer, p.Name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// track adds the tracking finalizer to pods, which are active: pods the
// Job adopted, so that they are counted when they finish.
func (r *reconciler) track(ctx context.Context, pods []*api.Pod) error {
	var errs []error
	for _, p := range pods {
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"uid":             p.UID,
			"resourceVersion": p.ResourceVersion,
			"finalizers":      append(slices.Clone(p.Finalizers), TrackingFinalizer),
		}})
		if err != nil {
			return err
		}
		if err := r.c.Patch(ctx, api.DeepCopy(p), client.MergePatch, patch); err != nil && !api.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("add finalizer %s to pod %s: %w", TrackingFinalizer, p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// removeFinalizer removes the tracking finalizer from p, if p has it. If
// the patch fails (the finalizer list moved: its test fails), it reads the
// pod and tries once more against its current state.
func (r *reconciler) removeFinalizer(ctx context.Context, p *api.Pod) error {
	err := r.patchOutFinalizer(ctx, p)
	if err == nil || api.IsNotFound(err) {
		return err
	}
	fresh := &api.Pod{}
	if gerr := r.c.Get(ctx, p.Namespace, p.Name, fresh); gerr != nil {
		return gerr
	}
	if fresh.UID != p.UID {
		return nil
	}
	return r.patchOutFinalizer(ctx, fresh)
}

// patchOutFinalizer removes the tracking finalizer from p with a JSON
// patch that tests that the pod is still p and the finalizer still where
// p had it.
func (r *reconciler) patchOutFinalizer(ctx context.Context, p *api.Pod) error {
	i := slices.Index(p.Finalizers, TrackingFinalizer)
	if i < 0 {
		return nil
	}
	path := fmt.Sprintf("/metadata/finalizers/%d", i)
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/uid", "value": p.UID},
		{"op": "test", "path": path, "value": TrackingFinalizer},
		{"op": "remove", "path": path},
	})
	if err != nil {
		return err
	}
	return r.c.Patch(ctx, api.DeepCopy(p), client.JSONPatch, patch)
}
