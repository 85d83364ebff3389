package fields

import (
	"slices"
	"strconv"
	"strings"
)

// ParseError is the error [Parse] and [UnescapeValue] return for a string
// they cannot accept.
type ParseError struct {
	// Input is the whole string that was parsed.
	Input string
	// Pos is the byte offset in Input, from 0, of the problem.
	Pos int
	// Msg says what is wrong and what would be valid.
	Msg string
}

// Error returns, for example,
// `fields: parse "a=b\x": invalid escape sequence "\x" in value; only ... at position 3`.
func (e *ParseError) Error() string {
	return "fields: parse " + strconv.Quote(e.Input) + ": " + e.Msg + " at position " + strconv.Itoa(e.Pos)
}

// fieldNameRule says which field names are accepted.
const fieldNameRule = `a field name must be non-empty and must not contain whitespace, ',', '=', '!' or '\'`

// checkField returns why f cannot be a field name, or "".
func checkField(f string) string {
	ok := f != ""
	for i := 0; ok && i < len(f); i++ {
		switch f[i] {
		case ' ', '\t', '\n', '\r', '\v', '\f', ',', '=', '!', '\\':
			ok = false
		}
	}
	if !ok {
		return "invalid field name " + strconv.Quote(f) + ": " + fieldNameRule
	}
	return ""
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// Parse parses a field selector: requirements "field=value", "field==value"
// or "field!=value" separated by commas, such as
// "spec.nodeName=n1,status.phase!=Running". The empty string gives
// [Everything]; empty requirements (",,") are skipped, as Kubernetes does.
//
// A requirement's operator is its first '=', "==" or "!=" that is not
// escaped. Whitespace around a field name is ignored, but a value is taken
// exactly as written, spaces included: "a = b" compares field "a" with " b".
// A field name must not contain whitespace, ',', '=', '!' or '\'. In a
// value, ',' and '=' must be escaped as "\," and "\="; "\\" and "\!" stand
// for '\' and '!' (see [UnescapeValue]). Parse does not know which fields
// exist; the API server checks them with [Selector.Transform].
//
// The error is a [*ParseError] that says what is wrong and where.
func Parse(s string) (Selector, error) {
	var reqs []Requirement
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			if s[i] == '\\' && i+1 < len(s) {
				i++ // the escaped byte cannot end a term
				continue
			}
			if s[i] != ',' {
				continue
			}
		}
		term := s[start:i]
		if strings.TrimSpace(term) != "" {
			r, pos, msg := parseTerm(term)
			if msg != "" {
				return Selector{}, &ParseError{Input: s, Pos: start + pos, Msg: msg}
			}
			reqs = append(reqs, r)
		}
		start = i + 1
	}
	slices.SortFunc(reqs, compareRequirements)
	return Selector{reqs: reqs}, nil
}

// parseTerm parses one "field op value" term, or returns the offset in term
// of a problem and what it is.
func parseTerm(term string) (r Requirement, pos int, msg string) {
	opAt, op := -1, Operator("")
	for i := 0; i < len(term) && opAt < 0; i++ {
		switch term[i] {
		case '\\':
			i++
		case '!':
			if i+1 < len(term) && term[i+1] == '=' {
				opAt, op = i, NotEquals
			}
		case '=':
			opAt, op = i, Equals
			if i+1 < len(term) && term[i+1] == '=' {
				op = DoubleEquals
			}
		}
	}
	lead := 0
	for lead < len(term) && isSpace(term[lead]) {
		lead++
	}
	if opAt < 0 {
		return Requirement{}, lead, "expected '=', '==' or '!=' in " + strconv.Quote(strings.TrimSpace(term))
	}
	field := strings.TrimSpace(term[:opAt])
	if msg := checkField(field); msg != "" {
		return Requirement{}, lead, msg
	}
	valueAt := opAt + len(op)
	value, bad, msg := unescape(term[valueAt:])
	if msg != "" {
		return Requirement{}, valueAt + bad, msg
	}
	if op == DoubleEquals {
		op = Equals
	}
	return Requirement{Field: field, Operator: op, Value: value}, 0, ""
}
