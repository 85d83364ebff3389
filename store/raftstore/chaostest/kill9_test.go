package chaostest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/raftstore"
)

// helperEnv carries a member's raftstore.Config, as JSON, to the test
// binary re-executed as TestHelperMember.
const helperEnv = "DROVER_CHAOS_HELPER_CONFIG"

// readyPrefix starts the line a helper member prints on stdout once its
// store is open and its control API listens; the line ends with the
// control API's address.
const readyPrefix = "DROVER-MEMBER-READY "

const (
	k9Members     = 3
	k9Writers     = 8
	k9ReqTimeout  = 5 * time.Second
	k9StartLimit  = 60 * time.Second
	k9MaxAttempts = 40
	// k9MinKills is the fewest kill events the nemesis makes while the
	// writers write: they write more keys than asked if it takes longer.
	k9MinKills = 12
)

// TestHelperMember is not a test: it is the body of a member process of
// TestKill9NoAcknowledgedWriteLost, which re-executes the test binary with
// -test.run=^TestHelperMember$ and the member's Config in the environment.
// Without that environment it does nothing.
func TestHelperMember(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		return
	}
	runHelperMember(raw) // never returns
}

// runHelperMember opens the store, serves the control API until the
// process is killed, and exits if its parent goes away (stdin closes).
func runHelperMember(raw string) {
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "helper member: "+format+"\n", args...)
		os.Exit(2)
	}
	var cfg raftstore.Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fail("decode %s: %v", helperEnv, err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	go func() {
		io.Copy(io.Discard, os.Stdin)
		fmt.Fprintln(os.Stderr, "helper member: stdin closed, the test is gone: exiting")
		os.Exit(3)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), k9StartLimit)
	s, err := raftstore.Open(ctx, cfg)
	cancel()
	if err != nil {
		fail("open: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen for the control API: %v", err)
	}
	go http.Serve(ln, controlAPI(s))
	fmt.Printf("%s%s\n", readyPrefix, ln.Addr())
	select {} // until SIGKILL
}

// kvJSON is a key as the control API returns it.
type kvJSON struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	CreateRev int64  `json:"createRev"`
	ModRev    int64  `json:"modRev"`
}

// errorJSON is the body of a failed request.
type errorJSON struct {
	Error string `json:"error"`
}

// controlAPI serves a member's store to the test over HTTP:
//
//	POST /put?key=K      body: value   Create; 200 {"rev":N} only once Create returned nil
//	GET  /get?key=K[&stale=1]          Get; 200 kvJSON, 404 if not found
//	GET  /list?prefix=P                List (linearizable); 200 [kvJSON]
//	GET  /status                       200 {"id","leader","ready"}
//
// 409 means store.ErrAlreadyExists; any other failure is 503 with the
// store's error.
func controlAPI(s *raftstore.Store) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	fail := func(w http.ResponseWriter, err error) {
		code := http.StatusServiceUnavailable
		switch {
		case errors.Is(err, store.ErrNotFound):
			code = http.StatusNotFound
		case errors.Is(err, store.ErrAlreadyExists):
			code = http.StatusConflict
		}
		reply(w, code, errorJSON{Error: err.Error()})
	}
	ctxOf := func(r *http.Request) (context.Context, context.CancelFunc) {
		return context.WithTimeout(r.Context(), k9ReqTimeout)
	}
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		value, err := io.ReadAll(r.Body)
		if err != nil {
			fail(w, err)
			return
		}
		ctx, cancel := ctxOf(r)
		defer cancel()
		rev, err := s.Create(ctx, r.URL.Query().Get("key"), value)
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, http.StatusOK, map[string]int64{"rev": rev})
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := ctxOf(r)
		defer cancel()
		kv, err := s.Get(ctx, r.URL.Query().Get("key"), store.ReadOptions{Stale: r.URL.Query().Get("stale") != ""})
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, http.StatusOK, kvJSON{Key: kv.Key, Value: string(kv.Value), CreateRev: kv.CreateRevision, ModRev: kv.ModRevision})
	})
	mux.HandleFunc("GET /list", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := ctxOf(r)
		defer cancel()
		res, err := s.List(ctx, r.URL.Query().Get("prefix"), store.ListOptions{})
		if err != nil {
			fail(w, err)
			return
		}
		out := make([]kvJSON, 0, len(res.KVs))
		for _, kv := range res.KVs {
			out = append(out, kvJSON{Key: kv.Key, Value: string(kv.Value), CreateRev: kv.CreateRevision, ModRev: kv.ModRevision})
		}
		reply(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st := map[string]any{"id": s.NodeID(), "leader": s.IsLeader(), "ready": ""}
		if err := s.Ready(); err != nil {
			st["ready"] = err.Error()
		}
		reply(w, http.StatusOK, st)
	})
	return mux
}

