package api

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/drover-io/drover/api/resource"
)

// This file decodes request bodies in the Kubernetes protobuf encoding,
// which client-go's typed clients (and so kubectl create) send by default.
//
// A body is the 4 bytes "k8s\x00" followed by an envelope, the message
// runtime.Unknown:
//
//	1 typeMeta        message {1 apiVersion string, 2 kind string}
//	2 raw             bytes: the object's own message
//	3 contentEncoding string, empty
//	4 contentType     string, empty or ContentTypeProtobuf
//
// The object's message has the field numbers of the k8s.io/api struct tags;
// zz_protobuf.go (written by tools/protogen) maps each to a Go field of
// Drover's type. TypeMeta is not in the object's message: the envelope
// carries it. Values are encoded as follows:
//
//   - strings, and enums, which are strings: length-delimited UTF-8;
//   - []byte: length-delimited;
//   - bool, int32, int64: varints (int32 sign-extended to 64 bits);
//   - structs and pointers to them: nested messages, absent when nil;
//   - slices: the field repeated once per element (varints also packed);
//   - maps: the field repeated once per entry, each the message
//     {1 key, 2 value};
//   - Time and MicroTime: {1 seconds int64, 2 nanos int32}, an empty message
//     for the zero time; Time drops the nanos, as Kubernetes does;
//   - resource.Quantity: {1 string}, its canonical text;
//   - IntOrString: {1 type int64 (0 int, 1 string), 2 intVal int32,
//     3 strVal string}.
//
// Decoding is as strict as the JSON decoder: a field number the message
// does not have is an error naming the number and the message, and so is a
// field Kubernetes has and Drover does not implement, unless it holds its
// zero value (Kubernetes writes every non-pointer field, set or not), so
// nothing a client set is silently dropped. Only
// decoding is provided; responses are JSON, which every client reads.

// ContentTypeProtobuf is the media type of the Kubernetes protobuf encoding.
const ContentTypeProtobuf = "application/vnd.kubernetes.protobuf"

// protobufMagic starts every Kubernetes protobuf body.
var protobufMagic = []byte("k8s\x00")

// ErrNoProtobuf is wrapped by the errors of decoding a kind that has no
// protobuf encoding: users' kinds have no field numbers.
var ErrNoProtobuf = errors.New("api: the kind has no protobuf encoding; send it as JSON or YAML")

// HasProtobuf reports whether bodies of the kind can be decoded from the
// Kubernetes protobuf encoding: true for the built-in kinds.
func (k Kind) HasProtobuf() bool {
	_, ok := protoRoots[k.typ]
	return ok
}

// protoKind is the kind of value a protobuf field holds (of its elements,
// for a repeated field, and of its values, for a map).
type protoKind uint8

const (
	// protoUnsupported is a field Kubernetes has and Drover does not: an
	// error when present.
	protoUnsupported protoKind = iota
	protoString
	protoBytes
	protoBool
	protoInt32
	protoInt64
	protoMessage
	protoTime
	protoMicroTime
	protoQuantity
	protoIntOrString
)

// protoCard is the cardinality of a protobuf field.
type protoCard uint8

const (
	protoSingle protoCard = iota
	protoRepeated
	protoMap // repeated {1 key string, 2 value}
)

// protoMsg describes how a Kubernetes message decodes into a Go struct.
type protoMsg struct {
	// Proto is the Kubernetes message name, for errors.
	Proto string
	// Go is the struct the message decodes into.
	Go     reflect.Type
	Fields []protoField
}

// protoField is one field of a protoMsg.
type protoField struct {
	Num int32
	// JSON is the field's JSON name, for error paths; empty for a message
	// that is inline in JSON (such as Volume.volumeSource).
	JSON string
	// Go is the Go field, dotted through embedded structs; empty when an
	// inline message decodes into the enclosing struct itself.
	Go   string
	Kind protoKind
	Card protoCard
	// Msg names the message of a protoMessage field in protoMessages.
	Msg string
}

// Protobuf wire types.
const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireSGroup = 3
	wireEGroup = 4
	wireI32    = 5
)

// maxProtoDepth bounds the nesting of messages, as the JSON decoder's
// nesting is bounded.
const maxProtoDepth = 100

