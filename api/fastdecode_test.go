package api

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkTrustedMatches decodes data with Decode and DecodeTrusted, and, if
// Decode accepts it, requires DecodeTrusted to return an equal object.
// It reports whether Decode accepted data.
func checkTrustedMatches(t *testing.T, s *Scheme, data []byte) bool {
	t.Helper()
	want, err := s.Decode(data)
	if err != nil {
		got, terr := s.DecodeTrusted(data)
		var de *DecodeError
		if terr != nil && !errors.As(terr, &de) {
			t.Fatalf("DecodeTrusted error is a %T, not a *DecodeError: %v", terr, terr)
		}
		if terr == nil && got == nil {
			t.Fatal("DecodeTrusted returned neither an object nor an error")
		}
		return false
	}
	got, err := s.DecodeTrusted(data)
	if err != nil {
		t.Fatalf("Decode accepts the document, DecodeTrusted fails: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("DecodeTrusted differs from Decode:\nDecode:        %#v\nDecodeTrusted: %#v\ninput: %s", want, got, data)
	}
	return true
}

func TestDecodeTrustedMatchesDecodeEveryKind(t *testing.T) {
	s := NewDefaultScheme()
	for _, k := range s.Kinds() {
		t.Run(k.Kind, func(t *testing.T) {
			// Every field set: the whole Go type is exercised.
			obj := k.New()
			n := 0
			fillValue(reflect.ValueOf(obj).Elem(), &n)
			js, err := s.Encode(obj)
			require.NoError(t, err)
			require.True(t, checkTrustedMatches(t, s, js), "Decode rejects the filled %s:\n%s", k.Kind, js)

			// Empty maps and slices: Decode drops them, so must DecodeTrusted.
			obj = k.New()
			fillEmptyValue(reflect.ValueOf(obj).Elem(), 0)
			js, err = s.Encode(obj)
			require.NoError(t, err)
			require.True(t, checkTrustedMatches(t, s, js), "Decode rejects the empty %s:\n%s", k.Kind, js)

			// The smallest document.
			minimal := `{"apiVersion":"` + k.GroupVersion().String() + `","kind":"` + k.Kind + `","metadata":{"name":"x"}}`
			require.True(t, checkTrustedMatches(t, s, []byte(minimal)))
		})
	}
}

func TestDecodeTrustedMatchesDecodeManifests(t *testing.T) {
	s := NewDefaultScheme()
	for _, m := range readManifests(t) {
		objs, err := s.DecodeAll(m.data)
		require.NoError(t, err, m.name)
		for _, obj := range objs {
			js, err := s.Encode(obj)
			require.NoError(t, err)
			require.True(t, checkTrustedMatches(t, s, js), m.name)
			y, err := s.EncodeYAML(obj)
			require.NoError(t, err)
			require.True(t, checkTrustedMatches(t, s, y), m.name)
		}
	}
}

func TestDecodeTrustedMatchesDecode(t *testing.T) {
	s := NewDefaultScheme()
	for _, tc := range []struct {
		name, doc string
	}{
		{"kind last", `{"metadata":{"name":"p","labels":{"kind":"x"}},"spec":{"containers":[{"name":"c","image":"i"}]},"kind":"Pod","apiVersion":"v1"}`},
		{"spaces", " \n\t{ \"apiVersion\" : \"v1\" ,\r\n \"kind\" : \"ConfigMap\" , \"metadata\" : { \"name\" : \"c\" } } \n"},
		{"escaped key", `{"apiVersion":"v1","\u006bind":"ConfigMap","metadata":{"name":"c"}}`},
		{"escaped value", `{"apiVersion":"v1","kind":"Config\u004dap","metadata":{"name":"c"}}`},
		{"nested kind first", `{"data":{"kind":"Secret","apiVersion":"v2","x":"[{\"}"},"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`},
		{"group version", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":3,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`},
		{"empty maps dropped", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{},"annotations":{}},"spec":{"containers":[{"name":"c","image":"i","env":[],"resources":{"requests":{}}}]}}`},
		{"nulls", `{"apiVersion":"v1","kind":"Pod","metadata":null,"spec":null,"status":null}`},
		{"quantities", `{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"},"status":{"capacity":{"cpu":0.5,"memory":"1.5Gi","pods":"110","x":"1e-9","y":1e18}}}`},
		{"unicode", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ünï","labels":{"\u00e9\ud83d\ude00":"日本"}}}`},
		{"yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yy\ndata:\n  a: b\n"},
		{"flow yaml", "{apiVersion: v1, kind: ConfigMap, metadata: {name: flow}}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, checkTrustedMatches(t, s, []byte(tc.doc)), "Decode rejects the test document")
		})
	}
}

func TestDecodeTrustedIsLenient(t *testing.T) {
	s := NewDefaultScheme()
	// What a newer server may send: a field this client does not know.
	obj, err := s.DecodeTrusted([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","newField":1},"data":{"a":"b"},"future":{"x":[1]}}`))
	require.NoError(t, err)
	cm := obj.(*ConfigMap)
	assert.Equal(t, "c", cm.Name)
	assert.Equal(t, map[string]string{"a": "b"}, cm.Data)
	_, err = s.Decode([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"future":1}`))
	require.Error(t, err, "Decode is strict")
}

func TestDecodeTrustedErrors(t *testing.T) {
	s := NewDefaultScheme()
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty", ``, "empty"},
		{"not JSON", `{"apiVersion":"v1","kind":"ConfigMap",`, "invalid"},
		{"broken nesting", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{]}`, "invalid"},
		{"no kind", `{"apiVersion":"v1","metadata":{"name":"c"}}`, "kind"},
		{"no apiVersion", `{"kind":"ConfigMap"}`, "apiVersion"},
		{"unregistered", `{"apiVersion":"v1","kind":"Widget","metadata":{"name":"w"}}`, "Widget"},
		{"wrong type", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":[1]}`, "ConfigMap"},
		{"array", `[]`, "object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj, err := s.DecodeTrusted([]byte(tc.doc))
			require.Error(t, err)
			assert.Nil(t, obj)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPeekGVK(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want GroupVersionKind
		ok   bool
	}{
		{`{"kind":"Pod","apiVersion":"v1"}`, CoreV1.WithKind("Pod"), true},
		{`{"a":[1,{"kind":"X"}],"b":"}\"","apiVersion":"apps/v1","c":null,"kind":"Deployment","d":-1.5e3}`, AppsV1.WithKind("Deployment"), true},
		{`{"kind":"Pod"}`, GroupVersionKind{}, false},
		{`{"kind":"Pod","apiVersion":"v1","kind":"Service"}`, GroupVersionKind{}, false},
		{`{"Kind":"Pod","apiVersion":"v1"}`, GroupVersionKind{}, false},
		{`{"kind":"P\u006fd","apiVersion":"v1"}`, GroupVersionKind{}, false},
		{`{"kind":1,"apiVersion":"v1"}`, GroupVersionKind{}, false},
		{`{"kind":"Pod","apiVersion":"a/b/c"}`, GroupVersionKind{}, false},
		{`{"kind":"Pod","apiVersion":"v1"`, GroupVersionKind{}, false},
		{`{"kind":"Pod","apiVersion":"v1","x":[}`, GroupVersionKind{}, false},
		{`{}`, GroupVersionKind{}, false},
		{`[]`, GroupVersionKind{}, false},
		{``, GroupVersionKind{}, false},
	} {
		got, ok := peekGVK([]byte(tc.doc))
		assert.Equal(t, tc.ok, ok, tc.doc)
		assert.Equal(t, tc.want, got, tc.doc)
	}
}

// FuzzDecodeTrustedMatchesDecode checks that on every document Decode
// accepts, DecodeTrusted returns the same object, and that it never panics
// nor returns anything but a *DecodeError on the others.
func FuzzDecodeTrustedMatchesDecode(f *testing.F) {
	s := fuzzScheme()
	for _, m := range readManifests(f) {
		f.Add(m.data)
		objs, err := s.DecodeAll(m.data)
		if err != nil {
			f.Fatalf("%s: %v", m.name, err)
		}
		for _, obj := range objs {
			js, err := s.Encode(obj)
			if err != nil {
				f.Fatalf("%s: %v", m.name, err)
			}
			f.Add(js)
		}
	}
	for _, seed := range append(append([]string{}, jsonSeeds...), yamlSeeds...) {
		if len(seed) < 4096 {
			f.Add([]byte(seed))
		}
	}
	f.Add([]byte(`{"metadata":{"name":"p"},"kind":"Pod","apiVersion":"v1","spec":{"containers":[{"name":"c","image":"i"}]}}`))
	f.Add([]byte(strings.Repeat(" ", 3) + `{"apiVersion":"v1","\u006bind":"ConfigMap"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkTrustedMatches(t, s, data)
	})
}
