package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster"
)

// newAgent returns `drover agent`: this machine as a worker node of a
// cluster whose API server is --server.
func newAgent() *cobra.Command {
	var (
		server, dataDir, name, runtime string
		kubeletAddr, kubeletToken      string
		logs                           logFlags
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a worker node of a cluster, until interrupted",
		Long: `Run this machine as a worker node: the node agent registers its Node with
the API server at --server, renews its Lease, and runs the pods bound to it
with the container runtime of --runtime. Its state (images, containers,
logs, volumes) is in --data-dir; static pod manifests in DIR/manifests run
even without the API server. Restarted, it adopts the containers it left
running.

  drover agent --server http://10.0.0.1:6443 --data-dir /var/lib/drover-agent

The API server reaches the node agent's HTTPS API (logs, exec, stats) on
--kubelet-addr; --kubelet-token makes it require that bearer token (TLS
verification and join tokens arrive with the security work).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" {
				return errors.New("--server is required: the URL of an API server of the cluster (http://HOST:6443)")
			}
			u, err := url.Parse(server)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("--server %q: want a URL such as http://10.0.0.1:6443", server)
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
			log, err := logs.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			c, err := client.New(client.Config{Host: server, UserAgent: "drover-agent/" + name})
			if err != nil {
				return err
			}
			nc := cluster.DefaultNodeConfig(dir)
			nc.Name, nc.Runtime = name, runtime
			nc.KubeletAddr, nc.KubeletToken = kubeletAddr, kubeletToken
			nc.Logger = log.With("node", name)
			node, err := cluster.NewNode(nc)
			if err != nil {
				return explainStart(err, false)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Starting node %s in %s (runtime %s, API server %s, node API on %s)\n", name, dir, runtime, server, node.Addr())
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			begin := time.Now()
			err = node.Run(ctx, c, func() {
				fmt.Fprintf(out, "✓ node %s registered and Ready (%s)\n", name, ms(time.Since(begin)))
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "✓ stopped; the containers keep running and are adopted on the next start\n")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "URL of an API server of the cluster")
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "directory of the node's state")
	f.StringVar(&name, "name", cluster.DefaultNodeName(), "node name")
	f.StringVar(&runtime, "runtime", cluster.DefaultRuntime(), "container runtime: "+strings.Join(cluster.Runtimes(), ", ")+" (default: oci as root with runc or crun, else process)")
	f.StringVar(&kubeletAddr, "kubelet-addr", cluster.DefaultKubeletAddr, "host:port of the node agent's HTTPS API (logs, exec, stats)")
	f.StringVar(&kubeletToken, "kubelet-token", "", "bearer token the node agent's HTTPS API requires (the API servers send it: drover server --kubelet-token)")
	logs.add(cmd, "info")
	return cmd
}
