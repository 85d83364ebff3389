package registry

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/store"
)

// This file allocates the cluster IPs and node ports of core/v1 Services.
//
// Every allocated address is one store key, created with store.Create
// (atomic: of two API servers over one store that pick the same address,
// one gets ErrAlreadyExists and tries another):
//
//	/registry/allocations/serviceips/<ip>      a cluster IP
//	/registry/allocations/nodeports/<port>     a node port
//
// holding the JSON of an allocationRecord (the owner and when). The key is
// written before the Service and deleted after it: a crash in between leaks
// the key, which RepairAllocations frees once no Service refers to it and
// it is older than ServiceAllocation.RepairGrace.

// The store key prefixes of the allocations.
const (
	AllocationsPrefix = "/registry/allocations/"
	serviceIPsPrefix  = AllocationsPrefix + "serviceips/"
	nodePortsPrefix   = AllocationsPrefix + "nodeports/"
)

// Defaults of ServiceAllocation.
const (
	// DefaultServiceCIDR is the range of cluster IPs Kubernetes uses by
	// default.
	DefaultServiceCIDR = "10.96.0.0/12"
	// DefaultRepairGrace is the default ServiceAllocation.RepairGrace.
	DefaultRepairGrace = 10 * time.Minute
)

// DefaultNodePortRange is the default range of node ports, as Kubernetes.
var DefaultNodePortRange = PortRange{First: 30000, Last: 32767}

// ServiceAllocation says where the registry of core/v1 Services allocates
// cluster IPs and node ports (Options.Services). The zero value allocates
// nothing: Services keep the clusterIP and nodePorts they are given.
type ServiceAllocation struct {
	// ServiceCIDR is the range of cluster IPs, IPv4 or IPv6, with at least
	// two host bits. Its network address is never allocated, nor its
	// broadcast address (IPv4), and the first address after the network
	// one (10.96.0.1) only when asked for: it is the "kubernetes"
	// Service's. The zero Prefix turns allocation off. Of a range of more
	// than 2^62 addresses, only the first 2^62 are chosen from.
	ServiceCIDR netip.Prefix
	// NodePorts is the range of node ports. The zero value means
	// DefaultNodePortRange.
	NodePorts PortRange
	// RepairGrace is how old an allocation that no Service refers to must
	// be before RepairAllocations frees it, so that a create in flight
	// (allocated, Service not yet written) is not robbed. 0 means
	// DefaultRepairGrace.
	RepairGrace time.Duration
}

// PortRange is a range of ports, both ends included.
type PortRange struct {
	First, Last int32
}

// ParsePortRange parses "30000-32767" (or a single port, "30000").
func ParsePortRange(s string) (PortRange, error) {
	first, last, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		last = first
	}
	f, err1 := strconv.ParseInt(strings.TrimSpace(first), 10, 32)
	l, err2 := strconv.ParseInt(strings.TrimSpace(last), 10, 32)
	if err1 != nil || err2 != nil {
		return PortRange{}, fmt.Errorf("port range %q: must be <first>-<last>, as 30000-32767", s)
	}
	pr := PortRange{First: int32(f), Last: int32(l)}
	if err := pr.Validate(); err != nil {
		return PortRange{}, err
	}
	return pr, nil
}

// Validate reports whether the range is usable: 1 <= First <= Last <=
// 65535.
func (p PortRange) Validate() error {
	if p.First < 1 || p.Last > 65535 || p.First > p.Last {
		return fmt.Errorf("port range %s: must be within 1-65535, first port not above the last", p)
	}
	return nil
}

// String returns "first-last".
func (p PortRange) String() string { return fmt.Sprintf("%d-%d", p.First, p.Last) }

// Contains reports whether port is in the range.
func (p PortRange) Contains(port int32) bool { return port >= p.First && port <= p.Last }

func (p PortRange) size() uint64 { return uint64(p.Last-p.First) + 1 }

// Validate reports whether a is usable (the zero value is: it turns
// allocation off).
func (a ServiceAllocation) Validate() error {
	if !a.ServiceCIDR.IsValid() {
		return nil
	}
	if _, err := newIPRange(a.ServiceCIDR); err != nil {
		return err
	}
	if a.NodePorts != (PortRange{}) {
		if err := a.NodePorts.Validate(); err != nil {
			return err
		}
	}
	if a.RepairGrace < 0 {
		return fmt.Errorf("repair grace %v: must not be negative", a.RepairGrace)
	}
	return nil
}

