// Package builtin is the controller manager: it adds Drover's built-in
// controllers, each from its package controller/<name>, to one
// controller.Manager, which runs them with one shared informer per kind,
// one leader election, one metrics registry and one health endpoint.
//
// Which controllers run is Config.Controllers, read as
// kube-controller-manager reads its --controllers flag: "*" enables every
// controller that is on by default (DefaultEnabled: all of them), "foo"
// enables foo, "-foo" disables foo. nil means {"*"}. A name that is not
// one of Names is an error that lists them. Each controller is configured
// by its own field of Config, whose zero value is its default
// configuration.
//
//	mgr, err := controller.NewManager(controller.ManagerConfig{
//		Client:        c,
//		LeaderElector: elector, // a *leaderelection.Elector: only the leader reconciles
//	})
//	err = builtin.Add(mgr, builtin.Config{
//		Controllers: []string{"*", "-nodeipam"},
//		ReplicaSet:  replicaset.Options{Workers: 10},
//	})
//	err = mgr.Start(ctx)
//
// Every controller runs under the Manager's leader election and reads the
// time from the Manager's clock (ManagerConfig.Clock) unless its Options
// set a Clock of its own, so tests on a fake clock move every
// controller's time at once.
package builtin

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/daemonset"
	"github.com/drover-io/drover/controller/deployment"
	"github.com/drover-io/drover/controller/endpoints"
	"github.com/drover-io/drover/controller/endpointslice"
	"github.com/drover-io/drover/controller/garbagecollector"
	"github.com/drover-io/drover/controller/job"
	"github.com/drover-io/drover/controller/namespace"
	"github.com/drover-io/drover/controller/nodeipam"
	"github.com/drover-io/drover/controller/nodelifecycle"
	"github.com/drover-io/drover/controller/replicaset"
	"github.com/drover-io/drover/controller/serviceaccount"
)

// Config says which built-in controllers run and how each is configured.
// The zero value runs every controller enabled by default, each in its
// default configuration.
type Config struct {
	// Controllers selects the controllers, as kube-controller-manager's
	// --controllers does: "*" is every controller enabled by default
	// (DefaultEnabled), "foo" enables foo, "-foo" disables it; a name
	// neither enabled nor disabled runs if "*" is present and it is on by
	// default. nil or empty means {"*"}. Names are those of Names.
	Controllers []string

	// The Options of each controller (see its package), used only if the
	// controller runs; the zero value is its default configuration.

	ReplicaSet       replicaset.Options       // "replicaset"
	Deployment       deployment.Options       // "deployment"
	DaemonSet        daemonset.Options        // "daemonset"
	Job              job.Options              // "job"
	Endpoints        endpoints.Options        // "endpoints"
	EndpointSlice    endpointslice.Options    // "endpointslice"
	NodeLifecycle    nodelifecycle.Options    // "nodelifecycle"
	NodeIPAM         nodeipam.Options         // "nodeipam"
	GarbageCollector garbagecollector.Options // "garbagecollector"
	Namespace        namespace.Options        // "namespace"
	ServiceAccount   serviceaccount.Options   // "serviceaccount"
}

// A builtinController is one row of the table of controllers: its name,
// whether it is on by default, and how to validate its Options and add it
// to a Manager.
type builtinController struct {
	name     string
	enabled  bool                // on by default
	field    string              // the Config field of its Options
	validate func(*Config) error // its Options' Validate
	add      func(*controller.Manager, *Config) error
}

// controllers is the table of built-in controllers, in the order Add adds
// them. It is the one place that says which are on by default: all.
var controllers = []builtinController{
	{name: replicaset.Name, enabled: true, field: "ReplicaSet",
		validate: func(c *Config) error { return c.ReplicaSet.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return replicaset.Add(m, c.ReplicaSet) }},
	{name: deployment.Name, enabled: true, field: "Deployment",
		validate: func(c *Config) error { return c.Deployment.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return deployment.Add(m, c.Deployment) }},
	{name: daemonset.Name, enabled: true, field: "DaemonSet",
		validate: func(c *Config) error { return c.DaemonSet.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return daemonset.Add(m, c.DaemonSet) }},
	{name: job.Name, enabled: true, field: "Job",
		validate: func(c *Config) error { return c.Job.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return job.Add(m, c.Job) }},
	{name: endpoints.Name, enabled: true, field: "Endpoints",
		validate: func(c *Config) error { return c.Endpoints.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return endpoints.Add(m, c.Endpoints) }},
	{name: endpointslice.Name, enabled: true, field: "EndpointSlice",
		validate: func(c *Config) error { return c.EndpointSlice.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return endpointslice.Add(m, c.EndpointSlice) }},
	{name: nodelifecycle.Name, enabled: true, field: "NodeLifecycle",
		validate: func(c *Config) error { return c.NodeLifecycle.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return nodelifecycle.Add(m, c.NodeLifecycle) }},
	{name: nodeipam.Name, enabled: true, field: "NodeIPAM",
		validate: func(c *Config) error { return c.NodeIPAM.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return nodeipam.Add(m, c.NodeIPAM) }},
	{name: garbagecollector.Name, enabled: true, field: "GarbageCollector",
		validate: func(c *Config) error { return c.GarbageCollector.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return garbagecollector.Add(m, c.GarbageCollector) }},
	{name: namespace.Name, enabled: true, field: "Namespace",
		validate: func(c *Config) error { return c.Namespace.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return namespace.Add(m, c.Namespace) }},
	{name: serviceaccount.Name, enabled: true, field: "ServiceAccount",
		validate: func(c *Config) error { return c.ServiceAccount.Validate() },
		add:      func(m *controller.Manager, c *Config) error { return serviceaccount.Add(m, c.ServiceAccount) }},
}

