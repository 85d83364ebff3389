package registry

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/drover-io/drover/api"
)

// A sparseDecoder decodes from a stored value only the members that the
// kind's labels and selectable fields are computed from, and steps over
// the rest with a scan that counts brackets, so that a watch with a label
// or field selector tests an event without decoding the whole object (a
// scheduler's pod watch and a kubelet's spec.nodeName watch test every
// pod event). The object it returns has those members and nothing else:
// it is for the kind's FieldsFunc and labels, not for anyone to read.
//
// It reads what the registry stored (encode's json.Marshal output), not
// what a client sent: it checks only the syntax of the members it
// decodes, and, like encoding/json on that output, matches member names
// exactly. It exists only for kinds whose field functions are known to
// read nothing but the paths they declare (the built-in ones); a kind
// with a user's FieldsFunc or SelectableFields is decoded whole.
type sparseDecoder struct {
	kind api.Kind
	root *sparseNode
}

// A sparseNode is a member to decode: a leaf is decoded whole into its Go
// field, an inner node member by member.
type sparseNode struct {
	name    string // JSON member name ("" for the root)
	index   []int  // of the Go field in its parent struct
	typ     reflect.Type
	leaf    bool
	fast    reflect.Kind // leaf: reflect.String or reflect.Bool if no JSON method stands in the way, else Invalid
	members []*sparseNode
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// metadataPaths are the members every kind's labels and selectable fields
// read (fieldSet and the label selector).
var metadataPaths = []string{"metadata.name", "metadata.namespace", "metadata.labels"}

// newSparseDecoder returns a decoder of the JSON paths (dotted member
// names, such as "spec.nodeName") of k's objects, and of metadataPaths.
// Each path must lead through structs (or pointers to them) of k's Go
// type, by the members' JSON names.
func newSparseDecoder(k api.Kind, paths []string) (*sparseDecoder, error) {
	t := k.GoType()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || unmarshals(t) {
		return nil, fmt.Errorf("%s: %s is not a struct that encoding/json decodes field by field", k.Kind, t)
	}
	root := &sparseNode{typ: t}
	for _, p := range append(append([]string(nil), metadataPaths...), paths...) {
		if err := root.add(strings.Split(p, ".")); err != nil {
			return nil, fmt.Errorf("%s: path %q: %w", k.Kind, p, err)
		}
	}
	return &sparseDecoder{kind: k, root: root}, nil
}

// add adds the path of member names below the inner node n.
func (n *sparseNode) add(path []string) error {
	st := n.typ
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() != reflect.Struct {
		return fmt.Errorf("%s is not an object", st)
	}
	var child *sparseNode
	for _, m := range n.members {
		if m.name == path[0] {
			child = m
		}
	}
	if child == nil {
		index, typ, ok := jsonField(st, path[0])
		if !ok {
			return fmt.Errorf("%s has no member %q", st, path[0])
		}
		child = &sparseNode{name: path[0], index: index, typ: typ}
		n.members = append(n.members, child)
	}
	switch {
	case child.leaf: // it decodes all of path already
		return nil
	case len(path) > 1 && !unmarshals(child.typ):
		return child.add(path[1:])
	}
	// A leaf: the member decoded whole, by encoding/json (a type with its
	// own decoding is decoded whole even if a path goes into it).
	child.leaf, child.members = true, nil
	if k := child.typ.Kind(); (k == reflect.String || k == reflect.Bool) && !unmarshals(child.typ) {
		child.fast = k
	}
	return nil
}

// unmarshals reports whether encoding/json decodes values of t with a
// method of t's.
func unmarshals(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(jsonUnmarshalerType) || pt.Implements(textUnmarshalerType) ||
		t.Implements(jsonUnmarshalerType) || t.Implements(textUnmarshalerType)
}

// jsonField finds the field of struct type t that encoding/json decodes
// the member name into and returns its index (for
// reflect.Value.FieldByIndex) and type. It finds nothing if more than one
// field answers to the name (a field of t and one in an embedded struct,
// say: encoding/json's rules for choosing are not repeated here), or if t
// embeds a pointer to a struct (which decoding would have to allocate on
// the way); the caller then decodes objects whole.
func jsonField(t reflect.Type, name string) ([]int, reflect.Type, bool) {
	var c fieldSearch
	c.search(t, name, nil)
	if c.embeddedPointer || len(c.found) != 1 {
		return nil, nil, false
	}
	return c.found[0], c.typ, true
}

// fieldSearch is jsonField's walk of a struct and the structs it embeds.
type fieldSearch struct {
	found           [][]int
	typ             reflect.Type
	embeddedPointer bool
}

func (c *fieldSearch) search(t reflect.Type, name string, prefix []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		index := append(append([]int(nil), prefix...), i)
		if f.Anonymous && tag == "" {
			switch {
			case f.Type.Kind() == reflect.Struct:
				c.search(f.Type, name, index)
				continue
			case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct:
				c.embeddedPointer = true
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			c.found = append(c.found, index)
			c.typ = f.Type
		}
	}
}

// decode returns a new object of the kind with the decoder's members of
// data set and no others.
func (d *sparseDecoder) decode(data []byte) (api.Object, error) {
	obj := d.kind.New()
	s := jsonScan{b: data}
	if err := d.root.object(&s, reflect.ValueOf(obj).Elem()); err != nil {
		return nil, fmt.Errorf("decode %s: %w", d.kind.Kind, err)
	}
	if s.ws(); s.i != len(s.b) {
		return nil, fmt.Errorf("decode %s: %w after the object", d.kind.Kind, errSyntax)
	}
	return obj, nil
}

// object decodes the JSON object at s into the struct v, the members of n
// and only those.
func (n *sparseNode) object(s *jsonScan, v reflect.Value) error {
	if !s.consume('{') {
		return errSyntax
	}
	if s.consume('}') {
		return nil
	}
	for {
		key, err := s.key()
		if err != nil {
			return err
		}
		var m *sparseNode
		for _, c := range n.members {
			if string(key) == c.name {
				m = c
				break
			}
		}
		switch {
		case m == nil:
			if _, err := s.value(); err != nil {
				return err
			}
		case m.leaf:
			raw, err := s.value()
			if err != nil {
				return err
			}
			if err := m.set(v.FieldByIndex(m.index), raw); err != nil {
				return fmt.Errorf("member %q: %w", m.name, err)
			}
		default:
			if s.ws(); s.peek() == 'n' { // null: encoding/json leaves a struct as it is, sets a pointer nil
				if _, err := s.value(); err != nil {
					return err
				}
				if f := v.FieldByIndex(m.index); f.Kind() == reflect.Pointer {
					f.SetZero()
				}
				break
			}
			f := v.FieldByIndex(m.index)
			if f.Kind() == reflect.Pointer {
				if f.IsNil() {
					f.Set(reflect.New(f.Type().Elem()))
				}
				f = f.Elem()
			}
			if err := m.object(s, f); err != nil {
				return err
			}
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return nil
		}
		return errSyntax
	}
}

// set decodes the JSON value raw into the leaf's field f.
func (n *sparseNode) set(f reflect.Value, raw []byte) error {
	switch n.fast {
	case reflect.String:
		if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && plainString(raw[1:len(raw)-1]) {
			f.SetString(string(raw[1 : len(raw)-1]))
			return nil
		}
	case reflect.Bool:
		switch string(raw) {
		case "true":
			f.SetBool(true)
			return nil
		case "false":
			f.SetBool(false)
			return nil
		}
	}
	return json.Unmarshal(raw, f.Addr().Interface())
}

// plainString reports whether the inside of a JSON string is its value:
// no escapes, no control characters, valid UTF-8.
func plainString(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 {
			return false
		}
	}
	return utf8.Valid(b)
}

