package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
)

// TestDistributionBusybox pushes a busybox image built from the host's
// binary to the real docker-registry (distribution) on loopback, pulls
// it back and runs busybox from the container root filesystem with
// chroot. It needs docker-registry and busybox-static (skipped without,
// failed with DROVER_INTEGRATION=1).
func TestDistributionBusybox(t *testing.T) {
	host := imagetest.StartDistribution(t)
	img := imagetest.BusyboxImage(t)
	imagetest.Push(t, host+"/library/busybox:1", img)
	ctx := context.Background()
	s := newStore(t, t.TempDir(), RootFSAuto)

	var last runtime.PullProgress
	got, err := s.PullImage(ctx, host+"/library/busybox:1", runtime.PullOptions{Progress: func(p runtime.PullProgress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != configName(t, img) || last.Done != got.Size || got.Size == 0 {
		t.Fatalf("pulled %+v (last progress %+v), want %s with all bytes reported", got, last, configName(t, img))
	}
	if got.Config.Cmd[0] != "sh" {
		t.Errorf("Config.Cmd = %q, want [sh]", got.Config.Cmd)
	}

	// distribution's own error for a missing tag.
	_, err = s.PullImage(ctx, host+"/library/busybox:nope", runtime.PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
		t.Errorf("missing tag: err = %v, want distribution's MANIFEST_UNKNOWN", err)
	}

	rootfs, cleanup, err := s.RootFS(ctx, got.ID, "bb")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if fi, err := os.Stat(filepath.Join(rootfs, "bin/busybox")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("bin/busybox: %v %v", fi, err)
	}
	if os.Geteuid() != 0 {
		return // chroot needs root
	}
	out, err := exec.CommandContext(ctx, "chroot", rootfs, "/bin/sh", "-c", "echo hello from $(basename $(readlink /bin/echo)) > /tmp/out; cat /tmp/out").CombinedOutput()
	if err != nil || string(out) != "hello from busybox\n" {
		t.Fatalf("busybox in the root filesystem: %q, %v", out, err)
	}
	// The write landed in the container, not in the image.
	rootfs2, cleanup2, err := s.RootFS(ctx, got.ID, "bb2")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup2()
	if exists(filepath.Join(rootfs2, "tmp/out")) {
		t.Error("a file written in one container appears in another")
	}
}

// benchImage is an image of layers random layers of size bytes each
// (random content: compression gains nothing, so MB/s counts bytes on
// the wire).
func benchImage(b *testing.B, size int64, layers int) v1.Image {
	img, err := random.Image(size, int64(layers))
	if err != nil {
		b.Fatal(err)
	}
	return img
}

func benchPull(b *testing.B, host string) {
	img := benchImage(b, 16<<20, 4)
	imagetest.Push(b, host+"/bench:v1", img)
	size, err := img.Size()
	if err != nil {
		b.Fatal(err)
	}
	ls, _ := img.Layers()
	var total int64
	for _, l := range ls {
		n, _ := l.Size()
		total += n
	}
	b.SetBytes(total + size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newStore(b, b.TempDir(), RootFSAuto)
		b.StartTimer()
		if _, err := s.PullImage(context.Background(), host+"/bench:v1", runtime.PullOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/(1<<20), "MiB/image")
}

// BenchmarkPullUnpack measures pull + verify + unpack throughput of a
// 64 MiB image (4 layers) from the in-process registry and from
// docker-registry. Run: go test -run XXX -bench PullUnpack ./runtime/image/
func BenchmarkPullUnpack(b *testing.B) {
	b.Run("in-process", func(b *testing.B) { benchPull(b, imagetest.StartRegistry(b, nil)) })
	b.Run("distribution", func(b *testing.B) { benchPull(b, imagetest.StartDistribution(b)) })
}

// BenchmarkRootFS measures making a container root filesystem from a
// stored 64 MiB image.
func BenchmarkRootFS(b *testing.B) {
	host := imagetest.StartRegistry(b, nil)
	imagetest.Push(b, host+"/bench:v1", benchImage(b, 16<<20, 4))
	for _, mode := range []RootFSMode{RootFSOverlay, RootFSCopy} {
		b.Run(mode.String(), func(b *testing.B) {
			if mode == RootFSOverlay && os.Geteuid() != 0 {
				b.Skip("overlay needs root")
			}
			s := newStore(b, b.TempDir(), mode)
			img, err := s.PullImage(context.Background(), host+"/bench:v1", runtime.PullOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, cleanup, err := s.RootFS(context.Background(), img.ID, fmt.Sprintf("c%d", i))
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := cleanup(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
