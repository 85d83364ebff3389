package volume_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/kubelet/volume"
)

func Example() {
	root, _ := os.MkdirTemp("", "pods")
	defer os.RemoveAll(root)

	cfg := volume.DefaultConfig()
	cfg.Root = root
	cfg.DisableTmpfs = true
	cfg.Getter = volume.GetterFuncs{ // or volume.ClientGetter(client)
		ConfigMapFunc: func(_ context.Context, namespace, name string) (*api.ConfigMap, error) {
			return &api.ConfigMap{Data: map[string]string{"greeting": "hello"}}, nil
		},
	}
	m, err := volume.NewManager(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web", UID: "0b7c"},
		Spec: api.PodSpec{Volumes: []api.Volume{
			{Name: "config", VolumeSource: api.VolumeSource{ConfigMap: &api.ConfigMapVolumeSource{
				LocalObjectReference: api.LocalObjectReference{Name: "app"}}}},
			{Name: "scratch", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}},
		}},
	}
	paths, err := m.SetUp(context.Background(), pod)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"config", "scratch"} {
		rel, _ := filepath.Rel(root, paths[name])
		fmt.Println(name, rel)
	}
	data, _ := os.ReadFile(filepath.Join(paths["config"], "greeting"))
	fmt.Println(string(data))
	fmt.Println(m.TearDown(context.Background(), "0b7c"))
	// Output:
	// config 0b7c/volumes/configmap/config
	// scratch 0b7c/volumes/empty-dir/scratch
	// hello
	// <nil>
}
