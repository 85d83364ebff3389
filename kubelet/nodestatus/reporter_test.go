package nodestatus

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// switchRuntime is the fake runtime whose Version fails while down is
// set: a runtime that stopped answering.
type switchRuntime struct {
	*fake.Driver
	down atomic.Bool
}

func (r *switchRuntime) Version(ctx context.Context) (runtime.Version, error) {
	if r.down.Load() {
		return runtime.Version{}, errors.New("connection refused")
	}
	return r.Driver.Version(ctx)
}

// host is what the test's probes report, changed by the test.
type host struct {
	mu      sync.Mutex
	memory  int64
	fs      FilesystemStats
	procs   ProcessStats
	procErr error
}

func newHost() *host {
	return &host{memory: 4 << 30, fs: FilesystemStats{Capacity: 100 << 30, Available: 60 << 30}, procs: ProcessStats{Running: 300, Max: 4194304}}
}

func (h *host) set(f func(*host)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

func (h *host) memoryAvailable(context.Context) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.memory, nil
}

func (h *host) filesystem(_ context.Context, path string) (FilesystemStats, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fs, nil
}

func (h *host) processes(context.Context) (ProcessStats, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.procs, h.procErr
}

// testMachine is the machine of the tests' nodes.
var testMachine = MachineInfo{
	NumCPU: 4, MemoryBytes: 8 << 30, MachineID: "m-1", SystemUUID: "u-1", BootID: "b-1",
	KernelVersion: "6.1.0-test", OSImage: "Test Linux 1", OperatingSystem: "linux", Architecture: "arm64",
}

type harness struct {
	t       *testing.T
	env     *controllertest.Env
	clock   *fakeclock.Clock
	rt      *switchRuntime
	host    *host
	cfg     Config
	r       *Reporter
	cancel  context.CancelFunc
	done    chan error
	readyAt atomic.Int32 // how many times registered was called
}

// newHarness returns an Env on a fake clock, a fake runtime and host
// probes, and a Config for node "n1" over them, changed by mutate.
func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	clk := fakeclock.New(t0)
	env := controllertest.New(t, controllertest.WithClock(clk))
	drv, err := fake.New(fake.Config{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, env: env, clock: clk, rt: &switchRuntime{Driver: drv}, host: newHost()}
	m := testMachine
	cfg := DefaultConfig()
	cfg.Client = env.Client
	cfg.NodeName = "n1"
	cfg.Clock = clk
	cfg.Runtime = h.rt
	cfg.Machine = &m
	cfg.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: "10.0.0.7"}, {Type: api.NodeHostName, Address: "n1"}}
	cfg.Version = "v0.9.0-test"
	cfg.MemoryAvailable = h.host.memoryAvailable
	cfg.Filesystem = h.host.filesystem
	cfg.Processes = h.host.processes
	if mutate != nil {
		mutate(&cfg)
	}
	h.cfg = cfg
	return h
}

// start runs a new Reporter of h.cfg and waits until the Node is Ready.
func (h *harness) start() {
	h.t.Helper()
	r, err := New(h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.r = r
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	ready := make(chan struct{})
	go func() { h.done <- r.Run(ctx, func() { h.readyAt.Add(1); close(ready) }) }()
	h.t.Cleanup(h.stop)
	select {
	case <-ready:
	case <-time.After(controllertest.Timeout):
		h.t.Fatal("the Reporter did not report the Node Ready")
	}
	// The first renewal follows the callback: wait for it.
	h.waitLease(func(l *api.Lease) bool { return l.Spec.RenewTime != nil })
}

// stop ends Run and waits for it; safe to call twice.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("Run: %v", err)
	}
	h.cancel = nil
}

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// tick moves the clock by d, one StatusUpdateFrequency at a time, and
// waits for the Reporter to have checked the status at each.
func (h *harness) tick(d time.Duration) {
	h.t.Helper()
	for step := h.cfg.StatusUpdateFrequency; d > 0; d -= step {
		before := counter(h.r.metrics.checks)
		h.clock.Advance(min(step, d))
		if min(step, d) < step {
			return
		}
		controllertest.Eventually(h.t, func() bool { return counter(h.r.metrics.checks) > before })
	}
}

func (h *harness) node() *api.Node {
	h.t.Helper()
	var n api.Node
	if err := h.env.Client.Get(context.Background(), "", "n1", &n); err != nil {
		h.t.Fatal(err)
	}
	return &n
}

