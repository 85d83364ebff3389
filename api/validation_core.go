package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/drover-io/drover/internal/names"
)

// This file holds the rules of the core kinds other than Pod: Namespace,
// Node, Service, Endpoints, ConfigMap, Secret and Event.

// ---------------------------------------------------------------------------
// Namespace

func validateNamespace(ns *Namespace) ErrorList {
	errs := validateBuiltinMeta(ns)
	for i, f := range ns.Spec.Finalizers {
		fp := NewPath("spec", "finalizers").Index(i)
		if msgs := names.IsQualifiedName(string(f)); len(msgs) > 0 {
			for _, msg := range msgs {
				errs = append(errs, Invalid(fp, string(f), msg))
			}
		} else if !strings.Contains(string(f), "/") && f != FinalizerKubernetes {
			errs = append(errs, Invalid(fp, string(f), "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

func validateNamespaceStatus(st *NamespaceStatus, p *Path) ErrorList {
	var errs ErrorList
	if st.Phase != "" && st.Phase != NamespaceActive && st.Phase != NamespaceTerminating {
		errs = append(errs, NotSupported(p.Child("phase"), st.Phase, []NamespacePhase{NamespaceActive, NamespaceTerminating}))
	}
	for i, c := range st.Conditions {
		errs = append(errs, validateConditionStatus(c.Status, p.Child("conditions").Index(i).Child("status"))...)
	}
	return errs
}

// ---------------------------------------------------------------------------
// Node

func validateNode(n *Node) ErrorList {
	errs := validateBuiltinMeta(n)
	sp := NewPath("spec")
	if n.Spec.PodCIDR != "" {
		errs = append(errs, validateCIDR(n.Spec.PodCIDR, sp.Child("podCIDR"))...)
	}
	if len(n.Spec.PodCIDRs) > 2 {
		errs = append(errs, TooMany(sp.Child("podCIDRs"), len(n.Spec.PodCIDRs), 2))
	}
	families := make(map[bool]bool, 2)
	for i, c := range n.Spec.PodCIDRs {
		cp := sp.Child("podCIDRs").Index(i)
		if e := validateCIDR(c, cp); len(e) > 0 {
			errs = append(errs, e...)
			continue
		}
		is4 := netip.MustParsePrefix(c).Addr().Is4()
		if families[is4] {
			errs = append(errs, Invalid(cp, c, "may specify no more than one CIDR for each IP family"))
		}
		families[is4] = true
	}
	if n.Spec.PodCIDR != "" && len(n.Spec.PodCIDRs) > 0 && n.Spec.PodCIDRs[0] != n.Spec.PodCIDR {
		errs = append(errs, Invalid(sp.Child("podCIDRs").Index(0), n.Spec.PodCIDRs[0], "must match `podCIDR`"))
	}
	errs = append(errs, validateTaints(n.Spec.Taints, sp.Child("taints"))...)
	return append(errs, validateNodeStatus(&n.Status, NewPath("status"))...)
}

func validateCIDR(c string, p *Path) ErrorList {
	if pr, err := netip.ParsePrefix(c); err != nil || pr.Addr().Zone() != "" {
		return ErrorList{Invalid(p, c, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")}
	}
	return nil
}

func validateTaints(taints []Taint, p *Path) ErrorList {
	var errs ErrorList
	type keyEffect struct {
		key    string
		effect TaintEffect
	}
	seen := make(map[keyEffect]bool, len(taints))
	for i, t := range taints {
		tp := p.Index(i)
		errs = append(errs, validateLabelKey(t.Key, tp.Child("key"))...)
		for _, msg := range names.IsValidLabelValue(t.Value) {
			errs = append(errs, Invalid(tp.Child("value"), t.Value, msg))
		}
		errs = append(errs, validateTaintEffect(t.Effect, tp.Child("effect"))...)
		k := keyEffect{t.Key, t.Effect}
		if seen[k] {
			errs = append(errs, withDetail(Duplicate(tp, t.Key+":"+string(t.Effect)), "taints must be unique by key and effect pair"))
		}
		seen[k] = true
	}
	return errs
}

func validateNodeStatus(st *NodeStatus, p *Path) ErrorList {
	var errs ErrorList
	for _, l := range []struct {
		name string
		list ResourceList
	}{{"capacity", st.Capacity}, {"allocatable", st.Allocatable}} {
		for _, name := range sortedResourceNames(l.list) {
			rp := p.Child(l.name).Key(string(name))
			errs = append(errs, validateResourceName(name, rp)...)
			errs = append(errs, validateResourceQuantity(name, l.list[name], rp)...)
		}
	}
	for i, c := range st.Conditions {
		errs = append(errs, validateConditionStatus(c.Status, p.Child("conditions").Index(i).Child("status"))...)
	}
	return errs
}

// nodePodCIDRs returns the pod CIDRs of a node, from podCIDRs or podCIDR.
func nodePodCIDRs(n *Node) []string {
	if len(n.Spec.PodCIDRs) > 0 || n.Spec.PodCIDR == "" {
		return n.Spec.PodCIDRs
	}
	return []string{n.Spec.PodCIDR}
}

func validateNodeUpdate(n, old *Node) ErrorList {
	var errs ErrorList
	if o := nodePodCIDRs(old); len(o) > 0 && !slices.Equal(nodePodCIDRs(n), o) {
		errs = append(errs, Forbidden(NewPath("spec", "podCIDRs"), `node updates may not change podCIDR except from "" to valid`))
	}
	if old.Spec.ProviderID != "" && n.Spec.ProviderID != old.Spec.ProviderID {
		errs = append(errs, Forbidden(NewPath("spec", "providerID"), `node updates may not change providerID except from "" to valid`))
	}
	return errs
}

// ---------------------------------------------------------------------------
// Service

var serviceTypes = []ServiceType{ServiceTypeClusterIP, ServiceTypeExternalName, ServiceTypeLoadBalancer, ServiceTypeNodePort}

// serviceType returns the type of a Service, ClusterIP when unset.
func serviceType(spec *ServiceSpec) ServiceType {
	if spec.Type == "" {
		return ServiceTypeClusterIP
	}
	return spec.Type
}

// isHeadless reports whether a Service's cluster IP is "None".
func isHeadless(spec *ServiceSpec) bool {
	return spec.ClusterIP == ClusterIPNone || len(spec.ClusterIPs) > 0 && spec.ClusterIPs[0] == ClusterIPNone
}

func validateService(svc *Service) ErrorList {
	errs := validateBuiltinMeta(svc)
	spec, sp := &svc.Spec, NewPath("spec")
	typ := serviceType(spec)
	if !slices.Contains(serviceTypes, typ) {
		errs = append(errs, NotSupported(sp.Child("type"), typ, serviceTypes))
	}
	if len(spec.Ports) == 0 && !isHeadless(spec) && typ != ServiceTypeExternalName {
		errs = append(errs, Required(sp.Child("ports"), ""))
	}
	switch typ {
	case ServiceTypeLoadBalancer, ServiceTypeNodePort:
		if isHeadless(spec) {
			errs = append(errs, Invalid(sp.Child("clusterIP"), ClusterIPNone, fmt.Sprintf("may not be set to 'None' for %s services", typ)))
		}
	case ServiceTypeExternalName:
		const msg = "may not be set for ExternalName services"
		if spec.ClusterIP != "" {
			errs = append(errs, Forbidden(sp.Child("clusterIP"), msg))
		}
		if len(spec.ClusterIPs) > 0 {
			errs = append(errs, Forbidden(sp.Child("clusterIPs"), msg))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, Forbidden(sp.Child("ipFamilies"), msg))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, Forbidden(sp.Child("ipFamilyPolicy"), msg))
		}
		// A trailing dot marks the name as fully qualified.
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname == "" {
			errs = append(errs, Required(sp.Child("externalName"), ""))
		} else {
			errs = append(errs, validateDNSSubdomain(cname, sp.Child("externalName"))...)
		}
	}
	errs = append(errs, validateServicePorts(spec, typ, sp.Child("ports"))...)
	errs = append(errs, ValidateLabels(spec.Selector, sp.Child("selector"))...)
	if a := spec.SessionAffinity; a != "" && a != ServiceAffinityNone && a != ServiceAffinityClientIP {
		errs = append(errs, NotSupported(sp.Child("sessionAffinity"), a, []ServiceAffinity{ServiceAffinityClientIP, ServiceAffinityNone}))
	}
	if typ != ServiceTypeExternalName {
		errs = append(errs, validateClusterIPs(spec, sp)...)
	}
	for i, ip := range spec.ExternalIPs {
		errs = append(errs, validateEndpointIP(ip, sp.Child("externalIPs").Index(i))...)
	}
	if ip := spec.LoadBalancerIP; ip != "" {
		errs = append(errs, validateIP(ip, sp.Child("loadBalancerIP"))...)
	}
	if pol := spec.ExternalTrafficPolicy; pol != "" {
		externallyAccessible := typ == ServiceTypeNodePort || typ == ServiceTypeLoadBalancer ||
			typ == ServiceTypeClusterIP && len(spec.ExternalIPs) > 0
		switch {
		case pol != ServiceExternalTrafficPolicyCluster && pol != ServiceExternalTrafficPolicyLocal:
			errs = append(errs, NotSupported(sp.Child("externalTrafficPolicy"), pol,
				[]ServiceExternalTrafficPolicy{ServiceExternalTrafficPolicyCluster, ServiceExternalTrafficPolicyLocal}))
		case !externallyAccessible:
			errs = append(errs, Invalid(sp.Child("externalTrafficPolicy"), string(pol), "may only be set for externally-accessible services"))
		}
	}
	if pol := spec.InternalTrafficPolicy; pol != nil && *pol != ServiceInternalTrafficPolicyCluster && *pol != ServiceInternalTrafficPolicyLocal {
		errs = append(errs, NotSupported(sp.Child("internalTrafficPolicy"), *pol,
			[]ServiceInternalTrafficPolicy{ServiceInternalTrafficPolicyCluster, ServiceInternalTrafficPolicyLocal}))
	}
	return errs
}

func validateServicePorts(spec *ServiceSpec, typ ServiceType, p *Path) ErrorList {
	var errs ErrorList
	type portKey struct {
		port  int32
		proto Protocol
	}
	portNames := make(map[string]bool, len(spec.Ports))
	ports := make(map[portKey]bool, len(spec.Ports))
	nodePorts := make(map[portKey]bool, len(spec.Ports))
	for i, port := range spec.Ports {
		pp := p.Index(i)
		errs = append(errs, validateNamedPort(port.Name, len(spec.Ports), portNames, pp.Child("name"))...)
		errs = append(errs, validatePortNum(port.Port, pp.Child("port"))...)
		errs = append(errs, validateProtocol(port.Protocol, pp.Child("protocol"))...)
		if tp := port.TargetPort; !tp.IsZero() && tp != FromString("") {
			errs = append(errs, validatePortNumOrName(tp, pp.Child("targetPort"))...)
		}
		if ap := port.AppProtocol; ap != nil {
			errs = append(errs, validateQualifiedName(*ap, pp.Child("appProtocol"))...)
		}
		proto := port.Protocol
		if proto == "" {
			proto = ProtocolTCP
		}
		if port.NodePort != 0 {
			if typ != ServiceTypeNodePort && typ != ServiceTypeLoadBalancer {
				errs = append(errs, Forbidden(pp.Child("nodePort"), fmt.Sprintf("may not be used when `type` is '%s'", typ)))
			} else {
				errs = append(errs, validatePortNum(port.NodePort, pp.Child("nodePort"))...)
			}
			k := portKey{port.NodePort, proto}
			if nodePorts[k] {
				errs = append(errs, Duplicate(pp.Child("nodePort"), port.NodePort))
			}
			nodePorts[k] = true
		}
		k := portKey{port.Port, proto}
		if ports[k] {
			errs = append(errs, Duplicate(pp, fmt.Sprintf("%d/%s", port.Port, proto)))
		}
		ports[k] = true
	}
	return errs
}

// validateClusterIPs checks clusterIP, clusterIPs, ipFamilies and
// ipFamilyPolicy of a Service that is not ExternalName.
func validateClusterIPs(spec *ServiceSpec, sp *Path) ErrorList {
	var errs ErrorList
	if ip := spec.ClusterIP; ip != "" && ip != ClusterIPNone && len(names.IsValidIP(ip)) > 0 {
		errs = append(errs, Invalid(sp.Child("clusterIP"), ip, `must be empty, "None", or a valid IP address`))
	}
	cp := sp.Child("clusterIPs")
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, TooMany(cp, len(spec.ClusterIPs), 2))
	}
	var addrs []netip.Addr // the leading valid IPs of clusterIPs (or clusterIP)
	if len(spec.ClusterIPs) == 0 {
		if a, err := netip.ParseAddr(spec.ClusterIP); err == nil && a.Zone() == "" {
			addrs = append(addrs, a)
		}
	}
	for i, ip := range spec.ClusterIPs {
		if ip == ClusterIPNone {
			if len(spec.ClusterIPs) > 1 {
				errs = append(errs, Invalid(cp.Index(i), ip, `"None" must be the only value`))
			}
			continue
		}
		if len(names.IsValidIP(ip)) > 0 {
			errs = append(errs, Invalid(cp.Index(i), ip, `must be "None" or a valid IP address`))
			continue
		}
		a := netip.MustParseAddr(ip)
		if i > 0 && len(addrs) > 0 && addrs[0].Is4() == a.Is4() {
			errs = append(errs, Invalid(cp.Index(i), ip, "may specify no more than one IP for each IP family"))
		}
		if i == len(addrs) {
			addrs = append(addrs, a)
		}
	}
	if spec.ClusterIP != "" && len(spec.ClusterIPs) > 0 && spec.ClusterIPs[0] != spec.ClusterIP {
		errs = append(errs, Invalid(cp.Index(0), spec.ClusterIPs[0], "must match `clusterIP`"))
	}
	fp := sp.Child("ipFamilies")
	if len(spec.IPFamilies) > 2 {
		errs = append(errs, TooMany(fp, len(spec.IPFamilies), 2))
	}
	seen := make(map[IPFamily]bool, 2)
	for i, f := range spec.IPFamilies {
		if f != IPv4Protocol && f != IPv6Protocol {
			errs = append(errs, NotSupported(fp.Index(i), f, []IPFamily{IPv4Protocol, IPv6Protocol}))
			continue
		}
		if seen[f] {
			errs = append(errs, Duplicate(fp.Index(i), string(f)))
		}
		seen[f] = true
		if i < len(addrs) && addrs[i].Is4() != (f == IPv4Protocol) {
			ipPath := cp.Index(i)
			if len(spec.ClusterIPs) == 0 {
				ipPath = sp.Child("clusterIP")
			}
			errs = append(errs, Invalid(ipPath, addrs[i].String(), fmt.Sprintf("expected an %s value as indicated by `ipFamilies[%d]`", f, i)))
		}
	}
	if pol := spec.IPFamilyPolicy; pol != nil {
		pp := sp.Child("ipFamilyPolicy")
		switch *pol {
		case IPFamilyPolicySingleStack:
			if len(spec.IPFamilies) > 1 || len(spec.ClusterIPs) > 1 {
				errs = append(errs, Invalid(pp, string(*pol),
					"must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families or cluster IPs are specified"))
			}
		case IPFamilyPolicyPreferDualStack, IPFamilyPolicyRequireDualStack:
		default:
			errs = append(errs, NotSupported(pp, *pol, []IPFamilyPolicy{
				IPFamilyPolicyPreferDualStack, IPFamilyPolicyRequireDualStack, IPFamilyPolicySingleStack}))
		}
	}
	return errs
}

func validateServiceStatus(st *ServiceStatus, p *Path) ErrorList {
	var errs ErrorList
	for i, in := range st.LoadBalancer.Ingress {
		ip := p.Child("loadBalancer", "ingress").Index(i)
		if in.IP != "" {
			errs = append(errs, validateIP(in.IP, ip.Child("ip"))...)
		}
		if in.Hostname != "" {
			errs = append(errs, validateDNSSubdomain(in.Hostname, ip.Child("hostname"))...)
			if len(names.IsValidIP(in.Hostname)) == 0 {
				errs = append(errs, Invalid(ip.Child("hostname"), in.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

// serviceClusterIPs returns the cluster IPs of a Service, from clusterIPs or
// clusterIP.
func serviceClusterIPs(spec *ServiceSpec) []string {
	if len(spec.ClusterIPs) > 0 || spec.ClusterIP == "" {
		return spec.ClusterIPs
	}
	return []string{spec.ClusterIP}
}

// validateServiceUpdate checks that the cluster IPs do not change once
// allocated, except when the Service becomes or stops being ExternalName: a
// secondary IP may be added, or released with ipFamilyPolicy SingleStack.
func validateServiceUpdate(svc, old *Service) ErrorList {
	if serviceType(&svc.Spec) == ServiceTypeExternalName || serviceType(&old.Spec) == ServiceTypeExternalName {
		return nil
	}
	ips, oldIPs := serviceClusterIPs(&svc.Spec), serviceClusterIPs(&old.Spec)
	if len(oldIPs) == 0 {
		return nil
	}
	var errs ErrorList
	sp := NewPath("spec")
	if len(ips) == 0 || ips[0] != oldIPs[0] {
		p := sp.Child("clusterIPs").Index(0)
		if len(svc.Spec.ClusterIPs) == 0 {
			p = sp.Child("clusterIP")
		}
		primary := ""
		if len(ips) > 0 {
			primary = ips[0]
		}
		errs = append(errs, Invalid(p, primary, immutableMsg))
	}
	switch {
	case len(ips) == 2 && len(oldIPs) == 2 && ips[1] != oldIPs[1]:
		errs = append(errs, Invalid(sp.Child("clusterIPs").Index(1), ips[1], "may not change once set"))
	case len(ips) == 1 && len(oldIPs) == 2:
		if pol := svc.Spec.IPFamilyPolicy; pol == nil || *pol != IPFamilyPolicySingleStack {
			errs = append(errs, Invalid(sp.Child("clusterIPs"), ips, "`ipFamilyPolicy` must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// Endpoints

func validateEndpoints(ep *Endpoints) ErrorList {
	errs := validateBuiltinMeta(ep)
	for i, ss := range ep.Subsets {
		sp := NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, Required(sp, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, validateEndpointAddress(&ss.Addresses[j], sp.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, validateEndpointAddress(&ss.NotReadyAddresses[j], sp.Child("notReadyAddresses").Index(j))...)
		}
		seen := make(map[string]bool, len(ss.Ports))
		for j, port := range ss.Ports {
			pp := sp.Child("ports").Index(j)
			errs = append(errs, validateNamedPort(port.Name, len(ss.Ports), seen, pp.Child("name"))...)
			errs = append(errs, validatePortNum(port.Port, pp.Child("port"))...)
			errs = append(errs, validateProtocol(port.Protocol, pp.Child("protocol"))...)
			if ap := port.AppProtocol; ap != nil {
				errs = append(errs, validateQualifiedName(*ap, pp.Child("appProtocol"))...)
			}
		}
	}
	return errs
}

func validateEndpointAddress(a *EndpointAddress, p *Path) ErrorList {
	errs := validateEndpointIP(a.IP, p.Child("ip"))
	if a.Hostname != "" {
		errs = append(errs, validateDNSLabel(a.Hostname, p.Child("hostname"))...)
	}
	if n := a.NodeName; n != nil {
		errs = append(errs, validateDNSSubdomain(*n, p.Child("nodeName"))...)
	}
	return errs
}

// validateEndpointIP checks an IP that traffic is sent to: a valid address,
// neither unspecified nor link-local. Loopback addresses are allowed, unlike
// in Kubernetes, for pods that run in the host's network namespace on a
// single-machine cluster.
func validateEndpointIP(ip string, p *Path) ErrorList {
	if len(names.IsValidIP(ip)) > 0 {
		return validateIP(ip, p)
	}
	a := netip.MustParseAddr(ip)
	switch {
	case a.IsUnspecified():
		return ErrorList{Invalid(p, ip, fmt.Sprintf("may not be unspecified (%s)", ip))}
	case a.IsLinkLocalUnicast():
		return ErrorList{Invalid(p, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")}
	case a.IsLinkLocalMulticast():
		return ErrorList{Invalid(p, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")}
	}
	return nil
}

// ---------------------------------------------------------------------------
// ConfigMap and Secret

func validateConfigMap(cm *ConfigMap) ErrorList {
	errs := validateBuiltinMeta(cm)
	size := 0
	for _, k := range sortedKeys(cm.Data) {
		kp := NewPath("data").Key(k)
		errs = append(errs, validateDataKey(k, kp)...)
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, Invalid(kp, k, "duplicate of key present in binaryData"))
		}
		size += len(cm.Data[k])
	}
	for _, k := range sortedKeys(cm.BinaryData) {
		errs = append(errs, validateDataKey(k, NewPath("binaryData").Key(k))...)
		size += len(cm.BinaryData[k])
	}
	if size > maxDataSize {
		errs = append(errs, TooLong(nil, maxDataSize))
	}
	return errs
}

func validateDataKey(k string, p *Path) ErrorList {
	var errs ErrorList
	for _, msg := range names.IsConfigMapKey(k) {
		errs = append(errs, Invalid(p, k, msg))
	}
	return errs
}

const immutableDataMsg = "field is immutable when `immutable` is set"

func validateConfigMapUpdate(cm, old *ConfigMap) ErrorList {
	if old.Immutable == nil || !*old.Immutable {
		return nil
	}
	var errs ErrorList
	if cm.Immutable == nil || !*cm.Immutable {
		errs = append(errs, Forbidden(NewPath("immutable"), immutableDataMsg))
	}
	if !maps.Equal(cm.Data, old.Data) {
		errs = append(errs, Forbidden(NewPath("data"), immutableDataMsg))
	}
	if !maps.EqualFunc(cm.BinaryData, old.BinaryData, bytes.Equal) {
		errs = append(errs, Forbidden(NewPath("binaryData"), immutableDataMsg))
	}
	return errs
}

// The keys that Secrets of some types must have.
const (
	secretServiceAccountNameKey = "kubernetes.io/service-account.name"
	secretDockerConfigKey       = ".dockercfg"
	secretDockerConfigJSONKey   = ".dockerconfigjson"
	secretBasicAuthUsernameKey  = "username"
	secretBasicAuthPasswordKey  = "password"
	secretSSHAuthPrivateKey     = "ssh-privatekey"
	secretTLSCertKey            = "tls.crt"
	secretTLSPrivateKeyKey      = "tls.key"
)

// MergeStringData moves StringData into Data, StringData winning, as the
// API server stores a Secret: stringData is write-only input.
func (s *Secret) MergeStringData() {
	if len(s.StringData) == 0 {
		s.StringData = nil
		return
	}
	s.Data = secretData(s)
	s.StringData = nil
}

// secretData returns the data of a Secret as it is stored: data with
// stringData merged in, stringData winning.
func secretData(s *Secret) map[string][]byte {
	if len(s.StringData) == 0 {
		return s.Data
	}
	data := make(map[string][]byte, len(s.Data)+len(s.StringData))
	maps.Copy(data, s.Data)
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return data
}

func validateSecret(s *Secret) ErrorList {
	errs := validateBuiltinMeta(s)
	dp := NewPath("data")
	for _, k := range sortedKeys(s.Data) {
		errs = append(errs, validateDataKey(k, dp.Key(k))...)
	}
	for _, k := range sortedKeys(s.StringData) {
		if _, inData := s.Data[k]; !inData {
			errs = append(errs, validateDataKey(k, NewPath("stringData").Key(k))...)
		}
	}
	data := secretData(s)
	size := 0
	for _, v := range data {
		size += len(v)
	}
	if size > maxDataSize {
		errs = append(errs, TooLong(dp, maxDataSize))
	}
	require := func(keys ...string) {
		for _, k := range keys {
			if _, ok := data[k]; !ok {
				errs = append(errs, Required(dp.Key(k), ""))
			}
		}
	}
	requireJSON := func(key string) {
		v, ok := data[key]
		if !ok {
			require(key)
			return
		}
		if err := json.Unmarshal(v, &map[string]any{}); err != nil {
			errs = append(errs, Invalid(dp.Key(key), "<secret contents redacted>", err.Error()))
		}
	}
	switch s.Type {
	case SecretTypeServiceAccountToken:
		if s.Annotations[secretServiceAccountNameKey] == "" {
			errs = append(errs, Required(metaPath.Child("annotations").Key(secretServiceAccountNameKey), ""))
		}
	case SecretTypeDockercfg:
		requireJSON(secretDockerConfigKey)
	case SecretTypeDockerConfigJSON:
		requireJSON(secretDockerConfigJSONKey)
	case SecretTypeBasicAuth:
		// Either may be empty, but one must be there.
		_, user := data[secretBasicAuthUsernameKey]
		_, pass := data[secretBasicAuthPasswordKey]
		if !user && !pass {
			require(secretBasicAuthUsernameKey, secretBasicAuthPasswordKey)
		}
	case SecretTypeSSHAuth:
		if len(data[secretSSHAuthPrivateKey]) == 0 {
			errs = append(errs, Required(dp.Key(secretSSHAuthPrivateKey), ""))
		}
	case SecretTypeTLS:
		require(secretTLSCertKey, secretTLSPrivateKeyKey)
	}
	return errs
}

func validateSecretUpdate(s, old *Secret) ErrorList {
	var errs ErrorList
	typ, oldType := s.Type, old.Type
	if typ == "" {
		typ = SecretTypeOpaque
	}
	if oldType == "" {
		oldType = SecretTypeOpaque
	}
	if typ != oldType {
		errs = append(errs, Invalid(NewPath("type"), string(s.Type), immutableMsg))
	}
	if old.Immutable == nil || !*old.Immutable {
		return errs
	}
	if s.Immutable == nil || !*s.Immutable {
		errs = append(errs, Forbidden(NewPath("immutable"), immutableDataMsg))
	}
	if !maps.EqualFunc(secretData(s), old.Data, bytes.Equal) {
		errs = append(errs, Forbidden(NewPath("data"), immutableDataMsg))
	}
	return errs
}

// ---------------------------------------------------------------------------
// Event

// Length limits of Event fields, as in Kubernetes.
const (
	eventReasonMaxLength   = 128
	eventActionMaxLength   = 128
	eventInstanceMaxLength = 128
	eventMessageMaxLength  = 1024
)

func validateEvent(ev *Event) ErrorList {
	errs := validateBuiltinMeta(ev)
	io := NewPath("involvedObject")
	if ev.InvolvedObject.Kind == "" {
		errs = append(errs, Required(io.Child("kind"), ""))
	}
	if ev.InvolvedObject.Name == "" {
		errs = append(errs, Required(io.Child("name"), ""))
	}
	// An event about a cluster-scoped object lives in "default"; otherwise
	// in the object's namespace.
	if ns := ev.InvolvedObject.Namespace; ns == "" {
		if ev.Namespace != "" && ev.Namespace != "default" {
			errs = append(errs, Invalid(io.Child("namespace"), ns, "does not match event.namespace"))
		}
	} else if ns != ev.Namespace {
		errs = append(errs, Invalid(io.Child("namespace"), ns, "does not match event.namespace"))
	}
	if t := ev.Type; t != "" && t != EventTypeNormal && t != EventTypeWarning {
		errs = append(errs, NotSupported(NewPath("type"), t, []EventType{EventTypeNormal, EventTypeWarning}))
	}
	tooLong := func(field, value string, max int) {
		if len(value) > max {
			errs = append(errs, Invalid(NewPath(field), "", fmt.Sprintf("can have at most %d characters", max)))
		}
	}
	tooLong("reason", ev.Reason, eventReasonMaxLength)
	tooLong("message", ev.Message, eventMessageMaxLength)
	tooLong("action", ev.Action, eventActionMaxLength)
	tooLong("reportingInstance", ev.ReportingInstance, eventInstanceMaxLength)
	// Events with an eventTime are the newer kind, which must say who
	// reported them and what they did.
	if !ev.EventTime.IsZero() {
		if ev.ReportingController == "" {
			errs = append(errs, Required(NewPath("reportingComponent"), ""))
		} else {
			errs = append(errs, validateQualifiedName(ev.ReportingController, NewPath("reportingComponent"))...)
		}
		for _, f := range []struct{ name, value string }{
			{"reportingInstance", ev.ReportingInstance}, {"action", ev.Action}, {"reason", ev.Reason},
		} {
			if f.value == "" {
				errs = append(errs, Required(NewPath(f.name), ""))
			}
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// Lease

func validateLease(l *Lease) ErrorList {
	errs := validateBuiltinMeta(l)
	sp := NewPath("spec")
	if d := l.Spec.LeaseDurationSeconds; d != nil {
		errs = append(errs, validatePositive(*d, sp.Child("leaseDurationSeconds"))...)
	}
	if t := l.Spec.LeaseTransitions; t != nil {
		errs = append(errs, validateNonNegative(*t, sp.Child("leaseTransitions"))...)
	}
	return errs
}

// validateNamedPort checks the name of one of n ports: required when there
// is more than one, a DNS label, and unique among the names in seen, which
// it records.
func validateNamedPort(name string, n int, seen map[string]bool, p *Path) ErrorList {
	if name == "" {
		if n > 1 {
			return ErrorList{Required(p, "")}
		}
		return nil
	}
	errs := validateDNSLabel(name, p)
	if seen[name] {
		errs = append(errs, Duplicate(p, name))
	}
	seen[name] = true
	return errs
}
