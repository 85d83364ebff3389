package rolloutbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/builtin"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/memstore"
	"github.com/drover-io/drover/store/raftstore"
)

// The stores a run can use (Config.Store).
const (
	StoreMem  = "memstore"
	StoreRaft = "raftstore"
)

// Config configures a run.
type Config struct {
	// Nodes is the number of simulated nodes.
	Nodes int
	// Replicas is the Deployment's size.
	Replicas int
	// Store is StoreMem or StoreRaft (one member, on disk in Dir).
	Store string
	// Dir is where the raftstore's data directory goes ("" means the
	// temporary directory).
	Dir string
	// Timeout bounds each phase.
	Timeout time.Duration
	// Progress, if set, receives a line per phase as it ends.
	Progress io.Writer
	// Logger receives the log lines of the API server and the components.
	// nil means discard.
	Logger *slog.Logger
}

// DefaultConfig is the run of the issue: 1,000 replicas on 100 nodes,
// over a one-member raftstore.
func DefaultConfig() Config {
	return Config{Nodes: 100, Replicas: 1000, Store: StoreRaft, Timeout: 5 * time.Minute}
}

// Validate reports the first field of c that is wrong.
func (c Config) Validate() error {
	switch {
	case c.Nodes < 1:
		return fmt.Errorf("rolloutbench: Config.Nodes is %d: at least 1", c.Nodes)
	case c.Replicas < 1:
		return fmt.Errorf("rolloutbench: Config.Replicas is %d: at least 1", c.Replicas)
	case c.Store != StoreMem && c.Store != StoreRaft:
		return fmt.Errorf("rolloutbench: Config.Store is %q: want %q or %q", c.Store, StoreMem, StoreRaft)
	case c.Timeout <= 0:
		return fmt.Errorf("rolloutbench: Config.Timeout is %v: must be positive", c.Timeout)
	}
	return nil
}

// The components whose requests are counted apart.
const (
	ComponentControllers = "controller-manager" // the built-in controllers, and the shared informers (the scheduler's too)
	ComponentScheduler   = "scheduler"          // bindings, pod conditions, events
	ComponentNodes       = "nodes"              // simulated node agents: pod status, deletions, leases
	ComponentBench       = "bench"              // the benchmark's own create, update and waits
)

var components = []string{ComponentControllers, ComponentScheduler, ComponentNodes, ComponentBench}

// throttledSuffix marks the counters of requests answered 429.
const throttledSuffix = "/429"

// Count is the number of requests of one verb on one resource.
type Count struct {
	Verb     string // the server's verb label: create, update, patch, delete, get, list, watch
	Resource string // resource.group, with "/subresource"
	N        int
}

// Phase is what one phase of the run took.
type Phase struct {
	// Name is "setup", "create" or "roll".
	Name string
	// Duration is the wall time of the phase: for create, from the
	// Deployment's creation to all replicas available; for roll, from the
	// image update to all replicas updated and available and the old pods
	// gone.
	Duration time.Duration
	// Requests are the requests the API server served, by verb and
	// resource, most first.
	Requests []Count
	// Total is the sum of Requests.
	Total int
	// Codes counts the requests by HTTP code.
	Codes map[string]int
	// ByComponent counts the requests each component sent; the key
	// component+"/429" those of them answered 429 Too Many Requests.
	ByComponent map[string]int
	// CPU is the CPU time (user and system) the whole process used in
	// the phase: every component and the API server. On a shared machine
	// it varies less than Duration.
	CPU time.Duration
}

// Result is a run's outcome.
type Result struct {
	Config Config
	Phases []Phase
}

