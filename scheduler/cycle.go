package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/internal/cache"
	"github.com/drover-io/drover/scheduler/plugins/queuesort"
)

// Result is what one scheduling cycle decided for a pod, and why: the
// chosen node, or the status that says why there is none, with the
// verdict of every node Filter looked at and the scores of the feasible
// ones.
type Result struct {
	// Node is the chosen node; "" if none.
	Node string
	// Status is nil when a node was chosen; otherwise Unschedulable or
	// UnschedulableAndUnresolvable with the counted message ("0/3 nodes
	// are available: ..."), or Error.
	Status *framework.Status
	// NumNodes is the number of nodes in the snapshot; Evaluated how many
	// Filter looked at (it stops once it has enough feasible ones);
	// Feasible how many passed.
	NumNodes, Evaluated, Feasible int
	// Verdicts are the nodes Filter looked at (or every node, when
	// PreFilter rejected the pod), in the order looked at: a nil Status
	// passed.
	Verdicts []NodeVerdict
	// Scores are the scores, with their parts, of the best feasible
	// nodes: the MaxKeptScores highest totals, best first (ties in the
	// order Filter found the nodes), then the chosen node if it is not
	// among them (it ties with the first). Empty when one node was
	// feasible: it is chosen without scoring. Only these are kept, as an
	// explanation needs no more and building every scored node's parts
	// costs more than the rest of the cycle at 5,000 nodes.
	Scores []NodeScore
	// UnschedulablePlugins are the plugins that rejected the pod: the
	// cluster events that may help are theirs.
	UnschedulablePlugins map[string]struct{}
	// NominatedNode is the node a PostFilter plugin (preemption) made room
	// on, if any.
	NominatedNode string
	// PostFilterMessage is what PostFilter said when it could not help.
	PostFilterMessage string
}

// NodeVerdict is one node's Filter outcome.
type NodeVerdict struct {
	Node   string
	Status *framework.Status // nil: feasible
}

// NodeScore is one feasible node's total score and its parts.
type NodeScore struct {
	Node    string
	Total   int64
	Plugins []PluginScore
}

// PluginScore is one Score plugin's normalized score of a node and its
// weight; the node's total is the sum of Score*Weight.
type PluginScore struct {
	Plugin string `json:"plugin"`
	Score  int64  `json:"score"`
	Weight int64  `json:"weight"`
}

