package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/internal/names"
)

// This file serves the subresources other than status:
//
//	.../deployments/<name>/scale, .../replicasets/<name>/scale
//	                        GET, PUT, PATCH an autoscaling/v1 Scale
//	.../pods/<name>/binding POST a v1 Binding: set spec.nodeName once
//	.../pods/<name>/eviction POST a policy/v1 Eviction: delete the pod
//	.../pods/<name>/log     GET the logs of a container (podlog.go)
//	.../pods/<name>/exec    GET or POST: run a command in a container (podexec.go)
//
// Each writes through admission like the verbs on the parent: a scale is
// an Update of the parent (Attributes.Subresource "scale", Object the
// parent with its new spec.replicas), a binding an Update of the pod
// (Subresource "binding", Object the bound pod), an eviction a Delete of
// the pod (Subresource "eviction").

// serveSubresource serves a subresource other than status: each has its
// own verbs, query parameters and body.
func (s *Server) serveSubresource(w http.ResponseWriter, r *http.Request, t target) {
	gr := t.kind.GroupVersionResource().GroupResource()
	setInfo(w, requestInfo{verb: methodVerb(r.Method), resource: gr.String() + "/" + t.subresource})
	var err error
	switch t.subresource {
	case "finalize":
		err = s.finalize(w, r, t)
	case "scale":
		err = s.serveScale(w, r, t)
	case "binding":
		err = s.serveBinding(w, r, t)
	case "eviction":
		err = s.serveEviction(w, r, t)
	case "log":
		err = s.servePodLog(w, r, t)
	case "exec":
		err = s.servePodExec(w, r, t)
	default:
		err = notServed(t)
	}
	if err != nil {
		s.writeError(w, err)
	}
}

// subresourceDiscovery returns the discovery entries of k's subresources
// that are served, as Kubernetes lists them: the kind of each is that of
// its body. A subresource served here must be listed here, so that
// kubectl finds it.
func subresourceDiscovery(k api.Kind) []APIResource {
	var out []APIResource
	add := func(sub string, gvk api.GroupVersionKind, verbs ...string) {
		r := APIResource{Name: k.Resource + "/" + sub, Namespaced: k.Namespaced, Kind: gvk.Kind, Verbs: verbs}
		if gvk.GroupVersion() != k.GroupVersion() {
			r.Group, r.Version = gvk.Group, gvk.Version
		}
		out = append(out, r)
	}
	pod := isPod(target{kind: k})
	_, _, _, scalable := replicas(k.New())
	for _, sub := range k.Subresources {
		switch {
		case sub == "status":
			add(sub, k.GroupVersionKind, subresourceVerbs...)
		case sub == "scale" && scalable:
			add(sub, scaleKind, subresourceVerbs...)
		case sub == "binding" && pod:
			add(sub, bindingKind, "create")
		case sub == "eviction" && pod:
			add(sub, evictionKind, "create")
		case sub == "log" && pod:
			add(sub, k.GroupVersionKind, "get")
		case sub == "exec" && pod:
			add(sub, api.CoreV1.WithKind("PodExecOptions"), "create", "get")
		case sub == "finalize" && k.GroupVersionKind == api.CoreV1.WithKind("Namespace"):
			add(sub, k.GroupVersionKind, "update")
		}
	}
	return out
}

// methodVerb is the Kubernetes verb of a request on a named subresource.
func methodVerb(method string) string {
	switch method {
	case http.MethodGet:
		return "get"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodPost:
		return "create"
	case http.MethodDelete:
		return "delete"
	}
	return method
}

func notServed(t target) error {
	return api.NewStatusError(http.StatusNotFound, api.StatusReasonNotFound,
		fmt.Sprintf("the subresource %q of %s is not served", t.subresource, t.kind.GroupVersionResource().GroupResource()))
}

// isPod reports whether t is on core v1 Pods: a user kind may declare a
// binding, eviction or log subresource, but only Pods serve them.
func isPod(t target) bool { return t.kind.GroupVersionKind == api.CoreV1.WithKind("Pod") }

// subresourceParams are the query parameters of the writes on
// subresources; the ones with no effect are those kubectl sends.
var subresourceParams = map[string]bool{"dryRun": true, "pretty": true, "fieldManager": true, "fieldValidation": true}