// ipRange is the arithmetic of a service CIDR: the dynamically allocated
// addresses are base+2 ... base+1+size, offsets 0 ... size-1; base+1 is
// reserved. It is pure.
type ipRange struct {
	prefix netip.Prefix
	base   netip.Addr // the network address
	size   uint64
	family api.IPFamily
}

// maxRangeBits caps the host bits the dynamic offsets cover.
const maxRangeBits = 62

func newIPRange(p netip.Prefix) (ipRange, error) {
	if !p.IsValid() {
		return ipRange{}, errors.New("service CIDR: must be an IPv4 or IPv6 prefix, as 10.96.0.0/12")
	}
	if p.Addr().Zone() != "" || (p.Addr().Is4In6()) {
		return ipRange{}, fmt.Errorf("service CIDR %s: must be a plain IPv4 or IPv6 prefix", p)
	}
	if p.Masked() != p {
		return ipRange{}, fmt.Errorf("service CIDR %s: must be a network address (%s)", p, p.Masked())
	}
	host := p.Addr().BitLen() - p.Bits()
	if host < 2 {
		return ipRange{}, fmt.Errorf("service CIDR %s: must have at least 2 host bits (a /%d or shorter prefix)", p, p.Addr().BitLen()-2)
	}
	r := ipRange{prefix: p, base: p.Addr(), family: api.IPv6Protocol}
	r.size = uint64(1)<<min(host, maxRangeBits) - 2 // the network and the reserved address
	if p.Addr().Is4() {
		r.family = api.IPv4Protocol
		r.size-- // the broadcast address
	}
	return r, nil
}

// addr returns the address at dynamic offset off.
func (r ipRange) addr(off uint64) netip.Addr { return addIP(r.base, off+2) }

// allocatable reports whether a may be given to a Service that asks for
// it: inside the prefix, not the network nor (IPv4) the broadcast
// address.
func (r ipRange) allocatable(a netip.Addr) bool {
	if !r.prefix.Contains(a) || a == r.base {
		return false
	}
	if r.family == api.IPv4Protocol {
		host := 32 - r.prefix.Bits()
		if addIP(r.base, uint64(1)<<host-1) == a {
			return false
		}
	}
	return true
}

// addIP returns a + n (within the 128-bit space; an IPv4 a stays IPv4).
func addIP(a netip.Addr, n uint64) netip.Addr {
	b := a.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	lo, carry := bits.Add64(lo, n, 0)
	hi += carry
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	out := netip.AddrFrom16(b)
	if a.Is4() {
		out = out.Unmap()
	}
	return out
}

// allocationRecord is the value of an allocation key.
type allocationRecord struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	UID       api.UID   `json:"uid"`
	Time      time.Time `json:"time"`
}

// serviceAllocator allocates for the Service registry.
type serviceAllocator struct {
	ips   ipRange
	ports PortRange
	grace time.Duration
	// randN returns a random number in [0, n); tests may replace it.
	randN func(n uint64) uint64
}

