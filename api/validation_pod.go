package api

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/internal/names"
)

// This file holds the rules of Pods, PodSpecs and pod templates.

func validatePod(pod *Pod) ErrorList {
	errs := validateBuiltinMeta(pod)
	return append(errs, ValidatePodSpec(&pod.Spec, NewPath("spec"))...)
}

// ValidatePodTemplateSpec checks the pod template of a workload, with paths
// under p (such as NewPath("spec", "template")): the labels and annotations of
// its metadata and its spec, as ValidatePodSpec does. The workload checks the
// rest (that its selector matches the labels, the restart policies it allows).
func ValidatePodTemplateSpec(t *PodTemplateSpec, p *Path) ErrorList {
	mp := p.Child("metadata")
	errs := ValidateLabels(t.Labels, mp.Child("labels"))
	errs = append(errs, ValidateAnnotations(t.Annotations, mp.Child("annotations"))...)
	return append(errs, ValidatePodSpec(&t.Spec, p.Child("spec"))...)
}

// ValidatePodSpec checks a pod spec, with paths under p (such as
// NewPath("spec")), by the rules Kubernetes applies to the fields Drover
// implements: at least one container; container and volume names that are
// unique DNS labels; images; ports; environment; resources with requests
// within limits; volume mounts of declared volumes; probes and lifecycle
// handlers with exactly one action; volumes with exactly one source;
// tolerations, affinity and topology spread constraints; the enumerations
// (restartPolicy, dnsPolicy, imagePullPolicy, ...) when set; and the names
// the spec refers to.
func ValidatePodSpec(spec *PodSpec, p *Path) ErrorList {
	vols, errs := validateVolumes(spec.Volumes, p.Child("volumes"))
	grace := int64(DefaultTerminationGracePeriodSeconds)
	if g := spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
		errs = append(errs, validateNonNegative(*g, p.Child("terminationGracePeriodSeconds"))...)
	}
	errs = append(errs, validateContainers(spec.Containers, vols, grace, p.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec.InitContainers, spec.Containers, vols, p.Child("initContainers"))...)
	if spec.HostNetwork {
		errs = append(errs, validateHostNetworkPorts(spec.Containers, p.Child("containers"))...)
		errs = append(errs, validateHostNetworkPorts(spec.InitContainers, p.Child("initContainers"))...)
	}
	switch spec.RestartPolicy {
	case "", RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever:
	default:
		errs = append(errs, NotSupported(p.Child("restartPolicy"), spec.RestartPolicy,
			[]RestartPolicy{RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever}))
	}
	switch spec.DNSPolicy {
	case "", DNSClusterFirst, DNSClusterFirstWithHostNet, DNSDefault, DNSNone:
	default:
		errs = append(errs, NotSupported(p.Child("dnsPolicy"), spec.DNSPolicy,
			[]DNSPolicy{DNSClusterFirstWithHostNet, DNSClusterFirst, DNSDefault, DNSNone}))
	}
	errs = append(errs, validatePodDNSConfig(spec.DNSConfig, spec.DNSPolicy, p.Child("dnsConfig"))...)
	if d := spec.ActiveDeadlineSeconds; d != nil && (*d < 1 || *d > math.MaxInt32) {
		errs = append(errs, Invalid(p.Child("activeDeadlineSeconds"), *d, inRangeMsg(1, math.MaxInt32)))
	}
	errs = append(errs, ValidateLabels(spec.NodeSelector, p.Child("nodeSelector"))...)
	for _, f := range []struct {
		name, value string
	}{
		{"serviceAccountName", spec.ServiceAccountName},
		{"serviceAccount", spec.DeprecatedServiceAccount},
		{"nodeName", spec.NodeName},
		{"schedulerName", spec.SchedulerName},
		{"priorityClassName", spec.PriorityClassName},
	} {
		if f.value != "" {
			errs = append(errs, validateDNSSubdomain(f.value, p.Child(f.name))...)
		}
	}
	if spec.Hostname != "" {
		errs = append(errs, validateDNSLabel(spec.Hostname, p.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, validateDNSLabel(spec.Subdomain, p.Child("subdomain"))...)
	}
	errs = append(errs, validatePodSecurityContext(spec.SecurityContext, p.Child("securityContext"))...)
	for i, s := range spec.ImagePullSecrets {
		if s.Name == "" {
			errs = append(errs, Required(p.Child("imagePullSecrets").Index(i).Child("name"), ""))
		}
	}
	errs = append(errs, validateAffinity(spec.Affinity, p.Child("affinity"))...)
	errs = append(errs, validateTolerations(spec.Tolerations, p.Child("tolerations"))...)
	for i, a := range spec.HostAliases {
		ap := p.Child("hostAliases").Index(i)
		errs = append(errs, validateIP(a.IP, ap.Child("ip"))...)
		for j, h := range a.Hostnames {
			errs = append(errs, validateDNSSubdomain(h, ap.Child("hostnames").Index(j))...)
		}
	}
	if pp := spec.PreemptionPolicy; pp != nil && *pp != PreemptLowerPriority && *pp != PreemptNever {
		errs = append(errs, NotSupported(p.Child("preemptionPolicy"), *pp, []PreemptionPolicy{PreemptLowerPriority, PreemptNever}))
	}
	for i, g := range spec.ReadinessGates {
		errs = append(errs, validateQualifiedName(string(g.ConditionType), p.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	for _, name := range sortedResourceNames(spec.Overhead) {
		rp := p.Child("overhead").Key(string(name))
		errs = append(errs, validateResourceName(name, rp)...)
		errs = append(errs, validateResourceQuantity(name, spec.Overhead[name], rp)...)
	}
	errs = append(errs, validateTopologySpreadConstraints(spec.TopologySpreadConstraints, p.Child("topologySpreadConstraints"))...)
	return errs
}

// ---------------------------------------------------------------------------
// Containers

// probeKind says which probe of a container a Probe is.
type probeKind int8

const (
	livenessProbe probeKind = iota
	readinessProbe
	startupProbe
)

func validateContainers(cs []Container, vols map[string]VolumeSource, grace int64, p *Path) ErrorList {
	if len(cs) == 0 {
		return ErrorList{Required(p, "")}
	}
	var errs ErrorList
	seen := make(map[string]bool, len(cs))
	for i := range cs {
		c, cp := &cs[i], p.Index(i)
		errs = append(errs, validateContainerCommon(c, vols, cp)...)
		if c.Name != "" {
			if seen[c.Name] {
				errs = append(errs, Duplicate(cp.Child("name"), c.Name))
			}
			seen[c.Name] = true
		}
		if l := c.Lifecycle; l != nil {
			if l.PostStart != nil {
				errs = append(errs, validateHandler(lifecycleHandler(l.PostStart), grace, cp.Child("lifecycle", "postStart"))...)
			}
			if l.PreStop != nil {
				errs = append(errs, validateHandler(lifecycleHandler(l.PreStop), grace, cp.Child("lifecycle", "preStop"))...)
			}
		}
		errs = append(errs, validateProbe(c.LivenessProbe, livenessProbe, grace, cp.Child("livenessProbe"))...)
		errs = append(errs, validateProbe(c.ReadinessProbe, readinessProbe, grace, cp.Child("readinessProbe"))...)
		errs = append(errs, validateProbe(c.StartupProbe, startupProbe, grace, cp.Child("startupProbe"))...)
	}
	return append(errs, validateHostPortConflicts(cs, p)...)
}

func validateInitContainers(inits, cs []Container, vols map[string]VolumeSource, p *Path) ErrorList {
	var errs ErrorList
	seen := make(map[string]bool, len(cs)+len(inits))
	for _, c := range cs {
		seen[c.Name] = true
	}
	for i := range inits {
		c, cp := &inits[i], p.Index(i)
		errs = append(errs, validateContainerCommon(c, vols, cp)...)
		if c.Name != "" {
			if seen[c.Name] {
				errs = append(errs, Duplicate(cp.Child("name"), c.Name))
			}
			seen[c.Name] = true
		}
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"lifecycle", c.Lifecycle != nil},
			{"livenessProbe", c.LivenessProbe != nil},
			{"readinessProbe", c.ReadinessProbe != nil},
			{"startupProbe", c.StartupProbe != nil},
		} {
			if f.set {
				errs = append(errs, Forbidden(cp.Child(f.name), "may not be set for init containers"))
			}
		}
	}
	return append(errs, validateHostPortConflicts(inits, p)...)
}

func validateContainerCommon(c *Container, vols map[string]VolumeSource, p *Path) ErrorList {
	var errs ErrorList
	if c.Name == "" {
		errs = append(errs, Required(p.Child("name"), ""))
	} else {
		errs = append(errs, validateDNSLabel(c.Name, p.Child("name"))...)
	}
	if c.Image == "" {
		errs = append(errs, Required(p.Child("image"), ""))
	} else if strings.TrimSpace(c.Image) != c.Image {
		errs = append(errs, Invalid(p.Child("image"), c.Image, "must not have leading or trailing whitespace"))
	}
	errs = append(errs, validateContainerPorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	errs = append(errs, validateResourceRequirements(&c.Resources, p.Child("resources"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, vols, p.Child("volumeMounts"))...)
	switch c.ImagePullPolicy {
	case "", PullAlways, PullIfNotPresent, PullNever:
	default:
		errs = append(errs, NotSupported(p.Child("imagePullPolicy"), c.ImagePullPolicy,
			[]PullPolicy{PullAlways, PullIfNotPresent, PullNever}))
	}
	switch c.TerminationMessagePolicy {
	case "", TerminationMessageReadFile, TerminationMessageFallbackToLogsOnError:
	default:
		errs = append(errs, NotSupported(p.Child("terminationMessagePolicy"), c.TerminationMessagePolicy,
			[]TerminationMessagePolicy{TerminationMessageReadFile, TerminationMessageFallbackToLogsOnError}))
	}
	return append(errs, validateSecurityContext(c.SecurityContext, p.Child("securityContext"))...)
}

var supportedProtocols = []Protocol{ProtocolSCTP, ProtocolTCP, ProtocolUDP}

// validateProtocol checks a port protocol; empty means TCP.
func validateProtocol(proto Protocol, p *Path) ErrorList {
	if proto == "" || slices.Contains(supportedProtocols, proto) {
		return nil
	}
	return ErrorList{NotSupported(p, proto, supportedProtocols)}
}

func validateContainerPorts(ports []ContainerPort, p *Path) ErrorList {
	var errs ErrorList
	seen := make(map[string]bool, len(ports))
	for i, port := range ports {
		pp := p.Index(i)
		if port.Name != "" {
			if msgs := names.IsValidPortName(port.Name); len(msgs) > 0 {
				for _, msg := range msgs {
					errs = append(errs, Invalid(pp.Child("name"), port.Name, msg))
				}
			} else if seen[port.Name] {
				errs = append(errs, Duplicate(pp.Child("name"), port.Name))
			}
			seen[port.Name] = true
		}
		if port.ContainerPort == 0 {
			errs = append(errs, Required(pp.Child("containerPort"), ""))
		} else {
			errs = append(errs, validatePortNum(port.ContainerPort, pp.Child("containerPort"))...)
		}
		if port.HostPort != 0 {
			errs = append(errs, validatePortNum(port.HostPort, pp.Child("hostPort"))...)
		}
		errs = append(errs, validateProtocol(port.Protocol, pp.Child("protocol"))...)
		if port.HostIP != "" {
			errs = append(errs, validateIP(port.HostIP, pp.Child("hostIP"))...)
		}
	}
	return errs
}

// validatePortNum checks that port is 1 to 65535.
func validatePortNum(port int32, p *Path) ErrorList {
	var errs ErrorList
	for _, msg := range names.IsValidPortNum(port) {
		errs = append(errs, Invalid(p, port, msg))
	}
	return errs
}

// validatePortNumOrName checks a port given as a number (1 to 65535) or as
// the name of a container port.
func validatePortNumOrName(port IntOrString, p *Path) ErrorList {
	if port.Type == IntOrStringInt {
		return validatePortNum(port.IntVal, p)
	}
	var errs ErrorList
	for _, msg := range names.IsValidPortName(port.StrVal) {
		errs = append(errs, Invalid(p, port.StrVal, msg))
	}
	return errs
}

// validateHostPortConflicts reports two ports of cs that claim the same host
// port, protocol and host IP.
func validateHostPortConflicts(cs []Container, p *Path) ErrorList {
	var errs ErrorList
	seen := make(map[string]bool)
	for i, c := range cs {
		for j, port := range c.Ports {
			if port.HostPort == 0 {
				continue
			}
			proto := port.Protocol
			if proto == "" {
				proto = ProtocolTCP
			}
			key := fmt.Sprintf("%s/%s/%d", proto, port.HostIP, port.HostPort)
			if seen[key] {
				errs = append(errs, Duplicate(p.Index(i).Child("ports").Index(j).Child("hostPort"), key))
			}
			seen[key] = true
		}
	}
	return errs
}

// validateHostNetworkPorts checks that, with host networking, every host
// port that is set equals its container port. (Defaulting sets an unset
// host port to the container port.)
func validateHostNetworkPorts(cs []Container, p *Path) ErrorList {
	var errs ErrorList
	for i, c := range cs {
		for j, port := range c.Ports {
			if port.HostPort != 0 && port.HostPort != port.ContainerPort {
				errs = append(errs, Invalid(p.Index(i).Child("ports").Index(j).Child("containerPort"), port.ContainerPort,
					"must match `hostPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

// The pod fields the downward API exposes, in environment variables and in
// volume files. Labels and annotations are also available one at a time, as
// metadata.labels['key'] and metadata.annotations['key'].
var (
	envFieldPaths = []string{
		"metadata.name", "metadata.namespace", "metadata.uid",
		"spec.nodeName", "spec.serviceAccountName",
		"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
	}
	volumeFieldPaths = []string{
		"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
	}
	resourceFieldPaths = []string{
		"limits.cpu", "limits.ephemeral-storage", "limits.memory",
		"requests.cpu", "requests.ephemeral-storage", "requests.memory",
	}
)

func validateEnv(env []EnvVar, p *Path) ErrorList {
	var errs ErrorList
	for i, e := range env {
		ep := p.Index(i)
		if e.Name == "" {
			errs = append(errs, Required(ep.Child("name"), ""))
		} else {
			for _, msg := range names.IsEnvVarName(e.Name) {
				errs = append(errs, Invalid(ep.Child("name"), e.Name, msg))
			}
		}
		errs = append(errs, validateEnvVarSource(&e, ep.Child("valueFrom"))...)
	}
	return errs
}

func validateEnvVarSource(e *EnvVar, p *Path) ErrorList {
	src := e.ValueFrom
	if src == nil {
		return nil
	}
	var errs ErrorList
	n := 0
	if src.FieldRef != nil {
		n++
		errs = append(errs, validateFieldSelector(src.FieldRef, envFieldPaths, p.Child("fieldRef"))...)
	}
	if src.ResourceFieldRef != nil {
		n++
		errs = append(errs, validateResourceFieldSelector(src.ResourceFieldRef, false, p.Child("resourceFieldRef"))...)
	}
	if src.ConfigMapKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(src.ConfigMapKeyRef.Name, src.ConfigMapKeyRef.Key, p.Child("configMapKeyRef"))...)
	}
	if src.SecretKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(src.SecretKeyRef.Name, src.SecretKeyRef.Key, p.Child("secretKeyRef"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, Invalid(p, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case e.Value != "":
		errs = append(errs, Invalid(p, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, Invalid(p, "", "may not have more than one field specified at a time"))
	}
	return errs
}

// validateFieldSelector checks a downward API reference to a pod field.
func validateFieldSelector(fs *ObjectFieldSelector, allowed []string, p *Path) ErrorList {
	var errs ErrorList
	if fs.APIVersion != "" && fs.APIVersion != "v1" {
		errs = append(errs, Invalid(p.Child("apiVersion"), fs.APIVersion, `must be "v1"`))
	}
	if fs.FieldPath == "" {
		return append(errs, Required(p.Child("fieldPath"), ""))
	}
	if field, key, ok := splitSubscript(fs.FieldPath); ok {
		switch field {
		case "metadata.labels":
			errs = append(errs, validateQualifiedName(key, p.Child("fieldPath"))...)
		case "metadata.annotations":
			for _, msg := range names.IsQualifiedName(strings.ToLower(key)) {
				errs = append(errs, Invalid(p.Child("fieldPath"), key, msg))
			}
		default:
			errs = append(errs, Invalid(p.Child("fieldPath"), fs.FieldPath, "does not support subscript"))
		}
		return errs
	}
	if !slices.Contains(allowed, fs.FieldPath) {
		errs = append(errs, NotSupported(p.Child("fieldPath"), fs.FieldPath, allowed))
	}
	return errs
}

// splitSubscript splits "metadata.labels['app']" into its field and key.
func splitSubscript(fieldPath string) (field, key string, ok bool) {
	s, ok := strings.CutSuffix(fieldPath, "']")
	if !ok {
		return "", "", false
	}
	field, key, ok = strings.Cut(s, "['")
	if !ok || field == "" {
		return "", "", false
	}
	return field, key, true
}

// validateResourceFieldSelector checks a downward API reference to a
// container's request or limit. In volumes the container must be named.
func validateResourceFieldSelector(rs *ResourceFieldSelector, inVolume bool, p *Path) ErrorList {
	var errs ErrorList
	if inVolume && rs.ContainerName == "" {
		errs = append(errs, Required(p.Child("containerName"), ""))
	}
	switch {
	case rs.Resource == "":
		errs = append(errs, Required(p.Child("resource"), ""))
	case !slices.Contains(resourceFieldPaths, rs.Resource):
		errs = append(errs, NotSupported(p.Child("resource"), rs.Resource, resourceFieldPaths))
	default:
		errs = append(errs, validateDivisor(rs.Resource, rs.Divisor, p.Child("divisor"))...)
	}
	return errs
}

// The divisors a resource field reference may use, by resource.
var (
	cpuDivisors    = []string{"1m", "1"}
	memoryDivisors = []string{"1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"}
)

// validateDivisor checks the divisor of a resource field reference; zero
// means unset (1).
func validateDivisor(res string, d resource.Quantity, p *Path) ErrorList {
	if d.IsZero() {
		return nil
	}
	allowed := memoryDivisors
	if strings.HasSuffix(res, ".cpu") {
		allowed = cpuDivisors
	}
	for _, a := range allowed {
		if q, err := resource.ParseQuantity(a); err == nil && d.Cmp(q) == 0 {
			return nil
		}
	}
	_, kind, _ := strings.Cut(res, ".")
	return ErrorList{Invalid(p, d.String(), fmt.Sprintf("only divisor's values %s are supported with the %s resource",
		strings.Join(allowed, ", "), kind))}
}

// validateKeySelector checks a reference to one key of a ConfigMap or
// Secret.
func validateKeySelector(name, key string, p *Path) ErrorList {
	var errs ErrorList
	if name == "" {
		errs = append(errs, Required(p.Child("name"), ""))
	} else {
		errs = append(errs, validateDNSSubdomain(name, p.Child("name"))...)
	}
	if key == "" {
		errs = append(errs, Required(p.Child("key"), ""))
	} else {
		for _, msg := range names.IsConfigMapKey(key) {
			errs = append(errs, Invalid(p.Child("key"), key, msg))
		}
	}
	return errs
}

func validateEnvFrom(sources []EnvFromSource, p *Path) ErrorList {
	var errs ErrorList
	for i, s := range sources {
		sp := p.Index(i)
		if s.Prefix != "" {
			for _, msg := range names.IsEnvVarName(s.Prefix) {
				errs = append(errs, Invalid(sp.Child("prefix"), s.Prefix, msg))
			}
		}
		n := 0
		if s.ConfigMapRef != nil {
			n++
			errs = append(errs, validateRefName(s.ConfigMapRef.Name, sp.Child("configMapRef", "name"))...)
		}
		if s.SecretRef != nil {
			n++
			errs = append(errs, validateRefName(s.SecretRef.Name, sp.Child("secretRef", "name"))...)
		}
		switch {
		case n == 0:
			errs = append(errs, Invalid(sp, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, Invalid(sp, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

// validateRefName checks the name of a referenced ConfigMap or Secret.
func validateRefName(name string, p *Path) ErrorList {
	if name == "" {
		return ErrorList{Required(p, "")}
	}
	return validateDNSSubdomain(name, p)
}

// ---------------------------------------------------------------------------
// Resources

// sortedResourceNames returns the names of l in order.
func sortedResourceNames(l ResourceList) []ResourceName {
	keys := make([]ResourceName, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

const hugePagesPrefix = "hugepages-"

// isNativeResource reports whether name belongs to Kubernetes: no domain, or
// a kubernetes.io domain.
func isNativeResource(name ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), "kubernetes.io/")
}

// isExtendedResource reports whether name is an extended resource, such as
// "example.com/gpu": counted in whole units, never overcommitted.
func isExtendedResource(name ResourceName) bool {
	if isNativeResource(name) || strings.HasPrefix(string(name), "requests.") {
		return false
	}
	return len(names.IsQualifiedName("requests."+string(name))) == 0
}

// overcommitAllowed reports whether a request may be lower than its limit.
func overcommitAllowed(name ResourceName) bool {
	return isNativeResource(name) && !strings.HasPrefix(string(name), hugePagesPrefix)
}

// validateResourceName checks the name of a node or pod-overhead resource:
// a standard name or one qualified with a domain.
func validateResourceName(name ResourceName, p *Path) ErrorList {
	if msgs := names.IsQualifiedName(string(name)); len(msgs) > 0 {
		var errs ErrorList
		for _, msg := range msgs {
			errs = append(errs, Invalid(p, string(name), msg))
		}
		return errs
	}
	if !strings.Contains(string(name), "/") {
		switch name {
		case ResourceCPU, ResourceMemory, ResourceEphemeralStorage, ResourcePods:
		default:
			if !strings.HasPrefix(string(name), hugePagesPrefix) {
				return ErrorList{Invalid(p, string(name), "must be a standard resource type or fully qualified")}
			}
		}
	}
	return nil
}

// validateContainerResourceName checks the name of a container request or
// limit: cpu, memory, ephemeral-storage, hugepages-<size>, or an extended
// resource such as "example.com/gpu".
func validateContainerResourceName(name ResourceName, p *Path) ErrorList {
	if msgs := names.IsQualifiedName(string(name)); len(msgs) > 0 {
		var errs ErrorList
		for _, msg := range msgs {
			errs = append(errs, Invalid(p, string(name), msg))
		}
		return errs
	}
	if !strings.Contains(string(name), "/") {
		switch name {
		case ResourceCPU, ResourceMemory, ResourceEphemeralStorage:
		default:
			if !strings.HasPrefix(string(name), hugePagesPrefix) {
				return ErrorList{Invalid(p, string(name), "must be a standard resource for containers")}
			}
		}
	} else if !isNativeResource(name) && !isExtendedResource(name) {
		return ErrorList{Invalid(p, string(name), "doesn't follow extended resource name standard")}
	}
	return nil
}

// validateResourceQuantity checks an amount of resource name: not negative,
// and a whole number for extended resources.
func validateResourceQuantity(name ResourceName, q resource.Quantity, p *Path) ErrorList {
	var errs ErrorList
	if q.Sign() < 0 {
		errs = append(errs, Invalid(p, q.String(), nonNegativeMsg))
	}
	if isExtendedResource(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, Invalid(p, q.String(), "must be an integer"))
	}
	return errs
}

func validateResourceRequirements(r *ResourceRequirements, p *Path) ErrorList {
	var errs ErrorList
	lp, rp := p.Child("limits"), p.Child("requests")
	for _, name := range sortedResourceNames(r.Limits) {
		errs = append(errs, validateContainerResourceName(name, lp.Key(string(name)))...)
		errs = append(errs, validateResourceQuantity(name, r.Limits[name], lp.Key(string(name)))...)
	}
	for _, name := range sortedResourceNames(r.Requests) {
		q := r.Requests[name]
		errs = append(errs, validateContainerResourceName(name, rp.Key(string(name)))...)
		errs = append(errs, validateResourceQuantity(name, q, rp.Key(string(name)))...)
		limit, ok := r.Limits[name]
		switch {
		case ok && !overcommitAllowed(name) && q.Cmp(limit) != 0:
			errs = append(errs, Invalid(rp, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
		case ok && q.Cmp(limit) > 0:
			errs = append(errs, Invalid(rp, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		case !ok && !overcommitAllowed(name):
			errs = append(errs, Required(lp, "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// Probes and lifecycle handlers

// handler is the union of a probe's and a lifecycle hook's actions.
type handler struct {
	exec      *ExecAction
	httpGet   *HTTPGetAction
	tcpSocket *TCPSocketAction
	sleep     *SleepAction
}

func lifecycleHandler(h *LifecycleHandler) handler {
	return handler{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, sleep: h.Sleep}
}

// validateHandler checks that h has exactly one action, and the action.
// grace is the pod's termination grace period, which bounds a sleep.
func validateHandler(h handler, grace int64, p *Path) ErrorList {
	var errs ErrorList
	n := 0
	for _, a := range []struct {
		name     string
		set      bool
		validate func(*Path) ErrorList
	}{
		{"exec", h.exec != nil, func(p *Path) ErrorList {
			if len(h.exec.Command) == 0 {
				return ErrorList{Required(p.Child("command"), "")}
			}
			return nil
		}},
		{"httpGet", h.httpGet != nil, func(p *Path) ErrorList { return validateHTTPGet(h.httpGet, p) }},
		{"tcpSocket", h.tcpSocket != nil, func(p *Path) ErrorList {
			return validatePortNumOrName(h.tcpSocket.Port, p.Child("port"))
		}},
		{"sleep", h.sleep != nil, func(p *Path) ErrorList {
			if s := h.sleep.Seconds; s <= 0 || s > grace {
				return ErrorList{Invalid(p.Child("seconds"), s, fmt.Sprintf(
					"must be greater than 0 and less than terminationGracePeriodSeconds (%d)", grace))}
			}
			return nil
		}},
	} {
		if !a.set {
			continue
		}
		if n > 0 {
			errs = append(errs, Forbidden(p.Child(a.name), "may not specify more than 1 handler type"))
			continue
		}
		n++
		errs = append(errs, a.validate(p.Child(a.name))...)
	}
	if n == 0 {
		errs = append(errs, Required(p, "must specify a handler type"))
	}
	return errs
}

func validateHTTPGet(h *HTTPGetAction, p *Path) ErrorList {
	errs := validatePortNumOrName(h.Port, p.Child("port"))
	if h.Scheme != "" && h.Scheme != URISchemeHTTP && h.Scheme != URISchemeHTTPS {
		errs = append(errs, NotSupported(p.Child("scheme"), h.Scheme, []URIScheme{URISchemeHTTP, URISchemeHTTPS}))
	}
	for i, hd := range h.HTTPHeaders {
		if !isHTTPHeaderName(hd.Name) {
			errs = append(errs, Invalid(p.Child("httpHeaders").Index(i).Child("name"), hd.Name,
				"a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name')"))
		}
	}
	return errs
}

func isHTTPHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validateProbe checks a probe. Zero timeoutSeconds, periodSeconds,
// successThreshold and failureThreshold mean unset (defaulting gives 1, 10,
// 1 and 3); set values must not be negative.
func validateProbe(pr *Probe, kind probeKind, grace int64, p *Path) ErrorList {
	if pr == nil {
		return nil
	}
	errs := validateHandler(handler{exec: pr.Exec, httpGet: pr.HTTPGet, tcpSocket: pr.TCPSocket}, grace, p)
	errs = append(errs, validateNonNegative(pr.InitialDelaySeconds, p.Child("initialDelaySeconds"))...)
	errs = append(errs, validateNonNegative(pr.TimeoutSeconds, p.Child("timeoutSeconds"))...)
	errs = append(errs, validateNonNegative(pr.PeriodSeconds, p.Child("periodSeconds"))...)
	errs = append(errs, validateNonNegative(pr.SuccessThreshold, p.Child("successThreshold"))...)
	errs = append(errs, validateNonNegative(pr.FailureThreshold, p.Child("failureThreshold"))...)
	if kind != readinessProbe && pr.SuccessThreshold > 1 {
		errs = append(errs, Invalid(p.Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
	}
	if g := pr.TerminationGracePeriodSeconds; g != nil {
		switch {
		case kind == readinessProbe:
			errs = append(errs, Invalid(p.Child("terminationGracePeriodSeconds"), *g, "must not be set for readinessProbes"))
		case *g <= 0:
			errs = append(errs, Invalid(p.Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// Security contexts

func validateID(id int64, p *Path) ErrorList {
	if id < 0 || id > math.MaxInt32 {
		return ErrorList{Invalid(p, id, inRangeMsg(0, math.MaxInt32))}
	}
	return nil
}

func validatePodSecurityContext(sc *PodSecurityContext, p *Path) ErrorList {
	if sc == nil {
		return nil
	}
	var errs ErrorList
	if sc.RunAsUser != nil {
		errs = append(errs, validateID(*sc.RunAsUser, p.Child("runAsUser"))...)
	}
	if sc.RunAsGroup != nil {
		errs = append(errs, validateID(*sc.RunAsGroup, p.Child("runAsGroup"))...)
	}
	if sc.FSGroup != nil {
		errs = append(errs, validateID(*sc.FSGroup, p.Child("fsGroup"))...)
	}
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, validateID(g, p.Child("supplementalGroups").Index(i))...)
	}
	return errs
}

func validateSecurityContext(sc *SecurityContext, p *Path) ErrorList {
	if sc == nil {
		return nil
	}
	var errs ErrorList
	if sc.RunAsUser != nil {
		errs = append(errs, validateID(*sc.RunAsUser, p.Child("runAsUser"))...)
	}
	if sc.RunAsGroup != nil {
		errs = append(errs, validateID(*sc.RunAsGroup, p.Child("runAsGroup"))...)
	}
	if e := sc.AllowPrivilegeEscalation; e != nil && !*e {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, Invalid(p.Child("allowPrivilegeEscalation"), false,
				"cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if c := sc.Capabilities; c != nil && (slices.Contains(c.Add, "SYS_ADMIN") || slices.Contains(c.Add, "CAP_SYS_ADMIN")) {
			errs = append(errs, Invalid(p.Child("allowPrivilegeEscalation"), false,
				"cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// DNS

const (
	maxDNSNameservers = 3
	maxDNSSearchPaths = 32
)

func validatePodDNSConfig(cfg *PodDNSConfig, policy DNSPolicy, p *Path) ErrorList {
	var errs ErrorList
	if policy == DNSNone {
		if cfg == nil {
			return ErrorList{Required(p, "must provide `dnsConfig` when `dnsPolicy` is None")}
		}
		if len(cfg.Nameservers) == 0 {
			errs = append(errs, Required(p.Child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None"))
		}
	}
	if cfg == nil {
		return nil
	}
	if len(cfg.Nameservers) > maxDNSNameservers {
		errs = append(errs, TooMany(p.Child("nameservers"), len(cfg.Nameservers), maxDNSNameservers))
	}
	for i, ns := range cfg.Nameservers {
		errs = append(errs, validateIP(ns, p.Child("nameservers").Index(i))...)
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		errs = append(errs, TooMany(p.Child("searches"), len(cfg.Searches), maxDNSSearchPaths))
	}
	for i, s := range cfg.Searches {
		if s == "." {
			continue
		}
		errs = append(errs, validateDNSSubdomain(strings.TrimSuffix(s, "."), p.Child("searches").Index(i))...)
	}
	for i, o := range cfg.Options {
		if o.Name == "" {
			errs = append(errs, Required(p.Child("options").Index(i).Child("name"), ""))
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// Pod updates and status

// podUpdateMsg lists what a pod update may change.
const podUpdateMsg = "pod updates may not change fields other than `spec.containers[*].image`, " +
	"`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, " +
	"`spec.tolerations` (only additions to existing tolerations), " +
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

// validatePodUpdate checks the changes to a pod's spec, which is immutable
// but for container images, a shorter (or new) active deadline and added
// tolerations.
func validatePodUpdate(pod, old *Pod) ErrorList {
	var errs ErrorList
	sp := NewPath("spec")
	spec, oldSpec := &pod.Spec, &old.Spec
	if len(spec.Containers) != len(oldSpec.Containers) {
		return append(errs, Forbidden(sp.Child("containers"), "pod updates may not add or remove containers"))
	}
	if len(spec.InitContainers) != len(oldSpec.InitContainers) {
		return append(errs, Forbidden(sp.Child("initContainers"), "pod updates may not add or remove containers"))
	}
	if d := spec.ActiveDeadlineSeconds; d != nil {
		if o := oldSpec.ActiveDeadlineSeconds; o != nil && *o < *d {
			errs = append(errs, Invalid(sp.Child("activeDeadlineSeconds"), *d, "must be less than or equal to previous value"))
		}
	} else if oldSpec.ActiveDeadlineSeconds != nil {
		errs = append(errs, Invalid(sp.Child("activeDeadlineSeconds"), nil, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, validateOnlyAddedTolerations(spec.Tolerations, oldSpec.Tolerations, sp.Child("tolerations"))...)

	// Put the mutable fields of old into a shallow copy of the new spec;
	// what is still different was changed and may not be.
	munged := *spec
	munged.Containers = withImagesOf(spec.Containers, oldSpec.Containers)
	munged.InitContainers = withImagesOf(spec.InitContainers, oldSpec.InitContainers)
	munged.ActiveDeadlineSeconds = oldSpec.ActiveDeadlineSeconds
	munged.Tolerations = oldSpec.Tolerations
	if g, o := spec.TerminationGracePeriodSeconds, oldSpec.TerminationGracePeriodSeconds; g != nil && o != nil && *o < 0 && *g == 1 {
		munged.TerminationGracePeriodSeconds = o
	}
	if !semanticEqual(munged, *oldSpec) {
		var changed []string
		changedFields(sp, reflect.ValueOf(munged), reflect.ValueOf(*oldSpec), 2, &changed)
		errs = append(errs, Forbidden(sp, podUpdateMsg+"; changed: "+strings.Join(changed, ", ")))
	}
	return errs
}

// withImagesOf returns copies of cs with the images of old, which has as
// many containers.
func withImagesOf(cs, old []Container) []Container {
	if cs == nil {
		return nil
	}
	out := make([]Container, len(cs))
	for i := range cs {
		out[i] = cs[i]
		out[i].Image = old[i].Image
	}
	return out
}

// validateOnlyAddedTolerations checks that every old toleration is still
// there, with at most its tolerationSeconds changed.
func validateOnlyAddedTolerations(ts, old []Toleration, p *Path) ErrorList {
	for _, o := range old {
		found := false
		for _, t := range ts {
			o.TolerationSeconds = t.TolerationSeconds
			if semanticEqual(o, t) {
				found = true
				break
			}
		}
		if !found {
			return ErrorList{Forbidden(p, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

// changedFields appends the paths of the fields that differ between a and
// b, descending depth levels of structs (list elements do not count as a
// level), so that an error can say what was changed.
func changedFields(p *Path, a, b reflect.Value, depth int, out *[]string) {
	if deepEqual(a, b) {
		return
	}
	switch {
	case depth > 0 && a.Kind() == reflect.Struct:
		t := a.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case !f.IsExported() || name == "-":
			case name == "" && f.Anonymous:
				changedFields(p, a.Field(i), b.Field(i), depth, out)
			default:
				if name == "" {
					name = f.Name
				}
				changedFields(p.Child(name), a.Field(i), b.Field(i), depth-1, out)
			}
		}
	case depth > 0 && a.Kind() == reflect.Slice && a.Len() == b.Len():
		for i := range a.Len() {
			changedFields(p.Index(i), a.Index(i), b.Index(i), depth, out)
		}
	default:
		*out = append(*out, p.String())
	}
}

var podPhases = []PodPhase{PodFailed, PodPending, PodRunning, PodSucceeded, PodUnknown}

// validatePodStatusUpdate checks a pod's new status.
func validatePodStatusUpdate(pod, old *Pod) ErrorList {
	var errs ErrorList
	st, p := &pod.Status, NewPath("status")
	if pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, Forbidden(NewPath("spec", "nodeName"), "may not be changed directly"))
	}
	if st.Phase != "" && !slices.Contains(podPhases, st.Phase) {
		errs = append(errs, NotSupported(p.Child("phase"), st.Phase, podPhases))
	}
	for i, c := range st.Conditions {
		cp := p.Child("conditions").Index(i)
		switch c.Type {
		case PodScheduled, PodReady, PodInitialized, ContainersReady:
		default:
			errs = append(errs, validateQualifiedName(string(c.Type), cp.Child("type"))...)
		}
		errs = append(errs, validateConditionStatus(c.Status, cp.Child("status"))...)
	}
	if n := st.NominatedNodeName; n != "" && n != old.Status.NominatedNodeName {
		errs = append(errs, validateDNSSubdomain(n, p.Child("nominatedNodeName"))...)
	}
	podIPs := make([]string, len(st.PodIPs))
	for i, ip := range st.PodIPs {
		podIPs[i] = ip.IP
	}
	errs = append(errs, validateIPPair(st.PodIP, podIPs, p.Child("podIP"), p.Child("podIPs"))...)
	hostIPs := make([]string, len(st.HostIPs))
	for i, ip := range st.HostIPs {
		hostIPs[i] = ip.IP
	}
	errs = append(errs, validateIPPair(st.HostIP, hostIPs, p.Child("hostIP"), p.Child("hostIPs"))...)
	errs = append(errs, validateContainerStatuses(st.InitContainerStatuses, old.Status.InitContainerStatuses,
		old.Spec.RestartPolicy, p.Child("initContainerStatuses"))...)
	errs = append(errs, validateContainerStatuses(st.ContainerStatuses, old.Status.ContainerStatuses,
		old.Spec.RestartPolicy, p.Child("containerStatuses"))...)
	return errs
}

// validateIPPair checks a primary IP and the list it heads, as in a pod's
// podIP and podIPs: valid IPs, at most one per family, the first equal to the
// primary.
func validateIPPair(primary string, ips []string, pp, lp *Path) ErrorList {
	var errs ErrorList
	if primary != "" {
		errs = append(errs, validateIP(primary, pp)...)
	}
	families := make(map[bool]bool, 2)
	valid := true
	for i, ip := range ips {
		ep := lp.Index(i)
		a, err := netip.ParseAddr(ip)
		if err != nil || len(names.IsValidIP(ip)) > 0 {
			valid = false
			errs = append(errs, validateIP(ip, ep)...)
			continue
		}
		if families[a.Is4()] {
			errs = append(errs, Invalid(ep, ip, "may specify no more than one IP for each IP family"))
		}
		families[a.Is4()] = true
	}
	if valid && primary != "" && len(ips) > 0 && ips[0] != primary {
		errs = append(errs, Invalid(lp.Index(0), ips[0], "must match `"+pp.String()+"`"))
	}
	return errs
}

// validateContainerStatuses checks container statuses: restart counts that
// are not negative, and no container leaving the terminated state when the
// restart policy will not restart it.
func validateContainerStatuses(statuses, old []ContainerStatus, policy RestartPolicy, p *Path) ErrorList {
	var errs ErrorList
	for i, s := range statuses {
		sp := p.Index(i)
		if s.Name == "" {
			errs = append(errs, Required(sp.Child("name"), ""))
		}
		errs = append(errs, validateNonNegative(s.RestartCount, sp.Child("restartCount"))...)
		if policy == RestartPolicyAlways || policy == "" || s.State.Terminated != nil {
			continue
		}
		for _, o := range old {
			if o.Name != s.Name || o.State.Terminated == nil {
				continue
			}
			if policy == RestartPolicyOnFailure && o.State.Terminated.ExitCode != 0 {
				continue
			}
			errs = append(errs, Forbidden(sp.Child("state"), "may not be transitioned to non-terminated state"))
		}
	}
	return errs
}
