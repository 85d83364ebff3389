package api

import (
	"maps"
	"math/big"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"github.com/drover-io/drover/api/resource"
)

// Defaulter is implemented by user kinds that have default values. Built-in
// kinds do not implement it; Default knows their defaults.
//
// The API server calls Default on create and on update, after decoding and
// before validation, from one goroutine per request, so an implementation
// needs no locking unless it shares state between objects. Default must:
//
//   - set only fields the user left unset (empty strings, nil pointers),
//     never overwrite a value that was given;
//   - be idempotent: calling it twice gives the same object as calling it
//     once, since an object read back and written again is defaulted again;
//   - not fail and not panic: values that are wrong are rejected by
//     validation afterwards, with a field error the user can act on.
type Defaulter interface {
	Default()
}

// Default sets, in place, the default values of every field of obj that is
// unset, as the Kubernetes API server does when it decodes an object. The
// built-in kinds get Kubernetes' defaults; any other kind that implements
// Defaulter has its Default method called; for the rest Default does
// nothing. A nil obj is ignored.
//
// Defaulting is idempotent. It does not do what Kubernetes leaves to
// admission and to the registry on create: the service account "default",
// pod priority and preemption policy, a Job's generated selector and
// controller-uid labels, a Namespace's "kubernetes" finalizer, Service
// cluster IPs and IP families.
//
// The defaults applied to the built-in kinds are:
//
//   - Pod: the PodSpec defaults below, plus: a container's missing requests
//     default to its limits, enableServiceLinks to true, and, with
//     hostNetwork, a container port's hostPort to its containerPort. As in
//     Kubernetes these three apply to Pods only, not to the pod templates of
//     workloads.
//   - PodSpec (of Pods and of the templates of Deployments, ReplicaSets,
//     DaemonSets and Jobs): restartPolicy Always (a Job's template too, so
//     a Job without restartPolicy fails validation, as in Kubernetes),
//     terminationGracePeriodSeconds 30, dnsPolicy ClusterFirst,
//     schedulerName "default-scheduler", securityContext {}; serviceAccount
//     and serviceAccountName are made equal, serviceAccountName winning
//     when both are set.
//   - Containers and init containers: imagePullPolicy Always when the
//     image's tag is "latest" or it has neither tag nor digest, and
//     IfNotPresent otherwise (including images that do not parse);
//     terminationMessagePath "/dev/termination-log";
//     terminationMessagePolicy File; port protocol TCP; fieldRef apiVersion
//     "v1"; probes: timeoutSeconds 1, periodSeconds 10, successThreshold 1,
//     failureThreshold 3; httpGet (in probes and lifecycle hooks): path
//     "/", scheme HTTP.
//   - Resource lists (requests, limits, overhead, node capacity and
//     allocatable): amounts finer than a milli-unit are rounded up, away
//     from zero, to the next milli-unit ("100u" becomes "1m").
//   - Volumes: a volume with no source is an emptyDir; configMap, secret,
//     downwardAPI and projected volumes get defaultMode 0644; hostPath
//     type ""; a projected service account token expires in 3600 seconds.
//   - Service: sessionAffinity None; type ClusterIP; port protocol TCP;
//     targetPort the port when unset (0 or ""); internalTrafficPolicy
//     Cluster unless the type is ExternalName; externalTrafficPolicy
//     Cluster for NodePort and LoadBalancer services, and ClusterIP ones
//     with externalIPs.
//   - Endpoints: port protocol TCP.
//   - Secret: type Opaque.
//   - Namespace: the label kubernetes.io/metadata.name set to the name;
//     status.phase Active.
//   - Node: status.allocatable copied from status.capacity when empty.
//   - Deployment: replicas 1; strategy RollingUpdate with maxUnavailable
//     and maxSurge 25% (for a Recreate strategy, rollingUpdate is left
//     alone); revisionHistoryLimit 10; progressDeadlineSeconds 600. The
//     selector is not defaulted from the template's labels: it is required.
//   - ReplicaSet: replicas 1.
//   - DaemonSet: updateStrategy RollingUpdate with maxUnavailable 1 and
//     maxSurge 0; revisionHistoryLimit 10.
//   - Job: parallelism 1, and completions 1 when parallelism was unset too
//     (with parallelism set and completions not, the Job is a work queue
//     and completions stays unset); backoffLimit 6; completionMode
//     NonIndexed; suspend false; the Job's labels are the template's when
//     the Job has none.
//   - EndpointSlice: each port's protocol TCP.
//   - ConfigMap, ServiceAccount, Event and Lease: none.
func Default(obj Object) {
	if obj == nil {
		return
	}
	if v := reflect.ValueOf(obj); v.Kind() == reflect.Pointer && v.IsNil() {
		return
	}
	switch o := obj.(type) {
	case *Pod:
		defaultPod(o)
	case *Service:
		defaultService(o)
	case *Endpoints:
		defaultEndpoints(o)
	case *Secret:
		if o.Type == "" {
			o.Type = SecretTypeOpaque
		}
	case *Namespace:
		defaultNamespace(o)
	case *Node:
		defaultNode(o)
	case *Deployment:
		defaultDeployment(o)
	case *ReplicaSet:
		if o.Spec.Replicas == nil {
			o.Spec.Replicas = new(int32(1))
		}
		defaultPodSpec(&o.Spec.Template.Spec)
	case *DaemonSet:
		defaultDaemonSet(o)
	case *Job:
		defaultJob(o)
	case *EndpointSlice:
		for i := range o.Ports {
			if o.Ports[i].Protocol == nil {
				o.Ports[i].Protocol = new(ProtocolTCP)
			}
		}
	case *ConfigMap, *ServiceAccount, *Event, *Lease:
		// No defaults.
	case Defaulter:
		o.Default()
	}
}

