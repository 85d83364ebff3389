package fake

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// The fake runs no programs: it interprets a container's command, and
// the commands of Exec, as a tiny shell. It knows the commands that
// runtimetest.Shell builds and a few more:
//
//	sh -c SCRIPT [ARG0 ARGS...]   statements separated by ";", "&", "&&" or newlines
//	echo [-n] WORDS [>&2]         prints (to stderr with >&2)
//	printenv NAME, pwd, cat PATH  prints a variable, the working directory, a mounted file
//	sleep SECONDS|infinity, wait  waits on the driver's clock ("wait" does nothing)
//	exit N, true, false           ends with a status / sets it
//	trap 'exit N' TERM, trap '' TERM   handles or ignores SIGTERM
//	... head -c SIZE /dev/zero ...  allocates SIZE bytes (k, m, g suffixes), as in
//	                              x=$(head -c SIZE /dev/zero | tr '\000' a): over
//	                              the memory limit, the container is OOM-killed
//
// Words are split as a shell does, with '...', "...", backslashes and
// $NAME, ${NAME}, $1, $@ expanded from the environment and arguments.
// Any other command is "not found": the container fails to start.

type opcode uint8

const (
	opEcho opcode = iota
	opSleep
	opExit
	opStatus
	opTrap
	opCat
	opAlloc
)

// A step is one thing a simulated process does.
type step struct {
	op     opcode
	stderr bool
	text   string        // echo: the text, newline included; cat: the path
	d      time.Duration // sleep: how long; negative is forever
	code   int32         // exit, status: the code; trap: the exit code, or -1 to ignore
	n      int64         // alloc: bytes
}

// forever is a sleep that never ends.
const forever = time.Duration(-1)

// notFoundError is a command the fake does not know.
type notFoundError struct{ name string }

func (e notFoundError) Error() string {
	return fmt.Sprintf("exec: %q: executable file not found in $PATH", e.name)
}

// shellEnv is what expansion reads.
type shellEnv struct {
	env     []string // "KEY=value"
	args    []string // $0, $1, ...
	workdir string
}

func (e *shellEnv) lookup(name string) string {
	if n, err := strconv.Atoi(name); err == nil {
		if n < len(e.args) {
			return e.args[n]
		}
		return ""
	}
	if name == "@" || name == "*" {
		if len(e.args) > 1 {
			return strings.Join(e.args[1:], " ")
		}
		return ""
	}
	if name == "PWD" {
		return e.workdir
	}
	for i := len(e.env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(e.env[i], "="); ok && k == name {
			return v
		}
	}
	return ""
}

// compile turns argv into the steps of a process.
func compile(argv []string, env *shellEnv) ([]step, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("no command: neither the container nor its image names one")
	}
	if base := path.Base(argv[0]); (base == "sh" || base == "bash" || base == "ash") && len(argv) >= 3 && argv[1] == "-c" {
		sub := *env
		sub.args = append([]string{argv[0]}, argv[3:]...)
		if len(argv) > 3 {
			sub.args = argv[3:]
		}
		return compileScript(argv[2], &sub)
	}
	return compileCommand(argv, env)
}

// compileScript compiles the statements of a "sh -c" script.
func compileScript(script string, env *shellEnv) ([]step, error) {
	var steps []step
	for _, stmt := range splitStatements(script) {
		// "head -c SIZE /dev/zero" anywhere in a statement (a pipeline,
		// "x=$(...)") allocates SIZE bytes.
		if i := strings.Index(stmt, "head -c "); i >= 0 && strings.Contains(stmt, "/dev/zero") {
			size, _, _ := strings.Cut(strings.TrimSpace(stmt[i+len("head -c "):]), " ")
			n, err := parseSize(size)
			if err != nil {
				return nil, err
			}
			steps = append(steps, step{op: opAlloc, n: n})
			continue
		}
		parts := splitOutsideQuotes(stmt, '|')
		words, err := splitWords(parts[0], env)
		if err != nil {
			return nil, err
		}
		if len(words) == 0 {
			continue
		}
		if len(parts) > 1 {
			return nil, fmt.Errorf("sh: pipelines are not simulated, except from \"head -c SIZE /dev/zero\": %q", stmt)
		}
		s, err := compileCommand(words, env)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s...)
	}
	return steps, nil
}