// protoPlan is a protoMsg compiled for decoding: Go fields resolved to
// indexes and messages to their plans. Plans are built once per process.
type protoPlan struct {
	proto  string
	typ    reflect.Type
	fields map[int32]*protoFieldPlan
}

type protoFieldPlan struct {
	protoField
	index []int // the Go field; nil for the struct itself
	msg   *protoPlan
}

var protoPlans = sync.OnceValues(compileProto)

// compileProto compiles protoMessages, checking that each field's kind
// agrees with its Go type.
func compileProto() (map[string]*protoPlan, error) {
	plans := make(map[string]*protoPlan, len(protoMessages))
	for name, m := range protoMessages {
		plans[name] = &protoPlan{proto: m.Proto, typ: m.Go, fields: make(map[int32]*protoFieldPlan, len(m.Fields))}
	}
	for name, m := range protoMessages {
		p := plans[name]
		for _, f := range m.Fields {
			fp := &protoFieldPlan{protoField: f}
			if _, dup := p.fields[f.Num]; dup || f.Num <= 0 {
				return nil, fmt.Errorf("api: protobuf table: %s: bad or repeated field number %d", name, f.Num)
			}
			p.fields[f.Num] = fp
			if f.Kind == protoUnsupported {
				continue
			}
			ft := m.Go
			for seg := range strings.SplitSeq(f.Go, ".") {
				if seg == "" {
					continue
				}
				sf, ok := ft.FieldByName(seg)
				if !ok || len(sf.Index) != 1 {
					return nil, fmt.Errorf("api: protobuf table: %s: %s has no field %q", name, ft, seg)
				}
				fp.index = append(fp.index, sf.Index[0])
				ft = sf.Type
			}
			if f.Msg != "" {
				if fp.msg = plans[f.Msg]; fp.msg == nil {
					return nil, fmt.Errorf("api: protobuf table: %s: unknown message %q", name, f.Msg)
				}
			}
			if err := checkProtoType(fp, ft); err != nil {
				return nil, fmt.Errorf("api: protobuf table: %s field %d (%s): %w", name, f.Num, f.JSON, err)
			}
		}
	}
	return plans, nil
}

