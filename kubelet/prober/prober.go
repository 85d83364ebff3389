package prober

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/runtime"
)

// Kind is the kind of a probe.
type Kind uint8

// The kinds of probe.
const (
	Liveness Kind = iota
	Readiness
	Startup
	numKinds
)

// String names the kind ("Liveness", "Readiness", "Startup").
func (k Kind) String() string {
	switch k {
	case Liveness:
		return "Liveness"
	case Readiness:
		return "Readiness"
	case Startup:
		return "Startup"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// label is the kind as the metrics label it: "liveness", ...
func (k Kind) label() string {
	switch k {
	case Liveness:
		return "liveness"
	case Readiness:
		return "readiness"
	}
	return "startup"
}

// Result is the outcome of a probe, or of a run of them.
type Result uint8

// The results.
const (
	// Unknown is a probe that could not tell (the container was not
	// running): it does not count towards a threshold.
	Unknown Result = iota
	Success
	Failure
)

// String names the result ("Unknown", "Success", "Failure").
func (r Result) String() string {
	switch r {
	case Success:
		return "Success"
	case Failure:
		return "Failure"
	}
	return "Unknown"
}

func (r Result) label() string {
	switch r {
	case Success:
		return "success"
	case Failure:
		return "failure"
	}
	return "unknown"
}

// Update is a probe result the node agent acts on: a change of a
// container's result of one Kind, or a liveness or startup Failure that
// reached its failureThreshold (the container must be restarted).
type Update struct {
	PodUID, ContainerName, ContainerID string
	Kind                               Kind
	Result                             Result
	// Message is what the last probe said: the command's output, the
	// HTTP status and body, or why it failed.
	Message string
}

// Target says where a pod's httpGet and tcpSocket probes connect.
type Target struct {
	// Host is the address used when the probe names none: the pod IP,
	// or "127.0.0.1" inside the pod's network namespace. With neither,
	// network probes fail.
	Host string
	// Dial, if not nil, makes the connections (the node agent dials
	// inside the sandbox's network namespace); nil means a net.Dialer.
	// It is called from probe goroutines with the probe's context and
	// an address "host:port".
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Clock is the Manager's source of time. Production clocks and
// [github.com/drover-io/drover/client/workqueue/fakeclock.Clock]
// satisfy it. The Manager calls AfterFunc with its lock held and takes
// the lock in f: the clock must not hold a lock of its own while it runs
// f.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// systemClock is the Clock of package time.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// DefaultMaxConcurrentProbes is Config.MaxConcurrentProbes' default.
const DefaultMaxConcurrentProbes = 16

// Config is what a Manager is made of.
type Config struct {
	// Execer runs exec probes; nil makes them fail with a message that
	// says the runtime cannot exec.
	Execer runtime.Execer
	// Clock times the probes; nil means the system clock.
	Clock Clock
	// Logger receives probe failures (debug) and result changes (info);
	// nil discards them.
	Logger *slog.Logger
	// Registerer, if not nil, registers the prober's metrics
	// (prober_probe_total, prober_probe_duration_seconds).
	Registerer prometheus.Registerer
	// OnUpdate, if not nil, is called when a container's result of a
	// Kind changes, and for every liveness or startup Failure that
	// reaches failureThreshold. It is called from the prober's
	// goroutines, one call at a time per container and kind, without
	// the Manager's lock held (it may call Ready or Remove); it should
	// return quickly.
	OnUpdate func(Update)
	// Jitter returns the random delay added before a container's first
	// probe of a period, so that probes of containers started together
	// spread over the period. Nil means a random delay in [0, period)
	// with the system clock, and none with any other Clock (tests).
	Jitter func(period time.Duration) time.Duration
	// MaxConcurrentProbes bounds the probes running at once; 0 means
	// DefaultMaxConcurrentProbes. Due probes beyond it wait their turn.
	MaxConcurrentProbes int
}

// DefaultConfig returns a working configuration: the system clock, no
// Execer (set it), no metrics, logs discarded.
func DefaultConfig() Config {
	return Config{MaxConcurrentProbes: DefaultMaxConcurrentProbes}
}

// Validate says which field of c is wrong, if one is.
func (c Config) Validate() error {
	if c.MaxConcurrentProbes < 0 {
		return fmt.Errorf("prober: Config.MaxConcurrentProbes is %d: must be 0 (the default, %d) or more",
			c.MaxConcurrentProbes, DefaultMaxConcurrentProbes)
	}
	return nil
}

// randomJitter is the production Jitter: uniform in [0, period).
func randomJitter(period time.Duration) time.Duration {
	if period <= 0 {
		return 0
	}
	return rand.N(period)
}

// errNoExecer is why exec probes fail without a Config.Execer.
var errNoExecer = errors.New("exec probes are not supported: the container runtime cannot run commands in containers (no runtime.Execer)")
