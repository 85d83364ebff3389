package fields

import (
	"errors"
	"strings"
	"testing"
)

// fieldSetFor builds a field set from spec (comma-separated "field=value"
// pairs) plus, for every field the selector mentions, either its value, the
// empty string, another value, or nothing, chosen by the bytes of spec.
func fieldSetFor(sel Selector, spec string) Set {
	set := Set{}
	for _, kv := range strings.Split(spec, ",") {
		if f, v, ok := strings.Cut(kv, "="); ok {
			set[f] = v
		}
	}
	for i, r := range sel.Requirements() {
		choice := 0
		if spec != "" {
			choice = int(spec[i%len(spec)])
		}
		switch choice % 4 {
		case 1:
			set[r.Field] = r.Value
		case 2:
			set[r.Field] = ""
		case 3:
			set[r.Field] = r.Value + "x"
		}
	}
	return set
}

func FuzzParseFieldSelector(f *testing.F) {
	for _, s := range []string{
		"",
		",",
		"a=b",
		"a==b",
		"a!=b",
		"a=",
		"a!=",
		"spec.nodeName=n1,status.phase!=Running",
		"spec.nodeName=",
		"metadata.name=web-1,metadata.namespace=default",
		`a=x\,y`,
		`a=x\=y`,
		`a=x\\y`,
		`a=x\!y`,
		`a!=\=`,
		`a=\\\,\=`,
		"a= b ",
		" a =b",
		"a=b,,c=d,",
		"a=b=c",
		"a===b",
		`a=b\x`,
		`a=b\`,
		"a",
		"=b",
		"a b=c",
		"a!b=c",
		`a\=b=c`,
		"a=ünïcode",
		"a=2,a=1,a!=0",
	} {
		f.Add(s, "a=b,spec.nodeName=n1")
	}
	f.Fuzz(func(t *testing.T, s, spec string) {
		// Escaping round-trips for any string.
		if got, err := UnescapeValue(EscapeValue(spec)); err != nil || got != spec {
			t.Fatalf("UnescapeValue(EscapeValue(%q)) = %q, %v", spec, got, err)
		}

		sel, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Pos < 0 || pe.Pos > len(s) {
				t.Fatalf("Parse(%q) error %#v is not a *ParseError within the input", s, err)
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
		a, b := sel.Requirements(), again.Requirements()
		if len(a) != len(b) {
			t.Fatalf("%q: requirement count changed", s)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%q: requirement %d changed from %#v to %#v", s, i, a[i], b[i])
			}
		}
		set := fieldSetFor(sel, spec)
		if sel.Matches(set) != again.Matches(set) {
			t.Fatalf("%q and %q disagree on %v", s, str, set)
		}
		// The identity transform changes nothing.
		same, err := sel.Transform(func(f, v string) (string, string, error) { return f, v, nil })
		if err != nil || same.String() != str {
			t.Fatalf("%q: identity Transform gave %q, %v", s, same.String(), err)
		}
	})
}