func checkProtoType(f *protoFieldPlan, t reflect.Type) error {
	switch f.Card {
	case protoRepeated:
		if t.Kind() != reflect.Slice {
			return fmt.Errorf("repeated field of Go type %s", t)
		}
		t = t.Elem()
	case protoMap:
		if t.Kind() != reflect.Map || t.Key().Kind() != reflect.String {
			return fmt.Errorf("map field of Go type %s", t)
		}
		t = t.Elem()
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	ok := false
	switch f.Kind {
	case protoString:
		ok = t.Kind() == reflect.String
	case protoBytes:
		ok = t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
	case protoBool:
		ok = t.Kind() == reflect.Bool
	case protoInt32:
		ok = t.Kind() == reflect.Int32
	case protoInt64:
		ok = t.Kind() == reflect.Int64
	case protoMessage:
		ok = f.msg != nil && t == f.msg.typ
	case protoTime:
		ok = t == reflect.TypeFor[Time]()
	case protoMicroTime:
		ok = t == reflect.TypeFor[MicroTime]()
	case protoQuantity:
		ok = t == reflect.TypeFor[resource.Quantity]()
	case protoIntOrString:
		ok = t == reflect.TypeFor[IntOrString]()
	}
	if !ok {
		return fmt.Errorf("kind %d does not fit Go type %s", f.Kind, t)
	}
	return nil
}

// DecodeProtobuf decodes one object from the Kubernetes protobuf encoding,
// choosing its Go type by the kind and apiVersion of the envelope, strictly.
// Errors are *DecodeError; a registered kind without a protobuf encoding
// (a user's kind) wraps ErrNoProtobuf.
func (s *Scheme) DecodeProtobuf(data []byte) (Object, error) {
	env, err := readEnvelope(data)
	if err != nil {
		return nil, &DecodeError{Err: err}
	}
	gvk, err := env.gvk()
	if err != nil {
		return nil, &DecodeError{Kind: env.kind, Err: err}
	}
	k, ok := s.KindFor(gvk)
	if !ok {
		return nil, &DecodeError{Kind: gvk.Kind, Err: &NotRegisteredError{GVK: gvk}}
	}
	obj := reflect.New(k.typ)
	if err := decodeProtoRoot(env.raw, obj); err != nil {
		return nil, err
	}
	o := obj.Interface().(Object)
	o.GetTypeMeta().SetGroupVersionKind(gvk)
	return o, nil
}

// DecodeProtobufInto decodes one object from the Kubernetes protobuf
// encoding into v, strictly. v is a pointer to a built-in kind, or to a
// body that is not a stored kind: DeleteOptions, Scale, Binding or
// Eviction. v is reset first. If the envelope names a kind or an
// apiVersion, it must be v's: for a registered kind both are checked, for
// the others (whose apiVersion varies by client) only the kind.
func (s *Scheme) DecodeProtobufInto(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &DecodeError{Err: fmt.Errorf("api: DecodeProtobufInto needs a non-nil pointer, got %T", v)}
	}
	env, err := readEnvelope(data)
	if err != nil {
		return &DecodeError{Err: err}
	}
	t := rv.Type().Elem()
	var k Kind
	registered := false
	if o, ok := v.(Object); ok {
		k, err = s.ObjectKind(o)
		registered = err == nil
	}
	if registered {
		if (env.kind != "" && env.kind != k.Kind) || (env.apiVersion != "" && env.apiVersion != k.GroupVersion().String()) {
			return &DecodeError{Kind: env.kind,
				Err: fmt.Errorf("the body is kind %q, apiVersion %q, but a %s was expected", env.kind, env.apiVersion, k.GroupVersionKind)}
		}
	} else if env.kind != "" && env.kind != t.Name() {
		return &DecodeError{Kind: env.kind, Err: fmt.Errorf("the body is kind %q, but a %s was expected", env.kind, t.Name())}
	}
	fresh := reflect.New(t)
	if err := decodeProtoRoot(env.raw, fresh); err != nil {
		return err
	}
	if tm, ok := fresh.Interface().(interface{ GetTypeMeta() *TypeMeta }); ok {
		tm.GetTypeMeta().Kind, tm.GetTypeMeta().APIVersion = env.kind, env.apiVersion
	}
	rv.Elem().Set(fresh.Elem())
	return nil
}

// decodeProtoRoot decodes raw into ptr, a pointer to a type in protoRoots.
func decodeProtoRoot(raw []byte, ptr reflect.Value) error {
	t := ptr.Type().Elem()
	name, ok := protoRoots[t]
	if !ok {
		return &DecodeError{Kind: t.Name(), Err: fmt.Errorf("%s: %w", t, ErrNoProtobuf)}
	}
	plans, err := protoPlans()
	if err != nil {
		return &DecodeError{Kind: t.Name(), Err: err}
	}
	if err := decodeProtoMessage(raw, ptr.Elem(), plans[name], nil, 0); err != nil {
		de := &DecodeError{Kind: t.Name(), Fields: ErrorList{err}}
		if o, ok := ptr.Interface().(Object); ok {
			de.Name = o.GetObjectMeta().Name
		}
		return de
	}
	return nil
}

// envelope is the decoded runtime.Unknown of a body.
type envelope struct {
	apiVersion, kind string
	raw              []byte
}

func (e envelope) gvk() (GroupVersionKind, error) {
	if e.kind == "" || e.apiVersion == "" {
		return GroupVersionKind{}, errors.New("the protobuf envelope must name the kind and apiVersion of the object")
	}
	gv, err := ParseGroupVersion(e.apiVersion)
	if err != nil {
		return GroupVersionKind{}, err
	}
	return gv.WithKind(e.kind), nil
}

