package verbs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/scheduler"
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
	name, err := podArg(s.scheme, args[0], "logs reads pods")
	if err != nil {
		return err
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
	nodes bool
}

func newExplain() *cobra.Command {
	o := &explainOpts{}
	cmd := &cobra.Command{
		Use:   "explain pod NAME",
		Short: "Explain where a pod was scheduled, or why it was not",
		Long: "Explain the scheduling of a pod: the node it was bound to, or why the scheduler\n" +
			"could not place it, from its PodScheduled condition and its scheduling events;\n" +
			"then the scheduler's last attempt at it: each node's Filter verdict, grouped by\n" +
			"plugin and reason, and the per-plugin scores of the best nodes.",
		Example: "  drover explain pod web-5d9c7-x2x8z\n  drover explain pod/web-5d9c7-x2x8z --nodes",
		Args:    cobra.RangeArgs(1, 2),
		RunE:    o.run,
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.nodes, "nodes", false, fmt.Sprintf("list every node of each group of Filter verdicts (default at most %d)", explainMaxNodes))
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
	d := attemptDetails{allNodes: o.nodes}
	d.x, d.missing = lastAttempt(c, s.c, pod.Namespace, pod.Name)
	if d.x != nil && d.x.UID != "" && pod.UID != "" && d.x.UID != pod.UID {
		d.x, d.missing = nil, fmt.Sprintf("(No per-node verdicts: the scheduler's last attempt under this name was at an earlier pod, UID %s; this one, UID %s, is not tried yet.)", d.x.UID, pod.UID)
	}
	explainPod(s.out, &pod, evs, d, time.Now())
	return nil
}

// explainMaxNodes is how many node names explain lists per group of
// Filter verdicts without --nodes.
const explainMaxNodes = 20

// attemptDetails is what the scheduler says of its last attempt at a pod:
// x, or why it is missing.
type attemptDetails struct {
	x        *scheduler.Explanation
	missing  string
	allNodes bool // list every node of each group of verdicts
}

// lastAttempt asks the control plane for the scheduler's last attempt at
// the pod. It returns nil and a line saying why when there is none to
// show: explain then shows what the API says.
func lastAttempt(ctx context.Context, c *client.Client, namespace, name string) (*scheduler.Explanation, string) {
	body, err := c.GetRaw(ctx, cluster.SchedulingPath(namespace, name))
	switch {
	case err == nil:
		var x scheduler.Explanation
		if err := json.Unmarshal(body, &x); err != nil {
			return nil, fmt.Sprintf("(No per-node verdicts: the server's answer is not a scheduling attempt: %v.)", err)
		}
		return &x, ""
	case api.IsNotFound(err) && strings.Contains(err.Error(), "no scheduling attempt"):
		return nil, "(No per-node verdicts: the scheduler has no attempt of this pod: it was scheduled before the scheduler started or leadership moved, or it is not tried yet.)"
	case api.IsNotFound(err):
		return nil, "(No per-node verdicts: they are not served over the API by this server: it is an older drover, or not a drover control plane.)"
	case errors.Is(err, api.ErrServiceUnavailable):
		return nil, fmt.Sprintf("(No per-node verdicts: %s. Ask again: leadership is moving, or point --kubeconfig at the leader.)", strings.TrimSuffix(err.Error(), "."))
	default:
		return nil, fmt.Sprintf("(No per-node verdicts: %v.)", err)
	}
}

// explainPod writes what the API says of a pod's scheduling, then the
// scheduler's last attempt at it (or why it is missing).
func explainPod(w io.Writer, pod *api.Pod, evs []api.Event, d attemptDetails, now time.Time) {
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
		desc := &describer{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
		ew := tabwriter.NewWriter(desc.tw, 0, 8, 2, ' ', 0)
		fmt.Fprintln(ew, "  Type\tReason\tAge\tMessage")
		for i := range sev {
			e := &sev[i]
			fmt.Fprintf(ew, "  %s\t%s\t%s\t%s\n", e.Type, e.Reason, humanAge(now.Sub(eventTime(e))), strings.TrimSpace(e.Message))
		}
		_ = ew.Flush()
		_ = desc.tw.Flush()
	}
	if d.x == nil {
		fmt.Fprintln(w, d.missing)
		return
	}
	explainAttempt(w, d.x, d.allNodes, now)
}

