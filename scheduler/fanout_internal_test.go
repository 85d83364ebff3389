package scheduler

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// runPhases plans and completes phases over n items whose time per item
// in each mode is perItem, and returns how many ran in each mode.
func runPhases(fo *fanOut, phases, n int, perItem [numModes]time.Duration) (count [numModes]int) {
	for range phases {
		m, workers, planned := fo.plan(4, n)
		if !planned {
			panic("a phase of enough items was not planned")
		}
		if want := m.workers(4); workers != want {
			panic("workers do not match the mode")
		}
		count[m]++
		fo.done(m, n, perItem[m]*time.Duration(n))
	}
	return count
}

func TestFanOutKeepsTheFasterMode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		perItem [numModes]time.Duration
		want    mode
	}{
		{"serial faster (a small machine)", [numModes]time.Duration{100, 300}, serial},
		{"spread faster (a large machine)", [numModes]time.Duration{400, 100}, spread},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fo fanOut
			count := runPhases(&fo, 10000, 500, tc.perItem)
			use, cost := fo.state()
			if use != tc.want {
				t.Fatalf("in use: mode %d, want %d (costs %v)", use, tc.want, cost)
			}
			// The slower mode's trials back off: 4 phases each, at
			// intervals doubling from 8 to 1,024, so about ten of them in
			// 10,000 phases, and the first measures.
			if slow := count[1-tc.want]; slow > 4*(1+8+10) {
				t.Errorf("the slower mode ran %d of 10,000 phases, want at most %d", slow, 4*(1+8+10))
			}
			if cost[tc.want] != tc.perItem[tc.want] {
				t.Errorf("average time per item of the mode in use: %v, want %v", cost[tc.want], tc.perItem[tc.want])
			}
		})
	}
}

func TestFanOutFollowsAChange(t *testing.T) {
	var fo fanOut
	runPhases(&fo, 10000, 500, [numModes]time.Duration{100, 300})
	// Each change is noticed at the next trial, which comes within the
	// longest interval and measures the mode not in use afresh.
	for i, tc := range []struct {
		perItem [numModes]time.Duration
		want    mode
	}{
		{[numModes]time.Duration{100, 50}, spread},
		{[numModes]time.Duration{100, 300}, serial},
		{[numModes]time.Duration{100, 50}, spread},
	} {
		runPhases(&fo, maxTrialEvery+trialPhases, 500, tc.perItem)
		if use, cost := fo.state(); use != tc.want {
			t.Fatalf("change %d: in use mode %d, want %d (costs %v)", i, use, tc.want, cost)
		}
	}
}

func TestFanOutTrialIntervals(t *testing.T) {
	var fo fanOut
	// gaps runs phases until k trials of the mode not in use have begun,
	// and returns the phases in use before each.
	gaps := func(k int, perItem [numModes]time.Duration) []int {
		var out []int
		gap := 0
		for len(out) < k {
			use, _ := fo.state()
			m, _, _ := fo.plan(2, 500)
			fo.done(m, 500, perItem[m]*500)
			switch {
			case m == use:
				gap++
			case gap > 0:
				out = append(out, gap)
				gap = 0
			}
		}
		return out
	}
	// The first trial, of serial, comes at once and wins; each trial of
	// spread after it loses and doubles the interval, up to the longest.
	got := gaps(10, [numModes]time.Duration{100, 300})
	if want := []int{8, 16, 32, 64, 128, 256, 512, 1024, 1024, 1024}; !slices.Equal(got, want) {
		t.Fatalf("phases between trials: %v, want %v", got, want)
	}
	// Spread becomes faster: its next trial wins, and the interval
	// starts over from the shortest.
	got = gaps(4, [numModes]time.Duration{100, 50})
	if want := []int{8, 16, 32}; !slices.Equal(got[1:], want) {
		t.Fatalf("phases between trials after spread won: %v, want %v after the first", got, want)
	}
	if use, _ := fo.state(); use != spread {
		t.Fatalf("in use: mode %d, want spread", use)
	}
}

func TestFanOutSmallPhasesRunSerially(t *testing.T) {
	var fo fanOut
	for _, tc := range []struct{ max, n int }{{1, 5000}, {0, 5000}, {4, 1}, {4, 7}} {
		if m, workers, planned := fo.plan(tc.max, tc.n); m != serial || workers != 1 || planned {
			t.Errorf("plan(%d, %d) = mode %d, %d workers, planned %v; want serial, 1, not planned", tc.max, tc.n, m, workers, planned)
		}
	}
	if _, cost := fo.state(); cost != [numModes]time.Duration{} {
		t.Errorf("unplanned phases were measured: %v", cost)
	}
}

func TestParallelizeHandsOutEveryItemOnce(t *testing.T) {
	for _, workers := range []int{1, 2, 4, 16} {
		for _, n := range []int{0, 1, 7, 64, 100, 1000, 5000} {
			var mu sync.Mutex
			seen := make([]int, n)
			callers := map[int]bool{}
			parallelize(context.Background(), workers, n, func(lo, hi int) bool {
				if lo >= hi || hi-lo > maxChunk {
					t.Errorf("workers %d, n %d: chunk [%d, %d)", workers, n, lo, hi)
				}
				mu.Lock()
				defer mu.Unlock()
				callers[lo] = true
				for i := lo; i < hi; i++ {
					seen[i]++
				}
				return true
			})
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("workers %d, n %d: item %d handed out %d times", workers, n, i, c)
				}
			}
		}
	}
}

func TestParallelizeStops(t *testing.T) {
	const n = 5000
	for _, workers := range []int{1, 2, 4} {
		var mu sync.Mutex
		calls := 0
		parallelize(context.Background(), workers, n, func(lo, hi int) bool {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return lo < 3*maxChunk
		})
		// The chunk that returns false is the fourth; each other worker
		// may have taken one more.
		if calls < 4 || calls > 4+workers-1 {
			t.Errorf("workers %d: %d chunks after one returned false, want 4 to %d", workers, calls, 4+workers-1)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	parallelize(ctx, 2, n, func(lo, hi int) bool {
		t.Errorf("chunk [%d, %d) handed out after the context ended", lo, hi)
		return true
	})
}

func TestFanOutMetrics(t *testing.T) {
	fw, err := NewFramework(Profile{SchedulerName: DefaultSchedulerName}, FrameworkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runPhases(&fw.filterFan, 10000, 500, [numModes]time.Duration{100, 300}) // serial wins
	runPhases(&fw.scoreFan, 10000, 500, [numModes]time.Duration{400, 200})  // spread wins
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(fanOutCollector{map[string]*Framework{DefaultSchedulerName: fw}}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, lp := range m.GetLabel() {
				key += " " + lp.GetName() + "=" + lp.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	// The mode not in use was last measured by its trial: its average
	// is that trial's.
	want := map[string]float64{
		"drover_scheduler_phase_spread phase=filter profile=default-scheduler":                   0,
		"drover_scheduler_phase_spread phase=score profile=default-scheduler":                    1,
		"drover_scheduler_phase_node_seconds mode=serial phase=filter profile=default-scheduler": 100e-9,
		"drover_scheduler_phase_node_seconds mode=spread phase=filter profile=default-scheduler": 300e-9,
		"drover_scheduler_phase_node_seconds mode=serial phase=score profile=default-scheduler":  400e-9,
		"drover_scheduler_phase_node_seconds mode=spread phase=score profile=default-scheduler":  200e-9,
	}
	if !maps.Equal(got, want) {
		t.Errorf("metrics:\n%v\nwant\n%v", got, want)
	}
}
