package controllertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/workqueue"
)

// Defaults of NodesConfig.
const (
	DefaultNodePrefix       = "node-"
	DefaultLeaseDuration    = 40 * time.Second
	DefaultRenewInterval    = 10 * time.Second
	DefaultNodeAgentWorkers = 8
)

// writeParallelism is how many nodes are registered, or heartbeat, at
// once.
const writeParallelism = 16

// NodeLeaseNamespace holds the nodes' heartbeat Leases, one per node, named
// like the node.
const NodeLeaseNamespace = "kube-node-lease"

// LabelZone is the node label StartNodes sets from NodesConfig.Zones.
const LabelZone = "topology.kubernetes.io/zone"

// DefaultNodeCapacity returns the capacity (and allocatable) of a
// simulated node when NodesConfig.Capacity is nil: 8 CPUs, 32 GiB of
// memory and 110 pods.
func DefaultNodeCapacity() api.ResourceList {
	return api.ResourceList{
		"cpu":    resource.MustParse("8"),
		"memory": resource.MustParse("32Gi"),
		"pods":   resource.MustParse("110"),
	}
}

// NodesConfig configures a simulated node fleet (StartNodes). The zero
// value, but for Count, is the default configuration.
type NodesConfig struct {
	// Count is the number of nodes, at least 1.
	Count int
	// Prefix starts the nodes' names: Prefix+"0", Prefix+"1", ... ""
	// means DefaultNodePrefix ("node-").
	Prefix string
	// Capacity is each node's status.capacity and status.allocatable. nil
	// means DefaultNodeCapacity().
	Capacity api.ResourceList
	// Labels are set on every node, besides kubernetes.io/hostname,
	// kubernetes.io/os and kubernetes.io/arch.
	Labels map[string]string
	// Zones, if not empty, spread the nodes over zones: node i gets the
	// label topology.kubernetes.io/zone=Zones[i%len(Zones)].
	Zones []string
	// Taints are set on every node's spec.
	Taints []api.Taint
	// Clock times the Lease renewals and stamps heartbeats and pod
	// statuses. nil means the system clock. On a fakeclock.Clock the
	// renewals run within the Advance that makes them due: when Advance
	// returns, the Leases have been renewed.
	Clock Clock
	// LeaseDuration is the leaseDurationSeconds of the Leases. 0 means
	// DefaultLeaseDuration (40 s).
	LeaseDuration time.Duration
	// RenewInterval is how often the Leases are renewed. 0 means
	// DefaultRenewInterval (10 s).
	RenewInterval time.Duration
	// Workers is how many pod statuses are written at once. 0 means
	// DefaultNodeAgentWorkers (8).
	Workers int
	// Logger receives the fleet's log lines. nil means discard.
	Logger *slog.Logger
}

// Validate reports the first field of c that is wrong.
func (c NodesConfig) Validate() error {
	switch {
	case c.Count < 1:
		return fmt.Errorf("controllertest: NodesConfig.Count is %d: at least one node is needed", c.Count)
	case c.LeaseDuration < 0:
		return fmt.Errorf("controllertest: NodesConfig.LeaseDuration is %v: must be positive, or 0 for the default (%v)", c.LeaseDuration, DefaultLeaseDuration)
	case c.RenewInterval < 0:
		return fmt.Errorf("controllertest: NodesConfig.RenewInterval is %v: must be positive, or 0 for the default (%v)", c.RenewInterval, DefaultRenewInterval)
	case c.Workers < 0:
		return fmt.Errorf("controllertest: NodesConfig.Workers is %d: must be positive, or 0 for the default (%d)", c.Workers, DefaultNodeAgentWorkers)
	case c.Count > maxNodes:
		return fmt.Errorf("controllertest: NodesConfig.Count is %d: at most %d nodes can be simulated", c.Count, maxNodes)
	}
	for i, z := range c.Zones {
		if z == "" {
			return fmt.Errorf("controllertest: NodesConfig.Zones[%d] is empty: a zone needs a name", i)
		}
	}
	return nil
}

