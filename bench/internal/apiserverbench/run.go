package apiserverbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one fan-out benchmark run. Start from DefaultConfig.
type Config struct {
	// Watchers are the watcher counts, one cell per count and system.
	Watchers []int
	// Duration is how long the writers write; the cell ends when every
	// watcher has received every write, or fails after DrainTimeout more.
	Duration     time.Duration
	DrainTimeout time.Duration
	// Writers write at once, each waiting while the slowest watcher is
	// MaxLag writes behind.
	Writers int
	MaxLag  int64
	// OpenConcurrency is how many watches are being opened at once.
	OpenConcurrency int
	// Progress receives progress lines; nil discards them.
	Progress io.Writer
}

// DefaultConfig returns the run of issue 4: 1,000 and 10,000 watchers,
// 10 s of writes, 64 writers at most 256 writes ahead
// of the slowest watcher (a quarter of Drover's default watch cache).
func DefaultConfig() Config {
	return Config{
		Watchers:        []int{1000, 10000},
		Duration:        10 * time.Second,
		DrainTimeout:    2 * time.Minute,
		Writers:         64,
		MaxLag:          256,
		OpenConcurrency: 64,
	}
}

// Validate says which field is wrong.
func (c Config) Validate() error {
	switch {
	case len(c.Watchers) == 0:
		return errors.New("apiserverbench: Config.Watchers is empty")
	case c.Duration <= 0:
		return fmt.Errorf("apiserverbench: Config.Duration is %v: must be positive", c.Duration)
	case c.DrainTimeout <= 0:
		return fmt.Errorf("apiserverbench: Config.DrainTimeout is %v: must be positive", c.DrainTimeout)
	case c.Writers < 1:
		return fmt.Errorf("apiserverbench: Config.Writers is %d: must be at least 1", c.Writers)
	case c.MaxLag < 1:
		return fmt.Errorf("apiserverbench: Config.MaxLag is %d: must be at least 1", c.MaxLag)
	case c.OpenConcurrency < 1:
		return fmt.Errorf("apiserverbench: Config.OpenConcurrency is %d: must be at least 1", c.OpenConcurrency)
	}
	for _, w := range c.Watchers {
		if w < 1 {
			return fmt.Errorf("apiserverbench: Config.Watchers has %d: every count must be at least 1", w)
		}
	}
	return nil
}

// Result is one cell: a system with a number of watchers.
type Result struct {
	System   string
	Watchers int
	// Writes is the number of writes, Events the events all watchers
	// received (Writes × Watchers unless some failed), and Window the
	// time from the first write until every watcher had every event.
	Events, Writes int64
	Window         time.Duration
	// ServerCPU and ClientCPU are the CPU time the server and this
	// process (the watchers and writers) used in the window.
	ServerCPU, ClientCPU time.Duration
	// IdleBefore and IdleAfter are the server's memory before the
	// watches were opened and with all of them open and idle.
	IdleBefore, IdleAfter Memory
	// Failed is the number of watches that ended early, got an ERROR or
	// did not receive exactly Writes events.
	Failed int
	// OpenTime is how long opening the watches took.
	OpenTime time.Duration
}

// EventsPerSec is the delivery rate over the window.
func (r Result) EventsPerSec() float64 { return float64(r.Events) / r.Window.Seconds() }

// PerWatch returns the memory per idle watch: Go heap and stacks, and
// resident set.
func (r Result) PerWatch() (goBytes, rss float64) {
	n := float64(r.Watchers)
	return (float64(r.IdleAfter.Go) - float64(r.IdleBefore.Go)) / n, (float64(r.IdleAfter.RSS) - float64(r.IdleBefore.RSS)) / n
}

// Run runs every watcher count on every system, in the order given, and
// returns the cells.
func Run(ctx context.Context, cfg Config, systems []System) ([]Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	var out []Result
	for _, n := range cfg.Watchers {
		for _, sys := range systems {
			res, err := runCell(ctx, cfg, sys, n)
			if err != nil {
				return out, fmt.Errorf("%s, %d watchers: %w", sys.Name(), n, err)
			}
			g, rss := res.PerWatch()
			fmt.Fprintf(progress, "%s %d watchers: %.0f events/s, %d writes, server cpu %.0f%%, client cpu %.0f%%, per idle watch %.0f B (go) %.0f B (rss), opened in %v, %d failed\n",
				res.System, n, res.EventsPerSec(), res.Writes, 100*res.ServerCPU.Seconds()/res.Window.Seconds(),
				100*res.ClientCPU.Seconds()/res.Window.Seconds(), g, rss, res.OpenTime.Round(time.Millisecond), res.Failed)
			out = append(out, res)
		}
	}
	return out, nil
}

