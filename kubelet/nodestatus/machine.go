package nodestatus

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/drover-io/drover/api"
)

// MachineInfo describes the machine a node runs on: what nodeInfo and
// the cpu and memory capacity report.
type MachineInfo struct {
	// NumCPU is the number of CPUs the node offers.
	NumCPU int
	// MemoryBytes is the machine's memory (MemTotal).
	MemoryBytes int64
	// MachineID (/etc/machine-id), SystemUUID (the DMI product UUID, or
	// the machine ID when it cannot be read) and BootID
	// (/proc/sys/kernel/random/boot_id).
	MachineID, SystemUUID, BootID string
	// KernelVersion is the kernel release ("6.8.0-45-generic").
	KernelVersion string
	// OSImage is /etc/os-release's PRETTY_NAME ("Debian GNU/Linux 12
	// (bookworm)").
	OSImage string
	// OperatingSystem and Architecture are GOOS and GOARCH style.
	OperatingSystem, Architecture string
}

// procRoot and etcRoot are where DetectMachine reads the host's files;
// tests do not change them.
const (
	procRoot = "/proc"
	sysRoot  = "/sys"
	etcRoot  = "/etc"
)

// DetectMachine describes this host. CPUs, OS and architecture always
// come from the Go runtime; a file that cannot be read leaves its field
// empty (MemoryBytes 0) and is named in the error, which the caller may
// log and go on.
func DetectMachine() (*MachineInfo, error) {
	m := &MachineInfo{
		NumCPU:          goruntime.NumCPU(),
		OperatingSystem: goruntime.GOOS,
		Architecture:    goruntime.GOARCH,
	}
	var errs []error
	if total, err := meminfo("MemTotal"); err != nil {
		errs = append(errs, err)
	} else {
		m.MemoryBytes = total
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("nodestatus: read %s: %w", path, err))
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	m.BootID = read(procRoot + "/sys/kernel/random/boot_id")
	m.MachineID = read(etcRoot + "/machine-id")
	m.KernelVersion = read(procRoot + "/sys/kernel/osrelease")
	if b, err := os.ReadFile(sysRoot + "/class/dmi/id/product_uuid"); err == nil {
		m.SystemUUID = strings.ToLower(strings.TrimSpace(string(b)))
	} else {
		m.SystemUUID = m.MachineID // readable by root only
	}
	if b, err := os.ReadFile(etcRoot + "/os-release"); err != nil {
		errs = append(errs, fmt.Errorf("nodestatus: read %s/os-release: %w", etcRoot, err))
	} else {
		m.OSImage = osReleaseField(b, "PRETTY_NAME")
	}
	return m, errors.Join(errs...)
}

// osReleaseField returns the value of key in an os-release file, unquoted.
func osReleaseField(b []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || k != key {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			return uq
		}
		return strings.Trim(v, `"'`)
	}
	return ""
}

// meminfo returns the field of /proc/meminfo called key, in bytes.
func meminfo(key string) (int64, error) {
	path := procRoot + "/meminfo"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("nodestatus: read %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("nodestatus: %s: %s is %q: %w", path, key, v, err)
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		return n, nil
	}
	return 0, fmt.Errorf("nodestatus: %s has no %s line", path, key)
}

// HostMemoryAvailable returns MemAvailable of /proc/meminfo: the default
// of Config.MemoryAvailable.
func HostMemoryAvailable(context.Context) (int64, error) { return meminfo("MemAvailable") }

// HostFilesystem returns the statfs of the filesystem holding path: the
// default of Config.Filesystem. Available is what unprivileged users may
// still use.
func HostFilesystem(_ context.Context, path string) (FilesystemStats, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return FilesystemStats{}, fmt.Errorf("nodestatus: statfs %s: %w", path, err)
	}
	bs := int64(st.Bsize) //nolint:unconvert // int32 on some platforms
	return FilesystemStats{Capacity: int64(st.Blocks) * bs, Available: int64(st.Bavail) * bs}, nil
}

