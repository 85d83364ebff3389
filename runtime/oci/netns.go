package oci

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// newPodNamespaces makes a network namespace (with its loopback up) when
// netPath is not "" and an IPC namespace when ipcPath is not "", and
// keeps them as bind
// mounts of nsfs files at netPath and ipcPath, as `ip netns add` does,
// so that they outlive every process in them. It runs in a goroutine of
// its own whose OS thread is unshared and then thrown away.
func newPodNamespaces(netPath, ipcPath string) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is left locked: it is in other namespaces now, and
		// the Go runtime ends it when this goroutine returns.
		goruntime.LockOSThread()
		errc <- unsharePod(netPath, ipcPath)
	}()
	err := <-errc
	if err != nil {
		_ = releaseNamespace(netPath)
		_ = releaseNamespace(ipcPath)
	}
	return err
}

func unsharePod(netPath, ipcPath string) error {
	flags := 0
	if netPath != "" {
		flags |= unix.CLONE_NEWNET
	}
	if ipcPath != "" {
		flags |= unix.CLONE_NEWIPC
	}
	if flags == 0 {
		return nil
	}
	if err := unix.Unshare(flags); err != nil {
		return fmt.Errorf("unshare the pod's namespaces: %w", err)
	}
	tid := unix.Gettid()
	if ipcPath != "" {
		if err := bindNamespace(fmt.Sprintf("/proc/self/task/%d/ns/ipc", tid), ipcPath); err != nil {
			return err
		}
	}
	if netPath == "" {
		return nil
	}
	if err := bindNamespace(fmt.Sprintf("/proc/self/task/%d/ns/net", tid), netPath); err != nil {
		return err
	}
	return loopbackUp()
}

func bindNamespace(src, dst string) error {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("create namespace file %s: %w", dst, err)
	}
	f.Close()
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mount namespace %s on %s: %w", src, dst, err)
	}
	return nil
}

// loopbackUp sets "lo" up in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set loopback up: %w", err)
	}
	return nil
}

// releaseNamespace unmounts a namespace file and removes it. A missing
// one is fine.
func releaseNamespace(p string) error {
	if p == "" {
		return nil
	}
	for {
		err := unix.Unmount(p, unix.MNT_DETACH)
		if err != nil {
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
				break
			}
			return fmt.Errorf("unmount namespace %s: %w", p, err)
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove namespace file %s: %w", p, err)
	}
	return nil
}
