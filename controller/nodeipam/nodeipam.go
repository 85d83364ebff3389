// Package nodeipam is the node IPAM controller: it gives each node its pod
// IP ranges, spec.podCIDR and spec.podCIDRs, from the cluster CIDRs.
//
// Each cluster CIDR (one IPv4, one IPv6, or one of each for dual stack) is
// cut into blocks of NodeCIDRMaskSizeIPv4 (/24) or NodeCIDRMaskSizeIPv6
// (/64) bits; a node without pod CIDRs gets the lowest free block of each,
// in the order of ClusterCIDRs (spec.podCIDR is the first). A block is
// never handed out twice: before each allocation the controller marks
// taken the blocks of every node in the cache (so that a restart, or a
// term of leadership after another leader's, remembers what its
// predecessor gave, even to nodes not reconciled yet), and it remembers
// what it gives itself even before the cache shows it. A deleted node's
// blocks are free again.
//
// A node whose pod CIDRs were set by someone else keeps them: those inside
// a cluster CIDR are marked taken, one outside every cluster CIDR gets the
// Warning Event InvalidPodCIDR and is left alone. When a cluster CIDR has no
// free block, the node gets the Warning Event CIDRNotAvailable and waits
// for a node to be deleted. A node with some of its families only is left
// as it is.
package nodeipam

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/controller"
)

// Name is the controller's name: its metrics, logs, events' source and the
// key operators enable it by.
const Name = "nodeipam"

// Defaults of Options.
const (
	DefaultWorkers              = 5
	DefaultNodeCIDRMaskSizeIPv4 = 24
	DefaultNodeCIDRMaskSizeIPv6 = 64
)

// DefaultClusterCIDR is the cluster CIDR when Options.ClusterCIDRs is
// empty.
var DefaultClusterCIDR = netip.MustParsePrefix("10.244.0.0/16")

// Reasons of the controller's Events, both Warnings on the node.
const (
	// ReasonCIDRNotAvailable: a cluster CIDR has no free block for the
	// node.
	ReasonCIDRNotAvailable = "CIDRNotAvailable"
	// ReasonInvalidPodCIDR: the node's pod CIDR, set by someone else, is
	// outside every cluster CIDR.
	ReasonInvalidPodCIDR = "InvalidPodCIDR"
)

// Options configures the controller. The zero value is the default
// configuration.
type Options struct {
	// Workers is how many nodes are reconciled at once. 0 means
	// DefaultWorkers.
	Workers int
	// ClusterCIDRs are the ranges pod CIDRs are cut from: one, or one per
	// IP family (dual stack; the first is each node's spec.podCIDR).
	// Empty means DefaultClusterCIDR (10.244.0.0/16).
	ClusterCIDRs []netip.Prefix
	// NodeCIDRMaskSizeIPv4 is the prefix length of a node's IPv4 pod
	// CIDR. At most 16 bits longer than the IPv4 cluster CIDR's. 0 means
	// DefaultNodeCIDRMaskSizeIPv4 (24).
	NodeCIDRMaskSizeIPv4 int
	// NodeCIDRMaskSizeIPv6 is the prefix length of a node's IPv6 pod
	// CIDR. At most 16 bits longer than the IPv6 cluster CIDR's. 0 means
	// DefaultNodeCIDRMaskSizeIPv6 (64).
	NodeCIDRMaskSizeIPv6 int
}

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if len(o.ClusterCIDRs) == 0 {
		o.ClusterCIDRs = []netip.Prefix{DefaultClusterCIDR}
	}
	if o.NodeCIDRMaskSizeIPv4 == 0 {
		o.NodeCIDRMaskSizeIPv4 = DefaultNodeCIDRMaskSizeIPv4
	}
	if o.NodeCIDRMaskSizeIPv6 == 0 {
		o.NodeCIDRMaskSizeIPv6 = DefaultNodeCIDRMaskSizeIPv6
	}
	return o
}

// Validate reports the first field of o that is wrong.
func (o Options) Validate() error {
	_, err := o.sets()
	return err
}

// sets checks o and returns a cidrSet per cluster CIDR.
func (o Options) sets() ([]*cidrSet, error) {
	switch {
	case o.Workers < 0:
		return nil, fmt.Errorf("nodeipam: Options.Workers is %d: must be positive, or 0 for the default (%d)", o.Workers, DefaultWorkers)
	case len(o.ClusterCIDRs) > 2:
		return nil, fmt.Errorf("nodeipam: Options.ClusterCIDRs has %d CIDRs: at most 2 are allowed, one per IP family", len(o.ClusterCIDRs))
	case len(o.ClusterCIDRs) == 2 && o.ClusterCIDRs[0].Addr().Is4() == o.ClusterCIDRs[1].Addr().Is4():
		return nil, fmt.Errorf("nodeipam: Options.ClusterCIDRs %s and %s are of the same IP family: dual stack needs one IPv4 and one IPv6", o.ClusterCIDRs[0], o.ClusterCIDRs[1])
	}
	o = o.withDefaults()
	var sets []*cidrSet
	for i, c := range o.ClusterCIDRs {
		if !c.IsValid() {
			return nil, fmt.Errorf("nodeipam: Options.ClusterCIDRs[%d] is not a valid CIDR (such as 10.244.0.0/16 or fd00:10:244::/48)", i)
		}
		mask, field := o.NodeCIDRMaskSizeIPv4, "NodeCIDRMaskSizeIPv4"
		if c.Addr().Is6() {
			mask, field = o.NodeCIDRMaskSizeIPv6, "NodeCIDRMaskSizeIPv6"
		}
		s, err := newCIDRSet(c, mask)
		if err != nil {
			return nil, fmt.Errorf("nodeipam: Options.ClusterCIDRs[%d] with Options.%s: %w", i, field, err)
		}
		sets = append(sets, s)
	}
	return sets, nil
}

// Add builds the controller with opts and adds it to m (it runs under m's
// leader election). It reconciles each Node on its changes; a node's
// deletion also queues the nodes still waiting for a CIDR.
func Add(m *controller.Manager, opts Options) error {
	sets, err := opts.sets()
	if err != nil {
		return err
	}
	opts = opts.withDefaults()
	nodes, err := controller.Lister[*api.Node](m)
	if err != nil {
		return fmt.Errorf("nodeipam: %w", err)
	}
	rec, err := m.EventRecorder(Name)
	if err != nil {
		return fmt.Errorf("nodeipam: %w", err)
	}
	r := newReconciler(m.GetClient(), nodes, rec, sets)
	waiting := func(context.Context, api.Object) []controller.Request {
		all, err := nodes.List(labels.Everything())
		if err != nil {
			return nil
		}
		var reqs []controller.Request
		for _, n := range all {
			if len(podCIDRs(n)) == 0 {
				reqs = append(reqs, controller.Request{Name: n.Name})
			}
		}
		return reqs
	}
	onDelete := controller.PredicateFunc(func(ev controller.Event) bool { return ev.Type == controller.Delete })
	return controller.NewControllerManagedBy(m).
		Named(Name).
		For(&api.Node{}).
		Watches(&api.Node{}, waiting, onDelete).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers}).
		Complete(r)
}

// podCIDRs returns the pod CIDRs of n: spec.podCIDRs, or spec.podCIDR.
func podCIDRs(n *api.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}
