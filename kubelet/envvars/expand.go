package envvars

import "strings"

// Expand replaces each $(VAR) in s with vars[VAR], as Kubernetes expands
// a container's command, args and env values:
//
//   - $(VAR) with VAR in vars becomes its value, inserted as is (a value
//     is never expanded again);
//   - $(VAR) with VAR not in vars stays as written, "$(VAR)";
//   - $$ is an escaped "$": "$$(VAR)" becomes "$(VAR)", unexpanded;
//   - any other "$" (followed by another character, by an unclosed
//     "(", or at the end) stays as written.
//
// Expand never fails: a reference it cannot resolve is left in the text.
func Expand(s string, vars map[string]string) string {
	i := strings.IndexByte(s, '$')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:] // s[0] == '$'
		switch {
		case len(s) == 1:
			b.WriteByte('$')
			s = ""
		case s[1] == '$':
			b.WriteByte('$')
			s = s[2:]
		case s[1] == '(':
			end := strings.IndexByte(s[2:], ')')
			if end < 0 {
				// An unclosed reference: keep "$(" and go on scanning
				// after it, so a later complete reference still expands.
				b.WriteString("$(")
				s = s[2:]
				break
			}
			name := s[2 : 2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[:2+end+1])
			}
			s = s[2+end+1:]
		default:
			// "$x": kept, and x is not looked at again (so "$$" inside
			// "$x$$" is not mistaken for the second half of a pair).
			b.WriteString(s[:2])
			s = s[2:]
		}
		i = strings.IndexByte(s, '$')
	}
	b.WriteString(s)
	return b.String()
}

// ExpandAll returns Expand of each string of in, in a new slice (nil for a
// nil in), as the node agent expands a container's command and args.
func ExpandAll(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = Expand(s, vars)
	}
	return out
}
