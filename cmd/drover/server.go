package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/store/raftstore"
)

// DefaultRaftAddr is the default --raft-addr of `drover server`.
const defaultRaftAddr = "127.0.0.1:7000"

// newServer returns `drover server`.
func newServer() *cobra.Command {
	var (
		dataDir, apiAddr, raftAddr, advertise, name string
		kubeletToken                                string
		bootstrap                                   bool
		join                                        []string
		logs                                        logFlags
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a control-plane member of a cluster, until interrupted",
		Long: `Run a control-plane member: a member of the replicated store and an API
server; the scheduler and the built-in controllers run on the member that
leads the store. The first member starts the cluster with --bootstrap; the
others join it with --join and the --raft-addr of any member. Three or five
members survive the loss of one or two.

  drover server --data-dir /var/lib/drover --name cp-1 --raft-addr 10.0.0.1:7000 --api-addr 10.0.0.1:6443 --bootstrap
  drover server --data-dir /var/lib/drover --name cp-2 --raft-addr 10.0.0.2:7000 --api-addr 10.0.0.2:6443 --join 10.0.0.1:7000

Restart a member with the same flags: --bootstrap and --join only act on a
new data directory. The API server speaks HTTP; TLS and join tokens arrive
with the security work, as flags next to these.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bootstrap == (len(join) > 0) {
				return fmt.Errorf("pass --bootstrap to start a new cluster, or --join HOST:PORT to join one (not both)")
			}
			for _, f := range []struct{ name, value string }{{"--api-addr", apiAddr}, {"--raft-addr", raftAddr}} {
				if err := checkAddrFlag(f.name, f.value); err != nil {
					return err
				}
			}
			if advertise != "" {
				if err := checkAddrFlag("--advertise-raft-addr", advertise); err != nil {
					return err
				}
			}
			for _, j := range join {
				if err := checkAddrFlag("--join", j); err != nil {
					return err
				}
			}
			log, err := logs.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			logProcs(log)
			dir, err := filepath.Abs(dataDir)
			if err != nil {
				return fmt.Errorf("--data-dir %q: %w", dataDir, err)
			}
			cfg := cluster.DefaultControlPlaneConfig(dir)
			cfg.Name = name
			cfg.APIAddr = apiAddr
			cfg.RaftAddr = raftAddr
			cfg.RaftAdvertiseAddr = advertise
			cfg.Bootstrap = bootstrap
			cfg.Join = join
			cfg.Kubelet = cluster.UnverifiedKubeletConfig(kubeletToken)
			cfg.Logger = log.With("member", name)
			out := cmd.OutOrStdout()
			cfg.OnProgress = progressPrinter(out, nil)
			cp, err := cluster.NewControlPlane(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			fmt.Fprintf(out, "Starting member %s in %s\n", name, dir)
			if err := cp.Start(ctx); err != nil {
				return explainStart(err, ctx.Err() != nil)
			}
			fmt.Fprintf(out, "Member %s serves the API on %s; others join it with --join %s\n", name, cp.URL(), cp.RaftAddr())
			fmt.Fprintf(out, "export KUBECONFIG=%s\n", shellQuote(cp.KubeconfigPath()))
			select {
			case <-ctx.Done():
				stop() // a second Ctrl-C kills the process
				fmt.Fprintln(out, "Stopping (handing leadership over if this member leads)...")
			case <-cp.Done():
			}
			start := time.Now()
			if err := cp.Close(); err != nil {
				return err
			}
			fmt.Fprintf(out, "✓ stopped cleanly (%s)\n", ms(time.Since(start)))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "directory of the member's state")
	f.StringVar(&name, "name", defaultMemberName(), "member name, unique in the cluster and fixed for the data directory's life")
	f.StringVar(&apiAddr, "api-addr", cluster.DefaultAPIAddr, "host:port the API server listens on")
	f.StringVar(&raftAddr, "raft-addr", defaultRaftAddr, "host:port the store member listens on for the other members")
	f.StringVar(&advertise, "advertise-raft-addr", "", "host:port the other members dial to reach this one (default: --raft-addr)")
	f.BoolVar(&bootstrap, "bootstrap", false, "start a new cluster with this member as its first")
	f.StringSliceVar(&join, "join", nil, "--raft-addr of a member of the cluster to join (repeatable)")
	f.StringVar(&kubeletToken, "kubelet-token", "", "bearer token sent to the node agents' HTTPS API (drover agent --kubelet-token); their certificates are not verified until the security work")
	logs.add(cmd, "info")
	return cmd
}

// defaultMemberName is the host name, made a valid member name.
func defaultMemberName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return cluster.DefaultMemberName
	}
	h = regexp.MustCompile(`[^A-Za-z0-9._-]`).ReplaceAllString(h, "-")
	return strings.Trim(h[:min(len(h), 64)], "-")
}

// logProcs raises GOMAXPROCS by one for the store's fsyncs (see
// raftstore.RaiseGOMAXPROCS) and logs what it did.
func logProcs(log *slog.Logger) {
	before, after := raftstore.RaiseGOMAXPROCS()
	if before == after {
		log.Info("GOMAXPROCS from the environment", "gomaxprocs", after)
		return
	}
	log.Info("GOMAXPROCS raised by one, for the processor the store's fsyncs hold while the disk works",
		"gomaxprocs", after, "runtime_default", before)
}
