package schedulerbench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drover-io/drover/bench/internal/storebench"
)

// Config is one run of the benchmark.
type Config struct {
	// Scenarios are the names to run (Scenarios' order is kept).
	Scenarios []string
	// Modes are the modes to run each scenario in.
	Modes []Mode
	// Nodes and Pods are the cluster's size and the pods to schedule.
	Nodes, Pods int
	// Creators is how many goroutines create the pods in e2e mode.
	// DefaultCreators is Kubernetes' scheduler_perf's.
	Creators int
	// Timeout bounds each e2e cell, from the first create to the last
	// binding.
	Timeout time.Duration
	// Dir is where e2e mode's Raft data directories go ("": the temp dir).
	Dir string
	// RaftInflight is the Raft store's MaxInflight in e2e mode (0: its
	// default): how many group-commit entries may be in flight at once.
	RaftInflight int
	// Parallelism is the scheduler's Parallelism (0: its default).
	Parallelism int
	// Procs is GOMAXPROCS during e2e cells; 0 is one above the runtime's
	// default, as the drover binary runs a store member
	// (raftstore.RaiseGOMAXPROCS), or the GOMAXPROCS environment
	// variable's value if it is set. Sim cells keep the runtime's
	// default (or the environment's): the scheduler alone does not wait
	// for the disk.
	Procs int
	// Progress, if set, receives a line per cell as it starts and ends.
	Progress io.Writer
	// SchedulerLog receives the e2e scheduler's log lines (nil: none).
	SchedulerLog *slog.Logger
	// ProfileDir, if set, receives a CPU profile of each e2e cell's
	// measured span (first create to last bound), named
	// <scenario>-<mode>.pprof. The caller must not be profiling.
	ProfileDir string
	// Trace, with ProfileDir, also writes an execution trace of each e2e
	// cell's span, <scenario>-<mode>.trace (go tool trace; it slows the
	// cell by a tenth or more).
	Trace bool
	// Runs is how many times each cell runs (0 or 1: once). A cell of
	// several runs is reported by its median run by pods/s, with the
	// range of all of them (Result.Runs): on a shared machine one run
	// can be 15 % off either way.
	Runs int
}

// DefaultCreators is how many concurrent clients create the pods by
// default: 30, as many as Kubernetes' scheduler_perf creates its
// measured pods with (test/utils' CreatePod runs 30 workers).
const DefaultCreators = 30

// DefaultConfig is the issue's: every scenario in every mode, 5,000
// nodes and 10,000 pods.
func DefaultConfig() Config {
	return Config{
		Modes: []Mode{ModeSim, ModeE2E, ModeE2EInProcess}, Nodes: 5000, Pods: 10000,
		Creators: DefaultCreators, Timeout: 10 * time.Minute,
	}
}

// Result is one cell of the table.
type Result struct {
	Scenario Scenario
	Mode     Mode
	Nodes    int
	// Pods were to be scheduled; Placed were.
	Pods, Placed int
	// Elapsed runs from the first cycle (or create) to the last placement.
	Elapsed time.Duration
	// Latency holds the per-pod latencies of the placed pods.
	Latency *storebench.Histogram
	// CPU is the process's CPU time (user and system) over Elapsed: on a
	// busy machine pods per CPU-second says more than pods/s.
	CPU time.Duration
	// Setup is how long making the cluster took (e2e: the nodes and the
	// existing pods through the API).
	Setup time.Duration
	// Writes and WriteEntries (e2e) are the writes the Raft store
	// committed while the pods were placed and the Raft entries they
	// took: their ratio is how well group commit batched them.
	Writes, WriteEntries int64
	// Procs is GOMAXPROCS during the cell.
	Procs int
	// Runs are the pods/s of every run of the cell, in the order they ran,
	// when it ran more than once (Config.Runs); the rest of the Result is
	// the median run's.
	Runs []float64
	// Err is why the cell stopped early, if it did.
	Err error
}

// PodsPerSecond is Placed / Elapsed.
func (r Result) PodsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Placed) / r.Elapsed.Seconds()
}

// PodsPerCPUSecond is Placed / CPU.
func (r Result) PodsPerCPUSecond() float64 {
	if r.CPU <= 0 {
		return 0
	}
	return float64(r.Placed) / r.CPU.Seconds()
}

