package tier

import (
	"context"
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		args Args
		bad  string // the field named, "" if valid
	}{
		{Args{}, ""},
		{Args{NodeLabel: "tier", PodAnnotation: "example.com/tier"}, ""},
		{Args{NodeLabel: "not a key!"}, "nodeLabel"},
		{Args{PodAnnotation: "/tier"}, "podAnnotation"},
	} {
		err := c.args.Validate()
		if (err != nil) != (c.bad != "") || err != nil && !strings.HasPrefix(err.Error(), c.bad+":") {
			t.Errorf("%+v: Validate() = %v, want an error naming %q", c.args, err, c.bad)
		}
	}
}

func TestFilterAndScore(t *testing.T) {
	ctx := context.Background()
	node := func(tier string) *framework.NodeInfo {
		return framework.NewNodeInfo(&api.Node{ObjectMeta: api.ObjectMeta{Name: "n", Labels: map[string]string{DefaultKey: tier}}})
	}
	gold := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "p", Annotations: map[string]string{DefaultKey: "gold"}}}
	anyTier := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "q"}}
	soft, _ := New(Args{}, nil)
	hard, _ := New(Args{Required: true}, nil)

	if s, _ := soft.Score(ctx, nil, gold, node("gold")); s != framework.MaxNodeScore {
		t.Errorf("gold pod on a gold node scores %d", s)
	}
	if s, _ := soft.Score(ctx, nil, gold, node("silver")); s != framework.MinNodeScore {
		t.Errorf("gold pod on a silver node scores %d", s)
	}
	if st := soft.Filter(ctx, nil, gold, node("silver")); !st.IsSuccess() {
		t.Errorf("not required: Filter rejected a silver node: %v", st.Message())
	}
	if st := hard.Filter(ctx, nil, gold, node("silver")); st.Code() != framework.UnschedulableAndUnresolvable || st.Message() != "node(s) not of tier gold" {
		t.Errorf("required: Filter of a silver node = %v %q", st.Code(), st.Message())
	}
	if st := hard.Filter(ctx, nil, anyTier, node("silver")); !st.IsSuccess() {
		t.Errorf("a pod asking for no tier was rejected: %v", st.Message())
	}
}