// Schedule runs the filtering and scoring part of a cycle for pod over
// snap: PreFilter, Filter (in parallel, stopping once enough nodes are
// feasible), PostFilter when none is, PreScore, Score and NormalizeScore
// (in parallel), and picks the best node, at random among ties. It makes
// no API call and changes nothing but the plugins' cycle state: tests call
// it directly on a snapshot. Reserve, Permit and binding are the
// caller's.
func (f *Framework) Schedule(ctx context.Context, state *framework.CycleState, pod *api.Pod, snap framework.Snapshot) *Result {
	f.snapshot.Store(&snapshotBox{snap})
	nodes := snap.List()
	res := &Result{NumNodes: len(nodes)}
	if len(nodes) == 0 {
		res.Status = framework.NewStatus(framework.Unschedulable, "0/0 nodes are available: no nodes to schedule on.")
		return res
	}

	// PreFilter.
	skip := skipSet{}
	var allowed map[string]struct{}
	var narrowers []string // the plugins whose PreFilterResult narrowed the nodes
	for _, p := range f.preFilter {
		r, s := p.PreFilter(ctx, state, pod, nodes)
		switch {
		case s.IsSuccess():
		case s.IsSkip():
			skip[p.Name()] = true
			continue
		case s.IsRejected():
			s = ownStatus(p.Name(), s)
			res.UnschedulablePlugins = map[string]struct{}{p.Name(): {}}
			res.Verdicts = make([]NodeVerdict, len(nodes))
			for i, n := range nodes {
				res.Verdicts[i] = NodeVerdict{Node: n.Name(), Status: s}
			}
			res.Evaluated = len(nodes)
			f.postFilter1(ctx, state, pod, res)
			return res
		default:
			res.Status = ownStatus(p.Name(), s)
			return res
		}
		if r != nil && r.NodeNames != nil {
			narrowers = append(narrowers, p.Name())
			if allowed == nil {
				allowed = r.NodeNames
			} else {
				next := make(map[string]struct{})
				for n := range allowed {
					if _, ok := r.NodeNames[n]; ok {
						next[n] = struct{}{}
					}
				}
				allowed = next
			}
		}
	}
	if len(skip) > 0 {
		state.Write(skipKey, skip)
	}
	filters := f.activeFilters(skip)
	candidates := nodes
	var narrowed []NodeVerdict
	if allowed != nil {
		candidates = make([]*framework.NodeInfo, 0, len(allowed))
		rejected := framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't satisfy plugin(s) PreFilter's node list").WithPlugin(narrowers[0])
		for _, n := range nodes {
			if _, ok := allowed[n.Name()]; ok {
				candidates = append(candidates, n)
			} else {
				narrowed = append(narrowed, NodeVerdict{Node: n.Name(), Status: rejected})
			}
		}
	}

	// Filter: the nominated node first, then the others.
	var feasible []*framework.NodeInfo
	if nom := pod.Status.NominatedNodeName; nom != "" {
		if ni := snap.Get(nom); ni != nil && (allowed == nil || has(allowed, nom)) {
			s := f.filterNominatedBy(ctx, f.cycleNominator(), state, pod, ni, filters)
			if s.IsSuccess() {
				feasible = []*framework.NodeInfo{ni}
				res.Verdicts = []NodeVerdict{{Node: nom}}
				res.Evaluated = 1
			}
		}
	}
	if feasible == nil {
		var verdicts []NodeVerdict
		var err *framework.Status
		feasible, verdicts, err = f.filterNodes(ctx, state, pod, candidates, filters)
		if err != nil {
			res.Status = err
			return res
		}
		res.Verdicts = append(verdicts, narrowed...)
		res.Evaluated = len(verdicts)
	}
	res.Feasible = len(feasible)
	if len(feasible) == 0 {
		if len(narrowed) > 0 {
			// The nodes left out by PreFilter are theirs to bring back
			// (a pinned node added, say): the queue's interest is theirs.
			res.UnschedulablePlugins = make(map[string]struct{}, len(narrowers))
			for _, p := range narrowers {
				res.UnschedulablePlugins[p] = struct{}{}
			}
		}
		for _, v := range res.Verdicts {
			if p := v.Status.Plugin(); p != "" && v.Status.IsRejected() {
				if res.UnschedulablePlugins == nil {
					res.UnschedulablePlugins = make(map[string]struct{})
				}
				res.UnschedulablePlugins[p] = struct{}{}
			}
		}
		f.postFilter1(ctx, state, pod, res)
		return res
	}

	// PreScore and Score.
	scoreSkip := make(map[string]bool)
	for _, p := range f.preScore {
		s := p.PreScore(ctx, state, pod, feasible)
		switch {
		case s.IsSuccess():
		case s.IsSkip():
			scoreSkip[p.Name()] = true
		default:
			res.Status = framework.AsStatus(fmt.Errorf("PreScore %s: %w", p.Name(), s.Err())).WithPlugin(p.Name())
			return res
		}
	}
	if len(feasible) == 1 {
		res.Node = feasible[0].Name()
		return res
	}
	ss, s := f.scoreNodes(ctx, state, pod, feasible, scoreSkip)
	if s != nil {
		res.Status = s
		return res
	}
	defer ss.release()
	chosen := f.selectHost(ss.totals)
	res.Node = feasible[chosen].Name()
	res.Scores = ss.best(feasible, MaxKeptScores, chosen)
	return res
}

// MaxKeptScores is how many of the best feasible nodes a Result keeps
// the scores of (see Result.Scores).
const MaxKeptScores = 10

