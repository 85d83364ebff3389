package cache

import (
	"fmt"
	"slices"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// Snapshot is the nodes a scheduling cycle sees: clones of the cache's
// NodeInfos, which nothing changes, so the cycle's plugins read them from
// any number of goroutines without locks.
//
// The scheduler keeps one Snapshot and refreshes it with
// Cache.UpdateSnapshot at the start of each cycle, on the cycle's
// goroutine; only the NodeInfos that changed are cloned again. The slices
// List and the HavePods methods return belong to the Snapshot: callers must
// not modify them, and they hold until the next UpdateSnapshot (a
// NodeInfo itself never changes).
type Snapshot struct {
	// cache is the cache last copied from, and generation the cache's
	// generation then: UpdateSnapshot copies the NodeInfos renumbered
	// since.
	cache      *Cache
	generation int64
	// version counts the updates (see Version).
	version uint64

	nodes map[string]*framework.NodeInfo
	// list, affinity and antiAffinity are sorted by node name.
	list         []*framework.NodeInfo
	affinity     []*framework.NodeInfo
	antiAffinity []*framework.NodeInfo
	// images counts, for each image name, the nodes that have it.
	images map[string]int

	changes []change // UpdateSnapshot's scratch space
}

var _ framework.VersionedSnapshot = (*Snapshot)(nil)

// Version changes whenever the snapshot may have changed: at every
// UpdateSnapshot.
func (s *Snapshot) Version() uint64 { return s.version }

// change is one node's NodeInfo in a Snapshot before (nil: absent) and
// after (nil: removed) an update.
type change struct {
	name     string
	old, new *framework.NodeInfo
}

// NewSnapshot returns an empty snapshot, for Cache.UpdateSnapshot to fill.
func NewSnapshot() *Snapshot {
	return &Snapshot{nodes: make(map[string]*framework.NodeInfo), images: make(map[string]int)}
}

// NewSnapshotFrom returns the snapshot of nodes with pods on them, for
// plugin tests and benchmarks. Pods are placed by spec.nodeName; those on
// no node of nodes are left out.
func NewSnapshotFrom(nodes []*api.Node, pods []*api.Pod) *Snapshot {
	s := NewSnapshot()
	for _, n := range nodes {
		if ni := s.nodes[n.Name]; ni != nil {
			ni.SetNode(n)
			continue
		}
		s.nodes[n.Name] = framework.NewNodeInfo(n)
	}
	for _, p := range pods {
		if ni := s.nodes[p.Spec.NodeName]; ni != nil {
			ni.AddPod(framework.NewPodInfo(p))
		}
	}
	s.rebuildLists()
	return s
}

// List returns every node, sorted by name.
func (s *Snapshot) List() []*framework.NodeInfo { return s.list }

// Get returns the node called name, or nil.
func (s *Snapshot) Get(name string) *framework.NodeInfo { return s.nodes[name] }

// NumNodesWithImage returns how many nodes have the image name (as
// NodeInfo.ImageSizes names it).
func (s *Snapshot) NumNodesWithImage(name string) int { return s.images[name] }

// HavePodsWithAffinity returns the nodes with pods that have pod affinity
// or anti-affinity terms, sorted by name.
func (s *Snapshot) HavePodsWithAffinity() []*framework.NodeInfo { return s.affinity }

// HavePodsWithRequiredAntiAffinity returns the nodes with pods that have
// required pod anti-affinity terms, sorted by name.
func (s *Snapshot) HavePodsWithRequiredAntiAffinity() []*framework.NodeInfo {
	return s.antiAffinity
}

// UpdateSnapshot makes s show the cache's nodes now. It clones only the
// NodeInfos that changed since s was last updated from c (all of them if
// s is new or was last updated from something else); the NodeInfos that
// did not change stay the same pointers.
//
// Call it while nothing reads s. An error means s did not match the cache
// (a bug); s was rebuilt from scratch and is right anyway.
func (c *Cache) UpdateSnapshot(s *Snapshot) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.version++
	if s.cache != c {
		s.reset()
		s.cache = c
	}
	changes := s.changes[:0]
	// The list is in order of change, newest first: stop at the first
	// NodeInfo s has already seen.
	for it := c.head; it != nil && it.info.Generation > s.generation; it = it.next {
		old := s.nodes[it.name]
		if it.info.Node == nil {
			// A placeholder: its node was removed, or never added.
			if old != nil {
				delete(s.nodes, it.name)
				changes = append(changes, change{name: it.name, old: old})
			}
			continue
		}
		ni := it.info.Clone()
		s.nodes[it.name] = ni
		changes = append(changes, change{name: it.name, old: old, new: ni})
	}
	s.generation = c.generation
	// Nodes removed with no pods left are gone from the cache's list:
	// s then has more nodes than the cache.
	if len(s.nodes) > c.nodeCount {
		for name, old := range s.nodes {
			if it := c.nodes[name]; it == nil || it.info.Node == nil {
				delete(s.nodes, name)
				changes = append(changes, change{name: name, old: old})
			}
		}
	}
	s.apply(changes)
	clear(changes)
	s.changes = changes[:0]

	if len(s.nodes) != c.nodeCount || len(s.list) != c.nodeCount {
		err := fmt.Errorf("cache: snapshot had %d nodes (%d listed), the cache %d: rebuilt it",
			len(s.nodes), len(s.list), c.nodeCount)
		s.reset()
		for it := c.head; it != nil; it = it.next {
			if it.info.Node != nil {
				s.nodes[it.name] = it.info.Clone()
			}
		}
		s.generation = c.generation
		s.rebuildLists()
		return err
	}
	return nil
}

