package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
)

// TestIncompleteLayerRedone: an unpacked layer directory without its
// completion marker (what a power loss between the unpack and the
// marker leaves: a directory whose files may be truncated) is taken as
// absent: the next pull removes it and unpacks the layer again.
func TestIncompleteLayerRedone(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img, base, _ := twoLayerImage(t)
	imagetest.Push(t, host+"/app:v1", img)
	ctx := context.Background()
	root := t.TempDir()
	s := newStore(t, root, RootFSCopy)
	if _, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := base.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	if !exists(s.layerDonePath(d.Hex)) {
		t.Fatalf("no completion marker for layer %s after a pull", d)
	}
	// The power loss: the marker never made it, a file is empty.
	if err := os.Remove(s.layerDonePath(d.Hex)); err != nil {
		t.Fatal(err)
	}
	hostname := filepath.Join(s.layerPath(d.Hex), "etc", "hostname")
	if err := os.Truncate(hostname, 0); err != nil {
		t.Fatal(err)
	}

	s = newStore(t, root, RootFSCopy)
	if _, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, hostname); got != "base" {
		t.Errorf("etc/hostname in the layer = %q after the pull, want %q (unpacked again)", got, "base")
	}
	if !exists(s.layerDonePath(d.Hex)) {
		t.Errorf("no completion marker for layer %s after the pull", d)
	}
	rootfs, _, err := s.RootFS(ctx, configName(t, img), "c1")
	if err != nil {
		t.Fatal(err)
	}
	checkTwoLayerRootFS(t, rootfs)
}

// TestUnfinishedRootFSRedone: a root filesystem whose making was cut
// short (the record says it is unfinished: the process died mid-copy)
// is made again by the next RootFS call for the container instead of
// being returned as it is; a finished one is returned untouched.
func TestUnfinishedRootFSRedone(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img, _, _ := twoLayerImage(t)
	imagetest.Push(t, host+"/app:v1", img)
	ctx := context.Background()
	root := t.TempDir()
	s := newStore(t, root, RootFSCopy)
	if _, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	rootfs, _, err := s.RootFS(ctx, host+"/app:v1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	if c := s.idx.Containers["c1"]; c == nil || c.Partial {
		t.Errorf("record of a made root filesystem = %+v, want a finished one", c)
	}
	s.mu.Unlock()
	// A finished one is kept as it is, with what the container wrote.
	if err := os.WriteFile(filepath.Join(rootfs, "state"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = newStore(t, root, RootFSCopy)
	if again, _, err := s.RootFS(ctx, host+"/app:v1", "c1"); err != nil || again != rootfs || readFile(t, filepath.Join(again, "state")) != "s" {
		t.Fatalf("RootFS of a finished one = %s, %v; want %s with its state", again, err, rootfs)
	}

	// The crash mid-copy: the record is there, unfinished, and the copy
	// lacks files.
	s.mu.Lock()
	s.idx.Containers["c1"].Partial = true
	err = s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(rootfs, "bin")); err != nil {
		t.Fatal(err)
	}
	s = newStore(t, root, RootFSCopy)
	again, _, err := s.RootFS(ctx, host+"/app:v1", "c1")
	if err != nil || again != rootfs {
		t.Fatalf("RootFS of an unfinished one = %s, %v; want %s", again, err, rootfs)
	}
	checkTwoLayerRootFS(t, again)
	if exists(filepath.Join(again, "state")) {
		t.Error("the unfinished root filesystem was kept, not made again")
	}
	s.mu.Lock()
	if c := s.idx.Containers["c1"]; c == nil || c.Partial {
		t.Errorf("record after making it again = %+v, want a finished one", c)
	}
	s.mu.Unlock()
}

// TestLayersOfAnOlderStoreKept: the unpacked layers of a store made
// before completion markers existed (no layers/complete) are taken as
// complete once, when the store is opened, not unpacked again (the
// containers using them may have them mounted).
func TestLayersOfAnOlderStoreKept(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img, base, _ := twoLayerImage(t)
	imagetest.Push(t, host+"/app:v1", img)
	root := t.TempDir()
	s := newStore(t, root, RootFSCopy)
	if _, err := s.PullImage(context.Background(), host+"/app:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "layers", "complete")); err != nil {
		t.Fatal(err)
	}
	d, err := base.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	s = newStore(t, root, RootFSCopy)
	if !s.haveLayerDir(d.Hex) {
		t.Errorf("layer %s of an older store not taken as complete", d)
	}
}
