// Package apiserver is the Kubernetes REST front of Drover: it serves the
// objects of every kind of a Scheme over HTTP, with the paths, verbs, query
// parameters, Status errors, watch streams and discovery documents that
// kubectl and client-go expect, and keeps the objects in a store.Store
// through one registry.Registry per kind.
//
// # Paths
//
//	/api/v1/...                        the core group
//	/apis/<group>/<version>/...        the other groups
//	.../namespaces/<ns>/<resource>[/<name>[/status]]   namespaced kinds
//	.../<resource>                     list or watch across namespaces
//	.../<resource>[/<name>[/status]]   cluster-scoped kinds
//
// plus discovery (/api, /apis, /api/v1, /apis/<group>[/<version>]), the
// OpenAPI documents (/openapi/v2, /openapi/v3[/<api|apis/group>/<version>],
// openapi.go), /version, /healthz, /livez, /readyz and /metrics.
//
// # Tables
//
// A get or list whose Accept header asks for a meta.k8s.io Table (as
// kubectl get does) gets one, with the columns kubectl shows (table.go);
// a user kind gets NAME, its api.Kind.PrinterColumns and AGE.
//
// # Patch
//
// PATCH takes JSON patches (RFC 6902), JSON merge patches (RFC 7386) and
// strategic merge patches (strategic.go: Drover's own merge keys for the
// built-in kinds), on objects and their status; a conflict with a
// concurrent write is retried on the fresh object.
//
// # Field validation
//
// Bodies (and patched objects) are decoded strictly: an unknown or
// duplicate field is a 400 that names it, because a field Drover does not
// implement must never be dropped without a word. fieldValidation=Warn
// drops such fields and says so in Warning headers (kubectl prints them),
// fieldValidation=Ignore drops them silently; Strict is the default (where
// Kubernetes defaults to Warn).
//
// # Admission
//
// Every create, update (status and patch included) and delete goes through
// Config.Admission (package admission) before the registry; a dry run too,
// with Attributes.DryRun set.
//
// # In process
//
// Server.Transport is an http.RoundTripper that calls the handler
// directly, for components in the same process (the all-in-one mode):
// the same answers as over HTTP, without sockets or encoding of the
// request, with streamed bodies and watches (InProcessTransport).
//
// # Maintenance
//
// Server.Run expires Events after Config.EventTTL and compacts the store
// every Config.CompactionInterval, keeping one interval of history. The
// handler serves without it, but a production server must run it. Every
// control-plane member may run an API server over its member of one
// replicated store, each serving every verb; Config.Leader (raftstore's
// IsLeader) makes only one of them do the maintenance.
//
// # Services
//
// A Service gets a cluster IP from Config.ServiceCIDR and, if it is of type
// NodePort or LoadBalancer, node ports from Config.NodePortRange, unless it
// asks for its own (which must be in range and free: 422 otherwise); a
// headless (clusterIP "None") or ExternalName Service gets none. Each
// address taken is one store key, created atomically before the Service is
// written and deleted after it is removed, so that any number of API
// servers over one store never hand out an address twice
// (registry.ServiceAllocation). Server.RepairServiceAllocations frees the
// addresses a crash between the two writes leaks.
//
// # Subresources
//
// Besides status: the scale of Deployments and ReplicaSets (GET, PUT and
// PATCH an autoscaling/v1 Scale, which sets spec.replicas), pods/binding
// (POST a v1 Binding: spec.nodeName is set once, atomically),
// pods/eviction (POST a policy/v1 Eviction: the pod is deleted with its
// deleteOptions) and pods/log (GET, streamed from the node agent of the
// pod's node at the URL documented on KubeletConfig). See subresources.go
// and podlog.go.
//
// # Delete
//
// DELETE takes its options (gracePeriodSeconds, propagationPolicy, the
// legacy orphanDependents, preconditions, dryRun) from a DeleteOptions body
// or, without a body, from the query; a body wins whole, as in
// Kubernetes. Bound, running pods are deleted gracefully, the garbage
// collector's finalizers follow propagationPolicy, and a namespace turns
// Terminating until its spec.finalizers are emptied through PUT
// .../namespaces/<name>/finalize (registry.Registry.Delete has the rules).
// The answer is the object with 200, or 202 when it stays and
// orphanDependents was false. DELETE on a collection is deletecollection:
// per namespace for namespaced kinds, not for namespaces; each object
// matching labelSelector and fieldSelector goes through admission and is
// deleted as a DELETE would, and the answer is the list of them. See
// delete.go.
//
// # Not here yet
//
// Server-side apply (application/apply-patch+yaml) and the $retainKeys
// strategic merge directive answer 415 and 400. The server only records
// deletion intent: the garbage collector (controller/garbagecollector)
// removes the "orphan" and "foregroundDeletion" finalizers and deletes
// dependents, and the namespace controller (controller/namespace) empties
// a terminating namespace and removes its "kubernetes" finalizer; without
// them running, nothing does. A successful DELETE always answers with
// the object, where Kubernetes answers a Status for kinds that do not
// return the deleted object.
// sendInitialEvents is accepted and ignored: a watch from resourceVersion ""
// or "0" always starts with the current state. There is no
// PodDisruptionBudget kind: an eviction is always allowed (never 429).
// pods/exec, attach and portforward are not served. Responses are JSON
// only (request bodies may also be YAML or, for the built-in kinds,
// Kubernetes protobuf; the OpenAPI v2 document is served in protobuf).
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/store"
)

