package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/record"
	"github.com/drover-io/drover/client/workqueue"
)

// DefaultGracefulShutdownTimeout is the default
// ManagerConfig.GracefulShutdownTimeout.
const DefaultGracefulShutdownTimeout = 30 * time.Second

// ErrShutdownTimeout is returned (wrapped) by Manager.Start when runnables
// were still running GracefulShutdownTimeout after ctx ended.
var ErrShutdownTimeout = errors.New("controller: graceful shutdown timed out")

// Runnable is something a Manager runs: a Controller, or a component of
// your own. The Manager calls Start once per run, from a goroutine of its
// own; Start blocks until ctx ends and then returns nil once it has
// stopped. An error before that stops the whole Manager.
//
// A Runnable that also implements LeaderElectionRunnable and returns false
// runs on every replica; any other runs only while the Manager leads (when
// it has a LeaderElector), and is started again, with a new ctx, each time
// it regains leadership.
type Runnable interface {
	Start(ctx context.Context) error
}

// RunnableFunc adapts a function to a Runnable.
type RunnableFunc func(ctx context.Context) error

// Start calls f(ctx).
func (f RunnableFunc) Start(ctx context.Context) error { return f(ctx) }

// LeaderElectionRunnable is the optional interface of a Runnable that says
// whether it needs leadership. Controllers implement it (true unless
// Options.NeedLeaderElection says otherwise).
type LeaderElectionRunnable interface {
	NeedLeaderElection() bool
}

// LeaderElector is what a Manager needs of leader election; a
// *leaderelection.Elector (package client/leaderelection) is one. The
// Manager calls Run once, from a goroutine of its own, and IsLeader from
// any goroutine.
type LeaderElector interface {
	// Run competes for leadership until ctx ends. Each time it wins it
	// calls lead with a context that ends when leadership is lost (or ctx
	// ends), waits for lead to return, and competes again. On return it
	// has released leadership. An error means it could not compete at
	// all.
	Run(ctx context.Context, lead func(ctx context.Context)) error
	// IsLeader reports whether this replica leads now.
	IsLeader() bool
}

// Checker is a health or readiness check: nil means healthy. It is called
// from the HTTP server's goroutines, once per probe, concurrently with
// everything else.
type Checker func(req *http.Request) error

// CacheOptions configures the Manager's shared informers.
type CacheOptions struct {
	// Selection restricts what every informer holds: one namespace, or a
	// label or field selector. The zero value holds everything.
	Selection informer.Selection
	// Indexers are extra indexes per kind, beyond namespace, owner and
	// controller.
	Indexers map[api.GroupVersionKind]informer.Indexers
	// Informer is the template of each informer's configuration (page
	// size, backoff, transform); its ListerWatcher and Indexers are set
	// by the Manager.
	Informer informer.Config
}

// ManagerConfig configures a Manager. Only Client is required.
type ManagerConfig struct {
	// Client reaches the API server; its scheme is the Manager's. Required.
	Client *client.Client
	// Logger receives the log lines of the Manager and of its controllers.
	// nil means discard.
	Logger *slog.Logger
	// Registry receives the metrics of the controllers and their queues,
	// and is what /metrics serves. nil means a new, empty registry.
	Registry *prometheus.Registry
	// MetricsAddr, if not empty, is the address ("host:port"; ":0" picks
	// a port) of an HTTP server serving /metrics. Manager.MetricsAddr
	// returns the address bound.
	MetricsAddr string
	// HealthProbeAddr, if not empty, is the address of an HTTP server
	// serving /healthz and /readyz. When it equals MetricsAddr (":0"
	// included), one server serves all three.
	HealthProbeAddr string
	// LeaderElector, if not nil, runs the runnables that need leadership
	// (controllers, by default) only while this replica leads. nil means
	// they always run.
	LeaderElector LeaderElector
	// Cache configures the shared informers.
	Cache CacheOptions
	// GracefulShutdownTimeout bounds how long Start waits, once ctx has
	// ended, for the runnables to stop and then for the event recorders
	// to write what they queued. 0 means DefaultGracefulShutdownTimeout.
	GracefulShutdownTimeout time.Duration
	// Clock is the default Options.Clock of controllers built on the
	// Manager. nil means the wall clock.
	Clock workqueue.Clock
}

// Validate reports the first field of c that is wrong.
func (c ManagerConfig) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("controller: ManagerConfig.Client is nil: a client of the API server is required")
	case c.GracefulShutdownTimeout < 0:
		return fmt.Errorf("controller: ManagerConfig.GracefulShutdownTimeout is %v: must be positive, or 0 for the default (%v)", c.GracefulShutdownTimeout, DefaultGracefulShutdownTimeout)
	}
	return nil
}

