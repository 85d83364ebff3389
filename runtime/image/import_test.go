package image

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
)

func TestImportDockerSave(t *testing.T) {
	img, _, _ := twoLayerImage(t)
	other := imagetest.Image(t, v1.Config{Cmd: []string{"other"}}, imagetest.Layer(t, imagetest.File("o", "o", false)))
	dir := t.TempDir()
	one := filepath.Join(dir, "one.tar")
	if err := tarball.WriteToFile(one, name.MustParseReference("example.com/app:v1"), img); err != nil {
		t.Fatal(err)
	}
	multi := filepath.Join(dir, "multi.tar")
	if err := tarball.MultiWriteToFile(multi, map[name.Tag]v1.Image{
		name.MustParseReference("busybox:latest").(name.Tag):     other,
		name.MustParseReference("example.com/app:v2").(name.Tag): img,
	}); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, t.TempDir(), RootFSAuto)
	ctx := context.Background()
	got, err := s.Import(ctx, one)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != configName(t, img) || strings.Join(got[0].RepoTags, ",") != "example.com/app:v1" {
		t.Fatalf("Import = %+v, want %s tagged example.com/app:v1", got, configName(t, img))
	}
	if _, err := s.Import(ctx, multi); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]v1.Image{"busybox": other, "docker.io/library/busybox:latest": other, "example.com/app:v2": img, "example.com/app:v1": img} {
		st, err := s.ImageStatus(ctx, ref)
		if err != nil || st.ID != configName(t, want) {
			t.Errorf("ImageStatus(%q) = %v, %v", ref, st, err)
		}
	}
	rootfs, cleanup, err := s.RootFS(ctx, "example.com/app:v2", "imported")
	if err != nil {
		t.Fatal(err)
	}
	checkTwoLayerRootFS(t, rootfs)
	if err := cleanup(); err != nil {
		t.Fatal(err)
	}
}

func TestImportOCILayout(t *testing.T) {
	img, _, _ := twoLayerImage(t)
	arm := imagetest.Image(t, v1.Config{Cmd: []string{"arm"}}, imagetest.Layer(t, imagetest.File("arm", "a", false)))
	dir := filepath.Join(t.TempDir(), "layout")
	multi := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: multi, Descriptor: v1.Descriptor{
		Annotations: map[string]string{"org.opencontainers.image.ref.name": "example.com/layout:v1"},
	}})
	if _, err := layout.Write(dir, idx); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "layout.tar")
	tarDir(t, dir, archive)

	for name, path := range map[string]string{"directory": dir, "tarball": archive} {
		t.Run(name, func(t *testing.T) {
			s, err := New(Config{Root: t.TempDir(), Platform: "linux/amd64"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Import(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].ID != configName(t, img) {
				t.Fatalf("Import = %+v, want only the amd64 image %s", got, configName(t, img))
			}
			st, err := s.ImageStatus(context.Background(), "example.com/layout:v1")
			if err != nil || st.ID != got[0].ID {
				t.Errorf("ImageStatus by the layout's ref.name = %v, %v", st, err)
			}
		})
	}
}

// tarDir writes the content of dir as a tar archive.
func tarDir(t *testing.T, dir, archive string) {
	t.Helper()
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestImportBadArchives(t *testing.T) {
	img, _, _ := twoLayerImage(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tar")
	if err := tarball.WriteToFile(good, name.MustParseReference("example.com/app:v1"), img); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Flip a byte in the middle of a layer: the archive still lists the
	// same layers but one no longer has its diffID.
	corrupt := append([]byte(nil), data...)
	corrupt[len(corrupt)/2] ^= 0xff
	cases := map[string]string{
		"garbage":      write("garbage.tar", []byte(strings.Repeat("not a tar ", 300))),
		"truncated":    write("truncated.tar", data[:len(data)/2]),
		"corrupt":      write("corrupt.tar", corrupt),
		"empty tar":    write("empty.tar", imagetest.Tar(t)),
		"missing file": filepath.Join(dir, "missing.tar"),
		"not a layout": t.TempDir(),
	}
	s := newStore(t, t.TempDir(), RootFSAuto)
	for name, p := range cases {
		if _, err := s.Import(context.Background(), p); err == nil {
			t.Errorf("%s: Import succeeded", name)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %q, want it to name the archive", name, err)
		}
	}
	if imgs, _ := s.ListImages(context.Background()); len(imgs) != 0 {
		t.Errorf("%d images stored from bad archives", len(imgs))
	}
	if ents, _ := os.ReadDir(filepath.Join(s.cfg.Root, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d leftovers", len(ents))
	}
	if _, err := s.ImageStatus(context.Background(), "example.com/app:v1"); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("ImageStatus after failed imports: %v", err)
	}
}