func (c NodesConfig) withDefaults() NodesConfig {
	if c.Prefix == "" {
		c.Prefix = DefaultNodePrefix
	}
	if c.Capacity == nil {
		c.Capacity = DefaultNodeCapacity()
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.RenewInterval == 0 {
		c.RenewInterval = DefaultRenewInterval
	}
	if c.Workers == 0 {
		c.Workers = DefaultNodeAgentWorkers
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// maxNodes is the most nodes a fleet holds: node i has the pod range
// 10.(64+i/256).(i%256).0/24 unless its spec.podCIDR says otherwise.
const maxNodes = 192 * 256

// Nodes is a fleet of simulated nodes, each a Node object whose agent
// heartbeats and runs the pods bound to it, with no containers: what the
// scheduler and the controllers need to see of nodes, cheap enough for a
// thousand of them in a test or a benchmark.
//
// Each node is Ready, with the configured capacity and allocatable, an
// InternalIP (172.16.x.y) and a Lease in kube-node-lease renewed every
// RenewInterval on the Clock. Its agent, one for the fleet, watches the
// pods bound to any of its nodes (one watch, not one per node) and
//
//   - reports each pod Running and Ready at once: phase, hostIP, a podIP
//     from the node's range (spec.podCIDR if set, by the node IPAM
//     controller say, else 10.(64+i/256).(i%256).0/24 for node i),
//     startTime, the conditions PodScheduled, Initialized,
//     ContainersReady and Ready, and a running, ready status for each
//     container;
//   - confirms graceful deletions: a pod with a deletionTimestamp is
//     deleted with a grace period of 0, as a node agent does once its
//     containers have stopped;
//   - puts back what others change: a pod marked not ready (by the node
//     lifecycle controller, say) of a node that runs is made ready again,
//     and a node set Unknown is reported Ready again at its next
//     heartbeat.
//
// Stop silences a node: no heartbeats, and its pods are left as they
// are; Resume brings it back. Fail and Succeed end a pod with phase
// Failed or Succeeded, and SetReady flips its readiness. Its methods are safe for concurrent use.
type Nodes struct {
	c      *client.Client
	cfg    NodesConfig
	log    *slog.Logger
	names  []string
	byName map[string]*simNode
	queue  *workqueue.Queue[podKey]
	pods   informer.Lister[*api.Pod]
	nodes  informer.Lister[*api.Node]

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // workers, informers and heartbeats in flight
	once   sync.Once

	mu        sync.Mutex
	closed    bool
	stopTimer func() bool
	podState  map[api.UID]podState // what SetReady and Fail decided
}

// podKey names a pod in the agent's work queue.
type podKey struct{ namespace, name string }

// podState is what the test decided about a pod, which the agent keeps.
type podState struct {
	notReady  bool
	failed    bool
	succeeded bool
}

// simNode is one simulated node.
type simNode struct {
	name   string
	index  int
	hostIP string

	mu      sync.Mutex
	stopped bool
	lease   *api.Lease         // as last written
	ips     map[api.UID]string // pod IPs handed out
	used    map[string]bool    // the same, by IP
	prefix  netip.Prefix       // the range they come from
}

// StartNodes creates cfg.Count Nodes (with their Leases, and the namespace
// kube-node-lease if missing) through c, and runs their agent and
// heartbeats until Close. It returns once the nodes exist and the agent
// watches their pods; ctx bounds the start only.
func StartNodes(ctx context.Context, c *client.Client, cfg NodesConfig) (*Nodes, error) {
	if c == nil {
		return nil, errors.New("controllertest: StartNodes: the client is nil")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := &Nodes{
		c: c, cfg: cfg, log: cfg.Logger,
		byName:   make(map[string]*simNode, cfg.Count),
		podState: make(map[api.UID]podState),
	}
	for i := range cfg.Count {
		name := cfg.Prefix + strconv.Itoa(i)
		n.names = append(n.names, name)
		n.byName[name] = &simNode{
			name: name, index: i,
			hostIP: fmt.Sprintf("172.%d.%d.%d", 16+(i+1)/65536, (i+1)/256%256, (i+1)%256),
			ips:    make(map[api.UID]string), used: make(map[string]bool),
			prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i/256), byte(i % 256), 0}), 24),
		}
	}
	ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: NodeLeaseNamespace}}
	if err := c.Create(ctx, ns); err != nil && !api.IsAlreadyExists(err) {
		return nil, fmt.Errorf("controllertest: StartNodes: create namespace %s: %w", NodeLeaseNamespace, err)
	}
	if err := n.forEach(ctx, n.names, func(ctx context.Context, sn *simNode) error { return n.register(ctx, sn) }); err != nil {
		return nil, err
	}

	var err error
	n.queue, err = workqueue.New(workqueue.Config[podKey]{})
	if err != nil {
		return nil, fmt.Errorf("controllertest: StartNodes: %w", err)
	}
	factory, err := informer.NewFactory(informer.FactoryConfig{
		Scheme: c.Scheme(),
		Source: func(kind api.Kind) (informer.ListerWatcher, error) {
			sel := informer.Selection{}
			if kind.Resource == "pods" {
				sel.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "")
			}
			return informer.ForClient(c, kind, sel)
		},
		Logger: cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("controllertest: StartNodes: %w", err)
	}
	podInf, pods, err := informer.For[*api.Pod](factory)
	if err != nil {
		return nil, fmt.Errorf("controllertest: StartNodes: %w", err)
	}
	_, nodes, err := informer.For[*api.Node](factory)
	if err != nil {
		return nil, fmt.Errorf("controllertest: StartNodes: %w", err)
	}
	n.pods, n.nodes = pods, nodes
	if _, err := podInf.AddHandler(informer.HandlerFuncs{
		AddFunc:    func(obj api.Object, _ bool) { n.enqueue(obj) },
		UpdateFunc: func(_, obj api.Object) { n.enqueue(obj) },
		DeleteFunc: n.forget,
	}); err != nil {
		return nil, fmt.Errorf("controllertest: StartNodes: %w", err)
	}

	n.ctx, n.cancel = context.WithCancel(context.Background())
	factory.Start(n.ctx)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		factory.Wait()
	}()
	if !factory.WaitForCacheSync(ctx) {
		_ = n.Close()
		return nil, fmt.Errorf("controllertest: StartNodes: the pod and node informers did not sync: %w", context.Cause(ctx))
	}
	for range cfg.Workers {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.work()
		}()
	}
	n.mu.Lock()
	n.stopTimer = cfg.Clock.AfterFunc(cfg.RenewInterval, n.tick)
	n.mu.Unlock()
	return n, nil
}

