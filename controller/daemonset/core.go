package daemonset

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// The event reasons, as Kubernetes names them.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
	ReasonFailedDaemonPod  = "FailedDaemonPod"
)

// nodeBackoff is what the controller remembers of the failed daemon pods
// of one DaemonSet on one node.
type nodeBackoff struct {
	failures int
	last     time.Time
}

func (b nodeBackoff) until(base, maxDelay time.Duration) time.Time {
	if b.failures <= 0 {
		return time.Time{}
	}
	d := base
	for range b.failures - 1 {
		if d *= 2; d >= maxDelay {
			break
		}
	}
	return b.last.Add(min(d, maxDelay))
}

// input is what one decision about a DaemonSet is made from.
type input struct {
	ds    *api.DaemonSet
	nodes []*api.Node
	pods  []*api.Pod // the pods ds controls, from the cache
	hash  string     // TemplateHash of ds's template
	now   time.Time
	// satisfied: the expectations are met, creates and deletes allowed.
	satisfied bool
	backoff   map[string]nodeBackoff // by node name

	backoffBase, backoffMax time.Duration
	burst                   int
}

type event struct {
	warning bool
	reason  string
	message string
}

// plan is what the controller decided for a DaemonSet.
type plan struct {
	status  api.DaemonSetStatus
	create  []string // nodes to create a pod for
	remove  []*api.Pod
	events  []event
	backoff map[string]nodeBackoff
	requeue time.Duration
}

func (p *plan) wake(d time.Duration) {
	if d > 0 && (p.requeue == 0 || d < p.requeue) {
		p.requeue = d
	}
}

// nodeState is one node as the decision sees it.
type nodeState struct {
	node *api.Node
	pl   placement
	// live are the daemon pods on the node that stay: not being deleted,
	// not terminated, not removed by this plan; oldest first.
	live []*api.Pod
}

// rolling returns the resolved maxUnavailable and maxSurge of ds for
// desired nodes, and false if ds does not roll (OnDelete).
func rolling(ds *api.DaemonSet, desired int) (maxUnavailable, maxSurge int, ok bool) {
	st := ds.Spec.UpdateStrategy
	if st.Type == api.OnDeleteDaemonSetStrategyType {
		return 0, 0, false
	}
	maxUnavailable, maxSurge = 1, 0
	if ru := st.RollingUpdate; ru != nil {
		if ru.MaxUnavailable != nil {
			if v, err := ru.MaxUnavailable.ScaledValue(desired, true); err == nil {
				maxUnavailable = v
			}
		}
		if ru.MaxSurge != nil {
			if v, err := ru.MaxSurge.ScaledValue(desired, true); err == nil {
				maxSurge = v
			}
		}
	}
	if maxUnavailable == 0 && maxSurge == 0 {
		// Validation forbids it; never stall a rollout over it.
		maxUnavailable = 1
	}
	return maxUnavailable, maxSurge, true
}

