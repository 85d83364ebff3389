package schedulerbench

import (
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
)

// Mode is how a scenario is run.
type Mode string

// The modes.
const (
	// ModeSim runs the scheduler against its cache alone
	// (scheduler.Simulator): the per-pod latency is the cycle time.
	ModeSim Mode = "sim"
	// ModeE2E runs the real scheduler against an API server on a one-member
	// raftstore, over HTTP on loopback: the per-pod latency runs from its
	// create returning to a watch seeing it bound.
	ModeE2E Mode = "e2e"
	// ModeE2EInProcess is ModeE2E with the scheduler where drover up runs
	// it: in the API server's process, through the server's in-process
	// transport (apiserver.Server.Transport) instead of loopback TCP. The
	// pods' creators and the bench's watch still use TCP.
	ModeE2EInProcess Mode = "e2e-inprocess"
)

// isE2E reports whether m runs through an API server.
func (m Mode) isE2E() bool { return m == ModeE2E || m == ModeE2EInProcess }

// Namespace is where the pods go.
const Namespace = "bench"

// The labels the scenarios use.
const (
	ZoneLabel     = "topology.kubernetes.io/zone"
	HostnameLabel = "kubernetes.io/hostname"
	AppLabel      = "app"
)

// Zones is the number of zones nodes are spread over.
const Zones = 10

// Apps is the number of apps the anti-affinity and spread scenarios'
// pods belong to.
const Apps = 50

// Scenario is one row group of the table: the cluster and the pods.
type Scenario struct {
	// Name is the -scenario name.
	Name string
	// Describe says what the pods ask for, for the table's notes.
	Describe string
	// Targets are the throughputs the issue sets, in pods/s, by mode
	// (absent: none).
	Targets map[Mode]float64
	// Existing returns the pods placed on nodes before the run, or nil.
	Existing func(nodes []*api.Node) []*api.Pod
	// Pod returns the i-th pod to schedule.
	Pod func(i int) *api.Pod
	// Fits reports whether m pods fit on n nodes, with a reason if not.
	Fits func(n, m int) error
}

