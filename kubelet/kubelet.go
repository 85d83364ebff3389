package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/record"
	"github.com/drover-io/drover/kubelet/internal/podlabels"
	"github.com/drover-io/drover/runtime"
)

// MirrorAnnotation marks a mirror pod: the API server's copy of a static
// pod, which the node agent does not run (it runs the static pod).
const MirrorAnnotation = "kubernetes.io/config.mirror"

// Kubelet is the node agent's pod engine: it runs the pods bound to its
// node (and the static pods it is given) on a runtime, and reports their
// status. Make one with New and call Run once.
type Kubelet struct {
	cfg     Config
	log     *slog.Logger
	clock   Clock
	rt      runtime.Runtime
	images  runtime.ImageService
	execer  runtime.Execer // nil if the runtime cannot exec
	rec     EventRecorder
	ownRec  *record.Recorder
	probes  ProbeManager // nil without probes
	volumes VolumeManager
	metrics *metrics
	envSrc  EnvSources

	podInf *informer.Informer

	// admitMu serializes admission decisions.
	admitMu sync.Mutex

	mu          sync.Mutex
	workers     map[string]*podWorker // by pod UID
	staticSeen  bool
	runCtx      context.Context
	stopping    bool
	ran         bool
	node        *api.Node // see getNode
	nodeAt      time.Time
	runtimeName string

	wg sync.WaitGroup // the pod workers' goroutines

	// PLEG state.
	relistMu   sync.Mutex
	lastRelist map[string]containerSnap
	relists    int

	statusWrites atomic.Int64
}

type containerSnap struct {
	uid   string
	state runtime.ContainerState
}

// New returns a Kubelet of cfg, or an error naming the wrong field.
func New(cfg Config) (*Kubelet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	k := &Kubelet{
		cfg:        cfg,
		log:        cfg.Logger.With("node", cfg.NodeName),
		clock:      cfg.Clock,
		rt:         cfg.Runtime,
		images:     cfg.Images,
		rec:        cfg.Recorder,
		volumes:    cfg.Volumes,
		workers:    make(map[string]*podWorker),
		lastRelist: make(map[string]containerSnap),
	}
	k.execer, _ = cfg.Runtime.(runtime.Execer)
	if k.volumes == nil {
		k.volumes = &dirVolumes{root: cfg.RootDir}
	}
	k.envSrc = clientSources{cfg.Client}
	if k.rec == nil {
		rec, err := record.New(record.Config{Client: cfg.Client, Component: "kubelet", Host: cfg.NodeName, Clock: cfg.Clock, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("kubelet: event recorder: %w", err)
		}
		k.rec, k.ownRec = rec, rec
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	k.metrics = m
	if cfg.NewProbeManager != nil {
		if k.probes, err = cfg.NewProbeManager(k.onProbeUpdate); err != nil {
			return nil, fmt.Errorf("kubelet: probe manager: %w", err)
		}
	}

	scheme := cfg.Client.Scheme()
	podKind, err := scheme.ObjectKind(&api.Pod{})
	if err != nil {
		return nil, fmt.Errorf("kubelet: pod kind: %w", err)
	}
	lw, err := informer.ForClient(cfg.Client, podKind, informer.Selection{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName)})
	if err != nil {
		return nil, fmt.Errorf("kubelet: pod informer: %w", err)
	}
	if k.podInf, err = informer.New(informer.Config{ListerWatcher: lw, Logger: cfg.Logger}); err != nil {
		return nil, fmt.Errorf("kubelet: pod informer: %w", err)
	}
	if _, err := k.podInf.AddHandler(informer.HandlerFuncs{
		AddFunc:    func(obj api.Object, _ bool) { k.podAdded(obj.(*api.Pod)) },
		UpdateFunc: func(old, obj api.Object) { k.podUpdated(old.(*api.Pod), obj.(*api.Pod)) },
		DeleteFunc: func(obj api.Object) { k.podDeleted(obj.(*api.Pod)) },
	}); err != nil {
		return nil, fmt.Errorf("kubelet: pod informer: %w", err)
	}
	return k, nil
}

// Run runs the pod engine (and Config.NodeStatus and Config.Server) until
// ctx ends, then stops what it started, waits for it, and returns nil; it
// returns early with an error if NodeStatus or Server fails. The pods'
// containers keep running: a new Kubelet on the same runtime adopts them.
func (k *Kubelet) Run(ctx context.Context) error {
	k.mu.Lock()
	if k.ran {
		k.mu.Unlock()
		return errors.New("kubelet: Run called twice")
	}
	k.ran = true
	k.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	name := "runtime"
	if v, err := k.rt.Version(ctx); err == nil {
		name = v.Name
	}
	k.mu.Lock()
	k.runtimeName = name // before any worker runs
	k.runCtx = ctx
	early := slices.Collect(maps.Keys(k.workers)) // static pods set before Run
	k.mu.Unlock()
	for _, uid := range early {
		k.trigger(uid)
	}

	var bg sync.WaitGroup
	errc := make(chan error, 1) // the first failure; the others are logged
	goRun := func(name string, f func() error) {
		bg.Add(1)
		go func() {
			defer bg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				err = fmt.Errorf("kubelet: %s: %w", name, err)
				select {
				case errc <- err:
				default:
					k.log.Error("node agent part failed", "err", err)
				}
				cancel()
			}
		}()
	}
	if k.ownRec != nil {
		goRun("event recorder", func() error { return k.ownRec.Run(ctx) })
	}
	goRun("pod informer", func() error { return k.podInf.Run(ctx) })
	if k.cfg.NodeStatus != nil {
		goRun("node status", func() error {
			return k.cfg.NodeStatus.Run(ctx, func() {
				if k.cfg.OnRegistered != nil {
					k.cfg.OnRegistered()
				}
			})
		})
	}
	if r, ok := k.probes.(interface{ Run(context.Context) error }); ok {
		goRun("prober", func() error { return r.Run(ctx) })
	}
	if k.cfg.Server != nil {
		goRun("server", func() error { return k.cfg.Server.Run(ctx) })
	}

	k.relist(ctx)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-k.clock.After(k.cfg.RelistPeriod):
			k.relist(ctx)
		}
	}

	k.mu.Lock()
	k.stopping = true
	for _, w := range k.workers {
		if w.stopTimer != nil {
			w.stopTimer()
			w.stopTimer = nil
		}
	}
	k.mu.Unlock()
	k.wg.Wait()
	cancel()
	bg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// Pods returns the pods the agent runs (API pods bound to the node and
