package interpodaffinity

import (
	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// An incoming pod's required anti-affinity terms select, in a typical
// workload, the pods of its own app: thousands of pods to match and count
// per topology value in every cycle, the same each time but for the nodes
// that changed. So the index also keeps, between cycles, the counts of
// the terms recent pods had (by term.sig: pods of one workload share
// them). It logs the node entries that sync adds and removes, and a kept
// count catches up with the log when next used: a cycle pays only for
// the counts it uses, each for the nodes changed since its last use.
// Terms with a non-empty namespaceSelector are not kept: which
// namespaces they select can change with no node changing.

// maxMatchGroups bounds the kept counts: past it, the least recently used
// goes.
const maxMatchGroups = 256

// maxChangeLog bounds the log of node changes: a kept count that has not
// been used for longer is counted again.
const maxChangeLog = 4096

// change is a node entry that sync added (d 1) or removed (d -1). Entries
// are never modified once made.
type change struct {
	e *indexedNode
	d int64
}

// matchGroup counts the pods a term selects per value of its key.
type matchGroup struct {
	term   *term
	counts map[string]int64 // topology value -> pods selected
	seen   uint64           // the changes applied: up to this sequence number
	used   uint64           // the index's sweep when last used
}

// keepable reports whether t's counts may be kept between cycles.
func keepable(t *term) bool { return !t.none && t.nsSel == nil }

// apply counts (d 1) or uncounts (d -1) the pods of e.
func (g *matchGroup) apply(e *indexedNode, d int64) {
	if e.node == nil {
		return
	}
	v, ok := e.node.Labels[g.term.key]
	if !ok {
		return
	}
	for _, ip := range e.pods {
		if g.term.matches(ip.pod, nil) {
			if g.counts[v] += d; g.counts[v] == 0 {
				delete(g.counts, v)
			}
		}
	}
}

// logChange records a node entry added (d 1) or removed (d -1) by sync,
// for the kept counts to catch up with. With none kept, nothing needs it.
func (x *index) logChange(e *indexedNode, d int64) {
	if len(x.matched) == 0 {
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
	x.changes = append(x.changes, change{e, d})
}

// matchedCounts returns the kept counts of t (keepable), brought up to
// date, counting them over nodes (every node, which the index has just
// followed) if they are not kept or too far behind.
func (x *index) matchedCounts(t *term, nodes []*framework.NodeInfo) map[string]int64 {
	if x.matched == nil {
		x.matched = make(map[string]*matchGroup)
	}
	end := x.logStart + uint64(len(x.changes))
	g := x.matched[t.sig]
	if g != nil && g.seen < x.logStart {
		delete(x.matched, t.sig) // too far behind
		g = nil
	}
	if g != nil {
		for _, c := range x.changes[g.seen-x.logStart:] {
			g.apply(c.e, c.d)
		}
	} else {
		g = &matchGroup{term: t, counts: make(map[string]int64)}
		count := func(pod *api.Pod, node *api.Node) {
			if node == nil {
				return
			}
			if v, ok := node.Labels[t.key]; ok && t.matches(pod, nil) {
				g.counts[v]++
			}
		}
		if !x.candidates(t, count) {
			for _, n := range nodes {
				for _, pi := range n.Pods {
					count(pi.Pod, n.Node)
				}
			}
		}
		for len(x.matched) >= maxMatchGroups {
			var oldest *matchGroup
			for _, o := range x.matched {
				if oldest == nil || o.used < oldest.used {
					oldest = o
				}
			}
			delete(x.matched, oldest.term.sig)
		}
		x.matched[t.sig] = g
	}
	g.seen, g.used = end, x.sweep
	return g.counts
}
