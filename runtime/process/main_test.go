package process_test

import (
	"os"
	"testing"

	"github.com/drover-io/drover/runtime/process"
)

func TestMain(m *testing.M) {
	// The driver runs this test binary again as each container's
	// monitor.
	process.RunMonitorIfRequested()
	os.Exit(m.Run())
}
