package storebench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/memstore"
)

// memSystem is a System over one memstore, which every "member" shares;
// failEvery, if not 0, fails every failEvery-th operation.
type memSystem struct {
	s         *memstore.Store
	failEvery int64
	ops       atomic.Int64
}

func newMemSystem(t *testing.T) *memSystem {
	t.Helper()
	s, err := memstore.New(memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &memSystem{s: s}
}

func (m *memSystem) Name() string { return "mem" }
func (m *memSystem) Close() error { return m.s.Close() }

func (m *memSystem) Clients(_ context.Context, n int) ([]Client, error) {
	c := make([]Client, n)
	for i := range c {
		c[i] = memClient{m}
	}
	return c, nil
}

func (m *memSystem) Load(ctx context.Context, keys []string, value []byte) error {
	return parallel(ctx, len(keys), 4, func(ctx context.Context, _, i int) error {
		_, err := m.s.Create(ctx, keys[i], value)
		return err
	})
}

var errInjected = errors.New("injected failure")

type memClient struct{ m *memSystem }

func (c memClient) fail() bool {
	n := c.m.ops.Add(1)
	return c.m.failEvery > 0 && n%c.m.failEvery == 0
}

func (c memClient) Put(ctx context.Context, key string, value []byte) error {
	if c.fail() {
		return errInjected
	}
	_, err := c.m.s.Update(ctx, key, value, 0)
	return err
}

func (c memClient) Get(ctx context.Context, key string) error {
	if c.fail() {
		return errInjected
	}
	_, err := c.m.s.Get(ctx, key, store.ReadOptions{})
	return err
}

func testKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("/k/%d", i)
	}
	return keys
}

func TestRunCellTimesEveryCompletedOperation(t *testing.T) {
	sys := newMemSystem(t)
	keys := testKeys(100)
	if err := sys.Load(context.Background(), keys, []byte("v")); err != nil {
		t.Fatal(err)
	}
	for _, op := range []Op{OpPut, OpGet} {
		cell := Cell{System: "mem", Op: op, Clients: 4}
		r, err := runCell(context.Background(), sys, cell, cellParams{
			warmup: 20 * time.Millisecond, duration: 200 * time.Millisecond,
			keys: keys, value: []byte("value"), logf: t.Logf,
		})
		if err != nil {
			t.Fatalf("%v: %v", cell, err)
		}
		if r.Latency.Count() == 0 || r.Errors != 0 {
			t.Fatalf("%v: %d ops, %d errors (%v)", cell, r.Latency.Count(), r.Errors, r.FirstErr)
		}
		if r.Elapsed != 200*time.Millisecond {
			t.Errorf("%v: Elapsed = %v, want the measured window, 200ms", cell, r.Elapsed)
		}
		if got, want := r.Throughput(), float64(r.Latency.Count())/0.2; got != want {
			t.Errorf("%v: Throughput = %v, want %v", cell, got, want)
		}
	}
	// Every put overwrote an existing key: no key was created.
	list, err := sys.s.List(context.Background(), "/k/", store.ListOptions{})
	if err != nil || len(list.KVs) != len(keys) {
		t.Fatalf("after the puts: %d keys, %v; want %d", len(list.KVs), err, len(keys))
	}
}

func TestRunCellCountsErrors(t *testing.T) {
	sys := newMemSystem(t)
	keys := testKeys(10)
	if err := sys.Load(context.Background(), keys, nil); err != nil {
		t.Fatal(err)
	}
	sys.failEvery = 10
	cell := Cell{System: "drover", Op: OpGet, Clients: 2} // a name the table knows
	p := cellParams{duration: 100 * time.Millisecond, keys: keys, logf: t.Logf}
	r, err := runCell(context.Background(), sys, cell, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors == 0 || !errors.Is(r.FirstErr, errInjected) {
		t.Fatalf("Errors = %d, FirstErr = %v; want some, the injected failure", r.Errors, r.FirstErr)
	}
	if ratio := float64(r.Latency.Count()) / float64(r.Errors); ratio < 7 || ratio > 11 {
		t.Errorf("%d successes for %d errors, want about 9 per error", r.Latency.Count(), r.Errors)
	}
	if md := (&Report{Results: []*CellResult{r}}).Markdown(); !strings.Contains(md, "injected failure") {
		t.Errorf("the report does not mention the failures:\n%s", md)
	}

	sys.failEvery = 1
	if _, err := runCell(context.Background(), sys, cell, p); !errors.Is(err, errInjected) {
		t.Fatalf("a cell where every operation fails returned %v, want the failure", err)
	}
}

func TestRunCellStopsWithCtx(t *testing.T) {
	sys := newMemSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := runCell(ctx, sys, Cell{System: "mem", Op: OpGet, Clients: 2},
		cellParams{warmup: time.Minute, duration: time.Minute, keys: testKeys(1), logf: t.Logf})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the ctx's deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("runCell took %v to notice its ctx ended", d)
	}
}

