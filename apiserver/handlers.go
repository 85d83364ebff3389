package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/internal/readall"
)

// target is a resource request, parsed from its path.
type target struct {
	reg         *registry.Registry
	kind        api.Kind
	namespace   string // "" for cluster-scoped kinds and across namespaces
	name        string // "" for collections
	subresource string // "" or one of the kind's Subresources
}

// route dispatches a request by its path.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	switch path {
	case "healthz", "livez":
		s.nonResource(w, r, s.serveOK)
		return
	case "readyz":
		s.nonResource(w, r, s.serveReady)
		return
	case "version":
		s.nonResource(w, r, func(w http.ResponseWriter, _ *http.Request) { s.writeJSON(w, http.StatusOK, s.cfg.Version) })
		return
	case "metrics":
		s.nonResource(w, r, s.serveMetrics)
		return
	case "api":
		s.nonResource(w, r, s.serveAPIVersions)
		return
	case "apis":
		s.nonResource(w, r, s.serveAPIGroupList)
		return
	}
	if path == "openapi/v2" || path == "openapi/v3" || strings.HasPrefix(path, openAPIV3Prefix) {
		s.nonResource(w, r, func(w http.ResponseWriter, r *http.Request) { s.serveOpenAPI(w, r, path) })
		return
	}
	seg := strings.Split(path, "/")
	var gv api.GroupVersion
	var rest []string
	switch {
	case seg[0] == "api" && len(seg) >= 2:
		gv, rest = api.GroupVersion{Version: seg[1]}, seg[2:]
	case seg[0] == "apis" && len(seg) == 2:
		s.nonResource(w, r, func(w http.ResponseWriter, _ *http.Request) { s.serveAPIGroup(w, seg[1]) })
		return
	case seg[0] == "apis" && len(seg) >= 3:
		gv, rest = api.GroupVersion{Group: seg[1], Version: seg[2]}, seg[3:]
	default:
		s.writeError(w, notFound())
		return
	}
	if !s.hasGroupVersion(gv) {
		s.writeError(w, notFound())
		return
	}
	if len(rest) == 0 {
		s.nonResource(w, r, func(w http.ResponseWriter, _ *http.Request) { s.serveAPIResourceList(w, gv) })
		return
	}
	if s.isMetricsAPI(gv) {
		s.serveMetricsAPI(w, r, rest) // metrics_api.go
		return
	}
	t, ok := s.parseTarget(gv, rest)
	if !ok {
		s.writeError(w, notFound())
		return
	}
	s.serveResource(w, r, t)
}

// nonResource serves a GET-only path.
func (s *Server) nonResource(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, api.NewStatusError(http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed,
			fmt.Sprintf("%s is not supported on %s: only GET is", r.Method, r.URL.Path)))
		return
	}
	h(w, r)
}

// parseTarget resolves the path segments after /api/v1 or /apis/<g>/<v>.
func (s *Server) parseTarget(gv api.GroupVersion, rest []string) (target, bool) {
	for _, p := range rest {
		if p == "" {
			return target{}, false
		}
	}
	var t target
	if rest[0] == "namespaces" && len(rest) >= 3 {
		if reg, ok := s.regs[gv.WithResource(rest[2])]; ok && reg.Kind().Namespaced {
			t = target{reg: reg, kind: reg.Kind(), namespace: rest[1]}
			rest = rest[3:]
			return t, t.setName(rest)
		}
	}
	reg, ok := s.regs[gv.WithResource(rest[0])]
	if !ok {
		return target{}, false
	}
	t = target{reg: reg, kind: reg.Kind()}
	if !t.setName(rest[1:]) {
		return target{}, false
	}
	// A namespaced kind is only listed or watched across namespaces.
	if t.kind.Namespaced && t.name != "" {
		return target{}, false
	}
	return t, true
}

// setName takes [<name>[/<subresource>]], for a subresource the kind has.
func (t *target) setName(rest []string) bool {
	switch len(rest) {
	case 0:
		return true
	case 1:
		t.name = rest[0]
		return true
	case 2:
		if !t.kind.HasSubresource(rest[1]) {
			return false
		}
		t.name, t.subresource = rest[0], rest[1]
		return true
	}
	return false
}

// allowedParams are the query parameters accepted; the ones with no effect
// are those kubectl sends.
var allowedParams = map[string]bool{
	"labelSelector": true, "fieldSelector": true, "limit": true, "continue": true,
	"resourceVersion": true, "resourceVersionMatch": true, "allowWatchBookmarks": true,
	"timeoutSeconds": true, "dryRun": true, "watch": true,
	"pretty": true, "fieldManager": true, "fieldValidation": true, "propagationPolicy": true,
	"gracePeriodSeconds": true, "orphanDependents": true, "timeout": true, "sendInitialEvents": true, "force": true,
	"includeObject": true, // the objects of a Table's rows (table.go)
}

