package verbs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/deployment"
)

type scaleOpts struct {
	conn
	replicas int32
}

func newScale() *cobra.Command {
	o := &scaleOpts{}
	cmd := &cobra.Command{
		Use:     "scale TYPE/NAME --replicas=N",
		Short:   "Set the number of replicas of a Deployment or ReplicaSet",
		Example: "  drover scale deploy/web --replicas=3",
		Args:    cobra.RangeArgs(1, 2),
		RunE:    o.run,
	}
	o.addFlags(cmd)
	cmd.Flags().Int32Var(&o.replicas, "replicas", -1, "the new number of replicas (required)")
	return cmd
}

func (o *scaleOpts) run(cmd *cobra.Command, args []string) error {
	if o.replicas < 0 {
		return errors.New("--replicas is required: the new number of replicas, 0 or more")
	}
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	targets, err := resolveArgs(s.scheme, args)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range targets {
		if !t.kind.HasSubresource("scale") {
			return fmt.Errorf("%s cannot be scaled: scale deployments, replicasets or another kind with a scale subresource", qualifiedResource(t.kind))
		}
		if len(t.names) == 0 {
			return errors.New("give the name of the object to scale: such as deploy/web")
		}
		for _, n := range t.names {
			obj := t.kind.New()
			obj.GetObjectMeta().Namespace, obj.GetObjectMeta().Name = s.nsFor(t.kind, ""), n
			if _, err := s.c.Scale(ctx(cmd), obj, o.replicas); err != nil {
				errs = append(errs, wrapGetErr(err, t.kind, n))
				continue
			}
			fmt.Fprintln(s.out, typeName(t.kind, n)+" scaled")
		}
	}
	return joinErrs(errs)
}

func newRollout() *cobra.Command {
	o := &conn{}
	cmd := &cobra.Command{
		Use:   "rollout SUBCOMMAND",
		Short: "Manage the rollout of a Deployment",
		Long:  "Follow, list, undo, restart, pause and resume the rollouts of Deployments.",
	}
	o.addFlags(cmd)
	cmd.AddCommand(
		newRolloutStatus(o), newRolloutHistory(o), newRolloutUndo(o),
		newRolloutRestart(o), newRolloutPause(o, true), newRolloutPause(o, false),
	)
	return cmd
}

// deployment connects and resolves the rollout verbs' argument with
// deploymentArg.
func (o *conn) deployment(cmd *cobra.Command, args []string) (*session, string, error) {
	s, err := o.connect(cmd)
	if err != nil {
		return nil, "", err
	}
	name, err := deploymentArg(s, args)
	if err != nil {
		return nil, "", err
	}
	return s, name, nil
}

// deploymentArg resolves "deploy/web", "deployment web" or "web" to a
// Deployment's name.
func deploymentArg(s *session, args []string) (string, error) {
	if len(args) == 1 {
		if t, err := resolveArgs(s.scheme, args); err == nil && len(t) == 1 && len(t[0].names) == 1 {
			if t[0].kind.Kind != "Deployment" {
				return "", fmt.Errorf("rollout works with deployments, not %s", qualifiedResource(t[0].kind))
			}
			return t[0].names[0], nil
		}
		return args[0], nil
	}
	if len(args) == 2 {
		k, err := resolveKind(s.scheme, args[0])
		if err != nil {
			return "", err
		}
		if k.Kind != "Deployment" {
			return "", fmt.Errorf("rollout works with deployments, not %s", qualifiedResource(k))
		}
		return args[1], nil
	}
	return "", errors.New("give the deployment: such as deployment/web")
}

var deploymentKind = api.Kind{GroupVersionKind: api.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Resource: "deployments"}

func getDeployment(c ctxT, s *session, name string) (*api.Deployment, error) {
	var d api.Deployment
	if err := s.c.Get(c, s.namespace, name, &d); err != nil {
		return nil, wrapGetErr(err, deploymentKind, name)
	}
	return &d, nil
}

