package schedulerbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tiny runs scenarios in modes on 20 nodes with 40 pods.
func tiny(t *testing.T, modes []Mode, scenarios ...string) []Result {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Scenarios, cfg.Modes = scenarios, modes
	cfg.Nodes, cfg.Pods, cfg.Creators = 20, 40, 4
	cfg.Timeout = time.Minute
	cfg.Dir = t.TempDir()
	results, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(scenarios) * len(modes); len(results) != want {
		t.Fatalf("%d results, want %d", len(results), want)
	}
	checkPlaced(t, results, cfg.Pods)
	return results
}

func checkPlaced(t *testing.T, results []Result, pods int) {
	t.Helper()
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s %s: %v", r.Scenario.Name, r.Mode, r.Err)
			continue
		}
		if r.Placed != pods || r.Latency.Count() != uint64(pods) {
			t.Errorf("%s %s: placed %d, %d latencies; want %d", r.Scenario.Name, r.Mode, r.Placed, r.Latency.Count(), pods)
		}
		if r.PodsPerSecond() <= 0 || r.Latency.Quantile(0.99) <= 0 {
			t.Errorf("%s %s: %.0f pods/s, p99 %v; want positive", r.Scenario.Name, r.Mode, r.PodsPerSecond(), r.Latency.Quantile(0.99))
		}
	}
}

func TestRunTinySim(t *testing.T) {
	results := tiny(t, []Mode{ModeSim}, Names()...)
	md := Markdown(results)
	procs := runtime.GOMAXPROCS(0)
	for _, want := range []string{fmt.Sprintf("| basic | sim | %d | 20 | 40 | 40 |", procs), "| preemption | sim |", "≥ 5000", Reference} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

func TestRunTinyE2E(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	results := tiny(t, []Mode{ModeE2E}, "basic", "nodeaffinity", "antiaffinity", "topologyspread")
	// An e2e cell runs with one processor more, as drover runs a store
	// member, unless GOMAXPROCS is set; the process gets its own back.
	require.Equal(t, procs, runtime.GOMAXPROCS(0), "GOMAXPROCS after the run")
	want := procs + 1
	if envProcs() > 0 {
		want = procs
	}
	md := Markdown(results)
	for _, want := range []string{fmt.Sprintf("| basic | e2e | %d | 20 | 40 | 40 |", want), "≥ 2000", Reference} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

// TestRunTinyE2EInProcess runs the scheduler through the API server's
// in-process transport with the GOMAXPROCS asked for, and writes a
// profile of each cell's span.
func TestRunTinyE2EInProcess(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Scenarios, cfg.Modes = []string{"basic"}, []Mode{ModeE2EInProcess}
	cfg.Nodes, cfg.Pods, cfg.Timeout = 20, 40, time.Minute
	cfg.ProfileDir, cfg.Trace = t.TempDir(), true
	cfg.Procs = 5
	procs := runtime.GOMAXPROCS(0)
	results, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	require.Equal(t, procs, runtime.GOMAXPROCS(0), "GOMAXPROCS after the run")
	if md := Markdown(results); !strings.Contains(md, "| basic | e2e-inprocess | 5 | 20 | 40 | 40 |") {
		t.Errorf("table lacks the in-process cell:\n%s", md)
	}
	for _, name := range []string{"basic-e2e-inprocess.pprof", "basic-e2e-inprocess.trace"} {
		fi, err := os.Stat(filepath.Join(cfg.ProfileDir, name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("the cell's %s: %v, %v", name, fi, err)
		}
	}
}

// TestRunTinyE2EPreemption: with several preemptors in flight, each is
// placed (DefaultPreemption's what-if counts the pods nominated to a
// node, as Filter does, so no room is promised twice).
func TestRunTinyE2EPreemption(t *testing.T) {
	tiny(t, []Mode{ModeE2E}, "preemption")
}

func TestRunRejectsBadConfig(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]Config{
		"scenario": {Scenarios: []string{"nope"}, Modes: []Mode{ModeSim}, Nodes: 1, Pods: 1},
		"mode":     {Scenarios: []string{"basic"}, Modes: []Mode{"fast"}, Nodes: 1, Pods: 1},
		"size":     {Scenarios: []string{"basic"}, Modes: []Mode{ModeSim}},
	} {
		if _, err := Run(ctx, cfg); err == nil {
			t.Errorf("%s: Run accepted %+v", name, cfg)
		}
	}
}

func TestRunReportsPodsThatCannotFit(t *testing.T) {
	cfg := Config{Scenarios: []string{"preemption"}, Modes: []Mode{ModeSim}, Nodes: 2, Pods: 5}
	results, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Err == nil || results[0].Placed != 0 {
		t.Fatalf("results %+v, want one cell with an error saying the pods do not fit", results)
	}
}

// TestRunsReportTheMedianRun runs a sim cell three times and checks that
// the cell is its median run by pods/s, with every run's pods/s, and that
// the table shows the range.
func TestRunsReportTheMedianRun(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Scenarios, cfg.Modes = []string{"basic"}, []Mode{ModeSim}
	cfg.Nodes, cfg.Pods, cfg.Runs = 20, 40, 3
	results, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Len(t, results, 1)
	r := results[0]
	checkPlaced(t, results, cfg.Pods)
	require.Len(t, r.Runs, 3)
	sorted := slices.Clone(r.Runs)
	slices.Sort(sorted)
	require.Equal(t, sorted[1], r.PodsPerSecond(), "the cell is not its median run")
	require.Contains(t, Markdown(results), fmt.Sprintf(" (%.0f–%.0f, 3 runs) |", sorted[0], sorted[2]))
}

// TestMedianRun checks the run medianRun picks: the median by pods/s (the
// lower middle of an even count), or the failed last run.
func TestMedianRun(t *testing.T) {
	run := func(placed int, err error) Result {
		return Result{Placed: placed, Elapsed: time.Second, Err: err}
	}
	got := medianRun([]Result{run(30, nil), run(10, nil), run(20, nil)})
	require.Equal(t, 20, got.Placed)
	require.Equal(t, []float64{30, 10, 20}, got.Runs)
	got = medianRun([]Result{run(40, nil), run(10, nil), run(30, nil), run(20, nil)})
	require.Equal(t, 20, got.Placed)
	failed := errors.New("timed out")
	got = medianRun([]Result{run(30, nil), run(5, failed)})
	require.Equal(t, failed, got.Err)
	require.Nil(t, got.Runs)
	got = medianRun([]Result{run(7, nil)})
	require.Equal(t, 7, got.Placed)
	require.Nil(t, got.Runs)
}
