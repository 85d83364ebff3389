package apiserverbench

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain runs the API server when the test binary is started as the
// benchmark's child process.
func TestMain(m *testing.M) {
	if os.Getenv("APISERVERBENCH_SERVE") == "1" {
		if err := Serve(context.Background(), os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func startDrover(t *testing.T) *Drover {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "APISERVERBENCH_SERVE=1")
	srv, err := StartServer(cmd)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDrover(t.Context(), srv, 64)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func tinyConfig() Config {
	cfg := DefaultConfig()
	cfg.Watchers = []int{1, 20}
	cfg.Duration = 200 * time.Millisecond
	cfg.DrainTimeout = 30 * time.Second
	cfg.Writers = 2
	cfg.MaxLag = 8
	return cfg
}

func checkResults(t *testing.T, results []Result, systems int) {
	t.Helper()
	if len(results) != 2*systems {
		t.Fatalf("got %d cells, want %d", len(results), 2*systems)
	}
	for _, r := range results {
		if r.Writes == 0 || r.Failed != 0 || r.Events != r.Writes*int64(r.Watchers) {
			t.Errorf("%s %d watchers: %d writes, %d events, %d failed: want every watcher to get every write",
				r.System, r.Watchers, r.Writes, r.Events, r.Failed)
		}
	}
}

func TestRunDrover(t *testing.T) {
	d := startDrover(t)
	results, err := Run(t.Context(), tinyConfig(), []System{d})
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, results, 1)
	if g, _ := results[1].PerWatch(); g <= 0 || g > 100_000 {
		t.Errorf("memory per idle watch %.0f B: want a positive number below 100 KB", g)
	}
	if n, err := d.SlowTerminated(t.Context()); err != nil || n != 0 {
		t.Errorf("slow watchers terminated: %d, %v; want none", n, err)
	}
	table := Markdown(results)
	if !strings.Contains(table, "| 20 | drover |") {
		t.Errorf("table without the 20-watcher row:\n%s", table)
	}
}

func TestRunEtcd(t *testing.T) {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("DROVER_INTEGRATION") == "1" {
			t.Fatal("etcd is not in PATH (apt-get install etcd-server)")
		}
		t.Skip("etcd is not in PATH (apt-get install etcd-server); skipping")
	}
	e, err := StartEtcd(t.Context(), bin, t.TempDir(), 2, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	d := startDrover(t)
	results, err := Run(t.Context(), tinyConfig(), []System{e, d})
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, results, 2)
	if table := Markdown(results); !strings.Contains(table, "drover / etcd") {
		t.Errorf("table without the ratio:\n%s", table)
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}
