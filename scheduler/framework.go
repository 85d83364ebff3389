package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/scheduler/framework"
)

// FrameworkOptions are what NewFramework needs beyond the profile. The
// zero value works for tests that run cycles on a snapshot (no client:
// binding fails).
type FrameworkOptions struct {
	// Registry adds plugins to those registered with Register.
	Registry Registry
	// Client is what plugins write through (Handle.Client).
	Client framework.Client
	// Parallelism is the most goroutines Filter and Score run on. 0
	// means GOMAXPROCS. See Config.Parallelism.
	Parallelism int
	// PercentageOfNodesToScore is the profile's default (0: adaptive).
	PercentageOfNodesToScore int32
	// Clock runs the Permit timeouts. nil means the wall clock.
	Clock workqueue.Clock
	// Logger receives the log lines. nil means discard.
	Logger *slog.Logger
	// Rand breaks ties between the best nodes. nil means a random source.
	Rand *rand.Rand
}

// frameworkDeps are the shared parts a Framework is made with.
type frameworkDeps struct {
	client      framework.Client
	waiting     *waitingPods
	clock       workqueue.Clock
	logger      *slog.Logger
	parallelism int
	percentage  int32
	rand        *rand.Rand
	namespaces  namespaceGetter // NamespaceLabels' source (nil: none known); see namespaces.go
}

// Framework is one profile's plugins, made and ordered per extension
// point, with the functions that run them: the cycle (Schedule), Reserve,
// Permit and the binding steps. It is also the framework.Handle its
// plugins are given. Schedule is called from one goroutine at a time; the
// binding steps from any.
type Framework struct {
	name       string
	queueSort  framework.QueueSortPlugin
	preFilter  []framework.PreFilterPlugin
	filter     []framework.FilterPlugin
	postFilter []framework.PostFilterPlugin
	preScore   []framework.PreScorePlugin
	score      []weightedScore
	reserve    []framework.ReservePlugin
	permit     []framework.PermitPlugin
	preBind    []framework.PreBindPlugin
	bind       []framework.BindPlugin
	postBind   []framework.PostBindPlugin
	plugins    map[string]framework.Plugin

	deps      frameworkDeps
	nominator Nominator    // nil: no nominated pods
	nextStart atomic.Int64 // where the next Filter pass starts, for fairness
	snapshot  atomic.Pointer[snapshotBox]
	randMu    sync.Mutex
	// filterFan and scoreFan choose whether Filter and Score run spread
	// over the nodes in parallel or on the cycle's goroutine (fanout.go).
	filterFan, scoreFan fanOut
}

type snapshotBox struct{ s framework.Snapshot }

type weightedScore struct {
	p      framework.ScorePlugin
	weight int64
}

var _ framework.Handle = (*Framework)(nil)

// NewFramework makes the plugins of profile p.
func NewFramework(p Profile, opts FrameworkOptions) (*Framework, error) {
	reg, err := registered(opts.Registry)
	if err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = workqueue.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return newFramework(p, reg, frameworkDeps{
		client: opts.Client, clock: opts.Clock, logger: opts.Logger,
		parallelism: opts.Parallelism, percentage: opts.PercentageOfNodesToScore, rand: opts.Rand,
	})
}

