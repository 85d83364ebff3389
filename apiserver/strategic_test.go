package apiserver

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

func TestStrategicMergePatch(t *testing.T) {
	pod := reflect.TypeFor[api.Pod]()
	tests := []struct {
		name, orig, patch, want string
		typ                     reflect.Type
		err                     string
	}{
		{"map merge and null delete", `{"a":{"b":1,"c":2}}`, `{"a":{"b":null,"d":3}}`, `{"a":{"c":2,"d":3}}`, pod, ""},
		{"containers by name", `{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"1"}]}}`,
			`{"spec":{"containers":[{"name":"b","image":"2"},{"name":"c","image":"3"}]}}`,
			`{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"},{"name":"c","image":"3"}]}}`, pod, ""},
		{"ports by containerPort", `{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"h"}]}]}}`,
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":81}]}]}}`,
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"h","protocol":"TCP"},{"containerPort":81}]}]}}`, pod, ""},
		{"volumeMounts by mountPath", `{"spec":{"containers":[{"name":"a","volumeMounts":[{"name":"v","mountPath":"/x"}]}]}}`,
			`{"spec":{"containers":[{"name":"a","volumeMounts":[{"name":"w","mountPath":"/x"}]}]}}`,
			`{"spec":{"containers":[{"name":"a","volumeMounts":[{"name":"w","mountPath":"/x"}]}]}}`, pod, ""},
		{"tolerations replaced", `{"spec":{"tolerations":[{"key":"a"},{"key":"b"}]}}`, `{"spec":{"tolerations":[{"key":"c"}]}}`,
			`{"spec":{"tolerations":[{"key":"c"}]}}`, pod, ""},
		{"primitive list replaced", `{"spec":{"containers":[{"name":"a","args":["1","2"]}]}}`,
			`{"spec":{"containers":[{"name":"a","args":["3"]}]}}`, `{"spec":{"containers":[{"name":"a","args":["3"]}]}}`, pod, ""},
		{"conditions by type", `{"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"X","status":"True"}]}}`,
			`{"status":{"conditions":[{"type":"Ready","status":"True"}]}}`,
			`{"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"X","status":"True"}]}}`, pod, ""},
		{"ownerReferences by uid", `{"metadata":{"ownerReferences":[{"uid":"1","name":"a"}]}}`,
			`{"metadata":{"ownerReferences":[{"uid":"2","name":"b"}]}}`,
			`{"metadata":{"ownerReferences":[{"uid":"1","name":"a"},{"uid":"2","name":"b"}]}}`, pod, ""},
		{"delete map", `{"a":{"b":1},"c":1}`, `{"a":{"$patch":"delete"}}`, `{"c":1}`, pod, ""},
		{"delete missing element", `{"spec":{"volumes":[{"name":"a"}]}}`, `{"spec":{"volumes":[{"name":"b","$patch":"delete"}]}}`,
			`{"spec":{"volumes":[{"name":"a"}]}}`, pod, ""},
		{"setElementOrder ignored", `{"spec":{"volumes":[{"name":"a"}]}}`, `{"spec":{"$setElementOrder/volumes":[{"name":"a"}]}}`,
			`{"spec":{"volumes":[{"name":"a"}]}}`, pod, ""},
		{"unknown type merges like merge patch", `{"l":[{"name":"a"}]}`, `{"l":[{"name":"b"}]}`, `{"l":[{"name":"b"}]}`, nil, ""},
		{"bad directive", `{}`, `{"a":{"$patch":"merge"}}`, ``, pod, "unknown $patch directive"},
		{"unknown directive", `{}`, `{"$deleteFromPrimitiveList/args":["a"]}`, ``, pod, "not supported"},
		{"retainKeys", `{}`, `{"spec":{"$retainKeys":["a"]}}`, ``, pod, "$retainKeys"},
		{"not object element", `{}`, `{"spec":{"containers":["a"]}}`, ``, pod, "must be an object"},
		{"not object", `{}`, `[]`, ``, pod, "must be a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := strategicMergePatch([]byte(tc.orig), []byte(tc.patch), tc.typ)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(out))
		})
	}
}

// FuzzStrategicMerge applies arbitrary patches to arbitrary documents as a
// Deployment: never a panic, and a success is valid JSON.
func FuzzStrategicMerge(f *testing.F) {
	seeds := [][2]string{
		{`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b"}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"2"},{"name":"b","$patch":"delete"}]}}}}`},
		{`{"spec":{"template":{"spec":{"containers":[{"name":"a","env":[{"name":"X"}]}]}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"$patch":"replace"},{"name":"c","env":[{"name":"Y"}]}]}}}}`},
		{`{"metadata":{"labels":{"a":"b"}}}`, `{"metadata":{"labels":{"$patch":"replace","c":"d"}}}`},
		{`{"spec":{"replicas":1}}`, `{"spec":{"replicas":null,"strategy":{"$retainKeys":[]}}}`},
		{`{"spec":{"template":{"spec":{"containers":[{"name":1}]}}}}`, `{"spec":{"template":{"spec":{"containers":[{"name":1.0}]}}}}`},
		{`[]`, `{}`}, {`{}`, `null`}, {`{`, `{}`}, {`{}`, `{"a":[{"$patch":"delete"}]}`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	typ := reflect.TypeFor[api.Deployment]()
	f.Fuzz(func(t *testing.T, orig, patch string) {
		out, err := strategicMergePatch([]byte(orig), []byte(patch), typ)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON %q from %q + %q", out, orig, patch)
		}
	})
}
