// Package cost is a scheduler Score plugin that prefers cheaper nodes: it
// reads each node's price from a label (by default
// example.drover.io/hourly-cost, a decimal such as "0.12") and scores the
// cheapest feasible node 100 and the dearest 0, linearly in between. A
// node without the label, or with a value that is not a non-negative
// number, scores as the dearest: it is still used, only last.
//
// It is a Score plugin only, so it never makes a pod unschedulable: with
// the default plugins it breaks ties and, given a weight above theirs,
// steers pods towards cheap nodes while the resource plugins keep them
// from overfilling one.
package cost

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/scheduler/framework"
)

// Name is the plugin's name in a scheduler profile.
const Name = "NodeCost"

// DefaultLabel is the node label the price is read from.
const DefaultLabel = "example.drover.io/hourly-cost"

// Args configure the plugin.
type Args struct {
	// Label is the node label holding the price; "" means DefaultLabel.
	Label string `json:"label,omitempty"`
}

// Validate says what is wrong with a.
func (a Args) Validate() error {
	if a.Label == "" {
		return nil
	}
	if _, err := labels.NewRequirement(a.Label, labels.Exists, nil); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	return nil
}

// Plugin is the NodeCost score plugin.
type Plugin struct{ label string }

var (
	_ framework.ScorePlugin     = (*Plugin)(nil)
	_ framework.ScoreExtensions = (*Plugin)(nil)
)

// New makes the plugin; scheduler.Register takes it as the factory.
func New(args Args, _ framework.Handle) (*Plugin, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	p := &Plugin{label: args.Label}
	if p.label == "" {
		p.label = DefaultLabel
	}
	return p, nil
}

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// unpriced is the raw score of a node without a usable price: above any
// real price (scores are prices in thousandths), so it normalizes to 0.
const unpriced = math.MaxInt64

// Score returns the node's price in thousandths of the label's unit (the
// lower the better); NormalizeScore turns prices into scores.
func (p *Plugin) Score(_ context.Context, _ *framework.CycleState, _ *api.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	return price(node.Node.Labels[p.label]), nil
}

// price parses a label value into thousandths, or unpriced.
func price(v string) int64 {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f*1000 >= float64(unpriced) {
		return unpriced
	}
	return int64(math.Round(f * 1000))
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *Plugin) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore maps prices onto [MinNodeScore, MaxNodeScore]: the
// cheapest node gets the most, the dearest (and unpriced ones) the
// least; all equal prices score the most.
func (*Plugin) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *api.Pod, scores []framework.NodeScore) *framework.Status {
	lo, hi := int64(unpriced), int64(0)
	for _, s := range scores {
		if s.Score == unpriced {
			continue
		}
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	for i := range scores {
		switch s := scores[i].Score; {
		case s == unpriced:
			scores[i].Score = framework.MinNodeScore
		case hi == lo:
			scores[i].Score = framework.MaxNodeScore
		default:
			// Linear: lo → Max, hi → Min. (hi-lo) fits: both are prices.
			span := framework.MaxNodeScore - framework.MinNodeScore
			scores[i].Score = framework.MaxNodeScore - int64(float64(s-lo)/float64(hi-lo)*float64(span))
		}
	}
	return nil
}
