package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/cmd/drover/internal/verbs"
)

// newRoot returns the drover command with every subcommand.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "drover",
		Short: "Drover: a small, fast, Kubernetes-compatible container orchestrator",
		Long: `Drover runs containers on a cluster of machines, Kubernetes-style.

Start a cluster on this machine with "drover up", then use the client verbs
(drover apply, get, describe, ...) or kubectl with the kubeconfig it writes.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newUp(), newServer(), newAgent(), newVersion(), newSnapshot(), newImage())
	// The client verbs (apply, get, describe, ...).
	root.AddCommand(verbs.Commands()...)
	return root
}

// signalContext returns a context that ends on SIGINT or SIGTERM.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// defaultDataDir is the data directory `drover up` uses unless told
// otherwise: $XDG_DATA_HOME/drover, else ~/.local/share/drover, else
// ./drover-data when there is no home directory.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "drover")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "drover")
	}
	return "drover-data"
}

// logFlags are the logging flags of the long-running commands.
type logFlags struct {
	level string
}

func (f *logFlags) add(cmd *cobra.Command, def string) {
	cmd.Flags().StringVar(&f.level, "log-level", def, "level of the components' log lines: debug, info, warn or error")
}

// logger returns the logger the flags ask for, writing text to w.
func (f *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.level)); err != nil {
		return nil, fmt.Errorf("--log-level is %q: must be debug, info, warn or error", f.level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
