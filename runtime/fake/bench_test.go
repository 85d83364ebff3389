package fake_test

import (
	"context"
	"fmt"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
)

const podsPerNode = 30

// hollowNodes makes drivers sharing one registry and script set, as a
// process simulating many nodes does, with the image pulled.
func hollowNodes(b *testing.B, n int) []*fake.Driver {
	reg := fake.NewRegistry(fake.Image{Ref: "app:v1", Size: 10 << 20})
	scripts := map[string]*fake.Script{"app:v1": {MemoryBytes: 50 << 20, CPUMillicores: 100}}
	clock := fake.SystemClock{}
	drivers := make([]*fake.Driver, n)
	for i := range drivers {
		d, err := fake.New(fake.Config{Clock: clock, Registry: reg, ByImage: scripts})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.PullImage(context.Background(), "app:v1", runtime.PullOptions{}); err != nil {
			b.Fatal(err)
		}
		drivers[i] = d
	}
	return drivers
}

// runPod runs a sandbox and, unless sandboxOnly, its running container,
// with what the node agent gives them.
func runPod(b *testing.B, d *fake.Driver, i int, sandboxOnly bool) {
	ctx := context.Background()
	name := fmt.Sprintf("web-7d4b9c6f5-%05d", i)
	sb, err := d.RunPodSandbox(ctx, &runtime.SandboxConfig{
		Metadata: runtime.PodMetadata{Name: name, Namespace: "default", UID: fmt.Sprintf("6c1f3e0a-0000-4000-8000-%012d", i)},
		Hostname: name,
		Labels:   map[string]string{"drover.io/pod-uid": fmt.Sprintf("6c1f3e0a-0000-4000-8000-%012d", i), "app": "web"},
	})
	if err != nil {
		b.Fatal(err)
	}
	if sandboxOnly {
		return
	}
	id, err := d.CreateContainer(ctx, sb, &runtime.ContainerConfig{
		Name: "web", Image: "app:v1",
		Env:    []runtime.KeyValue{{Key: "PORT", Value: "8080"}},
		Labels: map[string]string{"drover.io/container-name": "web"},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.StartContainer(ctx, id); err != nil {
		b.Fatal(err)
	}
}

func heapInUse() uint64 {
	var m goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// benchmarkMemory reports the heap bytes each pod costs, over b.N pods
// spread over nodes of podsPerNode pods.
func benchmarkMemory(b *testing.B, sandboxOnly bool) {
	nodes := hollowNodes(b, (b.N+podsPerNode-1)/podsPerNode)
	before := heapInUse()
	b.ResetTimer()
	for i := range b.N {
		runPod(b, nodes[i/podsPerNode], i, sandboxOnly)
	}
	b.StopTimer()
	after := heapInUse()
	b.ReportMetric(float64(after-before)/float64(b.N), "B/pod")
	b.ReportMetric(0, "ns/op")
	goruntime.KeepAlive(nodes)
}

// BenchmarkMemoryPerSandbox is the cost of a Ready sandbox.
func BenchmarkMemoryPerSandbox(b *testing.B) { benchmarkMemory(b, true) }

// BenchmarkMemoryPerPod is the cost of a sandbox with one running
// container; minus BenchmarkMemoryPerSandbox, that of a container.
func BenchmarkMemoryPerPod(b *testing.B) { benchmarkMemory(b, false) }

// BenchmarkPodLifecycle is a pod's whole life through the driver: run
// sandbox, create, start, status, list, stop, remove.
func BenchmarkPodLifecycle(b *testing.B) {
	d := hollowNodes(b, 1)[0]
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		sb, err := d.RunPodSandbox(ctx, &runtime.SandboxConfig{Metadata: runtime.PodMetadata{Name: "p", Namespace: "ns", UID: "u"}})
		if err != nil {
			b.Fatal(err)
		}
		id, err := d.CreateContainer(ctx, sb, &runtime.ContainerConfig{Name: "web", Image: "app:v1"})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.StartContainer(ctx, id); err != nil {
			b.Fatal(err)
		}
		if _, err := d.ContainerStatus(ctx, id); err != nil {
			b.Fatal(err)
		}
		if _, err := d.ListContainers(ctx, runtime.ContainerFilter{SandboxID: sb}); err != nil {
			b.Fatal(err)
		}
		if err := d.StopContainer(ctx, id, runtime.StopOptions{GracePeriod: 30 * time.Second}); err != nil {
			b.Fatal(err)
		}
		if err := d.RemovePodSandbox(ctx, sb); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRelist is a node agent's periodic relist of a node of
// podsPerNode pods: list sandboxes and containers.
func BenchmarkRelist(b *testing.B) {
	d := hollowNodes(b, 1)[0]
	for i := range podsPerNode {
		runPod(b, d, i, false)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.ListPodSandboxes(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := d.ListContainers(ctx, runtime.ContainerFilter{}); err != nil {
			b.Fatal(err)
		}
	}
}
