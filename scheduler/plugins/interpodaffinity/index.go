package interpodaffinity

import (
	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// index is what PreFilter keeps between cycles so that a cycle does not
// visit every pod:
//
//   - the existing pods' required anti-affinity terms, grouped by meaning
//     (term.sig), each group with its pods counted per topology value; a
//     cycle matches the pod against each group once;
//   - the pods by label, so that a term with a key=value requirement
//     looks only at the pods with that label;
//   - the pods with terms that score (required affinity, preferred
//     affinity and anti-affinity), for PreScore.
//
// It follows the snapshot node by node: a node whose NodeInfo (pointer or
// Generation) changed since the last cycle is taken out and put back. A
// snapshot that keeps the NodeInfos of unchanged nodes (as the scheduler
// cache's does) costs O(nodes) pointer comparisons plus the changed
// nodes' pods; one that makes every NodeInfo anew costs a rebuild.
//
// Not safe for concurrent use; the plugin holds its lock.
type index struct {
	nodes map[string]*indexedNode
	anti  map[string]*antiGroup
	// antiByLabel holds the groups whose term has an exact label (only
	// pods with that label can match), antiOther the others.
	antiByLabel map[labelPair]map[*antiGroup]struct{}
	antiOther   map[*antiGroup]struct{}
	byLabel     map[labelPair]map[podOnNode]*api.Node
	scorers     map[podOnNode]scorer
	sweep       uint64
	// order is the entries in the order of the last sync's nodes, so
	// that an unchanged snapshot is checked without hashing names.
	order []*indexedNode
	// matched are the kept counts of recent pods' required anti-affinity
	// terms, and changes the log of node entries added and removed since
	// the oldest of them was brought up to date; logStart is the sequence
	// number of changes[0] (see matched.go).
	matched  map[string]*matchGroup
	changes  []change
	logStart uint64
	// snap and version are the snapshot the index last followed, if it
	// is a VersionedSnapshot, and its version then (see follow).
	snap    framework.VersionedSnapshot
	version uint64
}

type indexedNode struct {
	ni    *framework.NodeInfo
	gen   int64
	node  *api.Node
	pods  []indexedPod
	sweep uint64
}

type indexedPod struct {
	pod   *api.Pod
	terms *podTerms // nil without pod affinity or anti-affinity
}

// scorer is a pod with terms that score, on its node.
type scorer struct {
	node  *api.Node
	terms *podTerms
}

func (pt *podTerms) scores() bool {
	return len(pt.requiredAffinity)+len(pt.preferred)+len(pt.preferredAnti) > 0
}

type podOnNode struct {
	pod  *api.Pod
	node string
}

// antiGroup is the equal required anti-affinity terms of existing pods.
type antiGroup struct {
	term   *term            // one of them
	counts map[string]int64 // topology value -> terms
	total  int64
}

// sync brings the index up to date with nodes (every node of the
// snapshot).
func (x *index) sync(nodes []*framework.NodeInfo) {
	x.snap = nil
	if x.nodes == nil {
		x.nodes = make(map[string]*indexedNode)
		x.anti = make(map[string]*antiGroup)
		x.antiByLabel = make(map[labelPair]map[*antiGroup]struct{})
		x.antiOther = make(map[*antiGroup]struct{})
		x.scorers = make(map[podOnNode]scorer)
		x.byLabel = make(map[labelPair]map[podOnNode]*api.Node)
	}
	x.sweep++
	if len(x.order) != len(nodes) {
		x.order = make([]*indexedNode, len(nodes))
	}
	for i, ni := range nodes {
		if e := x.order[i]; e != nil && e.ni == ni && e.gen == ni.Generation {
			e.sweep = x.sweep
			continue
		}
		name := ni.Name()
		e := x.nodes[name]
		if e != nil && e.ni == ni && e.gen == ni.Generation {
			e.sweep = x.sweep
			x.order[i] = e
			continue
		}
		if e != nil {
			x.remove(name, e)
		}
		e = x.add(ni, e)
		e.sweep = x.sweep
		x.nodes[name] = e
		x.order[i] = e
	}
	if len(x.nodes) != len(nodes) {
		for name, e := range x.nodes {
			if e.sweep != x.sweep {
				x.remove(name, e)
				delete(x.nodes, name)
			}
		}
	}
}

// add indexes ni; old is the node's previous entry (or nil), whose
// compiled terms are reused for the pods still there.
func (x *index) add(ni *framework.NodeInfo, old *indexedNode) *indexedNode {
	e := &indexedNode{ni: ni, gen: ni.Generation, node: ni.Node, pods: make([]indexedPod, 0, len(ni.Pods))}
	name := ni.Name()
	for _, pi := range ni.Pods {
		ip := indexedPod{pod: pi.Pod}
		if a := pi.Pod.Spec.Affinity; a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil) {
			ip.terms = old.termsOf(pi.Pod)
			if ip.terms == nil {
				ip.terms = compilePodTerms(pi.Pod)
			}
			for i := range ip.terms.requiredAnti {
				x.countAnti(&ip.terms.requiredAnti[i], e.node, 1)
			}
			if ip.terms.scores() {
				x.scorers[podOnNode{pi.Pod, name}] = scorer{e.node, ip.terms}
			}
		}
		for k, v := range pi.Pod.Labels {
			lp := labelPair{k, v}
			m := x.byLabel[lp]
			if m == nil {
				m = make(map[podOnNode]*api.Node)
				x.byLabel[lp] = m
			}
			m[podOnNode{pi.Pod, name}] = e.node
		}
		e.pods = append(e.pods, ip)
	}
	x.logChange(e, 1)
	return e
}

