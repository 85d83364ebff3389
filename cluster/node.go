package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/internal/names"
	"github.com/drover-io/drover/kubelet"
	"github.com/drover-io/drover/kubelet/nodestatus"
	"github.com/drover-io/drover/kubelet/prober"
	"github.com/drover-io/drover/kubelet/server"
	"github.com/drover-io/drover/kubelet/staticpod"
	"github.com/drover-io/drover/kubelet/volume"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
	"github.com/drover-io/drover/runtime/image"
	"github.com/drover-io/drover/runtime/oci"
	"github.com/drover-io/drover/runtime/process"
)

// DefaultKubeletAddr is where a node agent's HTTPS API listens by
// default: every address, port 10250, as Kubernetes' kubelet.
const DefaultKubeletAddr = ":10250"

// NodeConfig configures a Node: this machine as a node of a cluster. Start
// from DefaultNodeConfig; NewNode calls Validate.
type NodeConfig struct {
	// DataDir holds the node's state: the image store (DataDir/images),
	// the runtime's state (DataDir/oci or DataDir/process), the pods' logs
	// and volumes (DataDir/kubelet) and the node agent's certificate
	// (DataDir/kubelet/pki). Static pod manifests are read from
	// DataDir/manifests. Required, absolute.
	DataDir string

	// Name is the Node's name. Required: a DNS-1123 subdomain.
	Name string

	// Runtime is the container runtime: one of Runtimes(). Ignored when
	// Driver is set.
	Runtime string

	// Driver and Images, if Driver is not nil, are a runtime driver of
	// your own (see examples/runtime-driver), used instead of Runtime's.
	// Images nil means Driver, which must then implement
	// runtime.ImageService. The Node does not close them.
	Driver runtime.Runtime
	Images runtime.ImageService

	// KubeletAddr is the host:port of the node agent's HTTPS API (logs,
	// exec, stats), which the API server dials. A host that is an IP
	// address is also the Node's InternalIP; an empty host (":10250")
	// listens everywhere and the Node's addresses are detected. Port 0
	// picks a free port, which the Node reports.
	KubeletAddr string

	// KubeletToken, if not "", is the bearer token the node agent's HTTPS
	// API requires of every request (but /healthz and /readyz): the API
	// server's KubeletConfig.Transport sends it. Until Drover has its own
	// authentication (the security work), it is what keeps exec and logs
	// from anyone who can reach the port.
	KubeletToken string

	// Labels and Taints are set on the Node at registration.
	Labels map[string]string
	Taints []api.Taint

	// Reserved is kept from pods: the Node's allocatable is its capacity
	// minus Reserved (system and node-agent reserves).
	Reserved api.ResourceList

	// Logger receives the node agent's log lines, with component=kubelet.
	// nil discards them.
	Logger *slog.Logger

	// Registerer receives the node agent's metrics. nil means none.
	Registerer prometheus.Registerer
}

// DefaultNodeConfig returns the configuration of this machine as a node
// with its state in dataDir: the host name as the Node's name, the
// default runtime, the HTTPS API on DefaultKubeletAddr.
func DefaultNodeConfig(dataDir string) NodeConfig {
	return NodeConfig{
		DataDir:     dataDir,
		Name:        DefaultNodeName(),
		Runtime:     DefaultRuntime(),
		KubeletAddr: DefaultKubeletAddr,
	}
}

// DefaultNodeName is this machine's host name, lower-cased and made a
// valid Node name ("node" if it has none).
func DefaultNodeName() string {
	h, err := os.Hostname()
	if err != nil {
		return "node"
	}
	h = strings.ToLower(h)
	var b strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-.")
	if name == "" {
		return "node"
	}
	return name
}