// StartNodes starts a simulated node fleet on the Env (see the function
// StartNodes), on the Env's Clock and logger unless cfg says otherwise,
// and stops it when the Env closes.
func (e *Env) StartNodes(ctx context.Context, cfg NodesConfig) (*Nodes, error) {
	if cfg.Clock == nil {
		cfg.Clock = e.Clock
	}
	if cfg.Logger == nil {
		cfg.Logger = e.log
	}
	n, err := StartNodes(ctx, e.Client, cfg)
	if err != nil {
		return nil, err
	}
	e.OnClose(n.Close)
	return n, nil
}

// Names returns the names of the nodes, in order.
func (n *Nodes) Names() []string { return slices.Clone(n.names) }

// Close stops the heartbeats and the agent and waits for their
// goroutines. The Node objects stay. It is safe to call more than once.
func (n *Nodes) Close() error {
	n.once.Do(func() {
		n.mu.Lock()
		n.closed = true
		if n.stopTimer != nil {
			n.stopTimer()
		}
		n.mu.Unlock()
		n.cancel()
		n.queue.ShutDown()
		n.wg.Wait()
	})
	return nil
}

// node returns the node called name, or an error naming the nodes there
// are.
func (n *Nodes) node(name string) (*simNode, error) {
	sn, ok := n.byName[name]
	if !ok {
		return nil, fmt.Errorf("controllertest: no simulated node %q: the nodes are %s0 to %s%d", name, n.cfg.Prefix, n.cfg.Prefix, len(n.names)-1)
	}
	return sn, nil
}

