package api

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"sync"
)

// maxFastDepth bounds the nesting the fast strictness check follows; a
// deeper document takes the slow path, which reports what is wrong.
const maxFastDepth = 1000

// fastType is what the fast strictness check needs to know of a Go type,
// computed once per type.
type fastType struct {
	custom bool         // *t implements json.Unmarshaler: checked by running it
	t      reflect.Type // t with its pointers removed (unless custom)
	kind   reflect.Kind
	text   bool // *t implements encoding.TextUnmarshaler
	bytes  bool // a []byte: a base64 string
	fields *structFields
	// customEmpty: custom, and its decoding may leave an empty map or
	// slice that dropEmpty would remove (it is one, or may hold one).
	customEmpty bool
}

var fastTypes sync.Map // reflect.Type -> *fastType

// fastTypeOf returns the fastType of t, as checker.value sees t: pointers
// are followed until a type with its own UnmarshalJSON or a non-pointer.
func fastTypeOf(t reflect.Type) *fastType {
	if ft, ok := fastTypes.Load(t); ok {
		return ft.(*fastType)
	}
	ft := &fastType{}
	u := t
	for {
		if reflect.PointerTo(u).Implements(jsonUnmarshalerType) {
			ft.custom = true
			break
		}
		if u.Kind() != reflect.Pointer {
			break
		}
		u = u.Elem()
	}
	ft.t, ft.kind = u, u.Kind()
	ft.text = reflect.PointerTo(u).Implements(textUnmarshalerType)
	ft.bytes = isBytes(u)
	if ft.kind == reflect.Struct && !ft.custom {
		ft.fields = fieldsOf(u)
	}
	ft.customEmpty = ft.custom && (u.Kind() == reflect.Slice || u.Kind() == reflect.Map || mayHoldEmpty(u))
	v, _ := fastTypes.LoadOrStore(t, ft)
	return v.(*fastType)
}

// strictOK reports whether checkStrict(data, t) surely finds nothing
// wrong with the JSON value data, provided data is valid JSON (which the
// caller checks when it decodes: json.Unmarshal, or for the types jsonx
// knows json.Valid then go-json, which the jsonx tests hold to refusing
// what encoding/json refuses). It walks the bytes once, with no
// tokenizer and almost no allocation, and answers false, never a wrong
// true, whenever it is not sure: an escaped or non-ASCII object key, a Go
// array, a map with non-string keys, anything checkStrict would report.
// The caller then takes the slow path, which says exactly what is wrong.
func strictOK(data []byte, t reflect.Type) bool {
	ok, _ := strictCheck(data, t)
	return ok
}

// strictCheck is strictOK, and also reports whether decoding data may
// give an empty map or slice that dropEmpty removes: false only if the
// document has no empty object or array where a map or slice goes (a
// value of a type with its own decoding that may hold one counts as
// one), so that the caller can skip dropEmpty's walk.
func strictCheck(data []byte, t reflect.Type) (ok, mayBeEmpty bool) {
	c := fastChecker{data: data}
	if !c.value(fastTypeOf(t), 0) {
		return false, true
	}
	c.space()
	return c.i == len(data), c.empty
}

// fastChecker is the state of strictOK: data and the read offset, and
// whether an empty map or slice was seen (strictCheck).
type fastChecker struct {
	data  []byte
	i     int
	empty bool
}

func (c *fastChecker) space() {
	for c.i < len(c.data) {
		switch c.data[c.i] {
		case ' ', '\t', '\r', '\n':
			c.i++
		default:
			return
		}
	}
}

// value checks the value at c.i against ft, as checker.value does.
func (c *fastChecker) value(ft *fastType, depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	c.space()
	if c.i >= len(c.data) {
		return false
	}
	if ft.custom {
		start := c.i
		if !c.skip(depth) {
			return false
		}
		c.empty = c.empty || ft.customEmpty
		return reflect.New(ft.t).Interface().(json.Unmarshaler).UnmarshalJSON(c.data[start:c.i]) == nil
	}
	switch b := c.data[c.i]; b {
	case 'n':
		return c.literal("null")
	case '{':
		switch ft.kind {
		case reflect.Interface:
			return c.skip(depth)
		case reflect.Struct:
			return c.object(ft, depth)
		case reflect.Map:
			return c.mapEntries(ft, depth)
		}
		return false
	case '[':
		switch {
		case ft.kind == reflect.Interface:
			return c.skip(depth)
		case ft.kind == reflect.Slice && !ft.bytes:
			return c.array(ft, depth)
		}
		return false // also a Go array, which may be too short: the slow path counts
	case '"':
		s, escaped, ok := c.str()
		if !ok {
			return false
		}
		switch {
		case ft.kind == reflect.Interface, ft.kind == reflect.String:
			return true
		case escaped:
			return false
		case ft.bytes:
			if len(s) == 0 {
				c.empty = true // "": an empty, non-nil []byte
			}
			_, err := base64.StdEncoding.DecodeString(string(s))
			return err == nil
		case ft.text:
			return reflect.New(ft.t).Interface().(encoding.TextUnmarshaler).UnmarshalText(s) == nil
		}
		return false
	case 't':
		return (ft.kind == reflect.Bool || ft.kind == reflect.Interface) && c.literal("true")
	case 'f':
		return (ft.kind == reflect.Bool || ft.kind == reflect.Interface) && c.literal("false")
	default:
		if b != '-' && (b < '0' || b > '9') {
			return false
		}
		for c.i < len(c.data) && isNumberByte(c.data[c.i]) {
			c.i++
		}
		// The range and the form (an integer for an int) are checked by
		// the decoder the caller uses: json.Unmarshal, with the same
		// strconv calls as checker.number, or go-json, held to refuse the
		// same numbers by jsonx's FuzzUnmarshal.
		switch ft.kind {
		case reflect.Interface,
			reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			return true
		}
		return false
	}
}