// Validate checks c and says which field is wrong and what would be valid.
func (c NodeConfig) Validate() error {
	switch {
	case c.DataDir == "" || !filepath.IsAbs(c.DataDir):
		return fmt.Errorf("cluster: NodeConfig.DataDir is %q: must be an absolute directory", c.DataDir)
	case c.Name == "":
		return errors.New("cluster: NodeConfig.Name is empty: the Node needs a name (DefaultNodeName gives the host's)")
	}
	if errs := names.IsDNS1123Subdomain(c.Name); len(errs) > 0 {
		return fmt.Errorf("cluster: NodeConfig.Name %q: %s", c.Name, strings.Join(errs, "; "))
	}
	if c.Driver != nil {
		if _, ok := c.Driver.(runtime.ImageService); !ok && c.Images == nil {
			return errors.New("cluster: NodeConfig.Images is nil and Driver does not implement runtime.ImageService: give the driver's image service")
		}
	} else {
		switch c.Runtime {
		case RuntimeOCI, RuntimeProcess, RuntimeFake:
		default:
			return fmt.Errorf("cluster: NodeConfig.Runtime is %q: must be %s, %s or %s", c.Runtime, RuntimeOCI, RuntimeProcess, RuntimeFake)
		}
	}
	if err := checkHostPort(c.KubeletAddr); err != nil {
		return fmt.Errorf("cluster: NodeConfig.KubeletAddr: %w", err)
	}
	if c.KubeletToken == "" && !loopbackAddr(c.KubeletAddr) {
		return fmt.Errorf("cluster: NodeConfig.KubeletToken is empty while KubeletAddr %q is reachable from other machines: anyone reaching it could read logs and exec into containers; set a token (drover agent --kubelet-token, and the same on drover server), or listen on loopback only", c.KubeletAddr)
	}
	return nil
}

// loopbackAddr reports whether host:port's host is a loopback address
// (or "localhost"): a listener only this machine reaches.
func loopbackAddr(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Node is this machine as a node of a cluster: the runtime driver, the
// node agent (package kubelet: registration and heartbeats, pods, probes,
// volumes, static pods) and its HTTPS API. NewNode makes the driver, the
// certificate and the listener, so that the API server can be told how to
// reach the node agent before it runs; Run (the NodeAgent of an AllInOne,
// or `drover agent`) runs it. A Node runs once.
type Node struct {
	cfg  NodeConfig
	log  *slog.Logger
	rt   runtime.Runtime
	imgs runtime.ImageService
	srv  *server.Server
	ln   net.Listener

	closeOnce sync.Once
	closers   []func() error
}

var (
	_ NodeAgent               = (*Node)(nil)
	_ kubelet.PodVolumeLister = (*volume.Manager)(nil) // the orphan sweep removes volumes
)

// NewNode validates cfg, opens the runtime driver on cfg.DataDir, loads
// or makes the node agent's certificate and listens on cfg.KubeletAddr.
// Close releases them if Run is never called.
func NewNode(cfg NodeConfig) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, log: log.With("component", "kubelet")}
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()
	if err := os.MkdirAll(n.rootDir(), 0o700); err != nil {
		return nil, fmt.Errorf("cluster: node: %w", err)
	}
	if err := n.openRuntime(); err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", cfg.KubeletAddr)
	if err != nil {
		return nil, listenError("KubeletAddr", cfg.KubeletAddr, err)
	}
	n.ln = ln
	n.closers = append(n.closers, func() error { return ignoreClosed(ln.Close()) })

	scfg := server.DefaultConfig()
	scfg.Addr = ln.Addr().String()
	scfg.NodeName = cfg.Name
	scfg.Runtime = n.rt
	scfg.CertDir = filepath.Join(n.rootDir(), "pki")
	if host := n.listenHost(); host != "" {
		scfg.CertHosts = []string{host}
	} else if ips, err := localIPs(); err == nil {
		scfg.CertHosts = ips
	}
	scfg.Logger = n.log.With("part", "server")
	scfg.Registerer = cfg.Registerer
	if g, ok := cfg.Registerer.(prometheus.Gatherer); ok {
		scfg.Gatherer = g
	}
	if tok := cfg.KubeletToken; tok != "" {
		scfg.Authenticate = bearerCheck(tok)
	} // else loopback only: Validate refuses a reachable API without a token
	if n.srv, err = server.New(scfg); err != nil {
		return nil, fmt.Errorf("cluster: node: %w", err)
	}
	return n, nil
}

