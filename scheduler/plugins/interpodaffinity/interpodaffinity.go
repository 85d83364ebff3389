// Package interpodaffinity is the InterPodAffinity scheduler plugin: a
// pod's required pod affinity and anti-affinity (Filter), existing pods'
// required anti-affinity against the pod (Filter), and both sides'
// preferred terms (Score), each by topology domain (the value of a node
// label such as topology.kubernetes.io/zone).
//
// # Cost
//
// Kubernetes' inter-pod affinity is a known slow path: done plainly,
// every cycle matches every existing pod's anti-affinity terms against
// the pod and the pod's terms against every existing pod. Here the
// plugin keeps an index between cycles, brought up to date at each
// PreFilter from the NodeInfos that changed (see index):
//
//   - existing pods' required anti-affinity terms are grouped by meaning
//     with their counts per topology value, and reached through the
//     label their selector requires, so PreFilter matches the pod only
//     against the groups that can select it;
//   - pods are indexed by label, so the pod's own terms with a
//     key=value (or "key in (value)") requirement look only at the pods
//     with that label; other terms scan every pod, as they must;
//   - pods with terms that score are listed, for PreScore;
//   - the counts per topology value of the pods that recent incoming
//     pods' required anti-affinity terms select are kept, updated with
//     the nodes that changed (see matched.go), so the pods of a workload
//     with anti-affinity to itself are not matched again in each cycle.
//
// PreFilter answers Skip in O(1) for a pod without required terms when no
// node has pods with required anti-affinity. Filter is then a lookup of
// the node's value for each topology key in the counts. See
// BenchmarkAntiAffinity.
//
// # Namespaces
//
// A term selects pods in its namespaces and in the namespaces its
// namespaceSelector selects; with neither, the namespace of the pod that
// has the term. An empty namespaceSelector ({}) selects every namespace;
// a non-empty one needs the Handle to implement NamespaceLabeler, and
// otherwise selects none.
package interpodaffinity

import (
	"context"
	"fmt"
	"sync"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/scheduler/framework"
)

// Name is the plugin's name.
const Name = "InterPodAffinity"

// The reasons of Filter.
const (
	ReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
)

// Args are the plugin's arguments; the zero value is the default.
type Args struct {
	// HardPodAffinityWeight is the score weight of an existing pod's
	// required affinity term that the incoming pod matches, 1 to 100.
	// 0 means the default, 1. (Kubernetes also accepts 0 to turn that
	// off; here use IgnoreHardPodAffinity.)
	HardPodAffinityWeight int32 `json:"hardPodAffinityWeight,omitempty"`
	// IgnoreHardPodAffinity turns off the scoring of existing pods'
	// required affinity terms (Kubernetes' HardPodAffinityWeight 0).
	IgnoreHardPodAffinity bool `json:"ignoreHardPodAffinity,omitempty"`
	// IgnorePreferredTermsOfExistingPods scores only by the incoming
	// pod's preferred terms.
	IgnorePreferredTermsOfExistingPods bool `json:"ignorePreferredTermsOfExistingPods,omitempty"`
}

// Validate reports the first invalid field.
func (a Args) Validate() error {
	if a.HardPodAffinityWeight < 0 || a.HardPodAffinityWeight > 100 {
		return fmt.Errorf("interpodaffinity: hardPodAffinityWeight: %d is out of range; want 0 (default 1) to 100", a.HardPodAffinityWeight)
	}
	return nil
}

func (a Args) hardWeight() int64 {
	switch {
	case a.IgnoreHardPodAffinity:
		return 0
	case a.HardPodAffinityWeight == 0:
		return 1
	}
	return int64(a.HardPodAffinityWeight)
}

// Plugin is the InterPodAffinity plugin. PreFilter, PreScore and
// NormalizeScore are called from the scheduling goroutine; Filter and
// Score from several goroutines; the PreFilterExtensions from
// preemption's goroutines, each with its own CycleState.
type Plugin struct {
	args  Args
	h     framework.Handle
	cache termCache

	mu    sync.Mutex // for index
	index index
}