func isNumberByte(b byte) bool {
	return (b >= '0' && b <= '9') || b == '-' || b == '+' || b == '.' || b == 'e' || b == 'E'
}

func (c *fastChecker) literal(lit string) bool {
	if len(c.data)-c.i < len(lit) || string(c.data[c.i:c.i+len(lit)]) != lit {
		return false
	}
	c.i += len(lit)
	return true
}

// str reads the string at c.i and returns its raw contents and whether it
// holds an escape.
func (c *fastChecker) str() (s []byte, escaped, ok bool) {
	start := c.i + 1
	for j := start; j < len(c.data); j++ {
		switch c.data[j] {
		case '"':
			c.i = j + 1
			return c.data[start:j], escaped, true
		case '\\':
			escaped = true
			j++
		}
	}
	return nil, false, false
}

// key reads an object key and the colon after it. It fails on a key that
// is escaped or not ASCII, which the slow path compares after decoding.
func (c *fastChecker) key() ([]byte, bool) {
	c.space()
	if c.i >= len(c.data) || c.data[c.i] != '"' {
		return nil, false
	}
	start := c.i + 1
	for j := start; j < len(c.data); j++ {
		switch b := c.data[j]; {
		case b == '"':
			c.i = j + 1
			c.space()
			if c.i >= len(c.data) || c.data[c.i] != ':' {
				return nil, false
			}
			c.i++
			return c.data[start:j], true
		case b == '\\' || b >= 0x80 || b < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// next moves past the ',' between members or elements and reports true,
// or past the closing delimiter and reports false; ok is false on
// anything else.
func (c *fastChecker) next(closing byte) (more, ok bool) {
	c.space()
	if c.i >= len(c.data) {
		return false, false
	}
	switch c.data[c.i] {
	case ',':
		c.i++
		return true, true
	case closing:
		c.i++
		return false, true
	}
	return false, false
}

// open moves past the opening delimiter and reports whether the
// container is empty (and then past its closing one too).
func (c *fastChecker) open(closing byte) (empty bool) {
	c.i++
	c.space()
	if c.i < len(c.data) && c.data[c.i] == closing {
		c.i++
		return true
	}
	return false
}

func (c *fastChecker) object(ft *fastType, depth int) bool {
	if c.open('}') {
		return true
	}
	fields := ft.fields
	var small [4]uint64
	seen := small[:]
	if n := (len(fields.names) + 63) / 64; n > len(small) {
		seen = make([]uint64, n)
	}
	for {
		key, ok := c.key()
		if !ok {
			return false
		}
		i, known := fields.index[string(key)]
		if !known || seen[i/64]&(1<<(i%64)) != 0 {
			return false // unknown or repeated: the slow path names it
		}
		seen[i/64] |= 1 << (i % 64)
		if !c.value(fields.fast(i), depth+1) {
			return false
		}
		more, ok := c.next('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// smallMap is how many keys of a map are checked for repeats by a linear
// scan before a set is made.
const smallMap = 16

func (c *fastChecker) mapEntries(ft *fastType, depth int) bool {
	if ft.t.Key().Kind() != reflect.String {
		return false
	}
	if c.open('}') {
		c.empty = true
		return true
	}
	elem := fastTypeOf(ft.t.Elem())
	var small [smallMap][]byte
	keys := small[:0]
	var set map[string]struct{}
	for {
		key, ok := c.key()
		if !ok {
			return false
		}
		if set != nil {
			if _, dup := set[string(key)]; dup {
				return false
			}
			set[string(key)] = struct{}{}
		} else {
			for _, k := range keys {
				if string(k) == string(key) {
					return false
				}
			}
			if len(keys) < smallMap {
				keys = append(keys, key)
			} else {
				set = make(map[string]struct{}, 2*smallMap)
				for _, k := range keys {
					set[string(k)] = struct{}{}
				}
				set[string(key)] = struct{}{}
			}
		}
		if !c.value(elem, depth+1) {
			return false
		}
		more, ok := c.next('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

func (c *fastChecker) array(ft *fastType, depth int) bool {
	if c.open(']') {
		c.empty = true
		return true
	}
	elem := fastTypeOf(ft.t.Elem())
	for {
		if !c.value(elem, depth+1) {
			return false
		}
		more, ok := c.next(']')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// skip moves past the value at c.i, checking only its nesting.
func (c *fastChecker) skip(depth int) bool {
	c.space()
	if c.i >= len(c.data) {
		return false
	}
	switch c.data[c.i] {
	case '"':
		_, _, ok := c.str()
		return ok
	case '{', '[':
		nest := 0
		for ; c.i < len(c.data); c.i++ {
			switch c.data[c.i] {
			case '"':
				if _, _, ok := c.str(); !ok {
					return false
				}
				c.i-- // the loop's increment
			case '{', '[':
				if nest++; depth+nest > maxFastDepth {
					return false
				}
			case '}', ']':
				if nest--; nest == 0 {
					c.i++
					return true
				}
			}
		}
		return false
	}
	start := c.i
	for c.i < len(c.data) {
		switch c.data[c.i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return c.i > start
		}
		c.i++
	}
	return c.i > start
}
