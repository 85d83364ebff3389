package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/drover-io/drover/runtime"
)

// Import stores the images of an archive at path: an OCI image layout
// directory, a tar of one, or a `docker save` archive. Every layer is
// held to Config.MaxLayerSize and MaxLayerEntries as in a pull (a
// layer over them: an error matching ErrLayerTooLarge, and nothing of
// its image stored); a tar of a layout with more entries than
// MaxLayerEntries is refused the same way. Images are named
// by the archive's tags (RepoTags of a docker archive; the
// io.containerd.image.name or a full org.opencontainers.image.ref.name
// annotation of an OCI layout); from a multi-platform index only the
// Store's platform is taken. It returns the images stored.
func (s *Store) Import(ctx context.Context, path string) ([]*runtime.Image, error) {
	imgs, err := s.importPath(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	return imgs, nil
}

func (s *Store) importPath(ctx context.Context, path string) ([]*runtime.Image, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		ii, err := layout.ImageIndexFromPath(path)
		if err != nil {
			return nil, fmt.Errorf("not an OCI image layout: %w", err)
		}
		return s.importIndex(ctx, ii)
	}
	docker, oci, err := archiveKind(path)
	if err != nil {
		return nil, err
	}
	switch {
	case docker:
		return s.importDocker(ctx, path)
	case oci:
		dir, err := os.MkdirTemp(filepath.Join(s.cfg.Root, "tmp"), "import-")
		if err != nil {
			return nil, err
		}
		defer removeTree(dir)
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		// The layout's files are held to the limits of a layer: its
		// layers themselves are unpacked under them by storeImage, like
		// pulled ones. Sparse entries are refused, so the extraction
		// never writes more than the archive holds.
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if _, err := Unpack(ctx, f, dir, UnpackOptions{Whiteouts: WhiteoutMarker, MaxEntries: s.cfg.maxLayerEntries(), MaxSize: st.Size()}); err != nil {
			return nil, fmt.Errorf("extract OCI layout: %w", err)
		}
		// The layout is read with plain opens, which follow symlinks: one
		// (blobs/sha256 → a host directory) would read the host's files.
		if err := refuseSymlinks(dir); err != nil {
			return nil, fmt.Errorf("extract OCI layout: %w", err)
		}
		ii, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			return nil, fmt.Errorf("not an OCI image layout: %w", err)
		}
		return s.importIndex(ctx, ii)
	}
	return nil, errors.New("neither a docker save archive (no manifest.json) nor an OCI image layout (no oci-layout)")
}

// refuseSymlinks fails, with an error matching ErrUnsafeLayer, when the
// tree dir holds a symlink.
func refuseSymlinks(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			rel, _ := filepath.Rel(dir, p)
			return fmt.Errorf("%w: %q is a symlink (an OCI image layout has none)", ErrUnsafeLayer, rel)
		}
		return nil
	})
}

// archiveKind reads the tar's entry names: a docker save archive has
// manifest.json, an OCI layout oci-layout (recent docker save writes
// both; the docker manifest is used then).
func archiveKind(path string) (docker, oci bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, false, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return docker, oci, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("not a tar archive: %w", err)
		}
		switch strings.TrimPrefix(hdr.Name, "./") {
		case "manifest.json":
			docker = true
		case "oci-layout":
			oci = true
		}
	}
}

func (s *Store) importDocker(ctx context.Context, path string) ([]*runtime.Image, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("docker archive manifest.json: %w", err)
	}
	if len(m) == 0 {
		return nil, errors.New("docker archive manifest.json lists no image")
	}
	var out []*runtime.Image
	for i, d := range m {
		var tag *name.Tag
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return nil, fmt.Errorf("docker archive image %d: tag %q: %w", i, d.RepoTags[0], err)
			}
			tag = &t
		} else if len(m) > 1 {
			return nil, fmt.Errorf("docker archive image %d (%s): no RepoTags, and it is not the only image", i, d.Config)
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, fmt.Errorf("docker archive image %d: %w", i, err)
		}
		var tags []string
		for _, t := range d.RepoTags {
			r, err := name.NewTag(t)
			if err != nil {
				return nil, fmt.Errorf("docker archive image %d: tag %q: %w", i, t, err)
			}
			tags = append(tags, canonical(r))
		}
		rec, err := s.storeImage(ctx, img, tags, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("docker archive image %d: %w", i, err)
		}
		out = append(out, s.imageByID(rec.ID))
	}
	return out, nil
}

func (s *Store) imageByID(id string) *runtime.Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	if img := s.idx.Images[id]; img != nil {
		return img.image()
	}
	return nil
}

func (s *Store) importIndex(ctx context.Context, ii v1.ImageIndex) ([]*runtime.Image, error) {
	var out []*runtime.Image
	if err := s.importIndexNamed(ctx, ii, "", &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s image in the layout", s.platform)
	}
	return out, nil
}

func (s *Store) importIndexNamed(ctx context.Context, ii v1.ImageIndex, inherited string, out *[]*runtime.Image) error {
	im, err := ii.IndexManifest()
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	for _, d := range im.Manifests {
		ref := d.Annotations["io.containerd.image.name"]
		if rn := d.Annotations["org.opencontainers.image.ref.name"]; ref == "" && strings.ContainsAny(rn, "/:") {
			ref = rn
		}
		if ref == "" {
			ref = inherited
		}
		switch {
		case d.MediaType.IsIndex():
			child, err := ii.ImageIndex(d.Digest)
			if err != nil {
				return fmt.Errorf("index %s: %w", d.Digest, err)
			}
			if err := s.importIndexNamed(ctx, child, ref, out); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			if d.Platform != nil && !d.Platform.Satisfies(s.platform) {
				continue
			}
			img, err := ii.Image(d.Digest)
			if err != nil {
				return fmt.Errorf("image %s: %w", d.Digest, err)
			}
			var tags, digests []string
			if ref != "" {
				r, err := name.ParseReference(ref)
				if err != nil {
					return fmt.Errorf("image %s: name %q: %w", d.Digest, ref, err)
				}
				if _, ok := r.(name.Tag); ok {
					tags = append(tags, canonical(r))
				}
				digests = append(digests, repoName(r.Context())+"@"+d.Digest.String())
			}
			rec, err := s.storeImage(ctx, img, tags, digests, nil)
			if err != nil {
				return fmt.Errorf("image %s: %w", d.Digest, err)
			}
			*out = append(*out, s.imageByID(rec.ID))
		}
	}
	return nil
}
