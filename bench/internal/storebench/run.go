package storebench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Op is a workload: what every client does in a loop.
type Op string

// The workloads.
const (
	// OpPut overwrites a random existing key: etcd's Put, Drover's
	// Update with expected revision 0 (both blind overwrites).
	OpPut Op = "put"
	// OpGet reads a random existing key linearizably: etcd's default
	// Get, Drover's Get with zero ReadOptions.
	OpGet Op = "get"
)

// Config is one benchmark run. Start from DefaultConfig.
type Config struct {
	// Clients are the client counts to run each op with.
	Clients []int
	// Ops are the workloads, run in this order.
	Ops []Op
	// Warmup is run before every cell and not measured; Duration is the
	// measured part.
	Warmup   time.Duration
	Duration time.Duration
	// ValueSize is the size of every value, in bytes.
	ValueSize int
	// Keys is the size of the key space, created before the first cell.
	Keys int
	// EtcdBinary is the etcd server to start.
	EtcdBinary string
	// EtcdConns is the number of gRPC connections to each etcd member,
	// shared by the clients pinned to it; 0 means one per client. One
	// (as in etcd's own benchmark tool) gave etcd its best numbers here:
	// gRPC batches the requests of many clients into fewer syscalls.
	EtcdConns int
	// Dir is where the members' data directories are made; empty means
	// os.TempDir(). It should be on the disk under test, not tmpfs.
	Dir string
	// CPUProfileDir, if not empty, receives a CPU profile of every
	// measured window: drover-<op>-<clients>.pprof of this process
	// (Drover's members and the clients), and
	// etcd-<member>-<op>-<clients>.pprof of each etcd member.
	CPUProfileDir string
	// Progress receives progress lines; nil discards them.
	Progress io.Writer
}

// DefaultConfig returns the benchmark of issue 3: puts and gets of
// 256-byte values over 10,000 keys, from 1, 16, 64 and 256 clients, 5s
// per cell after a 1s warm-up, one gRPC connection per etcd member.
func DefaultConfig() Config {
	return Config{
		Clients:   []int{1, 16, 64, 256},
		Ops:       []Op{OpPut, OpGet},
		Warmup:    time.Second,
		Duration:  5 * time.Second,
		ValueSize: 256,
		Keys:      10_000,
		EtcdConns: 1,
	}
}

// Validate says which field is wrong and what would be valid.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("storebench: Config.%s %s", field, fmt.Sprintf(format, args...))
	}
	if len(c.Clients) == 0 {
		return bad("Clients", "is empty: give at least one client count")
	}
	for i, n := range c.Clients {
		if n < 1 || n > 10_000 {
			return bad(fmt.Sprintf("Clients[%d]", i), "is %d: must be from 1 to 10000", n)
		}
	}
	if len(c.Ops) == 0 {
		return bad("Ops", "is empty: give put, get or both")
	}
	for i, op := range c.Ops {
		if op != OpPut && op != OpGet {
			return bad(fmt.Sprintf("Ops[%d]", i), "is %q: must be %q or %q", op, OpPut, OpGet)
		}
	}
	if c.Warmup < 0 {
		return bad("Warmup", "is %v: must not be negative", c.Warmup)
	}
	if c.Duration <= 0 {
		return bad("Duration", "is %v: must be positive", c.Duration)
	}
	if c.ValueSize < 0 || c.ValueSize > 1<<20 {
		return bad("ValueSize", "is %d: must be from 0 to 1 MiB", c.ValueSize)
	}
	if c.Keys < 1 {
		return bad("Keys", "is %d: must be positive", c.Keys)
	}
	if c.EtcdBinary == "" {
		return bad("EtcdBinary", "is empty: must name the etcd server binary (apt-get install etcd-server)")
	}
	if c.EtcdConns < 0 {
		return bad("EtcdConns", "is %d: must be positive, or 0 for one per client", c.EtcdConns)
	}
	return nil
}

// Cell is one measurement: a system, an op and a client count.
type Cell struct {
	System  string
	Op      Op
	Clients int
}

