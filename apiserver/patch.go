package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/apiserver/registry"
)

// The patch types accepted, by Content-Type.
const (
	mergePatchType     = "application/merge-patch+json"
	jsonPatchType      = "application/json-patch+json"
	strategicPatchType = "application/strategic-merge-patch+json"
)

// maxPatchTries is how many times a patch is applied to a freshly read
// object when the update loses a compare-and-swap race. Each lost race means
// another writer's update landed, so n concurrent patchers of one object
// need at most n tries each; 16 matches the registry's bound for
// unconditional updates.
const maxPatchTries = 16

// patcher applies a patch to the JSON of the current object.
type patcher func(current []byte) ([]byte, error)

// newPatcher parses the patch of the given media type.
func newPatcher(mediaType string, patch []byte, t reflect.Type) (patcher, error) {
	switch mediaType {
	case mergePatchType:
		if !json.Valid(patch) {
			return nil, api.NewBadRequest("invalid merge patch: the body is not valid JSON")
		}
		return func(cur []byte) ([]byte, error) {
			out, err := jsonpatch.MergePatch(cur, patch)
			if err != nil {
				return nil, api.NewBadRequest("apply the merge patch: %v", err)
			}
			return out, nil
		}, nil
	case jsonPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, api.NewBadRequest("invalid JSON patch: %v", err)
		}
		return func(cur []byte) ([]byte, error) {
			out, err := p.Apply(cur)
			if err != nil {
				// Kubernetes answers 422 when a JSON patch does not apply,
				// a failed "test" operation included.
				return nil, api.NewStatusError(http.StatusUnprocessableEntity, api.StatusReasonInvalid,
					fmt.Sprintf("the JSON patch does not apply: %v", err))
			}
			return out, nil
		}, nil
	case strategicPatchType:
		var probe any
		if err := decodeJSON(patch, &probe); err != nil {
			return nil, api.NewBadRequest("invalid strategic merge patch: %v", err)
		}
		if _, ok := probe.(map[string]any); !ok {
			return nil, api.NewBadRequest("invalid strategic merge patch: must be a JSON object, not %s", jsonKind(probe))
		}
		return func(cur []byte) ([]byte, error) {
			out, err := strategicMergePatch(cur, patch, t)
			if err != nil {
				return nil, api.NewBadRequest("apply the strategic merge patch: %v", err)
			}
			return out, nil
		}, nil
	}
	return nil, api.NewStatusError(http.StatusUnsupportedMediaType, api.StatusReasonUnsupportedMediaType,
		fmt.Sprintf("the body of a PATCH must be one of %s, %s or %s, not %q",
			jsonPatchType, mergePatchType, strategicPatchType, mediaType))
}

// patch serves PATCH on an object or its status: the patch is applied to
// the current object, the result strictly decoded and written with the
// current resourceVersion as a precondition; a conflict with a concurrent
// write re-reads the object and applies the patch again, unless the patch
// sets metadata.resourceVersion (then a mismatch is a 409).
func (s *Server) patch(w http.ResponseWriter, r *http.Request, t target) error {
	dry, err := dryRun(r.URL.Query())
	if err != nil {
		return err
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.TrimSpace(ct)
	}
	fv, err := parseFieldValidation(r)
	if err != nil {
		return err
	}
	data, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	apply, err := newPatcher(mt, data, reflect.TypeOf(t.kind.New()))
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return api.NewBadRequest("the request body is empty: a patch is required")
	}
	gr := t.kind.GroupVersionResource().GroupResource()
	for try := 1; ; try++ {
		// Read-only: the patch applies to its JSON, admission sees it as
		// the old object.
		cur, err := t.reg.Get(r.Context(), t.namespace, t.name, registry.GetOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		curJSON, err := json.Marshal(cur)
		if err != nil {
			return api.NewInternalError(fmt.Errorf("encode the current object: %w", err))
		}
		patched, err := apply(curJSON)
		if err != nil {
			return err
		}
		obj := t.kind.New()
		if err := s.decodeJSONInto(w, patched, obj, fv); err != nil {
			if de, ok := errors.AsType[*api.DecodeError](err); ok {
				return de.ToStatusError()
			}
			return api.NewBadRequest("decode the patched object: %v", err)
		}
		obj.GetTypeMeta().SetGroupVersionKind(t.kind.GroupVersionKind)
		m := obj.GetObjectMeta()
		if m.Name != t.name {
			return api.NewBadRequest("the patch changes metadata.name to %q: it must stay %q", m.Name, t.name)
		}
		if t.kind.Namespaced && m.Namespace == "" {
			m.Namespace = t.namespace
		}
		if m.Namespace != t.namespace {
			return api.NewBadRequest("the patch changes metadata.namespace to %q: it must stay %q", m.Namespace, t.namespace)
		}
		curRV := cur.GetObjectMeta().ResourceVersion
		switch m.ResourceVersion {
		case curRV:
		case "":
			m.ResourceVersion = curRV
		default:
			return api.NewConflict(gr, t.name, errors.New(
				"the object has been modified; please apply your changes to the latest version and try again"))
		}
		if err := s.admit(r.Context(), t, admission.Update, obj, cur, dry); err != nil {
			return err
		}
		out, err := t.reg.Update(r.Context(), obj, registry.UpdateOptions{DryRun: dry, Subresource: t.subresource, ReadOnlyResult: true})
		if err != nil {
			if api.IsConflict(err) && try < maxPatchTries {
				continue
			}
			return err
		}
		s.writeJSON(w, http.StatusOK, out)
		return nil
	}
}
