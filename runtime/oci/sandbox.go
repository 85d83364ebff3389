package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

// RunPodSandbox makes the sandbox's directory, its hosts, resolv.conf
// and hostname files, and its network and IPC namespaces (bind-mounted
// under Root/netns) unless the node's are used.
func (d *Driver) RunPodSandbox(ctx context.Context, cfg *runtime.SandboxConfig) (id string, err error) {
	if cfg == nil {
		return "", errors.New("oci: RunPodSandbox: nil config")
	}
	if cfg.LogDirectory == "" || !filepath.IsAbs(cfg.LogDirectory) {
		return "", fmt.Errorf("oci: sandbox %s/%s: LogDirectory %q: want an absolute directory", cfg.Metadata.Namespace, cfg.Metadata.Name, cfg.LogDirectory)
	}
	if cfg.Namespaces.PIDMode() == runtime.NamespacePod {
		return "", fmt.Errorf("oci: sandbox %s/%s: a PID namespace shared by the pod's containers: %w", cfg.Metadata.Namespace, cfg.Metadata.Name, runtime.ErrUnsupported)
	}
	if err := checkCgroupName(cfg.CgroupParent); err != nil {
		return "", fmt.Errorf("oci: sandbox %s/%s: CgroupParent %q: want a relative cgroup path without \"..\"", cfg.Metadata.Namespace, cfg.Metadata.Name, cfg.CgroupParent)
	}
	id = newID()
	dir := d.sandboxDir(id)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return "", fmt.Errorf("oci: sandbox %s: %w", id, err)
	}
	r := &sandboxRecord{ID: id, CreatedAt: time.Now(), Config: *cfg,
		HostsPath:      filepath.Join(dir, "hosts"),
		ResolvConfPath: filepath.Join(dir, "resolv.conf"),
		HostnamePath:   filepath.Join(dir, "hostname"),
	}
	r.Config.Labels, r.Config.Annotations = cloneMap(cfg.Labels), cloneMap(cfg.Annotations)
	defer func() {
		if err != nil {
			_ = releaseNamespace(r.NetNSPath)
			_ = releaseNamespace(r.IPCNSPath)
			_ = os.RemoveAll(dir)
		}
	}()
	hostname := cfg.Hostname
	if cfg.Namespaces.NetworkMode() == runtime.NamespaceNode || hostname == "" {
		hostname, _ = os.Hostname()
	}
	hosts, err := hostsFile(cfg)
	if err != nil {
		return "", fmt.Errorf("oci: sandbox %s: %w", id, err)
	}
	resolv, err := resolvConf(cfg.DNS)
	if err != nil {
		return "", fmt.Errorf("oci: sandbox %s: %w", id, err)
	}
	for name, data := range map[string][]byte{r.HostsPath: hosts, r.ResolvConfPath: resolv, r.HostnamePath: []byte(hostname + "\n")} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return "", fmt.Errorf("oci: sandbox %s: %w", id, err)
		}
	}
	var netPath, ipcPath string
	if cfg.Namespaces.NetworkMode() != runtime.NamespaceNode {
		netPath = filepath.Join(d.netnsDir(), id)
	}
	if cfg.Namespaces.IPCMode() == runtime.NamespacePod {
		ipcPath = filepath.Join(d.netnsDir(), id+"-ipc")
	}
	if err := newPodNamespaces(netPath, ipcPath); err != nil {
		return "", fmt.Errorf("oci: sandbox %s: %w", id, err)
	}
	r.NetNSPath, r.IPCNSPath = netPath, ipcPath
	if err := writeJSON(filepath.Join(dir, "sandbox.json"), r); err != nil {
		return "", fmt.Errorf("oci: sandbox %s: %w", id, err)
	}
	d.mu.Lock()
	d.sandboxes[id] = r
	d.mu.Unlock()
	return id, nil
}

