package framework

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
)

// Duration is a time.Duration, named here so Permit's signature reads well.
type Duration = time.Duration

// StateKey names a value in a CycleState; use the plugin's name, or
// "<plugin>/<what>".
type StateKey string

// StateData is a value stored in a CycleState. Clone is used when a cycle
// state is copied for preemption's what-if runs; immutable data may
// return itself.
type StateData interface {
	Clone() StateData
}

// CycleState holds what plugins compute during one pod's cycle (in
// PreFilter, read in Filter). It is safe for concurrent use.
//
// Reads vastly outnumber writes (every Filter and Score call on every node
// reads; PreFilter and PreScore write a handful of keys), so the entries
// are copied on write and read through an atomic pointer: a read takes no
// lock and touches no shared cache line. They are a short list, scanned:
// a cycle holds about ten keys, and comparing a key with the same
// constant it was written with is a length and a pointer compare, several
// times cheaper than hashing it for a map.
type CycleState struct {
	mu   sync.Mutex // serializes writers
	data atomic.Pointer[[]stateEntry]
}

// stateEntry is one key of a CycleState and its value.
type stateEntry struct {
	key StateKey
	v   StateData
}

// NewCycleState returns an empty CycleState.
func NewCycleState() *CycleState { return &CycleState{} }

// Read returns the value of key, or false.
func (c *CycleState) Read(key StateKey) (StateData, bool) {
	p := c.data.Load()
	if p == nil {
		return nil, false
	}
	for _, e := range *p {
		if e.key == key {
			return e.v, true
		}
	}
	return nil, false
}

// Write sets the value of key.
func (c *CycleState) Write(key StateKey, v StateData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old []stateEntry
	if p := c.data.Load(); p != nil {
		old = *p
	}
	next := make([]stateEntry, len(old), len(old)+1)
	copy(next, old)
	for i := range next {
		if next[i].key == key {
			next[i].v = v
			c.data.Store(&next)
			return
		}
	}
	next = append(next, stateEntry{key, v})
	c.data.Store(&next)
}

// Clone returns a copy, each value cloned.
func (c *CycleState) Clone() *CycleState {
	out := &CycleState{}
	p := c.data.Load()
	if p == nil {
		return out
	}
	next := make([]stateEntry, len(*p))
	for i, e := range *p {
		next[i] = stateEntry{e.key, e.v.Clone()}
	}
	out.data.Store(&next)
	return out
}

// Resource is an amount of each resource: CPU in millicores, memory and
// ephemeral storage in bytes, pods as a count, and extended resources
// (such as "example.com/gpu") in their units.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int64
	Scalar           map[api.ResourceName]int64
}

// NewResource returns the Resource of a ResourceList.
func NewResource(rl api.ResourceList) Resource {
	var r Resource
	r.Add(rl)
	return r
}

// Add adds a ResourceList.
func (r *Resource) Add(rl api.ResourceList) {
	for name, q := range rl {
		r.addQuantity(name, q, 1)
	}
}

func (r *Resource) addQuantity(name api.ResourceName, q resource.Quantity, sign int64) {
	switch name {
	case api.ResourceCPU:
		r.MilliCPU += sign * q.MilliValue()
	case api.ResourceMemory:
		r.Memory += sign * q.Value()
	case "ephemeral-storage":
		r.EphemeralStorage += sign * q.Value()
	case "pods":
		r.AllowedPodNumber += sign * q.Value()
	default:
		if r.Scalar == nil {
			r.Scalar = make(map[api.ResourceName]int64)
		}
		r.Scalar[name] += sign * q.Value()
	}
}

// AddResource adds o to r.
func (r *Resource) AddResource(o Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = make(map[api.ResourceName]int64)
		}
		r.Scalar[k] += v
	}
}

// SubResource subtracts o from r.
func (r *Resource) SubResource(o Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = make(map[api.ResourceName]int64)
		}
		r.Scalar[k] -= v
	}
}

