package chaostest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The sequential specification of one key of a store.Store, for porcupine.
//
// The state of a key is whether it exists, its value, and its ModRevision
// (after a Delete: the revision of the deletion). Revisions are the
// store's, global to all keys: every successful write gets the next one,
// in the order of the Raft log, which is the order in which writes take
// effect. So, per key, each write has a revision greater than that of the
// write before it, but the model cannot tell which: other keys' writes
// fall in between. That is what the model checks of a write's revision
// (greater than the key's), and what it learns from it (the key's
// revision is now exactly that).
//
// A write whose outcome is unknown (its call ended in a timeout, or
// store.ErrUnavailable, or the member closed under it) has no return: it
// may take effect at any moment after its call, or never. Porcupine
// handles "never" by itself if such an operation is given a return time
// after every other operation: it can then be linearized last, where its
// effect is seen by nobody. So the model applies an unknown write as one
// that happened, whenever it could have succeeded at that point: for a
// compare-and-set on a key whose revision is known, iff the expected
// revision is that one. Its revision is unknown, so the key's revision
// becomes unknown too, known only to be greater than the key's last
// known revision (and than the expected one, for a compare-and-set that
// happened): the next operation that reports the key's revision (a Get, a
// conflict, a Delete's previous version) pins it again.
//
// Values written are unique, so a read that returns a value identifies
// the write it saw.

// opKind is the store.Store method an operation called.
type opKind uint8

const (
	opGet    opKind = iota // Get, linearizable
	opCreate               // Create: write if absent
	opUpdate               // Update: blind if ExpectedRev is 0, else compare-and-set
	opDelete               // Delete: blind if ExpectedRev is 0, else compare-and-delete
)

// kvInput is the Input of a porcupine.Operation.
type kvInput struct {
	Kind        opKind
	Key         string
	Value       string // Create, Update
	ExpectedRev int64  // Update, Delete; 0 means unconditionally
}

// outKind is how an operation ended.
type outKind uint8

const (
	outOK       outKind = iota
	outNotFound         // store.ErrNotFound
	outExists           // store.ErrAlreadyExists
	outConflict         // *store.ConflictError
	outUnknown          // a write that may or may not have taken effect
)

// kvOutput is the Output of a porcupine.Operation.
type kvOutput struct {
	Kind outKind
	// Rev is, for a Get that found the key, its ModRevision; for a write
	// that succeeded, the write's revision; for a conflict, the key's
	// actual revision (ConflictError.Actual).
	Rev int64
	// Value is, for a Get that found the key, its value; for a Delete
	// that succeeded, the value it removed.
	Value string
	// PrevRev is, for a Delete that succeeded, the ModRevision of the
	// version it removed.
	PrevRev int64
}

// keyState is the model's state of one key.
type keyState struct {
	Exists bool
	Value  string
	// Rev is the key's ModRevision (or the revision of its deletion, or 0
	// for a key never written) if RevKnown; otherwise the actual revision
	// is unknown, but greater than Rev.
	Rev      int64
	RevKnown bool
}

// revIs reports whether r can be the key's current revision.
func (s keyState) revIs(r int64) bool {
	if s.RevKnown {
		return r == s.Rev
	}
	return r > s.Rev
}

