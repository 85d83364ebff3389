package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/drover-io/drover/api"
)

// mergeKeys maps the Go type of the elements of a list to the field that
// identifies an element: a strategic merge patch merges such lists element
// by element instead of replacing them. Lists of any other type (user kinds
// included) are replaced, as by a JSON merge patch.
var mergeKeys = map[reflect.Type]string{
	reflect.TypeFor[api.Container]():                "name",
	reflect.TypeFor[api.EnvVar]():                   "name",
	reflect.TypeFor[api.ContainerPort]():            "containerPort",
	reflect.TypeFor[api.VolumeMount]():              "mountPath",
	reflect.TypeFor[api.Volume]():                   "name",
	reflect.TypeFor[api.LocalObjectReference]():     "name",
	reflect.TypeFor[api.ServicePort]():              "port",
	reflect.TypeFor[api.OwnerReference]():           "uid",
	reflect.TypeFor[api.HostAlias]():                "ip",
	reflect.TypeFor[api.TopologySpreadConstraint](): "topologyKey",
	reflect.TypeFor[api.PodIP]():                    "ip",
	reflect.TypeFor[api.HostIP]():                   "ip",
	reflect.TypeFor[api.NodeAddress]():              "type",
	reflect.TypeFor[api.PodCondition]():             "type",
	reflect.TypeFor[api.NodeCondition]():            "type",
	reflect.TypeFor[api.NamespaceCondition]():       "type",
	reflect.TypeFor[api.DeploymentCondition]():      "type",
	reflect.TypeFor[api.ReplicaSetCondition]():      "type",
	reflect.TypeFor[api.DaemonSetCondition]():       "type",
	reflect.TypeFor[api.JobCondition]():             "type",
}

// mergeKey returns the merge key of a list of Go type t, or "".
func mergeKey(t reflect.Type) (string, reflect.Type) {
	t = deref(t)
	if t == nil || t.Kind() != reflect.Slice {
		return "", nil
	}
	elem := deref(t.Elem())
	return mergeKeys[elem], elem
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonFields caches, per struct type, the Go type of each JSON field.
var jsonFields sync.Map // reflect.Type -> map[string]reflect.Type

// childType returns the Go type of the value at key in a value of Go type
// t: a struct field by its JSON name, or a map's values. nil when unknown.
func childType(t reflect.Type, key string) reflect.Type {
	t = deref(t)
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Elem()
	case reflect.Struct:
		if m, ok := jsonFields.Load(t); ok {
			return m.(map[string]reflect.Type)[key]
		}
		m := make(map[string]reflect.Type)
		collectFields(t, m, 0)
		jsonFields.Store(t, m)
		return m[key]
	}
	return nil
}

func collectFields(t reflect.Type, m map[string]reflect.Type, depth int) {
	if depth > 8 {
		return
	}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if ft := deref(f.Type); ft.Kind() == reflect.Struct {
				collectFields(ft, m, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, ok := m[name]; !ok {
			m[name] = f.Type
		}
	}
}

// strategicMergePatch applies a strategic merge patch to the JSON document
// original, an object of Go type t: a JSON merge patch (RFC 7386), except
// that lists whose element type has a merge key (mergeKeys) are merged by
// that key. Directives: {"$patch": "delete", <key>: v} in such a list
// removes the element with that key; "$patch": "replace" in a map replaces
// the map, and {"$patch": "replace"} as an element of a list replaces the
// list with its other elements; "$patch": "delete" in a map removes it.
// "$setElementOrder/<field>" is accepted and ignored; "$retainKeys" and
// other directives are refused.
func strategicMergePatch(original, patch []byte, t reflect.Type) ([]byte, error) {
	var doc, p any
	if err := decodeJSON(original, &doc); err != nil {
		return nil, fmt.Errorf("the object is not valid JSON: %w", err)
	}
	if err := decodeJSON(patch, &p); err != nil {
		return nil, fmt.Errorf("the patch is not valid JSON: %w", err)
	}
	pm, ok := p.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a strategic merge patch must be a JSON object, not %s", jsonKind(p))
	}
	dm, _ := doc.(map[string]any)
	out, deleted, err := mergeMap(dm, pm, t, "")
	if err != nil {
		return nil, err
	}
	if deleted {
		out = map[string]any{}
	}
	return json.Marshal(out)
}