func runCell(ctx context.Context, cfg Config, sys System, n int) (Result, error) {
	res := Result{System: sys.Name(), Watchers: n}
	if err := sys.Begin(ctx); err != nil {
		return res, err
	}
	var err error
	if res.IdleBefore, err = sys.Memory(ctx); err != nil {
		return res, err
	}

	// Open the watches.
	wctx, cancelWatches := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancelWatches()
		wg.Wait()
	}()
	counters := make([]Counter, n)
	start := time.Now()
	var next atomic.Int64
	errs := make([]error, cfg.OpenConcurrency)
	var openers sync.WaitGroup
	for o := range cfg.OpenConcurrency {
		openers.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || errs[o] != nil {
					return
				}
				errs[o] = sys.Watch(wctx, &counters[i], &wg)
			}
		})
	}
	openers.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("open the watches: %w", err)
	}
	res.OpenTime = time.Since(start)
	if res.IdleAfter, err = sys.Memory(ctx); err != nil {
		return res, err
	}

	// Writers write for cfg.Duration, each waiting while the slowest
	// watcher is cfg.MaxLag writes behind; then every watcher must
	// receive every write. The rate is all those events over the time
	// from the first write to the last delivery.
	var slowest, issued, written atomic.Int64
	var stopping atomic.Bool
	lctx, stopLoad := context.WithCancel(ctx)
	var monitor, writers sync.WaitGroup
	defer func() {
		stopping.Store(true)
		writers.Wait()
		stopLoad()
		monitor.Wait()
	}()
	monitor.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			m := int64(math.MaxInt64)
			for i := range counters {
				m = min(m, counters[i].events.Load())
			}
			slowest.Store(m)
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
		}
	})
	writeErrs := make([]error, cfg.Writers)
	c0, s0, t0 := selfCPU(), sys.CPU(), time.Now()
	for w := range cfg.Writers {
		writers.Go(func() {
			for !stopping.Load() && lctx.Err() == nil {
				k := issued.Load()
				if k-slowest.Load() >= cfg.MaxLag {
					time.Sleep(100 * time.Microsecond)
					continue
				}
				if !issued.CompareAndSwap(k, k+1) {
					continue
				}
				if err := sys.Write(lctx, writeID.Add(1)); err != nil {
					writeErrs[w] = err
					stopping.Store(true)
					return
				}
				written.Add(1)
			}
		})
	}
	sleep(ctx, cfg.Duration)
	stopping.Store(true)
	writers.Wait()
	if err := firstErr(ctx, writeErrs); err != nil {
		return res, err
	}
	total := written.Load()
	deadline := time.Now().Add(cfg.DrainTimeout)
	for {
		done := true
		for i := range counters {
			if counters[i].events.Load() < total {
				done = false
				break
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return res, fmt.Errorf("not every watcher received the %d writes within %v (slowest: %d)", total, cfg.DrainTimeout, slowest.Load())
		}
		time.Sleep(time.Millisecond)
	}
	c1, s1, t1 := selfCPU(), sys.CPU(), time.Now()
	res.Writes, res.Window = total, t1.Sub(t0)
	res.ClientCPU, res.ServerCPU = c1-c0, s1-s0
	for i := range counters {
		res.Events += counters[i].events.Load()
		if counters[i].failed.Load() || counters[i].events.Load() != total {
			res.Failed++
		}
	}
	return res, nil
}

// writeID numbers the writes of a run.
var writeID atomic.Int64

func firstErr(ctx context.Context, errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return ctx.Err()
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Markdown returns the results as a table, and the ratio of Drover's
// event rate to etcd's for every watcher count both ran.
func Markdown(results []Result) string {
	var b strings.Builder
	b.WriteString("| watchers | system | events/s delivered | writes/s | server CPU | client CPU | per idle watch: Go heap+stack | per idle watch: RSS | failed watches |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
	rates := map[int]map[string]float64{}
	for _, r := range results {
		g, rss := r.PerWatch()
		gs := "—"
		if r.IdleAfter.Go != 0 {
			gs = fmt.Sprintf("%.1f KB", g/1000)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.0f%% | %.0f%% | %s | %.1f KB | %d |\n",
			group(int64(r.Watchers)), r.System, group(int64(r.EventsPerSec())), group(int64(float64(r.Writes)/r.Window.Seconds())),
			100*r.ServerCPU.Seconds()/r.Window.Seconds(), 100*r.ClientCPU.Seconds()/r.Window.Seconds(), gs, rss/1000, r.Failed)
		if rates[r.Watchers] == nil {
			rates[r.Watchers] = map[string]float64{}
		}
		rates[r.Watchers][r.System] = r.EventsPerSec()
	}
	var ratios []string
	for _, r := range results {
		m := rates[r.Watchers]
		if r.System == "drover" && m["etcd"] > 0 {
			ratios = append(ratios, fmt.Sprintf("| %s | %.2f× |", group(int64(r.Watchers)), m["drover"]/m["etcd"]))
		}
	}
	if len(ratios) > 0 {
		b.WriteString("\n| watchers | events/s, drover / etcd |\n|---:|---:|\n")
		b.WriteString(strings.Join(ratios, "\n") + "\n")
	}
	return b.String()
}

// group writes n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + group(-n)
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
