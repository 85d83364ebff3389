package api

import (
	"fmt"
	"slices"

	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/internal/names"
)

// LabelSelectorAsSelector converts the structured selector of a spec into a
// labels.Selector that can match objects. A nil selector matches nothing
// (labels.Nothing) and an empty one matches everything (labels.Everything);
// otherwise every matchLabels entry and every matchExpressions requirement
// must hold.
//
// The error names the offending key or operator and says what is valid, and
// comes with labels.Nothing, never a selector that matches more. It is
// meant for selectors that were not validated: for one that passed
// ValidateLabelSelector, LabelSelectorAsSelector does not fail.
func LabelSelectorAsSelector(ls *LabelSelector) (labels.Selector, error) {
	if ls == nil {
		return labels.Nothing(), nil
	}
	if len(ls.MatchLabels)+len(ls.MatchExpressions) == 0 {
		return labels.Everything(), nil
	}
	reqs := make([]labels.Requirement, 0, len(ls.MatchLabels)+len(ls.MatchExpressions))
	for _, k := range sortedKeys(ls.MatchLabels) {
		r, err := labels.NewRequirement(k, labels.Equals, []string{ls.MatchLabels[k]})
		if err != nil {
			return labels.Nothing(), fmt.Errorf("api: label selector matchLabels: %w", err)
		}
		reqs = append(reqs, r)
	}
	for i, e := range ls.MatchExpressions {
		var op labels.Operator
		switch e.Operator {
		case LabelSelectorOpIn:
			op = labels.In
		case LabelSelectorOpNotIn:
			op = labels.NotIn
		case LabelSelectorOpExists:
			op = labels.Exists
		case LabelSelectorOpDoesNotExist:
			op = labels.DoesNotExist
		default:
			return labels.Nothing(), fmt.Errorf("api: label selector matchExpressions[%d]: key %q: unknown operator %q; want In, NotIn, Exists or DoesNotExist",
				i, e.Key, e.Operator)
		}
		r, err := labels.NewRequirement(e.Key, op, e.Values)
		if err != nil {
			return labels.Nothing(), fmt.Errorf("api: label selector matchExpressions[%d]: %w", i, err)
		}
		reqs = append(reqs, r)
	}
	return labels.Everything().Add(reqs...), nil
}

// ValidateLabelSelector returns every problem with ls, with paths under p:
// matchLabels must be valid labels, and each matchExpressions entry needs a
// valid key, a known operator, values for In and NotIn (each a valid label
// value) and none for Exists and DoesNotExist. A nil selector is valid here;
// kinds that require one check that themselves.
func ValidateLabelSelector(ls *LabelSelector, p *Path) ErrorList {
	if ls == nil {
		return nil
	}
	errs := ValidateLabels(ls.MatchLabels, p.Child("matchLabels"))
	for i, e := range ls.MatchExpressions {
		ep := p.Child("matchExpressions").Index(i)
		switch e.Operator {
		case LabelSelectorOpIn, LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				errs = append(errs, Required(ep.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case LabelSelectorOpExists, LabelSelectorOpDoesNotExist:
			if len(e.Values) > 0 {
				errs = append(errs, Forbidden(ep.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		default:
			errs = append(errs, NotSupported(ep.Child("operator"), e.Operator, []LabelSelectorOperator{
				LabelSelectorOpDoesNotExist, LabelSelectorOpExists, LabelSelectorOpIn, LabelSelectorOpNotIn}))
		}
		errs = append(errs, validateLabelKey(e.Key, ep.Child("key"))...)
		for j, v := range e.Values {
			for _, msg := range names.IsValidLabelValue(v) {
				errs = append(errs, Invalid(ep.Child("values").Index(j), v, msg))
			}
		}
	}
	return errs
}

// validateLabelKey checks that key is a qualified name, the form of label
// keys, taint keys and topology keys.
func validateLabelKey(key string, p *Path) ErrorList {
	var errs ErrorList
	for _, msg := range names.IsQualifiedName(key) {
		errs = append(errs, Invalid(p, key, msg))
	}
	return errs
}

// sortedKeys returns the keys of m in order, so that errors about map entries
// come out in the same order every time.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
