package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

const overlayMagic = 0x794c7630

var containerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func mknodWhiteout(p string) error { return unix.Mknod(p, unix.S_IFCHR, 0) }

func setOpaque(dir string) error { return unix.Setxattr(dir, opaqueXattr, []byte("y"), 0) }

func (s *Store) containerDir(id string) string { return filepath.Join(s.cfg.Root, "containers", id) }

// RootFS makes the root filesystem of container containerID from the
// stored image ref names and returns its path, and a cleanup that
// releases it (ReleaseRootFS). Writes in it never reach the image: it
// is an overlay mount (the image's unpacked layers as lower
// directories, an upper and work directory of the container's own) or,
// where overlayfs cannot be used, a copy of the layers. While it
// exists, RemoveImage refuses the image.
//
// Calling it again for the same container returns the same path
// (remounting it after a reboot); one whose making was cut short (a
// crash mid-copy) is made again, never returned half made. A driver
// adopting its containers after a restart calls it again; the image
// must be the same. A missing image is an error matching
// runtime.ErrImageNotFound.
func (s *Store) RootFS(ctx context.Context, ref, containerID string) (dir string, cleanup func() error, err error) {
	if !containerIDPattern.MatchString(containerID) {
		return "", nil, fmt.Errorf("image: root filesystem for container %q: want an ID of letters, digits, '_', '.' and '-' (at most 128)", containerID)
	}
	cdir := s.containerDir(containerID)
	rootfs := filepath.Join(cdir, "rootfs")
	cleanup = func() error { return s.ReleaseRootFS(context.Background(), containerID) }

	s.mu.Lock()
	img := s.lookupLocked(ref)
	if img == nil {
		s.mu.Unlock()
		return "", nil, fmt.Errorf("image %q: %w", ref, runtime.ErrImageNotFound)
	}
	if c := s.containers[containerID]; c != nil {
		making := s.making[containerID]
		s.mu.Unlock()
		if c.Image != img.ID {
			return "", nil, fmt.Errorf("image: container %s already has a root filesystem from image %s, not %s", containerID, c.Image, img.ID)
		}
		if making {
			return "", nil, fmt.Errorf("image: root filesystem of container %s: being made by another call", containerID)
		}
		if c.Mode == "overlay" && !isOverlayMount(rootfs) {
			if err := s.mountOverlay(img, cdir); err != nil {
				return "", nil, fmt.Errorf("image: remount root filesystem of container %s: %w", containerID, err)
			}
		}
		return rootfs, cleanup, nil
	}
	layers := append([]layerRecord(nil), img.Layers...)
	s.mu.Unlock()

	mode, err := s.rootFSMode(len(layers))
	if err != nil {
		return "", nil, err
	}
	s.mu.Lock()
	if s.containers[containerID] != nil || s.idx.Images[img.ID] == nil {
		s.mu.Unlock()
		return s.RootFS(ctx, ref, containerID) // raced with another call
	}
	// Held in memory while it is made: it holds the image against
	// RemoveImage in this process. Nothing is written to disk before it
	// is complete: a crash meanwhile leaves a directory without a
	// record, which is garbage (New deletes it; a RootFS call for the
	// same container makes it anew), so there is no index to sync here.
	rec := &containerRecord{Image: img.ID, Mode: mode}
	s.containers[containerID] = rec
	s.making[containerID] = true
	s.mu.Unlock()

	defer func() {
		if err != nil {
			_ = s.ReleaseRootFS(context.Background(), containerID)
		}
		s.mu.Lock()
		delete(s.making, containerID)
		s.mu.Unlock()
	}()
	// Whatever an earlier process left under this ID (it crashed before
	// the root filesystem was complete) goes first.
	for isOverlayMount(rootfs) {
		if err := unix.Unmount(rootfs, 0); err != nil {
			return "", nil, fmt.Errorf("image: unmount stale root filesystem of container %s: %w", containerID, err)
		}
	}
	_ = removeTree(cdir)
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return "", nil, fmt.Errorf("image: root filesystem of container %s: %w", containerID, err)
	}
	if mode == "overlay" {
		err = s.mountOverlay(img, cdir)
	} else {
		err = s.copyLayers(ctx, layers, rootfs)
	}
	if err == nil && mode != "overlay" {
		// The copy's files reach the disk before the record that says
		// it is complete can: after a power loss, a record never
		// stands for a copy with missing or truncated files.
		err = syncFS(rootfs)
	}
	if err != nil {
		return "", nil, fmt.Errorf("image: root filesystem of container %s from %s: %w", containerID, img.ID, err)
	}
	if err = writeRecord(filepath.Join(cdir, rootfsRecordFile), rec); err != nil {
		return "", nil, fmt.Errorf("image: root filesystem of container %s: record it complete: %w", containerID, err)
	}
	return rootfs, cleanup, nil
}

