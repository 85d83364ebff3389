// Command schedulerbench measures the scheduler's throughput and per-pod
// latency on simulated nodes (no node agents), in scenarios basic,
// nodeaffinity, antiaffinity, topologyspread and preemption, in two
// modes: sim (the scheduler against its cache alone) and e2e (through an
// API server on a one-member raftstore). The package
// bench/internal/schedulerbench documents the scenarios and the modes.
//
//	go run ./cmd/schedulerbench -scenario all -mode sim,e2e -nodes 5000 -pods 10000 -out results.md
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/drover-io/drover/bench/internal/cli"
	"github.com/drover-io/drover/bench/internal/schedulerbench"
)

// defaultGOGC is the -gogc default. The e2e cell's heap is small (tens
// of MB of live objects) and almost all of its garbage is short-lived
// request and watch buffers, so at Go's default of 100 the collector
// runs several times a second and takes about a tenth of the CPU; at 400
// it takes a few percent for a heap four times as large, the trade an
// operator of an API server or a scheduler would make with GOGC or
// GOMEMLIMIT. -gogc 100 measures the default.
const defaultGOGC = 400

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "schedulerbench:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := schedulerbench.DefaultConfig()
	var (
		scenarios = flag.String("scenario", "all", "comma-separated scenarios ("+strings.Join(schedulerbench.Names(), ", ")+") or all")
		modes     = flag.String("mode", "sim,e2e,e2e-inprocess", "comma-separated modes: sim (the scheduler against its cache), e2e (through the API server on raftstore, the scheduler over TCP), e2e-inprocess (the same with the scheduler in the server's process, as drover up runs it)")
		out       = flag.String("out", "", "also write the table to this markdown file")
		cpuprof   = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
		verbose   = flag.Bool("v", false, "log the e2e scheduler's lines, debug level, to stderr")
		gogc      = flag.Int("gogc", defaultGOGC, "the garbage collector's GOGC for the whole process (API server, Raft, scheduler and clients share one heap); 100 is Go's default, negative turns the collector off")
	)
	flag.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "simulated nodes")
	flag.IntVar(&cfg.Pods, "pods", cfg.Pods, "pods to schedule")
	flag.IntVar(&cfg.Creators, "creators", cfg.Creators, "concurrent clients creating the pods (e2e)")
	flag.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "most time an e2e cell may take from the first create to the last binding")
	flag.IntVar(&cfg.RaftInflight, "raft-inflight", 0, "the e2e Raft store's MaxInflight: group-commit entries in flight at once (0: raftstore's default)")
	flag.IntVar(&cfg.Procs, "procs", 0, "GOMAXPROCS during e2e cells (0: one above the runtime's default, as the drover binary runs a store member, or $GOMAXPROCS if set)")
	flag.IntVar(&cfg.Parallelism, "parallelism", 0, "the scheduler's parallelism: goroutines running Filter and Score across the nodes (0: its default)")
	flag.StringVar(&cfg.Dir, "dir", "", "where the e2e Raft data directories go (default: the temp dir)")
	flag.BoolVar(&cfg.Trace, "trace", false, "with -profile-dir, also write an execution trace of each e2e cell's span, as <scenario>-<mode>.trace (slows the cell)")
	flag.IntVar(&cfg.Runs, "runs", 1, "run each cell this many times and report its median run by pods/s, with the range (with -profile-dir, the profiles are the last run's)")
	flag.StringVar(&cfg.ProfileDir, "profile-dir", "", "write a CPU profile of each e2e cell's measured span (first create to last bound) to this directory, as <scenario>-<mode>.pprof, with its allocation profile at the start and end as .allocs-start and .allocs (not with -cpuprofile)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	debug.SetGCPercent(*gogc)
	if cfg.Runs < 1 {
		return fmt.Errorf("-runs %d: must be at least 1", cfg.Runs)
	}
	if cfg.Trace && cfg.ProfileDir == "" {
		return fmt.Errorf("-trace needs -profile-dir")
	}
	if *cpuprof != "" && cfg.ProfileDir != "" {
		return fmt.Errorf("-cpuprofile and -profile-dir cannot both be set: the runtime profiles one thing at a time")
	}
	if *scenarios == "all" {
		cfg.Scenarios = schedulerbench.Names()
	} else {
		cfg.Scenarios = splitList(*scenarios)
	}
	cfg.Modes = nil
	for _, m := range splitList(*modes) {
		cfg.Modes = append(cfg.Modes, schedulerbench.Mode(m))
	}
	cfg.Progress = os.Stderr
	if *verbose {
		cfg.SchedulerLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	load := func() string {
		data, _ := os.ReadFile("/proc/loadavg")
		f := strings.Fields(string(data))
		if len(f) < 3 {
			return "?"
		}
		return strings.Join(f[:3], " ")
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
	loadBefore := load()
	start := time.Now().UTC()
	results, err := schedulerbench.Run(ctx, cfg)
	if err != nil && len(results) == 0 {
		return err
	}
	table := fmt.Sprintf("%s, load average %s before, %s after; %d e2e creators\n\n",
		start.Format("2006-01-02 15:04 UTC"), loadBefore, load(), cfg.Creators) + schedulerbench.Markdown(results)
	fmt.Print(table)
	if werr := cli.WriteOut(*out, table); werr != nil {
		return werr
	}
	return err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
