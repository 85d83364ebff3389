//go:build unix

package kubelet

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/runtime/fake"
)

// nopRecorder drops events: a hollow fleet's agents share it.
type nopRecorder struct{}

func (nopRecorder) Eventf(api.Object, api.EventType, string, string, ...any) {}

// TestHollowAgents runs many agents on runtime/fake in one process, each
// with its own Node and pods, and reports the memory each takes.
// DROVER_HOLLOW_AGENTS sets their number (100 by default).
func TestHollowAgents(t *testing.T) {
	n := 100
	if s := os.Getenv("DROVER_HOLLOW_AGENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	podsPerAgent := 2
	if n > 100 {
		podsPerAgent = 1
	}
	var clk Clock = fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var opts []controllertest.Option
	idle, _ := time.ParseDuration(os.Getenv("DROVER_HOLLOW_IDLE"))
	if idle > 0 {
		clk = SystemClock{} // relists every second, for real
	} else {
		opts = append(opts, controllertest.WithClock(clk.(*fakeclock.Clock)))
	}
	env := controllertest.New(t, opts...)
	ctx, stop := context.WithTimeout(context.Background(), max(controllertest.Timeout, time.Duration(n)*300*time.Millisecond))
	defer stop()
	reg := fake.NewRegistry(fake.Busybox, fake.Image{Ref: "busybox:1", Config: fake.Busybox.Config})
	root := t.TempDir()

	for i := range n {
		node := &api.Node{ObjectMeta: api.ObjectMeta{Name: fmt.Sprintf("hollow-%d", i)}}
		node.Status.Allocatable = api.ResourceList{api.ResourceCPU: resource.MustParse("4"), api.ResourceMemory: resource.MustParse("8Gi"), api.ResourcePods: resource.MustParse("110")}
		node.Status.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: fmt.Sprintf("10.1.%d.%d", i/256, i%256)}}
		if err := env.Client.Create(ctx, node); err != nil {
			t.Fatal(err)
		}
	}

	goruntime.GC()
	var before goruntime.MemStats
	goruntime.ReadMemStats(&before)

	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, n)
	agents := make([]*Kubelet, n)
	for i := range n {
		d, err := fake.New(fake.Config{Clock: clk, Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		relist := time.Hour
		if idle > 0 {
			relist = DefaultRelistPeriod
		}
		k, err := New(Config{
			NodeName: fmt.Sprintf("hollow-%d", i), Client: env.Client, Runtime: d, Images: d,
			RootDir: root, Clock: clk, Recorder: nopRecorder{}, RelistPeriod: relist,
		})
		if err != nil {
			t.Fatal(err)
		}
		agents[i] = k
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := k.Run(runCtx); err != nil {
				errs <- err
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	for i := range n {
		for j := range podsPerAgent {
			p := simplePod(fmt.Sprintf("pod-%d-%d", i, j), api.RestartPolicyAlways, "c")
			p.Namespace = "default"
			p.Spec.Containers[0].Image = "busybox:1"
			p.Spec.Containers[0].ImagePullPolicy = api.PullIfNotPresent
			p.Spec.NodeName = fmt.Sprintf("hollow-%d", i)
			if err := env.Client.Create(ctx, p); err != nil {
				t.Fatalf("pod %d of %d: %v", i*podsPerAgent+j, n*podsPerAgent, err)
			}
		}
	}
	start := time.Now()
	for running := 0; running < n*podsPerAgent; {
		if ctx.Err() != nil {
			t.Fatalf("%d of %d pods running after %s", running, n*podsPerAgent, time.Since(start))
		}
		time.Sleep(100 * time.Millisecond) // polling interval (a list of every pod)
		var list api.PodList
		if err := env.Client.List(ctx, &list); err != nil {
			continue
		}
		running = 0
		for _, p := range list.Items {
			if p.Status.Phase == api.PodRunning && p.Status.PodIP != "" {
				running++
			}
		}
	}
	t.Logf("%d pods on %d agents running %s after their creation", n*podsPerAgent, n, time.Since(start))
	for _, k := range agents {
		if got := len(k.Pods()); got != podsPerAgent {
			t.Fatalf("agent runs %d pods, want %d", got, podsPerAgent)
		}
	}

	goruntime.GC()
	var after goruntime.MemStats
	goruntime.ReadMemStats(&after)
	heap := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / int64(n)
	stack := (int64(after.StackInuse) - int64(before.StackInuse)) / int64(n)
	t.Logf("%d hollow agents with %d pods each: %d KiB of heap and %d KiB of stacks per agent (goroutines: %d); API server's watch state included",
		n, podsPerAgent, heap>>10, stack>>10, goruntime.NumGoroutine())
	if idle > 0 {
		var r0, r1 syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
		<-time.After(idle) // measuring CPU over a span of real time
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
		cpu := time.Duration(r1.Utime.Nano()+r1.Stime.Nano()-r0.Utime.Nano()-r0.Stime.Nano()) * time.Nanosecond
		t.Logf("idle for %s: %.5f core per agent (API server included)", idle, cpu.Seconds()/idle.Seconds()/float64(n))
	}
}