func newFramework(p Profile, reg Registry, deps frameworkDeps) (*Framework, error) {
	if deps.parallelism <= 0 {
		deps.parallelism = runtime.GOMAXPROCS(0)
	}
	if p.PercentageOfNodesToScore != 0 {
		deps.percentage = p.PercentageOfNodesToScore
	}
	if deps.waiting == nil {
		deps.waiting = newWaitingPods()
	}
	if deps.clock == nil {
		deps.clock = workqueue.RealClock{}
	}
	if deps.logger == nil {
		deps.logger = slog.New(slog.DiscardHandler)
	}
	if deps.rand == nil {
		deps.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	f := &Framework{name: p.SchedulerName, deps: deps, plugins: make(map[string]framework.Plugin)}

	args := make(map[string]any, len(p.PluginConfig))
	for i, pc := range p.PluginConfig {
		if pc.Name == "" {
			return nil, fmt.Errorf("PluginConfig[%d].Name is empty", i)
		}
		if _, dup := args[pc.Name]; dup {
			return nil, fmt.Errorf("PluginConfig[%d]: plugin %q has args twice", i, pc.Name)
		}
		args[pc.Name] = pc.Args
	}
	points, err := resolvePlugins(p.Plugins)
	if err != nil {
		return nil, err
	}
	get := func(point, name string) (framework.Plugin, error) {
		if pl, ok := f.plugins[name]; ok {
			return pl, nil
		}
		factory, ok := reg[name]
		if !ok {
			return nil, fmt.Errorf("Plugins.%s: unknown plugin %q: register it with scheduler.Register or Config.Registry", point, name)
		}
		pl, err := factory(args[name], f)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", name, err)
		}
		if pl == nil {
			return nil, fmt.Errorf("plugin %s: the factory returned nil", name)
		}
		f.plugins[name] = pl
		return pl, nil
	}
	// Make every plugin, in a stable order.
	for _, pt := range points {
		for _, ref := range pt.refs {
			if _, err := get(pt.name, ref.Name); err != nil {
				return nil, err
			}
		}
	}
	for name := range args {
		if _, ok := f.plugins[name]; !ok {
			return nil, fmt.Errorf("PluginConfig: plugin %q has args but is not enabled", name)
		}
	}
	for _, pt := range points {
		for _, ref := range pt.refs {
			pl := f.plugins[ref.Name]
			ok := true
			switch pt.name {
			case "QueueSort":
				var q framework.QueueSortPlugin
				if q, ok = pl.(framework.QueueSortPlugin); ok {
					if f.queueSort != nil {
						return nil, fmt.Errorf("Plugins.QueueSort: both %q and %q are enabled: exactly one is allowed", f.queueSort.Name(), ref.Name)
					}
					f.queueSort = q
				}
			case "PreFilter":
				ok = appendAs(&f.preFilter, pl)
			case "Filter":
				ok = appendAs(&f.filter, pl)
			case "PostFilter":
				ok = appendAs(&f.postFilter, pl)
			case "PreScore":
				ok = appendAs(&f.preScore, pl)
			case "Score":
				var s framework.ScorePlugin
				if s, ok = pl.(framework.ScorePlugin); ok {
					w := int64(ref.Weight)
					if w == 0 {
						w = 1
					}
					if w < 0 {
						return nil, fmt.Errorf("Plugins.Score: plugin %q has weight %d: must be positive", ref.Name, w)
					}
					f.score = append(f.score, weightedScore{p: s, weight: w})
				}
			case "Reserve":
				ok = appendAs(&f.reserve, pl)
			case "Permit":
				ok = appendAs(&f.permit, pl)
			case "PreBind":
				ok = appendAs(&f.preBind, pl)
			case "Bind":
				ok = appendAs(&f.bind, pl)
			case "PostBind":
				ok = appendAs(&f.postBind, pl)
			}
			if !ok && !ref.multi {
				return nil, fmt.Errorf("Plugins.%s: plugin %q does not implement the %s extension point", pt.name, ref.Name, pt.name)
			}
		}
	}
	if f.queueSort == nil {
		return nil, errNoQueueSort
	}
	if len(f.bind) == 0 {
		return nil, errors.New("Plugins.Bind: no Bind plugin enabled: at least one is required (the default is DefaultBinder)")
	}
	return f, nil
}

func appendAs[T any](list *[]T, pl framework.Plugin) bool {
	t, ok := pl.(T)
	if ok {
		*list = append(*list, t)
	}
	return ok
}

// point is one extension point's resolved plugins.
type point struct {
	name string
	refs []resolvedRef
}

type resolvedRef struct {
	PluginRef
	multi bool // from MultiPoint: skipped where not implemented
}

// resolvePlugins merges p with DefaultPlugins as Plugins documents.
func resolvePlugins(p Plugins) ([]point, error) {
	def := DefaultPlugins()
	multi, err := mergeSet("MultiPoint", def.MultiPoint.Enabled, p.MultiPoint)
	if err != nil {
		return nil, err
	}
	sets := []struct {
		name string
		def  []PluginRef
		set  PluginSet
	}{
		{"QueueSort", def.QueueSort.Enabled, p.QueueSort},
		{"PreFilter", def.PreFilter.Enabled, p.PreFilter},
		{"Filter", def.Filter.Enabled, p.Filter},
		{"PostFilter", def.PostFilter.Enabled, p.PostFilter},
		{"PreScore", def.PreScore.Enabled, p.PreScore},
		{"Score", def.Score.Enabled, p.Score},
		{"Reserve", def.Reserve.Enabled, p.Reserve},
		{"Permit", def.Permit.Enabled, p.Permit},
		{"PreBind", def.PreBind.Enabled, p.PreBind},
		{"Bind", def.Bind.Enabled, p.Bind},
		{"PostBind", def.PostBind.Enabled, p.PostBind},
	}
	var out []point
	for _, s := range sets {
		pt := point{name: s.name}
		disabled, all := disabledSet(s.set.Disabled)
		explicit, err := mergeSet(s.name, s.def, PluginSet{Enabled: s.set.Enabled})
		if err != nil {
			return nil, err
		}
		weight := make(map[string]int32)
		for _, r := range explicit {
			weight[r.Name] = r.Weight
		}
		seen := make(map[string]bool)
		if !all {
			for _, r := range multi {
				if disabled[r.Name] {
					continue
				}
				if _, ok := weight[r.Name]; ok {
					continue // listed explicitly: its place and weight are there
				}
				pt.refs = append(pt.refs, resolvedRef{PluginRef: r, multi: true})
				seen[r.Name] = true
			}
		}
		for _, r := range explicit {
			if seen[r.Name] || (disabled[r.Name] && !containsRef(s.set.Enabled, r.Name)) {
				continue
			}
			if r.Weight == 0 {
				for _, m := range multi {
					if m.Name == r.Name {
						r.Weight = m.Weight
					}
				}
			}
			pt.refs = append(pt.refs, resolvedRef{PluginRef: r})
			seen[r.Name] = true
		}
		out = append(out, pt)
	}
	return out, nil
}

