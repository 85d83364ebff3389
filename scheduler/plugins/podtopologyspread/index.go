package podtopologyspread

import (
	"sync"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/scheduler/framework"
)

// labelPair is one label, key and value.
type labelPair struct{ key, value string }

// exactLabel returns a label every set sel matches has (from a key=value
// or "key in (value)" requirement).
func exactLabel(sel labels.Selector) (labelPair, bool) {
	for _, r := range sel.Requirements() {
		if v, ok := sel.RequiresExactMatch(r.Key()); ok {
			return labelPair{r.Key(), v}, true
		}
	}
	return labelPair{}, false
}

// podIndex holds the pods of the snapshot by label, so that a constraint
// whose selector requires a label looks only at the pods with it. It
// follows the snapshot node by node between cycles: a node whose
// NodeInfo (pointer or Generation) changed is taken out and put back, so
// a snapshot that keeps unchanged NodeInfos (as the scheduler cache's
// does) costs O(nodes) pointer comparisons plus the changed nodes' pods.
type podIndex struct {
	mu      sync.Mutex
	nodes   map[string]*indexedNode
	order   []*indexedNode // by position in the last sync's nodes
	byLabel map[labelPair]map[podOnNode]*api.Node
	sweep   uint64
	// counts are the constraints' counts kept between cycles, and
	// changes the log of the NodeInfos sync replaced since the oldest of
	// them was brought up to date; logStart is the sequence number of
	// changes[0] (see counts.go).
	counts   map[countKey]*keptCount
	changes  []nodeChange
	logStart uint64
	// snap and version are the snapshot the index last followed, if it
	// is a VersionedSnapshot, and its version then (see follow).
	snap    framework.VersionedSnapshot
	version uint64
}

type indexedNode struct {
	ni    *framework.NodeInfo
	gen   int64
	sweep uint64
}

type podOnNode struct {
	pod  *api.Pod
	node string
}

// sync brings the index up to date with nodes (every node of the
// snapshot). The caller holds mu.
func (x *podIndex) sync(nodes []*framework.NodeInfo) {
	x.snap = nil
	if x.nodes == nil {
		x.nodes = make(map[string]*indexedNode)
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
		if e == nil || e.ni != ni || e.gen != ni.Generation {
			var old *framework.NodeInfo
			if e != nil {
				old = e.ni
				x.update(e.ni, name, false)
			}
			x.update(ni, name, true)
			x.logChange(old, ni)
			e = &indexedNode{ni: ni, gen: ni.Generation}
			x.nodes[name] = e
		}
		e.sweep = x.sweep
		x.order[i] = e
	}
	if len(x.nodes) != len(nodes) {
		for name, e := range x.nodes {
			if e.sweep != x.sweep {
				x.update(e.ni, name, false)
				x.logChange(e.ni, nil)
				delete(x.nodes, name)
			}
		}
	}
}

// update adds or removes the pods of ni.
func (x *podIndex) update(ni *framework.NodeInfo, name string, add bool) {
	for _, pi := range ni.Pods {
		for k, v := range pi.Pod.Labels {
			lp := labelPair{k, v}
			m := x.byLabel[lp]
			if add {
				if m == nil {
					m = make(map[podOnNode]*api.Node)
					x.byLabel[lp] = m
				}
				m[podOnNode{pi.Pod, name}] = ni.Node
				continue
			}
			delete(m, podOnNode{pi.Pod, name})
			if len(m) == 0 {
				delete(x.byLabel, lp)
			}
		}
	}
}

// follow is sync, skipped when nodes are the List of h's snapshot at the
// version the index last followed (PreScore after PreFilter, in one
// cycle): checking every node again would find nothing changed.
func (x *podIndex) follow(h framework.Handle, nodes []*framework.NodeInfo) {
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