// Stop silences the node name, as if it lost power or its network: it no
// longer renews its Lease or reports its status, and its pods are left as
// they are (not started, not reported, deletions not confirmed) until
// Resume.
func (n *Nodes) Stop(name string) error {
	sn, err := n.node(name)
	if err != nil {
		return err
	}
	sn.mu.Lock()
	sn.stopped = true
	sn.mu.Unlock()
	return nil
}

// Resume brings back a node silenced by Stop: it reports itself Ready,
// renews its Lease at once, and catches up with its pods.
func (n *Nodes) Resume(ctx context.Context, name string) error {
	sn, err := n.node(name)
	if err != nil {
		return err
	}
	sn.mu.Lock()
	sn.stopped = false
	sn.mu.Unlock()
	if err := n.heartbeat(ctx, sn, true); err != nil {
		return err
	}
	pods, err := n.pods.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("controllertest: Resume %s: %w", name, err)
	}
	for _, p := range pods {
		if p.Spec.NodeName == name {
			n.queue.Add(podKey{p.Namespace, p.Name})
		}
	}
	return nil
}

// Stopped reports whether the node name is silenced by Stop.
func (n *Nodes) Stopped(name string) bool {
	sn, err := n.node(name)
	if err != nil {
		return false
	}
	sn.mu.Lock()
	defer sn.mu.Unlock()
	return sn.stopped
}

// Heartbeat renews the Leases of the nodes that are not stopped now, and
// reports Ready again those that someone else marked otherwise, as the
// timer does every RenewInterval. It returns once they are written.
func (n *Nodes) Heartbeat(ctx context.Context) error {
	return n.forEach(ctx, n.names, func(ctx context.Context, sn *simNode) error { return n.heartbeat(ctx, sn, false) })
}

