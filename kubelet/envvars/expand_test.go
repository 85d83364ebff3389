package envvars_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/drover-io/drover/kubelet/envvars"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "$(A)", "EMPTY": "", "": "blank", "WITH SPACE": "ws"}
	for in, want := range map[string]string{
		"":                  "",
		"plain":             "plain",
		"$(A)":              "a",
		"x$(A)y$(A)z":       "xayaz",
		"$(B)":              "$(A)", // values are not expanded again
		"$(EMPTY)-":         "-",
		"$(MISSING)":        "$(MISSING)",
		"$$(A)":             "$(A)",
		"$$$(A)":            "$a",
		"$$$$(A)":           "$$(A)",
		"$":                 "$",
		"$$":                "$",
		"a$":                "a$",
		"$A":                "$A",
		"$x$$":              "$x$",
		"$(":                "$(",
		"$(A":               "$(A",
		"$($(A)":            "$($(A)", // the first ")" closes "$(A" ... which is unknown
		"$(unclosed $(A)":   "$(unclosed $(A)",
		"$()":               "blank",
		"$(WITH SPACE)":     "ws",
		"$(A)$(A)":          "aa",
		"(A)":               "(A)",
		"$(A)) ":            "a) ",
		"ü$(A)ü$ü":          "üaü$ü",
		"$(A)\x00$(A)":      "a\x00a",
		"$(A) and $(B) $$ ": "a and $(A) $ ",
	} {
		assert.Equal(t, want, envvars.Expand(in, vars), "Expand(%q)", in)
	}
}

func TestExpandAll(t *testing.T) {
	vars := map[string]string{"PORT": "8080"}
	assert.Nil(t, envvars.ExpandAll(nil, vars))
	in := []string{"serve", "--port=$(PORT)", "$$(PORT)"}
	assert.Equal(t, []string{"serve", "--port=8080", "$(PORT)"}, envvars.ExpandAll(in, vars))
	assert.Equal(t, "--port=$(PORT)", in[1], "the input is not modified")
	assert.Equal(t, []string{}, envvars.ExpandAll([]string{}, vars))
}

// reference is a second, deliberately simple Expand: a scanner over
// runes of a different shape, for FuzzExpand to compare against.
func reference(s string, vars map[string]string) string {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i == len(s)-1 {
			out = append(out, s[i])
			continue
		}
		next := s[i+1]
		switch {
		case next == '$':
			out = append(out, '$')
			i++
		case next == '(':
			closeAt := -1
			for j := i + 2; j < len(s); j++ {
				if s[j] == ')' {
					closeAt = j
					break
				}
			}
			if closeAt < 0 {
				out = append(out, '$', '(')
				i++
				continue
			}
			if v, ok := vars[s[i+2:closeAt]]; ok {
				out = append(out, v...)
			} else {
				out = append(out, s[i:closeAt+1]...)
			}
			i = closeAt
		default:
			out = append(out, '$', next)
			i++
		}
	}
	return string(out)
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"", "$(A)", "$$(A)", "$$$", "$(", "$(A$(B))", "x$y$(Z)$", "$($(A))"} {
		f.Add(s, "A", "$(B)")
	}
	f.Fuzz(func(t *testing.T, s, name, value string) {
		vars := map[string]string{name: value, "B": "b"}
		got := envvars.Expand(s, vars)
		if want := reference(s, vars); got != want {
			t.Fatalf("Expand(%q) = %q, reference says %q", s, got, want)
		}
		// Escaping every "$" makes any text come out as written.
		if got := envvars.Expand(strings.ReplaceAll(s, "$", "$$"), vars); got != s {
			t.Fatalf("Expand(escaped %q) = %q", s, got)
		}
		if !strings.Contains(s, "$") && got != s {
			t.Fatalf("Expand(%q) without $ = %q", s, got)
		}
	})
}