// static pods), as last seen. They are shared: do not modify them.
func (k *Kubelet) Pods() []*api.Pod {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]*api.Pod, 0, len(k.workers))
	for _, w := range k.workers {
		if w.pod != nil {
			out = append(out, w.pod)
		}
	}
	return out
}

// SetStaticPods replaces the set of static pods (package
// kubelet/staticpod calls it with the full set each time): new ones are
// started, changed ones synced, and those missing stopped and removed.
// Static pods run like API pods; their status goes to
// Config.MirrorStatus. Each needs a UID, a name and a namespace.
func (k *Kubelet) SetStaticPods(pods []*api.Pod) {
	k.mu.Lock()
	seen := make(map[string]bool, len(pods))
	var trig []string
	for _, p := range pods {
		uid := string(p.UID)
		if uid == "" {
			k.log.Warn("static pod without a UID ignored", "pod", p.Namespace+"/"+p.Name)
			continue
		}
		seen[uid] = true
		w := k.workerLocked(uid)
		w.static = true
		w.pod, w.last = p, p
		trig = append(trig, uid)
	}
	for uid, w := range k.workers {
		if w.static && !seen[uid] && w.pod != nil {
			w.pod = nil
			trig = append(trig, uid)
		}
	}
	k.staticSeen = true
	k.mu.Unlock()
	for _, uid := range trig {
		k.trigger(uid)
	}
}

// podAdded takes a pod new to the informer.
func (k *Kubelet) podAdded(p *api.Pod) {
	if p.Annotations[MirrorAnnotation] != "" {
		k.mirrorAdded(p)
		return
	}
	k.podChanged(p)
}

// mirrorAdded has the static pod of a new mirror pod write its status
// again: the mirror pod starts without it (it may be made after the
// status was last written, or made again after a user deleted it).
func (k *Kubelet) mirrorAdded(mirror *api.Pod) {
	if mirror.Spec.NodeName != k.cfg.NodeName {
		return
	}
	var uid string
	k.mu.Lock()
	for _, w := range k.workers {
		if w.static && w.pod != nil && w.pod.Namespace == mirror.Namespace && w.pod.Name == mirror.Name {
			w.forceWrite, uid = true, w.uid
		}
	}
	k.mu.Unlock()
	if uid != "" {
		k.trigger(uid)
	}
}

