// Package defaultpreemption is the DefaultPreemption scheduler plugin: a
// PostFilter that, for a pod that fits no node, finds a node where
// deleting pods of lower priority makes it fit, deletes them (the
// victims) and nominates the node for the pod.
//
// # How
//
// A node is a candidate if its Filter status was Unschedulable (not
// UnschedulableAndUnresolvable: no deletion helps there). On a copy of
// the node and of the cycle state, every pod of lower priority is
// removed (the PreFilter plugins' extensions follow, so that pod
// affinity and topology spread counts change too) and the Filter plugins
// run; if the pod fits, the removed pods are put back one by one, from
// the highest priority down (then the earliest started), each kept if
// the pod still fits. Those that cannot stay are the victims.
//
// Not every node is tried: the search stops after
// max(MinCandidateNodesPercentage% of the nodes, MinCandidateNodesAbsolute)
// candidates, starting where the previous search stopped so that
// preemption spreads over the cluster.
//
// Among the candidates, the node is chosen by, in order (as Kubernetes
// does; Drover has no PodDisruptionBudgets, so that first criterion is
// skipped): no victims at all; the lowest priority of its most important
// victim; the smallest sum of victim priorities; the fewest victims; the
// latest start time of its most important victims; the first found.
//
// A pod with preemptionPolicy Never does not preempt; nor does a pod
// already nominated to a node where lower-priority pods are still being
// deleted (it waits for them).
//
// # Several preemptors in flight
//
// A node where preemption made room for a pod is promised to it until
// the pod is bound (its nomination). When the Handle is also a
// NominatedFilter, as the scheduler's framework is, the what-if check
// counts the pods nominated to the node with at least the preemptor's
// priority, as the scheduling cycle's Filter does: a node already
// promised to another preemptor is seen as full, and the room it holds
// is not taken again (nominated pods of lower priority are left out; the
// preemptor may take their room). Victims already being deleted are not
// deleted again.
package defaultpreemption

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// Name is the plugin's name.
const Name = "DefaultPreemption"

// Args are the plugin's arguments; the zero value is the default.
type Args struct {
	// MinCandidateNodesPercentage is the share of the nodes, in percent,
	// the search looks for candidates on, at least. 0 means the default,
	// 10.
	MinCandidateNodesPercentage int32 `json:"minCandidateNodesPercentage,omitempty"`
	// MinCandidateNodesAbsolute is the number of candidates the search
	// looks for, at least. 0 means the default, 100.
	MinCandidateNodesAbsolute int32 `json:"minCandidateNodesAbsolute,omitempty"`
}

// Validate reports the first invalid field.
func (a Args) Validate() error {
	if a.MinCandidateNodesPercentage < 0 || a.MinCandidateNodesPercentage > 100 {
		return fmt.Errorf("defaultpreemption: minCandidateNodesPercentage: %d is out of range; want 0 (default 10) to 100", a.MinCandidateNodesPercentage)
	}
	if a.MinCandidateNodesAbsolute < 0 {
		return fmt.Errorf("defaultpreemption: minCandidateNodesAbsolute: %d is negative; want 0 (default 100) or more", a.MinCandidateNodesAbsolute)
	}
	return nil
}

func (a Args) withDefaults() Args {
	if a.MinCandidateNodesPercentage == 0 {
		a.MinCandidateNodesPercentage = 10
	}
	if a.MinCandidateNodesAbsolute == 0 {
		a.MinCandidateNodesAbsolute = 100
	}
	return a
}

// Plugin is the DefaultPreemption plugin. PostFilter is called from the
// scheduling goroutine; it runs its what-if checks on several goroutines.
type Plugin struct {
	args Args
	h    framework.Handle
	// offset is where the next search starts, in the snapshot's order.
	offset atomic.Uint64
	// parallelism is how many goroutines check nodes.
	parallelism int
}

var _ framework.PostFilterPlugin = (*Plugin)(nil)

