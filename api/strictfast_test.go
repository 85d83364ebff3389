package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowUnmarshalStrict is UnmarshalStrict without its fast path: the
// reference the fast path must agree with.
func slowUnmarshalStrict(data []byte, v any) error {
	if err := checkStrict(data, reflect.TypeOf(v).Elem()); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	dropEmpty(reflect.ValueOf(v).Elem())
	return nil
}

// checkFastAgrees asserts what the fast path promises on data decoded as
// a t: whenever strictOK says yes and encoding/json decodes data, the
// slow check finds nothing and UnmarshalStrict gives the slow path's
// object; and UnmarshalStrict errs exactly when the slow path does.
func checkFastAgrees(t *testing.T, data []byte, typ reflect.Type) {
	t.Helper()
	slow := reflect.New(typ)
	slowErr := slowUnmarshalStrict(data, slow.Interface())
	fast := reflect.New(typ)
	fastErr := UnmarshalStrict(data, fast.Interface())
	if slowErr != nil {
		require.Error(t, fastErr, "the slow path refuses %q", data)
		assert.Equal(t, slowErr.Error(), fastErr.Error())
		assert.True(t, fast.Elem().IsZero(), "a refused document left the value changed")
		if strictOK(data, typ) {
			assert.Error(t, json.Unmarshal(data, reflect.New(typ).Interface()),
				"strictOK and encoding/json accept %q, which the slow check refuses: %v", data, slowErr)
		}
		return
	}
	require.NoError(t, fastErr, "%q", data)
	assert.Equal(t, slow.Interface(), fast.Interface())
}

// strictCases are documents, good and bad, with the Go type they are
// decoded as.
var strictCases = []struct {
	name string
	typ  reflect.Type
	doc  string
}{
	{"pod", reflect.TypeFor[Pod](), `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b","c":"d"},"creationTimestamp":null},"spec":{"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"100m","memory":"1Gi"}},"ports":[{"containerPort":80}]}],"nodeSelector":{}},"status":{}}`},
	{"whitespace", reflect.TypeFor[Pod](), " {\n \"kind\" : \"Pod\" ,\t\"metadata\" : { \"name\" : \"p\" } , \"spec\" : { \"containers\" : [ ] } }\n "},
	{"unknown field", reflect.TypeFor[Pod](), `{"kind":"Pod","metadata":{"name":"p"},"spec":{"containerz":[]}}`},
	{"wrong case", reflect.TypeFor[Pod](), `{"kind":"Pod","Metadata":{"name":"p"}}`},
	{"repeated field", reflect.TypeFor[Pod](), `{"kind":"Pod","metadata":{"name":"p"},"metadata":{"name":"q"}}`},
	{"repeated map key", reflect.TypeFor[Pod](), `{"kind":"Pod","metadata":{"name":"p","labels":{"a":"1","a":"2"}}}`},
	{"repeated key in a big map", reflect.TypeFor[ConfigMap](), `{"data":{` + bigMap(40) + `,"k7":"again"}}`},
	{"big map", reflect.TypeFor[ConfigMap](), `{"data":{` + bigMap(40) + `}}`},
	{"escaped key", reflect.TypeFor[Pod](), `{"kind":"Pod","metadata":{"n\u0061me":"p"}}`},
	{"escaped value", reflect.TypeFor[Pod](), `{"kind":"Pod","metadata":{"name":"p\"q\\"}}`},
	{"wrong type", reflect.TypeFor[Pod](), `{"kind":"Pod","spec":{"containers":{}}}`},
	{"string for a number", reflect.TypeFor[Pod](), `{"spec":{"containers":[{"name":"c","ports":[{"containerPort":"80"}]}]}}`},
	{"number for a string", reflect.TypeFor[Pod](), `{"metadata":{"name":5}}`},
	{"fraction for an int", reflect.TypeFor[Pod](), `{"spec":{"containers":[{"name":"c","ports":[{"containerPort":80.5}]}]}}`},
	{"overflow", reflect.TypeFor[Pod](), `{"spec":{"containers":[{"name":"c","ports":[{"containerPort":2147483648}]}]}}`},
	{"bad quantity", reflect.TypeFor[Pod](), `{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"lots"}}}]}}`},
	{"null quantity", reflect.TypeFor[Pod](), `{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":null}}}]}}`},
	{"bad time", reflect.TypeFor[Pod](), `{"metadata":{"creationTimestamp":"yesterday"}}`},
	{"nulls", reflect.TypeFor[Pod](), `{"apiVersion":"v1","kind":"Pod","metadata":null,"spec":null,"status":null}`},
	{"bool for a string", reflect.TypeFor[Pod](), `{"metadata":{"name":true}}`},
	{"base64", reflect.TypeFor[Secret](), `{"data":{"k":"AA=="}}`},
	{"bad base64", reflect.TypeFor[Secret](), `{"data":{"k":"A"}}`},
	{"trailing data", reflect.TypeFor[Pod](), `{"kind":"Pod"} x`},
	{"broken", reflect.TypeFor[Pod](), `{"kind":"Pod","metadata":{"name":"p"`},
	{"broken string", reflect.TypeFor[Pod](), `{"kind":"Pod","metadata":{"name":"p`},
	{"missing colon", reflect.TypeFor[Pod](), `{"kind" "Pod"}`},
	{"not an object", reflect.TypeFor[Pod](), `[1,2]`},
	{"empty", reflect.TypeFor[Pod](), ``},
	{"deep", reflect.TypeFor[ConfigMap](), `{"metadata":{"annotations":` + strings.Repeat(`{"a":`, 2000) + `1` + strings.Repeat(`}`, 2000) + `}}`},
}