func (k *Kubelet) podChanged(p *api.Pod) {
	if p.Annotations[MirrorAnnotation] != "" || p.Spec.NodeName != k.cfg.NodeName {
		return
	}
	k.mu.Lock()
	w := k.workerLocked(string(p.UID))
	w.pod, w.last = p, p
	k.mu.Unlock()
	k.trigger(string(p.UID))
}

// podUpdated takes a changed pod; a change of its status alone (the
// agent's own writes, mostly) does not sync it, unless it made the pod
// Succeeded or Failed or was someone else's (foreignStatus).
func (k *Kubelet) podUpdated(old, p *api.Pod) {
	if old.UID == p.UID && old.DeletionGracePeriodSeconds != nil && p.DeletionGracePeriodSeconds != nil &&
		*p.DeletionGracePeriodSeconds < *old.DeletionGracePeriodSeconds {
		// Deleted again with a shorter grace period while terminating.
		k.shorten(string(p.UID), time.Duration(*p.DeletionGracePeriodSeconds)*time.Second)
	}
	if old.UID != p.UID {
		// Deleted and made again under the same name between two events
		// (the informer relisted): two pods.
		k.podDeleted(old)
		k.podAdded(p)
		return
	}
	if old.Generation == p.Generation && (old.DeletionTimestamp == nil) == (p.DeletionTimestamp == nil) &&
		isTerminal(old.Status.Phase) == isTerminal(p.Status.Phase) && maps.Equal(old.Labels, p.Labels) && maps.Equal(old.Annotations, p.Annotations) {
		k.mu.Lock()
		if w := k.workers[string(p.UID)]; w != nil && w.pod != nil {
			w.pod, w.last = p, p
			foreign := !w.static && foreignStatus(w, p)
			k.mu.Unlock()
			if foreign {
				k.trigger(string(p.UID))
			}
			return
		}
		k.mu.Unlock()
	}
	k.podChanged(p)
}

func (k *Kubelet) podDeleted(p *api.Pod) {
	k.mu.Lock()
	w := k.workers[string(p.UID)]
	if w == nil || w.static {
		k.mu.Unlock()
		return
	}
	terminating := w.pod != nil && w.pod.DeletionTimestamp != nil
	w.pod = nil
	k.mu.Unlock()
	if terminating {
		// Gone from the API server before the agent confirmed it (a
		// force delete): as Kubernetes, the containers get one more
		// second at most (none if the last grace period was 0).
		grace := time.Second
		if g := p.DeletionGracePeriodSeconds; g != nil && *g <= 0 {
			grace = 0
		}
		k.shorten(string(p.UID), grace)
	}
	k.trigger(string(p.UID))
}

// shorten makes a termination in progress end sooner, when the pod's
// grace period shrank (deleted again with a shorter --grace-period, or
// with --force). The pod's worker is waiting out the old grace period in
// StopContainer; stopping the pod's running containers again with the
// new one ends that wait as soon as they exit. It does nothing unless the
// pod's worker is syncing (terminating).
func (k *Kubelet) shorten(uid string, grace time.Duration) {
	k.mu.Lock()
	w := k.workers[uid]
	if w == nil || !w.running || k.stopping || k.runCtx == nil {
		k.mu.Unlock()
		return
	}
	ctx := k.runCtx
	k.wg.Add(1)
	k.mu.Unlock()
	go func() {
		defer k.wg.Done()
		st, err := k.runtimeState(ctx, uid)
		if err != nil {
			return
		}
		for _, cs := range st.byName {
			for _, c := range cs {
				if c.State == runtime.ContainerRunning {
					if err := k.rt.StopContainer(ctx, c.ID, runtime.StopOptions{GracePeriod: grace}); err != nil && ctx.Err() == nil {
						k.log.Warn("stop container sooner", "container", c.ID, "err", err)
					}
				}
			}
		}
	}()
}

// nodeTTL is how long a Node read for admission is used before it is
// read again.
const nodeTTL = 10 * time.Second

// getNode returns this agent's Node, read at most nodeTTL ago, or nil if
// it does not exist (yet). One Get by name per TTL: a watch or a list
// per agent would cost the API server O(nodes) per agent.
func (k *Kubelet) getNode(ctx context.Context) *api.Node {
	k.mu.Lock()
	n, at := k.node, k.nodeAt
	k.mu.Unlock()
	now := k.now()
	if n != nil && now.Sub(at) < nodeTTL {
		return n
	}
	var fresh api.Node
	if err := k.cfg.Client.Get(ctx, "", k.cfg.NodeName, &fresh); err != nil {
		if !api.IsNotFound(err) && ctx.Err() == nil {
			k.log.Warn("read the node", "err", err)
		}
		return n
	}
	k.mu.Lock()
	k.node, k.nodeAt = &fresh, now
	k.mu.Unlock()
	return &fresh
}

