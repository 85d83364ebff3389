package endpoints

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// This file is the controller's pure core: from a Service, the pods its
// selector picks and the Endpoints as they are, what to write. No I/O.

// action is what the reconciler does with a Service's Endpoints.
type action int

const (
	actNone   action = iota // the Endpoints are right, or not ours
	actCreate               // create the returned Endpoints
	actUpdate               // update to the returned Endpoints
	actDelete               // delete the current Endpoints
)

func (a action) String() string {
	return [...]string{"none", "create", "update", "delete"}[a]
}

// decide returns what to do with cur, the Endpoints named after the
// Service (nil if there are none), given svc (nil if it is gone) and pods,
// the pods of its namespace its selector matches. For actCreate and
// actUpdate it returns the object to write: a new one, or a copy of cur
// with the changes. now stamps LastChangeTriggerTimeAnnotation.
func decide(svc *api.Service, pods []*api.Pod, cur *api.Endpoints, now time.Time) (action, *api.Endpoints) {
	if svc == nil || !ctrlutil.ServiceWantsEndpoints(svc) {
		if cur != nil && isManaged(cur) {
			return actDelete, nil
		}
		return actNone, nil
	}
	if svc.DeletionTimestamp != nil {
		// Being deleted: the Endpoints go once the Service is gone.
		return actNone, nil
	}
	want, truncated := truncate(subsets(svc, pods), MaxAddresses)
	lbls := endpointsLabels(svc)
	if cur != nil && isManaged(cur) && equalSubsets(cur.Subsets, want) && maps.Equal(cur.Labels, lbls) &&
		(cur.Annotations[OverCapacityAnnotation] == "truncated") == truncated {
		return actNone, nil
	}
	next := &api.Endpoints{
		TypeMeta:   api.TypeMeta{APIVersion: "v1", Kind: "Endpoints"},
		ObjectMeta: api.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name},
	}
	act := actCreate
	if cur != nil {
		next, act = api.DeepCopy(cur), actUpdate
	}
	next.Labels = lbls
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[ManagedByAnnotation] = ManagedByValue
	next.Annotations[LastChangeTriggerTimeAnnotation] = now.UTC().Format(time.RFC3339Nano)
	delete(next.Annotations, OverCapacityAnnotation)
	if truncated {
		next.Annotations[OverCapacityAnnotation] = "truncated"
	}
	next.Subsets = want
	return act, next
}

// truncate cuts subs down to at most max addresses in all, keeping the
// ready ones first (in subset order), and reports whether it cut any.
// Subsets left empty are dropped.
func truncate(subs []api.EndpointSubset, max int) ([]api.EndpointSubset, bool) {
	total, ready := 0, 0
	for _, s := range subs {
		total += len(s.Addresses) + len(s.NotReadyAddresses)
		ready += len(s.Addresses)
	}
	if total <= max {
		return subs, false
	}
	readyLeft, notReadyLeft := min(ready, max), max-min(ready, max)
	out := make([]api.EndpointSubset, 0, len(subs))
	for _, s := range subs {
		n := min(len(s.Addresses), readyLeft)
		s.Addresses, readyLeft = s.Addresses[:n:n], readyLeft-n
		n = min(len(s.NotReadyAddresses), notReadyLeft)
		s.NotReadyAddresses, notReadyLeft = s.NotReadyAddresses[:n:n], notReadyLeft-n
		if len(s.Addresses) == 0 {
			s.Addresses = nil
		}
		if len(s.NotReadyAddresses) == 0 {
			s.NotReadyAddresses = nil
		}
		if s.Addresses != nil || s.NotReadyAddresses != nil {
			out = append(out, s)
		}
	}
	return out, true
}

// isManaged reports whether this controller manages ep.
func isManaged(ep *api.Endpoints) bool { return ep.Annotations[ManagedByAnnotation] == ManagedByValue }

