// Command scheduler-plugin adds a Score plugin of its own to the default
// scheduler of an embedded Drover cluster: NodeCost (package cost) reads
// each node's hourly price from a label and steers pods to the cheapest
// nodes, while every default plugin (resources, affinity, taints, spread,
// ...) still has its say.
//
//	go run ./examples/scheduler-plugin
//
// It starts an all-in-one cluster with three simulated nodes priced 0.05
// (spot), 0.20 (standard) and 0.90 (premium), creates a Deployment of four
// small pods, prints where each pod was placed, and keeps the cluster up
// until Ctrl-C (kubectl works with the kubeconfig it prints).
//
// Flags:
//
//	--data-dir DIR        the cluster's state (default $TMPDIR/drover-scheduler-plugin)
//	--api-addr HOST:PORT  where the API server listens (default 127.0.0.1:6443)
//	--weight N            NodeCost's score weight (default 5; the default
//	                      plugins weigh 1 to 3)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/examples/scheduler-plugin/cost"
	"github.com/drover-io/drover/scheduler"
)

// Registering the plugin by name makes it available to every profile, in
// Go and in YAML configuration files alike.
func init() { scheduler.Register(cost.Name, cost.New) }

func main() {
	dataDir := flag.String("data-dir", filepath.Join(os.TempDir(), "drover-scheduler-plugin"), "the directory of the cluster's state")
	apiAddr := flag.String("api-addr", cluster.DefaultAPIAddr, "the host:port the API server listens on")
	weight := flag.Int("weight", 5, "NodeCost's score weight")
	flag.Parse()
	if *weight < 1 || *weight > 100 {
		fmt.Fprintln(os.Stderr, "scheduler-plugin: --weight must be between 1 and 100")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, options{
		DataDir: *dataDir,
		APIAddr: *apiAddr,
		Weight:  int32(*weight),
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		Out:     os.Stdout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "scheduler-plugin:", err)
		os.Exit(1)
	}
}

// options are what main passes to run.
type options struct {
	DataDir, APIAddr string
	Weight           int32
	Logger           *slog.Logger
	Out              io.Writer
}

// withNodeCost returns the default profile with NodeCost added at weight
// w: a profile's plugins are merged with the defaults, so naming only the
// new plugin keeps all the others.
func withNodeCost(w int32) scheduler.Profile {
	return scheduler.Profile{
		SchedulerName: scheduler.DefaultSchedulerName,
		Plugins: scheduler.Plugins{MultiPoint: scheduler.PluginSet{
			Enabled: []scheduler.PluginRef{{Name: cost.Name, Weight: w}},
		}},
		PluginConfig: []scheduler.PluginConfig{{Name: cost.Name, Args: cost.Args{Label: cost.DefaultLabel}}},
	}
}
