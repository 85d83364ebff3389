package controllertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/store/memstore"
)

// DefaultNamespaces are the namespaces an Env creates when
// Config.Namespaces is nil, as a fresh cluster has them.
var DefaultNamespaces = []string{"default", "kube-system"}

// Config configures an Env made with Start. The zero value gives an Env of
// the built-in kinds, on the system clock, with the default admission
// chain, served in process only. New takes the same settings as Options.
type Config struct {
	// Scheme lists the kinds the API server serves and the client knows:
	// register your own kinds in it (api.Register). nil means
	// api.NewDefaultScheme(). A scheme of your own must hold the core v1
	// Namespace kind for Namespaces to be created (start from
	// api.NewDefaultScheme()).
	Scheme *api.Scheme
	// Clock, if set, is the clock of the API server (creation and deletion
	// timestamps, event expiry, compaction), the store (watch progress
	// notifications), the client (but not its waits between retries: see
	// Env.ClientConfig) and Env.Clock,
	// which the test hands on to what it builds (work queues, recorders,
	// managers): time then moves only when the test moves it. nil means the
	// system clock.
	Clock *fakeclock.Clock
	// Admission is the API server's admission chain. nil means
	// apiserver's default: namespaced objects need an existing, active
	// namespace, and pods get the "default" service account. An empty
	// chain (admission.NewChain(nil, nil)) admits everything.
	Admission *admission.Chain
	// HTTP also serves the API server on a loopback port, for tools that
	// speak HTTP (kubectl, client-go, curl): see Env.URL and
	// Env.Kubeconfig. The Env's own client uses the in-process transport
	// either way.
	HTTP bool
	// Logger receives the log lines of the API server and the store. nil
	// means discard (New logs to the test instead).
	Logger *slog.Logger
	// Namespaces are created at start. nil means DefaultNamespaces; an
	// empty, non-nil slice creates none.
	Namespaces []string
	// Server, if set, is called with the API server's Config just before
	// the server is made, to set what the fields above do not cover
	// (Registry.NewUID, EventTTL, CompactionInterval, ...). Store, Scheme,
	// Clock, Admission and Logger are already set; changing them is
	// allowed.
	Server func(*apiserver.Config)
}

// Env is a running API server over an in-memory store, with a client that
// talks to it in process: real API semantics (defaulting, validation,
// admission, resourceVersion conflicts, the status subresource, watches,
// finalizers) with nothing to install. Make one per test with New, or
// with Start outside tests.
//
// Its fields are set by New and Start and must not be changed. Its methods
// are safe for concurrent use.
type Env struct {
	// Client talks to Server through its in-process transport, with the
	// Env's Scheme and Clock (its waits between retries excepted: see
	// ClientConfig).
	Client *client.Client
	// Scheme is the scheme of Server and Client.
	Scheme *api.Scheme
	// Server is the API server. Its maintenance (Run: event expiry and
	// compaction) runs until Close.
	Server *apiserver.Server
	// Store is the in-memory store under Server. Tests may read it, or
	// compact it to provoke "too old" watches; writes to it bypass the
	// API server's rules.
	Store *memstore.Store
	// Clock is Config.Clock, or the system clock.
	Clock Clock
	// URL is the address of the HTTP server ("http://127.0.0.1:port") if
	// Config.HTTP was set, and "" otherwise.
	URL string

	log         *slog.Logger
	clientClock client.Clock
	cancel      context.CancelFunc // ends Server.Run
	hs          *http.Server
	wg          sync.WaitGroup // Server.Run and the HTTP server
	done        chan struct{}  // closed by Close
	once        sync.Once

	mu      sync.Mutex
	kubeDir string         // temporary directory of the kubeconfig, once written
	closers []func() error // run by Close, last first
}

// Start starts an Env for cfg: a store, an API server, the namespaces of
// cfg, the HTTP server if asked for, and a client. It returns once the Env
// can be used; ctx bounds the start only. Close stops everything Start
// started.
func Start(ctx context.Context, cfg Config) (*Env, error) {
	if cfg.Scheme == nil {
		cfg.Scheme = api.NewDefaultScheme()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Namespaces == nil {
		cfg.Namespaces = DefaultNamespaces
	}
	e := &Env{Scheme: cfg.Scheme, Clock: systemClock{}, clientClock: systemClock{}, log: cfg.Logger, done: make(chan struct{})}
	storeOpts := memstore.Options{Logger: cfg.Logger}
	srvCfg := apiserver.Config{
		Scheme:    cfg.Scheme,
		Logger:    cfg.Logger,
		Admission: cfg.Admission,
		// The Env makes exactly the namespaces it is asked for
		// (Config.Namespaces), not the server's system namespaces.
		SystemNamespaces: []string{},
	}
	if cfg.Clock != nil {
		e.Clock = cfg.Clock
		e.clientClock = clientClock{cfg.Clock}
		storeOpts.Clock = storeClock{cfg.Clock}
		srvCfg.Clock = serverClock{c: cfg.Clock, origin: cfg.Clock.Now()}
	}
	st, err := memstore.New(storeOpts)
	if err != nil {
		return nil, fmt.Errorf("controllertest: %w", err)
	}
	e.Store = st
	srvCfg.Store = st
	if cfg.Server != nil {
		cfg.Server(&srvCfg)
	}
	if e.Server, err = apiserver.New(srvCfg); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("controllertest: %w", err)
	}
	if e.Client, err = client.New(e.ClientConfig()); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("controllertest: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := e.Server.Run(runCtx); err != nil {
			e.log.Error("controllertest: API server maintenance", "err", err)
		}
	}()
	if cfg.HTTP {
		if err := e.serveHTTP(); err != nil {
			_ = e.Close()
			return nil, err
		}
	}
	for _, ns := range cfg.Namespaces {
		if err := e.CreateNamespace(ctx, ns); err != nil {
			_ = e.Close()
			return nil, err
		}
	}
	return e, nil
}