// workerLocked returns the worker of uid, made if missing. k.mu is held.
func (k *Kubelet) workerLocked(uid string) *podWorker {
	w := k.workers[uid]
	if w == nil {
		w = newPodWorker(uid)
		k.workers[uid] = w
		k.metrics.workers.Inc()
	}
	return w
}

// trigger has the pod's worker sync it: now if it is idle, or once more
// after its current sync.
func (k *Kubelet) trigger(uid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	w := k.workers[uid]
	if w == nil || k.stopping || k.runCtx == nil {
		return
	}
	if w.running {
		w.pending = true
		return
	}
	w.running = true
	ctx := k.runCtx
	k.wg.Add(1)
	go k.work(ctx, w)
}

// work runs the syncs of w until none is pending.
func (k *Kubelet) work(ctx context.Context, w *podWorker) {
	defer k.wg.Done()
	for {
		start := k.clock.Now()
		wake, done := k.syncPod(ctx, w)
		now := k.clock.Now()
		k.metrics.syncDuration.Observe(now.Sub(start).Seconds())
		k.mu.Lock()
		w.active = w.admitted && w.terminalPhase == "" && !w.terminated
		if w.stopTimer != nil {
			w.stopTimer()
			w.stopTimer = nil
		}
		if done {
			back := false
			if k.workers[w.uid] == w {
				delete(k.workers, w.uid)
				k.metrics.workers.Dec()
				if w.pod != nil {
					// Given again while it was being removed (a static
					// pod's manifest moved out and back): a new worker
					// runs it from the start.
					nw := k.workerLocked(w.uid)
					nw.pod, nw.last, nw.static = w.pod, w.last, w.static
					back = true
				}
			}
			w.running = false
			k.mu.Unlock()
			if back {
				k.trigger(w.uid)
			}
			return
		}
		if !w.pending || k.stopping || ctx.Err() != nil {
			if wake > 0 && !k.stopping && ctx.Err() == nil {
				// wake counts from the start of the sync, which decided
				// it: the clock may have moved since.
				uid := w.uid
				w.stopTimer = k.at(start.Add(wake), func() { k.trigger(uid) })
			}
			w.running = false
			k.mu.Unlock()
			return
		}
		w.pending = false
		k.mu.Unlock()
	}
}

// at calls f when the clock reaches deadline. A fake clock may jump
// while the timer is set (a test moving it): the timer is then set again,
// until the clock moved less than a millisecond while it was set, as a
// real clock does.
func (k *Kubelet) at(deadline time.Time, f func()) (stop func() bool) {
	for {
		before := k.clock.Now()
		stop = k.clock.AfterFunc(deadline.Sub(before), f)
		if k.clock.Now().Sub(before) < time.Millisecond || !stop() {
			return stop
		}
	}
}

// onProbeUpdate receives the ProbeManager's changes.
func (k *Kubelet) onProbeUpdate(u ProbeUpdate) {
	k.mu.Lock()
	w := k.workers[u.PodUID]
	var pod *api.Pod
	if w != nil {
		pod = w.pod
		if u.Result == ProbeFailure && (u.Kind == Liveness || u.Kind == Startup) {
			w.unhealthy[u.ContainerID] = u
		}
	}
	k.mu.Unlock()
	if pod != nil && u.Result == ProbeFailure {
		k.rec.Eventf(pod, api.EventTypeWarning, "Unhealthy", "%s probe failed: %s", u.Kind, u.Message)
	}
	if w != nil {
		k.trigger(u.PodUID)
	}
}

