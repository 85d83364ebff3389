package apiserver

import (
	"context"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/apiserver/registry"
)

// This file serves deletion:
//
//	DELETE .../<resource>/<name>              delete
//	DELETE .../namespaces/<ns>/<resource>     deletecollection (namespaced kinds)
//	DELETE .../<resource>                     deletecollection (cluster-scoped kinds)
//	PUT    /api/v1/namespaces/<name>/finalize the spec.finalizers of a namespace
//
// The options of a delete come from its body, a DeleteOptions, when it has
// one; otherwise from the query parameters gracePeriodSeconds,
// propagationPolicy, orphanDependents and dryRun. As in Kubernetes, a body
// wins whole: the query parameters are then ignored, not merged.

// deleteRequest are the options of a DELETE.
type deleteRequest struct {
	opts registry.DeleteOptions
	// cascade is the legacy orphanDependents=false: the answer is then 202
	// Accepted when the object stays, as in Kubernetes.
	cascade bool
}

// parseDelete reads the options of a DELETE from its body or its query.
func (s *Server) parseDelete(w http.ResponseWriter, r *http.Request) (deleteRequest, error) {
	data, err := s.readBody(w, r)
	if err != nil {
		return deleteRequest{}, err
	}
	var do api.DeleteOptions
	if len(strings.TrimSpace(string(data))) > 0 {
		// client-go's typed clients send the body as protobuf.
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == api.ContentTypeProtobuf {
			err = s.cfg.Scheme.DecodeProtobufInto(data, &do)
		} else {
			err = api.UnmarshalStrict(data, &do)
		}
		if err != nil {
			return deleteRequest{}, api.NewBadRequest("invalid DeleteOptions in the request body: %v", err)
		}
		if do.Kind != "" && do.Kind != "DeleteOptions" {
			return deleteRequest{}, api.NewBadRequest("the request body is kind %q: a DeleteOptions is expected", do.Kind)
		}
	} else if do, err = queryDeleteOptions(r.URL.Query()); err != nil {
		return deleteRequest{}, err
	}
	return deleteOptionsFrom(&do, "")
}

// queryDeleteOptions reads the DeleteOptions of a DELETE without a body
// from its query parameters.
func queryDeleteOptions(q map[string][]string) (api.DeleteOptions, error) {
	var do api.DeleteOptions
	if v := first(q, "gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return do, api.NewBadRequest("invalid gracePeriodSeconds %q: must be an integer number of seconds", v)
		}
		do.GracePeriodSeconds = &n
	}
	if v, ok := q["propagationPolicy"]; ok && len(v) > 0 {
		do.PropagationPolicy = &v[0]
	}
	if v := first(q, "orphanDependents"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return do, api.NewBadRequest("invalid orphanDependents %q: must be true or false", v)
		}
		do.OrphanDependents = &b
	}
	dry, err := dryRun(q)
	if err != nil {
		return do, err
	}
	if dry {
		do.DryRun = []string{"All"}
	}
	return do, nil
}

// policies are the values of propagationPolicy.
var policies = []string{registry.PropagationForeground, registry.PropagationBackground, registry.PropagationOrphan}

// deleteOptionsFrom validates a wire DeleteOptions and turns it into the
// registry's: 422 Invalid (naming the field under p) for a dryRun other
// than "All", an unknown propagationPolicy, or both propagationPolicy and
// orphanDependents; the fields are named under prefix ("" for a body that
// is the DeleteOptions, "deleteOptions" in an Eviction). orphanDependents
// true means Orphan, false Background. A negative gracePeriodSeconds is
// accepted and means 1, as in Kubernetes.
func deleteOptionsFrom(do *api.DeleteOptions, prefix string) (deleteRequest, error) {
	var req deleteRequest
	if do == nil {
		return req, nil
	}
	child := func(name string) *api.Path {
		if prefix == "" {
			return api.NewPath(name)
		}
		return api.NewPath(prefix, name)
	}
	var errs api.ErrorList
	for i, d := range do.DryRun {
		if d != "All" {
			errs = append(errs, api.NotSupported(child("dryRun").Index(i), d, []string{"All"}))
		}
		req.opts.DryRun = true
	}
	req.opts.GracePeriodSeconds = do.GracePeriodSeconds
	if pp := do.PropagationPolicy; pp != nil {
		req.opts.PropagationPolicy = *pp
		if !slices.Contains(policies, *pp) {
			errs = append(errs, api.NotSupported(child("propagationPolicy"), *pp, policies))
		}
		if do.OrphanDependents != nil {
			errs = append(errs, api.Invalid(child("propagationPolicy"), *pp,
				"orphanDependents and propagationPolicy may not both be set: set only propagationPolicy"))
		}
	} else if o := do.OrphanDependents; o != nil {
		req.opts.PropagationPolicy = registry.PropagationBackground
		if *o {
			req.opts.PropagationPolicy = registry.PropagationOrphan
		}
		req.cascade = !*o
	}
	if len(errs) > 0 {
		return req, registry.InvalidDeleteOptions(errs...)
	}
	if pc := do.Preconditions; pc != nil {
		req.opts.Preconditions = &registry.Preconditions{}
		if pc.UID != nil {
			req.opts.Preconditions.UID = *pc.UID
		}
		if pc.ResourceVersion != nil {
			req.opts.Preconditions.ResourceVersion = *pc.ResourceVersion
		}
	}
	return req, nil
}

