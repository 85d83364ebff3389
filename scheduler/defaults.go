package scheduler

import (
	"slices"

	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/plugins/defaultbinder"
	"github.com/drover-io/drover/scheduler/plugins/defaultpreemption"
	"github.com/drover-io/drover/scheduler/plugins/imagelocality"
	"github.com/drover-io/drover/scheduler/plugins/interpodaffinity"
	"github.com/drover-io/drover/scheduler/plugins/nodeaffinity"
	"github.com/drover-io/drover/scheduler/plugins/nodename"
	"github.com/drover-io/drover/scheduler/plugins/nodeports"
	"github.com/drover-io/drover/scheduler/plugins/noderesources"
	"github.com/drover-io/drover/scheduler/plugins/nodeunschedulable"
	"github.com/drover-io/drover/scheduler/plugins/podtopologyspread"
	"github.com/drover-io/drover/scheduler/plugins/queuesort"
	"github.com/drover-io/drover/scheduler/plugins/tainttoleration"
)

// The default plugins are registered in the process-wide registry.
func init() {
	Register(queuesort.Name, queuesort.New)
	Register(nodeunschedulable.Name, nodeunschedulable.New)
	Register(nodename.Name, nodename.New)
	Register(tainttoleration.Name, tainttoleration.New)
	Register(nodeaffinity.Name, nodeaffinity.New)
	Register(nodeports.Name, nodeports.New)
	Register(noderesources.Name, noderesources.New)
	Register(podtopologyspread.Name, podtopologyspread.New)
	Register(interpodaffinity.Name, interpodaffinity.New)
	Register(defaultpreemption.Name, defaultpreemption.New)
	Register(noderesources.BalancedAllocationName, noderesources.NewBalancedAllocation)
	Register(imagelocality.Name, imagelocality.New)
	Register(defaultbinder.Name, defaultbinder.New)
}

// DefaultPlugins returns the default profile's plugins, as Kubernetes
// enables them, each at every extension point it implements, with the
// Score weights of Kubernetes: TaintToleration 3; NodeAffinity,
// PodTopologySpread and InterPodAffinity 2; NodeResourcesFit,
// NodeResourcesBalancedAllocation and ImageLocality 1.
func DefaultPlugins() Plugins {
	return Plugins{MultiPoint: PluginSet{Enabled: []PluginRef{
		{Name: queuesort.Name},
		{Name: nodeunschedulable.Name},
		{Name: nodename.Name},
		{Name: tainttoleration.Name, Weight: 3},
		{Name: nodeaffinity.Name, Weight: 2},
		{Name: nodeports.Name},
		{Name: noderesources.Name, Weight: 1},
		{Name: podtopologyspread.Name, Weight: 2},
		{Name: interpodaffinity.Name, Weight: 2},
		{Name: defaultpreemption.Name},
		{Name: noderesources.BalancedAllocationName, Weight: 1},
		{Name: imagelocality.Name, Weight: 1},
		{Name: defaultbinder.Name},
	}}}
}

// defaultInterest is which cluster events may change the verdict of each
// default plugin that rejects pods (the default plugins do not implement
// framework.EnqueueExtensions; one that does overrides its entry here).
var defaultInterest = map[string][]framework.ClusterEvent{
	nodeunschedulable.Name: {framework.NodeAdd, framework.NodeSchedulableChange, framework.NodeTaintChange},
	nodename.Name:          {framework.NodeAdd},
	tainttoleration.Name:   {framework.NodeAdd, framework.NodeTaintChange},
	nodeaffinity.Name:      {framework.NodeAdd, framework.NodeLabelChange},
	nodeports.Name:         {framework.NodeAdd, framework.AssignedPodDelete, framework.AssignedPodUpdate},
	noderesources.Name: {framework.NodeAdd, framework.NodeAllocatableChange, framework.AssignedPodDelete,
		framework.AssignedPodUpdate},
	interpodaffinity.Name: {framework.NodeAdd, framework.NodeLabelChange, framework.AssignedPodAdd,
		framework.AssignedPodUpdate, framework.AssignedPodDelete, framework.NamespaceLabelChange},
	podtopologyspread.Name: {framework.NodeAdd, framework.NodeLabelChange, framework.NodeDelete,
		framework.AssignedPodAdd, framework.AssignedPodUpdate, framework.AssignedPodDelete},
}

// interest returns the queue's Interest for the plugins of profiles: each
// plugin's EventsToRegister if it implements framework.EnqueueExtensions,
// else its entry in defaultInterest; plugins with neither are left out
// (the queue takes them to care about every event). A name used by
// several profiles gets the union of their plugins' events.
func interest(profiles map[string]*Framework) map[string][]framework.ClusterEvent {
	sets := make(map[string]map[framework.ClusterEvent]bool)
	for _, fw := range profiles {
		for name, pl := range fw.plugins {
			evs, ok := defaultInterest[name]
			if ext, isExt := pl.(framework.EnqueueExtensions); isExt {
				evs, ok = ext.EventsToRegister(), true
			}
			if !ok {
				continue
			}
			set := sets[name]
			if set == nil {
				set = make(map[framework.ClusterEvent]bool, len(evs))
				sets[name] = set
			}
			for _, ev := range evs {
				set[ev] = true
			}
		}
	}
	out := make(map[string][]framework.ClusterEvent, len(sets))
	for name, set := range sets {
		evs := make([]framework.ClusterEvent, 0, len(set))
		for ev := range set {
			evs = append(evs, ev)
		}
		slices.Sort(evs)
		out[name] = evs
	}
	return out
}