// serveHTTP serves the API server on a loopback port.
func (e *Env) serveHTTP() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("controllertest: listen for HTTP: %w", err)
	}
	e.hs = &http.Server{
		Handler:           e.Server.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
	}
	e.URL = "http://" + ln.Addr().String()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := e.hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("controllertest: serve HTTP", "err", err)
		}
	}()
	return nil
}

// Retries of the Env's client: the in-process server answers 503 only
// when its store is closed, and a test should not wait long to hear it.
const (
	retryBaseDelay = 10 * time.Millisecond
	retryMaxDelay  = 100 * time.Millisecond
)

// ClientConfig returns the configuration of Env.Client, to make more
// clients of the same server (with another UserAgent, Retry or Logger,
// say): its Transport is the server's in-process transport. Its Clock
// reads the Env's Clock, but waits between retries in real time, even on
// a fake clock: a retried request never waits for the test to move the
// clock. Retries back off from 10 ms to at most 100 ms.
func (e *Env) ClientConfig() client.Config {
	return client.Config{
		Transport: e.Server.Transport(),
		Scheme:    e.Scheme,
		Clock:     e.clientClock,
		UserAgent: "drover-controllertest",
		Retry:     client.RetryPolicy{BaseDelay: retryBaseDelay, MaxDelay: retryMaxDelay},
	}
}

// CreateNamespace creates the namespace name, active and empty, unless it
// exists.
func (e *Env) CreateNamespace(ctx context.Context, name string) error {
	ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: name}}
	// The server's Run creates the system namespaces ("default",
	// "kube-system", ...) too: whoever comes first makes it.
	if err := e.Client.Create(ctx, ns); err != nil && !api.IsAlreadyExists(err) {
		return fmt.Errorf("controllertest: create namespace %q: %w", name, err)
	}
	return nil
}

// Kubeconfig writes a kubeconfig file for the HTTP server, once, into a
// temporary directory that Close removes, and returns its path: for
// kubectl (--kubeconfig), client-go, or client.LoadKubeconfig. It fails if
// the Env was started without Config.HTTP (WithHTTP).
func (e *Env) Kubeconfig() (string, error) {
	if e.URL == "" {
		return "", errors.New("controllertest: Kubeconfig: the Env serves no HTTP; start it with Config.HTTP (or the option WithHTTP)")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.isClosed() {
		return "", errors.New("controllertest: Kubeconfig: the Env is closed")
	}
	if e.kubeDir != "" {
		return filepath.Join(e.kubeDir, "kubeconfig"), nil
	}
	dir, err := os.MkdirTemp("", "controllertest-")
	if err != nil {
		return "", fmt.Errorf("controllertest: Kubeconfig: %w", err)
	}
	path := filepath.Join(dir, "kubeconfig")
	kc := client.NewKubeconfig("controllertest", client.Config{Host: e.URL, Namespace: "default"})
	if err := client.WriteKubeconfig(path, kc); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("controllertest: Kubeconfig: %w", err)
	}
	e.kubeDir = dir
	return path, nil
}

// OnClose arranges for f to be called by Close, before the API server and
// the store stop: helpers built on an Env (a recorder, a component of the
// test's) stop their goroutines there. Functions run in the reverse order
// of OnClose, as deferred calls do, and Close returns their errors. After
// Close, OnClose calls f at once.
func (e *Env) OnClose(f func() error) {
	e.mu.Lock()
	if !e.isClosed() {
		e.closers = append(e.closers, f)
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	if err := f(); err != nil {
		e.log.Warn("controllertest: close", "err", err)
	}
}

// Close stops what OnClose and StartManager registered, the HTTP server
// (closing its connections), the API server's maintenance and the store,
// which ends every watch; it waits for their goroutines and removes the
// kubeconfig. It returns the errors of the functions given to OnClose and
// of the managers' Start. It is safe to call more than once; later calls
// return nil. Requests made after Close fail.
func (e *Env) Close() error {
	var errs []error
	e.once.Do(func() {
		e.mu.Lock()
		close(e.done)
		closers := e.closers
		e.closers = nil
		dir := e.kubeDir
		e.mu.Unlock()
		for i := len(closers) - 1; i >= 0; i-- {
			if err := closers[i](); err != nil {
				errs = append(errs, err)
			}
		}
		if e.hs != nil {
			// Close, not Shutdown: watches never end on their own.
			_ = e.hs.Close()
		}
		e.cancel()
		e.wg.Wait()
		_ = e.Store.Close()
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
	})
	return errors.Join(errs...)
}

func (e *Env) isClosed() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}