// rootfsRecordFile is a complete root filesystem's record, in its
// container's directory.
const rootfsRecordFile = "rootfs.json"

// writeRecord writes a root filesystem's record: a temporary file
// renamed in place, so it is whole or absent, never half written.
//
// It is not synced, on purpose: that would cost two disk flushes on
// every container create (1 ms on a quiet disk, tens under I/O load).
// A process crash keeps it (the page cache survives). A power loss may
// lose it, or leave it empty: it then reads as absent, and New deletes
// the directory as garbage. Nothing is lost that the reboot had not
// lost already: the node's containers ended with it, and an overlay's
// upper directory was never synced either. What must not happen, a
// record standing for an incomplete copy, cannot: the copy is synced
// before the record is written, and the record's rename is journalled
// after that.
func writeRecord(name string, rec *containerRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// loadContainers reads the root filesystems' records: those an older
// store kept in its index are moved to their own files first, synced
// before the index that held them is rewritten without them (a power
// loss between the two must not lose a record the index no longer
// has; this happens once per store), and a container directory without
// a readable record (being made or released when the process stopped)
// is deleted.
func (s *Store) loadContainers() error {
	if len(s.idx.Containers) > 0 {
		for id, c := range s.idx.Containers {
			cdir := s.containerDir(id)
			if c.Partial || !containerIDPattern.MatchString(id) || !exists(cdir) {
				continue // garbage, deleted below
			}
			rec := c.containerRecord
			if err := writeFileAtomic(filepath.Join(cdir, rootfsRecordFile), mustJSON(&rec)); err != nil {
				return fmt.Errorf("move the record of container %s out of the index: %w", id, err)
			}
		}
		s.idx.Containers = nil
		if err := s.saveLocked(); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(s.containerDir(""))
	if err != nil {
		return err
	}
	for _, e := range ents {
		id := e.Name()
		cdir := s.containerDir(id)
		var rec containerRecord
		data, err := os.ReadFile(filepath.Join(cdir, rootfsRecordFile))
		if err == nil && containerIDPattern.MatchString(id) && json.Unmarshal(data, &rec) == nil && rec.Image != "" {
			s.containers[id] = &rec
			continue
		}
		rootfs := filepath.Join(cdir, "rootfs")
		for isOverlayMount(rootfs) {
			if err := unix.Unmount(rootfs, 0); err != nil {
				break
			}
		}
		if isOverlayMount(rootfs) {
			s.log.Warn("image: cannot unmount an unfinished root filesystem", "dir", rootfs)
			continue
		}
		s.log.Info("image: deleting an unfinished root filesystem", "dir", cdir)
		_ = removeTree(cdir)
	}
	return nil
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only ever records of plain strings
	}
	return data
}

// ReleaseRootFS unmounts and deletes container containerID's root
// filesystem and drops its hold on the image. Releasing one that does
// not exist is not an error.
func (s *Store) ReleaseRootFS(ctx context.Context, containerID string) error {
	if !containerIDPattern.MatchString(containerID) {
		return nil
	}
	cdir := s.containerDir(containerID)
	rootfs := filepath.Join(cdir, "rootfs")
	for isOverlayMount(rootfs) {
		if err := unix.Unmount(rootfs, 0); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break
			}
			return fmt.Errorf("image: unmount root filesystem of container %s: %w", containerID, err)
		}
	}
	// The record goes first: a crash while the files are deleted leaves
	// a directory without one, which is garbage, never a record of a
	// half-deleted root filesystem. Unsynced, like its writing: one that
	// comes back after a power loss stands for files that come back
	// with it (the journal keeps the unlinks in order), and holds the
	// image until the container is released again.
	if err := os.Remove(filepath.Join(cdir, rootfsRecordFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("image: delete root filesystem of container %s: %w", containerID, err)
	}
	if err := removeTree(cdir); err != nil {
		return fmt.Errorf("image: delete root filesystem of container %s: %w", containerID, err)
	}
	s.mu.Lock()
	delete(s.containers, containerID)
	s.mu.Unlock()
	return nil
}

func (s *Store) rootFSMode(nlayers int) (string, error) {
	switch s.cfg.RootFS {
	case RootFSCopy:
		return "copy", nil
	case RootFSOverlay:
		if err := s.overlayUsable(); err != nil {
			return "", fmt.Errorf("image: Config.RootFS is overlay but overlayfs cannot be used here: %w", err)
		}
		return "overlay", nil
	}
	if nlayers == 0 || s.overlayUsable() != nil {
		return "copy", nil
	}
	return "overlay", nil
}

