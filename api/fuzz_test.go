package api

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api/resource"
)

// The fuzz targets feed arbitrary documents to the decoder and check, for
// every object that decodes:
//
//   - Encode succeeds, and what it writes decodes again to the same object.
//     "The same" is semantic on the first round: an empty list or map and a
//     missing one are equal (empty ones are left out when encoding), and
//     quantities are compared by value ("0.5Ki" comes back as "512"). From
//     the second round on, the objects must be exactly equal
//     (reflect.DeepEqual) and the JSON byte-identical: encoding is
//     canonical.
//   - EncodeYAML's output decodes to the same object too.
//   - Default never panics, is idempotent, gives the same result on an
//     object and on its round-tripped copy, and its result still decodes.
//
// Decoding itself must never panic, and its errors must be *DecodeError.

var fuzzScheme = sync.OnceValue(NewDefaultScheme)

// yamlSeeds are small tricky YAML documents, on top of the testdata
// manifests.
var yamlSeeds = []string{
	// Deep nesting, in flow and block style, in known and unknown fields.
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata: " + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nextra:\n" + deepBlock(60),
	// Huge and odd numbers.
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: big\nspec:\n  replicas: 99999999999999999999999\n",
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: big\nspec:\n  replicas: 2147483647\n  revisionHistoryLimit: -2147483648\n  progressDeadlineSeconds: 0x10\n  minReadySeconds: 1e3\n",
	"apiVersion: v1\nkind: Node\nmetadata:\n  name: n\nstatus:\n  capacity:\n    cpu: 1e400\n    memory: 0.5Ki\n    pods: 1.5\n    ephemeral-storage: 100u\n    example.com/gpu: \"+.5\"\n",
	// Nulls everywhere.
	"apiVersion: v1\nkind: Pod\nmetadata: null\nspec:\n  containers: ~\n  volumes: null\n  securityContext: null\nstatus: ~\n",
	"apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels: {a: null}\nspec:\n  ports:\n  - port: 80\n    targetPort: null\n",
	// Unicode keys and values.
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ünïcødé\n  labels:\n    ключ: значение\n    \"\\u00e9\": \"\\U0001F600\"\ndata:\n  日本: 語\n",
	// Anchors, aliases and merge keys.
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n  labels: &labels {app: web}\nspec:\n  selector:\n    matchLabels: *labels\n  template:\n    metadata:\n      labels:\n        <<: *labels\n        tier: fe\n    spec:\n      containers: [{name: web, image: nginx}]\n",
	// Duplicate keys, in YAML and in a map.
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\n  name: dup2\ndata:\n  a: \"1\"\n  a: \"2\"\n",
	// Tabs: in indentation (invalid) and inside values.
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabs\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tabs\ndata:\n  x: \"a\\tb\"\n  y: |\n    \tindented\n",
	// Times with offsets and fractions.
	"apiVersion: v1\nkind: Event\nmetadata:\n  name: e\n  creationTimestamp: 2026-01-02T15:04:05.999+05:30\ninvolvedObject: {kind: Pod, name: p}\nreportingComponent: x\nreportingInstance: y\neventTime: 2026-01-02T15:04:05.123456789Z\n",
	// Int-or-string and binary data.
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: s\nspec:\n  strategy:\n    rollingUpdate: {maxSurge: \"\", maxUnavailable: 0}\n",
	"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  a: \"\"\n  b: AA==\n  c: not base64!\nstringData: {yes: no, 1: 2}\n",
	// Streams: terminators, empty and comment-only documents, a List.
	"--- # first\n...\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n...\n---\n# only a comment\n",
	"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a}\n- kind: Widget\n",
	// Flow style and a JSON-looking document.
	"{apiVersion: v1, kind: ConfigMap, metadata: {name: flow}}\n",
	"\ufeffapiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: crlf\r\n",
}

// jsonSeeds are small tricky JSON documents, on top of the canonical JSON
// of the testdata manifests.
var jsonSeeds = []string{
	`{}`,
	`null`,
	`[]`,
	`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":` + strings.Repeat(`{"a":`, 500) + `1` + strings.Repeat(`}`, 500) + `}`,
	`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"unknown":` + strings.Repeat(`[`, 11000) + strings.Repeat(`]`, 11000) + `}`,
	`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":1e2,"minReadySeconds":-0,"revisionHistoryLimit":18446744073709551616}}`,
	`{"apiVersion":"v1","kind":"Pod","metadata":null,"spec":null,"status":null}`,
	`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"\u00e9\ud83d\ude00":"\u0000\u001f"}},"spec":{"containers":[]}}`,
	`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"metadata":{"name":"q"}}`,
	`{"apiVersion":"v1","kind":"Pod","apiVersion":"v1"}`,
	`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"AA=="}} trailing`,
	`{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"},"status":{"capacity":{"cpu":0.5,"memory":"1.5Gi","pods":"110","x":"1e-9","y":1e18}}}`,
	`{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":80,"targetPort":"http"},{"port":81,"targetPort":0},{"port":82,"targetPort":""},{"port":83,"targetPort":2147483648}]}}`,
	`{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"l","creationTimestamp":"2026-01-02T15:04:05+14:00"},"spec":{"holderIdentity":"a","renewTime":"2026-01-02T15:04:05.1234567Z"}}`,
	`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}},{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"},"data":{"x":1}}]}`,
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"bad-utf8-\xff\"},\"data\":{\"\xfe\":\"x\"}}",
}

func deepBlock(depth int) string {
	var b strings.Builder
	for i := range depth {
		fmt.Fprintf(&b, "%s  k%d:\n", strings.Repeat("  ", i), i)
	}
	fmt.Fprintf(&b, "%s  leaf: 1\n", strings.Repeat("  ", depth))
	return b.String()
}

func FuzzDecodeYAML(f *testing.F) {
	for _, m := range readManifests(f) {
		f.Add(m.data)
	}
	for _, s := range yamlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		scheme := fuzzScheme()
		objs, err := scheme.DecodeAll(data)
		checkDecodeError(t, err)
		for _, obj := range objs {
			checkDecoded(t, scheme, obj)
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	scheme := fuzzScheme()
	for _, m := range readManifests(f) {
		objs, err := scheme.DecodeAll(m.data)
		if err != nil {
			f.Fatalf("%s: %v", m.name, err)
		}
		for _, obj := range objs {
			js, err := scheme.Encode(obj)
			if err != nil {
				f.Fatalf("%s: %v", m.name, err)
			}
			f.Add(js)
		}
	}
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		scheme := fuzzScheme()
		obj, err := scheme.Decode(data)
		checkDecodeError(t, err)
		if err == nil {
			checkDecoded(t, scheme, obj)
		}
	})
}

