package ctrlutil

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
)

// This file holds what the endpoints and EndpointSlice controllers share:
// which Services select a pod, which port of a pod a Service port targets,
// and which of a pod's IPs belongs to an address family.

// ServiceWantsEndpoints reports whether the endpoints controllers manage
// svc's endpoints: it has a selector (a Service without one has them
// managed by someone else) and is not of type ExternalName (a DNS alias,
// which has none).
func ServiceWantsEndpoints(svc *api.Service) bool {
	return len(svc.Spec.Selector) > 0 && svc.Spec.Type != api.ServiceTypeExternalName
}

// ServiceSelects reports whether svc picks pods labelled podLabels for its
// endpoints: ServiceWantsEndpoints, and every key of its selector matches.
func ServiceSelects(svc *api.Service, podLabels map[string]string) bool {
	if !ServiceWantsEndpoints(svc) {
		return false
	}
	return labels.Set(svc.Spec.Selector).AsSelector().Matches(labels.Set(podLabels))
}

// ServicesSelecting returns those of services (one namespace's, from a
// cache: never modify them) whose selector picks pod p.
func ServicesSelecting(services []*api.Service, p *api.Pod) []*api.Service {
	var out []*api.Service
	for _, svc := range services {
		if svc.Namespace == p.Namespace && ServiceSelects(svc, p.Labels) {
			out = append(out, svc)
		}
	}
	return out
}

// FindPort returns the number of the port of pod p that Service port sp
// sends traffic to. A numeric targetPort is the number itself (an unset
// one, 0, means sp.Port); a named one is looked up among the ports of p's
// containers with that name and sp's protocol. It fails, naming the pod and the port, when p
// has no port of that name.
func FindPort(p *api.Pod, sp *api.ServicePort) (int32, error) {
	tp := sp.TargetPort
	if tp.Type == api.IntOrStringInt {
		if tp.IntVal == 0 {
			return sp.Port, nil
		}
		return tp.IntVal, nil
	}
	proto := protocolOrTCP(sp.Protocol)
	for i := range p.Spec.Containers {
		for _, cp := range p.Spec.Containers[i].Ports {
			if cp.Name == tp.StrVal && protocolOrTCP(cp.Protocol) == proto {
				return cp.ContainerPort, nil
			}
		}
	}
	return 0, fmt.Errorf("pod %s/%s has no %s container port named %q (service port %q targets it)", p.Namespace, p.Name, proto, tp.StrVal, sp.Name)
}

func protocolOrTCP(p api.Protocol) api.Protocol {
	if p == "" {
		return api.ProtocolTCP
	}
	return p
}

// IPFamilyOf returns the family of ip, and false if ip is not an IP
// address.
func IPFamilyOf(ip string) (api.IPFamily, bool) {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil:
		return "", false
	case a.Is4() || a.Is4In6():
		return api.IPv4Protocol, true
	}
	return api.IPv6Protocol, true
}

// PodIPOfFamily returns p's IP of family f (from status.podIPs, or
// status.podIP when podIPs is empty), and false if it has none.
func PodIPOfFamily(p *api.Pod, f api.IPFamily) (string, bool) {
	ips := make([]string, 0, 2)
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && p.Status.PodIP != "" {
		ips = append(ips, p.Status.PodIP)
	}
	for _, ip := range ips {
		if got, ok := IPFamilyOf(ip); ok && got == f {
			return ip, true
		}
	}
	return "", false
}

// ServiceIPFamilies returns the address families svc's endpoints are
// published in: spec.ipFamilies, else the families of its cluster IPs,
// else (a headless Service with neither) those of pods' IPs, the
// primary family first.
func ServiceIPFamilies(svc *api.Service, pods []*api.Pod) []api.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies
	}
	var out []api.IPFamily
	add := func(ip string) {
		if f, ok := IPFamilyOf(ip); ok && !containsFamily(out, f) {
			out = append(out, f)
		}
	}
	for _, ip := range svc.Spec.ClusterIPs {
		add(ip)
	}
	if len(out) == 0 {
		add(svc.Spec.ClusterIP)
	}
	if len(out) > 0 {
		return out
	}
	for _, p := range pods {
		for _, ip := range p.Status.PodIPs {
			add(ip.IP)
		}
		add(p.Status.PodIP)
	}
	if len(out) == 0 {
		out = append(out, api.IPv4Protocol)
	}
	return out
}

func containsFamily(fs []api.IPFamily, f api.IPFamily) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// PodEndpointsChanged reports whether the change of a pod from old to p
// can change an endpoint built from it: its labels, IPs, readiness, phase,
// deletion, node, hostname, subdomain or container ports. The endpoints
// controllers drop the pod updates for which it is false (most status
// writes of a running pod).
func PodEndpointsChanged(old, p *api.Pod) bool {
	if !maps.Equal(old.Labels, p.Labels) ||
		(old.DeletionTimestamp == nil) != (p.DeletionTimestamp == nil) ||
		old.Status.Phase != p.Status.Phase ||
		old.Status.PodIP != p.Status.PodIP ||
		!slices.Equal(old.Status.PodIPs, p.Status.PodIPs) ||
		IsPodReady(old) != IsPodReady(p) ||
		old.Spec.NodeName != p.Spec.NodeName ||
		old.Spec.Hostname != p.Spec.Hostname ||
		old.Spec.Subdomain != p.Spec.Subdomain ||
		len(old.Spec.Containers) != len(p.Spec.Containers) {
		return true
	}
	for i := range p.Spec.Containers {
		if !slices.Equal(old.Spec.Containers[i].Ports, p.Spec.Containers[i].Ports) {
			return true
		}
	}
	return false
}