// Overlay reports whether RootFS makes root filesystems as overlay mounts
// (cheap to make and to release) rather than as copies of the layers.
func (s *Store) Overlay() bool {
	return s.cfg.RootFS != RootFSCopy && s.overlayUsable() == nil
}

// overlayUsable tries an overlay mount once and says why it failed.
func (s *Store) overlayUsable() error {
	s.overlay.once.Do(func() {
		if s.whiteouts != WhiteoutOverlay {
			s.overlay.err = errors.New("layers are stored with .wh. markers (the store was made without root)")
			return
		}
		dir, err := os.MkdirTemp(filepath.Join(s.cfg.Root, "tmp"), "overlay-probe-")
		if err != nil {
			s.overlay.err = err
			return
		}
		defer removeTree(dir)
		for _, d := range []string{"lower", "upper", "work", "merged"} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
				s.overlay.err = err
				return
			}
		}
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", filepath.Join(dir, "lower"), filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
		if err := unix.Mount("overlay", filepath.Join(dir, "merged"), "overlay", 0, opts); err != nil {
			s.overlay.err = fmt.Errorf("mount overlay: %w", err)
			s.log.Info("image: overlayfs unavailable, root filesystems are copies", "err", err)
			return
		}
		s.overlay.err = unix.Unmount(filepath.Join(dir, "merged"), 0)
	})
	return s.overlay.err
}

func (s *Store) mountOverlay(img *imageRecord, cdir string) error {
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.MkdirAll(filepath.Join(cdir, d), 0o755); err != nil {
			return err
		}
	}
	lowers := make([]string, 0, len(img.Layers))
	for i := len(img.Layers) - 1; i >= 0; i-- { // overlayfs lists the top layer first
		hexPart, err := parseDigest(img.Layers[i].DiffID)
		if err != nil {
			return err
		}
		lowers = append(lowers, s.layerPath(hexPart))
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lowers, ":"), filepath.Join(cdir, "upper"), filepath.Join(cdir, "work"))
	if len(opts) >= 4000 {
		// Mount data is one page: name the layers by short descriptor
		// paths instead, held open for the call.
		short := make([]string, len(lowers))
		for i, l := range lowers {
			fd, err := unix.Open(l, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			short[i] = fmt.Sprintf("/proc/self/fd/%d", fd)
		}
		opts = fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(short, ":"), filepath.Join(cdir, "upper"), filepath.Join(cdir, "work"))
	}
	if err := unix.Mount("overlay", filepath.Join(cdir, "rootfs"), "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay (%d layers): %w", len(lowers), err)
	}
	return nil
}

// isOverlayMount says whether an overlay is mounted on p: p is on
// overlayfs and on another device than its parent (the store itself may
// live on an overlay, in a container).
func isOverlayMount(p string) bool {
	var fs unix.Statfs_t
	if unix.Statfs(p, &fs) != nil || fs.Type != overlayMagic {
		return false
	}
	var st, pst unix.Stat_t
	if unix.Lstat(p, &st) != nil || unix.Lstat(filepath.Dir(p), &pst) != nil {
		return false
	}
	return st.Dev != pst.Dev
}

// copyLayers applies the unpacked layers, bottom first, to the empty
// directory dst, honouring whiteouts of both formats. dst is written
// through a tree, so a symlink a lower layer left never redirects a
// write of a higher one.
func (s *Store) copyLayers(ctx context.Context, layers []layerRecord, dst string) error {
	t, err := openTree(dst)
	if err != nil {
		return err
	}
	defer t.close()
	for _, l := range layers {
		hexPart, err := parseDigest(l.DiffID)
		if err != nil {
			return err
		}
		if err := s.applyLayer(ctx, t, s.layerPath(hexPart)); err != nil {
			return fmt.Errorf("apply layer %s: %w", l.Digest, err)
		}
	}
	return nil
}

type pendingDir struct {
	rel string
	st  *unix.Stat_t
}