// hostsFile is a sandbox's /etc/hosts: the node's with the node's
// network, else localhost and the sandbox's hostname; then the aliases.
func hostsFile(cfg *runtime.SandboxConfig) ([]byte, error) {
	var b bytes.Buffer
	if cfg.Namespaces.NetworkMode() == runtime.NamespaceNode {
		data, err := os.ReadFile("/etc/hosts")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	} else {
		b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	}
	for i, a := range cfg.HostAliases {
		if a.IP == "" || len(a.Hostnames) == 0 || strings.ContainsAny(a.IP+strings.Join(a.Hostnames, ""), "\n\t #") {
			return nil, fmt.Errorf("HostAliases[%d]: want an IP and hostnames without blanks or '#'", i)
		}
		fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, " "))
	}
	return b.Bytes(), nil
}

// resolvConf is a sandbox's /etc/resolv.conf: the node's when dns is
// nil.
func resolvConf(dns *runtime.DNSConfig) ([]byte, error) {
	if dns == nil {
		data, err := os.ReadFile("/etc/resolv.conf")
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return data, err
	}
	var b bytes.Buffer
	for _, s := range dns.Servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(dns.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(dns.Searches, " "))
	}
	if len(dns.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
	}
	if strings.Count(b.String(), "\n") != len(dns.Servers)+min(len(dns.Searches), 1)+min(len(dns.Options), 1) {
		return nil, errors.New("DNS: a server, search domain or option holds a newline")
	}
	return b.Bytes(), nil
}

func (d *Driver) sandbox(id string) (*sandboxRecord, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.sandboxes[id]
	return r, ok
}

// containersOf lists the containers of sandbox id.
func (d *Driver) containersOf(id string) []*container {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*container
	for _, c := range d.containers {
		if c.rec.SandboxID == id {
			out = append(out, c)
		}
	}
	return out
}

// StopPodSandbox kills the sandbox's containers with SIGKILL, waits for
// them, and releases its namespaces.
func (d *Driver) StopPodSandbox(ctx context.Context, id string) error {
	r, ok := d.sandbox(id)
	if !ok {
		return nil
	}
	var errs []error
	for _, c := range d.containersOf(id) {
		if err := d.stop(ctx, c, runtime.StopOptions{Signal: int(unix.SIGKILL)}); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := releaseNamespace(r.NetNSPath); err != nil {
		return fmt.Errorf("oci: stop sandbox %s: %w", id, err)
	}
	if err := releaseNamespace(r.IPCNSPath); err != nil {
		return fmt.Errorf("oci: stop sandbox %s: %w", id, err)
	}
	if r.Stopped {
		return nil
	}
	r.Stopped = true
	r.NetNSPath, r.IPCNSPath = "", ""
	if err := writeJSON(filepath.Join(d.sandboxDir(id), "sandbox.json"), r); err != nil {
		return fmt.Errorf("oci: stop sandbox %s: %w", id, err)
	}
	return nil
}

// RemovePodSandbox stops the sandbox, removes its containers and its
// directory. The log directory is the caller's.
func (d *Driver) RemovePodSandbox(ctx context.Context, id string) error {
	r, ok := d.sandbox(id)
	if !ok {
		return nil
	}
	if err := d.StopPodSandbox(ctx, id); err != nil {
		return err
	}
	for _, c := range d.containersOf(id) {
		if err := d.remove(ctx, c); err != nil {
			return err
		}
	}
	if r.Config.CgroupParent != "" {
		d.cgroups.removeDirs("/"+path.Join(d.cfg.CgroupParent, r.Config.CgroupParent), "/"+d.cfg.CgroupParent)
	}
	if err := os.RemoveAll(d.sandboxDir(id)); err != nil {
		return fmt.Errorf("oci: remove sandbox %s: %w", id, err)
	}
	d.mu.Lock()
	delete(d.sandboxes, id)
	d.mu.Unlock()
	return nil
}

// PodSandboxStatus returns the sandbox's status.
func (d *Driver) PodSandboxStatus(ctx context.Context, id string) (*runtime.SandboxStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("oci: sandbox %q: %w", id, runtime.ErrNotFound)
	}
	return r.status(), nil
}

// ListPodSandboxes returns every sandbox.
func (d *Driver) ListPodSandboxes(ctx context.Context) ([]*runtime.SandboxStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*runtime.SandboxStatus, 0, len(d.sandboxes))
	for _, r := range d.sandboxes {
		out = append(out, r.status())
	}
	return out, nil
}