func TestMarkdown(t *testing.T) {
	res := func(sys string, op Op, clients, n int, lat time.Duration) *CellResult {
		r := &CellResult{Cell: Cell{System: sys, Op: op, Clients: clients}, Elapsed: time.Second}
		for range n {
			r.Latency.Record(lat)
		}
		return r
	}
	rep := &Report{
		Config:     DefaultConfig(),
		Start:      time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC),
		LoadBefore: "1.00 2.00 3.00",
		LoadAfter:  "4.00 5.00 6.00",
		Results: []*CellResult{
			res("etcd", OpPut, 64, 2000, 30*time.Millisecond),
			res("drover", OpPut, 64, 5000, 12*time.Millisecond),
			res("etcd", OpGet, 64, 12345, 700*time.Microsecond),
			res("drover", OpGet, 64, 6000, 2*time.Millisecond),
		},
	}
	want, err := os.ReadFile("testdata/report.md")
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Markdown(); got != string(want) {
		t.Errorf("Markdown() =\n%s\nwant (testdata/report.md)\n%s", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.EtcdBinary = "etcd"
	if err := good.Validate(); err != nil {
		t.Fatalf("DefaultConfig with a binary: %v", err)
	}
	for _, tc := range []struct {
		field string
		mod   func(*Config)
	}{
		{"Config.Clients[1]", func(c *Config) { c.Clients = []int{1, 0} }},
		{"Config.Ops[0]", func(c *Config) { c.Ops = []Op{"delete"} }},
		{"Config.Duration", func(c *Config) { c.Duration = 0 }},
		{"Config.Keys", func(c *Config) { c.Keys = 0 }},
		{"Config.EtcdBinary", func(c *Config) { c.EtcdBinary = "" }},
		{"Config.ValueSize", func(c *Config) { c.ValueSize = -1 }},
	} {
		c := good
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.field+" ") {
			t.Errorf("%s: Validate() = %v, want an error naming it", tc.field, err)
		}
	}
}

// TestRunEndToEnd runs a tiny benchmark against both real clusters. It
// needs an etcd server; without one it skips, or fails if
// DROVER_INTEGRATION=1.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six store members; skipped in -short mode")
	}
	bin, err := exec.LookPath("etcd")
	if err != nil {
		msg := "no etcd server in PATH (apt-get install etcd-server)"
		if os.Getenv("DROVER_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cfg := DefaultConfig()
	cfg.EtcdBinary = bin
	cfg.Clients = []int{1, 4}
	cfg.Keys = 50
	cfg.Warmup = 200 * time.Millisecond
	cfg.Duration = 500 * time.Millisecond
	cfg.Dir = t.TempDir()
	var progress strings.Builder
	cfg.Progress = &progress
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	if len(rep.Results) != 8 {
		t.Fatalf("%d results, want 8 (2 systems × 2 ops × 2 client counts)", len(rep.Results))
	}
	ops := make(map[string]uint64)
	for _, r := range rep.Results {
		if r.Errors > 0 {
			t.Errorf("%v: %d errors, the first: %v", r.Cell, r.Errors, r.FirstErr)
		}
		// A single cell may see no operation complete if the machine
		// stalls for its whole (short) window; a system never should.
		ops[r.System] += r.Latency.Count()
	}
	for _, sys := range []string{"etcd", "drover"} {
		if ops[sys] == 0 {
			t.Errorf("no %s operation completed in any cell", sys)
		}
	}
	t.Logf("\n%s", rep.Markdown())
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("Run left %d entries in its directory (%v)", len(entries), err)
	}
}
