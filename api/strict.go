package api

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/drover-io/drover/internal/jsonx"
)

// maxStrictErrors caps the field errors collected from one document, so a
// hostile document cannot make the error list huge.
const maxStrictErrors = 64

// UnmarshalStrict decodes the JSON value data into v, which must be a
// non-nil pointer, and rejects what encoding/json lets through: fields the
// Go type does not have (matched case-sensitively, as Kubernetes does), keys
// repeated within an object, and values of the wrong JSON type. Every
// problem found is returned at once, as an ErrorList of FieldErrors whose
// Field is the dotted path ("spec.replcas"). A syntax error is returned as
// is. On error, v is left unchanged.
func UnmarshalStrict(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("api: UnmarshalStrict needs a non-nil pointer, got %T", v)
	}
	if rv.Elem().IsZero() {
		// The fast path: nothing for checkStrict to report, so decoding
		// is all that is left. If the decoder disagrees (a number out of
		// range, a broken document), the slow path below says why.
		if ok, mayBeEmpty := strictCheck(data, rv.Type().Elem()); ok {
			unmarshal := json.Unmarshal
			if jsonx.Known(rv.Type().Elem()) {
				unmarshal = jsonx.ValidUnmarshal
			}
			if err := unmarshal(data, v); err == nil {
				if mayBeEmpty {
					dropEmpty(rv.Elem())
				}
				return nil
			}
			rv.Elem().SetZero()
		}
	}
	if err := checkStrict(data, rv.Type().Elem()); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		// checkStrict has seen every value; getting here means a type's own
		// UnmarshalJSON disagrees with itself. Report it, never panic.
		return fmt.Errorf("api: decode: %w", err)
	}
	dropEmpty(rv.Elem())
	return nil
}

// dropEmpty sets empty maps and slices in omitempty fields to nil, so a
// decoded object equals what a round trip through JSON would give: encoding
// leaves them out, and a struct tagged omitzero that held only such an empty
// field would otherwise encode as {} once and be left out the next time.
func dropEmpty(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			dropEmpty(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		if mayHoldEmpty(v.Type().Elem()) {
			for i := range v.Len() {
				dropEmpty(v.Index(i))
			}
		}
	case reflect.Map:
		if et := v.Type().Elem(); mayHoldEmpty(et) {
			it := v.MapRange()
			for it.Next() {
				e := reflect.New(et).Elem()
				e.Set(it.Value())
				dropEmpty(e)
				v.SetMapIndex(it.Key(), e)
			}
		}
	case reflect.Struct:
		if !mayHoldEmpty(v.Type()) {
			return
		}
		for _, f := range emptyPlanOf(v.Type()) {
			fv := v.Field(f.index)
			if f.omitEmpty && (fv.Kind() == reflect.Map || fv.Kind() == reflect.Slice) && !fv.IsNil() && fv.Len() == 0 {
				fv.SetZero()
				continue
			}
			dropEmpty(fv)
		}
	}
}

type emptyField struct {
	index     int
	omitEmpty bool
}

var (
	emptyPlans   sync.Map // reflect.Type -> []emptyField
	mayHoldCache sync.Map // reflect.Type -> bool
)

// emptyPlanOf lists the fields of struct t that dropEmpty visits: empty
// maps and slices tagged omitempty, and fields that may hold them.
func emptyPlanOf(t reflect.Type) []emptyField {
	if p, ok := emptyPlans.Load(t); ok {
		return p.([]emptyField)
	}
	var plan []emptyField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		omit := hasOmitEmpty(f)
		if k := f.Type.Kind(); (omit && (k == reflect.Map || k == reflect.Slice)) || mayHoldEmpty(f.Type) {
			plan = append(plan, emptyField{index: i, omitEmpty: omit})
		}
	}
	p, _ := emptyPlans.LoadOrStore(t, plan)
	return p.([]emptyField)
}

func hasOmitEmpty(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
	return slices.Contains(strings.Split(opts, ","), "omitempty")
}

// mayHoldEmpty reports whether dropEmpty can change anything inside a value
// of type t.
func mayHoldEmpty(t reflect.Type) bool {
	if v, ok := mayHoldCache.Load(t); ok {
		return v.(bool)
	}
	r := mayHoldEmptyWalk(t, map[reflect.Type]bool{})
	mayHoldCache.Store(t, r)
	return r
}

// mayHoldEmptyWalk computes mayHoldEmpty; visiting holds the types on the
// current path, so a recursive type adds nothing on its second visit.
func mayHoldEmptyWalk(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if v, ok := mayHoldCache.Load(t); ok {
		return v.(bool)
	}
	if visiting[t] {
		return false
	}
	visiting[t] = true
	defer delete(visiting, t)
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return mayHoldEmptyWalk(t.Elem(), visiting)
	case reflect.Interface:
		return true
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			if k := f.Type.Kind(); (hasOmitEmpty(f) && (k == reflect.Map || k == reflect.Slice)) || mayHoldEmptyWalk(f.Type, visiting) {
				return true
			}
		}
	}
	return false
}