func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mergeMap merges patch into orig (nil for none); deleted reports a
// "$patch": "delete" of the map.
func mergeMap(orig, patch map[string]any, t reflect.Type, path string) (map[string]any, bool, error) {
	if d, ok := patch["$patch"]; ok {
		switch d {
		case "replace":
			orig = nil
		case "delete":
			return nil, true, nil
		default:
			return nil, false, fmt.Errorf("%s: unknown $patch directive %v: must be \"replace\" or \"delete\"", orEmpty(path), d)
		}
	}
	if _, ok := patch["$retainKeys"]; ok {
		return nil, false, fmt.Errorf("%s: the $retainKeys directive is not supported", orEmpty(path))
	}
	out := make(map[string]any, len(orig)+len(patch))
	for k, v := range orig {
		out[k] = v
	}
	for k, pv := range patch {
		if k == "$patch" || strings.HasPrefix(k, "$setElementOrder/") {
			continue
		}
		if strings.HasPrefix(k, "$") {
			return nil, false, fmt.Errorf("%s: the %s directive is not supported", orEmpty(path), k)
		}
		fp := joinPath(path, k)
		if pv == nil {
			delete(out, k)
			continue
		}
		v, deleted, err := mergeValue(out[k], pv, childType(t, k), fp)
		if err != nil {
			return nil, false, err
		}
		if deleted {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out, false, nil
}

func orEmpty(path string) string {
	if path == "" {
		return "<root>"
	}
	return path
}

// mergeValue merges the patch value pv into ov (nil for none), a value of
// Go type t.
func mergeValue(ov, pv any, t reflect.Type, path string) (any, bool, error) {
	switch p := pv.(type) {
	case map[string]any:
		om, _ := ov.(map[string]any)
		return mergeMap(om, p, t, path)
	case []any:
		ol, _ := ov.([]any)
		key, elem := mergeKey(t)
		var et reflect.Type
		if tt := deref(t); tt != nil && tt.Kind() == reflect.Slice {
			et = tt.Elem()
		}
		if key == "" {
			return replaceList(p, et, path)
		}
		return mergeList(ol, p, key, elem, path)
	default:
		return pv, false, nil
	}
}

// replaceList returns the patch list with its directives applied to no
// original: elements "$patch": "delete" are dropped.
func replaceList(patch []any, et reflect.Type, path string) (any, bool, error) {
	out := make([]any, 0, len(patch))
	for i, pe := range patch {
		m, ok := pe.(map[string]any)
		if !ok {
			out = append(out, pe)
			continue
		}
		if d, ok := m["$patch"]; ok && len(m) == 1 && d == "replace" {
			continue
		}
		v, deleted, err := mergeMap(nil, m, et, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, false, err
		}
		if !deleted {
			out = append(out, v)
		}
	}
	return out, false, nil
}

// mergeList merges the patch list into orig by key.
func mergeList(orig, patch []any, key string, elem reflect.Type, path string) (any, bool, error) {
	for _, pe := range patch {
		if m, ok := pe.(map[string]any); ok && len(m) == 1 && m["$patch"] == "replace" {
			return replaceList(patch, elem, path)
		}
	}
	out := make([]any, len(orig))
	copy(out, orig)
	for i, pe := range patch {
		ep := fmt.Sprintf("%s[%d]", path, i)
		m, ok := pe.(map[string]any)
		if !ok {
			return nil, false, fmt.Errorf("%s: must be an object: the list is merged by %q", ep, key)
		}
		kv, ok := m[key]
		if !ok || kv == nil {
			return nil, false, fmt.Errorf("%s: the merge key %q is missing", ep, key)
		}
		at := -1
		for j, oe := range out {
			if om, ok := oe.(map[string]any); ok && sameJSON(om[key], kv) {
				at = j
				break
			}
		}
		if m["$patch"] == "delete" {
			if at >= 0 {
				out = append(out[:at], out[at+1:]...)
			}
			continue
		}
		var om map[string]any
		if at >= 0 {
			om, _ = out[at].(map[string]any)
		}
		v, deleted, err := mergeMap(om, m, elem, ep)
		if err != nil {
			return nil, false, err
		}
		switch {
		case deleted && at >= 0:
			out = append(out[:at], out[at+1:]...)
		case deleted:
		case at >= 0:
			out[at] = v
		default:
			out = append(out, v)
		}
	}
	return out, false, nil
}

// sameJSON reports whether two decoded JSON scalars are equal; numbers are
// compared by value.
func sameJSON(a, b any) bool {
	if na, ok := a.(json.Number); ok {
		if nb, ok := b.(json.Number); ok {
			if na == nb {
				return true
			}
			fa, ea := na.Float64()
			fb, eb := nb.Float64()
			return ea == nil && eb == nil && fa == fb
		}
		return false
	}
	return reflect.DeepEqual(a, b)
}