// explainAttempt writes the scheduler's last attempt at a pod: its
// outcome, the Filter verdicts grouped by plugin and reason, and the
// scores of the best nodes.
func explainAttempt(w io.Writer, x *scheduler.Explanation, allNodes bool, now time.Time) {
	fmt.Fprintln(w, "Last scheduling attempt:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "  Time:\t%s (%s ago), attempt %d\n", x.Time.UTC().Format(time.RFC3339), humanAge(now.Sub(x.Time)), x.Attempts)
	switch {
	case x.Node != "":
		fmt.Fprintf(tw, "  Result:\t%s on %s\n", x.Result, x.Node)
	default:
		fmt.Fprintf(tw, "  Result:\t%s\n", x.Result)
	}
	if x.Message != "" {
		fmt.Fprintf(tw, "  Message:\t%s\n", x.Message)
	}
	if x.NominatedNode != "" {
		fmt.Fprintf(tw, "  Nominated Node:\t%s (preemption made room there)\n", x.NominatedNode)
	}
	nodes := fmt.Sprintf("%d in the cluster, %d evaluated, %d feasible", x.Nodes, x.Evaluated, x.Feasible)
	if x.Evaluated < x.Nodes {
		nodes += " (the scheduler stops looking once it has found enough feasible nodes)"
	}
	fmt.Fprintf(tw, "  Nodes:\t%s\n", nodes)
	_ = tw.Flush()

	fmt.Fprintln(w, "Filter verdicts, by plugin and reason:")
	if len(x.Filter) == 0 {
		fmt.Fprintln(w, "  <none>")
	}
	for _, g := range groupVerdicts(x.Filter) {
		fmt.Fprintf(w, "  %d %s: %s\n", len(g.nodes), plural(len(g.nodes), "node", "nodes"), g.what)
		shown := g.nodes
		if !allNodes && len(shown) > explainMaxNodes {
			shown = shown[:explainMaxNodes]
		}
		line := "    " + strings.Join(shown, ", ")
		if more := len(g.nodes) - len(shown); more > 0 {
			line += fmt.Sprintf(", and %d more (--nodes lists them)", more)
		}
		fmt.Fprintln(w, line)
	}

	fmt.Fprintln(w, "Scores of the best nodes:")
	if len(x.Scores) == 0 {
		fmt.Fprintln(w, "  <none>: no node passed Filter")
		return
	}
	var plugins []string
	weights := map[string]int64{}
	for _, s := range x.Scores {
		for _, p := range s.Plugins {
			if _, ok := weights[p.Plugin]; !ok {
				plugins = append(plugins, p.Plugin)
				weights[p.Plugin] = p.Weight
			}
		}
	}
	st := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	header := "  NODE\tTOTAL"
	for _, p := range plugins {
		if wt := weights[p]; wt != 1 {
			header += fmt.Sprintf("\t%s(x%d)", p, wt)
		} else {
			header += "\t" + p
		}
	}
	fmt.Fprintln(st, header)
	for _, s := range x.Scores {
		node := s.Node
		if s.Node == x.Node {
			node += " (chosen)"
		}
		row := fmt.Sprintf("  %s\t%d", node, s.Total)
		by := make(map[string]int64, len(s.Plugins))
		for _, p := range s.Plugins {
			by[p.Plugin] = p.Score
		}
		for _, p := range plugins {
			if v, ok := by[p]; ok {
				row += fmt.Sprintf("\t%d", v)
			} else {
				row += "\t-"
			}
		}
		fmt.Fprintln(st, row)
	}
	_ = st.Flush()
	if x.Feasible > len(x.Scores) {
		fmt.Fprintf(w, "  (%d other feasible nodes were scored lower; their scores are not kept.)\n", x.Feasible-len(x.Scores))
	}
}

// verdictGroup is the nodes that got the same Filter verdict.
type verdictGroup struct {
	what  string // "NodeAffinity: node(s) didn't match ...", or "passed"
	pass  bool
	nodes []string
}

// groupVerdicts groups verdicts by plugin and reasons: the biggest groups
// of rejections first, then the nodes that passed; the nodes of a group
// sorted by name.
func groupVerdicts(vs []scheduler.FilterVerdict) []*verdictGroup {
	byWhat := map[string]*verdictGroup{}
	var groups []*verdictGroup
	for _, v := range vs {
		what, pass := "passed", v.Plugin == "" && len(v.Reasons) == 0
		if !pass {
			what = orNone(v.Plugin) + ": " + strings.Join(v.Reasons, "; ")
			if v.Code == "UnschedulableAndUnresolvable" {
				what += " (preemption cannot help)"
			}
		}
		g, ok := byWhat[what]
		if !ok {
			g = &verdictGroup{what: what, pass: pass}
			byWhat[what] = g
			groups = append(groups, g)
		}
		g.nodes = append(g.nodes, v.Node)
	}
	for _, g := range groups {
		slices.Sort(g.nodes)
	}
	slices.SortFunc(groups, func(a, b *verdictGroup) int {
		switch {
		case a.pass != b.pass && a.pass:
			return 1
		case a.pass != b.pass:
			return -1
		case len(a.nodes) != len(b.nodes):
			return len(b.nodes) - len(a.nodes)
		}
		return strings.Compare(a.what, b.what)
	})
	return groups
}

// plural returns one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
