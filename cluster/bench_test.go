package cluster

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// BenchmarkUpReady measures `drover up` on a new data directory: from
// Start to an API server that answers /readyz with the scheduler and the
// controllers running (the node, and the "node Ready within 2 s",
// come with the node agent). Close is not timed.
func BenchmarkUpReady(b *testing.B) {
	ctx := context.Background()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		cfg := DefaultAllInOneConfig(b.TempDir())
		cfg.APIAddr = "127.0.0.1:0"
		cfg.Node.Runtime, cfg.Node.KubeletAddr = RuntimeFake, "127.0.0.1:0"
		a, err := NewAllInOne(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := a.Start(ctx); err != nil {
			b.Fatal(err)
		}
		for !a.Leading() || !readyz(a.URL()) {
			time.Sleep(time.Millisecond) // polling interval
		}
		total += time.Since(start)
		b.StopTimer()
		if err := a.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/ready")
}

// readyz reports whether url answers /readyz with 200.
func readyz(url string) bool {
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