// NominatedFilter is an optional interface of the framework.Handle: the
// Filter plugins as a scheduling cycle runs them, with the pods nominated
// to the node (of at least pod's priority, pod itself left out) counted
// on it. PostFilter calls it from its what-if goroutines, with a copy of
// the node and of the cycle state that it owns; it must be safe for
// concurrent use. The status is the first Filter plugin's that did not
// pass (nil: pod fits); a Code of Error means the check itself failed.
//
// Without it, the what-if runs Handle.RunFilterPlugins and ignores
// nominated pods: several preemptors may then be promised the same room.
type NominatedFilter interface {
	RunFilterPluginsWithNominatedPods(ctx context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status
}

// New returns the plugin. PostFilter needs h (its snapshot, filters and
// client); with a nil h.Client() it nominates without deleting anything.
func New(args Args, h framework.Handle) (*Plugin, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	return &Plugin{args: args.withDefaults(), h: h, parallelism: 2}, nil
}

// Name returns Name.
func (p *Plugin) Name() string { return Name }

// The reasons PostFilter gives when it finds no node.
const (
	ReasonNotEligible = "not eligible due to preemptionPolicy=Never."
	ReasonWaiting     = "waiting for the victims on its nominated node to go."
	ReasonNoVictims   = "No preemption victims found for incoming pod"
	ReasonNotHelpful  = "Preemption is not helpful for scheduling"
)

func priority(p *api.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// candidate is a node where the pod fits once victims are deleted.
type candidate struct {
	index   int // in the search order
	node    string
	victims []*api.Pod // most important first
}

// PostFilter looks for a node to preempt on (see the package doc),
// deletes its victims through the client, records the nomination and
// returns the node. It answers Unschedulable with a reason when it finds
// none, and Error when the deletions fail.
func (p *Plugin) PostFilter(ctx context.Context, state *framework.CycleState, pod *api.Pod, filtered map[string]*framework.Status) (*framework.PostFilterResult, *framework.Status) {
	if p.h == nil || p.h.Snapshot() == nil {
		return nil, framework.AsStatus(fmt.Errorf("defaultpreemption: no framework handle"))
	}
	snap := p.h.Snapshot()
	if ok, reason := p.eligible(pod, snap, filtered); !ok {
		return nil, framework.NewStatus(framework.Unschedulable, reason)
	}
	all := snap.List()
	var nodes []*framework.NodeInfo
	for _, n := range all {
		if filtered[n.Name()].Code() != framework.UnschedulableAndUnresolvable {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) == 0 {
		return nil, framework.NewStatus(framework.Unschedulable,
			fmt.Sprintf("0/%d nodes are available: %d %s.", len(all), len(all), ReasonNotHelpful))
	}
	cands, noVictims, err := p.findCandidates(ctx, state, pod, nodes)
	if err != nil {
		return nil, framework.AsStatus(err)
	}
	if len(cands) == 0 {
		// Counted as Kubernetes counts them, leaving out a zero count.
		var parts []string
		if noVictims > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", noVictims, ReasonNoVictims))
		}
		if n := len(all) - noVictims; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, ReasonNotHelpful))
		}
		msg := fmt.Sprintf("0/%d nodes are available: %s.", len(all), strings.Join(parts, ", "))
		return nil, framework.NewStatus(framework.Unschedulable, msg)
	}
	best := pick(cands)
	if c := p.h.Client(); c != nil {
		for _, v := range best.victims {
			if v.DeletionTimestamp != nil {
				continue // already going
			}
			if err := c.DeletePod(ctx, v); err != nil && !api.IsNotFound(err) {
				return nil, framework.AsStatus(fmt.Errorf("defaultpreemption: delete victim %s/%s on node %s: %w", v.Namespace, v.Name, best.node, err))
			}
		}
		if err := c.SetNominatedNode(ctx, pod, best.node); err != nil {
			return nil, framework.AsStatus(fmt.Errorf("defaultpreemption: nominate node %s for pod %s/%s: %w", best.node, pod.Namespace, pod.Name, err))
		}
	}
	return &framework.PostFilterResult{NominatedNodeName: best.node}, nil
}

// eligible reports whether pod may preempt.
func (p *Plugin) eligible(pod *api.Pod, snap framework.Snapshot, filtered map[string]*framework.Status) (bool, string) {
	if pp := pod.Spec.PreemptionPolicy; pp != nil && *pp == api.PreemptNever {
		return false, ReasonNotEligible
	}
	nom := pod.Status.NominatedNodeName
	if nom == "" || filtered[nom].Code() == framework.UnschedulableAndUnresolvable {
		return true, ""
	}
	if n := snap.Get(nom); n != nil {
		prio := priority(pod)
		for _, pi := range n.Pods {
			if pi.Pod.DeletionTimestamp != nil && priority(pi.Pod) < prio {
				return false, ReasonWaiting
			}
		}
	}
	return true, ""
}