// checkParams refuses a query parameter not in allowed, naming those that
// are.
func checkParams(r *http.Request, t target, allowed map[string]bool) error {
	for p := range r.URL.Query() {
		if !allowed[p] {
			valid := slices.Sorted(maps.Keys(allowed))
			return api.NewBadRequest("unknown query parameter %q for %s/%s: valid are %s",
				p, t.kind.Resource, t.subresource, strings.Join(valid, ", "))
		}
	}
	return nil
}

// methodNotAllowed refuses a method on a subresource, naming the ones it
// serves.
func methodNotAllowed(r *http.Request, t target, allowed ...string) error {
	gr := t.kind.GroupVersionResource().GroupResource()
	return api.NewStatusError(http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed,
		fmt.Sprintf("%s is not supported on %s/%s: only %s", r.Method, gr, t.subresource, strings.Join(allowed, ", ")))
}

// errModified is the message of a Conflict on a stale resourceVersion.
var errModified = errors.New("the object has been modified; please apply your changes to the latest version and try again")

// decodeSubresource reads the body of a write on a subresource and decodes
// it strictly into v, whose kind must be gvk: the body may leave kind and
// apiVersion out, or give gvk's (or one of altVersions).
func (s *Server) decodeSubresource(w http.ResponseWriter, r *http.Request, v api.Object, gvk api.GroupVersionKind, altVersions ...string) error {
	protobuf, err := checkBodyType(r)
	if err != nil {
		return err
	}
	data, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return api.NewBadRequest("the request body is empty: a %s is required", gvk)
	}
	if protobuf {
		// Typed clients (kubectl drain's evictions, schedulers' bindings)
		// send these bodies as protobuf.
		if err := s.cfg.Scheme.DecodeProtobufInto(data, v); err != nil {
			if de, ok := errors.AsType[*api.DecodeError](err); ok {
				return de.ToStatusError()
			}
			return api.NewBadRequest("decode the request body: %v", err)
		}
		v.GetTypeMeta().SetGroupVersionKind(gvk)
		return nil
	}
	return decodeStrict(data, v, gvk, altVersions...)
}

func decodeStrict(data []byte, v api.Object, gvk api.GroupVersionKind, altVersions ...string) error {
	if err := api.UnmarshalStrict(data, v); err != nil {
		de := &api.DecodeError{Kind: gvk.Kind, Err: err}
		var fields api.ErrorList
		if errors.As(err, &fields) {
			de = &api.DecodeError{Kind: gvk.Kind, Fields: fields}
		}
		return de.ToStatusError()
	}
	tm := v.GetTypeMeta()
	versions := append([]string{gvk.GroupVersion().String()}, altVersions...)
	if (tm.Kind != "" && tm.Kind != gvk.Kind) || (tm.APIVersion != "" && !slices.Contains(versions, tm.APIVersion)) {
		return api.NewBadRequest("the request body is kind %q, apiVersion %q: a %s (apiVersion %s) is expected",
			tm.Kind, tm.APIVersion, gvk.Kind, strings.Join(versions, " or "))
	}
	tm.SetGroupVersionKind(gvk)
	return nil
}

// checkBodyName checks the name and namespace of a subresource's body
// against the request's: a body without a name is invalid (422), one
// naming another object is refused (400); an empty namespace is the
// request's.
func checkBodyName(m *api.ObjectMeta, t target, gk api.GroupKind) error {
	if m.Name == "" {
		return api.NewInvalid(gk, t.name, api.ErrorList{api.Required(api.NewPath("metadata", "name"),
			fmt.Sprintf("must be the name of the %s, %q", t.kind.Kind, t.name))})
	}
	if m.Name != t.name {
		return api.NewBadRequest("the name in the %s (%q) does not match the name in the URL (%q)", gk.Kind, m.Name, t.name)
	}
	if m.Namespace == "" {
		m.Namespace = t.namespace
	}
	if m.Namespace != t.namespace {
		return api.NewBadRequest("the namespace of the %s (%q) does not match the namespace of the request (%q)",
			gk.Kind, m.Namespace, t.namespace)
	}
	return nil
}

