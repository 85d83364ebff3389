package fake_test

import (
	"testing"

	"github.com/drover-io/drover/runtime/fake"
	"github.com/drover-io/drover/runtime/runtimetest"
)

func TestConformance(t *testing.T) {
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtimetest.Driver {
			d, err := fake.New(fake.Config{})
			if err != nil {
				t.Fatal(err)
			}
			return runtimetest.Driver{Runtime: d, Images: d}
		},
		Restart: func(t *testing.T, old runtimetest.Driver) runtimetest.Driver {
			d, err := fake.New(fake.Config{State: old.Runtime.(*fake.Driver).State()})
			if err != nil {
				t.Fatal(err)
			}
			return runtimetest.Driver{Runtime: d, Images: d}
		},
		Image:               "busybox",
		MissingImage:        "registry.example:5000/missing:v1",
		MissingImageMessage: "manifest unknown",
		Capabilities:        runtimetest.Capabilities{Isolated: true, OOM: true, Stats: true, Exec: true},
	})
}