func (h *harness) waitNode(cond func(*api.Node) bool) *api.Node {
	h.t.Helper()
	n, err := controllertest.WaitFor(controllertest.Context(h.t), h.env.Client, "", "n1", cond)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) waitLease(cond func(*api.Lease) bool) *api.Lease {
	h.t.Helper()
	var l *api.Lease
	controllertest.Eventually(h.t, func() bool {
		var cur api.Lease
		if err := h.env.Client.Get(context.Background(), LeaseNamespace, "n1", &cur); err != nil {
			return false
		}
		l = &cur
		return cond(l)
	})
	return l
}

func condition(n *api.Node, t api.NodeConditionType) api.NodeCondition {
	for _, c := range n.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return api.NodeCondition{}
}

func qty(rl api.ResourceList, name api.ResourceName) string {
	q, ok := rl[name]
	if !ok {
		return "<none>"
	}
	return q.String()
}

func TestRegister(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Labels = map[string]string{"tier": "edge"}
		c.Taints = []api.Taint{{Key: "dedicated", Value: "gpu", Effect: api.TaintEffectNoSchedule}}
		c.Reserved = api.ResourceList{"cpu": resource.MustParse("500m"), "memory": resource.MustParse("1Gi")}
		c.KubeletPort = 10300
	})
	ctx := controllertest.Context(t)
	if _, err := h.rt.PullImage(ctx, "busybox", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	h.start()
	n := h.node()

	wantLabels := map[string]string{LabelHostname: "n1", LabelOS: "linux", LabelArch: "arm64", "tier": "edge"}
	for k, v := range wantLabels {
		if n.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, n.Labels[k], v, n.Labels)
		}
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "dedicated" || n.Spec.Taints[0].Effect != api.TaintEffectNoSchedule {
		t.Errorf("taints = %+v, want dedicated=gpu:NoSchedule", n.Spec.Taints)
	}
	for _, c := range []struct {
		name            api.ResourceName
		capacity, alloc string
	}{
		{"cpu", "4", "3500m"}, {"memory", "8Gi", "7Gi"}, {"pods", "110", "110"}, {"ephemeral-storage", "100Gi", "100Gi"},
	} {
		if got := qty(n.Status.Capacity, c.name); got != c.capacity {
			t.Errorf("capacity %s = %s, want %s", c.name, got, c.capacity)
		}
		if got := qty(n.Status.Allocatable, c.name); got != c.alloc {
			t.Errorf("allocatable %s = %s, want %s", c.name, got, c.alloc)
		}
	}
	want := api.NodeSystemInfo{
		MachineID: "m-1", SystemUUID: "u-1", BootID: "b-1", KernelVersion: "6.1.0-test", OSImage: "Test Linux 1",
		ContainerRuntimeVersion: "fake://0.1.0", KubeletVersion: "v0.9.0-test", OperatingSystem: "linux", Architecture: "arm64",
	}
	if n.Status.NodeInfo != want {
		t.Errorf("nodeInfo = %+v, want %+v", n.Status.NodeInfo, want)
	}
	if !slices.Equal(n.Status.Addresses, h.cfg.Addresses) {
		t.Errorf("addresses = %v, want %v", n.Status.Addresses, h.cfg.Addresses)
	}
	if p := n.Status.DaemonEndpoints.KubeletEndpoint.Port; p != 10300 {
		t.Errorf("kubelet port = %d, want 10300", p)
	}
	if len(n.Status.Images) != 1 || n.Status.Images[0].SizeBytes != fake.Busybox.Size ||
		!slices.ContainsFunc(n.Status.Images[0].Names, func(s string) bool { return strings.Contains(s, "busybox") }) {
		t.Errorf("images = %+v, want busybox", n.Status.Images)
	}
	for _, c := range []struct {
		typ    api.NodeConditionType
		status api.ConditionStatus
		reason string
	}{
		{api.NodeReady, api.ConditionTrue, ReasonReady},
		{api.NodeMemoryPressure, api.ConditionFalse, ReasonSufficientMemory},
		{api.NodeDiskPressure, api.ConditionFalse, ReasonNoDiskPressure},
		{api.NodePIDPressure, api.ConditionFalse, ReasonSufficientPID},
	} {
		got := condition(n, c.typ)
		if got.Status != c.status || got.Reason != c.reason || !got.LastHeartbeatTime.Time.Equal(t0) || !got.LastTransitionTime.Time.Equal(t0) {
			t.Errorf("condition %s = %+v, want %s %s at %v", c.typ, got, c.status, c.reason, t0)
		}
	}
	if got := condition(n, api.NodeReady).Message; got != "kubelet is posting ready status" {
		t.Errorf("Ready message = %q", got)
	}

	l := h.waitLease(func(*api.Lease) bool { return true })
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "n1" || l.Spec.LeaseDurationSeconds == nil || *l.Spec.LeaseDurationSeconds != 40 ||
		!l.Spec.RenewTime.Time.Equal(t0) {
		t.Errorf("lease spec = %+v, want holder n1, 40 s, renewed at %v", l.Spec, t0)
	}
	if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].Kind != "Node" || l.OwnerReferences[0].UID != n.UID {
		t.Errorf("lease owners = %+v, want the Node %s", l.OwnerReferences, n.UID)
	}
	if got := counter(h.r.metrics.statusWrites.WithLabelValues("success")); got != 1 {
		t.Errorf("status writes = %v, want 1 (the creation)", got)
	}
	if h.readyAt.Load() != 1 {
		t.Errorf("registered called %d times, want 1", h.readyAt.Load())
	}
}

