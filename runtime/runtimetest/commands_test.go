package runtimetest_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime/runtimetest"
)

// TestShellOnHost runs the Shell commands that end by themselves with
// the host's sh, to check that they mean in a real shell what the suite
// expects of them.
func TestShellOnHost(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh on PATH")
	}
	sh := runtimetest.Shell{}
	run := func(argv []string, env ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Dir = "/"
		var out, errs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errs
		err := cmd.Run()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return out.String(), errs.String(), exitErr.ExitCode()
		}
		require.NoError(t, err, "%q", argv)
		return out.String(), errs.String(), 0
	}
	out, errs, code := run(sh.Echo("it's \"quoted\" $HOME", "to stderr"))
	assert.Equal(t, "it's \"quoted\" $HOME\n", out)
	assert.Equal(t, "to stderr\n", errs)
	assert.Equal(t, 0, code)

	_, _, code = run(sh.Exit(3))
	assert.Equal(t, 3, code)

	command, args := sh.EchoArgs("one", "two three")
	out, _, _ = run(append(command, args...))
	assert.Equal(t, "one two three\n", out)

	out, _, _ = run(sh.PrintEnv("RUNTIMETEST_FOO"), "RUNTIMETEST_FOO=bar baz")
	assert.Equal(t, "bar baz\n", out)

	out, _, _ = run(sh.PrintWorkingDir())
	assert.Equal(t, "/\n", out)

	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte("content\n"), 0o644))
	out, _, _ = run(sh.Cat(path))
	assert.Equal(t, "content\n", out)

	err := exec.Command(sh.Missing()[0]).Run()
	assert.Error(t, err)
}