// cpuTime returns the CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Run runs every scenario of cfg in every mode of cfg, in that order, and
// returns the cells. A cell that fails (or whose pods cannot fit) is
// returned with its Err; Run goes on with the next. It returns an error only for a bad cfg or when
// ctx ends.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if cfg.Nodes <= 0 || cfg.Pods <= 0 {
		return nil, fmt.Errorf("schedulerbench: nodes %d and pods %d must be positive", cfg.Nodes, cfg.Pods)
	}
	if cfg.Creators <= 0 {
		cfg.Creators = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultConfig().Timeout
	}
	byName := map[string]Scenario{}
	for _, sc := range Scenarios() {
		byName[sc.Name] = sc
	}
	var scs []Scenario
	for _, name := range cfg.Scenarios {
		sc, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("schedulerbench: unknown scenario %q (want %s)", name, strings.Join(Names(), ", "))
		}
		scs = append(scs, sc)
	}
	for _, m := range cfg.Modes {
		if m != ModeSim && !m.isE2E() {
			return nil, fmt.Errorf("schedulerbench: unknown mode %q (want sim, e2e, e2e-inprocess)", m)
		}
	}
	var out []Result
	for _, sc := range scs {
		fits := sc.Fits(cfg.Nodes, cfg.Pods)
		for _, m := range cfg.Modes {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			if fits != nil {
				out = append(out, Result{Scenario: sc, Mode: m, Nodes: cfg.Nodes, Pods: cfg.Pods, Latency: &storebench.Histogram{}, Err: fits})
				continue
			}
			var runs []Result
			for i := range max(cfg.Runs, 1) {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				r := runCell(ctx, cfg, sc, m, i)
				runs = append(runs, r)
				if r.Err != nil {
					break // reported as the cell, not repeated
				}
			}
			out = append(out, medianRun(runs))
		}
	}
	return out, nil
}

// runCell runs one cell once (run i of Config.Runs) and reports it.
func runCell(ctx context.Context, cfg Config, sc Scenario, m Mode, i int) Result {
	run := ""
	if cfg.Runs > 1 {
		run = fmt.Sprintf(" (run %d of %d)", i+1, cfg.Runs)
	}
	progress(cfg, "%s %s%s: %d nodes, %d pods ...", sc.Name, m, run, cfg.Nodes, cfg.Pods)
	var r Result
	if m == ModeSim {
		r = runSim(ctx, cfg, sc)
		r.Procs = runtime.GOMAXPROCS(0)
	} else {
		restore := setProcs(cfg.Procs)
		r = runE2E(ctx, cfg, sc, m)
		r.Procs = runtime.GOMAXPROCS(0)
		restore()
		if r.WriteEntries > 0 {
			progress(cfg, "%s %s: %d Raft writes (%.1f per pod) in %d entries (%.1f writes per entry)", sc.Name, m,
				r.Writes, float64(r.Writes)/float64(max(r.Placed, 1)), r.WriteEntries, float64(r.Writes)/float64(r.WriteEntries))
		}
	}
	progress(cfg, "%s %s: %d/%d placed in %v (setup %v, CPU %v): %.0f pods/s, %.0f pods/CPU-s, p50 %v, p99 %v, err %v",
		sc.Name, m, r.Placed, r.Pods, r.Elapsed.Round(time.Millisecond), r.Setup.Round(time.Millisecond), r.CPU.Round(time.Millisecond),
		r.PodsPerSecond(), r.PodsPerCPUSecond(), r.Latency.Quantile(0.5), r.Latency.Quantile(0.99), r.Err)
	return r
}

// medianRun returns the run of a cell to report: the only one, the one
// that failed (the last), or the median by pods/s (the lower middle one
// of an even count) with Runs set to every run's pods/s.
func medianRun(runs []Result) Result {
	last := runs[len(runs)-1]
	if len(runs) == 1 || last.Err != nil {
		return last
	}
	pps := make([]float64, len(runs))
	order := make([]int, len(runs))
	for i, r := range runs {
		pps[i], order[i] = r.PodsPerSecond(), i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(pps[a], pps[b]) })
	r := runs[order[(len(order)-1)/2]]
	r.Runs = pps
	return r
}