// serveResource serves a request on a resource.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, t target) {
	gr := t.kind.GroupVersionResource().GroupResource()
	info := requestInfo{resource: gr.String()}
	if t.subresource != "" && t.subresource != "status" {
		// Subresources other than status have their own verbs and query
		// parameters (subresources.go).
		s.serveSubresource(w, r, t)
		return
	}
	q := r.URL.Query()
	for p := range q {
		if !allowedParams[p] {
			setInfo(w, requestInfo{verb: r.Method, resource: info.resource})
			s.writeError(w, api.NewBadRequest("unknown query parameter %q", p))
			return
		}
	}
	var err error
	switch r.Method {
	case http.MethodGet:
		switch {
		case t.name != "":
			info.verb = "get"
			setInfo(w, info)
			err = s.get(w, r, t)
		case isWatch(q):
			info.verb = "watch"
			setInfo(w, info)
			err = s.watch(w, r, t)
		default:
			info.verb = "list"
			setInfo(w, info)
			err = s.list(w, r, t)
		}
	case http.MethodPost:
		info.verb = "create"
		setInfo(w, info)
		if t.name != "" {
			err = api.NewMethodNotAllowed(gr, "POST on a named object")
			break
		}
		err = s.create(w, r, t)
	case http.MethodPut:
		info.verb = "update"
		setInfo(w, info)
		if t.name == "" {
			err = api.NewMethodNotAllowed(gr, "PUT on a collection")
			break
		}
		err = s.update(w, r, t)
	case http.MethodDelete:
		switch {
		case t.subresource != "":
			info.verb = "delete"
			setInfo(w, info)
			err = api.NewMethodNotAllowed(gr, "DELETE on the "+t.subresource+" subresource")
		case t.name == "":
			info.verb = "deletecollection"
			setInfo(w, info)
			err = s.deleteCollection(w, r, t)
		default:
			info.verb = "delete"
			setInfo(w, info)
			err = s.delete(w, r, t)
		}
	case http.MethodPatch:
		info.verb = "patch"
		setInfo(w, info)
		if t.name == "" {
			err = api.NewMethodNotAllowed(gr, "PATCH on a collection")
			break
		}
		err = s.patch(w, r, t)
	default:
		setInfo(w, requestInfo{verb: r.Method, resource: info.resource})
		err = api.NewMethodNotAllowed(gr, r.Method)
	}
	if err != nil {
		s.writeError(w, err)
	}
}

// isWatch reports whether the query asks for a watch. An invalid value is
// checked again (and refused) by watchParam.
func isWatch(q map[string][]string) bool {
	v := first(q, "watch")
	return v == "true" || v == "1"
}

func first(q map[string][]string, key string) string {
	if v := q[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// dryRun parses the dryRun parameter: "" or "All".
func dryRun(q map[string][]string) (bool, error) {
	switch v := first(q, "dryRun"); v {
	case "":
		return false, nil
	case "All":
		return true, nil
	default:
		return false, api.NewBadRequest("invalid dryRun %q: the only supported value is \"All\"", v)
	}
}

// listOptions parses the query of a list or watch.
func listOptions(q map[string][]string) (registry.ListOptions, error) {
	var opts registry.ListOptions
	var err error
	if v := first(q, "watch"); v != "" && v != "true" && v != "1" && v != "false" && v != "0" {
		return opts, api.NewBadRequest("invalid watch %q: must be true, 1, false or 0", v)
	}
	if opts.LabelSelector, err = labels.Parse(first(q, "labelSelector")); err != nil {
		return opts, api.NewBadRequest("invalid labelSelector: %v", err)
	}
	if opts.FieldSelector, err = fields.Parse(first(q, "fieldSelector")); err != nil {
		return opts, api.NewBadRequest("invalid fieldSelector: %v", err)
	}
	if v := first(q, "limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return opts, api.NewBadRequest("invalid limit %q: must be a non-negative integer", v)
		}
		opts.Limit = n
	}
	opts.Continue = first(q, "continue")
	opts.ResourceVersion = first(q, "resourceVersion")
	opts.ResourceVersionMatch = first(q, "resourceVersionMatch")
	if v := first(q, "allowWatchBookmarks"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opts, api.NewBadRequest("invalid allowWatchBookmarks %q: must be true or false", v)
		}
		opts.AllowBookmarks = b
	}
	return opts, nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, t target) error {
	topts, asTable, err := tableRequest(r)
	if err != nil {
		return err
	}
	obj, err := t.reg.Get(r.Context(), t.namespace, t.name, registry.GetOptions{ResourceVersion: first(r.URL.Query(), "resourceVersion")})
	if err != nil {
		return err
	}
	if asTable {
		return s.writeTable(w, t.kind, []api.Object{obj}, api.ListMeta{ResourceVersion: obj.GetObjectMeta().ResourceVersion}, topts)
	}
	s.writeJSON(w, http.StatusOK, obj)
	return nil
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, t target) error {
	opts, err := listOptions(r.URL.Query())
	if err != nil {
		return err
	}
	topts, asTable, err := tableRequest(r)
	if err != nil {
		return err
	}
	list, err := t.reg.List(r.Context(), t.namespace, opts)
	if err != nil {
		return err
	}
	if asTable {
		items, err := listItems(list)
		if err != nil {
			return api.NewInternalError(err)
		}
		return s.writeTable(w, t.kind, items, *list.GetListMeta(), topts)
	}
	s.writeJSON(w, http.StatusOK, list)
	return nil
}

