package image

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
)

// ErrDigestMismatch is matched by the error of content whose digest is
// not the one its descriptor names.
var ErrDigestMismatch = errors.New("image: digest mismatch")

// parseDigest checks a "sha256:<64 hex>" digest and returns its hex.
func parseDigest(d string) (string, error) {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexPart) != 64 {
		return "", fmt.Errorf("digest %q: want sha256:<64 hex digits>", d)
	}
	if _, err := hex.DecodeString(hexPart); err != nil || strings.ToLower(hexPart) != hexPart {
		return "", fmt.Errorf("digest %q: want sha256:<64 lower-case hex digits>", d)
	}
	return hexPart, nil
}

func (s *Store) blobPath(hexPart string) string {
	return filepath.Join(s.cfg.Root, "blobs", "sha256", hexPart)
}

func (s *Store) layerPath(hexPart string) string {
	return filepath.Join(s.cfg.Root, "layers", "sha256", hexPart)
}

// layerDonePath is the completion marker of the unpacked layer
// hexPart: written (and synced) only once the layer's files are on
// disk. A layer directory without it is incomplete and redone.
func (s *Store) layerDonePath(hexPart string) string {
	return filepath.Join(s.cfg.Root, "layers", "complete", hexPart)
}

// haveLayerDir says whether the layer hexPart is unpacked, completely.
func (s *Store) haveLayerDir(hexPart string) bool {
	return exists(s.layerDonePath(hexPart)) && exists(s.layerPath(hexPart))
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// blobWriter writes a blob to a temporary file while hashing it;
// commit checks the digest (and size, when known) and moves it in place.
type blobWriter struct {
	f      *os.File
	h      hash.Hash
	n      int64
	digest string
	size   int64
	final  string
}

func (s *Store) newBlobWriter(digest string, size int64) (*blobWriter, error) {
	hexPart, err := parseDigest(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Join(s.cfg.Root, "tmp"), "blob-")
	if err != nil {
		return nil, err
	}
	return &blobWriter{f: f, h: sha256.New(), digest: digest, size: size, final: s.blobPath(hexPart)}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

func (w *blobWriter) commit() error {
	got := "sha256:" + hex.EncodeToString(w.h.Sum(nil))
	if got != w.digest {
		w.abort()
		return fmt.Errorf("blob %s: %w: content hashes to %s", w.digest, ErrDigestMismatch, got)
	}
	if w.size > 0 && w.n != w.size {
		w.abort()
		return fmt.Errorf("blob %s: %w: %d bytes, the descriptor says %d", w.digest, ErrDigestMismatch, w.n, w.size)
	}
	if err := w.f.Sync(); err != nil {
		w.abort()
		return err
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return err
	}
	if err := os.Rename(w.f.Name(), w.final); err != nil {
		os.Remove(w.f.Name())
		return err
	}
	return nil
}

func (w *blobWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// writeBlob stores data under digest after checking it.
func (s *Store) writeBlob(digest string, data []byte) error {
	hexPart, err := parseDigest(digest)
	if err != nil {
		return err
	}
	if exists(s.blobPath(hexPart)) {
		return nil
	}
	w, err := s.newBlobWriter(digest, int64(len(data)))
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.abort()
		return err
	}
	return w.commit()
}

// writeFileAtomic replaces name with data: a temporary file in the same
// directory, synced, renamed, and the directory synced.
func writeFileAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+"-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