func bigMap(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + `":"v"`)
	}
	return strings.ReplaceAll(b.String(), `"kh"`, `"k7"`)
}

func TestUnmarshalStrictFastPathAgrees(t *testing.T) {
	for _, tc := range strictCases {
		t.Run(tc.name, func(t *testing.T) {
			checkFastAgrees(t, []byte(tc.doc), tc.typ)
		})
	}
	for _, s := range jsonSeeds {
		checkFastAgrees(t, []byte(s), reflect.TypeFor[Pod]())
		checkFastAgrees(t, []byte(s), reflect.TypeFor[ConfigMap]())
	}
}

func TestStrictOKTakesTheFastPath(t *testing.T) {
	scheme := NewDefaultScheme()
	for _, m := range readManifests(t) {
		objs, err := scheme.DecodeAll(m.data)
		require.NoError(t, err, m.name)
		for _, obj := range objs {
			js, err := scheme.Encode(obj)
			require.NoError(t, err)
			typ := reflect.TypeOf(obj).Elem()
			assert.True(t, strictOK(js, typ), "%s: the canonical JSON of a %s takes the slow path", m.name, typ)
			checkFastAgrees(t, js, typ)
		}
	}
	for _, tc := range strictCases {
		switch tc.name {
		case "unknown field", "wrong case", "repeated field", "repeated map key", "repeated key in a big map",
			"escaped key", "wrong type", "string for a number", "number for a string", "bad quantity",
			"bad time", "bool for a string", "bad base64", "trailing data", "broken", "missing colon", "not an object", "empty":
			assert.False(t, strictOK([]byte(tc.doc), tc.typ), tc.name)
		}
	}
}

func TestDecodeIntoFastPathAgrees(t *testing.T) {
	scheme := NewDefaultScheme()
	docs := []string{
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}`,
		`{"metadata":{"name":"p"}}`,
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"p"}}`,
		`{"apiVersion":"v2","kind":"Pod","metadata":{"name":"p"}}`,
		`{"apiVersion":"v1","kind":"Pod","kind":"Pod"}`,
		`{"apiVersion":"v1","Kind":"Pod"}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"nam":"p"}}`,
		"kind: Pod\napiVersion: v1\nmetadata:\n  name: p\n",
		`{kind: Pod, apiVersion: v1}`,
	}
	for _, doc := range docs {
		fast := &Pod{ObjectMeta: ObjectMeta{Name: "old"}}
		fastErr := scheme.DecodeInto([]byte(doc), fast)
		slow := &Pod{ObjectMeta: ObjectMeta{Name: "old"}}
		slowErr := scheme.decodeIntoSlow([]byte(doc), slow)
		if slowErr != nil {
			require.Error(t, fastErr, doc)
			assert.Equal(t, slowErr.Error(), fastErr.Error(), doc)
		} else {
			require.NoError(t, fastErr, doc)
		}
		assert.Equal(t, slow, fast, doc)
	}
}

