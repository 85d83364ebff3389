// Package podtopologyspread is the PodTopologySpread scheduler plugin: it
// keeps the pods a topology spread constraint selects evenly spread over
// the domains of its topology key (the values of a node label: zones,
// hostnames).
//
// For a constraint, a domain's count is the number of pods in the pod's
// namespace, not being deleted, that the constraint's labelSelector
// selects, on the nodes of that domain. Only eligible nodes count, and
// only their domains exist: a node is eligible if it has every
// constraint's topology key and matches the pod's nodeSelector and
// required node affinity (Kubernetes' nodeAffinityPolicy Honor, its
// default); node taints are not considered (nodeTaintsPolicy Ignore, its
// default). Drover's constraints have no per-constraint policies and no
// matchLabelKeys.
//
// Filter (constraints with whenUnsatisfiable DoNotSchedule): placing the
// pod in a node's domain must keep count + (1 if the pod matches its own
// selector) - the lowest count of any domain within maxSkew; when there
// are fewer domains than minDomains, the lowest count is taken as 0.
//
// Score (ScheduleAnyway): nodes whose domains hold fewer matching pods
// score higher, each constraint weighted by the log of its number of
// domains.
//
// # Cost
//
// The plugin keeps the snapshot's pods indexed by label between cycles
// (following the NodeInfos that changed), so a constraint whose selector
// requires a label (app=web) counts only the pods with it. It also keeps
// the domain counts of recent pods' constraints, updated with the nodes
// that changed (see counts.go): for a pod without a nodeSelector or
// required node affinity, PreFilter then copies the counts (a map of
// the domains) and PreScore looks up those of the nodes it scores,
// instead of O(nodes) map operations each. Filter is a lookup per
// constraint. AddPod and RemovePod keep the lowest count in O(1) with a
// histogram of the counts. See BenchmarkTopologySpread, and
// BenchmarkScheduleTopologySpread in package scheduler.
//
// # Default constraints
//
// Kubernetes applies system default constraints (zone maxSkew 5,
// hostname maxSkew 3, ScheduleAnyway) to a pod without constraints that
// belongs to a Service, ReplicaSet or StatefulSet, selecting its
// siblings by that owner's selector. Here defaults apply only when
// Args.DefaultConstraints is set, to a pod without constraints and with
// labels, and select the pods with all of the pod's labels.
package podtopologyspread

import (
	"context"
	"fmt"
	"math"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/scheduler/framework"
	"github.com/drover-io/drover/scheduler/plugins/internal/helper"
)

// Name is the plugin's name.
const Name = "PodTopologySpread"

// hostnameLabel is the node label that names one node: its domains are
// as many as the nodes.
const hostnameLabel = "kubernetes.io/hostname"

// The reasons of Filter.
const (
	ReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	ReasonNodeLabelNotMatch   = "node(s) didn't match pod topology spread constraints (missing required label)"
)

// Args are the plugin's arguments; the zero value is the default.
type Args struct {
	// DefaultConstraints apply to pods that have no constraints of their
	// own (see the package doc). They must not set labelSelector.
	DefaultConstraints []api.TopologySpreadConstraint `json:"defaultConstraints,omitempty"`
}

// Validate reports the first invalid default constraint.
func (a Args) Validate() error {
	for i, c := range a.DefaultConstraints {
		switch {
		case c.MaxSkew < 1:
			return fmt.Errorf("podtopologyspread: defaultConstraints[%d].maxSkew: %d must be at least 1", i, c.MaxSkew)
		case c.TopologyKey == "":
			return fmt.Errorf("podtopologyspread: defaultConstraints[%d].topologyKey: must not be empty", i)
		case c.WhenUnsatisfiable != api.DoNotSchedule && c.WhenUnsatisfiable != api.ScheduleAnyway:
			return fmt.Errorf("podtopologyspread: defaultConstraints[%d].whenUnsatisfiable: %q; want DoNotSchedule or ScheduleAnyway", i, c.WhenUnsatisfiable)
		case c.LabelSelector != nil:
			return fmt.Errorf("podtopologyspread: defaultConstraints[%d].labelSelector: must not be set; the pod's labels are used", i)
		case c.MinDomains != nil && (*c.MinDomains < 1 || c.WhenUnsatisfiable != api.DoNotSchedule):
			return fmt.Errorf("podtopologyspread: defaultConstraints[%d].minDomains: %d; want at least 1, and only with DoNotSchedule", i, *c.MinDomains)
		}
		for j := range i {
			if d := a.DefaultConstraints[j]; d.TopologyKey == c.TopologyKey && d.WhenUnsatisfiable == c.WhenUnsatisfiable {
				return fmt.Errorf("podtopologyspread: defaultConstraints[%d]: duplicate of [%d] (topologyKey %q, whenUnsatisfiable %s)", i, j, c.TopologyKey, c.WhenUnsatisfiable)
			}
		}
	}
	return nil
}

