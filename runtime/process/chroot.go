package process

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

// devices are the character devices a chrooted container gets in /dev
// (a shell sends a background job's input to /dev/null).
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// prepareChroot gives a root filesystem what a chrooted process needs
// and the driver can make without mounts: the basic device nodes in
// /dev, and /etc/hosts and /etc/resolv.conf for the sandbox (the node's
// network is shared, so the node's files with the sandbox's DNS
// settings and host aliases). There is no /proc, /sys or /dev/pts.
func prepareChroot(rootfs string, sb *runtime.SandboxConfig) error {
	dev, err := resolveIn(rootfs, "/dev")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	for _, d := range devices {
		p, err := resolveIn(rootfs, "/dev/"+d.name)
		if err != nil {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("make %s: %w", "/dev/"+d.name, err)
		}
		_ = os.Chmod(p, 0o666) // past the umask
	}
	etc, err := resolveIn(rootfs, "/etc")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return err
	}
	hosts, _ := os.ReadFile("/etc/hosts")
	var b bytes.Buffer
	b.Write(hosts)
	if len(hosts) > 0 && hosts[len(hosts)-1] != '\n' {
		b.WriteByte('\n')
	}
	for _, a := range sb.HostAliases {
		fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, " "))
	}
	if err := writeIn(rootfs, "/etc/hosts", b.Bytes()); err != nil {
		return err
	}
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	if sb.DNS != nil {
		b.Reset()
		for _, s := range sb.DNS.Servers {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
		if len(sb.DNS.Searches) > 0 {
			fmt.Fprintf(&b, "search %s\n", strings.Join(sb.DNS.Searches, " "))
		}
		if len(sb.DNS.Options) > 0 {
			fmt.Fprintf(&b, "options %s\n", strings.Join(sb.DNS.Options, " "))
		}
		resolv = b.Bytes()
	}
	return writeIn(rootfs, "/etc/resolv.conf", resolv)
}

// writeIn replaces the file at the container path p of rootfs.
func writeIn(rootfs, p string, data []byte) error {
	hp, err := resolveIn(rootfs, p)
	if err != nil {
		return err
	}
	if err := os.Remove(hp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(hp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