// decide is the pure core: what to do about in.ds given the nodes and its
// pods.
func decide(in input) plan {
	ds := in.ds
	p := plan{backoff: maps.Clone(in.backoff)}
	if p.backoff == nil {
		p.backoff = map[string]nodeBackoff{}
	}
	// Records with no failure for twice the longest delay are forgotten,
	// as are those of nodes that left.
	nodes := map[string]bool{}
	for _, n := range in.nodes {
		nodes[n.Name] = true
	}
	maps.DeleteFunc(p.backoff, func(node string, b nodeBackoff) bool {
		return !nodes[node] || in.now.Sub(b.last) > 2*in.backoffMax
	})
	removed := map[api.UID]bool{}
	remove := func(pod *api.Pod) {
		if !removed[pod.UID] {
			removed[pod.UID] = true
			p.remove = append(p.remove, pod)
		}
	}
	minReady := ds.Spec.MinReadySeconds
	available := func(pod *api.Pod) bool { return ctrlutil.IsPodAvailable(pod, minReady, in.now) }
	isNew := func(pod *api.Pod) bool { return pod.Labels[RevisionHashLabel] == in.hash }

	byNode := map[string][]*api.Pod{}
	for _, pod := range in.pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		name := podNode(pod)
		if name == "" || !nodes[name] {
			remove(pod) // pinned nowhere, or to a node that left
			continue
		}
		byNode[name] = append(byNode[name], pod)
	}
	sorted := slices.Clone(in.nodes)
	slices.SortFunc(sorted, func(a, b *api.Node) int { return cmp.Compare(a.Name, b.Name) })
	_, maxSurge, rolls := rolling(ds, 0)
	surge := rolls && maxSurge > 0

	st := &p.status
	var states []*nodeState
	for _, node := range sorted {
		s := &nodeState{node: node, pl: place(&ds.Spec.Template, node)}
		pods := byNode[node.Name]
		slices.SortStableFunc(pods, func(a, b *api.Pod) int {
			if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
				return c
			}
			return cmp.Compare(a.Name, b.Name)
		})
		if !s.pl.shouldContinue {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			for _, pod := range pods {
				remove(pod)
			}
			continue
		}
		var keptNew, keptOld bool
		for _, pod := range pods {
			switch {
			case pod.Status.Phase == api.PodFailed || pod.Status.Phase == api.PodSucceeded:
				remove(pod)
				if in.satisfied {
					b := p.backoff[node.Name]
					if in.now.Sub(b.last) > 2*in.backoffMax {
						b = nodeBackoff{} // an old record: start afresh
					}
					p.backoff[node.Name] = nodeBackoff{failures: b.failures + 1, last: in.now}
					p.events = append(p.events, event{warning: true, reason: ReasonFailedDaemonPod,
						message: fmt.Sprintf("Found failed daemon pod %s on node %s, will try to kill it", pod.Name, node.Name)})
				}
			case surge && isNew(pod) && !keptNew:
				keptNew = true
				s.live = append(s.live, pod)
			case surge && !isNew(pod) && !keptOld:
				keptOld = true
				s.live = append(s.live, pod)
			case !surge && len(s.live) == 0:
				s.live = append(s.live, pod)
			default:
				remove(pod) // a duplicate
			}
		}
		states = append(states, s)
		if !s.pl.shouldRun {
			if len(s.live) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(s.live) == 0 {
			if until := p.backoff[node.Name].until(in.backoffBase, in.backoffMax); in.now.Before(until) {
				p.wake(until.Sub(in.now))
			} else {
				p.create = append(p.create, node.Name)
			}
			continue
		}
		st.CurrentNumberScheduled++
		var ready, avail, updated bool
		for _, pod := range s.live {
			ready = ready || ctrlutil.IsPodReady(pod)
			updated = updated || isNew(pod)
			if d := ctrlutil.AvailableAfter(pod, minReady, in.now); d == 0 {
				avail = true
			} else {
				p.wake(d)
			}
		}
		if ready {
			st.NumberReady++
		}
		if updated {
			st.UpdatedNumberScheduled++
		}
		if avail {
			st.NumberAvailable++
		}
	}
	st.NumberUnavailable = max(st.DesiredNumberScheduled-st.NumberAvailable, 0)
	st.ObservedGeneration = ds.Generation
	st.CollisionCount = ds.Status.CollisionCount
	st.Conditions = ds.Status.Conditions

	if rolls && in.satisfied {
		maxUnavailable, maxSurge, _ := rolling(ds, int(st.DesiredNumberScheduled))
		if maxSurge > 0 {
			p.surge(states, maxSurge, isNew, available, remove)
		} else {
			p.rollOut(states, maxUnavailable, isNew, available, remove)
		}
	}
	if !in.satisfied {
		p.create, p.remove = nil, nil
		return p
	}
	if len(p.create) > in.burst {
		p.create = p.create[:in.burst]
		p.wake(time.Second)
	}
	if len(p.remove) > in.burst {
		p.remove = p.remove[:in.burst]
		p.wake(time.Second)
	}
	return p
}

// rollOut deletes old pods while at most maxUnavailable of the nodes that
// should run a pod lack an available one: those whose old pod is not
// available first (they count as unavailable already), then available
// ones while the budget lasts. Their replacements are created on the next
// pass, once the deletes are seen.
func (p *plan) rollOut(states []*nodeState, maxUnavailable int, isNew, available func(*api.Pod) bool, remove func(*api.Pod)) {
	unavailable := 0
	var candidates []*api.Pod
	for _, s := range states {
		if !s.pl.shouldRun {
			continue
		}
		if len(s.live) == 0 {
			unavailable++
			continue
		}
		pod := s.live[0]
		switch {
		case isNew(pod):
			if !available(pod) {
				unavailable++
			}
		case !available(pod):
			unavailable++
			remove(pod)
		default:
			candidates = append(candidates, pod)
		}
	}
	room := min(max(maxUnavailable-unavailable, 0), len(candidates))
	for _, pod := range candidates[:room] {
		remove(pod)
	}
}

// surge starts new pods next to available old ones on at most maxSurge
// nodes at a time, and deletes an old pod once its node's new pod is
// available. An old pod that is not available is deleted at once.
func (p *plan) surge(states []*nodeState, maxSurge int, isNew, available func(*api.Pod) bool, remove func(*api.Pod)) {
	inUse := 0
	var candidates []string
	for _, s := range states {
		if !s.pl.shouldRun {
			continue
		}
		var newPod, oldPod *api.Pod
		for _, pod := range s.live {
			if isNew(pod) {
				newPod = pod
			} else {
				oldPod = pod
			}
		}
		switch {
		case oldPod == nil:
		case newPod != nil:
			inUse++
			if available(newPod) {
				remove(oldPod)
			}
		case !available(oldPod):
			remove(oldPod)
		default:
			candidates = append(candidates, s.node.Name)
		}
	}
	room := min(max(maxSurge-inUse, 0), len(candidates))
	p.create = append(p.create, candidates[:room]...)
}
