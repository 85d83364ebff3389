package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// DecodeTrusted decodes one object that has already been validated by an
// API server, such as an item of a List or a watch event, choosing its Go
// type by its kind and apiVersion. It is Decode without the strictness:
// plain encoding/json, so unknown fields (from a newer server) are dropped,
// keys match case-insensitively and a repeated key keeps its last value,
// instead of being errors. On any input Decode accepts, the result is the
// same object Decode returns; it is several times faster.
//
// Use Decode for what a person wrote (manifests, request bodies), whose
// mistakes must be reported; use DecodeTrusted for what the server sent.
// Errors are *DecodeError.
func (s *Scheme) DecodeTrusted(data []byte) (Object, error) {
	js := bytes.TrimLeft(data, " \t\r\n")
	if len(js) > 0 && js[0] == '{' {
		obj, err := s.decodeTrustedJSON(js)
		if err != errNotJSON {
			return obj, err
		}
		// "{kind: Pod}" is flow-style YAML, which Decode reads too.
	}
	js, err := toJSON(data)
	if err != nil {
		return nil, &DecodeError{Err: err}
	}
	obj, err := s.decodeTrustedJSON(js)
	if err == errNotJSON { // toJSON returns valid JSON: never happens
		return nil, &DecodeError{Err: errors.New("api: invalid JSON")}
	}
	return obj, err
}

// errNotJSON is what decodeTrustedJSON returns for invalid JSON.
var errNotJSON = errors.New("api: invalid JSON")

// decodeTrustedJSON decodes the JSON object js, or returns errNotJSON if js
// is not valid JSON. Other errors are *DecodeError.
func (s *Scheme) decodeTrustedJSON(js []byte) (Object, error) {
	gvk, ok := peekGVK(js)
	if !ok {
		// Escapes, odd spellings, a missing field or broken JSON: let
		// encoding/json read the header, as Decode does, with its error
		// messages.
		if !json.Valid(js) {
			return nil, errNotJSON
		}
		var name string
		var err error
		if gvk, name, err = readHeader(js); err != nil {
			de := newDecodeError(err)
			de.Name = name
			return nil, de
		}
	}
	k, ok := s.KindFor(gvk)
	if !ok {
		if !json.Valid(js) {
			return nil, errNotJSON
		}
		_, name, _ := readHeader(js)
		return nil, &DecodeError{Kind: gvk.Kind, Name: name, Err: &NotRegisteredError{GVK: gvk}}
	}
	rv := reflect.New(k.typ)
	if err := json.Unmarshal(js, rv.Interface()); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, errNotJSON
		}
		_, name, _ := readHeader(js)
		return nil, &DecodeError{Kind: gvk.Kind, Name: name, Err: fmt.Errorf("api: decode: %w", err)}
	}
	dropEmpty(rv.Elem()) // as UnmarshalStrict does
	return rv.Interface().(Object), nil
}

// peekGVK reads the kind and apiVersion of the JSON object js from its
// top-level keys without decoding anything: one pass over the bytes, no
// allocation. It reports false when it cannot be sure to agree with
// encoding/json: a key or value with an escape, a key spelled in another
// case, a repeated key, a missing or empty kind or apiVersion, a malformed
// apiVersion or malformed JSON.
func peekGVK(js []byte) (GroupVersionKind, bool) {
	kind, apiVersion, ok := peekTypeMeta(js)
	if !ok || len(kind) == 0 || len(apiVersion) == 0 {
		return GroupVersionKind{}, false
	}
	gv, err := ParseGroupVersion(string(apiVersion))
	if err != nil {
		return GroupVersionKind{}, false
	}
	return gv.WithKind(string(kind)), true
}

// peekTypeMeta returns the kind and apiVersion of the JSON object js, as
// they are written (nil when absent), reading its top-level keys in one
// pass over the bytes. It reports false when it cannot be sure to agree
// with encoding/json: a key or value with an escape, a key spelled in
// another case, a repeated key, a kind or apiVersion that is not a
// string, or malformed JSON.
func peekTypeMeta(js []byte) (kind, apiVersion []byte, ok bool) {
	i := skipSpace(js, 0)
	if i >= len(js) || js[i] != '{' {
		return nil, nil, false
	}
	i = skipSpace(js, i+1)
	if i < len(js) && js[i] == '}' {
		return nil, nil, i+1 == len(js)
	}
	var seenKind, seenAPIVersion bool
	for {
		key, next, ok := plainString(js, i)
		if !ok {
			return nil, nil, false
		}
		i = skipSpace(js, next)
		if i >= len(js) || js[i] != ':' {
			return nil, nil, false
		}
		i = skipSpace(js, i+1)
		var target *[]byte
		var seen *bool
		switch {
		case string(key) == "kind":
			target, seen = &kind, &seenKind
		case string(key) == "apiVersion":
			target, seen = &apiVersion, &seenAPIVersion
		case strings.EqualFold(string(key), "kind"), strings.EqualFold(string(key), "apiVersion"):
			return nil, nil, false
		}
		if target != nil {
			v, next, ok := plainString(js, i)
			if !ok || *seen {
				return nil, nil, false
			}
			*target, *seen, i = v, true, next
		} else if i = skipValue(js, i); i < 0 {
			return nil, nil, false
		}
		i = skipSpace(js, i)
		if i >= len(js) {
			return nil, nil, false
		}
		if js[i] == '}' {
			break
		}
		if js[i] != ',' {
			return nil, nil, false
		}
		i = skipSpace(js, i+1)
	}
	return kind, apiVersion, true
}

func skipSpace(js []byte, i int) int {
	for i < len(js) && (js[i] == ' ' || js[i] == '\t' || js[i] == '\r' || js[i] == '\n') {
		i++
	}
	return i
}

// plainString returns the contents of the JSON string at js[i] and the
// index after it, or false if there is no string there or it holds an
// escape or a byte that would need one.
func plainString(js []byte, i int) ([]byte, int, bool) {
	if i >= len(js) || js[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(js); j++ {
		switch c := js[j]; {
		case c == '"':
			return js[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// skipValue returns the index after the JSON value starting at js[i], or -1
// if it is cut short. It checks only the nesting, not the syntax.
func skipValue(js []byte, i int) int {
	depth := 0
	for ; i < len(js); i++ {
		switch js[i] {
		case '"':
			for i++; i < len(js) && js[i] != '"'; i++ {
				if js[i] == '\\' {
					i++
				}
			}
			if i >= len(js) {
				return -1
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	if depth == 0 {
		return i
	}
	return -1
}