// Run sets up the cluster, runs the create and roll phases, and tears
// everything down.
func Run(ctx context.Context, cfg Config) (_ *Result, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	st, isLeader, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	closers = append(closers, closeStore)
	reg := prometheus.NewRegistry()
	scheme := api.NewDefaultScheme()
	srv, err := apiserver.New(apiserver.Config{Store: st, Scheme: scheme, Registerer: reg, Leader: isLeader, Logger: log})
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() { _ = srv.Run(srvCtx) })
	closers = append(closers, func() { stopSrv(); wg.Wait() })

	counters := make(map[string]*atomic.Int64, 2*len(components))
	clients := make(map[string]*client.Client, len(components))
	for _, name := range components {
		counters[name] = new(atomic.Int64)
		counters[name+throttledSuffix] = new(atomic.Int64)
		c, err := client.New(client.Config{
			Transport: countingTransport{next: srv.Transport(), n: counters[name], throttled: counters[name+throttledSuffix]},
			Scheme:    scheme, UserAgent: "rolloutbench/" + name, Logger: log,
		})
		if err != nil {
			return nil, err
		}
		clients[name] = c
	}
	bench := clients[ComponentBench]

	res := &Result{Config: cfg}
	phase := startPhase("setup", reg, counters)
	if err := waitNamespace(ctx, bench, "default"); err != nil {
		return nil, err
	}
	nodes, err := controllertest.StartNodes(ctx, clients[ComponentNodes], controllertest.NodesConfig{Count: cfg.Nodes, Logger: log})
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { _ = nodes.Close() })
	mgr, err := controller.NewManager(controller.ManagerConfig{Client: clients[ComponentControllers], Logger: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		return nil, err
	}
	if err := builtin.Add(mgr, builtin.Config{}); err != nil {
		return nil, err
	}
	sched, err := scheduler.New(scheduler.Config{Client: clients[ComponentScheduler], Informers: mgr.Informers(), Logger: log})
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(sched); err != nil {
		return nil, err
	}
	mgrCtx, stopMgr := context.WithCancel(ctx)
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	closers = append(closers, func() { stopMgr(); <-mgrDone })
	if err := poll(ctx, cfg.Timeout, func() bool { return mgr.HasSynced() }); err != nil {
		return nil, fmt.Errorf("the controller manager's caches did not sync: %w", err)
	}
	if err := res.add(phase, cfg.Progress); err != nil {
		return nil, err
	}

	// Create.
	d := deployment(int32(cfg.Replicas), "registry.example/web:1")
	phase = startPhase("create", reg, counters)
	if err := bench.Create(ctx, d); err != nil {
		return nil, fmt.Errorf("create Deployment: %w", err)
	}
	if err := waitDone(ctx, bench, cfg.Timeout); err != nil {
		return nil, err
	}
	if err := res.add(phase, cfg.Progress); err != nil {
		return nil, err
	}

	// Roll.
	phase = startPhase("roll", reg, counters)
	err = client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		var cur api.Deployment
		if err := bench.Get(ctx, d.Namespace, d.Name, &cur); err != nil {
			return err
		}
		cur.Spec.Template.Spec.Containers[0].Image = "registry.example/web:2"
		return bench.Update(ctx, &cur)
	})
	if err != nil {
		return nil, fmt.Errorf("update Deployment: %w", err)
	}
	if err := waitDone(ctx, bench, cfg.Timeout); err != nil {
		return nil, err
	}
	if err := res.add(phase, cfg.Progress); err != nil {
		return nil, err
	}
	return res, nil
}

// openStore opens the store cfg names.
func openStore(ctx context.Context, cfg Config) (store.Store, func() bool, func(), error) {
	if cfg.Store == StoreMem {
		st, err := memstore.New(memstore.Options{})
		if err != nil {
			return nil, nil, nil, err
		}
		return st, nil, func() { _ = st.Close() }, nil
	}
	dir, err := os.MkdirTemp(cfg.Dir, "rolloutbench-")
	if err != nil {
		return nil, nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	rc := raftstore.DefaultConfig(dir)
	rc.NodeID = "bench"
	rc.Listener = ln
	rc.Registerer = prometheus.NewRegistry()
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	st, err := raftstore.Open(octx, rc)
	cancel()
	if err != nil {
		_ = ln.Close()
		_ = os.RemoveAll(dir)
		return nil, nil, nil, fmt.Errorf("open raftstore: %w", err)
	}
	closeStore := func() { _ = st.Close(); _ = os.RemoveAll(dir) }
	if err := poll(ctx, time.Minute, func() bool { return st.Ready() == nil }); err != nil {
		closeStore()
		return nil, nil, nil, fmt.Errorf("raftstore not ready: %w", err)
	}
	return st, st.IsLeader, closeStore, nil
}

// waitNamespace waits for the API server's Run to create ns.
func waitNamespace(ctx context.Context, c *client.Client, ns string) error {
	err := c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: ns}})
	if err != nil && !api.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return nil
}

// deployment returns the benchmark's Deployment: replicas pods of image,
// the default RollingUpdate strategy (25% surge, 25% unavailable).
func deployment(replicas int32, image string) *api.Deployment {
	labels := map[string]string{"app": "web"}
	return &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.DeploymentSpec{
			Replicas: &replicas,
			Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "web", Image: image}}},
			},
		},
	}
}

// waitDone waits, with one watch, until the Deployment has rolled out:
// its latest spec observed, and every replica updated and available, and
// no other pods.
func waitDone(ctx context.Context, c *client.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := controllertest.WaitFor(ctx, c, "default", "web", func(d *api.Deployment) bool {
		s, want := d.Status, *d.Spec.Replicas
		return s.ObservedGeneration == d.Generation && s.Replicas == want && s.UpdatedReplicas == want &&
			s.AvailableReplicas == want && s.UnavailableReplicas == 0
	})
	return err
}

// poll calls cond until it returns true, ctx ends or d passes.
func poll(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// countingTransport counts the requests of one component, and those
// answered 429 Too Many Requests (the API server's in-flight limits).
type countingTransport struct {
	next      http.RoundTripper
	n         *atomic.Int64
	throttled *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		t.throttled.Add(1)
	}
	return resp, err
}

// phaseStart is what a phase's measures start from.
type phaseStart struct {
	name     string
	start    time.Time
	reg      prometheus.Gatherer
	requests map[requestKey]int
	counters map[string]*atomic.Int64
	byComp   map[string]int64
	cpu      time.Duration
}

