// Package fields implements field selectors: queries on a few well-known
// fields of an object, as in
//
//	GET /api/v1/pods?fieldSelector=spec.nodeName=n1,status.phase!=Running
//
// A field selector is an AND of [Requirement]s, each comparing one field with
// one value by "=" (or "=="), or "!=". Unlike labels, fields are not free-form:
// which fields can be selected on depends on the kind of object, and the API
// server maps and checks them with [Selector.Transform] before it matches.
//
// A field that an object does not have compares as the empty string, so
// "spec.nodeName=" selects pods that are not scheduled yet and
// "spec.nodeName!=" those that are. This is how Kubernetes does it.
//
// Values may contain any character. In the string form, '\', ',' and '=' in a
// value are written with a backslash ("\\", "\,", "\="); see [EscapeValue].
package fields

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Fields gives read access to the selectable fields of one object. [Set]
// implements it; an API server can implement it over an object to match
// without building a map. Get of an absent field returns "", and matching
// treats an absent field as "".
type Fields interface {
	// Has reports whether the object has the field.
	Has(field string) bool
	// Get returns the value of the field, or "" if the object does not have
	// it.
	Get(field string) string
}

// Set is a map of field names to values, the selectable fields of one object.
// A nil Set is empty.
type Set map[string]string

var _ Fields = Set(nil)

// Has reports whether field is in the set.
func (s Set) Has(field string) bool {
	_, ok := s[field]
	return ok
}

// Get returns the value of field, or "" if it is not in the set.
func (s Set) Get(field string) string {
	return s[field]
}

// String returns the set as "field=value" pairs sorted by field and joined by
// commas, with values escaped by [EscapeValue], such as
// "metadata.name=web-1,spec.nodeName=n1". It is the string form of
// [Set.AsSelector].
func (s Set) String() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(EscapeValue(s[k]))
	}
	return b.String()
}

// AsSelector returns a selector that requires every field in the set to have
// the same value. It is [SelectorFromSet](s).
func (s Set) AsSelector() Selector {
	return SelectorFromSet(s)
}

// EscapeValue escapes a value for the string form of a field selector: it
// writes '\', ',' and '=' as "\\", "\," and "\=". These are the escapes
// Kubernetes writes, so the result is also understood by Kubernetes API
// servers. [UnescapeValue] reverses it.
func EscapeValue(s string) string {
	if !strings.ContainsAny(s, `\,=`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', ',', '=':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// UnescapeValue reverses [EscapeValue]. It accepts the escapes "\\", "\,",
// "\=" and also "\!" (for a literal '!'), and fails on any other escape, on a
// trailing backslash, and on an unescaped ',' or '=' (an unescaped '!' is a
// plain character).
func UnescapeValue(s string) (string, error) {
	v, pos, msg := unescape(s)
	if msg != "" {
		return "", &ParseError{Input: s, Pos: pos, Msg: msg}
	}
	return v, nil
}

// unescape is UnescapeValue that reports the byte offset of a problem.
func unescape(s string) (v string, pos int, msg string) {
	if !strings.ContainsAny(s, `\,=`) {
		return s, 0, ""
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) {
				return "", i, `unfinished escape sequence "\\" at end of value; write a backslash as '\\'`
			}
			i++
			switch e := s[i]; e {
			case '\\', ',', '=', '!':
				b.WriteByte(e)
			default:
				_, size := utf8.DecodeRuneInString(s[i:])
				return "", i - 1, "invalid escape sequence " + strconv.Quote(s[i-1:i+size]) +
					` in value; only '\\', '\,', '\=' and '\!' are allowed`
			}
		case ',', '=':
			return "", i, "unescaped '" + string(c) + "' in value; write it as '\\" + string(c) + "'"
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), 0, ""
}
