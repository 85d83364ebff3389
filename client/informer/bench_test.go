package informer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client/informer"
)

// benchPod is a pod as a Deployment's ReplicaSet makes it, after the node
// agent has reported its status: about 1.6 KB of JSON.
func benchPod(i int) *api.Pod {
	yes := true
	grace := int64(30)
	return &api.Pod{
		TypeMeta: api.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{
			Namespace: fmt.Sprintf("team-%d", i%50), Name: fmt.Sprintf("web-7d9f8b6c5d-%05d", i),
			UID:             api.UID(fmt.Sprintf("5f1c2a4e-8a3b-4c1d-9e2f-%012d", i)),
			ResourceVersion: fmt.Sprint(1000 + i), Generation: 1,
			CreationTimestamp: api.NewTime(time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)),
			Labels:            map[string]string{"app": "web", "pod-template-hash": "7d9f8b6c5d", "tier": "frontend"},
			Annotations:       map[string]string{"drover.io/restartedAt": "2026-11-21T08:00:00Z"},
			OwnerReferences: []api.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f8b6c5d",
				UID: "0b7c9d8e-1f2a-4b3c-8d4e-5f6a7b8c9d0e", Controller: &yes, BlockOwnerDeletion: &yes,
			}},
		},
		Spec: api.PodSpec{
			Containers: []api.Container{{
				Name: "web", Image: "registry.example.com/team/web:1.27.3",
				Ports: []api.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: api.ProtocolTCP}},
				Env:   []api.EnvVar{{Name: "MODE", Value: "production"}, {Name: "PORT", Value: "8080"}},
				Resources: api.ResourceRequirements{
					Requests: api.ResourceList{"cpu": resource.MustParse("100m"), "memory": resource.MustParse("128Mi")},
					Limits:   api.ResourceList{"memory": resource.MustParse("256Mi")},
				},
				TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
				ImagePullPolicy: api.PullIfNotPresent,
			}},
			RestartPolicy: api.RestartPolicyAlways, TerminationGracePeriodSeconds: &grace,
			DNSPolicy: api.DNSClusterFirst, ServiceAccountName: "default",
			NodeName: fmt.Sprintf("node-%03d", i%500), SchedulerName: "default-scheduler",
		},
		Status: api.PodStatus{
			Phase: api.PodRunning, HostIP: "10.0.1.17", PodIP: fmt.Sprintf("10.244.%d.%d", i/250%250, i%250),
			Conditions: []api.PodCondition{
				{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(time.Date(2026, 11, 21, 8, 0, 5, 0, time.UTC))},
				{Type: api.PodScheduled, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(time.Date(2026, 11, 21, 8, 0, 1, 0, time.UTC))},
			},
			ContainerStatuses: []api.ContainerStatus{{
				Name: "web", Ready: true, Image: "registry.example.com/team/web:1.27.3",
				ImageID:     "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				ContainerID: fmt.Sprintf("oci://%064d", i),
			}},
		},
	}
}

// BenchmarkInformerMemory measures the memory an informer holding 100,000
// pods takes, against the size of their JSON: the objects are decoded from
// JSON as the client does (api.Scheme.DecodeTrusted), listed into the
// informer, and the heap is read once the decoding garbage is gone.
// Target: at most 2x. It also reports the decoding time per pod.
func BenchmarkInformerMemory(b *testing.B) {
	benchmarkInformerMemory(b, informer.Config{})
}

// BenchmarkInformerMemoryNoIntern is BenchmarkInformerMemory without the
// interner: what it saves.
func BenchmarkInformerMemoryNoIntern(b *testing.B) {
	benchmarkInformerMemory(b, informer.Config{DisableIntern: true})
}

func benchmarkInformerMemory(b *testing.B, cfg informer.Config) {
	const n = 100_000
	scheme := api.NewDefaultScheme()
	docs := make([][]byte, n)
	var jsonBytes int64
	for i := range docs {
		data, err := json.Marshal(benchPod(i))
		if err != nil {
			b.Fatal(err)
		}
		docs[i] = data
		jsonBytes += int64(len(data))
	}
	b.ResetTimer()
	for range b.N {
		before := heapInUse()
		items := make([]api.Object, n)
		began := time.Now()
		for i, d := range docs {
			obj, err := scheme.DecodeTrusted(d)
			if err != nil {
				b.Fatal(err)
			}
			items[i] = obj
		}
		decode := time.Since(began)
		lw := &onceLW{page: &informer.Page{ResourceVersion: "200000", Items: items}}
		cfg.ListerWatcher, cfg.MinBackoff = lw, time.Hour
		inf, err := informer.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = inf.Run(ctx) }()
		if !informer.WaitForSync(ctx, inf.HasSynced) {
			b.Fatal("no sync")
		}
		items = nil
		held := heapInUse() - before
		if inf.Cache().Len() != n {
			b.Fatalf("cache holds %d pods", inf.Cache().Len())
		}
		cancel()
		<-done
		b.ReportMetric(float64(held)/n, "B/pod")
		b.ReportMetric(float64(jsonBytes)/n, "json-B/pod")
		b.ReportMetric(float64(held)/float64(jsonBytes), "x-json")
		b.ReportMetric(float64(decode.Microseconds())/n, "decode-µs/pod")
		runtime.KeepAlive(inf)
	}
}

// BenchmarkDecodePod compares, per pod of BenchmarkInformerMemory, the
// strict decoder with the one for what the server sent.
func BenchmarkDecodePod(b *testing.B) {
	scheme := api.NewDefaultScheme()
	data, err := json.Marshal(benchPod(42))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		decode func([]byte) (api.Object, error)
	}{{"Decode", scheme.Decode}, {"DecodeTrusted", scheme.DecodeTrusted}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := bc.decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIntern measures the cost of interning one pod: "repeat" with
// every string and map already in the tables (the steady state), "fresh"
// with a new interner each time (every string and map seen first).
func BenchmarkIntern(b *testing.B) {
	scheme := api.NewDefaultScheme()
	const n = 1000
	pods := make([][]byte, n)
	for i := range pods {
		data, err := json.Marshal(benchPod(i))
		if err != nil {
			b.Fatal(err)
		}
		pods[i] = data
	}
	decoded := func(i int) api.Object {
		obj, err := scheme.DecodeTrusted(pods[i%n])
		if err != nil {
			b.Fatal(err)
		}
		return obj
	}
	b.Run("repeat", func(b *testing.B) {
		in, err := informer.NewInterner(informer.DefaultInternerConfig())
		if err != nil {
			b.Fatal(err)
		}
		objs := make([]api.Object, n)
		for i := range objs {
			objs[i] = in.Intern(decoded(i))
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			in.Intern(objs[i%n])
			i++
		}
	})
	b.Run("fresh", func(b *testing.B) {
		obj := decoded(0)
		b.ReportAllocs()
		for b.Loop() {
			in, err := informer.NewInterner(informer.DefaultInternerConfig())
			if err != nil {
				b.Fatal(err)
			}
			in.Intern(obj)
		}
	})
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// onceLW lists its page once, dropping its reference to it, then watches
// quietly until the watch's context ends.
type onceLW struct{ page *informer.Page }

func (o *onceLW) List(context.Context, informer.ListOptions) (*informer.Page, error) {
	p := o.page
	o.page = nil
	if p == nil {
		return nil, fmt.Errorf("listed twice")
	}
	return p, nil
}

func (o *onceLW) Watch(ctx context.Context, _ informer.ListOptions) (<-chan informer.Event, error) {
	ch := make(chan informer.Event)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}