func (x *index) remove(name string, e *indexedNode) {
	x.logChange(e, -1)
	for _, ip := range e.pods {
		if ip.terms != nil {
			for i := range ip.terms.requiredAnti {
				x.countAnti(&ip.terms.requiredAnti[i], e.node, -1)
			}
			delete(x.scorers, podOnNode{ip.pod, name})
		}
		for k, v := range ip.pod.Labels {
			lp := labelPair{k, v}
			if m := x.byLabel[lp]; m != nil {
				delete(m, podOnNode{ip.pod, name})
				if len(m) == 0 {
					delete(x.byLabel, lp)
				}
			}
		}
	}
}

func (x *index) countAnti(t *term, node *api.Node, d int64) {
	if node == nil || t.none {
		return
	}
	v, ok := node.Labels[t.key]
	if !ok {
		return
	}
	g := x.anti[t.sig]
	if g == nil {
		g = &antiGroup{term: t, counts: make(map[string]int64)}
		x.anti[t.sig] = g
		if t.exactOK {
			m := x.antiByLabel[t.exact]
			if m == nil {
				m = make(map[*antiGroup]struct{})
				x.antiByLabel[t.exact] = m
			}
			m[g] = struct{}{}
		} else {
			x.antiOther[g] = struct{}{}
		}
	}
	g.counts[v] += d
	if g.counts[v] <= 0 {
		delete(g.counts, v)
	}
	g.total += d
	if g.total <= 0 {
		delete(x.anti, t.sig)
		if t.exactOK {
			delete(x.antiByLabel[t.exact], g)
			if len(x.antiByLabel[t.exact]) == 0 {
				delete(x.antiByLabel, t.exact)
			}
		} else {
			delete(x.antiOther, g)
		}
	}
}

// candidates calls f with each pod (and its node) that t may select: the
// pods with t's exact label. ok is false if t has no exact label (the
// caller must look at every pod).
func (x *index) candidates(t *term, f func(pod *api.Pod, node *api.Node)) (ok bool) {
	if t.none {
		return true
	}
	if !t.exactOK {
		return false
	}
	for k, node := range x.byLabel[t.exact] {
		f(k.pod, node)
	}
	return true
}

// antiGroups calls f with each group whose term may select pod: those
// whose exact label pod has, and those without one.
func (x *index) antiGroups(pod *api.Pod, f func(g *antiGroup)) {
	for k, v := range pod.Labels {
		for g := range x.antiByLabel[labelPair{k, v}] {
			f(g)
		}
	}
	for g := range x.antiOther {
		f(g)
	}
}

// termsOf returns the compiled terms of pod if e has them.
func (e *indexedNode) termsOf(pod *api.Pod) *podTerms {
	if e == nil {
		return nil
	}
	for _, ip := range e.pods {
		if ip.pod == pod {
			return ip.terms
		}
	}
	return nil
}

// follow is sync, skipped when nodes are the List of h's snapshot at the
// version the index last followed (PreScore after PreFilter, in one
// cycle): checking every node again would find nothing changed.
func (x *index) follow(h framework.Handle, nodes []*framework.NodeInfo) {
	vs := versioned(h, nodes)
	if vs != nil && vs == x.snap && vs.Version() == x.version {
		return
	}
	x.sync(nodes)
	if vs != nil {
		x.snap, x.version = vs, vs.Version()
	}
}

// versioned returns h's snapshot if it is a VersionedSnapshot whose List
// is nodes (the same slice), or nil.
func versioned(h framework.Handle, nodes []*framework.NodeInfo) framework.VersionedSnapshot {
	if h == nil {
		return nil
	}
	vs, ok := h.Snapshot().(framework.VersionedSnapshot)
	if !ok {
		return nil
	}
	list := vs.List()
	if len(list) != len(nodes) || (len(list) > 0 && &list[0] != &nodes[0]) {
		return nil
	}
	return vs
}
