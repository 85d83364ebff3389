package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/cluster"
)

// newUp returns `drover up`.
func newUp() *cobra.Command {
	var (
		dataDir, apiAddr, runtime string
		nodeName, kubeletAddr     string
		logs                      logFlags
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole cluster on this machine, until interrupted",
		Long: `Run a whole cluster in this process: a one-member store, the API server,
the scheduler, the built-in controllers, and a node agent that runs the pods
on this machine with the container runtime of --runtime (oci: runc or crun,
as root; process: plain host processes; fake: simulated containers).

It prints a line as each part becomes ready, writes DIR/kubeconfig and the
export KUBECONFIG=... line to use it, and keeps its state in DIR across
restarts. The components' log lines go to DIR/drover.log. SIGINT (Ctrl-C)
or SIGTERM stops it cleanly.

The API server listens on 127.0.0.1:6443 over HTTP, reachable from this
machine only (TLS and remote access arrive with the security work).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkAddrFlag("--api-addr", apiAddr); err != nil {
				return err
			}
			if err := checkAddrFlag("--kubelet-addr", kubeletAddr); err != nil {
				return err
			}
			if !slices.Contains(cluster.Runtimes(), runtime) {
				return fmt.Errorf("--runtime is %q: must be one of %s", runtime, strings.Join(cluster.Runtimes(), ", "))
			}
			dir, err := filepath.Abs(dataDir)
			if err != nil {
				return fmt.Errorf("--data-dir %q: %w", dataDir, err)
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("cannot create the data directory: %w: pass another --data-dir", err)
			}
			logPath := filepath.Join(dir, "drover.log")
			logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return fmt.Errorf("cannot open the log file: %w: pass another --data-dir", err)
			}
			defer logFile.Close()
			log, err := logs.logger(logFile)
			if err != nil {
				return err
			}
			logProcs(log)
			cfg := cluster.DefaultAllInOneConfig(dir)
			cfg.APIAddr = apiAddr
			cfg.Node.Runtime = runtime
			cfg.Node.Name = nodeName
			cfg.Node.KubeletAddr = kubeletAddr
			cfg.Logger = log
			out := cmd.OutOrStdout()
			ready := make(chan struct{})
			cfg.OnProgress = progressPrinter(out, ready, "controllers started", "node registered")
			a, err := cluster.NewAllInOne(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			fmt.Fprintf(out, "Starting Drover in %s (runtime %s, logs in %s)\n", dir, runtime, logPath)
			if err := a.Start(ctx); err != nil {
				return explainStart(err, ctx.Err() != nil)
			}
			select {
			case <-ready:
				fmt.Fprintf(out, "\nThe cluster is up: node %s is Ready.\n", nodeName)
				fmt.Fprintf(out, "export KUBECONFIG=%s\n", shellQuote(a.KubeconfigPath()))
			case <-ctx.Done():
			case <-a.Done():
			}
			select {
			case <-ctx.Done():
				stop() // a second Ctrl-C kills the process
				fmt.Fprintln(out, "Stopping... (Ctrl-C again to kill)")
			case <-a.Done():
			}
			start := time.Now()
			if err := a.Close(); err != nil {
				return err
			}
			fmt.Fprintf(out, "✓ stopped cleanly (%s); the state is kept in %s\n", ms(time.Since(start)), dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "directory of the cluster's state and kubeconfig")
	cmd.Flags().StringVar(&apiAddr, "api-addr", cluster.DefaultAPIAddr, "host:port the API server listens on (port 0: any free port)")
	cmd.Flags().StringVar(&nodeName, "node-name", cluster.DefaultNodeName(), "name of this machine's Node")
	cmd.Flags().StringVar(&kubeletAddr, "kubelet-addr", cluster.DefaultKubeletAddr, "host:port of the node agent's HTTPS API (logs, exec, stats), which the API server dials")
	cmd.Flags().StringVar(&runtime, "runtime", cluster.DefaultRuntime(), "container runtime of the node agent: "+strings.Join(cluster.Runtimes(), ", ")+" (default: oci as root with runc or crun, else process)")
	logs.add(cmd, "info")
	return cmd
}

// progressPrinter returns an OnProgress that prints a "✓ step (12 ms)" line
// per step and, if done is not nil, closes it once every step of waitFor
// has been seen.
func progressPrinter(out io.Writer, done chan struct{}, waitFor ...string) func(cluster.Progress) {
	var mu sync.Mutex
	pending := map[string]bool{}
	for _, s := range waitFor {
		pending[s] = true
	}
	closed := done == nil
	return func(p cluster.Progress) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "✓ %s (%s)\n", p.Step, ms(p.Elapsed))
		delete(pending, p.Step)
		if len(pending) == 0 && !closed {
			closed = true
			close(done)
		}
	}
}

// checkAddrFlag says what is wrong with the host:port value of flag.
func checkAddrFlag(flag, value string) error {
	_, port, err := net.SplitHostPort(value)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		return fmt.Errorf("%s is %q: must be host:port, as 127.0.0.1:6443", flag, value)
	}
	return nil
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

// explainStart turns a start failure into a short error that says what to
// do.
func explainStart(err error, interrupted bool) error {
	if interrupted {
		return errors.New("interrupted while starting")
	}
	var inUse *cluster.AddrInUseError
	if errors.As(err, &inUse) {
		flag := "--api-addr"
		if inUse.Field == "RaftAddr" {
			flag = "--raft-addr"
		}
		return fmt.Errorf("%s is in use: stop the other server or pass %s", inUse.Addr, flag)
	}
	return err
}
