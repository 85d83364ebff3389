package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The atomic writer gives a volume directory new contents all at once,
// the way Kubernetes' design does (this is an implementation of our own):
//
//	<dir>/..2026_11_21_13_45_07.1234567   the contents, written in full first
//	<dir>/..data -> ..2026_11_21_13_45_07.1234567
//	<dir>/key -> ..data/key                what a container sees
//
// An update writes a new timestamped directory, then points ..data at it
// with a rename of a fresh symlink (atomic), then adds the user-visible
// links of new top-level names, removes those of names gone, and removes
// the previous directory. A reader that resolves ..data once (a path
// through it resolves it once per open) sees one version or the next,
// never a mix nor a partly written file.
const (
	dataLink    = "..data"
	dataLinkTmp = "..data_tmp"
	// tsLayout names the timestamped directories; os.MkdirTemp appends
	// a random number, so two updates in the same second do not collide.
	tsLayout = "..2006_01_02_15_04_05."
)

// file is one file of a volume's contents.
type file struct {
	data []byte
	mode fs.FileMode // permission bits only
}

// validatePath checks a file path inside a volume: relative, clean
// ("a/b", not "a//b", "./a" or "a/"), with no "." or ".." element, not
// starting with ".." (the writer's own names), without NUL.
func validatePath(p string) error {
	switch {
	case p == "":
		return errors.New("must not be empty")
	case strings.IndexByte(p, 0) >= 0:
		return errors.New("must not contain a NUL byte")
	case filepath.IsAbs(p) || strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q must be a relative path", p)
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("%q must not start with \"..\"", p)
	}
	for _, el := range strings.Split(p, "/") {
		switch el {
		case "..":
			return fmt.Errorf("%q must not contain \"..\"", p)
		case ".":
			return fmt.Errorf("%q must not contain \".\" elements", p)
		}
	}
	if filepath.Clean(p) != p {
		return fmt.Errorf("%q must be a clean path (no \"//\", \".\" elements or trailing \"/\")", p)
	}
	return nil
}

// checkPayload validates every path of payload and that no file is
// another's directory ("a" and "a/b").
func checkPayload(payload map[string]file) error {
	paths := make([]string, 0, len(payload))
	for p := range payload {
		if err := validatePath(p); err != nil {
			return fmt.Errorf("file path %w", err)
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	// In sorted order a path's descendants follow it, possibly after
	// siblings such as "a.txt" or "a-b" (which sort before "a/").
	for i, p := range paths {
		for _, q := range paths[i+1:] {
			if !strings.HasPrefix(q, p) {
				break
			}
			if strings.HasPrefix(q, p+"/") {
				return fmt.Errorf("file path %q is also the directory of %q", p, q)
			}
		}
	}
	return nil
}

// writeAtomic makes dir hold exactly payload, atomically (see above), and
// reports whether it changed anything: a payload equal to the current
// contents writes nothing (the user-visible links are still checked).
// dir must exist. The caller serializes writes to one dir.
func writeAtomic(dir string, payload map[string]file, now time.Time) (changed bool, err error) {
	if err := checkPayload(payload); err != nil {
		return false, err
	}
	top := map[string]bool{}
	for p := range payload {
		first, _, _ := strings.Cut(p, "/")
		top[first] = true
	}

	current, err := os.Readlink(filepath.Join(dir, dataLink))
	switch {
	case err == nil:
		if same, err := sameContents(filepath.Join(dir, current), payload); err != nil {
			return false, err
		} else if same {
			return false, syncLinks(dir, top, current)
		}
	case errors.Is(err, fs.ErrNotExist):
		current = ""
	default:
		return false, fmt.Errorf("read %s: %w", dataLink, err)
	}

	ts, err := os.MkdirTemp(dir, now.UTC().Format(tsLayout))
	if err != nil {
		return false, fmt.Errorf("make contents directory: %w", err)
	}
	if err := fillDir(ts, payload); err != nil {
		os.RemoveAll(ts)
		return false, err
	}

	tmp := filepath.Join(dir, dataLinkTmp)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.RemoveAll(ts)
		return false, fmt.Errorf("remove stale %s: %w", dataLinkTmp, err)
	}
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		os.RemoveAll(ts)
		return false, fmt.Errorf("link %s: %w", dataLinkTmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
		os.Remove(tmp)
		os.RemoveAll(ts)
		return false, fmt.Errorf("switch %s to the new contents: %w", dataLink, err)
	}
	return true, syncLinks(dir, top, filepath.Base(ts))
}

// fillDir writes payload into the new, empty directory ts.
func fillDir(ts string, payload map[string]file) error {
	if err := os.Chmod(ts, 0o755); err != nil {
		return err
	}
	for p, f := range payload {
		full := filepath.Join(ts, p)
		if !strings.HasPrefix(full, ts+string(filepath.Separator)) {
			return fmt.Errorf("file path %q escapes the volume", p) // unreachable after checkPayload
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("make directory of %q: %w", p, err)
		}
		if err := writeFile(full, f); err != nil {
			return fmt.Errorf("write %q: %w", p, err)
		}
	}
	return nil
}

func writeFile(path string, f file) error {
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
	if err != nil {
		return err
	}
	if _, err := w.Write(f.data); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.Chmod(path, f.mode) // the umask narrowed OpenFile's mode
}

// sameContents reports whether the directory ts holds exactly payload,
// modes included.
func sameContents(ts string, payload map[string]file) (bool, error) {
	n := 0
	same := true
	err := filepath.WalkDir(ts, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(ts, path)
		if err != nil {
			return err
		}
		want, ok := payload[filepath.ToSlash(rel)]
		if !ok || !d.Type().IsRegular() {
			same = false
			return filepath.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode().Perm() != want.mode || info.Size() != int64(len(want.data)) {
			same = false
			return filepath.SkipAll
		}
		got, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want.data) {
			same = false
			return filepath.SkipAll
		}
		n++
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // ..data dangles: rewrite
	}
	if err != nil {
		return false, fmt.Errorf("read current contents: %w", err)
	}
	return same && n == len(payload), nil
}

// syncLinks makes dir's user-visible entries exactly the links
// name -> ..data/name for the names in top, and removes every
// timestamped directory but keep (the one ..data points at).
func syncLinks(dir string, top map[string]bool, keep string) error {
	for name := range top {
		link := filepath.Join(dir, name)
		want := filepath.Join(dataLink, name)
		got, err := os.Readlink(link)
		if err == nil && got == want {
			continue
		}
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			// A wrong link or something else in the way: replace it.
			if err := os.RemoveAll(link); err != nil {
				return fmt.Errorf("replace %q: %w", name, err)
			}
		}
		if err := os.Symlink(want, link); err != nil {
			return fmt.Errorf("link %q: %w", name, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dataLink || name == keep || top[name]:
		case strings.HasPrefix(name, "..") || e.Type()&fs.ModeSymlink != 0:
			// An old contents directory, a stale ..data_tmp, or the link
			// of a name that is gone.
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("remove old %q: %w", name, err)
			}
		}
	}
	return nil
}