func readEnvelope(data []byte) (envelope, error) {
	var env envelope
	rest, ok := bytes.CutPrefix(data, protobufMagic)
	if !ok {
		return env, errors.New("not a Kubernetes protobuf body: it must start with the 4 bytes \"k8s\\x00\"")
	}
	bad := func(what string, err error) error {
		return fmt.Errorf("malformed protobuf envelope: %s: %w", what, err)
	}
	r := protoReader{b: rest}
	for !r.done() {
		num, wt, err := r.tag()
		if err != nil {
			return env, bad("envelope", err)
		}
		if wt != wireLen || num < 1 || num > 4 {
			return env, fmt.Errorf("malformed protobuf envelope: unknown field number %d (wire type %d) in message runtime.Unknown", num, wt)
		}
		b, err := r.bytes()
		if err != nil {
			return env, bad("envelope", err)
		}
		switch num {
		case 1:
			tr := protoReader{b: b}
			for !tr.done() {
				n, wt, err := tr.tag()
				if err != nil {
					return env, bad("typeMeta", err)
				}
				if wt != wireLen || (n != 1 && n != 2) {
					return env, fmt.Errorf("malformed protobuf envelope: unknown field number %d (wire type %d) in message runtime.TypeMeta", n, wt)
				}
				s, err := tr.bytes()
				if err != nil {
					return env, bad("typeMeta", err)
				}
				if !utf8.Valid(s) {
					return env, errors.New("malformed protobuf envelope: typeMeta holds invalid UTF-8")
				}
				if n == 1 {
					env.apiVersion = string(s)
				} else {
					env.kind = string(s)
				}
			}
		case 2:
			env.raw = b
		case 3:
			if len(b) > 0 {
				return env, fmt.Errorf("unsupported protobuf contentEncoding %q: only an unencoded object is accepted", truncate(string(b)))
			}
		case 4:
			if ct := string(b); ct != "" && ct != ContentTypeProtobuf {
				return env, fmt.Errorf("unsupported protobuf contentType %q: want %q", truncate(ct), ContentTypeProtobuf)
			}
		}
	}
	return env, nil
}

// protoReader reads protobuf wire data.
type protoReader struct {
	b []byte
}

var (
	errTruncated = errors.New("unexpected end of data")
	errOverflow  = errors.New("varint overflows 64 bits")
)

func (r *protoReader) done() bool { return len(r.b) == 0 }

func (r *protoReader) varint() (uint64, error) {
	var x uint64
	for i := 0; i < 10; i++ {
		if i >= len(r.b) {
			return 0, errTruncated
		}
		c := r.b[i]
		if i == 9 && c > 1 {
			return 0, errOverflow
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.b = r.b[i+1:]
			return x, nil
		}
	}
	return 0, errOverflow
}

// tag reads a field's key: its number and wire type.
func (r *protoReader) tag() (int32, int, error) {
	k, err := r.varint()
	if err != nil {
		return 0, 0, err
	}
	num := k >> 3
	if num == 0 || num > 1<<29-1 {
		return 0, 0, fmt.Errorf("invalid field number %d", num)
	}
	return int32(num), int(k & 7), nil
}

func (r *protoReader) bytes() ([]byte, error) {
	n, err := r.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)) {
		return nil, errTruncated
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b, nil
}

// zero reads a value of wire type wt and reports whether it is the zero
// value: a varint 0, a fixed-size 0, or an empty string, bytes or message.
func (r *protoReader) zero(wt int) (bool, error) {
	switch wt {
	case wireVarint:
		x, err := r.varint()
		return x == 0, err
	case wireLen:
		b, err := r.bytes()
		return len(b) == 0, err
	case wireI64, wireI32:
		n := 8
		if wt == wireI32 {
			n = 4
		}
		if len(r.b) < n {
			return false, errTruncated
		}
		b := r.b[:n]
		r.b = r.b[n:]
		return bytes.Count(b, []byte{0}) == n, nil
	}
	return false, fmt.Errorf("unsupported wire type %s", wireName(wt))
}

// wireName names a wire type in errors.
func wireName(wt int) string {
	switch wt {
	case wireVarint:
		return "varint"
	case wireI64:
		return "64-bit"
	case wireLen:
		return "length-delimited"
	case wireSGroup, wireEGroup:
		return "group"
	case wireI32:
		return "32-bit"
	}
	return fmt.Sprintf("invalid (%d)", wt)
}

func isVarintKind(k protoKind) bool {
	return k == protoBool || k == protoInt32 || k == protoInt64
}

func fieldPath(parent *Path, name string) *Path {
	if name == "" {
		return parent
	}
	return parent.Child(name)
}

