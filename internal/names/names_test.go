package names

import (
	"strings"
	"testing"
)

// check runs fn over valid inputs (expecting no messages) and invalid inputs
// (expecting at least one message containing the given substring).
func check(t *testing.T, fn func(string) []string, valid []string, invalid map[string]string) {
	t.Helper()
	for _, s := range valid {
		if errs := fn(s); len(errs) != 0 {
			t.Errorf("%q: want valid, got %q", s, errs)
		}
	}
	for s, want := range invalid {
		errs := fn(s)
		if len(errs) == 0 {
			t.Errorf("%q: want invalid, got no messages", s)
			continue
		}
		if !strings.Contains(strings.Join(errs, "; "), want) {
			t.Errorf("%q: messages %q do not mention %q", s, errs, want)
		}
	}
}

func TestIsDNS1123Label(t *testing.T) {
	check(t, IsDNS1123Label,
		[]string{"a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "0-1", "123-abc", strings.Repeat("a", 63)},
		map[string]string{
			"":                      "RFC 1123 label",
			"A":                     "lower case alphanumeric",
			"ABC":                   "lower case",
			"aBc":                   "lower case",
			"-":                     "start and end",
			"a-":                    "start and end",
			"-a":                    "start and end",
			"a.b":                   "'-'",
			"a_b":                   "'-'",
			"a b":                   "'-'",
			"ä":                     "alphanumeric",
			strings.Repeat("a", 64): "no more than 63 characters",
		})
}

func TestIsDNS1123LabelMessage(t *testing.T) {
	want := "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " +
		"and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')"
	errs := IsDNS1123Label("My_Name")
	if len(errs) != 1 || errs[0] != want {
		t.Fatalf("got %q, want [%q]", errs, want)
	}
	errs = IsDNS1123Label(strings.Repeat("a", 64) + "-")
	if len(errs) != 2 {
		t.Fatalf("want length and syntax messages, got %q", errs)
	}
}

func TestIsDNS1123Subdomain(t *testing.T) {
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	if len(long) != 253 {
		t.Fatalf("fixture length %d", len(long))
	}
	check(t, IsDNS1123Subdomain,
		[]string{"a", "a.b", "a-1.b-2", "example.com", "0.0.0.0", "a.b.c.d.e", "drover.io", long},
		map[string]string{
			"":             "RFC 1123 subdomain",
			".":            "subdomain",
			"a.":           "start and end",
			".a":           "start and end",
			"a..b":         "subdomain",
			"a-.b":         "subdomain",
			"a.-b":         "subdomain",
			"A.b":          "lower case",
			"a_b.c":        "subdomain",
			long + "a":     "no more than 253 characters",
			"a/b":          "subdomain",
			"example.com.": "subdomain",
		})
}

func TestIsDNS1035Label(t *testing.T) {
	check(t, IsDNS1035Label,
		[]string{"a", "ab", "a1", "a-1", "my-name", "abc-123", "a" + strings.Repeat("b", 62)},
		map[string]string{
			"":                      "DNS-1035 label",
			"1":                     "start with an alphabetic character",
			"1a":                    "alphabetic",
			"-a":                    "alphabetic",
			"a-":                    "end with an alphanumeric",
			"A":                     "lower case",
			"a.b":                   "'-'",
			strings.Repeat("a", 64): "no more than 63 characters",
		})
}

func TestIsQualifiedName(t *testing.T) {
	check(t, IsQualifiedName,
		[]string{
			"a", "A", "1", "app", "MyName", "my.name", "123-abc", "a_b", "a-b.c_d",
			"drover.io/zone", "example.com/MyName", "a.b/c", "k8s.io/x",
			strings.Repeat("a", 63), strings.Repeat("a", 253) + "/" + strings.Repeat("b", 63),
		},
		map[string]string{
			"":                              "name part must be non-empty",
			"/":                             "prefix part must be non-empty",
			"/a":                            "prefix part must be non-empty",
			"a/":                            "name part must be non-empty",
			"a/b/c":                         "a qualified name must consist of",
			"-a":                            "name part must consist of",
			"a-":                            "start and end",
			"_a":                            "start and end",
			"a b":                           "alphanumeric",
			"a=b":                           "alphanumeric",
			"A.com/b":                       "prefix part a lowercase RFC 1123 subdomain",
			"a_b.com/c":                     "prefix part",
			"a/-b":                          "name part must consist of",
			strings.Repeat("a", 64):         "name part must be no more than 63 characters",
			"x/" + strings.Repeat("a", 64):  "name part must be no more than 63 characters",
			strings.Repeat("a", 254) + "/b": "prefix part must be no more than 253 characters",
			"ä":                             "name part",
		})
}

func TestIsValidLabelValue(t *testing.T) {
	check(t, IsValidLabelValue,
		[]string{"", "a", "A", "1", "web", "MyValue", "my_value", "12345", "a.b-c_d", strings.Repeat("a", 63)},
		map[string]string{
			"-":                     "a valid label value",
			"a-":                    "start and end",
			"-a":                    "start and end",
			".a":                    "start and end",
			"a b":                   "alphanumeric",
			"a/b":                   "alphanumeric",
			"a,b":                   "alphanumeric",
			"a=b":                   "alphanumeric",
			"(a)":                   "alphanumeric",
			strings.Repeat("a", 64): "no more than 63 characters",
		})
}

func TestIsCIdentifier(t *testing.T) {
	check(t, IsCIdentifier,
		[]string{"a", "_", "_a", "a1", "my_name", "MY_NAME", "MyName", "__x__"},
		map[string]string{
			"":    "C identifier",
			"1":   "start with an alphabetic character or '_'",
			"1a":  "C identifier",
			"a-b": "C identifier",
			"a.b": "C identifier",
			"a b": "C identifier",
			"$a":  "C identifier",
		})
}

func TestIsEnvVarName(t *testing.T) {
	check(t, IsEnvVarName,
		[]string{"A", "a", "_", "-", ".", "..", "my.env-name", "MY_ENV.NAME", "MyEnvName1", "-a1", ".a1", "PATH"},
		map[string]string{
			"":    "environment variable name",
			"1":   "must not start with a digit",
			"1A":  "digit",
			"A B": "environment variable name",
			"A=B": "environment variable name",
			"A$":  "environment variable name",
			"Ä":   "environment variable name",
		})
}

func TestIsValidPortName(t *testing.T) {
	check(t, IsValidPortName,
		[]string{"http", "h", "http-alt", "h2c", "a1-2b", "1a", "a-b-c-d", strings.Repeat("a", 15)},
		map[string]string{
			"":                      "at least one letter",
			"123":                   "at least one letter",
			"1-2":                   "at least one letter",
			"HTTP":                  "only lower case alphanumeric",
			"http_alt":              "only lower case alphanumeric",
			"http.alt":              "only lower case alphanumeric",
			"http--alt":             "consecutive hyphens",
			"-http":                 "begin or end with a hyphen",
			"http-":                 "begin or end with a hyphen",
			strings.Repeat("a", 16): "no more than 15 characters",
		})
}

func TestIsValidPortNum(t *testing.T) {
	for _, p := range []int32{1, 80, 443, 8080, 65535} {
		if errs := IsValidPortNum(p); len(errs) != 0 {
			t.Errorf("%d: want valid, got %q", p, errs)
		}
	}
	for _, p := range []int32{0, -1, 65536, 1 << 30, -1 << 31} {
		errs := IsValidPortNum(p)
		if len(errs) != 1 || !strings.Contains(errs[0], "between 1 and 65535") {
			t.Errorf("%d: got %q", p, errs)
		}
	}
}

func TestIsConfigMapKey(t *testing.T) {
	check(t, IsConfigMapKey,
		[]string{"a", "A", "1", "key.name", "KEY_NAME", "key-name", ".a", "a..b", "a.", "a..", "-", "_", strings.Repeat("a", 253)},
		map[string]string{
			"":                       "valid config key",
			".":                      "must not be '.'",
			"..":                     "must not be '..'",
			"..a":                    "must not start with '..'",
			"...":                    "must not start with '..'",
			"a/b":                    "valid config key",
			"a b":                    "valid config key",
			"a=b":                    "valid config key",
			strings.Repeat("a", 254): "no more than 253 characters",
		})
}

func TestIsValidIP(t *testing.T) {
	check(t, IsValidIP,
		[]string{"1.2.3.4", "0.0.0.0", "255.255.255.255", "10.9.8.7", "::", "::1", "2001:db8::ffff", "::ffff:1.2.3.4", "fe80::1"},
		map[string]string{
			"":             "valid IP address",
			"1.2.3":        "valid IP address",
			"1.2.3.4.5":    "valid IP address",
			"256.1.1.1":    "valid IP address",
			"01.2.3.4":     "valid IP address",
			"1.2.3.4/24":   "valid IP address",
			"fe80::1%eth0": "valid IP address",
			"example.com":  "valid IP address",
			"2001:db8:::1": "valid IP address",
			" 1.2.3.4":     "valid IP address",
		})
}

func TestIsPercent(t *testing.T) {
	check(t, IsPercent,
		[]string{"0%", "1%", "25%", "93%", "100%", "250%", "007%"},
		map[string]string{
			"":     "valid percent string",
			"%":    "numeric string followed by",
			"25":   "ending '%'",
			"-1%":  "percent",
			"1.5%": "percent",
			"%25":  "percent",
			"25%%": "percent",
			" 1%":  "percent",
		})
}

func TestValidInputDoesNotAllocate(t *testing.T) {
	checks := map[string]func() []string{
		"IsDNS1123Label":     func() []string { return IsDNS1123Label("my-name") },
		"IsDNS1123Subdomain": func() []string { return IsDNS1123Subdomain("drover.example.com") },
		"IsDNS1035Label":     func() []string { return IsDNS1035Label("my-svc") },
		"IsQualifiedName":    func() []string { return IsQualifiedName("drover.io/zone") },
		"IsValidLabelValue":  func() []string { return IsValidLabelValue("us-east-1a") },
		"IsEnvVarName":       func() []string { return IsEnvVarName("MY_VAR") },
		"IsValidPortName":    func() []string { return IsValidPortName("http-alt") },
		"IsConfigMapKey":     func() []string { return IsConfigMapKey("app.conf") },
		"IsPercent":          func() []string { return IsPercent("25%") },
	}
	for name, fn := range checks {
		if n := testing.AllocsPerRun(100, func() { _ = fn() }); n != 0 {
			t.Errorf("%s: %v allocations for valid input", name, n)
		}
	}
}

func BenchmarkIsQualifiedName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = IsQualifiedName("topology.drover.io/zone")
	}
}
