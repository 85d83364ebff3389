package labels

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/drover-io/drover/internal/names"
)

// Operator is the relation a [Requirement] checks between a label and its
// values.
type Operator string

// The operators of label selectors. Each constant's value is how it is
// spelled in the string syntax, except for [In], [NotIn], [Exists],
// [GreaterThan] and [LessThan], whose syntax is "key in (...)",
// "key notin (...)", "key", "key>n" and "key<n".
const (
	// Equals requires the label to be present with the one given value.
	Equals Operator = "="
	// DoubleEquals is a synonym of Equals; [NewRequirement] stores it as
	// Equals.
	DoubleEquals Operator = "=="
	// NotEquals requires the label to be absent or to have a value other
	// than the one given.
	NotEquals Operator = "!="
	// In requires the label to be present with one of the given values.
	In Operator = "in"
	// NotIn requires the label to be absent or to have none of the given
	// values.
	NotIn Operator = "notin"
	// Exists requires the label to be present, with any value. It takes no
	// values.
	Exists Operator = "exists"
	// DoesNotExist requires the label to be absent. It takes no values.
	DoesNotExist Operator = "!"
	// GreaterThan requires the label to be present with an integer value
	// greater than the one given.
	GreaterThan Operator = "gt"
	// LessThan requires the label to be present with an integer value less
	// than the one given.
	LessThan Operator = "lt"
)

// Requirement is one condition on one label, such as "app=web" or
// "tier notin (cache)". The zero Requirement is not valid: make one with
// [NewRequirement] or get one from a [Selector]. A Requirement is immutable
// and safe to share between goroutines.
type Requirement struct {
	key    string
	op     Operator
	value  string   // the value of Equals, NotEquals, GreaterThan and LessThan
	values []string // the sorted, distinct values of In and NotIn
	bound  int64    // value as an integer, for GreaterThan and LessThan
}

// NewRequirement returns the requirement that the label key relates to values
// by op. The key must be a qualified name ("app", "drover.io/zone") and every
// value a valid label value (see package [names]). The number of values
// depends on the operator: exactly one for [Equals], [DoubleEquals] and
// [NotEquals]; at least one for [In] and [NotIn]; none for [Exists] and
// [DoesNotExist]; exactly one non-negative integer for [GreaterThan] and
// [LessThan]. The error names the key and says what would be valid.
//
// NewRequirement copies values; the caller may reuse the slice.
func NewRequirement(key string, op Operator, values []string) (Requirement, error) {
	if msg := checkKey(key); msg != "" {
		return Requirement{}, errors.New("labels: " + msg)
	}
	if op == DoubleEquals {
		op = Equals
	}
	var bound int64
	switch op {
	case Equals, NotEquals:
		if len(values) != 1 {
			return Requirement{}, countError(key, op, "exactly one value", len(values))
		}
	case In, NotIn:
		if len(values) == 0 {
			return Requirement{}, countError(key, op, "at least one value", 0)
		}
	case Exists, DoesNotExist:
		if len(values) != 0 {
			return Requirement{}, countError(key, op, "no values", len(values))
		}
	case GreaterThan, LessThan:
		if len(values) != 1 {
			return Requirement{}, countError(key, op, "exactly one integer value", len(values))
		}
		n, msg := checkBound(key, op, values[0])
		if msg != "" {
			return Requirement{}, errors.New("labels: " + msg)
		}
		bound = n
	default:
		return Requirement{}, errors.New("labels: key " + strconv.Quote(key) + ": unknown operator " +
			strconv.Quote(string(op)) + "; want one of =, ==, !=, in, notin, exists, !, gt, lt")
	}
	for _, v := range values {
		if msg := checkValue(key, v); msg != "" {
			return Requirement{}, errors.New("labels: " + msg)
		}
	}
	switch op {
	case In, NotIn:
		return makeSetRequirement(key, op, slices.Clone(values)), nil
	case Exists, DoesNotExist:
		return Requirement{key: key, op: op}, nil
	}
	return Requirement{key: key, op: op, value: values[0], bound: bound}, nil
}

// makeSetRequirement builds an In or NotIn requirement from checked parts.
// It takes ownership of values.
func makeSetRequirement(key string, op Operator, values []string) Requirement {
	if len(values) > 1 {
		slices.Sort(values)
		values = slices.Compact(values)
	}
	return Requirement{key: key, op: op, values: values}
}

func countError(key string, op Operator, want string, got int) error {
	return errors.New("labels: key " + strconv.Quote(key) + ": operator " + strconv.Quote(string(op)) +
		" needs " + want + ", got " + strconv.Itoa(got))
}

// checkKey returns why key is not a valid label key, or "".
func checkKey(key string) string {
	if errs := names.IsQualifiedName(key); len(errs) != 0 {
		return "invalid key " + strconv.Quote(key) + ": " + strings.Join(errs, "; ")
	}
	return ""
}

