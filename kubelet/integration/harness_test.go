package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/kubelet"
	"github.com/drover-io/drover/kubelet/internal/podlabels"
	"github.com/drover-io/drover/kubelet/nodestatus"
	"github.com/drover-io/drover/kubelet/prober"
	"github.com/drover-io/drover/kubelet/server"
	"github.com/drover-io/drover/kubelet/volume"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
	"github.com/drover-io/drover/runtime/oci"
)

// Timing of the agents under test: short periods, so that status, probes
// and configMap refreshes follow within seconds.
const (
	nodeName     = "kubeint"
	relistPeriod = 200 * time.Millisecond
	resyncPeriod = 2 * time.Second
	// testTimeout bounds a whole test; waits have their own deadlines.
	testTimeout = 3 * time.Minute
)

// node is one node of a test: an API server (controllertest), a runc
// driver on a fresh root with the busybox image in a registry started for
// the test, and the node agent on it, wired as cluster.Node wires it
// (registration, volumes, environment, probes, HTTPS API), with the API
// server's pods/log reaching that HTTPS API.
type node struct {
	t     *testing.T
	ctx   context.Context
	env   *controllertest.Env
	image string // the busybox image's reference
	dir   string // the node's data directory
	log   *slog.Logger

	ociCfg  oci.Config
	rt      *oci.Driver // the runtime and image service
	addr    string      // the HTTPS API's host:port
	kubelet *kubelet.Kubelet
	metrics *prometheus.Registry // the running agent's metrics
	stop    func()               // stops the running agent and waits for it
	// closeRuntime closes the driver openRuntime opened.
	closeRuntime func()
}

// requireHost skips (or fails with DROVER_INTEGRATION=1) when this
// machine cannot run containers with runc.
func requireHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		imagetest.Missing(t, "root (the oci driver mounts, unshares and runs runc)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		imagetest.Missing(t, "runc (apt install runc)")
	}
	if imagetest.BusyboxPath() == "" {
		imagetest.Missing(t, "busybox (apt install busybox-static)")
	}
}

// newNode starts an API server and a node agent on runc; both stop, and
// every sandbox is removed, when the test ends.
func newNode(t *testing.T) *node {
	t.Helper()
	requireHost(t)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	n := &node{t: t, ctx: ctx, dir: t.TempDir(), log: testLogger(t)}

	n.image = imagetest.StartRegistry(t, nil) + "/drover/busybox:latest"
	imagetest.Push(t, n.image, imagetest.BusyboxImage(t))

	n.ociCfg = oci.DefaultConfig()
	n.ociCfg.Root = filepath.Join(n.dir, "oci")
	n.ociCfg.StateDir = filepath.Join(n.dir, "runc")
	n.ociCfg.CgroupParent = "drover-kubeint-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	n.ociCfg.Logger = n.log
	// Runs last: every sandbox the test left is removed by a driver made
	// anew on the root, and nothing may be left of runc's containers,
	// the mounts and the cgroups.
	t.Cleanup(n.sweep)
	n.openRuntime()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() }) // the server closes it once it runs
	n.addr = ln.Addr().String()
	srv := n.newServer()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate().Leaf)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	t.Cleanup(tr.CloseIdleConnections)
	n.env = controllertest.New(t, controllertest.WithServerConfig(func(c *apiserver.Config) {
		c.Kubelet = apiserver.KubeletConfig{Scheme: "https", Transport: tr}
	}))
	n.start(srv, ln)
	n.waitNodeReady()
	t.Logf("node up in %v", time.Since(start).Round(time.Millisecond))
	return n
}

// testLogger sends log lines (warnings, or the level of DROVER_TEST_LOG)
// to the test log until the test is over.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv(controllertest.LogLevelEnv))); err != nil {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	t    *testing.T
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// openRuntime opens the runc driver on the node's data directory (again,
// after a restart of the agent). The driver opens the image store, under
// its root, and is the node's image service.
func (n *node) openRuntime() {
	d, err := oci.New(n.ociCfg)
	require.NoError(n.t, err)
	n.rt = d
	var once sync.Once
	n.closeRuntime = func() { once.Do(func() { assert.NoError(n.t, d.Close()) }) }
	n.t.Cleanup(n.closeRuntime)
}

// newServer makes the node agent's HTTPS API on the node's runtime; its
// certificate is made once in the data directory and reused.
func (n *node) newServer() *server.Server {
	scfg := server.DefaultConfig()
	scfg.Addr = n.addr
	scfg.NodeName = nodeName
	scfg.Runtime = n.rt
	scfg.CertDir = filepath.Join(n.dir, "kubelet", "pki")
	scfg.Logger = n.log.With("part", "server")
	srv, err := server.New(scfg)
	require.NoError(n.t, err)
	return srv
}

type serverRunner struct {
	srv *server.Server
	ln  net.Listener
}

func (s serverRunner) Run(ctx context.Context) error { return s.srv.Serve(ctx, s.ln) }