// sortByTotal orders scores in place by total, highest first, keeping
// the node order among equal totals (a stable sort), and returns them.
// When every total is in [0, 2^31) it sorts packed integer keys
// (inverted total, index) and then moves each NodeScore once, which is
// several times cheaper than a stable sort moving the NodeScores.
func sortByTotal(scores []NodeScore) []NodeScore {
	const limit = 1 << 31
	for i := range scores {
		if t := scores[i].Total; t < 0 || t >= limit {
			slices.SortStableFunc(scores, func(a, b NodeScore) int { return cmp.Compare(b.Total, a.Total) })
			return scores
		}
	}
	keys := make([]uint64, len(scores))
	for i := range scores {
		keys[i] = uint64(limit-1-scores[i].Total)<<32 | uint64(i)
	}
	slices.Sort(keys)
	// Position j takes the score now at uint32(keys[j]): follow each
	// cycle of that permutation, marking the positions filled.
	const filled = ^uint64(0)
	for j := range keys {
		if keys[j] == filled {
			continue
		}
		tmp, cur := scores[j], j
		for {
			src := int(uint32(keys[cur]))
			keys[cur] = filled
			if src == j {
				scores[cur] = tmp
				break
			}
			scores[cur] = scores[src]
			cur = src
		}
	}
	return scores
}

func has(m map[string]struct{}, k string) bool { _, ok := m[k]; return ok }

// postFilter1 runs the PostFilter plugins for an unschedulable pod and
// writes the result's Status with the counted message.
func (f *Framework) postFilter1(ctx context.Context, state *framework.CycleState, pod *api.Pod, res *Result) {
	filtered := make(map[string]*framework.Status, len(res.Verdicts))
	for _, v := range res.Verdicts {
		if v.Status != nil {
			filtered[v.Node] = v.Status
		}
	}
	code := framework.UnschedulableAndUnresolvable
	for _, v := range res.Verdicts {
		if v.Status.Code() == framework.Unschedulable {
			code = framework.Unschedulable
			break
		}
	}
	for _, p := range f.postFilter {
		r, s := p.PostFilter(ctx, state, pod, filtered)
		if s.IsSuccess() {
			if r != nil {
				res.NominatedNode = r.NominatedNodeName
			}
			break
		}
		if s.Code() == framework.Error {
			f.deps.logger.Error("PostFilter failed", "plugin", p.Name(), "pod", pod.Namespace+"/"+pod.Name, "err", s.Err())
			continue
		}
		if msg := s.Message(); msg != "" {
			res.PostFilterMessage = msg
		}
		if s.Code() == framework.UnschedulableAndUnresolvable {
			break
		}
	}
	res.Status = framework.NewStatus(code, FitMessage(res.NumNodes, res.Verdicts, res.PostFilterMessage))
}

// FitMessage is the explanation of an unschedulable pod, as Kubernetes
// words it: "0/5000 nodes are available: 3000 Insufficient cpu, 2000
// node(s) had untolerated taint {...}." Each reason counts the nodes it
// rejected; the most frequent come first, ties in alphabetical order. A
// node that was not evaluated (Filter stopped early) is not counted.
// postFilter, what PostFilter (preemption) said, if not empty, is added
// as " preemption: <postFilter>".
func FitMessage(numNodes int, verdicts []NodeVerdict, postFilter string) string {
	counts := make(map[string]int)
	for _, v := range verdicts {
		if v.Status == nil {
			continue
		}
		reasons := v.Status.Reasons()
		if len(reasons) == 0 {
			reasons = []string{fmt.Sprintf("node(s) rejected by %s", v.Status.Plugin())}
		}
		seen := make(map[string]bool, len(reasons))
		for _, r := range reasons {
			if !seen[r] {
				seen[r] = true
				counts[r]++
			}
		}
	}
	reasons := sortedNames(counts)
	sort.SliceStable(reasons, func(i, j int) bool { return counts[reasons[i]] > counts[reasons[j]] })
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d %s", counts[r], r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "0/%d nodes are available", numNodes)
	if len(parts) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(parts, ", "))
	}
	b.WriteString(".")
	if postFilter != "" {
		b.WriteString(" preemption: ")
		b.WriteString(postFilter)
	}
	return b.String()
}