// Default values of the built-in kinds that other packages refer to.
const (
	// DefaultTerminationGracePeriodSeconds is a pod's grace period when
	// it sets none.
	DefaultTerminationGracePeriodSeconds = 30
	// DefaultSchedulerName is the scheduler of pods that name none.
	DefaultSchedulerName = "default-scheduler"
	// TerminationMessagePathDefault is a container's termination message
	// file when it names none.
	TerminationMessagePathDefault = "/dev/termination-log"
	// DefaultVolumeMode is the permission bits of the files of configMap,
	// secret, downwardAPI and projected volumes: 0644.
	DefaultVolumeMode int32 = 0o644
	// LabelMetadataName is the label every Namespace carries with its own
	// name, so that selectors can pick namespaces by name.
	LabelMetadataName = "kubernetes.io/metadata.name"
)

// ---------------------------------------------------------------------------
// Pods

func defaultPod(p *Pod) {
	for _, cs := range [][]Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			c := &cs[i]
			if len(c.Resources.Limits) > 0 {
				if c.Resources.Requests == nil {
					c.Resources.Requests = make(ResourceList, len(c.Resources.Limits))
				}
				for name, limit := range c.Resources.Limits {
					if _, ok := c.Resources.Requests[name]; !ok {
						c.Resources.Requests[name] = limit
					}
				}
			}
			if p.Spec.HostNetwork {
				for j := range c.Ports {
					if c.Ports[j].HostPort == 0 {
						c.Ports[j].HostPort = c.Ports[j].ContainerPort
					}
				}
			}
		}
	}
	if p.Spec.EnableServiceLinks == nil {
		p.Spec.EnableServiceLinks = new(true)
	}
	defaultPodSpec(&p.Spec)
}

