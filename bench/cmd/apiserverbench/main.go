// Command apiserverbench measures watch fan-out: Drover's API server over
// HTTP on loopback (in a child process: this command with -serve) and a
// one-member etcd through its Go client, side by side, with 1,000 and
// 10,000 watchers. See ../../README.md.
//
//	go run ./cmd/apiserverbench -watchers 1000,10000 -duration 10s -out results.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/drover-io/drover/bench/internal/apiserverbench"
	"github.com/drover-io/drover/bench/internal/cli"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "apiserverbench:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := apiserverbench.DefaultConfig()
	var (
		serve     = flag.Bool("serve", false, "run the API server (the child process the benchmark starts)")
		watchers  = flag.String("watchers", "1000,10000", "comma-separated watcher counts")
		systems   = flag.String("systems", "etcd,drover", "comma-separated systems, run in this order per watcher count")
		etcdBin   = flag.String("etcd", "", "etcd server binary (default: etcd in PATH, else /usr/bin/etcd)")
		streams   = flag.Int("etcd-streams", 10, "gRPC connections (each one watch stream) the etcd watches are spread over")
		valueSize = flag.Int("value-size", 256, "bytes of data per object written")
		dir       = flag.String("dir", "", "where etcd's data directory goes (default: the temp dir)")
		out       = flag.String("out", "", "also write the table to this markdown file")
	)
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the writers write in each cell")
	flag.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "how long the watchers may take to receive every write after that")
	flag.IntVar(&cfg.Writers, "writers", cfg.Writers, "concurrent writers")
	flag.Int64Var(&cfg.MaxLag, "max-lag", cfg.MaxLag, "most writes the writers get ahead of the slowest watcher")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *serve {
		return apiserverbench.Serve(ctx, os.Stdin, os.Stdout)
	}
	var err error
	if cfg.Watchers, err = cli.ParseInts(*watchers); err != nil {
		return fmt.Errorf("-watchers: %w", err)
	}
	cfg.Progress = os.Stderr

	var syss []apiserverbench.System
	defer func() {
		for _, s := range syss {
			s.Close()
		}
	}()
	for _, name := range strings.Split(*systems, ",") {
		switch strings.TrimSpace(name) {
		case "drover":
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			srv, err := apiserverbench.StartServer(exec.Command(exe, "-serve"))
			if err != nil {
				return err
			}
			d, err := apiserverbench.NewDrover(ctx, srv, *valueSize)
			if err != nil {
				srv.Close()
				return err
			}
			syss = append(syss, d)
		case "etcd":
			bin, err := cli.FindEtcd(*etcdBin)
			if err != nil {
				return err
			}
			e, err := apiserverbench.StartEtcd(ctx, bin, *dir, *streams, *valueSize)
			if err != nil {
				return err
			}
			syss = append(syss, e)
		default:
			return fmt.Errorf("-systems: unknown system %q (want drover, etcd)", name)
		}
	}
	load := func() string {
		data, _ := os.ReadFile("/proc/loadavg")
		return strings.Join(strings.Fields(string(data))[:3], " ")
	}
	loadBefore := load()
	start := time.Now().UTC()
	results, err := apiserverbench.Run(ctx, cfg, syss)
	if err != nil {
		return err
	}
	table := fmt.Sprintf("%s, load average %s before, %s after; %v of writes per cell, %d writers at most %d writes ahead of the slowest watcher\n\n",
		start.Format("2006-01-02 15:04 UTC"), loadBefore, load(), cfg.Duration, cfg.Writers, cfg.MaxLag) +
		apiserverbench.Markdown(results)
	fmt.Print(table)
	return cli.WriteOut(*out, table)
}
