// Package cache is the scheduler's view of the cluster: the nodes and the
// pods bound to them, as the informers report them, plus the pods the
// scheduler has placed but whose binding it has not yet seen (assumed
// pods). At the start of each cycle the scheduler copies it into a
// Snapshot, which the cycle's plugins read without locks.
//
// An assumed pod's life:
//
//	AssumePod      the cycle chose a node: the pod counts there at once
//	FinishBinding  the binding was sent: its TTL starts
//	AddPod         the informer saw the binding: the pod is confirmed
//	ForgetPod      the binding failed: the assumption is undone
//	Cleanup        the TTL passed and the binding was never seen: dropped
//
// Pods may arrive before their node, and a node may be removed while pods
// are still on it: the cache then keeps a NodeInfo without a Node (a
// placeholder) until the node comes or the pods go. A Snapshot never
// shows placeholders.
package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// DefaultAssumeTTL is how long after FinishBinding an assumed pod whose
// binding was never observed stays in the cache.
const DefaultAssumeTTL = 30 * time.Second

// Errors of the pod methods, to be tested with errors.Is. Each is returned
// wrapped with the method and the pod.
var (
	// ErrPodNotFound: the pod is not in the cache (UpdatePod, RemovePod,
	// ForgetPod).
	ErrPodNotFound = errors.New("cache: pod not in the cache")
	// ErrPodExists: the pod is already in the cache (AssumePod of any
	// known pod, AddPod of a confirmed one).
	ErrPodExists = errors.New("cache: pod already in the cache")
	// ErrPodAssumed: UpdatePod of a pod whose binding has not been seen.
	ErrPodAssumed = errors.New("cache: pod is assumed, not added")
	// ErrPodNotAssumed: ForgetPod of a pod whose binding was seen.
	ErrPodNotAssumed = errors.New("cache: pod is not assumed")
	// ErrNoNodeName: AddPod or AssumePod of a pod without spec.nodeName.
	ErrNoNodeName = errors.New("cache: pod has no spec.nodeName")
	// ErrWrongNode: the pod names another node than the cache has it on
	// (UpdatePod moving a pod, ForgetPod with another node).
	ErrWrongNode = errors.New("cache: pod is on another node")
)

