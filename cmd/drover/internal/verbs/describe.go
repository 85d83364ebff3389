package verbs

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/client"
)

type describeOpts struct {
	conn
	selector      string
	allNamespaces bool
}

func newDescribe() *cobra.Command {
	o := &describeOpts{}
	cmd := &cobra.Command{
		Use:   "describe TYPE[/NAME] [NAME...]",
		Short: "Show the details of objects, with their events",
		Long: "Show the key fields of objects and the events about them. Pods, deployments,\n" +
			"nodes and services have their own layout; other kinds show their metadata and spec.",
		Example: "  drover describe pod web-5d9c7-x2x8z\n  drover describe deploy/web\n  drover describe nodes",
		Args:    cobra.MinimumNArgs(1),
		RunE:    o.run,
	}
	o.addFlags(cmd)
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "describe the objects with these labels")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "across all namespaces")
	return cmd
}

func (o *describeOpts) run(cmd *cobra.Command, args []string) error {
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	sel, err := parseSelector(o.selector)
	if err != nil {
		return err
	}
	targets, err := resolveArgs(s.scheme, args)
	if err != nil {
		return err
	}
	c := ctx(cmd)
	var errs []error
	first := true
	for _, t := range targets {
		ns := s.nsFor(t.kind, "")
		if o.allNamespaces {
			if len(t.names) > 0 && t.kind.Namespaced {
				return fmt.Errorf("a resource cannot be retrieved by name across all namespaces: give -n NAMESPACE instead of -A")
			}
			ns = ""
		}
		objs, err := fetch(c, s, t, client.ListOptions{Namespace: ns, LabelSelector: sel})
		if err != nil {
			errs = append(errs, err)
		}
		for _, obj := range objs {
			if !first {
				fmt.Fprintln(s.out)
			}
			first = false
			evs, err := eventsFor(c, s, obj)
			if err != nil {
				return err
			}
			describe(s.out, t.kind, obj, evs, time.Now())
		}
	}
	return joinErrs(errs)
}

// eventsFor lists the events about obj, oldest first.
func eventsFor(c ctxT, s *session, obj api.Object) ([]api.Event, error) {
	m := obj.GetObjectMeta()
	var list api.EventList
	opts := client.ListOptions{Namespace: m.Namespace, FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(m.UID))}
	if m.Namespace == "" {
		opts.Namespace = "default" // events of cluster-scoped objects
		opts.FieldSelector = fields.OneTermEqualSelector("involvedObject.name", m.Name)
	}
	if err := s.c.List(c, &list, opts); err != nil {
		return nil, err
	}
	sortEvents(list.Items)
	return list.Items, nil
}