// rootDir is the node agent's own directory: pods' logs and volumes, pki.
func (n *Node) rootDir() string { return filepath.Join(n.cfg.DataDir, "kubelet") }

// listenHost is KubeletAddr's host when it is a specific IP address.
func (n *Node) listenHost() string {
	host, _, _ := net.SplitHostPort(n.cfg.KubeletAddr)
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return ""
	}
	return ip.String()
}

// openRuntime makes the runtime driver of cfg.Runtime.
func (n *Node) openRuntime() error {
	cfg := n.cfg
	if cfg.Driver != nil {
		n.rt, n.imgs = cfg.Driver, cfg.Images
		if n.imgs == nil {
			n.imgs = cfg.Driver.(runtime.ImageService)
		}
		return nil
	}
	switch cfg.Runtime {
	case RuntimeFake:
		// Simulated containers: every image "pulls", as one whose default
		// command runs until stopped (as a server's does); busybox is
		// busybox-like (sh).
		reg := fake.NewRegistry(fake.Busybox)
		reg.ServeAny(fake.Image{
			Ref:    "any",
			Config: runtime.ImageConfig{Cmd: []string{"sleep", "infinity"}, Env: fake.Busybox.Config.Env},
			Size:   fake.Busybox.Size,
		})
		d, err := fake.New(fake.Config{Registry: reg})
		if err != nil {
			return fmt.Errorf("cluster: node: runtime fake: %w", err)
		}
		n.rt, n.imgs = d, d
	case RuntimeProcess:
		imgs, err := image.New(image.Config{Root: ImagesDir(cfg.DataDir), RootFS: image.RootFSCopy, Logger: n.log})
		if err != nil {
			return fmt.Errorf("cluster: node: image store: %w", err)
		}
		n.closers = append(n.closers, imgs.Close)
		d, err := process.New(process.Config{Root: filepath.Join(cfg.DataDir, "process"), Images: imgs, Logger: n.log})
		if err != nil {
			return fmt.Errorf("cluster: node: runtime process: %w", err)
		}
		n.closers = append(n.closers, d.Close)
		n.rt, n.imgs = d, d
	case RuntimeOCI:
		imgs, err := image.New(image.Config{Root: ImagesDir(cfg.DataDir), Logger: n.log})
		if err != nil {
			return fmt.Errorf("cluster: node: image store: %w", err)
		}
		n.closers = append(n.closers, imgs.Close)
		oc := oci.DefaultConfig()
		oc.Root = filepath.Join(cfg.DataDir, "oci")
		// runc's own state: on a tmpfs, one directory per data directory,
		// so that two nodes on one machine (tests, examples/ha) do not mix.
		sum := sha256.Sum256([]byte(cfg.DataDir))
		oc.StateDir = filepath.Join("/run/drover", hex.EncodeToString(sum[:6]), "runc")
		oc.CgroupParent = "drover/" + hex.EncodeToString(sum[:6])
		oc.Images = imgs
		oc.Logger = n.log
		d, err := oci.New(oc)
		if err != nil {
			return fmt.Errorf("cluster: node: runtime oci: %w", err)
		}
		// runc's state directory goes once no container is left in it
		// (os.Remove keeps a directory that is not empty).
		n.closers = append(n.closers, func() error {
			if os.Remove(oc.StateDir) == nil {
				_ = os.Remove(filepath.Dir(oc.StateDir))
			}
			return nil
		}, d.Close)
		n.rt, n.imgs = d, d
	}
	return nil
}

// Certificate returns the node agent's serving certificate, which an API
// server's KubeletConfig.Transport must trust.
func (n *Node) Certificate() *x509.Certificate { return n.srv.Certificate().Leaf }

