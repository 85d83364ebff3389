package oci

import (
	"fmt"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/drover-io/drover/runtime"
)

// DefaultPath is the PATH of a container whose image sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultCapabilities are the capabilities of a container that is not
// privileged, before its AddCapabilities and DropCapabilities: Docker's
// default set.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// allCapabilities are the Linux capabilities by number (capability.h).
// The node grants those in its bounding set (boundingCapabilities).
var allCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// MaskedPaths are hidden from a container that is not privileged.
var MaskedPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	"/sys/devices/virtual/powercap",
}

// ReadonlyPaths are read-only in a container that is not privileged.
var ReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// defaultCPUPeriod is the CFS period when a quota is set without one
// (100ms, in microseconds).
const defaultCPUPeriod = 100000

// specInput is everything a container's OCI spec is made from. Building
// it does no I/O: the user is already resolved and the sandbox's files
// already written.
type specInput struct {
	// Container and Image are the container's config and its image's.
	Container *runtime.ContainerConfig
	Image     runtime.ImageConfig
	// Rootfs is the container's root filesystem directory.
	Rootfs string
	// User is the resolved process identity.
	User specs.User
	// Sandbox is the sandbox the container runs in.
	Sandbox *sandboxRecord
	// CgroupsPath is linux.cgroupsPath.
	CgroupsPath string
	// AllCaps are the capabilities the node can grant (those of the
	// driver's bounding set): privileged containers get them all.
	AllCaps []string
}

// buildSpec returns the OCI runtime spec of a container.
func buildSpec(in specInput) (*specs.Spec, error) {
	c, sb := in.Container, in.Sandbox
	args := runtime.ResolveArgs(in.Image, c.Command, c.Args)
	if len(args) == 0 {
		return nil, fmt.Errorf("oci: container %q: no command: ContainerConfig.Command and the image's entrypoint and cmd are all empty", c.Name)
	}
	cwd := c.WorkingDir
	if cwd == "" {
		cwd = in.Image.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !path.IsAbs(cwd) {
		return nil, fmt.Errorf("oci: container %q: working directory %q: want an absolute path", c.Name, cwd)
	}
	sec := c.Security
	caps, err := capabilities(sec, in.AllCaps)
	if err != nil {
		return nil, fmt.Errorf("oci: container %q: %w", c.Name, err)
	}
	procCaps := &specs.LinuxCapabilities{Bounding: caps}
	if in.User.UID == 0 {
		procCaps.Effective, procCaps.Permitted = caps, caps
	}
	noNewPrivs := !sec.Privileged
	if sec.AllowPrivilegeEscalation != nil {
		noNewPrivs = !*sec.AllowPrivilegeEscalation
	}

	s := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			User:            in.User,
			Args:            args,
			Env:             mergeEnv(in.Image.Env, c.Env),
			Cwd:             path.Clean(cwd),
			Capabilities:    procCaps,
			NoNewPrivileges: noNewPrivs,
			// No OOMScoreAdj: the node may lack CAP_SYS_RESOURCE.
		},
		Root:        &specs.Root{Path: in.Rootfs, Readonly: sec.ReadOnlyRootFilesystem},
		Annotations: map[string]string{"io.drover.container.name": c.Name, "io.drover.sandbox.id": sb.ID},
		Linux: &specs.Linux{
			CgroupsPath: in.CgroupsPath,
			Resources:   resources(c.Resources, sec.Privileged),
		},
	}
	if len(sb.Config.Sysctls) > 0 {
		s.Linux.Sysctl = sb.Config.Sysctls
	}

	// Namespaces.
	ns := sb.Config.Namespaces
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.MountNamespace})
	if ns.PIDMode() != runtime.NamespaceNode {
		// Each container has its own PID namespace (RunPodSandbox refuses
		// NamespacePod: there is no process holding a shared one).
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	switch ns.IPCMode() {
	case runtime.NamespaceNode:
	case runtime.NamespaceContainer:
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.IPCNamespace})
	default:
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.IPCNamespace, Path: sb.IPCNSPath})
	}
	if ns.NetworkMode() != runtime.NamespaceNode {
		s.Linux.Namespaces = append(s.Linux.Namespaces,
			specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: sb.NetNSPath},
			specs.LinuxNamespace{Type: specs.UTSNamespace})
		s.Hostname = sb.Config.Hostname
	}

	// Mounts.
	s.Mounts = []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
	}
	if sec.Privileged {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev", Type: "bind", Source: "/dev", Options: []string{"rbind", "nosuid"}})
	} else {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}})
	}
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	if sec.Privileged {
		sysOpts = []string{"nosuid", "noexec", "nodev", "rw"}
	}
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: append(slices.Clone(sysOpts), "relatime")})
	for _, f := range []struct{ dst, src string }{
		{"/etc/hosts", sb.HostsPath},
		{"/etc/resolv.conf", sb.ResolvConfPath},
		{"/etc/hostname", sb.HostnamePath},
	} {
		if f.src != "" {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: []string{"rbind", "rprivate", "rw"}})
		}
	}
	for i, m := range c.Mounts {
		if !path.IsAbs(m.ContainerPath) {
			return nil, fmt.Errorf("oci: container %q: Mounts[%d].ContainerPath %q: want an absolute path", c.Name, i, m.ContainerPath)
		}
		if !path.IsAbs(m.HostPath) {
			return nil, fmt.Errorf("oci: container %q: Mounts[%d].HostPath %q: want an absolute path", c.Name, i, m.HostPath)
		}
		opts := []string{"rbind", "rprivate", "rw"}
		if m.ReadOnly {
			opts[2] = "ro"
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: path.Clean(m.ContainerPath), Type: "bind", Source: m.HostPath, Options: opts})
	}

	if !sec.Privileged {
		s.Linux.MaskedPaths = slices.Clone(MaskedPaths)
		s.Linux.ReadonlyPaths = slices.Clone(ReadonlyPaths)
	}
	return s, nil
}