// tick is the renewal timer's function: a Heartbeat, then the next timer.
func (n *Nodes) tick() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	defer n.wg.Done()
	if err := n.Heartbeat(n.ctx); err != nil && n.ctx.Err() == nil {
		n.log.Warn("controllertest: simulated nodes: heartbeat", "err", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.closed {
		n.stopTimer = n.cfg.Clock.AfterFunc(n.cfg.RenewInterval, n.tick)
	}
}

// forEach calls f for the nodes called names, writeParallelism at
// a time, and returns their errors.
func (n *Nodes) forEach(ctx context.Context, names []string, f func(context.Context, *simNode) error) error {
	sem := make(chan struct{}, writeParallelism)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, name := range names {
		sn := n.byName[name]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(ctx, sn); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// register creates the Node of sn, its status and its Lease.
func (n *Nodes) register(ctx context.Context, sn *simNode) error {
	lbls := map[string]string{
		"kubernetes.io/hostname": sn.name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
	}
	for k, v := range n.cfg.Labels {
		lbls[k] = v
	}
	if len(n.cfg.Zones) > 0 {
		lbls[LabelZone] = n.cfg.Zones[sn.index%len(n.cfg.Zones)]
	}
	node := &api.Node{
		ObjectMeta: api.ObjectMeta{Name: sn.name, Labels: lbls},
		Spec:       api.NodeSpec{Taints: slices.Clone(n.cfg.Taints), ProviderID: "simulated://" + sn.name},
	}
	if err := n.c.Create(ctx, node); err != nil {
		return fmt.Errorf("controllertest: create Node %s: %w", sn.name, err)
	}
	// Controllers already running (node IPAM, node lifecycle) may write
	// the new Node first: report its status on the latest version.
	uid := node.UID
	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		n.setNodeStatus(node, sn)
		err := n.c.UpdateStatus(ctx, node)
		if api.IsConflict(err) {
			if gerr := n.c.Get(ctx, "", sn.name, node); gerr != nil {
				return gerr
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("controllertest: report the status of Node %s: %w", sn.name, err)
	}
	return n.renewLease(ctx, sn, uid)
}

// setNodeStatus sets the status node's agent reports: capacity,
// addresses, and Ready with the conditions of a healthy node.
func (n *Nodes) setNodeStatus(node *api.Node, sn *simNode) {
	now := api.NewTime(n.cfg.Clock.Now())
	node.Status.Capacity = cloneResources(n.cfg.Capacity)
	node.Status.Allocatable = cloneResources(n.cfg.Capacity)
	node.Status.Phase = api.NodeRunning
	node.Status.Addresses = []api.NodeAddress{
		{Type: api.NodeInternalIP, Address: sn.hostIP},
		{Type: api.NodeHostName, Address: sn.name},
	}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = 10250
	node.Status.NodeInfo = api.NodeSystemInfo{
		MachineID: sn.name, SystemUUID: sn.name, BootID: sn.name,
		KernelVersion: "simulated", OSImage: "simulated", ContainerRuntimeVersion: "simulated://1",
		KubeletVersion: "drover-simulated", OperatingSystem: "linux", Architecture: "amd64",
	}
	want := []api.NodeCondition{
		{Type: api.NodeReady, Status: api.ConditionTrue, Reason: "KubeletReady", Message: "simulated node agent is posting ready status"},
		{Type: api.NodeMemoryPressure, Status: api.ConditionFalse, Reason: "KubeletHasSufficientMemory"},
		{Type: api.NodeDiskPressure, Status: api.ConditionFalse, Reason: "KubeletHasNoDiskPressure"},
		{Type: api.NodePIDPressure, Status: api.ConditionFalse, Reason: "KubeletHasSufficientPID"},
	}
	for _, w := range want {
		w.LastHeartbeatTime = now
		w.LastTransitionTime = now
		i := slices.IndexFunc(node.Status.Conditions, func(c api.NodeCondition) bool { return c.Type == w.Type })
		if i < 0 {
			node.Status.Conditions = append(node.Status.Conditions, w)
			continue
		}
		if node.Status.Conditions[i].Status == w.Status {
			w.LastTransitionTime = node.Status.Conditions[i].LastTransitionTime
		}
		node.Status.Conditions[i] = w
	}
}

func cloneResources(rl api.ResourceList) api.ResourceList {
	out := make(api.ResourceList, len(rl))
	for k, v := range rl {
		out[k] = v
	}
	return out
}

// heartbeat renews the Lease of sn, unless it is stopped, and reports its
// status again if the Node is not Ready (or always, with status).
func (n *Nodes) heartbeat(ctx context.Context, sn *simNode, status bool) error {
	sn.mu.Lock()
	stopped := sn.stopped
	sn.mu.Unlock()
	if stopped {
		return nil
	}
	node, err := n.nodes.Get("", sn.name)
	switch {
	case api.IsNotFound(err):
		return nil // deleted by the test: nothing to heartbeat for
	case err != nil:
		return fmt.Errorf("controllertest: heartbeat of %s: %w", sn.name, err)
	}
	if status || !nodeReady(node) {
		err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
			var fresh api.Node
			if err := n.c.Get(ctx, "", sn.name, &fresh); err != nil {
				return err
			}
			n.setNodeStatus(&fresh, sn)
			return n.c.UpdateStatus(ctx, &fresh)
		})
		if err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("controllertest: report the status of Node %s: %w", sn.name, err)
		}
	}
	return n.renewLease(ctx, sn, node.UID)
}

// nodeReady reports whether node's Ready condition is True.
func nodeReady(node *api.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == api.NodeReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

// renewLease writes sn's Lease with renewTime now, creating it if needed.
func (n *Nodes) renewLease(ctx context.Context, sn *simNode, nodeUID api.UID) error {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	now := api.NewMicroTime(n.cfg.Clock.Now())
	for attempt := 0; ; attempt++ {
		var err error
		if sn.lease == nil {
			holder := sn.name
			secs := int32(n.cfg.LeaseDuration / time.Second)
			l := &api.Lease{
				ObjectMeta: api.ObjectMeta{Namespace: NodeLeaseNamespace, Name: sn.name},
				Spec:       api.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &now},
			}
			if nodeUID != "" {
				l.OwnerReferences = []api.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: sn.name, UID: nodeUID}}
			}
			if err = n.c.Create(ctx, l); err == nil {
				sn.lease = l
				return nil
			}
			if api.IsAlreadyExists(err) && attempt < 3 {
				var cur api.Lease
				if err := n.c.Get(ctx, NodeLeaseNamespace, sn.name, &cur); err != nil && !api.IsNotFound(err) {
					return fmt.Errorf("controllertest: get Lease %s/%s: %w", NodeLeaseNamespace, sn.name, err)
				} else if err == nil {
					sn.lease = &cur
				}
				continue
			}
			return fmt.Errorf("controllertest: create Lease %s/%s: %w", NodeLeaseNamespace, sn.name, err)
		}
		l := sn.lease.DeepCopy()
		l.Spec.RenewTime = &now
		if err = n.c.Update(ctx, l); err == nil {
			sn.lease = l
			return nil
		}
		if (api.IsConflict(err) || api.IsNotFound(err)) && attempt < 3 {
			var cur api.Lease
			switch err := n.c.Get(ctx, NodeLeaseNamespace, sn.name, &cur); {
			case api.IsNotFound(err):
				sn.lease = nil
			case err != nil:
				return fmt.Errorf("controllertest: get Lease %s/%s: %w", NodeLeaseNamespace, sn.name, err)
			default:
				sn.lease = &cur
			}
			continue
		}
		return fmt.Errorf("controllertest: renew Lease %s/%s: %w", NodeLeaseNamespace, sn.name, err)
	}
}

