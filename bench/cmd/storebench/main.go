// Command storebench runs the same put and get workload against a
// three-member Drover raftstore and a three-member etcd, side by side, and
// prints one table comparing them. See ../../README.md.
//
//	go run ./cmd/storebench -clients 1,16,64,256 -duration 5s -out results.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/drover-io/drover/bench/internal/cli"
	"github.com/drover-io/drover/bench/internal/storebench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := storebench.DefaultConfig()
	var (
		clients = flag.String("clients", joinInts(cfg.Clients), "comma-separated client counts")
		ops     = flag.String("ops", "put,get", "comma-separated operations: put, get")
		etcd    = flag.String("etcd", "", "etcd server binary (default: etcd in PATH, else /usr/bin/etcd)")
		out     = flag.String("out", "", "also write the table to this markdown file")
	)
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured time per cell")
	flag.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "unmeasured warm-up before each cell")
	flag.IntVar(&cfg.ValueSize, "value-size", cfg.ValueSize, "bytes per value")
	flag.IntVar(&cfg.Keys, "keys", cfg.Keys, "number of keys, created before the first cell")
	flag.IntVar(&cfg.EtcdConns, "etcd-conns", cfg.EtcdConns, "gRPC connections per etcd member, shared by its clients (0: one per client)")
	flag.StringVar(&cfg.Dir, "dir", "", "where to put the members' data directories (default: the temp dir; use a disk, not tmpfs)")
	flag.StringVar(&cfg.CPUProfileDir, "cpuprofile", "", "write CPU profiles of every measured window to this directory")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}

	var err error
	if cfg.Clients, err = cli.ParseInts(*clients); err != nil {
		return fmt.Errorf("-clients: %w", err)
	}
	cfg.Ops = nil
	for _, op := range strings.Split(*ops, ",") {
		cfg.Ops = append(cfg.Ops, storebench.Op(strings.TrimSpace(op)))
	}
	if cfg.EtcdBinary, err = cli.FindEtcd(*etcd); err != nil {
		return err
	}
	cfg.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := storebench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	table := rep.Markdown()
	fmt.Print(table)
	return cli.WriteOut(*out, table)
}
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
