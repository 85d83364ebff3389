package cost

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

func TestPrice(t *testing.T) {
	for v, want := range map[string]int64{
		"0.05": 50, "1": 1000, "0": 0, "2.5e-1": 250,
		"": unpriced, "cheap": unpriced, "-1": unpriced, "NaN": unpriced, "1e300": unpriced,
	} {
		assert.Equal(t, want, price(v), "price(%q)", v)
	}
}

func TestNormalizeScore(t *testing.T) {
	p, err := New(Args{}, nil)
	require.NoError(t, err)
	scores := []framework.NodeScore{
		{Name: "spot", Score: 50},
		{Name: "standard", Score: 200},
		{Name: "premium", Score: 900},
		{Name: "unlabelled", Score: unpriced},
	}
	require.Nil(t, p.NormalizeScore(context.Background(), nil, &api.Pod{}, scores))
	assert.Equal(t, []framework.NodeScore{
		{Name: "spot", Score: 100},
		{Name: "standard", Score: 83},
		{Name: "premium", Score: 0},
		{Name: "unlabelled", Score: 0},
	}, scores)

	same := []framework.NodeScore{{Name: "a", Score: 70}, {Name: "b", Score: 70}}
	require.Nil(t, p.NormalizeScore(context.Background(), nil, &api.Pod{}, same))
	assert.Equal(t, int64(100), same[0].Score)
	assert.Equal(t, int64(100), same[1].Score)
}

func TestScoreReadsTheConfiguredLabel(t *testing.T) {
	p, err := New(Args{Label: "example.com/price"}, nil)
	require.NoError(t, err)
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "n", Labels: map[string]string{
		"example.com/price": "0.3", DefaultLabel: "0.1",
	}}}
	s, st := p.Score(context.Background(), nil, &api.Pod{}, framework.NewNodeInfo(node))
	require.Nil(t, st)
	assert.Equal(t, int64(300), s)
}

func TestArgsValidate(t *testing.T) {
	_, err := New(Args{Label: "not a label!"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "label:")
}