func FuzzStrictFast(f *testing.F) {
	for _, tc := range strictCases {
		f.Add([]byte(tc.doc))
	}
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastAgrees(t, data, reflect.TypeFor[Pod]())
		checkFastAgrees(t, data, reflect.TypeFor[Secret]())
	})
}

func BenchmarkUnmarshalStrict(b *testing.B) {
	data := []byte(strictCases[0].doc)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p Pod
			if err := UnmarshalStrict(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("slow", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p Pod
			if err := slowUnmarshalStrict(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestStrictCheckSeesEmptyContainers checks what strictCheck says of
// empty maps and slices, which decides whether dropEmpty runs: an empty
// map or slice anywhere, or a value of a custom-decoded type that may
// hold one, counts; an empty struct, or an empty object where any value
// goes (where dropEmpty changes nothing), does not.
func TestStrictCheckSeesEmptyContainers(t *testing.T) {
	for _, tc := range []struct {
		doc   string
		empty bool
	}{
		{`{"metadata":{"name":"p","labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}`, false},
		{`{"metadata":{"name":"p","labels":{}}}`, true},
		{`{"spec":{"containers":[]}}`, true},
		{`{"spec":{"containers":[{"name":"c","args":[]}]}}`, true},
		{`{"spec":{"containers":[{"name":"c","resources":{"requests":{}}}]}}`, true},
		{`{"spec":{"securityContext":{}},"status":{}}`, false},
		{`{"metadata":{"name":"p"},"spec":{"nodeSelector":{"a":"b"}}}`, false},
	} {
		ok, empty := strictCheck([]byte(tc.doc), reflect.TypeFor[Pod]())
		require.True(t, ok, tc.doc)
		assert.Equal(t, tc.empty, empty, tc.doc)
		if !empty {
			var p Pod
			require.NoError(t, json.Unmarshal([]byte(tc.doc), &p))
			before := *p.DeepCopy()
			dropEmpty(reflect.ValueOf(&p).Elem())
			assert.Equal(t, before, p, "dropEmpty changed %s, which strictCheck said has no empty container", tc.doc)
		}
	}
}

// emptyCases is a type whose fields become empty containers in ways other
// than an empty JSON object or array: a base64 "" for a []byte, and a
// slice type with its own decoding.
type emptyCases struct {
	Bytes  []byte      `json:"bytes,omitempty"`
	Custom customSlice `json:"custom,omitempty"`
}

type customSlice []string

func (c *customSlice) UnmarshalJSON(data []byte) error {
	var s []string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*c = append(customSlice{}, s...) // never nil
	return nil
}

// TestStrictCheckSeesOtherEmpties checks that strictCheck counts an empty
// base64 string and a custom-decoded slice as possibly empty, and that
// strict decoding then drops them as the slow path does.
func TestStrictCheckSeesOtherEmpties(t *testing.T) {
	for _, doc := range []string{`{"bytes":""}`, `{"custom":[]}`} {
		ok, empty := strictCheck([]byte(doc), reflect.TypeFor[emptyCases]())
		require.True(t, ok, doc)
		assert.True(t, empty, doc)
		checkFastAgrees(t, []byte(doc), reflect.TypeFor[emptyCases]())
		var v emptyCases
		require.NoError(t, UnmarshalStrict([]byte(doc), &v))
		assert.Nil(t, v.Bytes, doc)
		assert.Nil(t, v.Custom, doc)
	}
}
