package fields

import (
	"errors"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) Selector {
	t.Helper()
	sel, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return sel
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{",", ""},
		{" , ,", ""},
		{"a=b", "a=b"},
		{"a==b", "a=b"},
		{"a!=b", "a!=b"},
		{"a=", "a="},
		{"a!=", "a!="},
		{"a==", "a="},
		{"spec.nodeName=n1,status.phase!=Running", "spec.nodeName=n1,status.phase!=Running"},
		{"status.phase!=Running,spec.nodeName=n1", "spec.nodeName=n1,status.phase!=Running"},
		{"a=2,a=1,a!=0", "a!=0,a=1,a=2"},
		{"a=b,,c=d,", "a=b,c=d"},
		{" a =b", "a=b"},
		{"a= b ", "a= b "},
		{`a=x\,y`, `a=x\,y`},
		{`a=x\=y`, `a=x\=y`},
		{`a=x\\y`, `a=x\\y`},
		{`a=x\!y`, `a=x!y`},
		{`a=x!y`, `a=x!y`},
		{`a=!`, `a=!`},
		{`a!=!`, `a!=!`},
		{`a!=\=`, `a!=\=`},
		{`a=\=`, `a=\=`},
		{`a=!\=`, `a=!\=`},
		{`a=\\`, `a=\\`},
		{`a=\\\,\=`, `a=\\\,\=`},
		{"metadata.name=web-1", "metadata.name=web-1"},
		{"metadata.labels['app']=x", "metadata.labels['app']=x"},
		{"a=ünïcode", "a=ünïcode"},
		{"a=b c", "a=b c"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel := mustParse(t, tt.in)
			if got := sel.String(); got != tt.want {
				t.Fatalf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			if got := mustParse(t, sel.String()).String(); got != tt.want {
				t.Fatalf("round trip of %q gave %q", tt.want, got)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	sel := mustParse(t, `a=x\,y,b!=\\,c==p\=q!r, d = e `)
	want := []Requirement{
		{Field: "a", Operator: Equals, Value: "x,y"},
		{Field: "b", Operator: NotEquals, Value: `\`},
		{Field: "c", Operator: Equals, Value: "p=q!r"},
		{Field: "d", Operator: Equals, Value: " e "},
	}
	got := sel.Requirements()
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("requirement %d = %#v, want %#v", i, got[i], want[i])
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"a", `fields: parse "a": expected '=', '==' or '!=' in "a" at position 0`},
		{"a=b,c", `expected '=', '==' or '!=' in "c" at position 4`},
		{"a=b, c", `expected '=', '==' or '!=' in "c" at position 5`},
		{"a!b", `expected '=', '==' or '!='`},
		{`a\=b`, `expected '=', '==' or '!='`},
		{"=b", `invalid field name "": a field name must be non-empty and must not contain whitespace, ',', '=', '!' or '\' at position 0`},
		{"!=b", `invalid field name ""`},
		{" =b", `invalid field name ""`},
		{"a b=c", `invalid field name "a b"`},
		{"a!b=c", `invalid field name "a!b"`},
		{`a\=b=c`, `invalid field name "a\\=b"`},
		{"x=1,a b=c", `invalid field name "a b": a field name must be non-empty and must not contain whitespace, ',', '=', '!' or '\' at position 4`},
		{"a=b=c", `unescaped '=' in value; write it as '\=' at position 3`},
		{"a===b", `unescaped '=' in value; write it as '\=' at position 3`},
		{"a!==b", `unescaped '=' in value; write it as '\=' at position 3`},
		{`a=b\x`, `invalid escape sequence "\\x" in value; only '\\', '\,', '\=' and '\!' are allowed at position 3`},
		{`a=b\`, `unfinished escape sequence "\\" at end of value; write a backslash as '\\' at position 3`},
		{`a=b\,c\`, `unfinished escape sequence`},
		{`a=\ü`, `invalid escape sequence "\\ü"`},
		{`a=\n`, `invalid escape sequence "\\n"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.in, sel.String())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error\n%s\ndoes not contain\n%s", tt.in, err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != tt.in || pe.Pos < 0 || pe.Pos > len(tt.in) {
				t.Fatalf("error %#v is not a *ParseError for the input", err)
			}
		})
	}
}

func TestEscapeValue(t *testing.T) {
	tests := []struct{ raw, escaped string }{
		{"", ""},
		{"abc", "abc"},
		{"a,b", `a\,b`},
		{"a=b", `a\=b`},
		{`a\b`, `a\\b`},
		{"a!b", "a!b"},
		{`\,=`, `\\\,\=`},
		{"ü,", `ü\,`},
	}
	for _, tt := range tests {
		if got := EscapeValue(tt.raw); got != tt.escaped {
			t.Errorf("EscapeValue(%q) = %q, want %q", tt.raw, got, tt.escaped)
		}
		got, err := UnescapeValue(tt.escaped)
		if err != nil || got != tt.raw {
			t.Errorf("UnescapeValue(%q) = %q, %v; want %q", tt.escaped, got, err, tt.raw)
		}
	}
	if got, err := UnescapeValue(`a\!b`); err != nil || got != "a!b" {
		t.Errorf(`UnescapeValue("a\!b") = %q, %v`, got, err)
	}
	for _, bad := range []string{`\`, `a\b`, "a,b", "a=b", `\\\`} {
		if _, err := UnescapeValue(bad); err == nil {
			t.Errorf("UnescapeValue(%q) succeeded", bad)
		}
	}
}

func TestMatches(t *testing.T) {
	scheduled := Set{"metadata.name": "web-1", "spec.nodeName": "n1", "status.phase": "Running"}
	pending := Set{"metadata.name": "web-2", "status.phase": "Pending"}
	tests := []struct {
		sel                string
		scheduled, pending bool
	}{
		{"", true, true},
		{"spec.nodeName=n1", true, false},
		{"spec.nodeName==n1", true, false},
		{"spec.nodeName!=n1", false, true},
		{"spec.nodeName=", false, true},
		{"spec.nodeName!=", true, false},
		{"status.phase!=Running", false, true},
		{"status.phase=Running,spec.nodeName=n1", true, false},
		{"status.phase=Pending,spec.nodeName=", false, true},
		{"metadata.name=web-1,metadata.name=web-2", false, false},
		{"no.such.field=", true, true},
		{"no.such.field!=x", true, true},
		{"no.such.field=x", false, false},
	}
	for _, tt := range tests {
		sel := mustParse(t, tt.sel)
		if got := sel.Matches(scheduled); got != tt.scheduled {
			t.Errorf("%q matches scheduled pod: %v, want %v", tt.sel, got, tt.scheduled)
		}
		if got := sel.Matches(pending); got != tt.pending {
			t.Errorf("%q matches pending pod: %v, want %v", tt.sel, got, tt.pending)
		}
		// The same through the interface, not the Set fast path.
		if got := sel.Matches(fieldsFunc(pending.Get)); got != tt.pending {
			t.Errorf("%q matches pending pod through Fields: %v, want %v", tt.sel, got, tt.pending)
		}
		if reqs := sel.Requirements(); len(reqs) == 1 && reqs[0].Matches(pending) != tt.pending {
			t.Errorf("Requirement %q Matches disagrees", reqs[0])
		}
	}
}

// fieldsFunc is a Fields over a lookup function.
type fieldsFunc func(string) string

func (f fieldsFunc) Has(field string) bool   { return f(field) != "" }
func (f fieldsFunc) Get(field string) string { return f(field) }

func TestConstructors(t *testing.T) {
	if s := Everything(); !s.Empty() || s.String() != "" || !s.Matches(Set{"a": "b"}) || !(Selector{}).Matches(nil) {
		t.Error("Everything")
	}
	eq := OneTermEqualSelector("metadata.name", "a,b")
	if eq.String() != `metadata.name=a\,b` || !eq.Matches(Set{"metadata.name": "a,b"}) || eq.Empty() {
		t.Errorf("OneTermEqualSelector: %q", eq)
	}
	ne := OneTermNotEqualSelector("status.phase", "Running")
	if ne.String() != "status.phase!=Running" || ne.Matches(Set{"status.phase": "Running"}) || !ne.Matches(nil) {
		t.Errorf("OneTermNotEqualSelector: %q", ne)
	}
	set := Set{"b": "2", "a": "x=y"}
	if got := set.String(); got != `a=x\=y,b=2` {
		t.Errorf("Set.String() = %q", got)
	}
	if got := set.AsSelector().String(); got != `a=x\=y,b=2` {
		t.Errorf("AsSelector().String() = %q", got)
	}
	if !SelectorFromSet(nil).Empty() {
		t.Error("SelectorFromSet(nil) not empty")
	}
	if !set.Has("a") || set.Has("c") || set.Get("b") != "2" || set.Get("c") != "" {
		t.Error("Set Has/Get")
	}
}

func TestRequiresExactMatch(t *testing.T) {
	tests := []struct {
		sel, field, value string
		ok                bool
	}{
		{"spec.nodeName=n1", "spec.nodeName", "n1", true},
		{"spec.nodeName==n1", "spec.nodeName", "n1", true},
		{"spec.nodeName=", "spec.nodeName", "", true},
		{"a=1,spec.nodeName=n1,z=2", "spec.nodeName", "n1", true},
		{"spec.nodeName!=n1", "spec.nodeName", "", false},
		{"a=1", "spec.nodeName", "", false},
		{"", "spec.nodeName", "", false},
	}
	for _, tt := range tests {
		v, ok := mustParse(t, tt.sel).RequiresExactMatch(tt.field)
		if v != tt.value || ok != tt.ok {
			t.Errorf("Parse(%q).RequiresExactMatch(%q) = %q, %v; want %q, %v", tt.sel, tt.field, v, ok, tt.value, tt.ok)
		}
	}
}

func TestRequirementsIsACopy(t *testing.T) {
	sel := mustParse(t, "a=1,b=2")
	sel.Requirements()[0].Value = "changed"
	if sel.String() != "a=1,b=2" {
		t.Fatalf("Requirements exposes internal storage: %q", sel)
	}
}

var errUnsupported = errors.New("field not supported")

func TestTransform(t *testing.T) {
	podFields := map[string]string{"spec.nodeName": "spec.nodeName", "status.phase": "status.phase", "metadata.name": "metadata.name", "name": "metadata.name"}
	fn := func(field, value string) (string, string, error) {
		f, ok := podFields[field]
		if !ok {
			return "", "", errUnsupported
		}
		return f, value, nil
	}
	sel := mustParse(t, "status.phase=Running,name=web-1")
	got, err := sel.Transform(fn)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != "metadata.name=web-1,status.phase=Running" {
		t.Errorf("Transform = %q", got)
	}
	if sel.String() != "name=web-1,status.phase=Running" {
		t.Errorf("Transform changed its receiver: %q", sel)
	}

	_, err = mustParse(t, "spec.nodeName=n1,spec.color=red").Transform(fn)
	if !errors.Is(err, errUnsupported) || !strings.Contains(err.Error(), `fields: transform "spec.color=red": field not supported`) {
		t.Errorf("Transform error = %v", err)
	}

	_, err = sel.Transform(func(string, string) (string, string, error) { return "", "", nil })
	if err == nil || !strings.Contains(err.Error(), `invalid field name ""`) {
		t.Errorf("Transform to an empty field: %v", err)
	}

	called := false
	e, err := Everything().Transform(func(string, string) (string, string, error) { called = true; return "", "", nil })
	if err != nil || !e.Empty() || called {
		t.Errorf("Transform of Everything: %v %v %v", e, err, called)
	}

	lower, err := mustParse(t, "a=X").Transform(func(f, v string) (string, string, error) { return f, strings.ToLower(v), nil })
	if err != nil || lower.String() != "a=x" {
		t.Errorf("Transform of values: %q %v", lower, err)
	}
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	sel := mustParse(t, "spec.nodeName=n1,status.phase!=Failed,metadata.namespace=default")
	set := Set{"spec.nodeName": "n1", "status.phase": "Running", "metadata.namespace": "default"}
	if !sel.Matches(set) {
		t.Fatal("fixture does not match")
	}
	if n := testing.AllocsPerRun(100, func() { sel.Matches(set) }); n != 0 {
		t.Fatalf("Matches allocates %v times", n)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("spec.nodeName=n1,status.phase!=Failed,metadata.namespace=default"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatches(b *testing.B) {
	sel := mustParse(b, "spec.nodeName=n1,status.phase!=Failed,metadata.namespace=default")
	set := Set{"spec.nodeName": "n1", "status.phase": "Running", "metadata.namespace": "default", "metadata.name": "web-1"}
	b.ReportAllocs()
	for b.Loop() {
		sel.Matches(set)
	}
}
