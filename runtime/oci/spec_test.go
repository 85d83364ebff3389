package oci

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func testSandbox() *sandboxRecord {
	return &sandboxRecord{
		ID: "5b1d0c2a9f8e4d3c2b1a09f8e7d6c5b4",
		Config: runtime.SandboxConfig{
			Metadata: runtime.PodMetadata{Name: "web", Namespace: "default", UID: "u1"},
			Hostname: "web-0",
			Sysctls:  map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"},
		},
		NetNSPath:      "/var/lib/drover/oci/netns/5b1d",
		IPCNSPath:      "/var/lib/drover/oci/netns/5b1d-ipc",
		HostsPath:      "/var/lib/drover/oci/sandboxes/5b1d/hosts",
		ResolvConfPath: "/var/lib/drover/oci/sandboxes/5b1d/resolv.conf",
		HostnamePath:   "/var/lib/drover/oci/sandboxes/5b1d/hostname",
	}
}

func testInput() specInput {
	return specInput{
		Container: &runtime.ContainerConfig{
			Name:    "app",
			Image:   "registry:5000/app:v1",
			Args:    []string{"--port", "8080"},
			Env:     []runtime.KeyValue{{Key: "MODE", Value: "prod"}, {Key: "EXTRA", Value: "1"}},
			Mounts:  []runtime.Mount{{HostPath: "/srv/data", ContainerPath: "/data/", ReadOnly: true}, {HostPath: "/srv/cache", ContainerPath: "/cache"}},
			LogPath: "app/0.log",
			Resources: runtime.Resources{
				CPUShares: 256, CPUQuota: 50000, MemoryLimit: 128 << 20,
			},
		},
		Image: runtime.ImageConfig{
			Entrypoint: []string{"/bin/app"},
			Cmd:        []string{"--help"},
			Env:        []string{"PATH=/bin", "MODE=dev"},
			WorkingDir: "/srv",
		},
		Rootfs:      "/var/lib/drover/oci/images/containers/c1/rootfs",
		User:        specs.User{UID: 0, GID: 0},
		Sandbox:     testSandbox(),
		CgroupsPath: "/drover/c1",
	}
}

func TestBuildSpecGolden(t *testing.T) {
	s, err := buildSpec(testInput())
	require.NoError(t, err)
	got, err := json.MarshalIndent(s, "", "\t")
	require.NoError(t, err)
	golden := filepath.Join("testdata", "spec.golden.json")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -run TestBuildSpecGolden -update to make it")
	assert.JSONEq(t, string(want), string(got))
}

func TestBuildSpecDefaults(t *testing.T) {
	s, err := buildSpec(testInput())
	require.NoError(t, err)
	p := s.Process
	assert.Equal(t, []string{"/bin/app", "--port", "8080"}, p.Args, "args replace the image's cmd")
	assert.Equal(t, []string{"PATH=/bin", "MODE=prod", "EXTRA=1"}, p.Env, "the container's env replaces the image's in place")
	assert.Equal(t, "/srv", p.Cwd)
	assert.True(t, p.NoNewPrivileges)
	assert.Nil(t, p.OOMScoreAdj, "never an oom_score_adj")
	assert.Equal(t, DefaultCapabilities, p.Capabilities.Bounding)
	assert.Equal(t, DefaultCapabilities, p.Capabilities.Effective, "root gets its capabilities effective")
	assert.Empty(t, p.Capabilities.Inheritable)
	assert.Empty(t, p.Capabilities.Ambient)
	assert.False(t, s.Root.Readonly)
	assert.Equal(t, "web-0", s.Hostname)
	assert.Equal(t, "/drover/c1", s.Linux.CgroupsPath)
	assert.Equal(t, MaskedPaths, s.Linux.MaskedPaths)
	assert.Equal(t, ReadonlyPaths, s.Linux.ReadonlyPaths)
	assert.Equal(t, map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}, s.Linux.Sysctl)

	assert.Equal(t, []specs.LinuxNamespace{
		{Type: specs.MountNamespace},
		{Type: specs.PIDNamespace},
		{Type: specs.IPCNamespace, Path: "/var/lib/drover/oci/netns/5b1d-ipc"},
		{Type: specs.NetworkNamespace, Path: "/var/lib/drover/oci/netns/5b1d"},
		{Type: specs.UTSNamespace},
	}, s.Linux.Namespaces)

	var dsts []string
	for _, m := range s.Mounts {
		dsts = append(dsts, m.Destination)
	}
	assert.Equal(t, []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
		"/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/data", "/cache"}, dsts)
	mount := func(dst string) specs.Mount {
		i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == dst })
		require.GreaterOrEqual(t, i, 0, dst)
		return s.Mounts[i]
	}
	assert.Contains(t, mount("/sys").Options, "ro")
	assert.Contains(t, mount("/sys/fs/cgroup").Options, "ro")
	assert.Equal(t, "/var/lib/drover/oci/sandboxes/5b1d/hosts", mount("/etc/hosts").Source)
	assert.Equal(t, []string{"rbind", "rprivate", "ro"}, mount("/data").Options)
	assert.Equal(t, []string{"rbind", "rprivate", "rw"}, mount("/cache").Options)

	r := s.Linux.Resources
	assert.Equal(t, uint64(256), *r.CPU.Shares)
	assert.Equal(t, int64(50000), *r.CPU.Quota)
	assert.Equal(t, uint64(100000), *r.CPU.Period, "the default CFS period")
	assert.Equal(t, int64(128<<20), *r.Memory.Limit)
	assert.Nil(t, r.Memory.Swap)
	assert.Equal(t, []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, r.Devices)
}