func eventTime(e *api.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// sortEvents sorts events by time, oldest first. Times have a precision
// of a second, so events of the same second are in the order the server
// stored them (by resourceVersion, an increasing number on a Drover
// server; on another, the order is the list's).
func sortEvents(evs []api.Event) {
	sort.SliceStable(evs, func(i, j int) bool {
		ti, tj := eventTime(&evs[i]), eventTime(&evs[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		ri, rj := evs[i].ResourceVersion, evs[j].ResourceVersion
		if len(ri) != len(rj) {
			return len(ri) < len(rj)
		}
		return ri < rj
	})
}

// describer writes "Key:  value" lines, aligned, with indented sections.
type describer struct {
	tw *tabwriter.Writer
}

func (d *describer) line(indent int, key string, value any) {
	pad := strings.Repeat("  ", indent)
	if value == "" {
		fmt.Fprintf(d.tw, "%s%s:\n", pad, key)
		return
	}
	if key == "" {
		fmt.Fprintf(d.tw, "%s%v\n", pad, value)
		return
	}
	fmt.Fprintf(d.tw, "%s%s:\t%v\n", pad, key, value)
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func mapLines(d *describer, indent int, key string, m map[string]string) {
	if len(m) == 0 {
		d.line(indent, key, "<none>")
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		v := m[k]
		if len(v) > 80 {
			v = v[:77] + "..."
		}
		if i == 0 {
			d.line(indent, key, k+"="+v)
		} else {
			d.line(indent, "", "\t"+k+"="+v)
		}
	}
}

// describe writes the description of obj, of kind k, and its events.
func describe(w io.Writer, k api.Kind, obj api.Object, evs []api.Event, now time.Time) {
	d := &describer{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
	m := obj.GetObjectMeta()
	d.line(0, "Name", m.Name)
	if k.Namespaced {
		d.line(0, "Namespace", m.Namespace)
	}
	switch o := obj.(type) {
	case *api.Pod:
		describePod(d, o)
	case *api.Deployment:
		describeDeployment(d, o)
	case *api.Node:
		describeNode(d, o)
	case *api.Service:
		describeService(d, o)
	default:
		mapLines(d, 0, "Labels", m.Labels)
		mapLines(d, 0, "Annotations", m.Annotations)
		d.line(0, "API Version", k.GroupVersion().String())
		d.line(0, "Kind", k.Kind)
		d.line(0, "Creation Timestamp", m.CreationTimestamp.UTC().Format(time.RFC1123Z))
		_ = d.tw.Flush()
		describeGeneric(w, obj)
	}
	describeEvents(d, evs, now)
	_ = d.tw.Flush()
}

// describeGeneric writes the spec (and status) of obj as indented YAML.
func describeGeneric(w io.Writer, obj api.Object) {
	data, err := json.Marshal(obj)
	if err != nil {
		return
	}
	doc, err := toMap(data)
	if err != nil {
		return
	}
	for _, key := range []string{"spec", "data", "status"} {
		v, ok := doc[key]
		if !ok {
			continue
		}
		js, _ := json.Marshal(v)
		y, err := api.JSONToYAML(js)
		if err != nil {
			continue
		}
		fmt.Fprintf(w, "%s%s:\n", strings.ToUpper(key[:1]), key[1:])
		for _, l := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

func describePod(d *describer, p *api.Pod) {
	d.line(0, "Priority", derefInt32(p.Spec.Priority))
	d.line(0, "Service Account", orNone(p.Spec.ServiceAccountName))
	node := orNone(p.Spec.NodeName)
	if p.Status.HostIP != "" {
		node += "/" + p.Status.HostIP
	}
	d.line(0, "Node", node)
	if p.Status.StartTime != nil {
		d.line(0, "Start Time", p.Status.StartTime.UTC().Format(time.RFC1123Z))
	}
	mapLines(d, 0, "Labels", p.Labels)
	mapLines(d, 0, "Annotations", p.Annotations)
	status := string(p.Status.Phase)
	if p.DeletionTimestamp != nil {
		status = "Terminating"
	}
	d.line(0, "Status", status)
	if p.Status.Reason != "" {
		d.line(0, "Reason", p.Status.Reason)
	}
	if p.Status.Message != "" {
		d.line(0, "Message", p.Status.Message)
	}
	d.line(0, "IP", orNone(p.Status.PodIP))
	if p.Status.NominatedNodeName != "" {
		d.line(0, "Nominated Node", p.Status.NominatedNodeName)
	}
	if len(p.OwnerReferences) > 0 {
		d.line(0, "Controlled By", p.OwnerReferences[0].Kind+"/"+p.OwnerReferences[0].Name)
	}
	d.line(0, "Containers", "")
	statuses := map[string]api.ContainerStatus{}
	for _, cs := range p.Status.ContainerStatuses {
		statuses[cs.Name] = cs
	}
	for _, c := range p.Spec.Containers {
		d.line(1, c.Name, "")
		d.line(2, "Image", c.Image)
		if len(c.Ports) > 0 {
			var ps []string
			for _, port := range c.Ports {
				ps = append(ps, fmt.Sprintf("%d/%s", port.ContainerPort, orTCP(string(port.Protocol))))
			}
			d.line(2, "Port", strings.Join(ps, ", "))
		}
		if len(c.Command) > 0 {
			d.line(2, "Command", strings.Join(c.Command, " "))
		}
		if len(c.Args) > 0 {
			d.line(2, "Args", strings.Join(c.Args, " "))
		}
		if cs, ok := statuses[c.Name]; ok {
			d.line(2, "State", containerState(cs.State))
			d.line(2, "Ready", cs.Ready)
			d.line(2, "Restart Count", cs.RestartCount)
		}
		if len(c.Env) > 0 {
			d.line(2, "Environment", "")
			for _, e := range c.Env {
				v := e.Value
				if e.ValueFrom != nil {
					v = "<set from a reference>"
				}
				d.line(3, e.Name, v)
			}
		}
	}
	if len(p.Status.Conditions) > 0 {
		d.line(0, "Conditions", "")
		d.line(1, "", "Type\tStatus")
		for _, c := range p.Status.Conditions {
			d.line(1, "", string(c.Type)+"\t"+string(c.Status))
		}
		_ = d.tw.Flush()
	}
	d.line(0, "QoS Class", orNone(string(p.Status.QOSClass)))
	mapLines(d, 0, "Node-Selectors", p.Spec.NodeSelector)
	var tols []string
	for _, t := range p.Spec.Tolerations {
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		if t.Effect != "" {
			s += ":" + string(t.Effect)
		}
		if t.TolerationSeconds != nil {
			s += fmt.Sprintf(" for %ds", *t.TolerationSeconds)
		}
		tols = append(tols, s)
	}
	d.line(0, "Tolerations", orNone(strings.Join(tols, ", ")))
}

func orTCP(p string) string {
	if p == "" {
		return "TCP"
	}
	return p
}

func derefInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func containerState(s api.ContainerState) string {
	switch {
	case s.Running != nil:
		return "Running"
	case s.Waiting != nil:
		return "Waiting: " + s.Waiting.Reason
	case s.Terminated != nil:
		return fmt.Sprintf("Terminated: %s (exit code %d)", s.Terminated.Reason, s.Terminated.ExitCode)
	}
	return "<unknown>"
}

func describeDeployment(d *describer, o *api.Deployment) {
	d.line(0, "CreationTimestamp", o.CreationTimestamp.UTC().Format(time.RFC1123Z))
	mapLines(d, 0, "Labels", o.Labels)
	mapLines(d, 0, "Annotations", o.Annotations)
	sel := "<none>"
	if o.Spec.Selector != nil {
		if ls, err := api.LabelSelectorAsSelector(o.Spec.Selector); err == nil {
			sel = ls.String()
		}
	}
	d.line(0, "Selector", sel)
	st := o.Status
	d.line(0, "Replicas", fmt.Sprintf("%d desired | %d updated | %d total | %d available | %d unavailable",
		derefInt32(o.Spec.Replicas), st.UpdatedReplicas, st.Replicas, st.AvailableReplicas, st.UnavailableReplicas))
	d.line(0, "StrategyType", string(o.Spec.Strategy.Type))
	d.line(0, "MinReadySeconds", o.Spec.MinReadySeconds)
	if ru := o.Spec.Strategy.RollingUpdate; ru != nil {
		d.line(0, "RollingUpdateStrategy", fmt.Sprintf("%s max unavailable, %s max surge", intOrString(ru.MaxUnavailable), intOrString(ru.MaxSurge)))
	}
	if o.Spec.Paused {
		d.line(0, "Paused", "true")
	}
	d.line(0, "Pod Template", "")
	mapLines(d, 1, "Labels", o.Spec.Template.Labels)
	d.line(1, "Containers", "")
	for _, c := range o.Spec.Template.Spec.Containers {
		d.line(2, c.Name, "")
		d.line(3, "Image", c.Image)
	}
	if len(st.Conditions) > 0 {
		d.line(0, "Conditions", "")
		d.line(1, "", "Type\tStatus\tReason")
		for _, c := range st.Conditions {
			d.line(1, "", string(c.Type)+"\t"+string(c.Status)+"\t"+c.Reason)
		}
		_ = d.tw.Flush()
	}
}

func intOrString(v *api.IntOrString) string {
	if v == nil {
		return "<unset>"
	}
	return v.String()
}

func describeNode(d *describer, n *api.Node) {
	mapLines(d, 0, "Labels", n.Labels)
	mapLines(d, 0, "Annotations", n.Annotations)
	d.line(0, "CreationTimestamp", n.CreationTimestamp.UTC().Format(time.RFC1123Z))
	var taints []string
	for _, t := range n.Spec.Taints {
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		taints = append(taints, s+":"+string(t.Effect))
	}
	d.line(0, "Taints", orNone(strings.Join(taints, ", ")))
	d.line(0, "Unschedulable", n.Spec.Unschedulable)
	if len(n.Status.Conditions) > 0 {
		d.line(0, "Conditions", "")
		d.line(1, "", "Type\tStatus\tReason\tMessage")
		for _, c := range n.Status.Conditions {
			d.line(1, "", string(c.Type)+"\t"+string(c.Status)+"\t"+c.Reason+"\t"+c.Message)
		}
		_ = d.tw.Flush()
	}
	d.line(0, "Addresses", "")
	for _, a := range n.Status.Addresses {
		d.line(1, string(a.Type), a.Address)
	}
	resources := func(title string, rl api.ResourceList) {
		d.line(0, title, "")
		keys := make([]string, 0, len(rl))
		for k := range rl {
			keys = append(keys, string(k))
		}
		sort.Strings(keys)
		for _, k := range keys {
			q := rl[api.ResourceName(k)]
			d.line(1, k, q.String())
		}
	}
	resources("Capacity", n.Status.Capacity)
	resources("Allocatable", n.Status.Allocatable)
	if n.Spec.PodCIDR != "" {
		d.line(0, "PodCIDR", n.Spec.PodCIDR)
	}
}

func describeService(d *describer, s *api.Service) {
	mapLines(d, 0, "Labels", s.Labels)
	mapLines(d, 0, "Annotations", s.Annotations)
	mapLines(d, 0, "Selector", s.Spec.Selector)
	typ := string(s.Spec.Type)
	if typ == "" {
		typ = "ClusterIP"
	}
	d.line(0, "Type", typ)
	d.line(0, "IP", orNone(s.Spec.ClusterIP))
	for _, p := range s.Spec.Ports {
		name := p.Name
		if name == "" {
			name = "<unset>"
		}
		d.line(0, "Port", fmt.Sprintf("%s  %d/%s", name, p.Port, orTCP(string(p.Protocol))))
		d.line(0, "TargetPort", p.TargetPort.String()+"/"+orTCP(string(p.Protocol)))
		if p.NodePort != 0 {
			d.line(0, "NodePort", fmt.Sprintf("%s  %d/%s", name, p.NodePort, orTCP(string(p.Protocol))))
		}
	}
	d.line(0, "Session Affinity", orNone(string(s.Spec.SessionAffinity)))
}

func describeEvents(d *describer, evs []api.Event, now time.Time) {
	if len(evs) == 0 {
		d.line(0, "Events", "<none>")
		return
	}
	_ = d.tw.Flush()
	d.line(0, "Events", "")
	ew := tabwriter.NewWriter(d.tw, 0, 8, 2, ' ', 0)
	fmt.Fprintln(ew, "  Type\tReason\tAge\tFrom\tMessage")
	fmt.Fprintln(ew, "  ----\t------\t----\t----\t-------")
	for i := range evs {
		e := &evs[i]
		age := humanAge(now.Sub(eventTime(e)))
		if e.Count > 1 {
			age = fmt.Sprintf("%s (x%d)", age, e.Count)
		}
		from := e.Source.Component
		if from == "" {
			from = e.ReportingController
		}
		fmt.Fprintf(ew, "  %s\t%s\t%s\t%s\t%s\n", e.Type, e.Reason, age, from, strings.TrimSpace(e.Message))
	}
	_ = ew.Flush()
}

// humanAge prints a duration as kubectl does: 45s, 5m12s, 3h, 2d4h.
func humanAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Seconds())
	switch {
	case s < 120:
		return fmt.Sprintf("%ds", s)
	case s < 600:
		if s%60 == 0 {
			return fmt.Sprintf("%dm", s/60)
		}
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case s < 3*3600:
		return fmt.Sprintf("%dm", s/60)
	case s < 8*3600:
		if m := (s % 3600) / 60; m != 0 {
			return fmt.Sprintf("%dh%dm", s/3600, m)
		}
		return fmt.Sprintf("%dh", s/3600)
	case s < 48*3600:
		return fmt.Sprintf("%dh", s/3600)
	case s < 8*86400:
		if h := (s % 86400) / 3600; h != 0 {
			return fmt.Sprintf("%dd%dh", s/86400, h)
		}
		return fmt.Sprintf("%dd", s/86400)
	}
	return fmt.Sprintf("%dd", s/86400)
}
