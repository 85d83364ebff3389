package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/runtime"
)

// Image is an image a Registry serves, with its scripted pull.
type Image struct {
	// Ref is its name and tag ("busybox:latest", "registry:5000/app:v1");
	// a name without a tag means ":latest".
	Ref string
	// Config is its entrypoint, cmd, environment, working dir and user.
	Config runtime.ImageConfig
	// Size is its compressed size in bytes.
	Size int64
	// PullDelay is how long a pull takes.
	PullDelay time.Duration
	// PullError, if not "", fails every pull with this message, as the
	// registry said it ("toomanyrequests: rate limit exceeded").
	PullError string
	// Auth, if not nil, is the credential a pull must carry; without it
	// the pull fails as unauthorized.
	Auth *runtime.Credential
}

// Busybox is a busybox-like image: its default command is "sh".
var Busybox = Image{
	Ref: "busybox:latest",
	Config: runtime.ImageConfig{
		Cmd: []string{"sh"},
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	},
	Size: 2 << 20,
}

// Registry serves images to the drivers that share it. Its methods are
// safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	images map[string]Image // by normalized Ref
	// any, if not nil, is served for every tag reference it does not
	// hold (see ServeAny).
	any *Image
}

// ServeAny makes the registry serve every tag reference it does not hold
// as a copy of like, under that reference: the registry of a simulated
// node (`drover up --runtime fake`), where any pod's image "pulls". Digest
// references are still only those of held images.
func (r *Registry) ServeAny(like Image) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.any = &like
}

// NewRegistry returns a registry serving images.
func NewRegistry(images ...Image) *Registry {
	r := &Registry{images: map[string]Image{}}
	for _, img := range images {
		r.Add(img)
	}
	return r
}

// Add serves img, replacing the image of the same Ref.
func (r *Registry) Add(img Image) {
	img.Ref = normalize(img.Ref)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.images[img.Ref] = img
}

// Remove stops serving ref.
func (r *Registry) Remove(ref string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.images, normalize(ref))
}

// get returns the image of a tag or digest reference.
func (r *Registry) get(ref string) (Image, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if name, digest, ok := strings.Cut(ref, "@"); ok {
		for _, img := range r.images {
			if repo(img.Ref) == name && manifestDigest(img) == digest {
				return img, true
			}
		}
		return Image{}, false
	}
	img, ok := r.images[ref]
	if !ok && r.any != nil {
		img, ok = *r.any, true
		img.Ref = ref
	}
	return img, ok
}

// normalize adds ":latest" to a reference with neither tag nor digest.
func normalize(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	if !strings.Contains(ref[strings.LastIndexByte(ref, '/')+1:], ":") {
		return ref + ":latest"
	}
	return ref
}

// repo is a tag reference without its tag.
func repo(ref string) string {
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[:i]
	}
	return ref
}

func imageID(img Image) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "config %s %q", repo(img.Ref), img.Config))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func manifestDigest(img Image) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "manifest %s %d", imageID(img), img.Size))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// storedImage is an image a node holds.
type storedImage struct {
	image runtime.Image
}

// lookupImage finds a stored image by tag, digest reference or ID.
func (s *State) lookupImage(ref string) *storedImage {
	if ref == "" {
		return nil
	}
	if id, ok := s.refs[normalize(ref)]; ok {
		return s.images[id]
	}
	if img := s.images[ref]; img != nil {
		return img
	}
	if img := s.images["sha256:"+ref]; img != nil {
		return img
	}
	return nil
}