func (s *Store) applyLayer(ctx context.Context, t *tree, src string) error {
	links := map[[2]uint64]string{} // (dev, ino) of a multiply linked file → its first path
	var dirs []pendingDir
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := &unix.Stat_t{}
		if err := unix.Lstat(p, st); err != nil {
			return err
		}
		if rel == "." {
			dirs = append(dirs, pendingDir{rel, st})
			if err := ownerWritable(t.root, "."); err != nil {
				return err
			}
			return applyOpaque(t, ".", p)
		}
		parent, base := path.Split(rel)
		parent = path.Clean(parent)
		pfd, err := t.dir(parent, true)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0: // overlay whiteout
			_, err := t.clear(pfd, base, false)
			return err
		case strings.HasPrefix(base, whiteoutPrefix): // marker whiteouts
			if base == whiteoutOpaque || strings.HasPrefix(base, whiteoutMeta) {
				return nil // opaque handled with its directory
			}
			name := strings.TrimPrefix(base, whiteoutPrefix)
			if exists(filepath.Join(filepath.Dir(p), name)) {
				// It hides the layers below only: the layer's own file,
				// copied already if its name sorts first, stays.
				return nil
			}
			_, err := t.clear(pfd, name, false)
			return err
		case fi.IsDir():
			kept, err := t.clear(pfd, base, true)
			if err != nil {
				return err
			}
			if !kept {
				if err := unix.Mkdirat(pfd, base, 0o755); err != nil {
					return err
				}
			} else if err := ownerWritable(pfd, base); err != nil {
				return err
			}
			dirs = append(dirs, pendingDir{rel, st})
			return applyOpaque(t, rel, p)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if _, err := t.clear(pfd, base, false); err != nil {
				return err
			}
			if err := unix.Symlinkat(target, pfd, base); err != nil {
				return err
			}
			if s.root {
				_ = unix.Fchownat(pfd, base, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
			}
			_ = unix.UtimesNanoAt(pfd, base, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
			return nil
		case fi.Mode().IsRegular():
			if _, err := t.clear(pfd, base, false); err != nil {
				return err
			}
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if st.Nlink > 1 {
				if first, ok := links[key]; ok {
					return linkInTree(t, first, pfd, base)
				}
				links[key] = rel
			}
			return copyFile(pfd, base, p, st, s.root)
		}
		return nil // nothing else is ever stored in a layer
	})
	if err != nil {
		return err
	}
	t.invalidate()
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		fd, err := t.openDir(d.rel, false)
		if err != nil {
			return err
		}
		st := d.st
		if s.root {
			_ = unix.Fchown(fd, int(st.Uid), int(st.Gid))
		}
		_ = unix.Fchmod(fd, uint32(st.Mode)&0o7777)
		_ = unix.UtimesNanoAt(fd, ".", []unix.Timespec{st.Atim, st.Mtim}, 0)
		unix.Close(fd)
	}
	return nil
}

// ownerWritable gives the owner rwx on the directory name under pfd,
// which a lower layer may have left without write permission (Fedora's
// / and /usr/bin are 0555): without root, nothing could be written or
// deleted in it. The layer's own mode is set again at its end.
func ownerWritable(pfd int, name string) error {
	st, ok, err := lstatAt(pfd, name)
	if err != nil || !ok || st.Mode&0o700 == 0o700 {
		return err
	}
	return unix.Fchmodat(pfd, name, st.Mode&0o7777|0o700, 0)
}

// applyOpaque empties the directory rel of dst when the layer's
// directory src is opaque (an overlay xattr or a .wh..wh..opq marker):
// what the layers below put there is hidden.
func applyOpaque(t *tree, rel, src string) error {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(src, opaqueXattr, buf)
	opaque := err == nil && n == 1 && buf[0] == 'y'
	if !opaque && !exists(filepath.Join(src, whiteoutOpaque)) {
		return nil
	}
	fd, err := t.openDir(rel, false)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	t.invalidate()
	return clearChildren(fd)
}

func linkInTree(t *tree, first string, pfd int, base string) error {
	fparent, fbase := path.Split(first)
	fparent = path.Clean(fparent)
	ffd, err := t.openDir(fparent, false)
	if err != nil {
		return err
	}
	defer unix.Close(ffd)
	return unix.Linkat(ffd, fbase, pfd, base, 0)
}

func copyFile(pfd int, base, src string, st *unix.Stat_t, root bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(fd), base)
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if root {
		_ = unix.Fchown(fd, int(st.Uid), int(st.Gid))
	}
	if err := unix.Fchmod(fd, uint32(st.Mode)&0o7777); err != nil {
		return err
	}
	copyXattrs(int(in.Fd()), fd)
	return unix.UtimesNanoAt(pfd, base, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
}

func copyXattrs(from, to int) {
	buf := make([]byte, 4096)
	n, err := unix.Flistxattr(from, buf)
	if err != nil || n <= 0 {
		return
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		val := make([]byte, 64<<10)
		vn, err := unix.Fgetxattr(from, name, val)
		if err != nil {
			continue
		}
		_ = unix.Fsetxattr(to, name, val[:vn], 0)
	}
}
