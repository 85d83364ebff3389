package helper

import (
	"testing"

	"github.com/drover-io/drover/api"
)

// FuzzCompileTerm checks that any requirement compiles or is refused
// without panicking, and that a term refused by CompileTerm matches no
// node.
func FuzzCompileTerm(f *testing.F) {
	f.Add("zone", "In", "a", "zone", "a")
	f.Add("cores", "Gt", "4", "cores", "8")
	f.Add("metadata.name", "In", "n1", "x", "y")
	f.Add("k", "Lt", "-9223372036854775808", "k", "1")
	f.Fuzz(func(t *testing.T, key, op, value, labelKey, labelValue string) {
		term := api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{{Key: key, Operator: api.NodeSelectorOperator(op), Values: []string{value}}}}
		if key == NodeNameField {
			term = api.NodeSelectorTerm{MatchFields: term.MatchExpressions}
		}
		node := &api.Node{}
		node.Name = labelValue
		node.Labels = map[string]string{labelKey: labelValue}
		compiled, err := CompileTerm(&term)
		if got := compiled.Match(node); err != nil && got {
			t.Errorf("invalid term %+v (%v) matched", term, err)
		}
	})
}