// procMember is a member running in a child process.
type procMember struct {
	cfg     raftstore.Config
	logPath string

	mu       sync.Mutex
	running  bool
	control  string // the control API's base URL
	exited   chan struct{}
	proc     *os.Process
	state    *os.ProcessState
	killing  bool
	stdin    io.WriteCloser
	starts   int
	problems []string // exits the test did not cause
}

// start runs the member's process and waits until its store is open.
func (m *procMember) start() error {
	raw, err := json.Marshal(m.cfg)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.starts++
	fmt.Fprintf(logf, "===== start %d of %s at %s\n", m.starts, m.cfg.NodeID, time.Now().Format(time.StampMicro))
	m.mu.Unlock()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMember$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(raw))
	ready := make(chan string, 1)
	cmd.Stdout = &readyWriter{w: logf, ready: ready}
	cmd.Stderr = logf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", m.cfg.NodeID, err)
	}
	exited := make(chan struct{})
	m.mu.Lock()
	m.proc, m.stdin, m.exited, m.killing, m.state = cmd.Process, stdin, exited, false, nil
	m.mu.Unlock()
	go func() {
		cmd.Wait()
		logf.Close()
		m.mu.Lock()
		m.state, m.running = cmd.ProcessState, false
		if !m.killing {
			m.problems = append(m.problems, fmt.Sprintf("%s exited by itself (%v)", m.cfg.NodeID, cmd.ProcessState))
		}
		m.mu.Unlock()
		close(exited)
	}()
	t := time.NewTimer(k9StartLimit)
	defer t.Stop()
	select {
	case addr := <-ready:
		m.mu.Lock()
		m.control, m.running = "http://"+addr, true
		m.mu.Unlock()
		return nil
	case <-exited:
		return fmt.Errorf("%s exited before it was ready:\n%s", m.cfg.NodeID, tail(m.logPath, 3000))
	case <-t.C:
		m.kill()
		return fmt.Errorf("%s not ready within %v:\n%s", m.cfg.NodeID, k9StartLimit, tail(m.logPath, 3000))
	}
}

// signal sends SIGKILL to the member's process, if it runs; wait waits
// for it to die. Killing several members "at once" is signal on each,
// then wait on each.
func (m *procMember) signal() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return
	}
	m.killing, m.running = true, false
	m.proc.Signal(syscall.SIGKILL)
}

func (m *procMember) wait() error {
	m.mu.Lock()
	exited, proc := m.exited, m.proc
	m.mu.Unlock()
	if proc == nil {
		return nil
	}
	if !waitDone(exited, 10*time.Second) {
		return fmt.Errorf("%s (pid %d) still runs 10s after SIGKILL", m.cfg.NodeID, proc.Pid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.proc = nil
	m.stdin.Close()
	if ws, ok := m.state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("%s had exited before it was killed: %v", m.cfg.NodeID, m.state)
	}
	return nil
}

func (m *procMember) kill() error {
	m.signal()
	return m.wait()
}

func (m *procMember) endpoint() (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.control, m.running
}

// readyWriter copies a member's stdout to its log and reports the address
// on its ready line.
type readyWriter struct {
	w     io.Writer
	ready chan string
	buf   []byte
	sent  bool
}

func (r *readyWriter) Write(p []byte) (int, error) {
	r.w.Write(p)
	if r.sent {
		return len(p), nil
	}
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(r.buf[:i])
		r.buf = r.buf[i+1:]
		if addr, ok := strings.CutPrefix(line, readyPrefix); ok {
			r.ready <- strings.TrimSpace(addr)
			r.sent, r.buf = true, nil
			return len(p), nil
		}
	}
}

// outcome is how a write through the control API ended.
type outcome int

