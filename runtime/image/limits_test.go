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
