package kubeletbench_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/kubelet"
	"github.com/drover-io/drover/kubelet/nodestatus"
	"github.com/drover-io/drover/kubelet/prober"
	"github.com/drover-io/drover/kubelet/volume"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
	"github.com/drover-io/drover/runtime/oci"
)

// requireHost skips (or fails with DROVER_INTEGRATION=1) when this
// machine cannot run containers.
func requireHost(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		imagetest.Missing(tb, "root (the oci driver mounts, unshares and runs runc)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		imagetest.Missing(tb, "runc (apt install runc)")
	}
	if imagetest.BusyboxPath() == "" {
		imagetest.Missing(tb, "busybox (apt install busybox-static)")
	}
}

// busyboxRef pushes the busybox image to an in-process registry on
// loopback and returns its reference.
func busyboxRef(tb testing.TB) string {
	tb.Helper()
	ref := imagetest.StartRegistry(tb, nil) + "/drover/busybox:latest"
	imagetest.Push(tb, ref, imagetest.BusyboxImage(tb))
	return ref
}

// newDriver makes an oci driver on a new root with image pulled; at the
// end of the benchmark it removes every sandbox left and its cgroups.
func newDriver(tb testing.TB, image string) *oci.Driver {
	tb.Helper()
	root := tb.TempDir() // removed after the driver's cleanup below
	cfg := oci.DefaultConfig()
	cfg.Root = filepath.Join(root, "oci")
	cfg.StateDir = filepath.Join(root, "runc")
	cfg.CgroupParent = "drover-bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	d, err := oci.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		sbs, err := d.ListPodSandboxes(ctx)
		if err != nil {
			tb.Error(err)
		}
		for _, sb := range sbs {
			if err := d.RemovePodSandbox(ctx, sb.ID); err != nil {
				tb.Error(err)
			}
		}
		if err := d.Close(); err != nil {
			tb.Error(err)
		}
		removeCgroups(tb, cfg.CgroupParent)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := d.PullImage(ctx, image, runtime.PullOptions{}); err != nil {
		tb.Fatal(err)
	}
	return d
}

// removeCgroups removes the (empty) cgroup tree parent in every
// hierarchy.
func removeCgroups(tb testing.TB, parent string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/" + parent)
	more, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
	for _, top := range append(dirs, more...) {
		var all []string
		_ = filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				all = append(all, p)
			}
			return nil
		})
		slices.Reverse(all) // children first
		for _, p := range all {
			if err := os.Remove(p); err != nil {
				tb.Errorf("cgroup left: %v", err)
			}
		}
	}
}

// ociNode is an API server (controllertest) and one node agent on runc,
// configured as cluster.Node configures it, with the busybox image
// already pulled.
type ociNode struct {
	c     *client.Client
	rt    *timedRuntime
	image string
	node  string
	pods  *podWatch
}

func newOCINode(b *testing.B) *ociNode {
	b.Helper()
	requireHost(b)
	image := busyboxRef(b)
	env := controllertest.New(b)
	d := newDriver(b, image)
	root := b.TempDir()
	h := &ociNode{c: env.Client, rt: newTimedRuntime(d), image: image, node: "bench-node"}

	ns := nodestatus.DefaultConfig()
	ns.Client, ns.NodeName = env.Client, h.node
	ns.Runtime, ns.Images = d, d
	ns.RootDir = root
	ns.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: "127.0.0.1"}}
	reporter, err := nodestatus.New(ns)
	if err != nil {
		b.Fatal(err)
	}
	vc := volume.DefaultConfig()
	vc.Root = filepath.Join(root, "pods")
	vc.Getter = volume.ClientGetter(env.Client)
	vc.NodeName = h.node
	volumes, err := volume.NewManager(vc)
	if err != nil {
		b.Fatal(err)
	}
	pc := prober.DefaultConfig()
	pc.Execer = d

	kc := kubelet.DefaultConfig()
	kc.NodeName, kc.NodeIP, kc.Client = h.node, "127.0.0.1", env.Client
	kc.Runtime, kc.Images = h.rt, d
	kc.RootDir = root
	kc.Volumes = volumes
	kc.ResolveEnv = kubelet.ResolveEnv
	kc.NewProbeManager = kubelet.Probes(pc)
	kc.NodeStatus = reporter
	registered := make(chan struct{})
	var once sync.Once
	kc.OnRegistered = func() { once.Do(func() { close(registered) }) }
	k, err := kubelet.New(kc)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	select {
	case <-registered:
	case err := <-done:
		b.Fatalf("node agent stopped before registering: %v", err)
	case <-time.After(30 * time.Second):
		b.Fatal("node not registered after 30s")
	}
	h.pods = watchPods(b, env.Client, "default")
	return h
}

// BenchmarkPodStart measures a pod's start on runc with an image already
// pulled: from the Bind call to the first watch event that shows the pod
// Running and Ready. parallel=N binds N pods at once. Besides p50 and p99
// it reports the medians of the steps (from the runtime's calls):
// bind→sandbox (watch, admission, volumes), sandbox (RunPodSandbox),
// prep (sandbox→create: image, env, mounts), create (CreateContainer),
// start (StartContainer), report (start→the Ready event: status
// computed, written and watched), the CPU time of the process from the
// binding to Running (API server, node agent, driver: self-cpu) and that
// of its children (runc and the container monitors, whole life of the
// pod, deletion included: runc-cpu), per pod.
func BenchmarkPodStart(b *testing.B) {
	h := newOCINode(b)
	for _, par := range []int{1, 4} {
		b.Run("parallel="+strconv.Itoa(par), func(b *testing.B) { h.bench(b, par) })
	}
}

// The steps BenchmarkPodStart reports.
var stepNames = []string{"bind→sandbox", "sandbox", "prep", "create", "start", "report"}

