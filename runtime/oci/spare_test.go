package oci_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
	"github.com/drover-io/drover/runtime/oci"
)

// TestSpareMonitor checks the driver's spare container monitor: none
// before the first container (nothing competes with the first `runc
// create`), one started once a container is started, used by the next
// container, and stopped by Close.
func TestSpareMonitor(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("spare")
	assert.Zero(t, oci.SparePid(e.d), "a spare before any container")

	first := e.run(sb, e.config("first", "sleep", "60"))
	spare := waitSpare(t, e.d, 0)

	second := e.run(sb, e.config("second", "sleep", "60"))
	// The spare became the second container's monitor: it lives on, and
	// a new spare is started.
	next := waitSpare(t, e.d, spare)
	assert.True(t, alive(spare), "the second container's monitor %d exited", spare)
	st, err := e.d.ContainerStatus(e.ctx, second)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerRunning, st.State)

	require.NoError(t, e.d.Close())
	assert.Zero(t, oci.SparePid(e.d))
	waitGone(t, next)
	assert.True(t, alive(spare), "Close stopped a container's monitor")
	_, err = e.d.CreateContainer(e.ctx, sb, e.config("third", "true"))
	assert.Error(t, err, "a closed driver created a container")

	d := e.newDriver()
	for _, id := range []string{first, second} {
		require.NoError(t, d.RemoveContainer(e.ctx, id))
	}
	waitGone(t, spare)
}

// waitSpare waits until d has a spare monitor other than not and
// returns its process ID.
func waitSpare(t *testing.T, d *oci.Driver, not int) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		pid = oci.SparePid(d)
		return pid != 0 && pid != not
	}, 10*time.Second, 5*time.Millisecond, "no new spare monitor (had %d)", not)
	return pid
}

// waitGone waits until process pid is gone (or a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 5*time.Millisecond,
		"process %d still runs", pid)
}

// alive says whether process pid runs and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] == ')' {
			return i+2 < len(data) && data[i+2] != 'Z'
		}
	}
	return false
}

// TestSpareRootFS checks the driver's spare root filesystem: none before
// the first start, one made from the started container's image once it
// has started, taken (ID and all) by the next container from that image;
// a spare a crashed driver left is released by the next driver on the
// same root, and Close and RemoveImage release theirs.
func TestSpareRootFS(t *testing.T) {
	e := newEnv(t)
	x := imageID(t, e.d, e.image)
	sb, _ := e.sandbox("sparefs")
	assert.Zero(t, oci.SpareRootFSCount(e.d), "a spare root filesystem before any container")

	first := e.run(sb, e.config("first", "sleep", "60"))
	spare := waitSpareFS(t, e.d, x, "")
	assert.FileExists(t, filepath.Join(e.cfg.Root, "containers", spare, "spare-rootfs"), "the spare's marker")

	second := e.run(sb, e.config("second", "sleep", "60"))
	assert.Equal(t, spare, second, "the second container did not take the spare root filesystem")
	next := waitSpareFS(t, e.d, x, spare)
	st, err := e.d.ContainerStatus(e.ctx, second)
	require.NoError(t, err)
	assert.Equal(t, runtime.ContainerRunning, st.State)
	assert.NoFileExists(t, filepath.Join(e.cfg.Root, "containers", second, "spare-rootfs"), "the taken spare's marker")

	// A crash: the driver forgets its spare, which stays on disk; the
	// next driver on the root releases it.
	lost := oci.ForgetSpareRootFS(e.d)
	require.Equal(t, []string{next}, lost)
	d := e.newDriver()
	assertSpareGone(t, e.cfg.Root, next)
	_, err = d.ContainerStatus(e.ctx, next)
	assert.ErrorIs(t, err, runtime.ErrNotFound, "a spare taken for a container")

	// Close releases the spare.
	third := e.run(sb, e.config("third", "true"))
	closed := waitSpareFS(t, d, x, "")
	require.NoError(t, d.Close())
	assertSpareGone(t, e.cfg.Root, closed)

	// RemoveImage releases the spare made from the image.
	d = e.newDriver()
	fourth := e.run(sb, e.config("fourth", "true"))
	last := waitSpareFS(t, d, x, "")
	for _, id := range []string{first, second, third, fourth} {
		require.NoError(t, d.RemoveContainer(e.ctx, id))
	}
	require.NoError(t, d.RemoveImage(e.ctx, e.image), "RemoveImage with a spare root filesystem made from the image")
	assert.Zero(t, oci.SpareRootFSCount(d))
	assertSpareGone(t, e.cfg.Root, last)
}

