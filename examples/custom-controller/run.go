package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/garbagecollector"
	"github.com/drover-io/drover/examples/custom-controller/website"
	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/memstore"
	"github.com/drover-io/drover/store/raftstore"
)

// config is what main passes to run.
type config struct {
	// Listener is where the API server serves HTTP. run closes it.
	Listener net.Listener
	// DataDir, if set, holds a one-member Raft store; "" means the objects
	// are kept in memory.
	DataDir string
	// Demo creates the Website default/hello at start.
	Demo bool
	// Logger receives every component's log lines.
	Logger *slog.Logger
}

// shutdownGrace bounds how long the HTTP server waits for requests in
// flight when run stops.
const shutdownGrace = 5 * time.Second

// run runs the control plane until ctx ends or a component fails:
//
//	store (memstore, or raftstore in DataDir)
//	  └ API server: HTTP on Listener for kubectl; in process for the manager
//	      └ manager: the Website controller, over shared informers
//
// It returns nil after ctx ended and everything stopped, or the first
// failure.
func run(ctx context.Context, cfg config) error {
	defer cfg.Listener.Close()
	log := cfg.Logger

	// 1. The store: the only thing the API server keeps objects in.
	st, leader, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	// 2. The scheme: the built-in kinds and ours. The API server serves
	// every kind in it, and the client maps Go types to URLs with it.
	scheme := api.NewDefaultScheme()
	if err := website.AddToScheme(scheme); err != nil {
		return err
	}

	// 3. The API server over the store.
	srv, err := apiserver.New(apiserver.Config{
		Store:  st,
		Scheme: scheme,
		Logger: log.With("component", "apiserver"),
		Leader: leader,
	})
	if err != nil {
		return err
	}

	// 4. A client that calls the API server in process: the same rules as
	// over HTTP, no sockets.
	c, err := client.New(client.Config{Transport: srv.Transport(), Scheme: scheme, UserAgent: "custom-controller"})
	if err != nil {
		return err
	}
	if err := createNamespaces(ctx, c, "default", "kube-system"); err != nil {
		return err
	}

	// 5. The manager, with the Website controller and Drover's garbage
	// collector, which deletes a Website's Deployment and Service when the
	// Website goes.
	mgr, err := controller.NewManager(controller.ManagerConfig{Client: c, Logger: log.With("component", "manager")})
	if err != nil {
		return err
	}
	if err := website.Add(mgr); err != nil {
		return err
	}
	if err := garbagecollector.Add(mgr, garbagecollector.Options{}); err != nil {
		return err
	}

	if cfg.Demo {
		if err := createDemo(ctx, c, log); err != nil {
			return err
		}
	}

	// 6. Run the three until ctx ends or one fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Watches (kubectl get -w) never end on their own: Shutdown ends the
	// context of every request, so that they return.
	reqCtx, endRequests := context.WithCancel(context.Background())
	hs.BaseContext = func(net.Listener) context.Context { return reqCtx }
	hs.RegisterOnShutdown(endRequests)

	errc := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Go(func() {
		errc <- wrap("API server maintenance", srv.Run(ctx))
	})
	wg.Go(func() {
		errc <- wrap("manager", mgr.Start(ctx))
	})
	wg.Go(func() {
		err := hs.Serve(cfg.Listener)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		errc <- wrap("serve HTTP", err)
	})
	log.Info("serving", "url", "http://"+cfg.Listener.Addr().String(), "store", storeName(cfg))

	// The first to return, with or without an error, stops the others.
	var errs []error
	select {
	case <-ctx.Done():
	case err := <-errc:
		errs = append(errs, err)
	}
	log.Info("shutting down")
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), shutdownGrace)
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	scancel()
	endRequests()
	wg.Wait()
	close(errc)
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// wrap names the component of a failure; nil stays nil.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// openStore opens the store of cfg, and says, for the API server's
// maintenance, whether this member leads (nil: always).
func openStore(ctx context.Context, cfg config) (store.Store, func() bool, error) {
	if cfg.DataDir == "" {
		st, err := memstore.New(memstore.Options{Logger: cfg.Logger.With("component", "store")})
		return st, nil, err
	}
	rc := raftstore.DefaultConfig(cfg.DataDir)
	rc.Logger = cfg.Logger.With("component", "store")
	st, err := raftstore.Open(ctx, rc)
	if err != nil {
		return nil, nil, err
	}
	return st, st.IsLeader, nil
}

func storeName(cfg config) string {
	if cfg.DataDir == "" {
		return "memory"
	}
	return "raft in " + cfg.DataDir
}

// createNamespaces creates the namespaces a fresh cluster has, and leaves
// those that exist (a restart on a data directory) alone.
func createNamespaces(ctx context.Context, c *client.Client, names ...string) error {
	for _, name := range names {
		err := c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: name}})
		if err != nil && !api.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	return nil
}

// createDemo creates the Website default/hello, unless it exists: a
// Website made in Go, through the typed client.
func createDemo(ctx context.Context, c *client.Client, log *slog.Logger) error {
	hello := &website.Website{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "hello"},
		Spec:       website.WebsiteSpec{Image: "nginx:1.27", Replicas: new(int32(2))},
	}
	w, err := client.Resource[website.Website](c).Create(ctx, hello)
	switch {
	case api.IsAlreadyExists(err):
		log.Info("demo: Website default/hello exists already")
		return nil
	case err != nil:
		return fmt.Errorf("demo: create Website default/hello: %w", err)
	}
	log.Info("demo: created Website default/hello", "image", w.Spec.Image, "replicas", *w.Spec.Replicas, "port", w.Spec.Port)
	return nil
}