// readBody reads the request body, up to MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	data, err := readall.Sized(body, r.ContentLength, min(s.cfg.MaxBodyBytes, maxPresize))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, api.NewStatusError(http.StatusRequestEntityTooLarge, api.StatusReasonRequestEntityTooLarge,
				fmt.Sprintf("the request body is larger than the limit of %d bytes", s.cfg.MaxBodyBytes))
		}
		return nil, api.NewBadRequest("read the request body: %v", err)
	}
	return data, nil
}

// maxPresize is the largest declared Content-Length readBody allocates
// for before the body arrives: a larger body grows as it comes.
const maxPresize = 64 << 10

// checkBodyType refuses, with 415, a body that is neither JSON, YAML nor
// Kubernetes protobuf, and reports whether it is protobuf: client-go's typed
// clients (kubectl create) send protobuf by default and do not fall back
// to JSON on a 415. No Content-Type is taken as JSON or YAML, by content.
func checkBodyType(r *http.Request) (protobuf bool, err error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return false, api.NewBadRequest("invalid Content-Type %q: %v", ct, err)
	case mt == "application/json", mt == "application/yaml", mt == "application/x-yaml", mt == "text/yaml", mt == "*/*":
		return false, nil
	case mt == api.ContentTypeProtobuf:
		return true, nil
	}
	return false, api.NewStatusError(http.StatusUnsupportedMediaType, api.StatusReasonUnsupportedMediaType,
		fmt.Sprintf("the body of the request was in an unknown format (%s): accepted media types are application/json, application/yaml and %s", mt, api.ContentTypeProtobuf))
}

