package scheduler

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
)

// Scenario tests: testdata/scenarios/<name>.yaml describes a cluster and
// the steps applied to it; <name>.golden holds what the scheduler did at
// each step. Two runners play every scenario and must both produce the
// golden text: a pure one (Framework.Schedule on a snapshot, with a small
// model of the queue) and an end-to-end one (the real Scheduler on a
// controllertest API server). See testdata/README.md.

var updateGolden = flag.Bool("update", false, "rewrite the scheduler's scenario golden files (testdata/scenarios/*.golden) from the pure runner")

// scenario is one testdata/scenarios/<name>.yaml file.
type scenario struct {
	// Description says what the scenario shows; it heads the golden file.
	Description string `json:"description"`
	// Profile is the scheduler profile (plugins, pluginConfig) relative
	// to the defaults; schedulerName defaults to default-scheduler.
	Profile *Profile `json:"profile,omitempty"`
	// ShowScores adds each placed pod's per-plugin scores to the output.
	ShowScores bool `json:"showScores,omitempty"`
	// Nodes are the nodes at the start (see defaultNode).
	Nodes []api.Node `json:"nodes"`
	// ExistingPods are bound (spec.nodeName) at the start.
	ExistingPods []api.Pod `json:"existingPods,omitempty"`
	// Steps are applied in order; the output is reported after each.
	Steps []scenarioStep `json:"steps"`
}

// scenarioStep is one change to the cluster: exactly one field is set.
type scenarioStep struct {
	// CreatePods creates pods to schedule, one at a time: each is
	// scheduled (or found unschedulable) before the next is created.
	CreatePods []api.Pod `json:"createPods,omitempty"`
	// AddNodes adds nodes.
	AddNodes []api.Node `json:"addNodes,omitempty"`
	// UpdateNode changes a node's labels, taints or unschedulable flag.
	UpdateNode *nodeUpdate `json:"updateNode,omitempty"`
	// DeletePods deletes pods (bound or pending) by name, at once.
	DeletePods []string `json:"deletePods,omitempty"`
}

// nodeUpdate changes one node; nil fields are left alone.
type nodeUpdate struct {
	Name string `json:"name"`
	// Labels are merged into the node's; a null value removes the label.
	Labels map[string]*string `json:"labels,omitempty"`
	// Taints replace the node's taints ([] removes them all).
	Taints *[]api.Taint `json:"taints,omitempty"`
	// Unschedulable sets spec.unschedulable.
	Unschedulable *bool `json:"unschedulable,omitempty"`
}

// apply makes the change on n.
func (u *nodeUpdate) apply(n *api.Node) {
	for k, v := range u.Labels {
		if v == nil {
			delete(n.Labels, k)
			continue
		}
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[k] = *v
	}
	if u.Taints != nil {
		n.Spec.Taints = slices.Clone(*u.Taints)
	}
	if u.Unschedulable != nil {
		n.Spec.Unschedulable = *u.Unschedulable
	}
}

// header names a step in the output.
func (st *scenarioStep) header() string {
	switch {
	case len(st.CreatePods) > 0:
		return "create pods " + strings.Join(podNames(st.CreatePods), ", ")
	case len(st.AddNodes) > 0:
		var names []string
		for _, n := range st.AddNodes {
			names = append(names, n.Name)
		}
		return "add nodes " + strings.Join(names, ", ")
	case st.UpdateNode != nil:
		u := st.UpdateNode
		var parts []string
		for _, k := range sortedNames(u.Labels) {
			if v := u.Labels[k]; v != nil {
				parts = append(parts, fmt.Sprintf("label %s=%s", k, *v))
			} else {
				parts = append(parts, fmt.Sprintf("remove label %s", k))
			}
		}
		if u.Taints != nil {
			var ts []string
			for _, t := range *u.Taints {
				ts = append(ts, fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect))
			}
			parts = append(parts, "taints ["+strings.Join(ts, ", ")+"]")
		}
		if u.Unschedulable != nil {
			parts = append(parts, fmt.Sprintf("unschedulable %v", *u.Unschedulable))
		}
		return "update node " + u.Name + ": " + strings.Join(parts, ", ")
	default:
		return "delete pods " + strings.Join(st.DeletePods, ", ")
	}
}

