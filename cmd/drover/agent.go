package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/cluster"
)

// newAgent returns `drover agent`, whose flags are those of the node agent
// to come, so that scripts written now keep working.
func newAgent() *cobra.Command {
	var server, dataDir, name, runtime string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a worker node (arrives with the node agent, issue 9)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: 2, err: errors.New("the node agent arrives with issue 9: until then `drover up` and `drover server` run no node, and pods stay Pending")}
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "URL of an API server of the cluster")
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "directory of the node's state")
	f.StringVar(&name, "name", defaultMemberName(), "node name")
	f.StringVar(&runtime, "runtime", cluster.DefaultRuntime(), "container runtime: oci, process or fake")
	return cmd
}