func TestStatusWrittenOnlyOnChangeOrReportFrequency(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	rv := h.node().ResourceVersion

	h.tick(30 * time.Second)
	if got := h.node().ResourceVersion; got != rv {
		t.Fatalf("the Node was written with nothing changed: resourceVersion %s → %s", rv, got)
	}

	// Memory runs low: written once, at the next check.
	h.host.set(func(h *host) { h.memory = 50 << 20 })
	h.tick(10 * time.Second)
	n := h.node()
	if n.ResourceVersion == rv {
		t.Fatal("MemoryPressure was not written")
	}
	at := t0.Add(40 * time.Second)
	c := condition(n, api.NodeMemoryPressure)
	if c.Status != api.ConditionTrue || c.Reason != ReasonInsufficientMemory || !c.LastTransitionTime.Time.Equal(at) || !c.LastHeartbeatTime.Time.Equal(at) {
		t.Errorf("MemoryPressure = %+v, want True since %v", c, at)
	}
	if r := condition(n, api.NodeReady); !r.LastTransitionTime.Time.Equal(t0) || !r.LastHeartbeatTime.Time.Equal(at) {
		t.Errorf("Ready = %+v, want its transition at %v and heartbeat at %v", r, t0, at)
	}
	rv = n.ResourceVersion
	h.tick(20 * time.Second)
	if got := h.node().ResourceVersion; got != rv {
		t.Fatalf("the Node was written again with nothing changed")
	}
	h.host.set(func(h *host) { h.memory = 1 << 30 })
	h.tick(10 * time.Second)
	n = h.node()
	if c := condition(n, api.NodeMemoryPressure); c.Status != api.ConditionFalse || !c.LastTransitionTime.Time.Equal(t0.Add(70*time.Second)) {
		t.Errorf("MemoryPressure = %+v, want False since %v", c, t0.Add(70*time.Second))
	}
	writes := counter(h.r.metrics.statusWrites.WithLabelValues("success"))

	// Unchanged, the status is reported again StatusReportFrequency after
	// the last write (at 70 s): at 370 s, not before.
	h.tick(290 * time.Second) // to 360 s
	if got := counter(h.r.metrics.statusWrites.WithLabelValues("success")); got != writes {
		t.Fatalf("status writes before the report frequency: %v, want %v", got, writes)
	}
	h.tick(10 * time.Second)
	n = h.node()
	if got := counter(h.r.metrics.statusWrites.WithLabelValues("success")); got != writes+1 {
		t.Fatalf("status writes at the report frequency: %v, want %v", got, writes+1)
	}
	if r := condition(n, api.NodeReady); !r.LastHeartbeatTime.Time.Equal(t0.Add(370*time.Second)) || !r.LastTransitionTime.Time.Equal(t0) {
		t.Errorf("Ready after the report = %+v, want heartbeat at +370s and transition at t0", r)
	}
}