// delete serves DELETE on a named object: admission, then the registry's
// Delete. The answer is the object (as last stored if it was removed, as
// updated if something holds it) with 200, or 202 Accepted when it stays
// and the client asked for orphanDependents=false, as Kubernetes answers.
func (s *Server) delete(w http.ResponseWriter, r *http.Request, t target) error {
	req, err := s.parseDelete(w, r)
	if err != nil {
		return err
	}
	old, err := t.reg.Get(r.Context(), t.namespace, t.name, registry.GetOptions{})
	if err != nil {
		return err
	}
	if err := s.admit(r.Context(), t, admission.Delete, nil, old, req.opts.DryRun); err != nil {
		return err
	}
	out, removed, err := t.reg.DeleteObject(r.Context(), t.namespace, t.name, req.opts)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if !removed && req.cascade {
		code = http.StatusAccepted
	}
	s.writeJSON(w, code, out)
	return nil
}

// deleteCollection serves DELETE on a collection: the objects the
// labelSelector and fieldSelector pick are deleted one by one, each
// through admission and the registry as a DELETE of it would be, and the
// answer is the list of them as deleted (kind <Kind>List). As in
// Kubernetes, a namespaced kind is deleted one namespace at a time (405
// across namespaces), and Namespaces cannot be deleted as a collection.
func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request, t target) error {
	gr := t.kind.GroupVersionResource().GroupResource()
	if t.kind.Namespaced && t.namespace == "" {
		return api.NewMethodNotAllowed(gr, "DELETE across namespaces (deletecollection is served on .../namespaces/<namespace>/"+t.kind.Resource+")")
	}
	q := r.URL.Query()
	if isWatch(q) {
		return api.NewBadRequest("watch is not allowed on a deletecollection of %s", gr)
	}
	lopts, err := listOptions(q)
	if err != nil {
		return err
	}
	req, err := s.parseDelete(w, r)
	if err != nil {
		return err
	}
	check := func(ctx context.Context, obj api.Object) error {
		one := t
		m := obj.GetObjectMeta()
		one.namespace, one.name = m.Namespace, m.Name
		return s.admit(ctx, one, admission.Delete, nil, obj, req.opts.DryRun)
	}
	list, err := t.reg.DeleteCollection(r.Context(), t.namespace, lopts, req.opts, check)
	if err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, list)
	return nil
}

// finalizeParams are the query parameters of PUT .../finalize.
var finalizeParams = map[string]bool{"dryRun": true, "pretty": true, "fieldManager": true, "fieldValidation": true}

// finalize serves PUT /api/v1/namespaces/<name>/finalize: the body is the
// Namespace (its name must be the URL's) whose spec.finalizers replace the
// stored ones; nothing else of it is used. It goes through admission as an
// Update with Subresource "finalize". A terminating namespace left with no
// spec.finalizers and no metadata.finalizers is removed; the answer is the
// namespace either way. The namespace controller (controller/namespace)
// calls it once it has emptied a terminating namespace; without it running,
// a client calls finalize itself.
func (s *Server) finalize(w http.ResponseWriter, r *http.Request, t target) error {
	if t.kind.GroupVersionKind != api.CoreV1.WithKind("Namespace") {
		return notServed(t)
	}
	if r.Method != http.MethodPut {
		return methodNotAllowed(r, t, "PUT")
	}
	if err := checkParams(r, t, finalizeParams); err != nil {
		return err
	}
	dry, err := dryRun(r.URL.Query())
	if err != nil {
		return err
	}
	obj, err := s.decodeBody(w, r, t)
	if err != nil {
		return err
	}
	if n := obj.GetObjectMeta().Name; n != t.name {
		return api.NewBadRequest("the name of the Namespace (%q) does not match the name in the URL (%q)", n, t.name)
	}
	old, err := t.reg.Get(r.Context(), "", t.name, registry.GetOptions{})
	if err != nil {
		return err
	}
	if err := s.admit(r.Context(), t, admission.Update, obj, old, dry); err != nil {
		return err
	}
	out, err := t.reg.Finalize(r.Context(), obj, registry.UpdateOptions{DryRun: dry})
	if err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, out)
	return nil
}
