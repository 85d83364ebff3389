package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/controller"
)

// eventRecorder records Events; a *record.Recorder is one. The reconciler
// calls Eventf from its workers; it must not block.
type eventRecorder interface {
	Eventf(obj api.Object, eventType api.EventType, reason, format string, args ...any)
}

// reconciler is the thin driver over the cidrSets. Its workers share the
// sets and the record of who holds what, under mu; it writes to the API
// server without holding mu.
type reconciler struct {
	c      *client.Client
	nodes  informer.Lister[*api.Node]
	events eventRecorder

	mu     sync.Mutex
	sets   []*cidrSet
	loaded bool                  // the sets hold the cache's nodes
	held   map[string]allocation // by node name
	warned map[string]bool       // "node name/CIDR" given InvalidPodCIDR
}

// allocation is the blocks a node holds.
type allocation struct {
	uid      api.UID
	prefixes []netip.Prefix
	mine     bool // handed out by this controller, maybe not yet written
}

func newReconciler(c *client.Client, nodes informer.Lister[*api.Node], events eventRecorder, sets []*cidrSet) *reconciler {
	return &reconciler{c: c, nodes: nodes, events: events, sets: sets, held: make(map[string]allocation), warned: make(map[string]bool)}
}

// Reconcile gives the node req names its pod CIDRs if it has none, marks
// the ones it has as taken, or frees them if it is gone.
func (r *reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	node, err := r.nodes.Get("", req.Name)
	switch {
	case api.IsNotFound(err):
		r.mu.Lock()
		r.load()
		r.releaseLocked(req.Name)
		r.mu.Unlock()
		return controller.Result{}, nil
	case err != nil:
		return controller.Result{}, err
	}
	if len(podCIDRs(node)) > 0 {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.load()
		r.observeLocked(node)
		return controller.Result{}, nil
	}
	prefixes, err := r.allocate(node)
	if errors.Is(err, errExhausted) {
		r.events.Eventf(node, api.EventTypeWarning, ReasonCIDRNotAvailable, "Node %s status is now: %s", node.Name, ReasonCIDRNotAvailable)
		return controller.Result{}, nil // a node's deletion queues the node again
	}
	if err != nil {
		return controller.Result{}, err
	}
	n := api.DeepCopy(node)
	n.Spec.PodCIDRs = make([]string, len(prefixes))
	for i, p := range prefixes {
		n.Spec.PodCIDRs[i] = p.String()
	}
	n.Spec.PodCIDR = n.Spec.PodCIDRs[0]
	if err := r.c.Update(ctx, n); err != nil {
		if api.IsNotFound(err) {
			r.mu.Lock()
			r.releaseLocked(node.Name)
			r.mu.Unlock()
			return controller.Result{}, nil
		}
		// Kept: the node keeps its blocks, for the retry (a write that
		// failed may yet have happened). A conflict is no failure: the
		// cache was behind.
		if api.IsConflict(err) {
			return controller.Result{Requeue: true}, nil
		}
		return controller.Result{}, fmt.Errorf("set the pod CIDRs %s of node %s: %w", strings.Join(n.Spec.PodCIDRs, ","), node.Name, err)
	}
	return controller.Result{}, nil
}

// allocate returns the blocks node holds already (given by this
// controller, not yet in the cache), or takes one from each set. If one of
// the sets is full, it frees the blocks of nodes gone from the cache and
// tries once more.
func (r *reconciler) allocate(node *api.Node) ([]netip.Prefix, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.load()
	if a, ok := r.held[node.Name]; ok {
		if a.uid == node.UID && a.mine {
			return a.prefixes, nil
		}
		r.releaseLocked(node.Name) // another node of that name, gone
	}
	r.syncLocked()
	prefixes, err := r.takeLocked()
	if errors.Is(err, errExhausted) && r.collectLocked() {
		prefixes, err = r.takeLocked()
	}
	if err != nil {
		return nil, err
	}
	r.held[node.Name] = allocation{uid: node.UID, prefixes: prefixes, mine: true}
	return prefixes, nil
}

