package nodestatus

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/runtime/fake"
)

// BenchmarkRegisterToReady measures from New to the registered callback
// (the Node Ready in the API server) on an in-process API server: the
// node agent's part of issue 10's "Ready within 2 s of start". "host"
// detects the machine and addresses and probes the host; "hollow" is
// given them.
func BenchmarkRegisterToReady(b *testing.B) {
	for _, mode := range []string{"hollow", "host"} {
		b.Run(mode, func(b *testing.B) {
			env := controllertest.New(b, controllertest.WithLogger(slog.New(slog.DiscardHandler)))
			drv, err := fake.New(fake.Config{})
			if err != nil {
				b.Fatal(err)
			}
			var worst time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				cfg := DefaultConfig()
				cfg.Client, cfg.NodeName, cfg.Runtime = env.Client, mode+"-"+strconv.Itoa(i), drv
				if mode == "hollow" {
					m := testMachine
					cfg.Machine = &m
					cfg.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: "10.0.0.1"}}
					cfg.MemoryAvailable = func(context.Context) (int64, error) { return 1 << 30, nil }
					cfg.Filesystem = func(context.Context, string) (FilesystemStats, error) {
						return FilesystemStats{Capacity: 10 << 30, Available: 5 << 30}, nil
					}
					cfg.Processes = func(context.Context) (ProcessStats, error) { return ProcessStats{Running: 1, Max: 100}, nil }
				}
				r, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				ready := make(chan struct{})
				done := make(chan error, 1)
				go func() { done <- r.Run(ctx, func() { close(ready) }) }()
				<-ready
				worst = max(worst, time.Since(start))
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
		})
	}
}
