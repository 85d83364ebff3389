package labels

import (
	"strconv"
	"strings"
	"testing"
)

func parseIntStrconv(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// labelSetFor builds a label set from spec ("k=v,k2" pairs; a bare key gets
// an empty value) plus, so that the selector has a fair chance to match, every
// key the selector mentions with a value chosen by the bytes of spec.
func labelSetFor(sel Selector, spec string) Set {
	set := Set{}
	for _, kv := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "" {
			set[k] = v
		}
	}
	for i, r := range sel.Requirements() {
		choice := 0
		if len(spec) > 0 {
			choice = int(spec[i%len(spec)])
		}
		if choice%4 == 0 {
			continue // leave absent (or as spec has it)
		}
		values := r.Values()
		switch {
		case choice%4 == 1 && len(values) > 0:
			set[r.Key()] = values[choice%len(values)]
		case choice%4 == 2:
			set[r.Key()] = strconv.Itoa(choice - 100)
		default:
			set[r.Key()] = "other"
		}
	}
	return set
}

func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{
		"",
		"a=b",
		"a==b",
		"a!=b",
		"a",
		"!a",
		"a>5",
		"a<5",
		"a in (x,y)",
		"a notin (x)",
		"a in ()",
		"a in (,x)",
		"a in (x,)",
		"a=",
		"a=,b=c",
		" a = b , c in ( d , e ) ",
		"app=web,tier notin (cache),!canary",
		"drover.io/zone=us-east-1a,replicas>1",
		"in in (in,notin)",
		"notin notin (notin)",
		"a=b,a!=c,a",
		"drover.io/nothing,!drover.io/nothing",
		"a in x",
		"a=b c",
		"a=b,",
		"!",
		"a>-1",
		"a/b/c=d",
		"a in (x",
		"a===b",
		"a>9223372036854775807",
	} {
		f.Add(s, "a=b,app=web,x")
	}
	f.Fuzz(func(t *testing.T, s, spec string) {
		sel, err := Parse(s)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("Parse(%q) error %T is not a *ParseError", s, err)
			}
			return
		}
		str := sel.String()
		again, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q) ok as %q, but that does not parse: %v", s, str, err)
		}
		if again.String() != str {
			t.Fatalf("Parse(%q).String() = %q, then %q", s, str, again.String())
		}
		if len(sel.Requirements()) != len(again.Requirements()) {
			t.Fatalf("%q: requirement count changed", s)
		}
		if sel.Empty() != again.Empty() {
			t.Fatalf("%q: Empty changed", s)
		}
		set := labelSetFor(sel, spec)
		if sel.Matches(set) != again.Matches(set) {
			t.Fatalf("%q and %q disagree on %v", s, str, set)
		}
		for _, r := range sel.Requirements() {
			if v, ok := sel.RequiresExactMatch(r.Key()); ok && sel.Matches(set) && set.Get(r.Key()) != v {
				t.Fatalf("%q matches %v but requires %s=%s", s, set, r.Key(), v)
			}
		}
		// Every requirement rebuilt from its parts is the same requirement.
		for _, r := range sel.Requirements() {
			rr, err := NewRequirement(r.Key(), r.Operator(), r.Values())
			if err != nil {
				t.Fatalf("%q: NewRequirement from %q: %v", s, r.String(), err)
			}
			if rr.String() != r.String() || rr.Matches(set) != r.Matches(set) {
				t.Fatalf("%q: rebuilt %q as %q", s, r.String(), rr.String())
			}
		}
	})
}