// HostProcesses returns the number of processes (threads, as the kernel
// counts PIDs) from /proc/loadavg, and the lower of kernel.pid_max and
// kernel.threads-max: the default of Config.Processes.
func HostProcesses(context.Context) (ProcessStats, error) {
	b, err := os.ReadFile(procRoot + "/loadavg")
	if err != nil {
		return ProcessStats{}, fmt.Errorf("nodestatus: read %s/loadavg: %w", procRoot, err)
	}
	// "0.00 0.01 0.05 2/345 6789": running/total is the fourth field.
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return ProcessStats{}, fmt.Errorf("nodestatus: %s/loadavg is %q: want 5 fields", procRoot, b)
	}
	_, total, ok := strings.Cut(f[3], "/")
	running, err := strconv.ParseInt(total, 10, 64)
	if !ok || err != nil {
		return ProcessStats{}, fmt.Errorf("nodestatus: %s/loadavg is %q: the fourth field is not running/total", procRoot, b)
	}
	readInt := func(path string) (int64, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, fmt.Errorf("nodestatus: read %s: %w", path, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("nodestatus: %s: %w", path, err)
		}
		return n, nil
	}
	limit, err := readInt(procRoot + "/sys/kernel/pid_max")
	if err != nil {
		return ProcessStats{}, err
	}
	if tm, err := readInt(procRoot + "/sys/kernel/threads-max"); err == nil && tm < limit {
		limit = tm
	}
	return ProcessStats{Running: running, Max: limit}, nil
}

// DefaultVersion is the nodeInfo.kubeletVersion of this build: the main
// module's version ("v1.2.3"), or "v0.0.0-devel" with the source
// revision, when built from a checkout.
func DefaultVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "v0.0.0-devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "v0.0.0-devel+" + s.Value[:12]
		}
	}
	return "v0.0.0-devel"
}

// DetectAddresses returns the host's addresses: its hostname as
// Hostname, and as InternalIP the first IPv4 address of the default
// route's interface, or else of the first interface that is up and not
// loopback. It returns what it found; an error only if it found nothing.
func DetectAddresses() ([]api.NodeAddress, error) {
	var out []api.NodeAddress
	if ip := defaultRouteIPv4(); ip != "" {
		out = append(out, api.NodeAddress{Type: api.NodeInternalIP, Address: ip})
	} else if ip := firstUpIPv4(); ip != "" {
		out = append(out, api.NodeAddress{Type: api.NodeInternalIP, Address: ip})
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		out = append(out, api.NodeAddress{Type: api.NodeHostName, Address: strings.ToLower(h)})
	}
	if len(out) == 0 {
		return nil, errors.New("nodestatus: no address found: no hostname and no interface with an IPv4 address is up; set Config.Addresses")
	}
	return out, nil
}

// defaultRouteIPv4 returns the first IPv4 address of the interface of
// the default route in /proc/net/route, or "".
func defaultRouteIPv4() string {
	b, err := os.ReadFile(procRoot + "/net/route")
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// Iface Destination Gateway Flags ...; the default route's
		// destination is 00000000.
		if len(f) < 2 || f[1] != "00000000" {
			continue
		}
		ifc, err := net.InterfaceByName(f[0])
		if err != nil {
			continue
		}
		if ip := ifaceIPv4(ifc); ip != "" {
			return ip
		}
	}
	return ""
}

// firstUpIPv4 returns the first IPv4 address of an interface that is up
// and not loopback, or "".
func firstUpIPv4() string {
	ifcs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for i := range ifcs {
		ifc := &ifcs[i]
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		if ip := ifaceIPv4(ifc); ip != "" {
			return ip
		}
	}
	return ""
}

// ifaceIPv4 returns the first IPv4 address of ifc that is not loopback,
// or "".
func ifaceIPv4(ifc *net.Interface) string {
	addrs, err := ifc.Addrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip4 := ipn.IP.To4(); ip4 != nil && !ip4.IsLoopback() {
			return ip4.String()
		}
	}
	return ""
}
