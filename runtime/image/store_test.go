package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image/imagetest"
)

func newStore(t testing.TB, root string, mode RootFSMode) *Store {
	t.Helper()
	s, err := New(Config{Root: root, RootFS: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// twoLayerImage has a base layer and a top layer that deletes a file
// (whiteout), hides a directory's content (opaque) and adds a file.
func twoLayerImage(t testing.TB) (img v1.Image, base, top v1.Layer) {
	base = imagetest.Layer(t,
		imagetest.Dir("etc/"),
		imagetest.File("etc/hostname", "base", false),
		imagetest.File("etc/gone", "deleted by the top layer", false),
		imagetest.Dir("var/"),
		imagetest.File("var/old", "hidden by opaque", false),
		imagetest.Dir("bin/"),
		imagetest.File("bin/tool", "#!/bin/sh\necho hi\n", true),
		imagetest.Symlink("bin/alias", "tool"),
	)
	top = imagetest.Layer(t,
		imagetest.Dir("etc/"),
		imagetest.File("etc/.wh.gone", "", false),
		imagetest.Dir("var/"),
		imagetest.File("var/.wh..wh..opq", "", false),
		imagetest.File("var/new", "new", false),
		imagetest.File("etc/motd", "hello", false),
	)
	cfg := v1.Config{Entrypoint: []string{"/bin/tool"}, Cmd: []string{"--flag"}, Env: []string{"A=1"}, WorkingDir: "/var", User: "1000:1000", StopSignal: "SIGQUIT"}
	return imagetest.Image(t, cfg, base, top), base, top
}

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func configName(t testing.TB, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

func TestPullStatusAndRootFS(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img, _, _ := twoLayerImage(t)
	imagetest.Push(t, host+"/app:v1", img)
	ctx := context.Background()

	for _, mode := range []RootFSMode{RootFSCopy, RootFSOverlay} {
		t.Run(mode.String(), func(t *testing.T) {
			if mode == RootFSOverlay && os.Geteuid() != 0 {
				t.Skip("overlay root filesystems need root; the copy mode covers non-root")
			}
			s := newStore(t, t.TempDir(), mode)
			got, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			id := configName(t, img)
			mdigest := digestOf(t, img)
			want := &runtime.Image{
				ID:          id,
				RepoTags:    []string{host + "/app:v1"},
				RepoDigests: []string{host + "/app@" + mdigest},
				Config:      runtime.ImageConfig{Entrypoint: []string{"/bin/tool"}, Cmd: []string{"--flag"}, Env: []string{"A=1"}, WorkingDir: "/var", User: "1000:1000", StopSignal: "SIGQUIT"},
			}
			want.Size = got.Size
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("PullImage = %+v\nwant %+v", got, want)
			}
			if got.Size <= 0 {
				t.Errorf("Size = %d, want the layers' compressed size", got.Size)
			}
			for _, ref := range []string{host + "/app:v1", host + "/app@" + mdigest, id, strings.TrimPrefix(id, "sha256:")} {
				st, err := s.ImageStatus(ctx, ref)
				if err != nil || st.ID != id {
					t.Errorf("ImageStatus(%q) = %v, %v; want %s", ref, st, err, id)
				}
			}
			if _, err := s.ImageStatus(ctx, host+"/app:v2"); !errors.Is(err, runtime.ErrImageNotFound) {
				t.Errorf("ImageStatus(unknown) err = %v, want ErrImageNotFound", err)
			}
			if c, err := s.Config(host + "/app:v1"); err != nil || c.WorkingDir != "/var" {
				t.Errorf("Config = %+v, %v", c, err)
			}

			rootfs, cleanup, err := s.RootFS(ctx, host+"/app:v1", "c1")
			if err != nil {
				t.Fatal(err)
			}
			if mode == RootFSOverlay && !isOverlayMount(rootfs) {
				t.Errorf("%s is not an overlay mount", rootfs)
			}
			checkTwoLayerRootFS(t, rootfs)

			// Writes in the container never reach the image.
			if err := os.WriteFile(filepath.Join(rootfs, "etc/hostname"), []byte("changed"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(rootfs, "new-file"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(rootfs, "var/new")); err != nil {
				t.Fatal(err)
			}
			rootfs2, cleanup2, err := s.RootFS(ctx, id, "c2")
			if err != nil {
				t.Fatal(err)
			}
			checkTwoLayerRootFS(t, rootfs2)
			if exists(filepath.Join(rootfs2, "new-file")) {
				t.Error("a file written in c1 appears in c2")
			}
			// Asking again for the same container gives the same root.
			again, _, err := s.RootFS(ctx, id, "c1")
			if err != nil || again != rootfs || readFile(t, filepath.Join(again, "etc/hostname")) != "changed" {
				t.Errorf("RootFS again = %s, %v; want %s with its changes", again, err, rootfs)
			}
			if err := s.RemoveImage(ctx, id); !errors.Is(err, runtime.ErrImageInUse) || !strings.Contains(err.Error(), "c1") {
				t.Errorf("RemoveImage in use: err = %v, want ErrImageInUse naming c1", err)
			}
			if err := cleanup(); err != nil {
				t.Fatal(err)
			}
			if err := cleanup2(); err != nil {
				t.Fatal(err)
			}
			if err := cleanup(); err != nil {
				t.Errorf("second cleanup: %v", err)
			}
			if exists(rootfs) || exists(rootfs2) {
				t.Error("cleanup left the root filesystems")
			}
			if err := s.RemoveImage(ctx, host+"/app:v1"); err != nil {
				t.Fatal(err)
			}
			assertEmptyStore(t, s)
		})
	}
}

func checkTwoLayerRootFS(t *testing.T, rootfs string) {
	t.Helper()
	if got := readFile(t, filepath.Join(rootfs, "etc/hostname")); got != "base" {
		t.Errorf("etc/hostname = %q, want base", got)
	}
	if got := readFile(t, filepath.Join(rootfs, "etc/motd")); got != "hello" {
		t.Errorf("etc/motd = %q, want hello", got)
	}
	for _, gone := range []string{"etc/gone", "var/old", "etc/.wh.gone", "var/.wh..wh..opq"} {
		if _, err := os.Lstat(filepath.Join(rootfs, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: err = %v, want it deleted by a whiteout", gone, err)
		}
	}
	if got := readFile(t, filepath.Join(rootfs, "var/new")); got != "new" {
		t.Errorf("var/new = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(rootfs, "bin/tool")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/tool = %v, %v; want mode 0755", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(rootfs, "bin/alias")); err != nil || target != "tool" {
		t.Errorf("bin/alias → %q, %v", target, err)
	}
}

// assertEmptyStore checks that no image, blob, unpacked layer or
// container is left.
func assertEmptyStore(t *testing.T, s *Store) {
	t.Helper()
	for _, d := range []string{"blobs/sha256", "layers/sha256", "containers"} {
		ents, err := os.ReadDir(filepath.Join(s.cfg.Root, d))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 0 {
			t.Errorf("%s holds %d entries after removing every image", d, len(ents))
		}
	}
	if imgs, _ := s.ListImages(context.Background()); len(imgs) != 0 {
		t.Errorf("ListImages = %v, want none", imgs)
	}
}

// counter counts GETs of blobs and manifests by the last path element.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			c.mu.Lock()
			if c.n == nil {
				c.n = map[string]int{}
			}
			c.n[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]++
			c.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func TestSharedLayersFetchedAndUnpackedOnce(t *testing.T) {
	var c counter
	host := imagetest.StartRegistry(t, c.wrap)
	img, base, top := twoLayerImage(t)
	other := imagetest.Image(t, v1.Config{Cmd: []string{"other"}}, base, imagetest.Layer(t, imagetest.File("other", "o", false)))
	imagetest.Push(t, host+"/app:v1", img)
	imagetest.Push(t, host+"/other:v1", other)
	s := newStore(t, t.TempDir(), RootFSAuto)
	ctx := context.Background()

	// Four pulls at once of one image, then the other sharing its base.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PullImage(ctx, host+"/other:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []v1.Layer{base, top} {
		if n := c.get(digestOf(t, l)); n != 1 {
			t.Errorf("layer %s fetched %d times, want 1", digestOf(t, l), n)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(s.cfg.Root, "layers/sha256"))
	if len(ents) != 3 {
		t.Errorf("%d unpacked layers, want 3 (the base is shared)", len(ents))
	}

	// Removing one image keeps the shared base for the other.
	if err := s.RemoveImage(ctx, host+"/other:v1"); err != nil {
		t.Fatal(err)
	}
	ents, _ = os.ReadDir(filepath.Join(s.cfg.Root, "layers/sha256"))
	if len(ents) != 2 {
		t.Errorf("%d unpacked layers after removing other, want 2", len(ents))
	}
	rootfs, cleanup, err := s.RootFS(ctx, host+"/app:v1", "c")
	if err != nil {
		t.Fatal(err)
	}
	checkTwoLayerRootFS(t, rootfs)
	if err := cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveImage(ctx, host+"/app:v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveImage(ctx, host+"/app:v1"); err != nil {
		t.Errorf("removing an unknown image: %v", err)
	}
	assertEmptyStore(t, s)
}

func TestRestartKeepsImagesAndContainers(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img, _, _ := twoLayerImage(t)
	imagetest.Push(t, host+"/app:v1", img)
	root := t.TempDir()
	ctx := context.Background()
	s := newStore(t, root, RootFSAuto)
	if _, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	rootfs, _, err := s.RootFS(ctx, host+"/app:v1", "kept")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "state"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}

	_ = s.Close() // as the process ending does: the lock goes with it
	s2 := newStore(t, root, RootFSAuto)
	got, err := s2.ImageStatus(ctx, host+"/app:v1")
	if err != nil || got.ID != configName(t, img) {
		t.Fatalf("after restart ImageStatus = %v, %v", got, err)
	}
	if err := s2.RemoveImage(ctx, got.ID); !errors.Is(err, runtime.ErrImageInUse) {
		t.Errorf("after restart RemoveImage err = %v, want ErrImageInUse", err)
	}
	// A digest reference already stored is not fetched again.
	byDigest := host + "/app@" + digestOf(t, img)
	if _, err := s2.PullImage(ctx, byDigest, runtime.PullOptions{Progress: func(runtime.PullProgress) { t.Error("progress on a stored digest") }}); err != nil {
		t.Fatal(err)
	}
	again, cleanup, err := s2.RootFS(ctx, got.ID, "kept")
	if err != nil || again != rootfs || readFile(t, filepath.Join(again, "state")) != "s" {
		t.Fatalf("adopted RootFS = %s, %v; want %s with its state", again, err, rootfs)
	}
	if err := cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := s2.RemoveImage(ctx, got.ID); err != nil {
		t.Fatal(err)
	}
	assertEmptyStore(t, s2)
}

func TestPullMissing(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img, _, _ := twoLayerImage(t)
	imagetest.Push(t, host+"/app:v1", img)
	s := newStore(t, t.TempDir(), RootFSAuto)
	for ref, code := range map[string]string{
		host + "/app:nope": "MANIFEST_UNKNOWN",
		host + "/nope:v1":  "NAME_UNKNOWN",
		host + "/app@sha256:" + strings.Repeat("a", 64): "MANIFEST_UNKNOWN",
	} {
		_, err := s.PullImage(context.Background(), ref, runtime.PullOptions{})
		if !errors.Is(err, runtime.ErrImageNotFound) {
			t.Errorf("pull %s: err = %v, want ErrImageNotFound", ref, err)
			continue
		}
		if !strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), ref) {
			t.Errorf("pull %s: err = %q, want the registry's %s and the reference", ref, err, code)
		}
	}
	if _, err := s.PullImage(context.Background(), "UPPER/case:bad!", runtime.PullOptions{}); err == nil {
		t.Error("pull of an invalid reference succeeded")
	}
}

func TestPullPlatformFromIndex(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	amd, _, _ := twoLayerImage(t)
	arm := imagetest.Image(t, v1.Config{Cmd: []string{"arm"}}, imagetest.Layer(t, imagetest.File("arm", "a", false)))
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	imagetest.PushIndex(t, host+"/multi:v1", idx)
	s, err := New(Config{Root: t.TempDir(), Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.PullImage(context.Background(), host+"/multi:v1", runtime.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != configName(t, amd) {
		t.Errorf("pulled %s, want the linux/amd64 image %s", got.ID, configName(t, amd))
	}
	if want := host + "/multi@" + digestOf(t, idx); !slices.Contains(got.RepoDigests, want) {
		t.Errorf("RepoDigests = %v, want the index digest %s", got.RepoDigests, want)
	}
	s390, err := New(Config{Root: t.TempDir(), Platform: "linux/s390x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s390.PullImage(context.Background(), host+"/multi:v1", runtime.PullOptions{}); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("pull for a platform the index lacks: err = %v, want ErrImageNotFound", err)
	}
}

func TestPullCredentials(t *testing.T) {
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if (ok && u == "alice" && p == "secret") || r.Header.Get("Authorization") == "Bearer tok3n" {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		})
	}
	// One registry behind two servers: an open one to push to, a guarded
	// one to pull from.
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	open := httptest.NewServer(reg)
	defer open.Close()
	guarded := httptest.NewServer(auth(reg))
	defer guarded.Close()
	img, _, _ := twoLayerImage(t)
	imagetest.Push(t, strings.TrimPrefix(open.URL, "http://")+"/app:v1", img)
	host := strings.TrimPrefix(guarded.URL, "http://")
	ctx := context.Background()
	s := newStore(t, t.TempDir(), RootFSAuto)
	_, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") || errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("anonymous pull: err = %v, want the registry's UNAUTHORIZED, not ErrImageNotFound", err)
	}
	for name, creds := range map[string][]runtime.Credential{
		"basic after a wrong one": {{Username: "alice", Password: "wrong"}, {Username: "alice", Password: "secret"}},
		"registry token":          {{RegistryToken: "tok3n"}},
	} {
		if _, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{Credentials: creds}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPullProgress(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, compresses well but still spans reads
	rnd := make([]byte, 1<<20)
	for i := range rnd {
		rnd[i] = byte(i*7919 + i/251)
	}
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer(t, imagetest.File("big", string(big), false)), imagetest.Layer(t, imagetest.File("rnd", string(rnd), false)))
	imagetest.Push(t, host+"/big:v1", img)
	s := newStore(t, t.TempDir(), RootFSAuto)
	var calls []runtime.PullProgress
	got, err := s.PullImage(context.Background(), host+"/big:v1", runtime.PullOptions{Progress: func(p runtime.PullProgress) { calls = append(calls, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 3 {
		t.Fatalf("progress called %d times, want several", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].Done < calls[i-1].Done || calls[i].Total != got.Size {
			t.Fatalf("progress %d = %+v after %+v, want Done increasing and Total %d", i, calls[i], calls[i-1], got.Size)
		}
	}
	if last := calls[len(calls)-1]; last.Done != got.Size {
		t.Errorf("last progress = %+v, want Done = %d", last, got.Size)
	}
}

func TestDigestMismatchStoresNothing(t *testing.T) {
	img, base, _ := twoLayerImage(t)
	victim := digestOf(t, base)
	var corrupted atomic.Int32
	corrupt := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+victim) {
				rec := &bufferedResponse{header: http.Header{}}
				next.ServeHTTP(rec, r)
				body := rec.body.Bytes()
				if len(body) > 40 {
					body[len(body)/2] ^= 0xff // same length, wrong bytes
				}
				for k, v := range rec.header {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.code)
				w.Write(body)
				corrupted.Add(1)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	host := imagetest.StartRegistry(t, corrupt)
	imagetest.Push(t, host+"/app:v1", img)
	s := newStore(t, t.TempDir(), RootFSAuto)
	_, err := s.PullImage(context.Background(), host+"/app:v1", runtime.PullOptions{})
	if err == nil {
		t.Fatal("pull of a corrupted layer succeeded")
	}
	if corrupted.Load() == 0 {
		t.Fatal("the layer was never served")
	}
	if !strings.Contains(err.Error(), victim) {
		t.Errorf("err = %q, want it to name layer %s", err, victim)
	}
	if _, err := s.ImageStatus(context.Background(), host+"/app:v1"); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("image recorded after a failed pull: %v", err)
	}
	hexPart, _ := parseDigest(victim)
	if exists(s.blobPath(hexPart)) {
		t.Error("the corrupted blob was stored")
	}
	ents, _ := os.ReadDir(filepath.Join(s.cfg.Root, "tmp"))
	if len(ents) != 0 {
		t.Errorf("tmp/ holds %d leftovers: %s", len(ents), ents[0].Name())
	}
}

type bufferedResponse struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(code int)        { b.code = code }

func TestPullRejectsEvilLayers(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	s := newStore(t, root, RootFSAuto)
	i := 0
	for name, entries := range evilLayers(outside) {
		i++
		layer := imagetest.Layer(t, entries...)
		ref := fmt.Sprintf("%s/evil:%d", host, i)
		imagetest.Push(t, ref, imagetest.Image(t, v1.Config{}, imagetest.Layer(t, imagetest.File("ok", "fine", false)), layer))
		_, err := s.PullImage(context.Background(), ref, runtime.PullOptions{})
		if !errors.Is(err, ErrUnsafeLayer) {
			t.Errorf("%s: err = %v, want ErrUnsafeLayer", name, err)
			continue
		}
		last := entries[len(entries)-1].Header.Name
		if !strings.Contains(err.Error(), digestOf(t, layer)) || !strings.Contains(err.Error(), last) {
			t.Errorf("%s: err = %q, want it to name layer %s and entry %q", name, err, digestOf(t, layer), last)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("evil layers wrote %d entries outside the store", len(ents))
	}
	if imgs, _ := s.ListImages(context.Background()); len(imgs) != 0 {
		t.Errorf("%d evil images recorded", len(imgs))
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d leftovers: %s", len(ents), ents[0].Name())
	}
}

func TestRootFSArguments(t *testing.T) {
	s := newStore(t, t.TempDir(), RootFSAuto)
	ctx := context.Background()
	if _, _, err := s.RootFS(ctx, "sha256:"+strings.Repeat("0", 64), "c"); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("RootFS of a missing image: err = %v, want ErrImageNotFound", err)
	}
	for _, id := range []string{"", "../x", "a/b", ".hidden"} {
		if _, _, err := s.RootFS(ctx, "x", id); err == nil || !strings.Contains(err.Error(), "want an ID") {
			t.Errorf("RootFS container %q: err = %v, want one saying what an ID may hold", id, err)
		}
	}
	if _, err := New(Config{Root: "relative"}); err == nil || !strings.Contains(err.Error(), "Config.Root") {
		t.Errorf("New with a relative root: err = %v", err)
	}
	if _, err := New(Config{Root: "/x", Platform: "not a platform/x/y/z"}); err == nil || !strings.Contains(err.Error(), "Config.Platform") {
		t.Errorf("New with a bad platform: err = %v", err)
	}
}

func TestDeviceNodesSkippedWithWarning(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	layer := imagetest.Layer(t,
		imagetest.Dir("dev/"),
		imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeChar, Name: "dev/mem", Devmajor: 1, Devminor: 1, Mode: 0o666}},
		imagetest.Entry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "dev/pipe", Mode: 0o600}},
		imagetest.File("dev/regular", "r", false),
	)
	imagetest.Push(t, host+"/dev:v1", imagetest.Image(t, v1.Config{}, layer))
	ctx := context.Background()
	s := newStore(t, t.TempDir(), RootFSAuto)
	if _, err := s.PullImage(ctx, host+"/dev:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := s.Warnings(host + "/dev:v1")
	if err != nil || len(w) != 2 || !strings.Contains(w[0], digestOf(t, layer)) || !strings.Contains(w[0], "dev/mem") || !strings.Contains(w[1], "dev/pipe") {
		t.Errorf("Warnings = %q, %v; want dev/mem and dev/pipe with the layer digest", w, err)
	}
	rootfs, cleanup, err := s.RootFS(ctx, host+"/dev:v1", "d")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	ents, _ := os.ReadDir(filepath.Join(rootfs, "dev"))
	if len(ents) != 1 || ents[0].Name() != "regular" {
		t.Errorf("dev/ holds %v, want only regular", ents)
	}
	// Restarted, the store still knows the warnings.
	_ = s.Close() // as the process ending does: the lock goes with it
	s2 := newStore(t, s.cfg.Root, RootFSAuto)
	if w2, _ := s2.Warnings(host + "/dev:v1"); !slices.Equal(w, w2) {
		t.Errorf("after restart Warnings = %q, want %q", w2, w)
	}
}

// TestSymlinkInLowerLayerNotFollowed: a lower layer makes /etc a symlink
// to a host directory; a higher layer writes etc/passwd. The root
// filesystem gets a real etc/ directory and the host directory is
// untouched, in every mode.
func TestSymlinkInLowerLayerNotFollowed(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	outside := filepath.Join(t.TempDir(), "host-etc")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer(t, imagetest.Symlink("etc", outside), imagetest.Symlink("rel", "../../../../../../../../"+outside)),
		imagetest.Layer(t, imagetest.Dir("etc/"), imagetest.File("etc/passwd", "root:x:0:0::/:/bin/sh\n", false)),
	)
	imagetest.Push(t, host+"/trick:v1", img)
	for _, mode := range []RootFSMode{RootFSCopy, RootFSOverlay} {
		t.Run(mode.String(), func(t *testing.T) {
			if mode == RootFSOverlay && os.Geteuid() != 0 {
				t.Skip("overlay needs root")
			}
			s := newStore(t, t.TempDir(), mode)
			if _, err := s.PullImage(context.Background(), host+"/trick:v1", runtime.PullOptions{}); err != nil {
				t.Fatal(err)
			}
			rootfs, cleanup, err := s.RootFS(context.Background(), host+"/trick:v1", "c")
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			if fi, err := os.Lstat(filepath.Join(rootfs, "etc")); err != nil || !fi.IsDir() {
				t.Errorf("etc = %v, %v; want a directory replacing the symlink", fi, err)
			}
			if got := readFile(t, filepath.Join(rootfs, "etc/passwd")); !strings.HasPrefix(got, "root:") {
				t.Errorf("etc/passwd = %q", got)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("the host directory gained %v", ents)
			}
		})
	}
}

// TestMarkerWhiteoutsCopy covers a store made without root: layers keep
// their .wh. markers and root filesystems are copies that apply them.
func TestMarkerWhiteoutsCopy(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img, _, _ := twoLayerImage(t)
	imagetest.Push(t, host+"/app:v1", img)
	s := newStore(t, t.TempDir(), RootFSAuto)
	s.whiteouts = WhiteoutMarker // as probeWhiteouts finds without root
	if _, err := s.PullImage(context.Background(), host+"/app:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	rootfs, cleanup, err := s.RootFS(context.Background(), host+"/app:v1", "c")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if isOverlayMount(rootfs) {
		t.Error("overlay used with marker whiteouts")
	}
	checkTwoLayerRootFS(t, rootfs)
}

// TestConcurrentPullAndRemove pulls one image while another sharing its
// base is removed, again and again: the shared layer is never deleted
// from under the pull.
func TestConcurrentPullAndRemove(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img, base, _ := twoLayerImage(t)
	other := imagetest.Image(t, v1.Config{Cmd: []string{"other"}}, base)
	imagetest.Push(t, host+"/app:v1", img)
	imagetest.Push(t, host+"/other:v1", other)
	ctx := context.Background()
	s := newStore(t, t.TempDir(), RootFSAuto)
	for i := range 5 {
		if _, err := s.PullImage(ctx, host+"/other:v1", runtime.PullOptions{}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var pullErr, removeErr error
		wg.Go(func() { _, pullErr = s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{}) })
		wg.Go(func() { removeErr = s.RemoveImage(ctx, host+"/other:v1") })
		wg.Wait()
		if pullErr != nil || removeErr != nil {
			t.Fatalf("round %d: pull %v, remove %v", i, pullErr, removeErr)
		}
		rootfs, cleanup, err := s.RootFS(ctx, host+"/app:v1", "c")
		if err != nil {
			t.Fatal(err)
		}
		checkTwoLayerRootFS(t, rootfs)
		if err := cleanup(); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveImage(ctx, host+"/app:v1"); err != nil {
			t.Fatal(err)
		}
		assertEmptyStore(t, s)
	}
}

func TestTagMovesToNewImage(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	old, _, _ := twoLayerImage(t)
	imagetest.Push(t, host+"/app:v1", old)
	ctx := context.Background()
	s := newStore(t, t.TempDir(), RootFSAuto)
	if _, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	fresh := imagetest.Image(t, v1.Config{Cmd: []string{"v2"}}, imagetest.Layer(t, imagetest.File("v2", "2", false)))
	imagetest.Push(t, host+"/app:v1", fresh)
	got, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != configName(t, fresh) {
		t.Fatalf("pulled %s, want the re-pushed %s", got.ID, configName(t, fresh))
	}
	prev, err := s.ImageStatus(ctx, configName(t, old))
	if err != nil {
		t.Fatal(err)
	}
	if len(prev.RepoTags) != 0 || len(prev.RepoDigests) != 1 {
		t.Errorf("the previous image = %+v, want it untagged and still known by digest", prev)
	}
}

func TestPullCanceled(t *testing.T) {
	host := imagetest.StartRegistry(t, nil)
	img, _, _ := twoLayerImage(t)
	imagetest.Push(t, host+"/app:v1", img)
	s := newStore(t, t.TempDir(), RootFSAuto)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.PullImage(ctx, host+"/app:v1", runtime.PullOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("pull with a canceled context: err = %v, want context.Canceled", err)
	}
	assertEmptyStore(t, s)
	if ents, _ := os.ReadDir(filepath.Join(s.cfg.Root, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d leftovers", len(ents))
	}
}

func TestStoreLockedWhileOpen(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root, RootFSCopy)
	if _, err := New(Config{Root: root}); !errors.Is(err, ErrStoreInUse) || !strings.Contains(err.Error(), root) {
		t.Fatalf("a second store on an open root: %v, want ErrStoreInUse naming %s", err, root)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s2, err := New(Config{Root: root})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	_ = s2.Close()
}
