package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/drover-io/drover/runtime"
)

// RootFSMode chooses how Store.RootFS makes a container's root
// filesystem.
type RootFSMode uint8

// The root filesystem modes.
const (
	// RootFSAuto uses overlayfs when it works here (root, a kernel that
	// mounts it: tried once) and copies otherwise.
	RootFSAuto RootFSMode = iota
	// RootFSOverlay always uses overlayfs and fails when it cannot.
	RootFSOverlay
	// RootFSCopy always copies the image's layers into a directory.
	RootFSCopy
)

// String names the mode.
func (m RootFSMode) String() string {
	switch m {
	case RootFSOverlay:
		return "overlay"
	case RootFSCopy:
		return "copy"
	}
	return "auto"
}

// Config configures a Store.
type Config struct {
	// Root is the directory the store keeps everything in (created if
	// missing). Two Stores must not share it at once.
	Root string
	// Platform is the platform pulled from a multi-platform index
	// ("linux/amd64"); "" means this machine's (linux/GOARCH).
	Platform string
	// RootFS is how container root filesystems are made.
	RootFS RootFSMode
	// InsecureRegistries are registry hosts ("registry.local:5000")
	// reached over plain HTTP, besides loopback ones which always are.
	InsecureRegistries []string
	// Transport, if not nil, carries registry requests (tests, proxies);
	// nil means go-containerregistry's default.
	Transport http.RoundTripper
	// Logger receives warnings (skipped layer entries) and the overlay
	// probe's outcome; nil discards them.
	Logger *slog.Logger
	// MaxLayerSize is how many bytes a layer may hold unpacked (the sum
	// of its entries' sizes), checked as it is unpacked, before its
	// digest is known, so a hostile layer cannot fill the disk: 0 means
	// DefaultMaxLayerSize, a negative value no limit.
	MaxLayerSize int64
	// MaxLayerEntries is how many entries (files, directories, links)
	// a layer may hold: 0 means DefaultMaxLayerEntries, a negative
	// value no limit.
	MaxLayerEntries int
}

// The limits a layer is held to when Config leaves them 0.
const (
	DefaultMaxLayerSize    int64 = 8 << 30
	DefaultMaxLayerEntries       = 1 << 20
)

// maxLayerSize is the limit on a layer's unpacked bytes; 0: none.
func (c Config) maxLayerSize() int64 {
	switch {
	case c.MaxLayerSize == 0:
		return DefaultMaxLayerSize
	case c.MaxLayerSize < 0:
		return 0
	}
	return c.MaxLayerSize
}

// maxLayerEntries is the limit on a layer's entries; 0: none.
func (c Config) maxLayerEntries() int {
	switch {
	case c.MaxLayerEntries == 0:
		return DefaultMaxLayerEntries
	case c.MaxLayerEntries < 0:
		return 0
	}
	return c.MaxLayerEntries
}

// Validate says which field of c is wrong.
func (c Config) Validate() error {
	if c.Root == "" {
		return errors.New("image: Config.Root: empty, want a directory")
	}
	if !filepath.IsAbs(c.Root) {
		return fmt.Errorf("image: Config.Root %q: want an absolute path", c.Root)
	}
	if c.Platform != "" {
		if _, err := v1.ParsePlatform(c.Platform); err != nil {
			return fmt.Errorf("image: Config.Platform %q: want os/arch[/variant]: %w", c.Platform, err)
		}
	}
	if c.RootFS > RootFSCopy {
		return fmt.Errorf("image: Config.RootFS %d: want RootFSAuto, RootFSOverlay or RootFSCopy", c.RootFS)
	}
	return nil
}