func containsRef(refs []PluginRef, name string) bool {
	for _, r := range refs {
		if r.Name == name {
			return true
		}
	}
	return false
}

func disabledSet(refs []PluginRef) (map[string]bool, bool) {
	m := make(map[string]bool, len(refs))
	all := false
	for _, r := range refs {
		if r.Name == "*" {
			all = true
		}
		m[r.Name] = true
	}
	return m, all
}

// mergeSet applies set to def: Disabled removes (by name, "*" all), then
// Enabled adds in order, replacing the weight of a plugin already there.
func mergeSet(point string, def []PluginRef, set PluginSet) ([]PluginRef, error) {
	disabled, all := disabledSet(set.Disabled)
	var out []PluginRef
	if !all {
		for _, r := range def {
			if !disabled[r.Name] {
				out = append(out, r)
			}
		}
	}
	for i, r := range set.Enabled {
		if r.Name == "" {
			return nil, fmt.Errorf("Plugins.%s.Enabled[%d].Name is empty", point, i)
		}
		if r.Weight < 0 {
			return nil, fmt.Errorf("Plugins.%s.Enabled[%d] (%s): weight %d must be positive, or 0 for the default", point, i, r.Name, r.Weight)
		}
		replaced := false
		for j := range out {
			if out[j].Name == r.Name {
				if r.Weight != 0 {
					out[j].Weight = r.Weight
				}
				replaced = true
			}
		}
		if !replaced {
			out = append(out, r)
		}
	}
	return out, nil
}

// Nominator gives the pods nominated to a node: pods that preemption
// made room for there, which a cycle must count on that node (if they
// have at least the priority of the pod being scheduled) so that the room
// is not taken by another. The scheduling queue is one; it is called from
// Filter's goroutines.
type Nominator interface {
	NominatedPodsForNode(node string) []*framework.PodInfo
}

// NominationCounter is a Nominator that tells cheaply how many pods are
// nominated at all (an optional interface): a cycle that finds none skips
// asking NominatedPodsForNode for each node, thousands of calls a cycle
// (the scheduling queue takes its lock for each). It is read once per
// cycle, from the scheduling goroutine.
type NominationCounter interface {
	NumNominatedPods() int
}

// cycleNominator returns the Nominator a cycle starting now consults:
// nil if there is none or it says no pod is nominated.
func (f *Framework) cycleNominator() Nominator {
	if c, ok := f.nominator.(NominationCounter); ok && c.NumNominatedPods() == 0 {
		return nil
	}
	return f.nominator
}

// SetNominator sets where Schedule finds the nominated pods.
func (f *Framework) SetNominator(n Nominator) { f.nominator = n }

// Name returns the profile's scheduler name.
func (f *Framework) Name() string { return f.name }

// Plugin returns the profile's plugin of that name, or nil.
func (f *Framework) Plugin(name string) framework.Plugin { return f.plugins[name] }

// Less is the QueueSort plugin's order.
func (f *Framework) Less(a, b *framework.QueuedPodInfo) bool { return f.queueSort.Less(a, b) }

// ScoreWeights returns the Score plugins' weights, by name.
func (f *Framework) ScoreWeights() map[string]int64 {
	m := make(map[string]int64, len(f.score))
	for _, s := range f.score {
		m[s.p.Name()] = s.weight
	}
	return m
}

