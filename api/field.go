package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Path is a field path such as spec.template.spec.containers[0].image. The
// zero value is the empty path. Paths are immutable; Child, Index and Key
// return extended copies, so a parent path can be shared.
type Path struct {
	parent *Path
	name   string // a field name, or a key element's key
	kind   elemKind
	index  int // an index element's index
}

// elemKind is what a Path element is. The brackets of an index or a key
// are written by String, not stored: validation builds a Path for every
// element of every list it checks, and reads one only for an error.
type elemKind uint8

const (
	fieldElem elemKind = iota
	indexElem
	keyElem
)

// NewPath returns the path of the field name, with optional further fields.
func NewPath(name string, more ...string) *Path {
	p := &Path{name: name}
	for _, m := range more {
		p = p.Child(m)
	}
	return p
}

// Child returns the path of field name under p.
func (p *Path) Child(name string, more ...string) *Path {
	c := &Path{parent: p, name: name}
	for _, m := range more {
		c = c.Child(m)
	}
	return c
}

// Index returns the path of element i of the list at p.
func (p *Path) Index(i int) *Path {
	return &Path{parent: p, kind: indexElem, index: i}
}

// Key returns the path of entry key of the map at p.
func (p *Path) Key(key string) *Path {
	return &Path{parent: p, kind: keyElem, name: key}
}

// String returns the path in dotted form, such as
// "spec.containers[0].image".
func (p *Path) String() string {
	if p == nil {
		return ""
	}
	var elems []*Path
	for e := p; e != nil; e = e.parent {
		elems = append(elems, e)
	}
	var b strings.Builder
	for i := len(elems) - 1; i >= 0; i-- {
		e := elems[i]
		switch e.kind {
		case indexElem:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.index))
			b.WriteByte(']')
			continue
		case keyElem:
			b.WriteByte('[')
			b.WriteString(e.name)
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.name)
	}
	return b.String()
}

// ErrorType classifies a FieldError. Its value is the text that follows the
// field path in messages, as in Kubernetes.
type ErrorType string

// The kinds of field error.
const (
	ErrorTypeRequired     ErrorType = "FieldValueRequired"
	ErrorTypeInvalid      ErrorType = "FieldValueInvalid"
	ErrorTypeDuplicate    ErrorType = "FieldValueDuplicate"
	ErrorTypeNotSupported ErrorType = "FieldValueNotSupported"
	ErrorTypeForbidden    ErrorType = "FieldValueForbidden"
	ErrorTypeTooLong      ErrorType = "FieldValueTooLong"
	ErrorTypeTooMany      ErrorType = "FieldValueTooMany"
	ErrorTypeNotFound     ErrorType = "FieldValueNotFound"
	ErrorTypeUnknown      ErrorType = "FieldValueUnknown"
	ErrorTypeTypeInvalid  ErrorType = "FieldValueTypeInvalid"
	ErrorTypeDuplicateKey ErrorType = "FieldValueDuplicateKey"
)

// String returns the human form: "Required value", "Invalid value", ...
func (t ErrorType) String() string {
	switch t {
	case ErrorTypeRequired:
		return "Required value"
	case ErrorTypeInvalid:
		return "Invalid value"
	case ErrorTypeDuplicate:
		return "Duplicate value"
	case ErrorTypeNotSupported:
		return "Unsupported value"
	case ErrorTypeForbidden:
		return "Forbidden"
	case ErrorTypeTooLong:
		return "Too long"
	case ErrorTypeTooMany:
		return "Too many"
	case ErrorTypeNotFound:
		return "Not found"
	case ErrorTypeUnknown:
		return "Unknown field"
	case ErrorTypeTypeInvalid:
		return "Invalid type"
	case ErrorTypeDuplicateKey:
		return "Duplicate field"
	}
	return string(t)
}

// FieldError is one problem with one field of an object.
type FieldError struct {
	// Type classifies the error.
	Type ErrorType
	// Field is the dotted path of the field.
	Field string
	// BadValue is the offending value, when there is one worth showing.
	BadValue any
	// Detail says what is allowed.
	Detail string
}

// noValue marks a FieldError whose value is not shown.
type noValue struct{}

// Error returns "spec.replicas: Invalid value: -1: must be greater than or
// equal to 0".
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.ErrorBody()
	}
	return e.Field + ": " + e.ErrorBody()
}

// ErrorBody returns the error without the field: "Invalid value: -1: must
// be greater than or equal to 0", the message of a Status cause, whose
// field is given apart.
func (e *FieldError) ErrorBody() string {
	var b strings.Builder
	b.WriteString(e.Type.String())
	if _, hidden := e.BadValue.(noValue); !hidden && e.BadValue != nil {
		b.WriteString(": ")
		b.WriteString(formatValue(e.BadValue))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case fmt.Stringer:
		return strconv.Quote(v.String())
	case int, int32, int64, uint, uint32, uint64, bool, float64:
		return fmt.Sprint(v)
	}
	if b, err := json.Marshal(v); err == nil && len(b) < 256 {
		return string(b)
	}
	return fmt.Sprintf("%T", v)
}

// Required reports a missing required field.
func Required(p *Path, detail string) *FieldError {
	return &FieldError{Type: ErrorTypeRequired, Field: p.String(), BadValue: noValue{}, Detail: detail}
}

// Invalid reports a field whose value is not allowed; detail says what is.
func Invalid(p *Path, value any, detail string) *FieldError {
	return &FieldError{Type: ErrorTypeInvalid, Field: p.String(), BadValue: value, Detail: detail}
}

// Duplicate reports a value that must be unique and is not.
func Duplicate(p *Path, value any) *FieldError {
	return &FieldError{Type: ErrorTypeDuplicate, Field: p.String(), BadValue: value}
}

// NotSupported reports a value outside an enumeration and lists the allowed
// values.
func NotSupported[T ~string](p *Path, value T, allowed []T) *FieldError {
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(string(a))
	}
	return &FieldError{Type: ErrorTypeNotSupported, Field: p.String(), BadValue: string(value),
		Detail: "supported values: " + strings.Join(quoted, ", ")}
}

// Forbidden reports a field that may not be set (or changed) here.
func Forbidden(p *Path, detail string) *FieldError {
	return &FieldError{Type: ErrorTypeForbidden, Field: p.String(), BadValue: noValue{}, Detail: detail}
}

// TooLong reports a value longer than max (bytes or items).
func TooLong(p *Path, max int) *FieldError {
	return &FieldError{Type: ErrorTypeTooLong, Field: p.String(), BadValue: noValue{},
		Detail: fmt.Sprintf("may not be more than %d bytes", max)}
}

// TooMany reports a list with more than max items.
func TooMany(p *Path, actual, max int) *FieldError {
	return &FieldError{Type: ErrorTypeTooMany, Field: p.String(), BadValue: actual,
		Detail: fmt.Sprintf("must have at most %d items", max)}
}

// ErrorList collects every FieldError found in an object, in field order.
type ErrorList []*FieldError

// Error joins the messages of all errors: "[a: Required value, b: ...]".
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "<no errors>"
	case 1:
		return l[0].Error()
	}
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

// ToError returns nil for an empty list and the list otherwise, so callers
// can return it as an error without the nil-interface trap.
func (l ErrorList) ToError() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
