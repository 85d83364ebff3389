// Command drover is Drover's binary: `drover up` runs a whole cluster on
// this machine, `drover server` a control-plane member of a larger one, and
// the client verbs (apply, get, describe, ...) talk to a cluster through a
// kubeconfig, as kubectl does. It is a thin CLI over packages cluster and
// client.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/drover-io/drover/runtime/oci"
	"github.com/drover-io/drover/runtime/process"
)

func main() {
	// The node agent's runtime drivers re-execute this binary as each
	// container's monitor: those runs end here.
	oci.RunShimIfRequested()
	process.RunMonitorIfRequested()
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// exitError is an error that asks for an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// run runs the command line args, writing to stdout and stderr, and returns
// the exit code: 0, 1 for an error (printed as "drover <verb>: <error>"),
// or an exitError's code. The long-running commands stop when ctx ends, as
// on SIGINT or SIGTERM.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetContext(ctx)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	if e := (*exitError)(nil); errors.As(err, &e) {
		return e.code
	}
	// A remote command's exit code (exec).
	if e := (interface{ ExitCode() int })(nil); errors.As(err, &e) {
		return e.ExitCode()
	}
	return 1
}