// Clone returns a deep copy.
func (r Resource) Clone() Resource {
	out := r
	if r.Scalar != nil {
		out.Scalar = make(map[api.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			out.Scalar[k] = v
		}
	}
	return out
}

// PodRequests returns what a pod asks for, as the scheduler counts it:
// the sum of its containers' requests, or the largest init container's if
// greater, per resource, plus its overhead. Containers with no CPU or
// memory request count as DefaultMilliCPURequest / DefaultMemoryRequest
// for scoring only (see NonZeroRequests), not here.
func PodRequests(pod *api.Pod) Resource {
	var sum Resource
	for i := range pod.Spec.Containers {
		sum.Add(pod.Spec.Containers[i].Resources.Requests)
	}
	for i := range pod.Spec.InitContainers {
		init := NewResource(pod.Spec.InitContainers[i].Resources.Requests)
		sum.MilliCPU = max(sum.MilliCPU, init.MilliCPU)
		sum.Memory = max(sum.Memory, init.Memory)
		sum.EphemeralStorage = max(sum.EphemeralStorage, init.EphemeralStorage)
		for k, v := range init.Scalar {
			if sum.Scalar == nil {
				sum.Scalar = make(map[api.ResourceName]int64)
			}
			sum.Scalar[k] = max(sum.Scalar[k], v)
		}
	}
	sum.Add(pod.Spec.Overhead)
	return sum
}

// The requests assumed, for scoring, of a container that sets none (as
// Kubernetes does), so that pods with no requests still spread.
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// NonZeroRequests returns the CPU and memory a pod counts for in scoring:
// PodRequests, with DefaultMilliCPURequest / DefaultMemoryRequest for
// each container that sets no CPU / memory request.
func NonZeroRequests(pod *api.Pod) (milliCPU, memory int64) {
	for i := range pod.Spec.Containers {
		req := pod.Spec.Containers[i].Resources.Requests
		if q, ok := req[api.ResourceCPU]; ok && !q.IsZero() {
			milliCPU += q.MilliValue()
		} else {
			milliCPU += DefaultMilliCPURequest
		}
		if q, ok := req[api.ResourceMemory]; ok && !q.IsZero() {
			memory += q.Value()
		} else {
			memory += DefaultMemoryRequest
		}
	}
	return milliCPU, memory
}

// HostPort is a host port a pod uses.
type HostPort struct {
	IP       string // "" or "0.0.0.0" for every address
	Protocol api.Protocol
	Port     int32
}

// PodInfo is a pod with what the scheduler derives from it once.
type PodInfo struct {
	Pod *api.Pod
	// Requests are PodRequests(Pod).
	Requests Resource
	// NonZeroMilliCPU and NonZeroMemory are NonZeroRequests(Pod).
	NonZeroMilliCPU, NonZeroMemory int64
	// HostPorts are the host ports of its containers.
	HostPorts []HostPort
}

// NewPodInfo returns the PodInfo of pod.
func NewPodInfo(pod *api.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Requests: PodRequests(pod)}
	pi.NonZeroMilliCPU, pi.NonZeroMemory = NonZeroRequests(pod)
	for i := range pod.Spec.Containers {
		for _, p := range pod.Spec.Containers[i].Ports {
			if p.HostPort > 0 {
				proto := p.Protocol
				if proto == "" {
					proto = api.ProtocolTCP
				}
				pi.HostPorts = append(pi.HostPorts, HostPort{IP: p.HostIP, Protocol: proto, Port: p.HostPort})
			}
		}
	}
	return pi
}

// QueuedPodInfo is a pod in the scheduling queue.
type QueuedPodInfo struct {
	*PodInfo
	// Timestamp is when the pod entered the queue (or last came back).
	Timestamp time.Time
	// InitialAttemptTimestamp is when it was first tried.
	InitialAttemptTimestamp time.Time
	// Attempts counts the cycles it went through.
	Attempts int
	// UnschedulablePlugins are the plugins that rejected it last time:
	// the cluster events that may make it fit are theirs.
	UnschedulablePlugins map[string]struct{}
}

// NodeInfo is one node as a scheduling cycle sees it: the Node, and the
// pods on it (bound or assumed), with their sums. A cycle's NodeInfos do
// not change while it runs.
type NodeInfo struct {
	// The fields are in the order a cycle reads them, the ones every
	// Filter and Score reads on every node first, so that they share as
	// few cache lines as they can: at 5,000 nodes most of a cycle's time
	// is the first touch of each node's NodeInfo.

	// Node is the node; never modify it.
	Node *api.Node

	// name, unschedulable and taints are nameFrom's, kept by SetNode: a
	// cycle reads them on every node it filters, and reading them here,
	// next to the fields the other plugins read, saves a cache miss on
	// the Node each time (several percent of a cycle at 5,000 nodes).
	// They are used only while Node is still nameFrom.
	name          string
	nameFrom      *api.Node
	unschedulable bool
	taints        []api.Taint

	// Allocatable is the node's status.allocatable (capacity if unset).
	Allocatable Resource
	// Requested is the sum of its pods' requests; NonZeroRequested the
	// sum of their NonZeroRequests (for scoring).
	Requested        Resource
	NonZeroRequested Resource
	// Pods are the pods on the node.
	Pods []*PodInfo
	// ImageSizes are the sizes of the images present, by name (every
	// name of each image); nil when there are none.
	ImageSizes map[string]int64
	// UsedPorts are the host ports in use.
	UsedPorts map[HostPort]struct{}
	// PodsWithAffinity are the pods with pod affinity or anti-affinity
	// terms, and PodsWithRequiredAntiAffinity those with required
	// anti-affinity: what InterPodAffinity looks at.
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	// Generation changes whenever the NodeInfo changes.
	Generation int64
}

// Name returns the node's name ("" without a node).
func (n *NodeInfo) Name() string {
	if n == nil || n.Node == nil {
		return ""
	}
	if n.Node == n.nameFrom {
		return n.name
	}
	return n.Node.Name
}

