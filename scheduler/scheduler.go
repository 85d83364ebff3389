package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/record"
	"github.com/drover-io/drover/internal/growstack"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
	"github.com/drover-io/drover/scheduler/internal/queue"
)

// Scheduler watches the pods that name one of its profiles and have no
// node, and binds each to the best feasible node. Make it with New and
// run it with Run (or add it to a controller.Manager: it is a Runnable
// that needs leadership).
type Scheduler struct {
	cfg      Config
	log      *slog.Logger
	client   *client.Client
	profiles map[string]*Framework
	queue    *queue.PriorityQueue
	cache    *cache.Cache
	snapshot *cache.Snapshot // used by the scheduling loop only
	// updateSnapshot is the cache's UpdateSnapshot (tests replace it).
	updateSnapshot func(*cache.Snapshot) error
	waiting        *waitingPods
	metrics        *metrics
	explain        *explanations

	informers    *informer.Factory
	ownInformers bool
	pods         informer.Lister[*api.Pod]
	podInf       *informer.Informer
	nodeInf      *informer.Informer
	nsInf        *informer.Informer
	recorder     *record.Recorder
	ownRecorder  bool

	running atomic.Bool
	ran     atomic.Bool
	wg      sync.WaitGroup // binding and status goroutines
}

// New returns a Scheduler for cfg. It registers its informer handlers
// (on Config.Informers if given: the cache and the queue then follow the
// cluster from the moment that factory runs) and starts nothing.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Client == nil {
		return nil, errors.New("scheduler: Config.Client is nil: a client of the API server is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	reg, err := registered(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s := &Scheduler{
		cfg: cfg, log: cfg.Logger, client: cfg.Client,
		profiles: make(map[string]*Framework, len(cfg.Profiles)),
		waiting:  newWaitingPods(),
		explain:  newExplanations(cfg.Explanations),
		snapshot: cache.NewSnapshot(),
	}
	s.cache = cache.New(cache.Config{Now: cfg.Clock.Now, Logger: cfg.Logger})
	s.updateSnapshot = s.cache.UpdateSnapshot
	s.informers = cfg.Informers
	if s.informers == nil {
		s.ownInformers = true
		s.informers, err = informer.NewFactory(informer.FactoryConfig{
			Scheme: cfg.Client.Scheme(), Source: informer.ClientSource(cfg.Client, informer.Selection{}), Logger: cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
	}
	// Namespaces, for the namespaceSelector of pod affinity terms
	// (Framework.NamespaceLabels).
	var namespaces informer.Lister[*api.Namespace]
	if s.nsInf, namespaces, err = informer.For[*api.Namespace](s.informers); err != nil {
		return nil, fmt.Errorf("scheduler: namespace informer: %w", err)
	}
	var first *Framework
	for _, p := range cfg.Profiles {
		fw, err := newFramework(p, reg, frameworkDeps{
			client: apiClient{cfg.Client}, waiting: s.waiting, clock: cfg.Clock,
			logger: cfg.Logger.With("profile", p.SchedulerName), parallelism: cfg.Parallelism,
			percentage: cfg.PercentageOfNodesToScore, namespaces: namespaces,
		})
		if err != nil {
			return nil, fmt.Errorf("scheduler: profile %s: %w", p.SchedulerName, err)
		}
		if first == nil {
			first = fw
		}
		s.profiles[p.SchedulerName] = fw
	}
	s.queue, err = queue.New(queue.Config{
		Less:           first.Less,
		Clock:          cfg.Clock,
		InitialBackoff: time.Duration(cfg.PodInitialBackoffSeconds) * time.Second,
		MaxBackoff:     time.Duration(cfg.PodMaxBackoffSeconds) * time.Second,
		Interest:       interest(s.profiles),
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	for _, fw := range s.profiles {
		fw.SetNominator(s.queue)
	}
	if s.metrics, err = newMetrics(cfg.Registerer, s.queue, s.profiles); err != nil {
		return nil, fmt.Errorf("scheduler: metrics: %w", err)
	}

	if s.podInf, s.pods, err = informer.For[*api.Pod](s.informers); err != nil {
		return nil, fmt.Errorf("scheduler: pod informer: %w", err)
	}
	if s.nodeInf, _, err = informer.For[*api.Node](s.informers); err != nil {
		return nil, fmt.Errorf("scheduler: node informer: %w", err)
	}
	if _, err := s.nodeInf.AddHandler(informer.HandlerFuncs{
		AddFunc: s.onNodeAdd, UpdateFunc: s.onNodeUpdate, DeleteFunc: s.onNodeDelete,
	}); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if _, err := s.nsInf.AddHandler(informer.HandlerFuncs{UpdateFunc: s.onNamespaceUpdate}); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if _, err := s.podInf.AddHandler(informer.HandlerFuncs{
		AddFunc: s.onPodAdd, UpdateFunc: s.onPodUpdate, DeleteFunc: s.onPodDelete,
	}); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}

	s.recorder = cfg.Recorder
	if s.recorder == nil {
		s.ownRecorder = true
		s.recorder, err = record.New(record.Config{Client: cfg.Client, Component: DefaultSchedulerName, Clock: cfg.Clock, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
	}
	return s, nil
}

// NeedLeaderElection reports true: under a controller.Manager with a
// leader elector, only the leader schedules.
func (s *Scheduler) NeedLeaderElection() bool { return true }

// Start is Run, for controller.Runnable.
func (s *Scheduler) Start(ctx context.Context) error { return s.Run(ctx) }

// Run schedules pods until ctx ends, then waits for the bindings in
// flight and returns nil. It runs the informers (unless they are
// Config.Informers, whose owner runs them) and the event recorder (unless
// it is Config.Recorder). Run may be called again after it returned (a
// Manager does, each time it regains leadership) when Config.Informers is
// set; with the Scheduler's own informers only once.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("scheduler: Run is already running")
	}
	defer s.running.Store(false)
	if s.ran.Swap(true) && s.ownInformers {
		return errors.New("scheduler: Run called again: with its own informers a Scheduler runs once; pass Config.Informers to run it again")
	}
	// The recorder and the informers outlive the scheduling loop: the
	// last events are flushed, then they stop.
	var bg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if s.ownRecorder {
			fctx, cancel := context.WithTimeout(bgCtx, 5*time.Second)
			_ = s.recorder.Flush(fctx)
			cancel()
		}
		stopBG()
		bg.Wait()
		if s.ownInformers {
			s.informers.Wait()
		}
	}()
	if s.ownRecorder {
		bg.Go(func() { _ = s.recorder.Run(bgCtx) })
	}
	if s.ownInformers {
		s.informers.Start(bgCtx)
	}
	if !informer.WaitForSync(ctx, s.podInf.HasSynced, s.nodeInf.HasSynced, s.nsInf.HasSynced) {
		return nil
	}
	s.log.Info("scheduler running", "profiles", len(s.profiles))

	// Assumed pods whose binding was never observed expire.
	stopCleanup := s.every(ctx, time.Second, s.cleanup)
	defer stopCleanup()

	for {
		pi, cycle, err := s.queue.Pop(ctx)
		if err != nil {
			break
		}
		s.scheduleOne(ctx, pi, cycle)
	}
	s.wg.Wait()
	s.log.Info("scheduler stopped")
	return nil
}

// cleanup drops the expired assumed pods; the room they held is free, as
// if they were deleted.
func (s *Scheduler) cleanup() {
	if s.cache.Cleanup() > 0 {
		s.queue.MoveAllToActiveOrBackoff(framework.AssignedPodDelete)
	}
}

// every calls f every d on the clock until ctx ends or stop is called.
func (s *Scheduler) every(ctx context.Context, d time.Duration, f func()) (stop func()) {
	var mu sync.Mutex
	var cancel func() bool
	stopped := false
	var arm func()
	arm = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped || ctx.Err() != nil {
			return
		}
		cancel = s.cfg.Clock.AfterFunc(d, func() { f(); arm() })
	}
	arm()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		if cancel != nil {
			cancel()
		}
	}
}

