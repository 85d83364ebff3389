// Package serviceaccount is the ServiceAccount controller: every active
// namespace has a "default" ServiceAccount, the one pods run as when they
// name none (the API server's DefaultServiceAccount admission sets it).
// The controller creates it in each namespace that lacks it, when the
// namespace is created and whenever the account is deleted, and leaves
// namespaces being deleted alone.
//
// The system namespaces ("default", "kube-system", "kube-public",
// "kube-node-lease") are made by the API server (apiserver.Server.Run);
// this controller gives them their accounts like any other namespace.
package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/controller"
)

// Name is the controller's name: its metrics, logs, events' source and the
// key operators enable it by.
const Name = "serviceaccount"

// DefaultWorkers is the default Options.Workers.
const DefaultWorkers = 2

// Options configures the ServiceAccount controller. The zero value is the
// default configuration.
type Options struct {
	// Workers is the number of namespaces handled at once. 0 means
	// DefaultWorkers.
	Workers int
	// ServiceAccounts are the names of the accounts every active namespace
	// gets. nil means just "default".
	ServiceAccounts []string
}

// Validate reports the first field of o that is wrong.
func (o Options) Validate() error {
	if o.Workers < 0 {
		return fmt.Errorf("serviceaccount: Options.Workers is %d: must be positive, or 0 for the default (%d)", o.Workers, DefaultWorkers)
	}
	for i, n := range o.ServiceAccounts {
		if errs := api.NameIsDNSSubdomain(n, false); len(errs) > 0 {
			return fmt.Errorf("serviceaccount: Options.ServiceAccounts[%d] is %q: not a valid ServiceAccount name: %s", i, n, errs[0])
		}
	}
	return nil
}

// Add builds the ServiceAccount controller with opts and adds it to m (it
// runs under m's leader election).
func Add(m *controller.Manager, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if opts.Workers == 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.ServiceAccounts == nil {
		opts.ServiceAccounts = []string{"default"}
	}
	namespaces, err := controller.Lister[*api.Namespace](m)
	if err != nil {
		return fmt.Errorf("serviceaccount: %w", err)
	}
	accounts, err := controller.Lister[*api.ServiceAccount](m)
	if err != nil {
		return fmt.Errorf("serviceaccount: %w", err)
	}
	r := &reconciler{m: m, namespaces: namespaces, accounts: accounts, names: opts.ServiceAccounts}
	return controller.NewControllerManagedBy(m).
		Named(Name).
		For(&api.Namespace{}).
		Watches(&api.ServiceAccount{}, r.namespaceOf, controller.OnTypes(controller.Delete)).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers}).
		Complete(r)
}

type reconciler struct {
	m          *controller.Manager
	namespaces informer.Lister[*api.Namespace]
	accounts   informer.Lister[*api.ServiceAccount]
	names      []string
}

// namespaceOf maps a deleted ServiceAccount the controller maintains to
// its namespace.
func (r *reconciler) namespaceOf(_ context.Context, obj api.Object) []controller.Request {
	m := obj.GetObjectMeta()
	if !slices.Contains(r.names, m.Name) {
		return nil
	}
	return []controller.Request{{Name: m.Namespace}}
}

// Reconcile creates the missing accounts of namespace req.Name, if it is
// active.
func (r *reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	ns, err := r.namespaces.Get("", req.Name)
	if api.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == api.NamespaceTerminating {
		return controller.Result{}, nil
	}
	for _, name := range r.names {
		if _, err := r.accounts.Get(ns.Name, name); err == nil {
			continue
		}
		sa := &api.ServiceAccount{ObjectMeta: api.ObjectMeta{Namespace: ns.Name, Name: name}}
		err := r.m.GetClient().Create(ctx, sa)
		switch {
		case err == nil:
			controller.LoggerFrom(ctx).Info("created a ServiceAccount", "serviceaccount", name)
		case api.IsAlreadyExists(err):
			// The cache lags behind: it exists.
		case errors.Is(err, api.ErrForbidden) || api.IsNotFound(err):
			// The namespace started terminating or went away since the
			// cache saw it: its own events bring it back if need be.
			return controller.Result{}, nil
		default:
			return controller.Result{}, fmt.Errorf("create ServiceAccount %s/%s: %w", ns.Name, name, err)
		}
	}
	return controller.Result{}, nil
}