// endpointsLabels returns the labels of svc's Endpoints: svc's, and
// HeadlessLabel for a headless Service. nil when there are none, as the
// API server returns them.
func endpointsLabels(svc *api.Service) map[string]string {
	var out map[string]string
	if len(svc.Labels) > 0 {
		out = maps.Clone(svc.Labels)
	}
	if svc.Spec.ClusterIP == api.ClusterIPNone {
		if out == nil {
			out = map[string]string{}
		}
		out[HeadlessLabel] = ""
	}
	return out
}

// equalSubsets compares subsets as they are on the wire, where an empty
// list and a missing one are the same.
func equalSubsets(a, b []api.EndpointSubset) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// subsets returns the subsets of svc's Endpoints for pods, the pods of its
// namespace its selector matches (in any order), as the package doc
// describes: addresses grouped by their resolved port sets, everything
// sorted. It is nil when no pod qualifies.
func subsets(svc *api.Service, pods []*api.Pod) []api.EndpointSubset {
	family := ctrlutil.ServiceIPFamilies(svc, pods)[0]
	type group struct {
		key string
		sub api.EndpointSubset
	}
	groups := map[string]*group{}
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
		key := portsKey(ports)
		g := groups[key]
		if g == nil {
			g = &group{key: key, sub: api.EndpointSubset{Ports: ports}}
			groups[key] = g
		}
		addr := address(svc, p, ip)
		if svc.Spec.PublishNotReadyAddresses || (ctrlutil.IsPodReady(p) && p.DeletionTimestamp == nil) {
			g.sub.Addresses = append(g.sub.Addresses, addr)
		} else {
			g.sub.NotReadyAddresses = append(g.sub.NotReadyAddresses, addr)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	sorted := slices.SortedFunc(maps.Values(groups), func(a, b *group) int { return strings.Compare(a.key, b.key) })
	out := make([]api.EndpointSubset, 0, len(sorted))
	for _, g := range sorted {
		slices.SortFunc(g.sub.Addresses, compareAddresses)
		slices.SortFunc(g.sub.NotReadyAddresses, compareAddresses)
		out = append(out, g.sub)
	}
	return out
}

// podPorts returns the ports of svc that p serves, sorted, and false if
// svc has ports and p serves none of them. A Service without ports (a
// headless one may have none) gives every pod the empty port set.
func podPorts(svc *api.Service, p *api.Pod) ([]api.EndpointPort, bool) {
	if len(svc.Spec.Ports) == 0 {
		return nil, true
	}
	var out []api.EndpointPort
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
		out = append(out, api.EndpointPort{Name: sp.Name, Port: n, Protocol: proto, AppProtocol: sp.AppProtocol})
	}
	if len(out) == 0 {
		return nil, false
	}
	slices.SortFunc(out, func(a, b api.EndpointPort) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Port, b.Port), strings.Compare(string(a.Protocol), string(b.Protocol)))
	})
	return out, true
}

// portsKey identifies a sorted port set.
func portsKey(ports []api.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		b.WriteString(p.Name)
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(int(p.Port)))
		b.WriteByte('/')
		b.WriteString(string(p.Protocol))
		if p.AppProtocol != nil {
			b.WriteByte('/')
			b.WriteString(*p.AppProtocol)
		}
		b.WriteByte(';')
	}
	return b.String()
}

// address returns the address of pod p, at ip, in svc's Endpoints.
func address(svc *api.Service, p *api.Pod, ip string) api.EndpointAddress {
	a := api.EndpointAddress{
		IP:        ip,
		TargetRef: &api.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
	}
	if p.Spec.NodeName != "" {
		node := p.Spec.NodeName
		a.NodeName = &node
	}
	if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name {
		a.Hostname = p.Spec.Hostname
	}
	return a
}

// compareAddresses orders addresses by IP, then by pod name (two
// host-network pods may share an IP).
func compareAddresses(a, b api.EndpointAddress) int {
	return cmp.Or(strings.Compare(a.IP, b.IP), strings.Compare(refName(a.TargetRef), refName(b.TargetRef)))
}

func refName(r *api.ObjectReference) string {
	if r == nil {
		return ""
	}
	return r.Name
}