func TestLeaseRenewedEveryRenewInterval(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RenewInterval = 7 * time.Second; c.LeaseDuration = 21 * time.Second })
	h.start()
	for i := 1; i <= 4; i++ {
		h.clock.Advance(7 * time.Second)
		want := t0.Add(time.Duration(i) * 7 * time.Second)
		l := h.waitLease(func(l *api.Lease) bool { return l.Spec.RenewTime.Time.Equal(want) })
		if *l.Spec.LeaseDurationSeconds != 21 {
			t.Errorf("leaseDurationSeconds = %d, want 21", *l.Spec.LeaseDurationSeconds)
		}
	}
	// Counted just after the write the loop saw.
	controllertest.Eventually(t, func() bool { return counter(h.r.metrics.heartbeats.WithLabelValues("success")) == 5 })
}

func TestReregistrationKeepsUserChanges(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Labels = map[string]string{"tier": "edge"}
		c.Taints = []api.Taint{{Key: "dedicated", Effect: api.TaintEffectNoSchedule}}
	})
	h.start()
	h.stop()
	ctx := controllertest.Context(t)
	n := h.node()
	uid := n.UID
	n.Spec.Unschedulable = true
	n.Labels["team"] = "infra"
	n.Labels["tier"] = "changed-by-user" // the agent's: put back
	n.Labels[LabelOS] = "plan9"          // the agent's: put back
	n.Spec.Taints = []api.Taint{{Key: "maintenance", Effect: api.TaintEffectNoExecute}}
	if err := h.env.Client.Update(ctx, n); err != nil {
		t.Fatal(err)
	}

	h.cfg.Labels = map[string]string{"tier": "edge", "gpu": "true"}
	h.start()
	n = h.node()
	if n.UID != uid {
		t.Fatalf("the Node was re-created (uid %s → %s)", uid, n.UID)
	}
	if !n.Spec.Unschedulable {
		t.Error("unschedulable was cleared")
	}
	for k, v := range map[string]string{"team": "infra", "tier": "edge", LabelOS: "linux", "gpu": "true", LabelHostname: "n1"} {
		if n.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, n.Labels[k], v)
		}
	}
	keys := []string{}
	for _, tt := range n.Spec.Taints {
		keys = append(keys, tt.Key+":"+string(tt.Effect))
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"dedicated:NoSchedule", "maintenance:NoExecute"}) {
		t.Errorf("taints = %v, want the user's and the agent's", keys)
	}
	if !isReady(n) {
		t.Error("the adopted Node is not Ready")
	}
}

func TestNodeDeletedIsCreatedAgain(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	ctx := controllertest.Context(t)
	old := h.node()
	if err := h.env.Client.Delete(ctx, old); err != nil {
		t.Fatal(err)
	}
	h.tick(10 * time.Second)
	n := h.waitNode(func(n *api.Node) bool { return n.UID != old.UID && isReady(n) })
	if n.Labels[LabelHostname] != "n1" || qty(n.Status.Capacity, "cpu") != "4" {
		t.Errorf("re-created Node = %+v", n)
	}
	// The Lease is pointed at the new Node at once.
	l := h.waitLease(func(l *api.Lease) bool {
		return len(l.OwnerReferences) == 1 && l.OwnerReferences[0].UID == n.UID
	})
	if !l.Spec.RenewTime.Time.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("renewTime = %v, want %v", l.Spec.RenewTime, t0.Add(10*time.Second))
	}
}

func TestDiskAndPIDPressure(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.host.set(func(h *host) {
		h.fs.Available = 9 << 30 // 9 % of 100 GiB
		h.procs.Running = 4000000
	})
	h.tick(10 * time.Second)
	n := h.node()
	if c := condition(n, api.NodeDiskPressure); c.Status != api.ConditionTrue || c.Reason != ReasonDiskPressure {
		t.Errorf("DiskPressure = %+v, want True", c)
	}
	if c := condition(n, api.NodePIDPressure); c.Status != api.ConditionTrue || c.Reason != ReasonInsufficientPID {
		t.Errorf("PIDPressure = %+v, want True", c)
	}
	// A probe that fails reports no pressure.
	h.host.set(func(h *host) { h.fs.Available = 11 << 30; h.procErr = errors.New("no /proc") })
	h.tick(10 * time.Second)
	n = h.node()
	if c := condition(n, api.NodeDiskPressure); c.Status != api.ConditionFalse {
		t.Errorf("DiskPressure = %+v, want False", c)
	}
	if c := condition(n, api.NodePIDPressure); c.Status != api.ConditionFalse {
		t.Errorf("PIDPressure = %+v, want False", c)
	}
}