// KubeletConfig returns the API server configuration that reaches this
// node agent: HTTPS that trusts its certificate and sends its token.
func (n *Node) KubeletConfig() apiserver.KubeletConfig {
	pool := x509.NewCertPool()
	pool.AddCert(n.Certificate())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	var rt http.RoundTripper = tr
	if tok := n.cfg.KubeletToken; tok != "" {
		rt = bearerTransport{token: tok, next: tr}
	}
	return apiserver.KubeletConfig{Scheme: "https", Transport: rt}
}

// Addr is where the node agent's HTTPS API listens.
func (n *Node) Addr() string { return n.ln.Addr().String() }

// Run registers the Node through c, calls registered once it is Ready,
// and runs its pods until ctx ends; then it stops the node agent (the
// containers keep running: a node agent started again on DataDir adopts
// them) and returns nil. It implements NodeAgent.
func (n *Node) Run(ctx context.Context, c *client.Client, registered func()) error {
	defer n.Close()
	cfg := n.cfg
	_, portStr, _ := net.SplitHostPort(n.ln.Addr().String())
	port, _ := strconv.Atoi(portStr)

	ns := nodestatus.DefaultConfig()
	ns.Client, ns.NodeName = c, cfg.Name
	ns.Runtime, ns.Images = n.rt, n.imgs
	ns.Labels, ns.Taints, ns.Reserved = cfg.Labels, cfg.Taints, cfg.Reserved
	ns.KubeletPort = port
	ns.RootDir = n.rootDir()
	ns.Logger = n.log.With("part", "nodestatus")
	ns.Registerer = cfg.Registerer
	if host := n.listenHost(); host != "" {
		ns.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: host}, {Type: api.NodeHostName, Address: cfg.Name}}
	}
	reporter, err := nodestatus.New(ns)
	if err != nil {
		return fmt.Errorf("cluster: node: %w", err)
	}

	vc := volume.DefaultConfig()
	vc.Root = filepath.Join(n.rootDir(), "pods")
	vc.Getter = volume.ClientGetter(c)
	vc.NodeName = cfg.Name
	vc.Logger = n.log.With("part", "volume")
	vc.Registerer = cfg.Registerer
	vc.DisableTmpfs = cfg.Driver != nil || cfg.Runtime != RuntimeOCI
	volumes, err := volume.NewManager(vc)
	if err != nil {
		return fmt.Errorf("cluster: node: %w", err)
	}

	pc := prober.DefaultConfig()
	if ex, ok := n.rt.(runtime.Execer); ok {
		pc.Execer = ex
	}
	pc.Logger = n.log.With("part", "prober")
	pc.Registerer = cfg.Registerer

	kc := kubelet.DefaultConfig()
	kc.NodeName = cfg.Name
	kc.NodeIP = n.listenHost()
	kc.Client = c
	kc.Runtime, kc.Images = n.rt, n.imgs
	kc.RootDir = n.rootDir()
	kc.Logger = n.log
	kc.Registerer = cfg.Registerer
	kc.Reserved = cfg.Reserved
	kc.Volumes = volumes
	kc.ResolveEnv = kubelet.ResolveEnv
	kc.NewProbeManager = kubelet.Probes(pc)
	kc.NodeStatus = reporter
	kc.OnRegistered = registered
	kc.Server = serverRunner{srv: n.srv, ln: n.ln}

	mirror, err := staticpod.NewMirror(staticpod.MirrorConfig{Client: c, NodeName: cfg.Name, Logger: n.log.With("part", "staticpod")})
	if err != nil {
		return fmt.Errorf("cluster: node: %w", err)
	}
	kc.MirrorStatus = func(ctx context.Context, static *api.Pod, st *api.PodStatus) error {
		err := mirror.UpdateStatus(ctx, static, *st)
		if errors.Is(err, staticpod.ErrNoMirror) {
			return nil // the next mirror sync makes it
		}
		return err
	}
	kc.WaitForStaticPods = true
	k, err := kubelet.New(kc)
	if err != nil {
		return fmt.Errorf("cluster: node: %w", err)
	}

	src, err := staticpod.NewSource(staticpod.Config{
		Dir:      StaticPodDir(cfg.DataDir),
		NodeName: cfg.Name,
		Logger:   n.log.With("part", "staticpod"),
	})
	if err != nil {
		return fmt.Errorf("cluster: node: %w", err)
	}

	// cancel, then wait: deferred calls run last first.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	static := make(chan []*api.Pod, 1)
	wg.Go(func() {
		err := src.Run(ctx, func(pods []*api.Pod) {
			k.SetStaticPods(pods)
			select { // the mirror sync wants only the latest set
			case <-static:
			default:
			}
			static <- pods
		})
		if err != nil && ctx.Err() == nil {
			n.log.Error("static pods stopped", "err", err)
		}
	})
	wg.Go(func() { syncMirrors(ctx, mirror, static, n.log) })
	return k.Run(ctx)
}