// mergeEnv is the image's environment with env added, a key of env
// replacing the image's in place, and PATH set when neither has it.
func mergeEnv(image []string, env []runtime.KeyValue) []string {
	out := make([]string, 0, len(image)+len(env)+1)
	at := map[string]int{}
	set := func(k, kv string) {
		if i, ok := at[k]; ok {
			out[i] = kv
			return
		}
		at[k] = len(out)
		out = append(out, kv)
	}
	for _, kv := range image {
		k, _, _ := strings.Cut(kv, "=")
		set(k, kv)
	}
	for _, kv := range env {
		set(kv.Key, kv.Key+"="+kv.Value)
	}
	if _, ok := at["PATH"]; !ok {
		out = append(out, "PATH="+DefaultPath)
	}
	return out
}

// capabilities returns the capability set of a container: all when
// privileged, else DefaultCapabilities with AddCapabilities and without
// DropCapabilities ("ALL" in either means all; a drop of ALL is applied
// before the adds). all are the capabilities the node can grant; nil
// means every one Linux has.
func capabilities(sec runtime.SecurityConfig, all []string) ([]string, error) {
	if all == nil {
		all = allCapabilities
	}
	if sec.Privileged {
		return slices.Clone(all), nil
	}
	norm := func(field string, names []string) ([]string, error) {
		out := make([]string, 0, len(names))
		for i, n := range names {
			u := strings.ToUpper(strings.TrimSpace(n))
			if u == "ALL" {
				out = append(out, u)
				continue
			}
			if !strings.HasPrefix(u, "CAP_") {
				u = "CAP_" + u
			}
			if !slices.Contains(allCapabilities, u) {
				return nil, fmt.Errorf("Security.%s[%d] %q: not a Linux capability (want a name like NET_ADMIN, or ALL)", field, i, n)
			}
			out = append(out, u)
		}
		return out, nil
	}
	add, err := norm("AddCapabilities", sec.AddCapabilities)
	if err != nil {
		return nil, err
	}
	drop, err := norm("DropCapabilities", sec.DropCapabilities)
	if err != nil {
		return nil, err
	}
	caps := slices.Clone(DefaultCapabilities)
	if slices.Contains(drop, "ALL") {
		caps = nil
	}
	if slices.Contains(add, "ALL") {
		caps = slices.Clone(all)
	}
	for _, c := range add {
		if c != "ALL" && !slices.Contains(caps, c) {
			caps = append(caps, c)
		}
	}
	caps = slices.DeleteFunc(caps, func(c string) bool { return slices.Contains(drop, c) && !slices.Contains(add, c) })
	if caps == nil {
		caps = []string{}
	}
	return caps, nil
}

// resources returns linux.resources: devices denied but runc's defaults
// (all allowed when privileged), CPU shares, quota and period, and the
// memory limit.
func resources(r runtime.Resources, privileged bool) *specs.LinuxResources {
	out := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: privileged, Access: "rwm"}}}
	if r.CPUShares > 0 || r.CPUQuota > 0 {
		out.CPU = &specs.LinuxCPU{}
		if r.CPUShares > 0 {
			shares := max(r.CPUShares, 2)
			out.CPU.Shares = &shares
		}
		if r.CPUQuota > 0 {
			quota, period := r.CPUQuota, r.CPUPeriod
			if period == 0 {
				period = defaultCPUPeriod
			}
			out.CPU.Quota, out.CPU.Period = &quota, &period
		}
	}
	if r.MemoryLimit > 0 {
		limit := r.MemoryLimit
		out.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	return out
}

// boundingCapabilities are the capabilities in a CapBnd mask (from
// /proc/self/status).
func boundingCapabilities(mask uint64) []string {
	out := []string{}
	for i, c := range allCapabilities {
		if mask&(1<<i) != 0 {
			out = append(out, c)
		}
	}
	return out
}
