package verbs

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/client"
)

type logsOpts struct {
	conn
	container  string
	follow     bool
	previous   bool
	timestamps bool
	tail       int64
}

func newLogs() *cobra.Command {
	o := &logsOpts{}
	cmd := &cobra.Command{
		Use:   "logs [pod/]NAME [CONTAINER]",
		Short: "Print the log of a container of a pod",
		Long: "Print the log of a container of a pod, as its node agent keeps it.\n" +
			"-c (or a second argument) names the container; it may be left out for a pod with one.",
		Example: "  drover logs web-5d9c7-x2x8z\n  drover logs pod/web-5d9c7-x2x8z -c nginx -f --tail=20",
		Args:    cobra.RangeArgs(1, 2),
		RunE:    o.run,
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.container, "container", "c", "", "the container")
	f.BoolVarP(&o.follow, "follow", "f", false, "stream the log as it grows")
	f.BoolVarP(&o.previous, "previous", "p", false, "the log of the container's previous run")
	f.BoolVar(&o.timestamps, "timestamps", false, "prefix each line with its time")
	f.Int64Var(&o.tail, "tail", -1, "the number of lines from the end to show; -1 for all")
	return cmd
}

func (o *logsOpts) run(cmd *cobra.Command, args []string) error {
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	name := args[0]
	if typ, n, ok := strings.Cut(name, "/"); ok {
		k, err := resolveKind(s.scheme, typ)
		if err != nil {
			return err
		}
		if k.Kind != "Pod" {
			return fmt.Errorf("logs reads pods, not %s: such as pod/%s", qualifiedResource(k), n)
		}
		name = n
	}
	container := o.container
	if len(args) == 2 {
		if container != "" && container != args[1] {
			return errors.New("give the container either with -c or as the second argument")
		}
		container = args[1]
	}
	opts := client.LogOptions{Container: container, Follow: o.follow, Previous: o.previous, Timestamps: o.timestamps}
	if o.tail >= 0 {
		t := o.tail
		opts.TailLines = &t
	}
	c := ctx(cmd)
	if container == "" {
		var pod api.Pod
		if err := s.c.Get(c, s.namespace, name, &pod); err != nil {
			return wrapGetErr(err, api.Kind{Resource: "pods"}, name)
		}
		if n := len(pod.Spec.Containers); n > 1 {
			names := make([]string, n)
			for i, ct := range pod.Spec.Containers {
				names[i] = ct.Name
			}
			return fmt.Errorf("a container name must be specified for pod %s, choose one of: [%s]", name, strings.Join(names, " "))
		}
	}
	rc, err := s.c.Logs(c, s.namespace, name, opts)
	if err != nil {
		return err // the server's message says what is missing: the pod, the container or its log
	}
	defer rc.Close()
	_, err = io.Copy(s.out, rc)
	if err != nil && c.Err() != nil {
		return nil // the follow ended with the command
	}
	return err
}

type eventsOpts struct {
	conn
	allNamespaces bool
	forObject     string
}