// DefaultMaxBodyBytes is the default Config.MaxBodyBytes: 3 MiB, as
// Kubernetes.
const DefaultMaxBodyBytes = 3 << 20

// VersionInfo is the body of /version.
type VersionInfo struct {
	Major      string `json:"major"`
	Minor      string `json:"minor"`
	GitVersion string `json:"gitVersion"`
	GitCommit  string `json:"gitCommit"`
	BuildDate  string `json:"buildDate"`
	GoVersion  string `json:"goVersion"`
	Compiler   string `json:"compiler"`
	Platform   string `json:"platform"`
}

// DefaultVersion returns the version Drover reports when Config.Version is
// zero: Kubernetes 1.30 compatibility, the running Go version and platform.
func DefaultVersion() VersionInfo {
	return VersionInfo{
		Major:      "1",
		Minor:      "30",
		GitVersion: "v1.30.0-drover",
		GoVersion:  runtime.Version(),
		Compiler:   runtime.Compiler,
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// Config configures a Server. Store and Scheme are required.
type Config struct {
	// Store keeps the objects.
	Store store.Store
	// Scheme lists the kinds served: one registry per kind.
	Scheme *api.Scheme
	// Logger receives the server's log lines. nil means discard.
	Logger *slog.Logger
	// MaxBodyBytes is the largest request body accepted (413 above it). 0
	// means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxRequestsInFlight is the most read-only requests (GET and HEAD,
	// but not watches, pods/log, health, metrics, version, discovery and
	// OpenAPI, see limit.go) served at once: one more is answered at once
	// with 429 TooManyRequests and Retry-After: 1. 0 means
	// DefaultMaxRequestsInFlight (400, as Kubernetes); a negative value
	// means no limit.
	MaxRequestsInFlight int
	// MaxMutatingRequestsInFlight is the most mutating requests (every
	// method but GET and HEAD) served at once, as MaxRequestsInFlight. 0
	// means DefaultMaxMutatingRequestsInFlight (200, as Kubernetes); a
	// negative value means no limit.
	MaxMutatingRequestsInFlight int
	// MaxWatches is the most watches open at once across the server: one
	// more is answered 429 as above. 0 means DefaultMaxWatches
	// (100,000); a negative value means no limit.
	MaxWatches int
	// Registerer receives the request metrics. nil means a private
	// prometheus.Registry. /metrics serves them when the Registerer is
	// also a prometheus.Gatherer (as a *prometheus.Registry is).
	Registerer prometheus.Registerer
	// Version is the body of /version; the zero value means
	// DefaultVersion(). Empty GoVersion, Compiler and Platform are filled.
	Version VersionInfo
	// Registry are the options of every registry (one per kind); its
	// Logger defaults to Logger. Registry.Fields is keyed by kind: an
	// entry adds field selector fields to that kind only, on top of the
	// Kubernetes ones of the built-in kinds (registry.DefaultFields); a
	// user kind may instead implement registry.FieldSelectable. Its Now
	// is also the clock of the AGE column of kubectl get's tables. Its
	// NewTicker (the watch caches' idle checks) does not default to
	// Clock's but to time.NewTicker: a Clock's tickers must be read until
	// they are stopped, and a watch cache reads its ticker only while it
	// runs.
	Registry registry.Options
	// Admission is the admission chain run on every create, update (status
	// and patch included) and delete, before the registry. nil means
	// admission.Default with a NamespaceLookup on Store: every namespaced
	// object is created in an existing, active namespace, and pods get the
	// "default" service account. To add plugins, keep the defaults and
	// append:
	//
	//	lookup, err := apiserver.NamespaceLookup(st, scheme)
	//	cfg.Admission = admission.NewChain(
	//		append(admission.DefaultMutators(), myMutator),
	//		append(admission.DefaultValidators(lookup), myValidator))
	//
	// An empty chain (admission.NewChain(nil, nil)) admits everything.
	Admission *admission.Chain
	// Kubelet says how to reach the node agents for pods/log (the URL
	// they serve is documented on KubeletConfig). The zero value means
	// https, http.DefaultTransport and the default timeout.
	Kubelet KubeletConfig
	// EventTTL is how long an Event is kept after its last activity
	// before Run deletes it. 0 means DefaultEventTTL (one hour); a
	// negative value keeps events forever. It must be at least a second.
	EventTTL time.Duration
	// CompactionInterval is how often Run compacts the store, to the
	// revision it had one interval before. 0 means
	// DefaultCompactionInterval (five minutes); a negative value turns
	// compaction off (the store is compacted by something else). It must
	// be at least a second.
	CompactionInterval time.Duration
	// Leader, if not nil, is asked at each of Run's ticks whether this
	// server should do the maintenance that only one server over a store
	// must do (event expiry, compaction). With several API servers over
	// one replicated store, pass raftstore's (*Store).IsLeader. nil means
	// always. It is called from Run's goroutine. It need not be exact: if
	// two servers briefly both do the work, nothing breaks (deletes carry
	// preconditions, and compacting twice to a revision is compacting
	// once).
	Leader func() bool
	// Clock is the time source of Run, and the default Registry.Now. nil
	// means SystemClock().
	Clock Clock
	// ServiceCIDR is the range Services' cluster IPs are allocated from,
	// an IPv4 or IPv6 prefix with at least two host bits, as
	// "10.96.0.0/12" (kube-apiserver's --service-cluster-ip-range, single
	// stack). Its first address after the network one (10.96.0.1) is only
	// given to a Service that asks for it: it is the "kubernetes"
	// Service's. "" means registry.DefaultServiceCIDR (10.96.0.0/12).
	// With NodePortRange, it sets Registry.Services (whose RepairGrace is
	// kept).
	ServiceCIDR string
	// NodePortRange is the range node ports are allocated from, as
	// "30000-32767" (kube-apiserver's --service-node-port-range). ""
	// means registry.DefaultNodePortRange (30000-32767).
	NodePortRange string
	// ServiceRepairInterval is how often Run frees the Service address
	// allocations no Service refers to (left by a crash). 0 means
	// ServiceRepairInterval (the constant); negative turns it off.
	ServiceRepairInterval time.Duration
	// SystemNamespaces are the namespaces Run creates when they do not
	// exist (by every server: a create of an existing one is harmless).
	// nil means DefaultSystemNamespaces(); an empty, non-nil slice none.
	SystemNamespaces []string
}

// Validate reports the first field of c that is wrong.
func (c Config) Validate() error {
	if c.Store == nil {
		return errors.New("apiserver: Config.Store is nil: a store is required")
	}
	if c.Scheme == nil {
		return errors.New("apiserver: Config.Scheme is nil: a scheme is required (api.NewDefaultScheme)")
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("apiserver: Config.MaxBodyBytes is %d: must be positive, or 0 for the default (%d)",
			c.MaxBodyBytes, DefaultMaxBodyBytes)
	}
	if err := c.Kubelet.validate(); err != nil {
		return err
	}
	if c.EventTTL > 0 && c.EventTTL < time.Second {
		return fmt.Errorf("apiserver: Config.EventTTL is %v: must be at least 1s, 0 for the default (%v) or negative for no expiry",
			c.EventTTL, DefaultEventTTL)
	}
	if c.CompactionInterval > 0 && c.CompactionInterval < time.Second {
		return fmt.Errorf("apiserver: Config.CompactionInterval is %v: must be at least 1s, 0 for the default (%v) or negative for no compaction",
			c.CompactionInterval, DefaultCompactionInterval)
	}
	if _, err := c.serviceAllocation(); err != nil {
		return err
	}
	return nil
}

// serviceAllocation returns the registry.ServiceAllocation of
// ServiceCIDR and NodePortRange, defaults filled in.
func (c Config) serviceAllocation() (registry.ServiceAllocation, error) {
	cidr := c.ServiceCIDR
	if cidr == "" {
		cidr = registry.DefaultServiceCIDR
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return registry.ServiceAllocation{}, fmt.Errorf("apiserver: Config.ServiceCIDR is %q: must be an IPv4 or IPv6 prefix, as %q",
			c.ServiceCIDR, registry.DefaultServiceCIDR)
	}
	a := registry.ServiceAllocation{ServiceCIDR: p, NodePorts: registry.DefaultNodePortRange, RepairGrace: c.Registry.Services.RepairGrace}
	if err := a.Validate(); err != nil {
		return registry.ServiceAllocation{}, fmt.Errorf("apiserver: Config.ServiceCIDR is %q: %w", c.ServiceCIDR, err)
	}
	if c.NodePortRange != "" {
		if a.NodePorts, err = registry.ParsePortRange(c.NodePortRange); err != nil {
			return registry.ServiceAllocation{}, fmt.Errorf("apiserver: Config.NodePortRange is %q: %w", c.NodePortRange, err)
		}
	}
	return a, nil
}

// Server serves a Scheme's kinds over HTTP. Its handler is safe for
// concurrent use.
type Server struct {
	cfg       Config
	log       *slog.Logger
	regs      map[api.GroupVersionResource]*registry.Registry
	groups    []groupInfo // ordered: the core group first, then by name
	metrics   *metrics
	admission *admission.Chain
	handler   http.Handler
	openapi   openAPIState // the OpenAPI documents, made on first use (openapi.go)
	running   atomic.Bool  // Run is running
	watches   watchSet     // the open watches, for Close and MaxWatches (watch.go)
	limits    limits       // the in-flight limits (limit.go)
	// metricsSeen is, by node name, the time of the last node agent
	// Summary the metrics API read (metrics_api.go).
	metricsSeen sync.Map
}

// Close ends every open watch, refuses new ones, waits for every watch
// to end (those that took their connection over get a second to flush; one
// streamed by its handler, over HTTP/2 or as a table, can wait on a client
// that stopped reading for up to the write timeout of a minute), and stops
// the kinds' watch caches. Call it after the HTTP server has stopped
// accepting requests (http.Server.Shutdown does not end watches whose
// connection the server took over). Other requests are served as before.
// It is safe to call more than once.
func (s *Server) Close() error {
	s.watches.closeAll()
	for _, r := range s.regs {
		_ = r.Close()
	}
	return nil
}

// groupInfo is one API group and its versions, preferred first.
type groupInfo struct {
	name     string
	versions []string
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.EventTTL == 0 {
		cfg.EventTTL = DefaultEventTTL
	}
	if cfg.CompactionInterval == 0 {
		cfg.CompactionInterval = DefaultCompactionInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock()
	}
	if cfg.SystemNamespaces == nil {
		cfg.SystemNamespaces = DefaultSystemNamespaces()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	def := DefaultVersion()
	if cfg.Version == (VersionInfo{}) {
		cfg.Version = def
	}
	if cfg.Version.GoVersion == "" {
		cfg.Version.GoVersion = def.GoVersion
	}
	if cfg.Version.Compiler == "" {
		cfg.Version.Compiler = def.Compiler
	}
	if cfg.Version.Platform == "" {
		cfg.Version.Platform = def.Platform
	}
	s := &Server{cfg: cfg, log: cfg.Logger, regs: make(map[api.GroupVersionResource]*registry.Registry)}
	opts := cfg.Registry
	if opts.Logger == nil {
		opts.Logger = cfg.Logger
	}
	if opts.Now == nil {
		opts.Now = cfg.Clock.Now
	}
	services, err := cfg.serviceAllocation()
	if err != nil {
		return nil, err
	}
	opts.Services = services
	versions := make(map[string][]string)
	for _, k := range cfg.Scheme.Kinds() {
		r, err := registry.New(cfg.Store, cfg.Scheme, k, opts)
		if err != nil {
			return nil, fmt.Errorf("apiserver: registry of %s: %w", k.GroupVersionKind, err)
		}
		s.regs[k.GroupVersionResource()] = r
		if !slices.Contains(versions[k.Group], k.Version) {
			versions[k.Group] = append(versions[k.Group], k.Version)
		}
	}
	for g, vs := range versions {
		slices.SortFunc(vs, compareVersions)
		s.groups = append(s.groups, groupInfo{name: g, versions: vs})
	}
	if g, ok := metricsGroup(s.regs); ok {
		s.groups = append(s.groups, g) // metrics_api.go
	}
	slices.SortFunc(s.groups, func(a, b groupInfo) int { return strings.Compare(a.name, b.name) })
	s.admission = cfg.Admission
	if s.admission == nil {
		var lookup admission.NamespaceLookupFunc
		if r, ok := s.regs[api.CoreV1.WithResource("namespaces")]; ok {
			lookup = namespaceLookup(r)
		}
		s.admission = admission.Default(lookup)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	if err := cfg.Registerer.Register(watchCollector{s.regs}); err != nil {
		return nil, fmt.Errorf("apiserver: register watch metrics: %w", err)
	}
	s.metrics = m
	s.limits = newLimits(cfg, m)
	s.watches.max = limitOf(cfg.MaxWatches, DefaultMaxWatches)
	s.watches.rejected = m.rejected.WithLabelValues(kindWatch)
	s.handler = s.instrument(s.recoverPanics(s.limit(http.HandlerFunc(s.route))))
	return s, nil
}

// NamespaceLookup returns a lookup of the Namespaces kept in st, for
// admission.NamespaceLifecycle: a linearizable read, so a namespace
// created just before is found. The Namespaces it returns are shared
// and must not be changed. scheme must have the core v1 Namespace
// kind.
func NamespaceLookup(st store.Store, scheme *api.Scheme) (admission.NamespaceLookupFunc, error) {
	r, err := registry.New(st, scheme, api.Kind{GroupVersionKind: api.CoreV1.WithKind("Namespace")}, registry.Options{})
	if err != nil {
		return nil, fmt.Errorf("apiserver: namespace lookup: %w", err)
	}
	return namespaceLookup(r), nil
}

func namespaceLookup(r *registry.Registry) admission.NamespaceLookupFunc {
	return func(ctx context.Context, name string) (*api.Namespace, error) {
		obj, err := r.Get(ctx, "", name, registry.GetOptions{ReadOnly: true})
		if err != nil {
			return nil, err
		}
		ns, ok := obj.(*api.Namespace)
		if !ok {
			return nil, fmt.Errorf("apiserver: namespace %q decoded as %T", name, obj)
		}
		return ns, nil
	}
}

// RepairServiceAllocations frees the cluster IPs and node ports that no
// Service refers to any more (leaked by a crash between an allocation and
// the write of its Service) once they are older than
// Config.Registry.Services.RepairGrace (registry.DefaultRepairGrace), and
// records the addresses of Services that hold one without a record. It is
// safe to run on several servers at once. Run should call it at start and
// every ServiceRepairInterval on the leader.
func (s *Server) RepairServiceAllocations(ctx context.Context) (registry.RepairResult, error) {
	r, ok := s.regs[api.CoreV1.WithResource("services")]
	if !ok {
		return registry.RepairResult{}, nil
	}
	res, err := r.RepairAllocations(ctx)
	if err != nil {
		return res, fmt.Errorf("apiserver: repair service allocations: %w", err)
	}
	return res, nil
}

// ServiceRepairInterval is how often the maintenance should run
// RepairServiceAllocations.
const ServiceRepairInterval = 10 * time.Minute

// repairServicesTick is one run of RepairServiceAllocations from Run's
// loop: on the leader only, with what it did or failed to do logged.
func (s *Server) repairServicesTick(ctx context.Context) {
	if !s.leads() {
		return
	}
	res, err := s.RepairServiceAllocations(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("repair service allocations", "err", err)
	}
	if len(res.Freed) > 0 || len(res.Restored) > 0 {
		s.log.Info("repaired service allocations", "freed", len(res.Freed), "restored", len(res.Restored))
	}
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// compareVersions orders Kubernetes versions by preference: GA before beta
// before alpha, higher numbers first, and others last by name.
func compareVersions(a, b string) int {
	ka, kb := versionKey(a), versionKey(b)
	for i := range ka {
		if ka[i] != kb[i] {
			return kb[i] - ka[i]
		}
	}
	return strings.Compare(a, b)
}

// versionKey returns (stability, major, minor) of "v1", "v2beta1",
// "v1alpha2"; stability is 3 for GA, 2 beta, 1 alpha, 0 unrecognised.
func versionKey(v string) [3]int {
	rest, ok := strings.CutPrefix(v, "v")
	if !ok {
		return [3]int{}
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	major, err := strconv.Atoi(rest[:i])
	if err != nil {
		return [3]int{}
	}
	suffix := rest[i:]
	if suffix == "" {
		return [3]int{3, major, 0}
	}
	for stab, word := range map[int]string{2: "beta", 1: "alpha"} {
		if n, ok := strings.CutPrefix(suffix, word); ok {
			minor, err := strconv.Atoi(n)
			if err != nil {
				return [3]int{}
			}
			return [3]int{stab, major, minor}
		}
	}
	return [3]int{}
}
