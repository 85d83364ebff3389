package volume_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

func configMapVolume(name string, items ...api.KeyToPath) api.Volume {
	return api.Volume{Name: "config", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{
		LocalObjectReference: api.LocalObjectReference{Name: name}, Items: items,
	}}}
}

func TestUpdateInPlace(t *testing.T) {
	objs := newObjects()
	objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"},
		Data: map[string]string{"keep": "1", "change": "old", "drop": "x"}})
	m, root := newManager(t, objs)
	pod := newPod("u1", configMapVolume("cfg"))
	_, err := m.SetUp(ctx, pod)
	require.NoError(t, err)
	dir := filepath.Join(root, "u1", "volumes", "configmap", "config")
	before := hidden(t, dir)

	// Nothing changed: nothing is written.
	_, err = m.SetUp(ctx, pod)
	require.NoError(t, err)
	assert.Equal(t, before, hidden(t, dir))

	// A container holding the old file open keeps reading the old
	// version; new opens see the new one.
	held, err := os.Open(filepath.Join(dir, "change"))
	require.NoError(t, err)
	defer held.Close()

	objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"},
		Data: map[string]string{"keep": "1", "change": "new", "add": "+"}})
	_, err = m.SetUp(ctx, pod)
	require.NoError(t, err)
	files, _ := tree(t, dir)
	assert.Equal(t, map[string]string{"keep": "1", "change": "new", "add": "+"}, files)
	_, err = os.Lstat(filepath.Join(dir, "drop"))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "the link of a key that is gone is removed")
	after := hidden(t, dir)
	require.Len(t, after, 2, "the previous contents directory is removed: %v", after)
	assert.NotEqual(t, before, after)
	old := make([]byte, 3)
	_, err = held.Read(old)
	require.NoError(t, err)
	assert.Equal(t, "old", string(old))

	// Stale leftovers of a crash (a ..data_tmp, an orphan contents
	// directory) and a broken link are cleaned up by the next write.
	require.NoError(t, os.Symlink("nowhere", filepath.Join(dir, "..data_tmp")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "..2020_01_01_00_00_00.1"), 0o755))
	require.NoError(t, os.Remove(filepath.Join(dir, "keep")))
	_, err = m.SetUp(ctx, pod)
	require.NoError(t, err)
	files, _ = tree(t, dir)
	assert.Equal(t, map[string]string{"keep": "1", "change": "new", "add": "+"}, files)
	assert.Equal(t, after, hidden(t, dir))
}

// version is the content of a file at update n: large, so that a partly
// written file would show.
func version(n int, key string) string {
	return strings.Repeat(fmt.Sprintf("%s=%06d;", key, n), 2000)
}

func parseVersion(t *testing.T, key, content string) int {
	var n int
	_, err := fmt.Sscanf(content, key+"=%06d;", &n)
	require.NoError(t, err, "unparsable %s: %.40q", key, content)
	require.Equal(t, version(n, key), content, "%s is a partly written or mixed file", key)
	return n
}

// TestAtomicUpdateReaderNeverSeesAMix updates a volume many times while a
// reader reads it: through one resolution of ..data, the files are
// always of one version; through the user-visible links, each file is
// always whole; versions never go back.
func TestAtomicUpdateReaderNeverSeesAMix(t *testing.T) {
	objs := newObjects()
	keys := []string{"a", "b", "c"}
	set := func(n int) {
		objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{
			"a": version(n, "a"), "b": version(n, "b"), "c": version(n, "c"),
		}})
	}
	set(0)
	m, root := newManager(t, objs)
	pod := newPod("u1", configMapVolume("cfg",
		api.KeyToPath{Key: "a", Path: "a"}, api.KeyToPath{Key: "b", Path: "b"}, api.KeyToPath{Key: "c", Path: "sub/c"}))
	_, err := m.SetUp(ctx, pod)
	require.NoError(t, err)
	dir := filepath.Join(root, "u1", "volumes", "configmap", "config")
	paths := map[string]string{"a": "a", "b": "b", "c": "sub/c"}

	const updates = 150
	done := make(chan struct{})
	var wg sync.WaitGroup
	var snapshots, vanished, highest int
	var failure error
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := 0
		lastLinked := map[string]int{}
		check := func() error {
			// One resolution of ..data: a consistent snapshot.
			r, err := os.OpenRoot(filepath.Join(dir, "..data"))
			if errors.Is(err, fs.ErrNotExist) {
				vanished++
				return nil
			}
			if err != nil {
				return err
			}
			defer r.Close()
			seen := -1
			for _, k := range keys {
				data, err := r.ReadFile(paths[k])
				if errors.Is(err, fs.ErrNotExist) {
					vanished++ // the writer removed this old version meanwhile
					return nil
				}
				if err != nil {
					return err
				}
				var n int
				if _, err := fmt.Sscanf(string(data), k+"=%06d;", &n); err != nil || string(data) != version(n, k) {
					return fmt.Errorf("%s through ..data is not a whole version: %.40q", k, data)
				}
				if seen >= 0 && n != seen {
					return fmt.Errorf("a mix: %s is version %d, an earlier file version %d", k, n, seen)
				}
				seen = n
			}
			if seen < last {
				return fmt.Errorf("went back from version %d to %d", last, seen)
			}
			last = seen
			snapshots++
			// Through the user-visible links, as a container reads.
			for _, k := range keys {
				data, err := os.ReadFile(filepath.Join(dir, paths[k]))
				if errors.Is(err, fs.ErrNotExist) {
					vanished++
					continue
				}
				if err != nil {
					return err
				}
				var n int
				if _, err := fmt.Sscanf(string(data), k+"=%06d;", &n); err != nil || string(data) != version(n, k) {
					return fmt.Errorf("%s is not a whole version: %.40q", k, data)
				}
				if n < lastLinked[k] {
					return fmt.Errorf("%s went back from version %d to %d", k, lastLinked[k], n)
				}
				lastLinked[k] = n
			}
			highest = last
			return nil
		}
		for {
			select {
			case <-done:
				failure = check() // at least one read after the last update
				return
			default:
			}
			if failure = check(); failure != nil {
				return
			}
		}
	}()
	for n := 1; n <= updates; n++ {
		set(n)
		if _, err := m.SetUp(ctx, pod); err != nil {
			close(done)
			wg.Wait()
			require.NoError(t, err)
		}
	}
	close(done)
	wg.Wait()
	require.NoError(t, failure)
	assert.Equal(t, updates, highest, "the last read sees the last update")
	assert.Positive(t, snapshots)
	t.Logf("%d consistent snapshots, %d reads raced with the removal of an old version", snapshots, vanished)
	files, _ := tree(t, dir)
	for _, k := range keys {
		assert.Equal(t, updates, parseVersion(t, k, files[paths[k]]))
	}
	assert.Len(t, hidden(t, dir), 2, "one contents directory and ..data")
}

