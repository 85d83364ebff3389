// Command kubectl is the upstream kubectl, built from k8s.io/kubectl at the
// version pinned in this module's go.mod, so that the end-to-end tests drive
// Drover with exactly the client users run. TestMain builds it once.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	os.Exit(cli.Run(cmd.NewDefaultKubectlCommand()))
}