func newEvents() *cobra.Command {
	o := &eventsOpts{}
	cmd := &cobra.Command{
		Use:     "events",
		Short:   "List events, oldest first",
		Example: "  drover events\n  drover events -A\n  drover events --for deploy/web",
		Args:    cobra.NoArgs,
		RunE:    o.run,
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list across all namespaces")
	cmd.Flags().StringVar(&o.forObject, "for", "", "only the events about this object: TYPE/NAME")
	return cmd
}

func (o *eventsOpts) run(cmd *cobra.Command, _ []string) error {
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	opts := client.ListOptions{Namespace: s.namespace}
	if o.allNamespaces {
		opts.Namespace = ""
	}
	if o.forObject != "" {
		typ, name, ok := strings.Cut(o.forObject, "/")
		if !ok || name == "" {
			return fmt.Errorf("--for %q: give TYPE/NAME, such as deploy/web", o.forObject)
		}
		k, err := resolveKind(s.scheme, typ)
		if err != nil {
			return err
		}
		sel, err := fields.Parse("involvedObject.kind=" + k.Kind + ",involvedObject.name=" + fields.EscapeValue(name))
		if err != nil {
			return err
		}
		opts.FieldSelector = sel
	}
	var list api.EventList
	if err := s.c.List(ctx(cmd), &list, opts); err != nil {
		return err
	}
	if len(list.Items) == 0 {
		if opts.Namespace != "" {
			fmt.Fprintf(s.errw, "No events found in %s namespace.\n", opts.Namespace)
		} else {
			fmt.Fprintln(s.errw, "No events found.")
		}
		return nil
	}
	sortEvents(list.Items)
	printEvents(s.out, list.Items, o.allNamespaces, time.Now())
	return nil
}

func printEvents(w io.Writer, evs []api.Event, withNS bool, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	if withNS {
		fmt.Fprint(tw, "NAMESPACE\t")
	}
	fmt.Fprintln(tw, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
	for i := range evs {
		e := &evs[i]
		if withNS {
			fmt.Fprint(tw, e.Namespace+"\t")
		}
		obj := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", humanAge(now.Sub(eventTime(e))), e.Type, e.Reason, obj, strings.TrimSpace(e.Message))
	}
	_ = tw.Flush()
}

type explainOpts struct {
	conn
}

func newExplain() *cobra.Command {
	o := &explainOpts{}
	cmd := &cobra.Command{
		Use:   "explain pod NAME",
		Short: "Explain where a pod was scheduled, or why it was not",
		Long: "Explain the scheduling of a pod: the node it was bound to, or why the scheduler\n" +
			"could not place it, from its PodScheduled condition and its scheduling events.",
		Example: "  drover explain pod web-5d9c7-x2x8z\n  drover explain pod/web-5d9c7-x2x8z",
		Args:    cobra.RangeArgs(1, 2),
		RunE:    o.run,
	}
	o.addFlags(cmd)
	return cmd
}

func (o *explainOpts) run(cmd *cobra.Command, args []string) error {
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	targets, err := resolveArgs(s.scheme, args)
	if err != nil {
		return err
	}
	if len(targets) != 1 || targets[0].kind.Kind != "Pod" || len(targets[0].names) != 1 {
		return errors.New("explain takes one pod: such as `drover explain pod web-5d9c7-x2x8z`")
	}
	name := targets[0].names[0]
	c := ctx(cmd)
	var pod api.Pod
	if err := s.c.Get(c, s.namespace, name, &pod); err != nil {
		return wrapGetErr(err, targets[0].kind, name)
	}
	evs, err := eventsFor(c, s, &pod)
	if err != nil {
		return err
	}
	explainPod(s.out, &pod, evs, time.Now())
	return nil
}

// explainPod writes what the API says of a pod's scheduling.
func explainPod(w io.Writer, pod *api.Pod, evs []api.Event, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "Pod:\t%s/%s\n", pod.Namespace, pod.Name)
	sched := pod.Spec.SchedulerName
	if sched == "" {
		sched = "default-scheduler"
	}
	fmt.Fprintf(tw, "Scheduler:\t%s\n", sched)
	var cond *api.PodCondition
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == api.PodConditionType("PodScheduled") {
			cond = &pod.Status.Conditions[i]
		}
	}
	switch {
	case pod.Spec.NodeName != "":
		fmt.Fprintf(tw, "Result:\tScheduled\nNode:\t%s\n", pod.Spec.NodeName)
	case cond != nil && cond.Status == api.ConditionStatus("False"):
		fmt.Fprintf(tw, "Result:\t%s\n", orNone(cond.Reason))
		fmt.Fprintf(tw, "Message:\t%s\n", orNone(cond.Message))
	default:
		fmt.Fprintf(tw, "Result:\tPending\nMessage:\tthe scheduler has not tried this pod yet: is a scheduler named %q running?\n", sched)
	}
	if pod.Status.NominatedNodeName != "" {
		fmt.Fprintf(tw, "Nominated Node:\t%s (preemption made room there)\n", pod.Status.NominatedNodeName)
	}
	_ = tw.Flush()
	var sev []api.Event
	for _, e := range evs {
		switch e.Reason {
		case "Scheduled", "FailedScheduling", "Preempted", "Preempting", "NotTriggerScaleUp":
			sev = append(sev, e)
		}
	}
	fmt.Fprintln(w, "Scheduling events:")
	if len(sev) == 0 {
		fmt.Fprintln(w, "  <none>")
	} else {
		d := &describer{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
		ew := tabwriter.NewWriter(d.tw, 0, 8, 2, ' ', 0)
		fmt.Fprintln(ew, "  Type\tReason\tAge\tMessage")
		for i := range sev {
			e := &sev[i]
			fmt.Fprintf(ew, "  %s\t%s\t%s\t%s\n", e.Type, e.Reason, humanAge(now.Sub(eventTime(e))), strings.TrimSpace(e.Message))
		}
		_ = ew.Flush()
		_ = d.tw.Flush()
	}
	fmt.Fprintln(w, "(The per-node verdicts and scores of the last attempt are kept in the scheduler's process; they are not served over the API yet.)")
}
