package interpodaffinity

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// reference is Filter written the slow, obvious way: every pod of every
// node, for every node.
func reference(snap snapshot, in *api.Pod) map[string]string {
	self := compilePodTerms(in)
	sameDomain := func(a, b *api.Node, key string) bool {
		va, oka := a.Labels[key]
		vb, okb := b.Labels[key]
		return oka && okb && va == vb
	}
	// Is any pod matching all affinity terms counted somewhere?
	counted := false
	for _, m := range snap {
		for _, q := range m.Pods {
			if matchesAll(self.requiredAffinity, q.Pod, nil) {
				for _, t := range self.requiredAffinity {
					if _, ok := m.Node.Labels[t.key]; ok {
						counted = true
					}
				}
			}
		}
	}
	out := map[string]string{}
	for _, n := range snap {
		verdict := ""
		affOK := true
		for _, t := range self.requiredAffinity {
			if _, ok := n.Node.Labels[t.key]; !ok {
				affOK = false
				break
			}
			found := false
			for _, m := range snap {
				for _, q := range m.Pods {
					if sameDomain(n.Node, m.Node, t.key) && matchesAll(self.requiredAffinity, q.Pod, nil) {
						found = true
					}
				}
			}
			if !found {
				affOK = !counted && matchesAll(self.requiredAffinity, in, nil)
				for _, t2 := range self.requiredAffinity {
					if _, ok := n.Node.Labels[t2.key]; !ok {
						affOK = false
					}
				}
				break
			}
		}
		antiHit, exHit := false, false
		for _, m := range snap {
			for _, q := range m.Pods {
				for _, t := range self.requiredAnti {
					if sameDomain(n.Node, m.Node, t.key) && t.matches(q.Pod, nil) {
						antiHit = true
					}
				}
				for _, t := range compilePodTerms(q.Pod).requiredAnti {
					if sameDomain(n.Node, m.Node, t.key) && t.matches(in, nil) {
						exHit = true
					}
				}
			}
		}
		switch {
		case !affOK:
			verdict = "U&U " + ReasonAffinityRulesNotMatch
		case antiHit:
			verdict = ReasonAntiAffinityRulesNotMatch
		case exHit:
			verdict = ReasonExistingAntiAffinityRulesNotMatch
		}
		out[n.Name()] = verdict
	}
	return out
}

func randomTerm(r *rand.Rand) api.PodAffinityTerm {
	key := []string{zone, host}[r.IntN(2)]
	var s *api.LabelSelector
	switch r.IntN(5) {
	case 0:
		s = sel("app", []string{"x", "y", "z"}[r.IntN(3)])
	case 1:
		s = sel("app", []string{"x", "y"}[r.IntN(2)], "tier", "1")
	case 2:
		s = &api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{{Key: "app", Operator: api.LabelSelectorOpIn, Values: []string{"x", "y"}}}}
	case 3:
		s = &api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{{Key: "tier", Operator: api.LabelSelectorOpExists}}}
	case 4:
		s = nil
	}
	t := onTerm(key, s)
	switch r.IntN(4) {
	case 0:
		t.Namespaces = []string{"other"}
	case 1:
		t.NamespaceSelector = &api.LabelSelector{}
	}
	return t
}

func randomPod(r *rand.Rand, name string, withTerms bool) *api.Pod {
	l := map[string]string{"app": []string{"x", "y", "z"}[r.IntN(3)]}
	if r.IntN(2) == 0 {
		l["tier"] = "1"
	}
	var opts []podOpt
	if r.IntN(4) == 0 {
		opts = append(opts, ns("other"))
	}
	if withTerms {
		for range r.IntN(3) {
			if r.IntN(2) == 0 {
				opts = append(opts, requiredAffinity(randomTerm(r)))
			} else {
				opts = append(opts, requiredAnti(randomTerm(r)))
			}
		}
	} else if r.IntN(2) == 0 {
		opts = append(opts, requiredAnti(randomTerm(r)))
	}
	// Scoring terms, for PreScore.
	for range r.IntN(3) {
		w := int32(1 + r.IntN(10))
		switch r.IntN(3) {
		case 0:
			opts = append(opts, preferredAffinity(w, randomTerm(r)))
		case 1:
			opts = append(opts, preferredAnti(w, randomTerm(r)))
		case 2:
			if !withTerms {
				opts = append(opts, requiredAffinity(randomTerm(r)))
			}
		}
	}
	return pod(name, l, opts...)
}

// TestIndexMatchesReference runs one plugin (its index kept between
// cycles) over a snapshot that changes between cycles, and compares
// Filter's verdicts with the reference's.
func TestIndexMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var snap snapshot
	for i := range 8 {
		z := []string{"a", "b", "c", ""}[i%4]
		snap = append(snap, framework.NewNodeInfo(node(fmt.Sprintf("n%d", i), z)))
	}
	h := &handle{}
	p, _ := New(Args{HardPodAffinityWeight: 3}, h)
	scan, _ := New(Args{HardPodAffinityWeight: 3}, nil)
	podN := 0
	for cycle := range 400 {
		// Change the snapshot: add or remove a pod, relabel or drop a node.
		i := r.IntN(len(snap))
		n := snap[i].Clone()
		switch op := r.IntN(10); {
		case op < 6:
			podN++
			n.AddPod(framework.NewPodInfo(randomPod(r, fmt.Sprintf("p%d", podN), false)))
		case op < 9 && len(n.Pods) > 0:
			n.RemovePod(n.Pods[r.IntN(len(n.Pods))].Pod)
		case op == 9 && len(snap) > 4 && r.IntN(2) == 0:
			snap = append(snap[:i:i], snap[i+1:]...)
			n = nil
		default:
			nn := node(n.Name(), []string{"a", "b", "c", ""}[r.IntN(4)])
			n.SetNode(nn)
		}
		if n != nil {
			snap[i] = n
		}
		if r.IntN(20) == 0 {
			podN++
			snap = append(snap, framework.NewNodeInfo(node(fmt.Sprintf("n%d-%d", cycle, podN), "a")))
		}

		h.snap = snap
		in := randomPod(r, "incoming", true)
		want := reference(snap, in)
		state := framework.NewCycleState()
		_, st := p.PreFilter(context.Background(), state, in, snap)
		var got map[string]string
		if st.IsSkip() {
			got = map[string]string{}
			for _, n := range snap {
				got[n.Name()] = ""
			}
		} else {
			got = filterNodes(p, state, snap, in)
		}
		if !equalMaps(got, want) {
			t.Fatalf("cycle %d: pod %+v\ngot  %v\nwant %v", cycle, in.Spec.Affinity, got, want)
		}
		// PreScore through the index and by scanning every pod agree.
		if a, b := rawScores(t, p, snap, in), rawScores(t, scan, snap, in); !maps.Equal(a, b) {
			t.Fatalf("cycle %d: scores with the index %v, by scanning %v", cycle, a, b)
		}
	}
}

func rawScores(t *testing.T, p *Plugin, snap snapshot, in *api.Pod) map[string]int64 {
	t.Helper()
	state := framework.NewCycleState()
	out := map[string]int64{}
	if st := p.PreScore(context.Background(), state, in, snap); st.IsSkip() {
		return out
	} else if !st.IsSuccess() {
		t.Fatal(st.Err())
	}
	for _, n := range snap {
		s, _ := p.Score(context.Background(), state, in, n)
		out[n.Name()] = s
	}
	return out
}
