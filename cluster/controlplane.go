package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/builtin"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/store/raftstore"
)

// ControlPlane is one control-plane member: a store member, the API server
// over it, and, while the member leads, the scheduler and the built-in
// controllers. Make it with NewControlPlane, then Start it; Close stops it.
// Its methods are safe for concurrent use.
type ControlPlane struct {
	cfg ControlPlaneConfig
	log *slog.Logger
	reg *prometheus.Registry

	started atomic.Bool
	begin   time.Time
	progMu  sync.Mutex

	// Set by Start.
	ln      net.Listener
	st      *raftstore.Store
	srv     *apiserver.Server
	client  *client.Client
	mgr     *controller.Manager
	elector *RaftLeaderElector
	sched   *scheduler.Scheduler
	hs      *http.Server
	url     string

	cancel      context.CancelFunc
	endRequests context.CancelFunc
	wg          sync.WaitGroup
	done        chan struct{} // closed when a component failed or Close began
	doneOnce    sync.Once
	errMu       sync.Mutex
	err         error // the first component failure
	closeOnce   sync.Once
	closeErr    error
	controllers atomic.Bool // the controllers and scheduler run here
}

// NewControlPlane validates cfg and returns a ControlPlane that has started
// nothing.
func NewControlPlane(cfg ControlPlaneConfig) (*ControlPlane, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newControlPlane(cfg), nil
}

func newControlPlane(cfg ControlPlaneConfig) *ControlPlane {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	return &ControlPlane{cfg: cfg, log: log, reg: reg, done: make(chan struct{})}
}

// progress reports a step to OnProgress and the log.
func (cp *ControlPlane) progress(step string) {
	p := Progress{Step: step, Elapsed: time.Since(cp.begin)}
	cp.log.Info(step, "elapsed", p.Elapsed)
	if cp.cfg.OnProgress != nil {
		cp.progMu.Lock()
		defer cp.progMu.Unlock()
		cp.cfg.OnProgress(p)
	}
}

// Start starts the member and returns once its API server answers: it
// listens on APIAddr, opens (bootstraps or joins) the store member, writes
// the kubeconfig, and starts the API server, its maintenance, and the
// controller manager, which runs the scheduler and the controllers while
// the member leads. ctx bounds the start only; the member runs until Close
// or until a component fails (Wait). Start may be called once; on error it
// has stopped what it started.
func (cp *ControlPlane) Start(ctx context.Context) error {
	if !cp.started.CompareAndSwap(false, true) {
		return errors.New("cluster: Start called twice")
	}
	cp.begin = time.Now()
	err := cp.start(ctx)
	if err != nil {
		cp.fail(nil)
		_ = cp.Close()
	}
	return err
}

