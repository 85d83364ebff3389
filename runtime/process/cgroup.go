package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// memoryRoot is where the cgroup v1 memory controller is mounted.
const memoryRoot = "/sys/fs/cgroup/memory"

// cgroupParent is the directory under memoryRoot holding a memory cgroup
// per container with a memory limit.
const cgroupParent = "drover-process"

// memoryCgroups says whether the driver can enforce memory limits: it is
// root and the node has the cgroup v1 memory controller.
func memoryCgroups() bool {
	if os.Geteuid() != 0 {
		return false
	}
	_, err := os.Stat(filepath.Join(memoryRoot, "memory.limit_in_bytes"))
	return err == nil
}

// makeMemoryCgroup makes the memory cgroup of container id with limit
// bytes (and as much memory+swap, so the limit is not escaped by
// swapping) and returns its directory.
func makeMemoryCgroup(id string, limit int64) (string, error) {
	dir := filepath.Join(memoryRoot, cgroupParent, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	v := []byte(strconv.FormatInt(limit, 10))
	if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), v, 0); err != nil {
		_ = os.Remove(dir)
		return "", fmt.Errorf("set memory.limit_in_bytes: %w", err)
	}
	// Absent without swap accounting.
	_ = os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), v, 0)
	return dir, nil
}

// removeMemoryCgroup removes a container's memory cgroup; one that does
// not exist is not an error.
func removeMemoryCgroup(dir string) error {
	if dir == "" {
		return nil
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove memory cgroup %s: %w", dir, err)
	}
	return nil
}

// oomKilled says whether the kernel's OOM killer has killed a process
// of the memory cgroup dir (oom_kill in memory.oom_control).
func oomKilled(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n > 0
		}
	}
	return false
}

// ownMemoryCgroup returns the directory of the memory cgroup this
// process is in.
func ownMemoryCgroup() (string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && f[1] == "memory" {
			return filepath.Join(memoryRoot, f[2]), nil
		}
	}
	return "", errors.New("no memory cgroup in /proc/self/cgroup")
}

// forkInCgroup runs fork (a fork and exec) from a thread moved into the
// memory cgroup dir for the time of the call, so the new process starts
// in it (cgroup v1 moves single threads through "tasks"; a child
// inherits the cgroup of the thread that made it). The monitor itself
// stays where it was: only what this thread allocates meanwhile is
// charged to the container.
func forkInCgroup(dir string, fork func() (int, error)) (int, error) {
	if dir == "" {
		return fork()
	}
	home, err := ownMemoryCgroup()
	if err != nil {
		return 0, err
	}
	goruntime.LockOSThread()
	tid := []byte(strconv.Itoa(unix.Gettid()))
	if err := os.WriteFile(filepath.Join(dir, "tasks"), tid, 0); err != nil {
		goruntime.UnlockOSThread()
		return 0, fmt.Errorf("join memory cgroup %s: %w", dir, err)
	}
	pid, ferr := fork()
	if err := os.WriteFile(filepath.Join(home, "tasks"), tid, 0); err != nil {
		// The thread stays locked and ends with the goroutine rather
		// than run other goroutines inside the container's cgroup.
		return pid, ferr
	}
	goruntime.UnlockOSThread()
	return pid, ferr
}
