package process

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
)

func TestResolveIn(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"bin", "usr/bin", "etc"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin/busybox"), []byte("x"), 0o755))
	links := map[string]string{
		"bin/sh":        "busybox",           // relative
		"usr/bin/env":   "/bin/busybox",      // absolute: in the root, not the node's
		"bin/up":        "../../../../bin",   // cannot climb out
		"etc/escape":    "/../../etc/passwd", // nor this way
		"bin/loop":      "loop",
		"usr/bin/chain": "../../bin/sh",
	}
	for name, target := range links {
		require.NoError(t, os.Symlink(target, filepath.Join(root, name)))
	}
	for _, tc := range []struct{ in, want string }{
		{"/bin/sh", "/bin/busybox"},
		{"bin/sh", "/bin/busybox"},
		{"/usr/bin/env", "/bin/busybox"},
		{"/usr/bin/chain", "/bin/busybox"},
		{"/bin/up/sh", "/bin/busybox"},
		{"/etc/escape", "/etc/passwd"},
		{"/../../bin/busybox", "/bin/busybox"},
		{"/", ""},
		{"/no/such", ""}, // an error: its parent is missing
		{"/bin/new", "/bin/new"},
	} {
		got, err := resolveIn(root, tc.in)
		if tc.in == "/no/such" {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, root+tc.want, got, tc.in)
	}
	_, err := resolveIn(root, "/bin/loop")
	assert.ErrorContains(t, err, "too many levels of symbolic links")

	spec := execSpec{RootFS: root, Env: []string{"PATH=/usr/bin:/bin"}, HostPath: "/nonexistent"}
	p, err := lookPath("env", "/", spec)
	require.NoError(t, err)
	assert.Equal(t, root+"/bin/busybox", p)
	spec.Chroot = root
	p, err = lookPath("sh", "/", spec)
	require.NoError(t, err)
	assert.Equal(t, "/bin/busybox", p, "inside the chroot")
	_, err = lookPath("/etc/escape", "/", spec)
	assert.ErrorContains(t, err, "no such file in the root filesystem")
}

func TestMergeEnvAndSignals(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=1"}, []runtime.KeyValue{{Key: "A", Value: "2"}, {Key: "B", Value: "x=y"}})
	assert.Equal(t, []string{"PATH=/bin", "A=2", "B=x=y"}, got, "same keys replace in place")
	for in, want := range map[string]int{"SIGQUIT": 3, "quit": 3, "9": 9, "SIGRTMIN": 0} {
		n, err := parseSignal(in)
		if want == 0 {
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, want, n, in)
	}
	_, err := parseSignal("SIGNOPE")
	assert.Error(t, err)
	_, err = parseSignal("99")
	assert.Error(t, err)
}