// Unschedulable returns the node's spec.unschedulable (false without a
// node).
func (n *NodeInfo) Unschedulable() bool {
	if n == nil || n.Node == nil {
		return false
	}
	if n.Node == n.nameFrom {
		return n.unschedulable
	}
	return n.Node.Spec.Unschedulable
}

// Taints returns the node's spec.taints (nil without a node); never
// modify them.
func (n *NodeInfo) Taints() []api.Taint {
	if n == nil || n.Node == nil {
		return nil
	}
	if n.Node == n.nameFrom {
		return n.taints
	}
	return n.Node.Spec.Taints
}

// Handle is what a plugin gets from the scheduler when it is made.
type Handle interface {
	// Snapshot returns the node snapshot of the current cycle. It is
	// valid only during the scheduling cycle, on the goroutine that runs
	// it: from PreFilter to Reserve and the first call of Permit. The
	// scheduler keeps one snapshot and rewrites it at the start of the
	// next cycle, so PreBind, Bind and PostBind plugins, and anything
	// that runs while a pod waits in Permit, must not read it (nor keep
	// the NodeInfos or slices it returned): copy what they need during
	// the cycle, into CycleState for instance.
	Snapshot() Snapshot
	// Client writes through the API server (nil in pure tests).
	Client() Client
	// WaitingPod returns a pod waiting in Permit, or nil.
	WaitingPod(uid api.UID) WaitingPod
	// RunFilterPlugins runs the profile's Filter plugins for pod on node
	// with state: what preemption calls for its what-if checks.
	RunFilterPlugins(ctx context.Context, state *CycleState, pod *api.Pod, node *NodeInfo) *Status
	// RunPreFilterExtensionAddPod / RemovePod let plugins that keep
	// per-cycle data (InterPodAffinity, PodTopologySpread) update it when
	// preemption removes or adds a pod in a what-if run.
	RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, pod *api.Pod, add *PodInfo, node *NodeInfo) *Status
	RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, pod *api.Pod, remove *PodInfo, node *NodeInfo) *Status
}

// PreFilterExtensions is implemented by PreFilter plugins whose
// CycleState data must follow a pod added to or removed from a node
// during preemption's what-if runs.
type PreFilterExtensions interface {
	AddPod(ctx context.Context, state *CycleState, pod *api.Pod, add *PodInfo, node *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, pod *api.Pod, remove *PodInfo, node *NodeInfo) *Status
}

// PreFilterWithExtensions is a PreFilter plugin with PreFilterExtensions
// (an optional interface, checked with a type assertion).
type PreFilterWithExtensions interface {
	PreFilterPlugin
	PreFilterExtensions() PreFilterExtensions
}

// Snapshot is the nodes of a cycle.
type Snapshot interface {
	// List returns every node, in a stable order.
	List() []*NodeInfo
	// Get returns a node by name, or nil.
	Get(name string) *NodeInfo
	// HavePodsWithAffinity / HavePodsWithRequiredAntiAffinity return the
	// nodes with such pods.
	HavePodsWithAffinity() []*NodeInfo
	HavePodsWithRequiredAntiAffinity() []*NodeInfo
}

// VersionedSnapshot is a Snapshot that tells when it changed, so that
// plugins that keep an index between cycles (InterPodAffinity,
// PodTopologySpread) need not check every node again when the snapshot
// is the one they last followed (PreScore, after PreFilter in the same
// cycle). Plugins check for it with a type assertion; the scheduler's
// snapshots implement it. Implementations must be comparable with ==
// (pointers).
type VersionedSnapshot interface {
	Snapshot
	// Version changes whenever List or any of its NodeInfos changes.
	// Only versions of the same Snapshot value compare.
	Version() uint64
}

// ImageCounter is a Snapshot that also keeps count of the nodes that have
// each image, so that ImageLocality need not look at every node in every
// cycle. Plugins check for it with a type assertion; the scheduler's
// snapshots implement it. It is read like the rest of the Snapshot.
type ImageCounter interface {
	// NumNodesWithImage returns how many of List's nodes have the image
	// name in their ImageSizes.
	NumNodesWithImage(name string) int
}

// Client is the part of the API a plugin may write through.
type Client interface {
	// Bind binds pod to node (pods/binding).
	Bind(ctx context.Context, namespace, name string, uid api.UID, node string) error
	// Delete deletes a pod (preemption's victims), gracefully.
	DeletePod(ctx context.Context, pod *api.Pod) error
	// SetNominatedNode records status.nominatedNodeName.
	SetNominatedNode(ctx context.Context, pod *api.Pod, node string) error
}

// WaitingPod is a pod held by a Permit plugin.
type WaitingPod interface {
	Pod() *api.Pod
	// Allow approves the pod for plugin; it goes on when every waiting
	// plugin has.
	Allow(plugin string)
	// Reject rejects it.
	Reject(plugin, msg string)
}
