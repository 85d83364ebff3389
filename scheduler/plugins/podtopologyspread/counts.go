package podtopologyspread

import (
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/scheduler/framework"
)

// Counting a constraint's domains from scratch is O(nodes) map operations
// (5,000 nodes: a millisecond), in PreFilter and again in PreScore. So the
// index also keeps, between cycles, the counts of the constraints recent
// pods had (pods of one workload share their constraints). It logs the
// NodeInfos that sync replaces, and a kept count catches up with the log
// when next used: a cycle pays only for the counts it uses, each for the
// nodes changed since its last use. Only pods without a nodeSelector or
// required node affinity use them (their eligible nodes depend on the
// constraints alone); the others count from scratch.

// maxKeptCounts bounds the counts kept: past it, the least recently used
// goes.
const maxKeptCounts = 256

// maxChangeLog bounds the log of node changes: a kept count that has not
// been used for longer is counted again.
const maxChangeLog = 4096

// nodeChange is a node's NodeInfo before (nil: new node) and after (nil:
// node gone) a sync. NodeInfos are never modified.
type nodeChange struct {
	old, new *framework.NodeInfo
}

// logChange records a node's NodeInfo replaced by sync, for the kept
// counts to catch up with. With none kept, nothing needs it.
func (x *podIndex) logChange(old, new *framework.NodeInfo) {
	if len(x.counts) == 0 {
		x.logStart += uint64(len(x.changes))
		x.changes = x.changes[:0]
		return
	}
	if len(x.changes) == maxChangeLog {
		// Drop the older half; counts that needed it are counted again.
		half := maxChangeLog / 2
		n := copy(x.changes, x.changes[half:])
		clear(x.changes[n:])
		x.changes = x.changes[:n]
		x.logStart += uint64(half)
	}
	x.changes = append(x.changes, nodeChange{old, new})
}

// countKey identifies a kept count: the pods of namespace that selector
// selects, per value of topologyKey, on the nodes that have every key of
// keys (the topology keys of all the pod's constraints of that kind,
// sorted, joined by a NUL).
type countKey struct {
	namespace, selector, topologyKey, keys string
}

// keptCount is one constraint's count of every domain of the eligible
// nodes, kept up to date by the index.
type keptCount struct {
	namespace string
	sel       labels.Selector
	key       string
	keys      []string
	// count is the matching pods per domain; every domain of an eligible
	// node is there, with 0 if it has none. nodes is the eligible nodes
	// per domain: a domain goes when its last node does.
	count map[string]int64
	nodes map[string]int
	// hist is how many domains have each count; min the lowest count
	// (math.MaxInt64 with no domain), worked out again from hist when
	// stale.
	hist  map[int64]int
	min   int64
	stale bool
	// seen is the sequence number up to which the index's changes are
	// applied; used is the index's sweep when it was last used, for
	// eviction.
	seen, used uint64
}

// keyOf returns the key of constraint i of cs for a pod in namespace.
func keyOf(cs []constraint, i int, namespace string) countKey {
	keys := make([]string, len(cs))
	for j := range cs {
		keys[j] = cs[j].key
	}
	slices.Sort(keys)
	return countKey{namespace: namespace, selector: cs[i].sel.String(), topologyKey: cs[i].key, keys: strings.Join(keys, "\x00")}
}

// eligible reports whether node has every topology key of the count.
func (k *keptCount) eligible(node *api.Node) bool {
	if node == nil {
		return false
	}
	for _, key := range k.keys {
		if _, ok := node.Labels[key]; !ok {
			return false
		}
	}
	return true
}

// apply adds (sign 1) or removes (sign -1) ni's node and its matching
// pods.
func (k *keptCount) apply(ni *framework.NodeInfo, sign int) {
	if ni == nil || !k.eligible(ni.Node) {
		return
	}
	d := ni.Node.Labels[k.key]
	var pods int64
	for _, pi := range ni.Pods {
		if counts(pi.Pod, k.sel, k.namespace) {
			pods++
		}
	}
	if sign > 0 {
		if k.nodes[d] == 0 {
			k.count[d] = 0
			k.hist[0]++
			k.stale = true
		}
		k.nodes[d]++
		k.move(d, pods)
		return
	}
	k.move(d, -pods)
	if k.nodes[d]--; k.nodes[d] > 0 {
		return
	}
	delete(k.nodes, d)
	k.unhist(k.count[d])
	delete(k.count, d)
	k.stale = true
}