// writeSuccess writes a Status Success with code, as Kubernetes answers a
// binding and an eviction.
func (s *Server) writeSuccess(w http.ResponseWriter, code int) {
	body, ok := successBodies.Load(code)
	if !ok {
		data, err := json.Marshal(api.Status{
			TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   api.StatusSuccess,
			Code:     int32(code),
		})
		if err != nil { // a Status of constants always encodes
			panic(fmt.Sprintf("apiserver: encode a Success status: %v", err))
		}
		body, _ = successBodies.LoadOrStore(code, append(data, '\n'))
	}
	b := body.([]byte)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// successBodies holds writeSuccess's body for each code, encoded once: a
// scheduler's binding of every pod is answered with one.
var successBodies sync.Map // int -> []byte

// ---------------------------------------------------------------------------
// scale

var scaleKind = api.AutoscalingV1.WithKind("Scale")

// scaleParams are the query parameters of the scale subresource.
var scaleParams = map[string]bool{"dryRun": true, "pretty": true, "fieldManager": true, "fieldValidation": true, "resourceVersion": true}

// replicas returns the spec.replicas field of a scalable object, its
// status.replicas and its selector; ok is false for other kinds.
func replicas(obj api.Object) (spec **int32, status int32, selector *api.LabelSelector, ok bool) {
	switch o := obj.(type) {
	case *api.Deployment:
		return &o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector, true
	case *api.ReplicaSet:
		return &o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector, true
	}
	return nil, 0, nil, false
}

// scaleOf returns the Scale of a scalable object; ok is false for other
// kinds.
func scaleOf(obj api.Object) (*api.Scale, bool) {
	spec, status, sel, ok := replicas(obj)
	if !ok {
		return nil, false
	}
	m := obj.GetObjectMeta()
	sc := &api.Scale{ObjectMeta: api.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID,
		ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp,
	}}
	sc.SetGroupVersionKind(scaleKind)
	sc.Spec.Replicas = 1 // nil means 1
	if *spec != nil {
		sc.Spec.Replicas = **spec
	}
	sc.Status.Replicas = status
	if sel != nil {
		if ls, err := api.LabelSelectorAsSelector(sel); err == nil {
			sc.Status.Selector = ls.String()
		}
	}
	return sc, true
}

// serveScale serves GET, PUT and PATCH on the scale of a Deployment or a
// ReplicaSet. A write sets the parent's spec.replicas, and only that,
// through admission and the registry like an update of the parent (so
// generation is bumped); the answer is the new Scale.
func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, t target) error {
	if _, _, _, ok := replicas(t.kind.New()); !ok {
		return notServed(t)
	}
	if err := checkParams(r, t, scaleParams); err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet:
		obj, err := t.reg.Get(r.Context(), t.namespace, t.name, registry.GetOptions{ResourceVersion: first(r.URL.Query(), "resourceVersion")})
		if err != nil {
			return err
		}
		sc, _ := scaleOf(obj)
		s.writeJSON(w, http.StatusOK, sc)
		return nil
	case http.MethodPut:
		dry, err := dryRun(r.URL.Query())
		if err != nil {
			return err
		}
		var want api.Scale
		if err := s.decodeSubresource(w, r, &want, scaleKind); err != nil {
			return err
		}
		if want.Name == "" {
			want.Name = t.name
		}
		return s.updateScale(w, r, t, dry, false, func(*api.Scale) (*api.Scale, error) { return &want, nil })
	case http.MethodPatch:
		dry, err := dryRun(r.URL.Query())
		if err != nil {
			return err
		}
		ct := r.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			mt = strings.TrimSpace(ct)
		}
		data, err := s.readBody(w, r)
		if err != nil {
			return err
		}
		apply, err := newPatcher(mt, data, reflect.TypeFor[*api.Scale]())
		if err != nil {
			return err
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			return api.NewBadRequest("the request body is empty: a patch of the %s is required", scaleKind)
		}
		return s.updateScale(w, r, t, dry, true, func(cur *api.Scale) (*api.Scale, error) {
			curJSON, err := json.Marshal(cur)
			if err != nil {
				return nil, api.NewInternalError(fmt.Errorf("encode the current scale: %w", err))
			}
			patched, err := apply(curJSON)
			if err != nil {
				return nil, err
			}
			var want api.Scale
			if err := decodeStrict(patched, &want, scaleKind); err != nil {
				return nil, err
			}
			return &want, nil
		})
	}
	return methodNotAllowed(r, t, "GET", "PUT", "PATCH")
}