// enqueue queues a pod bound to one of the fleet's nodes.
func (n *Nodes) enqueue(obj api.Object) {
	p, ok := obj.(*api.Pod)
	if !ok {
		return
	}
	if _, ours := n.byName[p.Spec.NodeName]; ours {
		n.queue.Add(podKey{p.Namespace, p.Name})
	}
}

// forget frees the IP of a deleted pod, and what the test decided about
// it.
func (n *Nodes) forget(obj api.Object) {
	p, ok := obj.(*api.Pod)
	if !ok {
		return
	}
	if sn, ours := n.byName[p.Spec.NodeName]; ours {
		sn.mu.Lock()
		if ip, ok := sn.ips[p.UID]; ok {
			delete(sn.ips, p.UID)
			delete(sn.used, ip)
		}
		sn.mu.Unlock()
	}
	n.mu.Lock()
	delete(n.podState, p.UID)
	n.mu.Unlock()
}

// work is the loop of one agent worker.
func (n *Nodes) work() {
	for {
		key, err := n.queue.Get(n.ctx)
		if err != nil {
			return
		}
		if err := n.syncPod(n.ctx, key); err != nil {
			if n.ctx.Err() == nil {
				n.log.Debug("controllertest: simulated node agent: retry", "pod", key.namespace+"/"+key.name, "err", err)
				n.queue.AddRateLimited(key)
			}
		} else {
			n.queue.Forget(key)
		}
		n.queue.Done(key)
	}
}

