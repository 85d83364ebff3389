package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/runtime"
)

// DefaultAddr is the node agent's API address, as the kubelet's (and the
// API server's apiserver.DefaultKubeletPort).
const DefaultAddr = ":10250"

// DefaultProcDir is where the node's CPU and memory usage is read.
const DefaultProcDir = "/proc"

// Certificate file names in Config.CertDir, as the kubelet names them.
const (
	CertFileName = "kubelet.crt"
	KeyFileName  = "kubelet.key"
)

// Clock is the server's source of time: sinceSeconds, the times of stats
// samples. fakeclock.Clock and workqueue.RealClock satisfy it.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config is what a Server is made of. DefaultConfig gives the defaults;
// Runtime and one of the TLS choices must be set.
type Config struct {
	// Addr is the address Run listens on (":10250").
	Addr string
	// NodeName is the node's name: in /stats/summary, and a name of the
	// generated certificate.
	NodeName string
	// Runtime is the driver the node agent runs its pods with. The server
	// finds pods by the labels of package kubelet/internal/podlabels:
	// sandboxes labelled ManagedBy, containers by PodUID and
	// ContainerName. Required.
	Runtime runtime.Runtime
	// StatsProvider measures containers for /stats/summary; nil means the
	// Runtime if it implements runtime.StatsProvider (else pods are listed
	// without usage).
	StatsProvider runtime.StatsProvider
	// Execer runs /exec; nil means the Runtime if it implements
	// runtime.Execer (else /exec answers 501).
	Execer runtime.Execer

	// Certificate is the serving certificate. If nil, CertFile and
	// KeyFile are loaded; if those are empty too, a self-signed ECDSA
	// certificate for NodeName and CertHosts is generated and kept in
	// CertDir (kubelet.crt and kubelet.key), and reused on the next
	// start while it is valid and names the same hosts.
	Certificate       *tls.Certificate
	CertFile, KeyFile string
	CertDir           string
	// CertHosts are the DNS names and IP addresses the generated
	// certificate is valid for, besides NodeName, "localhost",
	// 127.0.0.1 and ::1.
	CertHosts []string

	// Authenticate, if not nil, is called before every request but
	// /healthz and /readyz. An error that matches ErrForbidden answers
	// 403, any other error 401; the error's text is the body. nil allows
	// every request: until Drover's node agent has its own authn/authz,
	// the embedding program (cluster.Node) should set a check of a bearer
	// token that the API server's KubeletConfig.Transport sends.
	Authenticate func(r *http.Request) error

	// Healthz are the checks /healthz (and /readyz) run; any error makes
	// the answer 500 with the errors in its body.
	Healthz []func() error

	// Registerer receives the server's metrics (requests by endpoint and
	// code, their durations); nil means none are registered.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves: nil means Registerer if it is a
	// prometheus.Gatherer; with neither, /metrics answers 404.
	Gatherer prometheus.Gatherer

	// ProcDir is where the node's CPU (stat) and memory (meminfo) are
	// read for /stats/summary: "/proc", or a directory of such files in
	// tests.
	ProcDir string
	// Clock is the source of time; nil means the system clock.
	Clock Clock
	// Logger receives the server's log lines (requests at Debug); nil
	// means discard.
	Logger *slog.Logger

	// ReadHeaderTimeout bounds the read of a request's headers by Run's
	// HTTP server; ShutdownTimeout how long Run waits for requests in
	// flight (followed logs and exec sessions are cut) when ctx ends.
	ReadHeaderTimeout time.Duration
	ShutdownTimeout   time.Duration
}

// DefaultConfig returns a Config with the default address, /proc, and
// the timeouts set; Runtime and the TLS fields are left to the caller.
func DefaultConfig() Config {
	return Config{
		Addr:              DefaultAddr,
		ProcDir:           DefaultProcDir,
		ReadHeaderTimeout: 10 * time.Second,
		ShutdownTimeout:   5 * time.Second,
	}
}

// Validate reports the first field of c that is wrong.
func (c Config) Validate() error {
	if c.Runtime == nil {
		return errors.New("server: Config.Runtime is nil: the node agent's API needs the runtime its pods run on")
	}
	if c.Addr == "" {
		return fmt.Errorf("server: Config.Addr is empty: give a listen address such as %q", DefaultAddr)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("server: Config.Addr is %q: must be host:port or :port (%v)", c.Addr, err)
	}
	if c.ProcDir == "" {
		return fmt.Errorf("server: Config.ProcDir is empty: give %q or a directory holding stat and meminfo", DefaultProcDir)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("server: Config.CertFile is %q and Config.KeyFile is %q: give both or neither", c.CertFile, c.KeyFile)
	}
	if c.Certificate != nil && c.CertFile != "" {
		return errors.New("server: Config.Certificate and Config.CertFile are both set: give one serving certificate")
	}
	if c.Certificate == nil && c.CertFile == "" && c.CertDir == "" {
		return errors.New("server: no serving certificate: set Config.Certificate, Config.CertFile and KeyFile, " +
			"or Config.CertDir to generate a self-signed one there")
	}
	for i, h := range c.CertHosts {
		if h == "" {
			return fmt.Errorf("server: Config.CertHosts[%d] is empty: give a DNS name or an IP address", i)
		}
	}
	for i, f := range c.Healthz {
		if f == nil {
			return fmt.Errorf("server: Config.Healthz[%d] is nil", i)
		}
	}
	if c.ReadHeaderTimeout < 0 {
		return fmt.Errorf("server: Config.ReadHeaderTimeout is %v: must not be negative (0 for none)", c.ReadHeaderTimeout)
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("server: Config.ShutdownTimeout is %v: must not be negative (0 to cut requests at once)", c.ShutdownTimeout)
	}
	return nil
}