// Scenarios returns every scenario, in table order.
func Scenarios() []Scenario {
	return []Scenario{
		{
			Name:     "basic",
			Describe: "pods request 100m cpu / 100Mi; nodes 32 cpu / 128Gi / 110 pods",
			Targets:  map[Mode]float64{ModeSim: 5000, ModeE2E: 2000, ModeE2EInProcess: 2000},
			Pod:      func(i int) *api.Pod { return basePod(i, "100m", "100Mi") },
			Fits:     fitsPods(110),
		},
		{
			Name:     "nodeaffinity",
			Describe: fmt.Sprintf("nodes in %d zones; pods require one of %d zones and prefer one of them", Zones, Zones/2),
			Pod: func(i int) *api.Pod {
				p := basePod(i, "100m", "100Mi")
				var half []string
				for z := range Zones / 2 {
					half = append(half, zone(z))
				}
				p.Spec.Affinity = &api.Affinity{NodeAffinity: &api.NodeAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: &api.NodeSelector{NodeSelectorTerms: []api.NodeSelectorTerm{{
						MatchExpressions: []api.NodeSelectorRequirement{{Key: ZoneLabel, Operator: api.NodeSelectorOpIn, Values: half}},
					}}},
					PreferredDuringSchedulingIgnoredDuringExecution: []api.PreferredSchedulingTerm{{
						Weight: 10,
						Preference: api.NodeSelectorTerm{MatchExpressions: []api.NodeSelectorRequirement{{
							Key: ZoneLabel, Operator: api.NodeSelectorOpIn, Values: []string{zone(i % (Zones / 2))},
						}}},
					}},
				}}
				return p
			},
			Fits: func(n, m int) error {
				if m > n/2*110 {
					return fmt.Errorf("%d pods do not fit on the half of %d nodes they may use (110 pods each)", m, n)
				}
				return nil
			},
		},
		{
			Name:     "antiaffinity",
			Describe: fmt.Sprintf("pods of %d apps, each with required anti-affinity on %s against its own app", Apps, HostnameLabel),
			Targets:  map[Mode]float64{ModeSim: 1000},
			Pod: func(i int) *api.Pod {
				p := basePod(i, "100m", "100Mi")
				app := fmt.Sprintf("app-%d", i%Apps)
				p.Labels = map[string]string{AppLabel: app}
				p.Spec.Affinity = &api.Affinity{PodAntiAffinity: &api.PodAntiAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{{
						LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{AppLabel: app}},
						TopologyKey:   HostnameLabel,
					}},
				}}
				return p
			},
			Fits: func(n, m int) error {
				if m > n*Apps {
					return fmt.Errorf("%d pods of %d apps do not fit on %d nodes (one pod of each app per node)", m, Apps, n)
				}
				return nil
			},
		},
		{
			Name:     "topologyspread",
			Describe: fmt.Sprintf("pods of %d apps, each spread over the %d zones with maxSkew 1 (DoNotSchedule)", Apps, Zones),
			Pod: func(i int) *api.Pod {
				p := basePod(i, "100m", "100Mi")
				app := fmt.Sprintf("app-%d", i%Apps)
				p.Labels = map[string]string{AppLabel: app}
				p.Spec.TopologySpreadConstraints = []api.TopologySpreadConstraint{{
					MaxSkew: 1, TopologyKey: ZoneLabel, WhenUnsatisfiable: api.DoNotSchedule,
					LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{AppLabel: app}},
				}}
				return p
			},
			Fits: fitsPods(110),
		},
		{
			Name:     "preemption",
			Describe: "nodes full of two low-priority 16-cpu pods each; each pod (priority 1000, 16 cpu) must preempt one",
			Existing: func(nodes []*api.Node) []*api.Pod {
				var out []*api.Pod
				for i, n := range nodes {
					for j := range 2 {
						p := basePod(0, "16", "1Gi")
						p.Name = fmt.Sprintf("low-%d-%d", i, j)
						p.Spec.NodeName = n.Name
						p.Spec.Priority = new(int32(0))
						// Deleted at once: there are no node agents to
						// confirm a graceful deletion.
						p.Spec.TerminationGracePeriodSeconds = new(int64(0))
						out = append(out, p)
					}
				}
				return out
			},
			Pod: func(i int) *api.Pod {
				p := basePod(i, "16", "1Gi")
				p.Spec.Priority = new(int32(1000))
				return p
			},
			Fits: func(n, m int) error {
				if m > 2*n {
					return fmt.Errorf("%d preempting pods need more than the %d low-priority pods of %d nodes", m, 2*n, n)
				}
				return nil
			},
		},
	}
}

func fitsPods(perNode int) func(n, m int) error {
	return func(n, m int) error {
		if m > n*perNode {
			return fmt.Errorf("%d pods do not fit on %d nodes of %d pods", m, n, perNode)
		}
		return nil
	}
}

func zone(i int) string { return fmt.Sprintf("zone-%d", i) }

// Nodes returns n nodes of 32 cpu, 128Gi and 110 pods, spread over the
// zones in turn.
func Nodes(n int) []*api.Node {
	out := make([]*api.Node, n)
	for i := range out {
		name := fmt.Sprintf("node-%d", i)
		rl := api.ResourceList{
			api.ResourceCPU:    resource.MustParse("32"),
			api.ResourceMemory: resource.MustParse("128Gi"),
			"pods":             resource.MustParse("110"),
		}
		out[i] = &api.Node{
			ObjectMeta: api.ObjectMeta{Name: name, Labels: map[string]string{
				HostnameLabel: name, ZoneLabel: zone(i % Zones),
			}},
			Status: api.NodeStatus{Capacity: rl, Allocatable: rl},
		}
	}
	return out
}

// basePod is pod-i requesting cpu and memory.
func basePod(i int, cpu, mem string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: Namespace, Name: fmt.Sprintf("pod-%d", i)},
		Spec: api.PodSpec{Containers: []api.Container{{
			Name: "c", Image: "registry.k8s.io/pause:3.10",
			Resources: api.ResourceRequirements{Requests: api.ResourceList{
				api.ResourceCPU: resource.MustParse(cpu), api.ResourceMemory: resource.MustParse(mem),
			}},
		}}},
	}
}
