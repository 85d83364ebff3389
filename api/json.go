package api

import (
	"encoding/json"
	"reflect"

	"github.com/drover-io/drover/internal/jsonx"
)

// The built-in kinds and their lists are encoded, and decoded where the
// JSON is known to be valid, with jsonx, whose tests hold it to
// encoding/json's output and results on exactly these types; users'
// kinds keep encoding/json.
func init() {
	s := NewScheme()
	if err := AddBuiltins(s); err != nil {
		panic(err) // the built-in table is static; a failure is a bug here
	}
	for _, k := range s.Kinds() {
		jsonx.Register(k.typ)
		if lk, ok := s.ListKindFor(k.GroupVersionKind); ok {
			jsonx.Register(lk.typ)
		}
	}
}

// marshalJSON is json.Marshal, by jsonx for the built-in kinds.
func marshalJSON(v any) ([]byte, error) {
	if jsonx.Known(reflect.TypeOf(v)) {
		return jsonx.Marshal(v)
	}
	return json.Marshal(v)
}

// UnmarshalTrusted decodes JSON that a Drover component wrote (a stored
// value, an API server's response or watch event) into v, as
// json.Unmarshal does, faster for the built-in kinds and their lists. It
// is not for JSON from elsewhere: on invalid JSON it may not fail as
// json.Unmarshal would.
func UnmarshalTrusted(data []byte, v any) error {
	if jsonx.Known(reflect.TypeOf(v)) {
		return jsonx.Unmarshal(data, v)
	}
	return json.Unmarshal(data, v)
}
