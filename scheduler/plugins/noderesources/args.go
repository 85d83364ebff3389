package noderesources

import (
	"fmt"
	"strings"

	"github.com/drover-io/drover/api"
)

// ScoringStrategyType names how NodeResourcesFit scores nodes.
type ScoringStrategyType string

// The scoring strategies.
const (
	// LeastAllocated prefers the nodes with the most room left (spread).
	LeastAllocated ScoringStrategyType = "LeastAllocated"
	// MostAllocated prefers the fullest nodes (bin packing).
	MostAllocated ScoringStrategyType = "MostAllocated"
	// RequestedToCapacityRatio scores by a piecewise linear function of
	// each resource's utilization, given as shape points.
	RequestedToCapacityRatio ScoringStrategyType = "RequestedToCapacityRatio"
)

// ResourceSpec is a resource counted in scoring, with its weight.
type ResourceSpec struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight,omitempty"`
}

// UtilizationShapePoint is one point of RequestedToCapacityRatio's
// function: at Utilization percent (0-100), the score is Score (0-10).
type UtilizationShapePoint struct {
	Utilization int32 `json:"utilization"`
	Score       int32 `json:"score"`
}

// RequestedToCapacityRatioParam is the function of the
// RequestedToCapacityRatio strategy.
type RequestedToCapacityRatioParam struct {
	// Shape is points in increasing utilization; between them the score
	// is interpolated, outside them it is the nearest point's.
	Shape []UtilizationShapePoint `json:"shape,omitempty"`
}

// ScoringStrategy says how NodeResourcesFit scores.
type ScoringStrategy struct {
	// Type is LeastAllocated if empty.
	Type ScoringStrategyType `json:"type,omitempty"`
	// Resources are counted in the score, each with its weight; empty
	// means cpu and memory with weight 1.
	Resources []ResourceSpec `json:"resources,omitempty"`
	// RequestedToCapacityRatio is required by that strategy.
	RequestedToCapacityRatio *RequestedToCapacityRatioParam `json:"requestedToCapacityRatio,omitempty"`
}

// MaxCustomPriorityScore is the highest score of a shape point; scores are
// scaled by framework.MaxNodeScore / MaxCustomPriorityScore.
const MaxCustomPriorityScore = 10

// DefaultResources are the resources scored by default.
var DefaultResources = []ResourceSpec{{Name: string(api.ResourceCPU), Weight: 1}, {Name: string(api.ResourceMemory), Weight: 1}}

// Args are NodeResourcesFit's arguments. The zero value scores with
// LeastAllocated over cpu and memory, weight 1 each.
type Args struct {
	// IgnoredResources are resources Filter does not check.
	IgnoredResources []string `json:"ignoredResources,omitempty"`
	// IgnoredResourceGroups are prefixes ("example.com" for
	// "example.com/gpu") of extended resources Filter does not check.
	IgnoredResourceGroups []string `json:"ignoredResourceGroups,omitempty"`
	// ScoringStrategy is LeastAllocated over cpu and memory if nil.
	ScoringStrategy *ScoringStrategy `json:"scoringStrategy,omitempty"`
}

// Validate checks the arguments; the error names the field.
func (a Args) Validate() error {
	for i, g := range a.IgnoredResourceGroups {
		if g == "" || strings.Contains(g, "/") {
			return fmt.Errorf("noderesources: ignoredResourceGroups[%d]: %q must be a non-empty resource group name without '/'", i, g)
		}
	}
	for i, r := range a.IgnoredResources {
		if r == "" {
			return fmt.Errorf("noderesources: ignoredResources[%d]: must not be empty", i)
		}
	}
	s := a.ScoringStrategy
	if s == nil {
		return nil
	}
	switch s.Type {
	case "", LeastAllocated, MostAllocated:
		if s.RequestedToCapacityRatio != nil {
			return fmt.Errorf("noderesources: scoringStrategy.requestedToCapacityRatio: only allowed with type %s, not %s", RequestedToCapacityRatio, s.Type)
		}
	case RequestedToCapacityRatio:
		if err := validateShape(s.RequestedToCapacityRatio); err != nil {
			return err
		}
	default:
		return fmt.Errorf("noderesources: scoringStrategy.type: %q is not supported; want %s, %s or %s", s.Type, LeastAllocated, MostAllocated, RequestedToCapacityRatio)
	}
	return validateResources(s.Resources, "scoringStrategy.resources")
}

func validateResources(rs []ResourceSpec, path string) error {
	seen := make(map[string]bool, len(rs))
	for i, r := range rs {
		if r.Name == "" {
			return fmt.Errorf("noderesources: %s[%d].name: must not be empty", path, i)
		}
		if seen[r.Name] {
			return fmt.Errorf("noderesources: %s[%d].name: %q is listed twice", path, i, r.Name)
		}
		seen[r.Name] = true
		if r.Weight < 1 || r.Weight > 100 {
			return fmt.Errorf("noderesources: %s[%d].weight: %d is not in the range 1-100", path, i, r.Weight)
		}
	}
	return nil
}

func validateShape(p *RequestedToCapacityRatioParam) error {
	const path = "scoringStrategy.requestedToCapacityRatio.shape"
	if p == nil || len(p.Shape) == 0 {
		return fmt.Errorf("noderesources: %s: at least one point is required for type %s", path, RequestedToCapacityRatio)
	}
	for i, pt := range p.Shape {
		if pt.Utilization < 0 || pt.Utilization > 100 {
			return fmt.Errorf("noderesources: %s[%d].utilization: %d is not in the range 0-100", path, i, pt.Utilization)
		}
		if i > 0 && pt.Utilization <= p.Shape[i-1].Utilization {
			return fmt.Errorf("noderesources: %s[%d].utilization: %d must be greater than the previous point's %d", path, i, pt.Utilization, p.Shape[i-1].Utilization)
		}
		if pt.Score < 0 || pt.Score > MaxCustomPriorityScore {
			return fmt.Errorf("noderesources: %s[%d].score: %d is not in the range 0-%d", path, i, pt.Score, MaxCustomPriorityScore)
		}
	}
	return nil
}

// BalancedAllocationArgs are NodeResourcesBalancedAllocation's arguments.
type BalancedAllocationArgs struct {
	// Resources are balanced; empty means cpu and memory. Weights are
	// accepted for symmetry with Fit and not used.
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// Validate checks the arguments; the error names the field.
func (a BalancedAllocationArgs) Validate() error {
	return validateResources(a.Resources, "resources")
}