// Store keeps images on disk under Config.Root and makes container root
// filesystems from them. It implements runtime.ImageService; drivers
// embed it and call RootFS and Config. All methods are safe for
// concurrent use; two pulls of the same reference at once fetch once.
//
// On disk: blobs/sha256/<hex> (manifests, configs and compressed layers,
// checked against their digest when written), layers/sha256/<diffID
// hex> (each layer unpacked once, shared by every image that has it;
// layers/complete/<diffID hex> marks one whose files are all on disk),
// containers/<id> (root filesystems, each with its record
// containers/<id>/rootfs.json, written once it is complete) and
// index.json (names and images), replaced atomically on each change.
type Store struct {
	cfg       Config
	log       *slog.Logger
	platform  v1.Platform
	whiteouts WhiteoutFormat
	root      bool // running as root: owners are kept

	mu   sync.Mutex
	lock *os.File // Root/lock, held while open (lock.go)
	idx  *index
	pins map[string]int // digests and diffIDs an operation in flight needs
	// containers are the root filesystems, complete or being made:
	// each holds its image against RemoveImage.
	containers map[string]*containerRecord
	// making holds the containers whose root filesystem a RootFS call
	// of this process is making now.
	making map[string]bool

	pulls   flights
	layers  flights
	overlay struct {
		once sync.Once
		err  error
	}
}

var _ runtime.ImageService = (*Store)(nil)

type index struct {
	Version   int                     `json:"version"`
	Whiteouts string                  `json:"whiteouts"`
	Images    map[string]*imageRecord `json:"images"`
	// Containers is where stores written before per-container records
	// kept their root filesystems; New moves them out.
	Containers map[string]*legacyContainerRecord `json:"containers,omitempty"`
}

type imageRecord struct {
	ID             string              `json:"id"`
	ManifestDigest string              `json:"manifestDigest"`
	RepoTags       []string            `json:"repoTags,omitempty"`
	RepoDigests    []string            `json:"repoDigests,omitempty"`
	Layers         []layerRecord       `json:"layers"`
	Size           int64               `json:"size"`
	Config         runtime.ImageConfig `json:"config"`
}

type layerRecord struct {
	Digest    string `json:"digest"`
	DiffID    string `json:"diffID"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType,omitempty"`
	// Warnings name the entries the unpacker skipped.
	Warnings []string `json:"warnings,omitempty"`
}

// containerRecord is a container's root filesystem, as kept in its
// containers/<id>/rootfs.json.
type containerRecord struct {
	Image string `json:"image"`
	Mode  string `json:"mode"` // "overlay" or "copy"
}

// legacyContainerRecord is a root filesystem in an older store's index.
type legacyContainerRecord struct {
	containerRecord
	// Partial was set while the root filesystem was being made.
	Partial bool `json:"partial,omitempty"`
}

// New opens (or creates) the store under cfg.Root.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lock, err := lockRoot(cfg.Root)
	if err != nil {
		return nil, err
	}
	s, err := open(cfg, lock)
	if err != nil {
		_ = lock.Close()
		return nil, err
	}
	return s, nil
}

// open opens the store under cfg.Root, whose lock is held.
func open(cfg Config, lock *os.File) (*Store, error) {
	s := &Store{cfg: cfg, log: cfg.Logger, lock: lock, pins: map[string]int{}, containers: map[string]*containerRecord{}, making: map[string]bool{}, root: os.Geteuid() == 0}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.platform = v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
	if cfg.Platform != "" {
		p, _ := v1.ParsePlatform(cfg.Platform)
		s.platform = *p
	}
	if err := s.markOlderLayers(); err != nil {
		return nil, fmt.Errorf("image: create store: %w", err)
	}
	for _, d := range []string{"blobs/sha256", "layers/sha256", "layers/complete", "containers", "tmp"} {
		if err := os.MkdirAll(filepath.Join(cfg.Root, d), 0o700); err != nil {
			return nil, fmt.Errorf("image: create store: %w", err)
		}
	}
	// What an earlier process left half done.
	if ents, err := os.ReadDir(filepath.Join(cfg.Root, "tmp")); err == nil {
		for _, e := range ents {
			_ = removeTree(filepath.Join(cfg.Root, "tmp", e.Name()))
		}
	}
	idx, err := s.load()
	if err != nil {
		return nil, err
	}
	s.idx = idx
	switch idx.Whiteouts {
	case "":
		s.whiteouts = s.probeWhiteouts()
		idx.Whiteouts = s.whiteouts.String()
		if err := s.saveLocked(); err != nil {
			return nil, err
		}
	case "marker":
		s.whiteouts = WhiteoutMarker
	default:
		s.whiteouts = WhiteoutOverlay
	}
	if err := s.loadContainers(); err != nil {
		return nil, fmt.Errorf("image: create store: %w", err)
	}
	s.sweep()
	return s, nil
}

