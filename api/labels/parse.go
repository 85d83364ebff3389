package labels

import (
	"strconv"
	"strings"
)

// ParseError is the error [Parse] returns for a selector string it cannot
// accept. An API server can report Msg and Pos next to the query parameter.
type ParseError struct {
	// Input is the whole selector string.
	Input string
	// Pos is the byte offset in Input, from 0, of the token at fault.
	Pos int
	// Msg says what is wrong and what was expected there.
	Msg string
}

// Error returns, for example,
// `labels: parse "a in x": expected '(' after "in", found "x" at position 5`.
func (e *ParseError) Error() string {
	return "labels: parse " + strconv.Quote(e.Input) + ": " + e.Msg + " at position " + strconv.Itoa(e.Pos)
}

// Parse parses a selector in the Kubernetes label selector syntax described
// in the package documentation, such as "app=web,tier notin (cache),!canary".
// The empty string (or only whitespace) gives [Everything]. Keys must be
// qualified names and values valid label values; the values of "key>n" and
// "key<n" must be non-negative integers. Empty values are allowed where a
// value is expected ("a=", "a in (,x)"); "a in ()" has the one value "".
//
// Besides Kubernetes' syntax, Parse accepts "in" and "notin" as label keys
// and values ("in in (notin)"), so that every selector built with
// [NewRequirement] can be printed and parsed back.
//
// The error is a [*ParseError] that says what is wrong and where; with an
// error, the Selector returned is [Nothing], so a caller that drops the error
// selects nothing rather than everything.
func Parse(s string) (Selector, error) {
	p := parser{lex: lexer{in: s}}
	p.advance()
	if p.tok.kind == tokEnd {
		return Selector{}, nil
	}
	// Every requirement but the last ends at a comma: size for the most.
	reqs := make([]Requirement, 0, 1+strings.Count(s, ","))
	for {
		r, err := p.requirement()
		if err != nil {
			return Nothing(), err
		}
		reqs = append(reqs, r)
		switch p.tok.kind {
		case tokEnd:
			sortRequirements(reqs)
			return Selector{reqs: reqs}, nil
		case tokComma:
			p.advance()
			if p.tok.kind == tokEnd {
				return Nothing(), p.errorf("expected a requirement after ',', found end of selector")
			}
		default:
			return Nothing(), p.errorf("expected ',' or end of selector after requirement " +
				strconv.Quote(r.String()) + ", found " + p.tok.describe())
		}
	}
}

type tokenKind uint8

const (
	tokEnd         tokenKind = iota // end of input
	tokIdent                        // a key or a value (or the words in and notin)
	tokComma                        // ,
	tokOpen                         // (
	tokClose                        // )
	tokEquals                       // =
	tokDoubleEqual                  // ==
	tokNotEquals                    // !=
	tokBang                         // !
	tokGreater                      // >
	tokLess                         // <
)

type token struct {
	kind tokenKind
	text string // the token as written; a substring of the input
	pos  int    // byte offset of text in the input
}

// describe names the token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tokEnd:
		return "end of selector"
	case tokIdent:
		return strconv.Quote(t.text)
	}
	return "'" + t.text + "'"
}

