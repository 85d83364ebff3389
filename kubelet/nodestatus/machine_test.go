package nodestatus

import (
	"context"
	"net/netip"
	goruntime "runtime"
	"testing"
)

func TestDetectMachineOnThisHost(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("the host probes read Linux's /proc")
	}
	m, err := DetectMachine()
	if err != nil {
		t.Logf("partial detection: %v", err) // /etc/machine-id may be missing in containers
	}
	if m.NumCPU < 1 || m.MemoryBytes < 64<<20 || m.MemoryBytes > 1<<50 {
		t.Errorf("cpus %d, memory %d: not sane", m.NumCPU, m.MemoryBytes)
	}
	if len(m.BootID) != 36 || m.KernelVersion == "" || m.OperatingSystem != "linux" || m.Architecture != goruntime.GOARCH {
		t.Errorf("machine = %+v", m)
	}
	t.Logf("machine: %+v", m)

	mem, err := HostMemoryAvailable(context.Background())
	if err != nil || mem <= 0 || mem > m.MemoryBytes {
		t.Errorf("memory available = %d, %v; want in (0, %d]", mem, err, m.MemoryBytes)
	}
	fs, err := HostFilesystem(context.Background(), t.TempDir())
	if err != nil || fs.Capacity <= 0 || fs.Available < 0 || fs.Available > fs.Capacity {
		t.Errorf("filesystem = %+v, %v", fs, err)
	}
	ps, err := HostProcesses(context.Background())
	if err != nil || ps.Running < 1 || ps.Max < ps.Running {
		t.Errorf("processes = %+v, %v", ps, err)
	}
	addrs, err := DetectAddresses()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.Type == "InternalIP" {
			if ip, err := netip.ParseAddr(a.Address); err != nil || !ip.Is4() || ip.IsLoopback() {
				t.Errorf("InternalIP %q is not a non-loopback IPv4 address", a.Address)
			}
		}
	}
	t.Logf("addresses: %v", addrs)
}

func TestOSReleaseField(t *testing.T) {
	b := []byte("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n")
	if got := osReleaseField(b, "PRETTY_NAME"); got != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("PRETTY_NAME = %q", got)
	}
	if got := osReleaseField(b, "ID"); got != "debian" {
		t.Errorf("ID = %q", got)
	}
}

func TestDefaultVersion(t *testing.T) {
	if v := DefaultVersion(); v == "" || v[0] != 'v' {
		t.Errorf("DefaultVersion = %q, want a v-prefixed version", v)
	}
}