// markOlderLayers takes the unpacked layers of a store made before
// completion markers were kept (it has layers/sha256 but no
// layers/complete) as complete, as that store did, once: marked ones
// are then never unpacked again under a container that has them
// mounted.
func (s *Store) markOlderLayers() error {
	done := filepath.Join(s.cfg.Root, "layers", "complete")
	if exists(done) {
		return nil
	}
	ents, err := os.ReadDir(filepath.Join(s.cfg.Root, "layers", "sha256"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.cfg.Root, "layers"), ".complete-")
	if err != nil {
		return err
	}
	for _, e := range ents {
		if _, err := parseDigest("sha256:" + e.Name()); err == nil && e.IsDir() {
			if err := writeFileAtomic(filepath.Join(tmp, e.Name()), nil); err != nil {
				_ = os.RemoveAll(tmp)
				return err
			}
		}
	}
	if err := os.Rename(tmp, done); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	return syncDir(filepath.Dir(done))
}

func (s *Store) indexPath() string { return filepath.Join(s.cfg.Root, "index.json") }

func (s *Store) load() (*index, error) {
	data, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return &index{Version: 1, Images: map[string]*imageRecord{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image: read index: %w", err)
	}
	var idx index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("image: index %s: %w", s.indexPath(), err)
	}
	if idx.Version != 1 {
		return nil, fmt.Errorf("image: index %s: version %d, want 1", s.indexPath(), idx.Version)
	}
	if idx.Images == nil {
		idx.Images = map[string]*imageRecord{}
	}
	return &idx, nil
}

// saveLocked writes the index; s.mu is held (or s is not shared yet).
func (s *Store) saveLocked() error {
	data, err := json.MarshalIndent(s.idx, "", " ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.indexPath(), data); err != nil {
		return fmt.Errorf("image: write index: %w", err)
	}
	return nil
}

// probeWhiteouts returns WhiteoutOverlay when this process can make
// overlay whiteouts (a 0/0 character device, a trusted xattr) in the
// store.
func (s *Store) probeWhiteouts() WhiteoutFormat {
	dir, err := os.MkdirTemp(filepath.Join(s.cfg.Root, "tmp"), "probe-")
	if err != nil {
		return WhiteoutMarker
	}
	defer removeTree(dir)
	if err := mknodWhiteout(filepath.Join(dir, "w")); err != nil {
		s.log.Info("image: overlay whiteouts unavailable, layers keep .wh. markers", "err", err)
		return WhiteoutMarker
	}
	if err := setOpaque(dir); err != nil {
		s.log.Info("image: overlay opaque xattr unavailable, layers keep .wh. markers", "err", err)
		return WhiteoutMarker
	}
	return WhiteoutOverlay
}

// sweep deletes blobs and unpacked layers no image names (left by a
// process that stopped between writing the index and deleting them).
func (s *Store) sweep() {
	blobs, layers := s.referencedLocked()
	for dir, keep := range map[string]map[string]bool{"blobs": blobs, "layers": layers} {
		ents, err := os.ReadDir(filepath.Join(s.cfg.Root, dir, "sha256"))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !keep["sha256:"+e.Name()] {
				_ = removeTree(filepath.Join(s.cfg.Root, dir, "sha256", e.Name()))
			}
		}
	}
}

