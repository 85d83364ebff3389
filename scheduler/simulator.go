package scheduler

import (
	"context"
	"fmt"
	"sync"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
)

// Simulator is the scheduler against its cache alone: no API server, no
// informers, no queue. It holds a set of nodes and the pods on them, and
// Schedule places one pod at a time with the same cycle the Scheduler
// runs (Framework.Schedule, then assume, Reserve, Permit, PreBind, Bind
// and PostBind), after which the pod counts on its node for the next
// cycle. Use it for what-if capacity planning ("do these 300 pods fit
// on this cluster?") and to measure the scheduling cycle.
//
// The plugins' writes land in the simulator instead of an API server:
// Bind places the pod; preemption's victims (DefaultPreemption's
// DeletePod) are removed from the nodes at once, with no grace period,
// and listed by Victims; a nomination (SetNominatedNode) is kept, so
// that Scheduling the preempting pod again tries its nominated node
// first and other pods of lower priority do not take the room made for
// it.
//
// A Permit plugin that answers Wait counts as allowing the pod: the
// simulator has no binding cycle to hold it in, and nothing else that
// would allow it later.
//
// The methods are safe for concurrent use; cycles run one at a time.
type Simulator struct {
	mu       sync.Mutex // held by a cycle, and by the simClient it calls
	profiles map[string]*Framework
	first    *Framework
	cache    *cache.Cache
	snapshot *cache.Snapshot
	nom      *simNominator
	victims  []*api.Pod // guarded by mu
}