func TestRuntimeDownMakesTheNodeNotReady(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.rt.down.Store(true)
	h.tick(10 * time.Second)
	n := h.node()
	c := condition(n, api.NodeReady)
	if c.Status != api.ConditionFalse || c.Reason != ReasonNotReady || !strings.Contains(c.Message, "container runtime is down") ||
		!c.LastTransitionTime.Time.Equal(t0.Add(10*time.Second)) {
		t.Errorf("Ready with the runtime down = %+v, want False, KubeletNotReady, since +10s", c)
	}
	if n.Status.NodeInfo.ContainerRuntimeVersion != "fake://0.1.0" {
		t.Errorf("containerRuntimeVersion = %q, want the last known", n.Status.NodeInfo.ContainerRuntimeVersion)
	}
	h.rt.down.Store(false)
	h.tick(10 * time.Second)
	c = condition(h.node(), api.NodeReady)
	if c.Status != api.ConditionTrue || c.Reason != ReasonReady || !c.LastTransitionTime.Time.Equal(t0.Add(20*time.Second)) {
		t.Errorf("Ready with the runtime back = %+v, want True since +20s", c)
	}
}

func TestReadyFunc(t *testing.T) {
	var netDown atomic.Bool
	h := newHarness(t, func(c *Config) {
		c.ReadyFunc = func(context.Context) error {
			if netDown.Load() {
				return errors.New("network plugin not ready")
			}
			return nil
		}
	})
	h.start()
	netDown.Store(true)
	h.tick(10 * time.Second)
	if c := condition(h.node(), api.NodeReady); c.Status != api.ConditionFalse || c.Message != "network plugin not ready" {
		t.Errorf("Ready = %+v, want False with the ReadyFunc's error", c)
	}
}

// The node lifecycle controller marks a silent node's conditions
// Unknown; a Reporter that runs puts them back at its next check.
func TestUnknownSetByOthersIsReportedAgain(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	ctx := controllertest.Context(t)
	n := h.node()
	for i := range n.Status.Conditions {
		n.Status.Conditions[i].Status = api.ConditionUnknown
		n.Status.Conditions[i].Reason = "NodeStatusUnknown"
	}
	if err := h.env.Client.UpdateStatus(ctx, n); err != nil {
		t.Fatal(err)
	}
	h.tick(10 * time.Second)
	n = h.node()
	for _, c := range n.Status.Conditions {
		if c.Status == api.ConditionUnknown || !c.LastTransitionTime.Time.Equal(t0.Add(10*time.Second)) {
			t.Errorf("condition %s = %+v, want reported again at +10s", c.Type, c)
		}
	}
}

func TestRegisteredWaitsForReady(t *testing.T) {
	h := newHarness(t, nil)
	h.rt.down.Store(true)
	r, err := New(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.r = r
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var called atomic.Bool
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func() { called.Store(true) }) }()
	n := h.waitNode(func(n *api.Node) bool { return condition(n, api.NodeReady).Status == api.ConditionFalse })
	if called.Load() {
		t.Fatalf("registered was called with the Node not Ready: %+v", condition(n, api.NodeReady))
	}
	h.rt.down.Store(false)
	h.tick(10 * time.Second)
	controllertest.Eventually(t, called.Load)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	env := controllertest.New(t)
	drv, _ := fake.New(fake.Config{})
	good := DefaultConfig()
	good.Client, good.NodeName, good.Runtime = env.Client, "n1", drv
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, c := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Client = nil }, "Config.Client"},
		{func(c *Config) { c.NodeName = "" }, "Config.NodeName"},
		{func(c *Config) { c.Runtime = nil }, "Config.Runtime"},
		{func(c *Config) { c.MaxPods = -1 }, "Config.MaxPods"},
		{func(c *Config) { c.KubeletPort = 70000 }, "Config.KubeletPort"},
		{func(c *Config) { c.RenewInterval = time.Minute }, "shorter than LeaseDuration"},
		{func(c *Config) { c.DiskPressureRatio = 1.5 }, "Config.DiskPressureRatio"},
		{func(c *Config) { c.Taints = []api.Taint{{Key: "k", Effect: "Sometimes"}} }, "Config.Taints[0].Effect"},
		{func(c *Config) { c.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP}} }, "Config.Addresses[0]"},
	} {
		cfg := good
		c.change(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate = %v, want an error about %s", err, c.want)
		}
		if _, err := New(cfg); err == nil {
			t.Errorf("New accepted a config with a bad %s", c.want)
		}
	}
}