func (cp *ControlPlane) start(ctx context.Context) error {
	cfg := cp.cfg
	cp.ln = cfg.APIListener // closed by Close, even if Start fails early
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("cluster: create data directory: %w", err)
	}

	// 1. The API address first: a taken port is the likeliest failure, and
	// it costs nothing to find out before the store opens.
	ln := cfg.APIListener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", cfg.APIAddr)
		if err != nil {
			return listenError("APIAddr", cfg.APIAddr, err)
		}
	}
	cp.ln = ln
	cp.url = "http://" + dialAddr(ln.Addr())

	// 2. The store member.
	rc := raftstore.DefaultConfig(storeDir(cfg.DataDir))
	rc.NodeID = cfg.Name
	if cfg.RaftAddr != "" {
		rc.BindAddr = cfg.RaftAddr
	}
	rc.AdvertiseAddr = cfg.RaftAdvertiseAddr
	rc.Bootstrap = cfg.Bootstrap
	rc.Join = cfg.Join
	rc.Logger = cp.log.With("component", "store")
	rc.Registerer = cp.reg
	st, err := raftstore.Open(ctx, rc)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return listenError("RaftAddr", rc.BindAddr, err)
		}
		return fmt.Errorf("cluster: open the store in %s: %w", rc.DataDir, err)
	}
	cp.st = st
	cp.progress("store ready")

	// 3. The API server over it.
	scheme := api.NewDefaultScheme()
	srv, err := apiserver.New(apiserver.Config{
		Store:      st,
		Scheme:     scheme,
		Logger:     cp.log.With("component", "apiserver"),
		Registerer: cp.reg,
		Leader:     st.IsLeader,
		Kubelet:    cfg.Kubelet,
	})
	if err != nil {
		return fmt.Errorf("cluster: API server: %w", err)
	}
	cp.srv = srv
	c, err := client.New(client.Config{Transport: srv.Transport(), Scheme: scheme, UserAgent: "drover-controlplane"})
	if err != nil {
		return fmt.Errorf("cluster: in-process client: %w", err)
	}
	cp.client = c

	// 4. The controller manager: controllers and scheduler, while the
	// store member leads.
	cp.elector = &RaftLeaderElector{IsLeaderFunc: st.IsLeader}
	mgr, err := controller.NewManager(controller.ManagerConfig{
		Client:        c,
		Logger:        cp.log.With("component", "controller-manager"),
		Registry:      cp.reg,
		LeaderElector: cp.elector,
	})
	if err != nil {
		return fmt.Errorf("cluster: controller manager: %w", err)
	}
	cp.mgr = mgr
	if err := builtin.Add(mgr, cfg.Controllers); err != nil {
		return fmt.Errorf("cluster: controllers: %w", err)
	}
	sc := cfg.Scheduler
	sc.Client = c
	sc.Informers = mgr.Informers()
	sc.Logger = cp.log.With("component", "scheduler")
	sc.Registerer = cp.reg
	if sc.Recorder, err = mgr.EventRecorder(schedulerName(sc)); err != nil {
		return fmt.Errorf("cluster: scheduler: %w", err)
	}
	sched, err := scheduler.New(sc)
	if err != nil {
		return fmt.Errorf("cluster: scheduler: %w", err)
	}
	cp.sched = sched
	if err := mgr.Add(sched); err != nil {
		return fmt.Errorf("cluster: scheduler: %w", err)
	}
	if err := mgr.Add(&leaderNotifier{cp: cp}); err != nil {
		return err
	}

	// 5. The kubeconfig, then serve.
	kc := client.NewKubeconfig("drover", client.Config{Host: cp.url})
	if err := client.WriteKubeconfig(KubeconfigPath(cfg.DataDir), kc); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	snap, err := newSnapshotHandler(st, cp.log.With("component", "snapshot"), cp.reg)
	if err != nil {
		return err
	}
	explain := &explainHandler{x: cpExplainer{cp}, log: cp.log.With("component", "explain")}
	cp.hs = &http.Server{
		Handler:           withDroverPaths(droverRoutes(snap, explain), srv.Handler()), // snapshot.go, explain.go
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cp.log.Handler(), slog.LevelWarn),
	}
	// Watches never end on their own: Close ends every request's context.
	reqCtx, endRequests := context.WithCancel(context.Background())
	cp.endRequests = endRequests
	cp.hs.BaseContext = func(net.Listener) context.Context { return reqCtx }
	cp.hs.RegisterOnShutdown(endRequests)

	runCtx, cancel := context.WithCancel(context.Background())
	cp.cancel = cancel
	cp.wg.Go(func() { cp.fail(wrap("serve HTTP", ignoreClosed(cp.hs.Serve(ln)))) })
	cp.wg.Go(func() { cp.fail(wrap("API server maintenance", srv.Run(runCtx))) })
	cp.wg.Go(func() { cp.fail(wrap("controller manager", mgr.Start(runCtx))) })
	cp.progress("API server listening on " + cp.url)
	return cp.waitSystemNamespaces(ctx)
}

// waitSystemNamespaces returns once the API server's system namespaces
// ("default", "kube-system", "kube-node-lease", ...) exist: the server
// creates them as it starts, and a program that creates an object in
// "default" the moment Start returns must not find it missing.
func (cp *ControlPlane) waitSystemNamespaces(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var nsl api.NamespaceList
		err := cp.client.List(ctx, &nsl)
		if err == nil {
			have := map[string]bool{}
			for _, ns := range nsl.Items {
				have[ns.Name] = true
			}
			missing := slices.DeleteFunc(apiserver.DefaultSystemNamespaces(), func(n string) bool { return have[n] })
			if len(missing) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for the system namespaces: %w", ctx.Err())
		case <-cp.done:
			cp.errMu.Lock()
			err := cp.err
			cp.errMu.Unlock()
			return fmt.Errorf("cluster: a component failed while waiting for the system namespaces: %w", err)
		case <-tick.C:
		}
	}
}

// schedulerName names the scheduler's event recorder.
func schedulerName(c scheduler.Config) string {
	if len(c.Profiles) > 0 && c.Profiles[0].SchedulerName != "" {
		return c.Profiles[0].SchedulerName
	}
	return scheduler.DefaultSchedulerName
}

// fail records the first failure of a component and stops the member's
// wait: a nil err from a component that returned means it stopped, which
// only happens on Close.
func (cp *ControlPlane) fail(err error) {
	if err != nil {
		cp.errMu.Lock()
		if cp.err == nil {
			cp.err = err
			cp.log.Error("component failed", "err", err)
		}
		cp.errMu.Unlock()
	}
	cp.doneOnce.Do(func() { close(cp.done) })
}

// Done returns a channel closed when the member stops: a component failed
// (Wait says which) or Close was called.
func (cp *ControlPlane) Done() <-chan struct{} { return cp.done }

