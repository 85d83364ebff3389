package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
)

// withoutDACOverride runs fn on an OS thread whose effective
// capabilities lack CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and
// CAP_FOWNER, so file permissions apply to it as to an unprivileged
// user even when the test runs as root. Capabilities are per thread and
// the thread is discarded afterwards (it stays locked).
func withoutDACOverride(t *testing.T, fn func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread dies with the goroutine
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		for _, c := range []uint{unix.CAP_DAC_OVERRIDE, unix.CAP_DAC_READ_SEARCH, unix.CAP_FOWNER} {
			data[c/32].Effective &^= 1 << (c % 32)
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// TestCopyRootFSIntoReadOnlyDirectoryWithoutRoot: a lower layer has a
// directory without write permission (Fedora's /usr/bin is 0555) and a
// higher layer adds and deletes files in it. A store without root (the
// process driver's) must still make the copy, and keep the directory's
// mode.
func TestCopyRootFSIntoReadOnlyDirectoryWithoutRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop capabilities per thread; without root the other tests cover this")
	}
	host := imagetest.StartRegistry(t, nil)
	ro := func(name string) imagetest.Entry {
		return imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o555}}
	}
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer(t, imagetest.Dir("usr/"), ro("usr/bin/"), imagetest.File("usr/bin/old", "old", true), imagetest.File("usr/bin/gone", "gone", true)),
		imagetest.Layer(t, imagetest.Dir("usr/"), ro("usr/bin/"), imagetest.File("usr/bin/new", "new", true), imagetest.File("usr/bin/.wh.gone", "", false)),
	)
	imagetest.Push(t, host+"/ro:v1", img)
	s := newStore(t, t.TempDir(), RootFSCopy)
	s.root, s.whiteouts = false, WhiteoutMarker // as New finds without root
	if _, err := s.PullImage(context.Background(), host+"/ro:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	var rootfs string
	err := withoutDACOverride(t, func() error {
		var err error
		rootfs, _, err = s.RootFS(context.Background(), host+"/ro:v1", "c")
		return err
	})
	if err != nil {
		t.Fatalf("RootFS without root: %v", err)
	}
	if got := readFile(t, filepath.Join(rootfs, "usr/bin/new")); got != "new" {
		t.Errorf("usr/bin/new = %q, want new", got)
	}
	if got := readFile(t, filepath.Join(rootfs, "usr/bin/old")); got != "old" {
		t.Errorf("usr/bin/old = %q, want old", got)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "usr/bin/gone")); !os.IsNotExist(err) {
		t.Errorf("usr/bin/gone: err = %v, want it deleted by the whiteout", err)
	}
	if fi, err := os.Stat(filepath.Join(rootfs, "usr/bin")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("usr/bin = %v, %v; want mode 0555", fi, err)
	}
	if err := withoutDACOverride(t, func() error { return s.ReleaseRootFS(context.Background(), "c") }); err != nil {
		t.Fatalf("ReleaseRootFS without root: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(s.cfg.Root, "containers", "c")); !os.IsNotExist(err) {
		t.Errorf("container directory left: %v", err)
	}
}

// TestFlightSurvivesFirstCallerCancel: the caller running a shared
// pull gives up (its context ends); a caller that joined it with a live
// context must not inherit context.Canceled but run the call itself.
func TestFlightSurvivesFirstCallerCancel(t *testing.T) {
	var g flights
	ctx1, cancel1 := context.WithCancel(context.Background())
	started := make(chan struct{})
	res1 := make(chan error, 1)
	go func() {
		_, err := g.do(ctx1, "k", func() (any, error) {
			close(started)
			<-ctx1.Done()
			return nil, fmt.Errorf("fetch: %w", ctx1.Err())
		})
		res1 <- err
	}()
	<-started
	type result struct {
		v   any
		err error
	}
	res2 := make(chan result, 1)
	go func() {
		v, err := g.do(context.Background(), "k", func() (any, error) { return "second", nil })
		res2 <- result{v, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		n := g.m["k"].waiters
		g.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second caller never joined the flight")
		}
		goruntime.Gosched()
	}
	cancel1()
	if err := <-res1; !errors.Is(err, context.Canceled) {
		t.Errorf("first caller: err = %v, want context.Canceled", err)
	}
	if r := <-res2; r.err != nil || r.v != "second" {
		t.Errorf("second caller: %v, %v; want its own call's result", r.v, r.err)
	}
}

// TestPullLayerWithReadOnlyRootWithoutRoot: a layer whose root entry
// ("./") has no write permission (Fedora's / is 0555) is stored by a
// store without root: the unpacked directory can still be moved in
// place.
func TestPullLayerWithReadOnlyRootWithoutRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop capabilities per thread")
	}
	host := imagetest.StartRegistry(t, nil)
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer(t, imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o555}}, imagetest.File("f", "x", false)),
	)
	imagetest.Push(t, host+"/rootro:v1", img)
	s := newStore(t, t.TempDir(), RootFSCopy)
	s.root, s.whiteouts = false, WhiteoutMarker
	err := withoutDACOverride(t, func() error {
		_, err := s.PullImage(context.Background(), host+"/rootro:v1", runtime.PullOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("pull without root: %v", err)
	}
	var rootfs string
	err = withoutDACOverride(t, func() error {
		var err error
		rootfs, _, err = s.RootFS(context.Background(), host+"/rootro:v1", "c")
		return err
	})
	if err != nil {
		t.Fatalf("RootFS without root: %v", err)
	}
	if got := readFile(t, filepath.Join(rootfs, "f")); got != "x" {
		t.Errorf("f = %q", got)
	}
	if err := withoutDACOverride(t, func() error {
		if err := s.ReleaseRootFS(context.Background(), "c"); err != nil {
			return err
		}
		return s.RemoveImage(context.Background(), host+"/rootro:v1")
	}); err != nil {
		t.Fatal(err)
	}
	assertEmptyStore(t, s)
}

// TestMarkerWhiteoutSparesSameLayerFile: a whiteout hides only what the
// layers below have (OCI image spec): a file of the same layer stays,
// whether its name sorts before or after the ".wh." marker.
func TestMarkerWhiteoutSparesSameLayerFile(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer(t, imagetest.File("-a", "old", false), imagetest.File("b", "old", false)),
		imagetest.Layer(t, imagetest.File(".wh.-a", "", false), imagetest.File("-a", "new", false),
			imagetest.File(".wh.b", "", false), imagetest.File("b", "new", false)),
	)
	imagetest.Push(t, host+"/same:v1", img)
	s := newStore(t, t.TempDir(), RootFSCopy)
	s.whiteouts = WhiteoutMarker
	if _, err := s.PullImage(context.Background(), host+"/same:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	rootfs, cleanup, err := s.RootFS(context.Background(), host+"/same:v1", "c")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	for _, name := range []string{"-a", "b"} {
		if b, err := os.ReadFile(filepath.Join(rootfs, name)); err != nil || string(b) != "new" {
			t.Errorf("%s = %q, %v; want the top layer's file", name, b, err)
		}
	}
}