// checkStrict walks data against t and returns an ErrorList of every
// strictness problem, or a syntax error.
func checkStrict(data []byte, t reflect.Type) error {
	c := &checker{dec: json.NewDecoder(bytes.NewReader(data))}
	c.dec.UseNumber()
	if err := c.value(t, nil); err != nil {
		return syntaxError(err)
	}
	if _, err := c.dec.Token(); err != io.EOF {
		return errors.New("api: invalid JSON: unexpected data after the top-level value")
	}
	if len(c.errs) > 0 {
		return c.errs
	}
	return nil
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("api: invalid JSON at offset %d: %v", se.Offset, se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("api: invalid JSON: unexpected end of input")
	}
	return fmt.Errorf("api: invalid JSON: %w", err)
}

type checker struct {
	dec  *json.Decoder
	errs ErrorList
}

func (c *checker) add(e *FieldError) {
	if !c.full() {
		c.errs = append(c.errs, e)
	}
}

// full reports whether no more errors will be kept, so callers can skip the
// work of describing one.
func (c *checker) full() bool { return len(c.errs) >= maxStrictErrors }

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value checks the next JSON value against t.
func (c *checker) value(t reflect.Type, p *Path) error {
	for {
		if reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
			return c.custom(t, p)
		}
		if t.Kind() != reflect.Pointer {
			break
		}
		t = t.Elem()
	}
	tok, err := c.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // null decodes to the zero value of any type
		return nil
	}
	if t.Kind() == reflect.Interface {
		return c.skipRest(tok)
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch {
		case tok == '{' && t.Kind() == reflect.Struct:
			return c.object(t, p)
		case tok == '{' && t.Kind() == reflect.Map:
			return c.mapEntries(t, p)
		case tok == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && !isBytes(t):
			return c.array(t, p)
		}
		c.typeError(p, t, describeDelim(tok))
		return c.skipRest(tok)
	case string:
		switch {
		case t.Kind() == reflect.String:
		case isBytes(t):
			if _, err := base64.StdEncoding.DecodeString(tok); err != nil {
				c.add(&FieldError{Type: ErrorTypeTypeInvalid, Field: p.String(), BadValue: noValue{},
					Detail: "expected a base64-encoded string: " + err.Error()})
			}
		case reflect.PointerTo(t).Implements(textUnmarshalerType):
			if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(tok)); err != nil {
				c.add(Invalid(p, tok, err.Error()))
			}
		default:
			c.typeError(p, t, "string "+strconv.Quote(truncate(tok)))
		}
	case json.Number:
		c.number(t, p, tok)
	case bool:
		if t.Kind() != reflect.Bool {
			c.typeError(p, t, "boolean "+strconv.FormatBool(tok))
		}
	}
	return nil
}

// custom checks a value of a type with its own UnmarshalJSON by running it.
func (c *checker) custom(t reflect.Type, p *Path) error {
	var raw json.RawMessage
	if err := c.dec.Decode(&raw); err != nil {
		return err
	}
	if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
		c.add(&FieldError{Type: ErrorTypeInvalid, Field: p.String(), BadValue: noValue{}, Detail: err.Error()})
	}
	return nil
}

func (c *checker) object(t reflect.Type, p *Path) error {
	fields := fieldsOf(t)
	// Known fields are tracked by index in a bitset; unknown keys (which a
	// hostile document can have by the thousand) in a map, so duplicate
	// detection stays linear.
	seen := make([]uint64, (len(fields.names)+63)/64)
	var seenUnknown map[string]struct{}
	for c.dec.More() {
		tok, err := c.dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string) // the decoder only yields string keys in objects
		fp := p.Child(key)
		ft, ok := fields.byName[key]
		dup := false
		if ok {
			i := fields.index[key]
			dup = seen[i/64]&(1<<(i%64)) != 0
			seen[i/64] |= 1 << (i % 64)
		} else {
			if seenUnknown == nil {
				seenUnknown = make(map[string]struct{})
			}
			_, dup = seenUnknown[key]
			seenUnknown[key] = struct{}{}
		}
		if dup {
			c.add(&FieldError{Type: ErrorTypeDuplicateKey, Field: fp.String(), BadValue: noValue{},
				Detail: "the field appears more than once in the object"})
		}
		if !ok {
			if !c.full() {
				c.add(&FieldError{Type: ErrorTypeUnknown, Field: fp.String(), BadValue: noValue{}, Detail: fields.suggest(key)})
			}
			if err := c.skipValue(); err != nil {
				return err
			}
			continue
		}
		if err := c.value(ft, fp); err != nil {
			return err
		}
	}
	_, err := c.dec.Token() // '}'
	return err
}