// start runs a node agent on the node's runtime, serving srv on ln, made
// as cluster.Node makes it but for the periods (see the constants).
func (n *node) start(srv *server.Server, ln net.Listener) {
	t := n.t
	c := n.env.Client
	root := filepath.Join(n.dir, "kubelet")
	port, err := strconv.Atoi(n.addr[strings.LastIndexByte(n.addr, ':')+1:])
	require.NoError(t, err)

	ns := nodestatus.DefaultConfig()
	ns.Client, ns.NodeName = c, nodeName
	ns.Runtime, ns.Images = n.rt, n.rt
	ns.KubeletPort = port
	ns.RootDir = root
	ns.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: "127.0.0.1"}, {Type: api.NodeHostName, Address: nodeName}}
	ns.Logger = n.log.With("part", "nodestatus")
	reporter, err := nodestatus.New(ns)
	require.NoError(t, err)

	vc := volume.DefaultConfig()
	vc.Root = filepath.Join(root, "pods")
	vc.Getter = volume.ClientGetter(c)
	vc.NodeName = nodeName
	vc.Logger = n.log.With("part", "volume")
	volumes, err := volume.NewManager(vc)
	require.NoError(t, err)

	pc := prober.DefaultConfig()
	pc.Execer = n.rt
	pc.Logger = n.log.With("part", "prober")

	kc := kubelet.DefaultConfig()
	kc.NodeName = nodeName
	kc.NodeIP = "127.0.0.1"
	kc.Client = c
	kc.Runtime, kc.Images = n.rt, n.rt
	kc.RootDir = root
	kc.Logger = n.log
	n.metrics = prometheus.NewRegistry()
	kc.Registerer = n.metrics
	kc.Volumes = volumes
	kc.ResolveEnv = kubelet.ResolveEnv
	kc.NewProbeManager = kubelet.Probes(pc)
	kc.NodeStatus = reporter
	kc.Server = serverRunner{srv: srv, ln: ln}
	kc.RelistPeriod = relistPeriod
	kc.ResyncPeriod = resyncPeriod
	k, err := kubelet.New(kc)
	require.NoError(t, err)
	n.kubelet = k

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err, "kubelet.Run")
			case <-time.After(30 * time.Second):
				t.Errorf("the node agent did not stop within 30s of its context ending")
			}
		})
	}
	t.Cleanup(n.stop)
}

// restart stops the node agent and its runtime driver, and starts new
// ones on the same data directory, HTTPS address and certificate.
func (n *node) restart() {
	t := n.t
	n.stop()
	n.closeRuntime()
	n.openRuntime()
	ln, err := net.Listen("tcp", n.addr)
	require.NoError(t, err, "listen again on the node agent's address")
	n.start(n.newServer(), ln)
}

// waitNodeReady waits for the agent to register its Node as Ready.
func (n *node) waitNodeReady() {
	n.t.Helper()
	var node api.Node
	n.poll(time.Minute, "the Node registered and Ready", func() (bool, any) {
		if err := n.env.Client.Get(n.ctx, "", nodeName, &node); err != nil {
			return false, err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == api.NodeReady {
				return c.Status == api.ConditionTrue, node.Status.Conditions
			}
		}
		return false, node.Status.Conditions
	})
}

// sweep removes every sandbox left on the node's root, then fails the
// test if runc containers, mounts or cgroups are left.
func (n *node) sweep() {
	t := n.t
	ctx := context.Background()
	cfg := n.ociCfg
	if last, err := oci.New(cfg); assert.NoError(t, err) {
		sbs, err := last.ListPodSandboxes(ctx)
		assert.NoError(t, err)
		for _, sb := range sbs {
			assert.NoError(t, last.RemovePodSandbox(ctx, sb.ID))
		}
		assert.NoError(t, last.Close())
	}
	out, err := exec.Command("runc", "--root", cfg.StateDir, "list", "-q").CombinedOutput()
	if err == nil && len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("runc containers left: %s", out)
		for _, id := range strings.Fields(string(out)) {
			_ = exec.Command("runc", "--root", cfg.StateDir, "delete", "--force", id).Run()
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, n.dir) {
			t.Errorf("mount left: %s", line)
		}
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + cfg.CgroupParent)
	more, _ := filepath.Glob("/sys/fs/cgroup/*/" + cfg.CgroupParent)
	for _, d := range append(dirs, more...) {
		subs, _ := filepath.Glob(d + "/*/")
		for _, s := range subs {
			if fi, err := os.Stat(s); err == nil && fi.IsDir() {
				t.Errorf("cgroup left: %s", s)
			}
		}
		if err := os.Remove(d); err != nil {
			t.Errorf("remove cgroup %s: %v", d, err)
		}
	}
}