const (
	acked     outcome = iota // 200: the store acknowledged it
	exists                   // 409: store.ErrAlreadyExists
	notSent                  // the member's control port refused the connection
	ambiguous                // anything else: it may or may not have happened
)

// k9Client talks to the members' control APIs.
type k9Client struct {
	http *http.Client
}

func (c *k9Client) put(ctx context.Context, base, key, value string) (outcome, int64, string) {
	ctx, cancel := context.WithTimeout(ctx, k9ReqTimeout+time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/put?key="+url.QueryEscape(key), strings.NewReader(value))
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return notSent, 0, err.Error()
		}
		return ambiguous, 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return ambiguous, 0, err.Error()
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var r struct{ Rev int64 }
		if err := json.Unmarshal(body, &r); err != nil || r.Rev <= 0 {
			return ambiguous, 0, fmt.Sprintf("bad answer %q", body)
		}
		return acked, r.Rev, ""
	case http.StatusConflict:
		return exists, 0, string(body)
	}
	return ambiguous, 0, fmt.Sprintf("%s: %s", resp.Status, body)
}

// getJSON GETs path from a member and decodes a 200 answer into v; found
// is false on 404.
func (c *k9Client) getJSON(ctx context.Context, base, path string, v any) (found bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, k9ReqTimeout+time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return true, json.Unmarshal(body, v)
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("%s: %s", resp.Status, body)
}

// k9Cluster is the cluster of member processes.
type k9Cluster struct {
	members []*procMember
	client  *k9Client
}

// running returns the indexes of the members whose process runs.
func (c *k9Cluster) running() []int {
	var out []int
	for i, m := range c.members {
		if _, ok := m.endpoint(); ok {
			out = append(out, i)
		}
	}
	return out
}

// leader returns the index of a running member that says it leads and is
// ready, or -1.
func (c *k9Cluster) leader(ctx context.Context) int {
	for _, i := range c.running() {
		base, _ := c.members[i].endpoint()
		var st struct {
			Leader bool
			Ready  string
		}
		if ok, err := c.client.getJSON(ctx, base, "/status", &st); ok && err == nil && st.Leader && st.Ready == "" {
			return i
		}
	}
	return -1
}

// killAndRestart kills the members idx at once (SIGKILL to each, then
// waits for each), keeps them down for down, and starts them again.
func (c *k9Cluster) killAndRestart(idx []int, down time.Duration) error {
	for _, i := range idx {
		c.members[i].signal()
	}
	for _, i := range idx {
		if err := c.members[i].wait(); err != nil {
			return err
		}
	}
	if down > 0 {
		t := time.NewTimer(down) // the shape of the fault: how long the members stay dead
		<-t.C
	}
	for _, i := range idx {
		if err := c.members[i].start(); err != nil {
			return err
		}
	}
	return nil
}

// writeSentinel writes a new key through any running member until one
// acknowledges it, and returns its value and revision.
func (c *k9Cluster) writeSentinel(ctx context.Context, rng *rand.Rand, key string) (string, int64, error) {
	var last string
	for attempt := 1; attempt <= k9MaxAttempts; attempt++ {
		run := c.running()
		if len(run) == 0 {
			return "", 0, errors.New("no member runs")
		}
		base, _ := c.members[run[rng.IntN(len(run))]].endpoint()
		value := fmt.Sprintf("%s#%d", key, attempt)
		o, rev, msg := c.client.put(ctx, base, key, value)
		switch o {
		case acked:
			return value, rev, nil
		case exists:
			// An earlier attempt took effect: read which.
			var kv kvJSON
			if ok, err := c.client.getJSON(ctx, base, "/get?key="+url.QueryEscape(key), &kv); ok && err == nil {
				return kv.Value, kv.ModRev, nil
			}
		}
		last = msg
		if ctx.Err() != nil {
			break
		}
	}
	return "", 0, fmt.Errorf("no member acknowledged %s in %d attempts; last: %s", key, k9MaxAttempts, last)
}

