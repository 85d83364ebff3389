package helper

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/drover-io/drover/api"
)

// NodeNameField is the one node field a matchFields requirement may name.
const NodeNameField = "metadata.name"

// requirement is one compiled NodeSelectorRequirement.
type requirement struct {
	key    string
	op     api.NodeSelectorOperator
	values []string // sorted, for In and NotIn
	bound  int64    // for Gt and Lt
}

func (r *requirement) has(v string) bool {
	_, ok := slices.BinarySearch(r.values, v)
	return ok
}

// matches reports whether a value (present or not) meets r.
func (r *requirement) matches(v string, present bool) bool {
	switch r.op {
	case api.NodeSelectorOpIn:
		return present && r.has(v)
	case api.NodeSelectorOpNotIn:
		return !present || !r.has(v)
	case api.NodeSelectorOpExists:
		return present
	case api.NodeSelectorOpDoesNotExist:
		return !present
	case api.NodeSelectorOpGt, api.NodeSelectorOpLt:
		if !present {
			return false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		if r.op == api.NodeSelectorOpGt {
			return n > r.bound
		}
		return n < r.bound
	}
	return false
}

// Term is a compiled NodeSelectorTerm: it matches a node that meets all
// of its requirements. An empty or invalid term matches no node.
type Term struct {
	exprs  []requirement
	fields []requirement
	valid  bool
}

// CompileTerm compiles t. The error names the field (relative to the
// term) that is wrong; the returned Term then matches nothing.
func CompileTerm(t *api.NodeSelectorTerm) (Term, error) {
	out := Term{
		exprs:  make([]requirement, 0, len(t.MatchExpressions)),
		fields: make([]requirement, 0, len(t.MatchFields)),
	}
	for i := range t.MatchExpressions {
		r, err := compileRequirement(&t.MatchExpressions[i])
		if err != nil {
			return Term{}, fmt.Errorf("matchExpressions[%d].%w", i, err)
		}
		out.exprs = append(out.exprs, r)
	}
	for i := range t.MatchFields {
		f := &t.MatchFields[i]
		if f.Key != NodeNameField {
			return Term{}, fmt.Errorf("matchFields[%d].key: %q is not supported; the only field is %q", i, f.Key, NodeNameField)
		}
		if f.Operator != api.NodeSelectorOpIn && f.Operator != api.NodeSelectorOpNotIn {
			return Term{}, fmt.Errorf("matchFields[%d].operator: %q is not supported for fields; want In or NotIn", i, f.Operator)
		}
		if len(f.Values) != 1 {
			return Term{}, fmt.Errorf("matchFields[%d].values: want exactly one value for a field, got %d", i, len(f.Values))
		}
		r, _ := compileRequirement(f)
		out.fields = append(out.fields, r)
	}
	out.valid = len(out.exprs)+len(out.fields) > 0
	return out, nil
}

func compileRequirement(r *api.NodeSelectorRequirement) (requirement, error) {
	out := requirement{key: r.Key, op: r.Operator}
	if r.Key == "" {
		return out, fmt.Errorf("key: must not be empty")
	}
	switch r.Operator {
	case api.NodeSelectorOpIn, api.NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			return out, fmt.Errorf("values: operator %s needs at least one value", r.Operator)
		}
		out.values = slices.Clone(r.Values)
		slices.Sort(out.values)
	case api.NodeSelectorOpExists, api.NodeSelectorOpDoesNotExist:
		if len(r.Values) != 0 {
			return out, fmt.Errorf("values: operator %s takes no values, got %d", r.Operator, len(r.Values))
		}
	case api.NodeSelectorOpGt, api.NodeSelectorOpLt:
		if len(r.Values) != 1 {
			return out, fmt.Errorf("values: operator %s needs exactly one integer value, got %d", r.Operator, len(r.Values))
		}
		n, err := strconv.ParseInt(r.Values[0], 10, 64)
		if err != nil {
			return out, fmt.Errorf("values[0]: operator %s needs an integer, got %q", r.Operator, r.Values[0])
		}
		out.bound = n
	default:
		return out, fmt.Errorf("operator: %q is not supported; want one of In, NotIn, Exists, DoesNotExist, Gt, Lt", r.Operator)
	}
	return out, nil
}

// Match reports whether node meets every requirement of t.
func (t *Term) Match(node *api.Node) bool {
	if !t.valid || node == nil {
		return false
	}
	for i := range t.exprs {
		r := &t.exprs[i]
		v, ok := node.Labels[r.key]
		if !r.matches(v, ok) {
			return false
		}
	}
	for i := range t.fields {
		if !t.fields[i].matches(node.Name, true) {
			return false
		}
	}
	return true
}

// NodeNames returns the node names t pins with metadata.name In
// requirements (their intersection), and false if it pins none.
func (t *Term) NodeNames() (map[string]struct{}, bool) {
	var names map[string]struct{}
	pinned := false
	for i := range t.fields {
		f := &t.fields[i]
		if f.op != api.NodeSelectorOpIn {
			continue
		}
		set := make(map[string]struct{}, len(f.values))
		for _, v := range f.values {
			if !pinned {
				set[v] = struct{}{}
			} else if _, ok := names[v]; ok {
				set[v] = struct{}{}
			}
		}
		names, pinned = set, true
	}
	return names, pinned
}

// NodeSelector is a compiled api.NodeSelector: it matches a node that
// matches any of its terms.
type NodeSelector struct {
	Terms []Term
}

// CompileNodeSelector compiles ns. Invalid terms match nothing; the error
// is that of the first, naming the field relative to ns.
func CompileNodeSelector(ns *api.NodeSelector) (*NodeSelector, error) {
	out := &NodeSelector{Terms: make([]Term, len(ns.NodeSelectorTerms))}
	var first error
	for i := range ns.NodeSelectorTerms {
		t, err := CompileTerm(&ns.NodeSelectorTerms[i])
		if err != nil && first == nil {
			first = fmt.Errorf("nodeSelectorTerms[%d].%w", i, err)
		}
		out.Terms[i] = t
	}
	return out, first
}

// Match reports whether node matches any term.
func (s *NodeSelector) Match(node *api.Node) bool {
	for i := range s.Terms {
		if s.Terms[i].Match(node) {
			return true
		}
	}
	return false
}

// PreferredTerm is a compiled PreferredSchedulingTerm.
type PreferredTerm struct {
	Weight int32
	Term   Term
}

// CompilePreferred compiles preferred terms, dropping those of weight 0.
// Invalid terms match nothing; the error is that of the first.
func CompilePreferred(terms []api.PreferredSchedulingTerm) ([]PreferredTerm, error) {
	out := make([]PreferredTerm, 0, len(terms))
	var first error
	for i := range terms {
		if terms[i].Weight == 0 {
			continue
		}
		t, err := CompileTerm(&terms[i].Preference)
		if err != nil && first == nil {
			first = fmt.Errorf("[%d].preference.%w", i, err)
		}
		out = append(out, PreferredTerm{Weight: terms[i].Weight, Term: t})
	}
	return out, first
}

// PreferredScore returns the sum of the weights of the terms node
// matches.
func PreferredScore(terms []PreferredTerm, node *api.Node) int64 {
	var s int64
	for i := range terms {
		if terms[i].Term.Match(node) {
			s += int64(terms[i].Weight)
		}
	}
	return s
}
