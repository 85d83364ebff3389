package kubeletbench_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/kubelet"
	"github.com/drover-io/drover/kubelet/nodestatus"
	"github.com/drover-io/drover/runtime/fake"
)

// nopRecorder drops events: the hollow fleet shares it.
type nopRecorder struct{}

func (nopRecorder) Eventf(api.Object, api.EventType, string, string, ...any) {}

// envInt is the environment variable name as an int, or def.
func envInt(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// rss is the process's resident set size (VmRSS), in bytes.
func rss(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// memory is the heap in use and the RSS after a GC.
type memory struct{ heap, rss int64 }

func measure(tb testing.TB) memory {
	goruntime.GC()
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return memory{heap: int64(ms.HeapInuse), rss: rss(tb)}
}

// BenchmarkHollowNodes runs DROVER_HOLLOW_NODES (1,000) node agents on
// runtime/fake in one process against one in-process API server
// (controllertest, memstore), each registered and heartbeating with its
// own nodestatus.Reporter (fixed machine info, Lease every 10 s, status
// every 10 s) on the system clock, relisting every second, with
// DROVER_HOLLOW_PODS (10) pods each, created bound by the benchmark in
// waves of one per node, each wave Running before the next. Each
// iteration is a steady window of DROVER_HOLLOW_WINDOW seconds (30).
// It reports per node: the heap in use and the RSS (after a GC; with and
// without the pods), goroutines, and the process CPU time over the
// window (millicores per node). The API server's share (its objects, the
// watches) is included: it is in the same process.
// DROVER_HOLLOW_WATCH_CACHE, if set, is the API server's watch cache size
// per kind (registry.Options.WatchCacheSize; default 1,024 events).
func BenchmarkHollowNodes(b *testing.B) {
	n := envInt(b, "DROVER_HOLLOW_NODES", 1000)
	podsPer := envInt(b, "DROVER_HOLLOW_PODS", 10)
	window := time.Duration(envInt(b, "DROVER_HOLLOW_WINDOW", 30)) * time.Second

	var opts []controllertest.Option
	if os.Getenv("DROVER_HOLLOW_WATCH_CACHE") != "" {
		size := envInt(b, "DROVER_HOLLOW_WATCH_CACHE", 0)
		opts = append(opts, controllertest.WithServerConfig(func(c *apiserver.Config) { c.Registry.WatchCacheSize = size }))
	}
	env := controllertest.New(b, opts...)
	c := env.Client
	ctx := context.Background()
	reg := fake.NewRegistry(fake.Busybox)
	root := b.TempDir()
	machine := &nodestatus.MachineInfo{
		NumCPU: 4, MemoryBytes: 8 << 30, MachineID: "hollow", SystemUUID: "hollow", BootID: "hollow",
		KernelVersion: "6.1.0-hollow", OSImage: "Hollow", OperatingSystem: "linux", Architecture: "amd64",
	}
	memAvail := func(context.Context) (int64, error) { return 6 << 30, nil }
	fsStats := func(context.Context, string) (nodestatus.FilesystemStats, error) {
		return nodestatus.FilesystemStats{Capacity: 100 << 30, Available: 80 << 30}, nil
	}
	procs := func(context.Context) (nodestatus.ProcessStats, error) {
		return nodestatus.ProcessStats{Running: 100, Max: 1 << 22}, nil
	}
	g0 := goruntime.NumGoroutine()
	m0 := measure(b)

	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, n)
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Error(err)
		}
	})
	var registered atomic.Int64
	t0 := time.Now()
	for i := range n {
		name := fmt.Sprintf("hollow-%d", i)
		d, err := fake.New(fake.Config{Registry: reg})
		if err != nil {
			b.Fatal(err)
		}
		ns := nodestatus.DefaultConfig()
		ns.Client, ns.NodeName, ns.Runtime, ns.Images = c, name, d, d
		ns.Machine = machine
		ns.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: fmt.Sprintf("10.1.%d.%d", i/256, i%256)}, {Type: api.NodeHostName, Address: name}}
		ns.MemoryAvailable, ns.Filesystem, ns.Processes = memAvail, fsStats, procs
		ns.RootDir = root
		reporter, err := nodestatus.New(ns)
		if err != nil {
			b.Fatal(err)
		}
		kc := kubelet.DefaultConfig()
		kc.NodeName, kc.NodeIP, kc.Client = name, ns.Addresses[0].Address, c
		kc.Runtime, kc.Images = d, d
		kc.RootDir = root
		kc.Recorder = nopRecorder{}
		kc.NodeStatus = reporter
		var once sync.Once
		kc.OnRegistered = func() { once.Do(func() { registered.Add(1) }) }
		k, err := kubelet.New(kc)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			if err := k.Run(runCtx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		})
	}
	waitFor(b, 10*time.Minute, func() (bool, string) {
		r := registered.Load()
		return r == int64(n), fmt.Sprintf("%d of %d nodes registered", r, n)
	})
	b.Logf("%d nodes registered in %s", n, time.Since(t0).Round(time.Millisecond))
	m1 := measure(b)
	g1 := goruntime.NumGoroutine()

	// The pods, in waves of one per node, each wave running before the
	// next is made; a single watch counts them.
	running := countRunning(b, c, "default")
	t0 = time.Now()
	for wave := range podsPer {
		tw := time.Now()
		var next atomic.Int64
		var cwg sync.WaitGroup
		createErrs := make(chan error, 4)
		for range 4 {
			cwg.Go(func() {
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("pod-%d-%d", i, wave)}}
					p.Spec.NodeName = fmt.Sprintf("hollow-%d", i)
					p.Spec.Containers = []api.Container{{Name: "c", Image: fake.Busybox.Ref, ImagePullPolicy: api.PullIfNotPresent,
						Resources: api.ResourceRequirements{Requests: api.ResourceList{api.ResourceCPU: resource.MustParse("10m"), api.ResourceMemory: resource.MustParse("16Mi")}}}}
					if err := createRetrying(ctx, c, p); err != nil {
						createErrs <- fmt.Errorf("pod %s: %w", p.Name, err)
						return
					}
				}
			})
		}
		cwg.Wait()
		close(createErrs)
		for err := range createErrs {
			b.Fatal(err)
		}
		created := time.Since(tw)
		want := int64(n * (wave + 1))
		waitFor(b, 10*time.Minute, func() (bool, string) {
			r := running.Load()
			return r >= want, fmt.Sprintf("wave %d: %d of %d pods running", wave, r, want)
		})
		b.Logf("wave %d: %d pods created in %s, running after %s", wave, n, created.Round(time.Millisecond), time.Since(tw).Round(time.Millisecond))
	}
	b.Logf("%d pods on %d nodes running %s after the first was made", n*podsPer, n, time.Since(t0).Round(time.Millisecond))
	m2 := measure(b)
	g2 := goruntime.NumGoroutine()

	var cpu, wall time.Duration
	for b.Loop() {
		cpu0, w0 := cpuTime(), time.Now()
		time.Sleep(window) // the measurement window itself, not a wait for a condition
		cpu += cpuTime() - cpu0
		wall += time.Since(w0)
	}
	if err := runCtx.Err(); err != nil {
		b.Fatal(err)
	}
	m3 := measure(b)
	perNode := func(d int64) float64 { return float64(d) / float64(n) / 1024 }
	b.ReportMetric(perNode(m1.heap-m0.heap), "heap-KiB/node-nopods")
	b.ReportMetric(perNode(m2.heap-m0.heap), "heap-KiB/node")
	b.ReportMetric(perNode(m3.heap-m0.heap), "heap-KiB/node-end")
	b.ReportMetric(perNode(m2.rss-m0.rss), "rss-KiB/node")
	b.ReportMetric(float64(g2-g0)/float64(n), "goroutines/node")
	b.ReportMetric(1000*cpu.Seconds()/wall.Seconds()/float64(n), "millicores/node")
	b.Logf("goroutines per node: %.1f without pods, %.1f with", float64(g1-g0)/float64(n), float64(g2-g0)/float64(n))
}

