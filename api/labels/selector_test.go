package labels

import (
	"errors"
	"slices"
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

func mustRequirement(t testing.TB, key string, op Operator, values ...string) Requirement {
	t.Helper()
	r, err := NewRequirement(key, op, values)
	if err != nil {
		t.Fatalf("NewRequirement(%q, %q, %q): %v", key, op, values, err)
	}
	return r
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"   ", ""},
		{"\t\n", ""},
		{"a=b", "a=b"},
		{"a==b", "a=b"},
		{"a!=b", "a!=b"},
		{"a", "a"},
		{"!a", "!a"},
		{"a>5", "a>5"},
		{"a<5", "a<5"},
		{"a>007", "a>007"},
		{"a in (x)", "a in (x)"},
		{"a in (y,x)", "a in (x,y)"},
		{"a in (x,x,y)", "a in (x,y)"},
		{"a notin (z,y)", "a notin (y,z)"},
		{"a in(x)", "a in (x)"},
		{"a   in   (  x  ,  y  )  ", "a in (x,y)"},
		{" a = b ", "a=b"},
		{" ! a ", "!a"},
		{"a=", "a="},
		{"a==", "a="},
		{"a!=", "a!="},
		{"a=,b=c", "a=,b=c"},
		{"a in ()", "a in ()"},
		{"a in (,x)", "a in (,x)"},
		{"a in (x,)", "a in (,x)"},
		{"a in (,)", "a in ()"},
		{"a notin ()", "a notin ()"},
		{"b=1,a=2", "a=2,b=1"},
		{"b,a,c", "a,b,c"},
		{"a=1,a!=2", "a=1,a!=2"},
		{"a!=2,a=1", "a!=2,a=1"},
		{"x=1,!a,b in (c)", "!a,b in (c),x=1"},
		{"app=web,tier notin (cache),!canary", "app=web,!canary,tier notin (cache)"},
		{"drover.io/zone=us-east-1a", "drover.io/zone=us-east-1a"},
		{"example.com/My_Key.x-y=Val_1.2-3", "example.com/My_Key.x-y=Val_1.2-3"},
		{"in", "in"},
		{"notin", "notin"},
		{"in in (in,notin)", "in in (in,notin)"},
		{"a=in", "a=in"},
		{"!in", "!in"},
		{"a=b,c!=d,e in (f),g notin (h),i,!j,k>1,l<2", "a=b,c!=d,e in (f),g notin (h),i,!j,k>1,l<2"},
		{"a=" + strings.Repeat("v", 63), "a=" + strings.Repeat("v", 63)},
		{"a>9223372036854775807", "a>9223372036854775807"},
		{"drover.io/nothing,!drover.io/nothing", "drover.io/nothing,!drover.io/nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel := mustParse(t, tt.in)
			if got := sel.String(); got != tt.want {
				t.Fatalf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			again := mustParse(t, sel.String())
			if got := again.String(); got != tt.want {
				t.Fatalf("round trip of %q gave %q", tt.want, got)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"a in x", `labels: parse "a in x": expected '(' after "in", found "x" at position 5`},
		{"a in", `expected '(' after "in", found end of selector at position 4`},
		{"a notin x", `expected '(' after "notin"`},
		{"a in (x", `expected ',' or ')' after value, found end of selector at position 7`},
		{"a in (x y)", `expected ',' or ')' after value, found "y" at position 8`},
		{"a in (x))", `expected ',' or end of selector after requirement "a in (x)", found ')'`},
		{"a in (=)", `expected a value or ')', found '='`},
		{"a in (", `expected a value or ')', found end of selector at position 6`},
		{"a=b c", `expected ',' or end of selector after requirement "a=b", found "c" at position 4`},
		{"a b", `expected an operator (=, ==, !=, in, notin, >, <), ',' or end of selector after key "a", found "b"`},
		{"a(b)", `after key "a", found '('`},
		{"a=b,", `expected a requirement after ',', found end of selector at position 4`},
		{",a=b", `expected a key or '!', found ',' at position 0`},
		{"a=b,,c=d", `expected a key or '!', found ',' at position 4`},
		{"=b", `expected a key or '!', found '='`},
		{"!", `expected a key after '!', found end of selector at position 1`},
		{"!!a", `expected a key after '!', found '!'`},
		{"!a=b", `expected ',' or end of selector after requirement "!a", found '='`},
		{"!a in (b)", `after requirement "!a", found "in"`},
		{"a===b", `expected a value after '==', found '='`},
		{"a=!b", `expected a value after '=', found '!'`},
		{"a=(b)", `expected a value after '=', found '('`},
		{"a>", `expected an integer after '>', found end of selector`},
		{"a<b", `invalid value "b" for key "a": operator "lt" needs a non-negative decimal integer`},
		{"a>-1", `invalid value "-1" for key "a": operator "gt" needs a non-negative decimal integer`},
		{"a>1.5", `needs a non-negative decimal integer`},
		{"a>99999999999999999999", `needs a non-negative decimal integer`},
		{"a>" + strings.Repeat("0", 64), `invalid value "` + strings.Repeat("0", 64) + `" for key "a": must be no more than 63 characters`},
		{"a>>1", `expected an integer after '>', found '>'`},
		{"a>=1", `expected an integer after '>', found '='`},
		{"A B=c", `expected an operator`},
		{"a/b/c=d", `invalid key "a/b/c": a qualified name must consist of`},
		{"-a=b", `invalid key "-a"`},
		{"/a=b", `invalid key "/a": prefix part must be non-empty`},
		{"a/=b", `invalid key "a/": name part must be non-empty`},
		{"Example.com/a=b", `invalid key "Example.com/a": prefix part a lowercase RFC 1123 subdomain`},
		{strings.Repeat("k", 64) + "=v", `name part must be no more than 63 characters at position 0`},
		{"a=-b", `invalid value "-b" for key "a": a valid label value must be an empty string or consist of`},
		{"a=b/c", `invalid value "b/c" for key "a"`},
		{"a=" + strings.Repeat("v", 64), `must be no more than 63 characters at position 2`},
		{"a in (x,-y)", `invalid value "-y" for key "a": `},
		{"a in (x, -y)", `at position 9`},
		{"a notin (x,y.)", `invalid value "y."`},
		{"a=b,x/y/z", `invalid key "x/y/z"`},
		{"a=b,c in x", `at position 9`},
		{"ä=b", `invalid key "ä"`},
		{"a=b\x00", `invalid value "b\x00"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.in, sel.String())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error %q does not contain %q", tt.in, err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != tt.in || pe.Pos < 0 || pe.Pos > len(tt.in) {
				t.Fatalf("error %#v is not a *ParseError for the input", err)
			}
		})
	}
}

func TestNewRequirement(t *testing.T) {
	tests := []struct {
		key    string
		op     Operator
		values []string
		want   string // canonical string, or the error substring if err
		err    bool
	}{
		{"a", Equals, []string{"b"}, "a=b", false},
		{"a", DoubleEquals, []string{"b"}, "a=b", false},
		{"a", NotEquals, []string{""}, "a!=", false},
		{"a", In, []string{"c", "b", "c"}, "a in (b,c)", false},
		{"a", NotIn, []string{""}, "a notin ()", false},
		{"a", Exists, nil, "a", false},
		{"a", DoesNotExist, []string{}, "!a", false},
		{"a", GreaterThan, []string{"10"}, "a>10", false},
		{"a", LessThan, []string{"0"}, "a<0", false},
		{"in", In, []string{"notin"}, "in in (notin)", false},

		{"", Equals, []string{"b"}, `labels: invalid key "": name part must be non-empty`, true},
		{"a b", Exists, nil, `invalid key "a b": name part must consist of alphanumeric characters`, true},
		{"a", Equals, nil, `labels: key "a": operator "=" needs exactly one value, got 0`, true},
		{"a", DoubleEquals, []string{"x", "y"}, `key "a": operator "=" needs exactly one value, got 2`, true},
		{"a", NotEquals, []string{"x", "y"}, `operator "!=" needs exactly one value, got 2`, true},
		{"a", In, nil, `key "a": operator "in" needs at least one value, got 0`, true},
		{"a", NotIn, []string{}, `operator "notin" needs at least one value`, true},
		{"a", Exists, []string{"x"}, `operator "exists" needs no values, got 1`, true},
		{"a", DoesNotExist, []string{"x"}, `operator "!" needs no values, got 1`, true},
		{"a", GreaterThan, nil, `operator "gt" needs exactly one integer value, got 0`, true},
		{"a", LessThan, []string{"1", "2"}, `operator "lt" needs exactly one integer value, got 2`, true},
		{"a", GreaterThan, []string{"x"}, `invalid value "x" for key "a": operator "gt" needs a non-negative decimal integer`, true},
		{"a", GreaterThan, []string{""}, `needs a non-negative decimal integer`, true},
		{"a", GreaterThan, []string{"+1"}, `needs a non-negative decimal integer`, true},
		{"a", Equals, []string{"a b"}, `invalid value "a b" for key "a": a valid label value`, true},
		{"a", In, []string{"ok", "not ok"}, `invalid value "not ok"`, true},
		{"a", "~", []string{"x"}, `key "a": unknown operator "~"; want one of =, ==, !=, in, notin, exists, !, gt, lt`, true},
		{"a", "", nil, `unknown operator ""`, true},
	}
	for _, tt := range tests {
		r, err := NewRequirement(tt.key, tt.op, tt.values)
		if tt.err {
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRequirement(%q, %q, %q) error = %v, want %q", tt.key, tt.op, tt.values, err, tt.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewRequirement(%q, %q, %q): %v", tt.key, tt.op, tt.values, err)
			continue
		}
		if got := r.String(); got != tt.want {
			t.Errorf("NewRequirement(%q, %q, %q).String() = %q, want %q", tt.key, tt.op, tt.values, got, tt.want)
		}
		if sel := mustParse(t, r.String()); sel.String() != tt.want {
			t.Errorf("Parse(%q).String() = %q", tt.want, sel.String())
		}
	}
}

func TestRequirementAccessors(t *testing.T) {
	in := []string{"b", "a"}
	r := mustRequirement(t, "k", In, in...)
	in[0] = "changed"
	if r.Key() != "k" || r.Operator() != In || !slices.Equal(r.Values(), []string{"a", "b"}) {
		t.Fatalf("got %q %q %q", r.Key(), r.Operator(), r.Values())
	}
	r.Values()[0] = "changed"
	if !slices.Equal(r.Values(), []string{"a", "b"}) {
		t.Fatal("Values exposes internal storage")
	}
	if op := mustRequirement(t, "k", DoubleEquals, "v").Operator(); op != Equals {
		t.Fatalf("DoubleEquals stored as %q", op)
	}
	if vs := mustRequirement(t, "k", Exists).Values(); len(vs) != 0 {
		t.Fatalf("Exists values %q", vs)
	}
}

func TestMatches(t *testing.T) {
	set := Set{"app": "web", "tier": "frontend", "empty": "", "replicas": "3", "big": "-7", "text": "x3"}
	tests := []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"app=web", true},
		{"app==web", true},
		{"app=db", false},
		{"missing=web", false},
		{"empty=", true},
		{"missing=", false},
		{"app!=db", true},
		{"app!=web", false},
		{"missing!=web", true},
		{"empty!=", false},
		{"missing!=", true},
		{"app in (db,web)", true},
		{"app in (db)", false},
		{"missing in (web)", false},
		{"empty in (,x)", true},
		{"empty in ()", true},
		{"missing in ()", false},
		{"app notin (db)", true},
		{"app notin (db,web)", false},
		{"missing notin (web)", true},
		{"empty notin ()", false},
		{"app", true},
		{"empty", true},
		{"missing", false},
		{"!app", false},
		{"!empty", false},
		{"!missing", true},
		{"replicas>2", true},
		{"replicas>3", false},
		{"replicas<4", true},
		{"replicas<3", false},
		{"replicas>0002", true},
		{"missing>0", false},
		{"missing<9", false},
		{"text>0", false},
		{"text<9", false},
		{"empty<9", false},
		{"big<0", true},
		{"big>0", false},
		{"app=web,tier=frontend", true},
		{"app=web,tier=backend", false},
		{"app=web,!missing,replicas>1,tier in (frontend)", true},
		{"drover.io/nothing,!drover.io/nothing", false},
	}
	for _, tt := range tests {
		sel := mustParse(t, tt.sel)
		if got := sel.Matches(set); got != tt.want {
			t.Errorf("Parse(%q).Matches(%v) = %v, want %v", tt.sel, set, got, tt.want)
		}
		if reqs := sel.Requirements(); len(reqs) == 1 && reqs[0].Matches(set) != tt.want {
			t.Errorf("Requirement %q Matches = %v, want %v", reqs[0], !tt.want, tt.want)
		}
	}
}

func TestMatchesIntegerLimits(t *testing.T) {
	tests := []struct {
		value string
		sel   string
		want  bool
	}{
		{"9223372036854775807", "n>9223372036854775806", true},
		{"9223372036854775808", "n>0", false}, // overflows int64: not an integer
		{"-9223372036854775808", "n<0", true},
		{"-9223372036854775809", "n<0", false},
		{"+5", "n>4", true},
		{"-", "n<0", false},
		{"+", "n>0", false},
		{"5 ", "n>0", false},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.sel).Matches(Set{"n": tt.value}); got != tt.want {
			t.Errorf("%q matches n=%q: %v, want %v", tt.sel, tt.value, got, tt.want)
		}
	}
}

func TestParseIntAgreesWithStrconv(t *testing.T) {
	for _, s := range []string{"0", "-0", "+0", "1", "-1", "12345", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999", "", "-", "+", "1a", "a1", "--1", " 1", "0x10", "007"} {
		got, ok := parseInt(s)
		want, err := parseIntStrconv(s)
		if ok != (err == nil) || (ok && got != want) {
			t.Errorf("parseInt(%q) = %d, %v; strconv gives %d, %v", s, got, ok, want, err)
		}
	}
}

func TestEverythingAndNothing(t *testing.T) {
	sets := []Set{nil, {}, {"a": "b"}, {"drover.io/nothing": ""}}
	for _, set := range sets {
		if !Everything().Matches(set) || !(Selector{}).Matches(set) {
			t.Errorf("Everything does not match %v", set)
		}
		if Nothing().Matches(set) {
			t.Errorf("Nothing matches %v", set)
		}
		if Nothing().Add(mustRequirement(t, "a", Exists)).Matches(set) {
			t.Errorf("Nothing plus a requirement matches %v", set)
		}
	}
	if Nothing().Matches(nil) || !mustParse(t, "!a,b!=c,d notin (e)").Matches(nil) || mustParse(t, "a").Matches(nil) {
		t.Error("matching a nil Labels")
	}
	if !Everything().Empty() || Everything().String() != "" || len(Everything().Requirements()) != 0 {
		t.Error("Everything is not empty")
	}
	n := Nothing()
	if n.Empty() {
		t.Error("Nothing is empty")
	}
	if got := mustParse(t, n.String()).String(); got != n.String() {
		t.Errorf("Nothing does not round trip: %q -> %q", n.String(), got)
	}
	if _, ok := n.RequiresExactMatch(nothingKey); ok {
		t.Error("Nothing requires an exact match")
	}
}

func TestSet(t *testing.T) {
	s := Set{"b": "2", "a": "1", "c": ""}
	if got := s.String(); got != "a=1,b=2,c=" {
		t.Errorf("String() = %q", got)
	}
	if !s.Has("c") || s.Has("d") || s.Get("a") != "1" || s.Get("d") != "" {
		t.Error("Has/Get")
	}
	if got := Set(nil).String(); got != "" {
		t.Errorf("nil String() = %q", got)
	}
	sel := s.AsSelector()
	if got := sel.String(); got != "a=1,b=2,c=" {
		t.Errorf("AsSelector().String() = %q", got)
	}
	if !sel.Matches(s) || !sel.Matches(Set{"a": "1", "b": "2", "c": "", "d": "x"}) || sel.Matches(Set{"a": "1", "b": "2"}) {
		t.Error("AsSelector matching")
	}
	if !SelectorFromSet(nil).Empty() {
		t.Error("SelectorFromSet(nil) is not empty")
	}
	// Invalid keys are kept as they are: matching stays exact.
	odd := SelectorFromSet(Set{"a b": "c,d"})
	if !odd.Matches(Set{"a b": "c,d"}) || odd.Matches(Set{"a b": "c"}) {
		t.Error("SelectorFromSet with invalid labels")
	}
}

func TestValidatedSelectorFromSet(t *testing.T) {
	sel, err := ValidatedSelectorFromSet(Set{"app": "web", "drover.io/zone": "a"})
	if err != nil || sel.String() != "app=web,drover.io/zone=a" {
		t.Fatalf("got %q, %v", sel.String(), err)
	}
	if _, err := ValidatedSelectorFromSet(Set{"app": "web", "bad key": "x"}); err == nil || !strings.Contains(err.Error(), `invalid key "bad key"`) {
		t.Fatalf("invalid key: %v", err)
	}
	if _, err := ValidatedSelectorFromSet(Set{"app": "-web"}); err == nil || !strings.Contains(err.Error(), `invalid value "-web" for key "app"`) {
		t.Fatalf("invalid value: %v", err)
	}
}

func TestAdd(t *testing.T) {
	base := mustParse(t, "b=1")
	added := base.Add(mustRequirement(t, "a", Exists), mustRequirement(t, "b", NotEquals, "2"), mustRequirement(t, "c", In, "x"))
	if got := added.String(); got != "a,b=1,b!=2,c in (x)" {
		t.Errorf("Add = %q", got)
	}
	if base.String() != "b=1" {
		t.Errorf("Add changed its receiver: %q", base.String())
	}
	if base.Add().String() != "b=1" {
		t.Error("Add() changed the selector")
	}
	// Adding to the same base twice must not share storage.
	x := added.Add(mustRequirement(t, "z", Exists))
	y := added.Add(mustRequirement(t, "y", Exists))
	if x.String() != "a,b=1,b!=2,c in (x),z" || y.String() != "a,b=1,b!=2,c in (x),y" {
		t.Errorf("got %q and %q", x, y)
	}
	defer func() {
		if recover() == nil {
			t.Error("Add of a zero Requirement did not panic")
		}
	}()
	base.Add(Requirement{})
}

func TestRequirementsIsACopy(t *testing.T) {
	sel := mustParse(t, "a=1,b=2")
	reqs := sel.Requirements()
	reqs[0] = mustRequirement(t, "z", Exists)
	if sel.String() != "a=1,b=2" {
		t.Errorf("Requirements exposes internal storage: %q", sel.String())
	}
}

func TestRequiresExactMatch(t *testing.T) {
	tests := []struct {
		sel, key, value string
		ok              bool
	}{
		{"app=web", "app", "web", true},
		{"app==web", "app", "web", true},
		{"app=", "app", "", true},
		{"app in (web)", "app", "web", true},
		{"tier=x,app=web", "app", "web", true},
		{"app!=web,app=db", "app", "db", true},
		{"app in (db,web)", "app", "", false},
		{"app!=web", "app", "", false},
		{"app", "app", "", false},
		{"app=web", "tier", "", false},
		{"", "app", "", false},
	}
	for _, tt := range tests {
		v, ok := mustParse(t, tt.sel).RequiresExactMatch(tt.key)
		if v != tt.value || ok != tt.ok {
			t.Errorf("Parse(%q).RequiresExactMatch(%q) = %q, %v; want %q, %v", tt.sel, tt.key, v, ok, tt.value, tt.ok)
		}
	}
}

func TestSortIsStableForEqualKeys(t *testing.T) {
	got := mustParse(t, "b=1,a notin (x),a,a!=y,b!=2").String()
	if want := "a notin (x),a,a!=y,b=1,b!=2"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	sel := mustParse(t, "app=web,tier in (a,b,c,d,e,frontend),!canary,replicas>1,env notin (dev),zone,x!=y")
	set := Set{"app": "web", "tier": "frontend", "replicas": "5", "env": "prod", "zone": "z1"}
	if !sel.Matches(set) {
		t.Fatal("fixture does not match")
	}
	if n := testing.AllocsPerRun(100, func() { sel.Matches(set) }); n != 0 {
		t.Fatalf("Matches allocates %v times", n)
	}
	gt := mustParse(t, "replicas>1")
	notInt := Set{"replicas": "many"}
	if n := testing.AllocsPerRun(100, func() { gt.Matches(notInt) }); n != 0 {
		t.Fatalf("Matches of a non-integer allocates %v times", n)
	}
}

var benchSelector = "app=web,tier in (backend,frontend),env notin (dev,test),!canary,drover.io/zone=us-east-1a,replicas>1"

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchSelector); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatches(b *testing.B) {
	sel := mustParse(b, benchSelector)
	set := Set{"app": "web", "tier": "frontend", "env": "prod", "drover.io/zone": "us-east-1a", "replicas": "3", "owner": "team-a"}
	if !sel.Matches(set) {
		b.Fatal("fixture does not match")
	}
	b.ReportAllocs()
	for b.Loop() {
		sel.Matches(set)
	}
}

func BenchmarkString(b *testing.B) {
	sel := mustParse(b, benchSelector)
	b.ReportAllocs()
	for b.Loop() {
		_ = sel.String()
	}
}