func compileCommand(words []string, env *shellEnv) ([]step, error) {
	stderr := false
	if last := words[len(words)-1]; last == ">&2" || last == "1>&2" {
		stderr, words = true, words[:len(words)-1]
	}
	name, args := path.Base(words[0]), words[1:]
	switch name {
	case "echo":
		nl := "\n"
		if len(args) > 0 && args[0] == "-n" {
			nl, args = "", args[1:]
		}
		return []step{{op: opEcho, stderr: stderr, text: strings.Join(args, " ") + nl}}, nil
	case "printenv":
		var b strings.Builder
		for _, a := range args {
			b.WriteString(env.lookup(a) + "\n")
		}
		return []step{{op: opEcho, stderr: stderr, text: b.String()}}, nil
	case "pwd":
		return []step{{op: opEcho, stderr: stderr, text: env.workdir + "\n"}}, nil
	case "cat":
		var steps []step
		for _, a := range args {
			steps = append(steps, step{op: opCat, stderr: stderr, text: a})
		}
		return steps, nil
	case "sleep":
		if len(args) != 1 {
			return nil, fmt.Errorf("sleep: want one duration, got %q", args)
		}
		if args[0] == "infinity" || args[0] == "inf" {
			return []step{{op: opSleep, d: forever}}, nil
		}
		secs, err := strconv.ParseFloat(args[0], 64)
		if err != nil || secs < 0 {
			return nil, fmt.Errorf("sleep: invalid number %q", args[0])
		}
		return []step{{op: opSleep, d: time.Duration(secs * float64(time.Second))}}, nil
	case "wait", ":":
		return nil, nil
	case "true":
		return []step{{op: opStatus, code: 0}}, nil
	case "false":
		return []step{{op: opStatus, code: 1}}, nil
	case "exit":
		code := int64(0)
		if len(args) > 0 {
			var err error
			if code, err = strconv.ParseInt(args[0], 10, 32); err != nil {
				return nil, fmt.Errorf("exit: invalid number %q", args[0])
			}
		}
		return []step{{op: opExit, code: int32(code & 0xff)}}, nil
	case "trap":
		if len(args) != 2 || (args[1] != "TERM" && args[1] != "SIGTERM" && args[1] != "15") {
			return nil, fmt.Errorf("trap: only \"trap 'exit N' TERM\" and \"trap '' TERM\" are simulated, got %q", args)
		}
		action := strings.TrimSpace(args[0])
		if action == "" {
			return []step{{op: opTrap, code: -1}}, nil
		}
		if rest, ok := strings.CutPrefix(action, "exit"); ok {
			code, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 32)
			if strings.TrimSpace(rest) == "" {
				code, err = 0, nil
			}
			if err == nil {
				return []step{{op: opTrap, code: int32(code & 0xff)}}, nil
			}
		}
		return nil, fmt.Errorf("trap: only \"exit N\" or \"\" are simulated as actions, got %q", action)
	}
	return nil, notFoundError{words[0]}
}

// parseSize reads "64m", "1g", "1000".
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("head: size is missing")
	}
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("head: invalid size %q", s)
	}
	return n * mult, nil
}

// splitStatements splits a script at ;, &, && and newlines outside
// quotes.
func splitStatements(script string) []string {
	var out []string
	for _, a := range splitOutsideQuotes(script, ';') {
		for _, b := range splitOutsideQuotes(a, '\n') {
			for _, c := range splitOutsideQuotes(b, '&') {
				// ">&2" is a redirection, not a separator: glue it back.
				if len(out) > 0 && strings.HasSuffix(out[len(out)-1], ">") {
					out[len(out)-1] += "&" + c
					continue
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// splitOutsideQuotes splits s at sep where it is not quoted or escaped.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == 0 && c == '\\':
			i++
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote == 0 && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// splitWords splits a statement into words, expanding variables.
func splitWords(s string, env *shellEnv) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
		case c == '\'':
			inWord = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("sh: unterminated quoted string in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			inWord = true
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				switch {
				case s[j] == '\\' && j+1 < len(s):
					j++
					cur.WriteByte(s[j])
				case s[j] == '$':
					j = expand(s, j, env, &cur) - 1
				default:
					cur.WriteByte(s[j])
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("sh: unterminated quoted string in %q", s)
			}
			i = j
		case c == '$':
			inWord = true
			i = expand(s, i, env, &cur) - 1
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// expand writes the value of the variable at s[i] ('$') and returns the
// index after it.
func expand(s string, i int, env *shellEnv, out *strings.Builder) int {
	j := i + 1
	if j < len(s) && s[j] == '{' {
		end := strings.IndexByte(s[j:], '}')
		if end > 0 {
			out.WriteString(env.lookup(s[j+1 : j+end]))
			return j + end + 1
		}
	}
	if j < len(s) && (s[j] == '@' || s[j] == '*' || (s[j] >= '0' && s[j] <= '9')) {
		out.WriteString(env.lookup(s[j : j+1]))
		return j + 1
	}
	for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
		j++
	}
	if j == i+1 {
		out.WriteByte('$')
		return j
	}
	out.WriteString(env.lookup(s[i+1 : j]))
	return j
}
