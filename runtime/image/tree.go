package image

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// tree writes inside one directory without ever following a symlink:
// every path is walked one component at a time from a directory file
// descriptor with O_NOFOLLOW, and every change is made relative to the
// descriptor of its parent (mkdirat, openat, symlinkat, linkat,
// unlinkat). A symlink or a file where a directory is needed stops the
// walk with ErrUnsafeLayer, so nothing can be written outside the root,
// whatever the content of the tree.
//
// A tree is used by one goroutine.
type tree struct {
	root int // O_DIRECTORY descriptor of the root

	// The parent last opened, kept because tar entries come grouped by
	// directory. Anything removed invalidates it.
	cachedDir string
	cachedFD  int
}

func openTree(dir string) (*tree, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &tree{root: fd, cachedFD: -1}, nil
}

func (t *tree) close() {
	t.invalidate()
	unix.Close(t.root)
}

func (t *tree) invalidate() {
	if t.cachedFD >= 0 {
		unix.Close(t.cachedFD)
	}
	t.cachedDir, t.cachedFD = "", -1
}

// dir returns a descriptor of the directory rel (clean, relative, "."
// for the root), creating missing directories (mode 0755) when create
// is set. The caller must not close it: it belongs to the tree's cache
// and stays valid until the next call to dir or invalidate.
func (t *tree) dir(rel string, create bool) (int, error) {
	if rel == t.cachedDir && t.cachedFD >= 0 {
		return t.cachedFD, nil
	}
	fd, err := t.openDir(rel, create)
	if err != nil {
		return -1, err
	}
	t.invalidate()
	t.cachedDir, t.cachedFD = rel, fd
	return fd, nil
}

// openDir is dir without the cache; the caller closes the descriptor.
func (t *tree) openDir(rel string, create bool) (int, error) {
	fd, err := unix.Openat(t.root, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if rel == "." || rel == "" {
		return fd, nil
	}
	walked := ""
	for _, c := range strings.Split(rel, "/") {
		walked = path.Join(walked, c)
		nfd, err := unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, c, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				nfd, err = unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		if err != nil {
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
				return -1, fmt.Errorf("%w: %q is a symlink or not a directory (parents are never followed)", ErrUnsafeLayer, walked)
			}
			return -1, fmt.Errorf("open %q: %w", walked, err)
		}
		fd = nfd
	}
	return fd, nil
}

// lstat stats name in the directory pfd without following it; ok is
// false when it does not exist.
func lstatAt(pfd int, name string) (st unix.Stat_t, ok bool, err error) {
	err = unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return st, false, nil
	}
	return st, err == nil, err
}

// clear removes name from the directory pfd (recursively for a
// directory) unless it is a directory and keepDir is set. It reports
// whether a directory was kept.
func (t *tree) clear(pfd int, name string, keepDir bool) (keptDir bool, err error) {
	st, ok, err := lstatAt(pfd, name)
	if err != nil || !ok {
		return false, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if keepDir {
			return true, nil
		}
		err = removeAllAt(pfd, name)
	} else {
		err = unix.Unlinkat(pfd, name, 0)
	}
	// The cached parent may have been under what was removed; pfd itself
	// may be the cached one, so the cache is dropped only after use by
	// the caller: mark it stale by name.
	if t.cachedDir != "" && t.cachedFD != pfd {
		t.invalidate()
	}
	return false, err
}

// clearChildren empties the directory fd.
func clearChildren(fd int) error {
	names, err := readDirNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		st, ok, err := lstatAt(fd, n)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			err = removeAllAt(fd, n)
		} else {
			err = unix.Unlinkat(fd, n, 0)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// removeAllAt removes the directory name under pfd and everything in
// it, never following a symlink. Directories without write permission
// are made writable first (for a store run without root).
func removeAllAt(pfd int, name string) error {
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EACCES) && unix.Fchmodat(pfd, name, 0o700, 0) == nil {
		fd, err = unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("open %q: %w", name, err)
	}
	_ = unix.Fchmod(fd, 0o700)
	err = clearChildren(fd)
	unix.Close(fd)
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %q: %w", name, err)
	}
	return nil
}

// readDirNames lists the directory fd without moving fd's own offset
// for later readers (it reads a duplicate).
func readDirNames(fd int) ([]string, error) {
	dfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dfd), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

// removeTree removes dir and everything in it without following
// symlinks, making read-only directories writable on the way.
func removeTree(dir string) error {
	parent, base := path.Split(path.Clean(dir))
	if parent == "" {
		parent = "."
	}
	pfd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: parent, Err: err}
	}
	defer unix.Close(pfd)
	st, ok, err := lstatAt(pfd, base)
	if err != nil || !ok {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(pfd, base, 0)
	}
	return removeAllAt(pfd, base)
}

// renameDir renames the directory from to to. Moving a directory to
// another parent rewrites its ".." entry, which needs write permission
// on it (without root): a layer's root may have none (Fedora's / is
// 0555), so it is made owner-writable for the move and its mode put back.
func renameDir(from, to string) error {
	var st unix.Stat_t
	if err := unix.Lstat(from, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Mode&0o200 != 0 {
		return os.Rename(from, to)
	}
	if err := unix.Chmod(from, st.Mode&0o7777|0o700); err != nil {
		return &os.PathError{Op: "chmod", Path: from, Err: err}
	}
	if err := os.Rename(from, to); err != nil {
		_ = unix.Chmod(from, st.Mode&0o7777)
		return err
	}
	_ = unix.Chmod(to, st.Mode&0o7777)
	return nil
}

// cleanEntryName checks a tar entry or hard-link name and returns it
// relative and clean ("." for the root). Absolute names and any ".."
// element are refused rather than rewritten.
func cleanEntryName(n string) (string, error) {
	if n == "" {
		return "", fmt.Errorf("%w: empty name", ErrUnsafeLayer)
	}
	if strings.HasPrefix(n, "/") {
		return "", fmt.Errorf("%w: absolute path (names must be relative to the layer root)", ErrUnsafeLayer)
	}
	if strings.ContainsRune(n, 0) {
		return "", fmt.Errorf("%w: NUL byte in name", ErrUnsafeLayer)
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return "", fmt.Errorf("%w: \"..\" element (path escapes the layer root)", ErrUnsafeLayer)
		}
	}
	return path.Clean(n), nil
}