func TestPathEscapeIsRejected(t *testing.T) {
	objs := newObjects()
	objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"k": "v"}})
	for path, want := range map[string]string{
		"../escape":      `path "../escape" must not start with ".."`,
		"a/../../escape": `path "a/../../escape" must not contain ".."`,
		"a/..":           `path "a/.." must not contain ".."`,
		"/etc/passwd":    `path "/etc/passwd" must be a relative path`,
		"..data":         `path "..data" must not start with ".."`,
		"..2026_x/f":     `path "..2026_x/f" must not start with ".."`,
		".":              `path "." must not contain "." elements`,
		"a/./b":          `path "a/./b" must not contain "." elements`,
		"a//b":           `path "a//b" must be a clean path (no "//", "." elements or trailing "/")`,
		"a/":             `path "a/" must be a clean path (no "//", "." elements or trailing "/")`,
		"":               `path must not be empty`,
		"a\x00b":         `path must not contain a NUL byte`,
	} {
		t.Run(path, func(t *testing.T) {
			m, root := newManager(t, objs)
			pod := newPod("u1", configMapVolume("cfg", api.KeyToPath{Key: "k", Path: path}))
			_, err := m.SetUp(ctx, pod)
			assert.EqualError(t, err, `volume: pod ns/web: volume "config": configMap.items[0].`+want)
			entries, err := os.ReadDir(filepath.Dir(root))
			require.NoError(t, err)
			assert.Empty(t, entries, "a rejected volume writes nothing at all")
		})
	}

	// Keys are checked as paths too when there are no items.
	bad := newObjects()
	bad.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"..data": "v"}})
	m, _ := newManager(t, bad)
	_, err := m.SetUp(ctx, newPod("u1", configMapVolume("cfg")))
	assert.EqualError(t, err, `volume: pod ns/web: volume "config": configmap "cfg": key "..data" must not start with ".."`)
}

// FuzzItemPaths writes a configMap key at a fuzzed item path: either the
// path is rejected, or the file is inside the volume and holds the key.
func FuzzItemPaths(f *testing.F) {
	for _, p := range []string{"a", "a/b/c", "../x", "/abs", "a/../../b", "..data", ".", "a/.", "x\x00", "a//b", "..", "...", ".a", "a/..b"} {
		f.Add(p)
	}
	objs := newObjects()
	objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"k": "value"}})
	f.Fuzz(func(t *testing.T, path string) {
		m, root := newManager(t, objs)
		paths, err := m.SetUp(ctx, newPod("u1", configMapVolume("cfg", api.KeyToPath{Key: "k", Path: path})))
		top := filepath.Dir(root)
		entries, rerr := os.ReadDir(top)
		require.NoError(t, rerr)
		if len(entries) > 1 || len(entries) == 1 && entries[0].Name() != "pods" {
			t.Fatalf("path %q: something was written beside the pods' root: %v", path, entries)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "path") {
				t.Fatalf("path %q: error does not say it is the path: %v", path, err)
			}
			return
		}
		dir := paths["config"]
		full := filepath.Join(dir, path)
		data, rerr := os.ReadFile(full)
		require.NoError(t, rerr, "path %q accepted but not readable", path)
		assert.Equal(t, "value", string(data))
		real, rerr := filepath.EvalSymlinks(full)
		require.NoError(t, rerr)
		realDir, rerr := filepath.EvalSymlinks(dir)
		require.NoError(t, rerr)
		if !strings.HasPrefix(real, realDir+"/") {
			t.Fatalf("path %q resolves to %q, outside the volume %q", path, real, realDir)
		}
	})
}