// syncPod brings the pod named key to what its node would report.
func (n *Nodes) syncPod(ctx context.Context, key podKey) error {
	p, err := n.pods.Get(key.namespace, key.name)
	if api.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	sn, ok := n.byName[p.Spec.NodeName]
	if !ok {
		return nil
	}
	sn.mu.Lock()
	stopped := sn.stopped
	sn.mu.Unlock()
	if stopped {
		return nil
	}
	if p.DeletionTimestamp != nil {
		zero := int64(0)
		err := n.c.Delete(ctx, p, client.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &client.Preconditions{UID: p.UID}})
		if err != nil && !api.IsNotFound(err) && !api.IsConflict(err) {
			return fmt.Errorf("confirm the deletion of pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		return nil
	}
	if p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed {
		return nil
	}
	n.mu.Lock()
	st := n.podState[p.UID]
	n.mu.Unlock()
	want := p.DeepCopy()
	if st.failed || st.succeeded {
		n.setTerminated(want, st.succeeded)
	} else {
		n.setRunning(want, sn, !st.notReady)
	}
	if statusSame(&p.Status, &want.Status) {
		return nil
	}
	if err := n.c.UpdateStatus(ctx, want); err != nil {
		if api.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("report the status of pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// podIP returns the IP of pod p on sn, handing out the next free one of
// the node's range.
func (n *Nodes) podIP(p *api.Pod, sn *simNode) string {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if ip, ok := sn.ips[p.UID]; ok {
		return ip
	}
	if p.Status.PodIP != "" {
		sn.ips[p.UID], sn.used[p.Status.PodIP] = p.Status.PodIP, true
		return p.Status.PodIP
	}
	prefix := sn.prefix
	if node, err := n.nodes.Get("", sn.name); err == nil && node.Spec.PodCIDR != "" {
		if pr, err := netip.ParsePrefix(node.Spec.PodCIDR); err == nil {
			prefix = pr.Masked()
		}
	}
	// .1 is the node's bridge; the pods start at .2.
	addr := prefix.Addr().Next()
	for addr = addr.Next(); prefix.Contains(addr); addr = addr.Next() {
		if !sn.used[addr.String()] {
			ip := addr.String()
			sn.ips[p.UID], sn.used[ip] = ip, true
			return ip
		}
	}
	return "" // the range is full: the pod runs without an IP
}

// setRunning sets p's status to that of a pod whose containers all run on
// sn, ready or not.
func (n *Nodes) setRunning(p *api.Pod, sn *simNode, ready bool) {
	now := api.NewTime(n.cfg.Clock.Now())
	s := &p.Status
	s.Phase = api.PodRunning
	s.Reason, s.Message = "", ""
	s.HostIP = sn.hostIP
	s.HostIPs = []api.HostIP{{IP: sn.hostIP}}
	if ip := n.podIP(p, sn); ip != "" {
		s.PodIP = ip
		s.PodIPs = []api.PodIP{{IP: ip}}
	}
	if s.StartTime == nil {
		s.StartTime = &now
	}
	readyStatus := api.ConditionFalse
	if ready {
		readyStatus = api.ConditionTrue
	}
	setPodCondition(s, api.PodScheduled, api.ConditionTrue, now)
	setPodCondition(s, api.PodInitialized, api.ConditionTrue, now)
	setPodCondition(s, api.ContainersReady, readyStatus, now)
	setPodCondition(s, api.PodReady, readyStatus, now)
	started := true
	statuses := make([]api.ContainerStatus, 0, len(p.Spec.Containers))
	for _, c := range p.Spec.Containers {
		cs := api.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "simulated://" + c.Image,
			ContainerID: "simulated://" + string(p.UID) + "/" + c.Name,
			Ready:       ready, Started: &started,
			State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: *s.StartTime}},
		}
		if i := slices.IndexFunc(s.ContainerStatuses, func(old api.ContainerStatus) bool { return old.Name == c.Name }); i >= 0 && s.ContainerStatuses[i].State.Running != nil {
			cs.State = s.ContainerStatuses[i].State
		}
		statuses = append(statuses, cs)
	}
	s.ContainerStatuses = statuses
}

// setTerminated sets p's status to that of a pod whose containers have
// all exited: with code 0 (phase Succeeded, reason Completed) if
// succeeded, else with code 1 (phase Failed, reason Error).
func (n *Nodes) setTerminated(p *api.Pod, succeeded bool) {
	now := api.NewTime(n.cfg.Clock.Now())
	s := &p.Status
	phase, reason, code, msg := api.PodFailed, "Error", int32(1), "simulated failure"
	if succeeded {
		phase, reason, code, msg = api.PodSucceeded, "Completed", 0, ""
	}
	s.Phase, s.Reason, s.Message = phase, reason, msg
	setPodCondition(s, api.ContainersReady, api.ConditionFalse, now)
	setPodCondition(s, api.PodReady, api.ConditionFalse, now)
	statuses := make([]api.ContainerStatus, 0, len(p.Spec.Containers))
	for _, c := range p.Spec.Containers {
		started := false
		id := "simulated://" + string(p.UID) + "/" + c.Name
		term := &api.ContainerStateTerminated{ExitCode: code, Reason: reason, FinishedAt: now, ContainerID: id}
		if s.StartTime != nil {
			term.StartedAt = *s.StartTime
		}
		statuses = append(statuses, api.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "simulated://" + c.Image, ContainerID: id,
			Started: &started, State: api.ContainerState{Terminated: term},
		})
	}
	s.ContainerStatuses = statuses
}