// decodeBody reads and strictly decodes an object of t's kind, from JSON,
// YAML or, for the built-in kinds, Kubernetes protobuf.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, t target) (api.Object, error) {
	protobuf, err := checkBodyType(r)
	if err != nil {
		return nil, err
	}
	if protobuf && !t.kind.HasProtobuf() {
		return nil, api.NewStatusError(http.StatusUnsupportedMediaType, api.StatusReasonUnsupportedMediaType,
			fmt.Sprintf("%s has no protobuf encoding: send the body as application/json or application/yaml", t.kind.GroupVersionKind))
	}
	data, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, api.NewBadRequest("the request body is empty: a %s is required", t.kind.GroupVersionKind)
	}
	fv, err := parseFieldValidation(r)
	if err != nil {
		return nil, err
	}
	obj := t.kind.New()
	if protobuf {
		err = s.cfg.Scheme.DecodeProtobufInto(data, obj)
	} else {
		err = s.decodeJSONInto(w, data, obj, fv)
	}
	if err != nil {
		if de, ok := errors.AsType[*api.DecodeError](err); ok {
			return nil, de.ToStatusError()
		}
		return nil, api.NewBadRequest("decode the request body: %v", err)
	}
	obj.GetTypeMeta().SetGroupVersionKind(t.kind.GroupVersionKind)
	m := obj.GetObjectMeta()
	switch {
	case !t.kind.Namespaced:
		m.Namespace = ""
	case m.Namespace == "":
		m.Namespace = t.namespace
	case m.Namespace != t.namespace:
		return nil, api.NewBadRequest("the namespace of the object (%q) does not match the namespace of the request (%q)",
			m.Namespace, t.namespace)
	}
	return obj, nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, t target) error {
	if t.kind.Namespaced && t.namespace == "" {
		return api.NewMethodNotAllowed(t.kind.GroupVersionResource().GroupResource(),
			"POST without a namespace (use .../namespaces/<namespace>/"+t.kind.Resource+")")
	}
	dry, err := dryRun(r.URL.Query())
	if err != nil {
		return err
	}
	obj, err := s.decodeBody(w, r, t)
	if err != nil {
		return err
	}
	if err := s.admit(r.Context(), t, admission.Create, obj, nil, dry); err != nil {
		return err
	}
	var encoded []byte
	out, err := t.reg.Create(r.Context(), obj, registry.CreateOptions{DryRun: dry, Encoded: &encoded, Handoff: true})
	if err != nil {
		return err
	}
	s.writeEncoded(w, http.StatusCreated, out, encoded)
	return nil
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, t target) error {
	dry, err := dryRun(r.URL.Query())
	if err != nil {
		return err
	}
	obj, err := s.decodeBody(w, r, t)
	if err != nil {
		return err
	}
	if n := obj.GetObjectMeta().Name; n != t.name {
		return api.NewBadRequest("the name of the object (%q) does not match the name in the URL (%q)", n, t.name)
	}
	// Admission may not change the old object: it is read-only.
	old, err := t.reg.Get(r.Context(), t.namespace, t.name, registry.GetOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	if err := s.admit(r.Context(), t, admission.Update, obj, old, dry); err != nil {
		return err
	}
	var encoded []byte
	out, err := t.reg.Update(r.Context(), obj, registry.UpdateOptions{DryRun: dry, Subresource: t.subresource, Encoded: &encoded, ReadOnlyResult: true})
	if err != nil {
		return err
	}
	s.writeEncoded(w, http.StatusOK, out, encoded)
	return nil
}

// admit runs the admission chain on a request for t. obj is the object to
// store (nil on a delete), old the stored one (nil on a create). A mutator
// may not move obj to another namespace or (on an update) rename it: that
// would bypass the checks made on the request's namespace and name, and is
// a 500.
func (s *Server) admit(ctx context.Context, t target, op admission.Operation, obj, old api.Object, dry bool) error {
	a := &admission.Attributes{
		Operation: op, Kind: t.kind, Namespace: t.namespace, Name: t.name,
		Subresource: t.subresource, Object: obj, OldObject: old, DryRun: dry,
	}
	if obj == nil {
		return s.admission.Admit(ctx, a)
	}
	m := obj.GetObjectMeta()
	a.Name = m.Name
	ns, name := m.Namespace, m.Name
	if err := s.admission.Admit(ctx, a); err != nil {
		return err
	}
	if m = obj.GetObjectMeta(); m.Namespace != ns || (op == admission.Update && m.Name != name) {
		return api.NewInternalError(fmt.Errorf("admission changed the namespace/name of %s %q from %s/%s to %s/%s",
			t.kind.GroupVersionResource().GroupResource(), name, ns, name, m.Namespace, m.Name))
	}
	return nil
}

// writeJSON writes v as the JSON response body.
func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode response", "type", fmt.Sprintf("%T", v), "err", err)
		code, data = http.StatusInternalServerError, mustStatusJSON(api.NewInternalError(fmt.Errorf("encode the response: %w", err)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(data, '\n'))
}

// writeEncoded writes obj as the JSON response body: encoded, its JSON
// as the registry made it, or, when that is nil, obj encoded here.
func (s *Server) writeEncoded(w http.ResponseWriter, code int, obj api.Object, encoded []byte) {
	if encoded == nil {
		s.writeJSON(w, code, obj)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(encoded)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(encoded, '\n'))
}

// writeError writes err as a Status with its HTTP code: the Status of a
// StatusError, and a 500 InternalError (logged) for anything else.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	se, ok := errors.AsType[*api.StatusError](err)
	if !ok {
		s.log.Error("unexpected error", "err", err)
		se = api.NewInternalError(err)
	}
	st := se.Status
	st.Kind, st.APIVersion, st.Status = "Status", "v1", api.StatusFailure
	code := int(st.Code)
	if code < 400 || code > 599 {
		code = http.StatusInternalServerError
		st.Code = int32(code)
	}
	if code >= 500 {
		s.log.Warn("request failed", "code", code, "reason", st.Reason, "message", st.Message)
	}
	s.writeJSON(w, code, st)
}

func mustStatusJSON(se *api.StatusError) []byte {
	data, _ := json.Marshal(se.Status) // a Status always encodes
	return data
}

// notFound is the answer to a path the server does not serve.
func notFound() *api.StatusError {
	return api.NewStatusError(http.StatusNotFound, api.StatusReasonNotFound, "the server could not find the requested resource")
}