// referencedLocked returns the blob digests and layer diffIDs the
// stored images and the operations in flight use.
func (s *Store) referencedLocked() (blobs, layers map[string]bool) {
	blobs, layers = map[string]bool{}, map[string]bool{}
	for _, img := range s.idx.Images {
		blobs[img.ManifestDigest] = true
		blobs[img.ID] = true
		for _, l := range img.Layers {
			blobs[l.Digest] = true
			layers[l.DiffID] = true
		}
	}
	for d := range s.pins {
		blobs[d] = true
		layers[d] = true
	}
	return blobs, layers
}

func (s *Store) pin(digests ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range digests {
		s.pins[d]++
	}
}

func (s *Store) unpin(digests ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range digests {
		if s.pins[d]--; s.pins[d] <= 0 {
			delete(s.pins, d)
		}
	}
}

// lookupLocked finds the image ref names: an image ID ("sha256:..."), a
// tag or a digest reference.
func (s *Store) lookupLocked(ref string) *imageRecord {
	if strings.HasPrefix(ref, "sha256:") {
		return s.idx.Images[ref]
	}
	if len(ref) == 64 && !strings.ContainsAny(ref, ":/@") {
		if img := s.idx.Images["sha256:"+ref]; img != nil {
			return img
		}
	}
	r, err := parseRef(ref, nil)
	if err != nil {
		return nil
	}
	name := canonical(r)
	for _, img := range s.idx.Images {
		if slices.Contains(img.RepoTags, name) || slices.Contains(img.RepoDigests, name) {
			return img
		}
	}
	return nil
}

func (r *imageRecord) image() *runtime.Image {
	c := r.Config
	c.Entrypoint = slices.Clone(c.Entrypoint)
	c.Cmd = slices.Clone(c.Cmd)
	c.Env = slices.Clone(c.Env)
	return &runtime.Image{
		ID:          r.ID,
		RepoTags:    slices.Clone(r.RepoTags),
		RepoDigests: slices.Clone(r.RepoDigests),
		Size:        r.Size,
		Config:      c,
	}
}

// ImageStatus returns the stored image ref names (a tag, a digest
// reference or an image ID), or an error matching
// runtime.ErrImageNotFound.
func (s *Store) ImageStatus(ctx context.Context, ref string) (*runtime.Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img := s.lookupLocked(ref)
	if img == nil {
		return nil, fmt.Errorf("image %q: %w", ref, runtime.ErrImageNotFound)
	}
	return img.image(), nil
}

// Config returns the container defaults of the stored image ref names,
// or an error matching runtime.ErrImageNotFound.
func (s *Store) Config(ref string) (runtime.ImageConfig, error) {
	img, err := s.ImageStatus(context.Background(), ref)
	if err != nil {
		return runtime.ImageConfig{}, err
	}
	return img.Config, nil
}

// Warnings returns what unpacking the stored image ref names skipped
// (device nodes, fifos, unsupported entries), each prefixed with its
// layer's digest, or an error matching runtime.ErrImageNotFound.
func (s *Store) Warnings(ref string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img := s.lookupLocked(ref)
	if img == nil {
		return nil, fmt.Errorf("image %q: %w", ref, runtime.ErrImageNotFound)
	}
	var out []string
	for _, l := range img.Layers {
		for _, w := range l.Warnings {
			out = append(out, "layer "+l.Digest+": "+w)
		}
	}
	return out, nil
}