// updateScale sets the parent's spec.replicas to that of the Scale change
// returns for the current one. A resourceVersion in that Scale other than
// the parent's is a 409 Conflict. A conflict with a concurrent write is
// retried on the fresh parent, unless the Scale of a PUT had a
// resourceVersion (a patch is applied to the fresh Scale again: it only
// fails if it sets a resourceVersion itself).
func (s *Server) updateScale(w http.ResponseWriter, r *http.Request, t target, dry, patch bool, change func(cur *api.Scale) (*api.Scale, error)) error {
	gr := t.kind.GroupVersionResource().GroupResource()
	for try := 1; ; try++ {
		cur, err := t.reg.Get(r.Context(), t.namespace, t.name, registry.GetOptions{})
		if err != nil {
			return err
		}
		curScale, _ := scaleOf(cur)
		want, err := change(curScale)
		if err != nil {
			return err
		}
		if err := checkBodyName(&want.ObjectMeta, t, scaleKind.GroupKind()); err != nil {
			return err
		}
		if n := want.Spec.Replicas; n < 0 {
			return api.NewInvalid(scaleKind.GroupKind(), t.name, api.ErrorList{
				api.Invalid(api.NewPath("spec", "replicas"), n, "must be greater than or equal to 0")})
		}
		curRV := cur.GetObjectMeta().ResourceVersion
		precondition := want.ResourceVersion != "" && !patch
		if want.ResourceVersion != "" && want.ResourceVersion != curRV {
			return api.NewConflict(gr, t.name, errModified)
		}
		next := api.DeepCopy(cur)
		spec, _, _, _ := replicas(next)
		n := want.Spec.Replicas
		*spec = &n
		if err := s.admit(r.Context(), t, admission.Update, next, cur, dry); err != nil {
			return err
		}
		out, err := t.reg.Update(r.Context(), next, registry.UpdateOptions{DryRun: dry})
		if err != nil {
			if api.IsConflict(err) && !precondition && try < maxPatchTries {
				continue
			}
			return err
		}
		sc, ok := scaleOf(out)
		if !ok {
			return api.NewInternalError(fmt.Errorf("%s %q: the updated object is a %T", gr, t.name, out))
		}
		s.writeJSON(w, http.StatusOK, sc)
		return nil
	}
}

// ---------------------------------------------------------------------------
// binding

var bindingKind = api.CoreV1.WithKind("Binding")