// relist is the PLEG: it lists the runtime's containers, compares them
// with the last list and syncs the pods whose containers changed. Every
// tenth relist also removes the sandboxes of pods the agent does not know.
func (k *Kubelet) relist(ctx context.Context) {
	k.relistMu.Lock()
	defer k.relistMu.Unlock()
	cs, err := k.rt.ListContainers(ctx, runtime.ContainerFilter{Labels: map[string]string{podlabels.ManagedBy: podlabels.ManagedByValue}})
	if err != nil {
		if ctx.Err() == nil {
			k.log.Warn("relist containers", "err", err)
		}
		return
	}
	changed := make(map[string]bool)
	now := make(map[string]containerSnap, len(cs))
	running := 0
	runningPods := make(map[string]bool)
	for _, c := range cs {
		s := containerSnap{uid: c.Labels[podlabels.PodUID], state: c.State}
		now[c.ID] = s
		if old, ok := k.lastRelist[c.ID]; !ok || old != s {
			changed[s.uid] = true
		}
		if c.State == runtime.ContainerRunning {
			running++
			runningPods[s.uid] = true
		}
	}
	for id, s := range k.lastRelist {
		if _, ok := now[id]; !ok {
			changed[s.uid] = true
		}
	}
	k.lastRelist = now
	k.metrics.runningContainers.Set(float64(running))
	k.metrics.runningPods.Set(float64(len(runningPods)))
	for uid := range changed {
		k.trigger(uid)
	}
	if k.relists%10 == 0 {
		k.removeOrphans(ctx)
	}
	k.relists++
}

// removeOrphans stops and removes the sandboxes, and removes the
// volumes (with a VolumeManager that lists them, see PodVolumeLister), of
// pods that are neither bound here nor static, once the pod informer has
// synced.
func (k *Kubelet) removeOrphans(ctx context.Context) {
	if !k.podInf.HasSynced() {
		return
	}
	k.mu.Lock()
	wait := k.cfg.WaitForStaticPods && !k.staticSeen
	k.mu.Unlock()
	if wait {
		return
	}
	// What is on the node first, then what is known: a pod's worker
	// exists before its sandbox and volumes do, so a pod that arrives
	// meanwhile is known.
	sbs, err := k.rt.ListPodSandboxes(ctx)
	if err != nil {
		return
	}
	var volUIDs []string
	if l, ok := k.volumes.(PodVolumeLister); ok {
		if volUIDs, err = l.PodUIDs(); err != nil {
			k.log.Warn("list the pods' volumes", "err", err)
		}
	}
	k.mu.Lock()
	known := make(map[string]bool, len(k.workers))
	for uid := range k.workers {
		known[uid] = true
	}
	k.mu.Unlock()
	for _, o := range k.podInf.Cache().List(labels.Everything()) {
		known[string(o.(*api.Pod).UID)] = true
	}
	for _, uid := range volUIDs {
		if known[uid] {
			continue
		}
		k.log.Info("removing the volumes of a pod no longer bound here", "uid", uid)
		if err := k.volumes.TearDown(ctx, uid); err != nil {
			k.log.Warn("tear down orphan volumes", "uid", uid, "err", err)
		}
	}
	for _, sb := range sbs {
		if sb.Labels[podlabels.ManagedBy] != podlabels.ManagedByValue {
			continue
		}
		uid := sb.Labels[podlabels.PodUID]
		if known[uid] {
			continue
		}
		k.log.Info("removing the sandbox of a pod no longer bound here", "sandbox", sb.ID, "pod", sb.Labels[podlabels.PodNamespace]+"/"+sb.Labels[podlabels.PodName])
		if err := k.rt.StopPodSandbox(ctx, sb.ID); err != nil {
			k.log.Warn("stop orphan sandbox", "sandbox", sb.ID, "err", err)
			continue
		}
		if err := k.rt.RemovePodSandbox(ctx, sb.ID); err != nil {
			k.log.Warn("remove orphan sandbox", "sandbox", sb.ID, "err", err)
			continue
		}
		_ = k.volumes.TearDown(ctx, uid)
		if sb.LogDirectory != "" && filepath.IsAbs(sb.LogDirectory) {
			_ = os.RemoveAll(sb.LogDirectory)
		}
	}
}

// nodeIP returns the node's address for hostIP.
func (k *Kubelet) nodeIP() string {
	if k.cfg.NodeIP != "" {
		return k.cfg.NodeIP
	}
	k.mu.Lock()
	n := k.node
	k.mu.Unlock()
	if n == nil {
		return ""
	}
	for _, a := range n.Status.Addresses {
		if a.Type == api.NodeInternalIP {
			return a.Address
		}
	}
	for _, a := range n.Status.Addresses {
		if a.Type == api.NodeExternalIP {
			return a.Address
		}
	}
	return ""
}

// now is the clock's time.
func (k *Kubelet) now() time.Time { return k.clock.Now() }
