package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
)

// TestPullRejectsOversizedLayers: a layer whose unpacked content or
// entry count goes over Config.MaxLayerSize or Config.MaxLayerEntries
// is refused while it is unpacked, with an error naming the layer, and
// leaves nothing behind.
func TestPullRejectsOversizedLayers(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	root := t.TempDir()
	s, err := New(Config{Root: root, MaxLayerSize: 1000, MaxLayerEntries: 10})
	if err != nil {
		t.Fatal(err)
	}
	var many []imagetest.Entry
	for i := range 11 {
		many = append(many, imagetest.File(fmt.Sprintf("f%d", i), "x", false))
	}
	layers := map[string]v1.Layer{
		"big file":     imagetest.Layer(t, imagetest.File("big", strings.Repeat("x", 1001), false)),
		"many small":   imagetest.Layer(t, imagetest.File("a", strings.Repeat("x", 600), false), imagetest.File("b", strings.Repeat("x", 600), false)),
		"many entries": imagetest.Layer(t, many...),
	}
	i := 0
	for name, layer := range layers {
		i++
		ref := fmt.Sprintf("%s/big:%d", host, i)
		imagetest.Push(t, ref, imagetest.Image(t, v1.Config{}, imagetest.Layer(t, imagetest.File("ok", "fine", false)), layer))
		_, err := s.PullImage(context.Background(), ref, runtime.PullOptions{})
		if !errors.Is(err, ErrLayerTooLarge) {
			t.Errorf("%s: err = %v, want ErrLayerTooLarge", name, err)
			continue
		}
		if !strings.Contains(err.Error(), digestOf(t, layer)) {
			t.Errorf("%s: err = %q, want it to name layer %s", name, err, digestOf(t, layer))
		}
		d, _ := parseDigest(digestOf(t, layer))
		if exists(s.blobPath(d)) {
			t.Errorf("%s: the layer's blob was stored", name)
		}
	}
	if imgs, _ := s.ListImages(context.Background()); len(imgs) != 0 {
		t.Errorf("%d oversized images recorded", len(imgs))
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d leftovers: %s", len(ents), ents[0].Name())
	}

	// Within the limits (exactly at them) is fine.
	ok := imagetest.Layer(t, imagetest.File("a", strings.Repeat("x", 1000), false))
	imagetest.Push(t, host+"/big:ok", imagetest.Image(t, v1.Config{}, ok))
	if _, err := s.PullImage(context.Background(), host+"/big:ok", runtime.PullOptions{}); err != nil {
		t.Errorf("pull of a layer at the limit: %v", err)
	}
}

// TestConfigLimits: 0 means the default limits, a negative value none.
func TestConfigLimits(t *testing.T) {
	if got := (Config{}).maxLayerSize(); got != DefaultMaxLayerSize {
		t.Errorf("default MaxLayerSize = %d, want %d", got, DefaultMaxLayerSize)
	}
	if got := (Config{MaxLayerSize: -1}).maxLayerSize(); got != 0 {
		t.Errorf("MaxLayerSize -1 = %d, want 0 (no limit)", got)
	}
	if got := (Config{}).maxLayerEntries(); got != DefaultMaxLayerEntries {
		t.Errorf("default MaxLayerEntries = %d, want %d", got, DefaultMaxLayerEntries)
	}
	if got := (Config{MaxLayerEntries: -1}).maxLayerEntries(); got != 0 {
		t.Errorf("MaxLayerEntries -1 = %d, want 0 (no limit)", got)
	}
}

