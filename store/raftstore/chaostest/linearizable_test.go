package chaostest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/raftstore"
)

const (
	linMembers = 3
	linClients = 6
	// Few keys, so that clients contend on each.
	linKeys = 4
	// linEpoch is how long clients use a set of keys before they move to
	// a new one. The checker's memory grows with the square of the
	// operations on a key (porcupine memoizes a bitset of them per state
	// it visits), so a long run must spread its operations over many
	// keys; moving on in time keeps the contention on each.
	linEpoch = 5 * time.Second
	// linOpTimeout bounds one operation; it is longer than
	// Config.LeaderWait, so that an operation usually ends with the
	// store's own verdict rather than the client's timeout.
	linOpTimeout = 3 * time.Second
	// recoverTimeout bounds how long the cluster may take to serve
	// linearizable requests on every member again after a fault ends.
	recoverTimeout = 30 * time.Second
)

// TestLinearizable runs concurrent clients against a three-member cluster
// while a nemesis crashes, restarts and partitions members, and checks
// that the history of operations is linearizable. See the package doc.
func TestLinearizable(t *testing.T) {
	duration := envDuration(t, "DROVER_LIN_DURATION", 20*time.Second)
	checkTimeout := envDuration(t, "DROVER_LIN_CHECK_TIMEOUT", 2*time.Minute+2*duration)
	sd := seed(t)
	art := newArtifacts(t)
	c := newLinCluster(t, art)
	rec := &recorder{base: time.Now()}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var clients sync.WaitGroup
	stats := newClientStats()
	for i := range linClients {
		clients.Add(1)
		go func() {
			defer clients.Done()
			runClient(ctx, c, rec, stats, i, newRand(sd, uint64(i)))
		}()
	}
	nem := &nemesis{c: c, rec: rec, rng: newRand(sd, 1000), counts: map[string]int{}}
	nemDone := goDone(func() { nem.run(ctx) })

	// The workload runs for its duration, or until the nemesis gives up
	// (the cluster did not recover from a fault: it has reported why).
	workload := time.NewTimer(duration)
	select {
	case <-workload.C:
	case <-nemDone:
	}
	workload.Stop()
	stop()
	if !waitDone(nemDone, 2*recoverTimeout) {
		t.Fatalf("the nemesis did not finish its last fault within %v; goroutines: %s",
			2*recoverTimeout, art.dumpGoroutines("goroutines-nemesis.txt"))
	}
	if !waitDone(goDone(clients.Wait), 2*linOpTimeout+10*time.Second) {
		t.Fatalf("clients still in an operation long after its %v timeout: a store call ignores its ctx; goroutines: %s",
			linOpTimeout, art.dumpGoroutines("goroutines-clients.txt"))
	}
	c.net.heal()
	if err := c.waitHealthy(recoverTimeout); err != nil {
		t.Errorf("after the run, healed: %v", err)
	}
	// A last read of every key through every member joins the history.
	finalReads(c, rec)

	history, notes := rec.history()
	stats.log(t, history)
	t.Logf("faults injected: %d (%s)", nem.total(), nem.summary())
	if len(history) < 100 {
		t.Errorf("only %d operations completed: the workload did not run", len(history))
	}

	pc := checkPartitions(history, checkTimeout)
	t.Logf("checked %d operations on %d keys (at most %d on one) in %v: %s",
		len(history), pc.keys, pc.largest, pc.took.Round(time.Millisecond), pc.result)
	if p := os.Getenv("DROVER_LIN_VIZ"); p != "" {
		if err := writeVisualization(p, checkHistory(history, checkTimeout, true), notes); err != nil {
			t.Errorf("write visualization to DROVER_LIN_VIZ=%s: %v", p, err)
		} else {
			t.Logf("visualization written to %s", p)
		}
	}
	switch pc.result {
	case porcupine.Ok:
		return
	case porcupine.Illegal:
		t.Errorf("the history is NOT linearizable")
	default:
		t.Errorf("the linearizability check was inconclusive after %v (DROVER_LIN_CHECK_TIMEOUT; "+
			"the race detector slows the checker some thirtyfold)", checkTimeout)
	}
	hist := art.path("history.jsonl")
	if err := writeHistory(hist, history); err != nil {
		t.Errorf("write history: %v", err)
	} else {
		t.Logf("history: %s (to check it again: DROVER_LIN_RECHECK=%s go test ./store/raftstore/chaostest/ -run TestRecheckHistory)", hist, hist)
	}
	t.Logf("member logs: %s", art.path("m*.log"))
	if pc.result != porcupine.Illegal {
		return
	}
	// Visualize the keys whose operations are not linearizable.
	var bad []porcupine.Operation
	for _, part := range pc.illegal {
		t.Errorf("the operations on key %s are not linearizable (%d of them)", part[0].Input.(kvInput).Key, len(part))
		bad = append(bad, part...)
	}
	viz := art.path("linearizability.html")
	if err := writeVisualization(viz, checkHistory(bad, checkTimeout, true), notes); err != nil {
		t.Errorf("write visualization: %v", err)
	} else {
		t.Logf("visualization of those keys (open in a browser): %s", viz)
	}
}

