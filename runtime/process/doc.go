// Package process is a runtime driver that runs containers as plain
// processes of the node, for machines without root or runc: it
// implements runtime.Runtime, runtime.ImageService (through an
// image.Store), runtime.Execer and runtime.StatsProvider, and says
// plainly what it does not isolate.
//
// # How a container runs
//
// CreateContainer makes the container's root filesystem with
// image.Store.RootFS (by default a copy of the image's layers, which
// needs no root) and records the container under Config.Root.
// StartContainer looks up argv[0] (runtime.ResolveArgs of the image and
// the container): a name with a slash is taken in the root filesystem
// (relative to the working directory), a bare name is searched on the
// container's PATH (the image's environment with the container's on
// top) inside the root filesystem, symlinks resolved as if the root
// filesystem were "/" (so an image's static busybox and its applet
// links run); when the root filesystem does not have it, the node's
// file or the node's PATH is used, unless the process is chrooted. The
// process gets the image's environment with the container's on top
// (same keys replace), its working directory in the root filesystem
// (made if missing), /dev/null as standard input, and its standard
// output and error go to the container's CRI log file (package
// runtime/logs, with Config.Logs' rotation).
//
// # What is isolated, and what is not
//
// With IsolationChroot (the default when the driver runs as root) the
// process is chrooted into its root filesystem, which gets device nodes
// for null, zero, full, random, urandom and tty, and /etc/hosts and
// /etc/resolv.conf made from the node's and the sandbox's DNS settings
// and host aliases; without root (IsolationNone) the process sees the
// node's filesystem and only its working directory and argv[0] come
// from the image: absolute paths are the node's. In neither mode is
// there a namespace:
//
//   - network: every sandbox has the node's network (NetNSPath is "");
//     SandboxConfig.Namespaces, Hostname and Sysctls are ignored;
//   - PID and IPC: shared with the node; a container sees and can signal
//     every process of the same user;
//   - mounts: ContainerConfig.Mounts are refused (runtime.ErrUnsupported):
//     a volume could only appear at its node path, which would change
//     what the program reads; no /proc, /sys or /dev/pts in a chroot;
//   - Security.ReadOnlyRootFilesystem is refused (runtime.ErrUnsupported);
//     Privileged, capabilities and AllowPrivilegeEscalation are ignored
//     (the process has the driver's privileges, less a UID/GID change);
//     UID, GID and SupplementalGroups are applied as root and refused
//     otherwise, unless they are the driver's own;
//   - resources: CPU shares and quota are ignored; a memory limit is
//     enforced only as root on a node with the cgroup v1 memory
//     controller (a memory cgroup per container; going over it is
//     reported as OOMKilled, exit code 137), and ignored otherwise.
//
// The conformance suite (runtime/runtimetest) runs with Isolated false
// (mounts are refused) and OOM true only as root with cgroup v1 memory.
//
// # Monitors, stopping and restarts
//
// Each container's process is started by a monitor: the driver's own
// executable run again (Config.MonitorPath), recognised by the
// environment variable MonitorEnv in RunMonitorIfRequested, which every
// program that makes a Driver calls first thing in main (tests: in
// TestMain). The monitor runs in its own session, becomes a child
// subreaper (Linux's PR_SET_CHILD_SUBREAPER), starts the process as the
// leader of a new process group, copies its output to the log file and
// waits. When the process exits, the monitor kills what remains of the
// container (its process group and every process re-parented to the
// monitor), as the end of a PID namespace would, flushes the log, and
// records the exit code (128+n for signal n) in the container's
// state.json, replaced atomically. StopContainer signals the process
// group (StopOptions.Signal, the image's StopSignal or SIGTERM), waits
// for the grace period, then sends SIGKILL to the group, and returns
// once the monitor has recorded the exit.
//
// Monitors do not depend on the driver: a Driver made again on the same
// Config.Root (after the node agent's restart) reads the sandboxes and
// containers recorded there and adopts them, running or exited, with
// their start times, exit codes and logs. A container whose monitor
// vanished without recording an exit (the node rebooted, someone killed
// it) is ContainerUnknown.
//
// # Exec and stats
//
// Exec runs a command as the container's process runs (environment,
// working directory, identity, chroot, the same argv[0] lookup), as a
// child of the driver in a process group of its own, killed with
// SIGKILL at the timeout (runtime.ErrTimeout). ContainerStats sums the
// CPU time and resident memory of every descendant of the monitor, read
// from /proc (see Driver.ContainerStats for what that counts).
//
// The package is Linux only.
package process