// ListImages returns every stored image, by ID.
func (s *Store) ListImages(ctx context.Context) ([]*runtime.Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*runtime.Image, 0, len(s.idx.Images))
	for _, img := range s.idx.Images {
		out = append(out, img.image())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// RemoveImage removes the image ref names, with all its names, and the
// blobs and unpacked layers no other image shares. Removing an unknown
// image is not an error; removing one a container root filesystem uses
// is an error matching runtime.ErrImageInUse.
func (s *Store) RemoveImage(ctx context.Context, ref string) error {
	s.mu.Lock()
	img := s.lookupLocked(ref)
	if img == nil {
		s.mu.Unlock()
		return nil
	}
	var users []string
	for id, c := range s.containers {
		if c.Image == img.ID {
			users = append(users, id)
		}
	}
	if len(users) > 0 {
		s.mu.Unlock()
		sort.Strings(users)
		return fmt.Errorf("remove image %q (%s): used by container %s: %w", ref, img.ID, strings.Join(users, ", "), runtime.ErrImageInUse)
	}
	delete(s.idx.Images, img.ID)
	if err := s.saveLocked(); err != nil {
		s.idx.Images[img.ID] = img
		s.mu.Unlock()
		return err
	}
	blobs, layers := s.referencedLocked()
	var doomed []string
	for _, d := range append([]string{img.ManifestDigest, img.ID}, layerDigests(img)...) {
		if hexPart, err := parseDigest(d); err == nil && !blobs[d] {
			_ = os.Remove(s.blobPath(hexPart))
		}
	}
	// Unpacked layers are moved out under the lock (a rename), so a pull
	// starting now never sees one half deleted, and deleted after it.
	for _, l := range img.Layers {
		hexPart, err := parseDigest(l.DiffID)
		if err != nil || layers[l.DiffID] {
			continue
		}
		trash, err := os.MkdirTemp(filepath.Join(s.cfg.Root, "tmp"), "trash-")
		if err != nil {
			continue
		}
		// The marker goes first: a crash between the two leaves an
		// incomplete layer, which is redone, never a marked partial one.
		if err := os.Remove(s.layerDonePath(hexPart)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("image: remove layer completion marker", "diffID", l.DiffID, "err", err)
		}
		if err := renameDir(s.layerPath(hexPart), filepath.Join(trash, "l")); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("image: remove unpacked layer", "diffID", l.DiffID, "err", err)
		}
		doomed = append(doomed, trash)
	}
	s.mu.Unlock()
	var errs []error
	for _, d := range doomed {
		if err := removeTree(d); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove image %q: delete unpacked layers: %w", ref, err)
	}
	return nil
}

func layerDigests(img *imageRecord) []string {
	out := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		out[i] = l.Digest
	}
	return out
}

// addImageLocked records img under its names, taking each tag from
// any image that had it (a tag names one image).
func (s *Store) addImageLocked(img *imageRecord) (*imageRecord, error) {
	for _, other := range s.idx.Images {
		if other.ID == img.ID {
			continue
		}
		other.RepoTags = slices.DeleteFunc(other.RepoTags, func(t string) bool { return slices.Contains(img.RepoTags, t) })
	}
	if old := s.idx.Images[img.ID]; old != nil {
		for _, t := range img.RepoTags {
			if !slices.Contains(old.RepoTags, t) {
				old.RepoTags = append(old.RepoTags, t)
			}
		}
		for _, d := range img.RepoDigests {
			if !slices.Contains(old.RepoDigests, d) {
				old.RepoDigests = append(old.RepoDigests, d)
			}
		}
		img = old
	}
	sort.Strings(img.RepoTags)
	sort.Strings(img.RepoDigests)
	s.idx.Images[img.ID] = img
	return img, s.saveLocked()
}

// flights runs one call per key at a time; callers arriving meanwhile
// share its result, except a failure caused by the context of the
// caller that ran it: a caller whose own context is still live then
// runs the call itself.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done    chan struct{}
	waiters int // callers sharing the result (for tests)
	val     any
	err     error
}

func (g *flights) do(ctx context.Context, key string, fn func() (any, error)) (any, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flight{}
	}
	if f, ok := g.m[key]; ok {
		f.waiters++
		g.mu.Unlock()
		select {
		case <-f.done:
			if ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				return g.do(ctx, key, fn) // the other caller gave up, not us
			}
			return f.val, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.m, key)
		g.mu.Unlock()
		close(f.done)
	}()
	f.val, f.err = fn()
	return f.val, f.err
}