// decodeProtoMessage decodes the message b into v, an addressable struct of p's type.
// Fields already set in v are merged into, as protobuf does for a message
// that occurs twice.
func decodeProtoMessage(b []byte, v reflect.Value, p *protoPlan, path *Path, depth int) *FieldError {
	if depth > maxProtoDepth {
		return &FieldError{Type: ErrorTypeInvalid, Field: path.String(), BadValue: noValue{},
			Detail: fmt.Sprintf("messages are nested more than %d deep", maxProtoDepth)}
	}
	r := protoReader{b: b}
	for !r.done() {
		num, wt, err := r.tag()
		if err != nil {
			return malformed(path, p, err)
		}
		f := p.fields[num]
		if f == nil {
			return &FieldError{Type: ErrorTypeUnknown, Field: path.String(), BadValue: noValue{},
				Detail: fmt.Sprintf("unknown field number %d (wire type %s) in message %s", num, wireName(wt), p.proto)}
		}
		fpath := fieldPath(path, f.JSON)
		if f.Kind == protoUnsupported {
			// Kubernetes writes its non-pointer fields even when they are
			// zero (selfLink "", stdinOnce false): those say nothing and are
			// skipped. Any other value would be lost, so it is an error.
			zero, err := r.zero(wt)
			if err != nil {
				return malformed(path, p, err)
			}
			if !zero {
				return &FieldError{Type: ErrorTypeUnknown, Field: fpath.String(), BadValue: noValue{},
					Detail: fmt.Sprintf("field number %d of message %s is not supported by Drover; leave it unset", num, p.proto)}
			}
			continue
		}
		want := wireLen
		if f.Card != protoMap && isVarintKind(f.Kind) && !(f.Card == protoRepeated && wt == wireLen) {
			want = wireVarint
		}
		if wt != want {
			return &FieldError{Type: ErrorTypeTypeInvalid, Field: fpath.String(), BadValue: noValue{},
				Detail: fmt.Sprintf("field number %d of message %s has wire type %s, want %s", num, p.proto, wireName(wt), wireName(want))}
		}
		fv := v
		for _, i := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					fv.Set(reflect.New(fv.Type().Elem()))
				}
				fv = fv.Elem()
			}
			fv = fv.Field(i)
		}
		var ferr *FieldError
		switch f.Card {
		case protoSingle:
			ferr = decodeProtoValue(&r, wt, fv, f, fpath, depth)
		case protoRepeated:
			ferr = decodeProtoRepeated(&r, wt, fv, f, fpath, depth)
		case protoMap:
			ferr = decodeProtoMapEntry(&r, fv, f, fpath, depth)
		}
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

func malformed(path *Path, p *protoPlan, err error) *FieldError {
	return &FieldError{Type: ErrorTypeInvalid, Field: path.String(), BadValue: noValue{},
		Detail: fmt.Sprintf("malformed protobuf in message %s: %v", p.proto, err)}
}