// move changes domain d's count by delta.
func (k *keptCount) move(d string, delta int64) {
	if delta == 0 {
		return
	}
	c := k.count[d]
	k.unhist(c)
	k.hist[c+delta]++
	k.count[d] = c + delta
	k.stale = true
}

func (k *keptCount) unhist(c int64) {
	if k.hist[c]--; k.hist[c] == 0 {
		delete(k.hist, c)
	}
}

// lowest returns the lowest count (math.MaxInt64 with no domain).
func (k *keptCount) lowest() int64 {
	if k.stale {
		k.min = math.MaxInt64
		for c := range k.hist {
			k.min = min(k.min, c)
		}
		k.stale = false
	}
	return k.min
}

// domainCounts returns a copy of the counts for a cycle's state, which
// must not change when the index follows the next snapshot.
func (k *keptCount) domainCounts() *domainCounts {
	return &domainCounts{count: maps.Clone(k.count), hist: maps.Clone(k.hist), min: k.lowest()}
}

// keptCounts returns the kept counts of each constraint of cs for a pod
// in namespace, counting those not kept yet over nodes (every node of the
// snapshot, which the index has just followed). The caller holds mu.
func (x *podIndex) keptCounts(cs []constraint, namespace string, nodes []*framework.NodeInfo) []*keptCount {
	if x.counts == nil {
		x.counts = make(map[countKey]*keptCount)
	}
	out := make([]*keptCount, len(cs))
	var missing []int
	end := x.logStart + uint64(len(x.changes))
	for i := range cs {
		key := keyOf(cs, i, namespace)
		k := x.counts[key]
		if k != nil && k.seen < x.logStart {
			delete(x.counts, key) // too far behind
			k = nil
		}
		if k != nil {
			for _, c := range x.changes[k.seen-x.logStart:] {
				k.apply(c.old, -1)
				k.apply(c.new, 1)
			}
		} else {
			k = &keptCount{
				namespace: namespace, sel: cs[i].sel, key: cs[i].key, keys: strings.Split(key.keys, "\x00"),
				count: make(map[string]int64), nodes: make(map[string]int), hist: make(map[int64]int),
			}
			x.evictFor(1)
			x.counts[key] = k
			missing = append(missing, i)
		}
		k.seen, k.used = end, x.sweep
		out[i] = k
	}
	if len(missing) == 0 {
		return out
	}
	// Domains first, each with 0, then the pods, through the label
	// index where the selector allows.
	for _, ni := range nodes {
		if !hasKeys(ni.Node, cs) {
			continue
		}
		for _, i := range missing {
			d := ni.Node.Labels[cs[i].key]
			out[i].nodes[d]++
			out[i].count[d] += 0
		}
	}
	x.count(cs, missing, namespace, nodes, func(i int, node *api.Node) {
		if hasKeys(node, cs) {
			out[i].count[node.Labels[cs[i].key]]++
		}
	})
	for _, i := range missing {
		k := out[i]
		for _, c := range k.count {
			k.hist[c]++
		}
		k.stale = true
	}
	return out
}

// evictFor makes room for n more kept counts, dropping the least
// recently used.
func (x *podIndex) evictFor(n int) {
	for len(x.counts)+n > maxKeptCounts {
		var oldest countKey
		first := true
		for key, k := range x.counts {
			if first || k.used < x.counts[oldest].used {
				oldest, first = key, false
			}
		}
		delete(x.counts, oldest)
	}
}

// count calls add(i, node) for every pod on nodes that constraint i (for
// i in which) counts for a pod in namespace: through the label index for
// a selector that requires a label, otherwise looking at every pod. It
// does not check the nodes' eligibility. The caller holds mu, and the
// index follows nodes.
func (x *podIndex) count(cs []constraint, which []int, namespace string, nodes []*framework.NodeInfo, add func(i int, node *api.Node)) {
	var scan []int
	for _, i := range which {
		if !cs[i].exactOK {
			scan = append(scan, i)
			continue
		}
		for k, node := range x.byLabel[cs[i].exact] {
			if counts(k.pod, cs[i].sel, namespace) {
				add(i, node)
			}
		}
	}
	if len(scan) == 0 {
		return
	}
	for _, n := range nodes {
		for _, pi := range n.Pods {
			for _, i := range scan {
				if counts(pi.Pod, cs[i].sel, namespace) {
					add(i, n.Node)
				}
			}
		}
	}
}
