// Command allinone is a whole Drover cluster embedded in a program of its
// own: the store, the API server, the scheduler and the built-in
// controllers of package cluster, started in one call, then used through
// the in-process client to create a Deployment and follow it.
//
//	go run ./examples/allinone --simulated-nodes 2
//	export KUBECONFIG=/tmp/drover-allinone/kubeconfig   # as it prints
//	kubectl get deploy,pods -o wide
//
// Flags:
//
//	--data-dir DIR          the cluster's state (default $TMPDIR/drover-allinone);
//	                        a second run on it finds the same objects
//	--api-addr HOST:PORT    where the API server listens (default 127.0.0.1:6443)
//	--runtime R             the container runtime of this machine's node
//	                        agent: oci (root with runc), process or fake
//	--kubelet-addr H:P      where the node agent's HTTPS API listens (:10250)
//	--simulated-nodes N     run N simulated nodes instead of this machine's
//	                        node agent (default 0)
//	--replicas N            the Deployment's replicas (default 3)
//	--log-level error       the components' log lines on stderr: debug,
//	                        info, warn or error
//
// It stops on SIGINT or SIGTERM. See README.md for a walk through.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/drover-io/drover/cluster"
)

func main() {
	dataDir := flag.String("data-dir", filepath.Join(os.TempDir(), "drover-allinone"), "the directory of the cluster's state, kept across runs")
	apiAddr := flag.String("api-addr", cluster.DefaultAPIAddr, "the host:port the API server listens on")
	nodes := flag.Int("simulated-nodes", 0, "how many simulated nodes to run in place of this machine's node agent (0: none, the pods run on this machine)")
	rt := flag.String("runtime", cluster.DefaultRuntime(), "the container runtime of this machine's node agent: oci, process or fake")
	kubeletAddr := flag.String("kubelet-addr", cluster.DefaultKubeletAddr, "the host:port of the node agent's HTTPS API")
	replicas := flag.Int("replicas", 3, "the replicas of the Deployment hello")
	logLevel := flag.String("log-level", "error", "the least level of the components' log lines on stderr: debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "allinone: --log-level %q: want debug, info, warn or error\n", *logLevel)
		os.Exit(2)
	}
	if *nodes < 0 || *replicas < 0 {
		fmt.Fprintln(os.Stderr, "allinone: --simulated-nodes and --replicas must be 0 or more")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, config{
		DataDir:        *dataDir,
		APIAddr:        *apiAddr,
		SimulatedNodes: *nodes,
		Runtime:        *rt,
		KubeletAddr:    *kubeletAddr,
		Replicas:       int32(*replicas),
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Out:            os.Stdout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "allinone:", err)
		os.Exit(1)
	}
}
