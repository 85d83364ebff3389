package oci

import (
	"context"
	"os"
	"path/filepath"
	"slices"
)

// A spare root filesystem is the overlay of a next container, made in
// the background once a container has started, from that container's
// image: the next create from the same image (a Deployment's next
// replica, a container restarting) finds its root filesystem mounted and
// does not pay the overlay mount on its critical path. The mount is the
// larger part of the driver's own time in a create, and grows under load.
//
// A spare is a root filesystem in the image store under the ID its
// container will have; CreateContainer takes it, ID and all. On disk, it
// is a container directory containers/<id> holding only spareFSFile: a
// driver made on the same Root releases a spare nobody took (load). The
// driver keeps one spare for each of the maxSpareFS images started last
// (a pod's sidecars and init containers each keep theirs), and none when
// the image store copies root filesystems instead of mounting them: a
// spare holds its image against the image store's RemoveImage, so the
// driver's RemoveImage releases it first.

// spareFSFile marks a container directory as a spare root filesystem's.
const spareFSFile = "spare-rootfs"

// maxSpareFS is how many images the driver keeps a spare root filesystem
// for.
const maxSpareFS = 4

// spareFS is a spare root filesystem: its future container's ID, its
// image's ID and its path.
type spareFS struct {
	id, image, rootfs string
}

// spareFSState is the driver's spare root filesystems, guarded by
// Driver.spareMu.
type spareFSState struct {
	spares map[string]*spareFS // by image ID
	// recent lists the images of spares made or being made, the one
	// started last at the end.
	recent []string
	// making holds a channel for each image whose spare is being made,
	// closed once it is done (and the spare it evicted released).
	making map[string]chan struct{}
}

// takeSpareFS returns the spare root filesystem made from image, if there
// is one, and its container ID; "" when there is none.
func (d *Driver) takeSpareFS(image string) (id, rootfs string) {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	sp := d.fs.spares[image]
	if sp == nil {
		return "", ""
	}
	delete(d.fs.spares, image)
	return sp.id, sp.rootfs
}

// refillSpareFS makes a spare root filesystem from image in the
// background, unless there is one or one is being made. The spare of the
// image started longest ago is released when there are more than
// maxSpareFS.
func (d *Driver) refillSpareFS(image string) {
	if image == "" || !d.images.Overlay() {
		return
	}
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	fs := &d.fs
	if i := slices.Index(fs.recent, image); i >= 0 {
		fs.recent = slices.Delete(fs.recent, i, i+1)
	}
	fs.recent = append(fs.recent, image)
	if d.closed || fs.spares[image] != nil || fs.making[image] != nil {
		return
	}
	var evict []*spareFS
	for len(fs.recent) > maxSpareFS {
		old := fs.recent[0]
		fs.recent = fs.recent[1:]
		if sp := fs.spares[old]; sp != nil {
			evict = append(evict, sp)
			delete(fs.spares, old)
		}
	}
	done := make(chan struct{})
	fs.making[image] = done
	d.spareWG.Add(1)
	go func() {
		defer d.spareWG.Done()
		defer close(done)
		for _, sp := range evict {
			d.releaseSpareDir(sp.id)
		}
		sp, err := d.makeSpareFS(image)
		d.spareMu.Lock()
		delete(fs.making, image)
		keep := err == nil && !d.closed && fs.spares[image] == nil && slices.Contains(fs.recent, image)
		if keep {
			fs.spares[image] = sp
		}
		d.spareMu.Unlock()
		if err != nil {
			d.log.Warn("oci: make a spare root filesystem", "image", image, "err", err)
			return
		}
		if !keep {
			d.releaseSpareDir(sp.id)
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

// dropSpareFS releases the spare root filesystem made from image (every
// spare when image is ""), once no spare is being made: one being made
// may be from image, or evict image's.
func (d *Driver) dropSpareFS(image string) {
	d.spareMu.Lock()
	for len(d.fs.making) > 0 {
		var done chan struct{}
		for _, ch := range d.fs.making {
			done = ch
			break
		}
		d.spareMu.Unlock()
		<-done
		d.spareMu.Lock()
	}
	var drop []*spareFS
	for img, sp := range d.fs.spares {
		if image == "" || img == image {
			drop = append(drop, sp)
			delete(d.fs.spares, img)
		}
	}
	d.spareMu.Unlock()
	for _, sp := range drop {
		d.releaseSpareDir(sp.id)
	}
}
