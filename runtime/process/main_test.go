package process_test

import (
	"os"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/drover-io/drover/runtime/process"
)

// spinEnv makes this test binary, run as a container's command, burn
// CPU in threads other than its main one (see TestStatsCountsEveryThread).
const spinEnv = "DROVER_PROCESS_TEST_SPIN"

func TestMain(m *testing.M) {
	// The driver runs this test binary again as each container's
	// monitor.
	process.RunMonitorIfRequested()
	if os.Getenv(spinEnv) != "" {
		spin()
	}
	os.Exit(m.Run())
}

// spin keeps two locked threads busy while the main thread blocks.
func spin() {
	goruntime.LockOSThread() // the main thread stays idle below
	for range 2 {
		go func() {
			goruntime.LockOSThread()
			for {
			}
		}()
	}
	for {
		time.Sleep(time.Hour)
	}
}
