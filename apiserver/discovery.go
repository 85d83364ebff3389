package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/drover-io/drover/api"
)

// The discovery documents, in the JSON shapes of Kubernetes.

// APIVersions is the body of /api.
type APIVersions struct {
	Kind       string   `json:"kind"`
	APIVersion string   `json:"apiVersion"`
	Versions   []string `json:"versions"`
}

// APIGroupList is the body of /apis.
type APIGroupList struct {
	Kind       string     `json:"kind"`
	APIVersion string     `json:"apiVersion"`
	Groups     []APIGroup `json:"groups"`
}

// APIGroup is one group of an APIGroupList, and the body of /apis/<group>.
type APIGroup struct {
	Kind             string                     `json:"kind,omitempty"`
	APIVersion       string                     `json:"apiVersion,omitempty"`
	Name             string                     `json:"name"`
	Versions         []GroupVersionForDiscovery `json:"versions"`
	PreferredVersion GroupVersionForDiscovery   `json:"preferredVersion"`
}

// GroupVersionForDiscovery is one version of a group.
type GroupVersionForDiscovery struct {
	GroupVersion string `json:"groupVersion"`
	Version      string `json:"version"`
}

// APIResourceList is the body of /api/v1 and /apis/<group>/<version>.
type APIResourceList struct {
	Kind         string        `json:"kind"`
	APIVersion   string        `json:"apiVersion"`
	GroupVersion string        `json:"groupVersion"`
	Resources    []APIResource `json:"resources"`
}

// APIResource is one resource or subresource ("pods/status") of a version.
type APIResource struct {
	Name         string `json:"name"`
	SingularName string `json:"singularName"`
	Namespaced   bool   `json:"namespaced"`
	// Group and Version are those of Kind when they are not the
	// resource's: autoscaling/v1 for a scale subresource.
	Group      string   `json:"group,omitempty"`
	Version    string   `json:"version,omitempty"`
	Kind       string   `json:"kind"`
	Verbs      []string `json:"verbs"`
	ShortNames []string `json:"shortNames,omitempty"`
	Categories []string `json:"categories,omitempty"`
}

// The verbs served. Namespaces have no deletecollection, as in Kubernetes.
var (
	resourceVerbs    = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	namespaceVerbs   = []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	subresourceVerbs = []string{"get", "patch", "update"}
)

// verbsOf returns the verbs of kind k's resource.
func verbsOf(k api.Kind) []string {
	if k.GroupVersionKind == api.CoreV1.WithKind("Namespace") {
		return namespaceVerbs
	}
	return resourceVerbs
}

func (s *Server) hasGroupVersion(gv api.GroupVersion) bool {
	for _, g := range s.groups {
		if g.name == gv.Group {
			return slices.Contains(g.versions, gv.Version)
		}
	}
	return false
}

func (s *Server) serveAPIVersions(w http.ResponseWriter, r *http.Request) {
	if acceptsAggregated(r) {
		s.serveAggregated(w, true)
		return
	}
	v := APIVersions{Kind: "APIVersions", APIVersion: "v1", Versions: []string{}}
	for _, g := range s.groups {
		if g.name == "" {
			v.Versions = g.versions
		}
	}
	s.writeJSON(w, http.StatusOK, v)
}

func apiGroup(g groupInfo) APIGroup {
	out := APIGroup{Name: g.name}
	for _, v := range g.versions {
		out.Versions = append(out.Versions, GroupVersionForDiscovery{GroupVersion: g.name + "/" + v, Version: v})
	}
	out.PreferredVersion = out.Versions[0]
	return out
}

func (s *Server) serveAPIGroupList(w http.ResponseWriter, r *http.Request) {
	if acceptsAggregated(r) {
		s.serveAggregated(w, false)
		return
	}
	l := APIGroupList{Kind: "APIGroupList", APIVersion: "v1", Groups: []APIGroup{}}
	for _, g := range s.groups {
		if g.name != "" {
			l.Groups = append(l.Groups, apiGroup(g))
		}
	}
	s.writeJSON(w, http.StatusOK, l)
}

func (s *Server) serveAPIGroup(w http.ResponseWriter, name string) {
	for _, g := range s.groups {
		if g.name == name && name != "" {
			out := apiGroup(g)
			out.Kind, out.APIVersion = "APIGroup", "v1"
			s.writeJSON(w, http.StatusOK, out)
			return
		}
	}
	s.writeError(w, notFound())
}