func TestBuildSpecVariants(t *testing.T) {
	t.Run("command drops the image's cmd", func(t *testing.T) {
		in := testInput()
		in.Container.Command, in.Container.Args = []string{"sh", "-c", "true"}, nil
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.Equal(t, []string{"sh", "-c", "true"}, s.Process.Args)
	})
	t.Run("PATH default and working dir default", func(t *testing.T) {
		in := testInput()
		in.Image.Env, in.Image.WorkingDir, in.Container.Env = nil, "", nil
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.Equal(t, []string{"PATH=" + DefaultPath}, s.Process.Env)
		assert.Equal(t, "/", s.Process.Cwd)
	})
	t.Run("container working dir wins", func(t *testing.T) {
		in := testInput()
		in.Container.WorkingDir = "/tmp/"
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.Equal(t, "/tmp", s.Process.Cwd)
	})
	t.Run("read-only root filesystem", func(t *testing.T) {
		in := testInput()
		in.Container.Security.ReadOnlyRootFilesystem = true
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.True(t, s.Root.Readonly)
	})
	t.Run("non-root user has no effective capabilities", func(t *testing.T) {
		in := testInput()
		in.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{27}}
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.Equal(t, in.User, s.Process.User)
		assert.Equal(t, DefaultCapabilities, s.Process.Capabilities.Bounding)
		assert.Empty(t, s.Process.Capabilities.Effective)
		assert.Empty(t, s.Process.Capabilities.Permitted)
	})
	t.Run("privileged", func(t *testing.T) {
		in := testInput()
		in.Container.Security.Privileged = true
		in.AllCaps = boundingCapabilities(1<<38 - 1)
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.Len(t, s.Process.Capabilities.Bounding, 38, "every capability the node can grant")
		assert.Contains(t, s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
		assert.NotContains(t, s.Process.Capabilities.Bounding, "CAP_PERFMON")
		assert.False(t, s.Process.NoNewPrivileges)
		assert.Empty(t, s.Linux.MaskedPaths)
		assert.Empty(t, s.Linux.ReadonlyPaths)
		assert.Equal(t, []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}, s.Linux.Resources.Devices)
		assert.Equal(t, specs.Mount{Destination: "/dev", Type: "bind", Source: "/dev", Options: []string{"rbind", "nosuid"}}, s.Mounts[1])
		assert.Contains(t, s.Mounts[slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/sys" })].Options, "rw")
	})
	t.Run("privilege escalation allowed", func(t *testing.T) {
		in := testInput()
		yes := true
		in.Container.Security.AllowPrivilegeEscalation = &yes
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.False(t, s.Process.NoNewPrivileges)
	})
	t.Run("node namespaces", func(t *testing.T) {
		in := testInput()
		in.Sandbox.Config.Namespaces = runtime.NamespaceOptions{Network: runtime.NamespaceNode, IPC: runtime.NamespaceNode, PID: runtime.NamespaceNode}
		in.Sandbox.NetNSPath, in.Sandbox.IPCNSPath = "", ""
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.Equal(t, []specs.LinuxNamespace{{Type: specs.MountNamespace}}, s.Linux.Namespaces)
		assert.Empty(t, s.Hostname)
	})
	t.Run("IPC per container", func(t *testing.T) {
		in := testInput()
		in.Sandbox.Config.Namespaces.IPC = runtime.NamespaceContainer
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.Contains(t, s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.IPCNamespace})
	})
	t.Run("no limits", func(t *testing.T) {
		in := testInput()
		in.Container.Resources = runtime.Resources{}
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.Nil(t, s.Linux.Resources.CPU)
		assert.Nil(t, s.Linux.Resources.Memory)
	})
	t.Run("explicit period, tiny shares", func(t *testing.T) {
		in := testInput()
		in.Container.Resources = runtime.Resources{CPUShares: 1, CPUQuota: 20000, CPUPeriod: 50000}
		s, err := buildSpec(in)
		require.NoError(t, err)
		assert.Equal(t, uint64(2), *s.Linux.Resources.CPU.Shares, "at least 2")
		assert.Equal(t, uint64(50000), *s.Linux.Resources.CPU.Period)
	})
}