// NewSimulator returns a Simulator with cfg's profiles (the default
// profile if cfg has none) over nodes, with pods already on them (each
// must name its node in spec.nodeName). Of cfg's dependencies only
// Registry, Logger and Clock are used: Client, Informers, Recorder and
// Registerer are ignored. cfg is validated as New does.
func NewSimulator(cfg Config, nodes []*api.Node, pods []*api.Pod) (*Simulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	reg, err := registered(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s := &Simulator{
		profiles: make(map[string]*Framework, len(cfg.Profiles)),
		cache:    cache.New(cache.Config{Now: cfg.Clock.Now, Logger: cfg.Logger}),
		snapshot: cache.NewSnapshot(),
		nom:      &simNominator{byNode: make(map[string][]*framework.PodInfo), byPod: make(map[podRef]string)},
	}
	for _, p := range cfg.Profiles {
		fw, err := newFramework(p, reg, frameworkDeps{
			client: simClient{s}, clock: cfg.Clock,
			logger: cfg.Logger.With("profile", p.SchedulerName), parallelism: cfg.Parallelism,
			percentage: cfg.PercentageOfNodesToScore,
		})
		if err != nil {
			return nil, fmt.Errorf("scheduler: profile %s: %w", p.SchedulerName, err)
		}
		fw.SetNominator(s.nom)
		if s.first == nil {
			s.first = fw
		}
		s.profiles[p.SchedulerName] = fw
	}
	for i, n := range nodes {
		if n == nil || n.Name == "" {
			return nil, fmt.Errorf("scheduler: simulator: nodes[%d] has no metadata.name", i)
		}
		s.cache.AddNode(n)
	}
	for i, p := range pods {
		if err := s.AddPod(p); err != nil {
			return nil, fmt.Errorf("scheduler: simulator: pods[%d]: %w", i, err)
		}
	}
	return s, nil
}

// AddNode adds a node, or replaces the node of that name (its pods stay).
func (s *Simulator) AddNode(node *api.Node) {
	s.cache.AddNode(node)
}

// AddPod adds a pod already placed on a node (spec.nodeName set). A pod
// with no uid is given one (see Schedule).
func (s *Simulator) AddPod(pod *api.Pod) error {
	if pod.Spec.NodeName == "" {
		return fmt.Errorf("pod %s/%s: spec.nodeName is empty: AddPod takes placed pods; Schedule places the others", pod.Namespace, pod.Name)
	}
	if err := s.cache.AddPod(withUID(pod)); err != nil {
		return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// RemovePod removes a placed pod (by uid, or by namespace and name for a
// pod without one), freeing its room.
func (s *Simulator) RemovePod(pod *api.Pod) error {
	if err := s.cache.RemovePod(withUID(pod)); err != nil {
		return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// Node returns a copy of the node named name with its pods and the
// resources they request, or nil if there is no such node.
func (s *Simulator) Node(name string) *framework.NodeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cache.UpdateSnapshot(s.snapshot); err != nil {
		return nil
	}
	if ni := s.snapshot.Get(name); ni != nil {
		return ni.Clone()
	}
	return nil
}

// Victims returns the pods preemption removed, in the order it removed
// them, since the Simulator was made.
func (s *Simulator) Victims() []*api.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*api.Pod(nil), s.victims...)
}

// Schedule runs one scheduling cycle for pod on the current nodes and
// places it. pod is not modified; it must have no spec.nodeName and must
// not be placed already. Its spec.schedulerName chooses the profile (""
// means the first). A pod without a uid is given a stable one made of
// its namespace and name, so that scheduling the same pod again (after
// preemption) is recognized.
//
// The Result is the cycle's: Result.Node is where the pod was placed.
// When it fits nowhere, Result.Node is "" and Result.Status says why
// (err is nil); if preemption made room, its victims are gone already
// and Result.NominatedNode names the node, where the next Schedule of
// the same pod places it unless something else changed. err is set when
// the cycle failed rather than the pod (a plugin error, Reserve, Permit
// or Bind failing, an unknown profile, ctx ending); the pod is then not
// placed.
func (s *Simulator) Schedule(ctx context.Context, pod *api.Pod) (*Result, error) {
	if pod.Spec.NodeName != "" {
		return nil, fmt.Errorf("scheduler: simulator: pod %s/%s: spec.nodeName is %q: Schedule takes pods with no node; AddPod adds placed ones", pod.Namespace, pod.Name, pod.Spec.NodeName)
	}
	fw := s.first
	if name := pod.Spec.SchedulerName; name != "" {
		if fw = s.profiles[name]; fw == nil {
			return nil, fmt.Errorf("scheduler: simulator: pod %s/%s: spec.schedulerName %q is not one of the profiles", pod.Namespace, pod.Name, name)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	pod = withUID(pod)
	if node := s.nom.nodeOf(pod); node != "" && pod.Status.NominatedNodeName != node {
		p := api.DeepCopy(pod)
		p.Status.NominatedNodeName = node
		pod = p
	}
	if err := s.cache.UpdateSnapshot(s.snapshot); err != nil {
		return nil, fmt.Errorf("scheduler: simulator: snapshot: %w", err)
	}
	state := framework.NewCycleState()
	res := fw.Schedule(ctx, state, pod, s.snapshot)
	if res.Status != nil {
		if res.Status.Code() == framework.Error {
			return res, fmt.Errorf("scheduler: simulator: pod %s/%s: %w", pod.Namespace, pod.Name, res.Status.Err())
		}
		if res.NominatedNode != "" {
			s.nom.set(pod, res.NominatedNode)
		}
		return res, nil
	}

	assumed := api.DeepCopy(pod)
	assumed.Spec.NodeName = res.Node
	assumed.Status.NominatedNodeName = ""
	if err := s.cache.AssumePod(assumed); err != nil {
		return res, fmt.Errorf("scheduler: simulator: pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	// fail undoes Reserve and the assumption after step failed.
	fail := func(step string, st *framework.Status) (*Result, error) {
		fw.RunUnreservePlugins(ctx, state, assumed, res.Node)
		if err := s.cache.ForgetPod(assumed); err != nil {
			return res, fmt.Errorf("scheduler: simulator: pod %s/%s: forget after %s: %w", pod.Namespace, pod.Name, step, err)
		}
		res.Node = ""
		return res, fmt.Errorf("scheduler: simulator: pod %s/%s: %s on node %s: %w", pod.Namespace, pod.Name, step, assumed.Spec.NodeName, st.Err())
	}
	if st := fw.RunReservePlugins(ctx, state, assumed, res.Node); st != nil {
		return fail("Reserve", st) // (RunReservePlugins unreserved already; again is harmless)
	}
	if st := fw.RunPermitPlugins(ctx, state, assumed, res.Node); st != nil {
		if st.Code() != framework.Wait {
			return fail("Permit", st)
		}
		// Wait counts as allowed (see the type's doc).
		if w := fw.deps.waiting.get(assumed.UID); w != nil {
			for _, plugin := range w.Pending() {
				w.Allow(plugin)
			}
		}
	}
	st := fw.WaitOnPermit(ctx, assumed)
	if st.IsSuccess() {
		st = fw.RunPreBindPlugins(ctx, state, assumed, res.Node)
	}
	if st.IsSuccess() {
		st = fw.RunBindPlugins(ctx, state, assumed, res.Node)
	}
	if !st.IsSuccess() {
		return fail("binding", st)
	}
	// The binding is "observed" at once: the pod is added, no longer
	// assumed.
	if err := s.cache.AddPod(assumed); err != nil {
		return res, fmt.Errorf("scheduler: simulator: pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	s.nom.remove(pod)
	fw.RunPostBindPlugins(ctx, state, assumed, res.Node)
	return res, nil
}

// withUID returns pod, or a copy of it with a uid made of its namespace
// and name if it has none.
func withUID(pod *api.Pod) *api.Pod {
	if pod.UID != "" {
		return pod
	}
	p := api.DeepCopy(pod)
	p.UID = api.UID("simulator/" + pod.Namespace + "/" + pod.Name)
	return p
}

// podRef is a pod's namespace and name.
type podRef struct{ namespace, name string }

// simNominator keeps the nominations preemption made in a Simulator. It
// is the Frameworks' Nominator, read from Filter's goroutines.
type simNominator struct {
	mu     sync.Mutex
	byNode map[string][]*framework.PodInfo
	byPod  map[podRef]string
}

var _ Nominator = (*simNominator)(nil)

// NominatedPodsForNode implements Nominator.
func (n *simNominator) NominatedPodsForNode(node string) []*framework.PodInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*framework.PodInfo(nil), n.byNode[node]...)
}

func (n *simNominator) nodeOf(pod *api.Pod) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.byPod[podRef{pod.Namespace, pod.Name}]
}

// set nominates node for pod, replacing an earlier nomination.
func (n *simNominator) set(pod *api.Pod, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.removeLocked(pod)
	p := api.DeepCopy(pod)
	p.Status.NominatedNodeName = node
	n.byPod[podRef{pod.Namespace, pod.Name}] = node
	n.byNode[node] = append(n.byNode[node], framework.NewPodInfo(p))
}

func (n *simNominator) remove(pod *api.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.removeLocked(pod)
}

func (n *simNominator) removeLocked(pod *api.Pod) {
	key := podRef{pod.Namespace, pod.Name}
	node, ok := n.byPod[key]
	if !ok {
		return
	}
	delete(n.byPod, key)
	list := n.byNode[node]
	for i, pi := range list {
		if pi.Pod.Namespace == pod.Namespace && pi.Pod.Name == pod.Name {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(n.byNode, node)
	} else {
		n.byNode[node] = list
	}
}

// simClient is the framework.Client of a Simulator's plugins: their
// writes change the simulator instead of an API server. It is called
// from the cycle, with Simulator.mu held.
type simClient struct{ s *Simulator }

var _ framework.Client = simClient{}

// Bind accepts the binding of a pod to a node of the cycle's snapshot;
// Schedule adds the pod there once the Bind plugins returned.
func (c simClient) Bind(_ context.Context, namespace, name string, _ api.UID, node string) error {
	if c.s.snapshot.Get(node) == nil {
		return fmt.Errorf("bind pod %s/%s: node %q does not exist", namespace, name, node)
	}
	return nil
}

// DeletePod removes a victim from its node at once and records it.
func (c simClient) DeletePod(_ context.Context, pod *api.Pod) error {
	if err := c.s.cache.RemovePod(pod); err != nil {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.s.victims = append(c.s.victims, pod) // Simulator.mu is held
	c.s.nom.remove(pod)
	return nil
}

// SetNominatedNode records the nomination ("" clears it).
func (c simClient) SetNominatedNode(_ context.Context, pod *api.Pod, node string) error {
	if node == "" {
		c.s.nom.remove(pod)
		return nil
	}
	c.s.nom.set(pod, node)
	return nil
}