// findCandidates checks nodes, from the plugin's offset on, on several
// goroutines, until it has found enough candidates. It returns them in
// search order, and how many nodes had no lower-priority pods.
func (p *Plugin) findCandidates(ctx context.Context, state *framework.CycleState, pod *api.Pod, nodes []*framework.NodeInfo) ([]candidate, int, error) {
	n := len(nodes)
	want := max(int(int64(n)*int64(p.args.MinCandidateNodesPercentage)/100), int(p.args.MinCandidateNodesAbsolute))
	want = min(want, n)
	start := int(p.offset.Load() % uint64(n))

	var (
		mu        sync.Mutex
		cands     []candidate
		noVictims int
		firstErr  error
		next      atomic.Int64
		found     atomic.Int64
		wg        sync.WaitGroup
	)
	checked := make([]bool, n)
	for range min(p.parallelism, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && found.Load() < int64(want) {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				ni := nodes[(start+i)%n]
				victims, hasLower, err := p.victims(ctx, state, pod, ni)
				mu.Lock()
				checked[i] = true
				switch {
				case err != nil:
					if firstErr == nil {
						firstErr = err
					}
				case !hasLower:
					noVictims++
				case victims != nil:
					cands = append(cands, candidate{index: i, node: ni.Name(), victims: victims})
					found.Add(1)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	// Every node before the last one taken was checked: the first want
	// candidates in search order do not depend on the goroutines' timing.
	slices.SortFunc(cands, func(a, b candidate) int { return cmp.Compare(a.index, b.index) })
	if len(cands) > want {
		cands = cands[:want]
	}
	last := 0
	for i, c := range checked {
		if c {
			last = i
		}
	}
	if len(cands) > 0 {
		last = cands[len(cands)-1].index
	}
	p.offset.Store(uint64((start + last + 1) % n))
	return cands, noVictims, nil
}

// victims returns the pods to delete from ni for pod to fit, most
// important first, or nil if deleting every lower-priority pod is not
// enough; hasLower is false if ni has no lower-priority pods.
func (p *Plugin) victims(ctx context.Context, state *framework.CycleState, pod *api.Pod, ni *framework.NodeInfo) (victims []*api.Pod, hasLower bool, err error) {
	prio := priority(pod)
	var lower []*framework.PodInfo
	for _, pi := range ni.Pods {
		if priority(pi.Pod) < prio {
			lower = append(lower, pi)
		}
	}
	if len(lower) == 0 {
		return nil, false, nil
	}
	node := ni.Clone()
	st := state.Clone()
	remove := func(pi *framework.PodInfo) error {
		node.RemovePod(pi.Pod)
		if s := p.h.RunPreFilterExtensionRemovePod(ctx, st, pod, pi, node); !s.IsSuccess() {
			return fmt.Errorf("defaultpreemption: remove pod %s/%s from node %s: %w", pi.Pod.Namespace, pi.Pod.Name, ni.Name(), s.Err())
		}
		return nil
	}
	add := func(pi *framework.PodInfo) error {
		node.AddPod(pi)
		if s := p.h.RunPreFilterExtensionAddPod(ctx, st, pod, pi, node); !s.IsSuccess() {
			return fmt.Errorf("defaultpreemption: add pod %s/%s to node %s: %w", pi.Pod.Namespace, pi.Pod.Name, ni.Name(), s.Err())
		}
		return nil
	}
	filter := p.h.RunFilterPlugins
	if nf, ok := p.h.(NominatedFilter); ok {
		filter = nf.RunFilterPluginsWithNominatedPods
	}
	fits := func() (bool, error) {
		s := filter(ctx, st, pod, node)
		if s.Code() == framework.Error {
			return false, s.Err()
		}
		return s.IsSuccess(), nil
	}
	for _, pi := range lower {
		if err := remove(pi); err != nil {
			return nil, true, err
		}
	}
	if ok, err := fits(); !ok || err != nil {
		return nil, true, err
	}
	slices.SortStableFunc(lower, func(a, b *framework.PodInfo) int { return moreImportant(a.Pod, b.Pod) })
	victims = []*api.Pod{}
	for _, pi := range lower {
		if err := add(pi); err != nil {
			return nil, true, err
		}
		ok, err := fits()
		if err != nil {
			return nil, true, err
		}
		if ok {
			continue // reprieved
		}
		if err := remove(pi); err != nil {
			return nil, true, err
		}
		victims = append(victims, pi.Pod)
	}
	return victims, true, nil
}

// moreImportant orders pods by priority, highest first, then by start
// time, earliest first (a pod not started yet last).
func moreImportant(a, b *api.Pod) int {
	if c := cmp.Compare(priority(b), priority(a)); c != 0 {
		return c
	}
	return startTime(a).Compare(startTime(b))
}

func startTime(p *api.Pod) time.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return time.Unix(math.MaxInt32, 0) // not started: as late as can be
}

// pick chooses among the candidates (see the package doc).
func pick(cands []candidate) candidate {
	for _, c := range cands {
		if len(c.victims) == 0 {
			return c
		}
	}
	type key struct {
		highest int32
		sum     int64
		count   int
		start   time.Time // earliest start among the most important victims
	}
	keyOf := func(c candidate) key {
		k := key{highest: priority(c.victims[0]), count: len(c.victims), start: startTime(c.victims[0])}
		for _, v := range c.victims {
			// Offset so that a negative priority still adds: more victims,
			// larger sum.
			k.sum += int64(priority(v)) + math.MaxInt32 + 1
			if priority(v) == k.highest {
				if t := startTime(v); t.Before(k.start) {
					k.start = t
				}
			}
		}
		return k
	}
	best, bk := cands[0], keyOf(cands[0])
	for _, c := range cands[1:] {
		k := keyOf(c)
		better := false
		switch {
		case k.highest != bk.highest:
			better = k.highest < bk.highest
		case k.sum != bk.sum:
			better = k.sum < bk.sum
		case k.count != bk.count:
			better = k.count < bk.count
		default:
			better = k.start.After(bk.start)
		}
		if better {
			best, bk = c, k
		}
	}
	return best
}
