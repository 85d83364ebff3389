package fields

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Operator is the comparison of a [Requirement].
type Operator string

// The operators of field selectors, spelled as in the string syntax.
const (
	// Equals requires the field to have the value ("" if absent).
	Equals Operator = "="
	// DoubleEquals is a synonym of Equals; selectors store it as Equals.
	DoubleEquals Operator = "=="
	// NotEquals requires the field to have another value than the one given
	// (an absent field has the value "").
	NotEquals Operator = "!="
)

// Requirement is one comparison of a field with a value, such as
// "spec.nodeName=n1". The Requirements of a [Selector] have Operator [Equals]
// or [NotEquals].
type Requirement struct {
	// Field is the field name, such as "status.phase".
	Field string
	// Operator is Equals or NotEquals.
	Operator Operator
	// Value is the value compared with, unescaped.
	Value string
}

// Matches reports whether fs satisfies the requirement; an absent field has
// the value "", and a nil fs has no fields. It does not allocate (if fs does
// not).
func (r Requirement) Matches(fs Fields) bool {
	return r.matches(fs)
}

func (r *Requirement) matches(fs Fields) bool {
	var v string
	if set, ok := fs.(Set); ok {
		v = set[r.Field]
	} else if fs != nil {
		v = fs.Get(r.Field)
	}
	switch r.Operator {
	case Equals, DoubleEquals:
		return v == r.Value
	case NotEquals:
		return v != r.Value
	}
	return false
}

// String returns the requirement in the syntax accepted by [Parse], with the
// value escaped by [EscapeValue], such as `metadata.name=a\,b`.
func (r Requirement) String() string {
	var b strings.Builder
	r.writeTo(&b)
	return b.String()
}

func (r *Requirement) writeTo(b *strings.Builder) {
	b.WriteString(r.Field)
	if r.Operator == DoubleEquals {
		b.WriteString(string(Equals))
	} else {
		b.WriteString(string(r.Operator))
	}
	b.WriteString(EscapeValue(r.Value))
}

// compareRequirements orders requirements by field, then operator, then
// value, which makes the string form canonical.
func compareRequirements(a, b Requirement) int {
	if c := strings.Compare(a.Field, b.Field); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Operator), string(b.Operator)); c != 0 {
		return c
	}
	return strings.Compare(a.Value, b.Value)
}

// Selector is an immutable conjunction of field [Requirement]s, kept sorted by
// field, operator and value. The zero Selector matches everything, like
// [Everything]. A Selector is safe to share between goroutines.
type Selector struct {
	reqs []Requirement
}

// Everything returns a selector with no requirements, which matches every
// object. Its string form is "".
func Everything() Selector { return Selector{} }

// OneTermEqualSelector returns the selector "field=value". The field name is
// not checked; see [Parse] for which names print and parse back.
func OneTermEqualSelector(field, value string) Selector {
	return Selector{reqs: []Requirement{{Field: field, Operator: Equals, Value: value}}}
}

// OneTermNotEqualSelector returns the selector "field!=value". The field name
// is not checked; see [Parse] for which names print and parse back.
func OneTermNotEqualSelector(field, value string) Selector {
	return Selector{reqs: []Requirement{{Field: field, Operator: NotEquals, Value: value}}}
}

// SelectorFromSet returns a selector that requires every field in set to
// have the same value. A nil or empty set gives [Everything]. The field names
// are not checked; see [Parse] for which names print and parse back.
func SelectorFromSet(set Set) Selector {
	if len(set) == 0 {
		return Selector{}
	}
	reqs := make([]Requirement, 0, len(set))
	for f, v := range set {
		reqs = append(reqs, Requirement{Field: f, Operator: Equals, Value: v})
	}
	slices.SortFunc(reqs, compareRequirements)
	return Selector{reqs: reqs}
}

// Matches reports whether fs satisfies every requirement of the selector. An
// absent field has the value "", and a nil fs has no fields. Matches does not
// allocate (if fs does not).
func (s Selector) Matches(fs Fields) bool {
	for i := range s.reqs {
		if !s.reqs[i].matches(fs) {
			return false
		}
	}
	return true
}

// Empty reports whether the selector has no requirements and so matches
// everything.
func (s Selector) Empty() bool { return len(s.reqs) == 0 }

// Requirements returns a copy of the selector's requirements, sorted by
// field, operator and value.
func (s Selector) Requirements() []Requirement { return slices.Clone(s.reqs) }

// RequiresExactMatch reports whether the selector only matches objects whose
// field has one particular value, that is whether it has a requirement
// "field=value", and returns the value. An index on the field can serve the
// candidates; callers still run [Selector.Matches] on them.
func (s Selector) RequiresExactMatch(field string) (value string, ok bool) {
	for i := range s.reqs {
		if r := &s.reqs[i]; r.Field == field && r.Operator == Equals {
			return r.Value, true
		}
	}
	return "", false
}

// String returns the selector in the syntax accepted by [Parse]: the
// requirements sorted by field, operator and value, joined by commas, with
// values escaped by [EscapeValue]. [Parse] of the result gives an equal
// selector if every field name is one that Parse accepts. The string form of
// [Everything] is "".
func (s Selector) String() string {
	var b strings.Builder
	for i := range s.reqs {
		if i > 0 {
			b.WriteByte(',')
		}
		s.reqs[i].writeTo(&b)
	}
	return b.String()
}

// TransformFunc maps a field and value of a selector to the ones to match
// with, or returns an error that says why the field or value is not
// supported. See [Selector.Transform].
type TransformFunc func(field, value string) (newField, newValue string, err error)

// Transform returns the selector with fn applied to the field and value of
// every requirement, for example to reject the fields a kind does not support
// or to map a field to the name it is indexed under. fn is called once per
// requirement, in order, on the calling goroutine. The error of the first
// call that fails is returned wrapped (errors.Is and errors.As see it) with
// the requirement it was about. A field name that fn returns must be one
// [Parse] accepts; in particular fn cannot drop a requirement by returning an
// empty field, as that would widen the selection.
func (s Selector) Transform(fn TransformFunc) (Selector, error) {
	if len(s.reqs) == 0 {
		return s, nil
	}
	reqs := make([]Requirement, len(s.reqs))
	for i, r := range s.reqs {
		f, v, err := fn(r.Field, r.Value)
		if err != nil {
			return Selector{}, fmt.Errorf("fields: transform %q: %w", r.String(), err)
		}
		if msg := checkField(f); msg != "" {
			return Selector{}, errors.New("fields: transform " + strconv.Quote(r.String()) + ": " + msg)
		}
		reqs[i] = Requirement{Field: f, Operator: r.Operator, Value: v}
	}
	slices.SortFunc(reqs, compareRequirements)
	return Selector{reqs: reqs}, nil
}
