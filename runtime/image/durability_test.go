package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

	_ = s.Close() // as the process ending does: the lock goes with it
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
// short (no record says it is complete: the process died mid-copy) is
// made again by the next RootFS call for the container instead of being
// returned as it is, or deleted when the store is opened; a finished
// one is returned untouched.
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
	index := readFile(t, filepath.Join(root, "index.json"))
	rootfs, _, err := s.RootFS(ctx, host+"/app:v1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(filepath.Dir(rootfs), rootfsRecordFile)
	if !exists(record) {
		t.Errorf("no record %s for a made root filesystem", record)
	}
	if got := readFile(t, filepath.Join(root, "index.json")); got != index {
		t.Errorf("RootFS rewrote the index (a sync on every create): %s", got)
	}
	// A finished one is kept as it is, with what the container wrote.
	if err := os.WriteFile(filepath.Join(rootfs, "state"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = s.Close() // as the process ending does: the lock goes with it
	s = newStore(t, root, RootFSCopy)
	if again, _, err := s.RootFS(ctx, host+"/app:v1", "c1"); err != nil || again != rootfs || readFile(t, filepath.Join(again, "state")) != "s" {
		t.Fatalf("RootFS of a finished one = %s, %v; want %s with its state", again, err, rootfs)
	}
	if err := s.RemoveImage(ctx, host+"/app:v1"); !errors.Is(err, runtime.ErrImageInUse) {
		t.Errorf("RemoveImage of an image a reopened store's container uses: %v, want ErrImageInUse", err)
	}

	// The crash mid-copy: no record (or an empty one: a power loss
	// between its rename and its data), and the copy lacks files.
	for _, leftover := range []string{"", "empty record"} {
		if leftover == "" {
			err = os.Remove(record)
		} else {
			err = os.WriteFile(record, nil, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(rootfs, "bin")); err != nil {
			t.Fatal(err)
		}
		_ = s.Close() // as the process ending does: the lock goes with it
		s = newStore(t, root, RootFSCopy)
		if exists(rootfs) {
			t.Errorf("%s: opening the store kept the unfinished root filesystem", leftover)
		}
		// A leftover that appears after New (a crash of this process):
		// RootFS makes it anew too.
		if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rootfs, "state"), []byte("s"), 0o644); err != nil {
			t.Fatal(err)
		}
		again, _, err := s.RootFS(ctx, host+"/app:v1", "c1")
		if err != nil || again != rootfs {
			t.Fatalf("RootFS of an unfinished one = %s, %v; want %s", again, err, rootfs)
		}
		checkTwoLayerRootFS(t, again)
		if exists(filepath.Join(again, "state")) {
			t.Error("the unfinished root filesystem was kept, not made again")
		}
		s.mu.Lock()
		if c := s.containers["c1"]; c == nil || s.making["c1"] {
			t.Errorf("record after making it again = %+v, want a finished one", c)
		}
		s.mu.Unlock()
		if !exists(record) {
			t.Errorf("no record %s after making it again", record)
		}
	}
}

// TestRootFSRecordsOfAnOlderStoreMoved: a store that kept its root
// filesystems' records in its index has them moved to per-container
// records when opened (a finished one is kept and still holds its
// image; an unfinished one is deleted).
func TestRootFSRecordsOfAnOlderStoreMoved(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img, _, _ := twoLayerImage(t)
	imagetest.Push(t, host+"/app:v1", img)
	ctx := context.Background()
	root := t.TempDir()
	s := newStore(t, root, RootFSCopy)
	if _, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	done, _, err := s.RootFS(ctx, host+"/app:v1", "done")
	if err != nil {
		t.Fatal(err)
	}
	half, _, err := s.RootFS(ctx, host+"/app:v1", "half")
	if err != nil {
		t.Fatal(err)
	}
	// What the older store had on disk: records in the index only.
	s.mu.Lock()
	imageID := s.containers["done"].Image
	s.idx.Containers = map[string]*legacyContainerRecord{
		"done": {containerRecord: containerRecord{Image: imageID, Mode: "copy"}},
		"half": {containerRecord: containerRecord{Image: imageID, Mode: "copy"}, Partial: true},
	}
	err = s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{done, half} {
		if err := os.Remove(filepath.Join(filepath.Dir(dir), rootfsRecordFile)); err != nil {
			t.Fatal(err)
		}
	}

	_ = s.Close() // as the process ending does: the lock goes with it
	s = newStore(t, root, RootFSCopy)
	if !exists(filepath.Join(filepath.Dir(done), rootfsRecordFile)) || exists(filepath.Dir(half)) {
		t.Errorf("after opening: record of the finished one: %v (want true), unfinished one kept: %v (want false)",
			exists(filepath.Join(filepath.Dir(done), rootfsRecordFile)), exists(filepath.Dir(half)))
	}
	if strings.Contains(readFile(t, filepath.Join(root, "index.json")), `"containers"`) {
		t.Error("the index still lists containers")
	}
	if err := s.RemoveImage(ctx, host+"/app:v1"); !errors.Is(err, runtime.ErrImageInUse) {
		t.Errorf("RemoveImage of an image a moved record holds: %v, want ErrImageInUse", err)
	}
	if again, _, err := s.RootFS(ctx, host+"/app:v1", "done"); err != nil || again != done {
		t.Errorf("RootFS of the moved one = %s, %v; want %s", again, err, done)
	}
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
	_ = s.Close() // as the process ending does: the lock goes with it
	s = newStore(t, root, RootFSCopy)
	if !s.haveLayerDir(d.Hex) {
		t.Errorf("layer %s of an older store not taken as complete", d)
	}
}