// Plugin is the PodTopologySpread plugin. PreFilter, PreScore and
// NormalizeScore are called from the scheduling goroutine; Filter and
// Score from several goroutines; the PreFilterExtensions from
// preemption's goroutines, each with its own CycleState.
type Plugin struct {
	args  Args
	h     framework.Handle
	index podIndex
}

var (
	_ framework.PreFilterWithExtensions = (*Plugin)(nil)
	_ framework.FilterPlugin            = (*Plugin)(nil)
	_ framework.PreScorePlugin          = (*Plugin)(nil)
	_ framework.ScorePlugin             = (*Plugin)(nil)
)

// New returns the plugin. h may be nil: PreScore then counts only the
// pods on the nodes it is given.
func New(args Args, h framework.Handle) (*Plugin, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	return &Plugin{args: args, h: h}, nil
}

// Name returns Name.
func (p *Plugin) Name() string { return Name }

// constraint is a compiled TopologySpreadConstraint.
type constraint struct {
	maxSkew    int64
	key        string
	minDomains int64
	sel        labels.Selector
	// exact is a label every selected pod has, if ok.
	exact   labelPair
	exactOK bool
}

// constraints returns the pod's constraints with action, or the default
// ones if it has none.
func (p *Plugin) constraints(pod *api.Pod, action api.UnsatisfiableConstraintAction) ([]constraint, error) {
	var out []constraint
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		for i, c := range pod.Spec.TopologySpreadConstraints {
			if c.WhenUnsatisfiable != action {
				continue
			}
			sel, err := api.LabelSelectorAsSelector(c.LabelSelector)
			if err != nil {
				return nil, fmt.Errorf("podtopologyspread: pod %s/%s: topologySpreadConstraints[%d]: %w", pod.Namespace, pod.Name, i, err)
			}
			out = append(out, compile(c, sel))
		}
		return out, nil
	}
	if len(pod.Labels) == 0 {
		return nil, nil
	}
	for _, c := range p.args.DefaultConstraints {
		if c.WhenUnsatisfiable == action {
			out = append(out, compile(c, labels.SelectorFromSet(labels.Set(pod.Labels))))
		}
	}
	return out, nil
}

func compile(c api.TopologySpreadConstraint, sel labels.Selector) constraint {
	minDomains := int64(1)
	if c.MinDomains != nil && c.WhenUnsatisfiable == api.DoNotSchedule {
		minDomains = int64(*c.MinDomains)
	}
	out := constraint{maxSkew: int64(c.MaxSkew), key: c.TopologyKey, minDomains: minDomains, sel: sel}
	out.exact, out.exactOK = exactLabel(sel)
	return out
}

// countPods calls add(i, node) once for every pod in namespace that
// constraint i counts on an eligible node (see the package doc) of
// nodes. With indexed, nodes must be every node of the snapshot, and the
// pods of constraints whose selector requires a label are found through
// the index; otherwise every pod is looked at.
func (p *Plugin) countPods(cs []constraint, f nodeFilter, namespace string, nodes []*framework.NodeInfo, indexed bool, add func(i int, node *api.Node)) {
	eligible := func(node *api.Node) bool { return hasKeys(node, cs) && f.match(node) }
	all := make([]int, len(cs))
	for i := range all {
		all[i] = i
	}
	addEligible := func(i int, node *api.Node) {
		if eligible(node) {
			add(i, node)
		}
	}
	if indexed {
		p.index.mu.Lock()
		defer p.index.mu.Unlock()
		p.index.follow(p.h, nodes)
		p.index.count(cs, all, namespace, nodes, addEligible)
		return
	}
	for _, n := range nodes {
		if !eligible(n.Node) {
			continue
		}
		for _, pi := range n.Pods {
			for i := range cs {
				if counts(pi.Pod, cs[i].sel, namespace) {
					add(i, n.Node)
				}
			}
		}
	}
}