var (
	_ framework.PreFilterWithExtensions = (*Plugin)(nil)
	_ framework.FilterPlugin            = (*Plugin)(nil)
	_ framework.PreScorePlugin          = (*Plugin)(nil)
	_ framework.ScorePlugin             = (*Plugin)(nil)
)

// New returns the plugin. h may be nil: PreScore then sees only the pods
// on the nodes it is given.
func New(args Args, h framework.Handle) (*Plugin, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	return &Plugin{args: args, h: h}, nil
}

// Name returns Name.
func (p *Plugin) Name() string { return Name }

func (p *Plugin) nsLabels() func(string) labels.Set {
	if nl, ok := p.h.(NamespaceLabeler); ok {
		return nl.NamespaceLabels
	}
	return nil
}

// The kinds of counts.
const (
	// affinity: pods matching all the pod's required affinity terms,
	// counted under each term's key.
	affinity = iota
	// anti: pods matching one of the pod's required anti-affinity terms,
	// counted under that term's key.
	anti
	// existing: existing pods' required anti-affinity terms matching the
	// pod, counted under the term's key.
	existing
	kinds
)

// counts are matching pods per topology pair and kind: by label key (a
// short list, searched linearly), then value. Filter reads them for
// every node, so one lookup of a node's value serves every kind.
type counts struct {
	keys []keyCounts
	// positive counts the pairs with a positive count, per kind.
	positive [kinds]int
}

type keyCounts struct {
	key      string
	values   map[string][kinds]int64
	positive [kinds]int
}

func (c *counts) add(node *api.Node, key string, kind int, d int64) {
	if node == nil {
		return
	}
	if v, ok := node.Labels[key]; ok {
		c.addValue(key, v, kind, d)
	}
}

func (c *counts) addValue(key, value string, kind int, d int64) {
	c.keyCounts(key, 0).addValue(c, value, kind, d)
}

// addValues adds every count of values (topology value -> count) under
// key: one key lookup for all, and a map sized for them at once (these
// are often thousands of hostnames).
func (c *counts) addValues(key string, kind int, values map[string]int64) {
	kc := c.keyCounts(key, len(values))
	if len(kc.values) == 0 {
		// Into an empty map, positive counts (the index keeps no others)
		// need no lookup: half the map operations of addValue.
		positive := 0
		for v, d := range values {
			if d > 0 {
				var n [kinds]int64
				n[kind] = d
				kc.values[v] = n
				positive++
			} else {
				kc.addValue(c, v, kind, d)
			}
		}
		kc.positive[kind] += positive
		c.positive[kind] += positive
		return
	}
	for v, d := range values {
		kc.addValue(c, v, kind, d)
	}
}

// keyCounts returns the counts of key, made (with room for size values)
// if there are none yet.
func (c *counts) keyCounts(key string, size int) *keyCounts {
	i := 0
	for i < len(c.keys) && c.keys[i].key != key {
		i++
	}
	if i == len(c.keys) {
		c.keys = append(c.keys, keyCounts{key: key, values: make(map[string][kinds]int64, size)})
	}
	return &c.keys[i]
}

// addValue adds d to the count of kind at value; c is the counts kc
// belongs to.
func (kc *keyCounts) addValue(c *counts, value string, kind int, d int64) {
	n := kc.values[value]
	was := n[kind] > 0
	n[kind] += d
	switch now := n[kind] > 0; {
	case now && !was:
		kc.positive[kind]++
		c.positive[kind]++
	case was && !now:
		kc.positive[kind]--
		c.positive[kind]--
	}
	if n == ([kinds]int64{}) {
		delete(kc.values, value)
	} else {
		kc.values[value] = n
	}
}

// get returns the count of kind at the node's pair of key.
func (c *counts) get(node *api.Node, key string, kind int) int64 {
	for i := range c.keys {
		if c.keys[i].key == key {
			v, ok := node.Labels[key]
			if !ok {
				return 0
			}
			return c.keys[i].values[v][kind]
		}
	}
	return 0
}

func (c *counts) clone() counts {
	out := counts{keys: make([]keyCounts, len(c.keys)), positive: c.positive}
	for i, kc := range c.keys {
		m := make(map[string][kinds]int64, len(kc.values))
		for v, n := range kc.values {
			m[v] = n
		}
		out.keys[i] = keyCounts{key: kc.key, values: m, positive: kc.positive}
	}
	return out
}

