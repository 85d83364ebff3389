package scheduler

import (
	"container/list"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// Explanation is the last scheduling attempt of a pod, as `drover explain
// pod` shows it: the outcome, and for each node Filter looked at, which
// plugin rejected it and why; for the best feasible nodes their score per
// plugin. It marshals to JSON.
type Explanation struct {
	Namespace     string    `json:"namespace"`
	Name          string    `json:"name"`
	UID           api.UID   `json:"uid,omitempty"`
	SchedulerName string    `json:"schedulerName"`
	Time          time.Time `json:"time"`
	// Attempts counts the pod's scheduling attempts so far.
	Attempts int `json:"attempts"`
	// Result is "Scheduled", "Unschedulable" or "Error".
	Result string `json:"result"`
	// Node is the chosen node ("" unless Scheduled).
	Node string `json:"node,omitempty"`
	// Message says why not, for an unschedulable pod (the counted
	// message of its FailedScheduling event) or an error.
	Message string `json:"message,omitempty"`
	// NominatedNode is where preemption made room, if it did.
	NominatedNode string `json:"nominatedNode,omitempty"`
	// Nodes is how many nodes there were, Evaluated how many Filter
	// looked at, Feasible how many passed.
	Nodes     int `json:"nodes"`
	Evaluated int `json:"evaluated"`
	Feasible  int `json:"feasible"`
	// Filter holds one verdict per node looked at.
	Filter []FilterVerdict `json:"filter,omitempty"`
	// Scores holds the scores, per plugin, of the best feasible nodes:
	// the MaxKeptScores (10) highest totals, best first, then the chosen
	// node if it was not among them (see Result.Scores). The other
	// feasible nodes were scored too, but their scores are not kept.
	Scores []ExplainedScore `json:"scores,omitempty"`
}

// FilterVerdict is one node's Filter verdict.
type FilterVerdict struct {
	Node string `json:"node"`
	// Code is "Success", "Unschedulable" or "UnschedulableAndUnresolvable".
	Code string `json:"code"`
	// Plugin is the plugin that rejected the node.
	Plugin  string   `json:"plugin,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// ExplainedScore is one feasible node's score.
type ExplainedScore struct {
	Node    string        `json:"node"`
	Total   int64         `json:"total"`
	Plugins []PluginScore `json:"plugins,omitempty"`
}

// attempt is what the LRU keeps: the raw result, turned into an
// Explanation only when asked for.
type attempt struct {
	key      string
	pod      *api.Pod
	profile  string
	at       time.Time
	attempts int
	res      *Result
	// after is a failure after Schedule chose a node (Reserve, Permit,
	// binding).
	after *framework.Status
}

func (a *attempt) explain() *Explanation {
	e := &Explanation{
		Namespace: a.pod.Namespace, Name: a.pod.Name, UID: a.pod.UID,
		SchedulerName: a.profile, Time: a.at, Attempts: a.attempts,
		Nodes: a.res.NumNodes, Evaluated: a.res.Evaluated, Feasible: a.res.Feasible,
		NominatedNode: a.res.NominatedNode,
	}
	switch {
	case a.after != nil && a.after.IsRejected():
		e.Result, e.Message = "Unschedulable", a.after.Message()
	case a.after != nil:
		e.Result, e.Message = "Error", a.after.Message()
		if e.Message == "" {
			e.Message = a.after.Err().Error()
		}
	case a.res.Status == nil:
		e.Result, e.Node = "Scheduled", a.res.Node
	case a.res.Status.IsRejected():
		e.Result, e.Message = "Unschedulable", a.res.Status.Message()
	default:
		e.Result, e.Message = "Error", a.res.Status.Message()
	}
	for _, v := range a.res.Verdicts {
		fv := FilterVerdict{Node: v.Node, Code: framework.Success.String()}
		if v.Status != nil {
			fv.Code, fv.Plugin, fv.Reasons = v.Status.Code().String(), v.Status.Plugin(), v.Status.Reasons()
		}
		e.Filter = append(e.Filter, fv)
	}
	for _, s := range a.res.Scores {
		e.Scores = append(e.Scores, ExplainedScore{Node: s.Node, Total: s.Total, Plugins: s.Plugins})
	}
	return e
}

// explanations is a bounded LRU of the last attempts, by namespace/name.
type explanations struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *attempt, most recent first
	byKey map[string]*list.Element
}

func newExplanations(max int) *explanations {
	return &explanations{max: max, order: list.New(), byKey: make(map[string]*list.Element)}
}

func (x *explanations) put(a *attempt) {
	if x.max <= 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if el, ok := x.byKey[a.key]; ok {
		el.Value = a
		x.order.MoveToFront(el)
		return
	}
	x.byKey[a.key] = x.order.PushFront(a)
	for x.order.Len() > x.max {
		last := x.order.Back()
		x.order.Remove(last)
		delete(x.byKey, last.Value.(*attempt).key)
	}
}

func (x *explanations) get(key string) (*attempt, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	el, ok := x.byKey[key]
	if !ok {
		return nil, false
	}
	return el.Value.(*attempt), true
}

// setAfter records a failure after the cycle chose a node (Reserve,
// Permit, binding) on the pod's last attempt.
func (x *explanations) setAfter(key string, res *Result, st *framework.Status) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if el, ok := x.byKey[key]; ok {
		if a := el.Value.(*attempt); a.res == res {
			b := *a
			b.after = st
			el.Value = &b
		}
	}
}