func podNames(pods []api.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

// loadScenario reads and checks a scenario file, strictly: an unknown
// field anywhere (scenario, node, pod, profile) is an error.
func loadScenario(path string) (*scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var sc scenario
	if err := api.UnmarshalStrict(js, &sc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sc.Description == "" {
		return nil, fmt.Errorf("%s: description is empty: say what the scenario shows", path)
	}
	if len(sc.Steps) == 0 {
		return nil, fmt.Errorf("%s: steps is empty: a scenario needs at least one step", path)
	}
	if sc.Profile == nil {
		sc.Profile = &Profile{}
	}
	if sc.Profile.SchedulerName == "" {
		sc.Profile.SchedulerName = DefaultSchedulerName
	}
	for i := range sc.Nodes {
		defaultNode(&sc.Nodes[i])
	}
	for i := range sc.ExistingPods {
		p := &sc.ExistingPods[i]
		defaultScenarioPod(p)
		if p.Spec.NodeName == "" {
			return nil, fmt.Errorf("%s: existingPods[%d] (%s): spec.nodeName is empty: existing pods are bound", path, i, p.Name)
		}
	}
	for i := range sc.Steps {
		st := &sc.Steps[i]
		set := 0
		for _, b := range []bool{len(st.CreatePods) > 0, len(st.AddNodes) > 0, st.UpdateNode != nil, len(st.DeletePods) > 0} {
			if b {
				set++
			}
		}
		if set != 1 {
			return nil, fmt.Errorf("%s: steps[%d]: %d actions: set exactly one of createPods, addNodes, updateNode, deletePods", path, i, set)
		}
		for j := range st.CreatePods {
			defaultScenarioPod(&st.CreatePods[j])
		}
		for j := range st.AddNodes {
			defaultNode(&st.AddNodes[j])
		}
	}
	return &sc, nil
}

// defaultNode fills in what a scenario may leave out of a node: the
// kubernetes.io/hostname label (as a node agent sets it) and, for each
// of cpu, memory and pods not in status.allocatable, 4, 8Gi and 110.
func defaultNode(n *api.Node) {
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	if _, ok := n.Labels["kubernetes.io/hostname"]; !ok {
		n.Labels["kubernetes.io/hostname"] = n.Name
	}
	if n.Status.Allocatable == nil {
		n.Status.Allocatable = api.ResourceList{}
	}
	for name, q := range map[api.ResourceName]string{api.ResourceCPU: "4", api.ResourceMemory: "8Gi", "pods": "110"} {
		if _, ok := n.Status.Allocatable[name]; !ok {
			n.Status.Allocatable[name] = resource.MustParse(q)
		}
	}
}

// defaultScenarioPod fills in what a scenario may leave out of a pod:
// the namespace (default) and, if there are no containers, one; and a
// container's name (c, c2, ...) and image (pause).
func defaultScenarioPod(p *api.Pod) {
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	if len(p.Spec.Containers) == 0 {
		p.Spec.Containers = []api.Container{{}}
	}
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		if c.Name == "" {
			c.Name = "c"
			if i > 0 {
				c.Name = fmt.Sprintf("c%d", i+1)
			}
		}
		if c.Image == "" {
			c.Image = "registry.k8s.io/pause:3.10"
		}
	}
}

// podOutcome is where a pod stands after a step, as both runners report
// it.
type podOutcome struct {
	// Node is the node it is bound to ("" if none).
	Node string
	// Message is the FailedScheduling message of an unbound pod that was
	// tried.
	Message string
	// Nominated is status.nominatedNodeName.
	Nominated string
	// Deleted is set once the pod is gone; Preempted if the scheduler
	// deleted it (a preemption victim), not the scenario.
	Deleted, Preempted bool
	// Scores are the feasible nodes' scores of the cycle that placed it.
	Scores []NodeScore
}

// scenarioCluster is what a runner drives: a cluster with a scheduler.
// Each method returns once the scheduler has done everything the change
// leads to (every pod bound or found unschedulable).
type scenarioCluster interface {
	createPod(p *api.Pod)
	addNode(n *api.Node)
	updateNode(u *nodeUpdate)
	deletePod(name string)
	// outcomes returns every pod's outcome, by name.
	outcomes() map[string]podOutcome
}

// playScenario applies sc's steps to c and renders the golden text. The
// cluster already holds sc's nodes and existing pods.
func playScenario(sc *scenario, c scenarioCluster) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(sc.Description), "\n") {
		fmt.Fprintf(&b, "# %s\n", strings.TrimSpace(line))
	}
	var order []string
	for _, p := range sc.ExistingPods {
		order = append(order, p.Name)
	}
	prev := c.outcomes()
	for i, st := range sc.Steps {
		switch {
		case len(st.CreatePods) > 0:
			for j := range st.CreatePods {
				p := api.DeepCopy(&st.CreatePods[j])
				order = append(order, p.Name)
				c.createPod(p)
			}
		case len(st.AddNodes) > 0:
			for j := range st.AddNodes {
				c.addNode(api.DeepCopy(&st.AddNodes[j]))
			}
		case st.UpdateNode != nil:
			c.updateNode(st.UpdateNode)
		default:
			for _, name := range st.DeletePods {
				c.deletePod(name)
			}
		}
		cur := c.outcomes()
		fmt.Fprintf(&b, "\nstep %d: %s\n", i+1, st.header())
		lines := renderChanges(order, prev, cur, sc.ShowScores)
		if len(lines) == 0 {
			lines = []string{"  (no change)"}
		}
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
		prev = cur
	}
	return b.String()
}