// NumFeasibleNodesToFind returns how many feasible nodes Filter looks for
// among numNodes before it stops, for a percentage (0: adaptive, 50%
// less one point per 125 nodes, at least 5%). Below 100 nodes, or at
// 100%, every node is looked at; it never looks for fewer than 100.
func NumFeasibleNodesToFind(percentage int32, numNodes int) int {
	const minNodes = 100
	if numNodes < minNodes || percentage >= 100 {
		return numNodes
	}
	p := int(percentage)
	if p <= 0 {
		p = 50 - numNodes/125
		if p < 5 {
			p = 5
		}
	}
	n := numNodes * p / 100
	if n < minNodes {
		return minNodes
	}
	return n
}

// filterNodes runs Filter over nodes in parallel, starting where the last
// pass stopped, until enough are feasible. It returns the feasible nodes
// and the verdicts of those looked at (in node order), or an Error.
func (f *Framework) filterNodes(ctx context.Context, state *framework.CycleState, pod *api.Pod, nodes []*framework.NodeInfo, filters []framework.FilterPlugin) ([]*framework.NodeInfo, []NodeVerdict, *framework.Status) {
	n := len(nodes)
	if n == 0 {
		// PreFilter narrowed the nodes to none of the snapshot's (a pod
		// pinned to a node that is gone).
		return nil, nil, nil
	}
	want := NumFeasibleNodesToFind(f.deps.percentage, n)
	start := int(f.nextStart.Load() % int64(n))
	if len(f.filter) == 0 {
		// Every node passes: take the first want.
		out := make([]*framework.NodeInfo, 0, want)
		verdicts := make([]NodeVerdict, 0, want)
		for i := 0; i < want; i++ {
			ni := nodes[(start+i)%n]
			out = append(out, ni)
			verdicts = append(verdicts, NodeVerdict{Node: ni.Name()})
		}
		f.nextStart.Store(int64((start + want) % n))
		return out, verdicts, nil
	}
	// The scratch space is indexed in the order nodes are handed out
	// (i, node (start+i)%n); parallelize hands out a prefix [0, handed).
	// A verdict takes the node's name while Filter has the node in the
	// cache.
	scratch := getFilterScratch(n)
	looked, done := scratch.verdicts, scratch.done
	var handed, found atomic.Int64
	defer func() { putFilterScratch(scratch, int(handed.Load())) }()
	var firstErr atomic.Pointer[framework.Status]
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nominator := f.cycleNominator()
	t, workers := f.filterFan.plan(f.deps.parallelism, want)
	began := time.Now()
	// Chunks are sized by the work to do (want nodes), not by the nodes
	// there are: a worker goes on with its chunk until it sees enough.
	parallelize(fctx, workers, n, chunkSize(workers, want), func(lo, hi int) bool {
		storeMax(&handed, int64(hi))
		// Passes are counted here and added to found every flushPasses
		// (and at the end): an atomic add per node would bounce found's
		// cache line between the workers on every node, and one per
		// chunk would hide the others' passes too long (each worker
		// filtering nodes past the cut-off).
		passed := int64(0)
		defer func() { found.Add(passed) }()
		warm(nodes, start, lo, hi)
		for i := lo; i < hi; i++ {
			if found.Load()+passed >= int64(want) || firstErr.Load() != nil {
				return false
			}
			node := nodes[(start+i)%n]
			s := f.filterNominatedBy(fctx, nominator, state, pod, node, filters)
			looked[i] = NodeVerdict{Node: node.Name(), Status: s}
			done[i] = true
			if s.IsSuccess() {
				if passed++; passed == flushPasses {
					found.Add(passed)
					passed = 0
				}
			} else if !s.IsRejected() {
				firstErr.CompareAndSwap(nil, s)
				return false
			}
		}
		return true
	})
	took := time.Since(began)
	if s := firstErr.Load(); s != nil {
		return nil, nil, s
	}
	k := int(handed.Load())
	evaluated, passed := 0, 0
	for i, d := range done[:k] {
		if d {
			evaluated++
			if looked[i].Status.IsSuccess() {
				passed++
			}
		}
	}
	feasible := make([]*framework.NodeInfo, 0, min(passed, want))
	verdicts := make([]NodeVerdict, 0, evaluated)
	last := start
	for i := 0; i < k; i++ {
		if !done[i] {
			continue
		}
		idx := (start + i) % n
		last = idx
		if looked[i].Status.IsSuccess() {
			if len(feasible) >= want {
				continue // looked at by a worker after enough were found
			}
			feasible = append(feasible, nodes[idx])
		}
		verdicts = append(verdicts, looked[i])
	}
	f.nextStart.Store(int64((last + 1) % n))
	// Measured per node the cycle needed: nodes a worker filtered past
	// the cut-off are the mode's waste, not its work.
	f.filterFan.done(t, len(verdicts), took)
	return feasible, verdicts, nil
}

