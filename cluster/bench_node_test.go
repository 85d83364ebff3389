package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/runtime/oci"
)

// TestMain lets the test binary serve as the oci driver's container
// monitor: a Node on runtime oci re-executes it (BenchmarkUpNodeReady).
func TestMain(m *testing.M) {
	oci.RunShimIfRequested()
	os.Exit(m.Run())
}

// upSteps are the progress steps BenchmarkUpNodeReady reports, with the
// metric each is reported as.
var upSteps = []struct{ step, metric string }{
	{"store ready", "store-ms"},
	{"API server listening", "api-ms"},
	{"controllers started", "controllers-ms"},
	{"node registered", "registered-ms"},
}

// BenchmarkUpNodeReady measures `drover up` on a new data directory with
// its node agent, on each runtime (oci only as root with runc): from
// Start to the "node registered" progress step (the target: 2 s), and to
// the Node's Ready condition True as the API server reports it. It
// reports the medians of the steps (ms since Start was called, NewNode
// included) and the CPU time of the process and its waited-for children
// from Start to Ready. Close is not timed.
func BenchmarkUpNodeReady(b *testing.B) {
	for _, rt := range []string{RuntimeFake, RuntimeProcess, RuntimeOCI} {
		b.Run("runtime="+rt, func(b *testing.B) {
			if rt == RuntimeOCI {
				if _, err := exec.LookPath("runc"); err != nil || os.Geteuid() != 0 {
					b.Skip("runtime oci needs root and runc")
				}
			}
			benchUp(b, rt)
		})
	}
}

func benchUp(b *testing.B, rt string) {
	steps := make([][]time.Duration, len(upSteps))
	var ready []time.Duration
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		cfg := DefaultAllInOneConfig(dir)
		cfg.APIAddr = "127.0.0.1:0"
		cfg.Node.Runtime, cfg.Node.KubeletAddr, cfg.Node.Name = rt, "127.0.0.1:0", "bench-node"
		var mu sync.Mutex
		at := map[string]time.Time{}
		registered := make(chan struct{})
		cfg.OnProgress = func(p Progress) {
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			for _, s := range upSteps {
				if _, seen := at[s.step]; !seen && strings.HasPrefix(p.Step, s.step) {
					at[s.step] = now
				}
			}
			if p.Step == "node registered" {
				close(registered)
			}
		}
		a, err := NewAllInOne(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0 := processCPU()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := a.Start(ctx); err != nil {
			b.Fatal(err)
		}
		select {
		case <-registered:
		case <-a.Done():
			b.Fatalf("cluster stopped before the node registered: %v", a.Wait())
		case <-ctx.Done():
			b.Fatal("node not registered within a minute")
		}
		// The Node's Ready condition as the API server reports it.
		for {
			var n api.Node
			if err := a.Client().Get(ctx, "", "bench-node", &n); err == nil && nodeIsReady(&n) {
				break
			}
			if ctx.Err() != nil {
				b.Fatal("node not Ready within a minute")
			}
			time.Sleep(time.Millisecond) // polling interval
		}
		ready = append(ready, time.Since(start))
		cpu += processCPU() - cpu0
		cancel()
		b.StopTimer()
		mu.Lock()
		for i, s := range upSteps {
			steps[i] = append(steps[i], at[s.step].Sub(start))
		}
		mu.Unlock()
		if err := a.Close(); err != nil {
			b.Fatal(err)
		}
		if rt == RuntimeOCI {
			removeOCIState(b, dir)
		}
		b.StartTimer()
	}
	for i, s := range upSteps {
		b.ReportMetric(msOf(median(steps[i])), s.metric)
	}
	b.ReportMetric(msOf(median(ready)), "ready-ms")
	b.ReportMetric(msOf(slices.Max(ready)), "ready-max-ms")
	b.ReportMetric(msOf(cpu)/float64(len(ready)), "cpu-ms/up")
}

// nodeIsReady reports whether n's Ready condition is True.
func nodeIsReady(n *api.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == api.NodeReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

// removeOCIState removes what a Node on runtime oci made outside dataDir:
// runc's state directory under /run/drover and its (empty) cgroups.
func removeOCIState(b *testing.B, dataDir string) {
	sum := sha256.Sum256([]byte(dataDir))
	h := hex.EncodeToString(sum[:6])
	if err := os.RemoveAll(filepath.Join("/run/drover", h)); err != nil {
		b.Error(err)
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/drover/" + h)
	more, _ := filepath.Glob("/sys/fs/cgroup/*/drover/" + h)
	for _, d := range append(dirs, more...) {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
			b.Errorf("cgroup left: %v", err)
		}
	}
}

// median is the middle of ds (the lower one of an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// msOf is d in milliseconds, for ReportMetric.
func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// processCPU is the user+system CPU time of the process and of its
// children that have been waited for.
func processCPU() time.Duration {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
}