// linCluster is an in-process cluster behind a netsim. slots holds the
// running member of each seat, nil while it is down; clients read it at
// every operation, the nemesis swaps it.
type linCluster struct {
	t     *testing.T
	art   *artifacts
	net   *netsim
	cfgs  []raftstore.Config
	slots [linMembers]atomic.Pointer[raftstore.Store]
}

func newLinCluster(t *testing.T, art *artifacts) *linCluster {
	c := &linCluster{t: t, art: art, net: newNetsim()}
	for i := range linMembers {
		id := fmt.Sprintf("m%d", i+1)
		addr := freeAddr(t)
		cfg := raftstore.DefaultConfig(dataDir(t, id))
		cfg.NodeID = id
		cfg.BindAddr, cfg.AdvertiseAddr = addr, addr
		chaosTiming(&cfg)
		if i == 0 {
			cfg.Bootstrap = true
		} else {
			cfg.Bootstrap, cfg.Join = false, []string{c.cfgs[0].AdvertiseAddr}
		}
		logger, closeLog := fileLogger(t, art.path(id+".log"))
		t.Cleanup(closeLog)
		cfg.Logger = logger
		cfg.Dialer = c.net.dialer(addr)
		c.cfgs = append(c.cfgs, cfg)
		// Registered after the data directory and the log: cleanups run
		// last first, so the member stops before they go.
		t.Cleanup(func() { c.abort(i) })
		if err := c.start(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.waitHealthy(recoverTimeout); err != nil {
		t.Fatal(err)
	}
	return c
}

// start opens member i on its data directory, with a fresh listener on its
// port, as a restarted process would.
func (c *linCluster) start(i int) error {
	cfg := c.cfgs[i]
	ln, err := c.net.listen(cfg.BindAddr)
	if err != nil {
		return fmt.Errorf("listen for %s: %w", cfg.NodeID, err)
	}
	cfg.Listener = ln
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	s, err := raftstore.Open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open %s: %w", cfg.NodeID, err)
	}
	c.slots[i].Store(s)
	return nil
}

// abort stops member i as a crash would (Store.Abort), if it runs.
func (c *linCluster) abort(i int) {
	s := c.slots[i].Swap(nil)
	if s == nil {
		return
	}
	if !waitDone(goDone(func() { s.Abort() }), recoverTimeout) {
		c.t.Errorf("Abort of %s did not return within %v; goroutines: %s",
			c.cfgs[i].NodeID, recoverTimeout, c.art.dumpGoroutines("goroutines-abort.txt"))
	}
}

// waitHealthy waits until every member runs and can serve linearizable
// requests (Store.Ready), and says what is wrong if that takes longer
// than timeout.
func (c *linCluster) waitHealthy(timeout time.Duration) error {
	var why []string
	ok := poll(timeout, 20*time.Millisecond, func() bool {
		why = why[:0]
		for i := range c.slots {
			s := c.slots[i].Load()
			if s == nil {
				why = append(why, c.cfgs[i].NodeID+" is down")
				continue
			}
			if err := s.Ready(); err != nil {
				leader, _ := s.Leader()
				why = append(why, fmt.Sprintf("%s (leader %q): %v", c.cfgs[i].NodeID, leader, err))
			}
		}
		return len(why) == 0
	})
	if !ok {
		return fmt.Errorf("the cluster did not recover within %v: %s", timeout, strings.Join(why, "; "))
	}
	return nil
}

// leader returns the index of a running member that believes it leads, or
// -1.
func (c *linCluster) leader() int {
	for i := range c.slots {
		if s := c.slots[i].Load(); s != nil && s.IsLeader() {
			return i
		}
	}
	return -1
}

// recorder collects the history, with monotonic timestamps in nanoseconds
// since base.
type recorder struct {
	base    time.Time
	nextPID atomic.Int64

	mu    sync.Mutex
	ops   []porcupine.Operation
	notes []porcupine.Annotation
}

func (r *recorder) now() int64 { return int64(time.Since(r.base)) }

// newPID returns a new porcupine client ID. A client takes a new one after
// an operation whose outcome is unknown: that operation stays open
// forever in the history, and a client's operations must not overlap.
func (r *recorder) newPID() int { return int(r.nextPID.Add(1) - 1) }

func (r *recorder) add(op porcupine.Operation) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

func (r *recorder) note(start int64, desc, details string) {
	r.mu.Lock()
	r.notes = append(r.notes, porcupine.Annotation{
		Tag: "nemesis", Start: start, End: r.now(), Description: desc, Details: details,
		BackgroundColor: "#f9d9d9",
	})
	r.mu.Unlock()
}

func (r *recorder) history() ([]porcupine.Operation, []porcupine.Annotation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]porcupine.Operation(nil), r.ops...), append([]porcupine.Annotation(nil), r.notes...)
}

