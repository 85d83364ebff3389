package volume_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/kubelet/volume"
)

func mustQ(s string) resource.Quantity { return resource.MustParse(s) }

var ctx = context.Background()

func TestConfigValidate(t *testing.T) {
	cfg := volume.DefaultConfig()
	require.NoError(t, cfg.Validate())
	cfg.Root = ""
	assert.EqualError(t, cfg.Validate(), "volume: Config.Root is required: the directory of the pods' volumes, <RootDir>/pods")
	cfg.Root = "pods"
	assert.EqualError(t, cfg.Validate(), `volume: Config.Root "pods" must be an absolute path`)
	_, err := volume.NewManager(cfg)
	assert.Error(t, err)
}

func TestEmptyDir(t *testing.T) {
	m, root := newManager(t, nil)
	pod := newPod("u1",
		api.Volume{Name: "scratch", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}},
		api.Volume{Name: "cache", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{SizeLimit: ptr(mustQ("1Gi"))}}},
	)
	paths, err := m.SetUp(ctx, pod)
	require.NoError(t, err)
	scratch := filepath.Join(root, "u1", "volumes", "empty-dir", "scratch")
	cache := filepath.Join(root, "u1", "volumes", "empty-dir", "cache")
	assert.Equal(t, map[string]string{"scratch": scratch, "cache": cache}, paths)
	info, err := os.Stat(scratch)
	require.NoError(t, err)
	assert.True(t, info.IsDir())
	assert.Equal(t, os.FileMode(0o777), info.Mode().Perm(), "anyone in the pod may write an emptyDir")
	assert.Equal(t, map[string]int64{cache: 1 << 30}, m.EmptyDirSizeLimits("u1"), "the disk sizeLimit is recorded for eviction")

	// Idempotent: what the containers wrote stays.
	require.NoError(t, os.WriteFile(filepath.Join(scratch, "f"), []byte("x"), 0o644))
	again, err := m.SetUp(ctx, pod)
	require.NoError(t, err)
	assert.Equal(t, paths, again)
	data, err := os.ReadFile(filepath.Join(scratch, "f"))
	require.NoError(t, err)
	assert.Equal(t, "x", string(data))
	assert.Empty(t, m.EmptyDirSizeLimits("unknown"))
}

func TestEmptyDirMemoryWithoutTmpfsIsAnError(t *testing.T) {
	m, _ := newManager(t, nil) // DisableTmpfs
	pod := newPod("u1", api.Volume{Name: "shm", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{Medium: api.StorageMediumMemory}}})
	_, err := m.SetUp(ctx, pod)
	assert.EqualError(t, err, `volume: pod ns/web: volume "shm": emptyDir.medium Memory needs a tmpfs mount, and Config.DisableTmpfs is set`)

	pod.Spec.Volumes[0].EmptyDir.Medium = "HugePages"
	_, err = m.SetUp(ctx, pod)
	assert.EqualError(t, err, `volume: pod ns/web: volume "shm": emptyDir.medium "HugePages" is not supported: want "" (node disk) or "Memory" (tmpfs)`)
}

func TestHostPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	defer l.Close()

	typ := func(s api.HostPathType) *api.HostPathType { return &s }
	for _, tc := range []struct {
		name string
		path string
		typ  *api.HostPathType
		err  string
	}{
		{name: "no type, nothing there", path: filepath.Join(dir, "nothing")},
		{name: "empty type", path: filepath.Join(dir, "nothing"), typ: typ("")},
		{name: "directory", path: dir, typ: typ(api.HostPathDirectory)},
		{name: "directory or create", path: filepath.Join(dir, "new", "sub"), typ: typ(api.HostPathDirectoryOrCreate)},
		{name: "file", path: file, typ: typ(api.HostPathFile)},
		{name: "file or create", path: filepath.Join(dir, "newfile"), typ: typ(api.HostPathFileOrCreate)},
		{name: "file or create, exists", path: file, typ: typ(api.HostPathFileOrCreate)},
		{name: "socket", path: sock, typ: typ(api.HostPathSocket)},
		{name: "char device", path: "/dev/null", typ: typ(api.HostPathCharDev)},
		{name: "missing directory", path: filepath.Join(dir, "nothing"), typ: typ(api.HostPathDirectory),
			err: `hostPath.path "` + dir + `/nothing" does not exist (hostPath.type Directory wants a directory there)`},
		{name: "file is not a directory", path: file, typ: typ(api.HostPathDirectory),
			err: `hostPath.path "` + file + `" is not a directory (hostPath.type Directory): it is a file`},
		{name: "directory is not a file", path: dir, typ: typ(api.HostPathFile),
			err: `hostPath.path "` + dir + `" is not a file (hostPath.type File): it is a directory`},
		{name: "file is not a socket", path: file, typ: typ(api.HostPathSocket),
			err: `hostPath.path "` + file + `" is not a socket (hostPath.type Socket): it is a file`},
		{name: "char device is not a block device", path: "/dev/null", typ: typ(api.HostPathBlockDev),
			err: `hostPath.path "/dev/null" is not a block device (hostPath.type BlockDevice): it is a character device`},
		{name: "file or create without its directory", path: filepath.Join(dir, "no", "file"), typ: typ(api.HostPathFileOrCreate),
			err: `hostPath.type FileOrCreate: the directory of "` + dir + `/no/file" does not exist (only the file is created)`},
		{name: "relative", path: "etc", err: `hostPath.path "etc" must be an absolute path`},
		{name: "unknown type", path: dir, typ: typ("Fifo"),
			err: `hostPath.type "Fifo" is not supported: want "", DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice or BlockDevice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, root := newManager(t, nil)
			pod := newPod("u1", api.Volume{Name: "host", VolumeSource: api.VolumeSource{HostPath: &api.HostPathVolumeSource{Path: tc.path, Type: tc.typ}}})
			paths, err := m.SetUp(ctx, pod)
			if tc.err != "" {
				assert.EqualError(t, err, `volume: pod ns/web: volume "host": `+tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"host": tc.path}, paths, "a hostPath volume is the node's path itself")
			_, err = os.Stat(filepath.Join(root, "u1", "volumes", "host-path"))
			assert.True(t, errors.Is(err, os.ErrNotExist), "nothing is made under the pod for a hostPath")
			if tc.typ != nil && strings.HasSuffix(string(*tc.typ), "OrCreate") {
				_, err := os.Stat(tc.path)
				assert.NoError(t, err)
			}
		})
	}
}

func TestConfigMap(t *testing.T) {
	objs := newObjects()
	objs.setConfigMap(&api.ConfigMap{
		ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"},
		Data:       map[string]string{"app.conf": "port=80\n", "log.level": "info"},
		BinaryData: map[string][]byte{"logo.png": {0x89, 'P', 'N', 'G', 0}},
	})
	m, root := newManager(t, objs)

	t.Run("all keys", func(t *testing.T) {
		pod := newPod("u1", api.Volume{Name: "config", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{
			LocalObjectReference: api.LocalObjectReference{Name: "cfg"},
		}}})
		paths, err := m.SetUp(ctx, pod)
		require.NoError(t, err)
		dir := filepath.Join(root, "u1", "volumes", "configmap", "config")
		assert.Equal(t, dir, paths["config"])
		files, modes := tree(t, dir)
		assert.Equal(t, map[string]string{"app.conf": "port=80\n", "log.level": "info", "logo.png": "\x89PNG\x00"}, files)
		for _, mode := range modes {
			assert.Equal(t, os.FileMode(0o644), mode)
		}
		// The user-visible names are links through ..data.
		link, err := os.Readlink(filepath.Join(dir, "app.conf"))
		require.NoError(t, err)
		assert.Equal(t, "..data/app.conf", link)
		h := hidden(t, dir)
		require.Len(t, h, 2)
		assert.Equal(t, "..data", h[1])
		assert.True(t, strings.HasPrefix(h[0], "..2026_11_21_13_45_07."), h[0])
		data, err := os.Readlink(filepath.Join(dir, "..data"))
		require.NoError(t, err)
		assert.Equal(t, h[0], data)
	})

	t.Run("items and modes", func(t *testing.T) {
		pod := newPod("u2", api.Volume{Name: "config", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{
			LocalObjectReference: api.LocalObjectReference{Name: "cfg"},
			DefaultMode:          ptr(int32(0o440)),
			Items: []api.KeyToPath{
				{Key: "app.conf", Path: "etc/app/app.conf"},
				{Key: "log.level", Path: "level", Mode: ptr(int32(0o600))},
				{Key: "app.conf", Path: "copy"},
			},
		}}})
		_, err := m.SetUp(ctx, pod)
		require.NoError(t, err)
		files, modes := tree(t, filepath.Join(root, "u2", "volumes", "configmap", "config"))
		assert.Equal(t, map[string]string{"etc/app/app.conf": "port=80\n", "level": "info", "copy": "port=80\n"}, files)
		assert.Equal(t, map[string]os.FileMode{"etc/app/app.conf": 0o440, "level": 0o600, "copy": 0o440}, modes)
	})

	t.Run("optional", func(t *testing.T) {
		pod := newPod("u3",
			api.Volume{Name: "gone", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{
				LocalObjectReference: api.LocalObjectReference{Name: "gone"}, Optional: ptr(true),
			}}},
			api.Volume{Name: "somekeys", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{
				LocalObjectReference: api.LocalObjectReference{Name: "cfg"}, Optional: ptr(true),
				Items: []api.KeyToPath{{Key: "nope", Path: "nope"}, {Key: "log.level", Path: "level"}},
			}}},
		)
		paths, err := m.SetUp(ctx, pod)
		require.NoError(t, err)
		files, _ := tree(t, paths["gone"])
		assert.Empty(t, files, "a missing optional configmap is an empty volume")
		files, _ = tree(t, paths["somekeys"])
		assert.Equal(t, map[string]string{"level": "info"}, files, "a missing key of an optional configmap is left out")
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			src  api.ConfigMapVolumeSource
			err  string
			notF bool
		}{{
			src:  api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "x"}},
			err:  `configmap "x" not found`,
			notF: true,
		}, {
			src: api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "cfg"},
				Items: []api.KeyToPath{{Key: "log.level", Path: "a"}, {Key: "nope", Path: "b"}}},
			err: `configMap.items[1].key: configmap "cfg" has no key "nope"`,
		}, {
			src: api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "cfg"}, DefaultMode: ptr(int32(0o1777))},
			err: `configMap.defaultMode 01777 (1023) is out of range: want 0 to 0777 (511 in decimal)`,
		}, {
			src: api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "cfg"},
				Items: []api.KeyToPath{{Key: "log.level", Path: "a", Mode: ptr(int32(-1))}}},
			err: `configMap.items[0].mode -01 (-1) is out of range: want 0 to 0777 (511 in decimal)`,
		}, {
			src: api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "cfg"},
				Items: []api.KeyToPath{{Key: "log.level", Path: "a"}, {Key: "app.conf", Path: "a/b"}}},
			err: `file path "a" is also the directory of "a/b"`,
		}} {
			pod := newPod("u4", api.Volume{Name: "config", VolumeSource: api.VolumeSource{ConfigMap: &tc.src}})
			paths, err := m.SetUp(ctx, pod)
			assert.Nil(t, paths)
			assert.EqualError(t, err, `volume: pod ns/web: volume "config": `+tc.err)
			assert.Equal(t, tc.notF, errors.Is(err, api.ErrNotFound))
		}
	})

	t.Run("no getter", func(t *testing.T) {
		m, _ := newManager(t, nil)
		pod := newPod("u1", api.Volume{Name: "config", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{
			LocalObjectReference: api.LocalObjectReference{Name: "cfg"}}}})
		_, err := m.SetUp(ctx, pod)
		assert.EqualError(t, err, `volume: pod ns/web: volume "config": configMap: configmap "cfg": the node agent has no Getter to read it with`)
	})
}

func TestSecretOnDiskWithoutTmpfs(t *testing.T) {
	objs := newObjects()
	objs.setSecret(&api.Secret{ObjectMeta: api.ObjectMeta{Name: "creds", Namespace: "ns"},
		Data: map[string][]byte{"password": []byte("hunter2"), "key.pem": {0, 1, 2}}})
	m, root := newManager(t, objs)
	pod := newPod("u1", api.Volume{Name: "creds", VolumeSource: api.VolumeSource{Secret: &api.SecretVolumeSource{
		SecretName: "creds", DefaultMode: ptr(int32(0o400)),
	}}})
	paths, err := m.SetUp(ctx, pod)
	require.NoError(t, err)
	dir := filepath.Join(root, "u1", "volumes", "secret", "creds")
	assert.Equal(t, dir, paths["creds"])
	files, modes := tree(t, dir)
	assert.Equal(t, map[string]string{"password": "hunter2", "key.pem": "\x00\x01\x02"}, files)
	assert.Equal(t, map[string]os.FileMode{"password": 0o400, "key.pem": 0o400}, modes)
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "a secret on disk is readable by the node agent's user only")

	pod.Spec.Volumes[0].Secret.SecretName = "gone"
	_, err = m.SetUp(ctx, pod)
	assert.EqualError(t, err, `volume: pod ns/web: volume "creds": secret "gone" not found`)
	pod.Spec.Volumes[0].Secret.Optional = ptr(true)
	_, err = m.SetUp(ctx, pod)
	require.NoError(t, err)
	files, _ = tree(t, dir)
	assert.Empty(t, files, "an optional secret that is gone empties the volume")
}

func TestDownwardAPI(t *testing.T) {
	m, root := newManager(t, nil, func(c *volume.Config) {
		c.NodeAllocatable = func() api.ResourceList { return api.ResourceList{api.ResourceEphemeralStorage: mustQ("10Gi")} }
	})
	field := func(path, fp string) api.DownwardAPIVolumeFile {
		return api.DownwardAPIVolumeFile{Path: path, FieldRef: &api.ObjectFieldSelector{FieldPath: fp}}
	}
	res := func(path, r, div string) api.DownwardAPIVolumeFile {
		return api.DownwardAPIVolumeFile{Path: path, ResourceFieldRef: &api.ResourceFieldSelector{ContainerName: "app", Resource: r, Divisor: mustQ(div)}}
	}
	pod := newPod("u1", api.Volume{Name: "info", VolumeSource: api.VolumeSource{DownwardAPI: &api.DownwardAPIVolumeSource{
		Items: []api.DownwardAPIVolumeFile{
			field("name", "metadata.name"), field("namespace", "metadata.namespace"), field("uid", "metadata.uid"),
			field("labels", "metadata.labels"), field("annotations", "metadata.annotations"),
			field("tier", "metadata.labels['tier']"), field("node", "spec.nodeName"),
			res("cpu_limit", "limits.cpu", "1m"), res("mem_limit", "limits.memory", "1Mi"),
			res("eph_limit", "limits.ephemeral-storage", "1Gi"),
			{Path: "secret/name", Mode: ptr(int32(0o600)), FieldRef: &api.ObjectFieldSelector{FieldPath: "metadata.name"}},
		},
	}}})
	paths, err := m.SetUp(ctx, pod)
	require.NoError(t, err)
	dir := filepath.Join(root, "u1", "volumes", "downward-api", "info")
	assert.Equal(t, dir, paths["info"])
	files, modes := tree(t, dir)
	assert.Equal(t, map[string]string{
		"name": "web", "namespace": "ns", "uid": "u1",
		"labels":      "app=\"web\"\ntier=\"front\"",
		"annotations": `note="say \"hi\"\n"`,
		"tier":        "front", "node": "node-1",
		"cpu_limit": "500", "mem_limit": "128", "eph_limit": "10",
		"secret/name": "web",
	}, files)
	assert.Equal(t, os.FileMode(0o600), modes["secret/name"])
	assert.Equal(t, os.FileMode(0o644), modes["name"])

	// Labels change: the next SetUp follows.
	pod.Labels["tier"] = "back"
	_, err = m.SetUp(ctx, pod)
	require.NoError(t, err)
	files, _ = tree(t, dir)
	assert.Equal(t, "back", files["tier"])
	assert.Equal(t, "app=\"web\"\ntier=\"back\"", files["labels"])

	for _, tc := range []struct {
		item api.DownwardAPIVolumeFile
		err  string
	}{
		{api.DownwardAPIVolumeFile{Path: "x", ResourceFieldRef: &api.ResourceFieldSelector{Resource: "limits.cpu"}},
			`downwardAPI.items[0].resourceFieldRef.containerName is required in a volume`},
		{api.DownwardAPIVolumeFile{Path: "x", ResourceFieldRef: &api.ResourceFieldSelector{ContainerName: "app", Resource: "requests.gpu"}},
			`downwardAPI.items[0]: resourceFieldRef resource "requests.gpu" is not supported: want limits.<r> or requests.<r> with <r> cpu, memory, ephemeral-storage or hugepages-<size>`},
		{field("x", "spec.nope"),
			`downwardAPI.items[0].fieldRef: field path "spec.nope" is not supported: want one of metadata.name, metadata.namespace, metadata.uid, spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP, status.podIPs, metadata.labels['key'] or metadata.annotations['key']`},
		{field("../x", "metadata.name"), `downwardAPI.items[0].path "../x" must not start with ".."`},
		{api.DownwardAPIVolumeFile{Path: "x"}, `downwardAPI.items[0]: neither fieldRef nor resourceFieldRef is set`},
	} {
		bad := newPod("u2", api.Volume{Name: "info", VolumeSource: api.VolumeSource{DownwardAPI: &api.DownwardAPIVolumeSource{
			Items: []api.DownwardAPIVolumeFile{tc.item}}}})
		_, err := m.SetUp(ctx, bad)
		assert.EqualError(t, err, `volume: pod ns/web: volume "info": `+tc.err)
	}
}

func TestProjected(t *testing.T) {
	objs := newObjects()
	objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"a": "cm-a", "b": "cm-b"}})
	objs.setSecret(&api.Secret{ObjectMeta: api.ObjectMeta{Name: "creds", Namespace: "ns"}, Data: map[string][]byte{"b": []byte("secret-b"), "token": []byte("t")}})
	m, root := newManager(t, objs)
	pod := newPod("u1", api.Volume{Name: "all", VolumeSource: api.VolumeSource{Projected: &api.ProjectedVolumeSource{
		DefaultMode: ptr(int32(0o640)),
		Sources: []api.VolumeProjection{
			{ConfigMap: &api.ConfigMapProjection{LocalObjectReference: api.LocalObjectReference{Name: "cfg"}}},
			{Secret: &api.SecretProjection{LocalObjectReference: api.LocalObjectReference{Name: "creds"},
				Items: []api.KeyToPath{{Key: "b", Path: "b"}, {Key: "token", Path: "auth/token", Mode: ptr(int32(0o400))}}}},
			{Secret: &api.SecretProjection{LocalObjectReference: api.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
			{DownwardAPI: &api.DownwardAPIProjection{Items: []api.DownwardAPIVolumeFile{
				{Path: "podname", FieldRef: &api.ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
		},
	}}})
	paths, err := m.SetUp(ctx, pod)
	require.NoError(t, err)
	dir := filepath.Join(root, "u1", "volumes", "projected", "all")
	assert.Equal(t, dir, paths["all"])
	files, modes := tree(t, dir)
	assert.Equal(t, map[string]string{"a": "cm-a", "b": "secret-b", "auth/token": "t", "podname": "web"}, files,
		"a later source's file replaces an earlier one's")
	assert.Equal(t, map[string]os.FileMode{"a": 0o640, "b": 0o640, "auth/token": 0o400, "podname": 0o640}, modes)

	pod.Spec.Volumes[0].Projected.Sources = append(pod.Spec.Volumes[0].Projected.Sources,
		api.VolumeProjection{ServiceAccountToken: &api.ServiceAccountTokenProjection{Path: "token"}})
	_, err = m.SetUp(ctx, pod)
	assert.EqualError(t, err, `volume: pod ns/web: volume "all": projected.sources[4].serviceAccountToken is not supported yet: project configMap, secret or downwardAPI`)

	pod.Spec.Volumes[0].Projected.Sources = []api.VolumeProjection{{Secret: &api.SecretProjection{LocalObjectReference: api.LocalObjectReference{Name: "gone"}}}}
	_, err = m.SetUp(ctx, pod)
	assert.EqualError(t, err, `volume: pod ns/web: volume "all": secret "gone" not found`)
}

func TestSetUpReportsEveryFailedVolume(t *testing.T) {
	m, _ := newManager(t, newObjects())
	pod := newPod("u1",
		api.Volume{Name: "ok", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}},
		api.Volume{Name: "a", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "x"}}}},
		api.Volume{Name: "b", VolumeSource: api.VolumeSource{}},
	)
	_, err := m.SetUp(ctx, pod)
	assert.EqualError(t, err, "volume: pod ns/web: volume \"a\": configmap \"x\" not found\n"+
		"volume \"b\": no supported volume source set: want one of hostPath, emptyDir, configMap, secret, projected, downwardAPI")

	bad := newPod("../escape", api.Volume{Name: "ok", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}})
	_, err = m.SetUp(ctx, bad)
	assert.EqualError(t, err, `volume: pod ns/web: pod uid "../escape" cannot name a directory: want a non-empty name without "/", not "." or ".."`)
	bad = newPod("u2", api.Volume{Name: "..", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}})
	_, err = m.SetUp(ctx, bad)
	assert.EqualError(t, err, `volume: pod ns/web: volume "..": volume name ".." cannot name a directory: want a non-empty name without "/", not "." or ".."`)
}

func TestTearDownAndPodUIDs(t *testing.T) {
	objs := newObjects()
	objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"a": "1"}})
	m, root := newManager(t, objs)
	uids, err := m.PodUIDs()
	require.NoError(t, err)
	assert.Empty(t, uids, "no root yet")

	for _, uid := range []string{"u2", "u1"} {
		_, err := m.SetUp(ctx, newPod(uid,
			api.Volume{Name: "scratch", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}},
			api.Volume{Name: "cfg", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "cfg"}}}},
		))
		require.NoError(t, err)
	}
	// A Manager made after a restart finds them on disk.
	cfg := volume.DefaultConfig()
	cfg.Root = root
	cfg.DisableTmpfs = true
	restarted, err := volume.NewManager(cfg)
	require.NoError(t, err)
	uids, err = restarted.PodUIDs()
	require.NoError(t, err)
	assert.Equal(t, []string{"u1", "u2"}, uids)

	require.NoError(t, restarted.TearDown(ctx, "u1"))
	require.NoError(t, restarted.TearDown(ctx, "u1"), "idempotent")
	require.NoError(t, restarted.TearDown(ctx, "never-seen"))
	_, err = os.Stat(filepath.Join(root, "u1"))
	assert.True(t, errors.Is(err, os.ErrNotExist))
	uids, err = m.PodUIDs()
	require.NoError(t, err)
	assert.Equal(t, []string{"u2"}, uids)
	assert.Error(t, m.TearDown(ctx, "../u2"))
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, _ := newManager(t, newObjects(), func(c *volume.Config) { c.Registerer = reg })
	_, err := m.SetUp(ctx, newPod("u1", api.Volume{Name: "s", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}}))
	require.NoError(t, err)
	_, err = m.SetUp(ctx, newPod("u1", api.Volume{Name: "c", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{
		LocalObjectReference: api.LocalObjectReference{Name: "x"}}}}))
	require.Error(t, err)
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "drover_kubelet_volume_setups_total" {
			continue
		}
		for _, mt := range f.GetMetric() {
			l := map[string]string{}
			for _, lp := range mt.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			got[l["plugin"]+"/"+l["result"]] = mt.GetCounter().GetValue()
		}
	}
	assert.Equal(t, map[string]float64{"empty-dir/success": 1, "configmap/error": 1}, got)

	cfg := volume.DefaultConfig()
	cfg.Registerer = reg
	_, err = volume.NewManager(cfg)
	assert.ErrorContains(t, err, "does another volume Manager use this Registerer?")
}
