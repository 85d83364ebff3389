package oci

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

// cgroupMounts are where this node's cgroup hierarchies are mounted.
type cgroupMounts struct {
	// Unified is the cgroup2 mount; V2 says it is the only one (unified
	// mode), not a companion of v1 hierarchies (hybrid mode).
	Unified string
	V2      bool
	// V1 maps a v1 controller ("memory", "cpuacct") or named hierarchy
	// ("name=systemd") to its mount.
	V1 map[string]string
}

// readCgroupMounts parses /proc/self/mountinfo.
func readCgroupMounts() (cgroupMounts, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return cgroupMounts{}, err
	}
	return parseCgroupMounts(data), nil
}

// parseCgroupMounts finds the cgroup mounts in a mountinfo file.
func parseCgroupMounts(mountinfo []byte) cgroupMounts {
	m := cgroupMounts{V1: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		mnt := unescapeMount(f[4])
		switch g[0] {
		case "cgroup2":
			if m.Unified == "" {
				m.Unified = mnt
			}
		case "cgroup":
			for _, o := range strings.Split(g[2], ",") {
				switch {
				case o == "rw" || o == "ro" || o == "xattr" || o == "noprefix" || o == "clone_children" || o == "cpuset_v2_mode":
					continue
				case strings.Contains(o, "=") && !strings.HasPrefix(o, "name="):
					continue
				}
				if _, seen := m.V1[o]; !seen {
					m.V1[o] = mnt
				}
			}
		}
	}
	m.V2 = m.Unified != "" && len(m.V1) == 0
	return m
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// memoryDir is the memory cgroup directory of cgroupsPath ("" when
// there is no memory controller).
func (m cgroupMounts) memoryDir(cgroupsPath string) string {
	if m.V2 {
		return filepath.Join(m.Unified, cgroupsPath)
	}
	if d := m.V1["memory"]; d != "" {
		return filepath.Join(d, cgroupsPath)
	}
	return ""
}

// dirs are every directory cgroupsPath has, one per hierarchy.
func (m cgroupMounts) dirs(cgroupsPath string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(root string) {
		d := filepath.Join(root, cgroupsPath)
		if root != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, root := range m.V1 {
		add(root)
	}
	add(m.Unified)
	return out
}

// removeDirs removes cgroupsPath's directories, and then its parents up
// to (and without) stopAt when they are empty. Missing ones are fine.
func (m cgroupMounts) removeDirs(cgroupsPath, stopAt string) {
	for p := filepath.Clean(cgroupsPath); p != "/" && p != "." && p != filepath.Clean(stopAt); p = filepath.Dir(p) {
		for _, d := range m.dirs(p) {
			_ = unix.Rmdir(d)
		}
	}
}

// oomKilled says whether the OOM killer acted in the memory cgroup dir:
// oom_kill in memory.oom_control (v1) or memory.events (v2).
func oomKilled(dir string) bool {
	if dir == "" {
		return false
	}
	for _, f := range []string{"memory.oom_control", "memory.events"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		if n, ok := statValue(data, "oom_kill"); ok && n > 0 {
			return true
		}
	}
	return false
}

// statValue finds "key value" in a cgroup stat file.
func statValue(data []byte, key string) (uint64, bool) {
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func readUint(name string) (uint64, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
}

// readStats measures the cgroup cgroupsPath: cpuacct.usage and
// memory.usage_in_bytes minus total_inactive_file on v1; cpu.stat's
// usage_usec and memory.current minus inactive_file on v2.
func (m cgroupMounts) readStats(cgroupsPath string) (*runtime.ContainerStats, error) {
	st := &runtime.ContainerStats{Timestamp: time.Now()}
	if m.V2 {
		dir := filepath.Join(m.Unified, cgroupsPath)
		data, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
		if err != nil {
			return nil, err
		}
		usec, _ := statValue(data, "usage_usec")
		st.CPUUsageNanoseconds = usec * 1000
		if st.MemoryUsageBytes, err = readUint(filepath.Join(dir, "memory.current")); err != nil {
			return nil, err
		}
		data, _ = os.ReadFile(filepath.Join(dir, "memory.stat"))
		inactive, _ := statValue(data, "inactive_file")
		st.MemoryWorkingSetBytes = st.MemoryUsageBytes - min(inactive, st.MemoryUsageBytes)
		return st, nil
	}
	cpu, mem := m.V1["cpuacct"], m.V1["memory"]
	if cpu == "" || mem == "" {
		return nil, errors.New("no cpuacct or memory cgroup hierarchy on this node")
	}
	var err error
	if st.CPUUsageNanoseconds, err = readUint(filepath.Join(cpu, cgroupsPath, "cpuacct.usage")); err != nil {
		return nil, err
	}
	dir := filepath.Join(mem, cgroupsPath)
	if st.MemoryUsageBytes, err = readUint(filepath.Join(dir, "memory.usage_in_bytes")); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return nil, fmt.Errorf("read memory.stat: %w", err)
	}
	inactive, _ := statValue(data, "total_inactive_file")
	st.MemoryWorkingSetBytes = st.MemoryUsageBytes - min(inactive, st.MemoryUsageBytes)
	return st, nil
}