// rolloutStatus says where the rollout of d is, as kubectl rollout status
// does: a message, whether it is done, and an error if it failed.
func rolloutStatus(d *api.Deployment) (string, bool, error) {
	if d.Generation > d.Status.ObservedGeneration {
		return "Waiting for deployment spec update to be observed...", false, nil
	}
	if c := deployment.Condition(d, api.DeploymentConditionType("Progressing")); c != nil && c.Reason == "ProgressDeadlineExceeded" {
		return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", d.Name)
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	switch {
	case st.UpdatedReplicas < want:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...", d.Name, st.UpdatedReplicas, want), false, nil
	case st.Replicas > st.UpdatedReplicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...", d.Name, st.Replicas-st.UpdatedReplicas), false, nil
	case st.AvailableReplicas < st.UpdatedReplicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...", d.Name, st.AvailableReplicas, st.UpdatedReplicas), false, nil
	}
	return fmt.Sprintf("deployment %q successfully rolled out", d.Name), true, nil
}

func newRolloutStatus(o *conn) *cobra.Command {
	var (
		watch   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:     "status deployment/NAME",
		Short:   "Show the progress of a rollout, until it is done",
		Example: "  drover rollout status deploy/web",
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, name, err := o.deployment(cmd, args)
			if err != nil {
				return err
			}
			c := ctx(cmd)
			if timeout > 0 {
				var cancel context.CancelFunc
				c, cancel = context.WithTimeout(c, timeout)
				defer cancel()
			}
			d, err := getDeployment(c, s, name)
			if err != nil {
				return err
			}
			last := ""
			for {
				msg, done, err := rolloutStatus(d)
				if err != nil {
					return err
				}
				if msg != last {
					fmt.Fprintln(s.out, msg)
					last = msg
				}
				if done || !watch {
					return nil
				}
				if d, err = nextDeployment(c, s, d); err != nil {
					if errors.Is(err, context.DeadlineExceeded) && timeout > 0 {
						return fmt.Errorf("timed out after %v waiting for the rollout of deployment %q: %s", timeout, name, last)
					}
					return err
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", true, "follow the rollout until it is done")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long, such as 5m (0: wait until done or the progress deadline)")
	return cmd
}

// nextDeployment waits for the next change of d.
func nextDeployment(c ctxT, s *session, d *api.Deployment) (*api.Deployment, error) {
	w, err := s.c.Watch(c, &api.DeploymentList{}, client.ListOptions{
		Namespace:       d.Namespace,
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", d.Name),
		ResourceVersion: d.ResourceVersion,
	})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	for ev := range w.Events() {
		switch ev.Type {
		case api.WatchEventType("ERROR"):
			if api.IsGone(ev.Err) {
				return getDeployment(c, s, d.Name)
			}
			return nil, ev.Err
		case api.WatchEventType("DELETED"):
			return nil, fmt.Errorf("deployment %q was deleted", d.Name)
		case api.WatchEventType("ADDED"), api.WatchEventType("MODIFIED"):
			return ev.Object.(*api.Deployment), nil
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	return getDeployment(c, s, d.Name)
}

// ownedReplicaSets returns the ReplicaSets of d, by revision.
func ownedReplicaSets(c ctxT, s *session, d *api.Deployment) ([]api.ReplicaSet, error) {
	var list api.ReplicaSetList
	if err := s.c.List(c, &list, client.InNamespace(d.Namespace)); err != nil {
		return nil, err
	}
	var out []api.ReplicaSet
	for _, rs := range list.Items {
		for _, ref := range rs.OwnerReferences {
			if ref.UID == d.UID && ref.Controller != nil && *ref.Controller {
				out = append(out, rs)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return deployment.Revision(&out[i].ObjectMeta) < deployment.Revision(&out[j].ObjectMeta)
	})
	return out, nil
}

func newRolloutHistory(o *conn) *cobra.Command {
	var revision int64
	cmd := &cobra.Command{
		Use:     "history deployment/NAME",
		Short:   "List the revisions of a Deployment",
		Example: "  drover rollout history deploy/web\n  drover rollout history deploy/web --revision=2",
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, name, err := o.deployment(cmd, args)
			if err != nil {
				return err
			}
			c := ctx(cmd)
			d, err := getDeployment(c, s, name)
			if err != nil {
				return err
			}
			rss, err := ownedReplicaSets(c, s, d)
			if err != nil {
				return err
			}
			if revision > 0 {
				for _, rs := range rss {
					if deployment.Revision(&rs.ObjectMeta) == revision {
						fmt.Fprintf(s.out, "deployment.apps/%s with revision #%d\n", name, revision)
						printTemplate(s, &rs.Spec.Template)
						return nil
					}
				}
				return fmt.Errorf("revision %d of deployment %q not found: see `drover rollout history deploy/%s`", revision, name, name)
			}
			fmt.Fprintf(s.out, "deployment.apps/%s\n", name)
			tw := tabwriter.NewWriter(s.out, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "REVISION\tCHANGE-CAUSE")
			for _, rs := range rss {
				cause := rs.Annotations["kubernetes.io/change-cause"]
				if cause == "" {
					cause = "<none>"
				}
				fmt.Fprintf(tw, "%d\t%s\n", deployment.Revision(&rs.ObjectMeta), cause)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().Int64Var(&revision, "revision", 0, "show the pod template of this revision")
	return cmd
}

func newRolloutUndo(o *conn) *cobra.Command {
	var to int64
	cmd := &cobra.Command{
		Use:     "undo deployment/NAME",
		Short:   "Roll a Deployment back to a previous revision",
		Example: "  drover rollout undo deploy/web\n  drover rollout undo deploy/web --to-revision=2",
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, name, err := o.deployment(cmd, args)
			if err != nil {
				return err
			}
			if err := deployment.Rollback(ctx(cmd), s.c, s.namespace, name, to); err != nil {
				if errors.Is(err, deployment.ErrRevisionNotFound) {
					return fmt.Errorf("deployment %q has no revision %d to roll back to: see `drover rollout history deploy/%s`", name, to, name)
				}
				return wrapGetErr(err, deploymentKind, name)
			}
			fmt.Fprintf(s.out, "deployment.apps/%s rolled back\n", name)
			return nil
		},
	}
	cmd.Flags().Int64Var(&to, "to-revision", 0, "the revision to roll back to (0: the previous one)")
	return cmd
}

// restartedAtAnnotation is set on the pod template by rollout restart, to
// roll the pods out again.
const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

func newRolloutRestart(o *conn) *cobra.Command {
	return &cobra.Command{
		Use:     "restart deployment/NAME",
		Short:   "Replace the pods of a Deployment with a new rollout",
		Example: "  drover rollout restart deploy/web",
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, name, err := o.deployment(cmd, args)
			if err != nil {
				return err
			}
			d, err := getDeployment(ctx(cmd), s, name)
			if err != nil {
				return err
			}
			if d.Spec.Paused {
				return fmt.Errorf("deployment %q is paused: run `drover rollout resume deploy/%s` first", name, name)
			}
			patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, restartedAtAnnotation, time.Now().Format(time.RFC3339))
			if err := s.c.Patch(ctx(cmd), d, client.StrategicMergePatch, []byte(patch)); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "deployment.apps/%s restarted\n", name)
			return nil
		},
	}
}

func newRolloutPause(o *conn, pause bool) *cobra.Command {
	verb, done := "pause", "paused"
	short := "Stop rolling out the changes of a Deployment's template"
	if !pause {
		verb, done = "resume", "resumed"
		short = "Resume a paused Deployment's rollouts"
	}
	return &cobra.Command{
		Use:   verb + " deployment/NAME",
		Short: short,
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, name, err := o.deployment(cmd, args)
			if err != nil {
				return err
			}
			d, err := getDeployment(ctx(cmd), s, name)
			if err != nil {
				return err
			}
			if d.Spec.Paused == pause {
				return fmt.Errorf("deployments.apps %q is already %s", name, done)
			}
			patch := `{"spec":{"paused":` + strconv.FormatBool(pause) + `}}`
			if err := s.c.Patch(ctx(cmd), d, client.MergePatch, []byte(patch)); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "deployment.apps/%s %s\n", name, done)
			return nil
		},
	}
}

// printTemplate writes a pod template as YAML.
func printTemplate(s *session, t *api.PodTemplateSpec) {
	js, err := json.Marshal(t)
	if err != nil {
		return
	}
	y, err := api.JSONToYAML(js)
	if err != nil {
		return
	}
	fmt.Fprintf(s.out, "Pod Template:\n")
	for _, l := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
		fmt.Fprintf(s.out, "  %s\n", l)
	}
}
