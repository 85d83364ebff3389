package process_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/process"
)

// BenchmarkCreateStart measures CreateContainer (the root filesystem
// copy) and StartContainer (the monitor's start and the process's exec)
// of a container that exits at once, and reports the p50 and p99 of
// each and of both.
func BenchmarkCreateStart(b *testing.B) {
	e := setup(b, process.IsolationAuto)
	var create, start, total []time.Duration
	for i := 0; b.Loop(); i++ {
		begin := time.Now()
		id, err := e.d.CreateContainer(e.ctx, e.sb, &runtime.ContainerConfig{Name: "c", Attempt: uint32(i), Image: e.image, Command: []string{"true"}})
		require.NoError(b, err)
		created := time.Now()
		require.NoError(b, e.d.StartContainer(e.ctx, id))
		end := time.Now()
		create, start, total = append(create, created.Sub(begin)), append(start, end.Sub(created)), append(total, end.Sub(begin))
		b.StopTimer()
		require.NoError(b, e.d.StopContainer(e.ctx, id, runtime.StopOptions{}))
		require.NoError(b, e.d.RemoveContainer(e.ctx, id))
		b.StartTimer()
	}
	report := func(name string, l []time.Duration) {
		slices.Sort(l)
		b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(l[len(l)*99/100].Microseconds())/1000, name+"-p99-ms")
	}
	report("create", create)
	report("start", start)
	report("total", total)
}
