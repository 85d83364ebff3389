// Package framework is what scheduler plugins implement and what the
// scheduler runs them with: the extension points of a scheduling cycle,
// each a small interface a plugin implements if it needs it, the status a
// plugin answers with, the per-cycle state, and the snapshot of nodes the
// cycle works on.
//
// Most code should use package scheduler, which runs the cycles; this
// package is for plugin authors (as database/sql/driver is for drivers).
//
// # A cycle
//
// For one pod the scheduler calls, in order:
//
//	PreFilter  once: compute what Filter needs, or reject the pod early
//	Filter     per node, in parallel: can the pod run here?
//	PostFilter only if no node passed: make room (preemption)
//	PreScore   once, with the nodes that passed
//	Score      per node, in parallel; then NormalizeScore per plugin
//	Reserve    the pod is assumed on the chosen node (Unreserve undoes it)
//	Permit     approve, reject, or wait (with a timeout)
//
// and then, asynchronously, in the binding cycle:
//
//	PreBind, Bind (the first plugin that does not Skip binds), PostBind
//
// Filter and Score are called from several goroutines at once, for
// different nodes: they must only read the snapshot and the cycle state.
package framework

import (
	"context"
	"fmt"
	"strings"

	"github.com/drover-io/drover/api"
)

// Code is the outcome of a plugin call.
type Code int

// The codes a plugin answers with.
const (
	// Success: the node passes, or the step is done.
	Success Code = iota
	// Unschedulable: the pod does not fit now; a cluster event (a node
	// added or changed, a pod deleted) may change that, and preemption
	// may help.
	Unschedulable
	// UnschedulableAndUnresolvable: the pod does not fit and preemption
	// on this node cannot help (a node selector mismatch, say).
	UnschedulableAndUnresolvable
	// Error: something went wrong; the pod is retried with backoff.
	Error
	// Wait: (Permit only) hold the pod until approved, rejected or timed
	// out.
	Wait
	// Skip: the plugin has nothing to do for this pod (PreFilter: skip
	// its Filter; PreScore: skip its Score; Bind: let the next binder
	// bind).
	Skip
)

func (c Code) String() string {
	switch c {
	case Success:
		return "Success"
	case Unschedulable:
		return "Unschedulable"
	case UnschedulableAndUnresolvable:
		return "UnschedulableAndUnresolvable"
	case Error:
		return "Error"
	case Wait:
		return "Wait"
	case Skip:
		return "Skip"
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// Status is a plugin's answer. A nil *Status is Success.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus returns a status with code and reasons: the short, countable
// phrases of explanations ("Insufficient cpu", "node(s) didn't match Pod's
// node affinity/selector"), which the scheduler counts per node.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
}

// AsStatus returns an Error status for err (nil for a nil err).
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code returns the code (Success for nil).
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports whether s is Success.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip reports whether s is Skip.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected reports whether s says the pod does not fit: Unschedulable
// or UnschedulableAndUnresolvable.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons returns the reasons.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Err returns the error of an Error status, or one made of its reasons.
func (s *Status) Err() error {
	if s.IsSuccess() {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	return fmt.Errorf("%s: %s", s.code, strings.Join(s.reasons, ", "))
}

// Plugin returns the name of the plugin that answered, set by the
// scheduler.
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin returns s recording that plugin answered it.
func (s *Status) WithPlugin(plugin string) *Status {
	if s == nil {
		return nil
	}
	s.plugin = plugin
	return s
}

// Message returns the reasons joined, for a log line.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

// Plugin is what every plugin is: a name, unique in a profile.
type Plugin interface {
	Name() string
}

// QueueSortPlugin orders the active queue: Less reports whether a should
// be scheduled before b. One per profile.
type QueueSortPlugin interface {
	Plugin
	Less(a, b *QueuedPodInfo) bool
}

// PreFilterPlugin runs once per cycle before Filter. It may store what
// Filter needs in the CycleState, narrow the candidate nodes (a non-nil
// result), answer Skip (its Filter is then not called for this pod) or
// reject the pod.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *api.Pod, nodes []*NodeInfo) (*PreFilterResult, *Status)
}

// PreFilterResult narrows the nodes Filter is called on. nil NodeNames
// means every node.
type PreFilterResult struct {
	NodeNames map[string]struct{}
}

// FilterPlugin decides whether the pod can run on one node. Called from
// several goroutines at once.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *api.Pod, node *NodeInfo) *Status
}

// PostFilterPlugin runs when no node passed Filter: it may make room
// (preemption) and nominate a node. filtered maps each node name to the
// status that rejected it.
type PostFilterPlugin interface {
	Plugin
	PostFilter(ctx context.Context, state *CycleState, pod *api.Pod, filtered map[string]*Status) (*PostFilterResult, *Status)
}

// PostFilterResult is what a PostFilter plugin decided: the node the pod
// is nominated to once room is made.
type PostFilterResult struct {
	NominatedNodeName string
}

// PreScorePlugin runs once before Score, with the nodes that passed.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *api.Pod, nodes []*NodeInfo) *Status
}

// The range of a normalized score.
const (
	MinNodeScore int64 = 0
	MaxNodeScore int64 = 100
)

// NodeScore is one node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// ScorePlugin ranks the nodes that passed Filter. Score is called from
// several goroutines at once. If ScoreExtensions returns non-nil, its
// NormalizeScore is called once with every node's score, to bring them to
// [MinNodeScore, MaxNodeScore]; otherwise the scores must already be in
// that range. Scores are then multiplied by the plugin's weight.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *api.Pod, node *NodeInfo) (int64, *Status)
	ScoreExtensions() ScoreExtensions
}

// ScoreExtensions normalizes a Score plugin's scores. NormalizeScore
// changes scores in place; the slice is the scheduler's, reused by later
// cycles, so it must not be kept after the call returns.
type ScoreExtensions interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *api.Pod, scores []NodeScore) *Status
}

// ReservePlugin is told when the pod is assumed on a node (Reserve) and
// when that is undone (Unreserve: a later step failed). Unreserve must be
// idempotent.
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *api.Pod, nodeName string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *api.Pod, nodeName string)
}

// PermitPlugin approves the placement, rejects it, or answers Wait with
// how long to wait; a waiting pod is approved or rejected through
// Handle.WaitingPod.
type PermitPlugin interface {
	Plugin
	Permit(ctx context.Context, state *CycleState, pod *api.Pod, nodeName string) (*Status, Duration)
}

// PreBindPlugin runs before binding (provision something the pod needs).
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *api.Pod, nodeName string) *Status
}

// BindPlugin binds the pod to the node (the default writes pods/binding);
// Skip lets the next one do it.
type BindPlugin interface {
	Plugin
	Bind(ctx context.Context, state *CycleState, pod *api.Pod, nodeName string) *Status
}

// PostBindPlugin is told that the pod was bound.
type PostBindPlugin interface {
	Plugin
	PostBind(ctx context.Context, state *CycleState, pod *api.Pod, nodeName string)
}
