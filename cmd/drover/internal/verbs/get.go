package verbs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
)

type getOpts struct {
	conn
	output        string
	selector      string
	allNamespaces bool
	watch         bool
	showLabels    bool
}

func newGet() *cobra.Command {
	o := &getOpts{}
	cmd := &cobra.Command{
		Use:   "get TYPE[/NAME] [NAME...]",
		Short: "Display one or many objects",
		Long: "Display one or many objects, as the server prints them (its Table columns),\n" +
			"or as YAML, JSON or names with -o.",
		Example: "  drover get pods\n  drover get deploy/web -o yaml\n  drover get pods -A -l app=web -w",
		Args:    cobra.MinimumNArgs(1),
		RunE:    o.run,
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "output format: wide, yaml, json or name")
	f.StringVarP(&o.selector, "selector", "l", "", "label selector, such as app=web,tier!=db")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list across all namespaces")
	f.BoolVarP(&o.watch, "watch", "w", false, "after listing, watch for changes")
	f.BoolVar(&o.showLabels, "show-labels", false, "show the labels as the last column")
	return cmd
}

func checkOutput(o string) error {
	switch o {
	case "", "wide", "yaml", "json", "name":
		return nil
	}
	return fmt.Errorf("--output %q is not supported: use wide, yaml, json or name", o)
}

func parseSelector(s string) (labels.Selector, error) {
	if s == "" {
		return labels.Everything(), nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return labels.Selector{}, fmt.Errorf("--selector %q: %w", s, err)
	}
	return sel, nil
}

func (o *getOpts) run(cmd *cobra.Command, args []string) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
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
	if o.watch && len(targets) != 1 {
		return fmt.Errorf("--watch takes one resource type")
	}
	c := ctx(cmd)
	var errs []error
	printed := false
	for _, t := range targets {
		if o.allNamespaces && len(t.names) > 0 && t.kind.Namespaced {
			return errors.New("a resource cannot be retrieved by name across all namespaces: give -n NAMESPACE instead of -A")
		}
		lo := client.ListOptions{Namespace: s.nsFor(t.kind, ""), LabelSelector: sel}
		if o.allNamespaces {
			lo.Namespace = ""
		}
		switch o.output {
		case "yaml", "json", "name":
			objs, err := fetch(c, s, t, lo)
			if err != nil {
				errs = append(errs, err)
				if objs == nil {
					continue
				}
			}
			if err := printObjects(s, o.output, t.kind, objs, len(t.names) == 1); err != nil {
				return err
			}
			continue
		}
		p := &tablePrinter{wide: o.output == "wide", showLabels: o.showLabels, withNamespace: o.allNamespaces && t.kind.Namespaced, kind: t.kind, multi: len(targets) > 1}
		tab, err := tables(c, s, t, lo)
		if err != nil {
			errs = append(errs, err)
			if tab == nil {
				continue
			}
		}
		if len(tab.Rows) == 0 && len(t.names) == 0 && !o.watch {
			continue
		}
		if printed {
			fmt.Fprintln(s.out)
		}
		printed = true
		p.print(s.out, tab, true)
		if o.watch {
			return o.watchTable(cmd, s, t, lo, p, tab.Metadata.ResourceVersion)
		}
	}
	if !printed && len(errs) == 0 && (o.output == "" || o.output == "wide") {
		switch ns := s.namespace; {
		case o.allNamespaces || !targets[0].kind.Namespaced:
			fmt.Fprintln(s.errw, "No resources found")
		default:
			fmt.Fprintf(s.errw, "No resources found in %s namespace.\n", ns)
		}
	}
	return joinErrs(errs)
}

// fetch reads the named objects of t, or those lo selects.
func fetch(c ctxT, s *session, t target, lo client.ListOptions) ([]api.Object, error) {
	if len(t.names) == 0 {
		list := t.kind.NewList()
		if err := s.c.List(c, list, lo); err != nil {
			return nil, err
		}
		return items(list), nil
	}
	var out []api.Object
	var errs []error
	for _, n := range t.names {
		obj := t.kind.New()
		if err := s.c.Get(c, s.nsFor(t.kind, lo.Namespace), n, obj); err != nil {
			errs = append(errs, wrapGetErr(err, t.kind, n))
			continue
		}
		out = append(out, obj)
	}
	return out, joinErrs(errs)
}

