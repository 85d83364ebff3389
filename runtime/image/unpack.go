package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnsafeLayer is matched by the error of a layer that tries to write
// outside its root: an absolute name, a ".." element, a parent that is
// a symlink, a hard link to outside the layer.
var ErrUnsafeLayer = errors.New("image: unsafe layer entry")

// ErrLayerTooLarge is matched by the error of Unpack (and of a pull or
// import) when a layer holds more bytes or entries than allowed
// (UnpackOptions.MaxSize and MaxEntries, Config.MaxLayerSize and
// MaxLayerEntries).
var ErrLayerTooLarge = errors.New("image: layer too large")

// WhiteoutFormat is how an unpacked layer records the files it deletes
// from the layers below it.
type WhiteoutFormat uint8

// The whiteout formats.
const (
	// WhiteoutOverlay records a deleted file as a 0/0 character device
	// and an opaque directory with the trusted.overlay.opaque=y xattr, as
	// overlayfs reads them, so the layer can be an overlay lowerdir as it
	// is. Making them needs root.
	WhiteoutOverlay WhiteoutFormat = iota
	// WhiteoutMarker keeps the layer's ".wh.<name>" and ".wh..wh..opq"
	// entries as empty files; only the copying root filesystem reads them.
	WhiteoutMarker
)

// String names the format.
func (f WhiteoutFormat) String() string {
	if f == WhiteoutMarker {
		return "marker"
	}
	return "overlay"
}

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
)

// UnpackOptions configure Unpack.
type UnpackOptions struct {
	// Whiteouts is how deletions are recorded.
	Whiteouts WhiteoutFormat
	// Chown sets owners from the entries' uid and gid (needs root);
	// otherwise files belong to the caller.
	Chown bool
	// MaxSize, if > 0, is how many bytes of content (the sum of the
	// entries' sizes) the layer may hold; an entry that would go over
	// it is refused before any of it is written.
	MaxSize int64
	// MaxEntries, if > 0, is how many entries the layer may hold.
	MaxEntries int
}

// UnpackResult says what Unpack did.
type UnpackResult struct {
	// Entries counts the entries read.
	Entries int
	// Size is the sum of the entries' sizes (their content).
	Size int64
	// Warnings name the entries that were skipped (device nodes, fifos,
	// unknown types) and why.
	Warnings []string
}

// Unpack writes the layer tar read from r into dir, an existing
// directory that normally starts empty. It refuses, with an error
// matching ErrUnsafeLayer and naming the entry, anything that would
// write outside dir: absolute names, ".." elements, an entry under a
// symlink (parents are never followed), a hard link to a name outside
// the tree. Device nodes and fifos are not created (a warning each).
// Modes, mtimes and xattrs are set, and owners when opts.Chown; a later
// entry replaces an earlier one of the same name. Whiteouts are kept in
// opts.Whiteouts' format. A layer with more content than opts.MaxSize
// or more entries than opts.MaxEntries is refused with an error matching
// ErrLayerTooLarge, before the entry that goes over is written.
//
// On error, dir holds part of the layer and nothing outside it was
// touched; the caller removes it. Unpack stops at the end of the tar
// archive and does not read r further.
func Unpack(ctx context.Context, r io.Reader, dir string, opts UnpackOptions) (*UnpackResult, error) {
	t, err := openTree(dir)
	if err != nil {
		return nil, err
	}
	defer t.close()
	u := &unpacker{t: t, opts: opts, res: &UnpackResult{}, dirIndex: map[string]int{}}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return u.res, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return u.res, fmt.Errorf("read tar: %w", err)
		}
		u.res.Entries++
		if opts.MaxEntries > 0 && u.res.Entries > opts.MaxEntries {
			return u.res, fmt.Errorf("entry %q: %w: more than %d entries", hdr.Name, ErrLayerTooLarge, opts.MaxEntries)
		}
		if hdr.Size > 0 {
			u.res.Size += hdr.Size
			if opts.MaxSize > 0 && (u.res.Size > opts.MaxSize || u.res.Size < 0) {
				return u.res, fmt.Errorf("entry %q (%d bytes): %w: more than %d bytes unpacked", hdr.Name, hdr.Size, ErrLayerTooLarge, opts.MaxSize)
			}
		}
		if err := u.entry(hdr, tr); err != nil {
			return u.res, fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	return u.res, u.finishDirs()
}