// stepKey is the model's Step.
func stepKey(st keyState, in kvInput, out kvOutput) (bool, keyState) {
	// pinned is st with its revision now known to be r.
	pinned := func(r int64) keyState {
		st.Rev, st.RevKnown = r, true
		return st
	}
	// condHolds reports whether a conditional write's expected revision can
	// be the key's (for an unknown outcome: whether it could succeed).
	condHolds := st.Exists && (in.ExpectedRev == 0 || st.revIs(in.ExpectedRev))
	// conflict reports whether an update or delete could fail with a
	// conflict saying the key is at revision actual.
	conflict := func(actual int64) bool {
		return st.Exists && in.ExpectedRev != 0 && actual != in.ExpectedRev && st.revIs(actual)
	}
	switch in.Kind {
	case opGet:
		switch out.Kind {
		case outOK:
			if !st.Exists || out.Value != st.Value || !st.revIs(out.Rev) {
				return false, st
			}
			return true, pinned(out.Rev)
		case outNotFound:
			return !st.Exists, st
		}
	case opCreate:
		switch out.Kind {
		case outOK:
			if st.Exists || out.Rev <= st.Rev {
				return false, st
			}
			return true, keyState{Exists: true, Value: in.Value, Rev: out.Rev, RevKnown: true}
		case outExists:
			return st.Exists, st
		case outUnknown:
			if st.Exists {
				return true, st
			}
			return true, keyState{Exists: true, Value: in.Value, Rev: st.Rev}
		}
	case opUpdate:
		switch out.Kind {
		case outOK:
			if !condHolds || out.Rev <= st.Rev || out.Rev <= in.ExpectedRev {
				return false, st
			}
			return true, keyState{Exists: true, Value: in.Value, Rev: out.Rev, RevKnown: true}
		case outNotFound:
			return !st.Exists, st
		case outConflict:
			if !conflict(out.Rev) {
				return false, st
			}
			return true, pinned(out.Rev)
		case outUnknown:
			if !condHolds {
				return true, st
			}
			return true, keyState{Exists: true, Value: in.Value, Rev: max(st.Rev, in.ExpectedRev)}
		}
	case opDelete:
		switch out.Kind {
		case outOK:
			if !condHolds || out.Value != st.Value || !st.revIs(out.PrevRev) ||
				(in.ExpectedRev != 0 && out.PrevRev != in.ExpectedRev) || out.Rev <= out.PrevRev {
				return false, st
			}
			return true, keyState{Rev: out.Rev, RevKnown: true}
		case outNotFound:
			return !st.Exists, st
		case outConflict:
			if !conflict(out.Rev) {
				return false, st
			}
			return true, pinned(out.Rev)
		case outUnknown:
			if !condHolds {
				return true, st
			}
			return true, keyState{Rev: max(st.Rev, in.ExpectedRev)}
		}
	}
	return false, st // an outcome this operation cannot have
}

// opMeta is the Metadata of a porcupine.Operation: where it ran and how
// it ended, for the visualization and the history dump.
type opMeta struct {
	Member string `json:",omitempty"`
	Err    string `json:",omitempty"`
}

// kvModel is the porcupine model of the store, partitioned by key.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(kvInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return keyState{RevKnown: true} },
	Step: func(state, input, output any) (bool, any) {
		return stepKey(state.(keyState), input.(kvInput), output.(kvOutput))
	},
	Hash: func(state any) uint64 {
		s := state.(keyState)
		h := fnv.New64a()
		fmt.Fprintf(h, "%t|%s|%d|%t", s.Exists, s.Value, s.Rev, s.RevKnown)
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		return describeOp(input.(kvInput), output.(kvOutput))
	},
	DescribeState: func(state any) string {
		s := state.(keyState)
		rev := fmt.Sprintf("@%d", s.Rev)
		if !s.RevKnown {
			rev = fmt.Sprintf("@>%d", s.Rev)
		}
		if !s.Exists {
			return "absent" + rev
		}
		return fmt.Sprintf("%q%s", s.Value, rev)
	},
	DescribeOperationMetadata: func(info any) string {
		m, ok := info.(opMeta)
		if !ok {
			return ""
		}
		if m.Err != "" {
			return m.Member + ": " + m.Err
		}
		return m.Member
	},
}

func describeOp(in kvInput, out kvOutput) string {
	var call string
	cond := ""
	if in.ExpectedRev != 0 {
		cond = fmt.Sprintf(" if @%d", in.ExpectedRev)
	}
	switch in.Kind {
	case opGet:
		call = fmt.Sprintf("get(%s)", in.Key)
	case opCreate:
		call = fmt.Sprintf("create(%s, %q)", in.Key, in.Value)
	case opUpdate:
		call = fmt.Sprintf("update(%s, %q%s)", in.Key, in.Value, cond)
	case opDelete:
		call = fmt.Sprintf("delete(%s%s)", in.Key, cond)
	}
	var res string
	switch out.Kind {
	case outOK:
		switch in.Kind {
		case opGet:
			res = fmt.Sprintf("%q@%d", out.Value, out.Rev)
		case opDelete:
			res = fmt.Sprintf("ok@%d (was %q@%d)", out.Rev, out.Value, out.PrevRev)
		default:
			res = fmt.Sprintf("ok@%d", out.Rev)
		}
	case outNotFound:
		res = "not found"
	case outExists:
		res = "already exists"
	case outConflict:
		res = fmt.Sprintf("conflict (key @%d)", out.Rev)
	case outUnknown:
		res = "?"
	}
	return call + " → " + res
}

// unknownReturn is the return time of an operation whose outcome is
// unknown: after every other operation.
const unknownReturn = math.MaxInt64