// rebuildThreshold is the number of nodes added or removed above which
// apply sorts the lists again rather than inserting or deleting each.
const rebuildThreshold = 64

// apply brings the sorted lists in line with s.nodes after changes.
func (s *Snapshot) apply(changes []change) {
	structural := 0
	for _, ch := range changes {
		if ch.old == nil || ch.new == nil {
			structural++
		}
	}
	if structural > rebuildThreshold {
		s.rebuildLists()
		return
	}
	for _, ch := range changes {
		if ch.old != nil {
			s.countImages(ch.old, -1)
		}
		if ch.new != nil {
			s.countImages(ch.new, 1)
		}
		if ch.new == nil {
			s.list = removeSorted(s.list, ch.name)
			s.affinity = removeSorted(s.affinity, ch.name)
			s.antiAffinity = removeSorted(s.antiAffinity, ch.name)
			continue
		}
		s.list = upsertSorted(s.list, ch.name, ch.new)
		s.affinity = setMember(s.affinity, ch.name, ch.new, len(ch.new.PodsWithAffinity) > 0)
		s.antiAffinity = setMember(s.antiAffinity, ch.name, ch.new, len(ch.new.PodsWithRequiredAntiAffinity) > 0)
	}
}

// countImages adds d to the count of each of ni's images.
func (s *Snapshot) countImages(ni *framework.NodeInfo, d int) {
	for name := range ni.ImageSizes {
		if n := s.images[name] + d; n > 0 {
			s.images[name] = n
		} else {
			delete(s.images, name)
		}
	}
}

// rebuildLists makes the sorted lists and the image counts from s.nodes.
func (s *Snapshot) rebuildLists() {
	if s.images == nil {
		s.images = make(map[string]int)
	}
	clear(s.images)
	for _, ni := range s.nodes {
		s.countImages(ni, 1)
	}
	clear(s.list)
	s.list = s.list[:0]
	for _, ni := range s.nodes {
		s.list = append(s.list, ni)
	}
	slices.SortFunc(s.list, func(a, b *framework.NodeInfo) int { return strings.Compare(a.Node.Name, b.Node.Name) })
	clear(s.affinity)
	clear(s.antiAffinity)
	s.affinity, s.antiAffinity = s.affinity[:0], s.antiAffinity[:0]
	for _, ni := range s.list {
		if len(ni.PodsWithAffinity) > 0 {
			s.affinity = append(s.affinity, ni)
		}
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			s.antiAffinity = append(s.antiAffinity, ni)
		}
	}
}

// reset empties s, keeping its slices' memory.
func (s *Snapshot) reset() {
	s.cache = nil
	s.generation = 0
	if s.nodes == nil {
		s.nodes = make(map[string]*framework.NodeInfo)
	}
	clear(s.nodes)
	if s.images == nil {
		s.images = make(map[string]int)
	}
	clear(s.images)
	clear(s.list)
	clear(s.affinity)
	clear(s.antiAffinity)
	s.list, s.affinity, s.antiAffinity = s.list[:0], s.affinity[:0], s.antiAffinity[:0]
}

func search(list []*framework.NodeInfo, name string) (int, bool) {
	return slices.BinarySearchFunc(list, name, func(ni *framework.NodeInfo, name string) int {
		return strings.Compare(ni.Node.Name, name)
	})
}

// upsertSorted puts ni, the NodeInfo of name, in list sorted by name.
func upsertSorted(list []*framework.NodeInfo, name string, ni *framework.NodeInfo) []*framework.NodeInfo {
	i, found := search(list, name)
	if found {
		list[i] = ni
		return list
	}
	return slices.Insert(list, i, ni)
}

// removeSorted removes the NodeInfo of name, if there, from list sorted
// by name.
func removeSorted(list []*framework.NodeInfo, name string) []*framework.NodeInfo {
	if i, found := search(list, name); found {
		return slices.Delete(list, i, i+1)
	}
	return list
}

// setMember puts ni in list, sorted by name, if member, and removes name
// from it otherwise.
func setMember(list []*framework.NodeInfo, name string, ni *framework.NodeInfo, member bool) []*framework.NodeInfo {
	if member {
		return upsertSorted(list, name, ni)
	}
	return removeSorted(list, name)
}
