package oci_test

import (
	"testing"

	"github.com/drover-io/drover/runtime/oci"
	"github.com/drover-io/drover/runtime/runtimetest"
)

func TestConformance(t *testing.T) {
	requireHost(t)
	image := registryImage(t)
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtimetest.Driver {
			e := &env{t: t, cfg: testConfig(t)}
			return runtimetest.Driver{Runtime: e.newDriver(), Images: e.d}
		},
		Restart: func(t *testing.T, old runtimetest.Driver) runtimetest.Driver {
			prev := old.Runtime.(*oci.Driver)
			if err := prev.Close(); err != nil { // as the process ending does
				t.Fatal(err)
			}
			d, err := oci.New(prev.Config())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return runtimetest.Driver{Runtime: d, Images: d}
		},
		Image:               image,
		MissingImage:        image[:len(image)-len("busybox:latest")] + "missing:v1",
		MissingImageMessage: "MANIFEST_UNKNOWN", // what distribution 2.8 answers for a repository it does not have
		Capabilities:        runtimetest.Capabilities{Isolated: true, OOM: true, Stats: true, Exec: true},
	})
}