func TestBuildSpecErrors(t *testing.T) {
	for name, mutate := range map[string]func(*specInput){
		"no command": func(in *specInput) {
			in.Image.Entrypoint, in.Image.Cmd, in.Container.Args = nil, nil, nil
		},
		"relative working dir":  func(in *specInput) { in.Container.WorkingDir = "srv" },
		"relative mount target": func(in *specInput) { in.Container.Mounts[0].ContainerPath = "data" },
		"relative mount source": func(in *specInput) { in.Container.Mounts[1].HostPath = "cache" },
		"unknown capability":    func(in *specInput) { in.Container.Security.AddCapabilities = []string{"FLY"} },
	} {
		t.Run(name, func(t *testing.T) {
			in := testInput()
			mutate(&in)
			_, err := buildSpec(in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), `container "app"`)
		})
	}
}

func TestCapabilities(t *testing.T) {
	for _, c := range []struct {
		name      string
		add, drop []string
		want      []string
	}{
		{"default", nil, nil, DefaultCapabilities},
		{"add with and without prefix", []string{"NET_ADMIN", "cap_sys_time"}, nil, append(slices.Clone(DefaultCapabilities), "CAP_NET_ADMIN", "CAP_SYS_TIME")},
		{"add one already there", []string{"KILL"}, nil, DefaultCapabilities},
		{"drop", nil, []string{"NET_RAW", "MKNOD"}, slices.DeleteFunc(slices.Clone(DefaultCapabilities), func(c string) bool { return c == "CAP_NET_RAW" || c == "CAP_MKNOD" })},
		{"drop all, add one", []string{"NET_BIND_SERVICE"}, []string{"ALL"}, []string{"CAP_NET_BIND_SERVICE"}},
		{"drop all", nil, []string{"all"}, []string{}},
		{"add all", []string{"ALL"}, nil, allCapabilities},
		{"add all, drop one", []string{"ALL"}, []string{"SYS_ADMIN"}, slices.DeleteFunc(slices.Clone(allCapabilities), func(c string) bool { return c == "CAP_SYS_ADMIN" })},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := capabilities(runtime.SecurityConfig{AddCapabilities: c.add, DropCapabilities: c.drop}, nil)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	_, err := capabilities(runtime.SecurityConfig{DropCapabilities: []string{"NET_RAW", "WIZARDRY"}}, nil)
	assert.ErrorContains(t, err, `Security.DropCapabilities[1] "WIZARDRY"`)
}

func TestBoundingCapabilities(t *testing.T) {
	assert.Equal(t, []string{}, boundingCapabilities(0))
	assert.Equal(t, []string{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"}, boundingCapabilities(1|1<<5|1<<21))
	assert.Equal(t, allCapabilities, boundingCapabilities(1<<41-1))
}

func TestMergeEnv(t *testing.T) {
	assert.Equal(t,
		[]string{"A=1", "PATH=/x", "B=new", "C=3"},
		mergeEnv([]string{"A=1", "PATH=/x", "B=old"}, []runtime.KeyValue{{Key: "B", Value: "new"}, {Key: "C", Value: "3"}}))
	assert.Equal(t, []string{"X=a=b", "PATH=" + DefaultPath}, mergeEnv(nil, []runtime.KeyValue{{Key: "X", Value: "a=b"}}))
	assert.Equal(t, []string{"K=2"}[0], mergeEnv([]string{"K=1", "K=2"}, nil)[0], "a key twice in the image: the last wins")
}
