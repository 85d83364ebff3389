package scheduler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestSortByTotal checks sortByTotal against sort.SliceStable, with many
// ties and with totals outside the packed-key range.
func TestSortByTotal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n        int
		min, max int64
	}{
		{0, 0, 1}, {1, 0, 1}, {2, 0, 1}, {500, 0, 5}, {500, 0, 1000}, {300, -10, 10}, {100, 1 << 31, 1<<31 + 3},
	} {
		t.Run(fmt.Sprintf("%d/%d..%d", tc.n, tc.min, tc.max), func(t *testing.T) {
			in := make([]NodeScore, tc.n)
			for i := range in {
				in[i] = NodeScore{Node: fmt.Sprintf("n%d", i), Total: tc.min + r.Int64N(tc.max-tc.min)}
			}
			want := slices.Clone(in)
			sort.SliceStable(want, func(i, j int) bool { return want[i].Total > want[j].Total })
			got := sortByTotal(slices.Clone(in))
			for i := range want {
				if got[i].Node != want[i].Node || got[i].Total != want[i].Total {
					t.Fatalf("position %d: got %s/%d, want %s/%d", i, got[i].Node, got[i].Total, want[i].Node, want[i].Total)
				}
			}
		})
	}
}