// poll calls cond until it says done, every 20 ms at most, and fails the
// test with what and cond's last state if it has not within timeout.
func (n *node) poll(timeout time.Duration, what string, cond func() (done bool, state any)) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		done, state := cond()
		if done {
			return
		}
		if time.Now().After(deadline) || n.ctx.Err() != nil {
			b, _ := json.MarshalIndent(state, "", "  ")
			n.t.Fatalf("not %s within %v; last seen:\n%s", what, timeout, b)
		}
		tm := time.NewTimer(wait)
		select {
		case <-tm.C:
		case <-n.ctx.Done():
			tm.Stop()
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// pod is a pod bound to the node, with one container "main" running
// command in the busybox image and a short grace period.
func (n *node) pod(name string, command ...string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"},
		Spec: api.PodSpec{
			NodeName:                      nodeName,
			TerminationGracePeriodSeconds: new(int64(2)),
			Containers: []api.Container{{
				Name:    "main",
				Image:   n.image,
				Command: command,
			}},
		},
	}
}

// create creates pod and returns it as created.
func (n *node) create(pod *api.Pod) *api.Pod {
	n.t.Helper()
	require.NoError(n.t, n.env.Client.Create(n.ctx, pod))
	return pod
}

// waitPod polls pod name until cond holds, and returns it.
func (n *node) waitPod(name string, timeout time.Duration, what string, cond func(*api.Pod) bool) *api.Pod {
	n.t.Helper()
	var pod *api.Pod
	n.poll(timeout, name+" "+what, func() (bool, any) {
		p := &api.Pod{}
		if err := n.env.Client.Get(n.ctx, "default", name, p); err != nil {
			return false, err.Error()
		}
		pod = p
		return cond(p), p.Status
	})
	return pod
}

// mainStatus returns the status of container "main" (nil if none yet).
func mainStatus(p *api.Pod) *api.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == "main" {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// condition returns the status of the pod's condition typ ("" if unset).
func condition(p *api.Pod, typ api.PodConditionType) api.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

// running reports whether the pod is Running with "main" running.
func running(p *api.Pod) bool {
	cs := mainStatus(p)
	return p.Status.Phase == api.PodRunning && cs != nil && cs.State.Running != nil
}

// runtimeID is the runtime's ID of a containerID of the status
// ("runc://<id>"), which must carry the runtime's name.
func (n *node) runtimeID(containerID string) string {
	n.t.Helper()
	v, err := n.rt.Version(n.ctx)
	require.NoError(n.t, err)
	id, ok := strings.CutPrefix(containerID, v.Name+"://")
	require.True(n.t, ok, "containerID %q does not start with %q", containerID, v.Name+"://")
	return id
}

// exec runs cmd in the container of the status containerID through the
// runtime, and returns its output; it fails the test unless it exits 0.
func (n *node) exec(containerID string, cmd ...string) string {
	n.t.Helper()
	out, code := n.execCode(containerID, cmd...)
	require.Equal(n.t, 0, code, "exec %q: %s", cmd, out)
	return out
}

// execCode runs cmd as exec does, and returns its output and exit code.
func (n *node) execCode(containerID string, cmd ...string) (string, int) {
	n.t.Helper()
	var out bytes.Buffer
	code, err := n.rt.Exec(n.ctx, n.runtimeID(containerID), cmd, runtime.ExecOptions{Stdout: &out, Stderr: &out, Timeout: 10 * time.Second})
	require.NoError(n.t, err, "exec %q", cmd)
	return out.String(), code
}

// podContainers lists the runtime's containers of the pod uid.
func (n *node) podContainers(uid api.UID) []*runtime.ContainerStatus {
	n.t.Helper()
	cs, err := n.rt.ListContainers(n.ctx, runtime.ContainerFilter{Labels: map[string]string{podlabels.PodUID: string(uid)}})
	require.NoError(n.t, err)
	return cs
}

// logs reads the log of container "main" of pod name through the API
// server's pods/log, which proxies to the node agent's HTTPS API.
func (n *node) logs(name string, opts client.LogOptions) (string, error) {
	opts.Container = "main"
	rc, err := n.env.Client.Logs(n.ctx, "default", name, opts)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// metric returns the value of the running agent's metric name: a
// gauge's or counter's value, a histogram's sample count.
func (n *node) metric(name string) float64 {
	n.t.Helper()
	mfs, err := n.metrics.Gather()
	require.NoError(n.t, err)
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

// waitEvents waits for the node agent's Events about pod name to have
// every reason of reasons, and returns the reasons seen, in order.
func (n *node) waitEvents(name string, reasons ...string) []string {
	n.t.Helper()
	var seen []string
	n.poll(30*time.Second, "events "+strings.Join(reasons, ", ")+" about "+name, func() (bool, any) {
		var list api.EventList
		if err := n.env.Client.List(n.ctx, &list, client.InNamespace("default")); err != nil {
			return false, err.Error()
		}
		seen = seen[:0]
		for _, e := range list.Items {
			if e.InvolvedObject.Kind == "Pod" && e.InvolvedObject.Name == name {
				seen = append(seen, e.Reason)
			}
		}
		for _, r := range reasons {
			if !slices.Contains(seen, r) {
				return false, seen
			}
		}
		return true, seen
	})
	return seen
}