// waitCaughtUp polls a stale read of key on member i until it returns
// value at rev: the member has caught up with the cluster at least to the
// write of key.
func (c *k9Cluster) waitCaughtUp(ctx context.Context, i int, key, value string, rev int64) error {
	var got kvJSON
	var lastErr error
	ok := poll(30*time.Second, 10*time.Millisecond, func() bool {
		base, running := c.members[i].endpoint()
		if !running {
			lastErr = errors.New("not running")
			return false
		}
		var found bool
		found, lastErr = c.client.getJSON(ctx, base, "/get?stale=1&key="+url.QueryEscape(key), &got)
		return found && lastErr == nil && got.Value == value && got.ModRev == rev
	})
	if !ok {
		return fmt.Errorf("%s did not catch up within 30s: its stale read of %s is %+v (err %v), want %q at %d",
			c.members[i].cfg.NodeID, key, got, lastErr, value, rev)
	}
	return nil
}

// k9Ledger records what the writers did.
type k9Ledger struct {
	mu sync.Mutex
	// acked maps a key to the value and revision the store acknowledged.
	acked map[string]kvJSON
	// maybe maps a key to the values of its attempts whose outcome is
	// unknown; one of them may have taken effect.
	maybe map[string][]string
	// revs maps each acknowledged revision to its key.
	revs map[int64]string
	// order lists the acknowledged writes in the order of their
	// acknowledgement.
	order      []ackedWrite
	violations []string
	attempts   int
	ambiguous  int
}

// ackedWrite is an acknowledged write, with when it was sent and when it
// was acknowledged.
type ackedWrite struct {
	key            string
	rev            int64
	invoked, acked time.Time
}