func (c Cell) String() string { return fmt.Sprintf("%s %s clients=%d", c.System, c.Op, c.Clients) }

// CellResult is what a cell measured.
type CellResult struct {
	Cell
	// Elapsed is the measured window; Latency holds one value per
	// operation that completed in it.
	Elapsed time.Duration
	Latency Histogram
	// Errors counts operations that failed in the window; FirstErr is
	// the first of them.
	Errors   uint64
	FirstErr error
}

// Throughput is completed operations per second.
func (r *CellResult) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Latency.Count()) / r.Elapsed.Seconds()
}

// Report is the outcome of Run.
type Report struct {
	Config  Config
	Results []*CellResult
	// LoadBefore and LoadAfter are /proc/loadavg at the start and end.
	LoadBefore, LoadAfter string
	Start                 time.Time
}

// Run starts a three-member etcd and a three-member Drover raftstore,
// creates the key space in both, runs every cell (for each op, for each
// client count, etcd then Drover) and stops both. It returns when done,
// or early with ctx's error. Progress lines go to cfg.Progress.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	logf := func(format string, args ...any) { fmt.Fprintf(progress, "storebench: "+format+"\n", args...) }
	rep = &Report{Config: cfg, Start: time.Now(), LoadBefore: loadAvg()}
	logf("load average %s", rep.LoadBefore)
	if cfg.CPUProfileDir != "" {
		if err := os.MkdirAll(cfg.CPUProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("storebench: profile directory: %w", err)
		}
	}
	dir, err := os.MkdirTemp(cfg.Dir, "storebench-")
	if err != nil {
		return nil, fmt.Errorf("storebench: data directory: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("storebench: remove %s: %w", dir, rerr)
		}
	}()

	logf("starting 3 etcd members (%s) in %s", cfg.EtcdBinary, dir)
	etcd, err := StartEtcd(ctx, EtcdConfig{
		Binary:     cfg.EtcdBinary,
		Dir:        filepath.Join(dir, "etcd"),
		Conns:      cfg.EtcdConns,
		ProfileDir: cfg.CPUProfileDir,
		Duration:   cfg.Duration,
	})
	if err != nil {
		return nil, err
	}
	defer closeInto(&err, etcd)
	logf("etcd: members %s, leader %s", strings.Join(etcd.Endpoints(), " "), etcd.Leader(ctx))

	logf("starting 3 Drover raftstore members in %s", dir)
	drover, err := StartDrover(ctx, DroverConfig{Dir: filepath.Join(dir, "drover"), ProfileDir: cfg.CPUProfileDir})
	if err != nil {
		return nil, err
	}
	defer closeInto(&err, drover)
	logf("drover: members %s, leader %s", strings.Join(drover.Addrs(), " "), drover.Leader())

	keys := make([]string, cfg.Keys)
	for i := range keys {
		keys[i] = fmt.Sprintf("/registry/bench/key-%06d", i)
	}
	value := make([]byte, cfg.ValueSize)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	systems := []System{etcd, drover}
	for _, s := range systems {
		start := time.Now()
		if err := s.Load(ctx, keys, value); err != nil {
			return nil, fmt.Errorf("storebench: load %d keys into %s: %w", len(keys), s.Name(), err)
		}
		logf("%s: created %d keys of %d bytes in %v", s.Name(), len(keys), len(value), time.Since(start).Round(time.Millisecond))
	}

	for _, op := range cfg.Ops {
		for _, n := range cfg.Clients {
			for _, s := range systems {
				cell := Cell{System: s.Name(), Op: op, Clients: n}
				logf("%v: %v warm-up, %v measured", cell, cfg.Warmup, cfg.Duration)
				r, err := runCell(ctx, s, cell, cellParams{warmup: cfg.Warmup, duration: cfg.Duration, keys: keys, value: value, logf: logf})
				if err != nil {
					return nil, err
				}
				line := fmt.Sprintf("%v: %.0f ops/s, p50 %s, p99 %s, max %s", cell, r.Throughput(),
					fmtLatency(r.Latency.Quantile(0.5)), fmtLatency(r.Latency.Quantile(0.99)), fmtLatency(r.Latency.Max()))
				if r.Errors > 0 {
					line += fmt.Sprintf(", %d errors (first: %v)", r.Errors, r.FirstErr)
				}
				if r.Latency.Count() == 0 {
					line += "; NO OPERATION COMPLETED in the window"
				}
				logf("%s", line)
				rep.Results = append(rep.Results, r)
			}
		}
	}
	rep.LoadAfter = loadAvg()
	logf("load average %s", rep.LoadAfter)
	return rep, nil
}