// checkResult is the outcome of checking a history.
type checkResult struct {
	result porcupine.CheckResult
	info   porcupine.LinearizationInfo
	took   time.Duration
}

// checkHistory checks history against kvModel, giving up after timeout.
// Verbose also computes what a visualization needs (the longest
// linearizable prefixes): that takes several times the memory and time,
// and under the race detector, which slows porcupine some thirtyfold, it
// matters for long runs. So the test checks without it, and checks again
// verbosely only what it visualizes.
func checkHistory(history []porcupine.Operation, timeout time.Duration, verbose bool) checkResult {
	start := time.Now()
	var cr checkResult
	if verbose {
		cr.result, cr.info = porcupine.CheckOperationsVerbose(kvModel, history, timeout)
	} else {
		cr.result = porcupine.CheckOperationsTimeout(kvModel, history, timeout)
	}
	cr.took = time.Since(start)
	return cr
}

// partitionCheck is the outcome of checkPartitions.
type partitionCheck struct {
	result  porcupine.CheckResult // Illegal if a key is; else Unknown if a key is; else Ok
	illegal [][]porcupine.Operation
	keys    int
	largest int
	took    time.Duration
}

// checkPartitions checks history key by key, on as many keys at once as
// there are CPUs (porcupine would check every key at once, and hold every
// key's memo at once), giving up after timeout.
func checkPartitions(history []porcupine.Operation, timeout time.Duration) partitionCheck {
	start := time.Now()
	deadline := start.Add(timeout)
	parts := kvModel.Partition(history)
	results := make([]porcupine.CheckResult, len(parts))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				left := time.Until(deadline)
				if left <= 0 {
					results[i] = porcupine.Unknown
					continue
				}
				results[i] = porcupine.CheckOperationsTimeout(kvModel, parts[i], left)
			}
		}()
	}
	for i := range parts {
		next <- i
	}
	close(next)
	wg.Wait()
	pc := partitionCheck{result: porcupine.Ok, keys: len(parts)}
	for i, r := range results {
		pc.largest = max(pc.largest, len(parts[i]))
		switch {
		case r == porcupine.Illegal:
			pc.result = porcupine.Illegal
			pc.illegal = append(pc.illegal, parts[i])
		case r == porcupine.Unknown && pc.result == porcupine.Ok:
			pc.result = porcupine.Unknown
		}
	}
	pc.took = time.Since(start)
	return pc
}

// writeVisualization writes the porcupine visualization of a checked
// history, with annotations (the nemesis's faults), to path.
func writeVisualization(path string, cr checkResult, notes []porcupine.Annotation) error {
	info := cr.info
	info.AddAnnotations(notes)
	return porcupine.VisualizePath(kvModel, info, path)
}

// historyLine is one operation of a history written by writeHistory: Op
// for people, the rest for readHistory.
type historyLine struct {
	Op     string   `json:"op"`
	Client int      `json:"client"`
	Call   int64    `json:"call"`
	Return int64    `json:"return"` // math.MaxInt64: unknown outcome
	Input  kvInput  `json:"input"`
	Output kvOutput `json:"output"`
	Meta   opMeta   `json:"meta"`
}

