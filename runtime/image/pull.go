package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

// parseRef parses a reference as a pod spec writes it ("busybox",
// "127.0.0.1:5000/app:v1", "app@sha256:..."). Loopback registries and
// the insecure ones listed are reached over plain HTTP.
func parseRef(ref string, insecure []string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	if isInsecure(r.Context().RegistryStr(), insecure) {
		return name.ParseReference(ref, name.Insecure)
	}
	return r, nil
}

func isInsecure(registry string, insecure []string) bool {
	if slices.Contains(insecure, registry) {
		return true
	}
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// canonical is the name a stored image is known by:
// "docker.io/library/busybox:latest", "127.0.0.1:5000/app@sha256:...".
func canonical(r name.Reference) string {
	if _, ok := r.(name.Digest); ok {
		return repoName(r.Context()) + "@" + r.Identifier()
	}
	return repoName(r.Context()) + ":" + r.Identifier()
}

func repoName(repo name.Repository) string {
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + repo.RepositoryStr()
}

func authenticator(c runtime.Credential) authn.Authenticator {
	switch {
	case c.RegistryToken != "":
		return &authn.Bearer{Token: c.RegistryToken}
	case c.IdentityToken != "":
		return authn.FromConfig(authn.AuthConfig{Username: c.Username, IdentityToken: c.IdentityToken})
	case c.Username != "" || c.Password != "":
		return &authn.Basic{Username: c.Username, Password: c.Password}
	}
	return authn.Anonymous
}

func isAuthError(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == 401 || terr.StatusCode == 403 {
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.UnauthorizedErrorCode || d.Code == transport.DeniedErrorCode {
			return true
		}
	}
	return false
}

func isNotFound(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
			return true
		}
	}
	return terr.StatusCode == 404
}

// PullImage fetches ref and stores it: the manifest (for a multi-platform
// index, the one for Config.Platform), the config and each layer not
// already stored, unpacked as it arrives. A digest reference already
// stored is not fetched again. opts.Credentials are tried in order
// until one is accepted (none: anonymous); opts.Progress is called as
// layer bytes arrive, from the pulling goroutine. Callers pulling the
// same reference with the same credentials at once share one fetch
// (and only the first one's progress callback is called).
//
// Errors keep the registry's message ("MANIFEST_UNKNOWN: manifest
// unknown"); a missing repository, tag or digest matches
// runtime.ErrImageNotFound.
func (s *Store) PullImage(ctx context.Context, ref string, opts runtime.PullOptions) (*runtime.Image, error) {
	r, err := parseRef(ref, s.cfg.InsecureRegistries)
	if err != nil {
		return nil, err
	}
	if _, ok := r.(name.Digest); ok {
		if img, err := s.ImageStatus(ctx, canonical(r)); err == nil {
			return img, nil
		}
	}
	h := sha256.New()
	for _, c := range opts.Credentials {
		fmt.Fprintf(h, "%q %q %q %q\n", c.Username, c.Password, c.IdentityToken, c.RegistryToken)
	}
	key := canonical(r) + " " + hex.EncodeToString(h.Sum(nil))
	id, err := s.pulls.do(ctx, key, func() (any, error) { return s.pull(ctx, r, opts) })
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return s.ImageStatus(ctx, id.(string))
}

func (s *Store) pull(ctx context.Context, r name.Reference, opts runtime.PullOptions) (string, error) {
	auths := []authn.Authenticator{authn.Anonymous}
	if len(opts.Credentials) > 0 {
		auths = auths[:0]
		for _, c := range opts.Credentials {
			auths = append(auths, authenticator(c))
		}
	}
	var desc *remote.Descriptor
	var err error
	for _, a := range auths {
		ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(a), remote.WithPlatform(s.platform)}
		if s.cfg.Transport != nil {
			ropts = append(ropts, remote.WithTransport(s.cfg.Transport))
		}
		desc, err = remote.Get(r, ropts...)
		if err == nil {
			break
		}
		if !isAuthError(err) {
			break
		}
	}
	if err != nil {
		if isNotFound(err) {
			return "", fmt.Errorf("%w: %w", runtime.ErrImageNotFound, err)
		}
		return "", err
	}
	img, err := desc.Image()
	if err != nil {
		if desc.MediaType.IsIndex() {
			return "", fmt.Errorf("%w: no %s image in index %s: %w", runtime.ErrImageNotFound, s.platform, desc.Digest, err)
		}
		return "", err
	}
	var tags, digests []string
	digests = append(digests, repoName(r.Context())+"@"+desc.Digest.String())
	if _, ok := r.(name.Tag); ok {
		tags = append(tags, canonical(r))
	}
	rec, err := s.storeImage(ctx, img, tags, digests, opts.Progress)
	if err != nil {
		return "", err
	}
	return rec.ID, nil
}

