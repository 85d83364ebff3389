package podtopologyspread

import (
	"context"
	"math"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

const preScoreKey framework.StateKey = Name + "/preScore"

// preScoreState holds, per ScheduleAnyway constraint, the matching pods
// of each domain of the nodes being scored, and its weight.
type preScoreState struct {
	constraints []constraint
	counts      []map[string]int64
	weights     []float64
	ignored     map[string]bool // nodes without every topology key
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore counts, for the domains of the nodes that passed Filter, the
// matching pods on every eligible node of the snapshot (of nodes, with h
// nil). A constraint's weight is log(domains + 2), so that a constraint
// over many domains (hostnames) does not drown one over few (zones).
func (p *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *api.Pod, nodes []*framework.NodeInfo) *framework.Status {
	cs, err := p.constraints(pod, api.ScheduleAnyway)
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(cs) == 0 || len(nodes) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s := &preScoreState{
		constraints: cs,
		counts:      make([]map[string]int64, len(cs)),
		weights:     make([]float64, len(cs)),
		ignored:     make(map[string]bool),
	}
	for i := range cs {
		size := 0 // a few domains (zones), unless one per node
		if cs[i].key == hostnameLabel {
			size = len(nodes)
		}
		s.counts[i] = make(map[string]int64, size)
	}
	all, indexed := nodes, false
	if p.h != nil && p.h.Snapshot() != nil {
		all, indexed = p.h.Snapshot().List(), true
	}
	filter := newNodeFilter(pod)
	var kept []*keptCount
	if indexed && filter.empty() {
		// The counts the index keeps (see counts.go) have every domain of
		// an eligible node, so every domain of the nodes scored.
		p.index.mu.Lock()
		defer p.index.mu.Unlock()
		p.index.follow(p.h, all)
		kept = p.index.keptCounts(cs, pod.Namespace, all)
	}
	// The domains of the nodes scored: with their kept counts, or 0 to be
	// counted.
	for _, n := range nodes {
		if !hasKeys(n.Node, cs) {
			s.ignored[n.Name()] = true
			continue
		}
		for i := range cs {
			d := n.Node.Labels[cs[i].key]
			if kept != nil {
				s.counts[i][d] = kept[i].count[d]
			} else {
				s.counts[i][d] = 0
			}
		}
	}
	for i := range cs {
		s.weights[i] = math.Log(float64(len(s.counts[i]) + 2))
	}
	if kept != nil {
		state.Write(preScoreKey, s)
		return nil
	}
	p.countPods(cs, filter, pod.Namespace, all, indexed, func(i int, node *api.Node) {
		v := node.Labels[cs[i].key]
		if _, ok := s.counts[i][v]; ok {
			s.counts[i][v]++
		}
	})
	state.Write(preScoreKey, s)
	return nil
}

// Score is, over the constraints, the matching pods in the node's domain
// times the constraint's weight, plus maxSkew-1; lower is better (see
// NormalizeScore).
func (p *Plugin) Score(_ context.Context, state *framework.CycleState, _ *api.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	v, ok := state.Read(preScoreKey)
	if !ok {
		return 0, nil
	}
	s := v.(*preScoreState)
	if s.ignored[ni.Name()] || ni.Node == nil {
		return 0, nil
	}
	var score float64
	for i, c := range s.constraints {
		score += float64(s.counts[i][ni.Node.Labels[c.key]])*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// ScoreExtensions returns the plugin: it normalizes its scores.
func (p *Plugin) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore reverses and scales the scores so that the lowest raw
// score gets MaxNodeScore: s -> MaxNodeScore * (highest + lowest - s) /
// highest. Nodes without the topology keys get 0; if every raw score is
// 0, the others get MaxNodeScore.
func (p *Plugin) NormalizeScore(_ context.Context, state *framework.CycleState, _ *api.Pod, scores []framework.NodeScore) *framework.Status {
	v, ok := state.Read(preScoreKey)
	if !ok {
		return nil
	}
	s := v.(*preScoreState)
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, sc := range scores {
		if s.ignored[sc.Name] {
			continue
		}
		lo, hi = min(lo, sc.Score), max(hi, sc.Score)
	}
	for i := range scores {
		switch {
		case s.ignored[scores[i].Name]:
			scores[i].Score = framework.MinNodeScore
		case hi == 0:
			scores[i].Score = framework.MaxNodeScore
		default:
			scores[i].Score = framework.MaxNodeScore * (hi + lo - scores[i].Score) / hi
		}
	}
	return nil
}
