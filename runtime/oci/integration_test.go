package oci_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
	"github.com/drover-io/drover/runtime/logs"
	"github.com/drover-io/drover/runtime/oci"
)

func TestMain(m *testing.M) {
	oci.RunShimIfRequested()
	os.Exit(m.Run())
}

// env is a driver on a fresh root with the busybox image in a registry.
type env struct {
	t     testing.TB
	cfg   oci.Config
	d     *oci.Driver
	image string
	ctx   context.Context
}

// requireHost skips (or fails with DROVER_INTEGRATION=1) when this
// machine cannot run containers.
func requireHost(t testing.TB) {
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

// registryImage builds the busybox image, pushes it to a real registry
// (Debian's docker-registry, distribution 2.8) started on loopback, and
// returns its reference: the drivers' tests pull from it as a node pulls
// from a registry.
func registryImage(t testing.TB) string {
	t.Helper()
	img := imagetest.BusyboxImage(t)
	ref := imagetest.StartDistribution(t) + "/drover/busybox:latest"
	imagetest.Push(t, ref, img)
	return ref
}

// testConfig is a driver config on a fresh root with a cgroup parent
// of its own, removed (with every sandbox) at the end of the test.
func testConfig(t testing.TB) oci.Config {
	root := t.TempDir()
	cfg := oci.DefaultConfig()
	cfg.Root = root
	cfg.StateDir = filepath.Join(root, "runc")
	cfg.CgroupParent = "drover-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Cleanup(func() { checkClean(t, cfg) })
	return cfg
}

// checkClean fails the test when the driver left something behind.
func checkClean(t testing.TB, cfg oci.Config) {
	out, err := exec.Command("runc", "--root", cfg.StateDir, "list", "-q").CombinedOutput()
	if err == nil && len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("runc containers left: %s", out)
		for _, id := range strings.Fields(string(out)) {
			_ = exec.Command("runc", "--root", cfg.StateDir, "delete", "--force", id).Run()
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, cfg.Root) {
			t.Errorf("mount left: %s", line)
		}
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + cfg.CgroupParent)
	for _, d := range dirs {
		// The parent itself is the test's to remove; anything in it is a leak.
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

func newEnv(t testing.TB) *env {
	t.Helper()
	requireHost(t)
	e := &env{t: t, cfg: testConfig(t), image: registryImage(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e.ctx = ctx
	e.newDriver()
	_, err := e.d.PullImage(ctx, e.image, runtime.PullOptions{})
	require.NoError(t, err)
	return e
}

// newDriver makes a driver on the env's root: the env's driver from now
// on. The env's previous driver is closed first, as a restarted node
// agent's is (its image store is locked while open). At the end of the
// test a driver made anew on the root removes every sandbox left.
func (e *env) newDriver() *oci.Driver {
	e.t.Helper()
	if e.d == nil {
		cfg := e.cfg
		e.t.Cleanup(func() { // registered first: runs after the drivers' Close
			last, err := oci.New(cfg)
			if !assert.NoError(e.t, err) {
				return
			}
			defer last.Close()
			sbs, err := last.ListPodSandboxes(context.Background())
			assert.NoError(e.t, err)
			for _, sb := range sbs {
				assert.NoError(e.t, last.RemovePodSandbox(context.Background(), sb.ID))
			}
		})
	} else {
		require.NoError(e.t, e.d.Close())
	}
	d, err := oci.New(e.cfg)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { assert.NoError(e.t, d.Close()) })
	e.d = d
	return d
}

func (e *env) sandbox(name string) (string, string) {
	e.t.Helper()
	logDir := e.t.TempDir()
	id, err := e.d.RunPodSandbox(e.ctx, &runtime.SandboxConfig{
		Metadata:     runtime.PodMetadata{Name: name, Namespace: "default", UID: "uid-" + name},
		Hostname:     name,
		LogDirectory: logDir,
	})
	require.NoError(e.t, err)
	return id, logDir
}

func (e *env) config(name string, cmd ...string) *runtime.ContainerConfig {
	return &runtime.ContainerConfig{Name: name, Image: e.image, Command: cmd, LogPath: name + ".log"}
}

func (e *env) run(sb string, cfg *runtime.ContainerConfig) string {
	e.t.Helper()
	id, err := e.d.CreateContainer(e.ctx, sb, cfg)
	require.NoError(e.t, err)
	require.NoError(e.t, e.d.StartContainer(e.ctx, id))
	return id
}

// waitExited polls the container's status until it has exited.
func (e *env) waitExited(d *oci.Driver, id string) *runtime.ContainerStatus {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		st, err := d.ContainerStatus(e.ctx, id)
		require.NoError(e.t, err)
		if st.State == runtime.ContainerExited {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s still %s after 30s", id, st.State)
		}
		time.Sleep(delay)
	}
}

func readStdout(t testing.TB, path string) string {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, logs.Read(context.Background(), path, logs.ReadOptions{Stream: logs.Stdout}, &out))
	return out.String()
}

func TestEchoHello(t *testing.T) {
	e := newEnv(t)
	sb, logDir := e.sandbox("echo")
	id := e.run(sb, e.config("hello", "echo", "hello"))
	st := e.waitExited(e.d, id)
	assert.Equal(t, int32(0), st.ExitCode)
	assert.Equal(t, runtime.ReasonCompleted, st.Reason)
	assert.Equal(t, filepath.Join(logDir, "hello.log"), st.LogPath)
	data, err := os.ReadFile(st.LogPath)
	require.NoError(t, err)
	rec, err := logs.ParseRecord(bytes.TrimSuffix(data, []byte("\n")))
	require.NoError(t, err, "log %q", data)
	assert.Equal(t, logs.Stdout, rec.Stream)
	assert.False(t, rec.Partial)
	assert.Equal(t, "hello", string(rec.Text))
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z stdout F hello\n$`, string(data))
}

func TestExec(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("exec")
	id := e.run(sb, e.config("target", "sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"))
	var out, errs bytes.Buffer
	code, err := e.d.Exec(e.ctx, id, []string{"sh", "-c", "echo hello; echo oops >&2; exit 4"}, runtime.ExecOptions{Stdout: &out, Stderr: &errs})
	require.NoError(t, err)
	assert.Equal(t, 4, code)
	assert.Equal(t, "hello\n", out.String())
	assert.Equal(t, "oops\n", errs.String())

	out.Reset()
	code, err = e.d.Exec(e.ctx, id, []string{"echo", "hello", "exec"}, runtime.ExecOptions{Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "hello exec\n", out.String())

	code, err = e.d.Exec(e.ctx, id, []string{"/no/such/command"}, runtime.ExecOptions{})
	require.NoError(t, err)
	assert.Equal(t, 127, code, "a missing command exits 127, as a shell says")

	begin := time.Now()
	_, err = e.d.Exec(e.ctx, id, []string{"sh", "-c", "trap '' TERM; sleep 1000000 & wait"}, runtime.ExecOptions{Timeout: 200 * time.Millisecond})
	assert.ErrorIs(t, err, runtime.ErrTimeout)
	assert.Less(t, time.Since(begin), 5*time.Second)
	st, err := e.d.ContainerStatus(e.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerRunning, st.State)

	require.NoError(t, e.d.StopContainer(e.ctx, id, runtime.StopOptions{GracePeriod: time.Minute}))
	_, err = e.d.Exec(e.ctx, id, []string{"true"}, runtime.ExecOptions{})
	assert.ErrorIs(t, err, runtime.ErrNotRunning)
	_, err = e.d.Exec(e.ctx, "no-such-container", []string{"true"}, runtime.ExecOptions{})
	assert.ErrorIs(t, err, runtime.ErrNotFound)
}

func TestExitCodeAndStartFailure(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("exits")
	bad := e.run(sb, e.config("bad", "sh", "-c", "exit 3"))
	st := e.waitExited(e.d, bad)
	assert.Equal(t, int32(3), st.ExitCode)
	assert.Equal(t, runtime.ReasonError, st.Reason)

	missing, err := e.d.CreateContainer(e.ctx, sb, e.config("missing", "/no/such/command"))
	require.NoError(t, err)
	err = e.d.StartContainer(e.ctx, missing)
	require.ErrorIs(t, err, runtime.ErrStartFailed)
	assert.Contains(t, err.Error(), "/no/such/command")
	st, err = e.d.ContainerStatus(e.ctx, missing)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, runtime.ReasonStartError, st.Reason)
	assert.Contains(t, st.Message, "no such file or directory")
	assert.NotEqual(t, int32(0), st.ExitCode)
	logData, _ := os.ReadFile(st.LogPath)
	assert.NotContains(t, string(logData), "runc", "the runtime's own error is not the container's output")

	// A create that fails after the monitor was told its container (a
	// bad working directory is found while the bundle is written) leaves
	// no container, and the monitor exits.
	cfg := e.config("badcwd", "true")
	cfg.WorkingDir = "relative/dir"
	_, err = e.d.CreateContainer(e.ctx, sb, cfg)
	require.ErrorContains(t, err, `working directory "relative/dir"`)
	list, err := e.d.ListContainers(e.ctx, runtime.ContainerFilter{})
	require.NoError(t, err)
	for _, c := range list {
		assert.NotEqual(t, "badcwd", c.Name)
	}
	waitIdle(t, e.d)
	ents, err := os.ReadDir(filepath.Join(e.cfg.Root, "containers"))
	require.NoError(t, err)
	var dirs []string
	for _, d := range ents {
		dirs = append(dirs, d.Name())
	}
	want := []string{bad, missing}
	if spare := oci.SpareRootFS(e.d, imageID(t, e.d, e.image)); spare != "" {
		want = append(want, spare)
	}
	assert.ElementsMatch(t, want, dirs, "the directories of bad and missing (and the spare root filesystem) only")

	// The driver is fine.
	ok := e.run(sb, e.config("ok", "true"))
	assert.Equal(t, int32(0), e.waitExited(e.d, ok).ExitCode)
}

func TestStopGrace(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("stop")
	polite := e.run(sb, e.config("polite", "sh", "-c", "trap 'exit 7' TERM; sleep 1000000 & wait"))
	stubborn := e.run(sb, e.config("stubborn", "sh", "-c", "trap '' TERM; sleep 1000000 & wait"))

	begin := time.Now()
	require.NoError(t, e.d.StopContainer(e.ctx, polite, runtime.StopOptions{GracePeriod: time.Minute}))
	assert.Less(t, time.Since(begin), 30*time.Second, "a container that exits on TERM does not wait out its grace")
	st, err := e.d.ContainerStatus(e.ctx, polite)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(7), st.ExitCode, "the TERM handler ran")

	const grace = 500 * time.Millisecond
	begin = time.Now()
	require.NoError(t, e.d.StopContainer(e.ctx, stubborn, runtime.StopOptions{GracePeriod: grace}))
	assert.GreaterOrEqual(t, time.Since(begin), grace)
	st, err = e.d.ContainerStatus(e.ctx, stubborn)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(137), st.ExitCode, "killed after the grace period")
	assert.Equal(t, runtime.ReasonError, st.Reason)
}

func TestOOMKilled(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("oom")
	cfg := e.config("hog", "sh", "-c", `x=$(head -c 134217728 /dev/zero | tr '\000' a); sleep 1000000`)
	cfg.Resources.MemoryLimit = 16 << 20
	id := e.run(sb, cfg)
	st := e.waitExited(e.d, id)
	assert.Equal(t, runtime.ReasonOOMKilled, st.Reason)
	assert.Equal(t, int32(137), st.ExitCode)
}

func TestSharedNetworkNamespace(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("net")
	sst, err := e.d.PodSandboxStatus(e.ctx, sb)
	require.NoError(t, err)
	require.NotEmpty(t, sst.NetNSPath)
	server := e.run(sb, e.config("server", "busybox", "nc", "-l", "-p", "8080", "-e", "busybox", "echo", "pong"))
	client := e.run(sb, e.config("client", "sh", "-c",
		`i=0; until busybox nc 127.0.0.1 8080 </dev/null; do i=$((i+1)); [ $i -ge 400 ] && exit 1; sleep 0.05; done`))
	cst := e.waitExited(e.d, client)
	assert.Equal(t, int32(0), cst.ExitCode)
	assert.Equal(t, "pong\n", readStdout(t, cst.LogPath))
	assert.Equal(t, int32(0), e.waitExited(e.d, server).ExitCode)

	// Another sandbox has a network of its own: nothing listens there.
	other, _ := e.sandbox("other")
	lone := e.run(other, e.config("lone", "busybox", "nc", "127.0.0.1", "8080"))
	assert.NotEqual(t, int32(0), e.waitExited(e.d, lone).ExitCode)

	// The sandbox's hostname, hosts and resolv.conf are the container's.
	id := e.run(sb, e.config("files", "sh", "-c", "hostname; cat /etc/hostname; grep -c localhost /etc/hosts"))
	st := e.waitExited(e.d, id)
	assert.Equal(t, "net\nnet\n2\n", readStdout(t, st.LogPath))
}

func TestRestartAdopts(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("restart")
	running := e.run(sb, e.config("running", "sh", "-c", "echo started; trap 'echo bye; exit 5' TERM; sleep 1000000 & wait"))
	exited := e.run(sb, e.config("exited", "sh", "-c", "echo done; exit 2"))
	e.waitExited(e.d, exited)
	before, err := e.d.ContainerStatus(e.ctx, running)
	require.NoError(t, err)

	d2 := e.newDriver() // the node agent restarted
	st, err := d2.ContainerStatus(e.ctx, running)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerRunning, st.State)
	assert.True(t, before.StartedAt.Equal(st.StartedAt))
	st, err = d2.ContainerStatus(e.ctx, exited)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(2), st.ExitCode)
	assert.Equal(t, "done\n", readStdout(t, st.LogPath))

	require.NoError(t, d2.StopContainer(e.ctx, running, runtime.StopOptions{GracePeriod: time.Minute}))
	st, err = d2.ContainerStatus(e.ctx, running)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerExited, st.State)
	assert.Equal(t, int32(5), st.ExitCode)
	assert.Equal(t, "started\nbye\n", readStdout(t, st.LogPath), "the log goes on across the driver's restart")
}

func TestStats(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("stats")
	cfg := e.config("busy", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000000")
	cfg.Resources = runtime.Resources{CPUShares: 512, CPUQuota: 50000, MemoryLimit: 64 << 20}
	id := e.run(sb, cfg)
	deadline := time.Now().Add(30 * time.Second)
	var st *runtime.ContainerStats
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		var err error
		st, err = e.d.ContainerStats(e.ctx, id)
		require.NoError(t, err)
		if st.CPUUsageNanoseconds > 0 && st.MemoryUsageBytes > 0 {
			break
		}
		require.False(t, time.Now().After(deadline), "stats stayed zero: %+v", st)
		time.Sleep(delay)
	}
	assert.Positive(t, st.MemoryWorkingSetBytes)
	assert.LessOrEqual(t, st.MemoryWorkingSetBytes, st.MemoryUsageBytes)
	assert.Less(t, st.MemoryUsageBytes, uint64(64<<20))
}

func TestSecurity(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("security")
	status := `grep -E '^(Uid|Gid|CapEff|NoNewPrivs):' /proc/self/status | tr -s '\t ' ' '`
	run := func(name string, mutate func(*runtime.ContainerConfig), script string) (string, int32) {
		t.Helper()
		cfg := e.config(name, "sh", "-c", script)
		if mutate != nil {
			mutate(cfg)
		}
		st := e.waitExited(e.d, e.run(sb, cfg))
		return readStdout(t, st.LogPath), st.ExitCode
	}

	out, code := run("default", nil, status+"; touch /ok && echo writable; cat /proc/kcore | wc -c; echo x > /proc/sys/kernel/domainname || echo ro-proc-sys")
	assert.Equal(t, int32(0), code)
	assert.Equal(t, "Uid: 0 0 0 0\nGid: 0 0 0 0\nCapEff: 00000000a80425fb\nNoNewPrivs: 1\nwritable\n0\nro-proc-sys\n", out,
		"root with Docker's capabilities, no_new_privs, masked and read-only /proc paths")

	out, _ = run("nobody", func(c *runtime.ContainerConfig) {
		c.Security.ReadOnlyRootFilesystem = true
		c.Security.DropCapabilities = []string{"ALL"}
		c.Security.AddCapabilities = []string{"NET_BIND_SERVICE"}
		c.Security.SupplementalGroups = []int64{1234}
		uid := int64(65534)
		c.Security.UID = &uid
	}, status+"; id -G; touch /tmp/x || echo read-only")
	assert.Equal(t, "Uid: 65534 65534 65534 65534\nGid: 65534 65534 65534 65534\nCapEff: 0000000000000000\nNoNewPrivs: 1\n65534 1234\nread-only\n", out)

	out, _ = run("privileged", func(c *runtime.ContainerConfig) { c.Security.Privileged = true }, status+"; ls /dev | grep -c . ")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 5, out)
	self, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	var bounding string
	for _, l := range strings.Split(string(self), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			bounding = strings.TrimSpace(v)
		}
	}
	assert.Equal(t, "CapEff: "+bounding, lines[2], "every capability the node has")
	assert.Equal(t, "NoNewPrivs: 0", lines[3])
	n, _ := strconv.Atoi(lines[4])
	assert.Greater(t, n, 10, "the node's devices")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("host\n"), 0o644))
	out, _ = run("mounts", func(c *runtime.ContainerConfig) {
		c.Mounts = []runtime.Mount{{HostPath: dir, ContainerPath: "/ro", ReadOnly: true}, {HostPath: dir, ContainerPath: "/rw"}}
	}, "cat /ro/f; echo no > /ro/g || echo ro-mount; echo yes > /rw/g && echo rw-mount")
	assert.Equal(t, "host\nro-mount\nrw-mount\n", out)
	data, err := os.ReadFile(filepath.Join(dir, "g"))
	require.NoError(t, err)
	assert.Equal(t, "yes\n", string(data))
}
