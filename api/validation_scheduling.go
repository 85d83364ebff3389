package api

import (
	"fmt"
	"strconv"

	"github.com/drover-io/drover/internal/names"
)

// This file holds the scheduling rules of pod specs: tolerations, node and
// pod affinity, and topology spread constraints.

func validateTaintEffect(e TaintEffect, p *Path) ErrorList {
	switch e {
	case TaintEffectNoSchedule, TaintEffectPreferNoSchedule, TaintEffectNoExecute:
		return nil
	case "":
		return ErrorList{Required(p, "")}
	}
	return ErrorList{NotSupported(p, e, []TaintEffect{TaintEffectNoSchedule, TaintEffectPreferNoSchedule, TaintEffectNoExecute})}
}

func validateTolerations(ts []Toleration, p *Path) ErrorList {
	var errs ErrorList
	for i, t := range ts {
		tp := p.Index(i)
		if t.Key != "" {
			errs = append(errs, validateLabelKey(t.Key, tp.Child("key"))...)
		}
		if t.Key == "" && t.Operator != TolerationOpExists {
			errs = append(errs, Invalid(tp.Child("operator"), string(t.Operator),
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != TaintEffectNoExecute {
			errs = append(errs, Invalid(tp.Child("effect"), string(t.Effect), "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case TolerationOpEqual, "":
			for _, msg := range names.IsValidLabelValue(t.Value) {
				errs = append(errs, Invalid(tp.Child("value"), t.Value, msg))
			}
		case TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, Invalid(tp.Child("value"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, NotSupported(tp.Child("operator"), t.Operator, []TolerationOperator{TolerationOpEqual, TolerationOpExists}))
		}
		if t.Effect != "" {
			errs = append(errs, validateTaintEffect(t.Effect, tp.Child("effect"))...)
		}
	}
	return errs
}

func validateAffinity(a *Affinity, p *Path) ErrorList {
	if a == nil {
		return nil
	}
	var errs ErrorList
	if na := a.NodeAffinity; na != nil {
		np := p.Child("nodeAffinity")
		if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			tp := np.Child("requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
			if len(r.NodeSelectorTerms) == 0 {
				errs = append(errs, Required(tp, "must have at least one node selector term"))
			}
			for i, t := range r.NodeSelectorTerms {
				errs = append(errs, validateNodeSelectorTerm(&t, tp.Index(i))...)
			}
		}
		for i, t := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			tp := np.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			errs = append(errs, validateWeight(t.Weight, tp.Child("weight"))...)
			errs = append(errs, validateNodeSelectorTerm(&t.Preference, tp.Child("preference"))...)
		}
	}
	if pa := a.PodAffinity; pa != nil {
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution,
			pa.PreferredDuringSchedulingIgnoredDuringExecution, p.Child("podAffinity"))...)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution,
			pa.PreferredDuringSchedulingIgnoredDuringExecution, p.Child("podAntiAffinity"))...)
	}
	return errs
}

func validateWeight(w int32, p *Path) ErrorList {
	if w < 1 || w > 100 {
		return ErrorList{Invalid(p, w, "must be in the range 1-100")}
	}
	return nil
}

var nodeSelectorOperators = []NodeSelectorOperator{
	NodeSelectorOpDoesNotExist, NodeSelectorOpExists, NodeSelectorOpGt, NodeSelectorOpIn, NodeSelectorOpLt, NodeSelectorOpNotIn,
}

func validateNodeSelectorTerm(t *NodeSelectorTerm, p *Path) ErrorList {
	var errs ErrorList
	for i, r := range t.MatchExpressions {
		rp := p.Child("matchExpressions").Index(i)
		vp := rp.Child("values")
		switch r.Operator {
		case NodeSelectorOpIn, NodeSelectorOpNotIn:
			if len(r.Values) == 0 {
				errs = append(errs, Required(vp, "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case NodeSelectorOpExists, NodeSelectorOpDoesNotExist:
			if len(r.Values) > 0 {
				errs = append(errs, Forbidden(vp, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		case NodeSelectorOpGt, NodeSelectorOpLt:
			if len(r.Values) != 1 {
				errs = append(errs, Required(vp, "must be specified single value when `operator` is 'Lt' or 'Gt'"))
			} else if _, err := strconv.ParseInt(r.Values[0], 10, 64); err != nil {
				errs = append(errs, Invalid(vp.Index(0), r.Values[0], "must be an integer"))
			}
		default:
			errs = append(errs, NotSupported(rp.Child("operator"), r.Operator, nodeSelectorOperators))
		}
		errs = append(errs, validateLabelKey(r.Key, rp.Child("key"))...)
		for j, v := range r.Values {
			for _, msg := range names.IsValidLabelValue(v) {
				errs = append(errs, Invalid(vp.Index(j), v, msg))
			}
		}
	}
	for i, r := range t.MatchFields {
		rp := p.Child("matchFields").Index(i)
		switch r.Operator {
		case NodeSelectorOpIn, NodeSelectorOpNotIn:
			if len(r.Values) != 1 {
				errs = append(errs, Required(rp.Child("values"),
					"must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
			}
		default:
			errs = append(errs, NotSupported(rp.Child("operator"), r.Operator, []NodeSelectorOperator{NodeSelectorOpIn, NodeSelectorOpNotIn}))
		}
		if r.Key != "metadata.name" {
			errs = append(errs, NotSupported(rp.Child("key"), r.Key, []string{"metadata.name"}))
			continue
		}
		for j, v := range r.Values {
			errs = append(errs, validateDNSSubdomain(v, rp.Child("values").Index(j))...)
		}
	}
	return errs
}

func validatePodAffinityTerms(required []PodAffinityTerm, preferred []WeightedPodAffinityTerm, p *Path) ErrorList {
	var errs ErrorList
	for i := range required {
		errs = append(errs, validatePodAffinityTerm(&required[i], p.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
	}
	for i := range preferred {
		wp := p.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		errs = append(errs, validateWeight(preferred[i].Weight, wp.Child("weight"))...)
		errs = append(errs, validatePodAffinityTerm(&preferred[i].PodAffinityTerm, wp.Child("podAffinityTerm"))...)
	}
	return errs
}

func validatePodAffinityTerm(t *PodAffinityTerm, p *Path) ErrorList {
	errs := ValidateLabelSelector(t.LabelSelector, p.Child("labelSelector"))
	errs = append(errs, ValidateLabelSelector(t.NamespaceSelector, p.Child("namespaceSelector"))...)
	for i, ns := range t.Namespaces {
		errs = append(errs, validateDNSLabel(ns, p.Child("namespaces").Index(i))...)
	}
	if t.TopologyKey == "" {
		errs = append(errs, Required(p.Child("topologyKey"), "can not be empty"))
	} else {
		errs = append(errs, validateLabelKey(t.TopologyKey, p.Child("topologyKey"))...)
	}
	return errs
}

func validateTopologySpreadConstraints(cs []TopologySpreadConstraint, p *Path) ErrorList {
	var errs ErrorList
	type pair struct {
		key    string
		action UnsatisfiableConstraintAction
	}
	seen := make(map[pair]bool, len(cs))
	for i, c := range cs {
		cp := p.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, Invalid(cp.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, Required(cp.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, validateLabelKey(c.TopologyKey, cp.Child("topologyKey"))...)
		}
		if c.WhenUnsatisfiable != DoNotSchedule && c.WhenUnsatisfiable != ScheduleAnyway {
			errs = append(errs, NotSupported(cp.Child("whenUnsatisfiable"), c.WhenUnsatisfiable,
				[]UnsatisfiableConstraintAction{DoNotSchedule, ScheduleAnyway}))
		}
		k := pair{c.TopologyKey, c.WhenUnsatisfiable}
		if seen[k] {
			errs = append(errs, Duplicate(cp.Child("{topologyKey, whenUnsatisfiable}"),
				fmt.Sprintf("{%s, %s}", c.TopologyKey, c.WhenUnsatisfiable)))
		}
		seen[k] = true
		if m := c.MinDomains; m != nil {
			if *m <= 0 {
				errs = append(errs, Invalid(cp.Child("minDomains"), *m, "must be greater than zero"))
			}
			if c.WhenUnsatisfiable != DoNotSchedule {
				errs = append(errs, Invalid(cp.Child("minDomains"), *m, fmt.Sprintf(
					"can only use minDomains if whenUnsatisfiable=%s, not %s", DoNotSchedule, c.WhenUnsatisfiable)))
			}
		}
		errs = append(errs, ValidateLabelSelector(c.LabelSelector, cp.Child("labelSelector"))...)
	}
	return errs
}
