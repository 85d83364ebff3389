// Command ha runs a highly available Drover cluster on this machine: three
// control-plane members (package cluster's ControlPlane: a Raft store
// member and an API server each; the scheduler and the controllers on the
// leader) and two node agents (cluster.Node), all in this one process,
// each on its own ports and data directory as if on its own machine. It
// creates a Deployment and, with --kill-leader, stops the leading member
// and shows the API answering through the others, the controllers moving
// to the new leader and the Deployment keeping its pods.
//
//	go run ./examples/ha --kill-leader
//	export KUBECONFIG=/tmp/drover-ha/member-2/kubeconfig   # as it prints
//	kubectl get nodes,deploy,pods -o wide
//
// Flags:
//
//	--data-dir DIR          the cluster's state (default $TMPDIR/drover-ha):
//	                        DIR/member-N and DIR/agent-N
//	--api-addrs A,B,C       the members' API server addresses
//	                        (default 127.0.0.1:7441,127.0.0.1:7442,127.0.0.1:7443)
//	--raft-addrs A,B,C      the members' store addresses (default
//	                        127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003);
//	                        the cluster records them, keep them across runs
//	--runtime fake          the node agents' runtime: fake (default: pods
//	                        are simulated, nothing runs), process or oci
//	--image busybox         the Deployment's image (process and oci: import
//	                        it into each agent first, see README.md)
//	--replicas N            the Deployment's replicas (default 3)
//	--kill-leader           stop the leading member once the pods run
//	--once                  exit after the walk-through instead of running
//	                        until interrupted
//	--log-level off         the components' log lines on stderr: debug,
//	                        info, warn, error or off (the default)
//
// It stops on SIGINT or SIGTERM. See README.md for a walk through, and for
// the same cluster made of `drover server` and `drover agent` processes.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/drover-io/drover/cluster"
)

func main() {
	dataDir := flag.String("data-dir", filepath.Join(os.TempDir(), "drover-ha"), "the directory of the cluster's state, kept across runs")
	apiAddrs := flag.String("api-addrs", "127.0.0.1:7441,127.0.0.1:7442,127.0.0.1:7443", "the three members' API server addresses, comma-separated")
	raftAddrs := flag.String("raft-addrs", "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003", "the three members' store addresses, comma-separated; keep them across runs")
	runtime := flag.String("runtime", cluster.RuntimeFake, "the node agents' container runtime: "+strings.Join(cluster.Runtimes(), ", "))
	image := flag.String("image", "busybox", "the Deployment's image")
	replicas := flag.Int("replicas", 3, "the replicas of the Deployment web")
	killLeader := flag.Bool("kill-leader", false, "stop the leading member once the Deployment's pods run")
	once := flag.Bool("once", false, "exit after the walk-through instead of running until interrupted")
	logLevel := flag.String("log-level", "off", "the least level of the components' log lines on stderr: debug, info, warn, error or off")
	flag.Parse()

	usage := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "ha: "+format+"\n", args...)
		os.Exit(2)
	}
	// The members log at ERROR each failed heartbeat to a stopped member:
	// by default the program says what happens, and the logs stay off.
	logger := slog.New(slog.DiscardHandler)
	if *logLevel != "off" {
		var level slog.Level
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			usage("--log-level %q: want debug, info, warn, error or off", *logLevel)
		}
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	if !slices.Contains(cluster.Runtimes(), *runtime) {
		usage("--runtime %q: want one of %s", *runtime, strings.Join(cluster.Runtimes(), ", "))
	}
	if *replicas < 0 {
		usage("--replicas is %d: must be 0 or more", *replicas)
	}
	apis, rafts := strings.Split(*apiAddrs, ","), strings.Split(*raftAddrs, ",")
	if len(apis) != members || len(rafts) != members {
		usage("--api-addrs and --raft-addrs need %d addresses each, comma-separated", members)
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		usage("--data-dir %q: %v", *dataDir, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = run(ctx, config{
		DataDir:    dir,
		APIAddrs:   apis,
		RaftAddrs:  rafts,
		Runtime:    *runtime,
		Image:      *image,
		Replicas:   int32(*replicas),
		KillLeader: *killLeader,
		Once:       *once,
		Logger:     logger,
		Out:        os.Stdout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ha:", err)
		os.Exit(1)
	}
}
