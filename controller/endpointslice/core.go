package endpointslice

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// This file is the controller's pure core: from a Service, the pods its
// selector picks and the slices it has, which slices to create, update and
// delete. No I/O.

// groupKey identifies the slices that may hold an endpoint: one address
// type and one set of resolved ports.
type groupKey struct {
	addressType api.AddressType
	ports       string // portsKey of the sorted ports
}

// group is what a Service's slices of one groupKey should hold.
type group struct {
	key       groupKey
	ports     []api.EndpointSlicePort // sorted by name
	endpoints map[string]api.Endpoint // by endpointKey
}

// desiredGroups returns the endpoints of svc for pods, the pods of its
// namespace its selector matches, grouped by slice key. zoneOf returns the
// zone of a node ("" if unknown); it may be nil.
func desiredGroups(svc *api.Service, pods []*api.Pod, zoneOf func(node string) string) map[groupKey]*group {
	groups := map[groupKey]*group{}
	for _, family := range ctrlutil.ServiceIPFamilies(svc, pods) {
		at := api.AddressTypeIPv4
		if family == api.IPv6Protocol {
			at = api.AddressTypeIPv6
		}
		for _, p := range pods {
			if p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed {
				continue
			}
			ip, ok := ctrlutil.PodIPOfFamily(p, family)
			if !ok {
				continue
			}
			ports, ok := podPorts(svc, p)
			if !ok {
				continue
			}
			key := groupKey{addressType: at, ports: portsKey(ports)}
			g := groups[key]
			if g == nil {
				g = &group{key: key, ports: ports, endpoints: map[string]api.Endpoint{}}
				groups[key] = g
			}
			ep := podEndpoint(svc, p, ip, zoneOf)
			g.endpoints[endpointKey(ep)] = ep
		}
	}
	return groups
}

