package storebench

import (
	"fmt"
	"strings"
	"time"
)

// Markdown returns the report as one table, a row per op and client
// count, etcd and Drover side by side, preceded by the run's settings and
// followed by a note on any failed operations.
func (r *Report) Markdown() string {
	var b strings.Builder
	cfg := r.Config
	conns := "one per client"
	if cfg.EtcdConns > 0 {
		conns = fmt.Sprintf("%d per member", cfg.EtcdConns)
	}
	fmt.Fprintf(&b, "%s; %d keys, %d-byte values, %v warm-up + %v measured per cell; etcd gRPC connections: %s; load average %s before, %s after\n\n",
		r.Start.UTC().Format("2006-01-02 15:04 UTC"), cfg.Keys, cfg.ValueSize, cfg.Warmup, cfg.Duration, conns,
		r.LoadBefore, r.LoadAfter)
	b.WriteString("| op | clients | etcd ops/s | drover ops/s | ratio (drover/etcd) | etcd p50 | drover p50 | etcd p99 | drover p99 |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	type key struct {
		op      Op
		clients int
	}
	cells := make(map[key]map[string]*CellResult)
	var order []key
	for _, res := range r.Results {
		k := key{res.Op, res.Clients}
		if cells[k] == nil {
			cells[k] = make(map[string]*CellResult)
			order = append(order, k)
		}
		cells[k][res.System] = res
	}
	var notes []string
	for _, k := range order {
		e, d := cells[k]["etcd"], cells[k]["drover"]
		ratio := "-"
		if e != nil && d != nil && e.Throughput() > 0 {
			ratio = fmt.Sprintf("%.2f×", d.Throughput()/e.Throughput())
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", k.op, k.clients,
			fmtOps(e), fmtOps(d), ratio,
			fmtQuantile(e, 0.5), fmtQuantile(d, 0.5), fmtQuantile(e, 0.99), fmtQuantile(d, 0.99))
		for _, res := range []*CellResult{e, d} {
			if res != nil && res.Errors > 0 {
				notes = append(notes, fmt.Sprintf("- %v: %d operations failed, the first with: %v", res.Cell, res.Errors, res.FirstErr))
			}
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nFailed operations (not counted in ops/s or latency):\n\n")
		b.WriteString(strings.Join(notes, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

func fmtOps(r *CellResult) string {
	if r == nil {
		return "-"
	}
	return groupThousands(int64(r.Throughput() + 0.5))
}

func fmtQuantile(r *CellResult, q float64) string {
	if r == nil || r.Latency.Count() == 0 {
		return "-"
	}
	return fmtLatency(r.Latency.Quantile(q))
}

// fmtLatency formats a latency in milliseconds with three significant
// digits: "0.412 ms", "4.12 ms", "41.2 ms", "412 ms".
func fmtLatency(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func secondsToDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// groupThousands formats n with commas: 12,345.
func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + groupThousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
