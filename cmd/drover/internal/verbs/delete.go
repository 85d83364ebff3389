package verbs

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/client"
)

type deleteOpts struct {
	conn
	fileOpts
	selector    string
	all         bool
	cascade     string
	gracePeriod int64
	wait        bool
}

func newDelete() *cobra.Command {
	o := &deleteOpts{}
	cmd := &cobra.Command{
		Use:   "delete ([-f FILENAME] | TYPE [(NAME | -l label | --all)])",
		Short: "Delete objects by file, by type and name, or by label",
		Long: "Delete objects, and wait until they are gone (--wait=false not to).\n" +
			"--cascade says what happens to their dependents: background (deleted after),\n" +
			"foreground (deleted first) or orphan (left).",
		Example: "  drover delete -f web.yaml\n  drover delete deploy/web\n  drover delete pods -l app=web\n  drover delete rs --all --cascade=orphan",
		RunE:    o.run,
	}
	o.conn.addFlags(cmd)
	o.fileOpts.addFlags(cmd, "to delete")
	f := cmd.Flags()
	f.StringVarP(&o.selector, "selector", "l", "", "delete the objects with these labels")
	f.BoolVar(&o.all, "all", false, "delete every object of the type in the namespace")
	f.StringVar(&o.cascade, "cascade", "background", "background, foreground or orphan")
	f.Int64Var(&o.gracePeriod, "grace-period", -1, "seconds the objects may take to stop (pods); -1 means the kind's default, 0 at once")
	f.BoolVar(&o.wait, "wait", true, "wait until the objects are gone")
	return cmd
}

func propagation(cascade string) (client.DeletionPropagation, error) {
	switch cascade {
	case "background", "true":
		return client.DeletePropagationBackground, nil
	case "foreground":
		return client.DeletePropagationForeground, nil
	case "orphan", "false":
		return client.DeletePropagationOrphan, nil
	}
	return "", fmt.Errorf("--cascade %q: must be background, foreground or orphan", cascade)
}

func (o *deleteOpts) run(cmd *cobra.Command, args []string) error {
	prop, err := propagation(o.cascade)
	if err != nil {
		return err
	}
	if len(o.files) > 0 && len(args) > 0 {
		return fmt.Errorf("give either -f or TYPE NAME, not both")
	}
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	c := ctx(cmd)
	type victim struct {
		kind api.Kind
		obj  api.Object
	}
	var victims []victim
	var errs []error
	if len(o.files) > 0 {
		ms, err := o.read(s.scheme, cmd.InOrStdin())
		if err != nil {
			return err
		}
		for _, m := range ms {
			k, err := s.scheme.ObjectKind(m.obj)
			if err != nil {
				return err
			}
			s.scheme.SetDefaultNamespace(m.obj, s.namespace)
			victims = append(victims, victim{k, m.obj})
		}
	} else {
		targets, err := resolveArgs(s.scheme, args)
		if err != nil {
			return err
		}
		sel, err := parseSelector(o.selector)
		if err != nil {
			return err
		}
		for _, t := range targets {
			if len(t.names) == 0 && !o.all && o.selector == "" {
				return fmt.Errorf("resource(s) were provided, but no name was specified: give a name, -l SELECTOR or --all")
			}
			objs, err := fetch(c, s, t, client.ListOptions{Namespace: s.nsFor(t.kind, ""), LabelSelector: sel})
			if err != nil {
				errs = append(errs, err)
			}
			for _, obj := range objs {
				victims = append(victims, victim{t.kind, obj})
			}
		}
		if len(victims) == 0 && len(errs) == 0 {
			fmt.Fprintln(s.errw, "No resources found")
		}
	}
	opts := client.DeleteOptions{PropagationPolicy: prop}
	if o.gracePeriod >= 0 {
		g := o.gracePeriod
		opts.GracePeriodSeconds = &g
	}
	var deleted []victim
	for _, v := range victims {
		m := v.obj.GetObjectMeta()
		if err := s.c.Delete(c, v.obj, opts); err != nil {
			errs = append(errs, wrapGetErr(err, v.kind, m.Name))
			continue
		}
		fmt.Fprintf(s.out, "%s %q deleted\n", qualifiedKind(v.kind), m.Name)
		deleted = append(deleted, v)
	}
	if o.wait {
		for _, v := range deleted {
			if err := waitGone(c, s, v.kind, v.obj); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return joinErrs(errs)
}

// qualifiedKind is "deployment.apps", or "pod".
func qualifiedKind(k api.Kind) string {
	n := k.Singular
	if n == "" {
		n = k.Resource
	}
	if k.Group != "" {
		n += "." + k.Group
	}
	return n
}

// waitGone waits, watching, until the object obj (of its uid) is gone.
func waitGone(c ctxT, s *session, k api.Kind, obj api.Object) error {
	m := obj.GetObjectMeta()
	cur := k.New()
	err := s.c.Get(c, m.Namespace, m.Name, cur)
	if api.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.GetObjectMeta().UID != m.UID && m.UID != "" {
		return nil // a new object under the same name
	}
	w, err := s.c.Watch(c, k.NewList(), client.ListOptions{
		Namespace:       m.Namespace,
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", m.Name),
		ResourceVersion: cur.GetObjectMeta().ResourceVersion,
	})
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.Events() {
		switch ev.Type {
		case api.WatchEventType("DELETED"):
			return nil
		case api.WatchEventType("ERROR"):
			return fmt.Errorf("waiting for %s to be deleted: %w", typeName(k, m.Name), ev.Err)
		}
	}
	if err := c.Err(); err != nil {
		return fmt.Errorf("waiting for %s to be deleted: %w", typeName(k, m.Name), err)
	}
	return waitGone(c, s, k, obj)
}