// storeImage stores img's manifest, config and layers and records it
// under tags and digests.
func (s *Store) storeImage(ctx context.Context, img v1.Image, tags, digests []string, progress func(runtime.PullProgress)) (*imageRecord, error) {
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	manifest, err := v1.ParseManifest(strings.NewReader(string(rawManifest)))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	mdigest := "sha256:" + sha256Hex(rawManifest)
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := v1.ParseConfigFile(strings.NewReader(string(rawConfig)))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", manifest.Config.Digest, err)
	}
	id := manifest.Config.Digest.String()
	if len(cfg.RootFS.DiffIDs) != len(manifest.Layers) {
		return nil, fmt.Errorf("image %s: %d layers in the manifest, %d diff_ids in the config", id, len(manifest.Layers), len(cfg.RootFS.DiffIDs))
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("image %s: layers: %w", id, err)
	}
	if len(layers) != len(manifest.Layers) {
		return nil, fmt.Errorf("image %s: %d layers, the manifest lists %d", id, len(layers), len(manifest.Layers))
	}

	rec := &imageRecord{ID: id, ManifestDigest: mdigest, RepoTags: tags, RepoDigests: digests, Config: imageConfig(cfg)}
	pins := []string{mdigest, id}
	for i, l := range manifest.Layers {
		rec.Layers = append(rec.Layers, layerRecord{Digest: l.Digest.String(), DiffID: cfg.RootFS.DiffIDs[i].String(), Size: l.Size, MediaType: string(l.MediaType)})
		rec.Size += l.Size
		pins = append(pins, l.Digest.String(), cfg.RootFS.DiffIDs[i].String())
	}
	s.pin(pins...)
	defer s.unpin(pins...)

	if err := s.writeBlob(mdigest, rawManifest); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := s.writeBlob(id, rawConfig); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}

	p := &progressCounter{fn: progress}
	for _, l := range rec.Layers {
		if !s.haveLayer(l) {
			p.total += l.Size
		}
	}
	p.report()
	for i, l := range rec.Layers {
		w, err := s.layers.do(ctx, l.DiffID, func() (any, error) { return s.ensureLayer(ctx, layers[i], l, p) })
		if err != nil {
			return nil, err
		}
		if w, _ := w.([]string); len(w) > 0 {
			rec.Layers[i].Warnings = w
		} else {
			rec.Layers[i].Warnings = s.layerWarnings(l.DiffID)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addImageLocked(rec)
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func imageConfig(cfg *v1.ConfigFile) runtime.ImageConfig {
	c := cfg.Config
	return runtime.ImageConfig{
		Entrypoint: slices.Clone(c.Entrypoint),
		Cmd:        slices.Clone(c.Cmd),
		Env:        slices.Clone(c.Env),
		WorkingDir: c.WorkingDir,
		StopSignal: c.StopSignal,
		User:       c.User,
	}
}

// layerWarnings returns the warnings recorded when the layer diffID was
// unpacked for an image stored earlier.
func (s *Store) layerWarnings(diffID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, img := range s.idx.Images {
		for _, l := range img.Layers {
			if l.DiffID == diffID && len(l.Warnings) > 0 {
				return slices.Clone(l.Warnings)
			}
		}
	}
	return nil
}

func (s *Store) haveLayer(l layerRecord) bool {
	bh, err1 := parseDigest(l.Digest)
	dh, err2 := parseDigest(l.DiffID)
	return err1 == nil && err2 == nil && exists(s.blobPath(bh)) && s.haveLayerDir(dh)
}

// progressCounter adds up layer bytes for PullOptions.Progress.
type progressCounter struct {
	fn          func(runtime.PullProgress)
	mu          sync.Mutex
	done, total int64
}

func (p *progressCounter) add(n int) {
	if p.fn == nil || n == 0 {
		return
	}
	p.mu.Lock()
	p.done += int64(n)
	d, t := p.done, p.total
	p.mu.Unlock()
	p.fn(runtime.PullProgress{Done: d, Total: t})
}

func (p *progressCounter) report() {
	if p.fn != nil {
		p.fn(runtime.PullProgress{Done: 0, Total: p.total})
	}
}

type countingReader struct {
	r io.Reader
	p *progressCounter
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}

// ensureLayer makes sure layer l is stored both as a blob and unpacked,
// reading it once: the compressed stream is written to the blob file
// and decompressed into the unpacker at the same time; the blob's
// digest and the diffID are checked at the end, before either is moved
// in place. A layer rejected by the unpacker leaves nothing behind.
func (s *Store) ensureLayer(ctx context.Context, layer v1.Layer, l layerRecord, p *progressCounter) (warnings []string, err error) {
	bhex, err := parseDigest(l.Digest)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	dhex, err := parseDigest(l.DiffID)
	if err != nil {
		return nil, fmt.Errorf("layer %s: diffID: %w", l.Digest, err)
	}
	haveBlob, haveDir := exists(s.blobPath(bhex)), s.haveLayerDir(dhex)
	if haveBlob && haveDir {
		return nil, nil
	}
	if !haveDir {
		// A directory without its completion marker was cut short (a
		// crash or power loss before the marker was written): its files
		// may be missing or truncated, so it is unpacked again.
		if err := s.removeIncompleteLayer(dhex); err != nil {
			return nil, fmt.Errorf("layer %s: remove incomplete unpacked layer: %w", l.Digest, err)
		}
	}
	var bw *blobWriter
	defer func() {
		if err != nil {
			if bw != nil {
				bw.abort()
			}
			err = fmt.Errorf("layer %s: %w", l.Digest, err)
		}
	}()

	var src io.Reader
	if haveBlob {
		f, err := os.Open(s.blobPath(bhex))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		src = f
	} else {
		var rc io.ReadCloser
		if rc, err = layer.Compressed(); err != nil {
			return nil, err
		}
		defer rc.Close()
		if bw, err = s.newBlobWriter(l.Digest, l.Size); err != nil {
			return nil, err
		}
		src = io.TeeReader(&countingReader{r: rc, p: p}, bw)
	}

	br := bufio.NewReaderSize(src, 256<<10)
	dec, err := decompress(br)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	dh := sha256.New()
	tarStream := io.TeeReader(dec, dh)

	var tmp string
	if !haveDir {
		if tmp, err = os.MkdirTemp(filepath.Join(s.cfg.Root, "tmp"), "layer-"); err != nil {
			return nil, err
		}
		defer func() {
			if tmp != "" {
				_ = removeTree(tmp)
			}
		}()
		res, err := Unpack(ctx, tarStream, tmp, UnpackOptions{
			Whiteouts: s.whiteouts, Chown: s.root,
			MaxSize: s.cfg.maxLayerSize(), MaxEntries: s.cfg.maxLayerEntries(),
		})
		if err != nil {
			return nil, err
		}
		for _, w := range res.Warnings {
			s.log.Warn("image: layer entry skipped", "layer", l.Digest, "warning", w)
		}
		warnings = res.Warnings
	}
	// The rest of the stream (tar padding, compression trailer) counts
	// for both digests.
	if _, err := io.Copy(io.Discard, tarStream); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if got := "sha256:" + hex.EncodeToString(dh.Sum(nil)); got != l.DiffID {
		return nil, fmt.Errorf("%w: uncompressed content hashes to %s, the config's diff_id is %s", ErrDigestMismatch, got, l.DiffID)
	}
	if bw != nil {
		if err := bw.commit(); err != nil {
			return nil, err
		}
	}
	if tmp != "" {
		// Every file of the layer reaches the disk before the layer is
		// moved in place and marked complete.
		if err := syncFS(tmp); err != nil {
			return nil, err
		}
		if err := renameDir(tmp, s.layerPath(dhex)); err != nil && !exists(s.layerPath(dhex)) {
			return nil, err
		}
		if !exists(tmp) {
			tmp = ""
		}
		if err := syncDir(filepath.Dir(s.layerPath(dhex))); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(s.layerDonePath(dhex), nil); err != nil {
			return nil, fmt.Errorf("mark unpacked layer complete: %w", err)
		}
	}
	return warnings, nil
}

// removeIncompleteLayer removes the unpacked layer hexPart, which has
// no completion marker, if there is one.
func (s *Store) removeIncompleteLayer(hexPart string) error {
	if !exists(s.layerPath(hexPart)) {
		return nil
	}
	s.log.Warn("image: unpacked layer incomplete, unpacking it again", "diffID", "sha256:"+hexPart)
	trash, err := os.MkdirTemp(filepath.Join(s.cfg.Root, "tmp"), "trash-")
	if err != nil {
		return err
	}
	if err := renameDir(s.layerPath(hexPart), filepath.Join(trash, "l")); err != nil {
		_ = removeTree(trash)
		return err
	}
	return removeTree(trash)
}

// syncFS flushes the filesystem that holds dir to disk.
func syncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}

// syncDir flushes directory dir (its names) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type nopReadCloser struct{ io.Reader }

func (nopReadCloser) Close() error { return nil }

// decompress reads a gzip, zstd or plain tar stream, told apart by its
// first bytes.
func decompress(br *bufio.Reader) (io.ReadCloser, error) {
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read: %w", err)
	}
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return nopReadCloser{br}, nil
}