// closeInto closes c and keeps its error in *err if there is none yet.
func closeInto(err *error, c interface{ Close() error }) {
	if cerr := c.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

type cellParams struct {
	warmup, duration time.Duration
	keys             []string
	value            []byte
	logf             func(format string, args ...any)
}

// runCell runs cell.Clients goroutines, each looping over cell.Op on its
// own Client with uniformly random keys, for p.warmup and then
// p.duration. It times the operations that complete in the measured
// window. It fails if ctx ends, if the system cannot make the clients,
// or if every operation in the window failed.
func runCell(ctx context.Context, s System, cell Cell, p cellParams) (*CellResult, error) {
	clients, err := s.Clients(ctx, cell.Clients)
	if err != nil {
		return nil, fmt.Errorf("storebench: %v: %w", cell, err)
	}
	runtime.GC() // do not bill this cell for the previous one's garbage
	begin := time.Now()
	measureFrom := begin.Add(p.warmup)
	measureTo := measureFrom.Add(p.duration)
	// Operations still running at the end get a grace period before
	// their ctx ends: at 256 clients a few may take seconds.
	opCtx, cancel := context.WithDeadline(ctx, measureTo.Add(30*time.Second))
	defer cancel()

	type worker struct {
		hist     Histogram
		errors   uint64
		firstErr error
	}
	workers := make([]worker, cell.Clients)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		c := clients[i]
		rng := rand.New(rand.NewPCG(uint64(i), uint64(begin.UnixNano())))
		op := c.Get
		if cell.Op == OpPut {
			op = func(ctx context.Context, key string) error { return c.Put(ctx, key, p.value) }
		}
		wg.Go(func() {
			for opCtx.Err() == nil {
				key := p.keys[rng.IntN(len(p.keys))]
				t0 := time.Now()
				err := op(opCtx, key)
				t1 := time.Now()
				if t1.After(measureTo) {
					return
				}
				if t1.Before(measureFrom) {
					continue
				}
				if err != nil {
					if w.errors == 0 {
						w.firstErr = err
					}
					w.errors++
					continue
				}
				w.hist.Record(t1.Sub(t0))
			}
		})
	}

	var (
		end    func() (string, error)
		report string
		repErr error
	)
	obs, _ := s.(cellObserver)
	if wait := time.Until(measureFrom); wait > 0 {
		sleep(ctx, wait)
	}
	if obs != nil && ctx.Err() == nil {
		end = obs.BeginCell(cell)
	}
	sleep(ctx, time.Until(measureTo))
	if end != nil {
		report, repErr = end()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storebench: %v: %w", cell, err)
	}
	if repErr != nil {
		p.logf("%v: %v", cell, repErr)
	} else if report != "" {
		p.logf("%v: %s", cell, report)
	}

	r := &CellResult{Cell: cell, Elapsed: measureTo.Sub(measureFrom)}
	for i := range workers {
		w := &workers[i]
		r.Latency.Merge(&w.hist)
		if w.errors > 0 && r.Errors == 0 {
			r.FirstErr = w.firstErr
		}
		r.Errors += w.errors
	}
	if r.Latency.Count() == 0 && r.Errors > 0 {
		return nil, fmt.Errorf("storebench: %v: every operation failed (%d), the first with: %w", cell, r.Errors, r.FirstErr)
	}
	return r, nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// loadAvg returns the first three fields of /proc/loadavg, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