type dirMeta struct {
	rel  string
	hdr  *tar.Header
	mode uint32
}

type unpacker struct {
	t        *tree
	opts     UnpackOptions
	res      *UnpackResult
	dirs     []dirMeta
	dirIndex map[string]int
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (u *unpacker) warn(format string, args ...any) {
	u.res.Warnings = append(u.res.Warnings, fmt.Sprintf(format, args...))
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: the layer root must be a directory", ErrUnsafeLayer)
		}
		u.recordDir(rel, hdr)
		return nil
	}
	parent, base := path.Split(rel)
	parent = path.Clean(parent)
	if parent == "" {
		parent = "."
	}

	if isSparse(hdr) {
		// A sparse entry expands to its logical size, which a hostile
		// layer makes as large as it likes; image builders never write them.
		u.warn("entry %q: sparse file not supported, skipped", hdr.Name)
		return nil
	}
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		u.warn("entry %q: device node or fifo not created", hdr.Name)
		return nil
	case tar.TypeDir, tar.TypeReg, tar.TypeRegA, tar.TypeSymlink, tar.TypeLink:
	default:
		u.warn("entry %q: type %q not supported, skipped", hdr.Name, hdr.Typeflag)
		return nil
	}

	pfd, err := u.t.dir(parent, true)
	if err != nil {
		return err
	}

	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(pfd, parent, base, hdr)
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		kept, err := u.t.clear(pfd, base, true)
		if err != nil {
			return err
		}
		if !kept {
			if err := unix.Mkdirat(pfd, base, 0o755); err != nil {
				return fmt.Errorf("mkdir: %w", err)
			}
		}
		u.recordDir(rel, hdr)
		return nil
	case tar.TypeReg, tar.TypeRegA:
		if _, err := u.t.clear(pfd, base, false); err != nil {
			return err
		}
		return u.regular(pfd, base, hdr, r)
	case tar.TypeSymlink:
		if _, err := u.t.clear(pfd, base, false); err != nil {
			return err
		}
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return fmt.Errorf("symlink: %w", err)
		}
		u.owner(pfd, base, hdr)
		u.times(pfd, base, hdr)
		return nil
	default: // tar.TypeLink
		return u.hardLink(pfd, parent, base, hdr)
	}
}

func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func (u *unpacker) whiteout(pfd int, parent, base string, hdr *tar.Header) error {
	switch {
	case base == whiteoutOpaque:
		if u.opts.Whiteouts == WhiteoutOverlay {
			if err := unix.Fsetxattr(pfd, opaqueXattr, []byte("y"), 0); err != nil {
				return fmt.Errorf("mark %q opaque: %w", parent, err)
			}
			return nil
		}
		return u.marker(pfd, base)
	case strings.HasPrefix(base, whiteoutMeta):
		return nil // other aufs metadata (.wh..wh.plnk, ...): nothing to keep
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		u.warn("entry %q: whiteout of an invalid name, skipped", hdr.Name)
		return nil
	}
	if u.opts.Whiteouts == WhiteoutOverlay {
		if _, err := u.t.clear(pfd, name, false); err != nil {
			return err
		}
		if err := unix.Mknodat(pfd, name, unix.S_IFCHR, 0); err != nil {
			return fmt.Errorf("whiteout %q: %w", name, err)
		}
		return nil
	}
	return u.marker(pfd, base)
}

func (u *unpacker) marker(pfd int, base string) error {
	if _, err := u.t.clear(pfd, base, false); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create whiteout marker: %w", err)
	}
	return unix.Close(fd)
}

