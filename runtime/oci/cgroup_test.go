package oci

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const hybridMountinfo = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
33 31 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
36 31 0:31 / /sys/fs/cgroup/cpu rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu
37 31 0:32 / /sys/fs/cgroup/cpuacct rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuacct
38 31 0:33 / /sys/fs/cgroup/memory\040x rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,memory
`

func TestParseCgroupMounts(t *testing.T) {
	m := parseCgroupMounts([]byte(hybridMountinfo))
	assert.False(t, m.V2, "hybrid")
	assert.Equal(t, "/sys/fs/cgroup/unified", m.Unified)
	assert.Equal(t, map[string]string{"name=systemd": "/sys/fs/cgroup/systemd", "cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct", "memory": "/sys/fs/cgroup/memory x"}, m.V1)
	assert.Equal(t, "/sys/fs/cgroup/memory x/drover/c1", m.memoryDir("/drover/c1"))
	assert.ElementsMatch(t, []string{"/sys/fs/cgroup/systemd/drover/c1", "/sys/fs/cgroup/cpu/drover/c1", "/sys/fs/cgroup/cpuacct/drover/c1", "/sys/fs/cgroup/memory x/drover/c1", "/sys/fs/cgroup/unified/drover/c1"}, m.dirs("/drover/c1"))

	m = parseCgroupMounts([]byte("30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n"))
	assert.True(t, m.V2, "unified")
	assert.Equal(t, "/sys/fs/cgroup/drover/c1", m.memoryDir("/drover/c1"))
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
}

func TestReadStats(t *testing.T) {
	root := t.TempDir()
	m := cgroupMounts{V1: map[string]string{"cpuacct": filepath.Join(root, "cpuacct"), "memory": filepath.Join(root, "memory")}}
	writeFiles(t, filepath.Join(root, "cpuacct/drover/c1"), map[string]string{"cpuacct.usage": "123456789\n"})
	writeFiles(t, filepath.Join(root, "memory/drover/c1"), map[string]string{
		"memory.usage_in_bytes": "10000\n",
		"memory.stat":           "cache 100\ninactive_file 1\ntotal_inactive_file 4000\n",
		"memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
	})
	st, err := m.readStats("/drover/c1")
	require.NoError(t, err)
	assert.Equal(t, uint64(123456789), st.CPUUsageNanoseconds)
	assert.Equal(t, uint64(10000), st.MemoryUsageBytes)
	assert.Equal(t, uint64(6000), st.MemoryWorkingSetBytes)
	assert.False(t, st.Timestamp.IsZero())
	assert.True(t, oomKilled(m.memoryDir("/drover/c1")))
	_, err = m.readStats("/drover/missing")
	assert.Error(t, err)

	v2 := cgroupMounts{Unified: filepath.Join(root, "unified"), V2: true}
	writeFiles(t, filepath.Join(root, "unified/drover/c2"), map[string]string{
		"cpu.stat":       "usage_usec 42\nuser_usec 40\n",
		"memory.current": "5000\n",
		"memory.stat":    "anon 1\ninactive_file 9000\n",
		"memory.events":  "low 0\noom 1\noom_kill 0\n",
	})
	st, err = v2.readStats("/drover/c2")
	require.NoError(t, err)
	assert.Equal(t, uint64(42000), st.CPUUsageNanoseconds)
	assert.Equal(t, uint64(5000), st.MemoryUsageBytes)
	assert.Equal(t, uint64(0), st.MemoryWorkingSetBytes, "never below zero")
	assert.False(t, oomKilled(v2.memoryDir("/drover/c2")), "an OOM event without a kill")
	assert.False(t, oomKilled(""))
}
