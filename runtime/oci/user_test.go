package oci

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
)

func testRootfs(t *testing.T) string {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(
		"# comment\nroot:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nbroken:x:abc:1\nnobody:x:65534:65534::/:/bin/false\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/group"), []byte(
		"root:x:0:\nstaff:x:50:app,other\napp:x:1001:\nwheel:x:10:app\nnogroup:x:65534:\n"), 0o644))
	return root
}

func ptr[T any](v T) *T { return &v }

func TestResolveUser(t *testing.T) {
	root := testRootfs(t)
	for _, c := range []struct {
		name  string
		image string
		sec   runtime.SecurityConfig
		want  specs.User
	}{
		{"no user: root", "", runtime.SecurityConfig{}, specs.User{}},
		{"numeric uid in passwd", "1000", runtime.SecurityConfig{}, specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{50, 10}}},
		{"numeric uid not in passwd", "4242", runtime.SecurityConfig{}, specs.User{UID: 4242, GID: 0}},
		{"uid:gid", "1000:7", runtime.SecurityConfig{}, specs.User{UID: 1000, GID: 7, AdditionalGids: []uint32{50, 10}}},
		{"name", "app", runtime.SecurityConfig{}, specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{50, 10}}},
		{"name:group", "app:staff", runtime.SecurityConfig{}, specs.User{UID: 1000, GID: 50, AdditionalGids: []uint32{10}}},
		{"nobody:nogroup", "nobody:nogroup", runtime.SecurityConfig{}, specs.User{UID: 65534, GID: 65534}},
		{"security UID wins", "app", runtime.SecurityConfig{UID: ptr(int64(65534))}, specs.User{UID: 65534, GID: 65534}},
		{"security UID and GID", "app:staff", runtime.SecurityConfig{UID: ptr(int64(1000)), GID: ptr(int64(3))}, specs.User{UID: 1000, GID: 3, AdditionalGids: []uint32{50, 10}}},
		{"supplemental groups", "", runtime.SecurityConfig{SupplementalGroups: []int64{5, 0, 5}}, specs.User{AdditionalGids: []uint32{5}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := resolveUser(root, c.image, c.sec)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	for _, c := range []struct{ image, want string }{
		{"ghost", `no user "ghost" in the image's /etc/passwd`},
		{"app:ghosts", `no group "ghosts" in the image's /etc/group`},
	} {
		_, err := resolveUser(root, c.image, runtime.SecurityConfig{})
		assert.ErrorContains(t, err, c.want)
	}
	_, err := resolveUser(root, "", runtime.SecurityConfig{UID: ptr(int64(-1))})
	assert.ErrorContains(t, err, "Security.UID -1")
	_, err = resolveUser(root, "", runtime.SecurityConfig{SupplementalGroups: []int64{1 << 40}})
	assert.ErrorContains(t, err, "Security.SupplementalGroups[0]")
}

// An image's /etc/passwd that is a symlink out of the root filesystem
// resolves inside it: the host's file is never read.
func TestResolveUserStaysInRoot(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "passwd"), []byte("hostuser:x:777:777::/:/bin/sh\n"), 0o644))
	for name, target := range map[string]string{
		"absolute": filepath.Join(outside, "passwd"),
		"dotdot":   "../../../../../../../../" + filepath.Join(outside, "passwd"),
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
			require.NoError(t, os.Symlink(target, filepath.Join(root, "etc/passwd")))
			_, err := resolveUser(root, "hostuser", runtime.SecurityConfig{})
			assert.ErrorContains(t, err, `no user "hostuser"`)
		})
	}
	t.Run("etc is a symlink to the host's", func(t *testing.T) {
		root := t.TempDir()
		require.NoError(t, os.Symlink(outside, filepath.Join(root, "etc")))
		_, err := resolveUser(root, "hostuser", runtime.SecurityConfig{})
		assert.ErrorContains(t, err, `no user "hostuser"`)
	})
	t.Run("a symlink inside the root is followed", func(t *testing.T) {
		root := testRootfs(t)
		require.NoError(t, os.Rename(filepath.Join(root, "etc/passwd"), filepath.Join(root, "passwd.real")))
		require.NoError(t, os.Symlink("/passwd.real", filepath.Join(root, "etc/passwd")))
		u, err := resolveUser(root, "app", runtime.SecurityConfig{})
		require.NoError(t, err)
		assert.Equal(t, uint32(1000), u.UID)
	})
	t.Run("not a regular file", func(t *testing.T) {
		root := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(root, "etc/passwd"), 0o755))
		_, err := resolveUser(root, "app", runtime.SecurityConfig{})
		assert.ErrorContains(t, err, "not a regular file")
	})
	t.Run("no files: numeric users only", func(t *testing.T) {
		root := t.TempDir()
		u, err := resolveUser(root, "12:34", runtime.SecurityConfig{})
		require.NoError(t, err)
		assert.Equal(t, specs.User{UID: 12, GID: 34}, u)
	})
}
