package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime/image/imagetest"
)

// sandbox is a directory holding the unpack target "root" and a
// directory "outside" with one file, which no layer may touch.
type sandbox struct {
	dir, root, outside string
}

func newSandbox(t testing.TB) sandbox {
	t.Helper()
	dir := t.TempDir()
	s := sandbox{dir: dir, root: filepath.Join(dir, "root"), outside: filepath.Join(dir, "outside")}
	for _, d := range []string{s.root, s.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.outside, "keep"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// untouched fails the test if anything but root/ and outside/keep is in
// the sandbox or outside/keep changed.
func (s sandbox) untouched(t testing.TB) {
	t.Helper()
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"outside", "root"}) {
		t.Fatalf("sandbox holds %v, want only [outside root]", names)
	}
	ents, err = os.ReadDir(s.outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "keep" {
		t.Fatalf("outside/ holds %v, want only keep", ents)
	}
	fi, err := os.Lstat(filepath.Join(s.outside, "keep"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Fatalf("outside/keep changed: %v %v", fi, err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Nlink != 1 || st.Uid != uint32(os.Geteuid()) {
		t.Fatalf("outside/keep gained a link or an owner: nlink %d uid %d", st.Nlink, st.Uid)
	}
	if b, _ := os.ReadFile(filepath.Join(s.outside, "keep")); string(b) != "keep" {
		t.Fatalf("outside/keep content changed: %q", b)
	}
}

func unpack(t testing.TB, s sandbox, format WhiteoutFormat, entries ...imagetest.Entry) (*UnpackResult, error) {
	t.Helper()
	return Unpack(context.Background(), bytes.NewReader(imagetest.Tar(t, entries...)), s.root, UnpackOptions{Whiteouts: format, Chown: os.Geteuid() == 0})
}

func hardLink(name, target string) imagetest.Entry {
	return imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}}
}

func evilLayers(outside string) map[string][]imagetest.Entry {
	return map[string][]imagetest.Entry{
		"dot-dot":                   {imagetest.File("../pwned", "x", false)},
		"dot-dot inside":            {imagetest.Dir("a/"), imagetest.File("a/../../pwned", "x", false)},
		"absolute":                  {imagetest.File(filepath.Join(outside, "pwned"), "x", false)},
		"absolute symlink parent":   {imagetest.Symlink("evil", outside), imagetest.File("evil/pwned", "x", false)},
		"relative symlink parent":   {imagetest.Symlink("evil", "../outside"), imagetest.File("evil/pwned", "x", false)},
		"symlink parent dir":        {imagetest.Symlink("evil", outside), imagetest.Dir("evil/sub/")},
		"symlink deep parent":       {imagetest.Dir("a/"), imagetest.Symlink("a/b", "../../outside"), imagetest.File("a/b/c/pwned", "x", false)},
		"symlink parent of symlink": {imagetest.Symlink("evil", outside), imagetest.Symlink("evil/pwned", "/etc/passwd")},
		"hard link dot-dot":         {hardLink("h", "../outside/keep")},
		"hard link absolute":        {hardLink("h", filepath.Join(outside, "keep"))},
		"hard link through symlink": {imagetest.Symlink("evil", outside), hardLink("h", "evil/keep")},
		"whiteout through symlink":  {imagetest.Symlink("evil", outside), imagetest.File("evil/.wh.keep", "", false)},
		"opaque through symlink":    {imagetest.Symlink("evil", outside), imagetest.File("evil/.wh..wh..opq", "", false)},
	}
}

func TestUnpackRefusesEscapes(t *testing.T) {
	for _, format := range []WhiteoutFormat{WhiteoutOverlay, WhiteoutMarker} {
		if format == WhiteoutOverlay && os.Geteuid() != 0 {
			continue
		}
		probe := newSandbox(t)
		for name, entries := range evilLayers(probe.outside) {
			t.Run(format.String()+"/"+name, func(t *testing.T) {
				s := newSandbox(t)
				for i := range entries { // point absolute names at this sandbox
					entries[i].Header.Name = strings.Replace(entries[i].Header.Name, probe.outside, s.outside, 1)
					entries[i].Header.Linkname = strings.Replace(entries[i].Header.Linkname, probe.outside, s.outside, 1)
				}
				_, err := unpack(t, s, format, entries...)
				if !errors.Is(err, ErrUnsafeLayer) {
					t.Fatalf("err = %v, want one matching ErrUnsafeLayer", err)
				}
				last := entries[len(entries)-1].Header.Name
				if !strings.Contains(err.Error(), last) {
					t.Errorf("err = %q, want it to name the entry %q", err, last)
				}
				s.untouched(t)
			})
		}
	}
}

func TestUnpackReplacesSymlinkInsteadOfFollowing(t *testing.T) {
	s := newSandbox(t)
	// A symlink to outside/keep, then a file, a directory and a hard link of
	// the same name: each replaces the link, none writes through it.
	_, err := unpack(t, s, WhiteoutMarker,
		imagetest.Symlink("f", filepath.Join(s.outside, "keep")),
		imagetest.File("f", "inside", false),
		imagetest.Symlink("d", s.outside),
		imagetest.Dir("d/"),
		imagetest.File("d/x", "x", false),
		imagetest.File("target", "t", false),
		imagetest.Symlink("l", filepath.Join(s.outside, "keep")),
		hardLink("l", "target"),
	)
	if err != nil {
		t.Fatal(err)
	}
	s.untouched(t)
	if b, _ := os.ReadFile(filepath.Join(s.root, "f")); string(b) != "inside" {
		t.Errorf("f = %q, want inside", b)
	}
	if fi, err := os.Lstat(filepath.Join(s.root, "d")); err != nil || !fi.IsDir() {
		t.Errorf("d = %v %v, want a directory", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.root, "l")); string(b) != "t" {
		t.Errorf("l = %q, want the content of target", b)
	}
}

func TestUnpackSkipsDevicesAndFifos(t *testing.T) {
	s := newSandbox(t)
	res, err := unpack(t, s, WhiteoutMarker,
		imagetest.Dir("dev/"),
		imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Devmajor: 1, Devminor: 3, Mode: 0o666}},
		imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/sda", Devmajor: 8, Mode: 0o660}},
		imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "dev/fifo", Mode: 0o600}},
		imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeChar, Name: "dev/.wh.x", Mode: 0o600}},
	)
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(s.root, "dev"))
	if len(ents) != 0 {
		t.Errorf("dev/ holds %v, want nothing", ents)
	}
	if len(res.Warnings) != 4 {
		t.Fatalf("warnings = %q, want 4", res.Warnings)
	}
	for i, name := range []string{"dev/null", "dev/sda", "dev/fifo", "dev/.wh.x"} {
		if !strings.Contains(res.Warnings[i], name) {
			t.Errorf("warning %d = %q, want it to name %s", i, res.Warnings[i], name)
		}
	}
	s.untouched(t)
}