// Manager runs the parts of a controller process: shared informers, the
// controllers and other runnables, event recorders, leader election, and
// the metrics and health endpoints. Set it up (Builder, Add, AddHealthCheck,
// Lister), then call Start once. Its methods are safe for concurrent use.
type Manager struct {
	cfg     ManagerConfig
	log     *slog.Logger
	client  *client.Client
	reg     *prometheus.Registry
	factory *informer.Factory

	mu        sync.Mutex
	started   bool
	runnables []Runnable
	names     map[string]bool // controller names
	health    map[string]Checker
	ready     map[string]Checker
	recorders map[string]*record.Recorder
	recCtx    context.Context // set by Start: runs recorders made later
	recWG     sync.WaitGroup

	synced      atomic.Bool
	leading     atomic.Bool
	metricsAddr atomic.Value // string
	healthAddr  atomic.Value // string
}

// NewManager returns a Manager for cfg. It starts nothing.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.GracefulShutdownTimeout == 0 {
		cfg.GracefulShutdownTimeout = DefaultGracefulShutdownTimeout
	}
	f, err := informer.NewFactory(informer.FactoryConfig{
		Scheme:   cfg.Client.Scheme(),
		Source:   informer.ClientSource(cfg.Client, cfg.Cache.Selection),
		Indexers: cfg.Cache.Indexers,
		Informer: cfg.Cache.Informer,
		Logger:   cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	m := &Manager{
		cfg: cfg, log: cfg.Logger, client: cfg.Client, reg: cfg.Registry, factory: f,
		names:     make(map[string]bool),
		health:    map[string]Checker{"ping": func(*http.Request) error { return nil }},
		ready:     make(map[string]Checker),
		recorders: make(map[string]*record.Recorder),
	}
	m.ready["informers-synced"] = func(*http.Request) error {
		if !m.synced.Load() {
			return errors.New("the informer caches have not synced")
		}
		return nil
	}
	m.metricsAddr.Store("")
	m.healthAddr.Store("")
	return m, nil
}

// GetClient returns the Manager's client. Reconcilers write through it.
func (m *Manager) GetClient() *client.Client { return m.client }

// Scheme returns the client's scheme.
func (m *Manager) Scheme() *api.Scheme { return m.client.Scheme() }

// Informers returns the shared informer factory: one informer per kind for
// the whole process.
func (m *Manager) Informers() *informer.Factory { return m.factory }

// Clock returns the Manager's clock (ManagerConfig.Clock, or the wall
// clock): the time source controllers built on it should read, so that a
// test moving a fake clock moves them all.
func (m *Manager) Clock() workqueue.Clock {
	if m.cfg.Clock == nil {
		return workqueue.RealClock{}
	}
	return m.cfg.Clock
}

// Registry returns the Prometheus registry /metrics serves.
func (m *Manager) Registry() *prometheus.Registry { return m.reg }

// Logger returns the Manager's logger.
func (m *Manager) Logger() *slog.Logger { return m.log }

// Lister returns a Lister over m's shared informer of T's kind (T is a
// pointer type such as *api.Pod), creating the informer if needed. Call it
// while setting up, before Start: Start waits for the informers that exist
// then to sync, and a reconciler that reads a lister made later may see an
// empty cache at first.
func Lister[T api.Object](m *Manager) (informer.Lister[T], error) {
	_, l, err := informer.For[T](m.factory)
	return l, err
}

// EventRecorder returns the recorder of Events reported by component name
// (conventionally the controller's name), creating it on first use. The
// Manager runs it from Start until it stops.
func (m *Manager) EventRecorder(name string) (*record.Recorder, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.recorders[name]; ok {
		return r, nil
	}
	r, err := record.New(record.Config{Client: m.client, Component: name, Logger: m.log.With("recorder", name)})
	if err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	m.recorders[name] = r
	if m.recCtx != nil {
		m.runRecorder(r)
	}
	return r, nil
}

func (m *Manager) runRecorder(r *record.Recorder) {
	ctx := m.recCtx
	m.recWG.Go(func() { _ = r.Run(ctx) })
}

// Add adds r, to be run by Start. It fails after Start has been called.
func (m *Manager) Add(r Runnable) error {
	if r == nil {
		return errors.New("controller: Manager.Add: the runnable is nil")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return errors.New("controller: Manager.Add after Start: add every runnable before starting the manager")
	}
	if c, ok := r.(*Controller); ok {
		if m.names[c.Name()] {
			return fmt.Errorf("controller: a controller named %q was already added: give each a different name with Named", c.Name())
		}
		m.names[c.Name()] = true
	}
	m.runnables = append(m.runnables, r)
	return nil
}

// AddHealthCheck adds a check that /healthz runs; a failing check makes
// it answer 500, telling the supervisor to restart the process. "ping"
// is built in.
func (m *Manager) AddHealthCheck(name string, check Checker) error {
	return m.addCheck(m.health, "health", name, check)
}

// AddReadyCheck adds a check that /readyz runs; a failing check makes it
// answer 500. "informers-synced", which fails until the caches have
// synced, is built in.
func (m *Manager) AddReadyCheck(name string, check Checker) error {
	return m.addCheck(m.ready, "ready", name, check)
}

func (m *Manager) addCheck(checks map[string]Checker, what, name string, check Checker) error {
	if name == "" || check == nil {
		return fmt.Errorf("controller: a %s check needs a name and a Checker", what)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := checks[name]; ok {
		return fmt.Errorf("controller: a %s check named %q already exists", what, name)
	}
	checks[name] = check
	return nil
}

// MetricsAddr returns the address the metrics server listens on, or ""
// before Start has bound it.
func (m *Manager) MetricsAddr() string { return m.metricsAddr.Load().(string) }

// HealthProbeAddr returns the address the health server listens on, or ""
// before Start has bound it.
func (m *Manager) HealthProbeAddr() string { return m.healthAddr.Load().(string) }

// IsLeader reports whether the Manager leads: from when it wins the
// leadership until its leader-only runnables have stopped after losing it;
// always while Start runs without a LeaderElector.
func (m *Manager) IsLeader() bool { return m.leading.Load() }

// HasSynced reports whether the informer caches have synced since Start.
func (m *Manager) HasSynced() bool { return m.synced.Load() }

// Start runs everything until ctx ends:
//
//  1. it binds the metrics and health servers, and serves them;
//  2. it starts the shared informers and the event recorders;
//  3. it waits for the caches to sync (/readyz fails until then);
//  4. it starts the runnables that do not need leadership;
//  5. without a LeaderElector, it starts the others; with one, it competes
//     for leadership and runs them while it leads: when leadership is
//     lost their ctx ends, Start waits for them to stop, and competes
//     again, the process running on.
//
// When ctx ends, or a runnable or the elector fails, it cancels the
// runnables, waits for them up to GracefulShutdownTimeout, flushes the
// event recorders within what is left of it, then stops the informers,
// the recorders and the servers, and returns: nil after ctx
// ended, or the first error. Start may be called once.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	if m.started {
		m.mu.Unlock()
		return errors.New("controller: Manager.Start called twice")
	}
	m.started = true
	runnables := append([]Runnable(nil), m.runnables...)
	m.mu.Unlock()

	stopServers, err := m.serve()
	if err != nil {
		return err
	}
	defer stopServers()

	// The informers and recorders outlive the runnables, so that a
	// controller stopping sees its caches to the end and its last events
	// are written: the recorders are flushed before they stop, within what
	// is left of GracefulShutdownTimeout.
	var stopBy time.Time // when shutdown must be over; set when it starts
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if stopBy.IsZero() {
			stopBy = time.Now().Add(m.cfg.GracefulShutdownTimeout)
		}
		m.flushRecorders(stopBy)
		stopBackground()
		m.factory.Wait()
		m.recWG.Wait()
	}()
	m.factory.Start(bg)
	m.mu.Lock()
	m.recCtx = bg
	for _, r := range m.recorders {
		m.runRecorder(r)
	}
	m.mu.Unlock()

	m.log.Info("waiting for the informer caches to sync")
	if !m.factory.WaitForCacheSync(ctx) {
		return nil // ctx ended first
	}
	m.synced.Store(true)
	m.log.Info("informer caches synced")

	var leaders, others []Runnable
	for _, r := range runnables {
		if ler, ok := r.(LeaderElectionRunnable); ok && !ler.NeedLeaderElection() {
			others = append(others, r)
		} else {
			leaders = append(leaders, r)
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	var wg sync.WaitGroup
	m.startAll(runCtx, &wg, others, fail)
	if el := m.cfg.LeaderElector; el != nil {
		wg.Go(func() {
			err := el.Run(runCtx, func(lctx context.Context) {
				m.log.Info("leading: starting the leader-only runnables", "count", len(leaders))
				m.leading.Store(true)
				var lwg sync.WaitGroup
				m.startAll(lctx, &lwg, leaders, fail)
				lwg.Wait()
				// Hold the leadership until it is lost, even with no
				// leader-only runnable left running: returning would
				// release the lease and win it again at once, over and
				// over.
				<-lctx.Done()
				m.leading.Store(false)
				m.log.Info("leadership ended: leader-only runnables stopped")
			})
			if err != nil && runCtx.Err() == nil {
				fail(fmt.Errorf("controller: leader election: %w", err))
			}
		})
	} else {
		m.leading.Store(true)
		m.startAll(runCtx, &wg, leaders, fail)
	}

	select {
	case <-ctx.Done():
		m.log.Info("stopping")
	case err = <-errc:
		m.log.Error("stopping after an error", "err", err)
	}
	cancel()
	stopBy = time.Now().Add(m.cfg.GracefulShutdownTimeout)
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	timer := time.NewTimer(m.cfg.GracefulShutdownTimeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		return errors.Join(err, fmt.Errorf("%w: runnables still running after %v", ErrShutdownTimeout, m.cfg.GracefulShutdownTimeout))
	}
	m.leading.Store(false)
	return err
}

// flushRecorders waits until the event recorders have written what was
// queued, or until stopBy.
func (m *Manager) flushRecorders(stopBy time.Time) {
	m.mu.Lock()
	recs := make([]*record.Recorder, 0, len(m.recorders))
	for _, r := range m.recorders {
		recs = append(recs, r)
	}
	m.mu.Unlock()
	ctx, cancel := context.WithDeadline(context.Background(), stopBy)
	defer cancel()
	for _, r := range recs {
		if err := r.Flush(ctx); err != nil {
			m.log.Warn("event recorders not flushed: their last events are lost", "err", err)
			return
		}
	}
}

// startAll starts each r in a goroutine tracked by wg; an error, unless
// ctx has ended, goes to fail. An error after ctx ended (a runnable that
// returns ctx.Err() when its leadership is lost, say) is only logged: it
// must not stop the whole Manager, which competes for leadership again.
func (m *Manager) startAll(ctx context.Context, wg *sync.WaitGroup, rs []Runnable, fail func(error)) {
	for _, r := range rs {
		wg.Go(func() {
			err := r.Start(ctx)
			switch {
			case err == nil:
			case ctx.Err() != nil:
				if !errors.Is(err, context.Canceled) {
					m.log.Warn("runnable failed while stopping", "runnable", runnableName(r), "err", err)
				}
			default:
				fail(fmt.Errorf("controller: runnable %s: %w", runnableName(r), err))
			}
		})
	}
}

func runnableName(r Runnable) string {
	if c, ok := r.(*Controller); ok {
		return fmt.Sprintf("controller %q", c.Name())
	}
	return fmt.Sprintf("%T", r)
}

// serve binds and serves the metrics and health servers (one server when
// their addresses are equal), and returns the function that closes them.
func (m *Manager) serve() (stop func(), err error) {
	var (
		servers []*http.Server
		wg      sync.WaitGroup
	)
	stop = func() {
		for _, s := range servers {
			_ = s.Close()
		}
		wg.Wait()
	}
	listen := func(addr string, mux *http.ServeMux, bound ...*atomic.Value) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("controller: listen on %q: %w", addr, err)
		}
		for _, b := range bound {
			b.Store(ln.Addr().String())
		}
		s := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, s)
		wg.Go(func() { _ = s.Serve(ln) })
		return nil
	}
	var metricsMux, healthMux *http.ServeMux
	if m.cfg.MetricsAddr != "" {
		metricsMux = http.NewServeMux()
		metricsMux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	}
	if m.cfg.HealthProbeAddr != "" {
		healthMux = http.NewServeMux()
		if m.cfg.HealthProbeAddr == m.cfg.MetricsAddr {
			healthMux = metricsMux
		}
		healthMux.Handle("/healthz", m.checkHandler("healthz", m.health))
		healthMux.Handle("/readyz", m.checkHandler("readyz", m.ready))
	}
	switch {
	case metricsMux != nil && metricsMux == healthMux:
		err = listen(m.cfg.MetricsAddr, metricsMux, &m.metricsAddr, &m.healthAddr)
	default:
		if metricsMux != nil {
			err = listen(m.cfg.MetricsAddr, metricsMux, &m.metricsAddr)
		}
		if err == nil && healthMux != nil {
			err = listen(m.cfg.HealthProbeAddr, healthMux, &m.healthAddr)
		}
	}
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// checkHandler runs checks, answering 200 "ok" when all pass and 500 with
// the failures otherwise. With ?verbose it lists every check.
func (m *Manager) checkHandler(what string, checks map[string]Checker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		names := make([]string, 0, len(checks))
		fns := make(map[string]Checker, len(checks))
		for n, c := range checks {
			names = append(names, n)
			fns[n] = c
		}
		m.mu.Unlock()
		sort.Strings(names)
		var b strings.Builder
		failed := false
		for _, n := range names {
			if err := fns[n](r); err != nil {
				failed = true
				fmt.Fprintf(&b, "[-]%s failed: %v\n", n, err)
			} else {
				fmt.Fprintf(&b, "[+]%s ok\n", n)
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		switch {
		case failed:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "%s%s check failed\n", b.String(), what)
		case r.URL.Query().Has("verbose"):
			fmt.Fprintf(w, "%s%s check passed\n", b.String(), what)
		default:
			fmt.Fprint(w, "ok")
		}
	})
}