// hasKeys reports whether node has every constraint's topology key.
func hasKeys(node *api.Node, cs []constraint) bool {
	if node == nil {
		return false
	}
	for i := range cs {
		if _, ok := node.Labels[cs[i].key]; !ok {
			return false
		}
	}
	return true
}

// nodeFilter is the pod's nodeSelector and required node affinity.
type nodeFilter struct {
	selector map[string]string
	affinity *helper.NodeSelector
}

func newNodeFilter(pod *api.Pod) nodeFilter {
	f := nodeFilter{selector: pod.Spec.NodeSelector}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		// An invalid term matches no node; the NodeAffinity plugin reports it.
		f.affinity, _ = helper.CompileNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
	}
	return f
}

// empty reports whether f matches every node.
func (f nodeFilter) empty() bool { return len(f.selector) == 0 && f.affinity == nil }

func (f nodeFilter) match(node *api.Node) bool {
	for k, v := range f.selector {
		if w, ok := node.Labels[k]; !ok || w != v {
			return false
		}
	}
	return f.affinity == nil || f.affinity.Match(node)
}

// counts reports whether a constraint with sel counts pod for a pod in
// namespace: same namespace, not being deleted, selected.
func counts(pod *api.Pod, sel labels.Selector, namespace string) bool {
	return pod.Namespace == namespace && pod.DeletionTimestamp == nil && sel.Matches(labels.Set(pod.Labels))
}

const preFilterKey framework.StateKey = Name + "/preFilter"

// preFilterState holds, per constraint, every domain's count and the
// lowest count.
type preFilterState struct {
	constraints []constraint
	nodes       nodeFilter
	domains     []*domainCounts
	// self is, per constraint, 1 if the pod matches its selector.
	self []int64
}

func (s *preFilterState) Clone() framework.StateData {
	out := *s
	out.domains = make([]*domainCounts, len(s.domains))
	for i, d := range s.domains {
		out.domains[i] = d.clone()
	}
	return &out
}

// domainCounts are the matching pods per domain, with a histogram of the
// counts so that the lowest count follows an update in O(1).
type domainCounts struct {
	count map[string]int64 // domain -> pods
	hist  map[int64]int    // pods -> domains with that many
	min   int64
}

func newDomainCounts() *domainCounts {
	return &domainCounts{count: make(map[string]int64), hist: make(map[int64]int)}
}

// finish computes the histogram and lowest count once every domain is
// counted.
func (d *domainCounts) finish() {
	d.min = math.MaxInt64
	for _, n := range d.count {
		d.hist[n]++
		d.min = min(d.min, n)
	}
}

// add changes an existing domain's count by delta (1 or -1).
func (d *domainCounts) add(domain string, delta int64) {
	c, ok := d.count[domain]
	if !ok {
		return // not a domain of an eligible node
	}
	d.count[domain] = c + delta
	d.hist[c]--
	if d.hist[c] == 0 {
		delete(d.hist, c)
	}
	d.hist[c+delta]++
	switch {
	case c+delta < d.min:
		d.min = c + delta
	case c == d.min && d.hist[c] == 0:
		d.min = c + delta // the only domain at the lowest count went up by one
	}
}

// lowest is the lowest count, or 0 if there are fewer than minDomains
// domains.
func (d *domainCounts) lowest(minDomains int64) int64 {
	if int64(len(d.count)) < minDomains {
		return 0
	}
	return d.min
}

func (d *domainCounts) clone() *domainCounts {
	out := &domainCounts{count: make(map[string]int64, len(d.count)), hist: make(map[int64]int, len(d.hist)), min: d.min}
	for k, v := range d.count {
		out.count[k] = v
	}
	for k, v := range d.hist {
		out.hist[k] = v
	}
	return out
}

