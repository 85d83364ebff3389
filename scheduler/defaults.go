package scheduler

import (
	"github.com/drover-io/drover/scheduler/internal/queue"
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
// default plugin that rejects pods. Plugins not listed (custom ones) are
// taken to care about every event.
var defaultInterest = map[string][]queue.Event{
	nodeunschedulable.Name: {queue.NodeAdd, queue.NodeSchedulable, queue.NodeTaintChange},
	nodename.Name:          {queue.NodeAdd},
	tainttoleration.Name:   {queue.NodeAdd, queue.NodeTaintChange},
	nodeaffinity.Name:      {queue.NodeAdd, queue.NodeLabelChange},
	nodeports.Name:         {queue.NodeAdd, queue.AssignedPodDelete, queue.AssignedPodUpdate},
	noderesources.Name:     {queue.NodeAdd, queue.NodeAllocatable, queue.AssignedPodDelete, queue.AssignedPodUpdate},
	interpodaffinity.Name: {queue.NodeAdd, queue.NodeLabelChange, queue.AssignedPodAdd,
		queue.AssignedPodUpdate, queue.AssignedPodDelete},
	podtopologyspread.Name: {queue.NodeAdd, queue.NodeLabelChange, queue.NodeDelete, queue.AssignedPodAdd,
		queue.AssignedPodUpdate, queue.AssignedPodDelete},
}