// TestKill9NoAcknowledgedWriteLost writes keys through member processes
// while killing them with SIGKILL, and checks that every acknowledged write
// survives a final crash of every member. See the package doc.
func TestKill9NoAcknowledgedWriteLost(t *testing.T) {
	nKeys := envInt(t, "DROVER_KILL9_KEYS", 4000)
	sd := seed(t)
	art := newArtifacts(t)
	c := &k9Cluster{client: &k9Client{http: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: k9Writers * 2, DisableCompression: true},
	}}}
	defer c.checkMembers(t)
	for i := range k9Members {
		id := fmt.Sprintf("m%d", i+1)
		addr := freeAddr(t)
		cfg := raftstore.DefaultConfig(dataDir(t, id))
		cfg.NodeID = id
		cfg.BindAddr, cfg.AdvertiseAddr = addr, addr
		chaosTiming(&cfg)
		if i == 0 {
			cfg.Bootstrap = true
		} else {
			cfg.Bootstrap, cfg.Join = false, []string{c.members[0].cfg.AdvertiseAddr}
		}
		m := &procMember{cfg: cfg, logPath: art.path(id + ".log")}
		c.members = append(c.members, m)
		// After dataDir's cleanup: the process dies before its data goes.
		t.Cleanup(func() { m.kill() })
		if err := m.start(); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if !poll(30*time.Second, 20*time.Millisecond, func() bool { return c.leader(ctx) >= 0 }) {
		t.Fatal("no leader 30s after the cluster started")
	}

	ledger := &k9Ledger{acked: map[string]kvJSON{}, maybe: map[string][]string{}, revs: map[int64]string{}}
	// A nemesis that fails (a member that does not come back, a cluster
	// that does not take a write) stops the writers: with members left
	// dead they would retry every key for many minutes, hiding the cause.
	writeCtx, stopWriters := context.WithCancel(ctx)
	defer stopWriters()
	keys := make(chan int)
	var writers sync.WaitGroup
	for w := range k9Writers {
		writers.Add(1)
		go func() {
			defer writers.Done()
			rng := newRand(sd, uint64(w))
			for k := range keys {
				writeKey(writeCtx, c, ledger, rng, fmt.Sprintf("/chaos/k%05d", k))
			}
		}()
	}
	// The nemesis kills while the writers write.
	nemCtx, stopNem := context.WithCancel(ctx)
	kn := &k9Nemesis{c: c, rng: newRand(sd, 1000), ledger: ledger, nKeys: nKeys, counts: map[string]int{}}
	nemDone := goDone(func() {
		kn.run(nemCtx)
		if kn.err != nil {
			stopWriters()
		}
	})
	written := 0
	go func() {
		defer close(keys)
		for k := 0; k < nKeys || (kn.struck.Load() < k9MinKills && !kn.stopped.Load() && k < 100*nKeys); k++ {
			select {
			case keys <- k:
				written = k + 1
			case <-writeCtx.Done():
				return
			}
		}
	}()
	writersDone := goDone(writers.Wait)
	if !waitDone(writersDone, 10*time.Minute) {
		t.Fatalf("writers still busy after 10 minutes; goroutines: %s", art.dumpGoroutines("goroutines-writers.txt"))
	}
	stopNem()
	if !waitDone(nemDone, 5*time.Minute) {
		t.Fatalf("nemesis did not stop; goroutines: %s", art.dumpGoroutines("goroutines-nemesis.txt"))
	}
	if kn.err != nil {
		t.Fatalf("the nemesis failed, and the writers were stopped: %v", kn.err)
	}

	// The final crash: every member at once, right after the last write.
	all := []int{0, 1, 2}
	if err := c.killAndRestart(all, 0); err != nil {
		t.Fatalf("final kill of every member: %v", err)
	}
	kn.counts["kill-all (final)"]++
	start := time.Now()
	if !poll(30*time.Second, 20*time.Millisecond, func() bool { return c.leader(ctx) >= 0 }) {
		t.Fatal("no leader 30s after every member was killed and restarted")
	}
	t.Logf("a leader %v after every member was restarted", time.Since(start).Round(time.Millisecond))

	ledger.mu.Lock()
	t.Logf("keys: %d (DROVER_KILL9_KEYS=%d, more until %d kill events); write attempts %d, of which ambiguous %d; "+
		"acknowledged %d, unresolved (maybe written) %d",
		written, nKeys, k9MinKills, ledger.attempts, ledger.ambiguous, len(ledger.acked), len(ledger.maybe))
	t.Logf("faults: %d kill events (%s), %d member processes killed with SIGKILL, %d catch-up checks",
		kn.events(), sortedCounts(kn.counts), kn.killed+k9Members, kn.catchUps)
	for _, v := range ledger.violations {
		t.Error(v)
	}
	checkRealTimeOrder(t, ledger.order)
	if len(ledger.acked) == 0 {
		t.Error("no write was acknowledged: the test tested nothing")
	}
	ledger.mu.Unlock()

	// Every acknowledged write is there, through every member.
	var lists [k9Members][]kvJSON
	for i, m := range c.members {
		var lastErr error
		if !poll(30*time.Second, 20*time.Millisecond, func() bool {
			base, _ := m.endpoint()
			var ok bool
			ok, lastErr = c.client.getJSON(ctx, base, "/list?prefix="+url.QueryEscape("/chaos/"), &lists[i])
			return ok && lastErr == nil
		}) {
			t.Fatalf("linearizable List through %s failed for 30s: %v", m.cfg.NodeID, lastErr)
		}
		verifyList(t, m.cfg.NodeID, lists[i], ledger)
	}
	// The writes acknowledged last before the final crash are the ones
	// most at risk: read each through every member.
	ledger.mu.Lock()
	recent := ledger.order[max(0, len(ledger.order)-100):]
	ledger.mu.Unlock()
	for _, m := range c.members {
		base, _ := m.endpoint()
		for _, w := range recent {
			var kv kvJSON
			found, err := c.client.getJSON(ctx, base, "/get?key="+url.QueryEscape(w.key), &kv)
			if err != nil || !found || kv.ModRev != w.rev {
				t.Errorf("%s: linearizable Get of %s, acknowledged at revision %d just before the final crash: %+v, found %t, %v",
					m.cfg.NodeID, w.key, w.rev, kv, found, err)
			}
		}
	}
	for i := 1; i < k9Members; i++ {
		if !equalLists(lists[0], lists[i]) {
			t.Errorf("%s and %s list different contents after the final restart (%d and %d keys)",
				c.members[0].cfg.NodeID, c.members[i].cfg.NodeID, len(lists[0]), len(lists[i]))
		}
	}

	// Every restarted member catches up with a new write.
	value, rev, err := c.writeSentinel(ctx, kn.rng, "/sentinel/final")
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.members {
		if err := c.waitCaughtUp(ctx, i, "/sentinel/final", value, rev); err != nil {
			t.Error(err)
		}
	}
}