// Close stops the queue's timers. Run must have returned. It is safe to
// call twice.
func (s *Scheduler) Close() error {
	s.queue.Close()
	return nil
}

// Explain returns the last scheduling attempt of the pod namespace/name,
// if it is still remembered (the last Config.Explanations pods are).
func (s *Scheduler) Explain(namespace, name string) (*Explanation, bool) {
	a, ok := s.explain.get(namespace + "/" + name)
	if !ok {
		return nil, false
	}
	return a.explain(), true
}

// QueueCounts returns the number of pods in each sub-queue.
func (s *Scheduler) QueueCounts() (active, backoff, unschedulable int) {
	c := s.queue.Len()
	return c.Active, c.Backoff, c.Unschedulable
}

// scheduleOne runs one cycle for a popped pod: the pure part
// (Framework.Schedule), then assume, Reserve and Permit, and starts the
// binding.
func (s *Scheduler) scheduleOne(ctx context.Context, pi *framework.QueuedPodInfo, cycle int64) {
	pod := pi.Pod
	fw := s.profiles[pod.Spec.SchedulerName]
	if fw == nil || pod.DeletionTimestamp != nil || pod.Spec.NodeName != "" || s.cache.IsAssumed(pod) {
		return
	}
	start := s.cfg.Clock.Now()
	if err := s.updateSnapshot(s.snapshot); err != nil {
		// The snapshot did not match the cache (a bug) and was rebuilt:
		// it is right now. Check it once more and go on with the cycle.
		s.log.Error("snapshot rebuilt", "err", err)
		if err := s.updateSnapshot(s.snapshot); err != nil {
			s.fail(ctx, fw, pi, cycle, start, framework.AsStatus(fmt.Errorf("snapshot: %w", err)), nil)
			return
		}
	}
	state := framework.NewCycleState()
	res := fw.Schedule(ctx, state, pod, s.snapshot)
	s.metrics.algorithm.Observe(s.cfg.Clock.Now().Sub(start).Seconds())
	key := queue.Key(pod)
	s.explain.put(&attempt{key: key, pod: pod, profile: fw.Name(), at: start, attempts: pi.Attempts, res: res})
	if res.Status != nil {
		if res.NominatedNode != "" {
			s.queue.AddNominatedPod(pi.PodInfo, res.NominatedNode)
		}
		s.log.Debug("pod not scheduled", "pod", pod.Namespace+"/"+pod.Name, "status", res.Status.Code(), "message", res.Status.Message())
		s.fail(ctx, fw, pi, cycle, start, res.Status, res.UnschedulablePlugins)
		return
	}

	assumed := api.DeepCopy(pod)
	assumed.Spec.NodeName = res.Node
	binding, err := s.cache.AssumeForBinding(assumed)
	if err != nil {
		s.explain.setAfter(key, res, framework.AsStatus(err))
		s.fail(ctx, fw, pi, cycle, start, framework.AsStatus(err), nil)
		return
	}
	if st := fw.RunReservePlugins(ctx, state, assumed, res.Node); st != nil {
		s.forget(assumed)
		s.explain.setAfter(key, res, st)
		s.fail(ctx, fw, pi, cycle, start, st, pluginsOf(st))
		return
	}
	if st := fw.RunPermitPlugins(ctx, state, assumed, res.Node); st != nil && st.Code() != framework.Wait {
		fw.RunUnreservePlugins(ctx, state, assumed, res.Node)
		s.forget(assumed)
		s.explain.setAfter(key, res, st)
		s.fail(ctx, fw, pi, cycle, start, st, pluginsOf(st))
		return
	}
	// assumed, with its node: a nomination to that node leaves no room
	// free, one elsewhere does.
	s.queue.DeleteNominatedPodIfExists(assumed)
	s.wg.Go(func() {
		growstack.Grow() // a goroutine per pod, through the client and its JSON
		s.bind(ctx, fw, state, assumed, binding, pi, cycle, start, res)
	})
}

