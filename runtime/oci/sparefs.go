package oci

import (
	"context"
	"os"
	"path/filepath"
)

// A spare root filesystem is the overlay of the next container, made in
// the background once a container has started, from that container's
// image: the next create from the same image (a Deployment's next
// replica, a container restarting) finds its root filesystem mounted and
// does not pay the overlay mount on its critical path. It is the larger
// part of the driver's own time in a create, and grows under load.
//
// The spare is a root filesystem in the image store under the ID its
// container will have; CreateContainer takes it, ID and all. On disk, it
// is a container directory containers/<id> holding only spareFSFile: a
// driver made on the same Root releases a spare nobody took (load). There
// is one spare at a time, of the image started last; it holds its image
// against the image store's RemoveImage, so the driver's RemoveImage
// releases it first.

// spareFSFile marks a container directory as a spare root filesystem's.
const spareFSFile = "spare-rootfs"

// spareFS is a spare root filesystem: its future container's ID, its
// image's ID and its path.
type spareFS struct {
	id, image, rootfs string
}

// takeSpareFS returns the spare root filesystem made from image, if there
// is one, and its container ID; "" when there is none.
func (d *Driver) takeSpareFS(image string) (id, rootfs string) {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	sp := d.spareFS
	if sp == nil || sp.image != image {
		return "", ""
	}
	d.spareFS = nil
	return sp.id, sp.rootfs
}

// refillSpareFS makes a spare root filesystem from image in the
// background, unless there is one from it already or one is being made.
// A spare from another image is released.
func (d *Driver) refillSpareFS(image string) {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	if d.closed || d.fsRefill != nil || (d.spareFS != nil && d.spareFS.image == image) {
		return
	}
	old := d.spareFS
	d.spareFS = nil
	done := make(chan struct{})
	d.fsRefill = done
	d.spareWG.Add(1)
	go func() {
		defer d.spareWG.Done()
		defer close(done)
		if old != nil {
			d.releaseSpareFS(old)
		}
		sp, err := d.makeSpareFS(image)
		d.spareMu.Lock()
		d.fsRefill = nil
		keep := err == nil && !d.closed && d.spareFS == nil
		if keep {
			d.spareFS = sp
		}
		d.spareMu.Unlock()
		if err != nil {
			d.log.Warn("oci: make a spare root filesystem", "image", image, "err", err)
			return
		}
		if !keep {
			d.releaseSpareFS(sp)
		}
	}()
}

// makeSpareFS makes a root filesystem from image for a new container ID,
// its directory marked first, so that a crash never leaves it unowned.
func (d *Driver) makeSpareFS(image string) (*spareFS, error) {
	id := newID()
	dir := d.containerDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, spareFSFile), []byte(image+"\n"), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	rootfs, _, err := d.images.RootFS(context.Background(), image, id)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &spareFS{id: id, image: image, rootfs: rootfs}, nil
}

// releaseSpareFS releases a spare root filesystem nobody took.
func (d *Driver) releaseSpareFS(sp *spareFS) {
	d.releaseSpareDir(sp.id)
}

// releaseSpareDir releases the spare root filesystem of container
// directory id and removes the directory.
func (d *Driver) releaseSpareDir(id string) {
	if err := d.images.ReleaseRootFS(context.Background(), id); err != nil {
		d.log.Warn("oci: release a spare root filesystem", "id", id, "err", err)
		return
	}
	if err := os.RemoveAll(d.containerDir(id)); err != nil {
		d.log.Warn("oci: remove a spare root filesystem's directory", "id", id, "err", err)
	}
}

// dropSpareFS releases the spare root filesystem if it is made from
// image (all of them when image is ""), after waiting for one being made.
func (d *Driver) dropSpareFS(image string) {
	d.spareMu.Lock()
	done := d.fsRefill
	d.spareMu.Unlock()
	if done != nil {
		<-done
	}
	d.spareMu.Lock()
	sp := d.spareFS
	if sp != nil && (image == "" || sp.image == image) {
		d.spareFS = nil
	} else {
		sp = nil
	}
	d.spareMu.Unlock()
	if sp != nil {
		d.releaseSpareFS(sp)
	}
}