// newServiceAllocator returns the allocator of a registry of kind, or nil
// if kind is not core/v1 Service or a allocates nothing.
func newServiceAllocator(kind api.Kind, a ServiceAllocation) (*serviceAllocator, error) {
	if kind.GroupVersionKind != serviceGVK || !a.ServiceCIDR.IsValid() {
		return nil, nil
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	ips, _ := newIPRange(a.ServiceCIDR)
	sa := &serviceAllocator{ips: ips, ports: a.NodePorts, grace: a.RepairGrace, randN: rand.Uint64N}
	if sa.ports == (PortRange{}) {
		sa.ports = DefaultNodePortRange
	}
	if sa.grace == 0 {
		sa.grace = DefaultRepairGrace
	}
	return sa, nil
}

var serviceGVK = api.CoreV1.WithKind("Service")

func ipKey(a netip.Addr) string { return serviceIPsPrefix + a.String() }
func portKey(p int32) string    { return nodePortsPrefix + strconv.Itoa(int(p)) }

// needsNodePorts reports whether a Service of type t gets node ports.
func needsNodePorts(t api.ServiceType) bool {
	return t == api.ServiceTypeNodePort || t == api.ServiceTypeLoadBalancer
}

// serviceHold is what one write of a Service allocated (acquired, to free
// if the write fails) and what it frees once written (release).
type serviceHold struct {
	uid      api.UID
	acquired []string
	release  []string
}

// heldKeys returns the allocation keys a stored Service refers to.
func heldKeys(svc *api.Service) []string {
	var keys []string
	if svc.Spec.Type != api.ServiceTypeExternalName {
		for _, ip := range append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...) {
			if a, err := netip.ParseAddr(ip); err == nil {
				keys = append(keys, ipKey(a))
			}
		}
	}
	if needsNodePorts(svc.Spec.Type) {
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				keys = append(keys, portKey(p.NodePort))
			}
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// carryOverService is called on an update of a Service before it is
// defaulted and validated: it keeps what the server allocated and the
// client left out (clusterIP, clusterIPs, ipFamilies, ipFamilyPolicy,
// the nodePort of a port that is still there, matched by port and
// protocol), and drops what the new type does not take if the client
// left it as it was (the cluster IPs of a Service that becomes
// ExternalName, the node ports and externalTrafficPolicy of one that
// becomes ClusterIP).
func (r *Registry) carryOverService(next, old api.Object) {
	svc, ok := next.(*api.Service)
	prev, ok2 := old.(*api.Service)
	if r.alloc == nil || !ok || !ok2 {
		return
	}
	s, o := &svc.Spec, &prev.Spec
	if s.Type == api.ServiceTypeExternalName {
		if o.Type != api.ServiceTypeExternalName {
			if s.ClusterIP == o.ClusterIP {
				s.ClusterIP = ""
			}
			if slices.Equal(s.ClusterIPs, o.ClusterIPs) {
				s.ClusterIPs = nil
			}
			if slices.Equal(s.IPFamilies, o.IPFamilies) {
				s.IPFamilies = nil
			}
			if s.IPFamilyPolicy != nil && o.IPFamilyPolicy != nil && *s.IPFamilyPolicy == *o.IPFamilyPolicy {
				s.IPFamilyPolicy = nil
			}
		}
	} else if o.Type != api.ServiceTypeExternalName && s.ClusterIP == "" && len(s.ClusterIPs) == 0 {
		s.ClusterIP, s.ClusterIPs = o.ClusterIP, slices.Clone(o.ClusterIPs)
		if len(s.IPFamilies) == 0 {
			s.IPFamilies = slices.Clone(o.IPFamilies)
		}
		if s.IPFamilyPolicy == nil && o.IPFamilyPolicy != nil {
			s.IPFamilyPolicy = new(*o.IPFamilyPolicy)
		}
	}
	oldPort := func(p api.ServicePort) int32 {
		for _, q := range o.Ports {
			if q.Port == p.Port && protocolOf(q) == protocolOf(p) {
				return q.NodePort
			}
		}
		return 0
	}
	if externallyReachable(o) && !externallyReachable(s) && s.ExternalTrafficPolicy == o.ExternalTrafficPolicy {
		s.ExternalTrafficPolicy = ""
	}
	for i := range s.Ports {
		p := &s.Ports[i]
		switch {
		case needsNodePorts(s.Type) && needsNodePorts(o.Type) && p.NodePort == 0:
			p.NodePort = oldPort(*p)
		case !needsNodePorts(s.Type) && needsNodePorts(o.Type) && p.NodePort != 0 && p.NodePort == oldPort(*p):
			p.NodePort = 0
		}
	}
}

// externallyReachable reports whether a Service takes an
// externalTrafficPolicy.
func externallyReachable(s *api.ServiceSpec) bool {
	return needsNodePorts(s.Type) || s.Type == api.ServiceTypeClusterIP && len(s.ExternalIPs) > 0
}

func protocolOf(p api.ServicePort) api.Protocol {
	if p.Protocol == "" {
		return api.ProtocolTCP
	}
	return p.Protocol
}

// allocateService gives the Service obj, about to be stored (validated),
// the cluster IP and node ports it needs and does not have in old (nil
// on a create), and sets clusterIPs, ipFamilies and ipFamilyPolicy. A
// requested address must be in range and free (422). In a dry run nothing
// is written: obj gets addresses that are free now. The hold says what to
// free when the write fails (abortService) or succeeds (commitService).
// For other kinds, or with allocation off, it does nothing.
func (r *Registry) allocateService(ctx context.Context, obj, old api.Object, dryRun bool) (*serviceHold, error) {
	svc, ok := obj.(*api.Service)
	if r.alloc == nil || !ok {
		return nil, nil
	}
	var prev *api.Service
	if old != nil {
		prev, _ = old.(*api.Service)
	}
	a := r.alloc
	h := &serviceHold{uid: svc.UID}
	rec, err := json.Marshal(allocationRecord{Namespace: svc.Namespace, Name: svc.Name, UID: svc.UID, Time: r.opts.Now().UTC()})
	if err != nil {
		return nil, api.NewInternalError(err)
	}
	had := map[string]bool{}
	if prev != nil {
		for _, k := range heldKeys(prev) {
			had[k] = true
		}
	}
	// fail undoes what this call acquired and returns err.
	fail := func(err error) (*serviceHold, error) {
		r.releaseKeys(context.WithoutCancel(ctx), h.uid, h.acquired)
		return nil, err
	}
	mine := map[string]bool{} // acquired (or, in a dry run, picked) by this call
	// take acquires key for a value the client asked for: true if it is
	// free, or the Service has it already.
	take := func(key string) (bool, error) {
		if had[key] || mine[key] {
			return true, nil
		}
		if dryRun {
			_, err := r.st.Get(ctx, key, store.ReadOptions{})
			if errors.Is(err, store.ErrNotFound) {
				mine[key] = true
				return true, nil
			}
			return false, err
		}
		_, err := r.st.Create(ctx, key, rec)
		if errors.Is(err, store.ErrAlreadyExists) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		mine[key] = true
		h.acquired = append(h.acquired, key)
		return true, nil
	}
	// takeNew acquires key for a value the server picks: only if nobody,
	// this Service included, has it.
	takeNew := func(key string) (bool, error) {
		if had[key] || mine[key] {
			return false, nil
		}
		return take(key)
	}
	var errs api.ErrorList
	s, sp := &svc.Spec, api.NewPath("spec")
	if s.Type != api.ServiceTypeExternalName {
		if s.ClusterIP == "" && len(s.ClusterIPs) > 0 {
			s.ClusterIP = s.ClusterIPs[0]
		}
		if prev == nil || !slices.Equal(prev.Spec.IPFamilies, s.IPFamilies) || !slices.Equal(prev.Spec.ClusterIPs, s.ClusterIPs) ||
			!reflect.DeepEqual(prev.Spec.IPFamilyPolicy, s.IPFamilyPolicy) {
			errs = append(errs, a.checkFamilies(s, sp)...)
		}
		switch s.ClusterIP {
		case api.ClusterIPNone:
		case "":
			if len(errs) > 0 {
				break
			}
			ip, err := r.pickFree(ctx, serviceIPsPrefix, a.ips.size, func(off uint64) string { return ipKey(a.ips.addr(off)) }, takeNew)
			if err != nil {
				return fail(r.allocError(err, svc.Name, sp.Child("clusterIP"), "IP address", a.ips.prefix.String()))
			}
			s.ClusterIP = strings.TrimPrefix(ip, serviceIPsPrefix)
		default:
			addr, err := netip.ParseAddr(s.ClusterIP)
			if err != nil {
				break // validation reported it
			}
			if !a.ips.allocatable(addr) && !had[ipKey(addr)] {
				errs = append(errs, api.Invalid(sp.Child("clusterIP"), s.ClusterIP,
					"provided IP is not in the valid range. The range of valid IPs is "+a.ips.prefix.String()))
				break
			}
			ok, err := take(ipKey(addr))
			if err != nil {
				return fail(r.storeError(err, svc.Name))
			}
			if !ok {
				errs = append(errs, api.Invalid(sp.Child("clusterIP"), s.ClusterIP, "provided IP is already allocated"))
			}
		}
		if s.ClusterIP != "" && len(s.ClusterIPs) == 0 {
			s.ClusterIPs = []string{s.ClusterIP}
		}
		if len(s.IPFamilies) == 0 {
			s.IPFamilies = []api.IPFamily{a.ips.family}
			if addr, err := netip.ParseAddr(s.ClusterIP); err == nil && addr.Is4() != (a.ips.family == api.IPv4Protocol) {
				s.IPFamilies = []api.IPFamily{familyOf(addr)} // a legacy address from another range
			}
		}
		if s.IPFamilyPolicy == nil {
			s.IPFamilyPolicy = new(api.IPFamilyPolicySingleStack)
		}
	}
	if needsNodePorts(s.Type) {
		pp := sp.Child("ports")
		for i, p := range s.Ports {
			if p.NodePort == 0 || had[portKey(p.NodePort)] {
				continue
			}
			if !a.ports.Contains(p.NodePort) {
				errs = append(errs, api.Invalid(pp.Index(i).Child("nodePort"), p.NodePort,
					"provided port is not in the valid range. The range of valid ports is "+a.ports.String()))
				continue
			}
			ok, err := take(portKey(p.NodePort))
			if err != nil {
				return fail(r.storeError(err, svc.Name))
			}
			if !ok {
				errs = append(errs, api.Invalid(pp.Index(i).Child("nodePort"), p.NodePort, "provided port is already allocated"))
			}
		}
		for i := range s.Ports {
			p := &s.Ports[i]
			if p.NodePort != 0 || len(errs) > 0 {
				continue
			}
			// The same port with another protocol shares its node port.
			for _, q := range s.Ports {
				if q.Port == p.Port && q.NodePort != 0 {
					p.NodePort = q.NodePort
					break
				}
			}
			if p.NodePort != 0 {
				continue
			}
			key, err := r.pickFree(ctx, nodePortsPrefix, a.ports.size(), func(off uint64) string { return portKey(a.ports.First + int32(off)) }, takeNew)
			if err != nil {
				return fail(r.allocError(err, svc.Name, pp.Index(i).Child("nodePort"), "node port", a.ports.String()))
			}
			n, _ := strconv.Atoi(strings.TrimPrefix(key, nodePortsPrefix))
			p.NodePort = int32(n)
		}
	}
	if len(errs) > 0 {
		return fail(api.NewInvalid(r.kind.GroupKind(), svc.Name, errs))
	}
	now := map[string]bool{}
	for _, k := range heldKeys(svc) {
		now[k] = true
	}
	for k := range had {
		if !now[k] {
			h.release = append(h.release, k)
		}
	}
	slices.Sort(h.release)
	return h, nil
}

// checkFamilies refuses what a single-stack range cannot give.
func (a *serviceAllocator) checkFamilies(s *api.ServiceSpec, sp *api.Path) api.ErrorList {
	var errs api.ErrorList
	for i, f := range s.IPFamilies {
		if f != a.ips.family {
			errs = append(errs, api.Invalid(sp.Child("ipFamilies").Index(i), string(f),
				fmt.Sprintf("%s is not configured on this cluster (the service CIDR is %s)", f, a.ips.prefix)))
		}
	}
	if pol := s.IPFamilyPolicy; pol != nil && *pol == api.IPFamilyPolicyRequireDualStack {
		errs = append(errs, api.Invalid(sp.Child("ipFamilyPolicy"), string(*pol),
			"this cluster is not configured for dual-stack services: one service CIDR, "+a.ips.prefix.String()))
	}
	if len(s.ClusterIPs) > 1 {
		errs = append(errs, api.Invalid(sp.Child("clusterIPs").Index(1), s.ClusterIPs[1],
			"this cluster is not configured for dual-stack services: one service CIDR, "+a.ips.prefix.String()))
	}
	return errs
}

func familyOf(a netip.Addr) api.IPFamily {
	if a.Is4() {
		return api.IPv4Protocol
	}
	return api.IPv6Protocol
}

// errRangeFull: every address of a range is allocated.
var errRangeFull = errors.New("registry: allocation range is full")

// pickFree takes a free key of the range of size offsets (keyAt names
// them): from a random offset, first blindly (in a sparse range the first
// try wins), then, with the allocated keys under prefix listed, probing
// linearly to the next one not listed. take reports a key taken meanwhile
// (another server won it), and probing goes on.
func (r *Registry) pickFree(ctx context.Context, prefix string, size uint64, keyAt func(uint64) string, take func(string) (bool, error)) (string, error) {
	start := r.alloc.randN(size)
	ok, err := take(keyAt(start))
	if err != nil || ok {
		return keyAt(start), err
	}
	taken := map[string]bool{keyAt(start): true}
	opts := store.ListOptions{Limit: 1000}
	for {
		res, err := r.st.List(ctx, prefix, opts)
		if err != nil {
			return "", err
		}
		for _, kv := range res.KVs {
			taken[kv.Key] = true
		}
		if !res.More || len(res.KVs) == 0 {
			break
		}
		opts.After, opts.Revision = res.KVs[len(res.KVs)-1].Key, res.Revision
	}
	for i := uint64(1); i < size; i++ {
		key := keyAt((start + i) % size)
		if taken[key] {
			continue
		}
		ok, err := take(key)
		if err != nil || ok {
			return key, err
		}
		taken[key] = true
	}
	return "", errRangeFull
}

// allocError reports a failed allocation of what at field p.
func (r *Registry) allocError(err error, name string, p *api.Path, what, rng string) error {
	if errors.Is(err, errRangeFull) {
		return api.NewServiceUnavailable(fmt.Sprintf("%s %q: %s: cannot allocate a %s: range is full (every one of %s is allocated)", r.gr, name, p, what, rng))
	}
	return r.storeError(err, name)
}

// abortService frees what h acquired, after the write of its Service
// failed with err. A failure that may hide a write that went through (a
// timeout, an unavailable store: 5xx) frees nothing, so that the Service,
// if it was written after all, keeps its addresses; RepairAllocations
// frees them if it was not.
func (r *Registry) abortService(ctx context.Context, h *serviceHold, err error) {
	if h == nil || len(h.acquired) == 0 {
		return
	}
	if se, ok := errors.AsType[*api.StatusError](err); !ok || se.Status.Code >= 500 {
		r.log.Warn("a Service write failed and may have happened: its allocations are left to the repair",
			"keys", h.acquired, "err", err)
		return
	}
	r.releaseKeys(context.WithoutCancel(ctx), h.uid, h.acquired)
}

// commitService frees what the Service held before a write that no longer
// refers to it.
func (r *Registry) commitService(ctx context.Context, h *serviceHold) {
	if h != nil {
		r.releaseKeys(context.WithoutCancel(ctx), h.uid, h.release)
	}
}

// releaseService frees the allocations of obj, a Service just removed
// from the store.
func (r *Registry) releaseService(ctx context.Context, obj api.Object) {
	if svc, ok := obj.(*api.Service); ok && r.alloc != nil {
		r.releaseKeys(context.WithoutCancel(ctx), svc.UID, heldKeys(svc))
	}
}

// releaseKeys deletes the allocation keys that uid owns. A key that is
// gone or owned by someone else (a Service written before allocation
// existed shares an address) is left; other failures are logged and left
// to RepairAllocations.
func (r *Registry) releaseKeys(ctx context.Context, uid api.UID, keys []string) {
	for _, key := range keys {
		kv, err := r.st.Get(ctx, key, store.ReadOptions{})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err == nil {
			var rec allocationRecord
			if json.Unmarshal(kv.Value, &rec) == nil && rec.UID != uid {
				continue
			}
			_, _, err = r.st.Delete(ctx, key, kv.ModRevision)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
			r.log.Warn("release an allocation (left to the repair)", "key", key, "err", err)
		}
	}
}

// RepairResult is what RepairAllocations did.
type RepairResult struct {
	// Freed are the allocation keys deleted: no Service referred to
	// them.
	Freed []string
	// Restored are the allocation keys created for Services that held an
	// address without one (Services written before allocation was on, or
	// restored from a backup).
	Restored []string
}

// RepairAllocations reconciles the allocation keys with the Services: it
// frees the keys that no Service refers to and that are older than
// ServiceAllocation.RepairGrace (leaked by a crash between an allocation
// and the Service write, or a release that failed), and creates the keys
// missing for Services' in-range addresses. It is meant to run
// periodically on one API server (Server.Run), but running it on several
// at once is safe: deletes are conditional on the revision read. On a
// registry other than that of Services, or with allocation off, it does
// nothing.
func (r *Registry) RepairAllocations(ctx context.Context) (RepairResult, error) {
	var res RepairResult
	if r.alloc == nil {
		return res, nil
	}
	// The allocations first, then the Services: a key whose Service was
	// written before the second list is seen in use; one whose Service
	// is still being written is younger than the grace period.
	allocs, err := r.listAll(ctx, AllocationsPrefix)
	if err != nil {
		return res, fmt.Errorf("list allocations: %w", err)
	}
	kvs, err := r.listAll(ctx, r.prefix)
	if err != nil {
		return res, fmt.Errorf("list services: %w", err)
	}
	var svcs []*api.Service
	for _, kv := range kvs {
		obj, err := r.decode(kv)
		if err != nil {
			return res, err
		}
		svcs = append(svcs, obj.(*api.Service))
	}
	plan := planRepair(allocs, svcs, r.alloc, r.opts.Now())
	for _, kv := range plan.free {
		_, _, err := r.st.Delete(ctx, kv.Key, kv.ModRevision)
		switch {
		case err == nil:
			res.Freed = append(res.Freed, kv.Key)
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		default:
			return res, fmt.Errorf("free %s: %w", kv.Key, err)
		}
	}
	for _, m := range plan.restore {
		rec, err := json.Marshal(allocationRecord{Namespace: m.svc.Namespace, Name: m.svc.Name, UID: m.svc.UID, Time: r.opts.Now().UTC()})
		if err != nil {
			return res, err
		}
		_, err = r.st.Create(ctx, m.key, rec)
		switch {
		case err == nil:
			res.Restored = append(res.Restored, m.key)
		case errors.Is(err, store.ErrAlreadyExists):
		default:
			return res, fmt.Errorf("restore %s: %w", m.key, err)
		}
	}
	for _, key := range res.Freed {
		r.log.Info("freed a leaked allocation", "key", key)
	}
	for _, key := range res.Restored {
		r.log.Info("restored a missing allocation", "key", key)
	}
	return res, nil
}

// listAll lists every key under prefix, a page at a time.
func (r *Registry) listAll(ctx context.Context, prefix string) ([]*store.KeyValue, error) {
	var out []*store.KeyValue
	opts := store.ListOptions{Limit: 1000}
	for {
		res, err := r.st.List(ctx, prefix, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, res.KVs...)
		if !res.More || len(res.KVs) == 0 {
			return out, nil
		}
		opts.After, opts.Revision = res.KVs[len(res.KVs)-1].Key, res.Revision
	}
}

// repairPlan is what a repair does.
type repairPlan struct {
	free    []*store.KeyValue
	restore []missingAllocation
}

type missingAllocation struct {
	key string
	svc *api.Service
}

// planRepair decides a repair: the allocation keys allocs that no Service
// of svcs refers to and that were allocated more than a's grace before
// now are freed; in-range addresses of svcs with no key get one. It is
// pure.
func planRepair(allocs []*store.KeyValue, svcs []*api.Service, a *serviceAllocator, now time.Time) repairPlan {
	var p repairPlan
	inUse := map[string]*api.Service{}
	for _, svc := range svcs {
		for _, key := range heldKeys(svc) {
			if _, dup := inUse[key]; !dup {
				inUse[key] = svc
			}
		}
	}
	have := map[string]bool{}
	for _, kv := range allocs {
		have[kv.Key] = true
		if inUse[kv.Key] != nil {
			continue
		}
		var rec allocationRecord
		if err := json.Unmarshal(kv.Value, &rec); err == nil && now.Sub(rec.Time) <= a.grace {
			continue // maybe a write in flight
		}
		p.free = append(p.free, kv)
	}
	for key, svc := range inUse {
		if have[key] || !a.inRange(key) {
			continue
		}
		p.restore = append(p.restore, missingAllocation{key: key, svc: svc})
	}
	slices.SortFunc(p.restore, func(x, y missingAllocation) int { return strings.Compare(x.key, y.key) })
	return p
}

// inRange reports whether an allocation key names an address of a's
// ranges.
func (a *serviceAllocator) inRange(key string) bool {
	if s, ok := strings.CutPrefix(key, serviceIPsPrefix); ok {
		addr, err := netip.ParseAddr(s)
		return err == nil && a.ips.allocatable(addr)
	}
	if s, ok := strings.CutPrefix(key, nodePortsPrefix); ok {
		n, err := strconv.ParseInt(s, 10, 32)
		return err == nil && a.ports.Contains(int32(n))
	}
	return false
}
