package process_test

import (
	"os"
	"testing"

	"github.com/drover-io/drover/runtime/image/imagetest"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime/process"
	"github.com/drover-io/drover/runtime/runtimetest"
)

func TestConformance(t *testing.T) {
	if os.Geteuid() != 0 {
		// Without a chroot, a process sees the node's paths: the suite's
		// EnvArgsWorkingDir case (pwd prints "/tmp") cannot pass, and the
		// suite has no capability to say so.
		t.Skip("the conformance suite needs IsolationChroot, which needs root")
	}
	host := imagetest.StartRegistry(t, nil)
	ref := host + "/busybox:latest"
	imagetest.Push(t, ref, busyboxImage(t))
	probe := newDriver(t, process.Config{Root: t.TempDir(), Isolation: process.IsolationChroot})
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtimetest.Driver {
			d := newDriver(t, process.Config{Root: t.TempDir(), Isolation: process.IsolationChroot})
			return runtimetest.Driver{Runtime: d, Images: d}
		},
		Restart: func(t *testing.T, old runtimetest.Driver) runtimetest.Driver {
			o := old.Runtime.(*process.Driver)
			require.NoError(t, o.Close()) // as the process ending does: its image store is locked while open
			d := newDriver(t, process.Config{Root: o.Root(), Isolation: process.IsolationChroot})
			return runtimetest.Driver{Runtime: d, Images: d}
		},
		Image:               ref,
		MissingImage:        host + "/busybox:missing",
		MissingImageMessage: "MANIFEST_UNKNOWN",
		// Not Isolated: mounts are refused. OOM where memory limits are
		// enforced (root and the cgroup v1 memory controller).
		Capabilities: runtimetest.Capabilities{Stats: true, Exec: true, OOM: probe.EnforcesMemoryLimits()},
	})
}