// countRunning counts the pods of namespace ns that are or have been
// Running, with one watch (started again, from the current objects, when
// the server ends it), until tb ends.
func countRunning(tb testing.TB, c *client.Client, ns string) *atomic.Int64 {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Watch(ctx, &api.PodList{}, client.InNamespace(ns))
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	tb.Cleanup(func() { cancel(); <-done })
	var count atomic.Int64
	go func() {
		defer close(done)
		seen := map[string]bool{}
		for ctx.Err() == nil {
			for ev := range w.Events() {
				if p, ok := ev.Object.(*api.Pod); ok && p.Status.Phase == api.PodRunning && !seen[p.Name] {
					seen[p.Name] = true
					count.Add(1)
				}
			}
			for ctx.Err() == nil {
				if w, err = c.Watch(ctx, &api.PodList{}, client.InNamespace(ns)); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond) // back-off before watching again
			}
		}
	}()
	return &count
}

// createRetrying creates obj, again while the API server is overloaded
// (the client gives up after a few retries; 1,000 agents writing their
// pods' status keep the server at its limit of mutating requests in
// flight), for up to a minute.
func createRetrying(ctx context.Context, c *client.Client, obj api.Object) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := c.Create(ctx, obj)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, api.ErrAlreadyExists):
			return nil // an earlier attempt made it after all
		case !errors.Is(err, api.ErrTooManyRequests) && !errors.Is(err, api.ErrServiceUnavailable) || time.Now().After(deadline):
			return err
		}
		time.Sleep(100 * time.Millisecond) // back-off while the server sheds load
	}
}

// waitFor polls cond every second until it holds, and fails the
// benchmark with cond's last word after within. With -v it prints
// cond's word every 10 s.
func waitFor(tb testing.TB, within time.Duration, cond func() (bool, string)) {
	tb.Helper()
	start := time.Now()
	deadline := start.Add(within)
	for i := 1; ; i++ {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %s", within, msg)
		}
		if testing.Verbose() && i%10 == 0 { // progress of a long wait, as it happens
			fmt.Fprintf(os.Stderr, "%s: %s\n", time.Since(start).Round(time.Second), msg)
		}
		time.Sleep(time.Second) // polling interval
	}
}
