package verbs

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/drover-io/drover/api"
)

// The client-side three-way merge of apply, as kubectl computes it:
//
//   - original is the configuration applied last time (the
//     last-applied-configuration annotation), modified the one applied
//     now (with the annotation updated), current the live object;
//   - deletions: what original has and modified no longer has, as nulls
//     (a field) and {"$patch":"delete", <key>: v} (an element of a list
//     merged by key): only what this configuration set is removed, never a
//     field someone else (a controller, the server's defaults) set;
//   - changes: what modified has that current has not, or differently;
//   - the patch is the two merged: a strategic merge patch, which the API
//     server applies to the current object.
//
// Lists whose elements have a merge key (containers by name, ...) are
// merged element by element; other lists are replaced whole.

// lastAppliedAnnotation holds the configuration applied last.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// mergeKeys are the merge keys of the lists of the built-in kinds the
// server merges by key (as in its strategic merge patch).
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
}

// fieldType returns the Go type of the JSON field key of a value of type
// t (a struct or a map), or nil.
func fieldType(t reflect.Type, key string) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Elem()
	case reflect.Struct:
		return structField(t, key, 0)
	}
	return nil
}

func structField(t reflect.Type, key string, depth int) reflect.Type {
	if depth > 3 {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if r := structField(ft, key, depth+1); r != nil {
					return r
				}
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f.Type
		}
	}
	return nil
}

// listKey returns the merge key of a list of Go type t, and the element
// type.
func listKey(t reflect.Type) (string, reflect.Type) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Slice {
		return "", nil
	}
	e := t.Elem()
	for e.Kind() == reflect.Pointer {
		e = e.Elem()
	}
	return mergeKeys[e], e
}

// threeWayPatch returns the strategic merge patch that brings current to
// modified, removing what original had and modified has not. All three are
// JSON objects of Go type t. An empty patch is "{}".
func threeWayPatch(original, modified, current map[string]any, t reflect.Type) map[string]any {
	deletions := diffMaps(original, modified, t, false, true)
	changes := diffMaps(current, modified, t, true, false)
	return mergePatches(deletions, changes, t)
}

// diffMaps returns the patch from "from" to "to": with ignoreDeletions,
// fields of from missing in to are left alone; with onlyDeletions, only
// removals are kept.
func diffMaps(from, to map[string]any, t reflect.Type, ignoreDeletions, onlyDeletions bool) map[string]any {
	patch := map[string]any{}
	for k, tv := range to {
		ft := fieldType(t, k)
		fv, ok := from[k]
		if !ok {
			if !onlyDeletions {
				patch[k] = tv
			}
			continue
		}
		if reflect.DeepEqual(fv, tv) {
			continue
		}
		fm, fok := fv.(map[string]any)
		tm, tok := tv.(map[string]any)
		if fok && tok {
			if p := diffMaps(fm, tm, ft, ignoreDeletions, onlyDeletions); len(p) > 0 {
				patch[k] = p
			}
			continue
		}
		fl, fok := fv.([]any)
		tl, tok := tv.([]any)
		if fok && tok {
			if key, et := listKey(ft); key != "" {
				if p := diffLists(fl, tl, key, et, ignoreDeletions, onlyDeletions); len(p) > 0 {
					patch[k] = p
				}
				continue
			}
		}
		if !onlyDeletions {
			patch[k] = tv
		}
	}
	if !ignoreDeletions {
		for k := range from {
			if _, ok := to[k]; !ok {
				patch[k] = nil
			}
		}
	}
	return patch
}

// diffLists diffs two lists merged by key.
func diffLists(from, to []any, key string, et reflect.Type, ignoreDeletions, onlyDeletions bool) []any {
	var patch []any
	find := func(l []any, v any) map[string]any {
		for _, e := range l {
			if m, ok := e.(map[string]any); ok && reflect.DeepEqual(m[key], v) {
				return m
			}
		}
		return nil
	}
	for _, e := range to {
		tm, ok := e.(map[string]any)
		if !ok {
			continue
		}
		fm := find(from, tm[key])
		if fm == nil {
			if !onlyDeletions {
				patch = append(patch, tm)
			}
			continue
		}
		if p := diffMaps(fm, tm, et, ignoreDeletions, onlyDeletions); len(p) > 0 {
			p[key] = tm[key]
			patch = append(patch, p)
		}
	}
	if !ignoreDeletions {
		for _, e := range from {
			fm, ok := e.(map[string]any)
			if !ok {
				continue
			}
			if find(to, fm[key]) == nil {
				patch = append(patch, map[string]any{key: fm[key], "$patch": "delete"})
			}
		}
	}
	return patch
}

// mergePatches merges two patches of a value of Go type t; b wins.
func mergePatches(a, b map[string]any, t reflect.Type) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, bv := range b {
		av, ok := out[k]
		if !ok {
			out[k] = bv
			continue
		}
		am, aok := av.(map[string]any)
		bm, bok := bv.(map[string]any)
		if aok && bok {
			out[k] = mergePatches(am, bm, fieldType(t, k))
			continue
		}
		al, aok := av.([]any)
		bl, bok := bv.([]any)
		if key, et := listKey(fieldType(t, k)); aok && bok && key != "" {
			merged := append([]any(nil), al...)
			for _, be := range bl {
				bm, _ := be.(map[string]any)
				at := -1
				for i, ae := range merged {
					if am, ok := ae.(map[string]any); ok && bm != nil && reflect.DeepEqual(am[key], bm[key]) {
						at = i
					}
				}
				if at >= 0 && bm != nil {
					am := merged[at].(map[string]any)
					if am["$patch"] == nil {
						merged[at] = mergePatches(am, bm, et)
						continue
					}
				}
				merged = append(merged, be)
			}
			out[k] = merged
			continue
		}
		out[k] = bv
	}
	return out
}

// toMap turns JSON into a map, with nulls removed (a configuration's null
// means "not set", not "delete").
func toMap(data []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	pruneNulls(m)
	return m, nil
}

func pruneNulls(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			pruneNulls(e)
		}
	case []any:
		for _, e := range x {
			pruneNulls(e)
		}
	}
}