// decodeProtoValue reads one value of f's kind from r into v, allocating v if it is a
// nil pointer.
func decodeProtoValue(r *protoReader, wt int, v reflect.Value, f *protoFieldPlan, path *Path, depth int) *FieldError {
	if v.Kind() == reflect.Pointer && (f.Kind != protoBytes || v.Type().Elem().Kind() != reflect.Uint8) {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	invalid := func(value any, detail string) *FieldError {
		return &FieldError{Type: ErrorTypeInvalid, Field: path.String(), BadValue: value, Detail: detail}
	}
	if wt == wireVarint {
		x, err := r.varint()
		if err != nil {
			return invalid(noValue{}, "malformed protobuf: "+err.Error())
		}
		switch f.Kind {
		case protoBool:
			if x > 1 {
				return invalid(x, "a bool must be 0 or 1")
			}
			v.SetBool(x == 1)
		case protoInt32:
			if int64(x) < math.MinInt32 || int64(x) > math.MaxInt32 {
				return invalid(int64(x), "must fit in 32 bits")
			}
			v.SetInt(int64(x))
		case protoInt64:
			v.SetInt(int64(x))
		}
		return nil
	}
	b, err := r.bytes()
	if err != nil {
		return invalid(noValue{}, "malformed protobuf: "+err.Error())
	}
	switch f.Kind {
	case protoString:
		if !utf8.Valid(b) {
			return invalid(noValue{}, "a string must be valid UTF-8")
		}
		v.SetString(string(b))
	case protoBytes:
		v.SetBytes(append([]byte{}, b...))
	case protoMessage:
		return decodeProtoMessage(b, v, f.msg, path, depth+1)
	case protoTime, protoMicroTime:
		return decodeProtoTime(b, v, f.Kind, path)
	case protoQuantity:
		var s []byte
		qr := protoReader{b: b}
		for !qr.done() {
			num, wt, err := qr.tag()
			if err == nil && (num != 1 || wt != wireLen) {
				err = fmt.Errorf("unknown field number %d (wire type %s)", num, wireName(wt))
			}
			if err == nil {
				s, err = qr.bytes()
			}
			if err != nil {
				return invalid(noValue{}, "malformed protobuf in message k8s.io.apimachinery.pkg.api.resource.Quantity: "+err.Error())
			}
		}
		q, err := resource.ParseWire(string(s))
		if err != nil {
			return invalid(truncate(string(s)), err.Error())
		}
		v.Set(reflect.ValueOf(q))
	case protoIntOrString:
		return decodeProtoIntOrString(b, v, path)
	}
	return nil
}

// decodeProtoRepeated reads one element, or a packed run of varints, of a repeated
// field and appends it to the slice v.
func decodeProtoRepeated(r *protoReader, wt int, v reflect.Value, f *protoFieldPlan, path *Path, depth int) *FieldError {
	if wt == wireLen && isVarintKind(f.Kind) { // packed
		b, err := r.bytes()
		if err != nil {
			return &FieldError{Type: ErrorTypeInvalid, Field: path.String(), BadValue: noValue{}, Detail: "malformed protobuf: " + err.Error()}
		}
		pr := protoReader{b: b}
		for !pr.done() {
			if err := appendProtoValue(&pr, wireVarint, v, f, path, depth); err != nil {
				return err
			}
		}
		return nil
	}
	return appendProtoValue(r, wt, v, f, path, depth)
}

func appendProtoValue(r *protoReader, wt int, v reflect.Value, f *protoFieldPlan, path *Path, depth int) *FieldError {
	n := v.Len()
	v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
	return decodeProtoValue(r, wt, v.Index(n), f, path.Index(n), depth)
}

// decodeProtoMapEntry reads one {1 key, 2 value} entry of a map field into the map v.
func decodeProtoMapEntry(r *protoReader, v reflect.Value, f *protoFieldPlan, path *Path, depth int) *FieldError {
	b, err := r.bytes()
	if err != nil {
		return &FieldError{Type: ErrorTypeInvalid, Field: path.String(), BadValue: noValue{}, Detail: "malformed protobuf: " + err.Error()}
	}
	key := reflect.New(v.Type().Key()).Elem()
	val := reflect.New(v.Type().Elem()).Elem()
	if f.Kind == protoBytes {
		val.SetBytes([]byte{}) // an entry without a value holds empty bytes, as "" in JSON does
	}
	er := protoReader{b: b}
	for !er.done() {
		num, wt, err := er.tag()
		if err != nil {
			return &FieldError{Type: ErrorTypeInvalid, Field: path.String(), BadValue: noValue{}, Detail: "malformed protobuf map entry: " + err.Error()}
		}
		switch {
		case num == 1 && wt == wireLen:
			kb, err := er.bytes()
			if err != nil {
				return &FieldError{Type: ErrorTypeInvalid, Field: path.String(), BadValue: noValue{}, Detail: "malformed protobuf map entry: " + err.Error()}
			}
			if !utf8.Valid(kb) {
				return &FieldError{Type: ErrorTypeInvalid, Field: path.String(), BadValue: noValue{}, Detail: "a map key must be valid UTF-8"}
			}
			key.SetString(string(kb))
		case num == 2 && wt == wireVarint && isVarintKind(f.Kind), num == 2 && wt == wireLen && !isVarintKind(f.Kind):
			if err := decodeProtoValue(&er, wt, val, f, path.Key(key.String()), depth); err != nil {
				return err
			}
		default:
			return &FieldError{Type: ErrorTypeUnknown, Field: path.String(), BadValue: noValue{},
				Detail: fmt.Sprintf("unknown field number %d (wire type %s) in a map entry", num, wireName(wt))}
		}
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	v.SetMapIndex(key, val)
	return nil
}

// decodeProtoTime decodes a Timestamp {1 seconds, 2 nanos} into a Time or
// MicroTime. An empty message is the zero time.
func decodeProtoTime(b []byte, v reflect.Value, kind protoKind, path *Path) *FieldError {
	invalid := func(value any, detail string) *FieldError {
		return &FieldError{Type: ErrorTypeInvalid, Field: path.String(), BadValue: value, Detail: detail}
	}
	if len(b) == 0 {
		v.SetZero()
		return nil
	}
	var secs, nanos int64
	r := protoReader{b: b}
	for !r.done() {
		num, wt, err := r.tag()
		if err == nil && ((num != 1 && num != 2) || wt != wireVarint) {
			err = fmt.Errorf("unknown field number %d (wire type %s)", num, wireName(wt))
		}
		var x uint64
		if err == nil {
			x, err = r.varint()
		}
		if err != nil {
			return invalid(noValue{}, "malformed protobuf in message k8s.io.apimachinery.pkg.apis.meta.v1.Timestamp: "+err.Error())
		}
		if num == 1 {
			secs = int64(x)
		} else {
			nanos = int64(x)
		}
	}
	if nanos < 0 || nanos > 999_999_999 {
		return invalid(nanos, "nanos must be from 0 to 999999999")
	}
	// Years 0001 to 9999, as RFC 3339 in JSON can write them.
	const minSecs, maxSecs = -62135596800, 253402300799
	if secs < minSecs || secs > maxSecs {
		return invalid(secs, "seconds must fall in the years 0001 to 9999")
	}
	t := time.Unix(secs, nanos)
	if kind == protoTime {
		v.Set(reflect.ValueOf(NewTime(t)))
	} else {
		v.Set(reflect.ValueOf(NewMicroTime(t)))
	}
	return nil
}

// decodeProtoIntOrString decodes {1 type, 2 intVal, 3 strVal}. Only the
// half that type selects is kept, as decoding JSON does.
func decodeProtoIntOrString(b []byte, v reflect.Value, path *Path) *FieldError {
	invalid := func(value any, detail string) *FieldError {
		return &FieldError{Type: ErrorTypeInvalid, Field: path.String(), BadValue: value, Detail: detail}
	}
	var typ uint64
	var iv int64
	var sv string
	r := protoReader{b: b}
	for !r.done() {
		num, wt, err := r.tag()
		if err != nil {
			return invalid(noValue{}, "malformed protobuf in message k8s.io.apimachinery.pkg.util.intstr.IntOrString: "+err.Error())
		}
		switch {
		case (num == 1 || num == 2) && wt == wireVarint:
			x, err := r.varint()
			if err != nil {
				return invalid(noValue{}, "malformed protobuf in message k8s.io.apimachinery.pkg.util.intstr.IntOrString: "+err.Error())
			}
			if num == 1 {
				typ = x
			} else {
				iv = int64(x)
			}
		case num == 3 && wt == wireLen:
			s, err := r.bytes()
			if err != nil {
				return invalid(noValue{}, "malformed protobuf in message k8s.io.apimachinery.pkg.util.intstr.IntOrString: "+err.Error())
			}
			if !utf8.Valid(s) {
				return invalid(noValue{}, "a string must be valid UTF-8")
			}
			sv = string(s)
		default:
			return &FieldError{Type: ErrorTypeUnknown, Field: path.String(), BadValue: noValue{},
				Detail: fmt.Sprintf("unknown field number %d (wire type %s) in message k8s.io.apimachinery.pkg.util.intstr.IntOrString", num, wireName(wt))}
		}
	}
	switch typ {
	case uint64(IntOrStringInt):
		if iv < math.MinInt32 || iv > math.MaxInt32 {
			return invalid(iv, "must fit in 32 bits")
		}
		v.Set(reflect.ValueOf(FromInt32(int32(iv))))
	case uint64(IntOrStringString):
		v.Set(reflect.ValueOf(FromString(sv)))
	default:
		return invalid(typ, "type must be 0 (int) or 1 (string)")
	}
	return nil
}