func defaultPodSpec(s *PodSpec) {
	if s.RestartPolicy == "" {
		s.RestartPolicy = RestartPolicyAlways
	}
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = new(int64(DefaultTerminationGracePeriodSeconds))
	}
	if s.DNSPolicy == "" {
		s.DNSPolicy = DNSClusterFirst
	}
	if s.SchedulerName == "" {
		s.SchedulerName = DefaultSchedulerName
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &PodSecurityContext{}
	}
	// serviceAccount is the deprecated alias of serviceAccountName. Kubernetes
	// reads it only when serviceAccountName is empty, and always writes both.
	if s.ServiceAccountName == "" {
		s.ServiceAccountName = s.DeprecatedServiceAccount
	}
	s.DeprecatedServiceAccount = s.ServiceAccountName
	roundResourceList(s.Overhead)
	for i := range s.Volumes {
		defaultVolume(&s.Volumes[i])
	}
	for i := range s.InitContainers {
		defaultContainer(&s.InitContainers[i])
	}
	for i := range s.Containers {
		defaultContainer(&s.Containers[i])
	}
}

func defaultContainer(c *Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = defaultPullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = ProtocolTCP
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil {
			defaultFieldSelector(vf.FieldRef)
		}
	}
	roundResourceList(c.Resources.Limits)
	roundResourceList(c.Resources.Requests)
	for _, p := range []*Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		defaultProbe(p)
	}
	if l := c.Lifecycle; l != nil {
		for _, h := range []*LifecycleHandler{l.PostStart, l.PreStop} {
			if h != nil {
				defaultHTTPGet(h.HTTPGet)
			}
		}
	}
}

func defaultProbe(p *Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
}

func defaultHTTPGet(h *HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = URISchemeHTTP
	}
}

func defaultFieldSelector(f *ObjectFieldSelector) {
	if f != nil && f.APIVersion == "" {
		f.APIVersion = "v1"
	}
}

func defaultVolume(v *Volume) {
	if v.VolumeSource == (VolumeSource{}) {
		v.EmptyDir = &EmptyDirVolumeSource{}
	}
	if hp := v.HostPath; hp != nil && hp.Type == nil {
		hp.Type = new(HostPathUnset)
	}
	if s := v.Secret; s != nil && s.DefaultMode == nil {
		s.DefaultMode = new(DefaultVolumeMode)
	}
	if cm := v.ConfigMap; cm != nil && cm.DefaultMode == nil {
		cm.DefaultMode = new(DefaultVolumeMode)
	}
	if d := v.DownwardAPI; d != nil {
		if d.DefaultMode == nil {
			d.DefaultMode = new(DefaultVolumeMode)
		}
		for i := range d.Items {
			defaultFieldSelector(d.Items[i].FieldRef)
		}
	}
	if p := v.Projected; p != nil {
		if p.DefaultMode == nil {
			p.DefaultMode = new(DefaultVolumeMode)
		}
		for i := range p.Sources {
			src := &p.Sources[i]
			if d := src.DownwardAPI; d != nil {
				for j := range d.Items {
					defaultFieldSelector(d.Items[j].FieldRef)
				}
			}
			if t := src.ServiceAccountToken; t != nil && t.ExpirationSeconds == nil {
				t.ExpirationSeconds = new(int64(3600))
			}
		}
	}
}

// roundResourceList rounds every amount of l finer than a milli-unit up,
// away from zero, to the next milli-unit, keeping its format. Kubernetes
// does this for compatibility with clients that read amounts in milli-units.
func roundResourceList(l ResourceList) {
	for name, q := range l {
		if r, changed := roundUpToMilli(q); changed {
			l[name] = r
		}
	}
}

func roundUpToMilli(q resource.Quantity) (resource.Quantity, bool) {
	unscaled, exp := q.AsDecimal()
	if exp >= int32(resource.Milli) || unscaled.Sign() == 0 {
		return q, false
	}
	// q = unscaled * 10^exp with exp < -3: divide by 10^(-3-exp), rounding
	// the magnitude up.
	d := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(resource.Milli)-int64(exp)), nil)
	milli, rem := new(big.Int).QuoRem(unscaled, d, new(big.Int))
	if rem.Sign() == 0 {
		return q, false // the value is stored finely but is whole milli-units
	}
	milli.Add(milli, big.NewInt(int64(unscaled.Sign())))
	var r resource.Quantity
	if milli.IsInt64() {
		r = resource.NewMilliQuantity(milli.Int64(), q.Format)
	} else {
		var err error
		r, err = resource.ParseQuantity(milli.String() + "m")
		if err != nil {
			return q, false // cannot happen: |r| is at most |q| plus one milli
		}
		r.Format = q.Format
	}
	return r, true
}