// TestSpareRootFSImages checks spares across images: a create from one
// image never takes another's spare; each of the last four images started
// keeps its own; the spare of the image started longest ago is released.
func TestSpareRootFSImages(t *testing.T) {
	e := newEnv(t)
	sb, _ := e.sandbox("images")
	refs := []string{e.image}
	for i := 1; i <= 4; i++ {
		img, err := mutate.AppendLayers(imagetest.BusyboxImage(t),
			imagetest.Layer(t, imagetest.File("variant", strconv.Itoa(i), false)))
		require.NoError(t, err)
		ref := strings.Replace(e.image, "/drover/busybox:", "/drover/busybox-"+strconv.Itoa(i)+":", 1)
		imagetest.Push(t, ref, img)
		_, err = e.d.PullImage(e.ctx, ref, runtime.PullOptions{})
		require.NoError(t, err)
		refs = append(refs, ref)
	}
	ids := make([]string, len(refs))
	spares := make([]string, len(refs))
	var containers []string
	for i, ref := range refs {
		ids[i] = imageID(t, e.d, ref)
		cfg := e.config("c"+strconv.Itoa(i), "sleep", "60")
		cfg.Image = ref
		c := e.run(sb, cfg)
		containers = append(containers, c)
		for j := range i {
			assert.NotEqual(t, spares[j], c, "a container of image %d took the spare of image %d", i, j)
		}
		spares[i] = waitSpareFS(t, e.d, ids[i], "")
		if i == 1 {
			assert.Equal(t, spares[0], oci.SpareRootFS(e.d, ids[0]), "the first image's spare, with two images started")
		}
	}
	waitIdle(t, e.d)
	assert.Equal(t, 4, oci.SpareRootFSCount(e.d))
	assert.Empty(t, oci.SpareRootFS(e.d, ids[0]), "the spare of the image started longest ago")
	assertSpareGone(t, e.cfg.Root, spares[0])
	for i := 1; i < len(refs); i++ {
		assert.Equal(t, spares[i], oci.SpareRootFS(e.d, ids[i]))
	}

	// RemoveImage of an image releases its spare, not the others'.
	require.NoError(t, e.d.RemoveContainer(e.ctx, containers[4]))
	require.NoError(t, e.d.RemoveImage(e.ctx, refs[4]))
	assertSpareGone(t, e.cfg.Root, spares[4])
	assert.Equal(t, 3, oci.SpareRootFSCount(e.d))
}

// imageID returns the ID of stored image ref.
func imageID(t *testing.T, d *oci.Driver, ref string) string {
	t.Helper()
	img, err := d.ImageStatus(context.Background(), ref)
	require.NoError(t, err)
	return img.ID
}

// assertSpareGone asserts that spare root filesystem id was released: its
// directories are gone, and so its mount.
func assertSpareGone(t *testing.T, root, id string) {
	t.Helper()
	assert.NoDirExists(t, filepath.Join(root, "containers", id), "spare %s's directory", id)
	assert.NoDirExists(t, filepath.Join(root, "images", "containers", id), "spare %s's root filesystem", id)
}

// waitSpareFS waits until d has a spare root filesystem made from image
// other than not, and returns its container ID.
func waitSpareFS(t *testing.T, d *oci.Driver, image, not string) string {
	t.Helper()
	var id string
	require.Eventually(t, func() bool {
		id = oci.SpareRootFS(d, image)
		return id != "" && id != not
	}, 10*time.Second, 5*time.Millisecond, "no new spare root filesystem from %s (had %q)", image, not)
	return id
}

// waitIdle waits until d is making no spare root filesystem.
func waitIdle(t *testing.T, d *oci.Driver) {
	t.Helper()
	require.Eventually(t, func() bool { return oci.SpareRootFSIdle(d) }, 10*time.Second, 5*time.Millisecond,
		"the driver is still making a spare root filesystem")
}