// Wait blocks until the member stops (a component failed, or Close was
// called) and returns the first component failure, nil if none.
func (cp *ControlPlane) Wait() error {
	<-cp.done
	cp.errMu.Lock()
	defer cp.errMu.Unlock()
	return cp.err
}

// Close stops the member: the HTTP server (requests in flight get
// ShutdownGrace), the controllers and scheduler, the API server's
// maintenance, then the store member, which hands leadership to another
// member first. It returns the first component failure, if any. Close is
// safe to call more than once.
func (cp *ControlPlane) Close() error {
	cp.closeOnce.Do(func() {
		cp.fail(nil)
		if cp.cancel != nil {
			cp.cancel()
		}
		var errs []error
		if cp.hs != nil {
			sctx, scancel := context.WithTimeout(context.Background(), cp.cfg.ShutdownGrace)
			if err := cp.hs.Shutdown(sctx); err != nil {
				_ = cp.hs.Close()
			}
			scancel()
		} else if cp.ln != nil {
			_ = cp.ln.Close()
		}
		if cp.endRequests != nil {
			cp.endRequests()
		}
		cp.wg.Wait()
		if cp.sched != nil {
			if err := cp.sched.Close(); err != nil {
				errs = append(errs, fmt.Errorf("cluster: close scheduler: %w", err))
			}
		}
		if cp.srv != nil {
			if err := cp.srv.Close(); err != nil {
				errs = append(errs, fmt.Errorf("cluster: close API server: %w", err))
			}
		}
		if cp.st != nil {
			if err := cp.st.Close(); err != nil {
				errs = append(errs, fmt.Errorf("cluster: close store: %w", err))
			}
		}
		cp.errMu.Lock()
		if cp.err != nil {
			errs = append([]error{cp.err}, errs...)
		}
		cp.errMu.Unlock()
		cp.closeErr = errors.Join(errs...)
		cp.log.Info("stopped")
	})
	return cp.closeErr
}

// Run starts the member, runs it until ctx ends or a component fails, and
// closes it. It returns nil after ctx ended and everything stopped.
func (cp *ControlPlane) Run(ctx context.Context) error {
	if err := cp.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-cp.done:
	}
	return cp.Close()
}

// URL returns the API server's URL, as "http://127.0.0.1:6443", once Start
// has listened.
func (cp *ControlPlane) URL() string { return cp.url }

// KubeconfigPath returns the path of the kubeconfig Start writes.
func (cp *ControlPlane) KubeconfigPath() string { return KubeconfigPath(cp.cfg.DataDir) }

// Client returns a client that calls this member's API server in process.
// It is nil before Start.
func (cp *ControlPlane) Client() *client.Client { return cp.client }

// Store returns the store member. It is nil before Start.
func (cp *ControlPlane) Store() *raftstore.Store { return cp.st }

// Registry returns the registry of the member's metrics.
func (cp *ControlPlane) Registry() *prometheus.Registry { return cp.reg }

// RaftAddr returns the address other members dial to reach this one, to
// Join it. It is empty before Start.
func (cp *ControlPlane) RaftAddr() string {
	if cp.st == nil {
		return ""
	}
	return cp.st.Addr()
}

// Leading reports whether the scheduler and the controllers run on this
// member now: it leads the store's cluster and its informers have synced.
func (cp *ControlPlane) Leading() bool { return cp.controllers.Load() }

// leaderNotifier is a Runnable that needs leadership: it reports the
// scheduler and the controllers started once the informers have synced,
// and keeps ControlPlane.Leading up to date.
type leaderNotifier struct{ cp *ControlPlane }

// Start implements controller.Runnable.
func (n *leaderNotifier) Start(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !n.cp.mgr.HasSynced() {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	n.cp.controllers.Store(true)
	defer n.cp.controllers.Store(false)
	n.cp.progress("scheduler started")
	n.cp.progress("controllers started")
	<-ctx.Done()
	return nil
}

// NeedLeaderElection implements controller.LeaderElectionRunnable.
func (n *leaderNotifier) NeedLeaderElection() bool { return true }

// listenError explains a failure to listen on addr.
func listenError(field, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return &AddrInUseError{Field: field, Addr: addr, Err: err}
	}
	return fmt.Errorf("cluster: listen on %s %s: %w", field, addr, err)
}

// dialAddr is the address a client on this machine dials to reach a
// listener on addr: a wildcard host (0.0.0.0, ::) becomes loopback.
func dialAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	ip := net.IPv4(127, 0, 0, 1)
	if tcp.IP.To4() == nil {
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// wrap names the component of a failure; nil stays nil.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("cluster: %s: %w", what, err)
}

// ignoreClosed turns the error of a server that was shut down into nil.
func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