// Names returns the names of the built-in controllers, sorted: the names
// Config.Controllers accepts.
func Names() []string {
	names := make([]string, len(controllers))
	for i, c := range controllers {
		names[i] = c.name
	}
	slices.Sort(names)
	return names
}

// DefaultEnabled returns the names of the controllers "*" enables, sorted:
// every built-in controller.
func DefaultEnabled() []string {
	var names []string
	for _, c := range controllers {
		if c.enabled {
			names = append(names, c.name)
		}
	}
	slices.Sort(names)
	return names
}

// Enabled returns the names of the controllers c runs, sorted, or the
// error of Validate.
func (c Config) Enabled() ([]string, error) {
	on, err := c.selection()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, bc := range controllers {
		if on[bc.name] {
			names = append(names, bc.name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// selection reads Controllers: which controllers run.
func (c Config) selection() (map[string]bool, error) {
	sel := c.Controllers
	if len(sel) == 0 {
		sel = []string{"*"}
	}
	known := make(map[string]builtinController, len(controllers))
	for _, bc := range controllers {
		known[bc.name] = bc
	}
	star := false
	explicit := make(map[string]bool) // name -> enabled
	for i, s := range sel {
		name, disable := strings.CutPrefix(s, "-")
		switch {
		case s == "*":
			star = true
			continue
		case name == "":
			return nil, fmt.Errorf("builtin: Config.Controllers[%d] is %q: want \"*\", a controller's name or \"-\" and a name; the controllers are %s",
				i, s, strings.Join(Names(), ", "))
		}
		if _, ok := known[name]; !ok {
			return nil, fmt.Errorf("builtin: Config.Controllers[%d] is %q: there is no controller %q; the controllers are %s",
				i, s, name, strings.Join(Names(), ", "))
		}
		if prev, ok := explicit[name]; ok && prev == disable {
			return nil, fmt.Errorf("builtin: Config.Controllers both enables and disables %q: keep one of %q and %q", name, name, "-"+name)
		}
		explicit[name] = !disable
	}
	on := make(map[string]bool, len(controllers))
	for _, bc := range controllers {
		if e, ok := explicit[bc.name]; ok {
			on[bc.name] = e
		} else {
			on[bc.name] = star && bc.enabled
		}
	}
	return on, nil
}

// Validate reports what is wrong with c: an unknown or contradictory name
// in Controllers, or an invalid field of the Options of a controller that
// runs (the Options of controllers that do not run are not checked).
func (c Config) Validate() error {
	on, err := c.selection()
	if err != nil {
		return err
	}
	var errs []error
	for _, bc := range controllers {
		if !on[bc.name] {
			continue
		}
		if err := bc.validate(&c); err != nil {
			errs = append(errs, fmt.Errorf("builtin: Config.%s: %w", bc.field, err))
		}
	}
	return errors.Join(errs...)
}

// Add validates cfg and adds the controllers it enables to m, which runs
// them when it starts, under its leader election. It adds none if cfg is
// invalid; an error while adding one leaves those added before it in m
// (a Manager that failed to build is not started).
func Add(m *controller.Manager, cfg Config) error {
	if m == nil {
		return errors.New("builtin: Add: the Manager is nil")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	on, _ := cfg.selection()
	for _, bc := range controllers {
		if !on[bc.name] {
			continue
		}
		if err := bc.add(m, &cfg); err != nil {
			return fmt.Errorf("builtin: add controller %s: %w", bc.name, err)
		}
	}
	return nil
}
