package volume_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/kubelet/volume"
)

// mountCount returns how many mounts /proc/self/mountinfo lists at dir.
func mountCount(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && fields[4] == dir {
			n++
		}
	}
	require.NoError(t, sc.Err())
	return n
}

func isTmpfs(t *testing.T, dir string) (bool, int64) {
	t.Helper()
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(dir, &st))
	return st.Type == unix.TMPFS_MAGIC, int64(st.Blocks) * st.Bsize
}

func withTmpfs(c *volume.Config) { c.DisableTmpfs = false }

func TestEmptyDirMemoryOnTmpfs(t *testing.T) {
	requireRoot(t)
	m, root := newManager(t, nil, withTmpfs)
	pod := newPod("u1", api.Volume{Name: "shm", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{
		Medium: api.StorageMediumMemory, SizeLimit: ptr(mustQ("4Mi")),
	}}})
	paths, err := m.SetUp(ctx, pod)
	require.NoError(t, err, "as root the tmpfs mount must work; DisableTmpfs exists for machines where it cannot")
	dir := filepath.Join(root, "u1", "volumes", "empty-dir", "shm")
	assert.Equal(t, dir, paths["shm"])
	tmpfs, size := isTmpfs(t, dir)
	assert.True(t, tmpfs)
	assert.Equal(t, int64(4<<20), size, "sizeLimit is the tmpfs size")
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o777), info.Mode().Perm())
	assert.Empty(t, m.EmptyDirSizeLimits("u1"), "a tmpfs enforces its own size")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
	_, err = m.SetUp(ctx, pod)
	require.NoError(t, err)
	assert.Equal(t, 1, mountCount(t, dir), "SetUp again does not mount again")
	_, err = os.Stat(filepath.Join(dir, "f"))
	assert.NoError(t, err, "SetUp again keeps what is there")

	require.NoError(t, m.TearDown(ctx, "u1"))
	assert.Equal(t, 0, mountCount(t, dir))
	_, err = os.Stat(filepath.Join(root, "u1"))
	assert.True(t, os.IsNotExist(err))
	require.NoError(t, m.TearDown(ctx, "u1"))
}

func TestSecretAndProjectedOnTmpfsAsRoot(t *testing.T) {
	requireRoot(t)
	objs := newObjects()
	objs.setSecret(&api.Secret{ObjectMeta: api.ObjectMeta{Name: "creds", Namespace: "ns"}, Data: map[string][]byte{"password": []byte("hunter2")}})
	objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"a": "1"}})
	m, root := newManager(t, objs, withTmpfs)
	pod := newPod("u1",
		api.Volume{Name: "creds", VolumeSource: api.VolumeSource{Secret: &api.SecretVolumeSource{SecretName: "creds"}}},
		api.Volume{Name: "proj", VolumeSource: api.VolumeSource{Projected: &api.ProjectedVolumeSource{Sources: []api.VolumeProjection{
			{Secret: &api.SecretProjection{LocalObjectReference: api.LocalObjectReference{Name: "creds"}}}}}}},
		configMapVolume("cfg"),
	)
	paths, err := m.SetUp(ctx, pod)
	require.NoError(t, err)
	for _, name := range []string{"creds", "proj"} {
		tmpfs, _ := isTmpfs(t, paths[name])
		assert.True(t, tmpfs, "%s: secrets never reach the disk", name)
		files, _ := tree(t, paths[name])
		assert.Equal(t, map[string]string{"password": "hunter2"}, files)
	}
	assert.Equal(t, 0, mountCount(t, paths["config"]), "configMaps are on disk")

	// Refresh on the mounted tmpfs, no second mount.
	objs.setSecret(&api.Secret{ObjectMeta: api.ObjectMeta{Name: "creds", Namespace: "ns"}, Data: map[string][]byte{"password": []byte("new")}})
	_, err = m.SetUp(ctx, pod)
	require.NoError(t, err)
	files, _ := tree(t, paths["creds"])
	assert.Equal(t, map[string]string{"password": "new"}, files)
	assert.Equal(t, 1, mountCount(t, paths["creds"]))

	require.NoError(t, m.TearDown(ctx, "u1"))
	assert.Equal(t, 0, mountCount(t, paths["creds"]))
	assert.Equal(t, 0, mountCount(t, paths["proj"]))
	_, err = os.Stat(filepath.Join(root, "u1"))
	assert.True(t, os.IsNotExist(err))
}

func TestTearDownRefusesToRemoveThroughABusyMount(t *testing.T) {
	requireRoot(t)
	m, _ := newManager(t, nil, withTmpfs)
	pod := newPod("u1", api.Volume{Name: "shm", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{Medium: api.StorageMediumMemory}}})
	paths, err := m.SetUp(ctx, pod)
	require.NoError(t, err)
	// A process working in the mount keeps it busy.
	f, err := os.Create(filepath.Join(paths["shm"], "open"))
	require.NoError(t, err)
	sub := filepath.Join(paths["shm"], "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	require.NoError(t, unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m")) // a nested mount, unmounted first
	err = m.TearDown(ctx, "u1")
	f.Close()
	require.Error(t, err, "an open file keeps the tmpfs busy")
	assert.Contains(t, err.Error(), "unmount")
	assert.Contains(t, err.Error(), "device or resource busy")
	assert.Equal(t, 0, mountCount(t, sub), "the nested mount was unmounted first")
	_, serr := os.Stat(paths["shm"])
	assert.NoError(t, serr, "nothing is removed while a mount stays")
	require.NoError(t, m.TearDown(ctx, "u1"))
	assert.Equal(t, 0, mountCount(t, paths["shm"]))
}
