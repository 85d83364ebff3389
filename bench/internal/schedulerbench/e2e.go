package schedulerbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	rtrace "runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/bench/internal/storebench"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/store/raftstore"
)

// cluster is a one-member raftstore (Raft over TCP on 127.0.0.1, in a
// temp data directory), an API server over it serving HTTP on loopback,
// and a client of that server.
type cluster struct {
	dir string
	st  *raftstore.Store
	hs  *http.Server
	c   *client.Client
	// inproc is a client of the API server through its in-process
	// transport, as drover up's scheduler and controllers have.
	inproc *client.Client
	// metrics is the Raft store's registry.
	metrics *prometheus.Registry
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startCluster(ctx context.Context, parent string, inflight int) (_ *cluster, err error) {
	cl := &cluster{}
	defer func() {
		if err != nil {
			cl.close()
		}
	}()
	if cl.dir, err = os.MkdirTemp(parent, "schedulerbench-"); err != nil {
		return nil, err
	}
	raftLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := raftstore.DefaultConfig(cl.dir)
	rc.NodeID = "bench"
	if inflight > 0 {
		rc.MaxInflight = inflight
	}
	rc.Listener = raftLn
	cl.metrics = prometheus.NewRegistry()
	rc.Registerer = cl.metrics
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	cl.st, err = raftstore.Open(octx, rc)
	cancel()
	if err != nil {
		raftLn.Close()
		return nil, fmt.Errorf("open raftstore: %w", err)
	}
	if err := poll(ctx, time.Minute, cl.st.Ready); err != nil {
		return nil, fmt.Errorf("raftstore not ready: %w", err)
	}
	srv, err := apiserver.New(apiserver.Config{
		Store: cl.st, Scheme: api.NewDefaultScheme(), Registerer: prometheus.NewRegistry(), Leader: cl.st.IsLeader,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	cl.cancel = stop
	cl.hs = &http.Server{Handler: srv.Handler(), BaseContext: func(net.Listener) context.Context { return rctx }}
	cl.wg.Go(func() { _ = srv.Run(rctx) })
	cl.wg.Go(func() { _ = cl.hs.Serve(ln) })
	// The default transport keeps 2 idle connections per host: with
	// dozens of requests in flight most would dial a new connection.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	if cl.c, err = client.New(client.Config{Host: "http://" + ln.Addr().String(), Transport: tr, UserAgent: "schedulerbench"}); err != nil {
		return nil, err
	}
	if cl.inproc, err = client.New(client.Config{Transport: srv.Transport(), UserAgent: "schedulerbench-inprocess"}); err != nil {
		return nil, err
	}
	err = cl.c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: Namespace}})
	if err != nil && !api.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace %s: %w", Namespace, err)
	}
	return cl, nil
}

func (cl *cluster) close() {
	if cl.cancel != nil {
		cl.cancel()
	}
	if cl.hs != nil {
		_ = cl.hs.Close()
	}
	cl.wg.Wait()
	if cl.st != nil {
		_ = cl.st.Close()
	}
	if cl.dir != "" {
		_ = os.RemoveAll(cl.dir)
	}
}

// raftBatches returns the writes the Raft store has proposed so far and
// the entries they took (its batch_size histogram's sum and count).
func (cl *cluster) raftBatches() (writes, entries int64) {
	mfs, err := cl.metrics.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		if !strings.HasSuffix(mf.GetName(), "_batch_size") {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				writes += int64(h.GetSampleSum())
				entries += int64(h.GetSampleCount())
			}
		}
	}
	return writes, entries
}