func (h *ociNode) bench(b *testing.B, par int) {
	ctx := context.Background()
	var lat []time.Duration
	steps := make([][]time.Duration, len(stepNames))
	var cpu time.Duration
	child0 := childCPUTime()
	n := 0
	for b.Loop() {
		b.StopTimer()
		pods := make([]*api.Pod, par)
		ready := make([]<-chan time.Time, par)
		gone := make([]<-chan struct{}, par)
		for i := range pods {
			pods[i] = sleepPod(fmt.Sprintf("start-%d-%d", par, n), h.image)
			n++
			ready[i], gone[i] = h.pods.expect(pods[i].Name)
			if err := h.c.Create(ctx, pods[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		cpu0 := cpuTime()
		bound := make([]time.Time, par)
		errs := make([]error, par)
		var wg sync.WaitGroup
		for i, p := range pods {
			wg.Go(func() {
				bound[i] = time.Now()
				errs[i] = h.c.Bind(ctx, p.Namespace, p.Name, h.node, client.BindOptions{UID: p.UID})
			})
		}
		wg.Wait()
		for i, p := range pods {
			if errs[i] != nil {
				b.Fatalf("bind %s: %v", p.Name, errs[i])
			}
			select {
			case at := <-ready[i]:
				lat = append(lat, at.Sub(bound[i]))
				if s, ok := h.rt.spansOf(string(p.UID)); ok {
					for j, d := range []time.Duration{
						s[stepSandbox].from.Sub(bound[i]),
						s[stepSandbox].to.Sub(s[stepSandbox].from),
						s[stepCreate].from.Sub(s[stepSandbox].to),
						s[stepCreate].to.Sub(s[stepCreate].from),
						s[stepStart].to.Sub(s[stepCreate].to),
						at.Sub(s[stepStart].to),
					} {
						steps[j] = append(steps[j], d)
					}
				}
			case <-time.After(time.Minute):
				b.Fatalf("pod %s not Running and Ready a minute after its binding", p.Name)
			}
		}
		cpu += cpuTime() - cpu0
		b.StopTimer()
		for i, p := range pods {
			if err := h.c.Delete(ctx, p, client.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
				b.Fatal(err)
			}
			select {
			case <-gone[i]:
			case <-time.After(time.Minute):
				b.Fatalf("pod %s not gone a minute after its deletion", p.Name)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(ms(quantile(lat, 0.5)), "p50-ms")
	b.ReportMetric(ms(quantile(lat, 0.99)), "p99-ms")
	for j, name := range stepNames {
		b.ReportMetric(ms(quantile(steps[j], 0.5)), name+"-ms")
	}
	b.ReportMetric(ms(cpu)/float64(len(lat)), "self-cpu-ms/pod")
	b.ReportMetric(ms(childCPUTime()-child0)/float64(len(lat)), "runc-cpu-ms/pod")
}

// BenchmarkRuntimeCreateStart measures the oci driver alone, for
// comparison with BenchmarkPodStart: RunPodSandbox, CreateContainer and
// StartContainer of a busybox sleep, image already pulled, with the
// same metrics. The sandbox is removed untimed (its runc CPU counts).
// shares=default gives the container no resources; shares=2 gives it
// the CPU shares the node agent gives a container without a CPU request
// (BestEffort), as Kubernetes does.
func BenchmarkRuntimeCreateStart(b *testing.B) {
	requireHost(b)
	image := busyboxRef(b)
	d := newDriver(b, image)
	for _, shares := range []uint64{0, 2} {
		name := "shares=default"
		if shares != 0 {
			name = "shares=" + strconv.FormatUint(shares, 10)
		}
		b.Run(name, func(b *testing.B) { benchRuntime(b, d, image, runtime.Resources{CPUShares: shares}) })
	}
}

func benchRuntime(b *testing.B, d *oci.Driver, image string, res runtime.Resources) {
	logs := b.TempDir()
	ctx := context.Background()
	var lat []time.Duration
	steps := make([][]time.Duration, 3)
	var cpu time.Duration
	child0 := childCPUTime()
	i := 0
	for b.Loop() {
		i++
		name := "rt-" + strconv.Itoa(i)
		if res.CPUShares != 0 {
			name += "-s"
		}
		logDir := filepath.Join(logs, name)
		if err := os.Mkdir(logDir, 0o755); err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuTime()
		t0 := time.Now()
		sb, err := d.RunPodSandbox(ctx, &runtime.SandboxConfig{
			Metadata:     runtime.PodMetadata{Name: name, Namespace: "default", UID: "uid-" + name},
			Hostname:     name,
			LogDirectory: logDir,
		})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		id, err := d.CreateContainer(ctx, sb, &runtime.ContainerConfig{Name: "c", Image: image, Command: []string{"sleep", "3600"}, LogPath: "c/0.log", Resources: res})
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := d.StartContainer(ctx, id); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		lat = append(lat, t3.Sub(t0))
		for j, d := range []time.Duration{t1.Sub(t0), t2.Sub(t1), t3.Sub(t2)} {
			steps[j] = append(steps[j], d)
		}
		cpu += cpuTime() - cpu0
		b.StopTimer()
		if err := d.RemovePodSandbox(ctx, sb); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(ms(quantile(lat, 0.5)), "p50-ms")
	b.ReportMetric(ms(quantile(lat, 0.99)), "p99-ms")
	for j, name := range []string{"sandbox", "create", "start"} {
		b.ReportMetric(ms(quantile(steps[j], 0.5)), name+"-ms")
	}
	b.ReportMetric(ms(cpu)/float64(len(lat)), "self-cpu-ms/pod")
	b.ReportMetric(ms(childCPUTime()-child0)/float64(len(lat)), "runc-cpu-ms/pod")
}
