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
// plus discovery (/api, /apis, /api/v1, /apis/<group>[/<version>]),
// /version, /healthz, /livez, /readyz and /metrics.
//
// # Patch
//
// PATCH takes JSON patches (RFC 6902), JSON merge patches (RFC 7386) and
// strategic merge patches (strategic.go: Drover's own merge keys for the
// built-in kinds), on objects and their status; a conflict with a
// concurrent write is retried on the fresh object.
//
// # Admission
//
// Every create, update (status and patch included) and delete goes through
// Config.Admission (package admission) before the registry; a dry run too,
// with Attributes.DryRun set.
//
// # Not here yet
//
// Server-side apply (application/apply-patch+yaml) and the $retainKeys
// strategic merge directive answer 415 and 400. Deletecollection, the scale
// subresource, Namespace finalize, graceful deletion
// (gracePeriodSeconds) and propagationPolicy are accepted as query
// parameters where kubectl sends them but have no effect or answer 405/404.
// sendInitialEvents is accepted and ignored: a watch from resourceVersion ""
// or "0" always starts with the current state. Only JSON is served (no
// protobuf, no Table output for kubectl get's server-side printing).
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"

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
	// Registerer receives the request metrics. nil means a private
	// prometheus.Registry. /metrics serves them when the Registerer is
	// also a prometheus.Gatherer (as a *prometheus.Registry is).
	Registerer prometheus.Registerer
	// Version is the body of /version; the zero value means
	// DefaultVersion(). Empty GoVersion, Compiler and Platform are filled.
	Version VersionInfo
	// Registry are the options of every registry (one per kind); its
	// Logger defaults to Logger. A Registry.Fields, if set, is called for
	// the objects of every kind and replaces the default for Pods, so it
	// should return registry.PodFields(obj) merged with its own fields.
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
	return nil
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
	s.metrics = m
	s.handler = s.instrument(s.recoverPanics(http.HandlerFunc(s.route)))
	return s, nil
}

// NamespaceLookup returns a lookup of the Namespaces kept in st, for
// admission.NamespaceLifecycle: a linearizable read, so a namespace
// created just before is found. scheme must have the core v1 Namespace
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
		obj, err := r.Get(ctx, "", name, registry.GetOptions{})
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
