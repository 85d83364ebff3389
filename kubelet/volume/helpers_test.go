package volume_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/kubelet/volume"
)

// objects is an in-memory volume.Getter whose objects a test changes
// while the Manager reads them.
type objects struct {
	mu         sync.Mutex
	configMaps map[string]*api.ConfigMap
	secrets    map[string]*api.Secret
}

func newObjects() *objects {
	return &objects{configMaps: map[string]*api.ConfigMap{}, secrets: map[string]*api.Secret{}}
}

func (o *objects) setConfigMap(cm *api.ConfigMap) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.configMaps[cm.Namespace+"/"+cm.Name] = cm
}

func (o *objects) setSecret(s *api.Secret) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.secrets[s.Namespace+"/"+s.Name] = s
}

func (o *objects) ConfigMap(_ context.Context, ns, name string) (*api.ConfigMap, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if cm, ok := o.configMaps[ns+"/"+name]; ok {
		return cm, nil
	}
	return nil, api.NewNotFound(api.GroupResource{Resource: "configmaps"}, name)
}

func (o *objects) Secret(_ context.Context, ns, name string) (*api.Secret, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s, ok := o.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, api.NewNotFound(api.GroupResource{Resource: "secrets"}, name)
}

// newManager returns a Manager over a fresh root, without tmpfs unless
// the config says otherwise, that tears its pods down when the test ends.
func newManager(t testing.TB, g volume.Getter, edit ...func(*volume.Config)) (*volume.Manager, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "pods")
	cfg := volume.DefaultConfig()
	cfg.Root = root
	cfg.Getter = g
	cfg.DisableTmpfs = true
	cfg.Clock = fakeclock.New(time.Date(2026, 11, 21, 13, 45, 7, 0, time.UTC))
	for _, e := range edit {
		e(&cfg)
	}
	m, err := volume.NewManager(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		uids, err := m.PodUIDs()
		require.NoError(t, err)
		for _, uid := range uids {
			require.NoError(t, m.TearDown(context.Background(), uid))
		}
	})
	return m, root
}

func newPod(uid string, volumes ...api.Volume) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{
			Name: "web", Namespace: "ns", UID: api.UID(uid),
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": "say \"hi\"\n"},
		},
		Spec: api.PodSpec{
			NodeName: "node-1",
			Volumes:  volumes,
			Containers: []api.Container{{Name: "app", Resources: api.ResourceRequirements{
				Limits: api.ResourceList{api.ResourceCPU: mustQ("500m"), api.ResourceMemory: mustQ("128Mi")},
			}}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// tree returns the files a container sees under dir, following links
// (path -> content), with their modes.
func tree(t *testing.T, dir string) (map[string]string, map[string]os.FileMode) {
	t.Helper()
	files := map[string]string{}
	modes := map[string]os.FileMode{}
	var walk func(rel string)
	walk = func(rel string) {
		entries, err := os.ReadDir(filepath.Join(dir, rel))
		require.NoError(t, err)
		for _, e := range entries {
			name := filepath.Join(rel, e.Name())
			if rel == "" && e.Name()[0] == '.' && len(e.Name()) > 1 && e.Name()[1] == '.' {
				continue // the writer's own ..data and timestamped directories
			}
			info, err := os.Stat(filepath.Join(dir, name))
			require.NoError(t, err)
			if info.IsDir() {
				walk(name)
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			files[name] = string(data)
			modes[name] = info.Mode().Perm()
		}
	}
	walk("")
	return files, modes
}

// hidden lists the writer's own entries of dir ("..data", timestamped
// directories), sorted.
func hidden(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if n := e.Name(); len(n) >= 2 && n[:2] == ".." {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// requireRoot skips a test that needs root (mounts), or fails it when
// DROVER_INTEGRATION=1 says such tests must run.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("DROVER_INTEGRATION") == "1" {
		t.Fatalf("this test mounts tmpfs and needs root (uid %d); DROVER_INTEGRATION=1 says it must run", os.Geteuid())
	}
	t.Skipf("this test mounts tmpfs and needs root (uid %d); run it as root, and set DROVER_INTEGRATION=1 to make that a failure", os.Geteuid())
}