var errSyntax = errors.New("malformed JSON")

// jsonScan steps through JSON text without decoding it. It checks only
// what it needs to find where each value ends.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// consume skips white space, then c if it is next.
func (s *jsonScan) consume(c byte) bool {
	s.ws()
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// key reads a member name and its colon. The name is s's own bytes when
// it has no escapes (no allocation: the caller only compares it).
func (s *jsonScan) key() ([]byte, error) {
	s.ws()
	raw, err := s.str()
	if err != nil {
		return nil, err
	}
	if !s.consume(':') {
		return nil, errSyntax
	}
	if in := raw[1 : len(raw)-1]; plainString(in) {
		return in, nil
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, err
	}
	return []byte(k), nil
}

// str returns the JSON string at s.i, quotes included.
func (s *jsonScan) str() ([]byte, error) {
	start := s.i
	if s.peek() != '"' {
		return nil, errSyntax
	}
	for s.i++; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '\\':
			s.i++
		case '"':
			s.i++
			return s.b[start:s.i], nil
		}
	}
	return nil, errSyntax
}

// value returns the JSON value at s.i (after white space) and steps past
// it.
func (s *jsonScan) value() ([]byte, error) {
	s.ws()
	start := s.i
	switch s.peek() {
	case '"':
		return s.str()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, err := s.str(); err != nil {
					return nil, err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					s.i++
					return s.b[start:s.i], nil
				}
			}
			s.i++
		}
		return nil, errSyntax
	case 0, ',', ':', '}', ']':
		return nil, errSyntax
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return s.b[start:s.i], nil
		}
		s.i++
	}
	return s.b[start:s.i], nil
}
