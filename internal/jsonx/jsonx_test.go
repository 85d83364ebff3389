package jsonx_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/internal/apifill"
	"github.com/drover-io/drover/internal/jsonx"
)

// TestAgreesWithEncodingJSON fills objects of every type package api
// registers (the built-in kinds, their lists, the subresources' bodies)
// at random (every field, with strings JSON escapes, HTML, invalid UTF-8,
// times, quantities, raw JSON with white space) and checks that Marshal
// writes what encoding/json writes, byte for byte, and that Unmarshal of
// that reads back what encoding/json reads back.
func TestAgreesWithEncodingJSON(t *testing.T) {
	types := jsonx.Types()
	require.GreaterOrEqual(t, len(types), len(api.NewDefaultScheme().Kinds())+4, "package api registers its kinds, their lists and the subresources' bodies")
	for _, want := range []reflect.Type{reflect.TypeFor[api.Pod](), reflect.TypeFor[api.PodList](), reflect.TypeFor[api.Binding]()} {
		require.Contains(t, types, want)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			for i := range 150 {
				obj := reflect.New(typ)
				apifill.Fill(rng, obj.Elem())
				requireAgree(t, obj.Interface(), i)
			}
		})
	}
}

// TestAgreesOnZeroValues checks the empty value of every registered type:
// every omitempty and omitzero rule at once.
func TestAgreesOnZeroValues(t *testing.T) {
	for _, typ := range jsonx.Types() {
		requireAgree(t, reflect.New(typ).Interface(), 0)
	}
}

// TestAgreesOnEdgeCases checks what random filling rarely produces.
func TestAgreesOnEdgeCases(t *testing.T) {
	for i, obj := range []any{
		&api.ConfigMap{Data: map[string]string{"<a>": "&\u2028\u2029\x00\x1f\xff", "b\xfe": "\\\"/"}},
		&api.Pod{ObjectMeta: api.ObjectMeta{Annotations: map[string]string{"": ""}}},
		&api.Secret{Data: map[string][]byte{"k": {0, 1, 2, 255}, "e": {}}},
		&api.Event{Count: -1, EventTime: api.NewMicroTime(time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600)))},
		&api.Pod{Spec: api.PodSpec{Containers: []api.Container{{Ports: []api.ContainerPort{}}}}},
	} {
		requireAgree(t, obj, i)
	}
}

func requireAgree(t *testing.T, obj any, i int) {
	t.Helper()
	want, werr := json.Marshal(obj)
	got, gerr := jsonx.Marshal(obj)
	require.Equal(t, werr == nil, gerr == nil, "object %d: encoding/json says %v, jsonx %v", i, werr, gerr)
	if werr != nil {
		return
	}
	require.Equal(t, string(want), string(got), "object %d (%T)", i, obj)

	typ := reflect.TypeOf(obj).Elem()
	a, b := reflect.New(typ), reflect.New(typ)
	require.NoError(t, json.Unmarshal(want, a.Interface()))
	require.NoError(t, jsonx.Unmarshal(want, b.Interface()), "object %d: %s", i, want)
	require.Equal(t, a.Interface(), b.Interface(), "object %d decoded from %s", i, want)
	// Into an object that is not empty: encoding/json merges what it
	// decodes into what is there (maps gain entries, pointers are reused,
	// slices replaced), and so must Unmarshal.
	seed := uint64(i)
	c, d := reflect.New(typ), reflect.New(typ)
	apifill.Fill(rand.New(rand.NewPCG(seed, 3)), c.Elem())
	apifill.Fill(rand.New(rand.NewPCG(seed, 3)), d.Elem())
	require.NoError(t, json.Unmarshal(want, c.Interface()))
	require.NoError(t, jsonx.Unmarshal(want, d.Interface()))
	require.Equal(t, c.Interface(), d.Interface(), "object %d decoded into a filled one", i)
}

// FuzzUnmarshal decodes arbitrary bytes into a value of a registered
// type (the input's first byte picks it, in jsonx.Types' order; the seeds
// are Pods and Deployments) with both decoders: where encoding/json
// succeeds, Unmarshal and ValidUnmarshal must give the same value; where
// it fails (malformed JSON, a value of the wrong type or out of range),
// both must fail too: the strict decoder's fast path, which takes request
// bodies of every registered type, and the client's watch rely on it.
func FuzzUnmarshal(f *testing.F) {
	types := jsonx.Types()
	index := func(t reflect.Type) byte { return byte(slices.Index(types, t)) }
	pod, deploy := index(reflect.TypeFor[api.Pod]()), index(reflect.TypeFor[api.Deployment]())
	for _, seed := range []string{
		`{"metadata":{"name":"a","labels":{"x":"y"}},"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"100m"}}}]}}`,
		`{"Metadata":{"NAME":"a"},"spec":{"nodeName":null,"hostNetwork":true,"priority":3}}`,
		`{"metadata":{"creationTimestamp":"2026-01-02T03:04:05Z","labels":{"a":"b","a":"c"}},"status":{"conditions":[{"type":"Ready"}]}}`,
		`{"spec":{"containers":[{"ports":[{"containerPort":80,"protocol":"TCP"}],"env":[{"name":"\u00e9\ud800"}]}]}}`,
		`{"spec":{"overhead":{"cpu":"1e3"},"activeDeadlineSeconds":1.5}}`,
		`{"status":{"phase":"Running","podIP":"1.2.3.4","containerStatuses":[{"restartCount":2147483648}]}}`,
		`[]`, `null`, `{"metadata":null}`, `{"metadata":{"name":1}}`,
		`{"spec":{"priority":2147483648}}`, `{"spec":{"priority":1.5}}`, `{"spec":{"containers":{}}}`,
		`{"metadata":{"name":"a"}`, `{"metadata":{"name":"a"}}}`, `{"a":tru}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}",
	} {
		f.Add(append([]byte{pod}, seed...))
	}
	for _, seed := range []string{
		`{"spec":{"replicas":2147483648}}`, `{"spec":{"replicas":1e2}}`, `{"spec":{"replicas":-0}}`,
		`{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1.5}}}}`, `{"spec":{"strategy":{"rollingUpdate":{"maxSurge":"25%"}}}}`,
		`{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}},"status":{"replicas":3}}`,
	} {
		f.Add(append([]byte{deploy}, seed...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		typ, data := types[int(in[0])%len(types)], in[1:]
		want, got, unchecked := reflect.New(typ), reflect.New(typ), reflect.New(typ)
		werr := json.Unmarshal(data, want.Interface())
		gerr := jsonx.ValidUnmarshal(data, got.Interface())
		uerr := jsonx.Unmarshal(data, unchecked.Interface())
		if werr != nil {
			require.Error(t, gerr, "ValidUnmarshal accepted %q into a %v (encoding/json: %v)", data, typ, werr)
			require.Error(t, uerr, "Unmarshal accepted %q into a %v (encoding/json: %v)", data, typ, werr)
			return
		}
		require.NoError(t, gerr, "%v from %q", typ, data)
		require.NoError(t, uerr, "%v from %q", typ, data)
		require.Equal(t, want.Interface(), got.Interface(), "%v from %q", typ, data)
		require.Equal(t, want.Interface(), unchecked.Interface(), "%v from %q", typ, data)
	})
}