const preFilterKey framework.StateKey = Name + "/preFilter"

// preFilterState is what PreFilter computed for Filter.
type preFilterState struct {
	pod      *podTerms
	nsLabels func(string) labels.Set
	// counts are the pods of each kind (affinity, anti, existing) per
	// topology pair.
	counts counts
}

func (s *preFilterState) Clone() framework.StateData {
	out := *s
	out.counts = s.counts.clone()
	return &out
}

// update adds (d=1) or removes (d=-1) the counts of one existing pod.
func (s *preFilterState) update(incoming *api.Pod, theirs *podTerms, other *api.Pod, node *api.Node, d int64) {
	for i := range theirs.requiredAnti {
		t := &theirs.requiredAnti[i]
		if t.matches(incoming, s.nsLabels) {
			s.counts.add(node, t.key, existing, d)
		}
	}
	s.countAffinity(other, node, d)
	for i := range s.pod.requiredAnti {
		t := &s.pod.requiredAnti[i]
		if t.matches(other, s.nsLabels) {
			s.counts.add(node, t.key, anti, d)
		}
	}
}

// PreFilter counts the matching pods per topology pair; it answers Skip
// when the pod has no required terms and no node has pods with required
// anti-affinity. nodes must be every node of the snapshot.
func (p *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *api.Pod, nodes []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	p.cache.endCycle()
	self := compilePodTerms(pod)
	if self.err != nil {
		return nil, framework.AsStatus(fmt.Errorf("interpodaffinity: pod %s/%s: %w", pod.Namespace, pod.Name, self.err))
	}
	s := &preFilterState{
		pod:      self,
		nsLabels: p.nsLabels(),
	}

	own := len(self.requiredAffinity)+len(self.requiredAnti) > 0
	if !own && p.h != nil {
		if snap := p.h.Snapshot(); snap != nil && len(snap.HavePodsWithRequiredAntiAffinity()) == 0 {
			return nil, framework.NewStatus(framework.Skip) // the common case, in O(1)
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	x := &p.index
	x.follow(p.h, nodes)

	// Existing pods' anti-affinity: each group of equal terms once.
	x.antiGroups(pod, func(g *antiGroup) {
		if g.term.matches(pod, s.nsLabels) {
			s.counts.addValues(g.term.key, existing, g.counts)
		}
	})
	if !own {
		if len(x.anti) == 0 {
			return nil, framework.NewStatus(framework.Skip)
		}
		state.Write(preFilterKey, s)
		return nil, nil
	}

	// The pod's own terms: the pods with a term's exact label, or every
	// pod for a term without one.
	var scanAffinity bool
	var scanAnti []*term
	if terms := self.requiredAffinity; len(terms) > 0 {
		// A pod counts only if it matches all terms: the candidates of
		// any one term will do.
		scanAffinity = true
		for i := range terms {
			if x.candidates(&terms[i], func(other *api.Pod, node *api.Node) {
				s.countAffinity(other, node, 1)
			}) {
				scanAffinity = false
				break
			}
		}
	}
	for i := range self.requiredAnti {
		t := &self.requiredAnti[i]
		if keepable(t) {
			s.counts.addValues(t.key, anti, x.matchedCounts(t, nodes))
			continue
		}
		if !x.candidates(t, func(other *api.Pod, node *api.Node) {
			if t.matches(other, s.nsLabels) {
				s.counts.add(node, t.key, anti, 1)
			}
		}) {
			scanAnti = append(scanAnti, t)
		}
	}
	if scanAffinity || len(scanAnti) > 0 {
		for _, n := range nodes {
			for _, pi := range n.Pods {
				if scanAffinity {
					s.countAffinity(pi.Pod, n.Node, 1)
				}
				for _, t := range scanAnti {
					if t.matches(pi.Pod, s.nsLabels) {
						s.counts.add(n.Node, t.key, anti, 1)
					}
				}
			}
		}
	}
	state.Write(preFilterKey, s)
	return nil, nil
}

// countAffinity counts other on node if it matches all the pod's
// required affinity terms.
func (s *preFilterState) countAffinity(other *api.Pod, node *api.Node, d int64) {
	if matchesAll(s.pod.requiredAffinity, other, s.nsLabels) {
		for i := range s.pod.requiredAffinity {
			s.counts.add(node, s.pod.requiredAffinity[i].key, affinity, d)
		}
	}
}

// PreFilterExtensions returns the plugin: it updates its counts when
// preemption adds or removes a pod.
func (p *Plugin) PreFilterExtensions() framework.PreFilterExtensions { return p }

// AddPod counts add on node.
func (p *Plugin) AddPod(_ context.Context, state *framework.CycleState, pod *api.Pod, add *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return p.updateState(state, pod, add, node, 1)
}

// RemovePod uncounts remove on node.
func (p *Plugin) RemovePod(_ context.Context, state *framework.CycleState, pod *api.Pod, remove *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return p.updateState(state, pod, remove, node, -1)
}

func (p *Plugin) updateState(state *framework.CycleState, pod *api.Pod, pi *framework.PodInfo, node *framework.NodeInfo, d int64) *framework.Status {
	s, st := readState(state)
	if st != nil {
		return st
	}
	if s == nil {
		return nil // PreFilter skipped
	}
	s.update(pod, p.cache.get(pi.Pod), pi.Pod, node.Node, d)
	return nil
}

func readState(state *framework.CycleState) (*preFilterState, *framework.Status) {
	v, ok := state.Read(preFilterKey)
	if !ok {
		return nil, nil
	}
	s, ok := v.(*preFilterState)
	if !ok {
		return nil, framework.AsStatus(fmt.Errorf("interpodaffinity: cycle state %q holds %T", preFilterKey, v))
	}
	return s, nil
}

// Filter rejects the node if it breaks an existing pod's anti-affinity
// (Unschedulable: preemption may help), the pod's anti-affinity
// (Unschedulable) or the pod's affinity (UnschedulableAndUnresolvable).
func (p *Plugin) Filter(_ context.Context, state *framework.CycleState, pod *api.Pod, ni *framework.NodeInfo) *framework.Status {
	s, st := readState(state)
	if st != nil {
		return st
	}
	if s == nil {
		return nil
	}
	node := ni.Node
	if node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node not found")
	}
	if !s.satisfiesAffinity(pod, node) {
		return errAffinityNotMatch
	}
	// One lookup per key serves both kinds; the pod's own anti-affinity
	// is reported first.
	repelled := false
	for i := range s.counts.keys {
		kc := &s.counts.keys[i]
		if kc.positive[anti]+kc.positive[existing] == 0 {
			continue
		}
		v, ok := node.Labels[kc.key]
		if !ok {
			continue
		}
		n := kc.values[v]
		if n[anti] > 0 {
			return errAntiAffinityNotMatch
		}
		repelled = repelled || n[existing] > 0
	}
	if repelled {
		return errExistingAntiAffinityNotMatch
	}
	return nil
}

// Filter's rejections, shared by every node it rejects (saving an
// allocation per node); they name the plugin, so the scheduler need not
// copy them to do so. Never modified.
var (
	errAffinityNotMatch             = framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonAffinityRulesNotMatch).WithPlugin(Name)
	errAntiAffinityNotMatch         = framework.NewStatus(framework.Unschedulable, ReasonAntiAffinityRulesNotMatch).WithPlugin(Name)
	errExistingAntiAffinityNotMatch = framework.NewStatus(framework.Unschedulable, ReasonExistingAntiAffinityRulesNotMatch).WithPlugin(Name)
)

// satisfiesAffinity: the node has every term's key, and each term's pair
// holds a pod matching all terms; or no such pod exists anywhere and the
// pod matches its own terms (the first pod of a group that attracts
// itself).
func (s *preFilterState) satisfiesAffinity(pod *api.Pod, node *api.Node) bool {
	terms := s.pod.requiredAffinity
	if len(terms) == 0 {
		return true
	}
	found := true
	for i := range terms {
		if _, ok := node.Labels[terms[i].key]; !ok {
			return false
		}
		if s.counts.get(node, terms[i].key, affinity) <= 0 {
			found = false
		}
	}
	if found {
		return true
	}
	return s.counts.positive[affinity] == 0 && matchesAll(terms, pod, s.nsLabels)
}