type requestKey struct{ verb, resource, code string }

func startPhase(name string, reg prometheus.Gatherer, counters map[string]*atomic.Int64) phaseStart {
	p := phaseStart{name: name, reg: reg, counters: counters, byComp: make(map[string]int64)}
	p.requests, _ = serverRequests(reg)
	for k, c := range counters {
		p.byComp[k] = c.Load()
	}
	p.cpu = cpuTime()
	p.start = time.Now()
	return p
}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// add ends the phase p and appends it to r.
func (r *Result) add(p phaseStart, progress io.Writer) error {
	dur := time.Since(p.start)
	cpu := cpuTime() - p.cpu
	now, err := serverRequests(p.reg)
	if err != nil {
		return err
	}
	ph := Phase{Name: p.name, Duration: dur, CPU: cpu, Codes: map[string]int{}, ByComponent: map[string]int{}}
	byVR := map[[2]string]int{}
	for k, n := range now {
		d := n - p.requests[k]
		if d == 0 {
			continue
		}
		byVR[[2]string{k.verb, k.resource}] += d
		ph.Codes[k.code] += d
		ph.Total += d
	}
	for k, n := range byVR {
		ph.Requests = append(ph.Requests, Count{Verb: k[0], Resource: k[1], N: n})
	}
	sort.Slice(ph.Requests, func(i, j int) bool {
		a, b := ph.Requests[i], ph.Requests[j]
		if a.N != b.N {
			return a.N > b.N
		}
		return a.Verb+a.Resource < b.Verb+b.Resource
	})
	for k, c := range p.counters {
		ph.ByComponent[k] = int(c.Load() - p.byComp[k])
	}
	r.Phases = append(r.Phases, ph)
	if progress != nil {
		fmt.Fprintf(progress, "%s: %v (CPU %v), %d requests\n", ph.Name, ph.Duration.Round(time.Millisecond), ph.CPU.Round(time.Millisecond), ph.Total)
	}
	return nil
}

// serverRequests reads drover_apiserver_requests_total from reg.
func serverRequests(reg prometheus.Gatherer) (map[requestKey]int, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("read the API server's metrics: %w", err)
	}
	out := map[requestKey]int{}
	for _, mf := range mfs {
		if mf.GetName() != "drover_apiserver_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var k requestKey
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "verb":
					k.verb = l.GetValue()
				case "resource":
					k.resource = l.GetValue()
				case "code":
					k.code = l.GetValue()
				}
			}
			out[k] += int(m.GetCounter().GetValue())
		}
	}
	return out, nil
}

// Markdown writes r as Markdown tables: a summary per phase, then the
// requests of each phase by verb and resource.
func (r *Result) Markdown(w io.Writer) {
	cfg := r.Config
	fmt.Fprintf(w, "Deployment of %d replicas, %d simulated nodes, store %s, in-process transport.\n\n", cfg.Replicas, cfg.Nodes, cfg.Store)
	verbs := []string{"create", "update", "patch", "delete", "get", "list", "watch"}
	fmt.Fprintf(w, "| phase | wall time | CPU time | requests | %s | 409 Conflict | 429 | %s |\n", strings.Join(verbs, " | "), strings.Join(components, " | "))
	fmt.Fprintf(w, "|---|---:|---:|---:|%s---:|---:|%s\n", strings.Repeat("---:|", len(verbs)), strings.Repeat("---:|", len(components)))
	for _, p := range r.Phases {
		byVerb := map[string]int{}
		for _, c := range p.Requests {
			byVerb[c.Verb] += c.N
		}
		cells := make([]string, 0, len(verbs)+len(components))
		for _, v := range verbs {
			cells = append(cells, fmt.Sprint(byVerb[v]))
		}
		comp := make([]string, 0, len(components))
		for _, c := range components {
			cell := fmt.Sprint(p.ByComponent[c])
			if n := p.ByComponent[c+throttledSuffix]; n > 0 {
				cell += fmt.Sprintf(" (%d × 429)", n)
			}
			comp = append(comp, cell)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %d | %d | %s |\n", p.Name, p.Duration.Round(time.Millisecond), p.CPU.Round(time.Millisecond), p.Total,
			strings.Join(cells, " | "), p.Codes["409"], p.Codes["429"], strings.Join(comp, " | "))
	}
	for _, p := range r.Phases {
		codes := make([]string, 0, len(p.Codes))
		for c, n := range p.Codes {
			codes = append(codes, fmt.Sprintf("%s: %d", c, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(w, "\n%s (%v): requests by verb and resource; by code %s\n\n| verb | resource | requests |\n|---|---|---:|\n",
			p.Name, p.Duration.Round(time.Millisecond), strings.Join(codes, ", "))
		for _, c := range p.Requests {
			fmt.Fprintf(w, "| %s | %s | %d |\n", c.Verb, c.Resource, c.N)
		}
	}
}
