// Package nodeports is the NodePorts scheduler plugin: a pod that asks
// for host ports fits only nodes where none of them is taken, for the
// same protocol and an overlapping address (0.0.0.0 overlaps every
// address).
package nodeports

import (
	"context"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// Name is the plugin's name, as in Kubernetes.
const Name = "NodePorts"

// ErrReason is the reason a node is rejected.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

// Args are the plugin's arguments; it has none.
type Args struct{}

// Validate reports nothing: there is nothing to get wrong.
func (Args) Validate() error { return nil }

// Plugin is the NodePorts plugin. It is safe for concurrent use.
type Plugin struct{}

var (
	_ framework.PreFilterPlugin = (*Plugin)(nil)
	_ framework.FilterPlugin    = (*Plugin)(nil)
)

// New returns the plugin.
func New(args Args, _ framework.Handle) (*Plugin, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	return &Plugin{}, nil
}

// Name returns Name.
func (*Plugin) Name() string { return Name }

const stateKey framework.StateKey = Name

// preFilterState is the pod's host ports, normalized. It is immutable.
type preFilterState []framework.HostPort

func (s preFilterState) Clone() framework.StateData { return s }

const wildcard = "0.0.0.0"

// PodHostPorts returns the host ports of pod's containers, with the
// protocol defaulted to TCP and an empty address made 0.0.0.0.
func PodHostPorts(pod *api.Pod) []framework.HostPort {
	var out []framework.HostPort
	for i := range pod.Spec.Containers {
		for _, p := range pod.Spec.Containers[i].Ports {
			if p.HostPort <= 0 {
				continue
			}
			out = append(out, normalize(framework.HostPort{IP: p.HostIP, Protocol: p.Protocol, Port: p.HostPort}))
		}
	}
	return out
}

func normalize(hp framework.HostPort) framework.HostPort {
	if hp.IP == "" {
		hp.IP = wildcard
	}
	if hp.Protocol == "" {
		hp.Protocol = api.ProtocolTCP
	}
	return hp
}

// PreFilter collects the pod's host ports; a pod without any skips
// Filter.
func (*Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *api.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	ports := PodHostPorts(pod)
	if len(ports) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(stateKey, preFilterState(ports))
	return nil, nil
}

// Filter rejects a node where one of the pod's host ports is taken.
func (*Plugin) Filter(_ context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	var ports []framework.HostPort
	if v, ok := state.Read(stateKey); ok {
		ports = v.(preFilterState)
	} else {
		ports = PodHostPorts(pod)
	}
	if Conflicts(ports, node.UsedPorts) {
		return errConflict
	}
	return nil
}

// errConflict is Filter's status for every node it rejects (saving an
// allocation per node), never modified; it names the plugin, so the
// scheduler need not copy it to do so.
var errConflict = framework.NewStatus(framework.Unschedulable, ErrReason).WithPlugin(Name)

// Conflicts reports whether any of want (normalized, as PodHostPorts
// returns) is taken in used: the same port and protocol on the same
// address, or with either address 0.0.0.0.
func Conflicts(want []framework.HostPort, used map[framework.HostPort]struct{}) bool {
	if len(used) == 0 {
		return false
	}
	for _, w := range want {
		if w.IP == wildcard {
			for u := range used {
				if u.Port == w.Port && normalize(u).Protocol == w.Protocol {
					return true
				}
			}
			continue
		}
		for _, k := range [...]framework.HostPort{
			w,
			{IP: wildcard, Protocol: w.Protocol, Port: w.Port},
			{IP: "", Protocol: w.Protocol, Port: w.Port},
		} {
			if _, ok := used[k]; ok {
				return true
			}
			if w.Protocol == api.ProtocolTCP {
				k.Protocol = ""
				if _, ok := used[k]; ok {
					return true
				}
			}
		}
	}
	return false
}