// checkMembers reports what went wrong in the member processes: one that
// exited by itself, a data race, a panic. It runs on every way out of the
// test, so that a failure elsewhere (a nemesis that could not restart a
// member) shows its cause.
func (c *k9Cluster) checkMembers(t *testing.T) {
	for _, m := range c.members {
		m.mu.Lock()
		for _, p := range m.problems {
			t.Errorf("%s; log: %s", p, m.logPath)
		}
		m.mu.Unlock()
		log, _ := os.ReadFile(m.logPath)
		for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
			if bytes.Contains(log, []byte(bad)) {
				t.Errorf("%s's log (%s) has %q", m.cfg.NodeID, m.logPath, bad)
			}
		}
	}
}

// writeKey creates key through random running members until a member
// acknowledges it, the store says it exists (an earlier attempt whose
// outcome was unknown took effect), or it gives up; it records the
// outcome in the ledger. Each attempt writes its own value, so the final
// value says which attempt took effect.
func writeKey(ctx context.Context, c *k9Cluster, l *k9Ledger, rng *rand.Rand, key string) {
	var unknown []string
	defer func() {
		if len(unknown) > 0 {
			l.mu.Lock()
			if _, ok := l.acked[key]; !ok {
				l.maybe[key] = unknown
			}
			l.mu.Unlock()
		}
	}()
	for attempt := 1; attempt <= k9MaxAttempts && ctx.Err() == nil; attempt++ {
		run := c.running()
		if len(run) == 0 {
			poll(k9StartLimit, 10*time.Millisecond, func() bool { return len(c.running()) > 0 || ctx.Err() != nil })
			continue
		}
		i := run[rng.IntN(len(run))]
		base, _ := c.members[i].endpoint()
		value := fmt.Sprintf("%s#%d", key, attempt)
		invoked := time.Now()
		o, rev, msg := c.client.put(ctx, base, key, value)
		l.mu.Lock()
		l.attempts++
		switch o {
		case acked:
			l.acked[key] = kvJSON{Key: key, Value: value, CreateRev: rev, ModRev: rev}
			if other, dup := l.revs[rev]; dup {
				l.violations = append(l.violations, fmt.Sprintf(
					"revision %d acknowledged twice: for %s and for %s", rev, other, key))
			}
			l.revs[rev] = key
			l.order = append(l.order, ackedWrite{key: key, rev: rev, invoked: invoked, acked: time.Now()})
			l.mu.Unlock()
			return
		case exists:
			if len(unknown) == 0 {
				l.violations = append(l.violations, fmt.Sprintf(
					"Create of %s through %s: already exists, though no earlier attempt could have written it (%s)",
					key, c.members[i].cfg.NodeID, msg))
			}
			l.mu.Unlock()
			return
		case ambiguous:
			l.ambiguous++
			unknown = append(unknown, value)
		}
		l.mu.Unlock()
	}
}

// verifyList checks one member's list of the keys after the final
// restart against what the writers recorded.
func verifyList(t *testing.T, member string, list []kvJSON, l *k9Ledger) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	got := make(map[string]kvJSON, len(list))
	revs := make(map[int64]string, len(list))
	for _, kv := range list {
		got[kv.Key] = kv
		if other, dup := revs[kv.ModRev]; dup {
			t.Errorf("%s: %s and %s have the same revision %d", member, other, kv.Key, kv.ModRev)
		}
		revs[kv.ModRev] = kv.Key
		if kv.CreateRev != kv.ModRev {
			t.Errorf("%s: %s was written once, but its CreateRevision %d is not its ModRevision %d",
				member, kv.Key, kv.CreateRev, kv.ModRev)
		}
	}
	lost := 0
	for key, want := range l.acked {
		kv, ok := got[key]
		switch {
		case !ok:
			lost++
			if lost <= 20 {
				t.Errorf("%s: acknowledged write LOST: %s = %q at revision %d is not there", member, key, want.Value, want.ModRev)
			}
		case kv.Value != want.Value || kv.ModRev != want.ModRev:
			t.Errorf("%s: acknowledged write %s = %q at revision %d reads back as %q at %d",
				member, key, want.Value, want.ModRev, kv.Value, kv.ModRev)
		}
	}
	if lost > 0 {
		t.Errorf("%s: %d of %d acknowledged writes lost", member, lost, len(l.acked))
	}
	extra := 0
	for key, kv := range got {
		if _, ok := l.acked[key]; ok {
			continue
		}
		if vals, ok := l.maybe[key]; !ok || !contains(vals, kv.Value) {
			t.Errorf("%s: %s = %q at %d, a value no write whose outcome was unknown wrote (candidates %q)",
				member, key, kv.Value, kv.ModRev, l.maybe[key])
		}
		extra++
	}
	t.Logf("%s: %d keys: all %d acknowledged writes present, plus %d of %d writes whose outcome was unknown",
		member, len(list), len(l.acked), extra, len(l.maybe))
}