// Config configures a Cache. The zero value works.
type Config struct {
	// AssumeTTL is how long an assumed pod stays after FinishBinding if
	// its binding is never observed. Zero or negative: DefaultAssumeTTL.
	AssumeTTL time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Logger logs dropped assumed pods and inconsistent events (discarded
	// if nil).
	Logger *slog.Logger
}

// Cache holds the nodes and pods the scheduler knows about. Its methods are
// safe for concurrent use: the informers' handlers call the node and pod
// methods, the scheduling cycle AssumePod and UpdateSnapshot, the binding
// goroutines FinishBinding and ForgetPod, and a timer Cleanup.
type Cache struct {
	ttl time.Duration
	now func() time.Time
	log *slog.Logger

	mu sync.Mutex
	// nodes holds every NodeInfo, placeholders included; the same items
	// form a list from head, most recently changed first, which lets
	// UpdateSnapshot visit only what changed since its last call.
	nodes map[string]*nodeItem
	head  *nodeItem
	// generation is the last NodeInfo.Generation given out: the cache
	// renumbers a NodeInfo from this counter on every change, so that
	// generations only grow, even across a node removed and added again.
	generation int64
	// nodeCount counts the NodeInfos with a Node.
	nodeCount int
	pods      map[podKey]*podState
	// assumed holds the entries of pods that are assumed.
	assumed map[podKey]*podState
}

// nodeItem is a NodeInfo in the cache's list by change.
type nodeItem struct {
	name       string
	info       *framework.NodeInfo
	prev, next *nodeItem
}

// podKey identifies a pod: by uid, or by namespace and name for a pod
// without one (as framework.NodeInfo.RemovePod does).
type podKey struct {
	uid             api.UID
	namespace, name string
}

func keyOf(pod *api.Pod) podKey {
	if pod.UID != "" {
		return podKey{uid: pod.UID}
	}
	return podKey{namespace: pod.Namespace, name: pod.Name}
}

type podState struct {
	// pod is the version the cache counts, on pod.Spec.NodeName.
	pod     *api.Pod
	assumed bool
	// deadline is set by FinishBinding (or Binding.Finish, which does not
	// hold the cache's lock): when Cleanup drops the pod if it is still
	// assumed; nil until then.
	deadline atomic.Pointer[time.Time]
}

// New returns an empty cache.
func New(cfg Config) *Cache {
	c := &Cache{
		ttl:     cfg.AssumeTTL,
		now:     cfg.Now,
		log:     cfg.Logger,
		nodes:   make(map[string]*nodeItem),
		pods:    make(map[podKey]*podState),
		assumed: make(map[podKey]*podState),
	}
	if c.ttl <= 0 {
		c.ttl = DefaultAssumeTTL
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// AddNode adds a node, or updates it if it is already known.
func (c *Cache) AddNode(node *api.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setNode(node)
}

// UpdateNode replaces old with node (adding it if it is not known).
func (c *Cache) UpdateNode(old, node *api.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setNode(node)
}

func (c *Cache) setNode(node *api.Node) {
	it := c.nodes[node.Name]
	if it == nil {
		it = c.newItem(node.Name)
	}
	if it.info.Node == nil {
		c.nodeCount++
	}
	it.info.SetNode(node)
	c.touch(it)
}

// RemoveNode removes a node. Its pods stay, on a placeholder, until they
// are removed too; an unknown node is ignored.
func (c *Cache) RemoveNode(node *api.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := c.nodes[node.Name]
	if it == nil || it.info.Node == nil {
		c.log.Debug("remove unknown node", "node", node.Name)
		return
	}
	c.nodeCount--
	if len(it.info.Pods) == 0 {
		c.deleteItem(it)
		return
	}
	it.info.SetNode(nil)
	c.touch(it)
}

// AddPod adds a pod bound to a node (spec.nodeName set), as the informer
// reports it. If the pod is assumed its binding has been observed: it is
// confirmed, on the node it names (which may not be the one it was
// assumed on), and no longer expires.
func (c *Cache) AddPod(pod *api.Pod) error {
	if pod.Spec.NodeName == "" {
		return fmt.Errorf("add pod %s: %w", podRef(pod), ErrNoNodeName)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := keyOf(pod)
	st := c.pods[key]
	switch {
	case st == nil:
		c.addPod(pod)
		c.pods[key] = &podState{pod: pod}
	case st.assumed:
		if st.pod.Spec.NodeName != pod.Spec.NodeName {
			c.log.Warn("pod bound to another node than it was assumed on",
				"pod", podRef(pod), "assumed", st.pod.Spec.NodeName, "bound", pod.Spec.NodeName)
		}
		c.removePod(st.pod)
		c.addPod(pod)
		delete(c.assumed, key)
		c.pods[key] = &podState{pod: pod} // a new one: a Binding may still hold st
	default:
		return fmt.Errorf("add pod %s: %w", podRef(pod), ErrPodExists)
	}
	return nil
}

// UpdatePod replaces an added pod with its new version, which must be on
// the same node. An assumed pod cannot be updated (ErrPodAssumed): its
// binding must be observed through AddPod first.
func (c *Cache) UpdatePod(old, pod *api.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.pods[keyOf(pod)]
	switch {
	case st == nil:
		return fmt.Errorf("update pod %s: %w", podRef(pod), ErrPodNotFound)
	case st.assumed:
		return fmt.Errorf("update pod %s: %w", podRef(pod), ErrPodAssumed)
	case st.pod.Spec.NodeName != pod.Spec.NodeName:
		return fmt.Errorf("update pod %s: spec.nodeName is %q, was %q: %w",
			podRef(pod), pod.Spec.NodeName, st.pod.Spec.NodeName, ErrWrongNode)
	}
	c.removePod(st.pod)
	c.addPod(pod)
	st.pod = pod
	return nil
}

// RemovePod removes a pod, added or assumed, from the node the cache has
// it on.
func (c *Cache) RemovePod(pod *api.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := keyOf(pod)
	st := c.pods[key]
	if st == nil {
		return fmt.Errorf("remove pod %s: %w", podRef(pod), ErrPodNotFound)
	}
	if pod.Spec.NodeName != "" && pod.Spec.NodeName != st.pod.Spec.NodeName {
		c.log.Warn("removed pod names another node than the cache had it on",
			"pod", podRef(pod), "cached", st.pod.Spec.NodeName, "removed", pod.Spec.NodeName)
	}
	c.removePod(st.pod)
	delete(c.pods, key)
	delete(c.assumed, key)
	return nil
}

// AssumePod counts pod, a copy with spec.nodeName set to the chosen node,
// on that node until its binding is observed (AddPod), fails (ForgetPod)
// or expires (FinishBinding, then Cleanup after the TTL).
func (c *Cache) AssumePod(pod *api.Pod) error {
	_, err := c.AssumeForBinding(pod)
	return err
}

// AssumeForBinding is AssumePod, and returns the handle that finishes the
// pod's binding (Binding.Finish) without the cache's lock.
func (c *Cache) AssumeForBinding(pod *api.Pod) (Binding, error) {
	if pod.Spec.NodeName == "" {
		return Binding{}, fmt.Errorf("assume pod %s: %w", podRef(pod), ErrNoNodeName)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := keyOf(pod)
	if c.pods[key] != nil {
		return Binding{}, fmt.Errorf("assume pod %s: %w", podRef(pod), ErrPodExists)
	}
	c.addPod(pod)
	st := &podState{pod: pod, assumed: true}
	c.pods[key] = st
	c.assumed[key] = st
	return Binding{c: c, st: st}, nil
}

// A Binding is an assumed pod's handle for its binding goroutine.
type Binding struct {
	c  *Cache
	st *podState
}

// Finish is FinishBinding for the pod, without taking the cache's lock.
// A scheduler has a binding goroutine for every pod in flight, hundreds
// under load, each finishing once: on the lock they queued up behind the
// scheduling loop and, once the lock was handed from goroutine to
// goroutine, made the loop wait for each of them to be run. If the pod
// is no longer assumed (its binding was observed, it was forgotten or
// removed) Finish does nothing that anyone reads, as FinishBinding.
func (b Binding) Finish() {
	if b.st == nil {
		return
	}
	deadline := b.c.now().Add(b.c.ttl)
	b.st.deadline.Store(&deadline)
}

// FinishBinding records that the binding of an assumed pod was sent: if it
// is not observed within the TTL, Cleanup drops the pod. It does nothing
// for a pod that is not assumed (its binding was already observed, or it
// was removed), so it never fails.
func (c *Cache) FinishBinding(pod *api.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.pods[keyOf(pod)]
	if st == nil || !st.assumed {
		return nil
	}
	Binding{c: c, st: st}.Finish()
	return nil
}

// ForgetPod undoes AssumePod after a failed binding. The pod must still be
// assumed (ErrPodNotAssumed once AddPod confirmed it, ErrPodNotFound if it
// is gone), on the node it names (ErrWrongNode).
func (c *Cache) ForgetPod(pod *api.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := keyOf(pod)
	st := c.pods[key]
	switch {
	case st == nil:
		return fmt.Errorf("forget pod %s: %w", podRef(pod), ErrPodNotFound)
	case !st.assumed:
		return fmt.Errorf("forget pod %s: %w", podRef(pod), ErrPodNotAssumed)
	case st.pod.Spec.NodeName != pod.Spec.NodeName:
		return fmt.Errorf("forget pod %s: assumed on node %q, not %q: %w",
			podRef(pod), st.pod.Spec.NodeName, pod.Spec.NodeName, ErrWrongNode)
	}
	c.removePod(st.pod)
	delete(c.pods, key)
	delete(c.assumed, key)
	return nil
}

// IsAssumed reports whether pod is assumed: placed by the scheduler, its
// binding not yet observed.
func (c *Cache) IsAssumed(pod *api.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.pods[keyOf(pod)]
	return st != nil && st.assumed
}

// Cleanup drops the assumed pods whose TTL, started by FinishBinding, has
// passed, and returns how many it dropped: the room they held is free, so
// the caller tells the pods waiting for room. The scheduler calls it
// periodically.
func (c *Cache) Cleanup() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	dropped := 0
	for key, st := range c.assumed {
		if d := st.deadline.Load(); d == nil || !now.After(*d) {
			continue
		}
		c.log.Warn("assumed pod expired: its binding was never observed",
			"pod", podRef(st.pod), "node", st.pod.Spec.NodeName)
		c.removePod(st.pod)
		delete(c.pods, key)
		delete(c.assumed, key)
		dropped++
	}
	return dropped
}

// ForgetDeleted drops the assumed copy of pod (same uid; namespace and
// name without one), on whatever node it was assumed, when the pod was
// deleted before its binding was observed: the room it held is free at
// once, not after the TTL. It reports whether it dropped one; a pod that
// is not assumed (unknown, or its binding seen) is left alone.
func (c *Cache) ForgetDeleted(pod *api.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := keyOf(pod)
	st := c.assumed[key]
	if st == nil {
		return false
	}
	c.removePod(st.pod)
	delete(c.pods, key)
	delete(c.assumed, key)
	return true
}

// NodeCount returns the number of nodes (placeholders, which have pods but
// no Node, are not counted): the number a Snapshot lists.
func (c *Cache) NodeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodeCount
}

// PodCount returns the number of pods, assumed ones included.
func (c *Cache) PodCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pods)
}

// addPod counts pod on its node, making a placeholder if the node is not
// known.
func (c *Cache) addPod(pod *api.Pod) {
	it := c.nodes[pod.Spec.NodeName]
	if it == nil {
		it = c.newItem(pod.Spec.NodeName)
	}
	it.info.AddPod(framework.NewPodInfo(pod))
	c.touch(it)
}

// removePod uncounts pod, as the cache has it, from its node, dropping a
// placeholder left empty.
func (c *Cache) removePod(pod *api.Pod) {
	it := c.nodes[pod.Spec.NodeName]
	if it == nil || !it.info.RemovePod(pod) {
		// The pod states and the NodeInfos are kept together under mu.
		c.log.Error("cache corrupted: pod not found on its node", "pod", podRef(pod), "node", pod.Spec.NodeName)
		return
	}
	if it.info.Node == nil && len(it.info.Pods) == 0 {
		c.deleteItem(it)
		return
	}
	c.touch(it)
}

func (c *Cache) newItem(name string) *nodeItem {
	it := &nodeItem{name: name, info: framework.NewNodeInfo(nil)}
	c.nodes[name] = it
	c.pushFront(it)
	return it
}

// touch gives it the next generation and moves it to the front: called
// after every change of its NodeInfo.
func (c *Cache) touch(it *nodeItem) {
	c.generation++
	it.info.Generation = c.generation
	if c.head == it {
		return
	}
	c.unlink(it)
	c.pushFront(it)
}

func (c *Cache) deleteItem(it *nodeItem) {
	c.unlink(it)
	delete(c.nodes, it.name)
}

func (c *Cache) pushFront(it *nodeItem) {
	it.prev = nil
	it.next = c.head
	if c.head != nil {
		c.head.prev = it
	}
	c.head = it
}

func (c *Cache) unlink(it *nodeItem) {
	if it.prev != nil {
		it.prev.next = it.next
	} else if c.head == it {
		c.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	}
	it.prev, it.next = nil, nil
}

// podRef names a pod in errors and logs.
func podRef(pod *api.Pod) string {
	if pod.UID != "" {
		return fmt.Sprintf("%s/%s (uid %s)", pod.Namespace, pod.Name, pod.UID)
	}
	return pod.Namespace + "/" + pod.Name
}
