package funcrt_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/examples/runtime-driver/funcrt"
	"github.com/drover-io/drover/runtime/runtimetest"
)

var _ runtimetest.Commands = funcrt.Commands{}

// toolbox is the conformance suite's image: its Main only waits, the
// suite's commands are the builtins every image has.
const toolbox = "example.com/funcrt/toolbox:v1"

func testRegistry(t *testing.T) *funcrt.Registry {
	r := funcrt.NewRegistry()
	require.NoError(t, r.Add(toolbox, funcrt.Image{Main: func(ctx context.Context, _ *funcrt.Process) int {
		<-ctx.Done()
		return 0
	}}))
	return r
}

// TestConformance runs runtimetest against funcrt for what it claims:
// no isolation (mounts are skipped), no OOM kill, no stats; exec yes.
func TestConformance(t *testing.T) {
	reg := testRegistry(t)
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtimetest.Driver {
			d, err := funcrt.New(funcrt.Config{Registry: reg})
			require.NoError(t, err)
			t.Cleanup(func() { removeAll(t, d) })
			return runtimetest.Driver{Runtime: d, Images: d}
		},
		Restart: func(t *testing.T, old runtimetest.Driver) runtimetest.Driver {
			d, err := funcrt.New(funcrt.Config{Registry: reg, State: old.Runtime.(*funcrt.Driver).State()})
			require.NoError(t, err)
			return runtimetest.Driver{Runtime: d, Images: d}
		},
		Image:               toolbox,
		MissingImage:        "registry.example:5000/missing:v1",
		MissingImageMessage: "not registered in this program",
		Commands:            funcrt.Commands{},
		Capabilities:        runtimetest.Capabilities{Isolated: false, OOM: false, Stats: false, Exec: true},
	})
}

// removeAll removes every sandbox, so no goroutine outlives its test.
func removeAll(t *testing.T, d *funcrt.Driver) {
	ctx := context.Background()
	sbs, err := d.ListPodSandboxes(ctx)
	require.NoError(t, err)
	for _, sb := range sbs {
		require.NoError(t, d.RemovePodSandbox(ctx, sb.ID))
	}
}