// checkValue returns why v is not a valid value for the label key, or "".
func checkValue(key, v string) string {
	if errs := names.IsValidLabelValue(v); len(errs) != 0 {
		return "invalid value " + strconv.Quote(v) + " for key " + strconv.Quote(key) + ": " + strings.Join(errs, "; ")
	}
	return ""
}

// checkBound parses the value of a GreaterThan or LessThan requirement, or
// returns why it is not valid.
func checkBound(key string, op Operator, v string) (int64, string) {
	n, ok := parseInt(v)
	if !ok || v[0] < '0' || v[0] > '9' {
		return 0, "invalid value " + strconv.Quote(v) + " for key " + strconv.Quote(key) + ": operator " +
			strconv.Quote(string(op)) + " needs a non-negative decimal integer (e.g. '5')"
	}
	return n, ""
}

// parseInt parses a base-10 int64 with an optional sign, like
// strconv.ParseInt but without allocating an error on failure.
func parseInt(s string) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	// Accumulate as a negative number, whose range is one larger.
	const minInt64 = -1 << 63
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < minInt64/10 {
			return 0, false
		}
		n *= 10
		d := int64(c - '0')
		if n < minInt64+d {
			return 0, false
		}
		n -= d
	}
	if !neg {
		if n == minInt64 {
			return 0, false
		}
		n = -n
	}
	return n, true
}

// Key returns the label key the requirement is about.
func (r Requirement) Key() string { return r.key }

// Operator returns the requirement's operator. [DoubleEquals] is reported as
// [Equals].
func (r Requirement) Operator() Operator { return r.op }

// Values returns a copy of the requirement's values: none for [Exists] and
// [DoesNotExist], one for the single-value operators, and the sorted,
// distinct values for [In] and [NotIn].
func (r Requirement) Values() []string {
	switch r.op {
	case In, NotIn:
		return slices.Clone(r.values)
	case Exists, DoesNotExist:
		return nil
	}
	return []string{r.value}
}

// matches is Matches without copying the requirement. For a Set it looks
// the key up once; for other Labels it calls Get only if the key is present.
func (r *Requirement) matches(ls Labels) bool {
	var v string
	var present bool
	if set, ok := ls.(Set); ok {
		v, present = set[r.key]
	} else if present = ls != nil && ls.Has(r.key); present {
		v = ls.Get(r.key)
	}
	return r.matchesValue(v, present)
}

// matchesValue reports whether a label that is present with value v, or
// absent, satisfies the requirement.
func (r *Requirement) matchesValue(v string, present bool) bool {
	switch r.op {
	case Equals:
		return present && v == r.value
	case NotEquals:
		return !present || v != r.value
	case In:
		return present && r.hasValue(v)
	case NotIn:
		return !present || !r.hasValue(v)
	case Exists:
		return present
	case DoesNotExist:
		return !present
	case GreaterThan, LessThan:
		if !present {
			return false
		}
		n, ok := parseInt(v)
		if !ok {
			return false
		}
		if r.op == GreaterThan {
			return n > r.bound
		}
		return n < r.bound
	}
	return false
}

// Matches reports whether labels satisfy the requirement. A label that is
// absent satisfies [NotEquals], [NotIn] and [DoesNotExist] only; a label
// whose value is not an integer never satisfies [GreaterThan] or [LessThan].
// A nil ls has no labels. Matches does not allocate (if ls does not).
func (r Requirement) Matches(ls Labels) bool { return r.matches(ls) }

func (r *Requirement) hasValue(v string) bool {
	if len(r.values) <= 4 {
		for _, x := range r.values {
			if x == v {
				return true
			}
		}
		return false
	}
	_, found := slices.BinarySearch(r.values, v)
	return found
}

// String returns the requirement in the selector syntax accepted by [Parse],
// such as "app=web", "tier notin (cache,db)", "!canary" or "replicas>3".
func (r Requirement) String() string {
	var b strings.Builder
	r.writeTo(&b)
	return b.String()
}

func (r *Requirement) writeTo(b *strings.Builder) {
	switch r.op {
	case Exists:
		b.WriteString(r.key)
	case DoesNotExist:
		b.WriteByte('!')
		b.WriteString(r.key)
	case Equals, NotEquals:
		b.WriteString(r.key)
		b.WriteString(string(r.op))
		b.WriteString(r.value)
	case GreaterThan, LessThan:
		b.WriteString(r.key)
		if r.op == GreaterThan {
			b.WriteByte('>')
		} else {
			b.WriteByte('<')
		}
		b.WriteString(r.value)
	case In, NotIn:
		b.WriteString(r.key)
		b.WriteByte(' ')
		b.WriteString(string(r.op))
		b.WriteString(" (")
		for i, v := range r.values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(v)
		}
		b.WriteByte(')')
	}
}