// writeHistory writes history as JSON lines, in order of call, for a
// failure's evidence; TestRecheckHistory reads it back.
func writeHistory(path string, history []porcupine.Operation) error {
	ops := append([]porcupine.Operation(nil), history...)
	sort.Slice(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, op := range ops {
		in, out := op.Input.(kvInput), op.Output.(kvOutput)
		meta, _ := op.Metadata.(opMeta)
		enc.Encode(historyLine{Op: describeOp(in, out), Client: op.ClientId, Call: op.Call, Return: op.Return,
			Input: in, Output: out, Meta: meta})
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readHistory reads a history written by writeHistory.
func readHistory(path string) ([]porcupine.Operation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ops []porcupine.Operation
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var l historyLine
		if err := dec.Decode(&l); err == io.EOF {
			return ops, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: operation %d: %w", path, len(ops)+1, err)
		}
		ops = append(ops, porcupine.Operation{ClientId: l.Client, Input: l.Input, Call: l.Call,
			Output: l.Output, Return: l.Return, Metadata: l.Meta})
	}
}

// TestRecheckHistory checks again a history that TestLinearizable wrote
// (history.jsonl in its evidence directory), named by DROVER_LIN_RECHECK,
// and writes its visualization next to it. It is a tool for studying a
// failure, and skips without the variable.
func TestRecheckHistory(t *testing.T) {
	path := os.Getenv("DROVER_LIN_RECHECK")
	if path == "" {
		t.Skip("DROVER_LIN_RECHECK is not set: it names a history.jsonl to check again")
	}
	history, err := readHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	timeout := envDuration(t, "DROVER_LIN_CHECK_TIMEOUT", 10*time.Minute)
	pc := checkPartitions(history, timeout)
	t.Logf("checked %d operations on %d keys (at most %d on one) in %v: %s",
		len(history), pc.keys, pc.largest, pc.took.Round(time.Millisecond), pc.result)
	if pc.result != porcupine.Ok {
		var bad []porcupine.Operation
		for _, part := range pc.illegal {
			t.Logf("key %s is not linearizable", part[0].Input.(kvInput).Key)
			bad = append(bad, part...)
		}
		if bad == nil {
			bad = history
		}
		cr := checkHistory(bad, timeout, true)
		viz := strings.TrimSuffix(path, ".jsonl") + ".html"
		if err := writeVisualization(viz, cr, nil); err != nil {
			t.Fatal(err)
		}
		t.Errorf("history is %s; visualization: %s", pc.result, viz)
	}
}

// TestModelCatchesViolations feeds hand-made histories to the checker: the
// non-linearizable ones must be reported Illegal (so that TestLinearizable
// can fail), and the linearizable ones, which exercise concurrency,
// unknown outcomes and unknown revisions, Ok.
func TestModelCatchesViolations(t *testing.T) {
	// op builds an operation of client c over [call, ret]; ret < 0 means
	// the outcome is unknown.
	op := func(c int, call, ret int64, in kvInput, out kvOutput) porcupine.Operation {
		if ret < 0 {
			ret, out = unknownReturn, kvOutput{Kind: outUnknown}
		}
		return porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret}
	}
	get := func(k string) kvInput { return kvInput{Kind: opGet, Key: k} }
	create := func(k, v string) kvInput { return kvInput{Kind: opCreate, Key: k, Value: v} }
	update := func(k, v string, exp int64) kvInput {
		return kvInput{Kind: opUpdate, Key: k, Value: v, ExpectedRev: exp}
	}
	del := func(k string, exp int64) kvInput { return kvInput{Kind: opDelete, Key: k, ExpectedRev: exp} }
	ok := func(rev int64) kvOutput { return kvOutput{Kind: outOK, Rev: rev} }
	got := func(v string, rev int64) kvOutput { return kvOutput{Kind: outOK, Value: v, Rev: rev} }
	notFound := kvOutput{Kind: outNotFound}
	exists := kvOutput{Kind: outExists}
	conflict := func(actual int64) kvOutput { return kvOutput{Kind: outConflict, Rev: actual} }
	deleted := func(rev int64, was string, wasRev int64) kvOutput {
		return kvOutput{Kind: outOK, Rev: rev, Value: was, PrevRev: wasRev}
	}

	illegal := []struct {
		name    string
		history []porcupine.Operation
	}{
		{"stale read after an acknowledged write", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(0, 20, 30, update("a", "y", 0), ok(2)),
			op(1, 40, 50, get("a"), got("x", 1)),
		}},
		{"acknowledged write lost", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(1, 20, 30, get("a"), notFound),
		}},
		{"two compare-and-sets from the same revision both succeed", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(1, 20, 40, update("a", "y", 1), ok(2)),
			op(2, 20, 40, update("a", "z", 1), ok(3)),
		}},
		{"two creates of the same key both succeed", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(1, 0, 10, create("a", "y"), ok(2)),
		}},
		{"read of a value nobody wrote", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(1, 20, 30, get("a"), got("y", 1)),
		}},
		{"read returns the right value at a wrong revision", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(4)),
			op(1, 20, 30, get("a"), got("x", 5)),
		}},
		{"revisions go backwards", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(5)),
			op(0, 20, 30, update("a", "y", 0), ok(3)),
		}},
		{"a failed create took effect", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(0, 20, 30, del("a", 0), deleted(2, "x", 1)),
			op(1, 40, 50, create("a", "y"), exists),
			op(1, 60, 70, get("a"), got("y", 3)),
		}},
		{"conflict reports a revision the key never had", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(1, 20, 30, update("a", "y", 7), conflict(2)),
		}},
		{"compare-and-set succeeds at a stale revision", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(0, 20, 30, update("a", "y", 1), ok(2)),
			op(1, 40, 50, update("a", "z", 1), ok(3)),
		}},
		{"an unknown write seen, then unseen", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(1, 20, -1, update("a", "y", 0), kvOutput{}),
			op(2, 30, 40, get("a"), got("y", 2)),
			op(2, 50, 60, get("a"), got("x", 1)),
		}},
		{"an unknown write's revision changes between reads", []porcupine.Operation{
			op(1, 0, -1, create("a", "y"), kvOutput{}),
			op(2, 30, 40, get("a"), got("y", 2)),
			op(2, 50, 60, get("a"), got("y", 3)),
		}},
		{"an unknown compare-and-set from a stale revision took effect", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(0, 20, 30, update("a", "y", 0), ok(2)),
			op(1, 40, -1, update("a", "z", 1), kvOutput{}),
			op(2, 50, 60, get("a"), got("z", 3)),
		}},
		{"violation on one key among several", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(1, 0, 10, create("b", "x"), ok(2)),
			op(0, 20, 30, get("a"), got("x", 1)),
			op(1, 20, 30, del("b", 2), deleted(3, "x", 2)),
			op(2, 40, 50, get("b"), got("x", 2)),
		}},
	}
	for _, tc := range illegal {
		if pc := checkPartitions(tc.history, 10*time.Second); pc.result != porcupine.Illegal || len(pc.illegal) != 1 {
			t.Errorf("%s: checker says %s (%d keys illegal), want %s (one key)", tc.name, pc.result, len(pc.illegal), porcupine.Illegal)
		}
	}

	legal := []struct {
		name    string
		history []porcupine.Operation
	}{
		{"concurrent read sees either value", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(0, 20, 40, update("a", "y", 1), ok(3)),
			op(1, 25, 35, get("a"), got("x", 1)),
			op(2, 25, 45, get("a"), got("y", 3)),
		}},
		{"unknown write that never happened", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(1, 20, -1, update("a", "y", 1), kvOutput{}),
			op(2, 30, 40, get("a"), got("x", 1)),
			op(2, 50, 60, update("a", "z", 1), ok(5)),
		}},
		{"unknown write that happened, its revision learned later", []porcupine.Operation{
			op(0, 0, 10, create("a", "x"), ok(1)),
			op(1, 20, -1, update("a", "y", 1), kvOutput{}),
			op(2, 30, 40, update("a", "z", 1), conflict(4)),
			op(2, 50, 60, get("a"), got("y", 4)),
			op(2, 70, 80, del("a", 4), deleted(6, "y", 4)),
			op(0, 90, 100, get("a"), notFound),
			op(0, 110, 120, create("a", "w"), ok(9)),
		}},
		{"unknown create and delete", []porcupine.Operation{
			op(0, 0, -1, create("a", "x"), kvOutput{}),
			op(1, 10, 20, get("a"), got("x", 3)),
			op(1, 30, -1, del("a", 3), kvOutput{}),
			op(2, 40, 50, get("a"), notFound),
			op(2, 60, 70, update("a", "y", 0), notFound),
		}},
		{"failures that change nothing", []porcupine.Operation{
			op(0, 0, 10, update("a", "x", 0), notFound),
			op(0, 20, 30, del("a", 0), notFound),
			op(0, 40, 50, create("a", "x"), ok(2)),
			op(1, 60, 70, create("a", "y"), exists),
			op(1, 80, 90, del("a", 1), conflict(2)),
			op(1, 100, 110, get("a"), got("x", 2)),
		}},
	}
	for _, tc := range legal {
		if pc := checkPartitions(tc.history, 10*time.Second); pc.result != porcupine.Ok {
			t.Errorf("%s: checker says %s, want %s", tc.name, pc.result, porcupine.Ok)
		}
	}

	// The visualization of a violation can be written.
	cr := checkHistory(illegal[0].history, 10*time.Second, true)
	if cr.result != porcupine.Illegal {
		t.Errorf("verbose check of %q: %s, want %s", illegal[0].name, cr.result, porcupine.Illegal)
	}
	p := t.TempDir() + "/viz.html"
	if err := writeVisualization(p, cr, []porcupine.Annotation{{Tag: "nemesis", Start: 15, End: 35, Description: "isolate m1"}}); err != nil {
		t.Fatalf("visualization: %v", err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		t.Fatalf("visualization not written: %v", err)
	}
}