// setProcs sets GOMAXPROCS for an e2e cell (see Config.Procs) and
// returns what puts the previous value back.
func setProcs(procs int) (restore func()) {
	prev := runtime.GOMAXPROCS(0)
	switch {
	case procs > 0:
	case envProcs() > 0:
		return func() {}
	default:
		procs = prev + 1
	}
	runtime.GOMAXPROCS(procs)
	return func() { runtime.GOMAXPROCS(prev) }
}

// envProcs is the GOMAXPROCS environment variable's value as the runtime
// reads it: 0 when unset or not a number above 0.
func envProcs() int {
	n, err := strconv.Atoi(os.Getenv("GOMAXPROCS"))
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// Names returns the scenarios' names.
func Names() []string {
	var out []string
	for _, sc := range Scenarios() {
		out = append(out, sc.Name)
	}
	return out
}

func progress(cfg Config, format string, args ...any) {
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, format+"\n", args...)
	}
}

// Reference is the line the table ends with.
const Reference = "References: Kubernetes' scheduler_perf requires 680 pods/s for SchedulingBasic (5,000 nodes, 10,000 pods); " +
	"Nomad placed 1,000,000 containers on 5,000 hosts at 3,750/s with 5 servers."

// Markdown returns the table of results, with the scenarios' descriptions
// and the reference line.
func Markdown(results []Result) string {
	var b strings.Builder
	b.WriteString("| scenario | mode | procs | nodes | pods | placed | pods/s | p50 | p99 | target | pods/CPU-s |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|\n")
	seen := map[string]bool{}
	var notes []string
	for _, r := range results {
		target := "—"
		if t, ok := r.Scenario.Targets[r.Mode]; ok {
			verdict := "met"
			if r.PodsPerSecond() < t || r.Err != nil {
				verdict = "missed"
			}
			target = fmt.Sprintf("≥ %.0f (%s)", t, verdict)
		}
		placed := fmt.Sprint(r.Placed)
		if r.Err != nil {
			placed += " (" + strings.ReplaceAll(strings.ReplaceAll(r.Err.Error(), "\n", "; "), "|", "/") + ")"
		}
		pps := fmt.Sprintf("%.0f", r.PodsPerSecond())
		if len(r.Runs) > 1 {
			pps += fmt.Sprintf(" (%.0f–%.0f, %d runs)", slices.Min(r.Runs), slices.Max(r.Runs), len(r.Runs))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %s | %s | %s | %s | %s | %.0f |\n",
			r.Scenario.Name, r.Mode, r.Procs, r.Nodes, r.Pods, placed, pps,
			fmtDur(r.Latency.Quantile(0.5)), fmtDur(r.Latency.Quantile(0.99)), target, r.PodsPerCPUSecond())
		if !seen[r.Scenario.Name] {
			seen[r.Scenario.Name] = true
			notes = append(notes, fmt.Sprintf("- %s: %s.", r.Scenario.Name, r.Scenario.Describe))
		}
	}
	b.WriteString("\n")
	for _, n := range notes {
		b.WriteString(n + "\n")
	}
	b.WriteString("- sim: the scheduler against its cache alone (scheduler.Simulator), latency = cycle time (both cycles for a preemptor). " +
		"e2e: API server on a one-member raftstore over loopback TCP, the real scheduler through an HTTP client; " +
		"e2e-inprocess: the same with the scheduler in the server's process through its in-process transport, as drover up runs it (creators and the watch still over TCP); latency = pod create returned → a watch sees spec.nodeName; " +
		"pods/s = placed / (first create → last bound). " +
		"procs = GOMAXPROCS: e2e cells run with one above the runtime's default, as the drover binary runs a store member (raftstore.RaiseGOMAXPROCS: Raft's fsync holds a processor while the disk works). " +
		"pods/CPU-s = placed / CPU time of this process (scheduler, and in e2e also API server, Raft and clients) over the same span: a measure that holds on a busy machine. " +
		"A cell run several times (-runs) shows its median run, by pods/s, with the range of all runs; the other columns are the median run's.\n")
	b.WriteString("\n" + Reference + "\n")
	return b.String()
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}
