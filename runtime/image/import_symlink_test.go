package image

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/drover-io/drover/runtime/image/imagetest"
)

// TestImportOCILayoutTarRefusesSymlinks: an OCI layout archive whose
// blobs directory is a symlink to a directory of the host must not be
// read through it: what an archive stores comes from the archive.
func TestImportOCILayoutTarRefusesSymlinks(t *testing.T) {
	layer := imagetest.Layer(t, imagetest.File("secret", "from the host", false))
	img := imagetest.Image(t, v1.Config{}, layer)
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "linux", Architecture: "amd64"},
		Annotations: map[string]string{"org.opencontainers.image.ref.name": "example.com/evil:v1"},
	}})
	dir := filepath.Join(t.TempDir(), "layout")
	if _, err := layout.Write(dir, idx); err != nil {
		t.Fatal(err)
	}
	// The layout's blobs/sha256 directory is a symlink to one of the host.
	blobs := filepath.Join(dir, "blobs", "sha256")
	outside := filepath.Join(t.TempDir(), "host-dir")
	if err := os.Rename(blobs, outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, blobs); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "layout.tar")
	tarDirWithLinks(t, dir, archive)

	s, err := New(Config{Root: t.TempDir(), Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Import(context.Background(), archive); !errors.Is(err, ErrUnsafeLayer) {
		t.Fatalf("Import = %v, %v; want an error matching ErrUnsafeLayer", got, err)
	}
	if imgs, _ := s.ListImages(context.Background()); len(imgs) != 0 {
		t.Errorf("%d images stored", len(imgs))
	}
}

// tarDirWithLinks is tarDir keeping symlinks as symlinks.
func tarDirWithLinks(t *testing.T, dir, archive string) {
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
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
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