// checkRealTimeOrder checks that revisions follow real time: a write
// acknowledged before another was sent has a smaller revision.
func checkRealTimeOrder(t *testing.T, order []ackedWrite) {
	t.Helper()
	// order is by acknowledgement; maxRev[i] is the greatest revision
	// among the first i+1 acknowledged.
	maxRev := make([]int64, len(order))
	for i, w := range order {
		maxRev[i] = w.rev
		if i > 0 {
			maxRev[i] = max(maxRev[i], maxRev[i-1])
		}
	}
	bad := 0
	for _, w := range order {
		// The writes acknowledged before w was sent.
		n := sort.Search(len(order), func(i int) bool { return !order[i].acked.Before(w.invoked) })
		if n > 0 && maxRev[n-1] >= w.rev {
			if bad++; bad <= 10 {
				t.Errorf("%s got revision %d, but a write acknowledged before it was sent has revision %d",
					w.key, w.rev, maxRev[n-1])
			}
		}
	}
}

func contains(vals []string, v string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

func equalLists(a, b []kvJSON) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// k9Nemesis kills members at random moments while the writers write: the
// leader, a follower, the leader and a follower (losing the quorum), and
// once, half-way through, every member. After each restart it checks that
// the restarted members catch up.
type k9Nemesis struct {
	c      *k9Cluster
	rng    *rand.Rand
	ledger *k9Ledger
	nKeys  int
	counts map[string]int

	killed   int // member processes killed
	catchUps int
	sentinel int
	err      error

	struck  atomic.Int64 // kill events so far
	stopped atomic.Bool  // run has returned
}

func (n *k9Nemesis) events() int {
	sum := 0
	for _, v := range n.counts {
		sum += v
	}
	return sum
}

func (n *k9Nemesis) run(ctx context.Context) {
	defer n.stopped.Store(true)
	killedAll := false
	for {
		pause := time.NewTimer(time.Duration(100+n.rng.IntN(400)) * time.Millisecond) // when to strike next
		select {
		case <-ctx.Done():
			pause.Stop()
			return
		case <-pause.C:
		}
		n.ledger.mu.Lock()
		progress := len(n.ledger.acked)
		n.ledger.mu.Unlock()
		l := n.c.leader(ctx)
		var victims []int
		var kind string
		switch r := n.rng.IntN(100); {
		case !killedAll && progress >= n.nKeys/2:
			kind, victims, killedAll = "kill-all", []int{0, 1, 2}, true
		case r < 40 && l >= 0:
			kind, victims = "kill-leader", []int{l}
		case r < 85:
			kind, victims = "kill-one", []int{n.rng.IntN(k9Members)}
		default:
			a := n.rng.IntN(k9Members)
			b := (a + 1 + n.rng.IntN(k9Members-1)) % k9Members
			kind, victims = "kill-two", []int{a, b}
		}
		down := time.Duration(n.rng.IntN(500)) * time.Millisecond
		if err := n.c.killAndRestart(victims, down); err != nil {
			n.err = fmt.Errorf("%s: %w", kind, err)
			return
		}
		n.counts[kind]++
		n.struck.Add(1)
		n.killed += len(victims)
		// The restarted members catch up with a write made after they
		// came back. This is part of the event: it runs to its end even
		// if ctx ends meanwhile.
		n.sentinel++
		key := fmt.Sprintf("/sentinel/%d", n.sentinel)
		value, rev, err := n.c.writeSentinel(context.Background(), n.rng, key)
		if err != nil {
			n.err = fmt.Errorf("after %s: %w", kind, err)
			return
		}
		for _, i := range victims {
			if err := n.c.waitCaughtUp(context.Background(), i, key, value, rev); err != nil {
				n.err = fmt.Errorf("after %s: %w", kind, err)
				return
			}
			n.catchUps++
		}
	}
}
