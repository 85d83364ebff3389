package prober

import (
	"context"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
)

// BenchmarkExecProbes10k is the hollow-node case: 10,000 containers on
// runtime/fake, each with an exec liveness probe every second. An
// iteration moves the fake clock one period and waits for the 10,000
// probes. It reports probes/s, what a probe allocates (the fake's Exec
// included) and the heap bytes per probe worker (the Manager's own,
// measured around the 10,000 Adds).
func BenchmarkExecProbes10k(b *testing.B) {
	const n = 10000
	clk := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	drv, err := fake.New(fake.Config{Clock: clk, ByName: map[string]*fake.Script{
		"app": {Exec: map[string]fake.ExecResult{"check": {Stdout: "ok"}}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := drv.PullImage(ctx, "busybox", runtime.PullOptions{}); err != nil {
		b.Fatal(err)
	}
	sb, err := drv.RunPodSandbox(ctx, &runtime.SandboxConfig{Metadata: runtime.PodMetadata{Name: "hollow", Namespace: "default", UID: "u"}})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		if ids[i], err = drv.CreateContainer(ctx, sb, &runtime.ContainerConfig{Name: "app", Image: "busybox"}); err != nil {
			b.Fatal(err)
		}
		if err := drv.StartContainer(ctx, ids[i]); err != nil {
			b.Fatal(err)
		}
	}
	m, err := NewManager(Config{Clock: clk, Execer: drv})
	if err != nil {
		b.Fatal(err)
	}
	probe := execProbe("check")
	probe.PeriodSeconds, probe.InitialDelaySeconds = 1, 1
	spec := &api.Container{Name: "app", LivenessProbe: probe}
	pods := make([]*api.Pod, n)
	for i := range pods {
		pods[i] = &api.Pod{ObjectMeta: api.ObjectMeta{UID: api.UID(ids[i])}}
	}

	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	for i, id := range ids {
		m.Add(pods[i], spec, id, clk.Now(), Target{})
	}
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	goruntime.KeepAlive(pods)
	perWorker := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n

	var loopBefore, loopAfter goruntime.MemStats
	goruntime.ReadMemStats(&loopBefore)
	b.ResetTimer()
	for range b.N {
		clk.Advance(time.Second)
		m.waitIdle()
	}
	b.StopTimer()
	goruntime.ReadMemStats(&loopAfter)
	probes := float64(n * b.N)
	b.ReportMetric(float64(loopAfter.TotalAlloc-loopBefore.TotalAlloc)/probes, "B/probe")
	b.ReportMetric(float64(loopAfter.Mallocs-loopBefore.Mallocs)/probes, "allocs/probe")
	b.ReportMetric(probes/b.Elapsed().Seconds(), "probes/s")
	b.ReportMetric(perWorker, "heapB/worker")
	b.ReportMetric(0, "ns/op")
	goruntime.KeepAlive(ids)
}