// PreFilter counts the matching pods per domain of each DoNotSchedule
// constraint; it answers Skip if the pod has none. nodes must be every
// node of the snapshot.
func (p *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *api.Pod, nodes []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	cs, err := p.constraints(pod, api.DoNotSchedule)
	if err != nil {
		return nil, framework.AsStatus(err)
	}
	if len(cs) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{constraints: cs, nodes: newNodeFilter(pod), domains: make([]*domainCounts, len(cs))}
	s.self = make([]int64, len(cs))
	for i := range cs {
		s.domains[i] = newDomainCounts()
		if cs[i].key == hostnameLabel {
			s.domains[i].count = make(map[string]int64, len(nodes))
		}
		if cs[i].sel.Matches(labels.Set(pod.Labels)) {
			s.self[i] = 1
		}
	}
	if s.nodes.empty() {
		// The counts the index keeps (see counts.go).
		p.index.mu.Lock()
		p.index.follow(p.h, nodes)
		for i, k := range p.index.keptCounts(cs, pod.Namespace, nodes) {
			s.domains[i] = k.domainCounts()
		}
		p.index.mu.Unlock()
		state.Write(preFilterKey, s)
		return nil, nil
	}
	// Every domain of an eligible node, with 0; then the pods.
	for _, n := range nodes {
		if !hasKeys(n.Node, cs) || !s.nodes.match(n.Node) {
			continue
		}
		for i := range cs {
			s.domains[i].count[n.Node.Labels[cs[i].key]] += 0
		}
	}
	p.countPods(cs, s.nodes, pod.Namespace, nodes, true, func(i int, node *api.Node) {
		s.domains[i].count[node.Labels[cs[i].key]]++
	})
	for _, d := range s.domains {
		d.finish()
	}
	state.Write(preFilterKey, s)
	return nil, nil
}

// PreFilterExtensions returns the plugin: it updates its counts when
// preemption adds or removes a pod.
func (p *Plugin) PreFilterExtensions() framework.PreFilterExtensions { return p }

// AddPod counts add on node.
func (p *Plugin) AddPod(_ context.Context, state *framework.CycleState, pod *api.Pod, add *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return update(state, pod, add.Pod, node.Node, 1)
}

// RemovePod uncounts remove on node.
func (p *Plugin) RemovePod(_ context.Context, state *framework.CycleState, pod *api.Pod, remove *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return update(state, pod, remove.Pod, node.Node, -1)
}

func update(state *framework.CycleState, pod, other *api.Pod, node *api.Node, delta int64) *framework.Status {
	s, st := readState(state)
	if s == nil {
		return st
	}
	if !hasKeys(node, s.constraints) || !s.nodes.match(node) {
		return nil
	}
	for i, c := range s.constraints {
		if counts(other, c.sel, pod.Namespace) {
			s.domains[i].add(node.Labels[c.key], delta)
		}
	}
	return nil
}

func readState(state *framework.CycleState) (*preFilterState, *framework.Status) {
	v, ok := state.Read(preFilterKey)
	if !ok {
		return nil, nil
	}
	s, ok := v.(*preFilterState)
	if !ok {
		return nil, framework.AsStatus(fmt.Errorf("podtopologyspread: cycle state %q holds %T", preFilterKey, v))
	}
	return s, nil
}

// Filter rejects a node without a constraint's topology key
// (UnschedulableAndUnresolvable) and one where the pod would make a
// constraint's skew exceed maxSkew (Unschedulable).
func (p *Plugin) Filter(_ context.Context, state *framework.CycleState, _ *api.Pod, ni *framework.NodeInfo) *framework.Status {
	s, st := readState(state)
	if s == nil {
		return st
	}
	node := ni.Node
	if node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node not found")
	}
	for i, c := range s.constraints {
		v, ok := node.Labels[c.key]
		if !ok {
			return errLabelNotMatch
		}
		d := s.domains[i]
		if d.count[v]+s.self[i]-d.lowest(c.minDomains) > c.maxSkew {
			return errConstraintsNotMatch
		}
	}
	return nil
}

// Filter's rejections, shared by every node it rejects (saving an
// allocation per node); they name the plugin, so the scheduler need not
// copy them to do so. Never modified.
var (
	errLabelNotMatch       = framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonNodeLabelNotMatch).WithPlugin(Name)
	errConstraintsNotMatch = framework.NewStatus(framework.Unschedulable, ReasonConstraintsNotMatch).WithPlugin(Name)
)
