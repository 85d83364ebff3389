package interpodaffinity

import (
	"context"
	"math"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/scheduler/framework"
)

const preScoreKey framework.StateKey = Name + "/preScore"

// preScoreState is the score of each topology pair: the weights of the
// preferred terms (and existing pods' required affinity terms) that hold
// there.
type preScoreState struct {
	scores map[string]map[string]int64 // key -> value -> score
}

func (s *preScoreState) Clone() framework.StateData { return s }

func (s *preScoreState) add(node *api.Node, key string, w int64) {
	v, ok := node.Labels[key]
	if !ok || w == 0 {
		return
	}
	m := s.scores[key]
	if m == nil {
		m = make(map[string]int64)
		s.scores[key] = m
	}
	m[v] += w
}

// PreScore sums, per topology pair, the weights of: the pod's preferred
// affinity (+) and anti-affinity (-) terms that existing pods match; and
// existing pods' required affinity (+HardPodAffinityWeight), preferred
// affinity (+) and preferred anti-affinity (-) terms that the pod
// matches. It looks at the pods of every node of the Handle's snapshot,
// not only at those that passed Filter, through the index PreFilter
// keeps (with h nil, at the pods of nodes, one by one).
func (p *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *api.Pod, nodes []*framework.NodeInfo) *framework.Status {
	self := compilePodTerms(pod)
	if self.err != nil {
		return framework.AsStatus(self.err)
	}
	s := &preScoreState{scores: make(map[string]map[string]int64)}
	sc := scoring{p: p, s: s, self: self, pod: pod, nsLabels: p.nsLabels(), hard: p.args.hardWeight()}
	var snap framework.Snapshot
	if p.h != nil {
		snap = p.h.Snapshot()
	}
	if snap != nil && len(self.preferred)+len(self.preferredAnti) == 0 && len(snap.HavePodsWithAffinity()) == 0 {
		// No term on either side: nothing to score, in O(1) (the index
		// catches up with the snapshot when next synced).
		return framework.NewStatus(framework.Skip)
	}
	if snap == nil {
		sc.scan(nodes, self.preferred, self.preferredAnti, true)
	} else {
		p.mu.Lock()
		x := &p.index
		x.follow(p.h, snap.List())
		var scanPref, scanAnti []term
		for i := range self.preferred {
			t := &self.preferred[i]
			if !x.candidates(t, func(other *api.Pod, node *api.Node) { sc.own(t, other, node, t.weight) }) {
				scanPref = append(scanPref, *t)
			}
		}
		for i := range self.preferredAnti {
			t := &self.preferredAnti[i]
			if !x.candidates(t, func(other *api.Pod, node *api.Node) { sc.own(t, other, node, -t.weight) }) {
				scanAnti = append(scanAnti, *t)
			}
		}
		for _, e := range x.scorers {
			sc.existing(e.terms, e.node)
		}
		p.mu.Unlock()
		if len(scanPref)+len(scanAnti) > 0 {
			sc.scan(snap.List(), scanPref, scanAnti, false)
		}
	}
	if len(s.scores) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, s)
	return nil
}

// scoring is one PreScore's work.
type scoring struct {
	p        *Plugin
	s        *preScoreState
	self     *podTerms
	pod      *api.Pod
	nsLabels func(string) labels.Set
	hard     int64
}

// own adds w at other's node if the pod's term t selects other.
func (sc *scoring) own(t *term, other *api.Pod, node *api.Node, w int64) {
	if t.matches(other, sc.nsLabels) {
		sc.s.add(node, t.key, w)
	}
}

// existing adds the weights of an existing pod's terms that select the
// pod, at the existing pod's node.
func (sc *scoring) existing(pt *podTerms, node *api.Node) {
	if sc.hard > 0 {
		for i := range pt.requiredAffinity {
			if t := &pt.requiredAffinity[i]; t.matches(sc.pod, sc.nsLabels) {
				sc.s.add(node, t.key, sc.hard)
			}
		}
	}
	if sc.p.args.IgnorePreferredTermsOfExistingPods {
		return
	}
	for i := range pt.preferred {
		if t := &pt.preferred[i]; t.matches(sc.pod, sc.nsLabels) {
			sc.s.add(node, t.key, t.weight)
		}
	}
	for i := range pt.preferredAnti {
		if t := &pt.preferredAnti[i]; t.matches(sc.pod, sc.nsLabels) {
			sc.s.add(node, t.key, -t.weight)
		}
	}
}

// scan visits the pods of nodes for the pod's preferred terms pref and
// anti, and, with existing, for the existing pods' terms.
func (sc *scoring) scan(nodes []*framework.NodeInfo, pref, anti []term, existing bool) {
	for _, n := range nodes {
		if n.Node == nil {
			continue
		}
		pods := n.PodsWithAffinity
		if len(pref)+len(anti) > 0 {
			pods = n.Pods
		}
		for _, pi := range pods {
			for i := range pref {
				sc.own(&pref[i], pi.Pod, n.Node, pref[i].weight)
			}
			for i := range anti {
				sc.own(&anti[i], pi.Pod, n.Node, -anti[i].weight)
			}
			if existing && pi.Pod.Spec.Affinity != nil {
				sc.existing(sc.p.cache.get(pi.Pod), n.Node)
			}
		}
	}
}

// Score is the sum of the scores of the node's topology pairs.
func (p *Plugin) Score(_ context.Context, state *framework.CycleState, _ *api.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	v, ok := state.Read(preScoreKey)
	if !ok || ni.Node == nil {
		return 0, nil
	}
	s := v.(*preScoreState)
	var sum int64
	for k, m := range s.scores {
		if val, ok := ni.Node.Labels[k]; ok {
			sum += m[val]
		}
	}
	return sum, nil
}

// ScoreExtensions returns the plugin: it normalizes its scores.
func (p *Plugin) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore maps the scores linearly from [lowest, highest] to
// [MinNodeScore, MaxNodeScore]; all 0 if they are equal.
func (p *Plugin) NormalizeScore(_ context.Context, state *framework.CycleState, _ *api.Pod, scores []framework.NodeScore) *framework.Status {
	if _, ok := state.Read(preScoreKey); !ok {
		return nil
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range scores {
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	for i := range scores {
		if hi > lo {
			scores[i].Score = framework.MaxNodeScore * (scores[i].Score - lo) / (hi - lo)
		} else {
			scores[i].Score = framework.MinNodeScore
		}
	}
	return nil
}