// pluginsOf returns the plugin of a rejection, as UnschedulablePlugins.
func pluginsOf(st *framework.Status) map[string]struct{} {
	if st.IsRejected() && st.Plugin() != "" {
		return map[string]struct{}{st.Plugin(): {}}
	}
	return nil
}

// forget undoes an assumption.
func (s *Scheduler) forget(assumed *api.Pod) {
	if err := s.cache.ForgetPod(assumed); errors.Is(err, cache.ErrPodNotFound) {
		// Deleted meanwhile: onPodDelete forgot it.
		s.log.Debug("forget assumed pod", "pod", assumed.Namespace+"/"+assumed.Name, "err", err)
	} else if err != nil {
		s.log.Warn("forget assumed pod", "pod", assumed.Namespace+"/"+assumed.Name, "err", err)
	}
}

// bind is the binding cycle, on a goroutine of its own: wait for Permit,
// PreBind, Bind, PostBind. A failure undoes the assumption and Reserve
// and requeues the pod with backoff.
func (s *Scheduler) bind(ctx context.Context, fw *Framework, state *framework.CycleState, assumed *api.Pod, binding cache.Binding, pi *framework.QueuedPodInfo, cycle int64, start time.Time, res *Result) {
	bindStart := s.cfg.Clock.Now()
	node := assumed.Spec.NodeName
	st := fw.WaitOnPermit(ctx, assumed)
	if st.IsSuccess() {
		st = fw.RunPreBindPlugins(ctx, state, assumed, node)
	}
	if st.IsSuccess() {
		st = fw.RunBindPlugins(ctx, state, assumed, node)
	}
	s.metrics.binding.Observe(s.cfg.Clock.Now().Sub(bindStart).Seconds())
	if !st.IsSuccess() {
		fw.RunUnreservePlugins(ctx, state, assumed, node)
		s.forget(assumed)
		// The room it held is free again.
		s.queue.MoveAllToActiveOrBackoff(framework.AssignedPodDelete)
		s.explain.setAfter(queue.Key(assumed), res, st)
		plugins := pluginsOf(st)
		s.fail(ctx, fw, pi, cycle, start, st, plugins)
		return
	}
	binding.Finish()
	fw.RunPostBindPlugins(ctx, state, assumed, node)
	s.metrics.attempts.WithLabelValues(resultScheduled, fw.Name()).Inc()
	s.metrics.e2e.WithLabelValues(resultScheduled, fw.Name()).Observe(s.cfg.Clock.Now().Sub(start).Seconds())
	s.recorder.Eventf(assumed, api.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", assumed.Namespace, assumed.Name, node)
	s.log.Debug("pod bound", "pod", assumed.Namespace+"/"+assumed.Name, "node", node)
}

// fail handles a pod that was not placed: it is requeued (unschedulable,
// or with backoff for an error), gets a FailedScheduling event, and its
// PodScheduled condition says why.
func (s *Scheduler) fail(ctx context.Context, fw *Framework, pi *framework.QueuedPodInfo, cycle int64, start time.Time, st *framework.Status, plugins map[string]struct{}) {
	pod := pi.Pod
	result, reason := resultError, "SchedulerError"
	if st.IsRejected() {
		result, reason = resultUnschedulable, "Unschedulable"
	} else {
		plugins = nil
	}
	s.metrics.attempts.WithLabelValues(result, fw.Name()).Inc()
	s.metrics.e2e.WithLabelValues(result, fw.Name()).Observe(s.cfg.Clock.Now().Sub(start).Seconds())
	pi.UnschedulablePlugins = plugins

	// Requeue the pod as the informer has it now, unless it is gone or
	// bound meanwhile.
	cur, err := s.pods.Get(pod.Namespace, pod.Name)
	if err != nil || cur.UID != pod.UID || cur.Spec.NodeName != "" || cur.DeletionTimestamp != nil {
		return
	}
	pi.PodInfo = framework.NewPodInfo(cur)
	s.queue.AddUnschedulableIfNotPresent(pi, cycle)

	msg := st.Message()
	if msg == "" {
		msg = st.Err().Error()
	}
	s.recorder.Event(cur, api.EventTypeWarning, "FailedScheduling", msg)
	s.wg.Go(func() { s.setUnschedulable(ctx, cur, reason, msg) })
}

// setUnschedulable writes PodScheduled=False with reason and msg through
// the status subresource, unless the pod already says so.
func (s *Scheduler) setUnschedulable(ctx context.Context, pod *api.Pod, reason, msg string) {
	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		p := api.DeepCopy(pod)
		if !setCondition(&p.Status, api.PodCondition{
			Type: api.PodScheduled, Status: api.ConditionFalse, Reason: reason, Message: msg,
		}, s.cfg.Clock.Now()) {
			return nil
		}
		err := s.client.UpdateStatus(ctx, p)
		if api.IsConflict(err) {
			fresh := &api.Pod{}
			if gerr := s.client.Get(ctx, pod.Namespace, pod.Name, fresh); gerr != nil {
				return gerr
			}
			if fresh.UID != pod.UID || fresh.Spec.NodeName != "" {
				return nil
			}
			pod = fresh
		}
		return err
	})
	if err != nil && !api.IsNotFound(err) && ctx.Err() == nil {
		s.log.Warn("set the PodScheduled condition", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// setCondition sets c in st (its transition time now if its status
// changed) and reports whether anything changed.
func setCondition(st *api.PodStatus, c api.PodCondition, now time.Time) bool {
	for i := range st.Conditions {
		old := &st.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
			return false
		}
		c.LastTransitionTime = old.LastTransitionTime
		if old.Status != c.Status {
			c.LastTransitionTime = api.NewTime(now)
		}
		c.LastProbeTime = api.NewTime(now)
		*old = c
		return true
	}
	c.LastTransitionTime = api.NewTime(now)
	c.LastProbeTime = api.NewTime(now)
	st.Conditions = append(st.Conditions, c)
	return true
}

// Informer handlers. Each runs on its informer's handler goroutine.

func (s *Scheduler) onNodeAdd(obj api.Object, _ bool) {
	n, ok := obj.(*api.Node)
	if !ok {
		return
	}
	s.cache.AddNode(n)
	s.queue.MoveAllToActiveOrBackoff(framework.NodeAdd)
}

func (s *Scheduler) onNodeUpdate(oldObj, obj api.Object) {
	old, ok1 := oldObj.(*api.Node)
	n, ok2 := obj.(*api.Node)
	if !ok1 || !ok2 {
		return
	}
	s.cache.UpdateNode(old, n)
	for _, ev := range nodeEvents(old, n) {
		s.queue.MoveAllToActiveOrBackoff(ev)
	}
}

// nodeEvents returns the scheduling-relevant changes between two versions
// of a node (none for a heartbeat).
func nodeEvents(old, n *api.Node) []framework.ClusterEvent {
	var evs []framework.ClusterEvent
	if !maps.Equal(old.Labels, n.Labels) {
		evs = append(evs, framework.NodeLabelChange)
	}
	if !reflect.DeepEqual(old.Spec.Taints, n.Spec.Taints) {
		evs = append(evs, framework.NodeTaintChange)
	}
	if !reflect.DeepEqual(old.Status.Allocatable, n.Status.Allocatable) || !reflect.DeepEqual(old.Status.Capacity, n.Status.Capacity) {
		evs = append(evs, framework.NodeAllocatableChange)
	}
	if old.Spec.Unschedulable != n.Spec.Unschedulable {
		evs = append(evs, framework.NodeSchedulableChange)
	}
	return evs
}

func (s *Scheduler) onNodeDelete(obj api.Object) {
	n, ok := obj.(*api.Node)
	if !ok {
		return
	}
	s.cache.RemoveNode(n)
	s.queue.MoveAllToActiveOrBackoff(framework.NodeDelete)
}

// onNamespaceUpdate reports a change of a namespace's labels: the
// namespaceSelector of pod affinity terms may select it now.
func (s *Scheduler) onNamespaceUpdate(oldObj, obj api.Object) {
	old, ok1 := oldObj.(*api.Namespace)
	ns, ok2 := obj.(*api.Namespace)
	if ok1 && ok2 && !maps.Equal(old.Labels, ns.Labels) {
		s.queue.MoveAllToActiveOrBackoff(framework.NamespaceLabelChange)
	}
}

// responsible reports whether pod is one of this scheduler's to place.
func (s *Scheduler) responsible(p *api.Pod) bool {
	_, ok := s.profiles[p.Spec.SchedulerName]
	return ok
}

func terminal(p *api.Pod) bool {
	return p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed
}

func (s *Scheduler) onPodAdd(obj api.Object, _ bool) {
	p, ok := obj.(*api.Pod)
	if !ok {
		return
	}
	switch {
	case p.Spec.NodeName != "":
		if terminal(p) {
			return
		}
		if err := s.cache.AddPod(p); err != nil {
			s.log.Warn("add pod to the cache", "err", err)
		}
		s.queue.MoveAllToActiveOrBackoff(framework.AssignedPodAdd)
	case s.responsible(p) && p.DeletionTimestamp == nil:
		s.queue.Add(p)
	}
}

func (s *Scheduler) onPodUpdate(oldObj, obj api.Object) {
	old, ok1 := oldObj.(*api.Pod)
	p, ok2 := obj.(*api.Pod)
	if !ok1 || !ok2 {
		return
	}
	switch {
	case p.Spec.NodeName == "":
		if !s.responsible(p) {
			return
		}
		if p.DeletionTimestamp != nil {
			s.queue.Delete(p)
			return
		}
		if s.cache.IsAssumed(p) {
			// Being bound: an update written before the binding (its
			// last PodScheduled=False, say) must not queue it again, nor
			// bring back the nomination its cycle dropped, which would
			// count it twice on its node.
			return
		}
		s.queue.Update(old, p)
	case old.Spec.NodeName == "":
		// Just bound (by us or another scheduler).
		s.queue.Delete(p)
		if terminal(p) {
			return
		}
		if err := s.cache.AddPod(p); err != nil {
			s.log.Warn("add pod to the cache", "err", err)
		}
		s.queue.MoveAllToActiveOrBackoff(framework.AssignedPodAdd)
	case terminal(p):
		if !terminal(old) {
			if err := s.cache.RemovePod(p); err != nil {
				s.log.Debug("remove finished pod from the cache", "err", err)
			}
			s.queue.MoveAllToActiveOrBackoff(framework.AssignedPodDelete)
		}
	default:
		if err := s.cache.UpdatePod(old, p); err != nil {
			if aerr := s.cache.AddPod(p); aerr != nil {
				s.log.Warn("update pod in the cache", "err", err)
			}
		}
		// A pod being deleted no longer counts for PodTopologySpread.
		terminating := old.DeletionTimestamp == nil && p.DeletionTimestamp != nil
		if terminating || !maps.Equal(old.Labels, p.Labels) || !reflect.DeepEqual(framework.PodRequests(old), framework.PodRequests(p)) {
			s.queue.MoveAllToActiveOrBackoff(framework.AssignedPodUpdate)
		}
	}
}

func (s *Scheduler) onPodDelete(obj api.Object) {
	p, ok := obj.(*api.Pod)
	if !ok {
		return
	}
	if p.Spec.NodeName == "" {
		s.queue.Delete(p)
		if w := s.waiting.get(p.UID); w != nil {
			w.Reject("", "the pod was deleted")
		}
		// Deleted while assumed (its binding not seen yet): its room is
		// free now, not when the assumption expires.
		if s.cache.ForgetDeleted(p) {
			s.queue.MoveAllToActiveOrBackoff(framework.AssignedPodDelete)
		}
		return
	}
	if terminal(p) {
		return // already out of the cache
	}
	if err := s.cache.RemovePod(p); err != nil {
		s.log.Debug("remove pod from the cache", "err", err)
	}
	s.queue.MoveAllToActiveOrBackoff(framework.AssignedPodDelete)
}