// TestImportOCILayoutRejectsOversizedLayers: importing an OCI image
// layout (a directory or a tar of one) holds its layers to the same
// Config.MaxLayerSize and MaxLayerEntries as a pull: a layer over
// either is refused with ErrLayerTooLarge naming it, and nothing of the
// image is stored (no blob, no unpacked layer, no image, nothing left
// in tmp/).
func TestImportOCILayoutRejectsOversizedLayers(t *testing.T) {
	var many []imagetest.Entry
	for i := range 11 {
		many = append(many, imagetest.File(fmt.Sprintf("f%d", i), "x", false))
	}
	layers := map[string]v1.Layer{
		"big file":     imagetest.Layer(t, imagetest.File("big", strings.Repeat("x", 1001), false)),
		"many small":   imagetest.Layer(t, imagetest.File("a", strings.Repeat("x", 600), false), imagetest.File("b", strings.Repeat("x", 600), false)),
		"many entries": imagetest.Layer(t, many...),
	}
	for name, layer := range layers {
		img := imagetest.Image(t, v1.Config{}, imagetest.Layer(t, imagetest.File("ok", "fine", false)), layer)
		dir := filepath.Join(t.TempDir(), "layout")
		idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Annotations: map[string]string{"org.opencontainers.image.ref.name": "example.com/big:v1"},
		}})
		if _, err := layout.Write(dir, idx); err != nil {
			t.Fatal(err)
		}
		archive := filepath.Join(t.TempDir(), "layout.tar")
		tarDir(t, dir, archive)
		for form, path := range map[string]string{"directory": dir, "tarball": archive} {
			t.Run(name+"/"+form, func(t *testing.T) {
				root := t.TempDir()
				s, err := New(Config{Root: root, MaxLayerSize: 1000, MaxLayerEntries: 10})
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.Import(context.Background(), path)
				if !errors.Is(err, ErrLayerTooLarge) {
					t.Fatalf("Import: err = %v, want ErrLayerTooLarge", err)
				}
				if !strings.Contains(err.Error(), digestOf(t, layer)) {
					t.Errorf("err = %q, want it to name layer %s", err, digestOf(t, layer))
				}
				d, _ := parseDigest(digestOf(t, layer))
				if exists(s.blobPath(d)) {
					t.Error("the layer's blob was stored")
				}
				diffID, err := layer.DiffID()
				if err != nil {
					t.Fatal(err)
				}
				if exists(s.layerPath(diffID.Hex)) || exists(s.layerDonePath(diffID.Hex)) {
					t.Error("the layer was unpacked")
				}
				if imgs, _ := s.ListImages(context.Background()); len(imgs) != 0 {
					t.Errorf("%d oversized images recorded", len(imgs))
				}
				if _, err := s.ImageStatus(context.Background(), "example.com/big:v1"); !errors.Is(err, runtime.ErrImageNotFound) {
					t.Errorf("ImageStatus of the refused image: %v, want ErrImageNotFound", err)
				}
				if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
					t.Errorf("tmp/ holds %d leftovers: %s", len(ents), ents[0].Name())
				}
			})
		}
	}
}

// TestImportOCILayoutTarEntryLimit: a tar of an OCI layout with more
// entries than Config.MaxLayerEntries is refused (ErrLayerTooLarge)
// before it is extracted further, and leaves nothing behind.
func TestImportOCILayoutTarEntryLimit(t *testing.T) {
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer(t, imagetest.File("ok", "fine", false)))
	dir := filepath.Join(t.TempDir(), "layout")
	if _, err := layout.Write(dir, mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img})); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("extra-%d", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	archive := filepath.Join(t.TempDir(), "layout.tar")
	tarDir(t, dir, archive)
	root := t.TempDir()
	s, err := New(Config{Root: root, MaxLayerEntries: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(context.Background(), archive); !errors.Is(err, ErrLayerTooLarge) {
		t.Fatalf("Import of a layout tar with too many entries: err = %v, want ErrLayerTooLarge", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d leftovers: %s", len(ents), ents[0].Name())
	}
	if imgs, _ := s.ListImages(context.Background()); len(imgs) != 0 {
		t.Errorf("%d images recorded", len(imgs))
	}
	// The same layout within the limit imports.
	s2, err := New(Config{Root: t.TempDir(), MaxLayerEntries: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Import(context.Background(), archive); err != nil {
		t.Errorf("Import within the limit: %v", err)
	}
}
