// Package imagetest builds OCI images in Go and serves them from
// registries, for tests of runtime/image and of the drivers that use
// it: a busybox image made from the host's /bin/busybox (Debian's
// busybox-static), layers made of given tar entries (evil ones
// included), an in-process registry (go-containerregistry's, over
// httptest) and the real Debian docker-registry (distribution) binary
// started on loopback.
package imagetest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Entry is one tar entry of a layer: its header and, for a regular
// file, its content (Header.Size is set from Body when zero).
type Entry struct {
	Header tar.Header
	Body   string
}

// File is a regular file entry with mode 0644 (0755 when exec).
func File(name, body string, exec bool) Entry {
	mode := int64(0o644)
	if exec {
		mode = 0o755
	}
	return Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode}, Body: body}
}

// Dir is a directory entry with mode 0755.
func Dir(name string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}}
}

// Symlink is a symlink entry name → target.
func Symlink(name, target string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

// Tar writes entries as an uncompressed tar archive.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		if h.Size == 0 && (h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA) {
			h.Size = int64(len(e.Body))
		}
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1700000000, 0)
		}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("imagetest: tar header %q: %v", h.Name, err)
		}
		if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA {
			if _, err := io.WriteString(tw, e.Body); err != nil {
				t.Fatalf("imagetest: tar body %q: %v", h.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Layer is a gzip-compressed layer of entries.
func Layer(t testing.TB, entries ...Entry) v1.Layer {
	t.Helper()
	return LayerFromTar(t, Tar(t, entries...))
}

// LayerFromTar is a gzip-compressed layer of an uncompressed tar.
func LayerFromTar(t testing.TB, data []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatalf("imagetest: layer: %v", err)
	}
	return l
}

// Image is an image of layers (bottom first) with the given container
// defaults.
func Image(t testing.TB, cfg v1.Config, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatalf("imagetest: image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatalf("imagetest: image config: %v", err)
	}
	return img
}

// BusyboxPath returns the host's static busybox ("" when missing: apt
// install busybox-static).
func BusyboxPath() string {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// BusyboxApplets are the symlinks to busybox the busybox image has.
var BusyboxApplets = []string{"sh", "echo", "cat", "ls", "sleep", "true", "false", "env", "id", "wget", "ps", "mkdir", "rm", "head", "tr"}

// BusyboxImage is an image of one layer with /bin/busybox (the host's)
// and /bin/<applet> symlinks to it, /etc/passwd and /etc/group with
// root and nobody, /tmp; Cmd ["sh"] and a PATH. Without a host busybox
// the test is skipped, or fails when DROVER_INTEGRATION=1.
func BusyboxImage(t testing.TB) v1.Image {
	t.Helper()
	bb := BusyboxPath()
	if bb == "" {
		Missing(t, "busybox (apt install busybox-static)")
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	entries := []Entry{Dir("bin/"), Dir("etc/"), {Header: tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}}, File("bin/busybox", string(data), true)}
	for _, a := range BusyboxApplets {
		entries = append(entries, Symlink("bin/"+a, "busybox"))
	}
	entries = append(entries,
		File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", false),
		File("etc/group", "root:x:0:\nnogroup:x:65534:\n", false))
	return Image(t, v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, WorkingDir: "/"}, Layer(t, entries...))
}

// Missing skips the test because need is not on this machine, or fails
// it when DROVER_INTEGRATION=1 (CI, where it must be).
func Missing(t testing.TB, need string) {
	t.Helper()
	if os.Getenv("DROVER_INTEGRATION") == "1" {
		t.Fatalf("%s is missing and DROVER_INTEGRATION=1", need)
	}
	t.Skipf("%s is missing; install it or set DROVER_INTEGRATION=1 to make this a failure", need)
}

// StartRegistry serves an in-process registry on 127.0.0.1 until the
// test ends, behind wrap when not nil (to corrupt, count or
// authenticate requests), and returns its host ("127.0.0.1:port").
func StartRegistry(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(discardLogger()))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Push writes img to ref (a reference on a registry of this package).
func Push(t testing.TB, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("imagetest: push %s: %v", ref, err)
	}
}

// PushIndex writes an image index to ref.
func PushIndex(t testing.TB, ref string, idx v1.ImageIndex) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("imagetest: push index %s: %v", ref, err)
	}
}

// DistributionBinary is the Debian package's registry binary.
const DistributionBinary = "docker-registry"

// StartDistribution runs the docker-registry (distribution) binary on
// 127.0.0.1 with its storage in a temporary directory until the test
// ends, and returns its host. Without the binary the test is skipped,
// or fails when DROVER_INTEGRATION=1.
func StartDistribution(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath(DistributionBinary)
	if err != nil {
		Missing(t, "the docker-registry binary (apt install docker-registry)")
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("imagetest: start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(20 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case err := <-exited:
			t.Fatalf("imagetest: %s exited: %v\n%s", bin, err, out.String())
		default:
		}
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("imagetest: %s not serving on %s after 20s: %v\n%s", bin, addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a server coming up, with a deadline
	}
}
