package volume_test

import (
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
)

// BenchmarkSetUp measures a periodic SetUp of a pod with a 10-key
// configMap volume and an emptyDir: unchanged (the common case: compare,
// write nothing) and changed (a full atomic write).
func BenchmarkSetUp(b *testing.B) {
	for _, changed := range []bool{false, true} {
		b.Run(fmt.Sprintf("changed=%v", changed), func(b *testing.B) {
			objs := newObjects()
			data := map[string]string{}
			for i := 0; i < 10; i++ {
				data[fmt.Sprint("key", i)] = fmt.Sprintf("%01000d", i) // 1 KB each
			}
			objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: data})
			m, _ := newManager(b, objs)
			pod := newPod("u1", configMapVolume("cfg"), api.Volume{Name: "s", VolumeSource: api.VolumeSource{EmptyDir: &api.EmptyDirVolumeSource{}}})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if changed {
					objs.setConfigMap(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"key0": fmt.Sprint(i)}})
				}
				if _, err := m.SetUp(ctx, pod); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