func (u *unpacker) regular(pfd int, base string, hdr *tar.Header, r io.Reader) error {
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	f := os.NewFile(uintptr(fd), base)
	buf := copyBufs.Get().(*[]byte)
	_, err = io.CopyBuffer(struct{ io.Writer }{f}, r, *buf)
	copyBufs.Put(buf)
	if err != nil {
		f.Close()
		return fmt.Errorf("write: %w", err)
	}
	if u.opts.Chown {
		_ = unix.Fchown(fd, hdr.Uid, hdr.Gid)
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode)&0o7777); err != nil {
		f.Close()
		return fmt.Errorf("chmod: %w", err)
	}
	setXattrs(fd, hdr, u.opts.Chown)
	if err := f.Close(); err != nil {
		return err
	}
	u.times(pfd, base, hdr)
	return nil
}

func (u *unpacker) hardLink(pfd int, parent, base string, hdr *tar.Header) error {
	target, err := cleanEntryName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if target == "." {
		return fmt.Errorf("%w: hard link to the layer root", ErrUnsafeLayer)
	}
	tparent, tbase := path.Split(target)
	tparent = path.Clean(tparent)
	if tparent == "" {
		tparent = "."
	}
	tfd, err := u.t.openDir(tparent, false)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	defer unix.Close(tfd)
	st, ok, err := lstatAt(tfd, tbase)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("hard link target %q: not in the layer", hdr.Linkname)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("hard link target %q: a directory", hdr.Linkname)
	}
	if tparent == parent && tbase == base {
		return nil // a link to itself
	}
	if _, err := u.t.clear(pfd, base, false); err != nil {
		return err
	}
	// flags 0: linkat does not follow a symlink target, it links the
	// symlink itself, which stays inside the tree.
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
	}
	return nil
}

func (u *unpacker) owner(pfd int, base string, hdr *tar.Header) {
	if u.opts.Chown {
		_ = unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)
	}
}

func (u *unpacker) times(pfd int, base string, hdr *tar.Header) {
	_ = unix.UtimesNanoAt(pfd, base, tarTimes(hdr), unix.AT_SYMLINK_NOFOLLOW)
}

func tarTimes(hdr *tar.Header) []unix.Timespec {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	return []unix.Timespec{toTimespec(at), toTimespec(hdr.ModTime)}
}

func toTimespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return unix.NsecToTimespec(t.UnixNano())
}

// setXattrs sets the entry's xattrs on fd, best effort. overlay's own
// xattrs are never taken from a layer, and trusted/security ones only
// as root.
func setXattrs(fd int, hdr *tar.Header, root bool) {
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		if !root && !strings.HasPrefix(name, "user.") {
			continue
		}
		_ = unix.Fsetxattr(fd, name, []byte(v), 0)
	}
}

func (u *unpacker) recordDir(rel string, hdr *tar.Header) {
	m := dirMeta{rel: rel, hdr: hdr, mode: uint32(hdr.Mode) & 0o7777}
	if i, ok := u.dirIndex[rel]; ok {
		u.dirs[i] = m
		return
	}
	u.dirIndex[rel] = len(u.dirs)
	u.dirs = append(u.dirs, m)
}

// finishDirs sets directories' owners, modes, xattrs and mtimes once
// their content is written (writing a child changes a directory's
// mtime, and a read-only mode would stop the writes), deepest first.
func (u *unpacker) finishDirs() error {
	u.t.invalidate()
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		fd, err := u.t.openDir(d.rel, false)
		if err != nil {
			continue // replaced by a later entry
		}
		if u.opts.Chown {
			_ = unix.Fchown(fd, d.hdr.Uid, d.hdr.Gid)
		}
		setXattrs(fd, d.hdr, u.opts.Chown)
		err = unix.Fchmod(fd, d.mode)
		if err == nil {
			ts := tarTimes(d.hdr)
			err = unix.UtimesNanoAt(fd, ".", ts, 0)
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("directory %q: %w", d.hdr.Name, err)
		}
	}
	return nil
}