// clientStats counts the outcomes of operations, and the errors that
// store.Store does not document (a failed test).
type clientStats struct {
	mu         sync.Mutex
	errClasses map[string]int
	undoc      []string
}

func newClientStats() *clientStats { return &clientStats{errClasses: map[string]int{}} }

func (s *clientStats) countErr(err error) {
	class := "other"
	switch {
	case errors.Is(err, store.ErrUnavailable):
		class = "unavailable"
	case errors.Is(err, store.ErrClosed):
		class = "closed"
	case errors.Is(err, context.DeadlineExceeded):
		class = "deadline"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errClasses[class]++
	if class == "other" && len(s.undoc) < 10 {
		s.undoc = append(s.undoc, err.Error())
	}
}

func (s *clientStats) log(t *testing.T, history []porcupine.Operation) {
	t.Helper()
	byKind := map[string]int{}
	for _, op := range history {
		in, out := op.Input.(kvInput), op.Output.(kvOutput)
		name := [...]string{"get", "create", "update", "delete"}[in.Kind]
		if in.Kind == opUpdate && in.ExpectedRev != 0 {
			name = "cas"
		}
		byKind[name+"/"+[...]string{"ok", "not-found", "exists", "conflict", "unknown"}[out.Kind]]++
	}
	t.Logf("operations: %d: %s", len(history), sortedCounts(byKind))
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("errors other than not-found, exists and conflict (reads dropped, writes unknown): %s", sortedCounts(s.errClasses))
	for _, e := range s.undoc {
		t.Errorf("an error store.Store does not document (neither ErrUnavailable, ErrClosed nor ctx's): %s", e)
	}
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	return b.String()
}

// keyName is the name of key i of an epoch.
func keyName(epoch, i int) string { return fmt.Sprintf("/lin/e%d/k%d", epoch, i) }

// epoch returns the current epoch of the keys.
func (r *recorder) epoch() int { return int(time.Since(r.base) / linEpoch) }

// runClient runs random operations until ctx ends, through one member at
// a time; it moves to the next member when its member is down or an
// operation's outcome is unknown.
func runClient(ctx context.Context, c *linCluster, rec *recorder, stats *clientStats, id int, rng *rand.Rand) {
	member := id % linMembers
	pid := rec.newPID()
	seq := 0
	known := map[string]int64{} // the last revision of each key this client saw
	for ctx.Err() == nil {
		s := c.slots[member].Load()
		if s == nil {
			member = (member + 1) % linMembers
			continue
		}
		key := keyName(rec.epoch(), rng.IntN(linKeys))
		seq++
		value := fmt.Sprintf("c%d.%d", id, seq)
		in := kvInput{Key: key}
		switch r := rng.IntN(100); {
		case r < 40:
			in.Kind = opGet
		case r < 55:
			in.Kind, in.Value = opCreate, value
		case r < 70:
			in.Kind, in.Value = opUpdate, value
		case r < 88:
			in.Kind, in.Value, in.ExpectedRev = opUpdate, value, known[key]
			if in.ExpectedRev == 0 {
				in.Kind, in.Value = opGet, ""
			}
		case r < 94:
			in.Kind, in.ExpectedRev = opDelete, known[key]
		default:
			in.Kind = opDelete
		}
		opCtx, cancel := context.WithTimeout(context.Background(), linOpTimeout)
		call := rec.now()
		out, err := do(opCtx, s, in)
		ret := rec.now()
		cancel()
		var ce *store.ConflictError
		switch {
		case err == nil:
		case errors.Is(err, store.ErrNotFound):
			out = kvOutput{Kind: outNotFound}
		case errors.Is(err, store.ErrAlreadyExists):
			out = kvOutput{Kind: outExists}
		case errors.As(err, &ce):
			out = kvOutput{Kind: outConflict, Rev: ce.Actual}
		default:
			stats.countErr(err)
			member = (member + 1) % linMembers
			if in.Kind == opGet {
				continue // a failed read changed nothing
			}
			rec.add(porcupine.Operation{
				ClientId: pid, Input: in, Call: call, Output: kvOutput{Kind: outUnknown}, Return: unknownReturn,
				Metadata: opMeta{Member: s.NodeID(), Err: err.Error()},
			})
			pid = rec.newPID()
			continue
		}
		rec.add(porcupine.Operation{
			ClientId: pid, Input: in, Call: call, Output: out, Return: ret, Metadata: opMeta{Member: s.NodeID()},
		})
		switch {
		case out.Kind == outNotFound || (in.Kind == opDelete && out.Kind == outOK):
			delete(known, key)
		case out.Kind == outOK || out.Kind == outConflict:
			known[key] = out.Rev
		}
	}
}

// do runs one operation; the error is the store's.
func do(ctx context.Context, s *raftstore.Store, in kvInput) (kvOutput, error) {
	switch in.Kind {
	case opGet:
		kv, err := s.Get(ctx, in.Key, store.ReadOptions{})
		if err != nil {
			return kvOutput{}, err
		}
		if kv.Key != in.Key {
			return kvOutput{}, fmt.Errorf("Get(%q) returned key %q", in.Key, kv.Key)
		}
		return kvOutput{Kind: outOK, Value: string(kv.Value), Rev: kv.ModRevision}, nil
	case opCreate:
		rev, err := s.Create(ctx, in.Key, []byte(in.Value))
		return kvOutput{Kind: outOK, Rev: rev}, err
	case opUpdate:
		rev, err := s.Update(ctx, in.Key, []byte(in.Value), in.ExpectedRev)
		return kvOutput{Kind: outOK, Rev: rev}, err
	case opDelete:
		prev, rev, err := s.Delete(ctx, in.Key, in.ExpectedRev)
		if err != nil {
			return kvOutput{}, err
		}
		if prev == nil {
			return kvOutput{}, fmt.Errorf("Delete(%q) succeeded without the previous version", in.Key)
		}
		return kvOutput{Kind: outOK, Rev: rev, Value: string(prev.Value), PrevRev: prev.ModRevision}, nil
	}
	panic("unknown op")
}

// finalReads reads every key of every epoch through every member, once the
// cluster is healed, and adds the reads to the history.
func finalReads(c *linCluster, rec *recorder) {
	epochs := rec.epoch() + 1
	for i := range c.slots {
		s := c.slots[i].Load()
		if s == nil {
			continue
		}
		pid := rec.newPID()
		for k := range epochs * linKeys {
			in := kvInput{Kind: opGet, Key: keyName(k/linKeys, k%linKeys)}
			ctx, cancel := context.WithTimeout(context.Background(), linOpTimeout)
			call := rec.now()
			out, err := do(ctx, s, in)
			ret := rec.now()
			cancel()
			if errors.Is(err, store.ErrNotFound) {
				out, err = kvOutput{Kind: outNotFound}, nil
			}
			if err != nil {
				c.t.Errorf("final read of %s through %s, healed: %v", in.Key, s.NodeID(), err)
				continue
			}
			rec.add(porcupine.Operation{ClientId: pid, Input: in, Call: call, Output: out, Return: ret,
				Metadata: opMeta{Member: s.NodeID() + " (final read)"}})
		}
	}
}

// nemesis injects one fault at a time, each followed by a pause: it
// shuffles the kinds of fault and runs each once per round, so that a
// short run sees every kind. After a fault it waits (polling, with a
// deadline) until every member serves linearizable requests again; if the
// cluster does not recover, the test fails and the nemesis stops.
type nemesis struct {
	c      *linCluster
	rec    *recorder
	rng    *rand.Rand
	counts map[string]int
}

type fault struct {
	name string
	// run injects the fault, holds it for a while (or until ctx ends),
	// and undoes it; it returns a description for the visualization.
	run func(n *nemesis, ctx context.Context) (string, error)
}

var faults = []fault{
	{"kill-leader", (*nemesis).killLeader},
	{"isolate-leader", (*nemesis).isolateLeader},
	{"isolate-follower", (*nemesis).isolateFollower},
	{"cut-leader-follower", (*nemesis).cutLeaderLink},
	{"restart-follower", (*nemesis).restartFollower},
	{"crash-restart-leader", (*nemesis).crashRestartLeader},
	{"kill-leader-and-follower", (*nemesis).killTwo},
}

func (n *nemesis) run(ctx context.Context) {
	order := make([]fault, len(faults))
	for {
		copy(order, faults)
		n.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, f := range order {
			if !n.pause(ctx, 300*time.Millisecond, 800*time.Millisecond) {
				return
			}
			start := n.rec.now()
			desc, err := f.run(n, ctx)
			if err != nil {
				n.c.t.Errorf("nemesis %s: %v", f.name, err)
				return
			}
			n.counts[f.name]++
			began := time.Now()
			if err := n.c.waitHealthy(recoverTimeout); err != nil {
				n.c.t.Errorf("after %s: %v", desc, err)
				n.rec.note(start, desc, "did not recover")
				return
			}
			n.rec.note(start, desc, fmt.Sprintf("recovered %v after the fault ended", time.Since(began).Round(time.Millisecond)))
		}
	}
}

// pause waits a random time in [lo, hi), unless ctx ends first (false).
// This is the shape of the workload, not a wait for a condition.
func (n *nemesis) pause(ctx context.Context, lo, hi time.Duration) bool {
	t := time.NewTimer(lo + time.Duration(n.rng.Int64N(int64(hi-lo))))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (n *nemesis) total() int {
	sum := 0
	for _, v := range n.counts {
		sum += v
	}
	return sum
}

func (n *nemesis) summary() string { return sortedCounts(n.counts) }

func (n *nemesis) name(i int) string { return n.c.cfgs[i].NodeID }
func (n *nemesis) addr(i int) string { return n.c.cfgs[i].AdvertiseAddr }

// pickLeader returns the leader (waiting for one if an election is under
// way); pickFollower a random other member.
func (n *nemesis) pickLeader() (int, error) {
	l := -1
	if !poll(recoverTimeout, 10*time.Millisecond, func() bool { l = n.c.leader(); return l >= 0 }) {
		return -1, fmt.Errorf("no member leads %v after the cluster recovered", recoverTimeout)
	}
	return l, nil
}

func (n *nemesis) pickFollower(l int) int {
	f := n.rng.IntN(linMembers - 1)
	if f >= l {
		f++
	}
	return f
}

// killLeader aborts the leader, waits for the others to elect a new one,
// keeps the old one down a little longer, and restarts it on its data.
func (n *nemesis) killLeader(ctx context.Context) (string, error) {
	l, err := n.pickLeader()
	if err != nil {
		return "", err
	}
	n.c.abort(l)
	desc := fmt.Sprintf("kill leader %s, restart it", n.name(l))
	if !poll(recoverTimeout, 10*time.Millisecond, func() bool {
		nl := n.c.leader()
		return nl >= 0 && nl != l
	}) {
		return "", fmt.Errorf("%s: no new leader within %v", desc, recoverTimeout)
	}
	n.pause(ctx, 200*time.Millisecond, time.Second)
	return desc, n.c.start(l)
}

// crashRestartLeader aborts the leader and opens it again at once,
// before the others notice: it comes back as a follower of its own old
// term, with entries it may have appended but not committed.
func (n *nemesis) crashRestartLeader(ctx context.Context) (string, error) {
	l, err := n.pickLeader()
	if err != nil {
		return "", err
	}
	n.c.abort(l)
	return fmt.Sprintf("crash and restart leader %s at once", n.name(l)), n.c.start(l)
}

// killTwo aborts the leader and a follower: the one left has no quorum
// and every request fails or waits, until both come back.
func (n *nemesis) killTwo(ctx context.Context) (string, error) {
	l, err := n.pickLeader()
	if err != nil {
		return "", err
	}
	f := n.pickFollower(l)
	n.c.abort(l)
	n.c.abort(f)
	n.pause(ctx, 300*time.Millisecond, time.Second)
	if err := n.c.start(f); err != nil {
		return "", err
	}
	return fmt.Sprintf("kill leader %s and follower %s, restart both", n.name(l), n.name(f)), n.c.start(l)
}

// restartFollower aborts a follower and opens it again at once.
func (n *nemesis) restartFollower(ctx context.Context) (string, error) {
	l, err := n.pickLeader()
	if err != nil {
		return "", err
	}
	f := n.pickFollower(l)
	n.c.abort(f)
	return fmt.Sprintf("restart follower %s", n.name(f)), n.c.start(f)
}

func (n *nemesis) isolateLeader(ctx context.Context) (string, error) {
	l, err := n.pickLeader()
	if err != nil {
		return "", err
	}
	return n.isolate(ctx, l, "leader")
}

func (n *nemesis) isolateFollower(ctx context.Context) (string, error) {
	l, err := n.pickLeader()
	if err != nil {
		return "", err
	}
	return n.isolate(ctx, n.pickFollower(l), "follower")
}

// isolate cuts member i off from the others for a while, then heals.
func (n *nemesis) isolate(ctx context.Context, i int, role string) (string, error) {
	n.c.net.isolate(n.addr(i))
	n.pause(ctx, time.Second, 2*time.Second)
	n.c.net.heal()
	return fmt.Sprintf("isolate %s %s", role, n.name(i)), nil
}

// cutLeaderLink cuts the link between the leader and one follower only:
// the leader keeps a quorum with the other follower, while the cut one
// hears no heartbeats and stands for election.
func (n *nemesis) cutLeaderLink(ctx context.Context) (string, error) {
	l, err := n.pickLeader()
	if err != nil {
		return "", err
	}
	f := n.pickFollower(l)
	n.c.net.cut(n.addr(l), n.addr(f))
	n.pause(ctx, time.Second, 2*time.Second)
	n.c.net.heal()
	return fmt.Sprintf("cut link leader %s - follower %s", n.name(l), n.name(f)), nil
}
