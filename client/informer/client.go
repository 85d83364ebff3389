package informer

import (
	"context"
	"fmt"
	"reflect"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
)

// Selection restricts the objects a ClientSource's informers hold.
type Selection struct {
	// Namespace is the one namespace watched; "" means every namespace
	// (and is ignored for cluster-scoped kinds).
	Namespace string
	// LabelSelector and FieldSelector pick the objects; the zero values
	// select everything.
	LabelSelector labels.Selector
	FieldSelector fields.Selector
}

// ClientSource returns a Source that lists and watches through c: the
// usual Source of a Factory.
func ClientSource(c *client.Client, sel Selection) Source {
	return func(kind api.Kind) (ListerWatcher, error) {
		return ForClient(c, kind, sel)
	}
}

// ForClient returns the ListerWatcher of kind's objects through c.
func ForClient(c *client.Client, kind api.Kind, sel Selection) (ListerWatcher, error) {
	if c == nil {
		return nil, fmt.Errorf("informer: the client of %s is nil", kind.GroupVersionKind)
	}
	base := client.ListOptions{LabelSelector: sel.LabelSelector, FieldSelector: sel.FieldSelector}
	if kind.Namespaced {
		base.Namespace = sel.Namespace
	}
	return &clientLW{c: c, kind: kind, base: base}, nil
}

type clientLW struct {
	c    *client.Client
	kind api.Kind
	base client.ListOptions
}

func (l *clientLW) List(ctx context.Context, o ListOptions) (*Page, error) {
	list := l.kind.NewList()
	opts := l.base
	opts.Limit, opts.Continue, opts.ResourceVersion = o.Limit, o.Continue, o.ResourceVersion
	if err := l.c.List(ctx, list, opts); err != nil {
		return nil, err
	}
	items := reflect.ValueOf(list).Elem().FieldByName("Items")
	if !items.IsValid() || items.Kind() != reflect.Slice {
		return nil, fmt.Errorf("informer: the list of %s has no Items", l.kind.GroupVersionKind)
	}
	page := &Page{
		Items:           make([]api.Object, items.Len()),
		ResourceVersion: list.GetListMeta().ResourceVersion,
		Continue:        list.GetListMeta().Continue,
	}
	for i := range page.Items {
		// Each object gets its own allocation, so that one object kept in
		// the cache does not keep its whole list's array alive.
		p := reflect.New(items.Type().Elem())
		p.Elem().Set(items.Index(i))
		obj, ok := p.Interface().(api.Object)
		if !ok {
			return nil, fmt.Errorf("informer: %s items are not objects", l.kind.GroupVersionKind)
		}
		page.Items[i] = obj
	}
	return page, nil
}

func (l *clientLW) Watch(ctx context.Context, o ListOptions) (<-chan Event, error) {
	opts := l.base
	opts.ResourceVersion, opts.AllowBookmarks, opts.TimeoutSeconds = o.ResourceVersion, o.AllowBookmarks, o.TimeoutSeconds
	w, err := l.c.Watch(ctx, l.kind.NewList(), opts)
	if err != nil {
		return nil, err
	}
	out := make(chan Event)
	go func() {
		defer close(out)
		defer w.Stop()
		for ev := range w.Events() {
			select {
			case out <- Event{Type: ev.Type, Object: ev.Object, Err: ev.Err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