// Selector is an immutable conjunction of [Requirement]s, kept sorted by key
// (requirements on the same key keep the order they were added in). The zero
// Selector has no requirements and matches everything, like [Everything].
// A Selector is safe to share between goroutines.
type Selector struct {
	reqs []Requirement
}

// Everything returns a selector with no requirements, which matches every
// set of labels. Its string form is "".
func Everything() Selector { return Selector{} }

// nothingKey is the label key of the contradiction that [Nothing] holds.
const nothingKey = "drover.io/nothing"

// Nothing returns a selector that matches no set of labels.
//
// Nothing is the contradiction "drover.io/nothing,!drover.io/nothing" (the
// label is both present and absent), and that is also its string form, its
// [Selector.Requirements] and what [Parse] makes of that string. So unlike an
// empty string, it keeps matching nothing when it is sent to a server, logged
// and parsed back, or extended with [Selector.Add]. [Selector.Empty] is false
// for it.
func Nothing() Selector {
	return Selector{reqs: []Requirement{
		{key: nothingKey, op: Exists},
		{key: nothingKey, op: DoesNotExist},
	}}
}

// SelectorFromSet returns a selector that requires every label in set, with
// the same value (an [Equals] requirement per key). A nil or empty set gives
// [Everything].
//
// The keys and values are not validated: the selector matches exactly the
// label sets that contain set, but if set holds keys or values that are not
// valid labels its string form may not parse. Use [ValidatedSelectorFromSet]
// for sets from users.
func SelectorFromSet(set Set) Selector {
	if len(set) == 0 {
		return Selector{}
	}
	reqs := make([]Requirement, 0, len(set))
	for k, v := range set {
		reqs = append(reqs, Requirement{key: k, op: Equals, value: v})
	}
	sortRequirements(reqs)
	return Selector{reqs: reqs}
}

// ValidatedSelectorFromSet is [SelectorFromSet] for a set whose keys and
// values must be valid labels. The error names the first invalid key or value
// in key order.
func ValidatedSelectorFromSet(set Set) (Selector, error) {
	sel := SelectorFromSet(set)
	for i := range sel.reqs {
		r := &sel.reqs[i]
		if msg := checkKey(r.key); msg != "" {
			return Nothing(), errors.New("labels: " + msg)
		}
		if msg := checkValue(r.key, r.value); msg != "" {
			return Nothing(), errors.New("labels: " + msg)
		}
	}
	return sel, nil
}

// sortRequirements sorts by key, keeping the order of requirements with
// equal keys.
func sortRequirements(reqs []Requirement) {
	slices.SortStableFunc(reqs, func(a, b Requirement) int { return strings.Compare(a.key, b.key) })
}

// Matches reports whether ls satisfies every requirement of the selector. A
// nil ls has no labels. Matches does not allocate (if ls does not).
func (s Selector) Matches(ls Labels) bool {
	for i := range s.reqs {
		if !s.reqs[i].matches(ls) {
			return false
		}
	}
	return true
}

// Empty reports whether the selector has no requirements and so matches
// everything.
func (s Selector) Empty() bool { return len(s.reqs) == 0 }

// Requirements returns a copy of the selector's requirements, sorted by key.
func (s Selector) Requirements() []Requirement { return slices.Clone(s.reqs) }

// Add returns a selector with the requirements of s and reqs; s is not
// changed. Add panics if a requirement is the zero Requirement, which is a
// programming error (requirements come from [NewRequirement]).
func (s Selector) Add(reqs ...Requirement) Selector {
	if len(reqs) == 0 {
		return s
	}
	for _, r := range reqs {
		if r.op == "" {
			panic("labels: Selector.Add called with a zero Requirement")
		}
	}
	all := make([]Requirement, 0, len(s.reqs)+len(reqs))
	all = append(all, s.reqs...)
	all = append(all, reqs...)
	sortRequirements(all)
	return Selector{reqs: all}
}

// RequiresExactMatch reports whether the selector only matches label sets in
// which key has one particular value, and returns that value. It is true when
// the selector has a requirement "key=value" or "key in (value)". An index on
// key can serve the candidates for such a selector; callers still run
// [Selector.Matches] on them, as the other requirements may reject some.
func (s Selector) RequiresExactMatch(key string) (value string, ok bool) {
	for i := range s.reqs {
		r := &s.reqs[i]
		if r.key != key {
			continue
		}
		switch {
		case r.op == Equals:
			return r.value, true
		case r.op == In && len(r.values) == 1:
			return r.values[0], true
		}
	}
	return "", false
}

// String returns the selector in the syntax accepted by [Parse], with
// requirements sorted by key and separated by commas, such as
// "app=web,tier in (backend,frontend)". The form is canonical: values are
// sorted, "==" is written "=", and whitespace is only used around "in" and
// "notin", so selectors built from the same requirements print the same way
// whatever order or spelling they were written in. [Parse] of the result
// gives an equal selector. The string form of [Everything] is "".
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
