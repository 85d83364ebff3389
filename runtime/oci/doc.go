// Package oci is the container driver that runs pods with an OCI
// runtime, runc or crun, through OCI runtime-spec bundles
// (github.com/opencontainers/runtime-spec). A Driver implements
// runtime.Runtime, runtime.ImageService (an image.Store), runtime.Execer
// and runtime.StatsProvider:
//
//	func main() {
//		oci.RunShimIfRequested() // first: this binary is also the container monitor
//		cfg := oci.DefaultConfig()
//		d, err := oci.New(cfg)
//		...
//	}
//
// A sandbox is a directory with the pod's hosts, resolv.conf and
// hostname files, and a network namespace and an IPC namespace kept as
// bind mounts under Root/netns (as `ip netns add` does), which the pod's
// containers join. There is no pause process.
//
// A container's bundle is made from its ContainerConfig and its image's
// config: the root filesystem from the image store (copy-on-write,
// read-only when asked), arguments (runtime.ResolveArgs), environment,
// working directory, user (numeric, or names looked up in the image's
// /etc/passwd and /etc/group, read without leaving the root filesystem),
// the standard mounts (/proc, /sys read-only, /dev with devpts, shm and
// mqueue, cgroups read-only), the sandbox's files, the container's
// mounts; PID, IPC, UTS, mount and the sandbox's network namespace; a
// cgroup under Config.CgroupParent with CPU shares, quota and period and
// the memory limit; Docker's default capabilities with the container's
// additions and drops, no_new_privs, masked and read-only /proc and
// /sys paths. Privileged containers get every capability, the node's
// devices and no masked paths. No oom_score_adj is ever set.
//
// Each container has a monitor: this binary re-executed with ShimEnv
// set (see RunShimIfRequested), in its own process group. The driver
// keeps one started ahead of the next container, started once the
// previous container is started so that it does not compete with its
// create and start for the CPU (Close stops it). The driver sends the
// monitor its container's directory and config over a pipe. A monitor
// is a child subreaper; it runs `runc create` with the container's
// stdout and stderr as pipes
// that it copies into the container's CRI log file
// (package runtime/logs), waits for the container's first process once
// the driver has started it, records the exit code (128+n for a signal)
// and an OOM kill (the memory cgroup's oom_kill counter) in exit.json,
// runs `runc delete` and exits. Containers and their logs therefore
// outlive the driver: a Driver made on the same Root lists and adopts
// them.
//
// After a start, the driver also makes the next container's root
// filesystem from the same image in the background (one spare for each
// of the four images started last, when root filesystems are overlay
// mounts): a create from that image (a Deployment's next replica, a
// restart) takes it, and does not mount an overlay on its critical path.
// A driver made on the same Root releases a spare that no container took;
// RemoveImage and Close release theirs too.
//
// The driver starts a created container as `runc start` does, without
// running the runtime again: it reads the exec.fifo of the runtime's
// state directory, on which runc's and crun's init waits (it runs
// `<runtime> start` for a runtime without one). That keeps the cost of a
// create+start close to that of one `runc run`.
//
// StopContainer sends the stop signal again while the container's first
// process has no handler for it yet: the kernel drops such a signal for
// a PID namespace's first process, so a shell that is still starting
// (and about to `trap ... TERM`) would otherwise wait out its grace
// period.
//
// Everything the driver knows is on disk under Root: sandboxes/<id>
// (sandbox.json and the pod's files), containers/<id> (container.json,
// the bundle, the monitor's create.json, exit.json and shim.lock, which
// the monitor holds locked while it lives), netns/<id>.
//
// Limits: every container has its own PID namespace (a pod-shared PID
// namespace needs a process to hold it: RunPodSandbox refuses PID
// NamespacePod with ErrUnsupported); /dev/shm is per container; no seccomp profile
// is applied.
package oci
