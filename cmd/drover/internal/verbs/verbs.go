// Package verbs holds the client verbs of the drover binary (apply, create,
// delete, get, describe, scale, rollout, logs, events, explain): cobra
// commands that read a kubeconfig and talk to an API server through package
// client, named and behaving like kubectl's. The root command adds them with
// Commands.
package verbs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// Commands returns the client verbs, for the root command to add. Each
// has the flags --kubeconfig, --context and -n/--namespace.
func Commands() []*cobra.Command {
	return []*cobra.Command{
		newApply(),
		newCreate(),
		newDelete(),
		newGet(),
		newDescribe(),
		newScale(),
		newRollout(),
		newLogs(),
		newExec(),
		newTop(),
		newEvents(),
		newExplain(),
	}
}

// ErrNoKubeconfig is returned when no kubeconfig file can be found.
var ErrNoKubeconfig = errors.New("no kubeconfig: run `drover up` or set KUBECONFIG")

// conn holds the connection flags every verb has, and makes the client.
type conn struct {
	kubeconfig string
	context    string
	namespace  string
}

// addFlags adds --kubeconfig, --context and -n/--namespace to cmd, as
// persistent flags so that subcommands (rollout status) have them too.
func (o *conn) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.context, "context", "", "the kubeconfig context to use (default its current context)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "the namespace (default the context's, or \"default\")")
}

// session is a connected verb: the client and the namespace to act in.
type session struct {
	c         *client.Client
	scheme    *api.Scheme
	namespace string
	// explicitNS reports whether -n was given.
	explicitNS bool
	out, errw  io.Writer
}

// connect loads the kubeconfig and makes the client.
func (o *conn) connect(cmd *cobra.Command) (*session, error) {
	var (
		cfg client.Config
		err error
	)
	if o.kubeconfig != "" {
		if _, serr := os.Stat(o.kubeconfig); serr != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w: run `drover up` or pass --kubeconfig", o.kubeconfig, serr)
		}
		cfg, err = client.LoadKubeconfig(o.kubeconfig, o.context)
	} else {
		if !anyExists(client.KubeconfigPaths()) {
			return nil, ErrNoKubeconfig
		}
		cfg, err = client.KubeconfigFromEnv(o.context)
	}
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "drover-cli"
	c, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	s := &session{c: c, scheme: c.Scheme(), namespace: o.namespace, out: cmd.OutOrStdout(), errw: cmd.ErrOrStderr()}
	s.explicitNS = o.namespace != ""
	if s.namespace == "" {
		s.namespace = cfg.Namespace
	}
	if s.namespace == "" {
		s.namespace = "default"
	}
	return s, nil
}

func anyExists(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// ctx returns the command's context, or Background when it has none.
func ctx(cmd *cobra.Command) context.Context {
	if c := cmd.Context(); c != nil {
		return c
	}
	return context.Background()
}

// nsFor returns the namespace to use for an object of kind k: the
// object's own, else the session's; "" for cluster-scoped kinds.
func (s *session) nsFor(k api.Kind, objNS string) string {
	if !k.Namespaced {
		return ""
	}
	if objNS != "" {
		return objNS
	}
	return s.namespace
}

// notFound is the kubectl wording of a missing object.
func notFound(k api.Kind, name string) error {
	return fmt.Errorf("%s %q not found", qualifiedResource(k), name)
}

// qualifiedResource is "deployments.apps", or "pods" for the core group.
func qualifiedResource(k api.Kind) string {
	if k.Group == "" {
		return k.Resource
	}
	return k.Resource + "." + k.Group
}

// typeName is "deployment.apps/web", or "pod/web": how kubectl names an
// object in its messages and with -o name.
func typeName(k api.Kind, name string) string {
	s := strings.ToLower(k.Kind)
	if k.Group != "" {
		s += "." + k.Group
	}
	return s + "/" + name
}

// wrapGetErr turns a NotFound of the server into kubectl's message.
func wrapGetErr(err error, k api.Kind, name string) error {
	if api.IsNotFound(err) {
		return notFound(k, name)
	}
	return err
}

// ctxT is short for context.Context in the helpers' signatures.
type ctxT = context.Context