// renderChanges lists what changed between prev and cur, pod by pod in
// order: preempted, nominated, bound (with the scores) or unschedulable.
// Pods the scenario deleted itself are not listed: the step says so.
func renderChanges(order []string, prev, cur map[string]podOutcome, scores bool) []string {
	var out []string
	for _, name := range order {
		was, is := prev[name], cur[name]
		if is.Preempted && !was.Preempted {
			out = append(out, fmt.Sprintf("  %s: preempted (deleted by the scheduler)", name))
		}
		if is.Deleted {
			continue
		}
		if is.Nominated != "" && is.Nominated != was.Nominated {
			out = append(out, fmt.Sprintf("  %s: nominated to %s", name, is.Nominated))
		}
		switch {
		case is.Node != "" && is.Node != was.Node:
			out = append(out, fmt.Sprintf("  %s: bound to %s", name, is.Node))
			if scores {
				out = append(out, renderScores(is.Scores)...)
			}
		case is.Node == "" && is.Message != "" && is.Message != was.Message:
			out = append(out, fmt.Sprintf("  %s: unschedulable: %s", name, is.Message))
		}
	}
	return out
}

// renderScores lists the scores best first (equal totals by node name:
// the order the cycle saw them in may differ between runs), one line per
// node with each plugin's normalized score and weight.
func renderScores(scores []NodeScore) []string {
	if len(scores) == 0 {
		return []string{"    (the only feasible node: not scored)"}
	}
	s := slices.Clone(scores)
	slices.SortStableFunc(s, func(a, b NodeScore) int {
		if c := cmp.Compare(b.Total, a.Total); c != 0 {
			return c
		}
		return cmp.Compare(a.Node, b.Node)
	})
	out := make([]string, len(s))
	for i, ns := range s {
		parts := make([]string, len(ns.Plugins))
		for j, p := range ns.Plugins {
			parts[j] = fmt.Sprintf("%s %d×%d", p.Plugin, p.Score, p.Weight)
		}
		out[i] = fmt.Sprintf("    %s %d = %s", ns.Node, ns.Total, strings.Join(parts, " + "))
	}
	return out
}

// scenarioFiles returns the scenarios' YAML files, sorted.
func scenarioFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios in testdata/scenarios")
	}
	slices.Sort(files)
	return files
}

// checkGolden compares got with the golden file of the scenario at path,
// or rewrites the file with -update.
func checkGolden(t *testing.T, path, got string, update bool) {
	t.Helper()
	golden := strings.TrimSuffix(path, ".yaml") + ".golden"
	if update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./scheduler -run TestScenarios -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what the scheduler did:\n%s", golden, lineDiff(string(want), got))
	}
}

// lineDiff shows the lines of want and got that differ, in order.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n   got %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestScenarios plays every scenario with both runners; each must give
// the golden text. With -update the pure runner rewrites the golden
// files (and the end-to-end runner is still checked against them).
func TestScenarios(t *testing.T) {
	for _, path := range scenarioFiles(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			sc, err := loadScenario(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Run("pure", func(t *testing.T) {
				checkGolden(t, path, playScenario(sc, newPureCluster(t, sc)), *updateGolden)
			})
			t.Run("e2e", func(t *testing.T) {
				t.Parallel()
				checkGolden(t, path, playScenario(sc, newE2ECluster(t, sc)), false)
			})
		})
	}
}

func TestLoadScenarioIsStrict(t *testing.T) {
	dir := t.TempDir()
	for name, doc := range map[string]string{
		"unknown-field": "description: x\nnodes: [{metadata: {name: n1}, spec: {taint: []}}]\nsteps: [{deletePods: [a]}]\n",
		"two-actions":   "description: x\nnodes: []\nsteps: [{deletePods: [a], addNodes: [{metadata: {name: n2}}]}]\n",
		"no-steps":      "description: x\nnodes: []\nsteps: []\n",
		"unbound":       "description: x\nnodes: []\nexistingPods: [{metadata: {name: a}}]\nsteps: [{deletePods: [a]}]\n",
	} {
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadScenario(path); err == nil {
			t.Errorf("%s: loaded, want an error", name)
		}
	}
}