// syncMirrors keeps the mirror pods of the static pods in the API server,
// retrying every 10 s while it fails.
func syncMirrors(ctx context.Context, m *staticpod.Mirror, updates <-chan []*api.Pod, log *slog.Logger) {
	var pods []*api.Pod
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case pods = <-updates:
		case <-retry:
		}
		retry = nil
		if err := m.Sync(ctx, pods); err != nil && ctx.Err() == nil {
			log.Warn("mirror pods not in step yet; retrying in 10s", "err", err)
			retry = time.After(10 * time.Second)
		}
	}
}

// Close releases what NewNode opened. Run calls it; it is safe to call
// more than once.
func (n *Node) Close() error {
	var errs []error
	n.closeOnce.Do(func() {
		for i := len(n.closers) - 1; i >= 0; i-- {
			errs = append(errs, n.closers[i]())
		}
	})
	return errors.Join(errs...)
}

// StaticPodDir returns the directory under dataDir whose manifests the
// node agent runs as static pods.
func StaticPodDir(dataDir string) string { return filepath.Join(dataDir, "manifests") }

// serverRunner runs the HTTPS API on the listener NewNode made.
type serverRunner struct {
	srv *server.Server
	ln  net.Listener
}

func (s serverRunner) Run(ctx context.Context) error { return s.srv.Serve(ctx, s.ln) }

// bearerCheck returns a server.Config.Authenticate that wants token.
func bearerCheck(token string) func(*http.Request) error {
	want := []byte("Bearer " + token)
	return func(r *http.Request) error {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			return errors.New("unauthorized: the node agent's API needs the cluster's bearer token")
		}
		return nil
	}
}

// bearerTransport sends a bearer token with every request.
type bearerTransport struct {
	token string
	next  http.RoundTripper
}

func (t bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

// NewKubeletToken returns a random bearer token for NodeConfig.KubeletToken.
func NewKubeletToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// localIPs lists this machine's non-loopback unicast addresses, for the
// node agent's certificate.
func localIPs() ([]string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.IsGlobalUnicast() {
			out = append(out, ipn.IP.String())
		}
	}
	return out, nil
}

// UnverifiedKubeletConfig returns the API server configuration that
// reaches node agents on other machines (`drover server` with `drover
// agent`s): HTTPS that sends token (if not "") and does NOT verify the
// node agents' self-signed certificates, which no cluster CA signs yet.
// It is the interim until the security work brings a cluster CA and node
// certificates; until then, keep the node agents' port on a private
// network.
func UnverifiedKubeletConfig(token string) apiserver.KubeletConfig {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // see the doc comment
	var rt http.RoundTripper = tr
	if token != "" {
		rt = bearerTransport{token: token, next: tr}
	}
	return apiserver.KubeletConfig{Scheme: "https", Transport: rt}
}