// podPorts returns the ports of svc that p serves, sorted by name, and
// false if svc has ports and p serves none of them. A Service without
// ports gives every pod the empty port set.
func podPorts(svc *api.Service, p *api.Pod) ([]api.EndpointSlicePort, bool) {
	if len(svc.Spec.Ports) == 0 {
		return nil, true
	}
	var out []api.EndpointSlicePort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		n, err := ctrlutil.FindPort(p, sp)
		if err != nil {
			continue
		}
		proto := sp.Protocol
		if proto == "" {
			proto = api.ProtocolTCP
		}
		name := sp.Name
		out = append(out, api.EndpointSlicePort{Name: &name, Port: &n, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	if len(out) == 0 {
		return nil, false
	}
	slices.SortFunc(out, func(a, b api.EndpointSlicePort) int { return strings.Compare(deref(a.Name), deref(b.Name)) })
	return out, true
}

// portsKey identifies a port set; ports are sorted first (a copy).
func portsKey(ports []api.EndpointSlicePort) string {
	ports = slices.Clone(ports)
	slices.SortFunc(ports, func(a, b api.EndpointSlicePort) int {
		return cmp.Or(strings.Compare(deref(a.Name), deref(b.Name)), cmp.Compare(derefPort(a.Port), derefPort(b.Port)))
	})
	var b strings.Builder
	for _, p := range ports {
		proto := api.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		b.WriteString(deref(p.Name))
		b.WriteByte('/')
		if p.Port != nil {
			b.WriteString(strconv.Itoa(int(*p.Port)))
		}
		b.WriteByte('/')
		b.WriteString(string(proto))
		if p.AppProtocol != nil {
			b.WriteByte('/')
			b.WriteString(*p.AppProtocol)
		}
		b.WriteByte(';')
	}
	return b.String()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefPort(p *int32) int32 {
	if p == nil {
		return -1
	}
	return *p
}

// podEndpoint returns the endpoint of pod p at ip for svc.
func podEndpoint(svc *api.Service, p *api.Pod, ip string, zoneOf func(string) string) api.Endpoint {
	serving := ctrlutil.IsPodReady(p)
	terminating := p.DeletionTimestamp != nil
	// A terminating pod is never ready (it takes no new connections),
	// unless the Service asks for every pod to be published.
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := api.Endpoint{
		Addresses:  []string{ip},
		Conditions: api.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &api.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
	}
	if node := p.Spec.NodeName; node != "" {
		ep.NodeName = &node
		if zoneOf != nil {
			if zone := zoneOf(node); zone != "" {
				ep.Zone = &zone
			}
		}
	}
	if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name {
		host := p.Spec.Hostname
		ep.Hostname = &host
	}
	return ep
}

// endpointKey identifies the backend of an endpoint: its pod (name and
// uid, so a pod re-created under its name is a new backend), or its first
// address when it has no targetRef.
func endpointKey(ep api.Endpoint) string {
	if r := ep.TargetRef; r != nil {
		return "pod/" + r.Name + "/" + string(r.UID)
	}
	if len(ep.Addresses) > 0 {
		return "ip/" + ep.Addresses[0]
	}
	return ""
}

// sameJSON reports whether a and b look the same on the wire, where a
// missing list and an empty one, or a nil pointer and an omitted field,
// are the same.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// sliceLabels returns the labels of svc's slices.
func sliceLabels(svc *api.Service) map[string]string {
	out := maps.Clone(svc.Labels)
	if out == nil {
		out = map[string]string{}
	}
	out[api.LabelServiceName] = svc.Name
	out[api.LabelManagedBy] = ManagedByValue
	if svc.Spec.ClusterIP == api.ClusterIPNone {
		out[HeadlessLabel] = ""
	}
	return out
}

// plan is what to write for one Service: the slices to create, the
// slices to update (modified copies of the cached ones) and those to
// delete (the cached ones).
type plan struct {
	create, update, delete []*api.EndpointSlice
}

// writes returns how many API calls p takes.
func (p plan) writes() int { return len(p.create) + len(p.update) + len(p.delete) }

// planSlices returns what to write so that svc's slices hold exactly the
// endpoints of groups, at most max per slice, given existing, the slices
// this controller manages for svc's name (from the cache: they are not
// modified). Slices controlled by another object (an earlier Service of
// the same name) or of a group no longer wanted are deleted.
//
// Per group it keeps churn low:
//
//  1. each existing slice keeps the endpoints still wanted, rewritten
//     where they changed, and drops the others (and any beyond max); a
//     slice with a change, or whose labels are stale, is "dirty": it will
//     be written anyway;
//  2. the endpoints not yet placed fill the dirty slices first, emptied
//     ones included, in name order;
//  3. then full slices of max are created for as long as max are left;
//  4. the rest (fewer than max) goes into the fullest clean slice that has
//     room for all of it (one update), or else into a new slice (one
//     create);
//  5. a slice left empty is deleted; a clean slice is not written.
func planSlices(svc *api.Service, groups map[groupKey]*group, existing []*api.EndpointSlice, max int) plan {
	var out plan
	labels := sliceLabels(svc)
	byKey := map[groupKey][]*api.EndpointSlice{}
	for _, s := range existing {
		key := groupKey{addressType: s.AddressType, ports: portsKey(s.Ports)}
		if !s.IsControlledBy(svc.UID) || groups[key] == nil {
			out.delete = append(out.delete, s)
			continue
		}
		byKey[key] = append(byKey[key], s)
	}
	keys := slices.SortedFunc(maps.Keys(groups), func(a, b groupKey) int {
		return cmp.Or(strings.Compare(string(a.addressType), string(b.addressType)), strings.Compare(a.ports, b.ports))
	})
	for _, k := range keys {
		planGroup(&out, svc, groups[k], byKey[k], labels, max)
	}
	slices.SortFunc(out.delete, func(a, b *api.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// slot is one slice being planned.
type slot struct {
	orig  *api.EndpointSlice // nil: to create
	eps   []api.Endpoint
	dirty bool
}

func planGroup(out *plan, svc *api.Service, g *group, existing []*api.EndpointSlice, labels map[string]string, max int) {
	existing = slices.Clone(existing)
	slices.SortFunc(existing, func(a, b *api.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	remaining := maps.Clone(g.endpoints)

	// 1. Keep what is still wanted where it is.
	slots := make([]*slot, 0, len(existing))
	for _, s := range existing {
		st := &slot{orig: s, dirty: !maps.Equal(s.Labels, labels)}
		for _, ep := range s.Endpoints {
			k := endpointKey(ep)
			want, ok := remaining[k]
			if !ok || len(st.eps) >= max {
				st.dirty = true
				continue
			}
			delete(remaining, k)
			if !sameJSON(ep, want) {
				st.dirty = true
			}
			st.eps = append(st.eps, want)
		}
		slots = append(slots, st)
	}

	pending := slices.Sorted(maps.Keys(remaining))
	fill := func(st *slot) {
		for len(pending) > 0 && len(st.eps) < max {
			st.eps = append(st.eps, remaining[pending[0]])
			pending = pending[1:]
			st.dirty = true
		}
	}
	// 2. Fill the slices written anyway.
	for _, st := range slots {
		if st.dirty {
			fill(st)
		}
	}
	// 3. Full new slices.
	for len(pending) >= max {
		st := &slot{}
		fill(st)
		slots = append(slots, st)
	}
	// 4. The rest: into the fullest clean slice it fits in, or a new one.
	if len(pending) > 0 {
		var best *slot
		for _, st := range slots {
			if st.dirty || st.orig == nil || max-len(st.eps) < len(pending) {
				continue
			}
			if best == nil || len(st.eps) > len(best.eps) {
				best = st
			}
		}
		if best == nil {
			best = &slot{}
			slots = append(slots, best)
		}
		fill(best)
	}

	// 5. Write what changed.
	for _, st := range slots {
		switch {
		case st.orig == nil:
			out.create = append(out.create, newSlice(svc, g, labels, st.eps))
		case len(st.eps) == 0:
			out.delete = append(out.delete, st.orig)
		case st.dirty:
			next := api.DeepCopy(st.orig)
			next.Labels = maps.Clone(labels)
			next.Endpoints = st.eps
			next.Ports = clonePorts(g.ports)
			out.update = append(out.update, next)
		}
	}
}

// newSlice returns a slice of g for svc holding eps.
func newSlice(svc *api.Service, g *group, labels map[string]string, eps []api.Endpoint) *api.EndpointSlice {
	return &api.EndpointSlice{
		TypeMeta: api.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta: api.ObjectMeta{
			Namespace:       svc.Namespace,
			GenerateName:    generateNamePrefix(svc.Name),
			Labels:          maps.Clone(labels),
			OwnerReferences: []api.OwnerReference{api.NewControllerRef(svc, serviceGVK)},
		},
		AddressType: g.key.addressType,
		Endpoints:   eps,
		Ports:       clonePorts(g.ports),
	}
}

// clonePorts copies ports deeply enough that writing one slice's never
// touches another's.
func clonePorts(ports []api.EndpointSlicePort) []api.EndpointSlicePort {
	if ports == nil {
		return nil
	}
	out := make([]api.EndpointSlicePort, len(ports))
	for i := range ports {
		ports[i].DeepCopyInto(&out[i])
	}
	return out
}

// generateNamePrefix returns "<name>-", cut so the name the API server
// generates (5 more characters) stays within 63.
func generateNamePrefix(name string) string {
	const maxPrefix = 58
	p := name + "-"
	if len(p) > maxPrefix {
		p = p[:maxPrefix]
	}
	return p
}
