package helper

import (
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

func TestDefaultNormalizeScore(t *testing.T) {
	tests := []struct {
		name    string
		reverse bool
		in      []int64
		want    []int64
	}{
		{"scaled to the highest", false, []int64{0, 1, 3, 6}, []int64{0, 16, 50, 100}},
		{"reversed", true, []int64{0, 1, 3, 6}, []int64{100, 84, 50, 0}},
		{"all zero", false, []int64{0, 0}, []int64{0, 0}},
		{"all zero reversed", true, []int64{0, 0}, []int64{100, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scores := make([]framework.NodeScore, len(tt.in))
			for i, s := range tt.in {
				scores[i].Score = s
			}
			DefaultNormalizeScore(framework.MaxNodeScore, tt.reverse, scores)
			for i := range scores {
				if scores[i].Score != tt.want[i] {
					t.Errorf("score %d = %d, want %d", i, scores[i].Score, tt.want[i])
				}
			}
		})
	}
}

func TestToleratesTaint(t *testing.T) {
	taint := api.Taint{Key: "k", Value: "v", Effect: api.TaintEffectNoSchedule}
	tests := []struct {
		tol  api.Toleration
		want bool
	}{
		{api.Toleration{Key: "k", Value: "v"}, true},
		{api.Toleration{Key: "k", Operator: api.TolerationOpEqual, Value: "v", Effect: api.TaintEffectNoSchedule}, true},
		{api.Toleration{Key: "k", Operator: api.TolerationOpEqual, Value: "w"}, false},
		{api.Toleration{Key: "k", Operator: api.TolerationOpExists}, true},
		{api.Toleration{Key: "j", Operator: api.TolerationOpExists}, false},
		{api.Toleration{Operator: api.TolerationOpExists}, true},
		{api.Toleration{Operator: api.TolerationOpExists, Effect: api.TaintEffectNoExecute}, false},
		{api.Toleration{Value: "v"}, true}, // refused by validation; matches as Kubernetes does
		{api.Toleration{Value: "w"}, false},
		{api.Toleration{Key: "k", Operator: "Bogus"}, false},
	}
	for _, tt := range tests {
		if got := ToleratesTaint(&tt.tol, &taint); got != tt.want {
			t.Errorf("ToleratesTaint(%+v) = %v, want %v", tt.tol, got, tt.want)
		}
	}
}

func mkNode(name string, labels map[string]string) *api.Node {
	n := &api.Node{}
	n.Name = name
	n.Labels = labels
	return n
}

func req(key string, op api.NodeSelectorOperator, values ...string) api.NodeSelectorRequirement {
	return api.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func TestTermMatch(t *testing.T) {
	node := mkNode("n1", map[string]string{"zone": "a", "cores": "8", "gpu": ""})
	tests := []struct {
		name string
		term api.NodeSelectorTerm
		want bool
	}{
		{"empty term matches nothing", api.NodeSelectorTerm{}, false},
		{"In", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("zone", api.NodeSelectorOpIn, "b", "a")}}, true},
		{"In missing", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("zone", api.NodeSelectorOpIn, "b")}}, false},
		{"NotIn", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("zone", api.NodeSelectorOpNotIn, "b")}}, true},
		{"NotIn absent label", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("rack", api.NodeSelectorOpNotIn, "b")}}, true},
		{"NotIn same", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("zone", api.NodeSelectorOpNotIn, "a")}}, false},
		{"Exists empty value", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("gpu", api.NodeSelectorOpExists)}}, true},
		{"DoesNotExist", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("gpu", api.NodeSelectorOpDoesNotExist)}}, false},
		{"Gt", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("cores", api.NodeSelectorOpGt, "4")}}, true},
		{"Gt equal", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("cores", api.NodeSelectorOpGt, "8")}}, false},
		{"Lt", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("cores", api.NodeSelectorOpLt, "16")}}, true},
		{"Lt non-integer label", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("zone", api.NodeSelectorOpLt, "16")}}, false},
		{"Gt absent", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("mem", api.NodeSelectorOpGt, "1")}}, false},
		{"all expressions must hold", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{
			req("zone", api.NodeSelectorOpIn, "a"), req("cores", api.NodeSelectorOpLt, "4")}}, false},
		{"field name In", api.NodeSelectorTerm{MatchFields: []api.NodeSelectorRequirement{req("metadata.name", api.NodeSelectorOpIn, "n1")}}, true},
		{"field name NotIn", api.NodeSelectorTerm{MatchFields: []api.NodeSelectorRequirement{req("metadata.name", api.NodeSelectorOpNotIn, "n1")}}, false},
		{"invalid term matches nothing", api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("zone", api.NodeSelectorOpGt, "x")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			term, _ := CompileTerm(&tt.term)
			if got := term.Match(node); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		term api.NodeSelectorTerm
		want string
	}{
		{api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("a", api.NodeSelectorOpIn)}}, "matchExpressions[0].values"},
		{api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("a", "Near", "x")}}, "matchExpressions[0].operator"},
		{api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{req("a", api.NodeSelectorOpExists), req("b", api.NodeSelectorOpLt, "x")}}, "matchExpressions[1].values[0]"},
		{api.NodeSelectorTerm{MatchFields: []api.NodeSelectorRequirement{req("metadata.uid", api.NodeSelectorOpIn, "x")}}, "matchFields[0].key"},
		{api.NodeSelectorTerm{MatchFields: []api.NodeSelectorRequirement{req("metadata.name", api.NodeSelectorOpIn, "x", "y")}}, "matchFields[0].values"},
	}
	for _, tt := range tests {
		_, err := CompileTerm(&tt.term)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("CompileTerm(%+v) = %v, want an error about %s", tt.term, err, tt.want)
		}
	}
}
