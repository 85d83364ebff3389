package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/runtime/image"
	"github.com/drover-io/drover/runtime/image/imagetest"
)

func TestImageImportListRemove(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img := imagetest.Image(t, v1.Config{Cmd: []string{"/bin/app"}},
		imagetest.Layer(t, imagetest.Dir("bin/"), imagetest.File("bin/app", "#!/bin/sh\necho hi\n", true)))
	ref, err := name.NewTag("registry.local/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.WriteToFile(archive, ref, img); err != nil { // as docker save writes
		t.Fatal(err)
	}
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}

	code, out, errOut := drover(ctx, "image", "import", archive, "--data-dir", dir)
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "✓ imported registry.local/app:v1 ("+id.Hex[:12]) || !strings.Contains(out, "✓ 1 image(s) imported from ") {
		t.Errorf("import printed %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "images", "index.json")); err != nil {
		t.Errorf("the image store is not in DIR/images: %v", err)
	}

	code, out, errOut = drover(ctx, "image", "list", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	row := regexp.MustCompile(`(?m)^registry\.local/app:v1 +` + id.Hex[:12] + ` +\d+(\.\d)? k?B$`)
	if !strings.HasPrefix(out, "REPOSITORY:TAG ") || !row.MatchString(out) {
		t.Errorf("list printed:\n%s", out)
	}

	code, out, errOut = drover(ctx, "image", "remove", "registry.local/app:v1", "--data-dir", dir)
	if code != 0 || out != "✓ removed registry.local/app:v1 ("+id.Hex[:12]+")\n" {
		t.Fatalf("remove: exit %d, %q, %s", code, out, errOut)
	}
	_, out, _ = drover(ctx, "image", "list", "--data-dir", dir)
	if strings.Count(out, "\n") != 1 {
		t.Errorf("list after remove printed:\n%s", out)
	}
	code, _, errOut = drover(ctx, "image", "remove", "registry.local/app:v1", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, `no image "registry.local/app:v1" in `) || !strings.Contains(errOut, "see drover image list") {
		t.Errorf("second remove: exit %d, %q", code, errOut)
	}
}

func TestImageErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	corrupt := filepath.Join(t.TempDir(), "corrupt.tar")
	if err := os.WriteFile(corrupt, []byte("this is not a tar archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.tar")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "import", missing, "--data-dir", dir}, "drover image import: cannot read " + missing + ": no such file or directory\n"},
		{[]string{"image", "import", corrupt, "--data-dir", dir}, "drover image import: " + corrupt + " is not a usable image archive (make one with docker save, or tar an OCI image layout): "},
		{[]string{"image", "import", "--data-dir", dir}, "want one argument, FILE; got 0"},
		{[]string{"image", "remove", "nothing:here", "--data-dir", dir}, `no image "nothing:here" in ` + filepath.Join(dir, "images")},
	} {
		code, _, errOut := drover(ctx, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("drover %s: exit %d, stderr %q; want exit 1 and one line with %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
}

// TestImageStoreInUse: the image store of a running node agent is locked,
// and the image verbs say what to do rather than corrupt it.
func TestImageStoreInUse(t *testing.T) {
	dir := t.TempDir()
	held, err := image.New(image.Config{Root: cluster.ImagesDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	code, _, errOut := drover(context.Background(), "image", "list", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "is in use by a running drover up or drover agent") {
		t.Fatalf("drover image list on a store in use: exit %d, %q", code, errOut)
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := drover(context.Background(), "image", "list", "--data-dir", dir); code != 0 {
		t.Fatalf("drover image list once the store is free: exit %d, %q", code, errOut)
	}
}
