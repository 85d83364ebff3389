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

	"github.com/drover-io/drover/runtime/oci"
)

// BenchmarkCreateStart measures a container's create+start latency
// through the driver (CreateContainer + StartContainer: bundle, monitor,
// runc create, start; the root filesystem is the spare one made after the
// previous start, as for a Deployment's next replica) against `runc run
// --detach` of the same bundle on a root filesystem of the same kind (a
// fresh one from the driver's image store, made before the clock starts),
// side by side. Each iteration runs one of each, in alternating order,
// each after the other's container is gone, so neither pays for the
// other's teardown or for the driver's spares (monitor, root filesystem)
// being made. It reports p50 and p99 of both in milliseconds, their
// ratios and the median ratio of an iteration's pair. Run it with a fixed
// count: go test -run - -bench CreateStart -benchtime 100x. The machine's
// load average at the start and the end is logged (-v): on a busy machine
// the numbers mean little.
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
	require.NoError(b, e.d.RemoveContainer(e.ctx, tmpl))
	var spec specs.Spec
	require.NoError(b, json.Unmarshal(data, &spec))
	runc := e.d.RuntimePath()
	bundles := b.TempDir()

	viaDriver := func() time.Duration {
		begin := time.Now()
		id, err := e.d.CreateContainer(e.ctx, sb, cfg)
		require.NoError(b, err)
		require.NoError(b, e.d.StartContainer(e.ctx, id))
		took := time.Since(begin)
		b.StopTimer()
		e.waitExited(e.d, id)
		require.NoError(b, e.d.RemoveContainer(e.ctx, id))
		// The spare monitor and root filesystem the start set off are
		// made before runc's turn, which they would slow down.
		require.Eventually(b, func() bool { return oci.SparesReady(e.d) }, 10*time.Second, time.Millisecond,
			"the driver's spares are not ready after a start")
		b.StartTimer()
		return took
	}
	viaRunc := func(i int) time.Duration {
		b.StopTimer()
		rid := fmt.Sprintf("bench-runc-%d", i)
		dir := filepath.Join(bundles, rid)
		require.NoError(b, os.MkdirAll(dir, 0o700))
		rootfs, _, err := e.d.Images().RootFS(e.ctx, e.image, rid)
		require.NoError(b, err)
		s := spec
		root, lin := *spec.Root, *spec.Linux
		root.Path = rootfs
		lin.CgroupsPath = "/" + e.cfg.CgroupParent + "/" + rid
		s.Root, s.Linux = &root, &lin
		out, err := json.Marshal(&s)
		require.NoError(b, err)
		require.NoError(b, os.WriteFile(filepath.Join(dir, "config.json"), out, 0o600))
		b.StartTimer()

		begin := time.Now()
		cmd := exec.Command(runc, "--root", e.cfg.StateDir, "run", "--detach", "--bundle", dir, rid)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("runc run: %v: %s", err, out)
		}
		took := time.Since(begin)

		b.StopTimer()
		if out, err := exec.Command(runc, "--root", e.cfg.StateDir, "delete", "--force", rid).CombinedOutput(); err != nil {
			b.Fatalf("runc delete: %v: %s", err, out)
		}
		require.NoError(b, e.d.Images().ReleaseRootFS(e.ctx, rid))
		b.StartTimer()
		return took
	}

	b.Logf("load average at start: %s", loadavg())
	var driver, direct []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			driver = append(driver, viaDriver())
			direct = append(direct, viaRunc(i))
		} else {
			direct = append(direct, viaRunc(i))
			driver = append(driver, viaDriver())
		}
	}
	b.StopTimer()
	b.Logf("load average at end: %s", loadavg())
	dp50, dp99 := percentiles(driver)
	rp50, rp99 := percentiles(direct)
	b.ReportMetric(ms(dp50), "driver-p50-ms")
	b.ReportMetric(ms(dp99), "driver-p99-ms")
	b.ReportMetric(ms(rp50), "runc-p50-ms")
	b.ReportMetric(ms(rp99), "runc-p99-ms")
	b.ReportMetric(float64(dp50)/float64(rp50), "p50-ratio")
	b.ReportMetric(float64(dp99)/float64(rp99), "p99-ratio")
	// The ratio of each iteration's pair, run moments apart, is steadier
	// than the ratio of the percentiles when the machine's load moves.
	pairs := make([]time.Duration, len(driver))
	for i := range driver {
		pairs[i] = time.Duration(float64(time.Millisecond) * float64(driver[i]) / float64(direct[i]))
	}
	pp50, _ := percentiles(pairs)
	b.ReportMetric(ms(pp50), "pair-ratio-p50")
	b.ReportMetric(0, "ns/op")
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return string(data[:len(data)-1])
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.99)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