func TestUnpackMetadata(t *testing.T) {
	root := os.Geteuid() == 0
	s := newSandbox(t)
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	_, err := unpack(t, s, WhiteoutMarker,
		imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: "ro/", Mode: 0o555, ModTime: mtime}},
		imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "ro/suid", Mode: 0o4755, Uid: 1234, Gid: 5678, ModTime: mtime,
			PAXRecords: map[string]string{"SCHILY.xattr.user.color": "blue", "SCHILY.xattr.trusted.overlay.opaque": "y"}}, Body: "#!/bin/sh\n"},
		hardLink("ro/again", "ro/suid"),
		imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: "ro/link", Linkname: "/nowhere", ModTime: mtime, Uid: 1234}},
		imagetest.File("implicit/parent/file", "x", false),
	)
	t.Cleanup(func() { os.Chmod(filepath.Join(s.root, "ro"), 0o755) }) // for TempDir's removal without root
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(s.root, "ro/suid"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSetuid == 0 || fi.Mode().Perm() != 0o755 {
		t.Errorf("ro/suid mode = %v, want setuid 0755", fi.Mode())
	}
	if !fi.ModTime().Equal(mtime) {
		t.Errorf("ro/suid mtime = %v, want %v", fi.ModTime(), mtime)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if root && (st.Uid != 1234 || st.Gid != 5678) {
		t.Errorf("ro/suid owner = %d:%d, want 1234:5678", st.Uid, st.Gid)
	}
	if st.Nlink != 2 {
		t.Errorf("ro/suid nlink = %d, want 2 (ro/again is a hard link)", st.Nlink)
	}
	buf := make([]byte, 16)
	if n, err := unix.Lgetxattr(filepath.Join(s.root, "ro/suid"), "user.color", buf); err == nil && string(buf[:n]) != "blue" {
		t.Errorf("user.color = %q, want blue", buf[:n])
	}
	if _, err := unix.Lgetxattr(filepath.Join(s.root, "ro/suid"), "trusted.overlay.opaque", buf); err == nil {
		t.Error("trusted.overlay.opaque was taken from the layer")
	}
	if target, _ := os.Readlink(filepath.Join(s.root, "ro/link")); target != "/nowhere" {
		t.Errorf("ro/link → %q, want /nowhere", target)
	}
	di, _ := os.Stat(filepath.Join(s.root, "ro"))
	if di.Mode().Perm() != 0o555 || !di.ModTime().Equal(mtime) {
		t.Errorf("ro/ = %v %v, want 0555 at %v (set after its content)", di.Mode(), di.ModTime(), mtime)
	}
	if b, _ := os.ReadFile(filepath.Join(s.root, "implicit/parent/file")); string(b) != "x" {
		t.Errorf("implicit/parent/file = %q", b)
	}
	s.untouched(t)
}

func TestUnpackWhiteouts(t *testing.T) {
	entries := []imagetest.Entry{
		imagetest.Dir("etc/"),
		imagetest.File("etc/.wh.gone", "", false),
		imagetest.Dir("var/"),
		imagetest.File("var/.wh..wh..opq", "", false),
		imagetest.File("var/new", "n", false),
		imagetest.File("etc/.wh..wh.plnk", "", false),
	}
	t.Run("marker", func(t *testing.T) {
		s := newSandbox(t)
		if _, err := unpack(t, s, WhiteoutMarker, entries...); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"etc/.wh.gone", "var/.wh..wh..opq", "var/new"} {
			if !exists(filepath.Join(s.root, p)) {
				t.Errorf("%s missing", p)
			}
		}
		if exists(filepath.Join(s.root, "etc/.wh..wh.plnk")) {
			t.Error("aufs metadata kept")
		}
	})
	t.Run("overlay", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("overlay whiteouts need root (a 0/0 device and a trusted xattr); the marker format covers non-root")
		}
		s := newSandbox(t)
		if _, err := unpack(t, s, WhiteoutOverlay, entries...); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(s.root, "etc/gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("etc/gone: %v mode %o rdev %d, want a 0/0 character device", err, st.Mode, st.Rdev)
		}
		buf := make([]byte, 4)
		if n, err := unix.Lgetxattr(filepath.Join(s.root, "var"), opaqueXattr, buf); err != nil || string(buf[:n]) != "y" {
			t.Errorf("var/ opaque xattr = %q %v, want y", buf[:n], err)
		}
		if exists(filepath.Join(s.root, "etc/.wh.gone")) || exists(filepath.Join(s.root, "var/.wh..wh..opq")) {
			t.Error("marker files kept in overlay format")
		}
	})
}