// serveBinding serves POST .../pods/<name>/binding: the pod's spec.nodeName
// is set to the Binding's target, once. The Binding's uid and
// resourceVersion, if set, are preconditions on the pod, and its
// annotations are copied to the pod. The pod's PodScheduled condition
// becomes True. The write is a compare-and-swap on the pod's
// resourceVersion, retried on a concurrent write, so of two bindings of the
// same pod exactly one wins and the other gets 409.
func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, t target) error {
	if !isPod(t) {
		return notServed(t)
	}
	if r.Method != http.MethodPost {
		return methodNotAllowed(r, t, "POST")
	}
	if err := checkParams(r, t, subresourceParams); err != nil {
		return err
	}
	dry, err := dryRun(r.URL.Query())
	if err != nil {
		return err
	}
	var b api.Binding
	if err := s.decodeSubresource(w, r, &b, bindingKind); err != nil {
		return err
	}
	if err := checkBodyName(&b.ObjectMeta, t, bindingKind.GroupKind()); err != nil {
		return err
	}
	if errs := validateBindingTarget(&b.Target); len(errs) > 0 {
		return api.NewInvalid(bindingKind.GroupKind(), t.name, errs)
	}
	bindingGR := api.GroupResource{Resource: "pods/binding"}
	for try := 1; ; try++ {
		// Read-only: the pod is changed only as next, a copy.
		cur, err := t.reg.Get(r.Context(), t.namespace, t.name, registry.GetOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		pod, ok := cur.(*api.Pod)
		if !ok {
			return api.NewInternalError(fmt.Errorf("pod %q decoded as %T", t.name, cur))
		}
		if b.UID != "" && b.UID != pod.UID {
			return api.NewConflict(bindingGR, t.name, fmt.Errorf(
				"Precondition failed: UID in precondition: %s, UID in object meta: %s", b.UID, pod.UID))
		}
		if b.ResourceVersion != "" && b.ResourceVersion != pod.ResourceVersion {
			return api.NewConflict(bindingGR, t.name, errModified)
		}
		if pod.DeletionTimestamp != nil {
			return api.NewConflict(bindingGR, t.name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", t.name))
		}
		if pod.Spec.NodeName != "" {
			return api.NewConflict(bindingGR, t.name, fmt.Errorf("pod %s is already assigned to node %q", t.name, pod.Spec.NodeName))
		}
		next := api.DeepCopy(pod)
		next.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if next.Annotations == nil {
				next.Annotations = make(map[string]string)
			}
			next.Annotations[k] = v
		}
		setPodScheduled(&next.Status, s.now())
		if err := s.admit(r.Context(), t, admission.Update, next, pod, dry); err != nil {
			return err
		}
		if errs := s.cfg.Scheme.Validate(next); len(errs) > 0 {
			return api.NewInvalid(t.kind.GroupKind(), t.name, errs)
		}
		if dry {
			break
		}
		err = t.reg.Replace(r.Context(), next, pod.ResourceVersion)
		if err == nil {
			break
		}
		if api.IsConflict(err) && b.ResourceVersion == "" && try < maxPatchTries {
			continue
		}
		return err
	}
	s.writeSuccess(w, http.StatusCreated)
	return nil
}

// validateBindingTarget checks the target of a Binding: a Node, by a name
// that is a valid node name.
func validateBindingTarget(ref *api.ObjectReference) api.ErrorList {
	var errs api.ErrorList
	p := api.NewPath("target")
	if ref.Kind != "" && ref.Kind != "Node" {
		errs = append(errs, api.NotSupported(p.Child("kind"), ref.Kind, []string{"Node"}))
	}
	if ref.Name == "" {
		return append(errs, api.Required(p.Child("name"), "the name of the node to bind the pod to"))
	}
	for _, msg := range names.IsDNS1123Subdomain(ref.Name) {
		errs = append(errs, api.Invalid(p.Child("name"), ref.Name, msg))
	}
	return errs
}

// setPodScheduled sets the PodScheduled condition of st to True.
func setPodScheduled(st *api.PodStatus, now time.Time) {
	cond := api.PodCondition{Type: api.PodScheduled, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(now)}
	for i := range st.Conditions {
		if c := &st.Conditions[i]; c.Type == api.PodScheduled {
			if c.Status == api.ConditionTrue {
				return
			}
			*c = cond
			return
		}
	}
	st.Conditions = append(st.Conditions, cond)
}

// now is the server's clock: that of the registries, which is
// Config.Clock unless Config.Registry.Now is set (New).
func (s *Server) now() time.Time {
	if s.cfg.Registry.Now != nil {
		return s.cfg.Registry.Now()
	}
	return s.cfg.Clock.Now()
}

// ---------------------------------------------------------------------------
// eviction

var evictionKind = api.PolicyV1.WithKind("Eviction")

// serveEviction serves POST .../pods/<name>/eviction: the pod is deleted
// through admission (a Delete, Subresource "eviction") and the registry,
// with the Eviction's deleteOptions, and the answer is 201 with a Status
// Success.
//
// Drover has no PodDisruptionBudget kind yet: an eviction is always
// allowed, never refused with 429 TooManyRequests as Kubernetes does when
// a budget would be broken.
func (s *Server) serveEviction(w http.ResponseWriter, r *http.Request, t target) error {
	if !isPod(t) {
		return notServed(t)
	}
	if r.Method != http.MethodPost {
		return methodNotAllowed(r, t, "POST")
	}
	if err := checkParams(r, t, subresourceParams); err != nil {
		return err
	}
	dry, err := dryRun(r.URL.Query())
	if err != nil {
		return err
	}
	var ev api.Eviction
	if err := s.decodeSubresource(w, r, &ev, evictionKind, "policy/v1beta1"); err != nil {
		return err
	}
	if err := checkBodyName(&ev.ObjectMeta, t, evictionKind.GroupKind()); err != nil {
		return err
	}
	opts, err := evictionDeleteOptions(ev.DeleteOptions)
	if err != nil {
		return err
	}
	opts.DryRun = opts.DryRun || dry
	old, err := t.reg.Get(r.Context(), t.namespace, t.name, registry.GetOptions{})
	if err != nil {
		return err
	}
	if err := s.admit(r.Context(), t, admission.Delete, nil, old, opts.DryRun); err != nil {
		return err
	}
	if _, err := t.reg.Delete(r.Context(), t.namespace, t.name, opts); err != nil {
		return err
	}
	s.writeSuccess(w, http.StatusCreated)
	return nil
}

// evictionDeleteOptions turns the deleteOptions of an Eviction into those
// of the registry, with the checks of a DELETE's body (delete.go); field
// errors are named under deleteOptions.
func evictionDeleteOptions(do *api.DeleteOptions) (registry.DeleteOptions, error) {
	if do != nil && do.Kind != "" && do.Kind != "DeleteOptions" {
		return registry.DeleteOptions{}, api.NewBadRequest("deleteOptions is kind %q: a DeleteOptions is expected", do.Kind)
	}
	req, err := deleteOptionsFrom(do, "deleteOptions")
	return req.opts, err
}