// tables asks the server for the Table of t.
func tables(c ctxT, s *session, t target, lo client.ListOptions) (*client.Table, error) {
	if len(t.names) == 0 {
		return s.c.Table(c, t.kind, "", lo)
	}
	var tab *client.Table
	var errs []error
	for _, n := range t.names {
		one, err := s.c.Table(c, t.kind, n, client.InNamespace(s.nsFor(t.kind, lo.Namespace)))
		if err != nil {
			errs = append(errs, wrapGetErr(err, t.kind, n))
			continue
		}
		if tab == nil {
			tab = one
		} else {
			tab.Rows = append(tab.Rows, one.Rows...)
		}
	}
	return tab, joinErrs(errs)
}

func joinErrs(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\nerror: "))
}

// printObjects prints objects as YAML, JSON or names. One object asked for
// by name prints alone; otherwise a v1 List.
func printObjects(s *session, format string, k api.Kind, objs []api.Object, single bool) error {
	if format == "name" {
		for _, obj := range objs {
			fmt.Fprintln(s.out, typeName(k, obj.GetObjectMeta().Name))
		}
		return nil
	}
	var doc any
	if single && len(objs) == 1 {
		data, err := s.scheme.Encode(objs[0])
		if err != nil {
			return err
		}
		doc = json.RawMessage(data)
	} else {
		raw := make([]json.RawMessage, len(objs))
		for i, obj := range objs {
			data, err := s.scheme.Encode(obj)
			if err != nil {
				return err
			}
			raw[i] = data
		}
		doc = map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}, "items": raw}
	}
	js, err := json.MarshalIndent(doc, "", "    ")
	if err != nil {
		return err
	}
	if format == "json" {
		_, err = fmt.Fprintf(s.out, "%s\n", js)
		return err
	}
	y, err := api.JSONToYAML(js)
	if err != nil {
		return err
	}
	_, err = s.out.Write(y)
	return err
}

// tablePrinter prints the server's Tables as kubectl does: upper-case
// headings and columns aligned with three spaces between them.
type tablePrinter struct {
	wide, showLabels, withNamespace, multi bool
	kind                                   api.Kind
}

func (p *tablePrinter) print(w io.Writer, t *client.Table, header bool) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	var cols []int
	for i, c := range t.ColumnDefinitions {
		if c.Priority == 0 || p.wide {
			cols = append(cols, i)
		}
	}
	if header {
		var h []string
		if p.withNamespace {
			h = append(h, "NAMESPACE")
		}
		for _, i := range cols {
			h = append(h, strings.ToUpper(t.ColumnDefinitions[i].Name))
		}
		if p.showLabels {
			h = append(h, "LABELS")
		}
		fmt.Fprintln(tw, strings.Join(h, "\t"))
	}
	for _, r := range t.Rows {
		var cells []string
		if p.withNamespace {
			cells = append(cells, r.Object.Metadata.Namespace)
		}
		for _, i := range cols {
			v := ""
			if i < len(r.Cells) {
				v = cell(r.Cells[i])
			}
			if p.multi && t.ColumnDefinitions[i].Format == "name" {
				v = typeName(p.kind, v)
			}
			cells = append(cells, v)
		}
		if p.showLabels {
			cells = append(cells, labelString(r.Object.Metadata.Labels))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	_ = tw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "<none>"
	case string:
		return x
	case float64:
		return fmt.Sprint(int64(x))
	default:
		return fmt.Sprint(x)
	}
}

func labelString(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}

// watchTable prints a row for every change after rv, until the command's
// context ends.
func (o *getOpts) watchTable(cmd *cobra.Command, s *session, t target, lo client.ListOptions, p *tablePrinter, rv string) error {
	c := ctx(cmd)
	lo.ResourceVersion = rv
	w, err := s.c.Watch(c, t.kind.NewList(), lo)
	if err != nil {
		return err
	}
	defer w.Stop()
	names := map[string]bool{}
	for _, n := range t.names {
		names[n] = true
	}
	// last holds the last row printed of each object, printed again
	// when it is deleted, as the server cannot print what is gone.
	last := map[string]*client.Table{}
	for ev := range w.Events() {
		switch ev.Type {
		case api.WatchEventType("ERROR"):
			return ev.Err
		case api.WatchEventType("BOOKMARK"):
			continue
		}
		m := ev.Object.GetObjectMeta()
		if len(names) > 0 && !names[m.Name] {
			continue
		}
		key := m.Namespace + "/" + m.Name
		if ev.Type == api.WatchEventType("DELETED") {
			if one := last[key]; one != nil {
				p.print(s.out, one, false)
				delete(last, key)
			}
			continue
		}
		one, err := s.c.Table(c, t.kind, m.Name, client.InNamespace(m.Namespace))
		if err != nil {
			if api.IsNotFound(err) {
				continue // deleted since: its DELETED event follows
			}
			return err
		}
		last[key] = one
		p.print(s.out, one, false)
	}
	return c.Err()
}