func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var de *DecodeError
	if err != nil && !errors.As(err, &de) {
		t.Fatalf("decode error is a %T, not a *DecodeError: %v", err, err)
	}
}

// checkDecoded checks the properties listed at the top of the file for one
// decoded object.
func checkDecoded(t *testing.T, scheme *Scheme, obj Object) {
	t.Helper()
	js1, err := scheme.Encode(obj)
	if err != nil {
		t.Fatalf("Encode of a decoded %T: %v", obj, err)
	}
	obj2 := mustDecode(t, scheme, js1, "the encoding of a decoded object")
	if diff := semanticDiff(reflect.ValueOf(obj).Elem(), reflect.ValueOf(obj2).Elem(), ""); diff != "" {
		t.Fatalf("round trip changed the object at %s\nencoded: %s", diff, js1)
	}
	js2, err := scheme.Encode(obj2)
	if err != nil {
		t.Fatalf("second Encode: %v", err)
	}
	if !bytes.Equal(js1, js2) {
		t.Fatalf("encoding is not stable:\nfirst:  %s\nsecond: %s", js1, js2)
	}
	obj3 := mustDecode(t, scheme, js2, "the second encoding")
	if !reflect.DeepEqual(obj2, obj3) {
		t.Fatalf("second round trip is not exact:\n%#v\n%#v", obj2, obj3)
	}
	y, err := scheme.EncodeYAML(obj2)
	if err != nil {
		t.Fatalf("EncodeYAML: %v", err)
	}
	fromYAML := mustDecode(t, scheme, y, "the YAML encoding")
	if !reflect.DeepEqual(obj2, fromYAML) {
		jy, _ := scheme.Encode(fromYAML)
		t.Fatalf("YAML round trip changed the object:\nYAML: %q\nwant: %s\ngot:  %s", y, js2, jy)
	}

	// Defaulting: on the object as decoded, and on its round-tripped copy
	// (obj2), which must give the same result.
	Default(obj)
	d1, err := scheme.Encode(obj)
	if err != nil {
		t.Fatalf("Encode after Default: %v", err)
	}
	Default(obj)
	d2, err := scheme.Encode(obj)
	if err != nil {
		t.Fatalf("Encode after the second Default: %v", err)
	}
	if !bytes.Equal(d1, d2) {
		t.Fatalf("Default is not idempotent:\nonce:  %s\ntwice: %s", d1, d2)
	}
	Default(obj2)
	if d3, _ := scheme.Encode(obj2); !bytes.Equal(d1, d3) {
		t.Fatalf("Default depends on how the object was decoded:\n%s\n%s", d1, d3)
	}
	defaulted := mustDecode(t, scheme, d1, "a defaulted object")
	Default(defaulted)
	if d4, _ := scheme.Encode(defaulted); !bytes.Equal(d1, d4) {
		t.Fatalf("Default is not idempotent across a round trip:\n%s\n%s", d1, d4)
	}
}

func mustDecode(t *testing.T, scheme *Scheme, data []byte, what string) Object {
	t.Helper()
	obj, err := scheme.Decode(data)
	if err != nil {
		t.Fatalf("%s does not decode: %v\n%s", what, err, data)
	}
	return obj
}

var (
	fuzzQuantityType = reflect.TypeFor[resource.Quantity]()
	fuzzTimeType     = reflect.TypeFor[time.Time]()
)

// semanticDiff returns the path of the first difference between a and b,
// or "" if they are semantically equal: as reflect.DeepEqual, except that
// nil and empty slices and maps are equal, and quantities and times are
// compared by value.
func semanticDiff(a, b reflect.Value, path string) string {
	if a.Type() != b.Type() {
		return path + " (type)"
	}
	switch a.Type() {
	case fuzzQuantityType:
		if a.Interface().(resource.Quantity).Cmp(b.Interface().(resource.Quantity)) != 0 {
			return path
		}
		return ""
	case fuzzTimeType:
		if !a.Interface().(time.Time).Equal(b.Interface().(time.Time)) {
			return path
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path
			}
			return ""
		}
		return semanticDiff(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := range a.NumField() {
			if d := semanticDiff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return path + " (length)"
		}
		for i := range a.Len() {
			if d := semanticDiff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if a.Len() != b.Len() {
			return path + " (length)"
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("%s[%v] (missing)", path, k)
			}
			if d := semanticDiff(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", path, k)); d != "" {
				return d
			}
		}
		return ""
	}
	if !a.Equal(b) {
		return fmt.Sprintf("%s (%v != %v)", path, a, b)
	}
	return ""
}
