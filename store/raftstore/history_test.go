package raftstore

import (
	"testing"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/storetest"
)

// TestConformanceTinyHistory runs the suite against a one-member cluster
// that keeps only 8 recent events in memory, so that nearly every watch
// falls out of the history and is served from the key history instead,
// as memstore's TestConformanceTinyWatchHistory does.
func TestConformanceTinyHistory(t *testing.T) {
	storetest.RunWithOptions(t, func(t *testing.T) store.Store {
		cfg := testConfig(t, "solo", tempDir(t), "127.0.0.1:0")
		cfg.WatchHistory = 8
		return openT(t, cfg)
	}, conformanceOptions)
}
