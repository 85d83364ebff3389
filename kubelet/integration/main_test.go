// Package integration runs the node agent (package kubelet with all its
// parts: nodestatus, volume, envvars, prober, server) against a real API
// server (controllertest) and a real runtime (runtime/oci, runc), with a
// busybox image pulled from a registry started in the test. The tests need
// root, runc and a static busybox: without them they are skipped, or fail
// when DROVER_INTEGRATION=1 (CI). Run them with
//
//	DROVER_INTEGRATION=1 go test -race -count=1 -run Integration ./kubelet/...
package integration

import (
	"os"
	"testing"

	"github.com/drover-io/drover/runtime/oci"
)

func TestMain(m *testing.M) {
	// The oci driver re-executes the test binary as its container shim.
	oci.RunShimIfRequested()
	os.Exit(m.Run())
}