func (c *checker) mapEntries(t reflect.Type, p *Path) error {
	seen := make(map[string]struct{})
	kt := t.Key()
	for c.dec.More() {
		tok, err := c.dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		fp := p.Key(key)
		if _, dup := seen[key]; dup {
			c.add(&FieldError{Type: ErrorTypeDuplicateKey, Field: fp.String(), BadValue: noValue{},
				Detail: "the key appears more than once in the map"})
		}
		seen[key] = struct{}{}
		switch kt.Kind() {
		case reflect.String:
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if _, err := strconv.ParseInt(key, 10, kt.Bits()); err != nil {
				c.add(Invalid(fp, key, "map key must be an integer"))
			}
		default:
			if !reflect.PointerTo(kt).Implements(textUnmarshalerType) {
				c.add(Invalid(fp, key, "unsupported map key"))
			}
		}
		if err := c.value(t.Elem(), fp); err != nil {
			return err
		}
	}
	_, err := c.dec.Token() // '}'
	return err
}

func (c *checker) array(t reflect.Type, p *Path) error {
	i := 0
	for c.dec.More() {
		if t.Kind() == reflect.Array && i >= t.Len() {
			c.add(TooMany(p, i+1, t.Len()))
			if err := c.skipValue(); err != nil {
				return err
			}
		} else if err := c.value(t.Elem(), p.Index(i)); err != nil {
			return err
		}
		i++
	}
	_, err := c.dec.Token() // ']'
	return err
}

func (c *checker) number(t reflect.Type, p *Path, n json.Number) {
	var err error
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(string(n), 10, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		_, err = strconv.ParseUint(string(n), 10, t.Bits())
	case reflect.Float32, reflect.Float64:
		_, err = strconv.ParseFloat(string(n), t.Bits())
	default:
		c.typeError(p, t, "number "+string(n))
		return
	}
	if err != nil {
		c.add(&FieldError{Type: ErrorTypeTypeInvalid, Field: p.String(), BadValue: noValue{},
			Detail: fmt.Sprintf("expected %s, got number %s", describeType(t), truncate(string(n)))})
	}
}

func (c *checker) typeError(p *Path, want reflect.Type, got string) {
	c.add(&FieldError{Type: ErrorTypeTypeInvalid, Field: p.String(), BadValue: noValue{},
		Detail: fmt.Sprintf("expected %s, got %s", describeType(want), got)})
}

// skipValue consumes the next value whole.
func (c *checker) skipValue() error {
	var raw json.RawMessage
	return c.dec.Decode(&raw)
}

// skipRest consumes the rest of a value whose first token was tok.
func (c *checker) skipRest(tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := c.dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func isBytes(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
}

func describeDelim(d json.Delim) string {
	if d == '{' {
		return "object"
	}
	return "array"
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		if isBytes(t) {
			return "base64-encoded string"
		}
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("%d-bit integer", t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("unsigned %d-bit integer", t.Bits())
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return t.String()
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// structFields is the JSON view of a struct type.
type structFields struct {
	byName map[string]reflect.Type
	index  map[string]int // position of each name in names
	names  []string       // sorted
	types  []reflect.Type // the type of each name in names
	ft     []atomic.Pointer[fastType]
}

// fast returns the fastType of the field names[i], made on first use.
func (sf *structFields) fast(i int) *fastType {
	if ft := sf.ft[i].Load(); ft != nil {
		return ft
	}
	ft := fastTypeOf(sf.types[i])
	sf.ft[i].Store(ft)
	return ft
}

var fieldCache sync.Map // reflect.Type -> *structFields

// fieldsOf returns the JSON field names of struct t as encoding/json sees
// them: tag names, promoted fields of embedded structs, "-" skipped.
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	sf := &structFields{byName: make(map[string]reflect.Type)}
	depth := make(map[string]int)
	var walk func(t reflect.Type, d int, visited []reflect.Type)
	walk = func(t reflect.Type, d int, visited []reflect.Type) {
		if slices.Contains(visited, t) {
			return
		}
		visited = append(visited, t)
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				et := f.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					walk(et, d+1, visited)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if old, ok := depth[name]; ok && old <= d {
				continue
			}
			depth[name] = d
			sf.byName[name] = f.Type
		}
	}
	walk(t, 0, nil)
	for n := range sf.byName {
		sf.names = append(sf.names, n)
	}
	slices.Sort(sf.names)
	sf.index = make(map[string]int, len(sf.names))
	sf.types = make([]reflect.Type, len(sf.names))
	sf.ft = make([]atomic.Pointer[fastType], len(sf.names))
	for i, n := range sf.names {
		sf.index[n] = i
		sf.types[i] = sf.byName[n]
	}
	f, _ := fieldCache.LoadOrStore(t, sf)
	return f.(*structFields)
}

// suggest explains an unknown field: the closest known name when there is
// one, and otherwise the names that are allowed.
func (sf *structFields) suggest(key string) string {
	best, bestDist := "", 3
	for _, n := range sf.names {
		if strings.EqualFold(n, key) {
			return fmt.Sprintf("field names are case-sensitive: did you mean %q?", n)
		}
		if d := editDistance(key, n, bestDist); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	const show = 16
	names := sf.names
	more := ""
	if len(names) > show {
		names, more = names[:show], ", ..."
	}
	if len(names) == 0 {
		return "the object has no fields"
	}
	return "allowed fields: " + strings.Join(names, ", ") + more
}

// editDistance returns the Levenshtein distance of a and b, or max if it is
// at least max.
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d >= max || -d >= max {
		return max
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= max {
			return max
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], max)
}
