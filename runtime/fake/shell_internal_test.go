package fake

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompile(t *testing.T) {
	env := &shellEnv{env: []string{"FOO=bar", "FOO=baz"}, workdir: "/w"}
	steps, err := compile([]string{"/bin/sh", "-c", `trap 'exit 4' TERM; echo "$FOO" $1 ${0}; sleep 1.5 & wait; x=$(head -c 2k /dev/zero | tr '\000' a); printenv FOO && pwd`, "zero", "one"}, env)
	require.NoError(t, err)
	assert.Equal(t, []step{
		{op: opTrap, code: 4},
		{op: opEcho, text: "baz one zero\n"},
		{op: opSleep, d: 1500 * time.Millisecond},
		{op: opAlloc, n: 2 << 10},
		{op: opEcho, text: "baz\n"},
		{op: opEcho, text: "/w\n"},
	}, steps)

	for _, bad := range [][]string{
		nil, {"/no/such/command"}, {"sh", "-c", "echo 'unterminated"}, {"sh", "-c", "ls | wc -l"},
		{"sleep", "soon"}, {"sh", "-c", "exit x"}, {"sh", "-c", "trap 'echo' TERM"}, {"sh", "-c", "head -c /dev/zero"},
	} {
		_, err := compile(bad, env)
		assert.Error(t, err, "%q", bad)
	}
	_, err = compile([]string{"nginx", "-g", "daemon off;"}, env)
	assert.ErrorAs(t, err, new(notFoundError))
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`echo "$FOO" 'a'\''b' >&2; exit 3`,
		"trap '' TERM; sleep 1000000 & wait",
		"x=$(head -c 10m /dev/zero | tr '\\000' a); sleep infinity",
		`echo ${FOO} $@ "$1"`,
		"cat /data/x && false",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		env := &shellEnv{env: []string{"FOO=bar"}, args: []string{"sh", "a"}, workdir: "/"}
		steps, err := compile([]string{"sh", "-c", script}, env)
		if err != nil {
			return
		}
		for _, s := range steps {
			if s.op == opSleep && s.d < 0 && s.d != forever {
				t.Fatalf("negative sleep %v from %q", s.d, script)
			}
			if s.op == opAlloc && s.n < 0 {
				t.Fatalf("negative allocation from %q", script)
			}
		}
	})
}