// syncLocked marks as taken the blocks of every node in the cache whose
// pod CIDRs the sets do not hold for it yet: blocks another allocator gave
// (the previous leader while this controller was not leading, or an
// operator) to nodes whose own reconcile has not come yet. The
// controller reconciles the nodes in no particular order, so without this
// a node reconciled first could be handed such a block again. It runs
// before each allocation, which only nodes without pod CIDRs need.
func (r *reconciler) syncLocked() {
	nodes, err := r.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	for _, n := range nodes {
		cidrs := podCIDRs(n)
		if len(cidrs) == 0 {
			continue
		}
		if a, ok := r.held[n.Name]; ok && a.uid == n.UID && !a.mine && slices.EqualFunc(a.prefixes, cidrs,
			func(p netip.Prefix, c string) bool { return p.String() == c }) {
			continue
		}
		r.observeLocked(n)
	}
}

// takeLocked takes a block from each set, or none.
func (r *reconciler) takeLocked() ([]netip.Prefix, error) {
	var taken []netip.Prefix
	for _, s := range r.sets {
		p, err := s.allocate()
		if err != nil {
			for i, t := range taken {
				_ = r.sets[i].release(t)
			}
			return nil, fmt.Errorf("cluster CIDR %s: %w", s.cluster, err)
		}
		taken = append(taken, p)
	}
	return taken, nil
}

// collectLocked frees the blocks of the nodes no longer in the cache, and
// reports whether it freed any.
func (r *reconciler) collectLocked() bool {
	freed := false
	for name := range r.held {
		if _, err := r.nodes.Get("", name); api.IsNotFound(err) {
			r.releaseLocked(name)
			freed = true
		}
	}
	return freed
}

// load fills the sets from the nodes in the cache, once, before the first
// allocation: what a previous run handed out stays taken.
func (r *reconciler) load() {
	if r.loaded {
		return
	}
	r.loaded = true
	nodes, err := r.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	for _, n := range nodes {
		r.observeLocked(n)
	}
}

// observeLocked records the pod CIDRs node has, marking those inside a
// cluster CIDR as taken. A CIDR outside them all gets an Event.
func (r *reconciler) observeLocked(node *api.Node) {
	if a, ok := r.held[node.Name]; ok && a.uid != node.UID {
		r.releaseLocked(node.Name)
	}
	var held []netip.Prefix
	for _, c := range podCIDRs(node) {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			continue // the API server validates podCIDRs: not reached
		}
		i := slices.IndexFunc(r.sets, func(s *cidrSet) bool { return s.contains(p) })
		if i < 0 {
			if key := node.Name + "/" + c; !r.warned[key] {
				r.warned[key] = true
				r.events.Eventf(node, api.EventTypeWarning, ReasonInvalidPodCIDR,
					"Node %s has pod CIDR %s, which is outside the cluster CIDRs %s: left as it is", node.Name, c, r.clusterCIDRs())
			}
			continue
		}
		_ = r.sets[i].occupy(p)
		held = append(held, p)
	}
	if a, ok := r.held[node.Name]; ok {
		// What this controller gave and the node no longer has (replaced
		// by hand) is free again.
		for _, p := range a.prefixes {
			if !slices.Contains(held, p) {
				r.releasePrefix(p)
			}
		}
	}
	if len(held) > 0 {
		r.held[node.Name] = allocation{uid: node.UID, prefixes: held}
	} else {
		delete(r.held, node.Name)
	}
}

// releaseLocked frees the blocks the node named name holds.
func (r *reconciler) releaseLocked(name string) {
	for _, p := range r.held[name].prefixes {
		r.releasePrefix(p)
	}
	delete(r.held, name)
	for key := range r.warned {
		if strings.HasPrefix(key, name+"/") {
			delete(r.warned, key)
		}
	}
}

func (r *reconciler) releasePrefix(p netip.Prefix) {
	for _, s := range r.sets {
		if s.contains(p) {
			_ = s.release(p)
		}
	}
}

func (r *reconciler) clusterCIDRs() string {
	cs := make([]string, len(r.sets))
	for i, s := range r.sets {
		cs[i] = s.cluster.String()
	}
	return strings.Join(cs, ",")
}