// poll calls f until it returns nil, ctx ends or d passes.
func poll(ctx context.Context, d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// parallel calls f(i) for i in [0, n) on workers goroutines and returns
// the first error.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// runE2E creates the nodes (and existing pods) through the API, starts
// the real scheduler (over TCP, or in-process for ModeE2EInProcess),
// waits for a warm-up pod to be bound, then creates the pods from
// cfg.Creators goroutines and waits for a watch to see every one bound.
func runE2E(ctx context.Context, cfg Config, sc Scenario, mode Mode) Result {
	r := Result{Scenario: sc, Mode: mode, Nodes: cfg.Nodes, Pods: cfg.Pods, Latency: &storebench.Histogram{}}
	setup := time.Now()
	cl, err := startCluster(ctx, cfg.Dir, cfg.RaftInflight)
	if err != nil {
		r.Err = err
		return r
	}
	defer cl.close()
	c := cl.c

	nodes := Nodes(cfg.Nodes)
	if err := parallel(len(nodes), cfg.Creators, func(i int) error {
		n := nodes[i]
		status := n.Status
		if err := c.Create(ctx, n); err != nil {
			return fmt.Errorf("create node %s: %w", n.Name, err)
		}
		if len(n.Status.Allocatable) == 0 {
			n.Status = status
			if err := c.UpdateStatus(ctx, n); err != nil {
				return fmt.Errorf("node %s: update status: %w", n.Name, err)
			}
		}
		return nil
	}); err != nil {
		r.Err = err
		return r
	}
	if sc.Existing != nil {
		existing := sc.Existing(Nodes(cfg.Nodes))
		if err := parallel(len(existing), cfg.Creators, func(i int) error {
			if err := c.Create(ctx, existing[i]); err != nil {
				return fmt.Errorf("create pod %s: %w", existing[i].Name, err)
			}
			return nil
		}); err != nil {
			r.Err = err
			return r
		}
	}

	schedClient := c
	if mode == ModeE2EInProcess {
		schedClient = cl.inproc
	}
	sched, err := scheduler.New(scheduler.Config{Client: schedClient, Logger: cfg.SchedulerLog, Parallelism: cfg.Parallelism})
	if err != nil {
		r.Err = err
		return r
	}
	defer sched.Close()
	sctx, stopSched := context.WithCancel(ctx)
	var swg sync.WaitGroup
	swg.Go(func() { _ = sched.Run(sctx) })
	defer func() {
		stopSched()
		swg.Wait()
	}()

	// Warm up: the scheduler has listed every node once this is bound.
	warm := basePod(0, "0", "0")
	warm.Name = "warmup"
	warm.Spec.Containers[0].Resources = api.ResourceRequirements{}
	if err := c.Create(ctx, warm); err != nil {
		r.Err = fmt.Errorf("create the warm-up pod: %w", err)
		return r
	}
	if err := poll(ctx, 5*time.Minute, func() error {
		p := &api.Pod{}
		if err := c.Get(ctx, Namespace, warm.Name, p); err != nil {
			return err
		}
		if p.Spec.NodeName == "" {
			return errors.New("the warm-up pod is not bound")
		}
		return nil
	}); err != nil {
		r.Err = err
		return r
	}
	r.Setup = time.Since(setup)

	list := &api.PodList{}
	if err := c.List(ctx, list, client.ListOptions{Namespace: Namespace, Limit: 1}); err != nil {
		r.Err = err
		return r
	}
	mctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	// The watch selects bound pods: the server sends each pod once, as
	// ADDED when its binding makes it match, and the bench decodes no
	// event of a pod still pending.
	boundSel := fields.OneTermNotEqualSelector("spec.nodeName", "")
	w, err := c.Watch(mctx, &api.PodList{}, client.ListOptions{Namespace: Namespace, ResourceVersion: list.ResourceVersion, FieldSelector: boundSel})
	if err != nil {
		r.Err = err
		return r
	}
	defer w.Stop()

	created := make([]time.Time, cfg.Pods)
	bound := make([]time.Time, cfg.Pods)
	var lastBound time.Time
	watchErr := make(chan error, 1)
	go func() {
		n := 0
		for ev := range w.Events() {
			if ev.Type == api.WatchError {
				watchErr <- fmt.Errorf("watch: %w", ev.Err)
				return
			}
			p, ok := ev.Object.(*api.Pod)
			if !ok || p.Spec.NodeName == "" || ev.Type == api.WatchDeleted {
				continue
			}
			s, ok := strings.CutPrefix(p.Name, "pod-")
			if !ok {
				continue
			}
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(bound) || !bound[i].IsZero() {
				continue
			}
			bound[i] = time.Now()
			lastBound = bound[i]
			if n++; n == len(bound) {
				watchErr <- nil
				return
			}
		}
		watchErr <- fmt.Errorf("the watch ended: %w", mctx.Err())
	}()

	writes0, entries0 := cl.raftBatches()
	stopProfile, err := startProfile(cfg.ProfileDir, cfg.Trace, sc.Name, mode)
	if err != nil {
		r.Err = err
		return r
	}
	start, cpu0 := time.Now(), cpuTime()
	createErr := parallel(cfg.Pods, cfg.Creators, func(i int) error {
		p := sc.Pod(i)
		// A creator needs only to know the pod was stored, not the
		// stored pod: the watch sees it bound.
		if err := c.Create(mctx, p, client.DiscardResult); err != nil {
			return fmt.Errorf("create pod %s: %w", p.Name, err)
		}
		created[i] = time.Now()
		return nil
	})
	if createErr != nil {
		cancel()
	}
	werr := <-watchErr
	r.CPU = cpuTime() - cpu0
	stopProfile()
	writes1, entries1 := cl.raftBatches()
	r.Writes, r.WriteEntries = writes1-writes0, entries1-entries0
	cancel()
	w.Stop()
	r.Err = errors.Join(createErr, werr)
	if r.Err != nil {
		r.Err = errors.Join(r.Err, whyNotBound(ctx, c, bound))
	}
	for i := range bound {
		if !bound[i].IsZero() && !created[i].IsZero() {
			r.Placed++
			r.Latency.Record(bound[i].Sub(created[i]))
		}
	}
	if !lastBound.IsZero() {
		r.Elapsed = lastBound.Sub(start)
	}
	return r
}

// whyNotBound returns what the first pod not seen bound says in its
// PodScheduled condition.
func whyNotBound(ctx context.Context, c *client.Client, bound []time.Time) error {
	for i := range bound {
		if !bound[i].IsZero() {
			continue
		}
		p := &api.Pod{}
		name := fmt.Sprintf("pod-%d", i)
		if err := c.Get(ctx, Namespace, name, p); err != nil {
			return fmt.Errorf("pod %s: %w", name, err)
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == api.PodScheduled {
				return fmt.Errorf("pod %s (node %q, nominated %q): %s: %s", name, p.Spec.NodeName, p.Status.NominatedNodeName, cond.Reason, cond.Message)
			}
		}
		return fmt.Errorf("pod %s (node %q, nominated %q): no PodScheduled condition", name, p.Spec.NodeName, p.Status.NominatedNodeName)
	}
	return nil
}

// startProfile starts a CPU profile into dir/<scenario>-<mode>.pprof, if
// dir is set, and an execution trace into dir/<scenario>-<mode>.trace if
// trace is also set, and returns what stops them.
func startProfile(dir string, trace bool, scenario string, mode Mode) (stop func(), err error) {
	if dir == "" {
		return func() {}, nil
	}
	name := filepath.Join(dir, fmt.Sprintf("%s-%s", scenario, mode))
	f, err := os.Create(name + ".pprof")
	if err != nil {
		return nil, fmt.Errorf("-profile-dir: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-profile-dir: %w", err)
	}
	var tf *os.File
	if trace {
		if tf, err = os.Create(name + ".trace"); err == nil {
			if err = rtrace.Start(tf); err != nil {
				tf.Close()
			}
		}
		if err != nil {
			pprof.StopCPUProfile()
			f.Close()
			return nil, fmt.Errorf("-trace: %w", err)
		}
	}
	// The allocations of the span: the heap profile's cumulative counts
	// at its start and end (go tool pprof -sample_index=alloc_space
	// -base <name>.allocs-start <name>.allocs).
	writeAllocs(name + ".allocs-start")
	return func() {
		if tf != nil {
			rtrace.Stop()
			tf.Close()
		}
		pprof.StopCPUProfile()
		f.Close()
		writeAllocs(name + ".allocs")
	}, nil
}

// writeAllocs writes the allocation profile to path, best effort (a
// missing profile is noticed by whoever looks for it).
func writeAllocs(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.Lookup("allocs").WriteTo(f, 0)
}
