package volume_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/kubelet/envvars"
	"github.com/drover-io/drover/kubelet/volume"
)

// The Getter is what envvars reads through too.
var _ envvars.Sources = volume.Getter(nil)

// TestConfigMapVolumeFollowsUpdatesThroughTheAPI is issue 9's configMap
// test at the volume level: a volume shows a ConfigMap's data read from
// a real API server, and follows its update.
func TestConfigMapVolumeFollowsUpdatesThroughTheAPI(t *testing.T) {
	env := controllertest.New(t)
	c := env.Client
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "app"}, Data: map[string]string{"greeting": "hello"}}
	require.NoError(t, c.Create(ctx, cm))
	require.NoError(t, c.Create(ctx, &api.Secret{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "creds"},
		Data: map[string][]byte{"token": []byte("t0k3n")}}))

	m, root := newManager(t, volume.ClientGetter(c))
	pod := newPod("u1",
		api.Volume{Name: "config", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "app"}}}},
		api.Volume{Name: "creds", VolumeSource: api.VolumeSource{Secret: &api.SecretVolumeSource{SecretName: "creds"}}},
	)
	pod.Namespace = "default"
	paths, err := m.SetUp(ctx, pod)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "u1", "volumes", "configmap", "config"), paths["config"])
	files, _ := tree(t, paths["config"])
	assert.Equal(t, map[string]string{"greeting": "hello"}, files)
	files, _ = tree(t, paths["creds"])
	assert.Equal(t, map[string]string{"token": "t0k3n"}, files)

	cm.Data = map[string]string{"greeting": "bonjour", "extra": "1"}
	require.NoError(t, c.Update(ctx, cm))
	_, err = m.SetUp(ctx, pod)
	require.NoError(t, err)
	files, _ = tree(t, paths["config"])
	assert.Equal(t, map[string]string{"greeting": "bonjour", "extra": "1"}, files)

	// Deleted: not optional, so an error that matches api.ErrNotFound;
	// the files stay as they were.
	require.NoError(t, c.Delete(ctx, cm))
	_, err = m.SetUp(ctx, pod)
	assert.EqualError(t, err, `volume: pod default/web: volume "config": configmap "app" not found`)
	assert.True(t, errors.Is(err, api.ErrNotFound))
	files, _ = tree(t, paths["config"])
	assert.Equal(t, map[string]string{"greeting": "bonjour", "extra": "1"}, files)

	// envvars reads through the same Getter.
	ctr := api.Container{Name: "app", Env: []api.EnvVar{{Name: "TOKEN", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{
		LocalObjectReference: api.LocalObjectReference{Name: "creds"}, Key: "token"}}}}}
	kv, err := envvars.Resolve(ctx, pod, &ctr, volume.ClientGetter(c))
	require.NoError(t, err)
	assert.Equal(t, "t0k3n", kv[0].Value)
}

func TestConcurrentSetUpAndTearDown(t *testing.T) {
	objs := newObjects()
	objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"k": "v0"}})
	m, _ := newManager(t, objs)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for p := 0; p < 4; p++ {
		uid := fmt.Sprintf("u%d", p)
		pod := newPod(uid, configMapVolume("cfg"), api.Volume{Name: "s", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}})
		for w := 0; w < 3; w++ { // several callers of one pod: serialized
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					if w == 0 {
						objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"k": fmt.Sprint("v", i)}})
					}
					if _, err := m.SetUp(ctx, pod); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	uids, err := m.PodUIDs()
	require.NoError(t, err)
	assert.Equal(t, []string{"u0", "u1", "u2", "u3"}, uids)
	for _, uid := range uids {
		wg.Add(1)
		go func() { defer wg.Done(); assert.NoError(t, m.TearDown(ctx, uid)) }()
	}
	wg.Wait()
	uids, err = m.PodUIDs()
	require.NoError(t, err)
	assert.Empty(t, uids)
}