// lexer splits a selector string into tokens. Identifiers are runs of bytes
// that are neither whitespace nor one of ",()=!<>", so keys and values are
// checked by validation, not by the lexer.
type lexer struct {
	in  string
	pos int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isSpecial(c byte) bool {
	switch c {
	case ',', '(', ')', '=', '!', '<', '>':
		return true
	}
	return isSpace(c)
}

func (l *lexer) next() token {
	for l.pos < len(l.in) && isSpace(l.in[l.pos]) {
		l.pos++
	}
	start := l.pos
	if start == len(l.in) {
		return token{kind: tokEnd, pos: start}
	}
	kind := tokIdent
	n := 1
	switch l.in[start] {
	case ',':
		kind = tokComma
	case '(':
		kind = tokOpen
	case ')':
		kind = tokClose
	case '<':
		kind = tokLess
	case '>':
		kind = tokGreater
	case '=':
		kind = tokEquals
		if start+1 < len(l.in) && l.in[start+1] == '=' {
			kind, n = tokDoubleEqual, 2
		}
	case '!':
		kind = tokBang
		if start+1 < len(l.in) && l.in[start+1] == '=' {
			kind, n = tokNotEquals, 2
		}
	default:
		for n = 1; start+n < len(l.in) && !isSpecial(l.in[start+n]); n++ {
		}
	}
	l.pos = start + n
	return token{kind: kind, text: l.in[start:l.pos], pos: start}
}

// parser is a recursive-descent parser with one token of lookahead in tok.
type parser struct {
	lex lexer
	tok token
}

func (p *parser) advance() { p.tok = p.lex.next() }

// errorf returns a ParseError at the current token.
func (p *parser) errorf(msg string) error {
	return p.errorAt(p.tok.pos, msg)
}

func (p *parser) errorAt(pos int, msg string) error {
	return &ParseError{Input: p.lex.in, Pos: pos, Msg: msg}
}

// requirement parses one requirement and leaves the token after it in p.tok.
//
//	requirement = "!" key
//	            | key [ ("=" | "==" | "!=") [value] | (">" | "<") value
//	                  | ("in" | "notin") "(" values ")" ]
func (p *parser) requirement() (Requirement, error) {
	if p.tok.kind == tokBang {
		p.advance()
		if p.tok.kind != tokIdent {
			return Requirement{}, p.errorf("expected a key after '!', found " + p.tok.describe())
		}
		key := p.tok
		if msg := checkKey(key.text); msg != "" {
			return Requirement{}, p.errorf(msg)
		}
		p.advance()
		return Requirement{key: key.text, op: DoesNotExist}, nil
	}
	if p.tok.kind != tokIdent {
		return Requirement{}, p.errorf("expected a key or '!', found " + p.tok.describe())
	}
	key := p.tok
	if msg := checkKey(key.text); msg != "" {
		return Requirement{}, p.errorf(msg)
	}
	p.advance()
	op := p.tok
	switch op.kind {
	case tokEnd, tokComma:
		return Requirement{key: key.text, op: Exists}, nil
	case tokEquals, tokDoubleEqual, tokNotEquals:
		p.advance()
		value := ""
		switch p.tok.kind {
		case tokIdent:
			value = p.tok.text
			if msg := checkValue(key.text, value); msg != "" {
				return Requirement{}, p.errorf(msg)
			}
			p.advance()
		case tokEnd, tokComma:
			// An empty value, as in "a=" or "a=,b=c".
		default:
			return Requirement{}, p.errorf("expected a value after " + op.describe() + ", found " + p.tok.describe())
		}
		o := Equals
		if op.kind == tokNotEquals {
			o = NotEquals
		}
		return Requirement{key: key.text, op: o, value: value}, nil
	case tokGreater, tokLess:
		p.advance()
		o := GreaterThan
		if op.kind == tokLess {
			o = LessThan
		}
		if p.tok.kind != tokIdent {
			return Requirement{}, p.errorf("expected an integer after " + op.describe() + ", found " + p.tok.describe())
		}
		value := p.tok.text
		n, msg := checkBound(key.text, o, value)
		if msg == "" {
			msg = checkValue(key.text, value)
		}
		if msg != "" {
			return Requirement{}, p.errorf(msg)
		}
		p.advance()
		return Requirement{key: key.text, op: o, value: value, bound: n}, nil
	case tokIdent:
		var o Operator
		switch op.text {
		case "in":
			o = In
		case "notin":
			o = NotIn
		default:
			return Requirement{}, p.errorf("expected an operator (=, ==, !=, in, notin, >, <), ',' or end of selector after key " +
				strconv.Quote(key.text) + ", found " + op.describe())
		}
		p.advance()
		if p.tok.kind != tokOpen {
			return Requirement{}, p.errorf("expected '(' after " + strconv.Quote(op.text) + ", found " + p.tok.describe())
		}
		p.advance()
		values, err := p.values(key.text)
		if err != nil {
			return Requirement{}, err
		}
		return makeSetRequirement(key.text, o, values), nil
	}
	return Requirement{}, p.errorf("expected an operator (=, ==, !=, in, notin, >, <), ',' or end of selector after key " +
		strconv.Quote(key.text) + ", found " + op.describe())
}

// values parses the list after "in (" or "notin (" up to and including the
// closing parenthesis. A missing value between separators is the empty
// value: "()" is [""], "(,x)" is ["", "x"], "(x,)" is ["x", ""].
func (p *parser) values(key string) ([]string, error) {
	var values []string
	for {
		// Expecting a value, or a separator or ')' that ends an empty one.
		switch p.tok.kind {
		case tokIdent:
			if msg := checkValue(key, p.tok.text); msg != "" {
				return nil, p.errorf(msg)
			}
			values = append(values, p.tok.text)
			p.advance()
			switch p.tok.kind {
			case tokComma:
				p.advance()
				continue
			case tokClose:
				p.advance()
				return values, nil
			}
			return nil, p.errorf("expected ',' or ')' after value, found " + p.tok.describe())
		case tokComma:
			values = append(values, "")
			p.advance()
		case tokClose:
			values = append(values, "")
			p.advance()
			return values, nil
		default:
			return nil, p.errorf("expected a value or ')', found " + p.tok.describe())
		}
	}
}
