package verbs

import (
	"encoding/json"
	"reflect"
	"testing"
)

// mergePatch applies a JSON merge patch (RFC 7386) to doc.
func mergePatch(doc any, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	out := make(map[string]any, len(dm))
	for k, v := range dm {
		out[k] = v
	}
	for k, pv := range pm {
		if pv == nil {
			delete(out, k)
			continue
		}
		out[k] = mergePatch(out[k], pv)
	}
	return out
}

// FuzzThreeWayPatch checks that, with nobody else writing (current is
// original), the patch apply computes turns the live object into exactly
// the new configuration. With no Go type, every list is replaced, so the
// strategic merge patch is a JSON merge patch.
func FuzzThreeWayPatch(f *testing.F) {
	f.Add(`{"a":1,"b":{"c":[1,2],"d":"x"}}`, `{"a":2,"b":{"c":[1]}}`)
	f.Add(`{"metadata":{"labels":{"a":"1","b":"2"}}}`, `{"metadata":{"labels":{"a":"1"}},"spec":{}}`)
	f.Add(`{"a":{"b":1}}`, `{"a":3}`)
	f.Add(`{"a":3}`, `{"a":{"b":{}}}`)
	f.Fuzz(func(t *testing.T, original, modified string) {
		orig, err1 := toMap([]byte(original))
		mod, err2 := toMap([]byte(modified))
		if err1 != nil || err2 != nil || orig == nil || mod == nil {
			return
		}
		cur, _ := toMap([]byte(original))
		patch := threeWayPatch(orig, mod, cur, nil)
		// The patch goes over the wire as JSON.
		data, err := json.Marshal(patch)
		if err != nil {
			t.Fatal(err)
		}
		var p any
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatal(err)
		}
		got := mergePatch(cur, p)
		if !reflect.DeepEqual(got, any(mod)) {
			t.Errorf("original %s, modified %s: patch %s gives %v", original, modified, data, got)
		}
	})
}