// storeMax sets v to x if x is larger.
func storeMax(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// filterScratch is filterNodes' per-node working space, pooled: at 5,000
// nodes it is 125 KB a cycle that would otherwise be garbage.
type filterScratch struct {
	verdicts []NodeVerdict
	done     []bool
}

var filterScratchPool sync.Pool // of *filterScratch

// getFilterScratch returns zeroed scratch space for n nodes.
func getFilterScratch(n int) *filterScratch {
	sc, _ := filterScratchPool.Get().(*filterScratch)
	if sc == nil || cap(sc.verdicts) < n {
		return &filterScratch{verdicts: make([]NodeVerdict, n), done: make([]bool, n)}
	}
	sc.verdicts, sc.done = sc.verdicts[:n], sc.done[:n]
	return sc
}

// putFilterScratch zeroes the first used entries of sc (the rest are
// still zero), so that it keeps no Status or name alive, and returns it to the
// pool.
func putFilterScratch(sc *filterScratch, used int) {
	clear(sc.verdicts[:used])
	clear(sc.done[:used])
	filterScratchPool.Put(sc)
}

// filterWithNominated runs the Filter plugins for pod on node twice when
// pods of at least its priority are nominated there: with those pods added
// (so the room preemption made for them is kept) and without (so that
// affinity to them is not taken for granted). Both must pass.
func (f *Framework) filterWithNominated(ctx context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo, filters []framework.FilterPlugin) *framework.Status {
	return f.filterNominatedBy(ctx, f.cycleNominator(), state, pod, node, filters)
}

// filterNominatedBy is filterWithNominated with the pods nominated by
// nominator (nil: none), which filterNodes looks up once per cycle.
func (f *Framework) filterNominatedBy(ctx context.Context, nominator Nominator, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo, filters []framework.FilterPlugin) *framework.Status {
	if nominator == nil {
		return f.runFilters(ctx, state, pod, node, filters)
	}
	var add []*framework.PodInfo
	for _, pi := range nominator.NominatedPodsForNode(node.Name()) {
		if pi.Pod.UID != pod.UID && queuesort.Priority(pi.Pod) >= queuesort.Priority(pod) {
			add = append(add, pi)
		}
	}
	if len(add) == 0 {
		return f.runFilters(ctx, state, pod, node, filters)
	}
	withState, withNode := state.Clone(), node.Clone()
	for _, pi := range add {
		withNode.AddPod(pi)
		if s := f.RunPreFilterExtensionAddPod(ctx, withState, pod, pi, withNode); !s.IsSuccess() {
			return s
		}
	}
	if s := f.runFilters(ctx, withState, pod, withNode, filters); !s.IsSuccess() {
		return s
	}
	return f.runFilters(ctx, state, pod, node, filters)
}

// scoredNodes are the scores of one cycle's feasible nodes: each Score
// plugin's normalized score of each node, and each node's weighted total.
// The slices are pooled: release returns them once the cycle has taken
// what it keeps (see best).
type scoredNodes struct {
	plugins []weightedScore
	// perPlugin[j][i] is plugin j's score of node i; one backing array.
	perPlugin [][]framework.NodeScore
	totals    []int64
	scratch   *scoreScratch
}

// scoreNodes runs Score (in parallel over the nodes), NormalizeScore and
// the weights.
func (f *Framework) scoreNodes(ctx context.Context, state *framework.CycleState, pod *api.Pod, nodes []*framework.NodeInfo, skip map[string]bool) (*scoredNodes, *framework.Status) {
	plugins := make([]weightedScore, 0, len(f.score))
	for _, s := range f.score {
		if !skip[s.p.Name()] {
			plugins = append(plugins, s)
		}
	}
	sc := getScoreScratch(len(plugins), len(nodes))
	ss := &scoredNodes{plugins: plugins, perPlugin: sc.perPlugin, totals: sc.totals, scratch: sc}
	var firstErr atomic.Pointer[framework.Status]
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t, workers := f.scoreFan.plan(f.deps.parallelism, len(nodes))
	began := time.Now()
	parallelize(sctx, workers, len(nodes), chunkSize(workers, len(nodes)), func(lo, hi int) bool {
		warm(nodes, 0, lo, hi)
		for i := lo; i < hi; i++ {
			name := nodes[i].Name()
			for j, pl := range plugins {
				v, s := pl.p.Score(sctx, state, pod, nodes[i])
				if !s.IsSuccess() {
					firstErr.CompareAndSwap(nil, framework.AsStatus(fmt.Errorf("Score %s on node %s: %w", pl.p.Name(), name, s.Err())).WithPlugin(pl.p.Name()))
					return false
				}
				ss.perPlugin[j][i] = framework.NodeScore{Name: name, Score: v}
			}
		}
		return true
	})
	if s := firstErr.Load(); s != nil {
		ss.release()
		return nil, s
	}
	if ctx.Err() == nil {
		f.scoreFan.done(t, len(nodes), time.Since(began))
	}
	for j, pl := range plugins {
		if ext := pl.p.ScoreExtensions(); ext != nil {
			if s := ext.NormalizeScore(ctx, state, pod, ss.perPlugin[j]); !s.IsSuccess() {
				ss.release()
				return nil, framework.AsStatus(fmt.Errorf("NormalizeScore %s: %w", pl.p.Name(), s.Err())).WithPlugin(pl.p.Name())
			}
		}
		for i, ns := range ss.perPlugin[j] {
			if ns.Score < framework.MinNodeScore || ns.Score > framework.MaxNodeScore {
				ss.release()
				return nil, framework.AsStatus(fmt.Errorf("plugin %s scored node %s %d: outside [%d, %d]", pl.p.Name(), ns.Name, ns.Score, framework.MinNodeScore, framework.MaxNodeScore)).WithPlugin(pl.p.Name())
			}
			ss.totals[i] += ns.Score * pl.weight
		}
	}
	return ss, nil
}

// best returns the NodeScores, with their parts, of the k nodes with the
// highest totals (ties: the first in nodes), best first, and then of
// nodes[chosen] if it is not among them.
func (ss *scoredNodes) best(nodes []*framework.NodeInfo, k int, chosen int) []NodeScore {
	// top holds the indexes of the best k so far, in no order; worst is
	// the position in top of the one the next better node replaces: the
	// lowest total, and of those the last node (a later node with the
	// same total does not get in).
	top := make([]int, 0, k+1)
	worst := 0
	for i, t := range ss.totals {
		if len(top) < k {
			top = append(top, i)
			if len(top) == k {
				worst = ss.worstOf(top)
			}
			continue
		}
		if t > ss.totals[top[worst]] {
			top[worst] = i
			worst = ss.worstOf(top)
		}
	}
	if !slices.Contains(top, chosen) {
		top = append(top, chosen)
	}
	// Node order, then a stable sort by total: ties stay in node order,
	// and the chosen node, if added, comes after the others it ties with.
	slices.Sort(top[:min(len(top), k)])
	out := make([]NodeScore, len(top))
	parts := make([]PluginScore, len(top)*len(ss.plugins)) // one backing array
	for o, i := range top {
		ns := NodeScore{Node: nodes[i].Name(), Total: ss.totals[i], Plugins: parts[o*len(ss.plugins) : (o+1)*len(ss.plugins) : (o+1)*len(ss.plugins)]}
		for j, pl := range ss.plugins {
			ns.Plugins[j] = PluginScore{Plugin: pl.p.Name(), Score: ss.perPlugin[j][i].Score, Weight: pl.weight}
		}
		out[o] = ns
	}
	if len(top) > k {
		// Only the first k are sorted: the chosen node stays last.
		sortByTotal(out[:k])
		return out
	}
	return sortByTotal(out)
}

// worstOf returns the position in top of the node with the lowest total,
// the last node of those with that total.
func (ss *scoredNodes) worstOf(top []int) int {
	w := 0
	for p := 1; p < len(top); p++ {
		a, b := ss.totals[top[p]], ss.totals[top[w]]
		if a < b || (a == b && top[p] > top[w]) {
			w = p
		}
	}
	return w
}

// release returns the pooled slices; ss must not be used after.
func (ss *scoredNodes) release() {
	putScoreScratch(ss.scratch)
	ss.scratch, ss.perPlugin, ss.totals = nil, nil, nil
}

// scoreScratch is scoreNodes' working space, pooled: at 500 nodes and
// five plugins it is 64 KB a cycle that would otherwise be garbage. The
// NodeScores are handed to Score and NormalizeScore, which must not keep
// them.
type scoreScratch struct {
	backing   []framework.NodeScore
	perPlugin [][]framework.NodeScore
	totals    []int64
}

var scoreScratchPool sync.Pool // of *scoreScratch

// getScoreScratch returns zeroed space for plugins scores of n nodes.
func getScoreScratch(plugins, n int) *scoreScratch {
	sc, _ := scoreScratchPool.Get().(*scoreScratch)
	if sc == nil {
		sc = &scoreScratch{}
	}
	if cap(sc.backing) < plugins*n {
		sc.backing = make([]framework.NodeScore, plugins*n)
	}
	if cap(sc.totals) < n {
		sc.totals = make([]int64, n)
	}
	sc.backing, sc.totals = sc.backing[:plugins*n], sc.totals[:n]
	sc.perPlugin = sc.perPlugin[:0]
	for j := range plugins {
		sc.perPlugin = append(sc.perPlugin, sc.backing[j*n:(j+1)*n:(j+1)*n])
	}
	return sc
}

// putScoreScratch zeroes sc (so that it keeps no name alive and the next
// cycle's totals start at 0) and returns it to the pool.
func putScoreScratch(sc *scoreScratch) {
	clear(sc.backing)
	clear(sc.totals)
	clear(sc.perPlugin)
	scoreScratchPool.Put(sc)
}

// selectHost returns the index of the highest total, picking uniformly at
// random among ties (reservoir sampling).
func (f *Framework) selectHost(totals []int64) int {
	f.randMu.Lock()
	defer f.randMu.Unlock()
	best, ties := 0, 1
	for i := 1; i < len(totals); i++ {
		switch {
		case totals[i] > totals[best]:
			best, ties = i, 1
		case totals[i] == totals[best]:
			ties++
			if f.deps.rand.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

// warm reads a word from each cache line of a NodeInfo that the cycle's
// filters and scores read (its fields up to Pods, see NodeInfo), for the
// nodes at (start+i)%len(nodes), i in [lo, hi), before a chunk of them is
// filtered or scored. At 5,000 nodes a cycle's NodeInfos are rarely in the
// processor's caches (each cycle starts where the last one stopped, and
// the API server's work runs in between), and the plugins reach each
// through calls that depend on the one before, so the processor waits
// for one miss at a time; here the loads do not depend on each other and
// are in flight together. It returns what it read, summed, only so that
// the compiler keeps the loads.
//
//go:noinline
func warm(nodes []*framework.NodeInfo, start, lo, hi int) (sum int64) {
	n := len(nodes)
	for i := lo; i < hi; i++ {
		ni := nodes[(start+i)%n]
		if ni.Node != nil {
			sum++
		}
		sum += ni.Allocatable.MilliCPU + ni.Requested.AllowedPodNumber + int64(len(ni.Pods))
	}
	return sum
}

// parallelize calls fn(lo, hi) on consecutive chunks [lo, hi) of [0, n),
// handed out in order to up to workers goroutines (the caller's among
// them), until the chunks are used up, fn returns false, or ctx ends.
// Chunks are size items (chunkSize: a few dozen), so that the workers meet
// on the shared counter once per chunk rather than once per item and
// write to different parts of the caller's per-item slices. With one
// worker (or one chunk) it runs on the caller's goroutine alone.
func parallelize(ctx context.Context, workers, n, size int, fn func(lo, hi int) bool) {
	size = max(size, 1)
	chunks := (n + size - 1) / size
	workers = min(workers, chunks)
	if workers <= 1 {
		for lo := 0; lo < n; lo += size {
			if ctx.Err() != nil || !fn(lo, min(lo+size, n)) {
				return
			}
		}
		return
	}
	var next atomic.Int64
	var stop atomic.Bool
	work := func() {
		for !stop.Load() && ctx.Err() == nil {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			lo := c * size
			if !fn(lo, min(lo+size, n)) {
				stop.Store(true)
				return
			}
		}
	}
	// A helper that has not started by the time the chunks are used up
	// is not waited for: on a busy machine a new goroutine can wait
	// milliseconds for a thread, and the cycle with it. Helpers join
	// (joined.Add) under mu until the caller closes the phase, so that no
	// Add races with the caller's Wait; one that comes later returns at
	// once. It could not call fn anyway (the caller's work returns only
	// once the chunks are used up, a chunk said stop, or ctx ended, and
	// the late helper sees the same), so these goroutines, the one
	// exception to waiting for what one starts, touch nothing of the
	// cycle's and end as soon as they run.
	var (
		mu     sync.Mutex
		closed bool
		joined sync.WaitGroup
	)
	for range workers - 1 {
		startHelper(func() {
			mu.Lock()
			if closed {
				mu.Unlock()
				lateHelpers.Add(1)
				return
			}
			joined.Add(1)
			mu.Unlock()
			defer joined.Done()
			work()
		})
	}
	work()
	mu.Lock()
	closed = true
	mu.Unlock()
	joined.Wait()
}

// startHelper starts a parallelize helper; tests replace it to start
// helpers late.
var startHelper = func(f func()) { go f() }

// lateHelpers counts the helpers that found their phase closed, for
// tests.
var lateHelpers atomic.Int64

// maxChunk bounds parallelize's chunks.
const maxChunk = 32

// flushPasses is how many feasible nodes a Filter worker finds before it
// adds them to the count the others see.
const flushPasses = 8

// chunkSize is the size of parallelize's chunks for n items of work and
// workers: about eight chunks a worker, between 1 and maxChunk items.
func chunkSize(workers, n int) int {
	return max(1, min(maxChunk, n/(8*max(workers, 1))))
}

// NewSnapshot returns the snapshot of nodes with pods on them (placed by
// spec.nodeName), for running Framework.Schedule in tests and tools.
func NewSnapshot(nodes []*api.Node, pods []*api.Pod) framework.Snapshot {
	return cache.NewSnapshotFrom(nodes, pods)
}
