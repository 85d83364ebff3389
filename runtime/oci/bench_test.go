package oci_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
)

// BenchmarkCreateStart measures a container's create+start latency
// through the driver (CreateContainer + StartContainer: root filesystem,
// bundle, monitor, runc create, runc start) against `runc run --detach`
// of the same bundle, side by side: each iteration runs one of each. It
// reports p50 and p99 of both in milliseconds and the ratios. Run it
// with a fixed count: go test -run - -bench CreateStart -benchtime 100x.
func BenchmarkCreateStart(b *testing.B) {
	e := newEnv(b)
	sb, _ := e.sandbox("bench")
	cfg := e.config("bench", "true")

	// The template: a container made by the driver, whose bundle runc
	// runs directly.
	tmpl, err := e.d.CreateContainer(e.ctx, sb, cfg)
	require.NoError(b, err)
	data, err := os.ReadFile(filepath.Join(e.cfg.Root, "containers", tmpl, "bundle", "config.json"))
	require.NoError(b, err)
	var spec specs.Spec
	require.NoError(b, json.Unmarshal(data, &spec))
	runc := e.d.RuntimePath()
	bundles := b.TempDir()

	var viaDriver, viaRunc []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		begin := time.Now()
		id, err := e.d.CreateContainer(e.ctx, sb, cfg)
		require.NoError(b, err)
		require.NoError(b, e.d.StartContainer(e.ctx, id))
		viaDriver = append(viaDriver, time.Since(begin))

		b.StopTimer()
		rid := fmt.Sprintf("bench-runc-%d", i)
		dir := filepath.Join(bundles, rid)
		require.NoError(b, os.MkdirAll(dir, 0o700))
		s := spec
		lin := *spec.Linux
		lin.CgroupsPath = "/" + e.cfg.CgroupParent + "/" + rid
		s.Linux = &lin
		out, err := json.Marshal(&s)
		require.NoError(b, err)
		require.NoError(b, os.WriteFile(filepath.Join(dir, "config.json"), out, 0o600))
		b.StartTimer()

		begin = time.Now()
		cmd := exec.Command(runc, "--root", e.cfg.StateDir, "run", "--detach", "--bundle", dir, rid)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("runc run: %v: %s", err, out)
		}
		viaRunc = append(viaRunc, time.Since(begin))

		b.StopTimer()
		e.waitExited(e.d, id)
		require.NoError(b, e.d.RemoveContainer(e.ctx, id))
		for {
			st, err := exec.Command(runc, "--root", e.cfg.StateDir, "state", rid).Output()
			if err != nil || json.Valid(st) && !slices.Contains([]string{`"running"`, `"created"`}, statusOf(st)) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if out, err := exec.Command(runc, "--root", e.cfg.StateDir, "delete", "--force", rid).CombinedOutput(); err != nil {
			b.Fatalf("runc delete: %v: %s", err, out)
		}
		b.StartTimer()
	}
	b.StopTimer()
	require.NoError(b, e.d.RemoveContainer(e.ctx, tmpl))
	dp50, dp99 := percentiles(viaDriver)
	rp50, rp99 := percentiles(viaRunc)
	b.ReportMetric(ms(dp50), "driver-p50-ms")
	b.ReportMetric(ms(dp99), "driver-p99-ms")
	b.ReportMetric(ms(rp50), "runc-p50-ms")
	b.ReportMetric(ms(rp99), "runc-p99-ms")
	b.ReportMetric(float64(dp50)/float64(rp50), "p50-ratio")
	b.ReportMetric(float64(dp99)/float64(rp99), "p99-ratio")
	b.ReportMetric(0, "ns/op")
}

func statusOf(state []byte) string {
	var s struct{ Status string }
	_ = json.Unmarshal(state, &s)
	return `"` + s.Status + `"`
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.99)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var _ = runtime.ContainerExited