// Snapshot returns the snapshot of the current (or last) cycle. It is
// valid only during the scheduling cycle (see framework.Handle.Snapshot):
// the next cycle rewrites it.
func (f *Framework) Snapshot() framework.Snapshot {
	if b := f.snapshot.Load(); b != nil {
		return b.s
	}
	return emptySnapshot{}
}

// Client returns the client plugins write through (nil without one).
func (f *Framework) Client() framework.Client { return f.deps.client }

// WaitingPod returns a pod waiting in Permit, or nil.
func (f *Framework) WaitingPod(uid api.UID) framework.WaitingPod {
	if w := f.deps.waiting.get(uid); w != nil {
		return w
	}
	return nil
}

// skipKey is where the cycle state keeps the plugins that answered Skip
// in PreFilter, so that RunFilterPlugins skips their Filter too.
const skipKey framework.StateKey = "scheduler/skip-filter"

type skipSet map[string]bool

func (s skipSet) Clone() framework.StateData { return s }

func skippedFilters(state *framework.CycleState) skipSet {
	if v, ok := state.Read(skipKey); ok {
		if s, ok := v.(skipSet); ok {
			return s
		}
	}
	return nil
}

// RunFilterPlugins runs the Filter plugins for pod on node, in order,
// stopping at the first that does not pass; the status names it.
func (f *Framework) RunFilterPlugins(ctx context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) *framework.Status {
	return f.runFilters(ctx, state, pod, node, f.activeFilters(skippedFilters(state)))
}

// activeFilters returns the Filter plugins not in skip, in order. It is
// worked out once per cycle so that the per-node loop looks nothing up.
func (f *Framework) activeFilters(skip skipSet) []framework.FilterPlugin {
	if len(skip) == 0 {
		return f.filter
	}
	out := make([]framework.FilterPlugin, 0, len(f.filter))
	for _, p := range f.filter {
		if !skip[p.Name()] {
			out = append(out, p)
		}
	}
	return out
}

// runFilters is RunFilterPlugins with the active plugins already worked
// out (see activeFilters).
func (f *Framework) runFilters(ctx context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo, filters []framework.FilterPlugin) *framework.Status {
	for _, p := range filters {
		s := p.Filter(ctx, state, pod, node)
		if !s.IsSuccess() {
			return ownStatus(p.Name(), s)
		}
	}
	return nil
}

// ownStatus returns a copy of a plugin's non-success status that names
// the plugin (the plugin's own may be shared between nodes). A code that
// makes no sense where it was given becomes an Error.
//
// A status that already names the plugin is returned as it is, not
// copied: plugins that answer every rejected node with the same status
// set their name on it once (WithPlugin), which saves Filter two
// allocations per rejected node. Nothing changes a status once a cycle
// has it.
func ownStatus(plugin string, s *framework.Status) *framework.Status {
	switch s.Code() {
	case framework.Unschedulable, framework.UnschedulableAndUnresolvable, framework.Wait, framework.Skip:
		if s.Plugin() == plugin {
			return s
		}
		return framework.NewStatus(s.Code(), s.Reasons()...).WithPlugin(plugin)
	}
	return framework.AsStatus(fmt.Errorf("plugin %s: %w", plugin, s.Err())).WithPlugin(plugin)
}

// RunPreFilterExtensionAddPod calls AddPod of the PreFilter plugins with
// extensions (those not skipped).
func (f *Framework) RunPreFilterExtensionAddPod(ctx context.Context, state *framework.CycleState, pod *api.Pod, add *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return f.runPreFilterExtensions(state, func(ext framework.PreFilterExtensions) *framework.Status {
		return ext.AddPod(ctx, state, pod, add, node)
	})
}

// RunPreFilterExtensionRemovePod calls RemovePod of the PreFilter plugins
// with extensions (those not skipped).
func (f *Framework) RunPreFilterExtensionRemovePod(ctx context.Context, state *framework.CycleState, pod *api.Pod, remove *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return f.runPreFilterExtensions(state, func(ext framework.PreFilterExtensions) *framework.Status {
		return ext.RemovePod(ctx, state, pod, remove, node)
	})
}

// runPreFilterExtensions calls call with the extensions of each PreFilter
// plugin that has them and was not skipped in this cycle, in order, and
// stops at the first failure.
func (f *Framework) runPreFilterExtensions(state *framework.CycleState, call func(framework.PreFilterExtensions) *framework.Status) *framework.Status {
	skip := skippedFilters(state)
	for _, p := range f.preFilter {
		ext, ok := p.(framework.PreFilterWithExtensions)
		if !ok || skip[p.Name()] || ext.PreFilterExtensions() == nil {
			continue
		}
		if s := call(ext.PreFilterExtensions()); !s.IsSuccess() {
			return ownStatus(p.Name(), s)
		}
	}
	return nil
}

