package api

import (
	"encoding/json"
	"reflect"

	"github.com/drover-io/drover/internal/jsonx"
)

// The built-in kinds, their lists and the subresources' bodies are
// encoded, and decoded where the JSON is known to be valid, with jsonx,
// whose tests hold it to encoding/json's output and results on exactly
// these types; users' kinds keep encoding/json.
func init() {
	s := NewScheme()
	if err := AddBuiltins(s); err != nil {
		panic(err) // the built-in table is static; a failure is a bug here
	}
	// The bodies the subresources take and give; a scheduler POSTs a
	// Binding for every pod.
	jsonx.Register(reflect.TypeFor[Binding](), reflect.TypeFor[Eviction](),
		reflect.TypeFor[Scale](), reflect.TypeFor[DeleteOptions]())
	for _, k := range s.Kinds() {
		jsonx.Register(k.typ, k.listTyp)
	}
}

// MarshalJSON is json.Marshal, byte for byte, faster for the built-in
// kinds, their lists and the subresources' bodies (a Binding, an
// Eviction).
func MarshalJSON(v any) ([]byte, error) { return marshalJSON(v) }

// marshalJSON is json.Marshal, by jsonx for the built-in kinds.
func marshalJSON(v any) ([]byte, error) {
	if jsonx.Known(reflect.TypeOf(v)) {
		return jsonx.Marshal(v)
	}
	return json.Marshal(v)
}

// UnmarshalTrusted decodes JSON that a Drover component wrote (a stored
// value, an API server's response or watch event) into v, a non-nil
// pointer, as json.Unmarshal does, faster for the built-in kinds and their
// lists. An error is json.Unmarshal's own (a *json.SyntaxError, a
// *json.UnmarshalTypeError, in its words): JSON the fast decoder refuses
// is decoded again by encoding/json into a new value, which replaces *v if
// encoding/json takes it. What *v holds after an error is unspecified.
func UnmarshalTrusted(data []byte, v any) error {
	t := reflect.TypeOf(v)
	if !jsonx.Known(t) {
		return json.Unmarshal(data, v)
	}
	if err := jsonx.Unmarshal(data, v); err == nil {
		return nil
	}
	fresh := reflect.New(t.Elem())
	if err := json.Unmarshal(data, fresh.Interface()); err != nil {
		return err
	}
	reflect.ValueOf(v).Elem().Set(fresh.Elem())
	return nil
}