func TestUnpackCorruptTar(t *testing.T) {
	s := newSandbox(t)
	data := imagetest.Tar(t, imagetest.File("a", strings.Repeat("x", 4096), false))
	_, err := Unpack(context.Background(), bytes.NewReader(data[:1000]), s.root, UnpackOptions{Whiteouts: WhiteoutMarker})
	if err == nil {
		t.Fatal("truncated tar unpacked without error")
	}
	_, err = Unpack(context.Background(), strings.NewReader(strings.Repeat("garbage!", 200)), s.root, UnpackOptions{Whiteouts: WhiteoutMarker})
	if err == nil {
		t.Fatal("garbage unpacked without error")
	}
	s.untouched(t)
}

// FuzzUnpack feeds arbitrary tar streams (seeded with the evil layers)
// to Unpack and checks that nothing appears or changes outside the
// target directory, whatever the outcome.
func FuzzUnpack(f *testing.F) {
	outside := filepath.Join(os.TempDir(), "drover-fuzz-outside")
	for _, entries := range evilLayers(outside) {
		f.Add(imagetest.Tar(f, entries...))
	}
	f.Add(imagetest.Tar(f, imagetest.Dir("a/"), imagetest.File("a/.wh..wh..opq", "", false), imagetest.File("a/.wh.b", "", false), hardLink("c", "a/.wh.b")))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		_, _ = Unpack(context.Background(), bytes.NewReader(data), s.root, UnpackOptions{Whiteouts: WhiteoutMarker, Chown: os.Geteuid() == 0})
		s.untouched(t)
		if exists(outside) {
			t.Fatalf("%s was created", outside)
		}
	})
}
