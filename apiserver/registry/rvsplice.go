package registry

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api"
)

// metaBeforeRV are the JSON names of the fields of api.ObjectMeta that
// encoding/json writes before resourceVersion, in the struct's order.
var metaBeforeRV = func() map[string]bool {
	before := make(map[string]bool)
	t := reflect.TypeFor[api.ObjectMeta]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "resourceVersion" {
			return before
		}
		before[name] = true
	}
	panic("registry: api.ObjectMeta has no resourceVersion field")
}()

// withResourceVersion returns stored, an object as the registry stores it
// (Scheme.Encode with an empty resourceVersion), with rev as its
// metadata.resourceVersion: the bytes Scheme.Encode gives for the object
// with that resourceVersion, without decoding and encoding it again. It
// reports false, for the caller to encode, if stored is not shaped as
// expected (no metadata object, a resourceVersion already there, white
// space, escapes in keys).
func withResourceVersion(stored []byte, rev int64) ([]byte, bool) {
	if len(stored) < 2 || stored[0] != '{' {
		return nil, false
	}
	i := 1
	at := -1 // where the resourceVersion member goes
	comma := false
	for at < 0 {
		key, next, ok := compactKey(stored, i)
		if !ok {
			return nil, false
		}
		if key != "metadata" {
			if i = skipCompact(stored, next); i < 0 || i >= len(stored) {
				return nil, false
			}
			if stored[i] == '}' {
				return nil, false // no metadata
			}
			i++ // ','
			continue
		}
		if next >= len(stored) || stored[next] != '{' {
			return nil, false
		}
		j := next + 1
		if j < len(stored) && stored[j] == '}' {
			at = j // metadata: {}
			break
		}
		for {
			mkey, mnext, ok := compactKey(stored, j)
			if !ok || mkey == "resourceVersion" {
				return nil, false
			}
			if !metaBeforeRV[mkey] {
				at, comma = j, true // before the first member that follows it
				break
			}
			if j = skipCompact(stored, mnext); j < 0 || j >= len(stored) {
				return nil, false
			}
			if stored[j] == '}' {
				at = j // after the last member
				break
			}
			j++ // ','
		}
	}
	rv := strconv.FormatInt(rev, 10)
	out := make([]byte, 0, len(stored)+len(`,"resourceVersion":""`)+len(rv)+1) // +1: room for a newline
	out = append(out, stored[:at]...)
	if !comma && stored[at-1] != '{' {
		out = append(out, ',')
	}
	out = append(out, `"resourceVersion":"`...)
	out = append(out, rv...)
	out = append(out, '"')
	if comma {
		out = append(out, ',')
	}
	return append(out, stored[at:]...), true
}

// compactKey reads the key at data[i] of compact JSON and the colon
// after it, returning the key and the index of its value. Keys with
// escapes are refused.
func compactKey(data []byte, i int) (string, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			return "", 0, false
		case '"':
			if j+1 >= len(data) || data[j+1] != ':' {
				return "", 0, false
			}
			return string(data[i+1 : j]), j + 2, true
		}
	}
	return "", 0, false
}

// skipCompact returns the index after the value at data[i] of compact
// JSON, or -1 if it is cut short.
func skipCompact(data []byte, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if i >= len(data) {
				return -1
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			if depth--; depth == 0 {
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