// PullImage fetches ref from the registry, after its pull delay.
func (d *Driver) PullImage(ctx context.Context, ref string, opts runtime.PullOptions) (*runtime.Image, error) {
	if ref == "" {
		return nil, fmt.Errorf("fake: pull image: reference is empty")
	}
	norm := normalize(ref)
	src, ok := d.registry.get(norm)
	if !ok {
		name, tag := repo(norm), strings.TrimPrefix(norm, repo(norm)+":")
		host, path := "index.docker.io", name
		if i := strings.IndexByte(name, '/'); i > 0 && strings.ContainsAny(name[:i], ".:") {
			host, path = name[:i], name[i+1:]
		}
		return nil, fmt.Errorf("fake: pull %s: %w: GET https://%s/v2/%s/manifests/%s: MANIFEST_UNKNOWN: manifest unknown; unknown tag=%s",
			ref, runtime.ErrImageNotFound, host, path, tag, tag)
	}
	if src.Auth != nil && !slices.Contains(opts.Credentials, *src.Auth) {
		return nil, fmt.Errorf("fake: pull %s: UNAUTHORIZED: authentication required", ref)
	}
	if opts.Progress != nil {
		opts.Progress(runtime.PullProgress{Total: src.Size})
	}
	if src.PullDelay > 0 {
		done := make(chan struct{})
		stop := d.s.clock.AfterFunc(src.PullDelay, func() { close(done) })
		select {
		case <-done:
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("fake: pull %s: %w", ref, ctx.Err())
		}
	}
	if src.PullError != "" {
		return nil, fmt.Errorf("fake: pull %s: %s", ref, src.PullError)
	}
	if opts.Progress != nil {
		opts.Progress(runtime.PullProgress{Done: src.Size, Total: src.Size})
	}
	id := imageID(src)
	digestRef := repo(src.Ref) + "@" + manifestDigest(src)
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	img := s.images[id]
	if img == nil {
		img = &storedImage{image: runtime.Image{ID: id, Size: src.Size, Config: src.Config}}
		s.images[id] = img
	}
	for _, r := range []string{src.Ref, digestRef} {
		if old, ok := s.refs[r]; ok && old != id {
			// The tag moved: the old image keeps its other names.
			o := s.images[old]
			o.image.RepoTags = slices.DeleteFunc(o.image.RepoTags, func(t string) bool { return t == r })
		}
		s.refs[r] = id
	}
	if !slices.Contains(img.image.RepoTags, src.Ref) {
		img.image.RepoTags = append(img.image.RepoTags, src.Ref)
	}
	if !slices.Contains(img.image.RepoDigests, digestRef) {
		img.image.RepoDigests = append(img.image.RepoDigests, digestRef)
	}
	return cloneImage(&img.image), nil
}

func cloneImage(img *runtime.Image) *runtime.Image {
	c := *img
	c.RepoTags = slices.Clone(img.RepoTags)
	c.RepoDigests = slices.Clone(img.RepoDigests)
	return &c
}

// ImageStatus returns the stored image ref names.
func (d *Driver) ImageStatus(ctx context.Context, ref string) (*runtime.Image, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	img := s.lookupImage(ref)
	if img == nil {
		return nil, fmt.Errorf("fake: image %q: %w", ref, runtime.ErrImageNotFound)
	}
	return cloneImage(&img.image), nil
}

// ListImages returns the stored images.
func (d *Driver) ListImages(ctx context.Context) ([]*runtime.Image, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*runtime.Image, 0, len(s.images))
	for _, img := range s.images {
		out = append(out, cloneImage(&img.image))
	}
	return out, nil
}

// RemoveImage forgets the image ref names, unless a container uses it.
func (d *Driver) RemoveImage(ctx context.Context, ref string) error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	img := s.lookupImage(ref)
	if img == nil {
		return nil
	}
	for _, c := range s.containers {
		if c.status.ImageID == img.image.ID {
			return fmt.Errorf("fake: remove image %q: container %s (%s) uses it: %w", ref, c.status.ID, c.status.Name, runtime.ErrImageInUse)
		}
	}
	for r, id := range s.refs {
		if id == img.image.ID {
			delete(s.refs, r)
		}
	}
	delete(s.images, img.image.ID)
	return nil
}
