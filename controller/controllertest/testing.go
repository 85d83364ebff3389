package controllertest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
)

// Timeout bounds each wait of Eventually: long enough for a loaded CI
// machine, short enough to fail a stuck test well before go test's own
// timeout.
const Timeout = 10 * time.Second

// ContextTimeout bounds the context of Context, which serves every call of
// a test: a test waits several times in a row, each up to Timeout, so its
// calls get a budget of several waits.
const ContextTimeout = 6 * Timeout

// LogLevelEnv names the environment variable that sets the level of the
// log lines New sends to the test log: "debug", "info", "warn" (the
// default) or "error".
const LogLevelEnv = "DROVER_TEST_LOG"

// An Option sets a field of the Config of New.
type Option func(*Config)

// WithScheme serves the kinds of scheme, your own included, instead of the
// built-in kinds only. See Config.Scheme.
func WithScheme(scheme *api.Scheme) Option { return func(c *Config) { c.Scheme = scheme } }

// WithClock puts the Env on clk, so the test moves time with clk.Advance
// instead of waiting. See Config.Clock.
func WithClock(clk *fakeclock.Clock) Option { return func(c *Config) { c.Clock = clk } }

// WithAdmission replaces the default admission chain. See
// Config.Admission.
func WithAdmission(chain *admission.Chain) Option {
	return func(c *Config) { c.Admission = chain }
}

// WithHTTP also serves the API server on a loopback port: see Env.URL and
// Env.Kubeconfig.
func WithHTTP() Option { return func(c *Config) { c.HTTP = true } }

// WithLogger sends the API server's and the store's log lines to logger
// instead of the test log.
func WithLogger(logger *slog.Logger) Option { return func(c *Config) { c.Logger = logger } }

// WithNamespaces creates names at start instead of DefaultNamespaces.
func WithNamespaces(names ...string) Option {
	return func(c *Config) { c.Namespaces = append([]string{}, names...) }
}

// WithServerConfig lets f change the API server's Config. See
// Config.Server.
func WithServerConfig(f func(*apiserver.Config)) Option { return func(c *Config) { c.Server = f } }

// New starts an Env for a test or benchmark, and stops it when the test
// ends (tb.Cleanup). It fails the test if the Env cannot start. Unless
// WithLogger says otherwise, log lines at LogLevelEnv's level (warnings by
// default) go to the test log.
//
//	env := controllertest.New(t, controllertest.WithScheme(scheme))
//	err := env.Client.Create(ctx, widget)
func New(tb testing.TB, opts ...Option) *Env {
	tb.Helper()
	var cfg Config
	for _, o := range opts {
		o(&cfg)
	}
	var tl *testLog
	if cfg.Logger == nil {
		tl = &testLog{tb: tb}
		cfg.Logger = slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{
			Level:       logLevel(),
			ReplaceAttr: dropTime,
		}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	env, err := Start(ctx, cfg)
	if err != nil {
		tb.Fatalf("controllertest: start: %v", err)
	}
	tb.Cleanup(func() {
		if err := env.Close(); err != nil {
			tb.Errorf("controllertest: close: %v", err)
		}
		if tl != nil {
			tl.done.Store(true)
		}
	})
	return env
}

// testLog writes log lines to the test log until the test is over: a
// goroutine that logs after that would make the testing package panic.
type testLog struct {
	tb   testing.TB
	done atomic.Bool
}

func (l *testLog) Write(p []byte) (int, error) {
	if !l.done.Load() {
		l.tb.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// logLevel returns the level LogLevelEnv asks for: warnings by default.
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv(LogLevelEnv))); err != nil {
		return slog.LevelWarn
	}
	return l
}

// dropTime leaves out the time of log lines: the test log has its own.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// Context returns a context for the calls of a test: it ends after
// ContextTimeout or when the test ends, whichever comes first.
func Context(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), ContextTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// Eventually calls cond until it returns true, and fails the test if it
// has not within Timeout. It is for waiting on what other goroutines do,
// such as a reconciler's writes: it polls, every millisecond at first and
// then less often (up to every 50 ms), in real time. To wait on simulated
// time, move the fake clock instead. cond runs on the caller's goroutine
// and may call tb.Fatal.
//
//	controllertest.Eventually(t, func() bool {
//		cm, err := cms.Get(ctx, "default", "app")
//		return err == nil && cm.Annotations["seen"] == "true"
//	})
func Eventually(tb testing.TB, cond func() bool) {
	tb.Helper()
	if !poll(Timeout, cond) {
		tb.Fatalf("controllertest: condition not met within %v", Timeout)
	}
}

// poll calls cond until it returns true or timeout has passed, and reports
// whether it did.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		t := time.NewTimer(wait)
		<-t.C
		wait = min(2*wait, 50*time.Millisecond)
	}
}