// RunReservePlugins runs Reserve in order; if one fails, every Reserve
// plugin's Unreserve is called (in reverse) and its status returned.
func (f *Framework) RunReservePlugins(ctx context.Context, state *framework.CycleState, pod *api.Pod, node string) *framework.Status {
	for _, p := range f.reserve {
		if s := p.Reserve(ctx, state, pod, node); !s.IsSuccess() {
			f.RunUnreservePlugins(ctx, state, pod, node)
			return ownStatus(p.Name(), s)
		}
	}
	return nil
}

// RunUnreservePlugins calls every Reserve plugin's Unreserve, last first.
func (f *Framework) RunUnreservePlugins(ctx context.Context, state *framework.CycleState, pod *api.Pod, node string) {
	for i := len(f.reserve) - 1; i >= 0; i-- {
		f.reserve[i].Unreserve(ctx, state, pod, node)
	}
}

// RunPermitPlugins runs Permit. It returns nil if all approved, a
// rejection or error status, or Wait: the pod is then a WaitingPod until
// every waiting plugin allows it, one rejects it, or its timeout passes;
// WaitOnPermit waits for that.
func (f *Framework) RunPermitPlugins(ctx context.Context, state *framework.CycleState, pod *api.Pod, node string) *framework.Status {
	waits := make(map[string]framework.Duration)
	for _, p := range f.permit {
		s, timeout := p.Permit(ctx, state, pod, node)
		switch {
		case s.IsSuccess():
		case s.Code() == framework.Wait:
			if timeout <= 0 {
				return framework.NewStatus(framework.Unschedulable, "rejected by Permit: it asked to wait with no timeout").WithPlugin(p.Name())
			}
			waits[p.Name()] = timeout
		default:
			return ownStatus(p.Name(), s)
		}
	}
	if len(waits) == 0 {
		return nil
	}
	f.deps.waiting.add(pod, waits, f.deps.clock)
	return framework.NewStatus(framework.Wait)
}

// WaitOnPermit waits until a pod that Permit held is allowed (nil),
// rejected or timed out (Unschedulable, naming the plugin), or ctx ends
// (Error). A pod that is not waiting returns nil at once.
func (f *Framework) WaitOnPermit(ctx context.Context, pod *api.Pod) *framework.Status {
	w := f.deps.waiting.get(pod.UID)
	if w == nil {
		return nil
	}
	defer f.deps.waiting.remove(pod.UID)
	select {
	case s := <-w.done:
		return s
	case <-ctx.Done():
		w.Reject("", "the scheduler stopped")
		return framework.AsStatus(ctx.Err())
	}
}

// RunPreBindPlugins runs PreBind in order, stopping at the first failure.
func (f *Framework) RunPreBindPlugins(ctx context.Context, state *framework.CycleState, pod *api.Pod, node string) *framework.Status {
	for _, p := range f.preBind {
		if s := p.PreBind(ctx, state, pod, node); !s.IsSuccess() {
			return ownStatus(p.Name(), s)
		}
	}
	return nil
}

// RunBindPlugins runs Bind plugins until one does not Skip.
func (f *Framework) RunBindPlugins(ctx context.Context, state *framework.CycleState, pod *api.Pod, node string) *framework.Status {
	for _, p := range f.bind {
		s := p.Bind(ctx, state, pod, node)
		if s.IsSkip() {
			continue
		}
		if !s.IsSuccess() {
			return ownStatus(p.Name(), s)
		}
		return nil
	}
	return framework.AsStatus(fmt.Errorf("every Bind plugin skipped pod %s/%s", pod.Namespace, pod.Name))
}

// RunPostBindPlugins tells the PostBind plugins.
func (f *Framework) RunPostBindPlugins(ctx context.Context, state *framework.CycleState, pod *api.Pod, node string) {
	for _, p := range f.postBind {
		p.PostBind(ctx, state, pod, node)
	}
}

// emptySnapshot is the snapshot before any cycle.
type emptySnapshot struct{}

func (emptySnapshot) List() []*framework.NodeInfo                             { return nil }
func (emptySnapshot) Get(string) *framework.NodeInfo                          { return nil }
func (emptySnapshot) HavePodsWithAffinity() []*framework.NodeInfo             { return nil }
func (emptySnapshot) HavePodsWithRequiredAntiAffinity() []*framework.NodeInfo { return nil }

// sortedNames returns the keys of m, sorted.
func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