// defaultPullPolicy returns the pull policy Kubernetes gives a container
// that sets none: Always for a ":latest" image or one with neither tag nor
// digest, and IfNotPresent otherwise, including for an image reference that
// does not parse.
func defaultPullPolicy(image string) PullPolicy {
	if p, ok := pullPolicies.get(image); ok {
		return p
	}
	p := PullIfNotPresent
	if tag, digest, ok := parseImageReference(image); ok && (tag == "latest" || tag == "" && digest == "") {
		p = PullAlways
	}
	if len(image) <= maxCachedImage {
		pullPolicies.put(image, p)
	}
	return p
}

// maxCachedImage is the longest image reference pullPolicies keeps, so
// that it holds at most a few hundred KB.
const maxCachedImage = 256

// pullPolicies remembers the default pull policy of the images seen last:
// parsing a reference takes microseconds (a regular expression), and the
// pods of a cluster use few images, over and over.
var pullPolicies = boundedCache[string, PullPolicy]{max: 1024}

// boundedCache is a map safe for concurrent use that forgets everything
// when it reaches max entries.
type boundedCache[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

func (c *boundedCache[K, V]) get(k K) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *boundedCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[K]V)
	}
	c.m[k] = v
}

// imageReferenceRE matches a normalised image reference, one that starts
// with a registry domain, as the distribution reference grammar defines it;
// the groups are the name, the tag and the digest.
var imageReferenceRE = sync.OnceValue(func() *regexp.Regexp {
	const (
		alnum       = `[a-z0-9]+`
		separator   = `(?:[._]|__|-+)`
		pathElem    = alnum + `(?:` + separator + alnum + `)*`
		domainLabel = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		host        = `(?:` + domainLabel + `(?:\.` + domainLabel + `)*|\[[a-fA-F0-9:]+\])`
		name        = host + `(?::[0-9]+)?/` + pathElem + `(?:/` + pathElem + `)*`
		tag         = `[\w][\w.-]{0,127}`
		digest      = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
	)
	return regexp.MustCompile(`^(` + name + `)(?::(` + tag + `))?(?:@(` + digest + `))?$`)
})

var imageIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-f0-9]{64}$`) })

// parseImageReference returns the tag and digest of a container image
// reference such as "nginx", "nginx:1.27", "registry:5000/team/app@sha256:…"
// and whether it is valid, as container runtimes read it: a name without a
// registry domain is on Docker Hub, and repository names are lower-case.
func parseImageReference(image string) (tag, digest string, ok bool) {
	if imageIDRE().MatchString(image) {
		return "", "", false // a bare image ID is not a name
	}
	domain, remainder := "docker.io", image
	if first, rest, found := strings.Cut(image, "/"); found &&
		(first == "localhost" || strings.ContainsAny(first, ".:") || strings.ToLower(first) != first) {
		domain, remainder = first, rest
	}
	if domain == "docker.io" && !strings.Contains(remainder, "/") {
		remainder = "library/" + remainder
	}
	repo, _, _ := strings.Cut(remainder, ":")
	if strings.ToLower(repo) != repo {
		return "", "", false
	}
	m := imageReferenceRE().FindStringSubmatch(domain + "/" + remainder)
	if m == nil || len(m[1]) > 255 {
		return "", "", false
	}
	return m[2], m[3], true
}

// ---------------------------------------------------------------------------
// Other core kinds

func defaultService(s *Service) {
	spec := &s.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = ServiceAffinityNone
	}
	if spec.Type == "" {
		spec.Type = ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = ProtocolTCP
		}
		if p.TargetPort == FromInt32(0) || p.TargetPort == FromString("") {
			p.TargetPort = FromInt32(p.Port)
		}
	}
	externallyReachable := spec.Type == ServiceTypeNodePort || spec.Type == ServiceTypeLoadBalancer ||
		spec.Type == ServiceTypeClusterIP && len(spec.ExternalIPs) > 0
	if externallyReachable && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = ServiceExternalTrafficPolicyCluster
	}
	if spec.InternalTrafficPolicy == nil {
		switch spec.Type {
		case ServiceTypeClusterIP, ServiceTypeNodePort, ServiceTypeLoadBalancer:
			spec.InternalTrafficPolicy = new(ServiceInternalTrafficPolicyCluster)
		}
	}
}

func defaultEndpoints(e *Endpoints) {
	for i := range e.Subsets {
		ports := e.Subsets[i].Ports
		for j := range ports {
			if ports[j].Protocol == "" {
				ports[j].Protocol = ProtocolTCP
			}
		}
	}
}

func defaultNamespace(n *Namespace) {
	if n.Name != "" {
		if n.Labels == nil {
			n.Labels = make(map[string]string, 1)
		}
		n.Labels[LabelMetadataName] = n.Name
	}
	if n.Status.Phase == "" {
		n.Status.Phase = NamespaceActive
	}
}

func defaultNode(n *Node) {
	if len(n.Status.Allocatable) == 0 && len(n.Status.Capacity) > 0 {
		n.Status.Allocatable = maps.Clone(n.Status.Capacity)
	}
	roundResourceList(n.Status.Capacity)
	roundResourceList(n.Status.Allocatable)
}

// ---------------------------------------------------------------------------
// Workloads

func defaultDeployment(d *Deployment) {
	spec := &d.Spec
	if spec.Replicas == nil {
		spec.Replicas = new(int32(1))
	}
	st := &spec.Strategy
	if st.Type == "" {
		st.Type = RollingUpdateDeploymentStrategyType
	}
	if st.Type == RollingUpdateDeploymentStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &RollingUpdateDeployment{}
		}
		if st.RollingUpdate.MaxUnavailable == nil {
			st.RollingUpdate.MaxUnavailable = new(FromString("25%"))
		}
		if st.RollingUpdate.MaxSurge == nil {
			st.RollingUpdate.MaxSurge = new(FromString("25%"))
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = new(int32(10))
	}
	if spec.ProgressDeadlineSeconds == nil {
		spec.ProgressDeadlineSeconds = new(int32(600))
	}
	defaultPodSpec(&spec.Template.Spec)
}

func defaultDaemonSet(d *DaemonSet) {
	spec := &d.Spec
	st := &spec.UpdateStrategy
	if st.Type == "" {
		st.Type = RollingUpdateDaemonSetStrategyType
	}
	if st.Type == RollingUpdateDaemonSetStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &RollingUpdateDaemonSet{}
		}
		if st.RollingUpdate.MaxUnavailable == nil {
			st.RollingUpdate.MaxUnavailable = new(FromInt32(1))
		}
		if st.RollingUpdate.MaxSurge == nil {
			st.RollingUpdate.MaxSurge = new(FromInt32(0))
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = new(int32(10))
	}
	defaultPodSpec(&spec.Template.Spec)
}

func defaultJob(j *Job) {
	spec := &j.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = new(int32(1))
	}
	if spec.Parallelism == nil {
		spec.Parallelism = new(int32(1))
	}
	if spec.BackoffLimit == nil {
		spec.BackoffLimit = new(int32(6))
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = new(NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = new(false)
	}
	if len(j.Labels) == 0 && len(spec.Template.Labels) > 0 {
		j.Labels = maps.Clone(spec.Template.Labels)
	}
	defaultPodSpec(&spec.Template.Spec)
}