func (s *Server) serveAPIResourceList(w http.ResponseWriter, gv api.GroupVersion) {
	l := APIResourceList{Kind: "APIResourceList", APIVersion: "v1", GroupVersion: gv.String(), Resources: []APIResource{}}
	for _, k := range s.cfg.Scheme.Kinds() {
		if k.GroupVersion() != gv {
			continue
		}
		if _, ok := s.regs[k.GroupVersionResource()]; !ok {
			continue
		}
		l.Resources = append(l.Resources, APIResource{
			Name: k.Resource, SingularName: k.Singular, Namespaced: k.Namespaced, Kind: k.Kind,
			Verbs: verbsOf(k), ShortNames: k.ShortNames, Categories: k.Categories,
		})
		l.Resources = append(l.Resources, subresourceDiscovery(k)...)
	}
	l.Resources = append(l.Resources, s.metricsAPIResources(gv)...)
	slices.SortStableFunc(l.Resources, func(a, b APIResource) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	s.writeJSON(w, http.StatusOK, l)
}

// Aggregated discovery: /api and /apis answer, to a client that asks for it
// in Accept (kubectl and client-go do), every resource of every version of
// their groups in one document, instead of one request per group version.

// aggregatedContentType is the media type of an APIGroupDiscoveryList.
const aggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// APIGroupDiscoveryList is the aggregated body of /api (the core group)
// and /apis (the other groups).
type APIGroupDiscoveryList struct {
	Kind       string              `json:"kind"`
	APIVersion string              `json:"apiVersion"`
	Metadata   struct{}            `json:"metadata"`
	Items      []APIGroupDiscovery `json:"items"`
}

// APIGroupDiscovery is one group, its versions preferred first.
type APIGroupDiscovery struct {
	Metadata struct {
		Name string `json:"name,omitempty"`
	} `json:"metadata"`
	Versions []APIVersionDiscovery `json:"versions"`
}

// APIVersionDiscovery is one version of a group and its resources.
type APIVersionDiscovery struct {
	Version   string                 `json:"version"`
	Resources []APIResourceDiscovery `json:"resources"`
	Freshness string                 `json:"freshness"`
}

// APIResourceDiscovery is one resource and its subresources.
type APIResourceDiscovery struct {
	Resource         string                    `json:"resource"`
	ResponseKind     ResponseKind              `json:"responseKind"`
	Scope            string                    `json:"scope"`
	SingularResource string                    `json:"singularResource"`
	Verbs            []string                  `json:"verbs"`
	ShortNames       []string                  `json:"shortNames,omitempty"`
	Categories       []string                  `json:"categories,omitempty"`
	Subresources     []APISubresourceDiscovery `json:"subresources,omitempty"`
}

// APISubresourceDiscovery is one subresource of a resource.
type APISubresourceDiscovery struct {
	Subresource  string       `json:"subresource"`
	ResponseKind ResponseKind `json:"responseKind"`
	Verbs        []string     `json:"verbs"`
}

// ResponseKind is the kind of the object a resource or subresource serves.
type ResponseKind struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

// acceptsAggregated reports whether r's Accept header lists the aggregated
// discovery media type (v2; the older v2beta1 is not served).
func acceptsAggregated(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept") {
		for rng := range strings.SplitSeq(h, ",") {
			typ, params, err := mime.ParseMediaType(strings.TrimSpace(rng))
			if err == nil && typ == "application/json" && params["g"] == "apidiscovery.k8s.io" &&
				params["v"] == "v2" && params["as"] == "APIGroupDiscoveryList" {
				return true
			}
		}
	}
	return false
}

// serveAggregated writes the APIGroupDiscoveryList of the core group
// (core) or of the other groups.
func (s *Server) serveAggregated(w http.ResponseWriter, core bool) {
	l := APIGroupDiscoveryList{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2", Items: []APIGroupDiscovery{}}
	for _, g := range s.groups {
		if (g.name == "") != core {
			continue
		}
		var gd APIGroupDiscovery
		gd.Metadata.Name = g.name
		for _, v := range g.versions {
			gd.Versions = append(gd.Versions, s.versionDiscovery(api.GroupVersion{Group: g.name, Version: v}))
		}
		l.Items = append(l.Items, gd)
	}
	w.Header().Set("Vary", "Accept")
	w.Header().Set("Content-Type", aggregatedContentType)
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(l)
}

// versionDiscovery lists the resources of gv, sorted by name.
func (s *Server) versionDiscovery(gv api.GroupVersion) APIVersionDiscovery {
	vd := APIVersionDiscovery{Version: gv.Version, Resources: []APIResourceDiscovery{}, Freshness: "Current"}
	for _, k := range s.cfg.Scheme.Kinds() {
		if k.GroupVersion() != gv {
			continue
		}
		if _, ok := s.regs[k.GroupVersionResource()]; !ok {
			continue
		}
		rd := APIResourceDiscovery{
			Resource: k.Resource, ResponseKind: ResponseKind{Group: k.Group, Version: k.Version, Kind: k.Kind},
			Scope: "Cluster", SingularResource: k.Singular,
			Verbs: verbsOf(k), ShortNames: k.ShortNames, Categories: k.Categories,
		}
		if k.Namespaced {
			rd.Scope = "Namespaced"
		}
		for _, sub := range subresourceDiscovery(k) {
			kind := ResponseKind{Group: sub.Group, Version: sub.Version, Kind: sub.Kind}
			if sub.Version == "" {
				kind.Group, kind.Version = gv.Group, gv.Version
			}
			rd.Subresources = append(rd.Subresources, APISubresourceDiscovery{
				Subresource: strings.TrimPrefix(sub.Name, k.Resource+"/"), ResponseKind: kind, Verbs: sub.Verbs,
			})
		}
		vd.Resources = append(vd.Resources, rd)
	}
	vd.Resources = append(vd.Resources, s.metricsResourceDiscovery(gv)...)
	slices.SortFunc(vd.Resources, func(a, b APIResourceDiscovery) int { return strings.Compare(a.Resource, b.Resource) })
	return vd
}

// Health.

func (s *Server) serveOK(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte("ok"))
}

// Readier is the optional interface of a store that knows whether it can
// serve (a replicated store without a leader cannot). /readyz calls Ready,
// from any number of goroutines; a non-nil error is the reason it is not.
type Readier interface {
	Ready() error
}

// readyTimeout bounds how long /readyz waits for the store.
const readyTimeout = 5 * time.Second

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := s.readiness(ctx)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %v", err)
		return
	}
	_, _ = w.Write([]byte("ok"))
}

func (s *Server) readiness(ctx context.Context) error {
	if _, err := s.cfg.Store.Revision(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if rd, ok := s.cfg.Store.(Readier); ok {
		if err := rd.Ready(); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}
