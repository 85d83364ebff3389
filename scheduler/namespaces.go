package scheduler

import (
	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/scheduler/plugins/interpodaffinity"
)

// namespaceGetter reads namespaces: the Scheduler's Namespace lister
// (an informer.Lister[*api.Namespace]). Safe for concurrent use.
type namespaceGetter interface {
	Get(namespace, name string) (*api.Namespace, error)
}

var _ interpodaffinity.NamespaceLabeler = (*Framework)(nil)

// NamespaceLabels returns the labels of the namespace named namespace,
// from the Scheduler's cache of namespaces, or nil if it is not known (or
// the Framework was made by NewFramework, which watches none). It is the
// interpodaffinity.NamespaceLabeler of the plugins' Handle, so that the
// namespaceSelector of pod affinity terms selects namespaces by their
// labels. The returned set must not be modified. Safe for concurrent use.
func (f *Framework) NamespaceLabels(namespace string) labels.Set {
	if f.deps.namespaces == nil {
		return nil
	}
	ns, err := f.deps.namespaces.Get("", namespace)
	if err != nil || ns == nil {
		return nil
	}
	if ns.Labels == nil {
		// Known, with no labels: not nil, which would mean unknown (a
		// selector such as env NotIn (prod) selects it).
		return labels.Set{}
	}
	return labels.Set(ns.Labels)
}
