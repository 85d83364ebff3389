package staticpod

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

// BenchmarkScanUnchanged is a poll of a directory of 50 manifests that
// have not changed: read and hashed, not decoded.
func BenchmarkScanUnchanged(b *testing.B) {
	dir := b.TempDir()
	for i := range 50 {
		data := strings.Replace(podWeb, "name: web", fmt.Sprintf("name: web%d", i), 1)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("web%d.yaml", i)), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	src, err := NewSource(Config{Dir: dir, NodeName: "n", NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	if pods, ok := src.scan(); !ok || len(pods) != 50 {
		b.Fatalf("%d pods; want 50", len(pods))
	}
	b.ReportAllocs()
	for b.Loop() {
		src.scan()
	}
}

// BenchmarkParseManifest is the decoding, defaulting and validation of one
// manifest, done when it changes.
func BenchmarkParseManifest(b *testing.B) {
	scheme := api.NewDefaultScheme()
	data := []byte(podWeb)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseManifest(scheme, data, "web.yaml", "n", time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}
