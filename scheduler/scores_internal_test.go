package scheduler

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/drover-io/drover/scheduler/framework"
)

// TestResultKeepsBestScores checks which scores a Result keeps: the
// MaxKeptScores best, best first with ties in Filter's order, each with
// its parts, and the chosen node even when more nodes tie for the best.
func TestResultKeepsBestScores(t *testing.T) {
	const n = 40
	ns := nodes(n)
	// Feasible nodes come in the snapshot's order (by name), as Filter
	// found them: n1, n10, n11, ...
	var order []string
	for _, ni := range snap(ns).List() {
		order = append(order, ni.Name())
	}
	for _, tc := range []struct {
		name  string
		score func(i int) int64 // of node n<i+1>
		// extra: the chosen node is sometimes not among the best kept
		extra bool
	}{
		{"few ties", func(i int) int64 { return int64(i*7) % 23 }, false},
		{"14 tie for the best", func(i int) int64 {
			if i%3 == 0 {
				return 90
			}
			return int64(i % 50)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scores := map[string]int64{}
			for i := range n {
				scores[fmt.Sprintf("n%d", i+1)] = tc.score(i)
			}
			a := &fakeScore{name: "A", scores: scores}
			b := &fakeScore{name: "B", scores: map[string]int64{}} // 0 everywhere
			fw := newTestFramework(t, map[string]int32{"A": 2}, a, b)
			// Every node with its total, best first, ties in Filter's order.
			want := slices.Clone(order)
			slices.SortStableFunc(want, func(x, y string) int { return int(scores[y] - scores[x]) })
			sn := snap(ns)
			extra := 0
			for range 50 {
				res := fw.Schedule(context.Background(), framework.NewCycleState(), testPod("p"), sn)
				if res.Status != nil {
					t.Fatal(res.Status)
				}
				if len(res.Scores) < MaxKeptScores {
					t.Fatalf("%d scores kept, want at least %d", len(res.Scores), MaxKeptScores)
				}
				for i, s := range res.Scores[:MaxKeptScores] {
					if s.Node != want[i] {
						t.Fatalf("score %d is of %s, want %s (kept %v)", i, s.Node, want[i], res.Scores)
					}
				}
				chosenKept := slices.IndexFunc(res.Scores, func(s NodeScore) bool { return s.Node == res.Node })
				switch {
				case chosenKept < 0:
					t.Fatalf("chosen node %s not among the kept scores %v", res.Node, res.Scores)
				case chosenKept < MaxKeptScores && len(res.Scores) != MaxKeptScores:
					t.Fatalf("%d scores kept, want %d: the chosen node is among the best", len(res.Scores), MaxKeptScores)
				case chosenKept == MaxKeptScores && len(res.Scores) != MaxKeptScores+1:
					t.Fatalf("%d scores kept, want %d", len(res.Scores), MaxKeptScores+1)
				case chosenKept == MaxKeptScores:
					extra++
				}
				if scores[res.Node] != scores[want[0]] {
					t.Fatalf("chose %s (%d), not a best node (%d)", res.Node, scores[res.Node], scores[want[0]])
				}
				for _, s := range res.Scores {
					wantParts := []PluginScore{{Plugin: "A", Score: scores[s.Node], Weight: 2}, {Plugin: "B", Weight: 1}}
					if s.Total != 2*scores[s.Node] || !slices.Equal(s.Plugins, wantParts) {
						t.Fatalf("%s: total %d parts %v, want %d %v", s.Node, s.Total, s.Plugins, 2*scores[s.Node], wantParts)
					}
				}
			}
			if tc.extra != (extra > 0) {
				t.Errorf("the chosen node was kept after the best %d times in 50", extra)
			}
		})
	}
}
