// Command rolloutbench measures the built-in controllers end to end: a
// Deployment of 1,000 replicas on 100 simulated nodes is created, then
// rolled to a new image, with the real scheduler and every built-in
// controller; it reports each phase's wall time and API requests. The
// package bench/internal/rolloutbench documents the setup.
//
//	go run ./cmd/rolloutbench -replicas 1000 -nodes 100 -store raftstore -out results.md
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/drover-io/drover/bench/internal/rolloutbench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rolloutbench:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := rolloutbench.DefaultConfig()
	var (
		out     = flag.String("out", "", "also write the tables to this markdown file")
		cpuprof = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
		verbose = flag.Bool("v", false, "log the components' warnings and errors to stderr")
	)
	flag.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "simulated nodes")
	flag.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "replicas of the Deployment")
	flag.StringVar(&cfg.Store, "store", cfg.Store, "store under the API server: memstore or raftstore (one member, on disk)")
	flag.StringVar(&cfg.Dir, "dir", "", "where the raftstore's data directory goes (default: the temp dir)")
	flag.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "most time a phase may take")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	cfg.Progress = os.Stderr
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := rolloutbench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	res.Markdown(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		res.Markdown(f)
		return f.Close()
	}
	return nil
}