// setPodCondition sets the condition t of s to status, moving its
// transition time only when the status changes.
func setPodCondition(s *api.PodStatus, t api.PodConditionType, status api.ConditionStatus, now api.Time) {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			if s.Conditions[i].Status != status {
				s.Conditions[i].Status = status
				s.Conditions[i].LastTransitionTime = now
				s.Conditions[i].Reason, s.Conditions[i].Message = "", ""
			}
			return
		}
	}
	s.Conditions = append(s.Conditions, api.PodCondition{Type: t, Status: status, LastTransitionTime: now})
}

// statusSame reports whether the agent has nothing to write: a and b
// agree on what it reports.
func statusSame(a, b *api.PodStatus) bool {
	if a.Phase != b.Phase || a.PodIP != b.PodIP || a.HostIP != b.HostIP || (a.StartTime == nil) != (b.StartTime == nil) ||
		len(a.Conditions) != len(b.Conditions) || len(a.ContainerStatuses) != len(b.ContainerStatuses) {
		return false
	}
	for i := range a.Conditions {
		if a.Conditions[i].Type != b.Conditions[i].Type || a.Conditions[i].Status != b.Conditions[i].Status {
			return false
		}
	}
	for i := range a.ContainerStatuses {
		x, y := &a.ContainerStatuses[i], &b.ContainerStatuses[i]
		if x.Name != y.Name || x.Image != y.Image || x.Ready != y.Ready ||
			(x.State.Running == nil) != (y.State.Running == nil) || (x.State.Terminated == nil) != (y.State.Terminated == nil) {
			return false
		}
	}
	return true
}

// Fail ends the pod namespace/name, bound to one of the nodes, with phase
// Failed (reason Error, its containers terminated with exit code 1), as
// if its containers had crashed with restartPolicy Never. It returns once
// the status is written.
func (n *Nodes) Fail(ctx context.Context, namespace, name string) error {
	return n.decide(ctx, namespace, name, "Fail", func(st *podState) { st.failed = true })
}

// Succeed ends the pod namespace/name, bound to one of the nodes, with
// phase Succeeded (reason Completed, its containers terminated with exit
// code 0), as a Job's pod that has done its work. It returns once the
// status is written.
func (n *Nodes) Succeed(ctx context.Context, namespace, name string) error {
	return n.decide(ctx, namespace, name, "Succeed", func(st *podState) { st.succeeded = true })
}

// SetReady makes the pod namespace/name, bound to one of the nodes,
// report Ready (and its containers ready) or not, as a readiness probe
// would; it stays so until the next SetReady. It returns once the status
// is written.
func (n *Nodes) SetReady(ctx context.Context, namespace, name string, ready bool) error {
	return n.decide(ctx, namespace, name, "SetReady", func(st *podState) { st.notReady = !ready })
}

// decide records change to the state of a pod and writes its status.
func (n *Nodes) decide(ctx context.Context, namespace, name, what string, change func(*podState)) error {
	var p api.Pod
	if err := n.c.Get(ctx, namespace, name, &p); err != nil {
		return fmt.Errorf("controllertest: %s pod %s/%s: %w", what, namespace, name, err)
	}
	if _, ok := n.byName[p.Spec.NodeName]; !ok {
		return fmt.Errorf("controllertest: %s pod %s/%s: it is bound to %q, not to a simulated node", what, namespace, name, p.Spec.NodeName)
	}
	n.mu.Lock()
	st := n.podState[p.UID]
	change(&st)
	n.podState[p.UID] = st
	n.mu.Unlock()
	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		var cur api.Pod
		if err := n.c.Get(ctx, namespace, name, &cur); err != nil {
			return err
		}
		if cur.Status.Phase == api.PodFailed || cur.Status.Phase == api.PodSucceeded {
			return nil
		}
		if st.failed || st.succeeded {
			n.setTerminated(&cur, st.succeeded)
		} else {
			n.setRunning(&cur, n.byName[cur.Spec.NodeName], !st.notReady)
		}
		return n.c.UpdateStatus(ctx, &cur)
	})
	if err != nil {
		return fmt.Errorf("controllertest: %s pod %s/%s: %w", what, namespace, name, err)
	}
	return nil
}
