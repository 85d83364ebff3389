// Package jsonx is encoding/json's Marshal and Unmarshal for the paths
// where a cluster spends its time encoding and decoding objects: the
// registry's stored values, the scheme's Encode, watch events read by
// clients, request bodies already checked by the strict decoder. It is
// backed by github.com/goccy/go-json, which decodes a Pod about three
// times as fast as encoding/json and encodes it half again as fast.
//
// The two must agree exactly on the API's types, and the tests hold them
// to it: Marshal's output is byte-identical to encoding/json's for random
// objects of every built-in kind, and Unmarshal of valid JSON gives the
// objects encoding/json gives; FuzzUnmarshal also holds Unmarshal to
// refusing whatever encoding/json refuses, malformed or of the wrong type.
// go-json makes no such promise, though, and says what is wrong in other
// words, so Unmarshal is for JSON from a Drover component (the registry,
// the API server), whose callers fall back to encoding/json on an error;
// ValidUnmarshal checks the syntax with encoding/json first.
// Errors are go-json's: callers that read errors for their type (a
// *json.SyntaxError, a *json.UnmarshalTypeError) keep encoding/json.
//
// The agreement is tested on the API's own types only; Known says which
// those are (package api registers them), and callers use encoding/json
// for the others, users' kinds among them.
package jsonx

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"

	gojson "github.com/goccy/go-json"
)

var known sync.Map // reflect.Type (a struct type) -> true

// Register records types (structs, or pointers to them) whose JSON the
// tests hold go-json to encoding/json's on.
func Register(types ...reflect.Type) {
	for _, t := range types {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		known.Store(t, true)
	}
}

// Types returns the registered types, ordered by their names: what the
// tests hold go-json to encoding/json's on.
func Types() []reflect.Type {
	var out []reflect.Type
	known.Range(func(k, _ any) bool {
		out = append(out, k.(reflect.Type))
		return true
	})
	slices.SortFunc(out, func(a, b reflect.Type) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// Known reports whether t, or what it points to, is a registered type.
func Known(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return false
	}
	_, ok := known.Load(t)
	return ok
}

// Marshal returns the JSON encoding of v, byte for byte what
// encoding/json.Marshal returns for the API's types.
func Marshal(v any) ([]byte, error) { return gojson.Marshal(v) }

// Unmarshal decodes the JSON data into v as encoding/json.Unmarshal does.
// data must be valid JSON (see the package comment).
func Unmarshal(data []byte, v any) error { return gojson.Unmarshal(data, v) }

// ValidUnmarshal is Unmarshal for JSON from anywhere: invalid JSON is
// refused with encoding/json's *json.SyntaxError, as encoding/json would.
func ValidUnmarshal(data []byte, v any) error {
	if !json.Valid(data) {
		return json.Unmarshal(data, v) // says where it is wrong
	}
	return gojson.Unmarshal(data, v)
}
